//! Resource limits for extraction. Every parser is fed hostile input sooner or later; each limit names one
//! way a small file can demand a large amount of memory or time, so that we can refuse it with `too_large`
//! instead of running out of memory.

use std::time::Duration;

/// Bounds on what one file may make the extractor do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest input file, in bytes.
    pub max_file_bytes: u64,
    /// Most pages a document may have (PDF page tree); also caps frame counting in animations.
    pub max_pages: u32,
    /// Most pixels (width × height) of a decoded image.
    pub max_image_pixels: u64,
    /// Largest decompressed size of one zip part (DOCX).
    pub max_zip_entry_bytes: u64,
    /// Largest ratio decompressed / compressed of one zip part: the signature of a zip bomb.
    pub max_zip_ratio: u64,
    /// Largest decompressed size of all the parts read from one zip package (DOCX) together.
    pub max_zip_total_bytes: u64,
    /// Most text kept of one document, in bytes of UTF-8: past it the text is cut (at a paragraph break
    /// where one is near, else at a character boundary) and the record says how much was found
    /// (`text_cut_from_bytes`). Words and language are counted on the text kept.
    pub max_text_bytes: u64,
    /// Deepest XML element nesting we accept.
    pub max_xml_depth: u32,
    /// Deepest nesting of PDF objects where we walk them ourselves.
    pub max_pdf_depth: u32,
    /// Wall-clock limit for external renderers (pdftoppm) and decoders (djpeg, for arithmetic-coded JPEGs).
    pub render_timeout: Duration,
    /// Wall-clock limit for LibreOffice's conversion of one DOCX to PDF (its first start with a fresh
    /// profile included). Past it, the DOCX keeps its record without a rendering.
    pub office_timeout: Duration,
    /// Wall-clock limit for OCR of one page or image (script detection and every recognition pass).
    pub ocr_timeout: Duration,
    /// Most pixels of an image fed to OCR; larger images and pages are downscaled first (OCR time grows
    /// with the pixels, and 40 million is an A4 page at 600 dpi).
    pub max_ocr_pixels: u64,
    /// Most pages of one document that are OCRed (pages without a text layer, in page order).
    pub max_ocr_pages: u32,
    /// Most hash iterations (`spinCount`) a password-protected OOXML file may ask for to turn the password
    /// into its key. MS-OFFCRYPTO caps it at 10 million; Office writes 100,000
    /// (Agile), and Standard encryption always takes 50,000.
    pub max_spin_count: u32,
}

impl Limits {
    /// The default limit on text kept per document: 8 MiB, about 2.8 times the 2.85 MiB of text of the
    /// largest real book in the development corpus (`tl-base__source2e.pdf`, 1,221 pages, measured with
    /// `folio extract --json --text`), and far more than a contribution of at most 10 pages holds.
    pub const DEFAULT_MAX_TEXT_BYTES: u64 = 8 * 1024 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 256 * 1024 * 1024,
            max_pages: 5000,
            max_image_pixels: 120_000_000,
            max_zip_entry_bytes: 256 * 1024 * 1024,
            max_zip_ratio: 200,
            max_zip_total_bytes: 512 * 1024 * 1024,
            max_text_bytes: Self::DEFAULT_MAX_TEXT_BYTES,
            max_xml_depth: 256,
            max_pdf_depth: 64,
            render_timeout: Duration::from_secs(30),
            office_timeout: Duration::from_secs(60),
            ocr_timeout: Duration::from_secs(60),
            max_ocr_pixels: 40_000_000,
            max_ocr_pages: 50,
            max_spin_count: 10_000_000,
        }
    }
}
