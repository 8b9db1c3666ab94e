//! A cheap test for text before OCR: whether an image holds lines of letters, found as writing is found by
//! eye: marks of a letter's size standing in a row, of like height, close together, and of unlike widths.
//!
//! The image is reduced to at most [`WORK_SIDE`] pixels on its longest side and thresholded per tile (so that a
//! sign in a photo, lit unevenly, is thresholded against its own background); the marks are its connected
//! components, of either polarity (dark on light and light on dark); rows are chains of marks, each the next
//! one's neighbour on the right. A photograph's texture gives marks too, but seldom five in a row of one
//! height with gaps of less than a letter; a fence or a grille gives rows, but of marks all alike. Costs tens of
//! milliseconds where Tesseract's reading of a picture without text costs half a second and more.

use image::{DynamicImage, GrayImage};

/// The longest side the test works at: text on a 300 dpi page is still 15 pixels high at this size.
const WORK_SIDE: u32 = 1600;
/// Tiles are this many pixels square for the threshold.
const TILE: u32 = 48;
/// A tile whose levels span less than this holds no mark (background, or a smooth part of a photo).
const MIN_TILE_CONTRAST: u8 = 40;
/// Marks are between these heights (pixels at the working size) ...
const MARK_HEIGHT: std::ops::RangeInclusive<u32> = 6..=120;
/// ... and this many in a row make a line of text.
const MIN_ROW: usize = 5;

/// What [`find`] saw.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Lines {
    /// Rows of at least [`MIN_ROW`] marks (of the polarity that has more marks).
    pub rows: usize,
    /// Marks in those rows.
    pub marks: usize,
    /// Where the rows are, in the image's own pixels, of either polarity, top to bottom.
    pub boxes: Vec<RowBox>,
    /// The share of the image's tiles that show contrast away from every row: about none on a page (paper
    /// around the lines), much on a photograph (its texture around a sign).
    pub busy_ground: f64,
}

/// One row of marks: its box in the image's pixels, and whether its letters are lighter than their ground.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowBox {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
    pub light: bool,
    /// Marks in the row.
    pub marks: usize,
}

impl RowBox {
    pub(crate) fn width(&self) -> u32 {
        self.x1 - self.x0 + 1
    }
    pub(crate) fn height(&self) -> u32 {
        self.y1 - self.y0 + 1
    }
    fn area(&self) -> u64 {
        u64::from(self.width()) * u64::from(self.height())
    }
    fn overlap(&self, other: &RowBox) -> u64 {
        let w = (self.x1.min(other.x1) + 1).saturating_sub(self.x0.max(other.x0));
        let h = (self.y1.min(other.y1) + 1).saturating_sub(self.y0.max(other.y0));
        u64::from(w) * u64::from(h)
    }
}

impl Lines {
    /// Whether the rows are enough to call it text: one is (a caption, "26 of 27"). Measured on the dev
    /// corpus's 40 images and the fixtures: every image that holds text has one or more (a sign photo 2 to 8,
    /// a page 8 to 280), photographs without text none; a photo with words painted on it (the EXIF test
    /// landscapes: "top", "left") one to three.
    pub(crate) fn are_text(&self) -> bool {
        self.rows >= 1
    }
}

/// Whether `img` likely holds text ([`Lines::are_text`] of [`find`]).
pub(crate) fn likely_text(img: &DynamicImage) -> bool {
    find(img).are_text()
}

/// The rows of letter-like marks in `img`: counted for the polarity that has more, placed for both (a sign
/// holds dark letters on a light band and light ones on a dark band); where rows of the two polarities lie
/// on one another (the gaps between letters are marks too), the one of more marks stands.
pub(crate) fn find(img: &DynamicImage) -> Lines {
    let grey = working_copy(img);
    let (dark, light, contrasted) = masks(&grey);
    let mut a = rows(&components(&dark, grey.width(), grey.height()), false);
    let mut b = rows(&components(&light, grey.width(), grey.height()), true);
    let mut boxes: Vec<RowBox> = Vec::with_capacity(a.boxes.len() + b.boxes.len());
    let mut candidates: Vec<RowBox> = a.boxes.drain(..).chain(b.boxes.drain(..)).collect();
    candidates.sort_by_key(|q| std::cmp::Reverse(q.marks));
    for candidate in candidates {
        if !boxes.iter().any(|kept| 2 * kept.overlap(&candidate) > candidate.area().min(kept.area())) {
            boxes.push(candidate);
        }
    }
    let busy_ground = busy_ground(&contrasted, &boxes, grey.width(), grey.height());
    // Back to the image's own pixels.
    let longest = img.width().max(img.height()).max(1);
    if longest > WORK_SIDE {
        let scale = f64::from(longest) / f64::from(WORK_SIDE);
        let at = |v: u32, most: u32| ((f64::from(v) * scale).round() as u32).min(most.saturating_sub(1));
        for r in &mut boxes {
            (r.x0, r.x1) = (at(r.x0, img.width()), at(r.x1 + 1, img.width()));
            (r.y0, r.y1) = (at(r.y0, img.height()), at(r.y1 + 1, img.height()));
        }
    }
    boxes.sort_by_key(|r| (r.y0, r.x0));
    let counted = if a.marks >= b.marks { a } else { b };
    Lines { rows: counted.rows, marks: counted.marks, boxes, busy_ground }
}

/// `img` in grey, its longest side brought down to [`WORK_SIDE`] where it is longer. A 12-megapixel
/// photograph took the `image` crate a quarter of a second here (its grey conversion, then its resampling);
/// [`shrink_to_grey`] takes one pass over the pixels.
fn working_copy(img: &DynamicImage) -> GrayImage {
    let longest = img.width().max(img.height()).max(1);
    if longest <= WORK_SIDE {
        return img.to_luma8();
    }
    let scale = f64::from(WORK_SIDE) / f64::from(longest);
    let w = ((f64::from(img.width()) * scale).round() as u32).clamp(1, img.width());
    let h = ((f64::from(img.height()) * scale).round() as u32).clamp(1, img.height());
    match img {
        DynamicImage::ImageLuma8(g) => shrink_to_grey(g.as_raw(), 1, img.width(), img.height(), w, h),
        DynamicImage::ImageRgb8(rgb) => shrink_to_grey(rgb.as_raw(), 3, img.width(), img.height(), w, h),
        DynamicImage::ImageRgba8(rgba) => shrink_to_grey(rgba.as_raw(), 4, img.width(), img.height(), w, h),
        other => shrink_to_grey(other.to_luma8().as_raw(), 1, img.width(), img.height(), w, h),
    }
}

/// The grey level of one pixel of `channels` bytes (grey, RGB or RGBA; alpha ignored), in fixed point with
/// the ITU-R BT.709 weights the `image` crate's grey conversion uses.
#[inline]
pub(crate) fn grey_of(p: &[u8]) -> u32 {
    match p {
        [r, g, b, ..] => (u32::from(*r) * 2126 + u32::from(*g) * 7152 + u32::from(*b) * 722) / 10_000,
        [v, ..] => u32::from(*v),
        [] => 0,
    }
}

/// `pixels` (`width` x `height`, `channels` bytes each) made grey and shrunk to `w` x `h` (each no larger) by
/// area averaging: each pixel of the result is the mean of the source pixels it covers, partly covered ones
/// weighted by the share covered. Rows first (into a `w` x `height` buffer of sums), then columns.
fn shrink_to_grey(pixels: &[u8], channels: usize, width: u32, height: u32, w: u32, h: u32) -> GrayImage {
    // Fixed point: 1.0 is 256. A source pixel's weights in one output pixel sum to at most 256.
    fn spans(from: u32, to: u32) -> Vec<(usize, usize, Vec<u32>)> {
        let step = f64::from(from) / f64::from(to);
        (0..to)
            .map(|i| {
                let (a, b) = (f64::from(i) * step, (f64::from(i + 1) * step).min(f64::from(from)));
                let first = a.floor() as usize;
                let last = ((b.ceil() as usize).max(first + 1)).min(from as usize);
                let weights = (first..last)
                    .map(|k| {
                        let covered = (b.min(k as f64 + 1.0) - a.max(k as f64)).max(0.0);
                        (covered * 256.0).round() as u32
                    })
                    .collect();
                (first, last, weights)
            })
            .collect()
    }
    let (width, height, w_us, h_us) = (width as usize, height as usize, w as usize, h as usize);
    let across = spans(width as u32, w);
    let down = spans(height as u32, h);
    let across_totals: Vec<u64> =
        across.iter().map(|(_, _, weights)| weights.iter().map(|&w| u64::from(w)).sum()).collect();
    // Each output row: first the source rows of its span made grey and summed down, weighted (a plain pass
    // over each row that the compiler vectorises; a source row on the border of two output rows is made grey
    // once), then those column sums summed across each output pixel's span, weighted, and divided by the
    // weights' total. The same sums as rows first, with a third of the span work (an output pixel spans about
    // 2.5 source rows of a 12-megapixel photograph). Column sums saturate: a span would have to be 65,793
    // rows tall to reach the most a u32 holds.
    let mut grey = vec![0u32; width];
    let mut greyed: Option<usize> = None;
    let mut columns = vec![0u32; width];
    let mut out = vec![0u8; w_us * h_us];
    for (oy, (first, _, weights)) in down.iter().enumerate() {
        columns.fill(0);
        for (k, weight) in weights.iter().enumerate() {
            let y = first + k;
            let Some(line) = pixels.get(y * width * channels..(y + 1) * width * channels) else { break };
            if greyed != Some(y) {
                match channels {
                    4 => grey_row::<4>(line, &mut grey),
                    3 => grey_row::<3>(line, &mut grey),
                    _ => grey_row::<1>(line, &mut grey),
                }
                greyed = Some(y);
            }
            for (c, g) in columns.iter_mut().zip(&grey) {
                *c = c.saturating_add(g * weight);
            }
        }
        let total_y: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let row = &mut out[oy * w_us..(oy + 1) * w_us];
        for ((o, (first, last, weights)), total_x) in row.iter_mut().zip(&across).zip(&across_totals) {
            let sum: u64 =
                columns[*first..*last].iter().zip(weights).map(|(c, weight)| u64::from(*c) * u64::from(*weight)).sum();
            let total = total_y * total_x;
            *o = (sum + total / 2).checked_div(total).map_or(0, |mean| mean.min(255) as u8);
        }
    }
    GrayImage::from_raw(w, h, out).unwrap_or_else(|| GrayImage::new(w, h))
}

/// One row of `C`-byte pixels made grey ([`grey_of`]), the pixel's size known to the compiler.
fn grey_row<const C: usize>(line: &[u8], grey: &mut [u32]) {
    for (g, p) in grey.iter_mut().zip(line.chunks_exact(C)) {
        *g = grey_of(p);
    }
}

/// Dark and light marks: in each tile with contrast, the pixels below and above the tile's middle level (the
/// anti-aliased grey of thin strokes included, or small type falls apart into specks).
fn masks(grey: &GrayImage) -> (Vec<bool>, Vec<bool>, Vec<(u32, u32)>) {
    let (w, h) = (grey.width(), grey.height());
    let mut dark = vec![false; (w * h) as usize];
    let mut light = vec![false; (w * h) as usize];
    let mut contrasted = Vec::new();
    for ty in (0..h).step_by(TILE as usize) {
        for tx in (0..w).step_by(TILE as usize) {
            let (x1, y1) = ((tx + TILE).min(w), (ty + TILE).min(h));
            let (mut lo, mut hi) = (255u8, 0u8);
            for y in ty..y1 {
                for x in tx..x1 {
                    let v = grey.get_pixel(x, y).0[0];
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
            if hi - lo < MIN_TILE_CONTRAST {
                continue;
            }
            contrasted.push((tx, ty));
            let middle = (u16::from(lo) + u16::from(hi)) / 2;
            for y in ty..y1 {
                for x in tx..x1 {
                    let v = u16::from(grey.get_pixel(x, y).0[0]);
                    let i = (y * w + x) as usize;
                    dark[i] = v < middle;
                    light[i] = v > middle;
                }
            }
        }
    }
    (dark, light, contrasted)
}

/// The share of all tiles that have contrast (their corners in `contrasted`) and touch no row of `boxes`
/// (at the working size).
fn busy_ground(contrasted: &[(u32, u32)], boxes: &[RowBox], w: u32, h: u32) -> f64 {
    let tiles = (w.div_ceil(TILE) * h.div_ceil(TILE)).max(1);
    let away = contrasted
        .iter()
        .filter(|&&(tx, ty)| !boxes.iter().any(|r| tx <= r.x1 && r.x0 < tx + TILE && ty <= r.y1 && r.y0 < ty + TILE))
        .count();
    away as f64 / f64::from(tiles)
}

/// A connected component's box and size.
#[derive(Debug, Clone, Copy)]
struct Mark {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    pixels: u32,
}

impl Mark {
    fn width(&self) -> u32 {
        self.x1 - self.x0 + 1
    }
    fn height(&self) -> u32 {
        self.y1 - self.y0 + 1
    }
}

/// The letter-sized connected components (8-connected) of `mask`: two passes over the rows with a
/// union-find of provisional labels.
fn components(mask: &[bool], w: u32, h: u32) -> Vec<Mark> {
    let mut labels = vec![0u32; mask.len()];
    let mut parent: Vec<u32> = vec![0];
    fn root(parent: &mut [u32], mut a: u32) -> u32 {
        while parent[a as usize] != a {
            parent[a as usize] = parent[parent[a as usize] as usize];
            a = parent[a as usize];
        }
        a
    }
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) as usize;
            if !mask[i] {
                continue;
            }
            let mut neighbours = [0u32; 4];
            if x > 0 {
                neighbours[0] = labels[i - 1];
            }
            if y > 0 {
                let up = i - w as usize;
                neighbours[1] = labels[up];
                if x > 0 {
                    neighbours[2] = labels[up - 1];
                }
                if x + 1 < w {
                    neighbours[3] = labels[up + 1];
                }
            }
            let mut label = 0;
            for n in neighbours.into_iter().filter(|n| *n != 0) {
                let r = root(&mut parent, n);
                if label == 0 {
                    label = r;
                } else if r != label {
                    let (a, b) = (label.min(r), label.max(r));
                    parent[b as usize] = a;
                    label = a;
                }
            }
            if label == 0 {
                label = u32::try_from(parent.len()).unwrap_or(u32::MAX);
                parent.push(label);
            }
            labels[i] = label;
        }
    }
    let mut marks: Vec<Option<Mark>> = vec![None; parent.len()];
    for y in 0..h {
        for x in 0..w {
            let label = labels[(y * w + x) as usize];
            if label == 0 {
                continue;
            }
            let r = root(&mut parent, label) as usize;
            let m = marks[r].get_or_insert(Mark { x0: x, y0: y, x1: x, y1: y, pixels: 0 });
            m.x0 = m.x0.min(x);
            m.y0 = m.y0.min(y);
            m.x1 = m.x1.max(x);
            m.y1 = m.y1.max(y);
            m.pixels += 1;
        }
    }
    marks
        .into_iter()
        .flatten()
        .filter(|m| {
            let (mw, mh) = (m.width(), m.height());
            let fill = f64::from(m.pixels) / f64::from(mw * mh);
            MARK_HEIGHT.contains(&mh) && mw >= 2 && mw <= 12 * mh && m.pixels >= 12 && (0.08..=0.9).contains(&fill)
        })
        .collect()
}

/// Chains of marks, each followed by its nearest neighbour on the right of like height, on the same line, a
/// gap of at most a letter and a half away; counted when at least [`MIN_ROW`] long and of unlike widths.
fn rows(marks: &[Mark], light: bool) -> Lines {
    let mut order: Vec<usize> = (0..marks.len()).collect();
    order.sort_by_key(|&i| (marks[i].x0, marks[i].y0));
    let mut next: Vec<Option<usize>> = vec![None; marks.len()];
    let mut has_previous = vec![false; marks.len()];
    for (k, &i) in order.iter().enumerate() {
        let a = marks[i];
        let (ah, acy) = (f64::from(a.height()), f64::from(a.y0 + a.y1) / 2.0);
        let mut best: Option<(usize, u32)> = None;
        for &j in &order[k + 1..] {
            let b = marks[j];
            if f64::from(b.x0) > f64::from(a.x1) + 1.5 * ah {
                break;
            }
            if b.x0 <= a.x0 || has_previous[j] {
                continue;
            }
            let bh = f64::from(b.height());
            let bcy = f64::from(b.y0 + b.y1) / 2.0;
            // An x-height letter beside an ascender's is 1.4 to 1.8 times shorter.
            let alike = ah.max(bh) <= 1.7 * ah.min(bh);
            // On one baseline, or centred alike (a descender's bottom is lower).
            let level = (f64::from(a.y1) - f64::from(b.y1)).abs() <= 0.25 * ah.max(bh)
                || (acy - bcy).abs() <= 0.35 * ah.max(bh);
            let gap = f64::from(b.x0) - f64::from(a.x1);
            if alike && level && gap >= -0.2 * ah && best.is_none_or(|(_, x)| b.x0 < x) {
                best = Some((j, b.x0));
            }
        }
        if let Some((j, _)) = best {
            next[i] = Some(j);
            has_previous[j] = true;
        }
    }
    let mut lines = Lines::default();
    for start in (0..marks.len()).filter(|&i| !has_previous[i]) {
        let mut widths = Vec::new();
        let mut at = Some(start);
        let first = marks[start];
        let mut row = RowBox { x0: first.x0, y0: first.y0, x1: first.x1, y1: first.y1, light, marks: 0 };
        while let Some(i) = at {
            widths.push(f64::from(marks[i].width()));
            let m = marks[i];
            (row.x0, row.y0, row.x1, row.y1) = (row.x0.min(m.x0), row.y0.min(m.y0), row.x1.max(m.x1), row.y1.max(m.y1));
            at = next[i];
            if widths.len() > marks.len() {
                break;
            }
        }
        if widths.len() < MIN_ROW {
            continue;
        }
        let mean = widths.iter().sum::<f64>() / widths.len() as f64;
        let spread = (widths.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / widths.len() as f64).sqrt() / mean;
        if spread >= 0.12 {
            lines.rows += 1;
            lines.marks += widths.len();
            row.marks = widths.len();
            lines.boxes.push(row);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// Rows of "letters": blocks of varied widths, 20 pixels high, 4 apart; `inverted` draws light on dark.
    fn lines_of_marks(rows: u32, inverted: bool) -> DynamicImage {
        let (paper, ink) = if inverted { (30u8, 230u8) } else { (240u8, 20u8) };
        let mut img = GrayImage::from_pixel(600, 60 + rows * 40, Luma([paper]));
        for r in 0..rows {
            let mut x = 20;
            for n in 0..20u32 {
                let w = 6 + (n * 7) % 11;
                for y in (30 + r * 40)..(50 + r * 40) {
                    for dx in 0..w {
                        // Hollow letters: an outline two pixels thick, as strokes are.
                        let edge = dx < 2 || dx + 2 >= w || y < 32 + r * 40 || y >= 48 + r * 40;
                        if edge {
                            img.put_pixel(x + dx, y, Luma([ink]));
                        }
                    }
                }
                x += w + 4;
            }
        }
        DynamicImage::ImageLuma8(img)
    }

    #[test]
    fn rows_of_letter_like_marks_are_text_in_either_polarity() {
        assert!(likely_text(&lines_of_marks(3, false)), "{:?}", find(&lines_of_marks(3, false)));
        assert!(likely_text(&lines_of_marks(3, true)), "{:?}", find(&lines_of_marks(3, true)));
    }

    #[test]
    fn smooth_pictures_and_fences_are_not() {
        let gradient = GrayImage::from_fn(800, 600, |x, y| Luma([((x + y) / 6) as u8]));
        assert!(!likely_text(&DynamicImage::ImageLuma8(gradient)));
        // A fence: bars all alike, in a row.
        let fence =
            GrayImage::from_fn(800, 200, |x, y| Luma([if (50..90).contains(&y) && x % 20 < 8 { 0 } else { 255 }]));
        assert_eq!(find(&DynamicImage::ImageLuma8(fence)).rows, 0);
    }

    #[test]
    fn rows_of_both_polarities_are_placed_in_the_images_own_pixels() {
        // Dark rows on a light top half, light rows on a dark bottom half, the whole twice the working size.
        let dark = lines_of_marks(2, false).to_luma8();
        let light = lines_of_marks(2, true).to_luma8();
        let mut both = GrayImage::from_pixel(600, dark.height() + light.height(), Luma([240]));
        image::imageops::replace(&mut both, &dark, 0, 0);
        image::imageops::replace(&mut both, &light, 0, i64::from(dark.height()));
        let found = find(&DynamicImage::ImageLuma8(both.clone()));
        let polarity: Vec<bool> = found.boxes.iter().map(|r| r.light).collect();
        assert_eq!(polarity, [false, false, true, true], "{found:?}");
        // The first row's marks start at x 20, y 30 and are 20 high.
        let first = found.boxes[0];
        assert_eq!((first.x0, first.y0, first.height()), (20, 30, 20), "{first:?}");
        let big = image::imageops::resize(&both, 3600, both.height() * 6, image::imageops::FilterType::Nearest);
        let scaled = find(&DynamicImage::ImageLuma8(big));
        assert_eq!(scaled.boxes.len(), 4, "{scaled:?}");
        let first = scaled.boxes[0];
        assert!(first.x0.abs_diff(120) <= 6 && first.y0.abs_diff(180) <= 6, "{first:?}");
        assert!(first.height().abs_diff(120) <= 12, "{first:?}");
    }

    #[test]
    fn a_page_has_a_plain_ground_and_a_photograph_a_busy_one() {
        let page = find(&lines_of_marks(3, false));
        assert!(page.busy_ground < 0.05, "{page:?}");
        // The same rows on a checkered ground.
        let photo = lines_of_marks(3, false).to_luma8();
        let rows_end = photo.height();
        let mut big =
            GrayImage::from_fn(600, rows_end * 3, |x, y| Luma([if (x / 9 + y / 13) % 2 == 0 { 60 } else { 200 }]));
        image::imageops::replace(&mut big, &photo, 0, 0);
        let busy = find(&DynamicImage::ImageLuma8(big));
        assert!(busy.busy_ground > 0.3, "{busy:?}");
    }

    #[test]
    fn the_working_copy_is_the_area_mean_in_grey() {
        // 4000 x 10 columns alternating black and white, in RGB: 2.5 source columns an output pixel, so each
        // is mid-grey give or take half a column; the row of the same in grey gives the same.
        let rgb = image::RgbImage::from_fn(4000, 10, |x, _| {
            if x % 2 == 0 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let copy = working_copy(&DynamicImage::ImageRgb8(rgb.clone()));
        assert_eq!((copy.width(), copy.height()), (1600, 4));
        for v in copy.as_raw() {
            assert!((76..=179).contains(v), "{v}");
        }
        let grey = working_copy(&DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(rgb).to_luma8()));
        assert_eq!(grey, copy);
        // Flat colours stay exactly what they are, in the image crate's grey.
        let flat = image::RgbImage::from_pixel(3000, 2000, image::Rgb([200, 40, 90]));
        let expected = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(1, 1, image::Rgb([200, 40, 90]))).to_luma8();
        let copy = working_copy(&DynamicImage::ImageRgb8(flat));
        assert_eq!((copy.width(), copy.height()), (1600, 1067));
        assert!(copy.as_raw().iter().all(|v| v.abs_diff(expected.as_raw()[0]) <= 1), "{:?}", &copy.as_raw()[..4]);
    }

    #[test]
    fn the_shrink_is_the_area_mean_of_any_size_and_pixel() {
        // Against the mean of the source pixels each output pixel covers, partly covered ones weighted by the
        // share covered, in floating point: within one grey level (the fixed point's rounding).
        for (width, height, w, h, channels) in [(37, 23, 10, 7, 3), (1001, 13, 400, 5, 4), (16, 300, 7, 120, 1)] {
            let pixels: Vec<u8> =
                (0..width * height * channels).map(|i| ((i * 7919 + i / 13 * 104_729) % 251) as u8).collect();
            let shrunk = shrink_to_grey(&pixels, channels, width as u32, height as u32, w, h);
            let grey: Vec<f64> = pixels.chunks_exact(channels).map(|p| f64::from(grey_of(p))).collect();
            let cover = |i: u32, from: usize, to: u32, k: usize| {
                let step = from as f64 / f64::from(to);
                let (a, b) = (f64::from(i) * step, f64::from(i + 1) * step);
                (b.min(k as f64 + 1.0) - a.max(k as f64)).max(0.0)
            };
            for oy in 0..h {
                for ox in 0..w {
                    let (mut sum, mut weight) = (0.0, 0.0);
                    for y in 0..height {
                        for x in 0..width {
                            let share = cover(ox, width, w, x) * cover(oy, height, h, y);
                            sum += share * grey[y * width + x];
                            weight += share;
                        }
                    }
                    let got = f64::from(shrunk.get_pixel(ox, oy).0[0]);
                    assert!((got - sum / weight).abs() <= 1.0, "{width}x{height} to {w}x{h}, ({ox}, {oy}): {got}");
                }
            }
        }
    }
}
