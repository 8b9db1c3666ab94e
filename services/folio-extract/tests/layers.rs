//! Text layers checked against their pages (issue 22): an OCR layer that lies is replaced, one that holds the
//! page's words is kept without OCRing the page, a page with a good visible layer has only its images read
//! for text the layer lacks (added once), and accents drawn as glyphs of their own are put on their letters.
//! Fixtures: `tests/fixtures/layers/` (made by `make-layers.py` there; see tests/fixtures/README.md). These
//! tests need PDFium and Tesseract (`scripts/setup`) and fail, saying so, when either is missing.

mod common;

use folio_core::OcrStatus;
use folio_extract::{extract_bytes, pdfium_available, Options, ThumbnailSpec};

fn opts() -> Options {
    Options { thumbnails: ThumbnailSpec::none(), keep_text: true, ..Options::default() }
}

fn require_tools() {
    assert!(pdfium_available(), "the PDFium library was not found: run scripts/setup (or set FOLIO_PDFIUM_LIB)");
    common::require_tesseract();
}

#[test]
fn an_ocr_layer_in_the_wrong_script_is_redone() {
    require_tools();
    let bytes = include_bytes!("fixtures/layers/scan-ru-wrong-layer.pdf");
    let ex = extract_bytes("scan-ru-wrong-layer.pdf", bytes, &opts());
    let r = &ex.record;
    assert_eq!(r.error, None);
    assert_eq!(r.ocr, OcrStatus::Redone, "text: {}", ex.text);
    assert_eq!(r.language.as_deref(), Some("ru"), "text: {}", ex.text);
    assert!(ex.text.contains("сотрудничества"), "the page's Russian, not the layer's Latin: {}", ex.text);
    assert!(!ex.text.contains("coTpy"), "nothing of the lying layer is left: {}", ex.text);
    assert!(r.ocr_languages.contains(&"rus".to_string()), "{:?}", r.ocr_languages);
    assert_eq!(r.ocr_pages, [1]);
}

#[test]
fn an_ocr_layer_that_holds_the_pages_words_is_kept() {
    require_tools();
    let bytes = include_bytes!("fixtures/layers/scan-en-good-layer.pdf");
    let ex = extract_bytes("scan-en-good-layer.pdf", bytes, &opts());
    let r = &ex.record;
    assert_eq!(r.error, None);
    assert_eq!(r.ocr, OcrStatus::NotNeeded, "the layer's text stands: {}", ex.text);
    assert!(r.ocr_pages.is_empty(), "{:?}", r.ocr_pages);
    assert_eq!(r.language.as_deref(), Some("en"));
    assert!(ex.text.contains("cooperation programme"), "{}", ex.text);
}

#[test]
fn a_good_visible_layer_gets_only_the_text_of_its_pictures_once() {
    require_tools();
    let bytes = include_bytes!("fixtures/layers/text-photo-and-picture-of-text.pdf");
    let ex = extract_bytes("text-photo-and-picture-of-text.pdf", bytes, &opts());
    let r = &ex.record;
    assert_eq!(r.error, None);
    assert_eq!(r.ocr, OcrStatus::Applied);
    assert!(ex.text.starts_with("The cooperation programme helps"), "the layer comes first, as it was: {}", ex.text);
    assert_eq!(ex.text.matches("cooperation programme").count(), 1, "the layer is not doubled: {}", ex.text);
    assert!(ex.text.contains("agricultura"), "the picture of text is read: {}", ex.text);
    assert_eq!(ex.text.matches("agricultura").count(), 1, "{}", ex.text);
    assert_eq!(r.language.as_deref(), Some("en"), "{}", ex.text);
}

#[test]
fn accents_drawn_apart_are_put_on_their_letters() {
    assert!(pdfium_available(), "the PDFium library was not found: run scripts/setup (or set FOLIO_PDFIUM_LIB)");
    let bytes = include_bytes!("fixtures/layers/accents-drawn-apart.pdf");
    let ex = extract_bytes("accents-drawn-apart.pdf", bytes, &opts());
    assert_eq!(ex.record.error, None);
    assert!(ex.text.contains("The café\n"), "{:?}", ex.text);
    assert!(ex.text.contains("naïve readers"), "{:?}", ex.text);
    assert!(ex.text.contains("a lone accent: ´"), "an accent over no letter stays: {:?}", ex.text);
}
