//! Office documents: DOCX (its text, its encryption, the OLE2 container a protected one comes in) and their
//! renderings through LibreOffice.

pub(crate) mod cfb;
pub(crate) mod crypto;
pub(crate) mod docx;
pub(crate) mod legacy;
pub(crate) mod render;
pub(crate) mod warm;
pub(crate) mod wordml;
