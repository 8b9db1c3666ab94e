//! Real processes of the cluster for tests: `folio worker` and `folio coordinator` started on a fresh
//! PostgreSQL database, a RabbitMQ queue of the test's own and a `file://` blob store; helpers to stop, kill
//! and read them.
//!
//! Needs RabbitMQ (`FOLIO_TEST_AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`) and PostgreSQL
//! (`FOLIO_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`, a user that may create
//! databases); without them a test fails and says how to start them. `scripts/test` starts both.

use folio_store::queue::amqp::AmqpQueue;
use sqlx::{Connection, Executor, PgConnection};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub fn broker_url() -> String {
    std::env::var("FOLIO_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

pub fn postgres_server() -> String {
    std::env::var("FOLIO_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Runs one statement on the server's maintenance database.
pub async fn admin(sql: &str) {
    let server = postgres_server();
    let mut conn = match tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&server)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => panic!(
            "PostgreSQL is not reachable at {server} ({e}): start it (`sudo service postgresql start`, or \
             `scripts/test` starts it) or set FOLIO_TEST_POSTGRES_URL"
        ),
        Err(_) => panic!("PostgreSQL at {server} did not answer in 10 s; `scripts/test` starts it"),
    };
    conn.execute(sql).await.unwrap();
    conn.close().await.unwrap();
}

/// The server's URL with its database replaced by `name`.
pub fn database_url(name: &str) -> String {
    let server = postgres_server();
    let base = server.split('?').next().unwrap_or(&server);
    let authority = base.find("://").map_or(0, |i| i + 3);
    match base[authority..].find('/') {
        Some(slash) => format!("{}/{name}", &base[..authority + slash]),
        None => format!("{base}/{name}"),
    }
}

/// What the processes of one test share: a database, a queue name, a blob folder, a settings file.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub database: String,
    pub queue_name: String,
    /// Extra environment for every process.
    pub env: Vec<(String, String)>,
    /// The blob store, when not the `file://` folder of the test.
    pub blob_url: Option<String>,
    /// The processes started, killed when the cluster is dropped if still running (a test that fails
    /// before stopping them must not leave them working on).
    started: std::sync::Mutex<Vec<u32>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let config = self.config().display().to_string();
        let started = std::mem::take(&mut *self.started.lock().unwrap_or_else(|p| p.into_inner()));
        for pid in started {
            // Only a process still running with this cluster's settings file: a pid reaped and reused since
            // is someone else's.
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&config) {
                if let Ok(pid) = i32::try_from(pid) {
                    // SAFETY: kill(2) on a process this cluster started, checked to be still ours above.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
    }
}

impl Cluster {
    /// Creates the database and the queue; `settings` is the TOML every process reads.
    pub async fn create(settings: &str) -> (Cluster, AmqpQueue) {
        let cluster = Cluster {
            dir: tempfile::tempdir().unwrap(),
            database: format!("folio_test_{}", Uuid::new_v4().simple()),
            queue_name: format!("folio.test.{}", Uuid::new_v4().simple()),
            env: Vec::new(),
            blob_url: None,
            started: std::sync::Mutex::new(Vec::new()),
        };
        std::fs::write(cluster.config(), settings).unwrap();
        admin(&format!("CREATE DATABASE {}", cluster.database)).await;
        let queue = AmqpQueue::open(&cluster.queue_url(), 1).await.unwrap_or_else(|e| {
            panic!(
                "RabbitMQ is not reachable at {} ({e}); start it with `rabbitmq-server -detached` (scripts/test does)",
                broker_url()
            )
        });
        (cluster, queue)
    }

    /// Drops the database and the queues.
    pub async fn remove(&self, queue: &AmqpQueue) {
        if let Err(e) = queue.delete_declared().await {
            eprintln!("could not delete the test's queues: {e}");
        }
        admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database)).await;
    }

    pub fn db_url(&self) -> String {
        database_url(&self.database)
    }

    pub fn queue_url(&self) -> String {
        format!("{}?queue={}", broker_url(), self.queue_name)
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.dir.path().join("blobs")
    }

    pub fn blob_url(&self) -> String {
        self.blob_url.clone().unwrap_or_else(|| format!("file://{}", self.blob_dir().display()))
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("folio.toml")
    }

    /// Starts `folio ROLE` with this cluster's URLs; its log is appended to `NAME.log`.
    pub fn start(&self, role: &str, name: &str) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{name}.log")))
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_folio"));
        command
            .arg("--config")
            .arg(self.config())
            .arg(role)
            .env("FOLIO_DATABASE_URL", self.db_url())
            .env("FOLIO_BLOB_URL", self.blob_url())
            .env("FOLIO_QUEUE_URL", self.queue_url())
            .env("FOLIO_THUMBNAIL_SIZES", "256")
            .env("FOLIO_LIBREOFFICE", "off")
            .env("SOURCE_DATE_EPOCH", "1338508800")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let child = command.spawn().expect("the folio binary runs");
        self.started.lock().unwrap_or_else(|p| p.into_inner()).push(child.id());
        child
    }

    pub fn log(&self, name: &str) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join(format!("{name}.log"))) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// The logs of these processes, for a failure message.
    pub fn logs(&self, names: &[&str]) -> String {
        names.iter().map(|n| format!("--- {n}\n{}", self.log(n))).collect::<Vec<_>>().join("\n")
    }
}

/// Sends `signal` to a child.
pub fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on a child the test started and has not reaped.
    unsafe { libc::kill(pid, signal) };
}

/// SIGTERM, then waits for the exit (SIGKILL after 40 s).
pub fn stop(child: &mut Child) -> std::process::ExitStatus {
    signal(child, libc::SIGTERM);
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > Duration::from_secs(40) {
            let _ = child.kill();
            return child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
