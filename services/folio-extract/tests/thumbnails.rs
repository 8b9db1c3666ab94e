//! Thumbnails of every format at every size asked for, in PNG or WebP, the right way up; and the DOCX page
//! count and first page from LibreOffice's rendering. The DOCX tests need LibreOffice (`scripts/test`
//! installs it) and fail, rather than pass silently, when it is missing.

mod common;

use common::*;
use folio_core::{ExtractErrorKind, PagesSource};
use folio_extract::{extract_bytes, Extraction, Limits, Options, Thumbnail, ThumbnailFormat, ThumbnailSpec};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use std::io::Cursor;
use std::time::{Duration, Instant};

fn options(format: ThumbnailFormat) -> Options {
    // No OCR: these tests are about pictures, and OCR of a gradient only costs time.
    Options { thumbnails: ThumbnailSpec { sizes: vec![256, 1024], format }, ocr: false, ..Options::default() }
}

/// `(max_side, width, height)` of each thumbnail, after checking each against its decoded image.
fn sizes(ex: &Extraction) -> Vec<(u32, u32, u32)> {
    for t in &ex.thumbnails {
        let img = decode(t);
        assert_eq!((img.width(), img.height()), (t.width, t.height), "{} px thumbnail", t.max_side);
    }
    ex.thumbnails.iter().map(|t| (t.max_side, t.width, t.height)).collect()
}

fn decode(t: &Thumbnail) -> DynamicImage {
    let format = match t.format {
        ThumbnailFormat::Png => ImageFormat::Png,
        ThumbnailFormat::Webp => ImageFormat::WebP,
    };
    assert_eq!(image::guess_format(&t.bytes).unwrap(), format, "the bytes are {:?}", t.format);
    image::load_from_memory_with_format(&t.bytes, format).unwrap()
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

// ---------------------------------------------------------------- images

#[test]
fn a_png_gets_both_sizes() {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(2000, 1500, |x, y| Rgb([x as u8, y as u8, 99])));
    let ex = extract_bytes("big.png", &encode(&img, ImageFormat::Png), &options(ThumbnailFormat::Png));
    assert_eq!(ex.record.error, None);
    assert_eq!(sizes(&ex), [(1024, 1024, 768), (256, 256, 192)]);
    assert_eq!(ex.record.dimensions, Some((2000, 1500)));
    assert_eq!(ex.smallest_thumbnail().map(|t| t.max_side), Some(256));
}

#[test]
fn a_small_image_is_never_upscaled() {
    let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(100, 60, Rgb([1, 2, 3])));
    let ex = extract_bytes("small.png", &encode(&img, ImageFormat::Png), &options(ThumbnailFormat::Png));
    // Every size asked for is there, each the image's own size.
    assert_eq!(sizes(&ex), [(1024, 100, 60), (256, 100, 60)]);
}

#[test]
fn webp_thumbnails_are_webp() {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(1200, 400, |x, _| Rgb([(x / 5) as u8, 0, 200])));
    let ex = extract_bytes("wide.jpg", &encode(&img, ImageFormat::Jpeg), &options(ThumbnailFormat::Webp));
    assert_eq!(ex.record.error, None);
    assert_eq!(sizes(&ex), [(1024, 1024, 341), (256, 256, 85)]);
    assert!(ex.thumbnails.iter().all(|t| t.format == ThumbnailFormat::Webp && t.file_name().ends_with(".webp")));
}

/// A JPEG with an EXIF APP1 segment saying `orientation`, inserted after SOI.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&u32::from(orientation).to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    out.extend(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn a_jpeg_turned_by_exif_gets_upright_thumbnails() {
    // Stored landscape, 640 × 480, red in its top-left corner; orientation 6 says "turn 90° clockwise".
    let stored = DynamicImage::ImageRgb8(RgbImage::from_fn(640, 480, |x, y| {
        if x < 160 && y < 120 {
            Rgb([230, 20, 20])
        } else {
            Rgb([20, 20, 230])
        }
    }));
    let bytes = with_exif_orientation(&encode(&stored, ImageFormat::Jpeg), 6);
    let ex = extract_bytes("phone.jpg", &bytes, &options(ThumbnailFormat::Png));
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.dimensions, Some((480, 640)), "dimensions are the upright image's");
    assert_eq!(sizes(&ex), [(1024, 480, 640), (256, 192, 256)], "portrait thumbnails");
    // Turned clockwise, the stored top-left corner is at the top right.
    let small = decode(&ex.thumbnails[1]).to_rgb8();
    let top_right = small.get_pixel(small.width() - 8, 8);
    let top_left = small.get_pixel(8, 8);
    assert!(top_right[0] > 150 && top_right[2] < 100, "top right is {top_right:?}");
    assert!(top_left[2] > 150 && top_left[0] < 100, "top left is {top_left:?}");
}

// ---------------------------------------------------------------- PDF

#[test]
fn a_pdf_gets_both_sizes_of_its_first_page() {
    let bytes = pdf_of(&["The first page of a report.", "The second page."], None, None);
    let ex = extract_bytes("r.pdf", &bytes, &options(ThumbnailFormat::Png));
    assert_eq!(ex.record.error, None);
    // A4 portrait, 595 × 842 points.
    assert_eq!(sizes(&ex), [(1024, 724, 1024), (256, 181, 256)]);
    assert_eq!(ex.record.dimensions, Some((724, 1024)));
}

#[test]
fn a_rotated_pdf_page_is_shown_as_a_reader_shows_it() {
    let mut doc = lopdf::Document::load_mem(&pdf_of(&["A page turned on its side."], None, None)).unwrap();
    for (_, id) in doc.get_pages() {
        doc.get_dictionary_mut(id).unwrap().set("Rotate", 90);
    }
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    for pdfium in [true, false] {
        let ex = extract_bytes("turned.pdf", &bytes, &Options { pdfium, ..options(ThumbnailFormat::Png) });
        assert_eq!(ex.record.error, None);
        assert_eq!(sizes(&ex), [(1024, 1024, 724), (256, 256, 181)], "landscape (pdfium: {pdfium})");
    }
}

// ---------------------------------------------------------------- DOCX and LibreOffice

fn with_office(format: ThumbnailFormat) -> Options {
    Options { office: Some(require_soffice()), ..options(format) }
}

#[test]
fn a_docx_without_app_xml_is_counted_in_libreoffices_rendering() {
    let bytes = paged_docx(&["First page.", "Second page.", "Third page."], None);
    let ex = extract_bytes("three.docx", &bytes, &with_office(ThumbnailFormat::Png));
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.pages, Some(3));
    assert_eq!(ex.record.pages_source, Some(PagesSource::Rendered));
    // The first page, A4 portrait (210 × 297 mm), from the rendering.
    assert_eq!(sizes(&ex), [(1024, 724, 1024), (256, 181, 256)]);
    assert_eq!(ex.record.dimensions, Some((724, 1024)));

    // Without LibreOffice, the same file is estimated (a few words: one page) and has no thumbnail.
    let ex = extract_bytes("three.docx", &bytes, &options(ThumbnailFormat::Png));
    assert_eq!((ex.record.pages, ex.record.pages_source), (Some(1), Some(PagesSource::Estimate)));
    assert!(ex.thumbnails.is_empty());
    assert_eq!(ex.record.dimensions, None);
}

#[test]
fn app_xml_comes_before_the_rendering_and_the_thumbnail_still_comes() {
    // app.xml says 7 (the producer's count stands, as the issue orders it); LibreOffice gives the picture.
    let bytes = paged_docx(&["Only page."], Some(7));
    let ex = extract_bytes("meta.docx", &bytes, &with_office(ThumbnailFormat::Webp));
    assert_eq!(ex.record.error, None);
    assert_eq!((ex.record.pages, ex.record.pages_source), (Some(7), Some(PagesSource::Metadata)));
    assert_eq!(sizes(&ex), [(1024, 724, 1024), (256, 181, 256)]);
    assert!(ex.thumbnails.iter().all(|t| t.format == ThumbnailFormat::Webp));
}

#[test]
fn a_libreoffice_failure_or_timeout_is_not_the_documents_error() {
    let dir = tempfile::tempdir().unwrap();
    let script = |name: &str, body: &str| script(dir.path(), name, body);
    let bytes = paged_docx(&["One.", "Two."], None);
    let failing = script("soffice-fails", "echo 'cannot convert' >&2; exit 1");
    let silent = script("soffice-silent", "exit 0");
    // A grandchild, as soffice.bin is to the soffice script: it goes with the timeout too.
    let hanging = script("soffice-hangs", "sleep 60 & wait");
    let missing = dir.path().join("no-such-soffice");
    for office in [failing, silent, hanging, missing] {
        let opts = Options {
            office: Some(office.clone()),
            limits: Limits { office_timeout: Duration::from_secs(1), ..Limits::default() },
            ..options(ThumbnailFormat::Png)
        };
        let started = Instant::now();
        let ex = extract_bytes("two.docx", &bytes, &opts);
        assert!(started.elapsed() < Duration::from_secs(15), "{} took {:?}", office.display(), started.elapsed());
        assert_eq!(ex.record.error, None, "{}", office.display());
        assert_eq!(ex.record.pages_source, Some(PagesSource::Estimate), "{}", office.display());
        assert!(ex.thumbnails.is_empty());
        assert!(ex.text.contains("Two."));
    }
}

#[test]
fn a_malformed_docx_never_reaches_libreoffice() {
    // Our own reading fails first: the error is ours, and no time is spent rendering.
    let bytes = docx_with_body("<w:p><w:r></w:p>", &[]);
    let ex = extract_bytes("bad.docx", &bytes, &with_office(ThumbnailFormat::Png));
    assert_eq!(ex.record.error.map(|e| e.kind), Some(ExtractErrorKind::Corrupt));
    assert!(ex.thumbnails.is_empty());
}

#[test]
fn a_protected_docx_is_rendered_from_its_decrypted_package() {
    // LibreOffice gets the decrypted package, never the password: given the encrypted file, it would ask for
    // one and render nothing.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agile-protected.docx");
    let bytes = std::fs::read(path).unwrap();
    let opts = Options { password: Some("folio-agile".into()), ..with_office(ThumbnailFormat::Png) };
    let ex = extract_bytes("protected.docx", &bytes, &opts);
    assert_eq!(ex.record.error, None);
    assert_eq!((ex.record.pages, ex.record.pages_source), (Some(2), Some(PagesSource::Metadata)));
    // The first page, A4 portrait, from the rendering.
    assert_eq!(sizes(&ex), [(1024, 724, 1024), (256, 181, 256)]);
}

fn legacy_fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/legacy/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// `.doc`, `.odt` and `.rtf` (the seed call for contributions saved as each, see tests/fixtures/README.md):
/// sniffed from their content, converted by LibreOffice, read as DOCX: the same text, page count and
/// thumbnail as the DOCX they were saved from, and the record says what they were converted from.
#[test]
fn legacy_word_processor_files_are_read_through_libreoffice() {
    let office = require_soffice();
    for (name, format) in [
        ("call-for-contributions.doc", "doc"),
        ("call-for-contributions.odt", "odt"),
        ("call-for-contributions.rtf", "rtf"),
    ] {
        let opts = Options { office: Some(office.clone()), keep_text: true, ..options(ThumbnailFormat::Png) };
        // A name that says nothing: the format comes from the content.
        let ex = extract_bytes("contribution", &legacy_fixture(name), &opts);
        let r = &ex.record;
        assert_eq!(r.error, None, "{name}");
        assert_eq!((r.format.as_str(), r.converted_from.as_deref()), (format, Some(format)), "{name}");
        assert_eq!(r.pages, Some(1), "{name}");
        assert_eq!(r.pages_source, Some(folio_core::PagesSource::Rendered), "{name}");
        assert_eq!(r.language.as_deref(), Some("en"), "{name}");
        assert!(ex.text.contains("Dear Excellency") && r.words > 500, "{name}: {} words", r.words);
        assert_eq!(sizes(&ex).len(), 2, "{name}: a first-page thumbnail of each size");
    }
}

/// A converted file's pages are counted in LibreOffice's rendering, not taken from the statistics the
/// original carried (LibreOffice copies an RTF's `\nofpages` into the DOCX's app.xml; Tika's testRTF.rtf
/// says 99 for one line).
#[test]
fn a_converted_files_stale_page_statistics_are_not_its_page_count() {
    let office = require_soffice();
    let rtf = br"{\rtf1\ansi{\info{\title Stale}{\nofpages99}{\nofwords5}}\pard One short line of text.\par}";
    let opts = Options { office: Some(office), ..options(ThumbnailFormat::Png) };
    let r = extract_bytes("stale.rtf", rtf, &opts).record;
    assert_eq!(r.error, None);
    assert_eq!((r.pages, r.pages_source), (Some(1), Some(folio_core::PagesSource::Rendered)));
}

/// Without LibreOffice, a legacy file is an error that says what to install.
#[test]
fn without_libreoffice_a_legacy_file_says_what_to_install() {
    let opts = Options { office: None, ..options(ThumbnailFormat::Png) };
    let ex = extract_bytes("old.doc", &legacy_fixture("call-for-contributions.doc"), &opts);
    let error = ex.record.error.expect("an error");
    assert_eq!(error.kind, folio_core::ExtractErrorKind::UnsupportedFormat);
    assert!(error.message.contains("libreoffice-writer-nogui"), "{}", error.message);
    assert_eq!(ex.record.format, "doc");
}
