//! PDF: page count, Info metadata, the text layer, and the first page rendered for thumbnails. Also the
//! page count and first page of the PDF LibreOffice makes of a DOCX ([`rendering`]).
//!
//! With PDFium installed (see [`crate::pdf::pdfium`]) the text, metadata, page count and renderings come from
//! it: it reads every producer's fonts (CID, no ToUnicode, CJK, right-to-left) in reading order, and tells
//! which pages draw images (OCR candidates). lopdf loads the whole file beside it only where the file's end
//! is not an intact cross-reference ([`intact_end`]: a truncated or damaged file), for the structural checks
//! (whether the table had to be rebuilt, a page count the tree declares but the file lacks): that load was
//! a third of a small PDF's time. Without PDFium, or when it cannot open a file that lopdf (after xref
//! repair) can, everything comes from lopdf and our text walker ([`crate::pdf::text`]).
//!
//! lopdf parses recursively and can be driven deep by hostile files; the lead runs extraction in a child
//! process for that reason. This module adds no recursion of its own.

pub(crate) mod accents;
pub(crate) mod form;
pub(crate) mod info;
pub(crate) mod layer;
pub(crate) mod ocr;
pub(crate) mod paragraphs;
pub(crate) mod pdfium;
pub(crate) mod repair;
pub(crate) mod text;

use crate::{language::count_words, tools::pdftoppm, Extracted, Options, Password};
use folio_core::structure::{MAX_PICTURES, PICTURE_PX};
use folio_core::{ExtractError, ExtractErrorKind, OcrStatus, PagesSource};
use image::DynamicImage;
use info::{clean, iso_date, DocInfo};
use lopdf::{Document, Object};
use pdfium::OpenError;
use pdfium_render::prelude::{PdfDocument, PdfDocumentMetadataTagType as Tag, Pdfium};
use std::collections::BTreeMap;

/// Fewer words than this per page on average and the document needs OCR (scans, image-only pages).
const MIN_WORDS_PER_PAGE: u64 = 5;

pub(crate) fn extract(bytes: &[u8], opts: &Options) -> Result<Extracted, ExtractError> {
    if opts.pdfium {
        if let Some(Some(result)) = pdfium::with(|p| extract_with_pdfium(p, bytes, opts)) {
            return result;
        }
    }
    extract_with_lopdf(bytes, opts)
}

/// The PDFium path. `None` when PDFium cannot open the file (for a reason other than a password): the
/// caller then tries lopdf, whose xref repair reads some files PDFium gives up on.
fn extract_with_pdfium(pdfium: &Pdfium, bytes: &[u8], opts: &Options) -> Option<Result<Extracted, ExtractError>> {
    let password = opts.password.as_ref().map(Password::as_str);
    let doc = match pdfium::open(pdfium, bytes, password) {
        Ok(doc) => doc,
        Err(OpenError::Password) => {
            let error =
                ExtractError::new(ExtractErrorKind::Encrypted, "the PDF is encrypted and needs a password to open");
            let structure = load(bytes);
            return Some(Ok(locked(structure.as_ref().ok().map(|(d, _)| d), bytes, opts, error)));
        }
        Err(OpenError::Other(why)) => {
            tracing::warn!("PDFium could not open the PDF ({why}); reading it with lopdf");
            return None;
        }
    };
    // lopdf's view only of a file whose end is not intact (where it may have to rebuild the table), or that
    // declares a page count PDFium would pass over.
    let structure = if intact_end(bytes) && !declares_odd_count(bytes) {
        Structure::Intact
    } else {
        match load(bytes) {
            Ok(loaded) => Structure::Loaded(Box::new(loaded)),
            Err(_) => Structure::Unreadable,
        }
    };
    // pdfium-render asks PDFium for the Info key "ModificationDate", not "ModDate", so it never finds one.
    let modified = pdfium::meta_text(pdfium, bytes, password, "ModDate").as_deref().and_then(iso_date);
    Some(extract_opened(&doc, structure, modified, bytes, opts))
}

/// lopdf's view of a file PDFium opened.
enum Structure {
    /// The file ends with an intact cross-reference ([`intact_end`]): not loaded.
    Intact,
    /// Loaded, and whether its cross-reference table had to be rebuilt.
    Loaded(Box<(Document, bool)>),
    /// lopdf cannot read it even after rebuilding the table.
    Unreadable,
}

/// Whether the file ends as an undamaged PDF does: in its last 1,024 bytes `startxref`, an offset and
/// `%%EOF`, and at that offset a cross-reference table (`xref`) or stream (`N G obj`). A truncated file lacks
/// them; one whose table moved or was cut points at something else.
pub(crate) fn intact_end(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    let Some(at) = tail.windows(9).rposition(|w| w == b"startxref") else { return false };
    let rest = &tail[at + 9..];
    let digits_at = rest.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(rest.len());
    let digits = rest[digits_at..].iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(offset) =
        std::str::from_utf8(&rest[digits_at..digits_at + digits]).ok().and_then(|d| d.parse::<usize>().ok())
    else {
        return false;
    };
    let after = &rest[digits_at + digits..];
    let eof_at = after.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(after.len());
    if digits == 0 || !after[eof_at..].starts_with(b"%%EOF") || offset >= bytes.len() {
        return false;
    }
    let target = &bytes[offset..bytes.len().min(offset + 64)];
    let target = &target[target.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(target.len())..];
    if target.starts_with(b"xref") {
        return true;
    }
    // `N G obj`: an object number, a generation, the keyword.
    let mut words = target.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty());
    let number = |w: Option<&[u8]>| w.is_some_and(|w| w.iter().all(u8::is_ascii_digit));
    number(words.next()) && number(words.next()) && words.next().is_some_and(|w| w.starts_with(b"obj"))
}

/// Whether a `/Count` written in the file's bytes (outside compressed object streams) is one
/// [`check_page_count`] refuses: below 0 or past `i32::MAX`. PDFium counts the page tree's leaves instead of
/// such a count, so only lopdf's view tells. A negative `/Count` in an outline (bookmarks: the outline's root
/// and its items, whose count is negative when the item is shown closed, as LaTeX's hyperref writes them) is
/// not a page tree's and does not count: it made every PDF with closed bookmarks pay lopdf's load of the
/// whole file, a fifth of a 41-page book's reading.
fn declares_odd_count(bytes: &[u8]) -> bool {
    memchr::memmem::find_iter(bytes, b"/Count").any(|at| {
        let rest = &bytes[at + 6..bytes.len().min(at + 6 + 32)];
        let start = rest.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(rest.len());
        let rest = &rest[start..];
        let negative = rest.first() == Some(&b'-');
        let digits: Vec<u8> = rest[usize::from(negative)..].iter().copied().take_while(u8::is_ascii_digit).collect();
        let value = std::str::from_utf8(&digits).ok().and_then(|d| d.parse::<u64>().ok());
        let odd = !digits.is_empty() && (negative || value.is_none_or(|v| v > i32::MAX as u64));
        odd && !(negative && in_an_outline(bytes, at))
    })
}

/// Whether the object holding the bytes at `at` is an outline's (its root or an item): it has `/First` or
/// `/Title` and no `/Kids`, which every page tree node has. Its bounds are the nearest `obj` before and
/// `endobj` after, each within [`OBJECT_REACH`]; where either is not found, it is not taken for one.
fn in_an_outline(bytes: &[u8], at: usize) -> bool {
    const OBJECT_REACH: usize = 64 * 1024;
    let before = &bytes[at.saturating_sub(OBJECT_REACH)..at];
    let after = &bytes[at..bytes.len().min(at + OBJECT_REACH)];
    let (Some(start), Some(end)) = (memchr::memmem::rfind(before, b"obj"), memchr::memmem::find(after, b"endobj"))
    else {
        return false;
    };
    let object = &bytes[at - before.len() + start..at + end];
    let has = |key: &[u8]| memchr::memmem::find(object, key).is_some();
    !has(b"/Kids") && (has(b"/First") || has(b"/Title"))
}

/// Text, metadata and thumbnail of a document PDFium opened; `structure` is lopdf's view of the same file
/// where it was loaded, `modified` the Info dictionary's `ModDate` as PDFium reads it.
fn extract_opened(
    doc: &PdfDocument,
    structure: Structure,
    modified: Option<String>,
    bytes: &[u8],
    opts: &Options,
) -> Result<Extracted, ExtractError> {
    let found = usize::from(doc.pages().len());
    // Damaged: lopdf read it only with a rebuilt cross-reference table (PDFium repairs such files silently).
    let repaired = matches!(&structure, Structure::Loaded(loaded) if loaded.1);
    let truncated = match &structure {
        Structure::Loaded(loaded) => check_page_count(&loaded.0, loaded.0.get_pages().len(), loaded.1)?,
        Structure::Intact => None,
        Structure::Unreadable => {
            tracing::warn!("lopdf could not load the PDF; structural checks skipped, PDFium's reading used");
            None
        }
    };
    if found == 0 {
        return Err(ExtractError::new(ExtractErrorKind::Corrupt, "the PDF page tree has no pages"));
    }
    let page_count = u32::try_from(found).unwrap_or(u32::MAX);
    check_page_limit(page_count, opts)?;
    let with_form = page_count <= MAX_FORM_PAGES;
    let pdfium::PageTexts { texts, forms, images, pictures: picture_boxes } = pdfium::page_texts(doc, with_form);
    // The layer's text, to tell the pages OCR changed: kept only where a form is made.
    let layer_texts = if with_form { texts.clone() } else { Vec::new() };
    let page_texts: Vec<(u32, String)> = (1..).zip(texts).collect();
    let lopdf_doc = match &structure {
        Structure::Loaded(loaded) => Some(&loaded.0),
        _ => None,
    };
    let draws_image = |number: u32| images.get(number as usize - 1).copied().unwrap_or(false);
    let (page_texts, ocr, ocr_found) =
        finish_text(page_texts, page_count, &draws_image, OcrWith::Pdfium(doc), bytes, opts);
    // The form from each page's layout, where its text is the layer's (a page OCR read is set as its text),
    // with the pictures it draws.
    let mut pictures = Vec::new();
    let form = with_form.then(|| {
        let pages: Vec<form::PageForm> = page_texts
            .iter()
            .zip(forms)
            .zip(&layer_texts)
            .enumerate()
            .map(|(index, (((_, text), laid), layer))| match laid {
                Some(mut laid) if text == layer => {
                    if let form::PageForm::Laid { pictures: placed, .. } = &mut laid {
                        let boxes = picture_boxes.get(index).map_or(&[][..], Vec::as_slice);
                        *placed = page_pictures(doc, index as u32, boxes, &mut pictures);
                    }
                    laid
                }
                _ => form::PageForm::Text(text.clone()),
            })
            .collect();
        let mut structure = form::structure(&pages);
        structure.pictures = pictures
            .iter()
            .enumerate()
            .map(|(i, p): (usize, &crate::Picture)| folio_core::structure::PictureRef {
                location: crate::Picture::file_name(i),
                width: p.width,
                height: p.height,
            })
            .collect();
        structure
    });
    let read = (joined(page_texts), ocr, ocr_found);
    let (title, author, mut info) = pdfium_metadata(doc);
    info.modified = info.modified.or(modified).or_else(|| lopdf_doc.and_then(|lo| info_metadata(lo).2.modified));
    let preview = opts.thumbnails.largest().and_then(|px| first_page(Some(doc), bytes, px, opts));
    let mut found = counted(page_count, read, (title, author, info), preview, truncated, repaired);
    found.structure = form;
    found.pictures = pictures;
    Ok(found)
}

/// The pictures page `index` (0-based) draws, at `boxes` as printed (from [`pdfium::page_texts`]), appended to
/// `pictures` (at most [`MAX_PICTURES`] in the document); where each stands on the page. One that cannot be
/// rendered is left out.
fn page_pictures(
    doc: &PdfDocument,
    index: u32,
    boxes: &[[f32; 4]],
    pictures: &mut Vec<crate::Picture>,
) -> Vec<form::Placed> {
    let mut placed = Vec::new();
    for &region in boxes {
        if pictures.len() == MAX_PICTURES {
            break;
        }
        let made = pdfium::render_region(doc, index, region, PICTURE_PX)
            .and_then(|image| crate::raster::thumbnail::png_fit(&image, PICTURE_PX));
        match made {
            Ok((png, width, height)) => {
                placed.push(form::Placed { picture: pictures.len(), bottom: region[1], top: region[3] });
                pictures.push(crate::Picture { png, width, height });
            }
            Err(e) => tracing::debug!(page = index + 1, error = %e, "a picture of the PDF is left out"),
        }
    }
    placed
}

/// A document of more pages than this is not given a form (its text is set as paragraphs): reading each
/// character's type costs a little on every page, and contributions are short.
const MAX_FORM_PAGES: u32 = 60;

/// The pages' texts as the document's: those with text, a paragraph break between them.
fn joined(page_texts: Vec<(u32, String)>) -> String {
    page_texts.into_iter().map(|(_, t)| t).filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n\n")
}

/// Title, author and the rest of the Info metadata as PDFium reads it (decrypted, decoded).
fn pdfium_metadata(doc: &PdfDocument) -> (Option<String>, Option<String>, DocInfo) {
    let meta = doc.metadata();
    let get = |tag: Tag| meta.get(tag).and_then(|t| clean(t.value()));
    let date = |tag: Tag| meta.get(tag).and_then(|t| iso_date(t.value()));
    let info = DocInfo {
        subject: get(Tag::Subject),
        keywords: get(Tag::Keywords),
        created: date(Tag::CreationDate),
        modified: date(Tag::ModificationDate),
        producer: get(Tag::Producer),
    };
    (get(Tag::Title), get(Tag::Author), info)
}

/// Page 1 with its longest side `px` pixels (as displayed: its /Rotate applied), rendered by PDFium when
/// `doc` is given and it manages, else by pdftoppm; `None` when neither does (each failure logged).
fn first_page(doc: Option<&PdfDocument>, bytes: &[u8], px: u32, opts: &Options) -> Option<DynamicImage> {
    doc.and_then(|doc| pdfium_first_page(doc, px)).or_else(|| pdftoppm_first_page(bytes, px, opts))
}

/// Page 1 rendered by PDFium, longest side `px`; `None` (with a warning) on failure.
fn pdfium_first_page(doc: &PdfDocument, px: u32) -> Option<DynamicImage> {
    let rendered = pdfium::page_size(doc, 0)
        .ok_or_else(|| ExtractError::new(ExtractErrorKind::Corrupt, "page 1 has no size"))
        .and_then(|size| {
            let (w, h) = pdfium::fit(size, px);
            pdfium::render(doc, 0, w, h)
        });
    match rendered {
        Ok(img) => Some(img),
        Err(e) => {
            tracing::warn!("no PDFium rendering of page 1, trying pdftoppm: {e}");
            None
        }
    }
}

/// Page 1 rendered by pdftoppm, longest side `px`.
fn pdftoppm_first_page(bytes: &[u8], px: u32, opts: &Options) -> Option<DynamicImage> {
    let png = pdftoppm::pdf_first_page_png(bytes, px, opts.limits.render_timeout)?;
    match image::load_from_memory_with_format(&png, image::ImageFormat::Png) {
        Ok(img) => Some(img),
        Err(e) => {
            tracing::warn!("pdftoppm's page image does not decode: {e}");
            None
        }
    }
}

/// The page count of a PDF Folio had made (LibreOffice's rendering of a DOCX) and, when `preview_px` is
/// given, its first page with that longest side. PDFium when it is available and allowed, else lopdf and
/// pdftoppm. An error says why the PDF could not be read; a missing preview is only logged.
pub(crate) fn rendering(
    pdf: &[u8],
    preview_px: Option<u32>,
    opts: &Options,
) -> Result<(u32, Option<DynamicImage>), String> {
    let with_pdfium = if opts.pdfium {
        pdfium::with(|p| match pdfium::open(p, pdf, None) {
            Ok(doc) => {
                let pages = u32::from(doc.pages().len());
                Ok((pages, preview_px.and_then(|px| pdfium_first_page(&doc, px))))
            }
            Err(OpenError::Password) => Err("the rendered PDF asks for a password".to_string()),
            Err(OpenError::Other(why)) => Err(format!("PDFium cannot open the rendered PDF: {why}")),
        })
    } else {
        None
    };
    let (pages, preview) = match with_pdfium {
        Some(result) => result?,
        None => {
            let doc = Document::load_mem(pdf).map_err(|e| format!("lopdf cannot read the rendered PDF: {e}"))?;
            (u32::try_from(doc.get_pages().len()).unwrap_or(u32::MAX), None)
        }
    };
    if pages == 0 {
        return Err("the rendered PDF has no pages".into());
    }
    let preview = match (preview, preview_px) {
        (Some(img), _) => Some(img),
        (None, Some(px)) => pdftoppm_first_page(pdf, px, opts),
        (None, None) => None,
    };
    Ok((pages, preview))
}

fn check_page_limit(page_count: u32, opts: &Options) -> Result<(), ExtractError> {
    if page_count > opts.limits.max_pages {
        return Err(ExtractError::new(
            ExtractErrorKind::TooLarge,
            format!("{page_count} pages is more than the limit of {} (max_pages)", opts.limits.max_pages),
        ));
    }
    Ok(())
}

/// OCR where the text layer falls short, then the pages joined by blank lines. Only pages that draw an image
/// are looked at (lopdf tells which, so without `doc` nothing is OCRed). With PDFium (`pdfium_doc`), each
/// such page is planned ([`plan`]): a page without a usable layer is read; a scan under an invisible OCR
/// layer has a sample checked against the layer and is read again when the layer lies (`ocr: redone`); a
/// page with a good visible layer has only its images read, for text the layer lacks, added without
/// doubling it. Without PDFium, pages with too few words are read and pdftoppm renders them.
/// Which reader OCRs the pages: PDFium's, or lopdf's (with pdftoppm rendering).
enum OcrWith<'a, 'p> {
    Pdfium(&'a PdfDocument<'p>),
    Lopdf(&'a Document, &'a BTreeMap<u32, lopdf::ObjectId>),
}

fn finish_text(
    mut page_texts: Vec<(u32, String)>,
    page_count: u32,
    draws_image: &dyn Fn(u32) -> bool,
    with: OcrWith<'_, '_>,
    bytes: &[u8],
    opts: &Options,
) -> (Vec<(u32, String)>, OcrStatus, crate::OcrFound) {
    let layer_words: u64 = page_texts.iter().map(|(_, t)| count_words(t)).sum();
    let mut ocr =
        if layer_words < MIN_WORDS_PER_PAGE * u64::from(page_count) { OcrStatus::Needed } else { OcrStatus::NotNeeded };
    let with_images: Vec<(u32, String)> = page_texts.iter().filter(|(n, _)| draws_image(*n)).cloned().collect();
    let mut ocr_found = Default::default();
    let can_ocr = !with_images.is_empty() && opts.ocr && crate::ocr::available();
    match with {
        OcrWith::Pdfium(pdfium_doc) if can_ocr => {
            let (status, results) = ocr_planned(pdfium_doc, &mut page_texts, &with_images, opts);
            ocr = status.unwrap_or(ocr);
            ocr_found = crate::OcrFound::from_pages(&results);
        }
        OcrWith::Lopdf(doc, pages) if can_ocr => {
            let wanted = pages_to_ocr(&with_images, opts.limits.max_ocr_pages);
            if !wanted.is_empty() {
                crate::ocr::prepare(true);
            }
            let results = crate::pdf::ocr::ocr_pages(bytes, doc, pages, &wanted, &opts.limits, None);
            if !results.is_empty() {
                ocr = OcrStatus::Applied;
            }
            for (number, page) in &results {
                if let Some(slot) = page_texts.iter_mut().find(|(n, _)| n == number).filter(|_| !page.text.is_empty()) {
                    slot.1 = page.text.clone();
                }
            }
            ocr_found = crate::OcrFound::from_pages(&results);
        }
        _ => {}
    }
    (page_texts, ocr, ocr_found)
}

/// What OCR does with one page that draws an image (PDFium's view of it, see [`plan`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    /// No usable text layer: read the page. `merge` when the layer has visible words (a heading over a
    /// scanned figure): they are kept and OCR adds the lines they lack; else OCR's text replaces the layer.
    Read { merge: bool },
    /// A scan under an invisible OCR layer: check a sample of the page against the layer.
    Check,
    /// A good visible layer: read only these images (fractions of the page), for text the layer lacks.
    Images(Vec<[f64; 4]>),
    /// Nothing to do.
    Keep,
}

/// A layer this share invisible or more is an OCR layer over a scan...
const INVISIBLE_LAYER: f64 = 0.8;
/// ... when an image covers at least this share of the page.
const SCANNED_PAGE: f64 = 0.5;
/// The band of the page (fractions of its height, as displayed) read to check an invisible layer: a third
/// of the page, from the top of its middle, where a page's body text is and its running heads are not.
const SAMPLE_BAND: [f64; 4] = [0.0, 0.3, 1.0, 0.63];

/// The plan for a page whose layer holds `words` words and which looks like `look`.
pub(crate) fn plan(words: u64, look: Option<&pdfium::PageLook>) -> Plan {
    let Some(look) = look else {
        return if words < MIN_WORDS_PER_PAGE { Plan::Read { merge: false } } else { Plan::Keep };
    };
    if words < MIN_WORDS_PER_PAGE {
        return Plan::Read { merge: words > 0 && look.invisible < INVISIBLE_LAYER };
    }
    if look.invisible >= INVISIBLE_LAYER && look.largest_image >= SCANNED_PAGE {
        return Plan::Check;
    }
    if look.bare_images.is_empty() {
        Plan::Keep
    } else {
        Plan::Images(look.bare_images.clone())
    }
}

/// [`finish_text`]'s PDFium path: each page that draws an image planned and carried out, at most
/// `max_ocr_pages` pages OCRed (checks included). Returns the status to set, if OCR ran, and the results
/// whose text went into the pages.
fn ocr_planned(
    doc: &PdfDocument,
    page_texts: &mut [(u32, String)],
    with_images: &[(u32, String)],
    opts: &Options,
) -> (Option<OcrStatus>, Vec<(u32, crate::ocr::PageOcr)>) {
    use crate::pdf::ocr::{ocr_of, render_for_ocr, WHOLE_PAGE};
    let limits = &opts.limits;
    let mut budget = usize::try_from(limits.max_ocr_pages).unwrap_or(usize::MAX);
    let (mut applied, mut redone) = (false, false);
    let mut used = Vec::new();
    for (number, layer) in with_images {
        let plan = plan(count_words(layer), pdfium::look(doc, number.saturating_sub(1)).as_ref());
        if plan == Plan::Keep {
            continue;
        }
        if budget == 0 {
            tracing::warn!(
                "page {number}: not OCRed: more pages want OCR than max_ocr_pages ({})",
                limits.max_ocr_pages
            );
            continue;
        }
        budget -= 1;
        // The OCR models load while the page is rendered and looked at.
        crate::ocr::prepare(true);
        let Some(slot) = page_texts.iter_mut().find(|(n, _)| n == number) else { continue };
        // The page is rendered once, when first read, for all the regions its plan reads.
        let mut rendered: Option<Result<image::GrayImage, String>> = None;
        let mut read = |region| {
            let page = rendered.get_or_insert_with(|| render_for_ocr(doc, *number, limits));
            match page.as_ref().map_err(Clone::clone).and_then(|page| ocr_of(page, region, limits)) {
                Ok(found) => Some(found.unwrap_or_else(crate::ocr::PageOcr::nothing)),
                Err(why) => {
                    tracing::warn!("page {number}: not OCRed: {why}");
                    None
                }
            }
        };
        match plan {
            Plan::Read { merge } => {
                let Some(found) = read(WHOLE_PAGE) else { continue };
                applied = true;
                if !found.text.is_empty() {
                    slot.1 = if merge { layer::with_lines_it_lacks(&slot.1, &found.text) } else { found.text.clone() };
                }
                used.push((*number, found));
            }
            Plan::Check => {
                let Some(sample) = read(SAMPLE_BAND) else { continue };
                let (verdict, whole) = match layer::judge(&slot.1, &sample.text) {
                    // Too few words in the band (a letter's text ends higher up): the whole page is the sample.
                    layer::Verdict::Undecided => {
                        let Some(whole) = read(WHOLE_PAGE) else { continue };
                        (layer::judge(&slot.1, &whole.text), Some(whole))
                    }
                    verdict => (verdict, None),
                };
                tracing::debug!("page {number}: text layer against OCR of a sample: {verdict:?}");
                if verdict != layer::Verdict::Lies {
                    continue;
                }
                let Some(found) = whole.or_else(|| read(WHOLE_PAGE)) else { continue };
                if !found.text.is_empty() {
                    tracing::info!("page {number}: the text layer is not the page's text; OCR replaced it");
                    slot.1 = found.text.clone();
                    redone = true;
                    used.push((*number, found));
                }
            }
            Plan::Images(regions) => {
                for region in regions {
                    let Some(found) = read(region) else { continue };
                    // `nothing` (no packs) when the image could not hold text and no OCR ran.
                    applied |= !found.languages.is_empty();
                    if !found.text.is_empty() {
                        slot.1 = layer::with_lines_it_lacks(&slot.1, &found.text);
                        used.push((*number, found));
                    }
                }
            }
            Plan::Keep => {}
        }
    }
    let status = if redone {
        Some(OcrStatus::Redone)
    } else if applied {
        Some(OcrStatus::Applied)
    } else {
        None
    };
    (status, used)
}

/// The lopdf path: page tree, our text walker, Info metadata, pdftoppm.
fn extract_with_lopdf(bytes: &[u8], opts: &Options) -> Result<Extracted, ExtractError> {
    let (doc, repaired) = match load(bytes) {
        Ok(loaded) => loaded,
        Err(e) if e.kind == ExtractErrorKind::Encrypted => return Ok(locked(None, bytes, opts, e)),
        Err(e) => return Err(e),
    };
    if doc.is_encrypted() && (doc.encryption_state.is_none() || doc.authenticate_password("").is_err()) {
        let error = ExtractError::new(ExtractErrorKind::Encrypted, "the PDF is encrypted and needs a password to open");
        return Ok(locked(Some(&doc), bytes, opts, error));
    }
    let pages = doc.get_pages();
    let truncated = check_page_count(&doc, pages.len(), repaired)?;
    if pages.is_empty() {
        return Err(ExtractError::new(ExtractErrorKind::Corrupt, "the PDF page tree has no pages"));
    }
    let page_count = u32::try_from(pages.len()).unwrap_or(u32::MAX);
    check_page_limit(page_count, opts)?;

    let mut page_texts = Vec::new();
    for (&number, &page_id) in &pages {
        page_texts.push((number, page_text(&doc, number, page_id, opts.limits.max_pdf_depth)));
    }
    let draws_image = |number: u32| pages.get(&number).is_some_and(|id| crate::pdf::ocr::draws_image(&doc, *id));
    let (page_texts, ocr, ocr_found) =
        finish_text(page_texts, page_count, &draws_image, OcrWith::Lopdf(&doc, &pages), bytes, opts);
    let read = (joined(page_texts), ocr, ocr_found);
    let preview = opts.thumbnails.largest().and_then(|px| first_page(None, bytes, px, opts));
    Ok(counted(page_count, read, info_metadata(&doc), preview, truncated, repaired))
}

/// What either path (PDFium or lopdf) read of a PDF whose page tree it counted: the text (OCRed where
/// needed), the metadata, the first page for thumbnails, and the error beside a degraded result.
fn counted(
    page_count: u32,
    (text, ocr, ocr_found): (String, OcrStatus, crate::OcrFound),
    (title, author, info): (Option<String>, Option<String>, DocInfo),
    preview: Option<DynamicImage>,
    degraded: Option<ExtractError>,
    repaired: bool,
) -> Extracted {
    Extracted {
        pages: Some(page_count),
        pages_source: Some(PagesSource::Counted),
        frames: None,
        text,
        detect_language: true,
        title,
        author,
        info,
        ocr,
        ocr_found,
        dimensions: preview.as_ref().map(|p| (p.width(), p.height())),
        preview,
        degraded,
        repaired,
        converted_from: None,
        structure: None,
        pictures: Vec::new(),
    }
}

/// The pages (1-based, in order) whose text layer has fewer than [`MIN_WORDS_PER_PAGE`] words: scans and
/// image-only pages (the caller passes only pages that draw an image). At most `cap`; pages past it keep their (thin) text layer and a warning is logged.
pub(crate) fn pages_to_ocr(page_texts: &[(u32, String)], cap: u32) -> Vec<u32> {
    let needy: Vec<u32> =
        page_texts.iter().filter(|(_, t)| count_words(t) < MIN_WORDS_PER_PAGE).map(|(n, _)| *n).collect();
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    if needy.len() > cap {
        tracing::warn!("{} pages need OCR; only the first {cap} are OCRed (max_ocr_pages)", needy.len());
    }
    needy.into_iter().take(cap).collect()
}

/// A PDF that needs a password: its content is encrypted, but its page tree is plain structure, so the page
/// count is kept beside the `encrypted` error when the tree can be walked.
fn locked(doc: Option<&Document>, bytes: &[u8], opts: &Options, error: ExtractError) -> Extracted {
    let found = match doc.map_or(0, |d| d.get_pages().len()) {
        0 => crate::pdf::repair::count_page_objects(bytes),
        n => n,
    };
    let pages = u32::try_from(found).ok().filter(|n| *n > 0 && *n <= opts.limits.max_pages);
    Extracted {
        pages,
        pages_source: pages.map(|_| PagesSource::Counted),
        frames: None,
        text: String::new(),
        detect_language: false,
        title: None,
        author: None,
        info: DocInfo::default(),
        ocr: OcrStatus::NotNeeded,
        ocr_found: Default::default(),
        dimensions: None,
        preview: None,
        degraded: Some(error),
        repaired: false,
        converted_from: None,
        structure: None,
        pictures: Vec::new(),
    }
}

/// Load with lopdf; when the cross-reference data is broken, retry once with a rebuilt xref table
/// (see [`crate::pdf::repair`]). The original error is reported when the retry fails too.
/// Returns the document and whether it was repaired.
fn load(bytes: &[u8]) -> Result<(Document, bool), ExtractError> {
    match load_without_links(bytes) {
        Ok(doc) => Ok((doc, false)),
        Err(e @ lopdf::Error::Decryption(_)) => Err(load_error(e)),
        Err(e) => {
            let repaired = crate::pdf::repair::rebuild_xref(bytes).and_then(|fixed| load_without_links(&fixed).ok());
            match repaired {
                Some(doc) => {
                    tracing::warn!("PDF cross-reference table rebuilt after: {e}");
                    Ok((doc, true))
                }
                None => Err(load_error(e)),
            }
        }
    }
}

/// lopdf's whole-document load, leaving out link annotations and named destinations, which nothing here
/// reads: a hyperlinked book is mostly those (the 1,221-page `source2e.pdf` holds 39,000 links and 37,000
/// destinations, 84% of its 90,000 objects), and lopdf's parsed objects are large (120 bytes an array item
/// or dictionary value, before their keys and tables): loading that book whole peaked at 288 MiB, and at
/// 64 MiB without them.
fn load_without_links(bytes: &[u8]) -> lopdf::Result<Document> {
    lopdf::Reader { buffer: bytes, document: Document::new(), encryption_state: None, raw_objects: BTreeMap::new() }
        .read(Some(keep_unless_link))
}

/// lopdf's object filter: `None` drops the object. lopdf keeps its own (possibly changed) copy of an object
/// stored on its own and the returned copy of one stored in an object stream; a stream is never stored in an
/// object stream (ISO 32000-1, 7.5.7), so for a stream the returned value is unused and is not copied.
fn keep_unless_link(id: lopdf::ObjectId, object: &mut Object) -> Option<(lopdf::ObjectId, Object)> {
    if let Object::Dictionary(d) = &*object {
        let link = d.get(b"Subtype").and_then(Object::as_name).is_ok_and(|s| s == b"Link");
        // A named destination's value: `<< /D [page /XYZ ...] >>` and nothing else (ISO 32000-1, 12.3.2.3).
        let destination = d.len() == 1 && d.get(b"D").is_ok_and(|v| v.as_array().is_ok());
        if link || destination {
            return None;
        }
    }
    match object {
        Object::Stream(_) => Some((id, Object::Null)),
        other => Some((id, other.clone())),
    }
}

/// A page-tree root whose /Count is negative or absurd is damaged beyond trusting (poppler reports 0
/// pages): an error. In a repaired file, a /Count above the pages actually reachable means the file was cut
/// short: `Ok(Some(error))`, a degraded result. The pages that were found are read and kept, their count is
/// the record's `pages`, and the error beside them says the rest is missing, never a silent partial result.
fn check_page_count(doc: &Document, found: usize, repaired: bool) -> Result<Option<ExtractError>, ExtractError> {
    let count = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Pages").ok())
        .and_then(|p| p.as_reference().ok())
        .and_then(|id| doc.get_dictionary(id).ok())
        .and_then(|pages| pages.get(b"Count").ok())
        .and_then(|c| c.as_i64().ok());
    match count {
        Some(n) if n < 0 || n > i64::from(i32::MAX) => Err(ExtractError::new(
            ExtractErrorKind::Corrupt,
            format!("the PDF page tree declares an invalid page count ({n})"),
        )),
        Some(n) if repaired && n > found as i64 => Ok(Some(ExtractError::new(
            ExtractErrorKind::Corrupt,
            format!("the PDF is damaged or truncated: it declares {n} pages but only {found} could be found"),
        ))),
        _ => Ok(None),
    }
}

/// Classify a load failure: decryption failures are `encrypted`, everything else `corrupt`.
fn load_error(e: lopdf::Error) -> ExtractError {
    let msg = e.to_string();
    if matches!(e, lopdf::Error::Decryption(_)) || msg.to_ascii_lowercase().contains("password") {
        return ExtractError::new(ExtractErrorKind::Encrypted, format!("the PDF is encrypted: {msg}"));
    }
    ExtractError::new(ExtractErrorKind::Corrupt, format!("the PDF could not be parsed: {msg}"))
}

/// Text of one page, with its line and paragraph breaks (see [`crate::pdf::text`]). When our walker
/// fails or finds nothing, lopdf's own extraction is tried (it is more lenient about some content).
/// Errors are per page (and per text chunk): a page that cannot be read contributes no text, and never
/// fails the whole document.
fn page_text(doc: &Document, number: u32, page_id: lopdf::ObjectId, max_depth: u32) -> String {
    match crate::pdf::text::page_text(doc, page_id, max_depth) {
        Ok(text) if !text.is_empty() => return text,
        Ok(_) => {}
        Err(e) => tracing::warn!("page {number}: text layout failed, using lopdf's extraction: {e}"),
    }
    lopdf_page_text(doc, number)
}

/// lopdf's `extract_text` for one page: no line structure, but a fallback.
fn lopdf_page_text(doc: &Document, number: u32) -> String {
    let mut text = String::new();
    for chunk in doc.extract_text_chunks(&[number]) {
        match chunk {
            Ok(s) => text.push_str(&s),
            Err(e) => tracing::debug!("page {number}: text chunk skipped: {e}"),
        }
    }
    normalise(&text)
}

/// Tidy lopdf's output: trim lines, drop runs of blank lines, and keep line breaks within the page.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

/// Title, Author and the rest of the trailer's Info dictionary.
fn info_metadata(doc: &Document) -> (Option<String>, Option<String>, DocInfo) {
    let info = match doc.trailer.get(b"Info") {
        Ok(Object::Reference(id)) => doc.get_dictionary(*id).ok(),
        Ok(Object::Dictionary(d)) => Some(d),
        _ => None,
    };
    let Some(info) = info else { return (None, None, DocInfo::default()) };
    let raw = |key: &[u8]| -> Option<String> {
        let obj = info.get(key).ok()?;
        let obj = match obj {
            Object::Reference(id) => doc.get_object(*id).ok()?,
            other => other,
        };
        match obj {
            Object::String(raw, _) => Some(decode_text_string(raw)),
            _ => None,
        }
    };
    let field = |key: &[u8]| raw(key).and_then(|s| clean(&s));
    let date = |key: &[u8]| raw(key).and_then(|s| iso_date(&s));
    let more = DocInfo {
        subject: field(b"Subject"),
        keywords: field(b"Keywords"),
        created: date(b"CreationDate"),
        modified: date(b"ModDate"),
        producer: field(b"Producer"),
    };
    (field(b"Title"), field(b"Author"), more)
}

/// Decode a PDF text string: UTF-16BE with BOM, UTF-8 with BOM, else PDFDocEncoding.
pub(crate) fn decode_text_string(raw: &[u8]) -> String {
    if let Some(rest) = raw.strip_prefix(b"\xFE\xFF") {
        let units: Vec<u16> = rest.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])).collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = raw.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    raw.iter().map(|&b| pdf_doc_char(b)).collect()
}

/// PDFDocEncoding: Latin-1 except for the 0x80–0xA0 block (PDF 1.7, Annex D).
fn pdf_doc_char(b: u8) -> char {
    const HIGH: [char; 33] = [
        '•', '†', '‡', '…', '—', '–', 'ƒ', '⁄', '‹', '›', '−', '‰', '„', '“', '”', '‘', '’', '‚', '™', 'ﬁ', 'ﬂ', 'Ł',
        'Œ', 'Š', 'Ÿ', 'Ž', 'ı', 'ł', 'œ', 'š', 'ž', '\u{FFFD}', '€',
    ];
    match b {
        0x80..=0xA0 => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_intact_end_points_at_a_cross_reference() {
        let body = b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n";
        let table = [&body[..], b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< >>\n"].concat();
        let with = |bytes: &[u8], offset: usize, end: &[u8]| {
            [bytes, format!("startxref\n{offset}\n").as_bytes(), end].concat()
        };
        assert!(intact_end(&with(&table, body.len(), b"%%EOF\n")));
        // A cross-reference stream: `N G obj` at the offset.
        assert!(intact_end(&with(body, 9, b"%%EOF")));
        // Pointing elsewhere, past the end, without %%EOF, or cut before `startxref`.
        assert!(!intact_end(&with(&table, 3, b"%%EOF\n")));
        assert!(!intact_end(&with(&table, 100_000, b"%%EOF\n")));
        assert!(!intact_end(&with(&table, body.len(), b"")));
        assert!(!intact_end(&table));
        assert!(!intact_end(b""));
    }

    #[test]
    fn a_count_out_of_range_is_found_in_the_bytes() {
        assert!(declares_odd_count(b"<< /Type /Pages /Count -2147483648 /Kids [3 0 R] >>"));
        assert!(declares_odd_count(b"<</Count 99999999999>>"));
        assert!(!declares_odd_count(b"<< /Type /Pages /Count 12 /Kids [] >> << /Count 0 >>"));
        assert!(!declares_odd_count(b"/Count"));
        // Closed bookmarks: an outline's root and items with negative counts are not page tree nodes.
        let outline = b"1 0 obj << /Type /Catalog /Pages 2 0 R /Outlines 7 0 R >> endobj \
            2 0 obj << /Type /Pages /Count 1 /Kids [3 0 R] >> endobj \
            7 0 obj << /Type /Outlines /First 8 0 R /Last 8 0 R /Count -1 >> endobj \
            8 0 obj << /Title (Introduction) /Parent 7 0 R /First 9 0 R /Last 9 0 R /Count -4 >> endobj";
        assert!(!declares_odd_count(outline));
        // A page tree node's negative count still is one, in an object or not, beside an outline or not.
        assert!(declares_odd_count(b"4 0 obj << /Type /Pages /Title (x) /Kids [5 0 R] /Count -3 >> endobj"));
        assert!(declares_odd_count(b"<< /First 8 0 R /Count -3 >>"), "no object around it: not taken for an outline");
        let both = [&outline[..], b" 5 0 obj << /Type /Pages /Kids [3 0 R] /Count -2 >> endobj"].concat();
        assert!(declares_odd_count(&both));
        // An outline's count past i32::MAX is odd whatever holds it.
        assert!(declares_odd_count(b"7 0 obj << /Type /Outlines /First 8 0 R /Count 99999999999 >> endobj"));
    }

    #[test]
    fn only_pages_without_text_are_ocred() {
        let texts = vec![
            (1, "a full page of text with many words in it".to_string()),
            (2, String::new()),
            (3, "Figure 3".to_string()),
            (4, "another page of text with enough words".to_string()),
        ];
        assert_eq!(pages_to_ocr(&texts, 50), [2, 3]);
        assert_eq!(pages_to_ocr(&texts, 1), [2]);
        assert!(pages_to_ocr(&texts, 0).is_empty());
    }

    #[test]
    fn pages_are_planned_from_what_they_show() {
        use pdfium::PageLook;
        let scan_under_ocr = PageLook { invisible: 1.0, largest_image: 0.98, bare_images: vec![] };
        assert_eq!(plan(300, Some(&scan_under_ocr)), Plan::Check);
        assert_eq!(plan(0, Some(&scan_under_ocr)), Plan::Read { merge: false });
        let figure_with_heading =
            PageLook { invisible: 0.0, largest_image: 0.6, bare_images: vec![[0.1, 0.2, 0.9, 0.8]] };
        assert_eq!(plan(3, Some(&figure_with_heading)), Plan::Read { merge: true });
        assert_eq!(plan(200, Some(&figure_with_heading)), Plan::Images(vec![[0.1, 0.2, 0.9, 0.8]]));
        let text_with_logo = PageLook { invisible: 0.0, largest_image: 0.01, bare_images: vec![] };
        assert_eq!(plan(200, Some(&text_with_logo)), Plan::Keep);
        assert_eq!(plan(200, None), Plan::Keep, "without PDFium's look, as before");
        assert_eq!(plan(2, None), Plan::Read { merge: false });
    }

    #[test]
    fn decodes_text_strings() {
        assert_eq!(decode_text_string(b"\xFE\xFF\x00H\x00i"), "Hi");
        assert_eq!(decode_text_string(b"caf\xE9 \x80"), "café •");
        assert_eq!(clean("  \0 "), None);
    }
}
