//! Deskewing a page before OCR. Tesseract reads lines of text that run level; a page scanned or
//! photographed a few degrees askew loses most of its words. [`estimate`] finds the skew by a projection
//! profile search, [`rotate`] turns the page back.
//!
//! The estimate works on a small binarised copy of the page: for each candidate angle the dark pixels are
//! projected onto the axis perpendicular to the text lines, and the angle whose profile is the most uneven
//! (the largest sum of squared row counts: lines and the gaps between them) is the skew. Pages that give no
//! clear answer (blank, photos, sideways text, a few words) are left as they are.

use image::{GrayImage, Luma};

/// Angles searched, in degrees either side of level: a page turned further than this is not a skewed scan
/// (OSD handles quarter turns).
const MAX_SKEW: f64 = 15.0;
/// Coarse search step, then the fine step around the best coarse angle.
const COARSE_STEP: f64 = 1.0;
const FINE_STEP: f64 = 0.1;
/// Skews up to this are left alone: Tesseract reads them as well as level text, and a rotation blurs.
pub(crate) const MIN_SKEW: f64 = 0.5;
/// The estimate runs on a copy whose longest side is at most this (an integer reduction of the page): text
/// lines stay several pixels high on a page at 300 dpi, and the work stays small.
const ESTIMATE_SIDE: u32 = 1000;
/// Fewer dark pixels than this share of the copy: a blank page or a few marks; not estimated.
const MIN_DARK_SHARE: f64 = 0.002;
/// More dark pixels than this share: a photo or a dark page, not text on paper; not estimated.
const MAX_DARK_SHARE: f64 = 0.35;
/// The best angle's profile must beat the median of the coarse angles' profiles by this factor. On the
/// dev corpus's images, pages of text stand out by 1.86 to 2.26, photos and drawings by 1.07 to 1.44 (their
/// maximum is noise, as it is for sideways text); one line of text (`tika__testOCR.jpg`) by 1.60, which is
/// left as it is.
const MIN_PEAK_RATIO: f64 = 1.65;
/// At most this many dark pixels are projected (evenly sampled beyond it), which bounds the search.
const MAX_SAMPLES: usize = 200_000;

/// The angle in degrees by which the text of `img` is turned counter-clockwise as seen on screen (negative:
/// clockwise); `None` when the page gives no clear answer (see the module's notes).
pub(crate) fn estimate(img: &GrayImage) -> Option<f64> {
    search(img).filter(|s| s.peak >= MIN_PEAK_RATIO).map(|s| s.angle)
}

/// What the search found: the best angle and how far its profile stands out.
#[derive(Debug, Clone, Copy)]
struct Search {
    angle: f64,
    /// The best angle's score over the median score of the coarse angles.
    peak: f64,
}

fn search(img: &GrayImage) -> Option<Search> {
    let small = reduce(img, ESTIMATE_SIDE);
    let (w, h) = small.dimensions();
    if w < 32 || h < 32 {
        return None;
    }
    let threshold = otsu(&small)?;
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let dark: Vec<(f64, f64)> = small
        .enumerate_pixels()
        .filter(|(_, _, p)| p[0] <= threshold)
        .map(|(x, y, _)| (f64::from(x) - cx, f64::from(y) - cy))
        .collect();
    let share = dark.len() as f64 / (f64::from(w) * f64::from(h));
    if !(MIN_DARK_SHARE..=MAX_DARK_SHARE).contains(&share) {
        return None;
    }
    let step = dark.len().div_ceil(MAX_SAMPLES).max(1);
    let points: Vec<(f64, f64)> = dark.into_iter().step_by(step).collect();
    // Rows of the projection are indexed from the most negative offset a point can reach.
    let reach = (f64::from(w).hypot(f64::from(h)) / 2.0).ceil() as usize + 1;
    let mut rows = vec![0u32; 2 * reach + 1];
    let offset = reach as f64 + 0.5;
    let mut score = |degrees: f64| -> f64 {
        rows.iter_mut().for_each(|r| *r = 0);
        let (sin, cos) = degrees.to_radians().sin_cos();
        for &(x, y) in &points {
            // Where the point was before a counter-clockwise turn by `degrees`: its row on the level page.
            // `reach` is beyond any |x sin + y cos|, so the sum is positive and `as` rounds it to a row.
            let row = (x * sin + y * cos + offset) as usize;
            if let Some(r) = rows.get_mut(row) {
                *r += 1;
            }
        }
        rows.iter().map(|&r| f64::from(r) * f64::from(r)).sum()
    };
    let steps = (MAX_SKEW / COARSE_STEP).round() as i32;
    let coarse: Vec<(f64, f64)> = (-steps..=steps)
        .map(|i| {
            let a = f64::from(i) * COARSE_STEP;
            (a, score(a))
        })
        .collect();
    let (mut best, mut best_score) = coarse.iter().copied().fold((0.0, f64::MIN), |b, c| if c.1 > b.1 { c } else { b });
    let mut scores: Vec<f64> = coarse.iter().map(|c| c.1).collect();
    scores.sort_by(f64::total_cmp);
    let median = scores[scores.len() / 2];
    if median <= 0.0 {
        return None;
    }
    let peak = best_score / median;
    let centre = best;
    let fine = (COARSE_STEP / FINE_STEP).round() as i32;
    for i in -fine..=fine {
        let a = centre + f64::from(i) * FINE_STEP;
        if a.abs() > MAX_SKEW || i == 0 {
            continue;
        }
        let s = score(a);
        if s > best_score {
            (best, best_score) = (a, s);
        }
    }
    Some(Search { angle: (best * 10.0).round() / 10.0, peak })
}

/// `img` turned counter-clockwise (as seen on screen) by `degrees` about its centre, bilinear, on a canvas
/// of the same size; what comes in from outside is white. Same pixel count, so every pixel bound holds.
pub(crate) fn rotate(img: &GrayImage, degrees: f64) -> GrayImage {
    let (w, h) = img.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let (wu, hu) = (w as usize, h as usize);
    let src = img.as_raw();
    let px = |x: isize, y: isize| -> f64 {
        if x < 0 || y < 0 || x as usize >= wu || y as usize >= hu {
            255.0
        } else {
            f64::from(src[y as usize * wu + x as usize])
        }
    };
    let mut out = vec![0u8; wu * hu];
    for (y, row) in out.chunks_exact_mut(wu.max(1)).enumerate() {
        let dy = y as f64 + 0.5 - cy;
        // The source of an output pixel is the output position turned back (clockwise) by `degrees`; along
        // a row it moves by (cos, sin) a pixel.
        let dx = 0.5 - cx;
        let (mut sx, mut sy) = (dx * cos - dy * sin + cx - 0.5, dx * sin + dy * cos + cy - 0.5);
        for p in row.iter_mut() {
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            let (tl, tr, bl, br) = if x0 >= 0 && y0 >= 0 && (x0 as usize) + 1 < wu && (y0 as usize) + 1 < hu {
                let i = y0 as usize * wu + x0 as usize;
                (f64::from(src[i]), f64::from(src[i + 1]), f64::from(src[i + wu]), f64::from(src[i + wu + 1]))
            } else {
                (px(x0, y0), px(x0 + 1, y0), px(x0, y0 + 1), px(x0 + 1, y0 + 1))
            };
            let top = tl + (tr - tl) * fx;
            let bottom = bl + (br - bl) * fx;
            *p = (top + (bottom - top) * fy).round().clamp(0.0, 255.0) as u8;
            sx += cos;
            sy += sin;
        }
    }
    GrayImage::from_raw(w, h, out).unwrap_or_else(|| img.clone())
}

/// `img` reduced by the smallest whole factor that brings its longest side to `side` or less, each pixel
/// the mean of its block; `img` itself (copied) when it is small enough.
fn reduce(img: &GrayImage, side: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    let f = w.max(h).div_ceil(side.max(1)).max(1);
    if f == 1 {
        return img.clone();
    }
    let (sw, sh) = (w / f, h / f);
    let mut sums = vec![0u32; sw as usize * sh as usize];
    for (x, y, p) in img.enumerate_pixels() {
        let (bx, by) = (x / f, y / f);
        if bx < sw && by < sh {
            sums[(by * sw + bx) as usize] += u32::from(p[0]);
        }
    }
    let n = f * f;
    GrayImage::from_fn(sw, sh, |x, y| Luma([(sums[(y * sw + x) as usize] / n) as u8]))
}

/// Otsu's threshold: the grey level that best splits the histogram into dark and light. `None` for an image
/// of one grey level.
fn otsu(img: &GrayImage) -> Option<u8> {
    let mut hist = [0u64; 256];
    for p in img.pixels() {
        hist[usize::from(p[0])] += 1;
    }
    let total: u64 = hist.iter().sum();
    let sum: f64 = hist.iter().enumerate().map(|(i, &c)| i as f64 * c as f64).sum();
    let (mut below, mut sum_below) = (0u64, 0.0);
    let mut best: Option<(u8, f64)> = None;
    for (t, &c) in hist.iter().enumerate() {
        below += c;
        sum_below += t as f64 * c as f64;
        let above = total - below;
        if below == 0 || above == 0 {
            continue;
        }
        let mean_below = sum_below / below as f64;
        let mean_above = (sum - sum_below) / above as f64;
        let between = below as f64 * above as f64 * (mean_below - mean_above).powi(2);
        if best.is_none_or(|(_, b)| between > b) {
            best = Some((t as u8, between));
        }
    }
    best.map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of "text": lines of word-like dark blocks of varying widths on white, with margins.
    fn text_page(w: u32, h: u32) -> GrayImage {
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 16) % 100
        };
        let mut img = GrayImage::from_pixel(w, h, Luma([255]));
        let (margin, line, gap) = (w / 8, 14, 12);
        let mut y = h / 8;
        while y + line < h - h / 8 {
            let mut x = margin;
            let end = w - margin - next() * w / 400;
            while x < end {
                let word = (20 + next() * 2).min(end - x);
                for yy in y..y + line {
                    // Letters: dark columns with thin gaps inside a word.
                    for xx in x..x + word {
                        if xx % 9 != 0 {
                            img.put_pixel(xx, yy, Luma([20]));
                        }
                    }
                }
                x += word + 12;
            }
            y += line + gap;
        }
        img
    }

    #[test]
    fn finds_known_skews() {
        let page = text_page(1000, 1200);
        for angle in [3.0, -3.0, 10.0, -10.0, 0.0, 7.3] {
            let turned = rotate(&page, angle);
            let found = estimate(&turned).unwrap_or_else(|| panic!("no estimate for {angle}°"));
            assert!((found - angle).abs() <= 0.5, "turned by {angle}°, estimated {found}°");
        }
    }

    #[test]
    fn blank_and_noisy_pages_give_no_rotation() {
        assert_eq!(estimate(&GrayImage::from_pixel(800, 1000, Luma([255]))), None);
        assert_eq!(estimate(&GrayImage::from_pixel(800, 1000, Luma([0]))), None);
        assert_eq!(estimate(&GrayImage::new(10, 10)), None);
        // A photo-like texture: noise over a gradient.
        let mut seed = 99u32;
        let photo = GrayImage::from_fn(900, 700, |x, y| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            Luma([((x + y) / 8 % 200) as u8 + ((seed >> 16) % 56) as u8])
        });
        assert_eq!(estimate(&photo), None);
    }

    #[test]
    fn sideways_text_gives_no_rotation() {
        let page = text_page(1000, 1200);
        let sideways = image::imageops::rotate90(&page);
        assert_eq!(estimate(&sideways), None);
    }

    #[test]
    fn rotation_keeps_size_and_fills_white() {
        let img = GrayImage::from_pixel(200, 100, Luma([0]));
        let turned = rotate(&img, 10.0);
        assert_eq!(turned.dimensions(), (200, 100));
        assert_eq!(turned.get_pixel(0, 0)[0], 255, "a corner comes from outside the page");
        assert_eq!(turned.get_pixel(100, 50)[0], 0);
        assert_eq!(rotate(&img, 0.0), img);
    }

    /// A page of the size OCR sees, turned by 10°: the estimate finds it, and the time of the estimate and of
    /// the rotation is printed (a measurement for docs/PERFORMANCE.md, never asserted):
    /// `cargo test --release -p folio-extract --lib deskew::tests::cost -- --nocapture`.
    #[test]
    fn cost() {
        let page = rotate(&text_page(1000, 1200), 10.0);
        let runs = 5;
        let start = std::time::Instant::now();
        for _ in 0..runs {
            let angle = estimate(&page).expect("a turned text page has a skew");
            assert!((angle.abs() - 10.0).abs() < 0.5, "estimated {angle}");
        }
        let estimating = start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
        let start = std::time::Instant::now();
        for _ in 0..runs {
            std::hint::black_box(rotate(&page, -10.0));
        }
        let rotating = start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
        println!("1000x1200 page: estimate {estimating:.1} ms, rotation {rotating:.1} ms");
    }

    #[test]
    fn reduces_large_pages_by_whole_factors() {
        let img = GrayImage::from_pixel(2500, 3500, Luma([200]));
        let small = reduce(&img, 1000);
        assert_eq!(small.dimensions(), (625, 875));
        assert_eq!(small.get_pixel(3, 3)[0], 200);
    }
}
