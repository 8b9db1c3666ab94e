//! folio-extract: turn one contributed file (PDF, DOCX, image) into a [`folio_core::Record`], its full
//! text, and its thumbnails.
//!
//! The format is always sniffed from the content. Every parser runs under [`Limits`], and
//! [`extract_bytes`] never panics outward: a panic in a parser becomes an error of kind `crashed` in the
//! record. (Stack overflows and aborts cannot be caught in-process; the caller runs extraction in a child
//! process for those.)

pub mod language;
mod limits;
mod ocr;
mod office;
mod pdf;
mod raster;
mod sniff;
mod tools;

pub use folio_core::ThumbnailFormat;
pub use limits::Limits;
pub use office::render::find_office;
pub use office::warm::stop_all as stop_warm_offices;
pub use tools::tesseract::LANGUAGES_ENV as TESSERACT_LANGUAGES_ENV;
pub use tools::tesseract::{ocr_threads_to_set, OCR_THREADS_ENV};
pub use tools::{reset_tools_peak, tools_peak_kib};

/// The language packs the installed Tesseract has (`eng`, `heb`, `osd`, ...); empty without Tesseract.
pub fn ocr_languages() -> &'static [String] {
    tools::tesseract::installed_languages()
}
/// [`ocr_languages`] when this process has asked for them already; `None` (without asking) before.
pub fn ocr_languages_known() -> Option<&'static [String]> {
    tools::tesseract::known_languages()
}
pub use sniff::{encryption_info_marker, word_document_marker, Format};

use folio_core::structure::{Block, Structure, Text};
use folio_core::{ExtractError, ExtractErrorKind, OcrStatus, PagesSource, Record, ThumbnailRef};
use image::DynamicImage;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Which thumbnails to make: one per size (the longest side, in pixels), all in one format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThumbnailSpec {
    /// Longest sides in pixels, in any order; empty for no thumbnails. 0 is ignored.
    pub sizes: Vec<u32>,
    pub format: ThumbnailFormat,
}

impl ThumbnailSpec {
    /// The default sizes: 256 px (lists, the report) and 1024 px (a page a person can read on screen).
    pub const DEFAULT_SIZES: [u32; 2] = [256, 1024];

    /// No thumbnails.
    pub fn none() -> Self {
        Self { sizes: Vec::new(), format: ThumbnailFormat::Png }
    }

    /// The sizes to make, largest first, without zeros or repeats.
    pub fn sizes_largest_first(&self) -> Vec<u32> {
        let mut sizes: Vec<u32> = self.sizes.iter().copied().filter(|s| *s > 0).collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes.dedup();
        sizes
    }

    /// The largest size asked for: what a format module renders its preview at. `None` for no thumbnails.
    pub fn largest(&self) -> Option<u32> {
        self.sizes.iter().copied().filter(|s| *s > 0).max()
    }
}

impl Default for ThumbnailSpec {
    fn default() -> Self {
        Self { sizes: Self::DEFAULT_SIZES.to_vec(), format: ThumbnailFormat::Png }
    }
}

/// One thumbnail of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// The size asked for; the longest side of the image is at most this (smaller when the original is).
    pub max_side: u32,
    pub width: u32,
    pub height: u32,
    pub format: ThumbnailFormat,
    /// The encoded image.
    pub bytes: Vec<u8>,
}

impl Thumbnail {
    /// A name for it among a document's thumbnails: `<max_side>.<format>`, e.g. `256.png`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.max_side, self.format.as_str())
    }

    /// The record's entry for it, stored at `location`.
    pub fn reference(&self, location: impl Into<String>) -> ThumbnailRef {
        ThumbnailRef {
            max_side: self.max_side,
            width: self.width,
            height: self.height,
            format: self.format,
            location: location.into(),
        }
    }
}

/// What to extract and within which limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub limits: Limits,
    /// The thumbnails to make; [`ThumbnailSpec::none`] for none.
    pub thumbnails: ThumbnailSpec,
    /// LibreOffice's `soffice`, to render DOCX files (the first-page thumbnail, and the page count when
    /// `docProps/app.xml` has none); `None` to do without. [`find_office`] looks for it on `PATH`.
    pub office: Option<PathBuf>,
    /// Conversions one LibreOffice makes before it is replaced, kept running in this process between them
    /// (see `office/warm.rs`); 0 starts a LibreOffice for each conversion. Worth it only in a process that
    /// reads many documents: a warm parser process, or a worker reading in-process.
    pub office_conversions: u32,
    /// Also put the text in `record.text` (it is always in [`Extraction::text`]).
    pub keep_text: bool,
    /// Run OCR on images and scanned pages when Tesseract is installed. Off for fuzzing and for benchmarks
    /// of the parsers alone.
    pub ocr: bool,
    /// Password for a document that needs one to open: a PDF (the empty password is always tried first;
    /// without the right one, such a PDF is an `encrypted` error with its page count) or a
    /// password-protected DOCX (without it, or with a wrong one, an `encrypted` error).
    pub password: Option<Password>,
    /// Read PDFs with PDFium when its library is installed (see `scripts/setup`); off to use the lopdf
    /// text walker and pdftoppm, as when the library is missing (tests and comparisons of that path).
    pub pdfium: bool,
    /// Decode arithmetic-coded JPEGs with libjpeg-turbo's `djpeg` (see `scripts/setup`); off for fuzzing,
    /// which starts no external process. Without it such files are `corrupt`.
    pub djpeg: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            thumbnails: ThumbnailSpec::default(),
            office: None,
            office_conversions: 0,
            keep_text: false,
            ocr: true,
            password: None,
            pdfium: true,
            djpeg: true,
        }
    }
}

pub use folio_core::Password;

/// The result of extracting one file. Failures are in `record.error`; there is always a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    pub record: Record,
    /// The full text, paragraphs separated by a blank line (`"\n\n"`). Empty for images and failures.
    pub text: String,
    /// The thumbnails asked for in [`Options::thumbnails`], largest first; empty when none was asked for
    /// or none could be made (a DOCX without LibreOffice, a PDF neither PDFium nor pdftoppm renders). The
    /// caller decides where to store them and fills `record.thumbnails` (and `record.thumbnail`, the
    /// smallest) with those places.
    pub thumbnails: Vec<Thumbnail>,
    /// The document's form, for the book, where its format gives one (DOCX); its texts composed and held to
    /// the text limit as `text` is. Its pictures are named by [`Picture::file_name`].
    pub structure: Option<Structure>,
    pub pictures: Vec<Picture>,
}

impl Extraction {
    /// The smallest thumbnail, when there is one.
    pub fn smallest_thumbnail(&self) -> Option<&Thumbnail> {
        self.thumbnails.iter().min_by_key(|t| t.max_side)
    }
}

/// What a format module found; assembled into a [`Record`] by [`extract_bytes`].
pub(crate) struct Extracted {
    pub pages: Option<u32>,
    pub pages_source: Option<PagesSource>,
    pub frames: Option<u32>,
    pub text: String,
    /// Whether the format has a text layer whose language is worth detecting (not images).
    pub detect_language: bool,
    pub title: Option<String>,
    pub author: Option<String>,
    /// Subject, keywords, dates, producer (PDF metadata; empty for other formats).
    pub info: pdf::info::DocInfo,
    pub ocr: OcrStatus,
    /// What OCR contributed (empty when it did not run).
    pub ocr_found: OcrFound,
    pub dimensions: Option<(u32, u32)>,
    /// The image thumbnails are made from (see [`raster::thumbnail::make_all`]), with its orientation applied:
    /// the image itself, or the first page rendered with its longest side at the largest thumbnail size.
    /// `None` when no thumbnail was asked for or none could be rendered.
    pub preview: Option<DynamicImage>,
    /// Set for a degraded result: the file cannot be read in full (a PDF that needs a password), but what
    /// could be read (its page count) is worth keeping beside the error.
    pub degraded: Option<ExtractError>,
    /// Read only after repairing the file (see [`folio_core::Record::repaired`]).
    pub repaired: bool,
    /// The format it was converted from before it was read (a `.doc`, `.odt` or `.rtf` read as DOCX).
    pub converted_from: Option<Format>,
    /// The document's form (headings, lists, tables, pictures, notes) where its format says it; `None` where
    /// only its text is known.
    pub structure: Option<Structure>,
    /// The pictures `structure` names, in its order.
    pub pictures: Vec<Picture>,
}

/// A picture taken from a document for the book: PNG, its longest side at most
/// [`folio_core::structure::PICTURE_PX`].
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl Picture {
    /// The file name of picture `index` (from 0) as the parser process writes it, and as the structure names it.
    pub fn file_name(index: usize) -> String {
        format!("picture-{}.png", index + 1)
    }
}

/// What OCR contributed to a file: the pages whose text it supplied, the packs it used, its confidence.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct OcrFound {
    /// 1-based pages whose text came from OCR.
    pub pages: Vec<u32>,
    /// Tesseract packs used, in first-use order.
    pub languages: Vec<String>,
    /// Mean word confidence (0 to 1) over the pages whose text was kept; over all OCRed pages when none was.
    pub confidence: Option<f64>,
    /// `(language, detected)` when on every page whose text was kept OCR stood for `language` against the
    /// `detected` one (see [`ocr::PageOcr::read_as`]).
    pub read_as: Option<(&'static str, String)>,
}

impl OcrFound {
    /// Combine the OCR results of pages (`(page number, result)`).
    pub fn from_pages(results: &[(u32, ocr::PageOcr)]) -> Self {
        let mut found = OcrFound::default();
        for (page, r) in results {
            // A page can have several results (its pictures read one by one): listed once.
            if !r.text.is_empty() && !found.pages.contains(page) {
                found.pages.push(*page);
            }
            for lang in &r.languages {
                if !found.languages.contains(lang) {
                    found.languages.push(lang.clone());
                }
            }
        }
        let kept: Vec<&ocr::PageOcr> = results.iter().map(|(_, r)| r).filter(|r| !r.text.is_empty()).collect();
        if let Some(first) = kept.first().and_then(|r| r.read_as.clone()) {
            if kept.iter().all(|r| r.read_as.as_ref() == Some(&first)) {
                found.read_as = Some(first);
            }
        }
        let pool: Vec<&ocr::PageOcr> = if kept.is_empty() { results.iter().map(|(_, r)| r).collect() } else { kept };
        let words: usize = pool.iter().map(|r| r.words).sum();
        if words > 0 {
            let sum: f64 = pool.iter().map(|r| r.confidence * r.words as f64).sum();
            found.confidence = Some((sum / words as f64).clamp(0.0, 1.0));
        }
        found
    }
}

/// Whether the PDFium library could be loaded (see `scripts/setup`); without it PDFs are read with lopdf
/// and rendered with pdftoppm. Loads it on first use.
pub fn pdfium_available() -> bool {
    pdf::pdfium::available()
}

/// Loads what the first document would otherwise load: PDFium, the language tables and word lists (not
/// Tesseract's engines: 130 to 170 ms each, paid by the first document that OCRs, not by a batch of text
/// PDFs that never does). A warm
/// parser process calls it when it starts, before its first request, so that a process started to replace
/// another (after its share of documents) is ready by the time the next document comes.
pub fn warm_up() {
    let _ = pdf::pdfium::available();
    let _ = language::detect("warm up the tables with a sentence of words that is long enough to be read");
}

/// For a warm parser process, which keeps its OCR engines from one document to the next: a document that may
/// be OCRed (an image, a page without text) starts loading the engines its first reading wants on a thread of
/// their own, beside its decoding and look; with `now` (the process it replaces OCRed), the engines a page's
/// first reading wants (OSD, then the Latin pack) start loading at once. A process that reads one document
/// never loads ahead.
pub fn load_ocr_ahead(now: bool) {
    ocr::load_ahead();
    if now {
        ocr::prepare(true);
    }
}

/// Combining marks composed with their letters (Unicode NFC), as text is compared, searched and set: a PDF
/// or an OCR result may give `и` and U+0306 where the author typed `й`. Left as it is when already composed.
fn compose(text: &mut String) {
    use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
    if is_nfc_quick(text.chars()) != IsNormalized::Yes {
        *text = text.nfc().collect();
    }
}

/// Extract a file given as bytes; `name` is recorded as its path. Never panics.
pub fn extract_bytes(name: &str, bytes: &[u8], opts: &Options) -> Extraction {
    let start = Instant::now();
    let format = Format::sniff(bytes);
    let mut record = Record::failed(name, hex::encode(Sha256::digest(bytes)), bytes.len() as u64, placeholder());
    record.format = format.as_str().into();
    record.mime = format.mime().into();

    let outcome = if bytes.len() as u64 > opts.limits.max_file_bytes {
        Err(file_too_large(bytes.len() as u64, &opts.limits))
    } else {
        guarded(|| {
            #[cfg(test)]
            if name == tests::PANIC_NAME {
                panic!("test hook: simulated parser panic");
            }
            let mut found = extract_format(format, bytes, opts)?;
            let thumbnails = match found.preview.take() {
                Some(preview) => raster::thumbnail::make_all(&preview, &opts.thumbnails),
                None => Vec::new(),
            };
            Ok((found, thumbnails))
        })
    };

    let mut text = String::new();
    let mut thumbnails = Vec::new();
    let (mut structure, mut pictures) = (None, Vec::new());
    match outcome {
        Ok((mut found, made)) => {
            compose(&mut found.text);
            if let Some(mut form) = found.structure.take() {
                settle_structure(&mut form, opts.limits.max_text_bytes);
                structure = Some(form);
                pictures = std::mem::take(&mut found.pictures);
            }
            if let Some(found_bytes) = cut_text(&mut found.text, opts.limits.max_text_bytes) {
                record.text_cut_from_bytes = Some(found_bytes);
            }
            record.error = found.degraded;
            record.repaired = found.repaired;
            record.converted_from = found.converted_from.map(|f| f.as_str().to_string());
            record.pages = found.pages;
            record.pages_source = found.pages_source;
            record.frames = found.frames;
            record.words = language::count_words(&found.text);
            if found.detect_language {
                let (mut lang, mut confidence, shares) = language::detect_document(&found.text);
                // OCR read the text better in its own language than in the one detected: OCR's word is taken
                // (at its confidence), detection's few words being the doubtful side.
                if let (Some((read, detected)), Some(ocr_confidence)) =
                    (&found.ocr_found.read_as, found.ocr_found.confidence)
                {
                    if *detected == lang {
                        lang = read.to_string();
                        confidence = ocr_confidence;
                    }
                }
                record.language = Some(lang);
                record.language_confidence = Some(confidence);
                record.language_shares = shares;
            }
            record.title = found.title;
            record.author = found.author;
            record.subject = found.info.subject;
            record.keywords = found.info.keywords;
            record.created = found.info.created;
            record.modified = found.info.modified;
            record.producer = found.info.producer;
            record.ocr = found.ocr;
            record.ocr_pages = found.ocr_found.pages;
            record.ocr_languages = found.ocr_found.languages;
            record.ocr_confidence = found.ocr_found.confidence;
            record.dimensions = found.dimensions;
            if opts.keep_text {
                record.text = Some(found.text.clone());
            }
            text = found.text;
            thumbnails = made;
        }
        Err(e) => record.error = Some(e),
    }
    record.elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    Extraction { record, text, thumbnails, structure, pictures }
}

/// A structure's texts composed as the text is ([`compose`], notes kept where they stand), its blocks held
/// to the bounds of [`Structure::cut`] and their texts together to `limit` bytes, as the text is.
fn settle_structure(structure: &mut Structure, limit: u64) {
    fn compose_text(text: &mut Text) {
        if text.notes.is_empty() {
            return compose(&mut text.text);
        }
        let mut composed = String::with_capacity(text.text.len());
        let mut notes = Vec::with_capacity(text.notes.len());
        for (piece, note) in text.pieces() {
            let mut piece = piece.to_string();
            compose(&mut piece);
            composed.push_str(&piece);
            if let Some(note) = note {
                let mut note = note.to_string();
                compose(&mut note);
                notes.push(folio_core::structure::Note { at: composed.len(), text: note });
            }
        }
        *text = Text { text: composed, notes };
    }
    structure.cut();
    let mut total = 0u64;
    let mut keep = structure.blocks.len();
    for (i, block) in structure.blocks.iter_mut().enumerate() {
        match block {
            Block::Paragraph(text) | Block::ListItem { text, .. } => compose_text(text),
            Block::Heading { text, .. } | Block::Picture { caption: text, .. } => compose(text),
            Block::Table { rows } => rows.iter_mut().flatten().flatten().for_each(compose),
        }
        total += block.paragraphs().iter().map(|p| p.len() as u64).sum::<u64>();
        if total > limit {
            keep = i;
            break;
        }
    }
    structure.blocks.truncate(keep);
}

/// Cuts `text` to at most `limit` bytes: at the last paragraph break in the last 64 KiB before the limit
/// when there is one, else at the last character boundary. Returns the length it had when it was cut.
pub fn cut_text(text: &mut String, limit: u64) -> Option<u64> {
    let found = text.len() as u64;
    if found <= limit {
        return None;
    }
    let mut end = usize::try_from(limit).unwrap_or(usize::MAX).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let window = end.saturating_sub(64 * 1024);
    if let Some(at) = text[..end].rfind("\n\n").filter(|at| *at >= window && *at > 0) {
        end = at;
    }
    text.truncate(end);
    Some(found)
}

/// Extract a file from disk. A file larger than `max_file_bytes` is refused from its metadata, without
/// reading it (its `sha256` is then empty; its format is sniffed from the first bytes only).
pub fn extract_path(path: &Path, opts: &Options) -> Extraction {
    let name = path.to_string_lossy().into_owned();
    let io_failure = |e: std::io::Error| Extraction {
        record: Record::failed(
            name.clone(),
            String::new(),
            0,
            ExtractError::new(ExtractErrorKind::Io, format!("cannot read {}: {e}", path.display())),
        ),
        text: String::new(),
        thumbnails: Vec::new(),
        structure: None,
        pictures: Vec::new(),
    };
    let len = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m.len(),
        Ok(_) => return io_failure(std::io::Error::other("not a regular file")),
        Err(e) => return io_failure(e),
    };
    if len > opts.limits.max_file_bytes {
        let mut head = Vec::new();
        if let Ok(f) = std::fs::File::open(path) {
            let _ = f.take(64 * 1024).read_to_end(&mut head);
        }
        let format = Format::sniff(&head);
        let mut record = Record::failed(name, String::new(), len, file_too_large(len, &opts.limits));
        record.format = format.as_str().into();
        record.mime = format.mime().into();
        return Extraction {
            record,
            text: String::new(),
            thumbnails: Vec::new(),
            structure: None,
            pictures: Vec::new(),
        };
    }
    match std::fs::read(path) {
        Ok(bytes) => extract_bytes(&name, &bytes, opts),
        Err(e) => io_failure(e),
    }
}

/// Decode any supported image (EXIF orientation applied), downscale it so its longest side is at most
/// `max_side`, and encode it as PNG. Returns the PNG with its width and height. For the book's figures.
pub fn display_image(bytes: &[u8], max_side: u32, limits: &Limits) -> Result<(Vec<u8>, u32, u32), ExtractError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(file_too_large(bytes.len() as u64, limits));
    }
    guarded(|| {
        let img = raster::decode(bytes, limits, true)?;
        raster::thumbnail::png_fit(&img, max_side)
    })
}

/// Entry points for the fuzz targets in `fuzz/` (not a public API). They run one format's extraction
/// WITHOUT the `catch_unwind` guard of [`extract_bytes`], so that a panic reaches the fuzzer instead of
/// becoming a `crashed` record. Options are [`fuzzing::options`]: no thumbnail, no OCR, no LibreOffice and
/// no djpeg, so no external process (pdftoppm, tesseract, soffice, djpeg) is started, and no PDFium, so the PDF target
/// exercises our lopdf path rather than an uninstrumented C++ library. Results are discarded; only panics,
/// hangs and memory matter.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// The options every target uses: default limits, no thumbnail, no OCR, no PDFium, no LibreOffice, no
    /// djpeg. A password is given, so that a password-protected DOCX goes through the container and
    /// `EncryptionInfo` parsers, with hash iterations capped low (a file asking for more, Standard
    /// encryption's 50,000 included, is refused before hashing) to keep executions fast.
    pub fn options() -> Options {
        Options {
            limits: Limits { max_spin_count: 1000, ..Limits::default() },
            thumbnails: ThumbnailSpec::none(),
            office: None,
            ocr: false,
            password: Some(Password::new("folio-fuzz")),
            pdfium: false,
            djpeg: false,
            ..Options::default()
        }
    }

    /// The PDF path (lopdf, xref repair, our text walker, metadata), whatever the bytes sniff as.
    pub fn pdf(bytes: &[u8]) {
        finish(pdf::extract(bytes, &options()));
    }

    /// The DOCX path (zip, quick-xml walkers), whatever the bytes sniff as.
    pub fn docx(bytes: &[u8]) {
        finish(office::docx::extract(bytes, &options()));
    }

    /// The image path. Bytes that sniff as an image go through [`raster::extract`] as in production (GIF
    /// frame counting and the TIFF directory walk depend on the format); anything else is still handed to
    /// the decoder, which guesses the format on its own.
    pub fn image(bytes: &[u8]) {
        let format = Format::sniff(bytes);
        match format {
            Format::Jpeg | Format::Png | Format::Tiff | Format::Webp | Format::Gif => {
                finish(raster::extract(bytes, format, &options()))
            }
            _ => {
                let _ = raster::decode(bytes, &options().limits, options().djpeg);
            }
        }
    }

    /// What [`extract_bytes`] does with a result that is not done by the format modules: word count and
    /// language detection run on the extracted text, so they are fuzzed with it.
    fn finish(result: Result<Extracted, ExtractError>) {
        if let Ok(found) = result {
            let _ = language::count_words(&found.text);
            if found.detect_language {
                let _ = language::detect_document(&found.text);
            }
        }
    }
}

fn extract_format(format: Format, bytes: &[u8], opts: &Options) -> Result<Extracted, ExtractError> {
    match format {
        Format::Pdf => pdf::extract(bytes, opts),
        Format::Docx => office::docx::extract(bytes, opts),
        Format::Jpeg | Format::Png | Format::Tiff | Format::Webp | Format::Gif => raster::extract(bytes, format, opts),
        Format::Doc | Format::Odt | Format::Rtf => office::legacy::extract(bytes, format, opts),
        Format::Unknown => Err(unsupported(bytes)),
    }
}

/// Run `f`, turning a panic into an error of kind `crashed`.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, ExtractError>) -> Result<T, ExtractError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::warn!("parser panicked: {what}");
            Err(ExtractError::new(ExtractErrorKind::Crashed, format!("the parser crashed: {what}")))
        }
    }
}

fn placeholder() -> ExtractError {
    ExtractError::new(ExtractErrorKind::Crashed, "extraction did not finish")
}

fn file_too_large(len: u64, limits: &Limits) -> ExtractError {
    ExtractError::new(
        ExtractErrorKind::TooLarge,
        format!("the file is {len} bytes, more than the limit of {} bytes (max_file_bytes)", limits.max_file_bytes),
    )
}

/// An `unsupported_format` error that says what the file seems to be, where we can tell.
fn unsupported(bytes: &[u8]) -> ExtractError {
    let what = if sniff::is_ole2(bytes) {
        "a legacy Office file (OLE2, e.g. .doc: neither it nor its RC4 or XOR password protection is read); \
         save it as .docx or PDF"
    } else if bytes.starts_with(b"PK\x03\x04") {
        "a zip archive that is not a Word document (no word/document.xml)"
    } else if bytes.is_empty() {
        "an empty file"
    } else {
        "not PDF, DOCX, JPEG, PNG, TIFF, WebP or GIF"
    };
    ExtractError::new(ExtractErrorKind::UnsupportedFormat, format!("unsupported format: {what}"))
}

#[cfg(test)]
mod tests {

    #[test]
    fn combining_marks_are_composed() {
        let mut text = "сло\u{0301}в Jose\u{0301} й и\u{0306}".to_string();
        compose(&mut text);
        assert_eq!(text, "сло́в José й й");
        let mut plain = "already composed: é".to_string();
        compose(&mut plain);
        assert_eq!(plain, "already composed: é");
    }
    use super::*;

    /// A file name that makes `extract_bytes` panic inside its guard (test builds only).
    pub(super) const PANIC_NAME: &str = "__folio_test_panic__";

    #[test]
    fn a_panic_becomes_crashed() {
        let ex = extract_bytes(PANIC_NAME, b"%PDF-1.4", &Options::default());
        let err = ex.record.error.expect("error");
        assert_eq!(err.kind, ExtractErrorKind::Crashed);
        assert!(err.message.contains("simulated"));
        assert_eq!(ex.record.format, "pdf");
        assert_eq!(ex.record.sha256.len(), 64);
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let opts = Options { password: Some("s3cret-pw".into()), ..Options::default() };
        let shown = format!("{opts:?} {:#?}", opts.password);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("Password(<hidden>)"), "{shown}");
        assert_eq!(opts.password.as_ref().map(Password::as_str), Some("s3cret-pw"));
    }

    #[test]
    fn text_past_the_limit_is_cut_at_a_paragraph_or_a_character() {
        let mut whole = "short".to_string();
        assert_eq!(cut_text(&mut whole, 100), None);
        assert_eq!(whole, "short");
        let mut text = format!("{}\n\n{}", "a".repeat(40), "é".repeat(40));
        let found = text.len() as u64;
        assert_eq!(cut_text(&mut text, 60), Some(found));
        assert_eq!(text, "a".repeat(40), "cut at the paragraph break before the limit");
        let mut one = "é".repeat(50);
        assert_eq!(cut_text(&mut one, 11), Some(100));
        assert_eq!(one, "é".repeat(5), "never inside a character");
    }

    #[test]
    fn a_docx_with_more_text_than_the_limit_is_kept_cut_and_says_so() {
        let paragraph = format!("<w:p><w:r><w:t>{}</w:t></w:r></w:p>", "word ".repeat(200));
        let body = format!(
            "<?xml version=\"1.0\"?><w:document xmlns:w=\"w\"><w:body>{}</w:body></w:document>",
            paragraph.repeat(2000)
        );
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("[Content_Types].xml", options).unwrap();
        std::io::Write::write_all(&mut zip, b"<Types/>").unwrap();
        zip.start_file("word/document.xml", options).unwrap();
        std::io::Write::write_all(&mut zip, body.as_bytes()).unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let limits = Limits { max_text_bytes: 100_000, ..Limits::default() };
        let opts = Options { limits, thumbnails: ThumbnailSpec::none(), ..Options::default() };
        let ex = extract_bytes("big.docx", &bytes, &opts);
        assert!(ex.record.error.is_none(), "{:?}", ex.record.error);
        assert!(ex.text.len() <= 100_000 && ex.text.len() > 90_000, "{}", ex.text.len());
        assert!(ex.record.text_cut_from_bytes.is_some_and(|n| n > 1_000_000), "{:?}", ex.record.text_cut_from_bytes);
        assert!(ex.record.words < 20_000, "words are counted on the text kept: {}", ex.record.words);

        let tight = Limits { max_zip_total_bytes: 1_000_000, ..Limits::default() };
        let ex = extract_bytes("big.docx", &bytes, &Options { limits: tight, ..opts });
        let error = ex.record.error.expect("over the package's total");
        assert_eq!(error.kind, ExtractErrorKind::TooLarge);
        assert!(error.message.contains("max_zip_total_bytes"), "{}", error.message);
    }

    #[test]
    fn guarded_passes_results_through() {
        assert_eq!(guarded(|| Ok(3)), Ok(3));
        let e = guarded::<()>(|| panic!("{}", String::from("boom"))).unwrap_err();
        assert_eq!(e.kind, ExtractErrorKind::Crashed);
        assert!(e.message.contains("boom"));
    }
}
