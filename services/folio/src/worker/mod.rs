//! The worker role: takes work requests from the queue, claims the document in the database, extracts it in
//! the sandbox, writes the record, and only then acknowledges the message.

pub mod answer;
pub mod pool;
pub mod reconciler;
pub mod sandbox;

use crate::worker::sandbox::Sandbox;
use folio_core::ExtractErrorKind;
use folio_store::{BlobStore, Claim, Delivery, Message, Store, StoreError, StoredRecord, WorkQueue, WorkRequest};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};
use uuid::Uuid;

/// What a worker tells whoever listens (the progress bar, metrics) after each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkEvent {
    Started {
        document_id: Uuid,
    },
    /// A record was written; `error` is the extraction error kind, if the document could not be read.
    Recorded {
        document_id: Uuid,
        error: Option<ExtractErrorKind>,
    },
    /// The document was given up on.
    Failed {
        document_id: Uuid,
    },
    /// The request was a duplicate (already done, or held by another worker).
    Skipped {
        document_id: Uuid,
    },
    /// Processing hit a passing fault; the request went back to the queue.
    Retried {
        document_id: Uuid,
    },
}

#[derive(Clone)]
pub struct WorkerSettings {
    /// Names this worker in claims (`hostname-pid` by default).
    pub name: String,
    /// Documents read at once: the worker's parsers. It holds up to [`DOCUMENTS_IN_HAND_PER_PARSER`] times
    /// as many documents, so that claiming the next and storing the last overlap a parser's work.
    pub concurrency: usize,
    /// How long a claim holds before another worker may take the document over.
    pub lease: Duration,
    /// Attempts before a document is marked failed.
    pub max_attempts: u32,
    /// The largest file an upload published to the queue may name (`gateway.max_file_mib`).
    pub max_upload_file_bytes: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            name: default_worker_name(),
            concurrency: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            lease: Duration::from_secs(60),
            max_attempts: 3,
            max_upload_file_bytes: 100 << 20,
        }
    }
}

/// Documents a worker holds for each of its parsers: the one being read, the next one (waiting in the warm
/// parsers' queue, taken by the first parser free, [`pool`]), and the last one having its thumbnails and
/// record written. The claim, the blob store's writes, the record's transaction and the acknowledgement
/// (round trips to the database, the object store and the broker) then happen while the parser reads, and
/// the parser goes from one answer to the next request without waiting for them. Where each document has a
/// process of its own, two (the next one waits for a parser's permit instead). The cost: more claimed
/// documents and answers (thumbnails, text; each bounded) in memory a parser, and as many more
/// unacknowledged messages prefetched from the broker.
pub const DOCUMENTS_IN_HAND_PER_PARSER: usize = 3;

impl WorkerSettings {
    /// The most documents in hand at once ([`DOCUMENTS_IN_HAND_PER_PARSER`] a parser): the broker's prefetch.
    /// A worker whose parsers have no queue of their own (a process a document) holds one less a parser.
    pub fn documents_in_hand(&self) -> usize {
        self.concurrency.max(1).saturating_mul(DOCUMENTS_IN_HAND_PER_PARSER)
    }
}

pub fn default_worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "folio".into());
    format!("{host}-{}", std::process::id())
}

#[derive(Clone)]
pub struct Worker {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub queue: Arc<dyn WorkQueue>,
    pub sandbox: Sandbox,
    pub settings: WorkerSettings,
    pub events: Option<broadcast::Sender<WorkEvent>>,
}

/// What a worker's documents share while it runs.
#[derive(Clone)]
struct Running {
    /// [`Sandbox::documents_a_parser_takes`] permits a parser: one held from the start of a document's
    /// extraction to its answer's arrival (all of a parser's by a document read by a process of its own).
    parsers: Arc<Semaphore>,
    /// The worker stops taking work: a document still waiting for a parser is given back at once.
    stopping: CancellationToken,
    /// After the grace period: the documents still in flight are given back.
    abandoned: CancellationToken,
    backoff: Arc<FaultBackoff>,
}

/// How one request ended, for the acknowledgement.
enum Outcome {
    Ack,
    /// A passing fault (database or blob store unreachable): back to the queue after a pause.
    Requeue,
    /// Given back at shutdown, or after a parser fault with attempts left: back to the queue at once.
    GiveBack,
    /// The document failed for good: the message goes to the dead-letter exchange (the broker's record of
    /// what was given up on; the reconciler settles it), not back to the queue.
    DeadLetter,
}

/// The first pause after a passing fault, doubled with each further one in a row, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Passing faults in a row, shared by a worker's tasks. Each lengthens the pause before a message goes back
/// and before the next one is taken, so that an outage of the database spends a message's delivery limit
/// (five by default) over seconds rather than one second; a success clears it.
#[derive(Default)]
struct FaultBackoff {
    faults: std::sync::atomic::AtomicU32,
}

impl FaultBackoff {
    fn delay(faults: u32) -> Duration {
        match faults {
            0 => Duration::ZERO,
            n => FIRST_BACKOFF.saturating_mul(1 << (n - 1).min(16)).min(MAX_BACKOFF),
        }
    }

    /// The pause before taking the next message.
    fn pause(&self) -> Duration {
        Self::delay(self.faults.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Counts a fault; returns the pause before giving its message back.
    fn fault(&self) -> Duration {
        Self::delay(self.faults.fetch_add(1, std::sync::atomic::Ordering::Relaxed).saturating_add(1))
    }

    fn clear(&self) {
        self.faults.store(0, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Worker {
    /// Runs until the queue closes or `shutdown` turns true; then waits for the documents in flight.
    pub async fn run(self, shutdown: CancellationToken) {
        self.run_with_grace(shutdown, None).await;
    }

    /// As [`Worker::run`], but once `shutdown` turns true the documents in flight have `grace` to finish; those
    /// still running then are abandoned: their parsers are killed, their claims released and their messages
    /// given back to the queue, for another worker to take at once.
    pub async fn run_with_grace(self, shutdown: CancellationToken, grace: Option<Duration>) {
        let parsers = self.settings.concurrency.max(1);
        let a_parser_takes = self.sandbox.documents_a_parser_takes();
        // One more than its parsers take, a parser: the one whose answer is being stored.
        let in_hand = (parsers * (a_parser_takes + 1)).min(self.settings.documents_in_hand());
        let in_hand = Arc::new(Semaphore::new(in_hand));
        let abandon = CancellationToken::new();
        if let Some(pool) = &self.sandbox.warm {
            pool.set_parsers(parsers);
        }
        let running = Running {
            parsers: Arc::new(Semaphore::new(parsers * a_parser_takes)),
            stopping: shutdown.clone(),
            abandoned: abandon.clone(),
            backoff: Arc::new(FaultBackoff::default()),
        };
        let mut in_flight = tokio::task::JoinSet::new();
        loop {
            let pause = running.backoff.pause();
            if !pause.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = shutdown.cancelled() => break,
                }
            }
            let permit = tokio::select! {
                p = in_hand.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                () = shutdown.cancelled() => break,
            };
            let delivery = tokio::select! {
                d = self.queue.next() => match d { Some(d) => d, None => break },
                () = shutdown.cancelled() => break,
            };
            let worker = self.clone();
            let running = running.clone();
            in_flight.spawn(async move {
                worker.handle(delivery, &running).await;
                drop(permit);
            });
            // Reap finished tasks so the set does not grow over a long run.
            while in_flight.try_join_next().is_some() {}
        }
        if !in_flight.is_empty() {
            info!(
                in_flight = in_flight.len(),
                grace_secs = grace.map(|g| g.as_secs()),
                "stopped taking work; finishing what is in flight"
            );
        }
        let drain = async { while in_flight.join_next().await.is_some() {} };
        match grace {
            None => drain.await,
            Some(grace) => {
                if tokio::time::timeout(grace, drain).await.is_err() {
                    warn!(in_flight = in_flight.len(), "grace period over; giving the rest back to the queue");
                    abandon.cancel();
                    while in_flight.join_next().await.is_some() {}
                }
            }
        }
    }

    fn emit(&self, event: WorkEvent) {
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }

    async fn handle(&self, delivery: Box<dyn Delivery>, running: &Running) {
        let backoff = running.backoff.as_ref();
        let request = match delivery.message() {
            Message::Work(request) => request.clone(),
            Message::Upload(upload) => {
                let upload = (**upload).clone();
                return self.handle_upload(delivery, upload, backoff).await;
            }
        };
        let span = tracing::info_span!("document", document_id = %request.document_id, trace_id = %request.trace_id(), redelivered = delivery.redelivered());
        let handling = Instant::now();
        let mut times = StageTimes::default();
        let outcome = tokio::select! {
            outcome = self.process(&request, running, &mut times).instrument(span.clone()) => outcome,
            // Dropping `process` kills the parser (its child is killed on drop, with its process group).
            () = running.abandoned.cancelled() => self.abandon(&request).instrument(span.clone()).await,
        };
        let settling = Instant::now();
        let settled = match outcome {
            Outcome::Ack => {
                backoff.clear();
                delivery.ack().await
            }
            Outcome::Requeue => {
                self.emit(WorkEvent::Retried { document_id: request.document_id });
                // A passing fault: wait, longer each time in a row, so a broken dependency is not hammered.
                tokio::time::sleep(backoff.fault()).await;
                delivery.nack(true).await
            }
            Outcome::GiveBack => {
                self.emit(WorkEvent::Retried { document_id: request.document_id });
                delivery.nack(true).await
            }
            Outcome::DeadLetter => delivery.nack(false).await,
        };
        if let Err(e) = settled {
            span.in_scope(|| warn!(error = %e, "could not settle the message; the queue will deliver it again"));
        } else if let Some(format) = times.recorded.take() {
            times.settle = settling.elapsed();
            times.document = handling.elapsed();
            span.in_scope(|| times.report(&format));
        }
    }

    /// An upload a front end published to the queue: taken in as the gateway takes an HTTP upload. One that
    /// breaks the contract is dead-lettered (and logged with why); a passing fault gives it back.
    async fn handle_upload(
        &self,
        delivery: Box<dyn Delivery>,
        upload: folio_core::upload::UploadRequest,
        backoff: &FaultBackoff,
    ) {
        let span = tracing::info_span!("upload", upload_id = %upload.upload_id, catalogue = %upload.catalogue);
        let accepted = async {
            let files = crate::intake::uploads::resolve_files(
                self.blobs.as_ref(),
                &upload.files,
                &std::env::temp_dir(),
                self.settings.max_upload_file_bytes,
            )
            .await?;
            crate::intake::uploads::accept(
                self.store.as_ref(),
                self.blobs.as_ref(),
                self.queue.as_ref(),
                &upload.catalogue,
                &upload.contribution,
                files,
                upload.traceparent.as_deref().and_then(folio_core::trace::parse).as_deref(),
            )
            .await
        }
        .instrument(span.clone())
        .await;
        let settled = match accepted {
            Ok(_) => {
                backoff.clear();
                delivery.ack().await
            }
            Err(e) if e.is_retryable() => {
                span.in_scope(|| warn!(error = %e, "upload: passing fault; given back to the queue"));
                tokio::time::sleep(backoff.fault()).await;
                delivery.nack(true).await
            }
            Err(e) => {
                span.in_scope(|| warn!(error = %e, "upload refused; dead-lettered"));
                delivery.nack(false).await
            }
        };
        if let Err(e) = settled {
            span.in_scope(|| warn!(error = %e, "could not settle the upload message; the queue will deliver it again"));
        }
    }

    async fn process(&self, request: &WorkRequest, running: &Running, times: &mut StageTimes) -> Outcome {
        if request.version != WorkRequest::VERSION {
            warn!(version = request.version, "work request of an unknown version dropped");
            return Outcome::Ack;
        }
        let id = request.document_id;
        let s = &self.settings;
        let claiming = Instant::now();
        let (document, kind) = match self.store.claim(id, &s.name, s.lease, s.max_attempts).await {
            Ok(Claim::Granted { document, kind }) => {
                times.claim = claiming.elapsed();
                (document, kind)
            }
            Ok(Claim::GaveUp) => {
                warn!(attempts = s.max_attempts, "document given up on");
                crate::metrics::document_failed();
                self.emit(WorkEvent::Failed { document_id: id });
                return Outcome::DeadLetter;
            }
            Ok(claim @ (Claim::Finished | Claim::Held | Claim::Missing)) => {
                info!(?claim, "duplicate request dropped");
                self.emit(WorkEvent::Skipped { document_id: id });
                return Outcome::Ack;
            }
            Err(e) => return self.store_fault(e),
        };
        self.emit(WorkEvent::Started { document_id: id });

        // The lease is renewed while the work goes on, so that it can be short: a worker that dies is noticed
        // (and its document sent again by the reconciler) within one lease, however long documents take.
        // First a parser: the worker's other document may still hold it. A worker that stops meanwhile gives
        // this one back at once rather than reading it in its grace period (`None`).
        let work = async {
            let waiting = Instant::now();
            // A document read by a process of its own (its password must not stay in a warm one) takes all of
            // a parser's permits: no more processes read at once than the worker has parsers.
            let permits = match document.password {
                Some(_) => self.sandbox.documents_a_parser_takes() as u32,
                None => 1,
            };
            let parser = tokio::select! {
                biased;
                parser = running.parsers.clone().acquire_many_owned(permits) => parser.ok()?,
                () = running.stopping.cancelled() => return None,
            };
            times.wait = waiting.elapsed();
            match self.extract_and_record(&document, kind, parser, &running.stopping, times).await {
                Err(fault) if fault.unread => None,
                done => Some(done),
            }
        };
        let result = tokio::select! {
            result = work => match result {
                Some(result) => result,
                None => return self.give_back_unread(id).await,
            },
            () = self.keep_lease(id) => {
                warn!("the document was taken back (our lease ran out); its work here is dropped");
                self.emit(WorkEvent::Skipped { document_id: id });
                return Outcome::Ack;
            }
        };
        match result {
            Ok(error) => {
                self.emit(WorkEvent::Recorded { document_id: id, error });
                Outcome::Ack
            }
            Err(fault) => {
                // Give the claim back so another attempt can start at once rather than after the lease.
                let terminal = !fault.retryable || document.attempts >= s.max_attempts;
                if let Err(e) = self.store.release(id, &s.name, &fault.message, terminal).await {
                    warn!(error = %e, "could not release the claim; the lease will run out");
                }
                match (terminal, fault.parser) {
                    (true, _) => {
                        warn!(error = %fault.message, attempts = document.attempts, "document failed");
                        crate::metrics::document_failed();
                        self.emit(WorkEvent::Failed { document_id: id });
                        Outcome::DeadLetter
                    }
                    (false, true) => {
                        warn!(error = %fault.message, attempts = document.attempts, "the parser died; document requeued");
                        Outcome::GiveBack
                    }
                    (false, false) => {
                        warn!(error = %fault.message, "passing fault; document requeued");
                        Outcome::Requeue
                    }
                }
            }
        }
    }

    /// Renews the lease on `document_id` every third of it; returns only when the lease is lost. A database
    /// that cannot be reached is not a loss: the work goes on, and writing the record will tell.
    async fn keep_lease(&self, document_id: Uuid) {
        let lease = self.settings.lease;
        let every = (lease / 3).max(Duration::from_millis(100));
        loop {
            tokio::time::sleep(every).await;
            match self.store.renew_lease(document_id, &self.settings.name, lease).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => warn!(error = %e, "could not renew the lease; trying again"),
            }
        }
    }

    /// Gives back a document whose work was cut short by shutdown: the claim (if this worker held it) goes back
    /// to the queued state, and the message back to the queue.
    async fn abandon(&self, request: &WorkRequest) -> Outcome {
        let message = "the worker shut down before finishing";
        match self.store.release(request.document_id, &self.settings.name, message, false).await {
            Ok(_) => info!("abandoned at shutdown; requeued"),
            Err(e) => warn!(error = %e, "could not release the claim at shutdown; the lease will run out"),
        }
        Outcome::GiveBack
    }

    /// Gives back a document claimed but not yet read when the worker stops: queued again, the attempt its
    /// claim counted taken back (stopping workers, as in a rolling update, do not use up its attempts).
    async fn give_back_unread(&self, document_id: Uuid) -> Outcome {
        match self.store.give_back_unread(document_id, &self.settings.name).await {
            Ok(_) => info!("given back unread at shutdown; requeued"),
            Err(e) => warn!(error = %e, "could not give the claim back at shutdown; the lease will run out"),
        }
        Outcome::GiveBack
    }

    fn store_fault(&self, e: StoreError) -> Outcome {
        warn!(error = %e, "database unavailable");
        if e.is_retryable() {
            Outcome::Requeue
        } else {
            Outcome::Ack
        }
    }

    /// Returns the extraction error kind of the record written, or the fault that stopped the work (one
    /// marked `unread` when the worker began stopping while the document waited for its parser).
    async fn extract_and_record(
        &self,
        document: &folio_core::Document,
        kind: folio_core::ContributionKind,
        parser: tokio::sync::OwnedSemaphorePermit,
        stopping: &CancellationToken,
        times: &mut StageTimes,
    ) -> Result<Option<ExtractErrorKind>, Fault> {
        // The parser reads a local file: the blob store's own when it has one, else a scratch copy.
        let fetching = Instant::now();
        let scratch;
        let path = match self.blobs.local_path(&document.blob_key).filter(|p| p.is_file()) {
            Some(path) => path,
            None => {
                let bytes = self.blobs.get(&document.blob_key).await.map_err(Fault::from)?;
                scratch =
                    tempfile::NamedTempFile::new().map_err(|e| Fault::passing(format!("no scratch file: {e}")))?;
                tokio::fs::write(scratch.path(), &bytes)
                    .await
                    .map_err(|e| Fault::passing(format!("scratch file: {e}")))?;
                scratch.path().to_path_buf()
            }
        };
        // The document's own password, for this document only.
        let password = document.password.as_ref().or(self.sandbox.password.as_ref());
        // A photograph, as its sender declared it, is not OCRed unless the settings ask.
        let ocr = self.sandbox.ocr_photographs || kind != folio_core::ContributionKind::Photograph;
        times.fetch = fetching.elapsed();
        let extracting = Instant::now();
        let measured = self
            .sandbox
            .extract_measured_unless(&path, &document.file_name, password, ocr, Some(stopping))
            .await
            .ok_or(Fault {
                retryable: true,
                parser: false,
                unread: true,
                message: "stopped before it was read".into(),
            })?;
        // The time it waited in its parser's lane for the document before it is time in line, as `wait` is.
        times.wait += measured.waited;
        let sandboxed = extracting.elapsed().saturating_sub(measured.waited);
        // The parser is free for the next document while this one is stored.
        drop(parser);
        let extraction = measured.extraction;
        let mut record = extraction.record;
        let parser = measured.parser.unwrap_or(Duration::from_millis(record.elapsed_ms));
        times.extract = parser.min(sandboxed);
        times.isolation = sandboxed.saturating_sub(times.extract);
        let error = record.error.as_ref().map(|e| e.kind);
        // The parser process died (crashed, ran out of memory or time): that may be the machine (memory
        // pressure, a killed process) as much as the file, so the document is tried again, up to its
        // attempts; a file that kills its parser every time then fails, with this as its last error.
        if let Some(e) = record.error.as_ref().filter(|e| e.kind.is_parser_death()) {
            return Err(Fault {
                retryable: true,
                parser: true,
                unread: false,
                message: format!("{}: {}", e.kind.as_str(), e.message),
            });
        }
        match &record.error {
            Some(e) => info!(kind = e.kind.as_str(), message = %e.message, "extraction error recorded"),
            None => {
                info!(format = %record.format, pages = ?record.pages, language = ?record.language, ms = record.elapsed_ms, "extracted")
            }
        }
        let storing = Instant::now();
        let (format, ocr_pages) = (record.format.clone(), record.ocr_pages.len());
        // One blob per document and size, at a key fixed by both: a redelivered message overwrites them.
        let mut blobs = Vec::new();
        for thumbnail in extraction.thumbnails {
            let key = format!("thumbnails/{}/{}", document.id, thumbnail.file_name());
            record.thumbnails.push(thumbnail.reference(key.clone()));
            blobs.push((key, thumbnail.bytes));
        }
        // The form beside them, for the book: its pictures, and its structure naming their keys.
        if let Some(mut structure) = extraction.structure {
            for (index, (picture, reference)) in
                extraction.pictures.into_iter().zip(&mut structure.pictures).enumerate()
            {
                let key = format!("structure/{}/{}", document.id, folio_extract::Picture::file_name(index));
                reference.location = key.clone();
                blobs.push((key, picture.png));
            }
            let key = format!("structure/{}/structure.json", document.id);
            let json = serde_json::to_vec(&structure).map_err(|e| Fault {
                retryable: false,
                parser: false,
                unread: false,
                message: format!("the structure: {e}"),
            })?;
            blobs.push((key.clone(), json));
            record.structure = Some(key);
        }
        // The smallest stays `thumbnail` and the store's `thumbnail_key`, for readers that know only one.
        let thumbnail_key = record.thumbnails.iter().min_by_key(|t| t.max_side).map(|t| t.location.clone());
        record.thumbnail = thumbnail_key.clone();
        // The blobs all at once (nothing names them until the record is written below), and meanwhile the
        // text's digest, which reads all of it (up to extract.max_text_mib): on this task while the blobs are
        // written on a blocking thread, or on a blocking thread of its own when the text is longer than most
        // (a trip there would cost more than the digest of a short one).
        let text = extraction.text;
        let digest = async move {
            if text.len() <= INLINE_DIGEST_BYTES {
                Ok(StoredRecord::new(record, text, thumbnail_key))
            } else {
                tokio::task::spawn_blocking(move || StoredRecord::new(record, text, thumbnail_key)).await.map_err(|e| {
                    Fault { retryable: true, parser: false, unread: false, message: format!("digesting the text: {e}") }
                })
            }
        };
        let written = async { self.blobs.put_all(blobs).await.map_err(Fault::from) };
        let (written, stored) = tokio::join!(written, digest);
        written?;
        let stored = stored?;
        times.blobs = storing.elapsed();
        match self.store.complete(document.id, &self.settings.name, &stored).await {
            Ok(true) => {
                times.store = storing.elapsed();
                crate::metrics::document_recorded(&format, error.is_some(), document.bytes, ocr_pages);
                times.observe_work(&format);
                times.recorded = Some(format);
                Ok(error)
            }
            Ok(false) => {
                // Our lease ran out and another worker took the document over: its record stands.
                info!("claim lost before the record was written; the other worker's record stands");
                Ok(error)
            }
            Err(e) => Err(Fault::from(e)),
        }
    }
}

/// The longest text whose digest is made on the runtime's own thread: about 1,200 words, under 0.1 ms
/// (`cargo bench -p folio-core --bench digest`: 47 µs for 600 words, 0.54 ms for 5,000); a longer one goes to
/// a blocking thread, beside the blobs' writes, rather than hold up the runtime's other tasks.
const INLINE_DIGEST_BYTES: usize = 8 * 1024;

/// Where one document's time went in this worker, from its message's delivery to its acknowledgement. What is
/// not `extract` is the pipeline's own cost: the database (`claim`, the record in `store`), the blob store
/// (`fetch`, the thumbnails in `store`), the queue (`settle`) and the parser process's start and hand-back
/// (`isolation`).
#[derive(Debug, Default)]
struct StageTimes {
    /// Claiming the document in the database.
    claim: Duration,
    /// Waiting for a parser, held by another document of this worker: time in line, not a cost.
    wait: Duration,
    /// Making the original a local file for the parser (a copy from the blob store where it has no path).
    fetch: Duration,
    /// The parser's own time on the document (to the microsecond where the parser said it, else the
    /// record's `elapsed_ms`).
    extract: Duration,
    /// The rest of the parser process's wall time: starting it (one-shot), the request, its answer coming back.
    isolation: Duration,
    /// Writing the thumbnails and the record.
    store: Duration,
    /// Of `store`, the part before the record's write: the blobs (thumbnails, form) and the text's digest.
    blobs: Duration,
    /// Acknowledging the message.
    settle: Duration,
    /// The whole, from delivery to acknowledgement.
    document: Duration,
    /// The record's format, once this worker's record was written.
    recorded: Option<String>,
}

impl StageTimes {
    /// The stage histograms of the work up to the record (observed with the record, so that `/metrics`
    /// agrees with the records as soon as they are written).
    fn observe_work(&self, format: &str) {
        crate::metrics::document_timed(
            format,
            &[
                ("claim", self.claim),
                ("wait", self.wait),
                ("fetch", self.fetch),
                ("extract", self.extract),
                ("isolation", self.isolation),
                ("store", self.store),
            ],
        );
    }

    /// Once the message is acknowledged: the `settle` and `document` histograms, and one log event (target
    /// `folio::timing`) with every stage.
    fn report(&self, format: &str) {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        info!(
            target: "folio::timing",
            format,
            document_ms = ms(self.document),
            claim_ms = ms(self.claim),
            wait_ms = ms(self.wait),
            fetch_ms = ms(self.fetch),
            extract_ms = ms(self.extract),
            isolation_ms = ms(self.isolation),
            store_ms = ms(self.store),
            blobs_ms = ms(self.blobs),
            record_ms = ms(self.store.saturating_sub(self.blobs)),
            settle_ms = ms(self.settle),
            "document handled"
        );
        crate::metrics::document_timed(format, &[("settle", self.settle), ("document", self.document)]);
    }
}

struct Fault {
    retryable: bool,
    /// The parser process died: tried again at once, without the pause of an outage.
    parser: bool,
    /// The worker began stopping while the document waited for its parser: given back unread.
    unread: bool,
    message: String,
}

impl Fault {
    fn passing(message: String) -> Self {
        Self { retryable: true, parser: false, unread: false, message }
    }
}

/// The blob store's faults and the database's: passing or not as each error says.
impl From<folio_store::BlobError> for Fault {
    fn from(e: folio_store::BlobError) -> Self {
        Self { retryable: e.is_retryable(), parser: false, unread: false, message: e.to_string() }
    }
}

impl From<StoreError> for Fault {
    fn from(e: StoreError) -> Self {
        Self { retryable: e.is_retryable(), parser: false, unread: false, message: e.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_ceiling_and_clears() {
        let b = FaultBackoff::default();
        assert_eq!(b.pause(), Duration::ZERO);
        let waits: Vec<u64> = (0..8).map(|_| b.fault().as_millis() as u64).collect();
        assert_eq!(waits, [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
        assert_eq!(b.pause(), MAX_BACKOFF);
        b.clear();
        assert_eq!(b.pause(), Duration::ZERO);
        for _ in 0..100 {
            b.fault();
        }
        assert_eq!(b.pause(), MAX_BACKOFF, "no overflow after many faults");
    }
}
