//! A DOCX contribution's form (issue 23): its headings, lists, table, picture and footnotes come out as
//! blocks beside its text; its running header, its footer and the text box's fallback copy do not.
//! Fixture: `tests/fixtures/form/form.docx` (made by `make-form.py` there; CC0).

mod common;

use folio_core::structure::{Block, Text};
use folio_extract::{extract_bytes, Options, ThumbnailSpec};

/// The report's list items, as both its DOCX and its PDF hold them: `(level, ordered, text)`.
const LIST_ITEMS: [(u8, bool, &str); 5] = [
    (1, false, "Non-technical survey of every village"),
    (1, false, "Technical survey of the suspected areas"),
    (1, false, "Clearance to international standards"),
    (1, true, "The community signs the handover"),
    (1, true, "The district keeps the map"),
];

fn headings(blocks: &[Block]) -> Vec<(u8, &str)> {
    blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { level, text } => Some((*level, text.as_str())),
            _ => None,
        })
        .collect()
}

fn list_items(blocks: &[Block]) -> Vec<(u8, bool, &str)> {
    blocks
        .iter()
        .filter_map(|b| match b {
            Block::ListItem { level, ordered, text } => Some((*level, *ordered, text.text.as_str())),
            _ => None,
        })
        .collect()
}

fn form() -> folio_extract::Extraction {
    let opts = Options { thumbnails: ThumbnailSpec::none(), ..Options::default() };
    extract_bytes("form.docx", include_bytes!("fixtures/form/form.docx"), &opts)
}

#[test]
fn a_docx_keeps_its_headings_lists_table_picture_and_notes() {
    let ex = form();
    assert_eq!(ex.record.error, None);
    let structure = ex.structure.expect("a DOCX has a structure");
    let blocks = &structure.blocks;
    assert_eq!(
        headings(blocks),
        [
            (1, "Clearing the border districts"),
            (1, "Background"),
            (2, "Methods"),
            (1, "Results"),
            (1, "Lessons learned")
        ],
        "Title and Word's heading styles"
    );
    assert_eq!(
        list_items(blocks),
        LIST_ITEMS,
        "bullets from the List Bullet style's numbering, numbers from the paragraphs' own"
    );
    let tables: Vec<&Vec<Vec<Vec<String>>>> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table { rows } => Some(rows),
            _ => None,
        })
        .collect();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].len(), 3);
    assert_eq!(tables[0][1], [vec!["Devices destroyed".to_string()], vec!["1,318".to_string()]]);

    let pictures: Vec<(usize, &str)> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Picture { picture, caption } => Some((*picture, caption.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(pictures, [(0, "The cleared areas in 2012")], "the Caption paragraph under it is its caption");
    assert_eq!(structure.pictures.len(), 1);
    assert_eq!((structure.pictures[0].width, structure.pictures[0].height), (240, 160));
    assert_eq!(structure.pictures[0].location, "picture-1.png");
    assert_eq!(ex.pictures.len(), 1);
    assert!(ex.pictures[0].png.starts_with(b"\x89PNG"));

    let noted: Vec<&Text> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Paragraph(t) if !t.notes.is_empty() => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(noted.len(), 2);
    let first = &noted[0];
    assert_eq!(&first.text[..first.notes[0].at], "The programme began in 2011 with a survey of the border districts, carried out with the communities themselves");
    assert_eq!(first.notes[0].text, "The survey followed the national mine action standards.");
    assert_eq!(noted[1].notes[0].text, "District report, March 2013.");

    let all: Vec<&str> = blocks.iter().flat_map(|b| b.paragraphs()).collect();
    let joined = all.join("\n");
    assert_eq!(joined.matches("Ten villages were declared free of mines.").count(), 1, "the text box once");
    for furniture in ["Ministry of Defence", "Confidential draft"] {
        assert!(!joined.contains(furniture), "no header or footer in the blocks: {joined}");
        assert!(!ex.text.contains(furniture), "no header or footer in the text: {}", ex.text);
    }
    // The text is what it always was: every paragraph, the table's cells and the notes after the body.
    assert!(ex.text.contains("Devices destroyed\n\n1,318"), "{}", ex.text);
    assert!(ex.text.ends_with("District report, March 2013."), "{}", ex.text);
}

/// The same report as LibreOffice prints it: its headings (larger or bold), list items and paragraphs are
/// rebuilt from the layout; its running header and its footer with the page number are left out of the
/// structure (they stay in the text, which is every line of the pages). Needs PDFium (`scripts/setup`).
#[test]
fn a_pdf_report_keeps_its_headings_and_lists_and_loses_its_running_heads() {
    assert!(folio_extract::pdfium_available(), "the PDFium library was not found: run scripts/setup");
    let opts = Options { thumbnails: ThumbnailSpec::none(), ..Options::default() };
    let ex = extract_bytes("form.pdf", include_bytes!("fixtures/form/form.pdf"), &opts);
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.pages, Some(2));
    let blocks = ex.structure.expect("a PDF read with PDFium has a structure").blocks;
    assert_eq!(
        headings(&blocks),
        [
            (1, "Clearing the border districts"),
            (2, "Background"),
            (3, "Methods"),
            (2, "Results"),
            (2, "Lessons learned")
        ],
        "levels from the sizes the headings are set in: {blocks:#?}"
    );
    assert_eq!(list_items(&blocks), LIST_ITEMS, "{blocks:#?}");
    // The map, as printed, where it stands: after the table, before the paragraph under it.
    let at = blocks.iter().position(|b| matches!(b, Block::Picture { picture: 0, .. })).expect("the map");
    assert!(matches!(&blocks[at + 1], Block::Paragraph(t) if t.text == "The cleared areas in 2012"), "{blocks:#?}");
    assert_eq!(ex.pictures.len(), 1);
    let (w, h) = (ex.pictures[0].width, ex.pictures[0].height);
    assert!((w as f64 / h as f64 - 1.5).abs() < 0.05 && w >= 240, "{w}x{h}: the 240x160 picture, printed at 10 cm");
    let all: Vec<&str> = blocks.iter().flat_map(|b| b.paragraphs()).collect();
    let joined = all.join("\n");
    for furniture in ["Ministry of Defence", "Confidential draft"] {
        assert!(!joined.contains(furniture), "{furniture} in the structure:\n{joined}");
        assert_eq!(ex.text.matches(furniture).count(), 2, "the text keeps every line of both pages");
    }
    assert!(
        all.contains(
            &"Working with the communities from the first day made every later step faster: villagers knew \
                       where the devices were, and they trusted the teams that came back to clear them."
        ),
        "a paragraph's lines are one paragraph:\n{joined}"
    );
}

/// A PDF page's picture (an image with no text over it) comes out as a picture block of the page's form,
/// rendered from the page where it stands.
#[test]
fn a_pdf_pages_picture_is_a_block_of_its_form() {
    use lopdf::{content::Content, content::Operation, dictionary, Document, Object, Stream};
    if !folio_extract::pdfium_available() {
        eprintln!("PDFium is not installed (scripts/setup): the form of a PDF comes from PDFium; skipped");
        return;
    }
    let (w, h) = (400u32, 300u32);
    let pixels: Vec<u8> = (0..w * h).map(|i| ((i % w) * 255 / w) as u8).collect();
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let image_id = common::gray_image(&mut doc, w, h, pixels);
    let font_id = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let mut operations = vec![Operation::new("BT", vec![]), Operation::new("Tf", vec!["F1".into(), 12.into()])];
    for line in 0..12 {
        operations.push(Operation::new("Td", vec![50.into(), (if line == 0 { 780 } else { -16 }).into()]));
        operations.push(Operation::new(
            "Tj",
            vec![Object::string_literal(format!("Line {line} of the report on village libraries and their readers."))],
        ));
    }
    operations.push(Operation::new("ET", vec![]));
    // The picture: 300 by 225 points near the foot of the page, nothing written over it.
    for op in [
        Operation::new("q", vec![]),
        Operation::new("cm", vec![300.into(), 0.into(), 0.into(), 225.into(), 100.into(), 100.into()]),
        Operation::new("Do", vec!["Im1".into()]),
        Operation::new("Q", vec![]),
    ] {
        operations.push(op);
    }
    let content_id = doc.add_object(Stream::new(dictionary! {}, Content { operations }.encode().unwrap()));
    let resources =
        dictionary! { "Font" => dictionary! { "F1" => font_id }, "XObject" => dictionary! { "Im1" => image_id } };
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Resources" => resources,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![Object::from(page_id)], "Count" => 1 }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();

    // No OCR: the layer stands as the page's text, and the page keeps its form.
    let opts = Options { thumbnails: ThumbnailSpec::none(), ocr: false, ..Options::default() };
    let ex = extract_bytes("report.pdf", &bytes, &opts);
    assert_eq!(ex.record.error, None);
    let structure = ex.structure.expect("a form");
    assert_eq!(structure.pictures.len(), 1, "{:?}", structure.pictures);
    assert_eq!(ex.pictures.len(), 1);
    let (pw, ph) = (structure.pictures[0].width, structure.pictures[0].height);
    assert!(pw > ph && pw * 3 / 4 <= ph + 2, "the picture's shape, 4:3: {pw} x {ph}");
    assert!(structure.blocks.iter().any(|b| matches!(b, Block::Picture { picture: 0, .. })), "{:?}", structure.blocks);
}
