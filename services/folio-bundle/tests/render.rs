//! The renderers against a small book with a figure and hostile text: structure, literal text, and
//! byte-for-byte reproducibility.

use std::io::{Cursor, Read};

use chrono::NaiveDate;
use folio_bundle::report::{ReportChapter, ReportContribution, ReportDocument, ReportInput, Totals};
use folio_bundle::{render_docx, render_pdf, Book, BookChapter, BookEntry, BundleError, Figure};
use folio_core::{ContributionKind, Finding, FindingCode, Severity, ThumbnailFormat};

/// Markup in every syntax the renderers might interpret: Typst, Markdown-ish, HTML, XML.
const HOSTILE: &str = r"#set page(width: 1cm) *bold* $x$ [link] \ <tag> @ref & 'q' “quoted”";

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 128]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encode png");
    out.into_inner()
}

fn sample_book() -> Book {
    Book {
        title: "Catalogue of best practices".into(),
        subtitle: Some("International cooperation and assistance".into()),
        date: NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"),
        chapters: vec![
            BookChapter {
                title: "Clearance in Laos".into(),
                entries: vec![
                    BookEntry {
                        title: "Training local teams".into(),
                        author: "A. Author".into(),
                        state: "Norway".into(),
                        kind: ContributionKind::Text,
                        body: vec![
                            "The project trained forty deminers over two years.".into(),
                            "Lessons learned were shared regionally.".into(),
                        ],
                        figures: vec![Figure {
                            png: png(64, 32),
                            width: 64,
                            height: 32,
                            caption: "A training session".into(),
                            credit: "Photo: Norwegian People's Aid".into(),
                        }],
                        areas: vec!["Clearance".into(), "Cooperation and assistance".into()],
                        pdfs: Vec::new(),
                        credit: String::new(),
                    },
                    BookEntry {
                        title: format!("Hostile {HOSTILE}"),
                        author: String::new(),
                        state: "Mexico".into(),
                        kind: ContributionKind::Testimonial,
                        body: vec![HOSTILE.into(), "Second paragraph.".into()],
                        figures: vec![],
                        areas: Vec::new(),
                        pdfs: Vec::new(),
                        credit: String::new(),
                    },
                ],
            },
            BookChapter {
                title: "Victim assistance in Lebanon".into(),
                entries: vec![BookEntry {
                    title: "Rehabilitation services".into(),
                    author: "B. Writer".into(),
                    state: "Lebanon".into(),
                    kind: ContributionKind::Text,
                    body: vec!["Services reached 300 survivors.".into()],
                    figures: vec![],
                    areas: vec!["Victim assistance".into()],
                    pdfs: Vec::new(),
                    credit: String::new(),
                }],
            },
        ],
    }
}

fn unzip(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("docx is a zip");
    let mut file = archive.by_name(name).unwrap_or_else(|_| panic!("{name} in docx"));
    let mut text = String::new();
    file.read_to_string(&mut text).expect("utf-8 part");
    text
}

fn unzip_opt(bytes: &[u8], name: &str) -> Option<String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("docx is a zip");
    let mut file = archive.by_name(name).ok()?;
    let mut text = String::new();
    file.read_to_string(&mut text).expect("utf-8 part");
    Some(text)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&apos;").replace('"', "&quot;")
}

#[test]
fn docx_has_styles_contents_chapters_and_figures() {
    let book = sample_book();
    let bytes = render_docx(&book).expect("docx renders");
    let document = unzip(&bytes, "word/document.xml");
    let styles = unzip(&bytes, "word/styles.xml");
    let rels = unzip(&bytes, "word/_rels/document.xml.rels");

    for name in ["Title", "Heading 1", "Heading 2", "Caption"] {
        assert!(
            styles.contains(&format!("<w:name w:val=\"{name}\" />"))
                || styles.contains(&format!("<w:name w:val=\"{name}\"/>")),
            "style {name} in {styles}"
        );
    }
    let indexes = book.indexes().len();
    assert_eq!(indexes, 3, "the sample names States, authors and areas");
    assert_eq!(
        document.matches("<w:pStyle w:val=\"Heading1\"").count(),
        2 + indexes,
        "one Heading 1 per chapter and per index"
    );
    for title in
        ["Index of contributions by State", "Index of contributions by author", "Index of contributions by area"]
    {
        assert!(document.contains(title), "{title} at the back");
    }
    assert!(document.contains("<w:pStyle w:val=\"IndexHeading\""), "index groups use Word's index heading style");
    assert_eq!(document.matches("<w:pStyle w:val=\"Heading2\"").count(), 3, "one Heading 2 per entry");

    // Chapter titles in order, after the table of contents (which lists them too).
    let toc = document.find("TOC \\o").expect("TOC field instruction");
    assert!(document.contains("instrText"), "TOC is a field");
    let body = &document[toc..];
    let first = body.rfind("Clearance in Laos").expect("chapter 1");
    let second = body.rfind("Victim assistance in Lebanon").expect("chapter 2");
    assert!(first < second, "chapters in book order");
    // Front matter, two chapters, three indexes: a section each, each starting a page with its own header.
    assert_eq!(document.matches("<w:sectPr").count(), 1 + 2 + indexes, "a section per part");
    assert!(!document.contains("<w:type w:val=\"continuous\""), "every section starts a new page");
    assert!(
        styles.contains(r#"<w:style w:type="paragraph" w:default="1" w:styleId="Normal">"#),
        "Normal is the default"
    );
    let sections: Vec<&str> =
        document.split("<w:sectPr>").skip(1).map(|s| &s[..s.find("</w:sectPr>").unwrap()]).collect();
    assert!(!sections[0].contains("footerReference"), "the front matter's pages are not numbered");
    assert!(sections[0].contains("<w:titlePg />"), "no header on the title page");
    assert!(sections[1].contains("<w:pgNumType w:start=\"1\" />"), "numbering starts at 1 with the first chapter");
    for (n, section) in sections.iter().enumerate().skip(1) {
        assert!(section.contains("<w:footerReference w:type=\"default\""), "section {n} has the page number");
        assert!(section.contains("<w:headerReference w:type=\"default\""), "section {n} has its running header");
    }
    for part in ["Clearance in Laos", "Victim assistance in Lebanon", "Index of contributions by area"] {
        assert!(
            (1..=8).any(|n| unzip_opt(&bytes, &format!("word/header{n}.xml")).is_some_and(|h| h.contains(part))),
            "a running header names {part}"
        );
    }

    // The figure: embedded, related, captioned.
    assert!(document.contains("r:embed=\"rIdImage1\""), "picture reference");
    assert!(rels.contains("rIdImage1") && rels.contains("media/"), "image relationship: {rels}");
    assert!(document.contains("Figure 1: A training session — Photo: Norwegian People"), "caption");
    let mut archive = zip::ZipArchive::new(Cursor::new(&bytes)).expect("zip");
    assert!(
        (0..archive.len()).any(|i| archive.by_index(i).map(|f| f.name().starts_with("word/media/")).unwrap_or(false))
    );

    // Attribution: author and State, or the State alone.
    assert!(document.contains("A. Author (Norway)"));
    assert!(document.contains(">Mexico<"));

    // Hostile text appears literally (XML-escaped, not interpreted).
    assert!(document.contains(&xml_escape(HOSTILE)), "hostile text verbatim");

    // The creation date is the book's.
    let core = unzip(&bytes, "docProps/core.xml");
    assert!(core.contains("2026-11-23T00:00:00Z"), "{core}");
}

#[test]
fn docx_is_reproducible() {
    let book = sample_book();
    let a = render_docx(&book).expect("first");
    let b = render_docx(&book).expect("second");
    assert!(a == b, "two renders of the same book differ");
}

#[test]
fn figures_that_are_not_png_are_refused() {
    let mut book = sample_book();
    book.chapters[0].entries[0].figures[0].png = b"GIF89a not a png".to_vec();
    assert!(matches!(render_docx(&book), Err(BundleError::Figure { figure: 1, .. })));
    assert!(matches!(render_pdf(&book), Err(BundleError::Figure { figure: 1, .. })));
}

/// The outline (bookmark) titles of a PDF, depth first.
fn outline_titles(doc: &lopdf::Document) -> Vec<String> {
    fn walk(doc: &lopdf::Document, dict: &lopdf::Dictionary, out: &mut Vec<String>) {
        let mut next = dict.get(b"First").ok().and_then(|o| o.as_reference().ok());
        while let Some(id) = next {
            let Ok(item) = doc.get_dictionary(id) else { break };
            if let Ok(title) = item.get(b"Title") {
                let title = match title {
                    lopdf::Object::Reference(r) => doc.get_object(*r).ok().cloned(),
                    other => Some(other.clone()),
                };
                if let Some(title) = title {
                    out.push(lopdf::decode_text_string(&title).unwrap_or_default());
                }
            }
            walk(doc, item, out);
            next = item.get(b"Next").ok().and_then(|o| o.as_reference().ok());
        }
    }
    let mut out = Vec::new();
    let catalog = doc.catalog().expect("catalog");
    let outlines = catalog.get(b"Outlines").and_then(|o| o.as_reference()).expect("/Outlines in catalog");
    walk(doc, doc.get_dictionary(outlines).expect("outline root"), &mut out);
    out
}

#[test]
fn pdf_has_pages_bookmarks_and_literal_text() {
    let book = sample_book();
    let bytes = render_pdf(&book).expect("pdf renders (hostile text compiles)");
    assert!(bytes.starts_with(b"%PDF"));
    assert!(bytes.windows(9).any(|w| w == b"/Outlines"), "bookmarks");

    let doc = lopdf::Document::load_mem(&bytes).expect("lopdf reads it");
    let pages = doc.get_pages().len();
    assert!(pages >= 4, "title, contents, two chapters: {pages} pages");

    let titles = outline_titles(&doc);
    for expected in
        ["Clearance in Laos", "Training local teams", "Victim assistance in Lebanon", "Rehabilitation services"]
    {
        assert!(titles.iter().any(|t| t == expected), "bookmark {expected} in {titles:?}");
    }
    let hostile = format!("Hostile {HOSTILE}");
    assert!(titles.contains(&hostile), "hostile title verbatim in bookmarks: {titles:?}");
    let laos = titles.iter().position(|t| t == "Clearance in Laos");
    let lebanon = titles.iter().position(|t| t == "Victim assistance in Lebanon");
    assert!(laos < lebanon, "chapters in order");
}

/// The seed call for contributions (examples/ccm-2012, CC0), two pages.
const SEED_CALL: &[u8] = include_bytes!("../../../examples/ccm-2012/call-for-contributions.pdf");

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("in.pdf");
    std::fs::write(&path, pdf).expect("write");
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is needed for this test: run scripts/setup");
    assert!(out.status.success(), "pdftotext failed on the book");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PDF contribution is placed as it was made: each of its pages is a page of the book, under the running
/// head, with the credit line on the first; its text is still text there, in its own line order, and its
/// paragraphs are not set a second time.
#[test]
fn a_pdf_contribution_is_placed_page_by_page_with_its_text_selectable() {
    let mut book = sample_book();
    let entry = &mut book.chapters[1].entries[0];
    entry.body.push("Call text as extracted, which the typeset book must not set again.".into());
    entry.pdfs.push(folio_bundle::PlacedPdf { bytes: SEED_CALL.to_vec(), pages: 2, body: 1..2 });
    entry.credit = "Rehabilitation services. B. Writer (Lebanon). CC BY 4.0".into();
    let bytes = render_pdf(&book).expect("the book with a placed PDF renders");
    let plain = render_pdf(&sample_book()).expect("the book without it");
    let count = |b: &[u8]| lopdf::Document::load_mem(b).expect("lopdf reads it").get_pages().len();
    assert!(count(&bytes) >= count(&plain) + 2, "two more pages at least: {} and {}", count(&bytes), count(&plain));

    let book_text = pdftotext(&bytes);
    assert!(book_text.contains("Rehabilitation services. B. Writer (Lebanon). CC BY 4.0"), "the credit line");
    assert!(!book_text.contains("must not set again"), "the PDF's paragraphs are not set as well");
    assert!(book_text.contains("Services reached 300 survivors."), "other paragraphs still are");
    // The original's lines, in its order, are in the book as text.
    let original = pdftotext(SEED_CALL);
    let lines: Vec<&str> = original.lines().map(str::trim).filter(|l| l.len() > 20).collect();
    assert!(lines.len() > 10, "{original}");
    let mut from = 0;
    for line in &lines {
        let at = book_text[from..].find(line).unwrap_or_else(|| panic!("{line:?} not in the book after byte {from}"));
        from += at + line.len();
    }
    assert!(outline_titles(&lopdf::Document::load_mem(&bytes).unwrap()).iter().any(|t| t == "Rehabilitation services"));
    assert_eq!(bytes, render_pdf(&book).expect("again"), "still reproducible");
}

/// A contribution's form (its headings, a bulleted and a numbered list, a table, a picture drawn in its text
/// and a footnote) is set as such in both books, and both stay reproducible.
#[test]
fn a_contributions_form_is_kept_in_both_books() {
    use folio_bundle::model::{Note, Text};
    use folio_bundle::Block;
    let mut book = sample_book();
    let entry = &mut book.chapters[1].entries[0];
    let noted = Text {
        text: "Services reached survivors in every province.".into(),
        notes: vec![Note { at: 36, text: "Ministry of Health, 2012.".into() }],
    };
    entry.body = vec![
        Block::Heading { level: 1, text: "How the services work".into() },
        Block::Paragraph(noted),
        Block::ListItem { level: 1, ordered: false, text: Text::plain("Physical rehabilitation") },
        Block::ListItem { level: 1, ordered: false, text: Text::plain("Psychological support") },
        Block::Paragraph(Text::plain("Steps:")),
        Block::ListItem { level: 1, ordered: true, text: Text::plain("Referral by the district") },
        Block::ListItem { level: 1, ordered: true, text: Text::plain("Assessment at the centre") },
        Block::Table(vec![
            vec![vec!["Centres".into()], vec!["12".into()]],
            vec![vec!["Survivors assisted".into()], vec!["2,400".into(), "in 2012".into()]],
        ]),
        Block::Picture(Figure {
            png: png(40, 30),
            width: 40,
            height: 30,
            caption: "A rehabilitation centre".into(),
            credit: "B. Writer (Lebanon)".into(),
        }),
    ];

    let docx = render_docx(&book).expect("renders");
    let document = unzip(&docx, "word/document.xml");
    assert!(document.contains(r#"<w:pStyle w:val="Heading3" />"#), "the contribution's heading under its title");
    assert_eq!(document.matches(r#"<w:pStyle w:val="ListParagraph" />"#).count(), 4, "four list paragraphs");
    assert_eq!(document.matches("<w:numPr>").count(), 4, "each with its numbering");
    assert_eq!(document.matches("<w:tbl>").count(), 1, "one table");
    assert_eq!(document.matches("<w:tc>").count(), 4, "of four cells");
    assert!(document.contains("Survivors assisted") && document.contains("2,400"));
    assert_eq!(document.matches("<w:footnoteReference").count(), 1);
    assert!(unzip(&docx, "word/footnotes.xml").contains("Ministry of Health, 2012."));
    let numbering = unzip(&docx, "word/numbering.xml");
    let bullets = numbering.find(r#"<w:abstractNum w:abstractNumId="10">"#).expect("the bullets' list");
    assert!(
        numbering[bullets..].starts_with(
            r#"<w:abstractNum w:abstractNumId="10"><w:lvl w:ilvl="0"><w:start w:val="1" /><w:numFmt w:val="bullet" />"#
        ),
        "{numbering}"
    );
    assert!(numbering.contains(r#"<w:num w:numId="10"><w:abstractNumId w:val="10" />"#), "{numbering}");
    assert!(numbering.contains(r#"<w:num w:numId="11"><w:abstractNumId w:val="11" />"#), "{numbering}");
    assert_eq!(document.matches(r#"<w:numId w:val="10" />"#).count(), 2, "the two bullets");
    assert_eq!(document.matches(r#"<w:numId w:val="11" />"#).count(), 2, "the numbered list's two items");
    // The picture in the text is figure 2 (before the entry's own), in a drawing with its caption.
    assert!(document.contains("Figure 2: A rehabilitation centre — B. Writer (Lebanon)"), "{document}");
    assert_eq!(docx, render_docx(&book).expect("again"), "still reproducible");

    let pdf = render_pdf(&book).expect("renders");
    let text = pdftotext(&pdf);
    for expected in [
        "How the services work",
        "Physical rehabilitation",
        "1. Referral by the district",
        "2. Assessment at the centre",
        "Survivors assisted",
        "Ministry of Health, 2012.",
        "Figure 2: A rehabilitation centre",
    ] {
        assert!(text.contains(expected), "{expected:?} not in the typeset book:\n{text}");
    }
    assert_eq!(pdf, render_pdf(&book).expect("again"), "still reproducible");
}

/// A picture of a PDF placed as pages is set in the DOCX master with its caption and credit, unnumbered: in the
/// typeset book it is on the placed page, not one of the book's figures, so the numbering stays the same in both.
#[test]
fn a_placed_pdfs_pictures_are_in_the_master_unnumbered() {
    use folio_bundle::Block;
    let mut book = sample_book();
    let entry = &mut book.chapters[1].entries[0];
    entry.body.push(Block::Picture(Figure {
        png: png(30, 20),
        width: 30,
        height: 20,
        caption: "Map of the cleared areas".into(),
        credit: "B. Writer (Lebanon)".into(),
    }));
    let at = entry.body.len() - 1;
    entry.pdfs.push(folio_bundle::PlacedPdf { bytes: SEED_CALL.to_vec(), pages: 2, body: at..at + 1 });
    let docx = render_docx(&book).expect("renders");
    let document = unzip(&docx, "word/document.xml");
    assert!(document.contains(">Map of the cleared areas — B. Writer (Lebanon)<"), "unnumbered caption: {document}");
    assert!(!document.contains("Figure 2: Map of the cleared areas"));
    assert_eq!(document.matches("<pic:pic").count(), 2, "the sample's figure and the PDF's picture");
    let text = pdftotext(&render_pdf(&book).expect("renders"));
    assert!(!text.contains("Map of the cleared areas"), "not a figure of the typeset book");
}

#[test]
fn pdf_is_reproducible() {
    let book = sample_book();
    let a = render_pdf(&book).expect("first");
    let b = render_pdf(&book).expect("second");
    assert!(a == b, "two renders of the same book differ");
    // The date is the book's, not the clock's.
    let doc = lopdf::Document::load_mem(&a).expect("lopdf");
    let info = doc.trailer.get(b"Info").and_then(|o| o.as_reference()).and_then(|r| doc.get_dictionary(r));
    if let Ok(info) = info {
        if let Ok(lopdf::Object::String(date, _)) = info.get(b"CreationDate") {
            assert!(date.starts_with(b"D:20261123"), "{}", String::from_utf8_lossy(date));
        }
    }
}

#[test]
fn pdf_of_an_empty_book_renders() {
    let book = Book {
        title: "Empty".into(),
        subtitle: None,
        date: NaiveDate::from_ymd_opt(2026, 1, 2).expect("date"),
        chapters: vec![],
    };
    let bytes = render_pdf(&book).expect("pdf");
    assert!(bytes.starts_with(b"%PDF"));
    render_docx(&book).expect("docx");
}

fn sample_report() -> ReportInput {
    let finding = |code, severity, message: &str| Finding {
        code,
        severity,
        contribution_id: None,
        file_name: Some(format!("file {HOSTILE}.pdf")),
        message: message.to_string(),
    };
    ReportInput {
        title: format!("Catalogue {HOSTILE}"),
        generated: NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"),
        build: 1,
        changes: Default::default(),
        pages: None,
        totals: Totals {
            documents_processed: 3,
            documents_failed: 1,
            contributions_included: 1,
            contributions_left_out: 1,
        },
        chapters: vec![ReportChapter {
            title: "Clearance <b>in</b> Laos".into(),
            contributions: vec![
                ReportContribution {
                    title: "Training".into(),
                    state: "Norway".into(),
                    author: "A. Author".into(),
                    kind: ContributionKind::Text,
                    included: true,
                    documents: vec![ReportDocument {
                        file_name: "training.pdf".into(),
                        record: None,
                        thumbnail: Some((ThumbnailFormat::Png, png(8, 8))),
                    }],
                    findings: vec![],
                },
                ReportContribution {
                    title: HOSTILE.into(),
                    state: "Mexico".into(),
                    author: String::new(),
                    kind: ContributionKind::Testimonial,
                    included: false,
                    documents: vec![],
                    findings: vec![finding(
                        FindingCode::TooLong,
                        Severity::Blocking,
                        "12 pages, the limit is 10 <script>",
                    )],
                },
            ],
        }],
        intake_findings: vec![finding(FindingCode::UnlistedFile, Severity::Warning, "no CSV row names this file")],
    }
}

#[test]
fn report_escapes_everything_and_lists_what_was_left_out() {
    let html = folio_bundle::report::render_html(&sample_report());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<tag>"), "raw markup from data");
    assert!(!html.contains("<script>"), "raw script from data");
    assert!(!html.contains("<b>in</b>"));
    assert!(html.contains("Clearance &lt;b&gt;in&lt;/b&gt; Laos"));
    assert!(html.contains(r"#set page(width: 1cm) *bold* $x$ [link] \ &lt;tag&gt; @ref &amp; &#39;q&#39; “quoted”"));
    assert!(html.contains("Left out of the book"));
    assert!(html.contains("Intake findings"));
    assert!(html.contains("unlisted_file"));
    assert!(html.contains("too_long"));
    assert!(html.contains("data:image/png;base64,iVBORw0KGgo"), "thumbnail inlined");
    assert!(!html.contains("http://") && !html.contains("https://"), "no external assets");
}

/// Writes the sample outputs to `$FOLIO_BUNDLE_DUMP` for a look with Word, LibreOffice or a PDF reader.
#[test]
fn dump_samples_when_asked() {
    let Ok(dir) = std::env::var("FOLIO_BUNDLE_DUMP") else { return };
    let book = sample_book();
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).expect("dump dir");
    std::fs::write(dir.join("sample.docx"), render_docx(&book).expect("docx")).expect("write");
    std::fs::write(dir.join("sample2.docx"), render_docx(&book).expect("docx")).expect("write");
    std::fs::write(dir.join("sample.pdf"), render_pdf(&book).expect("pdf")).expect("write");
    std::fs::write(dir.join("report.html"), folio_bundle::report::render_html(&sample_report())).expect("write");
}
