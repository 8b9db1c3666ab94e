//! Optical character recognition of one page image with Tesseract (see [`crate::tesseract`]).
//!
//! The language is chosen, not assumed: OSD names the script (and the rotation, which we apply), the
//! script picks a first pack, and when the recognised text reads as a language with its own installed pack
//! (Spanish, French, ...) the page is recognised again with that pack and the more confident result kept.
//! A page scanned askew is turned level first (see [`crate::deskew`]).
//! A picture without text must stay a picture: results with low confidence are dropped, so the garbage
//! Tesseract reads into photos never reaches the record.

use crate::{deskew, language, tesseract, Limits};
use image::DynamicImage;
use std::path::Path;
use std::time::{Duration, Instant};

/// Below this mean word confidence (0–100) the page is treated as having no text. Measured on the dev
/// corpus and our fixtures: printed pages and scans score 85–96, a clean typewriter page 89, a phone photo
/// of a French sign 52; photos without text yield either no words or a handful at 0–40.
const MIN_MEAN_CONFIDENCE: f64 = 50.0;
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
}

/// Whether OCR can run: tesseract answers and has at least one recognition pack (not just `osd`).
/// Logs a warning once when it cannot.
pub(crate) fn available() -> bool {
    tesseract::installed_languages().iter().any(|l| l != "osd")
}

/// Recognise `img` within `limits` (`max_ocr_pixels`, `ocr_timeout` for the whole page).
pub(crate) fn recognise(img: &DynamicImage, limits: &Limits) -> Result<PageOcr, String> {
    let deadline = Instant::now() + limits.ocr_timeout;
    let left = || deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()).ok_or("OCR time limit");
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let png = dir.path().join("page.png");
    let mut page = level(bounded(img, limits.max_ocr_pixels).into_luma8());
    write_png(&DynamicImage::ImageLuma8(page.clone()), &png)?;

    let script = match tesseract::osd(&png, dir.path(), left()?) {
        Ok(osd) => {
            if osd.rotate != 0 {
                page = match osd.rotate {
                    90 => image::imageops::rotate90(&page),
                    180 => image::imageops::rotate180(&page),
                    _ => image::imageops::rotate270(&page),
                };
                write_png(&DynamicImage::ImageLuma8(page), &png)?;
            }
            osd.script
        }
        // Too little text for OSD: the usual case for photos and sparse pages.
        Err(why) => {
            tracing::debug!("OSD failed: {why}");
            String::new()
        }
    };

    let first_pack = pack_for_script(&script);
    let first = run(&png, &first_pack, dir.path(), left()?)?;
    let mut best = (first_pack.clone(), first);
    if script.is_empty() && !is_text(&best.1) {
        // OSD could not name the script (a sign, a caption): Latin was a guess. Read the page once more with
        // every installed script pack at once, and keep that if it reads better.
        let all = script_packs();
        if all.contains('+') {
            let second = run(&png, &all, dir.path(), left()?)?;
            if second.mean_confidence() * second.confident_words(CONFIDENT) as f64
                > best.1.mean_confidence() * best.1.confident_words(CONFIDENT) as f64
            {
                best = (all, second);
            }
        }
    }
    if is_text(&best.1) {
        let detected = language::detect(&best.1.text).map(|(code, _)| code);
        if let Some(pack) = detected.as_deref().and_then(pack_for_language) {
            if pack != first_pack && tesseract::has_language(pack) {
                let second = run(&png, pack, dir.path(), left()?)?;
                if second.mean_confidence() > best.1.mean_confidence() {
                    best = (pack.to_string(), second);
                }
            }
        }
    }
    let (pack, tsv) = best;
    let kept = is_text(&tsv);
    Ok(PageOcr {
        text: if kept { tsv.text.clone() } else { String::new() },
        languages: pack.split('+').map(str::to_string).collect(),
        confidence: tsv.mean_confidence() / 100.0,
        words: tsv.confidences.len(),
    })
}

/// `page` turned level when it is skewed by more than [`deskew::MIN_SKEW`] (see [`crate::deskew`]).
fn level(page: image::GrayImage) -> image::GrayImage {
    match deskew::estimate(&page) {
        Some(skew) if skew.abs() > deskew::MIN_SKEW => {
            tracing::info!("page skewed by {skew:.1}°: turned level before OCR");
            deskew::rotate(&page, -skew)
        }
        _ => page,
    }
}

fn run(png: &Path, pack: &str, work: &Path, timeout: Duration) -> Result<crate::ocr_tsv::TsvText, String> {
    Ok(crate::ocr_tsv::parse(&tesseract::recognise_tsv(png, pack, work, timeout)?))
}

/// Whether a result reads as text rather than a photo's texture (see the thresholds above).
fn is_text(t: &crate::ocr_tsv::TsvText) -> bool {
    t.mean_confidence() >= MIN_MEAN_CONFIDENCE && t.confident_words(CONFIDENT) >= MIN_CONFIDENT_WORDS
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

fn write_png(img: &DynamicImage, path: &Path) -> Result<(), String> {
    img.save_with_format(path, image::ImageFormat::Png).map_err(|e| format!("writing the page for OCR: {e}"))
}

/// Every installed pack of a script other than Latin, after `eng`, joined for one Tesseract run
/// (`eng+chi_sim+jpn+kor+...`).
fn script_packs() -> String {
    ["eng", "chi_sim", "jpn", "kor", "rus", "ara", "heb"]
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
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn languages_map_to_packs() {
        assert_eq!(pack_for_language("es"), Some("spa"));
        assert_eq!(pack_for_language("fa"), Some("fas"));
        assert_eq!(pack_for_language("sw"), None);
    }
}
