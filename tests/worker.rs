//! Workers on the embedded default, with the real parser process: duplicated requests, a worker that died
//! holding documents (each ends with exactly one record per document), and a parser that crashes on every
//! document (each fails after its attempts).

use folio::worker::sandbox::Sandbox;
use folio::worker::{WorkEvent, Worker, WorkerSettings};
use folio_core::*;
use folio_store::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

mod support;

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    queue: Arc<dyn WorkQueue>,
    catalogue_id: Uuid,
    documents: Vec<Document>,
}

/// `n` small PNG documents in one contribution.
async fn setup(n: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&format!("sqlite://{}", dir.path().join("folio.db").display())).await.unwrap();
    let blobs = open_blobs(&dir.path().join("blobs").display().to_string()).unwrap();
    let queue: Arc<dyn WorkQueue> = Arc::new(InProcessQueue::new());
    let (catalogue_id, documents) = support::photo_catalogue(store.as_ref(), blobs.as_ref(), n).await;
    Setup { _dir: dir, store, blobs, queue, catalogue_id, documents }
}

fn worker(s: &Setup, name: &str, sandbox: Sandbox, lease: Duration) -> Worker {
    Worker {
        store: s.store.clone(),
        blobs: s.blobs.clone(),
        queue: s.queue.clone(),
        sandbox,
        settings: WorkerSettings { name: name.into(), concurrency: 2, lease, max_attempts: 3, ..Default::default() },
        events: None,
    }
}

fn real_sandbox() -> Sandbox {
    Sandbox::with_program(PathBuf::from(env!("CARGO_BIN_EXE_folio")))
}

/// Runs two workers until every document is finished (or 60 s pass), then stops them.
async fn run_until_cleared(s: &Setup, sandbox: Sandbox, lease: Duration) {
    let workers = vec![worker(s, "worker-a", sandbox.clone(), lease), worker(s, "worker-b", sandbox, lease)];
    run_workers_until_cleared(s, workers).await;
}

/// Runs `workers` until every document is finished (or 60 s pass), then stops them.
async fn run_workers_until_cleared(s: &Setup, workers: Vec<Worker>) {
    let stop = tokio_util::sync::CancellationToken::new();
    let running: Vec<_> = workers.into_iter().map(|w| tokio::spawn(w.run(stop.clone()))).collect();
    let cleared = tokio::time::timeout(
        Duration::from_secs(60),
        folio::build::inputs::wait_until_cleared(s.store.as_ref(), s.catalogue_id, Duration::from_millis(50), |_| {}),
    )
    .await;
    s.queue.close();
    stop.cancel();
    for worker in running {
        worker.await.unwrap();
    }
    cleared.expect("documents did not clear within 60 s").unwrap();
}

async fn assert_one_record_each(s: &Setup) {
    let records = s.store.records(s.catalogue_id).await.unwrap();
    let mut ids: Vec<Uuid> = records.iter().map(|(id, _)| *id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), s.documents.len(), "one record per document");
    assert_eq!(records.len(), s.documents.len(), "no document has two records");
    for d in s.store.documents(s.catalogue_id).await.unwrap() {
        assert_eq!(d.state, DocumentState::Done, "{}", d.file_name);
    }
}

#[tokio::test]
async fn duplicated_requests_make_one_record_per_document() {
    let s = setup(40).await;
    for _ in 0..3 {
        for d in &s.documents {
            s.queue.publish(&WorkRequest::new(s.catalogue_id, d.id)).await.unwrap();
        }
    }
    run_until_cleared(&s, real_sandbox(), Duration::from_secs(60)).await;
    assert_one_record_each(&s).await;
    let (first_id, first) = &s.store.records(s.catalogue_id).await.unwrap()[0];
    assert_eq!(first.record.format, "png");
    // One blob per size at a key fixed by the document and the size: the duplicates overwrote them.
    let keys: Vec<&str> = first.record.thumbnails.iter().map(|t| t.location.as_str()).collect();
    assert_eq!(keys, [format!("thumbnails/{first_id}/1024.png"), format!("thumbnails/{first_id}/256.png")]);
    for key in keys {
        assert!(s.blobs.get(key).await.is_ok(), "{key} is not in the blob store");
    }
    let smallest = format!("thumbnails/{first_id}/256.png");
    assert_eq!(first.thumbnail_key.as_deref(), Some(smallest.as_str()));
    assert_eq!(first.record.thumbnail.as_deref(), Some(smallest.as_str()));
    for d in s.store.documents(s.catalogue_id).await.unwrap() {
        assert_eq!(d.attempts, 1, "a duplicate request never starts a second attempt");
    }
}

#[tokio::test]
async fn documents_held_by_a_dead_worker_are_taken_over_when_the_lease_runs_out() {
    let s = setup(10).await;
    // A worker claimed half the documents with a short lease, then died without writing anything.
    for d in &s.documents[..5] {
        let claim = s.store.claim(d.id, "dead-worker", Duration::from_millis(300), 3).await.unwrap();
        assert!(matches!(claim, Claim::Granted { .. }));
    }
    // Its messages come back (the broker redelivers a dead consumer's unacknowledged messages).
    for d in &s.documents {
        s.queue.publish(&WorkRequest::new(s.catalogue_id, d.id)).await.unwrap();
    }
    // The held ones are first dropped as duplicates; a second round after the lease ran out takes them.
    tokio::time::sleep(Duration::from_millis(400)).await;
    for d in &s.documents[..5] {
        s.queue.publish(&WorkRequest::new(s.catalogue_id, d.id)).await.unwrap();
    }
    run_until_cleared(&s, real_sandbox(), Duration::from_secs(60)).await;
    assert_one_record_each(&s).await;
}

#[tokio::test]
async fn a_parser_that_always_crashes_fails_its_documents_after_their_attempts_not_the_worker() {
    use std::os::unix::fs::PermissionsExt;
    let s = setup(6).await;
    let dir = tempfile::tempdir().unwrap();
    let poison = dir.path().join("poison");
    std::fs::write(&poison, "#!/bin/sh\nkill -SEGV $$\n").unwrap();
    std::fs::set_permissions(&poison, std::fs::Permissions::from_mode(0o755)).unwrap();
    for d in &s.documents {
        s.queue.publish(&WorkRequest::new(s.catalogue_id, d.id)).await.unwrap();
    }
    run_until_cleared(&s, Sandbox::with_program(poison), Duration::from_secs(60)).await;
    // Each document was tried its three attempts (a dying parser may be the machine's fault), then failed
    // with the parser's death as its last error; no record was written for any, and the workers lived on.
    assert!(s.store.records(s.catalogue_id).await.unwrap().is_empty(), "no record for a document never read");
    for d in s.store.documents(s.catalogue_id).await.unwrap() {
        assert_eq!(d.state, DocumentState::Failed, "{}", d.file_name);
        assert_eq!(d.attempts, 3, "{}", d.file_name);
        let error = d.last_error.as_deref().unwrap_or_default();
        assert!(error.starts_with("crashed: "), "{error}");
    }
}

/// Runs one worker with `concurrency` parsers over every queued request, recording its events, until every
/// document is finished (or 60 s pass).
async fn run_one_until_cleared(s: &Setup, sandbox: Sandbox, concurrency: usize) -> Vec<WorkEvent> {
    let (events, mut heard) = tokio::sync::broadcast::channel(1024);
    let mut w = worker(s, "worker-a", sandbox, Duration::from_secs(60));
    w.settings.concurrency = concurrency;
    w.events = Some(events);
    run_workers_until_cleared(s, vec![w]).await;
    let mut seen = Vec::new();
    while let Ok(event) = heard.try_recv() {
        seen.push(event);
    }
    seen
}

/// Issue 24: a worker holds two documents a parser, so that the next one is claimed (and the last one
/// stored) while its parser reads; but it never reads more documents at once than it has parsers.
#[tokio::test]
async fn a_worker_claims_the_next_document_while_its_one_parser_reads_and_never_reads_two_at_once() {
    let s = setup(8).await;
    for d in &s.documents {
        s.queue.publish(&WorkRequest::new(s.catalogue_id, d.id)).await.unwrap();
    }
    let mut sandbox = real_sandbox();
    let pool = Arc::new(folio::worker::pool::WarmPool::new(1000, 1 << 30));
    sandbox.warm = Some(pool.clone());
    let events = run_one_until_cleared(&s, sandbox, 1).await;
    assert_one_record_each(&s).await;
    // Documents claimed and not yet recorded, event by event: two at some point (the next claimed while one
    // was read), never more than two.
    let mut held = 0i32;
    let mut most = 0;
    for event in &events {
        match event {
            WorkEvent::Started { .. } => held += 1,
            WorkEvent::Recorded { .. } | WorkEvent::Failed { .. } | WorkEvent::Retried { .. } => held -= 1,
            WorkEvent::Skipped { .. } => {}
        }
        most = most.max(held);
    }
    assert_eq!(
        most,
        folio::worker::DOCUMENTS_IN_HAND_PER_PARSER as i32,
        "one document in the parser, the next waiting in its queue, the one before stored: {events:?}"
    );
    // Two documents read at once would have needed a second warm process; both would be waiting now.
    assert_eq!(pool.idle_pids().len(), 1, "one parser process read every document");
}

/// A worker that stops gives back at once the document it claimed that still waits for its parser (its
/// attempt not counted); the one being read has the grace period, then is abandoned.
#[tokio::test]
async fn a_stopping_worker_gives_back_at_once_the_document_waiting_for_its_parser() {
    use std::os::unix::fs::PermissionsExt;
    // A parser that never answers: the first document holds the only parser until the grace period ends.
    let dir = tempfile::tempdir().unwrap();
    let hang = dir.path().join("hang");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 60\n").unwrap();
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).unwrap();
    stopping_gives_back_the_waiting_document_at_once(Sandbox::with_program(hang), 2).await;
}

/// The same with a warm parser, where the documents waiting are in the warm parsers' queue: given back at
/// once all the same, never sent.
#[tokio::test]
async fn a_stopping_worker_gives_back_at_once_the_documents_queued_for_its_warm_parser() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let hang = dir.path().join("warm-hang");
    std::fs::write(&hang, "#!/bin/sh\n[ \"$1\" = extract-server ] || exit 9\nwhile read -r line; do sleep 60; done\n")
        .unwrap();
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut sandbox = Sandbox::with_program(hang);
    sandbox.warm = Some(Arc::new(folio::worker::pool::WarmPool::new(100, 1 << 30)));
    stopping_gives_back_the_waiting_document_at_once(sandbox, 3).await;
}

/// A worker of one parser holding `in_hand` documents, the first of which hangs in its parser: on stop, the
/// others (claimed, waiting for the parser or in its queue) go back at once, unread; the first after the
/// grace period; the document past those in hand was never claimed.
async fn stopping_gives_back_the_waiting_document_at_once(sandbox: Sandbox, in_hand: usize) {
    let s = setup(in_hand + 1).await;
    for d in &s.documents {
        s.queue.publish(&WorkRequest::new(s.catalogue_id, d.id)).await.unwrap();
    }
    let (events, mut heard) = tokio::sync::broadcast::channel(64);
    let mut w = worker(&s, "worker-a", sandbox, Duration::from_secs(60));
    w.settings.concurrency = 1;
    w.events = Some(events);
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(w.run_with_grace(stop.clone(), Some(Duration::from_secs(2))));
    async fn next(heard: &mut tokio::sync::broadcast::Receiver<WorkEvent>) -> WorkEvent {
        tokio::time::timeout(Duration::from_secs(20), heard.recv()).await.expect("an event within 20 s").unwrap()
    }
    let WorkEvent::Started { document_id: reading } = next(&mut heard).await else { panic!("the first starts") };
    let mut waiting = Vec::new();
    for _ in 1..in_hand {
        let WorkEvent::Started { document_id } = next(&mut heard).await else { panic!("the next is claimed") };
        waiting.push(document_id);
    }
    stop.cancel();
    let mut back = Vec::new();
    for _ in 1..in_hand {
        let WorkEvent::Retried { document_id } = next(&mut heard).await else {
            panic!("the waiting ones go back first")
        };
        back.push(document_id);
    }
    back.sort();
    waiting.sort();
    assert_eq!(back, waiting, "the waiting ones go back first");
    assert_eq!(next(&mut heard).await, WorkEvent::Retried { document_id: reading }, "then, after the grace, the other");
    running.await.unwrap();
    let state = |id: Uuid| {
        let store = s.store.clone();
        async move { store.document(id).await.unwrap().unwrap() }
    };
    let read = state(reading).await;
    assert_eq!((read.state, read.attempts), (DocumentState::Queued, 1), "abandoned while read: an attempt");
    for id in &waiting {
        let unread = state(*id).await;
        assert_eq!((unread.state, unread.attempts), (DocumentState::Queued, 0), "given back unread: no attempt");
    }
    let last = s.documents.iter().find(|d| d.id != reading && !waiting.contains(&d.id)).unwrap();
    assert_eq!(state(last.id).await.attempts, 0, "the last was never claimed");
}
