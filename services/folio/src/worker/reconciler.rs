//! The reconciler: makes the queue agree with the database, which is the source of truth. It runs in the
//! coordinator (and in every embedded run), once every `reconciler.every_secs`:
//! - a document whose worker stopped (its lease ran out: the worker renews it while it works) goes back to
//!   the queue, or is recorded as failed once it has used its attempts;
//! - a document still queued long after its request was sent, while the queue holds no request at all, had
//!   its request lost (or never sent): it is sent again (a duplicate is harmless, the claim tells);
//! - a request the broker dead-lettered (its delivery limit passed) is looked up: a finished document's is
//!   dropped, one that used its attempts is recorded as failed with the reason, and any other, whose
//!   deliveries were spent on passing faults (a database outage), is sent again.

use folio_store::{Catalogues, Delivery, Leases, Message, QueueError, StoreError, WorkQueue, WorkRequest};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

#[derive(Debug, Clone)]
pub struct ReconcilerSettings {
    /// Time between sweeps.
    pub every: Duration,
    /// How long a queued document waits, with no request in the queue, before its request is sent again.
    pub resend_after: Duration,
    /// Attempts at a document before it is recorded as failed (the workers' `max_attempts`).
    pub max_attempts: u32,
    /// Documents and dead letters handled in one sweep, at most.
    pub batch: u32,
}

impl Default for ReconcilerSettings {
    fn default() -> Self {
        Self { every: Duration::from_secs(10), resend_after: Duration::from_secs(120), max_attempts: 3, batch: 500 }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    /// Requests sent again (stopped workers' documents and lost requests).
    pub resent: usize,
    /// Documents recorded as failed (attempts used).
    pub failed: usize,
    /// Dead letters settled.
    pub dead_letters: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// The reconciler uses documents' leases and looks documents up: what it takes of the database.
pub trait ReconcilerStore: Leases + Catalogues {}
impl<S: Leases + Catalogues + ?Sized> ReconcilerStore for S {}

/// One sweep.
pub async fn sweep<S: ReconcilerStore + ?Sized>(
    store: &S,
    queue: &dyn WorkQueue,
    s: &ReconcilerSettings,
) -> Result<Swept, SweepError> {
    let mut swept = Swept::default();
    // Lost requests are looked for only when none waits: while requests wait, queued documents are simply
    // behind them. A queue that cannot tell its depth is not asked about lost requests either.
    let lost_after = match queue.depth().await {
        Ok(0) => Some(s.resend_after),
        Ok(_) => None,
        Err(e) => {
            warn!(error = %e, "reconciler: queue depth unknown; not looking for lost requests");
            None
        }
    };
    let found = store.reconcile(lost_after, s.max_attempts, s.batch).await?;
    for id in &found.failed {
        warn!(document_id = %id, "reconciler: the worker holding the document stopped on its last attempt; recorded as failed");
    }
    swept.failed += found.failed.len();
    for (catalogue_id, document_id) in found.requeue {
        // A failed publish is not lost: the document stays queued and is found again after `resend_after`.
        queue.publish(&WorkRequest::new(catalogue_id, document_id)).await?;
        info!(%document_id, "reconciler: request sent again");
        swept.resent += 1;
    }
    while swept.dead_letters < s.batch as usize {
        let Some(dead) = queue.next_dead_letter().await? else { break };
        let (resent, failed) = settle_dead_letter(store, queue, dead, s.max_attempts).await?;
        swept.dead_letters += 1;
        swept.resent += usize::from(resent);
        swept.failed += usize::from(failed);
    }
    Ok(swept)
}

/// Handles one dead letter by what the database says of its document; acknowledges it only once that is
/// written (an error leaves it in the dead-letter queue for the next sweep). Returns (resent, failed).
async fn settle_dead_letter<S: ReconcilerStore + ?Sized>(
    store: &S,
    queue: &dyn WorkQueue,
    dead: Box<dyn Delivery>,
    max_attempts: u32,
) -> Result<(bool, bool), SweepError> {
    let request = match dead.message() {
        Message::Work(request) => request.clone(),
        Message::Upload(upload) => {
            // A worker refused it (it breaks the contract or names what does not exist) and said why in its
            // log; nothing in the database waits for it.
            tracing::error!(upload_id = %upload.upload_id, catalogue = %upload.catalogue, "reconciler: refused upload removed from the dead-letter queue");
            dead.ack().await?;
            return Ok((false, false));
        }
    };
    let id = request.document_id;
    let outcome = match store.document(id).await? {
        None => (false, false),
        Some(d) if d.state.is_terminal() => {
            // A worker failed it for good and dead-lettered its message (or it was finished meanwhile).
            info!(document_id = %id, state = d.state.as_str(), "reconciler: dead letter of a finished document settled");
            (false, false)
        }
        Some(d) if d.attempts >= max_attempts => {
            let error = format!(
                "the broker gave up on its work request (delivery limit) after {} attempts{}",
                d.attempts,
                d.last_error.map(|e| format!("; the last error: {e}")).unwrap_or_default()
            );
            let failed = store.fail_document(id, &error).await?;
            if failed {
                warn!(document_id = %id, "reconciler: dead-lettered document recorded as failed");
            }
            (false, failed)
        }
        Some(_) => {
            queue.publish(&request).await?;
            info!(document_id = %id, "reconciler: dead-lettered request sent again (its attempts are not used up)");
            (true, false)
        }
    };
    dead.ack().await?;
    Ok(outcome)
}

/// Sweeps every `settings.every` until `stop` is cancelled. Errors are logged and the next sweep tries again.
pub async fn run<S: ReconcilerStore + ?Sized>(
    store: std::sync::Arc<S>,
    queue: std::sync::Arc<dyn WorkQueue>,
    settings: ReconcilerSettings,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(settings.every) => {}
            () = stop.cancelled() => return,
        }
        match sweep(store.as_ref(), queue.as_ref(), &settings).await {
            Ok(swept) if swept != Swept::default() => info!(?swept, "reconciler sweep"),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "reconciler sweep failed; trying again at the next"),
        }
    }
}
