//! Where Folio keeps things, behind traits chosen by URL: the database of records ([`Store`]), the blob store
//! of files ([`BlobStore`]) and the queue of work requests ([`WorkQueue`]). The embedded default is SQLite, a
//! local folder and an in-process queue; the cluster engines (PostgreSQL for records, RabbitMQ for work) implement
//! the same traits.

pub mod blob;
pub mod queue;
pub mod repo;
pub mod sql;

pub use blob::s3::S3BlobStore;
pub use blob::{BlobError, BlobStore, FileBlobStore};
pub use queue::amqp::{AmqpOptions, AmqpQueue};
pub use queue::{CatalogueAssembled, Delivery, InProcessQueue, Message, QueueError, WorkQueue, WorkRequest};
pub use repo::{
    BuildRow, BuildState, Builds, CatalogueRow, Catalogues, ChapterProgress, Claim, DecisionKey, Editorial,
    FindingSource, FinishedBuild, IntakeSnapshot, Leases, Reconciled, RecordSummary, Records, Store, StoreError,
    StoredRecord, UploadKey, UploadKeys,
};
pub use sql::postgres::PostgresStore;
pub use sql::sqlite::SqliteStore;

use std::sync::Arc;

/// Creates a folder (and its parents) that only this user may enter (0700): the embedded default's data
/// folder holds the database and every original.
pub(crate) fn create_private_dir(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)
}

/// Opens the database named by a URL, bringing its schema up to date: `sqlite://PATH` (created when missing),
/// `sqlite::memory:`, or `postgres://USER@HOST/DATABASE` (also `postgresql://`; the database must exist).
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(folio_core::redact::url(url)))
    }
}

/// Opens the blob store named by a URL: `file://PATH` (created when missing), a plain path, or
/// `s3://BUCKET[/PREFIX][?endpoint=URL&region=NAME]` (S3-compatible object storage, see [`s3`]).
pub fn open_blobs(url: &str) -> Result<Arc<dyn BlobStore>, BlobError> {
    if let Some(path) = url.strip_prefix("file://") {
        Ok(Arc::new(FileBlobStore::new(path)?))
    } else if url.starts_with("s3://") {
        Ok(Arc::new(S3BlobStore::open(url)?))
    } else if !url.contains("://") {
        Ok(Arc::new(FileBlobStore::new(url)?))
    } else {
        Err(BlobError::UnsupportedUrl(url.to_string()))
    }
}

/// Opens the queue named by a URL: `memory://` is the in-process queue; `amqp://USER:PASSWORD@HOST:PORT/VHOST`
/// (query parameters in docs/CONFIGURATION.md) is RabbitMQ, which this consumer asks for at most `prefetch`
/// unacknowledged messages at once (the worker's concurrency).
pub async fn open_queue(url: &str, prefetch: u16) -> Result<Arc<dyn WorkQueue>, QueueError> {
    if url == "memory://" || url == "memory" {
        Ok(Arc::new(InProcessQueue::new()))
    } else if url.starts_with("amqp://") || url.starts_with("amqps://") {
        Ok(Arc::new(AmqpQueue::open(url, prefetch).await?))
    } else {
        Err(QueueError::UnsupportedUrl {
            url: folio_core::redact::url(url),
            hint: "use memory:// (in-process) or amqp://USER:PASSWORD@HOST:PORT/VHOST (RabbitMQ)",
        })
    }
}
