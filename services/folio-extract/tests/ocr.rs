//! OCR with Tesseract: images of text, a photo without text, and a PDF with an image-only page. These tests
//! need the `tesseract` command and its language packs; where they are missing the tests fail and say to
//! run `scripts/setup`. Fixtures are our own example documents (see tests/fixtures/README.md).

mod common;

use folio_core::OcrStatus;
use folio_extract::{extract_bytes, Options, ThumbnailSpec};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream};
use std::io::Cursor;

const SCAN_EN: &[u8] = include_bytes!("fixtures/scan-en.png");
const SCAN_ES: &[u8] = include_bytes!("fixtures/scan-es.png");

fn opts() -> Options {
    Options { thumbnails: ThumbnailSpec::none(), keep_text: true, ..Options::default() }
}

#[test]
fn english_scan_is_read_in_english() {
    common::require_tesseract();
    let ex = extract_bytes("scan-en.png", SCAN_EN, &opts());
    let r = &ex.record;
    assert_eq!(r.error, None);
    assert_eq!(r.ocr, OcrStatus::Applied);
    assert_eq!(r.language.as_deref(), Some("en"), "text: {}", ex.text);
    assert!(ex.text.contains("Excellency"), "text: {}", ex.text);
    assert!(ex.text.contains("\n\n"), "paragraphs are separated by a blank line: {}", ex.text);
    assert!(r.ocr_languages.contains(&"eng".to_string()), "{:?}", r.ocr_languages);
    assert_eq!(r.ocr_pages, [1]);
    assert!(r.words > 100, "{}", r.words);
    assert!(r.ocr_confidence.is_some_and(|c| c > 0.8 && c <= 1.0), "{:?}", r.ocr_confidence);
}

#[test]
fn spanish_scan_is_read_again_with_the_spanish_pack() {
    common::require_tesseract();
    let ex = extract_bytes("scan-es.png", SCAN_ES, &opts());
    let r = &ex.record;
    assert_eq!(r.ocr, OcrStatus::Applied);
    assert_eq!(r.language.as_deref(), Some("es"), "text: {}", ex.text);
    // OSD says Latin, so the first pass is English; the detected language brings in `spa`.
    assert!(r.ocr_languages.contains(&"spa".to_string()), "{:?}", r.ocr_languages);
    assert!(ex.text.contains("Cooperación"), "the Spanish pack reads accents: {}", ex.text);
}

#[test]
fn a_skewed_scan_is_turned_level_before_ocr() {
    common::require_tesseract();
    for degrees in [7.0, -4.0] {
        let page = turned(SCAN_EN, degrees);
        let ex = extract_bytes("skewed.png", &page, &opts());
        let r = &ex.record;
        assert_eq!(r.error, None);
        assert_eq!(r.language.as_deref(), Some("en"), "turned {degrees}°: {}", ex.text);
        assert!(ex.text.contains("Excellency"), "turned {degrees}°: {}", ex.text);
        assert!(r.words > 100, "turned {degrees}°: {} words", r.words);
    }
}

/// The PNG `png` turned counter-clockwise by `degrees` (nearest neighbour, white outside, same size), as
/// a scanner that took the page askew would give it.
fn turned(png: &[u8], degrees: f64) -> Vec<u8> {
    let img = image::load_from_memory(png).expect("fixture").into_luma8();
    let (w, h) = img.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let out = image::GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
        let (sx, sy) = ((dx * cos - dy * sin + cx).round(), (dx * sin + dy * cos + cy).round());
        let inside = sx >= 0.0 && sy >= 0.0 && sx < f64::from(w) && sy < f64::from(h);
        if inside {
            *img.get_pixel(sx as u32, sy as u32)
        } else {
            image::Luma([255])
        }
    });
    let mut bytes = Vec::new();
    DynamicImage::ImageLuma8(out).write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).expect("encode");
    bytes
}

#[test]
fn a_photo_without_text_stays_a_photo() {
    common::require_tesseract();
    let ex = extract_bytes("photo.png", &png_of(textured(800, 600)), &opts());
    let r = &ex.record;
    assert_eq!(r.error, None);
    // The cheap look for rows of letters (ocr/textlines.rs) finds none: Tesseract is not run at all.
    assert_eq!(r.ocr, OcrStatus::NotNeeded);
    assert_eq!(ex.text, "");
    assert_eq!(r.words, 0);
    assert_eq!(r.language, None);
    assert!(r.ocr_pages.is_empty());
}

#[test]
fn only_the_image_only_page_of_a_pdf_is_ocred() {
    common::require_tesseract();
    let pdf = pdf_with_scan_then_text(SCAN_EN);
    let ex = extract_bytes("mixed.pdf", &pdf, &opts());
    let r = &ex.record;
    assert_eq!(r.error, None);
    assert_eq!(r.pages, Some(2));
    assert_eq!(r.ocr, OcrStatus::Applied);
    assert_eq!(r.ocr_pages, [1]);
    assert!(r.ocr_languages.contains(&"eng".to_string()), "{:?}", r.ocr_languages);
    assert!(ex.text.contains("Excellency"), "OCR text of page 1: {}", ex.text);
    assert!(ex.text.contains("typed second page"), "text layer of page 2: {}", ex.text);
    assert_eq!(r.language.as_deref(), Some("en"));
}

/// A two-page A4 PDF: page 1 is only the image `png` (a scan), page 2 has a text layer.
fn pdf_with_scan_then_text(png: &[u8]) -> Vec<u8> {
    let img = image::load_from_memory(png).expect("fixture").into_luma8();
    let (w, h) = img.dimensions();
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let image_id = common::gray_image(&mut doc, w, h, img.into_raw());
    let font_id = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    // The scan was rendered at 150 dpi: w/150 inches wide, 72 points an inch.
    let (pw, ph) = (f64::from(w) * 72.0 / 150.0, f64::from(h) * 72.0 / 150.0);
    let scan = Content {
        operations: vec![
            Operation::new("q", vec![]),
            Operation::new("cm", vec![pw.into(), 0.into(), 0.into(), ph.into(), 0.into(), (842.0 - ph).into()]),
            Operation::new("Do", vec!["Im1".into()]),
            Operation::new("Q", vec![]),
        ],
    };
    let text = Content {
        operations: vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 12.into()]),
            Operation::new("Td", vec![50.into(), 750.into()]),
            Operation::new(
                "Tj",
                vec![Object::string_literal("This is the typed second page, with a real text layer.")],
            ),
            Operation::new("ET", vec![]),
        ],
    };
    let mut kids = Vec::new();
    for (content, resources) in [
        (scan, dictionary! { "XObject" => dictionary! { "Im1" => image_id } }),
        (text, dictionary! { "Font" => dictionary! { "F1" => font_id } }),
    ] {
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().expect("content")));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Resources" => resources,
        });
        kids.push(Object::from(page_id));
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => 2,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

fn tiff_fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/tiff/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// TIFF as office scanners, fax machines and archives write it (tests/fixtures/tiff, made from scan-en.png:
/// see the README there): Group 4 and Group 3 fax coding, JPEG with YCbCr colours, 12-bit grey, 4-bit grey
/// that says white is zero, a 1-bit palette. Each is read, OCRed and found English; none is refused.
#[test]
fn tiffs_as_scanners_write_them_are_read_and_ocred() {
    common::require_tesseract();
    for name in [
        "scan-g4.tif",
        "scan-g3.tif",
        "scan-ycbcr-jpeg.tif",
        "scan-gray12.tif",
        "scan-gray4-miniswhite.tif",
        "scan-palette1.tif",
    ] {
        let ex = extract_bytes(name, &tiff_fixture(name), &opts());
        let r = &ex.record;
        assert_eq!(r.error, None, "{name}");
        assert_eq!((r.format.as_str(), r.pages), ("tiff", Some(1)), "{name}");
        assert_eq!(r.ocr, OcrStatus::Applied, "{name}");
        assert_eq!(r.language.as_deref(), Some("en"), "{name}: {}", ex.text);
        assert!(ex.text.contains("MEXICO") && ex.text.contains("Excellency"), "{name}: {}", ex.text);
        assert!(r.ocr_confidence.is_some_and(|c| c > 0.85), "{name}: {:?}", r.ocr_confidence);
    }
}

/// A TIFF of two pages is a document of two pages: both read, in order, each OCRed.
#[test]
fn every_page_of_a_multipage_tiff_is_read() {
    common::require_tesseract();
    let ex = extract_bytes("scan-2pages-g4.tif", &tiff_fixture("scan-2pages-g4.tif"), &opts());
    let r = &ex.record;
    assert_eq!(r.error, None);
    assert_eq!(r.pages, Some(2));
    assert_eq!(r.ocr_pages, [1, 2]);
    let (english, spanish) = (ex.text.find("Dear Excellency"), ex.text.find("Gracias, señor Presidente"));
    assert!(english.is_some() && spanish.is_some() && english < spanish, "both pages, in order: {}", ex.text);
}

fn script_page(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/scripts/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Scripts with marks above and below their letters, which OCR used to lose (Devanagari and Thai had no
/// language data; pointed Hebrew was dropped for its confidence): each page is read with its script's pack,
/// its text kept, its language right. Thai is joined as written, without a space between letters.
#[test]
fn devanagari_thai_and_pointed_hebrew_are_read_in_their_languages() {
    common::require_tesseract();
    for pack in ["hin", "tha", "heb"] {
        assert!(
            folio_extract::ocr_languages().iter().any(|l| l == pack),
            "Tesseract's '{pack}' language data is missing: run scripts/setup"
        );
    }
    for (name, pack, language, phrase) in [
        ("hindi.png", "hin", "hi", "मनुष्यों"),
        ("thai.png", "tha", "th", "มนุษย์ทั้งหลาย"),
        ("hebrew-pointed.png", "heb", "he", "אֶת"),
    ] {
        let ex = extract_bytes(name, &script_page(name), &opts());
        let r = &ex.record;
        assert_eq!(r.ocr, OcrStatus::Applied, "{name}");
        assert_eq!(r.ocr_languages, [pack], "{name}");
        assert_eq!(r.language.as_deref(), Some(language), "{name}: {}", ex.text);
        assert!(ex.text.contains(phrase), "{name}: {}", ex.text);
    }
}

/// Two lines of the English scan ("Geneva, January 18, 2012", "Dear Excellency,"), white on a dark band, on
/// a textured 1400 x 1000 picture: a sign in a photograph.
fn sign_in_a_photo() -> Vec<u8> {
    let scan = image::load_from_memory(SCAN_EN).expect("fixture").to_luma8();
    let lines = image::imageops::crop_imm(&scan, 110, 195, 320, 100).to_image();
    let mut img = textured(1400, 1000);
    for (x, y, p) in lines.enumerate_pixels() {
        // Light letters on a dark blue band.
        let v = 255 - p.0[0];
        img.put_pixel(500 + x, 300 + y, Rgb([v / 2 + 20, v / 2 + 30, v / 2 + 110]));
    }
    png_of(img)
}

/// A picture of smooth gradients with deterministic noise: texture, no text.
fn textured(width: u32, height: u32) -> RgbImage {
    let mut seed = 12345u32;
    RgbImage::from_fn(width, height, |x, y| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let noise = (seed >> 16) as u8 % 48;
        Rgb([(x / 4) as u8 / 2 + noise, (y / 3) as u8 / 2 + noise, ((x + y) / 6) as u8 / 2 + noise])
    })
}

fn png_of(img: RgbImage) -> Vec<u8> {
    let mut png = Vec::new();
    DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).expect("encode");
    png
}

#[test]
fn the_words_on_a_picture_are_read_from_their_rows() {
    common::require_tesseract();
    let ex = extract_bytes("sign.png", &sign_in_a_photo(), &opts());
    let r = &ex.record;
    assert_eq!(r.error, None);
    assert_eq!(r.ocr, OcrStatus::Applied);
    assert!(ex.text.contains("Excellency"), "text: {:?}", ex.text);
    assert!(ex.text.contains("Geneva"), "text: {:?}", ex.text);
    // Only the sign's rows: nothing read into the texture around them.
    assert!(r.words <= 8, "{} words: {:?}", r.words, ex.text);
}
