//! Folio's domain: the catalogue and its rules, chapters, contributions, the documents they are made of,
//! what extraction found in each document (the record), and the findings editors act on.
//!
//! This crate has no I/O beyond parsing the intake files it is handed; every other crate speaks its types.

pub mod bounded;
pub mod catalogue;
pub mod classify;
pub mod domain;
pub mod duplicates;
pub mod intake;
pub mod record;
pub mod redact;
pub mod rules;
pub mod structure;
pub mod trace;
pub mod upload;

pub use catalogue::{CatalogueConfig, ChapterConfig, RuleSettings};
pub use domain::*;
pub use record::{
    ExtractError, ExtractErrorKind, LanguageShare, OcrStatus, PagesSource, Record, ThumbnailFormat, ThumbnailRef,
};
