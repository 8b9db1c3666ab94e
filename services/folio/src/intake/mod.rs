//! Taking contributions in: a folder read whole (`folio process`, the intake of a catalogue) or one upload at a
//! time (the gateway, or `folio.upload.v1` on the queue). Either way the files go to the blob store, the
//! catalogue's rows to the database, and a work request per document to the queue.

pub mod folder;
pub mod uploads;
