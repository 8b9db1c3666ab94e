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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_assembles_each_change_once_and_announces_it() {
    let settings = "[coordinator]\nevery_secs = 1\n[reconciler]\nevery_secs = 1\n[worker]\nconcurrency = 2\n";
    let (cluster, queue) = Cluster::create(settings).await;
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

    let mut processes: Vec<_> = PROCESSES
        .iter()
        .map(|name| (*name, cluster.start(name.split('-').next().unwrap(), name)))
        .collect();

    let Some(first) = next_event(&mut events, 300).await else {
        panic!("no catalogue.assembled event:\n{}", cluster.logs(&PROCESSES))
    };
    assert_eq!((first.version, first.catalogue_id, first.build), (1, catalogue_id, 1));
    let bundle = cluster.blob_dir().join(format!("bundles/{catalogue_id}/1"));
    assert_eq!(first.location, format!("{}/bundles/{catalogue_id}/1/", cluster.blob_url()));
    let manifest = std::fs::read(bundle.join("manifest.json")).expect("the bundle's manifest in the blob store");
    assert_eq!(first.manifest_sha256, hex::encode(Sha256::digest(&manifest)));
    for file in ["catalogue.docx", "catalogue.pdf", "report.html"] {
        assert!(bundle.join(file).is_file(), "{file} in the bundle");
    }
    assert_eq!(store.records(catalogue_id).await.unwrap().len(), documents, "one record per document");

    // Two coordinators, several sweeps: still one build of these inputs, and one event.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let builds = store.builds(catalogue_id).await.unwrap();
    assert_eq!(builds.len(), 1, "{builds:?}");
    assert!(builds[0].announced);
    assert!(next_event(&mut events, 1).await.is_none(), "one event per build");

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
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(cluster.blob_dir().join(format!("bundles/{catalogue_id}/2/manifest.json"))).unwrap(),
    )
    .unwrap();
    let titles: Vec<&str> =
        manifest["contributions"].as_array().unwrap().iter().filter_map(|c| c["title"].as_str()).collect();
    assert!(!titles.is_empty() && !titles.contains(&"Timeline of the catalogue in 2012"), "{titles:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(store.builds(catalogue_id).await.unwrap().len(), 2);
    assert!(next_event(&mut events, 1).await.is_none(), "one event per build");

    for (name, child) in &mut processes {
        let status = stop(child);
        assert!(status.success(), "{name} exited with {status}:\n{}", cluster.log(name));
    }
    drop(store);
    let _ = connection.close(200, "OK".into()).await;
}
