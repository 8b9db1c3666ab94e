//! DOCX: text, metadata and page count from the OOXML package, with zip + quick-xml; the first page and,
//! when `docProps/app.xml` has no page count, the page count from LibreOffice's rendering when it is
//! available ([`crate::office::render`]).
//!
//! docx-rs is deliberately not used: its reader panics on damaged input. Every zip part is read through
//! [`read_part`], which enforces the size and compression-ratio limits (zip bombs), and every XML part is
//! walked with an explicit depth limit.

use super::wordml;
use crate::{language::count_words, sniff, Extracted, Limits, Options, Picture};
use folio_core::structure::{Block, PictureRef, Structure, MAX_PICTURES, PICTURE_PX};
use folio_core::{ExtractError, ExtractErrorKind, OcrStatus, PagesSource};
use quick_xml::events::{BytesRef, Event};
use quick_xml::Reader;
use std::io::{Cursor, Read};
use zip::ZipArchive;

/// About this many words make a printed page; used when app.xml has no page count.
const WORDS_PER_PAGE: u64 = 500;

type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

pub(crate) fn extract(bytes: &[u8], opts: &Options) -> Result<Extracted, ExtractError> {
    if !sniff::is_ole2(bytes) {
        return read(bytes, opts, PageCount::Producers);
    }
    // Sniffing only sends OLE2 here when it holds an EncryptionInfo stream: a password-protected OOXML
    // file. Its decrypted package is read as any DOCX (and is what LibreOffice renders).
    let package = crate::office::crypto::decrypt(bytes, opts.password.as_ref(), &opts.limits)?;
    if !package.starts_with(b"PK\x03\x04") {
        return Err(corrupt("the decrypted package of the protected Word document is not a zip: the file is damaged"));
    }
    if sniff::find(&package, b"word/document.xml").is_none() {
        return Err(ExtractError::new(
            ExtractErrorKind::UnsupportedFormat,
            "unsupported format: a password-protected Office file that is not a Word document (no \
             word/document.xml; a spreadsheet or a presentation)",
        ));
    }
    read(&package, opts, PageCount::Producers)
}

/// Read a DOCX package (zip).
/// Whose page count a DOCX's record takes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageCount {
    /// The producer's (`docProps/app.xml`), as Word saved it, then LibreOffice's rendering.
    Producers,
    /// LibreOffice's rendering only: a DOCX LibreOffice converted from `.doc`, `.odt` or `.rtf` carries in
    /// app.xml whatever statistics the original held (an RTF's `\nofpages99` for one page of text).
    Rendered,
}

/// A DOCX that LibreOffice converted from another format: read as any DOCX, its pages counted in the rendering.
pub(crate) fn extract_converted(bytes: &[u8], opts: &Options) -> Result<Extracted, ExtractError> {
    read(bytes, opts, PageCount::Rendered)
}

fn read(bytes: &[u8], opts: &Options, count: PageCount) -> Result<Extracted, ExtractError> {
    let limits = &opts.limits;
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| corrupt(format!("the DOCX zip is damaged: {e}")))?;

    let mut inflated = 0u64;
    let body = read_part(&mut zip, "word/document.xml", limits, &mut inflated)?
        .ok_or_else(|| corrupt("the DOCX has no word/document.xml"))?;
    let (paragraphs, structure, pictures) = body_and_structure(&mut zip, &body, limits, &mut inflated)?;
    let text = paragraphs.join("\n\n");
    let words = count_words(&text);

    let (title, author) = match read_part(&mut zip, "docProps/core.xml", limits, &mut inflated)? {
        Some(xml) => core_properties(&xml, limits)?,
        None => (None, None),
    };
    let app_pages = match read_part(&mut zip, "docProps/app.xml", limits, &mut inflated)? {
        Some(xml) => app_pages(&xml, limits)?,
        None => None,
    };
    let app_pages = app_pages.filter(|p| *p > 0 && count == PageCount::Producers);
    // LibreOffice runs for the thumbnail, or for a page count app.xml does not give.
    let preview_px = opts.thumbnails.largest();
    let rendered = match &opts.office {
        Some(office) if preview_px.is_some() || app_pages.is_none() => {
            crate::office::render::render(office, bytes, preview_px, opts)
        }
        _ => None,
    };
    let (rendered_pages, preview) = rendered.unzip();
    let preview = preview.flatten();
    // The producer's count first, then the rendering's, then an estimate: in that order of trust.
    let (pages, pages_source) = match (app_pages, rendered_pages) {
        (Some(p), _) => (p, PagesSource::Metadata),
        (None, Some(p)) => (p, PagesSource::Rendered),
        (None, None) => {
            let estimate = words.div_ceil(WORDS_PER_PAGE).max(1);
            (u32::try_from(estimate).unwrap_or(u32::MAX), PagesSource::Estimate)
        }
    };
    Ok(Extracted {
        pages: Some(pages),
        pages_source: Some(pages_source),
        frames: None,
        text,
        detect_language: true,
        title,
        author,
        info: Default::default(),
        ocr: OcrStatus::NotNeeded,
        ocr_found: Default::default(),
        dimensions: preview.as_ref().map(|p| (p.width(), p.height())),
        preview,
        degraded: None,
        repaired: false,
        converted_from: None,
        structure: Some(structure),
        pictures,
    })
}

/// The body's paragraphs (then its notes', for the text) and its structure: headings, lists, tables, the
/// notes anchored in paragraphs, and its pictures (at most [`MAX_PICTURES`], each decoded within the limits
/// and downscaled to [`PICTURE_PX`]; one that cannot be read is left out, never the document).
fn body_and_structure(
    zip: &mut Archive<'_>,
    body: &[u8],
    limits: &Limits,
    inflated: &mut u64,
) -> Result<(Vec<String>, Structure, Vec<Picture>), ExtractError> {
    let styles = match read_part(zip, "word/styles.xml", limits, inflated)? {
        Some(xml) => wordml::Styles::read(&xml, limits)?,
        None => wordml::Styles::default(),
    };
    let numbering = match read_part(zip, "word/numbering.xml", limits, inflated)? {
        Some(xml) => wordml::Numbering::read(&xml, limits)?,
        None => wordml::Numbering::default(),
    };
    let context = wordml::Context { styles: &styles, numbering: &numbering };
    let mut walked = wordml::walk(body, limits, &context)?;
    let mut paragraphs = std::mem::take(&mut walked.paragraphs);

    // The notes, after the body in the text. Headers and footers are left out: they are page furniture
    // (running heads, page numbers, a letterhead repeated on every page), which a book set from this text
    // would print in its body.
    let mut notes = std::collections::HashMap::new();
    for name in ["word/footnotes.xml", "word/endnotes.xml"] {
        if let Some(xml) = read_part(zip, name, limits, inflated)? {
            let part = wordml::walk(&xml, limits, &context)?;
            paragraphs.extend(part.paragraphs);
            notes.extend(part.notes);
        }
    }
    for block in &mut walked.blocks {
        if let Block::Paragraph(text) | Block::ListItem { text, .. } = block {
            text.notes.retain_mut(|note| match notes.get(&note.text) {
                Some(found) => {
                    note.text = found.clone();
                    true
                }
                None => false,
            });
        }
    }

    let relationships = match read_part(zip, "word/_rels/document.xml.rels", limits, inflated)? {
        Some(xml) => wordml::relationships(&xml, limits)?,
        None => Default::default(),
    };
    let mut pictures = Vec::new();
    let mut references = Vec::new();
    let mut kept = Vec::with_capacity(walked.pictures.len());
    for (id, _) in &walked.pictures {
        let read = (pictures.len() < MAX_PICTURES)
            .then(|| relationships.get(id).and_then(|target| part_name(target)))
            .flatten()
            .and_then(|name| read_part(zip, &name, limits, inflated).ok().flatten().map(|bytes| (name, bytes)));
        let decoded = read.and_then(|(name, bytes)| match crate::display_image(&bytes, PICTURE_PX, limits) {
            Ok(decoded) => Some(decoded),
            Err(e) => {
                tracing::debug!(part = %name, error = %e, "a picture of the DOCX is left out");
                None
            }
        });
        kept.push(decoded.is_some());
        let (png, width, height) = decoded.unwrap_or_default();
        references.push(PictureRef { location: Picture::file_name(pictures.len()), width, height });
        if !png.is_empty() {
            pictures.push(Picture { png, width, height });
        }
    }
    let mut structure = Structure { blocks: walked.blocks, pictures: references };
    structure.keep_pictures(&kept);
    Ok((paragraphs, structure, pictures))
}

/// The zip part a relationship of `word/document.xml` points to (`media/image1.png` is `word/media/image1.png`;
/// `/word/media/x.png` is absolute); `None` for a target that climbs out of the package.
fn part_name(target: &str) -> Option<String> {
    let mut parts: Vec<&str> = if target.starts_with('/') { Vec::new() } else { vec!["word"] };
    for piece in target.split('/') {
        match piece {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

fn corrupt(message: impl Into<String>) -> ExtractError {
    ExtractError::new(ExtractErrorKind::Corrupt, message)
}

fn too_large(message: impl Into<String>) -> ExtractError {
    ExtractError::new(ExtractErrorKind::TooLarge, message)
}

/// Read one zip part, or `None` when it is absent. The declared size is checked before reading and the
/// bytes actually inflated are capped, since the declared size of a hostile zip is not to be trusted.
/// `inflated` counts the bytes inflated from the package so far, against `max_zip_total_bytes`.
pub(crate) fn read_part(
    zip: &mut Archive<'_>,
    name: &str,
    limits: &Limits,
    inflated: &mut u64,
) -> Result<Option<Vec<u8>>, ExtractError> {
    let file = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(corrupt(format!("cannot open {name} in the DOCX: {e}"))),
    };
    let compressed = file.compressed_size().max(1);
    let ratio_cap = compressed.saturating_mul(limits.max_zip_ratio);
    let left = limits.max_zip_total_bytes.saturating_sub(*inflated);
    let entry_limit = |size: u64| {
        too_large(format!(
            "{name} inflates to more than {size} bytes, past the limit of {} bytes (max_zip_entry_bytes)",
            limits.max_zip_entry_bytes
        ))
    };
    let ratio_limit = || {
        too_large(format!(
            "{name} inflates more than {}:1 from {compressed} compressed bytes (max_zip_ratio); likely a zip bomb",
            limits.max_zip_ratio
        ))
    };
    let total_limit = || {
        too_large(format!(
            "the parts of the DOCX inflate to more than {} bytes together (max_zip_total_bytes), at {name}",
            limits.max_zip_total_bytes
        ))
    };
    if file.size() > limits.max_zip_entry_bytes {
        return Err(entry_limit(file.size()));
    }
    if file.size() > ratio_cap {
        return Err(ratio_limit());
    }
    if file.size() > left {
        return Err(total_limit());
    }
    let cap = limits.max_zip_entry_bytes.min(ratio_cap).min(left);
    let mut out = Vec::with_capacity(usize::try_from(file.size().min(cap)).unwrap_or(0));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| corrupt(format!("cannot inflate {name} in the DOCX: {e}")))?;
    let got = out.len() as u64;
    if got > limits.max_zip_entry_bytes {
        return Err(entry_limit(got));
    }
    if got > ratio_cap {
        return Err(ratio_limit());
    }
    if got > left {
        return Err(total_limit());
    }
    *inflated += got;
    Ok(Some(out))
}

/// Tracks element depth and refuses documents nested deeper than the limit (`too_large`).
pub(crate) struct Depth {
    pub now: u32,
    pub max: u32,
}

impl Depth {
    pub(crate) fn enter(&mut self, part: &str) -> Result<(), ExtractError> {
        self.now += 1;
        if self.now > self.max {
            return Err(too_large(format!("{part} nests XML deeper than {} levels (max_xml_depth)", self.max)));
        }
        Ok(())
    }
    pub(crate) fn leave(&mut self) {
        self.now = self.now.saturating_sub(1);
    }
}

pub(crate) fn xml_error(e: impl std::fmt::Display) -> ExtractError {
    corrupt(format!("malformed XML in the DOCX: {e}"))
}

/// Resolve `&amp;`, `&#65;` and friends.
pub(crate) fn resolve_ref(r: &BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Some(c.to_string());
    }
    let name = r.decode().ok()?;
    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_string)
}

/// Read the text content of the first elements with the given local names, e.g. `title` and `creator`
/// in core.xml, `Pages` in app.xml.
fn simple_fields<const N: usize>(
    xml: &[u8],
    limits: &Limits,
    names: [&[u8]; N],
) -> Result<[Option<String>; N], ExtractError> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut depth = Depth { now: 0, max: limits.max_xml_depth };
    let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
    let mut inside: Option<usize> = None;
    loop {
        match reader.read_event_into(&mut buf).map_err(xml_error)? {
            Event::Start(e) => {
                depth.enter("a DOCX properties part")?;
                let local = e.local_name();
                inside = names.iter().position(|n| *n == local.as_ref()).filter(|&i| found[i].is_none());
                if let Some(i) = inside {
                    found[i] = Some(String::new());
                }
            }
            Event::End(_) => {
                depth.leave();
                inside = None;
            }
            Event::Text(t) => {
                if let Some(slot) = inside.and_then(|i| found[i].as_mut()) {
                    slot.push_str(&t.decode().map_err(xml_error)?);
                }
            }
            Event::GeneralRef(r) => {
                if let (Some(slot), Some(s)) = (inside.and_then(|i| found[i].as_mut()), resolve_ref(&r)) {
                    slot.push_str(&s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(found.map(|f| f.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())))
}

fn core_properties(xml: &[u8], limits: &Limits) -> Result<(Option<String>, Option<String>), ExtractError> {
    let [title, creator] = simple_fields(xml, limits, [b"title", b"creator"])?;
    Ok((title, creator))
}

fn app_pages(xml: &[u8], limits: &Limits) -> Result<Option<u32>, ExtractError> {
    let [pages] = simple_fields(xml, limits, [b"Pages"])?;
    Ok(pages.and_then(|p| p.parse().ok()))
}
