mod common;

use common::*;
use folio_core::{ExtractErrorKind, OcrStatus, PagesSource};
use folio_extract::{
    display_image, extract_bytes, extract_path, language, Extraction, Format, Limits, Options, ThumbnailSpec,
};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use std::io::Cursor;

fn no_thumb() -> Options {
    Options { thumbnails: ThumbnailSpec::none(), ..Options::default() }
}

fn kind(ex: &Extraction) -> Option<ExtractErrorKind> {
    ex.record.error.as_ref().map(|e| e.kind)
}

// ---------------------------------------------------------------- DOCX

fn sample_docx() -> Vec<u8> {
    let body = format!(
        "{}{}<w:tbl><w:tr><w:tc>{}</w:tc><w:tc>{}</w:tc></w:tr></w:tbl>{}{}",
        para("First paragraph of the report."),
        r#"<w:p><w:r><w:t>Tab</w:t><w:tab/><w:t>and</w:t><w:br/><w:t>break &amp; more</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r></w:p>"#,
        para("Cell one"),
        para("Cell two"),
        "<w:p/>",
        para(ENGLISH),
    );
    let footnotes = format!(
        r#"<w:footnotes {W_NS}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:t>SEPARATOR</w:t></w:r></w:p></w:footnote><w:footnote w:id="1">{}</w:footnote></w:footnotes>"#,
        para("A footnote explains.")
    );
    let header = format!(r#"<w:hdr {W_NS}>{}</w:hdr>"#, para("Running header"));
    let core = r#"<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title> Annual Report </dc:title><dc:creator>Ada Lovelace</dc:creator></cp:coreProperties>"#;
    let app = r#"<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Pages>3</Pages><Words>80</Words></Properties>"#;
    docx_with_body(
        &body,
        &[
            ("word/footnotes.xml", footnotes.as_bytes()),
            ("word/header1.xml", header.as_bytes()),
            ("docProps/core.xml", core.as_bytes()),
            ("docProps/app.xml", app.as_bytes()),
        ],
    )
}

#[test]
fn docx_text_order_metadata_and_pages() {
    let bytes = sample_docx();
    assert_eq!(Format::sniff(&bytes), Format::Docx);
    let ex = extract_bytes("report.bin", &bytes, &Options { keep_text: true, ..Options::default() });
    let r = &ex.record;
    assert_eq!(r.error, None);
    assert_eq!(r.format, "docx");
    assert_eq!(r.path, "report.bin");
    assert_eq!(r.pages, Some(3));
    assert_eq!(r.pages_source, Some(PagesSource::Metadata));
    assert_eq!(r.title.as_deref(), Some("Annual Report"));
    assert_eq!(r.author.as_deref(), Some("Ada Lovelace"));
    assert_eq!(r.language.as_deref(), Some("en"));
    assert_eq!(r.ocr, OcrStatus::NotNeeded);
    assert!(ex.thumbnails.is_empty(), "no LibreOffice in the options: no rendering of a DOCX");
    let expected = [
        "First paragraph of the report.",
        "Tab\tand\nbreak & more",
        "Cell one",
        "Cell two",
        ENGLISH,
        "A footnote explains.",
    ]
    .join("\n\n");
    assert_eq!(ex.text, expected);
    assert!(!ex.text.contains("SEPARATOR"));
    assert!(!ex.text.contains("Running header"), "headers and footers are page furniture, not the text");
    assert_eq!(r.text.as_deref(), Some(expected.as_str()));
    assert_eq!(r.words, language::count_words(&expected));
    assert_eq!(r.sha256.len(), 64);
    assert_eq!(r.bytes, bytes.len() as u64);
}

#[test]
fn docx_without_app_pages_is_estimated_and_empty_body_is_fine() {
    let ex = extract_bytes("empty.docx", &docx_with_body("", &[]), &no_thumb());
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.words, 0);
    assert_eq!(ex.record.pages, Some(1));
    assert_eq!(ex.record.pages_source, Some(PagesSource::Estimate));
    assert_eq!(ex.record.language.as_deref(), Some("und"));
    assert_eq!(ex.text, "");

    let body: String = (0..12).map(|_| para(&"word ".repeat(100))).collect();
    let ex = extract_bytes("long.docx", &docx_with_body(&body, &[]), &no_thumb());
    assert_eq!(ex.record.words, 1200);
    assert_eq!(ex.record.pages, Some(3));
    assert_eq!(ex.record.pages_source, Some(PagesSource::Estimate));
}

#[test]
fn docx_zip_bomb_is_too_large() {
    let zeros = vec![b'0'; 50 * 1024 * 1024];
    let bytes = zip_of(&[("word/document.xml", &zeros)]);
    assert!(bytes.len() < 1024 * 1024);
    let opts = Options { limits: Limits { max_zip_ratio: 50, ..Limits::default() }, ..no_thumb() };
    let ex = extract_bytes("bomb.docx", &bytes, &opts);
    let err = ex.record.error.expect("error");
    assert_eq!(err.kind, ExtractErrorKind::TooLarge);
    assert!(err.message.contains("max_zip_ratio"), "{}", err.message);

    let opts = Options { limits: Limits { max_zip_entry_bytes: 1024 * 1024, ..Limits::default() }, ..no_thumb() };
    let err = extract_bytes("bomb.docx", &bytes, &opts).record.error.expect("error");
    assert_eq!(err.kind, ExtractErrorKind::TooLarge);
    assert!(err.message.contains("max_zip_entry_bytes"), "{}", err.message);
}

#[test]
fn truncated_docx_is_corrupt() {
    let bytes = sample_docx();
    let cut = &bytes[..bytes.len() * 2 / 3];
    assert_eq!(Format::sniff(cut), Format::Docx);
    let ex = extract_bytes("cut.docx", cut, &no_thumb());
    assert_eq!(kind(&ex), Some(ExtractErrorKind::Corrupt));
    assert_eq!(ex.record.format, "docx");
}

/// Nesting past `max_xml_depth` is `too_large` (a named limit), not `corrupt`.
#[test]
fn deep_xml_nesting_is_too_large() {
    let body = format!("{}x{}", "<w:p>".repeat(1000), "</w:p>".repeat(1000));
    let ex = extract_bytes("deep.docx", &docx_with_body(&body, &[]), &no_thumb());
    let err = ex.record.error.expect("error");
    assert_eq!(err.kind, ExtractErrorKind::TooLarge);
    assert!(err.message.contains("max_xml_depth"));
}

#[test]
fn malformed_docx_xml_is_corrupt() {
    let ex = extract_bytes("bad.docx", &docx_with_body("<w:p><w:r></w:p>", &[]), &no_thumb());
    assert_eq!(kind(&ex), Some(ExtractErrorKind::Corrupt));
}

#[test]
fn ole2_with_encryption_info_is_encrypted_docx() {
    let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.resize(512, 0);
    bytes.extend("EncryptionInfo".encode_utf16().flat_map(|u| u.to_le_bytes()));
    bytes.resize(2048, 0);
    let ex = extract_bytes("secret.docx", &bytes, &no_thumb());
    assert_eq!(ex.record.format, "docx");
    assert_eq!(kind(&ex), Some(ExtractErrorKind::Encrypted));

    // A legacy .doc (OLE2 without EncryptionInfo) is unsupported.
    let mut doc = bytes[..8].to_vec();
    doc.resize(2048, 0);
    let ex = extract_bytes("old.doc", &doc, &no_thumb());
    assert_eq!(ex.record.format, "unknown");
    assert_eq!(kind(&ex), Some(ExtractErrorKind::UnsupportedFormat));
    assert!(ex.record.error.unwrap().message.contains(".doc"));
}

// ---------------------------------------------------------------- PDF

#[test]
fn pdf_pages_metadata_text_language() {
    let bytes = pdf_of(
        &[
            "The committee met on Tuesday to review the annual report\nand discussed the budget for the coming year.",
            "It includes new funding for the library\nand the community garden in the village.",
        ],
        Some("Annual Report"),
        Some("Zoë Author"),
    );
    let ex = extract_bytes("r.pdf", &bytes, &no_thumb());
    let r = &ex.record;
    assert_eq!(r.error, None, "{:?}", r.error);
    assert_eq!(r.format, "pdf");
    assert_eq!(r.mime, "application/pdf");
    assert_eq!(r.pages, Some(2));
    assert_eq!(r.pages_source, Some(PagesSource::Counted));
    assert_eq!(r.title.as_deref(), Some("Annual Report"));
    assert_eq!(r.author.as_deref(), Some("Zoë Author"));
    for w in ["committee", "Tuesday", "library", "garden"] {
        assert!(ex.text.contains(w), "{w} missing from {:?}", ex.text);
    }
    assert!(ex.text.contains("\n\n"), "pages are separated by a blank line");
    assert_eq!(r.language.as_deref(), Some("en"));
    assert_eq!(r.ocr, OcrStatus::NotNeeded);
    assert!(r.words >= 30);
}

#[test]
fn pdf_without_text_needs_ocr() {
    let ex = extract_bytes("scan.pdf", &pdf_of(&["", ""], None, None), &no_thumb());
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.pages, Some(2));
    // Blank pages draw no image: nothing to OCR.
    assert_eq!(ex.record.ocr, OcrStatus::Needed);
    assert!(ex.record.ocr_pages.is_empty());
    assert_eq!(ex.record.language.as_deref(), Some("und"));
    assert_eq!(ex.record.title, None);
}

#[test]
fn pdf_with_empty_page_tree_is_corrupt() {
    let ex = extract_bytes("empty.pdf", &pdf_of(&[], None, None), &no_thumb());
    assert_eq!(kind(&ex), Some(ExtractErrorKind::Corrupt));
}

#[test]
fn pdf_over_page_limit_is_too_large() {
    let opts = Options { limits: Limits { max_pages: 2, ..Limits::default() }, ..no_thumb() };
    let ex = extract_bytes("big.pdf", &pdf_of(&["a", "b", "c"], None, None), &opts);
    assert_eq!(kind(&ex), Some(ExtractErrorKind::TooLarge));
}

#[test]
fn garbage_after_pdf_header_is_corrupt() {
    let ex = extract_bytes("junk.pdf", b"%PDF-1.4\nthis is not a pdf at all", &no_thumb());
    assert_eq!(kind(&ex), Some(ExtractErrorKind::Corrupt));
}

/// Without PDFium, the first page is rendered by poppler's pdftoppm (scripts/setup installs it).
#[test]
fn pdf_thumbnails_from_pdftoppm() {
    assert!(
        std::process::Command::new("pdftoppm").arg("-v").output().is_ok(),
        "pdftoppm is not installed: run scripts/setup (it installs poppler-utils)"
    );
    let bytes = pdf_of(&["Hello thumbnail world, this page has text."], None, None);
    let ex = extract_bytes("t.pdf", &bytes, &Options { pdfium: false, ocr: false, ..Options::default() });
    assert_eq!(ex.record.error, None);
    let sizes: Vec<(u32, u32)> = ex.thumbnails.iter().map(|t| (t.max_side, t.width.max(t.height))).collect();
    assert_eq!(sizes, [(1024, 1024), (256, 256)]);
    for t in &ex.thumbnails {
        let img = image::load_from_memory_with_format(&t.bytes, ImageFormat::Png).unwrap();
        assert_eq!((img.width(), img.height()), (t.width, t.height));
        assert!(img.height() > img.width(), "an A4 portrait page");
    }
    // The record's dimensions are those of the rendering the thumbnails were made from.
    assert_eq!(ex.record.dimensions, Some((ex.thumbnails[0].width, ex.thumbnails[0].height)));
}

// ---------------------------------------------------------------- other formats and errors

#[test]
fn random_bytes_are_unsupported() {
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let ex = extract_bytes("mystery.pdf", &bytes, &Options::default());
    assert_eq!(ex.record.format, "unknown");
    assert_eq!(ex.record.mime, "application/octet-stream");
    assert_eq!(kind(&ex), Some(ExtractErrorKind::UnsupportedFormat));
    assert_eq!(ex.record.sha256.len(), 64);
    assert_eq!(ex.record.path, "mystery.pdf");
}

#[test]
fn file_size_limit() {
    let opts = Options { limits: Limits { max_file_bytes: 10, ..Limits::default() }, ..no_thumb() };
    let ex = extract_bytes("x.pdf", b"%PDF-1.4 and more than ten bytes", &opts);
    assert_eq!(kind(&ex), Some(ExtractErrorKind::TooLarge));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pdf");
    std::fs::write(&path, b"%PDF-1.4 and more than ten bytes").unwrap();
    let ex = extract_path(&path, &opts);
    assert_eq!(kind(&ex), Some(ExtractErrorKind::TooLarge));
    assert_eq!(ex.record.format, "pdf");

    let ex = extract_path(&dir.path().join("missing.pdf"), &opts);
    assert_eq!(kind(&ex), Some(ExtractErrorKind::Io));
}

#[test]
fn extract_path_reads_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.docx");
    std::fs::write(&path, sample_docx()).unwrap();
    let ex = extract_path(&path, &no_thumb());
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.path, path.to_string_lossy());
    assert_eq!(ex.record.pages, Some(3));
}

// ---------------------------------------------------------------- images

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn gradient(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128])))
}

/// Width and height of the smallest (256 px) thumbnail, decoded.
fn thumb_side(ex: &Extraction) -> (u32, u32) {
    let img = image::load_from_memory(&ex.smallest_thumbnail().expect("thumbnail").bytes).unwrap();
    (img.width(), img.height())
}

#[test]
fn png_and_jpeg_dimensions_and_thumbnail() {
    for (format, name) in [(ImageFormat::Png, "png"), (ImageFormat::Jpeg, "jpeg")] {
        let bytes = encode(&gradient(640, 480), format);
        let ex = extract_bytes("pic", &bytes, &Options::default());
        let r = &ex.record;
        assert_eq!(r.error, None);
        assert_eq!(r.format, name);
        assert_eq!(r.pages, Some(1));
        assert_eq!(r.pages_source, Some(PagesSource::Image));
        assert_eq!(r.frames, None);
        assert_eq!(r.dimensions, Some((640, 480)));
        // A gradient holds no row of letter-like marks: not OCRed (nothing to read), a picture without text.
        assert_eq!(r.ocr, folio_core::OcrStatus::NotNeeded);
        assert_eq!(r.language, None);
        assert_eq!(r.words, 0);
        assert_eq!(thumb_side(&ex), (256, 192));
    }
    // Never upscale.
    let ex = extract_bytes("small.png", &encode(&gradient(100, 50), ImageFormat::Png), &Options::default());
    assert_eq!(thumb_side(&ex), (100, 50));
}

#[test]
fn sixteen_bit_and_alpha_pngs() {
    let img16 =
        DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(300, 20, |x, _| image::Rgb([x as u16 * 200, 0, 65535])));
    let ex = extract_bytes("16.png", &encode(&img16, ImageFormat::Png), &Options::default());
    assert_eq!(ex.record.error, None);
    assert_eq!(thumb_side(&ex).0, 256);
    let rgba = DynamicImage::ImageRgba8(RgbaImage::from_pixel(10, 10, Rgba([1, 2, 3, 4])));
    let ex = extract_bytes("a.png", &encode(&rgba, ImageFormat::Png), &Options::default());
    let t = image::load_from_memory(&ex.smallest_thumbnail().unwrap().bytes).unwrap();
    assert!(t.color().has_alpha());
}

#[test]
fn gif_counts_frames() {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame};
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        let frames = (0..2).map(|i| {
            Frame::from_parts(
                RgbaImage::from_pixel(40, 30, Rgba([i * 100, 0, 0, 255])),
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            )
        });
        enc.encode_frames(frames).unwrap();
    }
    let ex = extract_bytes("anim.gif", &out, &Options::default());
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.format, "gif");
    assert_eq!(ex.record.frames, Some(2));
    assert_eq!(ex.record.pages, Some(1));
    assert_eq!(ex.record.dimensions, Some((40, 30)));
    assert_eq!(thumb_side(&ex), (40, 30));
}

/// A baseline uncompressed 8-bit grayscale TIFF with `pages` directories of w×h.
fn multipage_tiff(w: u16, h: u16, pages: usize) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    out.extend(8u32.to_le_bytes());
    let pixels = usize::from(w) * usize::from(h);
    let ifd_len = 2 + 8 * 12 + 4;
    for page in 0..pages {
        let ifd_at = out.len();
        let data_at = ifd_at + ifd_len;
        let next = if page + 1 < pages { (data_at + pixels) as u32 } else { 0 };
        let entries: [(u16, u16, u32); 8] = [
            (256, 3, u32::from(w)),
            (257, 3, u32::from(h)),
            (258, 3, 8),
            (259, 3, 1),
            (262, 3, 1),
            (273, 4, data_at as u32),
            (278, 3, u32::from(h)),
            (279, 4, pixels as u32),
        ];
        out.extend(8u16.to_le_bytes());
        for (tag, typ, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(typ.to_le_bytes());
            out.extend(1u32.to_le_bytes());
            if typ == 3 {
                out.extend((value as u16).to_le_bytes());
                out.extend([0, 0]);
            } else {
                out.extend(value.to_le_bytes());
            }
        }
        out.extend(next.to_le_bytes());
        out.extend((0..pixels).map(|i| (i * 7 + page * 50) as u8));
    }
    out
}

#[test]
fn tiff_counts_directories() {
    let ex = extract_bytes("scan.tif", &multipage_tiff(30, 20, 3), &Options::default());
    assert_eq!(ex.record.error, None, "{:?}", ex.record.error);
    assert_eq!(ex.record.format, "tiff");
    assert_eq!(ex.record.frames, Some(3));
    assert_eq!(ex.record.dimensions, Some((30, 20)));

    let single = encode(&gradient(512, 100), ImageFormat::Tiff);
    let ex = extract_bytes("one.tif", &single, &Options::default());
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.frames, None);
    assert_eq!(thumb_side(&ex), (256, 50));
}

#[test]
fn webp_decodes() {
    let bytes =
        encode(&DynamicImage::ImageRgba8(RgbaImage::from_pixel(64, 32, Rgba([9, 9, 9, 255]))), ImageFormat::WebP);
    let ex = extract_bytes("w", &bytes, &Options::default());
    assert_eq!(ex.record.format, "webp");
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.dimensions, Some((64, 32)));
}

#[test]
fn too_many_pixels_is_too_large() {
    let bytes = encode(&gradient(200, 100), ImageFormat::Png);
    let opts = Options { limits: Limits { max_image_pixels: 10_000, ..Limits::default() }, ..Options::default() };
    let ex = extract_bytes("big.png", &bytes, &opts);
    assert_eq!(kind(&ex), Some(ExtractErrorKind::TooLarge));
    let e = display_image(&bytes, 64, &opts.limits).unwrap_err();
    assert_eq!(e.kind, ExtractErrorKind::TooLarge);
}

#[test]
fn truncated_png_is_corrupt() {
    let bytes = encode(&gradient(200, 100), ImageFormat::Png);
    let ex = extract_bytes("cut.png", &bytes[..bytes.len() / 2], &Options::default());
    assert_eq!(kind(&ex), Some(ExtractErrorKind::Corrupt));
    assert_eq!(ex.record.format, "png");
}

#[test]
fn truncated_jpeg_is_corrupt_but_trailing_garbage_is_fine() {
    let bytes = encode(&gradient(200, 100), ImageFormat::Jpeg);
    let ex = extract_bytes("cut.jpg", &bytes[..bytes.len() / 2], &Options::default());
    assert_eq!(kind(&ex), Some(ExtractErrorKind::Corrupt));
    assert_eq!(ex.record.error.as_ref().map(|e| e.message.as_str()), Some("the JPEG is truncated"));
    assert_eq!(ex.record.format, "jpeg");
    let mut padded = bytes.clone();
    padded.extend(std::iter::repeat_n(0xAB, 10_000));
    let ex = extract_bytes("padded.jpg", &padded, &Options::default());
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.dimensions, Some((200, 100)));
}

/// 48 × 32 pixels, arithmetic-coded (see tests/fixtures/README.md): red grows left to right, green top to
/// bottom, blue is a checkerboard of 8-pixel squares.
const ARITHMETIC_JPEG: &[u8] = include_bytes!("fixtures/arithmetic.jpg");

#[test]
fn arithmetic_jpeg_is_decoded_by_djpeg() {
    require_djpeg();
    let ex = extract_bytes("arith.jpg", ARITHMETIC_JPEG, &Options::default());
    let r = &ex.record;
    assert_eq!(r.error, None);
    assert_eq!(r.format, "jpeg");
    assert_eq!(r.pages, Some(1));
    assert_eq!(r.dimensions, Some((48, 32)));
    assert_eq!(thumb_side(&ex), (48, 32));
    let (png, _, _) = display_image(ARITHMETIC_JPEG, 48, &Limits::default()).unwrap();
    let img = image::load_from_memory(&png).unwrap().into_rgb8();
    let near = |a: u8, b: u8| a.abs_diff(b) <= 24;
    let [r0, g0, _] = img.get_pixel(1, 1).0;
    let [r1, g1, _] = img.get_pixel(46, 30).0;
    assert!(near(r0, 5) && near(g0, 8) && near(r1, 250) && near(g1, 247), "{r0} {g0} / {r1} {g1}");
    assert!(near(img.get_pixel(3, 3)[2], 64) && near(img.get_pixel(12, 3)[2], 255), "the blue checkerboard");
}

#[test]
fn arithmetic_jpeg_over_the_pixel_limit_is_refused_before_decoding() {
    let opts = Options { limits: Limits { max_image_pixels: 1000, ..Limits::default() }, ..no_thumb() };
    let ex = extract_bytes("arith.jpg", ARITHMETIC_JPEG, &opts);
    assert_eq!(kind(&ex), Some(ExtractErrorKind::TooLarge));
}

#[test]
fn arithmetic_jpeg_without_djpeg_is_corrupt() {
    // As the fuzz targets run: no external process.
    let ex = extract_bytes("arith.jpg", ARITHMETIC_JPEG, &Options { djpeg: false, ..no_thumb() });
    assert_eq!(kind(&ex), Some(ExtractErrorKind::Corrupt));
}

#[test]
fn display_image_downscales() {
    let bytes = encode(&gradient(1000, 400), ImageFormat::Jpeg);
    let (png, w, h) = display_image(&bytes, 500, &Limits::default()).unwrap();
    assert_eq!((w, h), (500, 200));
    let img = image::load_from_memory_with_format(&png, ImageFormat::Png).unwrap();
    assert_eq!((img.width(), img.height()), (500, 200));
    assert_eq!(display_image(b"nope", 10, &Limits::default()).unwrap_err().kind, ExtractErrorKind::UnsupportedFormat);
}

// ---------------------------------------------------------------- language

#[test]
fn language_detection() {
    let (en, c) = language::detect(ENGLISH).unwrap();
    assert_eq!(en, "en");
    assert!(c > 0.0 && c <= 1.0);
    assert_eq!(language::detect(SPANISH).unwrap().0, "es");
    assert_eq!(language::detect(FRENCH).unwrap().0, "fr");
    assert_eq!(language::detect("ok"), Some(("und".to_string(), 0.0)));
    assert_eq!(language::detect(""), Some(("und".to_string(), 0.0)));
}

/// A wrong `startxref` offset (common in the wild) is repaired by rebuilding the xref table.
#[test]
fn pdf_with_broken_startxref_is_repaired() {
    let mut bytes = pdf_of(&["First page words here.", "Second page words here."], Some("Fixed"), None);
    let at = bytes.windows(9).rposition(|w| w == b"startxref").unwrap();
    bytes.truncate(at);
    bytes.extend_from_slice(b"startxref\n9\n%%EOF\n");
    let ex = extract_bytes("broken.pdf", &bytes, &no_thumb());
    assert_eq!(ex.record.error, None, "{:?}", ex.record.error);
    assert_eq!(ex.record.pages, Some(2));
    assert_eq!(ex.record.title.as_deref(), Some("Fixed"));
    assert!(ex.text.contains("Second page"));
    assert!(ex.record.repaired, "the record says it was repaired");
    let whole = extract_bytes("whole.pdf", &pdf_of(&["Words."], None, None), &no_thumb());
    assert!(!whole.record.repaired);
    let json = serde_json::to_value(&whole.record).unwrap();
    assert!(json.get("repaired").is_none(), "absent unless repaired: {json}");
}

/// lopdf's whole-file view is loaded only for a file whose end is damaged, and for one whose bytes declare a
/// page count out of range: PDFium would count the leaves of such a tree and read on, where the file lies.
#[test]
fn a_page_count_out_of_range_is_corrupt_though_the_files_end_is_intact() {
    let texts: Vec<String> = (1..=10).map(|n| format!("Page {n} words.")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut bytes = pdf_of(&texts, None, None);
    let at = bytes.windows(9).position(|w| w == b"/Count 10").unwrap();
    // The same length: every offset of the cross-reference table stays right.
    bytes[at..at + 9].copy_from_slice(b"/Count -9");
    let ex = extract_bytes("lying.pdf", &bytes, &no_thumb());
    assert_eq!(kind(&ex), Some(ExtractErrorKind::Corrupt), "{:?}", ex.record.error);
    assert!(ex.record.error.unwrap().message.contains("invalid page count"));
}

/// A text box is written twice in a DOCX: as DrawingML in `mc:Choice` and as VML in `mc:Fallback`, for older
/// readers. Its text is read once.
#[test]
fn a_text_box_is_read_once() {
    let box_para = para("Text in a box");
    let body = format!(
        r#"{}<w:p><w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><mc:Choice Requires="wps"><w:drawing><wps:txbx xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><w:txbxContent>{box_para}</w:txbxContent></wps:txbx></w:drawing></mc:Choice><mc:Fallback><w:pict><v:textbox xmlns:v="urn:schemas-microsoft-com:vml"><w:txbxContent>{box_para}</w:txbxContent></v:textbox></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"#,
        para("Before the box.")
    );
    let ex = extract_bytes("box.docx", &docx_with_body(&body, &[]), &Options { keep_text: true, ..Options::default() });
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.text.matches("Text in a box").count(), 1, "{}", ex.text);
}
