//! Fixtures built in memory, so the tests need no files on disk.
#![allow(dead_code)]

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream};
use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A zip with the given (name, content) parts, deflated.
pub fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in parts {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

pub const W_NS: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

pub fn para(text: &str) -> String {
    format!(
        r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#
    )
}

/// A DOCX with the given body XML (inside w:body) and optional extra parts.
pub fn docx_with_body(body: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W_NS}><w:body>{body}<w:sectPr/></w:body></w:document>"#
    );
    let mut parts: Vec<(&str, &[u8])> =
        vec![("[Content_Types].xml", b"<Types/>"), ("word/document.xml", doc.as_bytes())];
    parts.extend_from_slice(extra);
    zip_of(&parts)
}

/// A PDF of `pages` pages, page i showing `texts[i]` in Helvetica; Info Title/Author when given.
/// An 8-bit gray image XObject of `width` x `height` `pixels`, added to `doc`.
pub fn gray_image(doc: &mut Document, width: u32, height: u32, pixels: Vec<u8>) -> lopdf::ObjectId {
    doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => i64::from(width), "Height" => i64::from(height),
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        pixels,
    ))
}

pub fn pdf_of(texts: &[&str], title: Option<&str>, author: Option<&str>) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::new();
    for text in texts {
        let mut ops = vec![Operation::new("BT", vec![]), Operation::new("Tf", vec!["F1".into(), 12.into()])];
        for (i, line) in text.lines().enumerate() {
            ops.push(Operation::new("Td", vec![50.into(), (if i == 0 { 750 } else { -14 }).into()]));
            ops.push(Operation::new("Tj", vec![Object::string_literal(line)]));
        }
        ops.push(Operation::new("ET", vec![]));
        let content = Content { operations: ops };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Resources" => resources_id,
        });
        kids.push(Object::from(page_id));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    if title.is_some() || author.is_some() {
        let mut info = lopdf::Dictionary::new();
        if let Some(t) = title {
            info.set("Title", Object::string_literal(t));
        }
        if let Some(a) = author {
            // UTF-16BE with BOM, as many producers write it.
            let mut bytes = vec![0xFE, 0xFF];
            bytes.extend(a.encode_utf16().flat_map(|u| u.to_be_bytes()));
            info.set("Author", Object::String(bytes, lopdf::StringFormat::Hexadecimal));
        }
        let info_id = doc.add_object(info);
        doc.trailer.set("Info", info_id);
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

pub const ENGLISH: &str = "The committee met on Tuesday to review the annual report and discussed the budget for the coming year, which includes new funding for the library and the community garden.";
pub const SPANISH: &str = "El comité se reunió el martes para revisar el informe anual y discutió el presupuesto para el próximo año, que incluye nuevos fondos para la biblioteca y el jardín comunitario.";
pub const FRENCH: &str = "Le comité s'est réuni mardi pour examiner le rapport annuel et a discuté du budget de l'année prochaine, qui comprend de nouveaux fonds pour la bibliothèque et le jardin communautaire.";

/// Whether the `tesseract` command runs here.
pub fn tesseract_installed() -> bool {
    std::process::Command::new("tesseract")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The OCR status of a file that needs OCR: `applied` where Tesseract is installed, else `needed`.
pub fn ocr_ran() -> folio_core::OcrStatus {
    if tesseract_installed() {
        folio_core::OcrStatus::Applied
    } else {
        folio_core::OcrStatus::Needed
    }
}

/// Fail (never skip) a test that needs Tesseract when it is missing, saying how to get it.
pub fn require_tesseract() {
    assert!(
        tesseract_installed(),
        "tesseract is not installed: run scripts/setup (it installs tesseract-ocr and its language packs)"
    );
}

/// Fail (never skip) a test that needs libjpeg-turbo's `djpeg` (arithmetic-coded JPEGs) when it is missing.
pub fn require_djpeg() {
    let runs = std::process::Command::new("djpeg")
        .arg("-version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(runs, "djpeg is not installed: run scripts/setup (it installs libjpeg-turbo-progs)");
}

/// A DOCX as Word writes its package (content types and relationships), which LibreOffice opens: the
/// paragraphs `pages` split over that many pages by page breaks, and `docProps/app.xml` with `<Pages>`
/// when `app_pages` is given.
pub fn paged_docx(pages: &[&str], app_pages: Option<u32>) -> Vec<u8> {
    let page_break = r#"<w:p><w:r><w:br w:type="page"/></w:r></w:p>"#;
    let body = pages.iter().map(|p| para(p)).collect::<Vec<_>>().join(page_break);
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W_NS}><w:body>{body}<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>"#
    );
    let (app_type, app_rel) = match app_pages {
        Some(_) => (
            r#"<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>"#,
            r#"<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>"#,
        ),
        None => ("", ""),
    };
    let types = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>{app_type}</Types>"#
    );
    let rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>{app_rel}</Relationships>"#
    );
    let app = app_pages.map(|n| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Pages>{n}</Pages></Properties>"#
        )
    });
    let mut parts: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("word/document.xml", doc.as_bytes()),
    ];
    if let Some(app) = &app {
        parts.push(("docProps/app.xml", app.as_bytes()));
    }
    zip_of(&parts)
}

/// LibreOffice's `soffice`; fails (never skips) a test that needs it when it is missing, saying how to get it.
pub fn require_soffice() -> std::path::PathBuf {
    folio_extract::find_office().expect(
        "LibreOffice (soffice) is not installed: run scripts/test, which installs it, or \
         apt-get install --no-install-recommends libreoffice-writer-nogui",
    )
}

/// An executable shell script `name` in `dir` running `body`: a stand-in for a tool (a LibreOffice that fails,
/// says nothing or hangs).
pub fn script(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}
