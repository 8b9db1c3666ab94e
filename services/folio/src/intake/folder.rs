//! Reads an input folder (`contributions.csv`, optional `catalogue.toml`, the files), stores the originals,
//! writes the intake to the database, and asks for work on every document not yet finished.

use anyhow::{Context, Result};
use folio_core::intake::{self, CATALOGUE_NAME, CSV_NAME};
use folio_core::{CatalogueConfig, Document, DocumentState};
use folio_store::{BlobStore, IntakeSnapshot, Store, WorkQueue, WorkRequest};
use sha2::{Digest, Sha256};
use std::path::Path;
use uuid::Uuid;

/// The namespace of catalogue ids derived from folder paths.
const FOLDER_NAMESPACE: Uuid = Uuid::from_u128(0x6f6c_696f_2d66_6f6c_6465_722d_6e73_0001);

/// What was read.
pub struct Ingested {
    pub catalogue_id: Uuid,
    pub snapshot: IntakeSnapshot,
    /// Work requests sent (documents not finished by an earlier run).
    pub queued: usize,
}

/// The catalogue a folder stands for: the same folder is the same catalogue on every run.
pub fn catalogue_id_for(folder: &Path) -> Result<Uuid> {
    let canonical = folder.canonicalize().with_context(|| format!("{} cannot be read", folder.display()))?;
    Ok(Uuid::new_v5(&FOLDER_NAMESPACE, canonical.to_string_lossy().as_bytes()))
}

/// Reads the folder into a snapshot, storing each original in the blob store by its checksum.
pub async fn read_folder(folder: &Path, blobs: &dyn BlobStore) -> Result<IntakeSnapshot> {
    let catalogue_id = catalogue_id_for(folder)?;
    let config = match std::fs::read_to_string(folder.join(CATALOGUE_NAME)) {
        Ok(text) => CatalogueConfig::from_toml(&text)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => CatalogueConfig::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {CATALOGUE_NAME}")),
    };
    let csv = std::fs::read_to_string(folder.join(CSV_NAME))
        .with_context(|| format!("{} has no readable {CSV_NAME}; see the README for its columns", folder.display()))?;
    let present = list_files(folder)?;
    let plan = intake::plan(catalogue_id, &config, &csv, &present)?;

    let mut documents = Vec::with_capacity(plan.files.len());
    for file in &plan.files {
        let bytes = tokio::fs::read(folder.join(&file.path)).await.with_context(|| format!("reading {}", file.path))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let blob_key = format!("originals/{}/{}", &sha256[..2], sha256);
        if !blobs.exists(&blob_key).await? {
            blobs.put(&blob_key, bytes.clone()).await?;
        }
        documents.push(Document {
            id: Document::derive_id(file.contribution_id, &file.path, &sha256),
            contribution_id: file.contribution_id,
            file_name: file.path.clone(),
            sha256,
            bytes: bytes.len() as u64,
            blob_key,
            state: DocumentState::Queued,
            attempts: 0,
            last_error: None,
            password: file.password.clone(),
        });
    }
    Ok(IntakeSnapshot {
        catalogue_id,
        config,
        source: folder.display().to_string(),
        chapters: plan.chapters,
        contributions: plan.contributions,
        documents,
        findings: plan.findings,
    })
}

/// Writes the snapshot and sends a work request for each document that is not finished.
pub async fn submit(store: &dyn Store, queue: &dyn WorkQueue, snapshot: IntakeSnapshot) -> Result<Ingested> {
    store.sync_intake(&snapshot).await?;
    let catalogue_id = snapshot.catalogue_id;
    let queued = ask_for_unfinished(store, queue, catalogue_id).await?;
    Ok(Ingested { catalogue_id, snapshot, queued })
}

/// Sends a work request for each document of the catalogue that is not finished; returns how many.
pub async fn ask_for_unfinished(store: &dyn Store, queue: &dyn WorkQueue, catalogue_id: Uuid) -> Result<usize> {
    let mut queued = 0;
    for document in store.documents(catalogue_id).await? {
        if !document.state.is_terminal() {
            queue.publish(&WorkRequest::new(catalogue_id, document.id)).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Files of the folder, relative, `/`-separated, sorted; without the CSV, the catalogue file and hidden files.
pub fn list_files(folder: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let relative = entry.path().strip_prefix(folder)?.to_string_lossy().replace('\\', "/");
                if relative != CSV_NAME && relative != CATALOGUE_NAME {
                    files.push(relative);
                }
            }
        }
    }
    files.sort();
    Ok(files)
}
