//! PDF text layout: line breaks, paragraph breaks and word spaces recovered from text positioning, and
//! Form XObjects (including hostile, self-referencing ones).

use folio_extract::{extract_bytes, Options, ThumbnailSpec};
use lopdf::{dictionary, Document, Object, Stream};

/// These tests are of our lopdf text walker, so PDFium is off even where it is installed.
fn no_thumb() -> Options {
    Options { thumbnails: ThumbnailSpec::none(), pdfium: false, ..Options::default() }
}

/// A one-page PDF whose page content is `content` (F1 is Helvetica, WinAnsiEncoding), with Form
/// XObjects `/X0`, `/X1`… whose contents are `forms`. A form content may say `/Self Do` (itself) or
/// `/Next Do` (the next form, wrapping around), to build cycles.
fn pdf_with(content: &str, forms: &[&str]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let form_ids: Vec<_> = forms.iter().map(|_| doc.new_object_id()).collect();
    let mut xobjects = lopdf::Dictionary::new();
    for (i, (body, &id)) in forms.iter().zip(&form_ids).enumerate() {
        let next = form_ids[(i + 1) % form_ids.len()];
        let stream = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Form",
                "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Resources" => dictionary! {
                    "Font" => dictionary! { "F1" => font_id },
                    "XObject" => dictionary! { "Self" => id, "Next" => next },
                },
            },
            body.as_bytes().to_vec(),
        );
        doc.objects.insert(id, Object::Stream(stream));
        xobjects.set(format!("X{i}"), id);
    }
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id }, "XObject" => xobjects });
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.as_bytes().to_vec()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Resources" => resources_id,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn text_of(content: &str, forms: &[&str]) -> String {
    let ex = extract_bytes("t.pdf", &pdf_with(content, forms), &no_thumb());
    assert_eq!(ex.record.error, None, "{:?}", ex.record.error);
    ex.text
}

#[test]
fn t_star_starts_a_new_line() {
    let t = text_of(
        "BT /F1 12 Tf 14 TL 72 720 Td (Dear Excellency,) Tj T* (We are pleased) Tj T* (to invite you.) Tj ET",
        &[],
    );
    assert_eq!(t, "Dear Excellency,\nWe are pleased\nto invite you.");
}

#[test]
fn td_and_quote_start_new_lines() {
    let t = text_of(
        "BT /F1 12 Tf 72 720 Td (INTERNACIONALES) Tj 0 -14 Td (REPRESENTACION) Tj 0 -14 TD (third) Tj (fourth) ' ET",
        &[],
    );
    assert_eq!(t, "INTERNACIONALES\nREPRESENTACION\nthird\nfourth");
}

#[test]
fn tm_per_line_and_bt_per_line() {
    let t = text_of(
        "BT /F1 12 Tf 1 0 0 1 72 720 Tm (first line) Tj ET BT /F1 12 Tf 1 0 0 1 72 706 Tm (second line) Tj ET",
        &[],
    );
    assert_eq!(t, "first line\nsecond line");
}

#[test]
fn a_large_vertical_gap_is_a_paragraph_break() {
    let t = text_of(
        "BT /F1 12 Tf 72 720 Td (one) Tj 0 -14 Td (two) Tj 0 -14 Td (three) Tj 0 -40 Td (four) Tj 0 -14 Td (five) Tj ET",
        &[],
    );
    assert_eq!(t, "one\ntwo\nthree\n\nfour\nfive");
}

#[test]
fn tj_kerning_makes_word_spaces() {
    let t = text_of("BT /F1 12 Tf 72 720 Td [(Hello) -300 (world) -50 (!)] TJ ET", &[]);
    assert_eq!(t, "Hello world!");
}

#[test]
fn far_apart_strings_on_one_line_are_spaced() {
    let t = text_of("BT /F1 12 Tf 72 720 Td (Name) Tj 200 0 Td (Value) Tj ET", &[]);
    assert_eq!(t, "Name Value");
    // Adjacent strings (a word split in two) stay joined.
    let t = text_of("BT /F1 12 Tf 72 720 Td (Wo) Tj (rd) Tj ET", &[]);
    assert_eq!(t, "Word");
}

#[test]
fn form_xobjects_are_drawn() {
    let t = text_of(
        "BT /F1 12 Tf 72 720 Td (Before the form) Tj 0 -14 Td (second) Tj ET q 1 0 0 1 0 -100 cm /X0 Do Q",
        &["BT /F1 12 Tf 72 706 Td (Inside the form) Tj 0 -14 Td (form line two) Tj ET"],
    );
    // The form is drawn 100 units lower (cm): well below the usual leading, so a new paragraph.
    assert_eq!(t, "Before the form\nsecond\n\nInside the form\nform line two");
}

#[test]
fn self_referencing_forms_terminate() {
    // A form that draws itself, and two forms that draw each other: no hang, no stack overflow, and the
    // text drawn once per level at most.
    let t = text_of("/X0 Do /X1 Do", &["BT /F1 12 Tf 72 700 Td (loop) Tj ET /Self Do", "/Next Do"]);
    assert!(t.contains("loop"), "{t:?}");
    assert!(t.matches("loop").count() <= 3, "{t:?}");
}

#[test]
fn exponential_form_fan_out_is_capped() {
    // Form i draws form i+1 twice (the last one's Next is form 0, already being drawn, so skipped):
    // 2^40 draws without the operator cap.
    let forms = vec!["/Next Do /Next Do BT /F1 12 Tf 72 700 Td (x) Tj ET"; 40];
    let start = std::time::Instant::now();
    let ex = extract_bytes("t.pdf", &pdf_with("/X0 Do", &forms), &no_thumb());
    assert_eq!(ex.record.error, None);
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}
