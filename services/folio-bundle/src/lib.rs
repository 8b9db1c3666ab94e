//! The bundle Folio hands to editors and printers: the book itself (DOCX to edit, PDF to read), an HTML
//! report of what went in and what was left out, and `manifest.json` describing every file.
//!
//! The coordinator decides what the book contains (a [`Book`]); this crate only renders it. Every renderer is
//! deterministic: the same input gives the same bytes, so a bundle can be checked by its hashes.

pub mod changes;
pub mod classification;
pub mod docx;
pub mod error;
pub mod manifest;
pub mod model;
pub mod pdf;
pub mod plan;
pub mod report;
pub mod signature;
pub mod verify;

pub use docx::render_docx;
pub use error::BundleError;
pub use model::{Block, Book, BookChapter, BookEntry, Figure, PlacedPdf, EMPTY_CHAPTER_NOTE};
pub use pdf::render_pdf;
