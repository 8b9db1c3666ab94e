//! The cluster, as real processes: `folio worker` (two) and `folio coordinator` (two, to show that a change
//! is assembled once) on RabbitMQ and PostgreSQL, with a `file://` blob store. A catalogue is ingested; the
//! coordinators assemble it once every chapter clears, put the bundle in the blob store and announce
//! `catalogue.assembled`; a change to the catalogue makes exactly one more build. Needs RabbitMQ and
//! PostgreSQL (see tests/support/cluster.rs); `scripts/test` starts both.

use folio_store::amqp::AmqpQueue;
use folio_store::*;
use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod support;
use support::cluster::{broker_url, stop, Cluster};

const PROCESSES: [&str; 4] = ["worker-1", "worker-2", "coordinator-1", "coordinator-2"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

const SETTINGS: &str = "[coordinator]\nevery_secs = 1\n[reconciler]\nevery_secs = 1\n[worker]\nconcurrency = 2\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_assembles_each_change_once_and_announces_it() {
    let (cluster, queue) = Cluster::create(SETTINGS).await;
    let cluster = Arc::new(cluster);
    let outcome = tokio::spawn(assemble_on(cluster.clone(), queue.clone())).await;
    cluster.remove(&queue).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The same on S3-compatible object storage (moto_server, as in folio-store's tests/s3_blobs.rs): workers
/// read the originals from the bucket, and the coordinator writes the bundle there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_works_on_object_storage() {
    let endpoint = std::env::var("FOLIO_TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5000".into());
    let bucket = format!("folio-test-{}", uuid::Uuid::new_v4().simple());
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut stream = std::net::TcpStream::connect(&authority).unwrap_or_else(|e| {
        panic!("no S3-compatible server at {endpoint} ({e}): run scripts/test, which starts moto_server, or set FOLIO_TEST_S3_ENDPOINT")
    });
    std::io::Write::write_all(
        &mut stream,
        format!("PUT /{bucket} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "creating the bucket: {answer}");

    let (mut cluster, queue) = Cluster::create(SETTINGS).await;
    cluster.blob_url = Some(format!("s3://{bucket}/folio?endpoint={endpoint}&region=us-east-1"));
    for (k, v) in [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
    let cluster = Arc::new(cluster);
    let outcome = tokio::spawn(assemble_on(cluster.clone(), queue.clone())).await;
    cluster.remove(&queue).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The next `catalogue.assembled` event, within `secs`.
async fn next_event(events: &mut lapin::Consumer, secs: u64) -> Option<CatalogueAssembled> {
    match tokio::time::timeout(Duration::from_secs(secs), events.next()).await {
        Ok(Some(Ok(d))) => Some(serde_json::from_slice(&d.data).expect("a version 1 event")),
        _ => None,
    }
}

/// No event announces a build after `latest` within a second. Announcing is at least once (the contract:
/// a build done but not yet noted as announced is announced again, and two coordinators sweeping at once
/// may both announce it; consumers tell repeats by the message id `<catalogue>/<build>`), so a repeat of a
/// build already announced may come; a build that was not made may not. That each change makes exactly one
/// build is checked on the database's builds.
async fn no_new_build(events: &mut lapin::Consumer, latest: u32) {
    while let Some(event) = next_event(events, 1).await {
        assert!(event.build <= latest, "an event for build {} after build {latest}: {event:?}", event.build);
    }
}

async fn assemble_on(cluster: Arc<Cluster>, queue: AmqpQueue) {
    // Listen for the events as an editors' system would: a queue of its own bound to the events exchange.
    let connection = lapin::Connection::connect(&broker_url(), lapin::ConnectionProperties::default()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let listener = format!("{}.listener", cluster.queue_name);
    channel
        .queue_declare(
            listener.as_str().into(),
            QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() },
            FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            listener.as_str().into(),
            queue.options().events_exchange().as_str().into(),
            CatalogueAssembled::ROUTING_KEY.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut events = channel
        .basic_consume(
            listener.as_str().into(),
            "test".into(),
            BasicConsumeOptions { no_ack: true, ..Default::default() },
            FieldTable::default(),
        )
        .await
        .unwrap();

    // The intake, as a front end would send it: the example catalogue, stored and queued.
    let input = cluster.dir.path().join("ccm-2012");
    std::fs::create_dir_all(&input).unwrap();
    for entry in std::fs::read_dir(repo().join("examples/ccm-2012")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), input.join(entry.file_name())).unwrap();
    }
    let store = open_store(&cluster.db_url()).await.unwrap();
    store.migrate().await.unwrap();
    let blobs = open_blobs(&cluster.blob_url()).unwrap();
    let snapshot = folio::ingest::read_folder(&input, blobs.as_ref()).await.unwrap();
    let catalogue_id = snapshot.catalogue_id;
    let documents = snapshot.documents.len();
    folio::ingest::submit(store.as_ref(), &queue, snapshot).await.unwrap();

    let mut processes: Vec<_> =
        PROCESSES.iter().map(|name| (*name, cluster.start(name.split('-').next().unwrap(), name))).collect();

    let Some(first) = next_event(&mut events, 300).await else {
        panic!("no catalogue.assembled event:\n{}", cluster.logs(&PROCESSES))
    };
    assert_eq!((first.version, first.catalogue_id, first.build), (1, catalogue_id, 1));
    let bundle = format!("bundles/{catalogue_id}/1");
    assert_eq!(first.location, format!("{}/{bundle}/", cluster.blob_url()));
    let manifest =
        blobs.get(&format!("{bundle}/manifest.json")).await.expect("the bundle's manifest in the blob store");
    assert_eq!(first.manifest_sha256, hex::encode(Sha256::digest(&manifest)));
    for file in ["catalogue.docx", "catalogue.pdf", "report.html"] {
        assert!(blobs.exists(&format!("{bundle}/{file}")).await.unwrap(), "{file} in the bundle");
    }
    assert_eq!(store.records(catalogue_id).await.unwrap().len(), documents, "one record per document");

    // Two coordinators, several sweeps: still one build of these inputs, and one event.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let builds = store.builds(catalogue_id).await.unwrap();
    assert_eq!(builds.len(), 1, "{builds:?}");
    assert!(builds[0].announced);
    no_new_build(&mut events, 1).await;

    // A change: a contribution withdrawn. One more build, announced once.
    let csv = std::fs::read_to_string(input.join("contributions.csv")).unwrap();
    let withdrawn: String =
        csv.lines().filter(|l| !l.starts_with("timeline-2012.png")).map(|l| format!("{l}\n")).collect();
    std::fs::write(input.join("contributions.csv"), withdrawn).unwrap();
    std::fs::remove_file(input.join("timeline-2012.png")).unwrap();
    let snapshot = folio::ingest::read_folder(&input, blobs.as_ref()).await.unwrap();
    folio::ingest::submit(store.as_ref(), &queue, snapshot).await.unwrap();
    let Some(second) = next_event(&mut events, 120).await else {
        panic!("no second event:\n{}", cluster.logs(&PROCESSES))
    };
    assert_eq!(second.build, 2);
    let manifest: serde_json::Value =
        serde_json::from_slice(&blobs.get(&format!("bundles/{catalogue_id}/2/manifest.json")).await.unwrap()).unwrap();
    let titles: Vec<&str> =
        manifest["contributions"].as_array().unwrap().iter().filter_map(|c| c["title"].as_str()).collect();
    assert!(!titles.is_empty() && !titles.contains(&"Timeline of the catalogue in 2012"), "{titles:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let builds = store.builds(catalogue_id).await.unwrap();
    assert_eq!(
        builds.len(),
        2,
        "{builds:?}\n{:?}\n{}",
        store.documents(catalogue_id).await.unwrap(),
        cluster.logs(&PROCESSES)
    );
    no_new_build(&mut events, 2).await;

    for (name, child) in &mut processes {
        let status = stop(child);
        assert!(status.success(), "{name} exited with {status}:\n{}", cluster.log(name));
    }
    drop(store);
    let _ = connection.close(200, "OK".into()).await;
}

/// The reconciler on a real broker: requests past the delivery limit are settled by what the database says
/// of their documents: dropped for a finished one, failed for one that used its attempts, sent again for any
/// other. Nothing stays in the dead-letter queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_settles_dead_letters_by_the_database() {
    let name = format!("folio.test.{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}?queue={name}&delivery_limit=1", broker_url());
    let queue = AmqpQueue::open(&url, 10).await.unwrap_or_else(|e| {
        panic!(
            "RabbitMQ is not reachable at {} ({e}); start it with `rabbitmq-server -detached` (scripts/test does)",
            broker_url()
        )
    });
    let outcome = tokio::spawn(settle_dead_letters_on(queue.clone())).await;
    if let Err(e) = queue.delete_declared().await {
        eprintln!("could not delete the test's queues: {e}");
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn settle_dead_letters_on(queue: AmqpQueue) {
    use folio::reconciler::{sweep, ReconcilerSettings};
    use folio_core::DocumentState;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&format!("sqlite://{}", dir.path().join("folio.db").display())).await.unwrap();
    let blobs = open_blobs(&dir.path().join("blobs").display().to_string()).unwrap();
    let (catalogue_id, documents) = support::photo_catalogue(store.as_ref(), blobs.as_ref(), 3).await;
    let (done, spent, fresh) = (documents[0].id, documents[1].id, documents[2].id);
    let settings = ReconcilerSettings { max_attempts: 2, ..Default::default() };
    // done: recorded. spent: tried twice, given back each time (a passing fault). fresh: never claimed (the
    // database was down whenever its request came).
    store.claim(done, "w", Duration::from_secs(60), 2).await.unwrap();
    let record = folio_store::StoredRecord {
        record: folio_core::Record::failed(
            "x",
            "aa".into(),
            1,
            folio_core::ExtractError::new(folio_core::ExtractErrorKind::Io, "x"),
        ),
        text: String::new(),
        thumbnail_key: None,
    };
    assert!(store.complete(done, "w", &record).await.unwrap());
    for _ in 0..2 {
        store.claim(spent, "w", Duration::from_secs(60), 2).await.unwrap();
        assert!(store.release(spent, "w", "blob store unreachable", false).await.unwrap());
    }

    for id in [done, spent, fresh] {
        queue.publish(&WorkRequest::new(catalogue_id, id)).await.unwrap();
    }
    // Given back until the broker gives up on them (delivery limit 1: two deliveries each).
    let mut given_back = 0;
    while let Ok(Some(d)) = tokio::time::timeout(Duration::from_secs(3), queue.next()).await {
        d.nack(true).await.unwrap();
        given_back += 1;
        assert!(given_back <= 20, "never dead-lettered");
    }
    assert_eq!(given_back, 6);
    let start = std::time::Instant::now();
    while queue.dead_letter_depth().await.unwrap() < 3 {
        assert!(start.elapsed() < Duration::from_secs(15), "not dead-lettered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let swept = sweep(store.as_ref(), &queue, &settings).await.unwrap();
    assert_eq!((swept.dead_letters, swept.failed, swept.resent), (3, 1, 1), "{swept:?}");
    let spent_doc = store.document(spent).await.unwrap().unwrap();
    assert_eq!(spent_doc.state, DocumentState::Failed);
    let why = spent_doc.last_error.unwrap();
    assert!(why.contains("delivery limit") && why.contains("blob store unreachable"), "{why}");
    assert_eq!(store.document(fresh).await.unwrap().unwrap().state, DocumentState::Queued);
    assert_eq!(store.document(done).await.unwrap().unwrap().state, DocumentState::Done);
    let resent = tokio::time::timeout(Duration::from_secs(5), queue.next()).await.unwrap().expect("the fresh request");
    assert_eq!(resent.request().unwrap().document_id, fresh);
    resent.ack().await.unwrap();
    let start = std::time::Instant::now();
    while queue.dead_letter_depth().await.unwrap() > 0 {
        assert!(start.elapsed() < Duration::from_secs(15), "dead letters left");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
