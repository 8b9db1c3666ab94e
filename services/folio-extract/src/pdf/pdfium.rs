//! PDFium, loaded at run time: PDF text in reading order (CID fonts, fonts without ToUnicode, CJK and
//! right-to-left scripts, where our lopdf walker falls short), document metadata, and page rendering
//! for thumbnails and OCR.
//!
//! The library is not linked: it is found at run time (`FOLIO_PDFIUM_LIB`, else
//! `/usr/local/lib/folio/libpdfium.so` as `scripts/setup` installs it, else next to the executable), so
//! Folio builds and runs without it, falling back to lopdf and pdftoppm. PDFium is not thread-safe: the
//! one binding of a process sits behind a mutex, and every use holds it ([`with`]).

use folio_core::{ExtractError, ExtractErrorKind};
use image::{DynamicImage, GrayImage, RgbaImage};
use pdfium_render::prelude::{
    PdfBitmap, PdfBitmapFormat, PdfDocument, PdfPage, PdfPageText, PdfRect, PdfRenderConfig, Pdfium, PdfiumError,
    PdfiumInternalError,
};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// Where `scripts/setup` installs the library.
const INSTALLED: &str = "/usr/local/lib/folio/libpdfium.so";

/// The process's PDFium binding. `Pdfium` is `!Send` without pdfium-render's `sync` feature (which would
/// wrap every call in a second lock); we serialise every use with our own mutex instead.
struct Bound(Pdfium);

// SAFETY: PDFium may be called from any thread as long as calls never overlap. `Bound` is only reached
// through the `Mutex` in `BINDING`, and nothing borrowed from it (documents, pages) outlives the guard.
unsafe impl Send for Bound {}

static BINDING: OnceLock<Option<Mutex<Bound>>> = OnceLock::new();

/// The candidate library paths, in the order they are tried.
fn candidates() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os("FOLIO_PDFIUM_LIB") {
        return vec![PathBuf::from(path)];
    }
    let mut paths = vec![PathBuf::from(INSTALLED)];
    if let Some(dir) = std::env::current_exe().ok().as_deref().and_then(|exe| exe.parent()) {
        paths.push(dir.join("libpdfium.so"));
    }
    paths
}

/// Bind to the first candidate that loads; `None` (and one warning for the process) when none does.
fn bind() -> Option<Mutex<Bound>> {
    let mut failures = Vec::new();
    for path in candidates() {
        if !path.is_file() {
            failures.push(format!("{}: not found", path.display()));
            continue;
        }
        match Pdfium::bind_to_library(&path) {
            Ok(bindings) => return Some(Mutex::new(Bound(Pdfium::new(bindings)))),
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    tracing::warn!(
        "PDFium is not available ({}); PDFs are read with lopdf and rendered with pdftoppm (run scripts/setup)",
        failures.join("; ")
    );
    None
}

/// Whether the PDFium library could be loaded in this process.
pub(crate) fn available() -> bool {
    BINDING.get_or_init(bind).is_some()
}

/// Run `f` with the process's PDFium, holding its lock; `None` when the library is not available.
pub(crate) fn with<R>(f: impl FnOnce(&Pdfium) -> R) -> Option<R> {
    let lock = BINDING.get_or_init(bind).as_ref()?;
    // A panic while the lock was held (caught by `guarded`) poisons it; PDFium's own state is still
    // consistent, since the panic was in our code between calls into it.
    let guard = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    Some(f(&guard.0))
}

/// A text of the document's Info dictionary (`ModDate`, say) as PDFium reads it (decrypted, decoded); `None`
/// when there is none. pdfium-render maps only its own names to Info keys, so the key is asked for through
/// PDFium's own call, on a second handle to the same bytes (PDFium reads only the trailer and that
/// dictionary of it).
pub(crate) fn meta_text(pdfium: &Pdfium, bytes: &[u8], password: Option<&str>, key: &str) -> Option<String> {
    let bindings = pdfium.bindings();
    // As [`open`]: the empty password first (owner-password-only files open with it), then the one given.
    let mut document = bindings.FPDF_LoadMemDocument64(bytes, None);
    if document.is_null() && password.is_some() {
        document = bindings.FPDF_LoadMemDocument64(bytes, password);
    }
    if document.is_null() {
        return None;
    }
    let length = bindings.FPDF_GetMetaText(document, key, std::ptr::null_mut(), 0);
    // UTF-16LE with a terminating NUL; at most 64 KiB of it is read (an Info date is a few dozen bytes).
    let text = (length > 2 && length <= 64 * 1024).then(|| {
        let mut buffer = vec![0u8; length as usize];
        let written = bindings.FPDF_GetMetaText(document, key, buffer.as_mut_ptr().cast(), length);
        let units: Vec<u16> = buffer[..(written.min(length) as usize)]
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .take_while(|unit| *unit != 0)
            .collect();
        String::from_utf16_lossy(&units)
    });
    bindings.FPDF_CloseDocument(document);
    text.filter(|t| !t.trim().is_empty())
}

/// Whether a page draws an image ([`shows_image`]): the pages OCR may read.
fn page_draws_image(page: &pdfium_render::prelude::PdfPage) -> bool {
    use pdfium_render::prelude::PdfPageObjectsCommon;
    let drawn = page.objects().iter().any(|object| shows_image(&object));
    drawn
}

/// Whether a page object shows an image: it is one, or it is a form XObject that draws one (one level down).
fn shows_image(object: &pdfium_render::prelude::PdfPageObject) -> bool {
    object.as_image_object().is_some()
        || object
            .as_x_object_form_object()
            .is_some_and(|form| form.iter().any(|inner| inner.as_image_object().is_some()))
}

/// Why PDFium could not open a document.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// It needs a password, and the one given (or none) is not it.
    Password,
    /// Anything else: damaged, not a PDF, an unsupported security handler.
    Other(String),
}

/// Open `bytes`, trying the empty password first (owner-password-only files open with it), then
/// `password` when one is given.
pub(crate) fn open<'a>(
    pdfium: &'a Pdfium,
    bytes: &'a [u8],
    password: Option<&str>,
) -> Result<PdfDocument<'a>, OpenError> {
    let first = pdfium.load_pdf_from_byte_slice(bytes, None);
    let result = match (first, password) {
        (Err(e), Some(pw)) if is_password(&e) => pdfium.load_pdf_from_byte_slice(bytes, Some(pw)),
        (other, _) => other,
    };
    result.map_err(|e| if is_password(&e) { OpenError::Password } else { OpenError::Other(e.to_string()) })
}

fn is_password(e: &PdfiumError) -> bool {
    matches!(e, PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::PasswordError))
}

/// The text of every page, in page order, as PDFium lays it out (see [`tidy`]), and, with `form`, each
/// page's lines with their place and type (see [`crate::pdf::form`]; `None` for a page turned by /Rotate or
/// whose text cannot be read). A page whose text cannot be read contributes an empty string and a warning;
/// it never fails the document. Also whether each page draws an image ([`draws_image`]), read from the page
/// while it is loaded.
pub(crate) fn page_texts(doc: &PdfDocument, form: bool) -> PageTexts {
    let mut texts = Vec::new();
    let mut forms = Vec::new();
    let mut images = Vec::new();
    let mut pictures = Vec::new();
    for (index, page) in doc.pages().iter().enumerate() {
        images.push(page_draws_image(&page));
        match page.text() {
            Ok(text) => {
                let area = text_area(&page);
                let upright = matches!(page.rotation(), Ok(pdfium_render::prelude::PdfPageRenderRotation::None));
                forms.push((form && upright).then(|| crate::pdf::form::PageForm::Laid {
                    lines: form_lines(&text, area),
                    bottom: area.bottom().value,
                    top: area.top().value,
                    pictures: Vec::new(),
                }));
                pictures.push(if form && upright { picture_boxes(&page, &text) } else { Vec::new() });
                let raw = text.inside_rect(area);
                let tidied = if crate::pdf::accents::has_spacing_accent(&raw) {
                    tidy(&crate::pdf::accents::compose(&glyphs(&text, area)))
                } else {
                    tidy(&raw)
                };
                let paragraphed = crate::pdf::paragraphs::may_need_breaks(&tidied)
                    .then(|| crate::pdf::paragraphs::with_paragraph_breaks(&tidied, &line_boxes(&text, area)))
                    .flatten();
                texts.push(paragraphed.unwrap_or(tidied));
            }
            Err(e) => {
                tracing::warn!("page {}: PDFium could not read its text: {e}", index + 1);
                texts.push(String::new());
                forms.push(None);
                pictures.push(Vec::new());
            }
        }
    }
    PageTexts { texts, forms, images, pictures }
}

/// What [`page_texts`] read of each page, in page order.
pub(crate) struct PageTexts {
    pub texts: Vec<String>,
    pub forms: Vec<Option<crate::pdf::form::PageForm>>,
    /// Whether the page draws an image.
    pub images: Vec<bool>,
    /// Where the pictures of a page given a form are ([`picture_boxes`]); empty for the others.
    pub pictures: Vec<Vec<[f32; 4]>>,
}

/// A page's lines inside `area` with where they are and the size and weight they are set in, from PDFium's
/// characters (its line breaks end a line). A font's name is asked for (it allocates) only at a line's start
/// and where the size changes; a character is bold by its weight or by that name.
fn form_lines(text: &PdfPageText, area: PdfRect) -> Vec<crate::pdf::form::Line> {
    use pdfium_render::prelude::PdfFontWeight;
    #[derive(Default)]
    struct Building {
        text: String,
        bounds: Option<[f32; 4]>,
        sizes: Vec<(i32, usize)>,
        bold: usize,
        chars: usize,
        named_bold: bool,
        last_size: i32,
    }
    let finish = |line: &mut Building, out: &mut Vec<crate::pdf::form::Line>| {
        let done = std::mem::take(line);
        let Some([left, bottom, right, top]) = done.bounds else { return };
        let trimmed = done.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if trimmed.is_empty() {
            return;
        }
        let size = done.sizes.iter().max_by_key(|(s, n)| (*n, *s)).map_or(0.0, |(s, _)| *s as f32 / 2.0);
        out.push(crate::pdf::form::Line {
            text: trimmed,
            left,
            right,
            bottom,
            top,
            size,
            bold: done.bold * 2 > done.chars,
        });
    };
    let mut out = Vec::new();
    let mut line = Building::default();
    for c in text.chars().iter() {
        let Some(ch) = c.unicode_char() else { continue };
        match ch {
            '\n' | '\r' => {
                finish(&mut line, &mut out);
                continue;
            }
            '\0' | '\u{FFFE}' | '\u{FEFF}' => continue,
            _ => {}
        }
        let ch = if ch == '\u{2}' { '-' } else { ch };
        if c.is_generated().unwrap_or(false) || ch.is_whitespace() {
            line.text.push(' ');
            continue;
        }
        let Ok(r) = c.tight_bounds() else { continue };
        let b = [r.left().value, r.bottom().value, r.right().value, r.top().value];
        if !overlaps(b, area) || b[3] <= b[1] {
            continue;
        }
        line.bounds = Some(match line.bounds {
            Some(o) => [o[0].min(b[0]), o[1].min(b[1]), o[2].max(b[2]), o[3].max(b[3])],
            None => b,
        });
        line.text.push(ch);
        let size = (c.scaled_font_size().value * 2.0).round() as i32;
        match line.sizes.iter_mut().find(|(s, _)| *s == size) {
            Some((_, n)) => *n += 1,
            None => line.sizes.push((size, 1)),
        }
        if line.chars == 0 || size != line.last_size {
            let name = c.font_name().to_ascii_lowercase();
            line.named_bold = ["bold", "black", "heavy", "semibold", "demi"].iter().any(|w| name.contains(w));
            line.last_size = size;
        }
        let weighty = match c.font_weight() {
            Some(PdfFontWeight::Weight600 | PdfFontWeight::Weight700Bold)
            | Some(PdfFontWeight::Weight800 | PdfFontWeight::Weight900) => true,
            Some(PdfFontWeight::Custom(w)) => w >= 600,
            _ => false,
        };
        line.chars += 1;
        if weighty || line.named_bold {
            line.bold += 1;
        }
    }
    finish(&mut line, &mut out);
    out
}

/// The lines of a page's text inside `area`, from PDFium's segments (see [`crate::pdf::paragraphs`]), asked
/// for line by line (between the line breaks of the page's text): pdfium-render counts the segments of its
/// whole range again for each one it hands out, which over a whole page of a thousand characters cost
/// milliseconds, and over a line costs little. A segment is a run of one text object's characters, and a
/// text object is shown on one line, so the segments are the page's.
fn line_boxes(text: &PdfPageText, area: PdfRect) -> Vec<crate::pdf::paragraphs::LineBox> {
    use crate::pdf::paragraphs::{lines_of, LineBox};
    let mut segments: Vec<LineBox> = Vec::new();
    let mut add = |start: usize, end: usize| {
        if end <= start {
            return;
        }
        let line = text.segments_subset(start, end - start);
        segments.extend(
            line.iter()
                .map(|s| s.bounds())
                .filter(|b| overlaps([b.left().value, b.bottom().value, b.right().value, b.top().value], area))
                .filter(|b| b.top().value > b.bottom().value)
                .map(|b| LineBox { bottom: b.bottom().value, top: b.top().value }),
        );
    };
    let mut start = 0;
    let chars = text.chars();
    for (index, c) in chars.iter().enumerate() {
        if matches!(c.unicode_char(), Some('\n' | '\r')) {
            add(start, index);
            start = index + 1;
        }
    }
    add(start, chars.len());
    lines_of(&segments)
}

/// The characters of a page's text inside `area`, with their boxes, for [`crate::pdf::accents::compose`].
/// Generated characters (the spaces and line breaks PDFium inserts) are kept wherever they fall.
fn glyphs(text: &PdfPageText, area: PdfRect) -> Vec<crate::pdf::accents::Glyph> {
    let mut out = Vec::new();
    for c in text.chars().iter() {
        let Some(ch) = c.unicode_char() else { continue };
        let generated = c.is_generated().unwrap_or(false);
        let bounds = c.tight_bounds().ok().map(|r| [r.left().value, r.bottom().value, r.right().value, r.top().value]);
        if !generated && bounds.is_some_and(|b| !overlaps(b, area)) {
            continue;
        }
        out.push(crate::pdf::accents::Glyph { ch, bounds: bounds.filter(|_| !generated), generated });
    }
    out
}

fn overlaps([l, b, r, t]: [f32; 4], area: PdfRect) -> bool {
    l <= area.right().value && r >= area.left().value && b <= area.top().value && t >= area.bottom().value
}

/// What a page shows besides its text layer, for deciding whether to OCR it (see [`crate::pdf::layer`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PageLook {
    /// The share of the layer's characters drawn invisible (text render mode 3): an OCR layer over a scan.
    pub invisible: f64,
    /// The share of the page the largest image covers.
    pub largest_image: f64,
    /// Images that may hold text the layer lacks: at least [`MIN_IMAGE_SHARE`] of the page and no layer
    /// text over them, as `[left, top, right, bottom]` fractions of the page as displayed (0,0 top left).
    pub bare_images: Vec<[f64; 4]>,
}

/// Images smaller than this share of the page are not OCRed for text the layer lacks (logos, icons, rules).
const MIN_IMAGE_SHARE: f64 = 0.04;
/// At most this many images of a page are OCRed for text the layer lacks.
const MAX_BARE_IMAGES: usize = 4;

/// How page `index` (0-based) draws its text and images. Images inside a form XObject count by the form's
/// box (one level down, no deeper). `None` when the page cannot be read.
pub(crate) fn look(doc: &PdfDocument, index: u32) -> Option<PageLook> {
    use pdfium_render::prelude::{
        PdfPageObjectCommon, PdfPageObjectsCommon, PdfPageRenderRotation, PdfPageTextRenderMode,
    };
    let page = doc.pages().get(u16::try_from(index).ok()?).ok()?;
    let boundary = page.boundaries().crop().or_else(|_| page.boundaries().media()).ok()?.bounds;
    let (x0, x1) =
        (boundary.left().value.min(boundary.right().value), boundary.left().value.max(boundary.right().value));
    let (y0, y1) =
        (boundary.bottom().value.min(boundary.top().value), boundary.bottom().value.max(boundary.top().value));
    let (w, h) = (f64::from((x1 - x0).max(1.0)), f64::from((y1 - y0).max(1.0)));
    let rotation = page.rotation().unwrap_or(PdfPageRenderRotation::None);
    let text = page.text().ok();
    let mut look = PageLook::default();
    let (mut invisible, mut visible) = (0usize, 0usize);
    let mut images: Vec<PdfRect> = Vec::new();
    // How the layer's characters are drawn, from the page's text (loaded once): asking each text object for
    // its text made PDFium lay out the page's text again for every object (seconds on a page of many).
    if let Some(text) = &text {
        for c in text.chars().iter() {
            if c.unicode_char().is_none_or(char::is_whitespace) || c.is_generated().unwrap_or(false) {
                continue;
            }
            if c.render_mode().is_ok_and(|m| m == PdfPageTextRenderMode::Invisible) {
                invisible += 1;
            } else {
                visible += 1;
            }
        }
    }
    let mut count_object = |object: &pdfium_render::prelude::PdfPageObject, form_box: Option<PdfRect>| {
        if object.as_image_object().is_some() {
            if let Some(rect) = form_box.or_else(|| object.bounds().ok().map(|q| q.to_rect())) {
                images.push(rect);
            }
        }
    };
    for object in page.objects().iter() {
        if let Some(form) = object.as_x_object_form_object() {
            let form_box = object.bounds().ok().map(|q| q.to_rect());
            for inner in form.iter() {
                count_object(&inner, form_box);
            }
        } else {
            count_object(&object, None);
        }
    }
    if invisible + visible > 0 {
        look.invisible = invisible as f64 / (invisible + visible) as f64;
    }
    images.dedup_by(|a, b| a == b);
    for rect in images {
        let (l, r) = (rect.left().value.max(x0), rect.right().value.min(x1));
        let (b, t) = (rect.bottom().value.max(y0), rect.top().value.min(y1));
        if r <= l || t <= b {
            continue;
        }
        let share = f64::from(r - l) * f64::from(t - b) / (w * h);
        look.largest_image = look.largest_image.max(share);
        let clipped = PdfRect::new_from_values(b, l, t, r);
        let covered = text.as_ref().is_some_and(|tx| crate::language::count_words(&tx.inside_rect(clipped)) > 0);
        if share >= MIN_IMAGE_SHARE && !covered && look.bare_images.len() < MAX_BARE_IMAGES {
            // Fractions of the unrotated page from its top left, then turned as the page is displayed.
            let (u0, u1) = (f64::from(l - x0) / w, f64::from(r - x0) / w);
            let (v0, v1) = (f64::from(y1 - t) / h, f64::from(y1 - b) / h);
            look.bare_images.push(match rotation {
                PdfPageRenderRotation::None => [u0, v0, u1, v1],
                PdfPageRenderRotation::Degrees90 => [1.0 - v1, u0, 1.0 - v0, u1],
                PdfPageRenderRotation::Degrees180 => [1.0 - u1, 1.0 - v1, 1.0 - u0, 1.0 - v0],
                PdfPageRenderRotation::Degrees270 => [v0, 1.0 - u1, v1, 1.0 - u0],
            });
        }
    }
    Some(look)
}

/// The pictures a page draws, for the book: image objects (one level into form XObjects, by
/// the form's box) covering at least [`MIN_IMAGE_SHARE`] of the page, clipped to it, with no text of the layer
/// over them (a scan under its OCR layer is not a picture), at most [`MAX_BARE_IMAGES`], top first. Each is
/// `[left, bottom, right, top]` in points. Empty for a page turned by /Rotate. Read from the page and its
/// text as [`page_texts`] loaded them (loading a page again parses its content again).
fn picture_boxes(page: &PdfPage, text: &PdfPageText) -> Vec<[f32; 4]> {
    use pdfium_render::prelude::{PdfPageObjectCommon, PdfPageObjectsCommon, PdfPageRenderRotation};
    if !matches!(page.rotation(), Ok(PdfPageRenderRotation::None)) {
        return Vec::new();
    }
    let Ok(boundary) = page.boundaries().media().map(|m| m.bounds) else { return Vec::new() };
    let (x0, x1) =
        (boundary.left().value.min(boundary.right().value), boundary.left().value.max(boundary.right().value));
    let (y0, y1) =
        (boundary.bottom().value.min(boundary.top().value), boundary.bottom().value.max(boundary.top().value));
    let area = f64::from((x1 - x0).max(1.0)) * f64::from((y1 - y0).max(1.0));
    let mut rects: Vec<PdfRect> = Vec::new();
    for object in page.objects().iter().filter(shows_image) {
        rects.extend(object.bounds().ok().map(|q| q.to_rect()));
    }
    if rects.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<[f32; 4]> = Vec::new();
    for rect in rects {
        let (l, r) = (rect.left().value.max(x0), rect.right().value.min(x1));
        let (b, t) = (rect.bottom().value.max(y0), rect.top().value.min(y1));
        if r <= l || t <= b || f64::from(r - l) * f64::from(t - b) < MIN_IMAGE_SHARE * area {
            continue;
        }
        let clipped = PdfRect::new_from_values(b, l, t, r);
        if crate::language::count_words(&text.inside_rect(clipped)) > 0 {
            continue;
        }
        if !out.contains(&[l, b, r, t]) && out.len() < MAX_BARE_IMAGES {
            out.push([l, b, r, t]);
        }
    }
    out.sort_by(|a, b| b[3].total_cmp(&a[3]));
    out
}

/// Region `[left, bottom, right, top]` (points) of page `index` (0-based) as it is printed, its longest side
/// at most `max_px` pixels and at most 300 dpi: the page is rendered at that scale (at most 300 dpi, so a
/// page of A4 is at most 2,480 × 3,508 pixels) and the region cut out.
pub(crate) fn render_region(
    doc: &PdfDocument,
    index: u32,
    region: [f32; 4],
    max_px: u32,
) -> Result<DynamicImage, ExtractError> {
    let [l, b, r, t] = region;
    let (page_w, page_h) = page_size(doc, index).ok_or_else(|| render_failure(index)("no such page".into()))?;
    let longest = f64::from((r - l).max(t - b)).max(1.0);
    let scale = (f64::from(max_px) / longest).min(300.0 / 72.0);
    let (w, h) = ((page_w * scale).round().max(1.0) as u32, (page_h * scale).round().max(1.0) as u32);
    let page = render(doc, index, w, h)?;
    // The region from the page's top left, in pixels (the page is upright: no /Rotate).
    let origin = u16::try_from(index)
        .ok()
        .and_then(|i| doc.pages().get(i).ok())
        .and_then(|p| p.boundaries().media().ok().map(|m| m.bounds))
        .map_or((0.0, page_h as f32), |m| (m.left().value.min(m.right().value), m.bottom().value.max(m.top().value)));
    let x = ((f64::from(l - origin.0)) * scale).max(0.0) as u32;
    let y = ((f64::from(origin.1 - t)) * scale).max(0.0) as u32;
    let cw = ((f64::from(r - l) * scale).round() as u32).clamp(1, w.saturating_sub(x).max(1));
    let ch = ((f64::from(t - b) * scale).round() as u32).clamp(1, h.saturating_sub(y).max(1));
    Ok(page.crop_imm(x.min(w - 1), y.min(h - 1), cw, ch))
}

/// The area whose text is the page's: its MediaBox in user space, normalised, with a point to spare.
/// (pdfium-render's `PdfPageText::all` bounds the text by the displayed size from the origin instead, which
/// drops most of the text of a rotated page, or of one whose MediaBox does not start at 0 0.) Characters
/// wholly off the page are left out, as pdftotext leaves them out. Without a readable MediaBox, everything.
fn text_area(page: &PdfPage) -> PdfRect {
    match page.boundaries().media() {
        Ok(media) => {
            let b = media.bounds;
            let (x0, x1) = (b.left().value.min(b.right().value), b.left().value.max(b.right().value));
            let (y0, y1) = (b.bottom().value.min(b.top().value), b.bottom().value.max(b.top().value));
            PdfRect::new_from_values(y0 - 1.0, x0 - 1.0, y1 + 1.0, x1 + 1.0)
        }
        Err(_) => PdfRect::new_from_values(-1.0e7, -1.0e7, 1.0e7, 1.0e7),
    }
}

/// Normalise PDFium's text: its line breaks are `\r\n`; it marks a hyphen it found at a line end with
/// U+0002 and soft hyphens with U+FFFE. Lines are trimmed; a run of blank lines becomes one blank line
/// (a paragraph break) and leading and trailing blank lines go.
pub(crate) fn tidy(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .filter_map(|c| match c {
            '\u{2}' => Some('-'),
            '\r' | '\0' | '\u{FFFE}' | '\u{FEFF}' => None,
            c => Some(c),
        })
        .collect();
    crate::pdf::text::tidy(&cleaned)
}

/// Width and height in points of page `index` (0-based), as displayed (after its /Rotate).
pub(crate) fn page_size(doc: &PdfDocument, index: u32) -> Option<(f64, f64)> {
    let page = doc.pages().get(u16::try_from(index).ok()?).ok()?;
    Some((f64::from(page.width().value), f64::from(page.height().value)))
}

/// The error of a page that could not be rendered.
fn render_failure(index: u32) -> impl Fn(String) -> ExtractError {
    move |why| {
        ExtractError::new(ExtractErrorKind::Corrupt, format!("PDFium could not render page {}: {why}", index + 1))
    }
}

/// Page `index` (0-based) and the pixel size to render it at, as PDFium takes it.
fn page_to_render<'a>(
    doc: &'a PdfDocument,
    index: u32,
    width: u32,
    height: u32,
) -> Result<(PdfPage<'a>, i32, i32), ExtractError> {
    let failed = render_failure(index);
    let number = u16::try_from(index).map_err(|_| failed("page number out of range".into()))?;
    let page = doc.pages().get(number).map_err(|e| failed(e.to_string()))?;
    let (w, h) = (i32::try_from(width.max(1)).unwrap_or(i32::MAX), i32::try_from(height.max(1)).unwrap_or(i32::MAX));
    Ok((page, w, h))
}

/// Render page `index` (0-based) at `width` × `height` pixels (the caller keeps the aspect ratio and
/// bounds the size), on white, with annotations and form data as a reader shows them.
pub(crate) fn render(doc: &PdfDocument, index: u32, width: u32, height: u32) -> Result<DynamicImage, ExtractError> {
    let failed = render_failure(index);
    let (page, w, h) = page_to_render(doc, index, width, height)?;
    let config = PdfRenderConfig::new().set_fixed_size(w, h);
    let bitmap = page.render_with_config(&config).map_err(|e| failed(e.to_string()))?;
    let (bw, bh) = (u32::try_from(bitmap.width()).unwrap_or(0), u32::try_from(bitmap.height()).unwrap_or(0));
    let rgba = bitmap.as_rgba_bytes();
    RgbaImage::from_raw(bw, bh, rgba)
        .map(DynamicImage::ImageRgba8)
        .ok_or_else(|| failed(format!("unexpected bitmap layout for {bw}×{bh} pixels")))
}

/// Render page `index` (0-based) at `width` × `height` pixels in 8-bit grey, for OCR. PDFium draws into a
/// buffer of ours (BGRA: its grey bitmaps leave images out), which is then reduced to grey, so a page at
/// the 40-megapixel OCR bound holds 160 MiB of colour and 40 MiB of grey at the most, where [`render`]
/// held PDFium's bitmap and its RGBA copy at once, and the OCR then a copy of that.
pub(crate) fn render_gray(doc: &PdfDocument, index: u32, width: u32, height: u32) -> Result<GrayImage, ExtractError> {
    let failed = render_failure(index);
    let (page, w, h) = page_to_render(doc, index, width, height)?;
    let bytes = 4 * usize::try_from(w).unwrap_or(0) * usize::try_from(h).unwrap_or(0);
    let mut bgra = vec![0u8; bytes];
    {
        // SAFETY: the buffer holds `w` × `h` pixels of 4 bytes, the size PDFium computes for a BGRA bitmap
        // of that size (a stride of 4 × `w`, always 4-byte aligned), and outlives the bitmap (this block).
        let mut bitmap = unsafe { PdfBitmap::from_bytes(w, h, PdfBitmapFormat::BGRA, &mut bgra, doc.bindings()) }
            .map_err(|e| failed(e.to_string()))?;
        let config = PdfRenderConfig::new().set_fixed_size(w, h);
        page.render_into_bitmap_with_config(&mut bitmap, &config).map_err(|e| failed(e.to_string()))?;
    }
    let grey = bgra_to_grey(&bgra);
    drop(bgra);
    GrayImage::from_raw(width.max(1), height.max(1), grey)
        .ok_or_else(|| failed(format!("unexpected bitmap layout for {w}×{h} pixels")))
}

/// Grey levels of BGRA pixels, weighted as the `image` crate weighs RGB (Rec. 709), so that OCR sees the
/// levels it saw when pages were rendered in RGBA and converted.
fn bgra_to_grey(bgra: &[u8]) -> Vec<u8> {
    bgra.chunks_exact(4)
        .map(|p| ((2126 * u32::from(p[2]) + 7152 * u32::from(p[1]) + 722 * u32::from(p[0]) + 5000) / 10000) as u8)
        .collect()
}

/// Pixel size of a page of `size` points whose longest side becomes `max_side` pixels.
pub(crate) fn fit(size: (f64, f64), max_side: u32) -> (u32, u32) {
    let (w, h) = (size.0.abs().max(1.0), size.1.abs().max(1.0));
    let scale = f64::from(max_side.max(1)) / w.max(h);
    (((w * scale).round() as u32).max(1), ((h * scale).round() as u32).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidies_line_breaks_hyphens_and_blank_lines() {
        assert_eq!(
            tidy("\r\n  One line \r\nexam\u{2}\r\nple\r\n\r\n\r\nNext\u{FFFE}\r\n"),
            "One line\nexam-\nple\n\nNext"
        );
        assert_eq!(tidy(""), "");
    }

    #[test]
    fn grey_is_weighed_as_the_image_crate_weighs_it() {
        let pixels: Vec<[u8; 3]> =
            vec![[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [12, 200, 77]];
        let bgra: Vec<u8> = pixels.iter().flat_map(|[r, g, b]| [*b, *g, *r, 255]).collect();
        let rgb = image::RgbImage::from_raw(6, 1, pixels.concat()).unwrap();
        let theirs = DynamicImage::ImageRgb8(rgb).to_luma8().into_raw();
        let ours = bgra_to_grey(&bgra);
        for (a, b) in ours.iter().zip(&theirs) {
            assert!(a.abs_diff(*b) <= 1, "ours {ours:?}, image's {theirs:?}");
        }
    }

    #[test]
    fn fits_the_longest_side() {
        assert_eq!(fit((612.0, 792.0), 256), (198, 256));
        assert_eq!(fit((792.0, 612.0), 256), (256, 198));
        assert_eq!(fit((0.0, 0.0), 0), (1, 1));
    }
}
