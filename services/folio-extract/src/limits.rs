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
    /// Deepest XML element nesting we accept.
    pub max_xml_depth: u32,
    /// Deepest nesting of PDF objects where we walk them ourselves.
    pub max_pdf_depth: u32,
    /// Wall-clock limit for external renderers (pdftoppm).
    pub render_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 256 * 1024 * 1024,
            max_pages: 5000,
            max_image_pixels: 120_000_000,
            max_zip_entry_bytes: 256 * 1024 * 1024,
            max_zip_ratio: 200,
            max_xml_depth: 256,
            max_pdf_depth: 64,
            render_timeout: Duration::from_secs(30),
        }
    }
}
