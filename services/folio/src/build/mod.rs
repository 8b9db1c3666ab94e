//! Building the catalogue: once every chapter has cleared processing, the rules are checked (`inputs`), the
//! bundle is assembled (`assemble`: the book, the manifest, the report) and zipped for download (`zip`); the
//! coordinator's sweep (`sweep`) claims and builds each change once and announces it (events, `webhook`).

pub mod assemble;
pub mod inputs;
pub mod sweep;
pub mod webhook;
pub mod zip;
