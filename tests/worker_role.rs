//! `folio worker`, the real binary, on RabbitMQ: it takes requests published to the broker, writes one record
//! per document, answers its health endpoints, and on SIGTERM stops within its grace period, leaving nothing
//! held. Needs RabbitMQ (`FOLIO_TEST_AMQP_URL`, by default `amqp://guest:guest@127.0.0.1:5672/%2f`); without
//! it the test fails and says how to start it.

use folio_core::*;
use folio_store::queue::amqp::AmqpQueue;
use folio_store::*;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

mod support;

fn broker_url() -> String {
    std::env::var("FOLIO_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn queue_url(name: &str) -> String {
    format!("{}?queue={name}", broker_url())
}

fn http_get(addr: &str, path: &str) -> String {
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return String::new() };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: folio\r\nConnection: close\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_role_processes_requests_from_rabbitmq_and_stops_cleanly_on_sigterm() {
    let name = format!("folio.test.{}", Uuid::new_v4().simple());
    let queue = AmqpQueue::open(&queue_url(&name), 1).await.unwrap_or_else(|e| {
        panic!(
            "RabbitMQ is not reachable at {} ({e}); start it with `rabbitmq-server -detached` (scripts/test does)",
            broker_url()
        )
    });
    // The test's own queues go when it ends, also when it failed.
    let outcome = tokio::spawn(worker_role_on(queue.clone(), name)).await;
    if let Err(e) = queue.delete_declared().await {
        eprintln!("could not delete the test's queues: {e}");
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn worker_role_on(queue: AmqpQueue, name: String) {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("folio.db").display());
    let blob_dir = dir.path().join("blobs");
    let store: Arc<dyn Store> = open_store(&db_url).await.unwrap();
    let blobs = open_blobs(&blob_dir.display().to_string()).unwrap();

    let (catalogue_id, documents) = support::photo_catalogue(store.as_ref(), blobs.as_ref(), 12).await;
    // Every request twice: a duplicate must not make a second record.
    for document in documents.iter().chain(&documents) {
        queue.publish(&WorkRequest::new(catalogue_id, document.id)).await.unwrap();
    }

    let health = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let mut worker = Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("worker")
        .arg("--concurrency")
        .arg("2")
        .env("FOLIO_DATABASE_URL", &db_url)
        .env("FOLIO_BLOB_URL", format!("file://{}", blob_dir.display()))
        .env("FOLIO_QUEUE_URL", queue_url(&name))
        .env("FOLIO_HEALTH_ADDR", &health)
        .env("FOLIO_THUMBNAIL_SIZES", "256")
        .env("FOLIO_LIBREOFFICE", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the folio binary runs");

    let started = Instant::now();
    let done = loop {
        let docs = store.documents(catalogue_id).await.unwrap();
        let done = docs.iter().filter(|d| d.state == DocumentState::Done).count();
        if done == documents.len() || started.elapsed() > Duration::from_secs(180) {
            break done;
        }
        if let Ok(Some(status)) = worker.try_wait() {
            let mut log = String::new();
            worker.stderr.take().unwrap().read_to_string(&mut log).unwrap();
            panic!("the worker exited early ({status}):\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done, documents.len(), "every document processed");
    let ready = http_get(&health, "/readyz");
    assert!(ready.starts_with("HTTP/1.1 200"), "ready while working: {ready}");
    assert!(http_get(&health, "/livez").starts_with("HTTP/1.1 200"));

    // SIGTERM: the worker stops within its grace period (25 s by default) and exits 0.
    let pid = i32::try_from(worker.id()).unwrap();
    // SAFETY: kill(2) on a child this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = worker.try_wait().unwrap() {
            break status;
        }
        assert!(stopping.elapsed() < Duration::from_secs(40), "the worker did not stop within its grace period");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut log = String::new();
    worker.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(status.success(), "exit status {status}:\n{log}");
    assert!(log.contains("SIGTERM"), "the log says why it stopped:\n{log}");

    let records = store.records(catalogue_id).await.unwrap();
    assert_eq!(records.len(), documents.len(), "one record per document, duplicates included");
    assert!(records.iter().all(|(_, r)| r.record.pages == Some(1) && r.thumbnail_key.is_some()));
    assert_eq!(queue.depth().await.unwrap(), 0, "every request was taken and acknowledged");
    assert_eq!(queue.dead_letter_depth().await.unwrap(), 0);
}

#[test]
fn the_worker_role_refuses_the_in_process_queue() {
    let output = Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("worker")
        .env("FOLIO_QUEUE_URL", "memory://")
        .env("FOLIO_DATA_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("shared queue") && stderr.contains("amqp://"), "{stderr}");
}
