//! Builds `examples/ccm-2012/` from the texts in `examples/sources/ccm-2012/`: the 2012 call for contributions as a
//! PDF and as a DOCX, Mexico's Spanish statement as a PDF, a timeline graphic as a PNG, and a draft that no
//! CSV row lists; then `contributions.csv` and `catalogue.toml`.
//!
//! Run from the repository root: `cargo run --release -p folio --example make_ccm_2012`.
//! The output is deterministic: running it again gives the same bytes.

use std::path::Path;

const DIR: &str = "examples/ccm-2012";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(DIR);
    let call = std::fs::read_to_string(Path::new("examples/sources/ccm-2012/call-for-contributions.txt"))?;
    let statement = std::fs::read_to_string(Path::new("examples/sources/ccm-2012/mexico-statement.txt"))?;

    std::fs::write(
        dir.join("call-for-contributions.pdf"),
        text_pdf(
            "Call for contributions: catalogue of best practices",
            "Mexico and Spain, co-chairs",
            &paragraphs(&call),
        )?,
    )?;
    std::fs::write(
        dir.join("call-for-contributions.docx"),
        text_docx("Call for contributions: catalogue of best practices", "Javier Gil Catalina", &paragraphs(&call))?,
    )?;
    std::fs::write(
        dir.join("mexico-statement.pdf"),
        text_pdf("Cooperación y Asistencia", "Misión de México", &paragraphs(&statement))?,
    )?;
    std::fs::write(dir.join("timeline-2012.png"), timeline_png()?)?;
    std::fs::write(
        dir.join("draft-notes.docx"),
        text_docx("Draft notes", "Unknown", &["Notes taken while drafting the call. Not a contribution.".to_string()])?,
    )?;
    std::fs::write(dir.join("contributions.csv"), CSV)?;
    std::fs::write(dir.join("catalogue.toml"), CATALOGUE)?;
    println!("wrote {DIR}");
    Ok(())
}

const CATALOGUE: &str = r#"# The catalogue this folder feeds. See the README's "Input folder" section.
title = "Catalogue of best practices in cooperation and assistance"
deadline = "2012-04-30"

[[chapters]]
id = "working-group"
title = "The Working Group on Cooperation and Assistance"

[[chapters]]
id = "mexico-cooperation"
title = "Mexico: cooperation and assistance under the Convention"

[rules]
languages = ["en"]
max_pages = 10
"#;

const CSV: &str = "file,chapter,state,author,title,kind,role,modality,received,rights
call-for-contributions.pdf,working-group,Mexico,Juan José Gómez Camacho,Call for contributions to the catalogue,text,both,multilateral,2012-01-18,Public document of the CCM Working Group; free to reproduce
call-for-contributions.docx,working-group,Spain,Javier Gil Catalina,The call as circulated by Spain,text,both,multilateral,2012-01-18,Public document of the CCM Working Group; free to reproduce
timeline-2012.png,working-group,Spain,Working Group co-chairs,Timeline of the catalogue in 2012,graphic,both,multilateral,2012-02-01,Made for this example; CC0
mexico-statement.pdf,mexico-cooperation,Mexico,Mission of Mexico in Geneva,Cooperation and assistance: conclusions and recommendations,text,both,south-south,2012-04-20,Public statement; free to reproduce
";

/// Blank lines separate paragraphs; line breaks inside one are joined.
fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n").map(|p| p.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|p| !p.is_empty()).collect()
}

/// Latin-1 bytes for the standard Helvetica font with WinAnsiEncoding (the texts here need no more).
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{2019}' | '\u{2018}' => b'\'',
            '\u{201c}' | '\u{201d}' => b'"',
            '\u{2013}' | '\u{2014}' => b'-',
            c if (c as u32) < 256 => c as u8,
            _ => b'?',
        })
        .collect()
}

/// Greedy line breaking by an average glyph width: good enough for a plain letter.
fn wrap(text: &str, max_chars: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max_chars {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A plain A4 text PDF with an Info dictionary, laid out line by line.
fn text_pdf(title: &str, author: &str, paragraphs: &[String]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    use lopdf::content::{Content, Operation};
    use lopdf::{dictionary, Document, Object, Stream};

    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });

    // Lay out: 11 pt text, 14 pt leading, 50 lines a page.
    let mut lines: Vec<String> = Vec::new();
    for p in paragraphs {
        lines.extend(wrap(p, 88));
        lines.push(String::new());
    }
    let mut kids = Vec::new();
    for chunk in lines.chunks(50) {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 11.into()]),
            Operation::new("TL", vec![14.into()]),
            Operation::new("Td", vec![60.into(), 780.into()]),
        ];
        for line in chunk {
            ops.push(Operation::new("Tj", vec![Object::string_literal(win_ansi(line))]));
            ops.push(Operation::new("T*", vec![]));
        }
        ops.push(Operation::new("ET", vec![]));
        let content = Content { operations: ops };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode()?));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        });
        kids.push(Object::from(page_id));
    }
    let count = kids.len() as i64;
    doc.objects
        .insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let info_id = doc.add_object(dictionary! {
        "Title" => Object::string_literal(win_ansi(title)),
        "Author" => Object::string_literal(win_ansi(author)),
        "Producer" => Object::string_literal("Folio example generator"),
    });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    doc.compress();
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

fn text_docx(title: &str, author: &str, paragraphs: &[String]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    use docx_rs::{Docx, Paragraph, Run};
    // docx-rs writes no title or creator in core.xml; the author goes in a custom property instead.
    let mut docx = Docx::new()
        .created_at("2012-01-18T00:00:00Z")
        .updated_at("2012-01-18T00:00:00Z")
        .custom_property("Author", author);
    docx = docx.add_paragraph(Paragraph::new().add_run(Run::new().add_text(title).bold().size(32)));
    for p in paragraphs {
        docx = docx.add_paragraph(Paragraph::new().add_run(Run::new().add_text(p)));
    }
    let mut out = std::io::Cursor::new(Vec::new());
    docx.build().pack(&mut out)?;
    Ok(out.into_inner())
}

/// A timeline of 2012 (January to September) with the four dates of the call marked.
fn timeline_png() -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    use image::{Rgb, RgbImage};
    let (w, h) = (1200u32, 400u32);
    let mut img = RgbImage::from_pixel(w, h, Rgb([250, 248, 242]));
    let fill = |img: &mut RgbImage, x0: u32, y0: u32, x1: u32, y1: u32, c: Rgb<u8>| {
        for y in y0..y1.min(h) {
            for x in x0..x1.min(w) {
                img.put_pixel(x, y, c);
            }
        }
    };
    // Nine months along the axis; each month a band of alternating shade.
    let (left, right) = (80u32, 1120u32);
    let month = (right - left) / 9;
    for m in 0..9 {
        let shade = if m % 2 == 0 { Rgb([225, 230, 238]) } else { Rgb([210, 218, 230]) };
        fill(&mut img, left + m * month, 180, left + (m + 1) * month, 220, shade);
    }
    // Call (18 Jan), deadline (30 Apr), publication (June), meeting (September).
    let marks = [
        (0.55f32, Rgb([31, 94, 160])),
        (3.97, Rgb([192, 57, 43])),
        (5.5, Rgb([39, 174, 96])),
        (8.4, Rgb([142, 68, 173])),
    ];
    for (at, colour) in marks {
        let x = left + (at * month as f32) as u32;
        fill(&mut img, x.saturating_sub(6), 100, x + 6, 300, colour);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}
