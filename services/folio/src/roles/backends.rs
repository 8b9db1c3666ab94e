//! The backends every role works with, opened once, one way: the database, the blob store and the queue
//! that the settings name by URL (`sqlite://` or `postgres://`, `file://` or `s3://`, `memory://` or
//! `amqp://`). `folio worker`, `coordinator`, `gateway`, `serve` and `process` all start here, and build
//! their workers here.

use crate::config::Settings;
use crate::worker::{WorkEvent, Worker};
use anyhow::{bail, Context, Result};
use folio_store::{open_blobs, open_queue, open_store, BlobStore, Store, WorkQueue};
use std::sync::Arc;
use tokio::sync::broadcast;
use uuid::Uuid;

/// The database, the blob store and the queue of one process.
#[derive(Clone)]
pub struct Backends {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub queue: Arc<dyn WorkQueue>,
}

impl Backends {
    /// Opens what the settings name. `prefetch`: the most unacknowledged messages a broker hands this
    /// process at once (the documents its workers hold; 1 for a role that takes no work).
    pub async fn open(settings: &Settings, prefetch: u16) -> Result<Self> {
        let store = open_store(&settings.database_url()).await.context("opening the database")?;
        let blobs = open_blobs(&settings.blob_url()).context("opening the blob store")?;
        let queue = open_queue(&settings.queue_url, prefetch).await.context("opening the queue")?;
        Ok(Self { store, blobs, queue })
    }

    /// As [`Backends::open`], with the prefetch of this process's workers: the documents they hold
    /// ([`crate::worker::WorkerSettings::documents_in_hand`]).
    pub async fn open_for_workers(settings: &Settings) -> Result<Self> {
        let in_hand = settings.worker_settings().documents_in_hand();
        Self::open(settings, u16::try_from(in_hand).unwrap_or(u16::MAX)).await
    }

    /// For a role that shares its work with other processes through the queue: the in-process queue is
    /// refused, saying what to use instead.
    pub fn require_shared_queue(&self, role: &str, settings: &Settings) -> Result<()> {
        if self.queue.is_in_process() {
            bail!(
                "folio {role} works with other processes through a shared queue, and {} is this process's own: \
                 set FOLIO_QUEUE_URL (amqp://...), or use `folio serve` or `folio process`, which run every role \
                 in one process",
                folio_core::redact::url(&settings.queue_url)
            );
        }
        Ok(())
    }

    /// A worker on these backends, with the settings' parser sandbox and worker settings; `events` tells a
    /// listener (the progress bar of `folio process`) what happens to each document.
    pub fn worker(&self, settings: &Settings, events: Option<broadcast::Sender<WorkEvent>>) -> Result<Worker> {
        let sandbox = settings.sandbox()?;
        sandbox.ask_ocr_languages();
        Ok(Worker {
            store: self.store.clone(),
            blobs: self.blobs.clone(),
            queue: self.queue.clone(),
            sandbox,
            settings: settings.worker_settings(),
            events,
        })
    }

    /// What the readiness check asks: the database and the queue, and whether the process is stopping.
    pub fn dependencies(&self, shutdown: &super::Shutdown) -> crate::roles::health::Dependencies {
        crate::roles::health::Dependencies {
            store: self.store.clone(),
            queue: self.queue.clone(),
            stopping: shutdown.stopping.clone(),
        }
    }

    /// After an earlier run of this process was interrupted: with the in-process queue nobody else works
    /// on these catalogues, so the documents that run held are queued again at once (with a shared queue,
    /// other workers may hold documents right now: theirs come back when their leases run out, by the
    /// reconciler). Returns how many were taken back.
    pub async fn take_back_interrupted(&self, catalogue_ids: &[Uuid]) -> Result<u64> {
        if !self.queue.is_in_process() {
            return Ok(0);
        }
        let mut taken = 0;
        for catalogue in catalogue_ids {
            taken += self.store.requeue_processing(*catalogue).await.context("taking back interrupted documents")?;
        }
        if taken > 0 {
            tracing::info!(documents = taken, "documents an interrupted run held are queued again");
        }
        Ok(taken)
    }

    /// `folio serve` starting again: with the in-process queue, which starts empty, the documents an earlier
    /// run held are taken back and every document not finished, of every catalogue, is asked for again.
    /// Nothing with a shared queue.
    pub async fn resume_in_process(&self) -> Result<()> {
        if !self.queue.is_in_process() {
            return Ok(());
        }
        let catalogues = self.store.catalogue_ids().await?;
        self.take_back_interrupted(&catalogues).await?;
        let mut asked = 0;
        for catalogue in catalogues {
            asked +=
                crate::intake::folder::ask_for_unfinished(self.store.as_ref(), self.queue.as_ref(), catalogue).await?;
        }
        if asked > 0 {
            tracing::info!(documents = asked, "documents left unfinished by an earlier run are queued again");
        }
        Ok(())
    }
}
