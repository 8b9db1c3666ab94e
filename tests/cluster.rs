//! The cluster, as real processes: `folio worker` (two) and `folio coordinator` (two, to show that a change
//! is assembled once) on RabbitMQ and PostgreSQL, with a `file://` blob store. A catalogue is ingested; the
//! coordinators assemble it once every chapter clears, put the bundle in the blob store and announce
//! `catalogue.assembled`; a change to the catalogue makes exactly one more build. Needs RabbitMQ and
//! PostgreSQL (see tests/support/cluster.rs); `scripts/test` starts both.

use folio_store::queue::amqp::AmqpQueue;
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
    let snapshot = folio::intake::folder::read_folder(&input, blobs.as_ref()).await.unwrap();
    let catalogue_id = snapshot.catalogue_id;
    let documents = snapshot.documents.len();
    folio::intake::folder::submit(store.as_ref(), &queue, snapshot).await.unwrap();

    let mut processes: Vec<_> =
        PROCESSES.iter().map(|name| (*name, cluster.start(name.split('-').next().unwrap(), name))).collect();

    let Some(first) = next_event(&mut events, 300).await else {
        panic!("no catalogue.assembled event:\n{}", cluster.logs(&PROCESSES))
    };
    assert_eq!((first.version, first.catalogue_id, first.build), (1, catalogue_id, 1));
    let bundle = format!("bundles/{catalogue_id}/1");
    // Object storage is shown by its URL (less its query); a local blob folder by the bundle's key, never by a
    // path on the server.
    let blob_url = cluster.blob_url();
    let expected = match blob_url.split_once('?') {
        Some((base, _)) if base.starts_with("s3://") => format!("{base}/{bundle}/"),
        _ => format!("{bundle}/"),
    };
    assert_eq!(first.location, expected);
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
    let snapshot = folio::intake::folder::read_folder(&input, blobs.as_ref()).await.unwrap();
    folio::intake::folder::submit(store.as_ref(), &queue, snapshot).await.unwrap();
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
    use folio::worker::reconciler::{sweep, ReconcilerSettings};
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
    let record = folio_store::StoredRecord::new(
        folio_core::Record::failed(
            "x",
            "aa".into(),
            1,
            folio_core::ExtractError::new(folio_core::ExtractErrorKind::Io, "x"),
        ),
        String::new(),
        None,
    );
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

/// The secrets a cluster holds: the database's and the broker's passwords (in their URLs), the gateway's
/// tokens, the signing key and the webhook's token (in its URL's query).
struct Secrets {
    db_password: String,
    mq_password: String,
    tokens: [String; 3],
    signing_key: String,
    hook_token: String,
}

impl Secrets {
    fn new() -> Self {
        let fresh = |what: &str| format!("{what}-{}", uuid::Uuid::new_v4().simple());
        Self {
            db_password: fresh("dbpw"),
            mq_password: fresh("mqpw"),
            tokens: [fresh("uploader"), fresh("editor"), fresh("admin")],
            signing_key: hex::encode(Sha256::digest(uuid::Uuid::new_v4().as_bytes())),
            hook_token: fresh("hook"),
        }
    }

    fn all(&self) -> Vec<&str> {
        let mut all = vec![self.db_password.as_str(), self.mq_password.as_str(), &self.signing_key, &self.hook_token];
        all.extend(self.tokens.iter().map(String::as_str));
        all
    }
}

fn rabbitmqctl(args: &[&str]) {
    let ctl = std::env::var("FOLIO_TEST_RABBITMQCTL").unwrap_or_else(|_| "rabbitmqctl".into());
    let out = std::process::Command::new(&ctl).args(args).output().unwrap_or_else(|e| {
        panic!("running {ctl}: {e}; set FOLIO_TEST_RABBITMQCTL to rabbitmqctl's path (scripts/test installs RabbitMQ)")
    });
    assert!(out.status.success(), "{ctl} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A whole cluster (gateway, worker, coordinator) run with known secrets, through an upload, its
/// processing, an assembly, its event and webhook, the API, the health endpoints and the commands an
/// operator runs (`folio config`, `folio migrate`, `--help`): none of the secrets is in any log line,
/// command output, API answer or event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_shows_in_any_output() {
    let secrets = Secrets::new();
    let (cluster, queue) = Cluster::create(SETTINGS).await;
    // A broker user and a database role whose passwords are the secrets.
    let user = format!("folio_secret_{}", uuid::Uuid::new_v4().simple());
    rabbitmqctl(&["add_user", &user, &secrets.mq_password]);
    rabbitmqctl(&["set_permissions", "-p", "/", &user, ".*", ".*", ".*"]);
    support::cluster::admin(&format!("CREATE ROLE {user} LOGIN PASSWORD '{}'", secrets.db_password)).await;
    support::cluster::admin(&format!("ALTER DATABASE {} OWNER TO {user}", cluster.database)).await;
    let database = cluster.database.clone();
    let outcome = tokio::spawn(secrets_stay_hidden(cluster, user.clone(), secrets)).await;
    if let Err(e) = queue.delete_declared().await {
        eprintln!("could not delete the test's queues: {e}");
    }
    support::cluster::admin(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await;
    rabbitmqctl(&["delete_user", &user]);
    support::cluster::admin(&format!("DROP ROLE IF EXISTS {user}")).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn secrets_stay_hidden(mut cluster: Cluster, user: String, secrets: Secrets) {
    use std::io::{Read, Write};
    let db_url = {
        let admin_url = cluster.db_url();
        let (scheme, rest) = admin_url.split_once("://").unwrap();
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        format!("{scheme}://{user}:{}@{host}", secrets.db_password)
    };
    let broker = broker_url();
    let host =
        broker.split_once("://").unwrap().1.rsplit_once('@').map_or("127.0.0.1:5672/%2f", |(_, h)| h).to_string();
    let queue_url = format!("amqp://{user}:{}@{host}?queue={}", secrets.mq_password, cluster.queue_name);
    // The webhook: a listener that keeps every request it gets and answers 200.
    let hook = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_url = format!("http://{}/hook?token={}", hook.local_addr().unwrap(), secrets.hook_token);
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let kept = received.clone();
    std::thread::spawn(move || {
        for stream in hook.incoming() {
            let Ok(mut stream) = stream else { return };
            stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut request = vec![0u8; 1 << 16];
            let n = stream.read(&mut request).unwrap_or(0);
            // The request line names the webhook's own URL, which its receiver knows: the rest (headers,
            // the event) is what Folio says.
            let start = request[..n].windows(2).position(|w| w == b"\r\n").map_or(n, |i| i + 2);
            kept.lock().unwrap().extend_from_slice(&request[start..n]);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let gateway_addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let health_addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let [uploader, editor, admin] = &secrets.tokens;
    cluster.env = vec![
        ("FOLIO_GATEWAY_TOKENS".into(), format!("portal:uploader:{uploader},ana:editor:{editor}")),
        ("FOLIO_GATEWAY_TOKEN".into(), admin.clone()),
        ("FOLIO_SIGNING_KEY".into(), secrets.signing_key.clone()),
        ("FOLIO_WEBHOOK_URL".into(), hook_url.clone()),
    ];
    let config = cluster.config();
    std::fs::write(&config, format!("{SETTINGS}[gateway]\nlisten = \"{gateway_addr}\"\n")).unwrap();
    let start = |role: &str, extra: &[&str]| {
        let log = std::fs::File::create(cluster.dir.path().join(format!("{role}.log"))).unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_folio"));
        command.arg("--config").arg(&config).args(extra).arg(role);
        command
            .env("FOLIO_DATABASE_URL", &db_url)
            .env("FOLIO_BLOB_URL", cluster.blob_url())
            .env("FOLIO_QUEUE_URL", &queue_url)
            .env("FOLIO_THUMBNAIL_SIZES", "256")
            .env("FOLIO_LIBREOFFICE", "off")
            .envs(cluster.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        command.spawn().unwrap()
    };
    let mut processes = vec![
        ("gateway", start("gateway", &[])),
        ("worker", start("worker", &["--health-addr", &health_addr])),
        ("coordinator", start("coordinator", &[])),
    ];
    let mut seen = String::new();
    let request = |method: &str, path: &str, token: &str, content_type: &str, body: &[u8]| -> String {
        for _ in 0..100 {
            if let Ok(mut stream) = std::net::TcpStream::connect(&gateway_addr) {
                stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let head = format!(
                    "{method} {path} HTTP/1.1\r\nHost: folio\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(body).unwrap();
                let mut answer = Vec::new();
                let _ = stream.read_to_end(&mut answer);
                return String::from_utf8_lossy(&answer).into_owned();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the gateway does not answer on {gateway_addr}")
    };
    let catalogue = "title = \"Catalogue\"\n[[chapters]]\nid = \"lebanon\"\ntitle = \"Lebanon\"\n";
    let answer = request("PUT", "/v1/catalogues/ccm-2012", admin, "application/toml", catalogue.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    seen.push_str(&answer);
    let photo = std::fs::read(repo().join("examples/ccm-2012/timeline-2012.png")).unwrap();
    let boundary = "folio-secret-test";
    let meta = r#"{"chapter": "lebanon", "state": "Spain", "author": "Ana Ruiz", "title": "Timeline", "kind": "graphic", "role": "donor", "modality": "bilateral", "received": "2012-04-01", "rights": "CC0"}"#;
    let mut form = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{meta}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"timeline.png\"\r\n\r\n").into_bytes();
    form.extend_from_slice(&photo);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let answer = request("POST", "/v1/catalogues/ccm-2012/contributions", uploader, &content_type, &form);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    seen.push_str(&answer);

    // Wait for the build and its webhook delivery.
    let started = std::time::Instant::now();
    loop {
        let answer = request("GET", "/v1/catalogues/ccm-2012/builds", editor, "text/plain", b"");
        let delivered = !received.lock().unwrap().is_empty();
        if answer.contains("\"state\":\"done\"") && delivered {
            seen.push_str(&answer);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no build delivered: {answer}\n{}",
            cluster.logs(&["gateway", "worker", "coordinator"])
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for path in [
        "/v1/catalogues/ccm-2012",
        "/v1/catalogues/ccm-2012/contributions",
        "/v1/catalogues/ccm-2012/findings",
        "/v1/catalogues/ccm-2012/chapters",
        "/v1/openapi.json",
        "/v1/catalogues/ccm-2012/contributions/not-a-uuid",
        "/readyz",
        "/metrics",
    ] {
        seen.push_str(&request("GET", path, editor, "text/plain", b""));
    }
    for path in ["/readyz", "/metrics"] {
        let mut stream = std::net::TcpStream::connect(&health_addr).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: folio\r\nConnection: close\r\n\r\n").unwrap();
        let _ = stream.read_to_string(&mut seen);
    }
    // The webhook's requests: the `catalogue.assembled` event (the same JSON as on the broker) and headers.
    seen.push_str(&String::from_utf8_lossy(&received.lock().unwrap()));

    // The operator's commands, with the same environment.
    for args in [&["config"][..], &["migrate"], &["--help"], &["worker", "--help"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("FOLIO_DATABASE_URL", &db_url)
            .env("FOLIO_QUEUE_URL", &queue_url)
            .envs(cluster.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "folio {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // A bad URL still names no password.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(["--database-url", &format!("mysql://root:{}@db/folio", secrets.db_password), "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    seen.push_str(&String::from_utf8_lossy(&out.stderr));

    for (name, child) in &mut processes {
        let status = stop(child);
        assert!(status.success(), "{name} exited with {status}");
    }
    seen.push_str(&cluster.logs(&["gateway", "worker", "coordinator"]));
    assert!(seen.contains("catalogue.assembled") || seen.contains("assembled"), "the run got as far as a build");
    assert!(seen.contains(&format!("{user}:***@")), "the URLs with passwords were shown, masked");
    for secret in secrets.all() {
        if let Some(at) = seen.find(secret) {
            let from = seen[..at].char_indices().rev().nth(200).map_or(0, |(i, _)| i);
            panic!("a secret shows in the output: …{}…", &seen[from..(at + secret.len()).min(seen.len())]);
        }
    }
}
