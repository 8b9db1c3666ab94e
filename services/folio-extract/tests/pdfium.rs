//! PDFium's reading of PDFs: text by page, metadata, passwords, the thumbnail. These tests need the PDFium
//! library (`scripts/setup` installs it) and fail, rather than pass silently, when it is missing.

mod common;

use common::*;
use folio_core::ExtractErrorKind;
use folio_extract::{extract_bytes, pdfium_available, Options, ThumbnailFormat, ThumbnailSpec};
use lopdf::encryption::{EncryptionState, EncryptionVersion, Permissions};
use lopdf::{Document, Object};

fn require_pdfium() {
    assert!(pdfium_available(), "the PDFium library was not found: run scripts/setup (or set FOLIO_PDFIUM_LIB)");
}

fn opts() -> Options {
    Options { thumbnails: ThumbnailSpec::none(), ..Options::default() }
}

#[test]
fn pdfium_reads_the_text_of_each_page() {
    require_pdfium();
    let bytes = pdf_of(
        &["The committee met on Tuesday\nto review the annual report.", "It funds the library\nand the garden."],
        Some("Annual Report"),
        Some("Zoë Author"),
    );
    let ex = extract_bytes("r.pdf", &bytes, &opts());
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.pages, Some(2));
    assert_eq!(
        ex.text,
        "The committee met on Tuesday\nto review the annual report.\n\nIt funds the library\nand the garden."
    );
    assert_eq!(ex.record.title.as_deref(), Some("Annual Report"));
    assert_eq!(ex.record.author.as_deref(), Some("Zoë Author"));
}

/// A PDF with every Info field set.
fn pdf_with_info() -> Vec<u8> {
    let bytes = pdf_of(&["Some words on a page of the report."], Some("T"), None);
    let mut doc = Document::load_mem(&bytes).expect("fixture loads");
    let mut info = lopdf::Dictionary::new();
    for (k, v) in [
        ("Title", "The Title"),
        ("Subject", "Village libraries"),
        ("Keywords", "libraries; villages"),
        ("CreationDate", "D:20230405060708+02'00'"),
        ("ModDate", "D:20240102"),
        ("Producer", "Folio test suite"),
    ] {
        info.set(k, Object::string_literal(v));
    }
    let id = doc.add_object(info);
    doc.trailer.set("Info", id);
    saved(&mut doc)
}

fn saved(doc: &mut Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

#[test]
fn pdfium_reads_metadata() {
    require_pdfium();
    let r = extract_bytes("m.pdf", &pdf_with_info(), &opts()).record;
    assert_eq!(r.error, None);
    assert_eq!(r.title.as_deref(), Some("The Title"));
    assert_eq!(r.subject.as_deref(), Some("Village libraries"));
    assert_eq!(r.keywords.as_deref(), Some("libraries; villages"));
    assert_eq!(r.created.as_deref(), Some("2023-04-05T06:07:08+02:00"));
    assert_eq!(r.modified.as_deref(), Some("2024-01-02"));
    assert_eq!(r.producer.as_deref(), Some("Folio test suite"));
}

#[test]
fn lopdf_path_reads_the_same_metadata() {
    let r = extract_bytes("m.pdf", &pdf_with_info(), &Options { pdfium: false, ..opts() }).record;
    assert_eq!(r.subject.as_deref(), Some("Village libraries"));
    assert_eq!(r.created.as_deref(), Some("2023-04-05T06:07:08+02:00"));
    assert_eq!(r.producer.as_deref(), Some("Folio test suite"));
}

/// A two-page PDF encrypted (RC4, 128 bits) with the user password `secret`.
fn encrypted_pdf() -> Vec<u8> {
    let bytes = pdf_of(&["Confidential minutes of the meeting.", "Second page."], None, None);
    let mut doc = Document::load_mem(&bytes).expect("fixture loads");
    doc.trailer.set("ID", vec![Object::string_literal("0123456789abcdef"), Object::string_literal("0123456789abcdef")]);
    let version = EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner",
        user_password: "secret",
        key_length: 128,
        permissions: Permissions::all(),
    };
    let state = EncryptionState::try_from(version).expect("encryption state");
    doc.encrypt(&state).expect("encrypt");
    saved(&mut doc)
}

#[test]
fn a_pdf_that_needs_a_password_is_encrypted_with_its_page_count() {
    require_pdfium();
    let bytes = encrypted_pdf();
    let ex = extract_bytes("e.pdf", &bytes, &opts());
    let err = ex.record.error.as_ref().expect("an error, never an empty success");
    assert_eq!(err.kind, ExtractErrorKind::Encrypted);
    assert_eq!(ex.record.pages, Some(2));
    assert!(ex.text.is_empty());

    let wrong = extract_bytes("e.pdf", &bytes, &Options { password: Some("guess".into()), ..opts() });
    assert_eq!(wrong.record.error.map(|e| e.kind), Some(ExtractErrorKind::Encrypted));

    let right = extract_bytes("e.pdf", &bytes, &Options { password: Some("secret".into()), ..opts() });
    assert_eq!(right.record.error, None);
    assert_eq!(right.record.pages, Some(2));
    assert!(right.text.contains("Confidential minutes"), "{:?}", right.text);
}

#[test]
fn pdfium_renders_the_thumbnail() {
    require_pdfium();
    // Point pdftoppm nowhere: the thumbnail must come from PDFium.
    std::env::set_var("FOLIO_PDFTOPPM", "/nonexistent/pdftoppm");
    let bytes = pdf_of(&["A page with a thumbnail."], None, None);
    let thumbnails = ThumbnailSpec { sizes: vec![128, 64], format: ThumbnailFormat::Png };
    let ex = extract_bytes("t.pdf", &bytes, &Options { thumbnails, ..Options::default() });
    let sizes: Vec<(u32, u32, u32)> = ex.thumbnails.iter().map(|t| (t.max_side, t.width, t.height)).collect();
    // A4 portrait: 595 × 842 points. The page is rendered at the largest size; the smaller is scaled from it.
    assert_eq!(sizes, [(128, 90, 128), (64, 45, 64)]);
    assert!(ex.thumbnails.iter().all(|t| t.bytes.starts_with(b"\x89PNG")));
    assert_eq!(ex.record.dimensions, Some((90, 128)));
}
