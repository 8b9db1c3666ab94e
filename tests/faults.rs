//! Faults with real processes, each over 500 documents or more: two `folio worker`s and a `folio coordinator`
//! on RabbitMQ and PostgreSQL while something goes wrong. Each run must end with exactly one record per
//! document, none lost, none duplicated, nothing left in the queues, and the catalogue assembled once.
//!
//! - a worker killed with SIGKILL while it holds documents, four times;
//! - RabbitMQ stopped and started again mid-run (`rabbitmqctl stop_app` / `start_app`;
//!   FOLIO_TEST_RABBITMQCTL names the command);
//! - PostgreSQL restarted mid-run (FOLIO_TEST_POSTGRES_RESTART, default `service postgresql restart`);
//! - a poison document that crashes its parser every time, among requests all sent twice.
//!
//! The runs restart shared servers, so they take turns. Needs RabbitMQ and PostgreSQL, as root for the
//! restarts (see tests/support/cluster.rs); `scripts/test` starts both. docs/RELIABILITY.md reports them.

use folio_core::*;
use folio_store::queue::amqp::AmqpQueue;
use folio_store::*;
use sqlx::{Connection, PgConnection};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

mod support;
use support::cluster::{signal, stop, Cluster};

/// The faults restart shared servers: one run at a time.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const DOCUMENTS: usize = 500;
/// Short leases and sweeps, so that a dead worker's documents come back within seconds.
const SETTINGS: &str = "[worker]\nconcurrency = 2\nlease_secs = 3\n\
                        [reconciler]\nevery_secs = 1\nresend_after_secs = 5\n\
                        [coordinator]\nevery_secs = 2\n\
                        [extract]\nmemory_mib = 256\n";
const NAMES: [&str; 3] = ["worker-1", "worker-2", "coordinator"];

/// One run: the cluster, its store, the catalogue and the processes.
struct Run {
    cluster: Cluster,
    queue: AmqpQueue,
    store: Arc<dyn Store>,
    catalogue_id: Uuid,
    documents: Vec<Document>,
    processes: Vec<(&'static str, Child)>,
    started: Instant,
}

impl Run {
    /// `n` photos (and `extra` files), their requests published `copies` times, and the processes started.
    async fn start(n: usize, extra: &[(&str, Vec<u8>)], copies: usize) -> Run {
        let (cluster, queue) = Cluster::create(SETTINGS).await;
        let store = open_store(&cluster.db_url()).await.unwrap();
        store.migrate().await.unwrap();
        let blobs = open_blobs(&cluster.blob_url()).unwrap();
        let (catalogue_id, mut documents) =
            support::photo_catalogue_with(store.as_ref(), blobs.as_ref(), n, extra).await;
        documents.sort_by_key(|d| d.id);
        for _ in 0..copies {
            for d in &documents {
                queue.publish(&WorkRequest::new(catalogue_id, d.id)).await.unwrap();
            }
        }
        let processes =
            NAMES.iter().map(|name| (*name, cluster.start(name.split('-').next().unwrap(), name))).collect();
        Run { cluster, queue, store, catalogue_id, documents, processes, started: Instant::now() }
    }

    fn process(&mut self, name: &str) -> &mut Child {
        &mut self.processes.iter_mut().find(|(n, _)| *n == name).expect("a process of the run").1
    }

    async fn finished(&self) -> usize {
        self.store.progress(self.catalogue_id).await.map(|p| p.iter().map(|c| c.finished as usize).sum()).unwrap_or(0)
    }

    /// Waits until `count` documents are finished (done or failed).
    async fn wait_finished(&self, count: usize, within: Duration) {
        let start = Instant::now();
        while self.finished().await < count {
            assert!(
                start.elapsed() < within,
                "{} of {count} documents finished after {} s:\n{}",
                self.finished().await,
                within.as_secs(),
                self.tail_logs()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn tail_logs(&self) -> String {
        let mut all = self.cluster.logs(&NAMES);
        if all.len() > 20_000 {
            all = all.split_off(all.len() - 20_000);
        }
        all
    }

    /// Documents this process holds now, by the database (its claims carry its pid).
    async fn held_by(&self, pid: u32) -> i64 {
        let Ok(mut conn) = PgConnection::connect(&self.cluster.db_url()).await else { return 0 };
        let held: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM documents WHERE state = 'processing' AND claimed_by LIKE '%-' || $1",
        )
        .bind(pid.to_string())
        .fetch_one(&mut conn)
        .await
        .unwrap_or(0);
        let _ = conn.close().await;
        held
    }

    /// The checks every run ends with: all finished, one record per document that is done, the queues
    /// empty, the catalogue assembled once. Returns the documents and their records.
    /// Waits for every document, checks one record per document done and one build, stops the processes;
    /// returns the documents, the records and the processes' logs.
    async fn check_and_stop(mut self) -> (Vec<Document>, Vec<(Uuid, RecordSummary)>, String) {
        self.wait_finished(self.documents.len(), Duration::from_secs(420)).await;
        eprintln!(
            "{} documents finished {:.1} s after the start",
            self.documents.len(),
            self.started.elapsed().as_secs_f64()
        );
        let documents = self.store.documents(self.catalogue_id).await.unwrap();
        assert_eq!(documents.len(), self.documents.len(), "no document lost or added");
        let records = self.store.records(self.catalogue_id).await.unwrap();
        let done: Vec<&Document> = documents.iter().filter(|d| d.state == DocumentState::Done).collect();
        assert_eq!(records.len(), done.len(), "one record per document done");
        let mut ids: Vec<Uuid> = records.iter().map(|(id, _)| *id).collect();
        ids.dedup();
        assert_eq!(ids.len(), records.len(), "no document has two records");

        // The coordinator assembles once every chapter has cleared.
        let start = Instant::now();
        let builds = loop {
            let builds = self.store.builds(self.catalogue_id).await.unwrap();
            if builds.iter().any(|b| b.state == BuildState::Done && b.announced) {
                break builds;
            }
            assert!(start.elapsed() < Duration::from_secs(300), "no build:\n{}", self.tail_logs());
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert_eq!(builds.len(), 1, "assembled once: {builds:?}");
        eprintln!("assembled and announced {:.1} s after the start", self.started.elapsed().as_secs_f64());
        let manifest =
            self.cluster.blob_dir().join(format!("bundles/{}/{}/manifest.json", self.catalogue_id, builds[0].number));
        assert!(manifest.is_file(), "the bundle is in the blob store");

        let queue = self.queue.clone();
        let start = Instant::now();
        while queue.depth().await.unwrap() + queue.dead_letter_depth().await.unwrap() > 0 {
            assert!(start.elapsed() < Duration::from_secs(60), "requests left in the queues");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        for (name, child) in &mut self.processes {
            let status = stop(child);
            assert!(status.success(), "{name} exited with {status}:\n{}", self.cluster.log(name));
        }
        let logs = self.cluster.logs(&NAMES);
        self.cluster.remove(&self.queue).await;
        (documents, records, logs)
    }
}

/// Runs a command of the test's environment (a server restart), failing with what to do when it cannot.
fn run_command(variable: &str, default: &str) {
    let line = std::env::var(variable).unwrap_or_else(|_| default.to_string());
    let mut words = line.split_whitespace();
    let program = words.next().expect("a command");
    let status = Command::new(program).args(words).status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!(
            "`{line}` failed ({other:?}): this test restarts a server as root; set {variable} to a command that does"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_mid_document_lose_nothing() {
    let _turn = TURN.lock().await;
    // Four times as many: with warm parser processes a small photo takes milliseconds, and the kills need
    // documents still in flight for several seconds.
    let documents = 4 * DOCUMENTS;
    let mut run = Run::start(documents, &[], 1).await;
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    // Up to four kills while documents are left; how many fit depends on how fast the others go (worker-2
    // goes on meanwhile), so the run may end after fewer, but never before the first.
    while kills < 4 && (kills == 0 || run.finished().await < documents) {
        assert!(
            Instant::now() < deadline,
            "worker-1 was killed {kills} times and held no document since:\n{}",
            run.tail_logs()
        );
        let pid = run.process("worker-1").id();
        if run.held_by(pid).await > 0 {
            // SIGKILL: no shutdown, no release; the broker gets the unacknowledged requests back, the
            // database keeps the claims until their leases run out.
            signal(run.process("worker-1"), libc::SIGKILL);
            let _ = run.process("worker-1").wait();
            kills += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let restarted = run.cluster.start("worker", "worker-1");
            *run.process("worker-1") = restarted;
        }
        // Often: a small photo is held for milliseconds.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("worker-1 killed {kills} times while it held documents");
    let (documents, _, _) = run.check_and_stop().await;
    assert!(documents.iter().all(|d| d.state == DocumentState::Done), "every document done");
    let retried = documents.iter().filter(|d| d.attempts >= 2).count();
    assert!(retried >= 1, "the killed worker's documents were processed again ({retried})");
}

/// A run of 500 documents with `fault` done once a fifth of them are finished, while the rest are in flight.
async fn fault_mid_run(fault: impl FnOnce()) {
    let _turn = TURN.lock().await;
    let run = Run::start(DOCUMENTS, &[], 1).await;
    run.wait_finished(DOCUMENTS / 5, Duration::from_secs(300)).await;
    let before = run.finished().await;
    assert!(before < DOCUMENTS, "the fault comes mid-run ({before} finished)");
    fault();
    let (documents, _, _) = run.check_and_stop().await;
    assert!(documents.iter().all(|d| d.state == DocumentState::Done), "every document done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_run_loses_nothing() {
    fault_mid_run(|| {
        run_command("FOLIO_TEST_RABBITMQCTL_STOP", "rabbitmqctl stop_app");
        std::thread::sleep(Duration::from_secs(3));
        run_command("FOLIO_TEST_RABBITMQCTL_START", "rabbitmqctl start_app");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_mid_run_loses_nothing() {
    fault_mid_run(|| run_command("FOLIO_TEST_POSTGRES_RESTART", "service postgresql restart")).await;
}

/// A PNG of 11,000 x 10,000 pixels, one colour: small on disk, within the pixel limit (120 MP), but 330 MB
/// decoded, more than the address space the parser process gets in these runs (`extract.memory_mib` 256; a
/// small photo needs under 20 MiB): it dies for want of memory every time it is opened. (With 512 MiB it
/// sometimes got through: the decode fits, and only a later copy may not.)
fn poison_png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(11_000, 10_000, image::Rgb([200, 200, 200]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    png.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_document_fails_alone_and_duplicates_change_nothing() {
    let _turn = TURN.lock().await;
    let run = Run::start(DOCUMENTS, &[("poison.png", poison_png())], 2).await;
    let (documents, records, logs) = run.check_and_stop().await;
    let poison = documents.iter().find(|d| d.file_name == "poison.png").expect("the poison document");
    let others: Vec<&Document> = documents.iter().filter(|d| d.file_name != "poison.png").collect();
    assert_eq!(others.len(), DOCUMENTS);
    assert!(others.iter().all(|d| d.state == DocumentState::Done && d.attempts == 1), "the rest unaffected, each once");
    // The parser died on each of its three attempts; the document failed with that as its last error, its
    // message went to the dead-letter exchange, no record was written for it, and the worker lived on.
    assert_eq!(poison.state, DocumentState::Failed);
    assert!(poison.attempts >= 3, "tried its attempts ({})", poison.attempts);
    let error = poison.last_error.as_deref().unwrap_or_default();
    assert!(error.starts_with("out_of_memory: ") || error.starts_with("crashed: "), "{error}");
    assert!(records.iter().all(|(id, _)| *id != poison.id), "no record for the poison document");
    let settled = format!("document_id={}", poison.id);
    assert!(
        logs.lines().any(|l| l.contains("dead letter") && l.contains(&settled)),
        "the coordinator settled the poison document's dead letter:\n{}",
        logs.lines()
            .filter(|l| l.contains("dead") || l.contains(&poison.id.to_string()))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
