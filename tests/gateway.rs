//! Uploads, the two ways a front end sends them: through the gateway's HTTP API (`folio serve`, the real
//! binary on the embedded default, on a port of its own), and as a `folio.upload.v1` message published
//! straight to RabbitMQ and taken in by `folio worker`. Needs RabbitMQ for the second
//! (`FOLIO_TEST_AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`); without it that test fails and
//! says how to start it.

use folio_core::upload::catalogue_id_for_key;
use folio_core::*;
use folio_store::amqp::AmqpQueue;
use folio_store::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const CATALOGUE_TOML: &str = r#"
title = "Catalogue of best practices"
deadline = "2012-04-30"

[[chapters]]
id = "lebanon"
title = "Clearance in South Lebanon"
"#;

fn metadata(title: &str) -> String {
    serde_json::json!({
        "chapter": "lebanon", "state": "Spain", "author": "Ana Ruiz", "title": title, "kind": "photograph",
        "role": "donor", "modality": "bilateral", "received": "2012-04-01", "rights": "CC0"
    })
    .to_string()
}

fn png(width: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, 8, image::Rgb([30, 60, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// One HTTP/1.1 request; returns the status and the body.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: folio\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading the whole body: a failed write is then expected.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

const BOUNDARY: &str = "folio-test-boundary-7f3a";

/// A multipart form: the metadata part, then one part per (file name, content).
fn form(metadata: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json\r\n\r\n{metadata}\r\n")
            .as_bytes(),
    );
    for (name, content) in files {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

struct Served {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `folio serve` on port 0 with a fresh data folder; waits for the address it prints.
fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("folio.toml");
    std::fs::write(&config, "[gateway]\nmax_upload_mib = 1\n[coordinator]\nevery_secs = 1\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(["--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args([
            "--thumbnail-sizes",
            "256",
            "--libreoffice",
            "off",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--concurrency",
            "2",
        ])
        .env("FOLIO_GATEWAY_TOKEN", "uploader-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("folio: serving on http://").unwrap_or_else(|| panic!("{line}")).to_string();
    Served { child, addr, dir }
}

const AUTH: (&str, &str) = ("Authorization", "Bearer uploader-secret");
const MULTIPART: (&str, &str) = ("Content-Type", "multipart/form-data; boundary=folio-test-boundary-7f3a");

#[test]
fn uploads_through_http_are_checked_stored_once_processed_and_assembled() {
    let served = serve();
    let addr = served.addr.as_str();
    let toml_type = ("Content-Type", "application/toml");

    // Setting up the catalogue: a token is needed, and the right one.
    assert_eq!(http(addr, "PUT", "/v1/catalogues/ccm-2012", &[toml_type], CATALOGUE_TOML.as_bytes()).0, 401);
    let wrong = ("Authorization", "Bearer guess");
    assert_eq!(http(addr, "PUT", "/v1/catalogues/ccm-2012", &[toml_type, wrong], CATALOGUE_TOML.as_bytes()).0, 403);
    let (status, body) = http(addr, "PUT", "/v1/catalogues/ccm-2012", &[toml_type, AUTH], CATALOGUE_TOML.as_bytes());
    assert_eq!(status, 201, "{body}");
    assert_eq!(http(addr, "PUT", "/v1/catalogues/ccm-2012", &[toml_type, AUTH], CATALOGUE_TOML.as_bytes()).0, 200);
    let (status, body) = http(addr, "PUT", "/v1/catalogues/other", &[toml_type, AUTH], b"title = 1");
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("\"status\":422"), "{body}");

    // An upload: a photo, and a file whose name tries to leave the folder.
    let photo = png(40);
    let files: [(&str, &[u8]); 2] = [("../../etc/photo.png", &photo), ("notes.png", &png(20))];
    let upload = form(&metadata("Deminers at work"), &files);
    let path = "/v1/catalogues/ccm-2012/contributions";
    assert_eq!(http(addr, "POST", path, &[MULTIPART], &upload).0, 401);
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &upload);
    assert_eq!(status, 201, "{body}");
    let accepted = json(&body);
    let contribution_id = accepted["contribution_id"].as_str().unwrap().to_string();
    let names: Vec<&str> =
        accepted["documents"].as_array().unwrap().iter().map(|d| d["file_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["photo.png", "notes.png"], "the path is dropped from the name");

    // The same upload again (a retry): the same contribution, nothing new.
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &upload);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["contribution_id"].as_str(), Some(contribution_id.as_str()));

    // Refusals, each with what to fix.
    let mut bad = serde_json::from_str::<serde_json::Value>(&metadata("Bad")).unwrap();
    bad["kind"] = "poem".into();
    bad["chapter"] = "atlantis".into();
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &form(&bad.to_string(), &[("a.png", &photo)]));
    assert_eq!(status, 422, "{body}");
    let problem = json(&body);
    assert!(problem["problems"].as_array().unwrap().len() >= 1, "{body}");
    assert!(body.contains("poem"), "{body}");
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &form(&metadata("Empty"), &[]));
    assert_eq!(status, 422, "{body}");
    let big = vec![7u8; 2 << 20];
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &form(&metadata("Big"), &[("big.png", &big)]));
    assert_eq!(status, 413, "{body}");
    let (status, _) = http(addr, "POST", "/v1/catalogues/nowhere/contributions", &[MULTIPART, AUTH], &upload);
    assert_eq!(status, 404);

    // The workers process both files; the contribution shows their records.
    let start = Instant::now();
    let documents = loop {
        let (status, body) = http(addr, "GET", &format!("{path}/{contribution_id}"), &[], b"");
        assert_eq!(status, 200, "{body}");
        let c = json(&body);
        let documents = c["documents"].as_array().unwrap().clone();
        if documents.iter().all(|d| d["state"] == "done") {
            break documents;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "not processed in 60 s: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(documents.len(), 2);
    for d in &documents {
        assert_eq!(d["record"]["format"], "png", "{d}");
        assert_eq!(d["record"]["pages"], 1, "{d}");
        assert!(d["record"]["thumbnail"].as_str().is_some_and(|t| t.ends_with("256.png")), "{d}");
    }
    let (status, body) = http(addr, "GET", "/v1/catalogues/ccm-2012", &[], b"");
    assert_eq!(status, 200);
    let chapters = json(&body)["chapters"].clone();
    assert_eq!(chapters[0]["documents"], 2, "{body}");
    assert_eq!(chapters[0]["finished"], 2, "{body}");

    // Every chapter cleared: the builds assemble the catalogue into the blob store.
    let catalogue_id = catalogue_id_for_key("ccm-2012");
    let manifest = served.dir.path().join(format!("data/blobs/bundles/{catalogue_id}/1/manifest.json"));
    let start = Instant::now();
    while !manifest.is_file() {
        assert!(start.elapsed() < Duration::from_secs(60), "no bundle at {}", manifest.display());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(http(addr, "GET", "/readyz", &[], b"").0 == 200);

    // SIGTERM: a clean stop.
    let mut served = served;
    // SAFETY: kill(2) on the child this test started and has not reaped.
    unsafe { libc::kill(served.child.id() as i32, libc::SIGTERM) };
    let status = served.child.wait().unwrap();
    assert!(status.success(), "folio serve exited with {status}");
}

fn broker_url() -> String {
    std::env::var("FOLIO_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_published_straight_to_rabbitmq_becomes_a_contribution_once() {
    let name = format!("folio.test.{}", Uuid::new_v4().simple());
    let url = format!("{}?queue={name}", broker_url());
    let queue = AmqpQueue::open(&url, 1).await.unwrap_or_else(|e| {
        panic!(
            "RabbitMQ is not reachable at {} ({e}); start it with `rabbitmq-server -detached` (scripts/test does)",
            broker_url()
        )
    });
    let outcome = tokio::spawn(upload_by_queue(queue.clone(), url, name)).await;
    if let Err(e) = queue.delete_declared().await {
        eprintln!("could not delete the test's queues: {e}");
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Publishes as a front end with its own AMQP client would: persistent, `type` folio.upload.v1, the upload
/// id as message id, to the work queue through the default exchange.
async fn publish_raw(channel: &lapin::Channel, queue: &str, message_id: &str, body: &[u8]) {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    use lapin::BasicProperties;
    channel.confirm_select(ConfirmSelectOptions::default()).await.ok();
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_type("folio.upload.v1".into())
        .with_message_id(message_id.into());
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions { mandatory: true, ..Default::default() },
            body,
            properties,
        )
        .await
        .unwrap()
        .await
        .unwrap();
}

async fn upload_by_queue(queue: AmqpQueue, url: String, name: String) {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("folio.db").display());
    let blob_dir = dir.path().join("blobs");
    let store: Arc<dyn Store> = open_store(&db_url).await.unwrap();
    let blobs = open_blobs(&blob_dir.display().to_string()).unwrap();
    let config = CatalogueConfig::from_toml(CATALOGUE_TOML).unwrap();
    let catalogue_id = catalogue_id_for_key("ccm-2012");
    store.put_catalogue(catalogue_id, &config, "test").await.unwrap();

    // One file inline, one the front end put in the blob store first.
    let big = png(64);
    blobs.put("incoming/front-end/big.png", big).await.unwrap();
    let upload_id = Uuid::new_v4();
    let upload = serde_json::json!({
        "version": 1,
        "upload_id": upload_id,
        "catalogue": "ccm-2012",
        "contribution": serde_json::from_str::<serde_json::Value>(&metadata("By the queue")).unwrap(),
        "files": [
            {"name": "small.png", "content_base64": base64::engine::general_purpose::STANDARD.encode(png(16))},
            {"name": "big.png", "blob_key": "incoming/front-end/big.png"}
        ]
    });
    let refused = serde_json::json!({
        "version": 1, "upload_id": Uuid::new_v4(), "catalogue": "nowhere",
        "contribution": serde_json::from_str::<serde_json::Value>(&metadata("Lost")).unwrap(),
        "files": [{"name": "a.png", "content_base64": "iVBORw0KGgo="}]
    });
    let connection = lapin::Connection::connect(&broker_url(), lapin::ConnectionProperties::default()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let body = upload.to_string();
    // Published twice (a front end that retried): one contribution.
    publish_raw(&channel, &name, &upload_id.to_string(), body.as_bytes()).await;
    publish_raw(&channel, &name, &upload_id.to_string(), body.as_bytes()).await;
    publish_raw(&channel, &name, "refused", refused.to_string().as_bytes()).await;

    let mut worker = Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(["worker", "--concurrency", "2"])
        .env("FOLIO_DATABASE_URL", &db_url)
        .env("FOLIO_BLOB_URL", format!("file://{}", blob_dir.display()))
        .env("FOLIO_QUEUE_URL", &url)
        .env("FOLIO_THUMBNAIL_SIZES", "256")
        .env("FOLIO_LIBREOFFICE", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let documents = loop {
        let documents = store.documents(catalogue_id).await.unwrap();
        if documents.len() == 2 && documents.iter().all(|d| d.state == DocumentState::Done) {
            break documents;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "not processed in 60 s: {documents:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let contributions = store.contributions(catalogue_id).await.unwrap();
    assert_eq!(contributions.len(), 1, "published twice, one contribution");
    assert_eq!(contributions[0].title, "By the queue");
    let mut names: Vec<&str> = documents.iter().map(|d| d.file_name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["big.png", "small.png"]);
    assert_eq!(store.records(catalogue_id).await.unwrap().len(), 2, "one record each");
    // The refused upload went to the dead-letter queue, for the reconciler to remove (and log).
    let start = Instant::now();
    while queue.dead_letter_depth().await.unwrap() != 1 {
        assert!(start.elapsed() < Duration::from_secs(30), "the refused upload was not dead-lettered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // SAFETY: kill(2) on the child this test started and has not reaped.
    unsafe { libc::kill(worker.id() as i32, libc::SIGTERM) };
    assert!(worker.wait().unwrap().success());
    let _ = connection.close(0, "done".into()).await;
}
