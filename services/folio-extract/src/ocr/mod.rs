//! Optical character recognition of one page image with Tesseract (see [`crate::tools::tesseract`]).
//!
//! The language is chosen, not assumed: OSD names the script (and the rotation, which we apply), the
//! script picks a first pack, and when the recognised text reads as a language with its own installed pack
//! (Spanish, French, ...) the page is recognised again with that pack and the more confident result kept.
//! A page scanned askew is turned level first (see [`crate::ocr::deskew`]).
//! A picture without text must stay a picture: results with low confidence are dropped, so the garbage
//! Tesseract reads into photos never reaches the record.

pub(crate) mod deskew;
pub(crate) mod textlines;
pub(crate) mod tsv;

use crate::{language, tools::tesseract, Limits};
use image::DynamicImage;
use std::time::Instant;

/// Below this mean word confidence (0–100) the page is treated as having no text. Measured on the dev
/// corpus and our fixtures: printed pages and scans score 85–96, a clean typewriter page 89, a phone photo
/// of a French sign 52; photos without text yield either no words or a handful at 0–40.
const MIN_MEAN_CONFIDENCE: f64 = 50.0;
/// The same, for a page read with the pack of a script whose letters carry marks above and below them
/// (vowel points, harakat, matras, Thai vowels and tones): Tesseract's confidence there runs lower on clean
/// print (Genesis 1:1-5 in pointed Hebrew, rendered at 30 px: 43), and the pack was chosen because OSD saw
/// that script on the page, which a photo's texture does not show it.
const MIN_MEAN_CONFIDENCE_MARKED_SCRIPT: f64 = 35.0;
/// A word counts as confident from this confidence on.
const CONFIDENT: f64 = 60.0;
/// Fewer confident words than this and the page is treated as having no text: a photo's texture sometimes
/// yields one or two "words" with fair confidence, a page of text never so few.
const MIN_CONFIDENT_WORDS: usize = 3;

/// What OCR made of one page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PageOcr {
    /// The recognised text; empty when the result was judged not to be text.
    pub text: String,
    /// The packs of the result kept, e.g. `["spa"]`.
    pub languages: Vec<String>,
    /// Mean word confidence, 0 to 1 (0 without words).
    pub confidence: f64,
    /// Words the confidence is the mean of (for averaging over pages).
    pub words: usize,
    /// The language (ISO 639-1) OCR itself stood for against detection: the page was read again with the
    /// pack of the language detected in the first reading and that pack read it worse, or no pack can check
    /// the detected language, detection was a guess ([`UNSURE_DETECTION`]) and the first pack read the page
    /// with confidence ([`SURE_READING`]). Detection on the few words of a sign or a caption is the doubtful
    /// side then (four English words read as Swedish).
    /// `(what OCR read it as, what detection said)`.
    pub read_as: Option<(&'static str, String)>,
}

impl PageOcr {
    /// The result for an image that could not hold text ([`could_hold_text`]): no words, no packs.
    pub(crate) fn nothing() -> Self {
        PageOcr { text: String::new(), languages: Vec::new(), confidence: 0.0, words: 0, read_as: None }
    }
}

/// Whether OCR can run: tesseract answers and has at least one recognition pack (not just `osd`).
/// Logs a warning once when it cannot.
pub(crate) fn available() -> bool {
    tesseract::installed_languages().iter().any(|l| l != "osd")
}

/// Whether this process loads OCR models ahead ([`prepare`]): a warm parser process does, as its engines serve
/// the documents after; a process that reads one document does not (most pictures hold no text, and the load
/// would be thrown away with the process).
static LOAD_AHEAD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Lets [`prepare`] load models ahead in this process (a warm parser process, which keeps its engines).
pub(crate) fn load_ahead() {
    LOAD_AHEAD.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Starts loading the engines a reading wants first, where this process loads ahead ([`load_ahead`]), OCR is
/// available and they are not loaded yet, on a thread of their own ([`tesseract::prepare`]): called as soon as
/// a document may be OCRed, so that the models load while it is decoded or rendered and looked at. A page
/// (`with_osd`) is read by OSD first, then the Latin pack; the words on a picture in Latin alone, and most
/// pictures hold none (OSD's load for nothing).
/// Returns whether the engines were asked for (loaded ahead, being loaded, or kept already).
pub(crate) fn prepare(with_osd: bool) -> bool {
    if !LOAD_AHEAD.load(std::sync::atomic::Ordering::Relaxed) || !available() {
        return false;
    }
    let latin = pack_for_script("");
    if with_osd && tesseract::has_language("osd") {
        tesseract::prepare(&["osd", &latin]);
    } else {
        tesseract::prepare(&[&latin]);
    }
    true
}

/// Below this confidence (0 to 1) language detection on OCR text is a guess (whatlang gives "Apache Tika
/// OCR Testing" 0.04 for Swedish).
const UNSURE_DETECTION: f64 = 0.2;
/// From this mean word confidence (0-100) a reading with a language's pack is good evidence of the language.
const SURE_READING: f64 = 85.0;

/// The shorter side below which an image cannot hold a legible line of text (a glyph needs about 10 pixels).
const MIN_TEXT_SIDE: u32 = 12;
/// How far (in grey levels) a pixel must be from the background's level to count as ink.
const MIN_CONTRAST: u8 = 24;
/// The share of sampled pixels that must be ink for an image to hold text: 1 in 2,000. A page with a few
/// lines of text at the top is 99.5% paper (page 30 of the corpus's source2e.pdf at 300 dpi: 0.54% ink), so
/// the spread between the 1st and 99th percentile, used before, called it flat and it was never OCRed.
const MIN_INK_SHARE: f64 = 1.0 / 2000.0;

/// Whether OCR could find anything in `img`: not when it is too small for a line of text, or (nearly) one
/// flat colour. Reading such an image costs Tesseract a second and yields nothing but noise.
pub(crate) fn could_hold_text(img: &DynamicImage) -> bool {
    if img.width().min(img.height()) < MIN_TEXT_SIDE {
        return false;
    }
    // A sample of at most about 1024 x 1024 pixels: strokes of text at 300 dpi are 3 to 5 pixels wide,
    // and a coarser grid steps over the few lines of a nearly blank page.
    let step = (img.width().max(img.height()) / 1024).max(1) as usize;
    let mut histogram = [0u64; 256];
    let mut count = 0u64;
    // Only the sampled pixels are made grey (a 12-megapixel photograph's grey copy took 60 ms).
    let mut sample = |raw: &[u8], channels: usize| {
        let width = img.width() as usize;
        for line in raw.chunks_exact(width * channels).step_by(step) {
            for p in line.chunks_exact(channels).step_by(step) {
                histogram[textlines::grey_of(p) as usize & 0xff] += 1;
                count += 1;
            }
        }
    };
    match img {
        DynamicImage::ImageLuma8(g) => sample(g.as_raw(), 1),
        DynamicImage::ImageRgb8(rgb) => sample(rgb.as_raw(), 3),
        DynamicImage::ImageRgba8(rgba) => sample(rgba.as_raw(), 4),
        other => sample(other.to_luma8().as_raw(), 1),
    }
    // The background is the most common level; ink is whatever stands clearly apart from it.
    let Some(background) = (0..256).max_by_key(|&level| histogram[level]) else { return false };
    let ink: u64 = histogram
        .iter()
        .enumerate()
        .filter(|(level, _)| level.abs_diff(background) >= usize::from(MIN_CONTRAST))
        .map(|(_, n)| n)
        .sum();
    ink >= 1 && ink as f64 >= count as f64 * MIN_INK_SHARE
}

/// Recognise `img` within `limits` (`max_ocr_pixels`, `ocr_timeout` for the whole page).
pub(crate) fn recognise(img: &DynamicImage, limits: &Limits) -> Result<PageOcr, String> {
    let deadline = Instant::now() + limits.ocr_timeout;
    read(level(bounded(img, limits.max_ocr_pixels).into_luma8()), deadline)
}

/// At most this many rows of letters, covering less than [`MAX_SPARSE_SHARE`] of the picture, on a ground
/// with texture ([`MIN_BUSY_GROUND`]) make it a picture with words on it (a sign, a caption, a label) rather
/// than a page: those rows are read, not the picture. Measured on the dev corpus and the fixtures: street
/// signs 2 to 7 rows over 9% to 24% of the photo, words painted on a landscape 2 or 3 rows over 2% to 7%, with
/// contrast away from the rows in 59% to 85% of the picture; pages and scans 3 to 280 rows with contrast away
/// from them in at most 11% (a typewritten page of 37 rows, 22%).
pub(crate) const MAX_SPARSE_ROWS: usize = 8;
/// See [`MAX_SPARSE_ROWS`].
pub(crate) const MAX_SPARSE_SHARE: f64 = 0.35;
/// See [`MAX_SPARSE_ROWS`] ([`textlines::Lines::busy_ground`]).
pub(crate) const MIN_BUSY_GROUND: f64 = 0.3;
/// Rows are brought to this height (pixels) for the reading: Tesseract reads best at 20 to 30 pixels of
/// x-height, and a row's box holds ascenders and descenders.
const ROW_PX: u32 = 48;
/// A row is enlarged at most this many times.
const MAX_ROW_SCALE: f64 = 4.0;

/// Whether the rows `lines` found in `img` are words on a picture ([`MAX_SPARSE_ROWS`]).
pub(crate) fn words_on_a_picture(img: &DynamicImage, lines: &textlines::Lines) -> bool {
    let area: u64 = lines.boxes.iter().map(|r| u64::from(r.width()) * u64::from(r.height())).sum();
    let picture = u64::from(img.width()) * u64::from(img.height());
    !lines.boxes.is_empty()
        && lines.boxes.len() <= MAX_SPARSE_ROWS
        && (area as f64) < MAX_SPARSE_SHARE * picture.max(1) as f64
        && lines.busy_ground >= MIN_BUSY_GROUND
}

/// Recognise the words on a picture: each row `lines` found, cut out with a margin, made dark on light
/// (a sign's white letters on blue are inverted), brought to [`ROW_PX`], and read as one line of text, all the
/// rows by one engine. Tesseract reading the whole photograph finds its page layout in the photo's
/// texture and reads little of a sign (nothing of a Shanghai street sign, a few letters of a Paris one); the
/// rows are a few small images and cost a fraction of the photograph's reading.
pub(crate) fn recognise_rows(img: &DynamicImage, lines: &textlines::Lines, limits: &Limits) -> Result<PageOcr, String> {
    let deadline = Instant::now() + limits.ocr_timeout;
    let mut cut: Vec<image::GrayImage> = Vec::new();
    for row in &lines.boxes {
        let h = row.height();
        let (mx, my) = ((h / 2).max(2), (h / 3).max(2));
        let x0 = row.x0.saturating_sub(mx);
        let y0 = row.y0.saturating_sub(my);
        let x1 = (row.x1 + mx).min(img.width().saturating_sub(1));
        let y1 = (row.y1 + my).min(img.height().saturating_sub(1));
        // Only the row is made grey, not the photograph.
        let mut part = img.crop_imm(x0, y0, x1 - x0 + 1, y1 - y0 + 1).to_luma8();
        if row.light {
            image::imageops::invert(&mut part);
        }
        let scale = (f64::from(ROW_PX) / f64::from(h)).min(MAX_ROW_SCALE);
        let (w, h) = (
            ((f64::from(part.width()) * scale).round() as u32).max(1),
            ((f64::from(part.height()) * scale).round() as u32).max(1),
        );
        cut.push(image::imageops::resize(&part, w, h, image::imageops::FilterType::CatmullRom));
    }
    let pixels: u64 = cut.iter().map(|p| u64::from(p.width()) * u64::from(p.height())).sum();
    if pixels > limits.max_ocr_pixels.max(1) {
        return recognise(img, limits);
    }
    // All the rows read by one engine, each as one line of text: no page layout to find in a photograph.
    let left = || deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()).ok_or("OCR time limit");
    let rows: Vec<&image::GrayImage> = cut.iter().collect();
    // The rows are level and upright as found; they are read in Latin (then in the language that reading
    // names, where it has a pack of its own).
    best_reading("", Read::Rows, |pack| {
        let tsv = tesseract::recognise_tsv(&rows, pack, tesseract::Segmentation::Line, left()?)?;
        Ok(crate::ocr::tsv::parse_confident_pages(&tsv, MIN_MEAN_CONFIDENCE))
    })
}

/// Read a prepared page (grey, level, within the pixel limit) by the time `deadline`.
fn read(page: image::GrayImage, deadline: Instant) -> Result<PageOcr, String> {
    let left = || deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()).ok_or("OCR time limit");
    let mut page = page;
    let script = match tesseract::osd(&page) {
        Ok(osd) => {
            if osd.rotate != 0 {
                page = match osd.rotate {
                    90 => image::imageops::rotate90(&page),
                    180 => image::imageops::rotate180(&page),
                    _ => image::imageops::rotate270(&page),
                };
            }
            osd.script
        }
        // Too little text for OSD: the usual case for photos and sparse pages.
        Err(why) => {
            tracing::debug!("OSD failed: {why}");
            String::new()
        }
    };

    best_reading(&script, Read::Page, |pack| {
        Ok(crate::ocr::tsv::parse(&tesseract::recognise_tsv(&[&page], pack, tesseract::Segmentation::Auto, left()?)?))
    })
}

/// What was read: a page (Tesseract found its lines) or rows the look found (each read as one line, those of
/// low confidence left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Page,
    Rows,
}

/// The reading kept of a page or of rows, `read` reading them with a set of packs: first with the pack of
/// `script` (Latin where OSD named none), then, for a page where OSD named no script and Latin may have been
/// the wrong guess, with every script pack at once; where the text kept reads as a language with a pack of
/// its own, with that pack too.
fn best_reading(
    script: &str,
    what: Read,
    read: impl Fn(&str) -> Result<crate::ocr::tsv::TsvText, String>,
) -> Result<PageOcr, String> {
    let first_pack = pack_for_script(script);
    let first = read(&first_pack)?;
    let mut best = (first_pack.clone(), first);
    let latin_in_doubt = match what {
        // Words, but not text.
        Read::Page => !is_text(&best.0, &best.1) && !best.1.confidences.is_empty(),
        // Never: every script pack at once reads a photograph's rows that are not letters into some script
        // (Thai letters out of a landscape's railing, kept at Thai's lower confidence floor). The rows of a
        // sign in another script are not read.
        Read::Rows => false,
    };
    if script.is_empty() && latin_in_doubt {
        // OSD could not name the script (a sign, a caption): Latin was a guess. Read the page once more with
        // every installed script pack at once, and keep that if it reads better. Not when the first reading
        // found no word at all: the page's layout, which finds the lines, is the same whatever the packs, and
        // on a photograph that the look let through (a texture, a few painted words) that reading costs half
        // a second or more for nothing.
        let all = script_packs();
        if all.contains('+') {
            let second = read(&all)?;
            if second.mean_confidence() * second.confident_words(CONFIDENT) as f64
                > best.1.mean_confidence() * best.1.confident_words(CONFIDENT) as f64
            {
                best = (all, second);
            }
        }
    }
    let mut read_as = None;
    if is_text(&best.0, &best.1) {
        let (detected, sureness) = language::detect(&best.1.text).unwrap_or_else(|| ("und".into(), 0.0));
        match pack_for_language(&detected).filter(|p| tesseract::has_language(p)) {
            Some(pack) if pack != first_pack => {
                let second = read(pack)?;
                if second.mean_confidence() > best.1.mean_confidence() {
                    best = (pack.to_string(), second);
                } else if best.0 == first_pack {
                    read_as = language_of_pack(&first_pack).map(|l| (l, detected.clone()));
                }
            }
            // No pack to check the detected language with: when detection is no more than a guess and the
            // first pack read the page with confidence, the first pack's language stands.
            None if best.0 == first_pack
                && detected != "und"
                && sureness < UNSURE_DETECTION
                && best.1.mean_confidence() >= SURE_READING =>
            {
                read_as = language_of_pack(&first_pack).map(|l| (l, detected.clone()));
            }
            _ => {}
        }
    }
    let (pack, tsv) = best;
    let kept = is_text(&pack, &tsv) || is_code_page(&tsv);
    Ok(PageOcr {
        text: if kept { tsv.text.clone() } else { String::new() },
        languages: pack.split('+').map(str::to_string).collect(),
        confidence: tsv.mean_confidence() / 100.0,
        words: tsv.confidences.len(),
        read_as: if kept { read_as } else { None },
    })
}

/// `page` turned level when it is skewed by more than [`deskew::MIN_SKEW`] (see [`crate::ocr::deskew`]).
fn level(page: image::GrayImage) -> image::GrayImage {
    match deskew::estimate(&page) {
        Some(skew) if skew.abs() > deskew::MIN_SKEW => {
            tracing::info!("page skewed by {skew:.1}°: turned level before OCR");
            deskew::rotate(&page, -skew)
        }
        _ => page,
    }
}

/// Whether a result of `pack` reads as text rather than a photo's texture (see the thresholds above):
/// judged by script.
fn is_text(pack: &str, t: &crate::ocr::tsv::TsvText) -> bool {
    let marked = pack.split('+').all(|p| matches!(p, "heb" | "ara" | "fas" | "hin" | "tha"));
    let floor = if marked { MIN_MEAN_CONFIDENCE_MARKED_SCRIPT } else { MIN_MEAN_CONFIDENCE };
    t.mean_confidence() >= floor && t.confident_words(CONFIDENT) >= MIN_CONFIDENT_WORDS && reads_as_writing(&t.text)
}

/// Confident words from which a reading is kept though [`reads_as_writing`] refuses it.
const MIN_CONFIDENT_WORDS_OF_CODE: usize = 50;

/// A page of source code or markup (`\DeclareTextComposite{\'}{T1}{E}{200}`, `a_b = c[i]`): its braces,
/// backslashes and mixed case are what [`reads_as_writing`] takes for a photo's texture read as letters, but
/// Tesseract reads such a page with confidence, word after word, which a texture never gives (a handful of
/// words, at 0 to 40). Kept from [`MIN_CONFIDENT_WORDS_OF_CODE`] confident words at the usual mean confidence.
fn is_code_page(t: &crate::ocr::tsv::TsvText) -> bool {
    t.mean_confidence() >= MIN_MEAN_CONFIDENCE && t.confident_words(CONFIDENT) >= MIN_CONFIDENT_WORDS_OF_CODE
}

/// Letters (at least) from which [`reads_as_writing`] judges the mix of scripts.
const MIN_LETTERS_TO_JUDGE: usize = 12;

/// Whether OCR's text reads as writing rather than the letters Tesseract finds in a photograph's texture or
/// in a script its pack does not know, judged by script, as writing is:
/// - one script, or two (a bilingual sign): the two commonest scripts hold 85% of the letters and the
///   commonest 40%; the texture of a photo read with several packs at once comes out in four or five;
/// - words of alphabets change case only at their start (`Программа`, `NATO`, not `coTpyHM4eCcTBa`, which is
///   Russian read with the English pack): fewer than a quarter of the words switch from lower to upper case
///   inside;
/// - fewer than a sixth of the marks are symbols that writing rarely holds (`|`, `=`, `~`, `_`, `\`, `^`,
///   brackets), which texture yields in plenty.
pub(crate) fn reads_as_writing(text: &str) -> bool {
    let mut scripts: std::collections::HashMap<language::Script, usize> = std::collections::HashMap::new();
    let (mut letters, mut marks, mut symbols) = (0usize, 0usize, 0usize);
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        marks += 1;
        if c.is_alphabetic() {
            letters += 1;
            *scripts.entry(language::Script::of(c)).or_default() += 1;
        } else if matches!(
            c,
            '|' | '='
                | '~'
                | '_'
                | '\\'
                | '^'
                | '{'
                | '}'
                | '['
                | ']'
                | '<'
                | '>'
                | '`'
                | '¦'
                | '§'
                | '¥'
                | '£'
                | '¢'
                | '@'
                | '#'
        ) {
            symbols += 1;
        }
    }
    if marks > 0 && symbols * 6 >= marks && symbols >= 3 {
        return false;
    }
    if letters >= MIN_LETTERS_TO_JUDGE {
        let mut counts: Vec<usize> = scripts.values().copied().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let first = counts.first().copied().unwrap_or(0);
        let two = first + counts.get(1).copied().unwrap_or(0);
        if (two as f64) < 0.85 * letters as f64 || (first as f64) < 0.4 * letters as f64 {
            return false;
        }
    }
    let words: Vec<&str> =
        text.split_whitespace().filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 3).collect();
    if words.len() >= 4 {
        let switching = words
            .iter()
            .filter(|w| {
                let cs: Vec<char> = w.chars().collect();
                cs.windows(2).any(|p| p[0].is_lowercase() && p[1].is_uppercase())
            })
            .count();
        if switching * 4 >= words.len() {
            return false;
        }
    }
    true
}

/// Pages whose longest side is under this are enlarged before OCR: Tesseract reads letters best at 20–30
/// pixels high, which small photos and screenshots of signs do not reach.
const SMALL_SIDE: u32 = 1000;
/// The longest side an enlarged page is brought to (about).
const TARGET_SIDE: u32 = 1600;
/// At most this enlargement: beyond it, only blur is added.
const MAX_UPSCALE: u32 = 3;

/// `img` prepared for OCR: downscaled when it has more than `max_pixels` pixels (OCR time and memory grow
/// with the pixels, and past print resolution more pixels add nothing), enlarged two or three times when
/// its longest side is under [`SMALL_SIDE`] (within `max_pixels` too).
fn bounded(img: &DynamicImage, max_pixels: u64) -> DynamicImage {
    let pixels = u64::from(img.width()) * u64::from(img.height());
    let longest = img.width().max(img.height()).max(1);
    if longest < SMALL_SIDE {
        let most = TARGET_SIDE.div_ceil(longest).clamp(2, MAX_UPSCALE);
        if let Some(f) = (2..=most).rev().find(|f| pixels * u64::from(f * f) <= max_pixels.max(1)) {
            let filter = image::imageops::FilterType::CatmullRom;
            return img.resize_exact(img.width() * f, img.height() * f, filter);
        }
    }
    if pixels <= max_pixels.max(1) {
        return img.clone();
    }
    let scale = (max_pixels.max(1) as f64 / pixels as f64).sqrt();
    let w = ((f64::from(img.width()) * scale).floor() as u32).max(1);
    let h = ((f64::from(img.height()) * scale).floor() as u32).max(1);
    img.resize_exact(w, h, image::imageops::FilterType::Triangle)
}

/// Every installed pack of a script other than Latin, after `eng`, joined for one engine
/// (`eng+chi_sim+jpn+kor+...`).
fn script_packs() -> String {
    ["eng", "chi_sim", "jpn", "kor", "rus", "ara", "heb", "hin", "tha"]
        .into_iter()
        .filter(|p| tesseract::has_language(p))
        .collect::<Vec<_>>()
        .join("+")
}

/// The first pack for a script OSD reported, among those installed; `eng` for Latin and anything unknown.
fn pack_for_script(script: &str) -> String {
    let wanted = match script {
        "Han" => "chi_sim",
        "Japanese" | "Katakana" | "Hiragana" => "jpn",
        "Hangul" | "Korean" => "kor",
        "Arabic" => "ara",
        "Cyrillic" => "rus",
        "Hebrew" => "heb",
        "Devanagari" => "hin",
        "Thai" => "tha",
        _ => "eng",
    };
    if tesseract::has_language(wanted) {
        return wanted.to_string();
    }
    let installed = tesseract::installed_languages();
    let fallback = if tesseract::has_language("eng") {
        "eng"
    } else {
        installed.iter().find(|l| *l != "osd").map_or("eng", |l| l)
    };
    fallback.to_string()
}

/// The Tesseract pack for a language code from [`language::detect`], where we install one.
fn pack_for_language(code: &str) -> Option<&'static str> {
    Some(match code {
        "en" => "eng",
        "es" => "spa",
        "fr" => "fra",
        "de" => "deu",
        "nl" => "nld",
        "pt" => "por",
        "it" => "ita",
        "ru" => "rus",
        "ar" => "ara",
        "fa" => "fas",
        "he" => "heb",
        "zh" => "chi_sim",
        "ja" => "jpn",
        "ko" => "kor",
        "hi" => "hin",
        "th" => "tha",
        _ => return None,
    })
}

/// The language (ISO 639-1) of a single-language pack: the inverse of [`pack_for_language`].
fn language_of_pack(pack: &str) -> Option<&'static str> {
    ["en", "es", "fr", "de", "nl", "pt", "it", "ru", "ar", "fa", "he", "zh", "ja", "ko", "hi", "th"]
        .into_iter()
        .find(|code| pack_for_language(code) == Some(pack))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As in a parser process that reads one document, a document that may be OCRed starts no load ahead
    /// (most pictures hold no text, and the load would be thrown away); once the process loads ahead (a warm
    /// parser), it does. (No other test calls `load_ahead`; after it, the other tests' loads may start ahead,
    /// which changes no reading.)
    #[test]
    fn only_a_process_that_keeps_its_engines_loads_models_ahead() {
        assert!(available(), "tesseract with its packs is needed (scripts/setup installs it)");
        assert!(!prepare(true), "a one-document process loads nothing ahead");
        load_ahead();
        assert!(prepare(false), "a warm process does (or finds the engines loaded already)");
    }

    #[test]
    fn a_page_of_code_read_with_confidence_is_kept_a_texture_is_not() {
        let line = "651 \\DeclareTextComposite{\\*}{T1}{E}{202} oss \\DeclareTextCompositef{\\'}{T1}{0}{210}\n";
        let code = |words: usize, confidence: f64| crate::ocr::tsv::TsvText {
            text: line.repeat(words / 4),
            confidences: vec![confidence; words],
        };
        assert!(!reads_as_writing(&code(80, 70.0).text), "its symbols and mixed case refuse it as writing");
        assert!(is_code_page(&code(80, 70.0)), "80 words at 70: read with confidence");
        assert!(!is_code_page(&code(12, 70.0)), "a handful of words is what a texture gives");
        assert!(!is_code_page(&code(80, 30.0)), "and at low confidence");
    }

    #[test]
    fn bounds_large_images() {
        let img = DynamicImage::new_luma8(4000, 3000);
        let small = bounded(&img, 3_000_000);
        assert!(u64::from(small.width()) * u64::from(small.height()) <= 3_000_000);
        assert_eq!((small.width(), small.height()), (2000, 1500));
        assert_eq!(bounded(&img, 20_000_000).width(), 4000);
    }

    #[test]
    fn enlarges_small_images_within_the_pixel_bound() {
        let sign = DynamicImage::new_luma8(600, 400);
        assert_eq!(bounded(&sign, 40_000_000).width(), 1800, "three times at most");
        assert_eq!(bounded(&sign, 1_000_000).width(), 1200, "as much as the pixel bound allows");
        assert_eq!(bounded(&sign, 240_000).width(), 600, "no room to enlarge");
        assert_eq!(bounded(&DynamicImage::new_luma8(1500, 1000), 40_000_000).width(), 1500);
    }

    #[test]
    fn flat_or_tiny_images_hold_no_text() {
        let flat = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(800, 600, image::Rgb([120, 40, 40])));
        assert!(!could_hold_text(&flat));
        let tiny =
            DynamicImage::ImageLuma8(image::GrayImage::from_fn(300, 8, |x, _| image::Luma([(x % 2 * 255) as u8])));
        assert!(!could_hold_text(&tiny), "8 pixels high");
        // Black strokes on white, as text is.
        let page = DynamicImage::ImageLuma8(image::GrayImage::from_fn(400, 300, |x, y| {
            image::Luma(if (y / 10) % 3 == 0 && (x / 4) % 2 == 0 { [0] } else { [255] })
        }));
        assert!(could_hold_text(&page));
        // A nearly blank page: two short lines of strokes at the top of an A4 page at 300 dpi.
        let sparse = DynamicImage::ImageLuma8(image::GrayImage::from_fn(2481, 3508, |x, y| {
            let line = (300..330).contains(&y) || (360..390).contains(&y);
            image::Luma(if line && (300..1500).contains(&x) && (x / 6) % 3 == 0 { [0] } else { [255] })
        }));
        assert!(could_hold_text(&sparse), "two lines on a blank page are text");
        // A flat colour with noise (as a JPEG of a wall would be) is not.
        let noisy = DynamicImage::ImageLuma8(image::GrayImage::from_fn(1200, 900, |x, y| {
            image::Luma([128u8.wrapping_add(((x * 7 + y * 13) % 9) as u8)])
        }));
        assert!(!could_hold_text(&noisy));
    }

    #[test]
    fn writing_is_told_from_texture_by_script() {
        assert!(reads_as_writing("Программа сотрудничества помогает пострадавшим общинам"));
        assert!(reads_as_writing("The cooperation programme helps NATO and UNDP teams"));
        assert!(reads_as_writing("出口 EXIT 出口 EXIT 非常口 Emergency"), "a bilingual sign");
        assert!(reads_as_writing("בְּרֵאשִׁית בָּרָא אֱלֹהִים אֵת הַשָּׁמַיִם וְאֵת הָאָרֶץ"));
        assert!(reads_as_writing("ok"), "too little to judge is not judged");
        assert!(
            !reads_as_writing("TIporpamma coTpyHM4eCcTBa MoMoraeT NOCTpa{aBLMM OOLMHAM BOCCTaHOBHTS"),
            "Russian read as English"
        );
        assert!(!reads_as_writing("ﺍ ж 日 ק ก ع Ш 本 א ม к ل"), "five scripts at once");
        assert!(!reads_as_writing("| = ~ _ ee | AE ~~ = |"), "texture's symbols");
    }

    #[test]
    fn packs_map_back_to_languages() {
        assert_eq!(language_of_pack("eng"), Some("en"));
        assert_eq!(language_of_pack("chi_sim"), Some("zh"));
        assert_eq!(language_of_pack("eng+chi_sim"), None, "several packs name no one language");
        assert_eq!(language_of_pack("osd"), None);
    }

    #[test]
    fn languages_map_to_packs() {
        assert_eq!(pack_for_language("es"), Some("spa"));
        assert_eq!(pack_for_language("fa"), Some("fas"));
        assert_eq!(pack_for_language("sw"), None);
    }
}
