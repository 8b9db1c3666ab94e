//! What can go wrong while rendering a bundle.

/// An error rendering the book or the report. Messages name the part that failed, for the editor's log.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A figure whose bytes are not the PNG the model promises.
    #[error("figure {figure} of '{entry}' is not a PNG image: {reason}")]
    Figure { entry: String, figure: usize, reason: String },
    /// The DOCX writer failed.
    #[error("writing the DOCX failed: {0}")]
    Docx(String),
    /// Typst rejected the book; each message is one diagnostic (with hints), in Typst's order.
    #[error("typesetting the PDF failed: {}", .0.join("; "))]
    Typeset(Vec<String>),
    /// The PDF writer failed after typesetting succeeded.
    #[error("writing the PDF failed: {}", .0.join("; "))]
    Pdf(Vec<String>),
    /// The book's date cannot be represented in the output format.
    #[error("the date {0} cannot be written into the document")]
    Date(chrono::NaiveDate),
    /// Serialising the book data for the typesetter failed.
    #[error("serialising the book failed: {0}")]
    Json(#[from] serde_json::Error),
}
