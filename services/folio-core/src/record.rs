//! What extraction found in one file: the record stored for a document, and the line `folio extract --json`
//! prints. Field names here are a contract with front ends and scripts (see docs/EXTRACT.md): add fields,
//! never rename or remove one.

use serde::{Deserialize, Serialize};

/// Where a page count came from, so that nobody mistakes an estimate for a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PagesSource {
    /// Counted in the file's own structure (PDF page tree).
    Counted,
    /// Read from metadata the producing application wrote (DOCX `docProps/app.xml`).
    Metadata,
    /// Estimated from the amount of text (about 500 words a page).
    Estimate,
    /// Counted in a rendering of the document (a DOCX without a page count in `docProps/app.xml`, converted
    /// to PDF by LibreOffice).
    Rendered,
    /// An image: one page (a multi-frame image still counts one page; `frames` says how many frames).
    Image,
}

/// The image format of a thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThumbnailFormat {
    /// PNG: lossless, read everywhere.
    #[default]
    Png,
    /// WebP. Lossless too (the encoder Folio uses writes only lossless WebP); smaller than PNG for pages
    /// and drawings, often larger for photographs.
    Webp,
}

impl ThumbnailFormat {
    /// The name in settings and JSON, which is also the file extension: `png`, `webp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }
}

impl std::fmt::Display for ThumbnailFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ThumbnailFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "png" => Ok(Self::Png),
            "webp" => Ok(Self::Webp),
            other => Err(format!("unknown thumbnail format '{other}': use png or webp")),
        }
    }
}

/// Where one thumbnail of a document is, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailRef {
    /// The size asked for: the longest side is at most this many pixels (smaller when the original is; a
    /// thumbnail is never upscaled).
    pub max_side: u32,
    pub width: u32,
    pub height: u32,
    pub format: ThumbnailFormat,
    /// Where it is: a blob key in the store, a bundle-relative path in a manifest, a file path from
    /// `folio extract --thumbnails`.
    pub location: String,
}

/// Whether the text of a file came, or must come, from optical character recognition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OcrStatus {
    /// The file's text layer was enough.
    NotNeeded,
    /// The file has pages or pictures without a usable text layer, and no OCR was run on them.
    Needed,
    /// OCR was run and its text is in the record.
    Applied,
    /// A text layer did not say what its page shows (an OCR layer made with the wrong language or a poor
    /// engine): OCR of the page replaced it.
    Redone,
}

/// A stable, machine-readable class of extraction failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtractErrorKind {
    /// Not a format Folio reads (sniffed from the content, not the name).
    UnsupportedFormat,
    /// The file is damaged or not what it claims to be.
    Corrupt,
    /// Locked behind a password Folio does not have.
    Encrypted,
    /// Past a named limit: file size, pixels, pages, zip ratio, nesting depth.
    TooLarge,
    /// Took longer than the time limit.
    Timeout,
    /// The parser crashed (a panic or an abort); the worker survived.
    Crashed,
    /// The parser ran out of its memory allowance.
    OutOfMemory,
    /// The file could not be read at all (missing, permissions).
    Io,
}

impl ExtractErrorKind {
    /// Whether the parser process died (crash, out of memory, out of time) rather than judging the file: the
    /// worker tries such a document again, up to its attempts.
    pub fn is_parser_death(self) -> bool {
        matches!(self, Self::Timeout | Self::Crashed | Self::OutOfMemory)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnsupportedFormat => "unsupported_format",
            Self::Corrupt => "corrupt",
            Self::Encrypted => "encrypted",
            Self::TooLarge => "too_large",
            Self::Timeout => "timeout",
            Self::Crashed => "crashed",
            Self::OutOfMemory => "out_of_memory",
            Self::Io => "io",
        }
    }
}

/// An extraction error: its class and a sentence a person understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}: {message}", kind.as_str())]
pub struct ExtractError {
    pub kind: ExtractErrorKind,
    pub message: String,
}

impl ExtractError {
    pub fn new(kind: ExtractErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

/// What extraction found in one file. Fields that could not be determined are `null` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The path or name the file was given under.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// Sniffed format: `pdf`, `docx`, `jpeg`, `png`, `tiff`, `webp`, `gif`, or `unknown`.
    pub format: String,
    /// The MIME type of the sniffed format.
    pub mime: String,
    pub pages: Option<u32>,
    pub pages_source: Option<PagesSource>,
    /// Frames of a multi-frame image (GIF, TIFF); `null` for everything else.
    #[serde(default)]
    pub frames: Option<u32>,
    /// ISO 639-1 code where one exists, else ISO 639-3; `und` when there is too little text to tell.
    pub language: Option<String>,
    /// 0 to 1.
    pub language_confidence: Option<f64>,
    pub words: u64,
    pub title: Option<String>,
    pub author: Option<String>,
    pub ocr: OcrStatus,
    /// 1-based page numbers whose text came from OCR rather than the file's text layer (an image is page 1).
    /// Empty when OCR supplied no text; absent in records made before OCR existed.
    #[serde(default)]
    pub ocr_pages: Vec<u32>,
    /// Tesseract language packs OCR used (e.g. `["spa"]`), so a reader can judge a result in a language
    /// the packs do not cover.
    #[serde(default)]
    pub ocr_languages: Vec<String>,
    /// Mean OCR word confidence, 0 to 1, over the pages whose text was kept (over all OCRed pages when none
    /// was, which says why nothing was kept); `null` when OCR did not run or found no words.
    #[serde(default)]
    pub ocr_confidence: Option<f64>,
    /// Where the smallest thumbnail was written, when one was asked for and made (the first field of its
    /// kind, kept for readers that know only it; `thumbnails` lists every size).
    pub thumbnail: Option<String>,
    /// Every thumbnail made, largest first; empty when none was asked for or made, and in records made
    /// before there were several sizes.
    #[serde(default)]
    pub thumbnails: Vec<ThumbnailRef>,
    /// Where the document's form was written (its headings, lists, tables, pictures and notes, as
    /// [`crate::structure::Structure`] JSON), for the book; absent for a format that gives none (a PDF, an
    /// image) and in records made before there was one. Left out of bundles' manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure: Option<String>,
    /// Width and height in pixels of the original image or of the first page as rendered.
    #[serde(default)]
    pub dimensions: Option<(u32, u32)>,
    pub error: Option<ExtractError>,
    /// The extracted text; printed by `folio extract` only with `--text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Milliseconds spent extracting. A measurement of one run, not a fact of the document: bundles leave it
    /// out (0, not written), so that the same inputs give the same manifest.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub elapsed_ms: u64,
    /// The languages of a text by share of its words, largest first, from paragraph-by-paragraph detection
    /// (paragraphs too short to tell are left out). One entry for a text in one language; empty when no
    /// paragraph could be told.
    #[serde(default)]
    pub language_shares: Vec<LanguageShare>,
    /// Peak resident memory of the parser process while it read this document, and of the tools it ran for
    /// it (renderer, OCR), in KiB: the larger. A warm parser process's LibreOffice, which serves many
    /// documents, is not counted. Like `elapsed_ms`, left out of bundles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory_kib: Option<u64>,
    /// The document's subject as its metadata gives it (PDF Info `/Subject`); absent in older records.
    #[serde(default)]
    pub subject: Option<String>,
    /// The document's keywords, as one string as written (PDF Info `/Keywords`).
    #[serde(default)]
    pub keywords: Option<String>,
    /// When the document was created (PDF Info `/CreationDate`): ISO 8601 (`2023-04-05T06:07:08+02:00`,
    /// or a date alone) where the value parses, else the value as written.
    #[serde(default)]
    pub created: Option<String>,
    /// When the document was last modified (PDF Info `/ModDate`), as `created`.
    #[serde(default)]
    pub modified: Option<String>,
    /// The software that wrote the file (PDF Info `/Producer`), which explains many extraction quirks.
    #[serde(default)]
    pub producer: Option<String>,
    /// When the text found was longer than the limit on text kept per document (`extract.max_text_mib`):
    /// how many bytes were found. The text kept is its first part, cut at a paragraph or character boundary;
    /// absent when the text is whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_cut_from_bytes: Option<u64>,
    /// The file was damaged and read only after a repair (a PDF whose cross-reference table had to be
    /// rebuilt, as poppler or qpdf would refuse it): what was read may be short of what the author sent.
    /// Absent when no repair was needed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub repaired: bool,
    /// The format the file was converted from before it was read: `doc`, `odt` or `rtf`, read through
    /// LibreOffice as DOCX (pages, text and thumbnails as for a DOCX). Absent for files read as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converted_from: Option<String>,
}

/// One language's part of a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageShare {
    /// As in [`Record::language`].
    pub language: String,
    /// Share of the words of the paragraphs that could be told, 0 to 1.
    pub share: f64,
}

impl Record {
    /// A record for a file that could not be read at all.
    pub fn failed(path: impl Into<String>, sha256: String, bytes: u64, error: ExtractError) -> Self {
        Self {
            path: path.into(),
            sha256,
            bytes,
            format: "unknown".into(),
            mime: "application/octet-stream".into(),
            pages: None,
            pages_source: None,
            frames: None,
            language: None,
            language_confidence: None,
            words: 0,
            title: None,
            author: None,
            ocr: OcrStatus::NotNeeded,
            ocr_pages: Vec::new(),
            ocr_languages: Vec::new(),
            ocr_confidence: None,
            thumbnail: None,
            thumbnails: Vec::new(),
            structure: None,
            dimensions: None,
            error: Some(error),
            text: None,
            elapsed_ms: 0,
            language_shares: Vec::new(),
            peak_memory_kib: None,
            subject: None,
            keywords: None,
            created: None,
            modified: None,
            text_cut_from_bytes: None,
            repaired: false,
            converted_from: None,
            producer: None,
        }
    }

    pub fn is_image(&self) -> bool {
        matches!(self.format.as_str(), "jpeg" | "png" | "tiff" | "webp" | "gif")
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_serialises_as_kind_and_message() {
        let rec = Record::failed("x.bin", "ab".into(), 2, ExtractError::new(ExtractErrorKind::UnsupportedFormat, "no"));
        let v = serde_json::to_value(&rec).unwrap();
        assert_eq!(v["error"]["kind"], "unsupported_format");
        assert_eq!(v["error"]["message"], "no");
        assert!(v.get("text").is_none(), "text is only printed when asked for");
        for key in [
            "path",
            "sha256",
            "bytes",
            "format",
            "mime",
            "pages",
            "pages_source",
            "language",
            "language_confidence",
            "words",
            "title",
            "author",
            "ocr",
            "thumbnail",
            "thumbnails",
            "error",
        ] {
            assert!(v.get(key).is_some(), "contract field {key} missing");
        }
    }

    #[test]
    fn thumbnails_round_trip_and_old_records_read() {
        let mut rec = Record::failed("x.pdf", "ab".into(), 2, ExtractError::new(ExtractErrorKind::Corrupt, "no"));
        rec.pages_source = Some(PagesSource::Rendered);
        rec.thumbnails = vec![ThumbnailRef {
            max_side: 256,
            width: 181,
            height: 256,
            format: ThumbnailFormat::Webp,
            location: "thumbnails/x/256.webp".into(),
        }];
        let v = serde_json::to_value(&rec).unwrap();
        assert_eq!(v["pages_source"], "rendered");
        assert_eq!(v["thumbnails"][0]["format"], "webp");
        assert_eq!(v["thumbnails"][0]["max_side"], 256);
        let back: Record = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, rec);
        // A record stored before `thumbnails` existed still reads.
        let mut old = v;
        old.as_object_mut().unwrap().remove("thumbnails");
        let back: Record = serde_json::from_value(old).unwrap();
        assert!(back.thumbnails.is_empty());
        assert_eq!("WebP".parse::<ThumbnailFormat>(), Ok(ThumbnailFormat::Webp));
        assert!("gif".parse::<ThumbnailFormat>().is_err());
    }
}
