//! Folio against PostgreSQL and RabbitMQ over TLS, as managed services present them: the roles process
//! documents with `postgres://…?sslmode=verify-full&sslrootcert=CA` and `amqps://…?cacertfile=CA`; with the
//! wrong CA they refuse to start and say why; a client certificate logs in to RabbitMQ by EXTERNAL.
//!
//! Needs the TLS servers of `scripts/tls-test-servers` (scripts/test starts them): PostgreSQL with `ssl = on`
//! on 127.0.0.1:5433 and RabbitMQ's TLS listener on 127.0.0.1:5671, their CA and a client certificate in
//! FOLIO_TEST_TLS_DIR (default /var/tmp/folio-test-tls). Without them a test fails and says how to start them.

use folio_store::queue::amqp::AmqpQueue;
use folio_store::WorkQueue;
use sqlx::{Connection, Executor, PgConnection};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

mod support;
use support::http::*;

const CATALOGUE_TOML: &str = "title = \"Catalogue\"\n[[chapters]]\nid = \"lebanon\"\ntitle = \"Lebanon\"\n";

/// The certificates of the TLS test servers, checked to be there and the servers to answer.
fn tls_dir() -> PathBuf {
    let dir = PathBuf::from(std::env::var("FOLIO_TEST_TLS_DIR").unwrap_or_else(|_| "/var/tmp/folio-test-tls".into()));
    let answers = |port: u16| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    assert!(
        dir.join("ca.crt").is_file() && answers(5433) && answers(5671),
        "the TLS test servers are not running (PostgreSQL with TLS on 127.0.0.1:5433, RabbitMQ's TLS listener on \
         127.0.0.1:5671, their CA in {}): start them with `scripts/tls-test-servers` (scripts/test does)",
        dir.display()
    );
    dir
}

fn ca(name: &str) -> String {
    tls_dir().join(name).display().to_string()
}

/// A URL of the TLS PostgreSQL server, verifying its certificate against `ca_file`.
fn postgres_url(database: &str, ca_file: &str) -> String {
    format!("postgres://postgres@localhost:5433/{database}?sslmode=verify-full&sslrootcert={ca_file}")
}

fn amqps_url(queue: &str, ca_file: &str) -> String {
    format!("amqps://guest:guest@localhost:5671/%2f?queue={queue}&cacertfile={ca_file}")
}

async fn admin(sql: &str) {
    let url = postgres_url("postgres", &ca("ca.crt"));
    let mut conn = PgConnection::connect(&url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    conn.execute(sql).await.unwrap();
    conn.close().await.unwrap();
}

/// `folio ROLE` with these URLs; stdout piped (the gateway prints its address), stderr to `log`.
fn start(role: &str, args: &[&str], env: &[(&str, String)], log: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg(role)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("FOLIO_THUMBNAIL_SIZES", "256")
        .env("FOLIO_LIBREOFFICE", "off")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("the folio binary runs")
}

/// Runs `folio ARGS…` to its end within 60 s: its exit status and what it wrote to stderr.
fn run_to_end(args: &[&str], env: &[(&str, String)]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the folio binary runs");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut text).unwrap();
            return (status, text);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("folio {args:?} still running after 60 s: it should have refused to start");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Killed(Vec<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roles_process_documents_over_tls_to_postgres_and_rabbitmq() {
    let ca_file = ca("ca.crt");
    let database = format!("folio_tls_{}", Uuid::new_v4().simple());
    let queue = format!("folio.test.tls.{}", Uuid::new_v4().simple());
    admin(&format!("CREATE DATABASE {database}")).await;
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("FOLIO_DATABASE_URL", postgres_url(&database, &ca_file)),
        ("FOLIO_QUEUE_URL", amqps_url(&queue, &ca_file)),
        ("FOLIO_BLOB_URL", format!("file://{}", dir.path().join("blobs").display())),
        ("FOLIO_GATEWAY_TOKEN", "admin-secret-1".to_string()),
        ("FOLIO_GATEWAY_TOKENS", "portal:uploader:uploader-secret".to_string()),
    ];
    let (status, log) = run_to_end(&["migrate"], &env);
    assert!(status.success(), "folio migrate over TLS: {log}");

    let mut gateway = start("gateway", &["--listen", "127.0.0.1:0"], &env, &dir.path().join("gateway.log"));
    let mut line = String::new();
    BufReader::new(gateway.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let worker = start("worker", &["--concurrency", "2"], &env, &dir.path().join("worker.log"));
    let _running = Killed(vec![gateway, worker]);
    let logs = || {
        ["gateway", "worker"]
            .map(|n| {
                format!("--- {n}\n{}", std::fs::read_to_string(dir.path().join(format!("{n}.log"))).unwrap_or_default())
            })
            .join("\n")
    };
    let addr = line.trim().strip_prefix("folio: serving on http://").unwrap_or_else(|| panic!("{line}\n{}", logs()));

    let toml = ("Content-Type", "application/toml");
    assert_eq!(http(addr, "PUT", "/v1/catalogues/ccm-2012", &[toml, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);
    let metadata = serde_json::json!({
        "chapter": "lebanon", "state": "Spain", "author": "Ana Ruiz", "title": "Field work", "kind": "photograph",
        "role": "donor", "modality": "bilateral", "received": "2012-04-01", "rights": "CC0"
    });
    let upload = form(&metadata.to_string(), &[("field.png", &png(40)), ("camp.png", &png(50))]);
    let (status, body) = http(addr, "POST", "/v1/catalogues/ccm-2012/contributions", &[MULTIPART, AUTH], &upload);
    assert_eq!(status, 201, "{body}\n{}", logs());

    let started = Instant::now();
    loop {
        let (status, body) = http(addr, "GET", "/v1/catalogues/ccm-2012/contributions", &[AUTH], b"");
        assert_eq!(status, 200, "{body}");
        let states: Vec<String> = json(&body)["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["documents"].as_array().unwrap().iter().map(|d| d["state"].as_str().unwrap().to_string()))
            .collect();
        if states.len() == 2 && states.iter().all(|s| s == "done") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "not processed in 90 s: {body}\n{}", logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every connection of Folio's to the database is encrypted (the server refuses others anyway).
    let url = postgres_url(&database, &ca_file);
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let (total, encrypted): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
         WHERE a.datname = $1 AND a.application_name = 'folio'",
    )
    .bind(&database)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(total > 0 && encrypted == total, "{encrypted} of {total} connections encrypted");
    conn.close().await.unwrap();
    let broker = AmqpQueue::open(&amqps_url(&queue, &ca_file), 1).await.unwrap();
    assert_eq!(broker.depth().await.unwrap(), 0, "every request taken");
    broker.delete_declared().await.unwrap();
    drop(_running);
    admin(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await;
}

#[test]
fn with_the_wrong_ca_the_roles_refuse_to_start_and_say_why() {
    let (ca_file, other) = (ca("ca.crt"), ca("other-ca.crt"));
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("folio.db").display());

    // The database: a CA that did not sign the server's certificate.
    let env = vec![("FOLIO_DATABASE_URL", postgres_url("postgres", &other))];
    let (status, log) = run_to_end(&["migrate"], &env);
    assert!(!status.success(), "{log}");
    assert!(log.contains("TLS handshake with the database at localhost failed"), "{log}");
    assert!(log.contains(&format!("sslrootcert={other}")), "says which CA it trusted: {log}");

    // The broker: the wrong CA, and no CA (the platform's roots do not hold the test's CA).
    for (url, trusted) in [
        (amqps_url("folio.test.tls.refused", &other), format!("cacertfile={other}")),
        ("amqps://guest:guest@localhost:5671/%2f".to_string(), "name the broker's CA with cacertfile=".to_string()),
    ] {
        let env = vec![
            ("FOLIO_DATABASE_URL", sqlite.clone()),
            ("FOLIO_QUEUE_URL", url),
            ("FOLIO_BLOB_URL", format!("file://{}", dir.path().join("blobs").display())),
        ];
        let (status, log) = run_to_end(&["worker"], &env);
        assert!(!status.success(), "{log}");
        assert!(log.contains("TLS handshake with the message broker at localhost:5671"), "{log}");
        assert!(log.contains(&trusted), "says what it trusted: {log}");
        assert!(!log.contains("guest:guest"), "no password in the log: {log}");
    }

    // The same server with the right CA, for contrast: it is the CA that was refused.
    let env = vec![("FOLIO_DATABASE_URL", postgres_url("postgres", &ca_file))];
    let (status, log) = run_to_end(&["migrate", "--database-url", &postgres_url("postgres", &ca_file)], &env);
    assert!(status.success(), "{log}");
}

#[tokio::test]
async fn a_client_certificate_logs_in_to_rabbitmq_with_external() {
    let dir = tls_dir();
    let queue = format!("folio.test.tls.{}", Uuid::new_v4().simple());
    let url = format!(
        "amqps://localhost:5671/%2f?queue={queue}&cacertfile={}&certfile={}&keyfile={}&auth_mechanism=external",
        dir.join("ca.crt").display(),
        dir.join("client.crt").display(),
        dir.join("client.key").display()
    );
    let broker = AmqpQueue::open(&url, 1).await.unwrap_or_else(|e| panic!("EXTERNAL login as CN=guest: {e}"));
    let request = folio_store::WorkRequest::new(Uuid::new_v4(), Uuid::new_v4());
    broker.publish(&request).await.unwrap();
    assert_eq!(broker.depth().await.unwrap(), 1);
    broker.delete_declared().await.unwrap();

    // Without the certificate, EXTERNAL has nothing to log in with.
    let bare = url.split("&certfile=").next().unwrap().to_string() + "&auth_mechanism=external";
    assert!(AmqpQueue::open(&bare, 1).await.is_err());
}

/// A client certificate, as a managed PostgreSQL may ask for one: the test server lets the user `guest` in by
/// certificate only (`cert` in pg_hba.conf); `folio migrate` with `sslcert` and `sslkey` brings a database up
/// to date as `guest`, and without them is refused.
#[tokio::test]
async fn a_client_certificate_logs_in_to_postgres() {
    let dir = tls_dir();
    let database = format!("folio_tls_{}", Uuid::new_v4().simple());
    admin(&format!("CREATE DATABASE {database}")).await;
    let (ca_file, cert, key) = (dir.join("ca.crt"), dir.join("client.crt"), dir.join("client.key"));
    let without =
        format!("postgres://guest@localhost:5433/{database}?sslmode=verify-full&sslrootcert={}", ca_file.display());
    let with = format!("{without}&sslcert={}&sslkey={}", cert.display(), key.display());
    let (status, log) = run_to_end(&["migrate", "--database-url", &with], &[]);
    assert!(status.success(), "{log}");
    let (status, log) = run_to_end(&["migrate", "--database-url", &without], &[]);
    assert!(!status.success(), "{log}");
    assert!(log.contains("client certificate"), "says what was missing: {log}");
    admin(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await;
}
