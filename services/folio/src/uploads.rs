//! Taking an upload in: one contribution and its files, from the gateway's HTTP API or from a
//! `folio.upload.v1` message on the work queue. The same steps either way: check the metadata against the
//! call, store each original in the blob store by its checksum, add the contribution and its documents to
//! the database (idempotent: a retried or redelivered upload adds nothing), and ask for work on every
//! document not finished.

use folio_core::upload::{catalogue_id_for_key, clean_file_name, is_catalogue_key, ContributionFields, UploadFile};
use folio_core::{Document, DocumentState};
use folio_store::{BlobError, BlobStore, QueueError, Store, StoreError, WorkQueue, WorkRequest};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The most files one upload may carry.
pub const MAX_FILES: usize = 50;

/// A file of an upload, with its content.
pub struct IncomingFile {
    /// As the front end sent it; cleaned before it is stored.
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What an upload became.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Accepted {
    pub catalogue_id: Uuid,
    pub contribution_id: Uuid,
    /// False when the same contribution was already there (a retried upload).
    pub created: bool,
    pub documents: Vec<AcceptedDocument>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AcceptedDocument {
    pub id: Uuid,
    /// The name it is stored under (the front end's, cleaned).
    pub file_name: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// What was sent breaks the contract or the call: each problem is a sentence for the person uploading.
    #[error("the upload was refused: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("there is no catalogue '{0}'")]
    UnknownCatalogue(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl UploadError {
    /// Whether the same upload may succeed later (a database, blob store or broker that is down).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Invalid(_) | Self::UnknownCatalogue(_) => false,
            Self::Store(e) => e.is_retryable(),
            Self::Blob(e) => e.is_retryable(),
            Self::Queue(e) => e.is_retryable(),
        }
    }
}

/// The files of a queued upload, with their content: decoded when inline, read from the blob store when the
/// front end put them there.
pub async fn resolve_files(blobs: &dyn BlobStore, files: &[UploadFile]) -> Result<Vec<IncomingFile>, UploadError> {
    use base64::Engine as _;
    let mut resolved = Vec::with_capacity(files.len());
    let mut problems = Vec::new();
    for file in files {
        match (&file.content_base64, &file.blob_key) {
            (Some(content), None) => match base64::engine::general_purpose::STANDARD.decode(content.trim()) {
                Ok(bytes) if bytes.len() > folio_core::upload::MAX_INLINE_BYTES => problems.push(format!(
                    "'{}' is {} bytes, more than a message carries inline ({} bytes): put it in the blob store and send its `blob_key`",
                    file.name,
                    bytes.len(),
                    folio_core::upload::MAX_INLINE_BYTES
                )),
                Ok(bytes) => resolved.push(IncomingFile { name: file.name.clone(), bytes }),
                Err(e) => problems.push(format!("'{}' has `content_base64` that is not base64 ({e})", file.name)),
            },
            (None, Some(key)) => match blobs.get(key).await {
                Ok(bytes) => resolved.push(IncomingFile { name: file.name.clone(), bytes }),
                Err(e) if e.is_retryable() => return Err(e.into()),
                Err(e) => problems.push(format!("'{}': its blob '{key}' cannot be read ({e})", file.name)),
            },
            _ => problems.push(format!("'{}' needs exactly one of `content_base64` and `blob_key`", file.name)),
        }
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(UploadError::Invalid(problems))
    }
}

/// Takes one upload in (see the module's documentation).
pub async fn accept(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    queue: &dyn WorkQueue,
    catalogue_key: &str,
    fields: &ContributionFields,
    files: Vec<IncomingFile>,
) -> Result<Accepted, UploadError> {
    if !is_catalogue_key(catalogue_key) {
        return Err(UploadError::UnknownCatalogue(catalogue_key.chars().take(80).collect()));
    }
    let catalogue_id = catalogue_id_for_key(catalogue_key);
    let Some(catalogue) = store.catalogue(catalogue_id).await? else {
        return Err(UploadError::UnknownCatalogue(catalogue_key.to_string()));
    };
    let mut problems = Vec::new();
    let contribution = match fields.to_contribution(catalogue_id) {
        Ok(c) => Some(c),
        Err(p) => {
            problems.extend(p);
            None
        }
    };
    if let Some(c) = &contribution {
        let chapters = store.chapters(catalogue_id).await?;
        if !chapters.iter().any(|ch| ch.key == c.chapter_key) {
            let keys: Vec<&str> = catalogue.config.chapters.iter().map(|ch| ch.id.as_str()).collect();
            problems.push(format!(
                "chapter '{}' is not one of the catalogue's chapters ({})",
                c.chapter_key,
                keys.join(", ")
            ));
        }
    }
    if files.is_empty() {
        problems.push("an upload needs at least one file".into());
    }
    if files.len() > MAX_FILES {
        problems.push(format!("an upload carries at most {MAX_FILES} files, not {}", files.len()));
    }
    let mut names = Vec::with_capacity(files.len());
    for file in &files {
        match clean_file_name(&file.name) {
            Some(name) if names.contains(&name) => problems.push(format!("two files are named '{name}'")),
            Some(name) => names.push(name),
            None => problems.push(format!("'{}' is not a usable file name", file.name.escape_debug())),
        }
        if file.bytes.is_empty() {
            problems.push(format!("'{}' is empty", file.name.escape_debug()));
        }
    }
    let contribution = match contribution {
        Some(c) if problems.is_empty() => c,
        _ => return Err(UploadError::Invalid(problems)),
    };

    let mut documents = Vec::with_capacity(files.len());
    for (file, name) in files.into_iter().zip(names) {
        let sha256 = hex::encode(Sha256::digest(&file.bytes));
        let blob_key = format!("originals/{}/{}", &sha256[..2], sha256);
        let bytes = file.bytes.len() as u64;
        if !blobs.exists(&blob_key).await? {
            blobs.put(&blob_key, file.bytes).await?;
        }
        documents.push(Document {
            id: Document::derive_id(contribution.id, &name, &sha256),
            contribution_id: contribution.id,
            file_name: name,
            sha256,
            bytes,
            blob_key,
            state: DocumentState::Queued,
            attempts: 0,
            last_error: None,
            password: None,
        });
    }
    let created = store.add_contribution(catalogue_id, &contribution, &documents).await?;
    // Work is asked for after the commit; if this fails the upload is retried, or the reconciler finds the
    // queued documents whose request never came.
    for d in &documents {
        let finished = store.document(d.id).await?.is_some_and(|stored| stored.state.is_terminal());
        if !finished {
            queue.publish(&WorkRequest::new(catalogue_id, d.id)).await?;
        }
    }
    tracing::info!(
        catalogue = catalogue_key,
        contribution_id = %contribution.id,
        created,
        documents = documents.len(),
        "upload accepted"
    );
    Ok(Accepted {
        catalogue_id,
        contribution_id: contribution.id,
        created,
        documents: documents
            .into_iter()
            .map(|d| AcceptedDocument { id: d.id, file_name: d.file_name, sha256: d.sha256, bytes: d.bytes })
            .collect(),
    })
}
