//! Uploads, the two ways a front end sends them: through the gateway's HTTP API (`folio serve`, the real
//! binary on the embedded default, on a port of its own), and as a `folio.upload.v1` message published
//! straight to RabbitMQ and taken in by `folio worker`. Needs RabbitMQ for the second
//! (`FOLIO_TEST_AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`); without it that test fails and
//! says how to start it.

use folio_core::upload::catalogue_id_for_key;
use folio_core::*;
use folio_store::queue::amqp::AmqpQueue;
use folio_store::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

mod support;
use support::http::*;

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

/// Waits until every document of the catalogue is done; returns the contributions (the dashboard's cards).
fn until_processed(addr: &str, documents: usize) -> Vec<serde_json::Value> {
    let start = Instant::now();
    loop {
        let (status, body) = http(addr, "GET", "/v1/catalogues/ccm-2012/contributions", &[AUTH], b"");
        assert_eq!(status, 200, "{body}");
        let cards = json(&body)["contributions"].as_array().unwrap().clone();
        let states: Vec<String> = cards
            .iter()
            .flat_map(|c| c["documents"].as_array().unwrap().iter().map(|d| d["state"].as_str().unwrap().to_string()))
            .collect();
        if states.len() == documents && states.iter().all(|s| s == "done") {
            return cards;
        }
        assert!(start.elapsed() < Duration::from_secs(90), "not processed in 90 s: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn uploads_through_http_are_checked_stored_once_processed_and_assembled() {
    let served = serve();
    let addr = served.addr.as_str();
    let toml_type = ("Content-Type", "application/toml");

    // Setting up the catalogue: a token is needed, a known one, with the admin scope.
    let put = |headers: &[(&str, &str)], body: &[u8]| http(addr, "PUT", "/v1/catalogues/ccm-2012", headers, body);
    assert_eq!(put(&[toml_type], CATALOGUE_TOML.as_bytes()).0, 401);
    assert_eq!(put(&[toml_type, ("Authorization", "Bearer guess-guess-guess")], CATALOGUE_TOML.as_bytes()).0, 401);
    let (status, body) = put(&[toml_type, EDITOR], CATALOGUE_TOML.as_bytes());
    assert_eq!(status, 403, "an editor does not set up catalogues: {body}");
    assert!(body.contains("admin"), "{body}");
    let (status, body) = put(&[toml_type, ADMIN], CATALOGUE_TOML.as_bytes());
    assert_eq!(status, 201, "{body}");
    assert_eq!(put(&[toml_type, ADMIN], CATALOGUE_TOML.as_bytes()).0, 200);
    let (status, body) = http(addr, "PUT", "/v1/catalogues/other", &[toml_type, ADMIN], b"title = 1");
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("\"status\":422"), "{body}");
    assert_eq!(http(addr, "GET", "/v1/catalogues/ccm-2012", &[], b"").0, 401, "reading needs a token too");

    // An upload: a photo, and a file whose name tries to leave the folder.
    let photo = png(40);
    let files: [(&str, &[u8]); 2] = [("../../etc/photo.png", &photo), ("notes.png", &png(20))];
    let upload = form(&metadata("Deminers at work"), &files);
    let path = "/v1/catalogues/ccm-2012/contributions";
    assert_eq!(http(addr, "POST", path, &[MULTIPART], &upload).0, 401);
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH, ("Idempotency-Key", "upload-1")], &upload);
    assert_eq!(status, 201, "{body}");
    let accepted = json(&body);
    let contribution_id = accepted["contribution_id"].as_str().unwrap().to_string();
    let names: Vec<&str> =
        accepted["documents"].as_array().unwrap().iter().map(|d| d["file_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["photo.png", "notes.png"], "the path is dropped from the name");
    assert!(!served.dir.path().join("etc").exists() && !served.dir.path().join("data/etc").exists());

    // The same upload again (a retry): the same contribution, nothing new; with its Idempotency-Key, the first
    // answer again; the key with another request is refused.
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &upload);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["contribution_id"].as_str(), Some(contribution_id.as_str()));
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH, ("Idempotency-Key", "upload-1")], &upload);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["contribution_id"].as_str(), Some(contribution_id.as_str()));
    let other = form(&metadata("Deminers at rest"), &files);
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH, ("Idempotency-Key", "upload-1")], &other);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("Idempotency-Key"), "{body}");

    // Refusals, each with what to fix.
    let mut bad = serde_json::from_str::<serde_json::Value>(&metadata("Bad")).unwrap();
    bad["kind"] = "poem".into();
    bad["chapter"] = "atlantis".into();
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &form(&bad.to_string(), &[("a.png", &photo)]));
    assert_eq!(status, 422, "{body}");
    let problem = json(&body);
    assert!(!problem["problems"].as_array().unwrap().is_empty(), "{body}");
    assert!(body.contains("poem"), "{body}");
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &form(&metadata("Empty"), &[]));
    assert_eq!(status, 422, "{body}");
    // Content is sniffed: a PNG named .pdf, and a file of no format Folio reads.
    let (status, body) =
        http(addr, "POST", path, &[MULTIPART, AUTH], &form(&metadata("Liar"), &[("report.pdf", &photo)]));
    assert_eq!(status, 415, "{body}");
    assert!(body.contains("is a PNG image, not a PDF"), "{body}");
    let (status, body) =
        http(addr, "POST", path, &[MULTIPART, AUTH], &form(&metadata("Text"), &[("notes", b"just words\n")]));
    assert_eq!(status, 415, "{body}");
    // Limits: a file over max_file_mib, a request over max_upload_mib, more files than max_files.
    let big = vec![7u8; 2 << 20];
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &form(&metadata("Big"), &[("big.png", &big)]));
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("max_file_mib"), "{body}");
    let part = vec![7u8; 900 << 10];
    let four: Vec<(&str, &[u8])> = ["a.png", "b.png", "c.png", "d.png"].iter().map(|n| (*n, part.as_slice())).collect();
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &form(&metadata("Heavy"), &four));
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("max_upload_mib"), "{body}");
    let tiny = png(4);
    let six: Vec<(String, &[u8])> = (0..6).map(|i| (format!("{i}.png"), tiny.as_slice())).collect();
    let six: Vec<(&str, &[u8])> = six.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &form(&metadata("Many"), &six));
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("max_files"), "{body}");
    let (status, _) = http(addr, "POST", "/v1/catalogues/nowhere/contributions", &[MULTIPART, AUTH], &upload);
    assert_eq!(status, 404);

    // A second contribution whose rights are not cleared: a blocking finding once processed.
    let mut unclear = serde_json::from_str::<serde_json::Value>(&metadata("Rights unknown")).unwrap();
    unclear["rights"] = serde_json::Value::Null;
    let (status, body) =
        http(addr, "POST", path, &[MULTIPART, AUTH], &form(&unclear.to_string(), &[("field.png", &png(30))]));
    assert_eq!(status, 201, "{body}");
    let unclear_id = json(&body)["contribution_id"].as_str().unwrap().to_string();

    // The workers process every file; the dashboard's cards show records, thumbnails and findings.
    let cards = until_processed(addr, 3);
    assert_eq!(cards.len(), 2, "one card a contribution, none twice");

    // The metrics agree with what was processed: three PNGs recorded, their bytes, the uploads taken in,
    // refused or repeated, and nothing waiting.
    let (status, metrics) = http(addr, "GET", "/metrics", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(metric(&metrics, "folio_documents_total", &["outcome=\"done\"", "format=\"png\""]), 3.0, "{metrics}");
    assert_eq!(metric(&metrics, "folio_stage_seconds_count", &["stage=\"extract\"", "format=\"png\""]), 3.0);
    let png_bytes = (photo.len() + png(20).len() + png(30).len()) as f64;
    assert_eq!(metric(&metrics, "folio_bytes_processed_total", &["format=\"png\""]), png_bytes);
    assert_eq!(metric(&metrics, "folio_uploads_total", &["outcome=\"created\""]), 2.0);
    assert!(metric(&metrics, "folio_uploads_total", &["outcome=\"refused\""]) >= 4.0, "{metrics}");
    assert_eq!(metric(&metrics, "folio_queue_depth", &[]), 0.0);
    assert_eq!(metric(&metrics, "folio_oldest_waiting_seconds", &[]), 0.0);
    let card = |id: &str| cards.iter().find(|c| c["id"] == id).unwrap().clone();
    for d in card(&contribution_id)["documents"].as_array().unwrap() {
        assert_eq!(d["record"]["format"], "png", "{d}");
        assert_eq!(d["record"]["pages"], 1, "{d}");
        let url = d["thumbnail_url"].as_str().unwrap();
        let (status, bytes) = http(addr, "GET", url, &[AUTH], b"");
        assert_eq!(status, 200);
        assert!(bytes.contains("PNG"), "a PNG thumbnail");
    }
    assert_eq!(card(&contribution_id)["in_book"], true);
    let unclear_card = card(&unclear_id);
    assert_eq!(unclear_card["in_book"], false, "{unclear_card}");
    assert!(unclear_card["findings"].as_array().unwrap().iter().any(|f| f["code"] == "rights_not_cleared"));
    let (status, body) = http(addr, "GET", "/v1/catalogues/ccm-2012/findings", &[AUTH], b"");
    assert_eq!(status, 200);
    assert!(json(&body)["findings"].as_array().unwrap().iter().any(|f| f["severity"] == "blocking"), "{body}");
    let (status, body) = http(addr, "GET", "/v1/catalogues/ccm-2012/chapters", &[AUTH], b"");
    assert_eq!(status, 200);
    let chapters = json(&body)["chapters"].clone();
    assert_eq!(chapters[0]["documents"], 3, "{body}");
    assert_eq!(chapters[0]["finished"], 3, "{body}");
    assert_eq!(chapters[0]["contributions"], 2, "{body}");

    // Editors' decisions: an uploader may not; a reason is needed; the waived finding stops blocking; an
    // excluded contribution leaves the book.
    let waiver = format!("{path}/{unclear_id}/waivers/rights_not_cleared");
    let reason = br#"{"reason": "The Ministry confirmed the rights by letter"}"#;
    assert_eq!(http(addr, "PUT", &waiver, &[JSON, AUTH], reason).0, 403);
    assert_eq!(http(addr, "PUT", &waiver, &[JSON, EDITOR], br#"{"reason": " "}"#).0, 422);
    assert_eq!(http(addr, "PUT", &format!("{path}/{unclear_id}/waivers/unheard_of"), &[JSON, EDITOR], reason).0, 404);
    let (status, body) = http(addr, "PUT", &waiver, &[JSON, EDITOR], reason);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["decided_by"], "ana");
    let exclusion = format!("{path}/{contribution_id}/exclusion");
    let (status, body) = http(addr, "PUT", &exclusion, &[JSON, EDITOR], br#"{"reason": "Sent twice by mistake"}"#);
    assert_eq!(status, 200, "{body}");
    let (_, body) = http(addr, "GET", &format!("{path}/{unclear_id}"), &[AUTH], b"");
    let c = json(&body);
    assert_eq!(c["in_book"], true, "{body}");
    let waived = c["findings"].as_array().unwrap().iter().find(|f| f["code"] == "rights_not_cleared").unwrap().clone();
    assert_eq!(waived["severity"], "info", "{waived}");
    assert!(waived["message"].as_str().unwrap().contains("waived by ana"), "{waived}");
    let (_, body) = http(addr, "GET", &format!("{path}/{contribution_id}"), &[AUTH], b"");
    assert_eq!(json(&body)["in_book"], false, "{body}");
    assert_eq!(json(&body)["excluded"], true, "{body}");

    // Layout (issue 23): as made until an editor asks for the text; an uploader may not; a word that is no
    // layout is refused; the answer is the contribution as the desk shows it.
    let (_, body) = http(addr, "GET", &format!("{path}/{unclear_id}"), &[AUTH], b"");
    assert_eq!(json(&body)["layout"], "as-made", "{body}");
    let layout = format!("{path}/{unclear_id}/layout");
    assert_eq!(http(addr, "PUT", &layout, &[JSON, AUTH], br#"{"layout": "text"}"#).0, 403);
    assert_eq!(http(addr, "PUT", &layout, &[JSON, EDITOR], br#"{"layout": "poster"}"#).0, 422);
    assert_eq!(
        http(addr, "PUT", &format!("{path}/{}/layout", uuid::Uuid::nil()), &[JSON, EDITOR], br#"{"layout": "text"}"#).0,
        404
    );
    let (status, body) = http(addr, "PUT", &layout, &[JSON, EDITOR], br#"{"layout": "text"}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["layout"], "text", "{body}");
    let (_, body) = http(addr, "GET", &format!("{path}/{unclear_id}"), &[AUTH], b"");
    assert_eq!(json(&body)["layout"], "text", "{body}");

    // Classification: Folio's suggestion with its evidence; an editor confirms other areas (an uploader may
    // not, an unknown area is refused); the book will use the editor's.
    let classification = format!("{path}/{unclear_id}/classification");
    let (status, body) = http(addr, "GET", &classification, &[AUTH], b"");
    assert_eq!(status, 200, "{body}");
    let suggested = json(&body);
    assert!(suggested["suggestion"]["areas"].is_array() && suggested["confirmed"].is_null(), "{body}");
    assert_eq!(suggested["effective"]["confirmed_by"], serde_json::Value::Null);
    let confirm = br#"{"areas": ["victim_assistance", "clearance"], "modality": "bilateral", "role": "donor"}"#;
    assert_eq!(http(addr, "PUT", &classification, &[JSON, AUTH], confirm).0, 403);
    let (status, body) = http(addr, "PUT", &classification, &[JSON, EDITOR], br#"{"areas": ["astrology"]}"#);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("clearance"), "the refusal names the areas: {body}");
    assert_eq!(http(addr, "PUT", &classification, &[JSON, EDITOR], br#"{"areas": [], "modality": "by sea"}"#).0, 422);
    let (status, body) = http(addr, "PUT", &classification, &[JSON, EDITOR], confirm);
    assert_eq!(status, 200, "{body}");
    let confirmed = json(&body);
    assert_eq!(confirmed["effective"]["areas"], serde_json::json!(["clearance", "victim_assistance"]), "{body}");
    assert_eq!(confirmed["effective"]["confirmed_by"], "ana");
    assert_eq!(confirmed["confirmed"]["modality"], "bilateral");

    // Assembling: an uploader may not; an editor gets the build of these inputs (the coordinator of
    // `folio serve` may be assembling them at the same moment: 409 then, and the editor tries again).
    let builds = "/v1/catalogues/ccm-2012/builds";
    assert_eq!(http(addr, "POST", builds, &[AUTH], b"").0, 403);
    let start = Instant::now();
    let build = loop {
        let (status, body) = http(addr, "POST", builds, &[EDITOR], b"");
        if status == 200 || status == 201 {
            break json(&body);
        }
        assert_eq!(status, 409, "{body}");
        assert!(start.elapsed() < Duration::from_secs(60), "never assembled: {body}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let (status, body) = http(addr, "GET", builds, &[AUTH], b"");
    assert_eq!(status, 200);
    assert!(json(&body)["builds"].as_array().unwrap().iter().any(|b| b["number"] == build["number"]), "{body}");
    assert_eq!(json(&body)["stale"], false, "just built: {body}");

    // The bundle, downloaded as a ZIP: the waived contribution is in the book, the excluded one is not.
    let url = build["bundle_url"].as_str().unwrap();
    let zip_bytes = http_bytes(addr, url, &[AUTH]);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("a ZIP file");
    let mut manifest = String::new();
    zip.by_name("manifest.json").expect("manifest.json in the bundle").read_to_string(&mut manifest).unwrap();
    let manifest = json(&manifest);
    let included = |id: &str| {
        manifest["contributions"].as_array().unwrap().iter().find(|c| c["id"] == id).map(|c| c["included"].clone())
    };
    assert_eq!(included(&unclear_id), Some(serde_json::Value::Bool(true)), "{manifest}");
    assert_eq!(included(&contribution_id), Some(serde_json::Value::Bool(false)), "{manifest}");
    assert!(zip.by_name("catalogue.docx").is_ok() && zip.by_name("catalogue.pdf").is_ok());
    let classified = manifest["contributions"].as_array().unwrap().iter().find(|c| c["id"] == unclear_id.as_str());
    let classified = &classified.unwrap()["classification"];
    assert_eq!(classified["areas"], serde_json::json!(["clearance", "victim_assistance"]), "{classified}");
    assert_eq!(classified["confirmed_by"], "ana");
    assert_eq!(http(addr, "GET", "/v1/catalogues/ccm-2012/builds/999/bundle.zip", &[AUTH], b"").0, 404);

    // Decisions taken back: 204, then 404 as there is none left.
    assert_eq!(http(addr, "DELETE", &exclusion, &[AUTH], b"").0, 403);
    assert_eq!(http(addr, "DELETE", &exclusion, &[EDITOR], b"").0, 204);
    assert_eq!(http(addr, "DELETE", &exclusion, &[EDITOR], b"").0, 404);
    assert_eq!(http(addr, "DELETE", &waiver, &[EDITOR], b"").0, 204);
    let (_, body) = http(addr, "GET", &format!("{path}/{unclear_id}"), &[AUTH], b"");
    assert_eq!(json(&body)["in_book"], false, "the waiver is gone: {body}");
    assert_eq!(http(addr, "DELETE", &classification, &[EDITOR], b"").0, 204);
    assert_eq!(http(addr, "DELETE", &classification, &[EDITOR], b"").0, 404);
    // Every change since marks the catalogue stale: its next build will list them.
    let (_, body) = http(addr, "GET", builds, &[AUTH], b"");
    assert_eq!(json(&body)["stale"], true, "{body}");

    // The OpenAPI document is served, and lists these routes.
    let (status, body) = http(addr, "GET", "/v1/openapi.json", &[], b"");
    assert_eq!(status, 200);
    let openapi = json(&body);
    assert_eq!(openapi["openapi"], "3.1.0");
    assert!(openapi["paths"]["/v1/catalogues/{key}/builds/{number}/bundle.zip"]["get"].is_object(), "{body}");
    assert!(http(addr, "GET", "/readyz", &[], b"").0 == 200);

    // SIGTERM: a clean stop.
    let mut served = served;
    // SAFETY: kill(2) on the child this test started and has not reaped.
    unsafe { libc::kill(served.child.id() as i32, libc::SIGTERM) };
    let status = served.child.wait().unwrap();
    assert!(status.success(), "folio serve exited with {status}");
}

/// The web desk in headless Chromium (Debian's `chromium`, driven by playwright-core from tests/browser): upload
/// through the page, see the contribution processed with its thumbnail, waive its finding, assemble, download.
/// Screenshots go to FOLIO_DESK_SCREENSHOTS when it names a folder.
#[test]
fn the_web_desk_uploads_shows_waives_assembles_and_downloads_in_chromium() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "no Chromium at {chromium}: install Debian's `chromium` (scripts/test does) or set CHROMIUM"
    );
    assert!(
        std::path::Path::new(root).join("tests/browser/node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: `npm ci --prefix tests/browser` (scripts/test does)"
    );
    let served = serve();
    let addr = served.addr.as_str();
    let (status, body) = http(
        addr,
        "PUT",
        "/v1/catalogues/ccm-2012",
        &[("Content-Type", "application/toml"), ADMIN],
        CATALOGUE_TOML.as_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    // The desk is served by the gateway, with a policy that keeps other origins' scripts out.
    let (status, page) = http(addr, "GET", "/desk/", &[], b"");
    assert_eq!(status, 200);
    assert!(page.contains("<label for=\"token\">"), "{page}");
    let photo = served.dir.path().join("south.png");
    std::fs::write(&photo, png(48)).unwrap();
    let mut node = Command::new("node");
    node.arg(format!("{root}/tests/browser/desk.mjs")).args([addr, "ccm-2012", "editor-secret-22"]).arg(&photo);
    if let Ok(shots) = std::env::var("FOLIO_DESK_SCREENSHOTS") {
        node.arg(shots);
    }
    let output = node.env("CHROMIUM", &chromium).output().expect("node runs (Node.js is on the machine)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the desk test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("downloaded"), "{stdout}");
}

/// The value of a metric in a Prometheus text exposition: the sample named `name` whose labels contain each
/// of `labels`.
fn metric(exposition: &str, name: &str, labels: &[&str]) -> f64 {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            let (series, _) = l.rsplit_once(' ').unwrap_or((l, ""));
            (series == name || series.starts_with(&format!("{name}{{"))) && labels.iter().all(|x| series.contains(x))
        })
        .and_then(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse().ok()))
        .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{exposition}"))
}

/// A GET whose body is binary; asserts 200.
fn http_bytes(addr: &str, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: folio\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head") + 4;
    let head = String::from_utf8_lossy(&response[..split]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    response[split..].to_vec()
}

fn broker_url() -> String {
    std::env::var("FOLIO_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// How the test publishes: Rust's lapin, or the example publisher in Python (pika), as front ends would.
#[derive(Debug, Clone, Copy)]
enum Publisher {
    Lapin,
    Pika,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_published_straight_to_rabbitmq_becomes_a_contribution_once() {
    by_queue(Publisher::Lapin).await;
}

/// `examples/publish-upload/publish_upload.py`, the example publisher in Python's pika, does the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_publisher_makes_one_contribution_too() {
    by_queue(Publisher::Pika).await;
}

async fn by_queue(publisher: Publisher) {
    let name = format!("folio.test.{}", Uuid::new_v4().simple());
    let url = format!("{}?queue={name}", broker_url());
    let queue = AmqpQueue::open(&url, 1).await.unwrap_or_else(|e| {
        panic!(
            "RabbitMQ is not reachable at {} ({e}); start it with `rabbitmq-server -detached` (scripts/test does)",
            broker_url()
        )
    });
    let outcome = tokio::spawn(upload_by_queue(queue.clone(), url, name, publisher)).await;
    if let Err(e) = queue.delete_declared().await {
        eprintln!("could not delete the test's queues: {e}");
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Runs the example publisher; `files` are written to a folder first.
async fn publish_with_pika(
    queue: &str,
    catalogue: &str,
    metadata: &str,
    upload_id: &str,
    files: &[(&str, Vec<u8>)],
    blobs: &[&str],
) {
    let dir = tempfile::tempdir().unwrap();
    let metadata_path = dir.path().join("contribution.json");
    std::fs::write(&metadata_path, metadata).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/publish-upload/publish_upload.py");
    let mut command = tokio::process::Command::new("python3");
    command.arg(script).args([
        "--url",
        &broker_url(),
        "--queue",
        queue,
        "--catalogue",
        catalogue,
        "--upload-id",
        upload_id,
    ]);
    command.arg("--metadata").arg(&metadata_path);
    for blob in blobs {
        command.args(["--blob", blob]);
    }
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        command.arg(path);
    }
    let output = command.output().await.expect("python3 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'pika'"),
        "pika is not installed: `pip install pika` (scripts/test does)"
    );
    assert!(output.status.success(), "publish_upload.py failed: {stderr}");
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

async fn upload_by_queue(queue: AmqpQueue, url: String, name: String, publisher: Publisher) {
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
    match publisher {
        Publisher::Lapin => {
            publish_raw(&channel, &name, &upload_id.to_string(), body.as_bytes()).await;
            publish_raw(&channel, &name, &upload_id.to_string(), body.as_bytes()).await;
            publish_raw(&channel, &name, "refused", refused.to_string().as_bytes()).await;
        }
        Publisher::Pika => {
            let fields = metadata("By the queue");
            let files = [("small.png", png(16))];
            let blob = ["big.png=incoming/front-end/big.png"];
            publish_with_pika(&name, "ccm-2012", &fields, &upload_id.to_string(), &files, &blob).await;
            publish_with_pika(&name, "ccm-2012", &fields, &upload_id.to_string(), &files, &blob).await;
            let truncated = [("a.png", b"\x89PNG\r\n\x1a\n".to_vec())];
            publish_with_pika(&name, "nowhere", &metadata("Lost"), "refused", &truncated, &[]).await;
        }
    }

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

/// With no token configured, the gateway answers on a loopback address only: on any other it refuses to start.
#[test]
fn an_open_gateway_refuses_to_listen_beyond_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env_remove("FOLIO_GATEWAY_TOKEN")
        .env_remove("FOLIO_GATEWAY_TOKENS")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no token configured") && stderr.contains("FOLIO_GATEWAY_TOKENS"), "{stderr}");
}

/// Each build is POSTed to the operator's webhook, signed with the bundle key, and tried again until the
/// webhook answers 2xx (here it fails once first).
#[test]
fn a_build_reaches_the_webhook_signed_and_after_a_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/folio", listener.local_addr().unwrap());
    let seed = "11".repeat(32);
    let public = folio_bundle::signature::Signer::from_hex(&seed).unwrap().public_key_hex();
    let received = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for (i, stream) in listener.incoming().take(2).enumerate() {
            let mut stream = stream.unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                headers.push(line.trim().to_ascii_lowercase());
                line.clear();
            }
            let length: usize = headers
                .iter()
                .find_map(|h| h.strip_prefix("content-length: ").map(|v| v.parse().unwrap()))
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            let status = if i == 0 { "500 Internal Server Error" } else { "204 No Content" };
            write!(stream, "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").unwrap();
            requests.push((headers, body));
        }
        requests
    });
    let served = serve_with(&[("FOLIO_WEBHOOK_URL", &hook), ("FOLIO_SIGNING_KEY", &seed)]);
    let addr = served.addr.as_str();
    let toml_type = ("Content-Type", "application/toml");
    assert_eq!(http(addr, "PUT", "/v1/catalogues/ccm-2012", &[toml_type, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);
    let upload = form(&metadata("Deminers at work"), &[("photo.png", &png(40))]);
    let (status, body) = http(addr, "POST", "/v1/catalogues/ccm-2012/contributions", &[MULTIPART, AUTH], &upload);
    assert_eq!(status, 201, "{body}");
    let requests = received.join().expect("the webhook got two requests");
    let (first, second) = (&requests[0], &requests[1]);
    let event = json(std::str::from_utf8(&second.1).unwrap());
    let mut again = json(std::str::from_utf8(&first.1).unwrap());
    again["assembled_at"] = event["assembled_at"].clone();
    assert_eq!(again, event, "the same event, tried again");
    assert_eq!(event["build"], 1);
    assert!(event["location"].as_str().unwrap().starts_with("bundles/"), "no server path: {event}");
    let header = |name: &str| second.0.iter().find_map(|h| h.strip_prefix(&format!("{name}: ")).map(String::from));
    assert_eq!(header("folio-event").as_deref(), Some("catalogue.assembled"));
    assert_eq!(header("folio-delivery"), Some(format!("{}/1", event["catalogue_id"].as_str().unwrap())));
    let signature = header("folio-signature").expect("a signature");
    let signature = signature.strip_prefix("ed25519=").unwrap();
    assert!(folio_bundle::signature::verify_bytes(&public, &second.1, signature), "the signature holds");
    assert!(!folio_bundle::signature::verify_bytes(&public, b"{}", signature));
    // The bundle itself is signed with the same key.
    let catalogue_id = catalogue_id_for_key("ccm-2012");
    let bundle = served.dir.path().join(format!("data/blobs/bundles/{catalogue_id}/1"));
    assert!(bundle.join("signature.json").is_file());
}

/// A `.doc` is taken where LibreOffice is installed (the workers convert it); where it is not, the upload is
/// refused with 415 and a sentence saying what to install.
#[test]
fn a_legacy_word_file_is_taken_only_where_libreoffice_can_read_it() {
    let doc = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../folio-extract/tests/fixtures/legacy/call-for-contributions.doc"),
    )
    .unwrap();
    let upload = form(&metadata("The call, as a .doc"), &[("call.doc", &doc)]);
    let path = "/v1/catalogues/ccm-2012/contributions";
    let toml = ("Content-Type", "application/toml");

    let served = serve_with(&[("PATH", "/nonexistent")]);
    let addr = served.addr.as_str();
    assert_eq!(http(addr, "PUT", "/v1/catalogues/ccm-2012", &[toml, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &upload);
    assert_eq!(status, 415, "{body}");
    assert!(body.contains("Word 97-2003") && body.contains("libreoffice-writer-nogui"), "{body}");
    drop(served);

    let served = serve();
    let addr = served.addr.as_str();
    assert_eq!(http(addr, "PUT", "/v1/catalogues/ccm-2012", &[toml, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &upload);
    assert_eq!(status, 201, "{body}");
}
