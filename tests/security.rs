//! What a hostile client or file can do to Folio, tried from outside as an attacker would, against the
//! release binary (`folio serve`, `folio process`, `folio verify`): each test is one finding of the security
//! review (docs/SECURITY.md) and the boundary that now holds it.

use folio::gateway::auth::Scope;
use folio::gateway::{route_access, Access};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod support;
use support::http::*;

const CATALOGUE_TOML: &str = "title = \"Catalogue\"\n[[chapters]]\nid = \"lebanon\"\ntitle = \"Lebanon\"\n";
const TOML: (&str, &str) = ("Content-Type", "application/toml");
const NOBODY: (&str, &str) = ("Authorization", "Bearer guess-guess-guess");

fn metadata(title: &str, kind: &str) -> String {
    serde_json::json!({
        "chapter": "lebanon", "state": "Spain", "author": "Ana Ruiz", "title": title, "kind": kind,
        "role": "donor", "modality": "bilateral", "received": "2012-04-01", "rights": "CC0"
    })
    .to_string()
}

/// A route's path with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{key}", "ccm-2012")
        .replace("{id}", "00000000-0000-0000-0000-000000000000")
        .replace("{code}", "late")
        .replace("{number}", "1")
}

/// An `Authorization` header.
type Header = (&'static str, &'static str);

/// The token that is just enough for `access`, and one of a narrower scope (none for uploads, the narrowest).
fn tokens_for(access: Access) -> (Option<Header>, Option<Header>) {
    match access {
        Access::Open => (None, None),
        Access::Read | Access::Needs(Scope::Uploader) => (Some(AUTH), None),
        Access::Needs(Scope::Editor) => (Some(EDITOR), Some(AUTH)),
        Access::Needs(Scope::Admin) => (Some(ADMIN), Some(EDITOR)),
    }
}

/// Sends the head of a request that declares a `declared`-byte body, then up to `sent` bytes of it while
/// reading the answer; returns the status. The server must answer without waiting for the rest.
fn answer_to_a_large_body(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    declared: u64,
    sent: u64,
) -> u16 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: folio\r\nConnection: close\r\nContent-Length: {declared}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let feeding = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        let mut written = 0u64;
        while written < sent {
            let n = chunk.len().min((sent - written) as usize);
            if writer.write_all(&chunk[..n]).is_err() {
                break;
            }
            written += n as u64;
        }
    });
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    // The status line is enough.
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = feeding.join();
    String::from_utf8_lossy(&response).get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A process's resident memory now and at its peak, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Every route of the table refuses a request without a token (401), with an unknown one (401) and with a
/// token of a narrower scope (403), and takes the right one, before its body is read: each refusal comes
/// while the client is still sending a body it declared at 190 MB. A malformed path without a token is 401
/// too, not 400 about the path.
#[test]
fn every_route_checks_its_token_before_reading_its_body() {
    let served = serve();
    let addr = served.addr.as_str();
    assert_eq!(http(addr, "PUT", "/v1/catalogues/ccm-2012", &[TOML, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);
    let routes = route_access();
    assert!(routes.len() >= 19, "the whole table: {}", routes.len());
    for route in &routes {
        let (method, path) = (route.method.as_str(), concrete(route.path));
        let (right, narrower) = tokens_for(route.access);
        let what = format!("{method} {}", route.path);
        if route.access == Access::Open {
            assert_eq!(http(addr, method, &path, &[], b"").0, 200, "{what} is open");
            continue;
        }
        let started = Instant::now();
        assert_eq!(answer_to_a_large_body(addr, method, &path, &[], 190_000_000, 4 << 20), 401, "{what}, no token");
        assert!(started.elapsed() < Duration::from_secs(10), "{what}: answered before the body was read");
        assert_eq!(
            answer_to_a_large_body(addr, method, &path, &[NOBODY], 190_000_000, 1 << 20),
            401,
            "{what}, unknown"
        );
        if let Some(narrower) = narrower {
            assert_eq!(
                answer_to_a_large_body(addr, method, &path, &[narrower], 190_000_000, 1 << 20),
                403,
                "{what}, narrower"
            );
        }
        let (status, body) = http(addr, method, &path, &[right.unwrap()], b"");
        assert!(![401, 403].contains(&status), "{what} with the right token: {status} {body}");
        // The body limit is the route's: a small document for JSON and TOML, nothing for the others.
        if let Some(limit) = route.max_body_bytes {
            assert!(limit <= 64 * 1024, "{what}: {limit}");
        }
    }
    // A path that does not parse, without a token: the token is checked first.
    let (status, _) = http(addr, "GET", "/v1/catalogues/ccm-2012/contributions/not-a-uuid", &[], b"");
    assert_eq!(status, 401);
    let (status, _) = http(addr, "PUT", "/v1/catalogues/ccm-2012/contributions/not-a-uuid/exclusion", &[JSON], b"{");
    assert_eq!(status, 401, "no token: 401, not 400 about the JSON or the path");
}

/// A 190 MB body with no token, to each route that takes one, costs the process almost nothing.
#[test]
fn a_large_body_without_a_token_costs_no_memory() {
    let served = serve_configured("[gateway]\nmax_upload_mib = 200\nmax_file_mib = 100\n", &[]);
    let addr = served.addr.as_str();
    let pid = served.child.id();
    // Warm up the paths the requests take (the first answer allocates what every later one reuses).
    assert_eq!(http(addr, "GET", "/v1/catalogues/ccm-2012", &[], b"").0, 401);
    let (_, before) = memory_kib(pid);
    for route in route_access().iter().filter(|r| ["PUT", "POST"].contains(&r.method.as_str())) {
        let path = concrete(route.path);
        let status = answer_to_a_large_body(addr, route.method.as_str(), &path, &[], 190_000_000, 190_000_000);
        assert_eq!(status, 401, "{} {}", route.method, route.path);
    }
    let (_, after) = memory_kib(pid);
    eprintln!("peak resident memory before {before} KiB, after the bodies {after} KiB");
    assert!(after < before + 20 * 1024, "the process grew from {before} KiB to a peak of {after} KiB");
}

/// One `metadata` part, of bounded size: a second one, or one of megabytes, is refused.
#[test]
fn an_upload_has_one_small_metadata_part() {
    let served = serve();
    let addr = served.addr.as_str();
    assert_eq!(http(addr, "PUT", "/v1/catalogues/ccm-2012", &[TOML, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);
    let path = "/v1/catalogues/ccm-2012/contributions";
    let meta = metadata("Photo", "photograph");
    let mut twice = form(&meta, &[]);
    let one = form(&meta, &[("a.png", &png(10))]);
    twice.truncate(twice.len() - format!("--{BOUNDARY}--\r\n").len());
    twice.extend_from_slice(&one);
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &twice);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("more than one `metadata` part"), "{body}");
    let huge = form(&format!("{{\"pad\": \"{}\"}}", "x".repeat(2 << 20)), &[("a.png", &png(10))]);
    let (status, body) = http(addr, "POST", path, &[MULTIPART, AUTH], &huge);
    assert_eq!(status, 413, "{body}");
}

/// A DOCX of a few MB whose `word/document.xml` inflates to 250 MiB of text (at about 140:1, under the
/// per-part limits): its text is cut at the named limit and the record says so, the contribution is left
/// out with a `text_cut` finding, the serving process stays under 300 MiB while it is processed and
/// assembled, and every API call answers within a second afterwards.
#[test]
fn a_docx_of_a_quarter_gigabyte_of_text_is_cut_and_the_server_stays_small() {
    let docx = hostile_docx(250 << 20);
    assert!(docx.len() < 4 << 20, "a small upload: {} bytes", docx.len());
    let served = serve_configured("[gateway]\nmax_file_mib = 10\n[coordinator]\nevery_secs = 1\n", &[]);
    let addr = served.addr.as_str();
    let pid = served.child.id();
    assert_eq!(http(addr, "PUT", "/v1/catalogues/ccm-2012", &[TOML, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);
    let upload = form(&metadata("The whole archive", "text"), &[("archive.docx", &docx)]);
    let (status, body) = http(addr, "POST", "/v1/catalogues/ccm-2012/contributions", &[MULTIPART, AUTH], &upload);
    assert_eq!(status, 201, "{body}");

    // Processed, then assembled by the coordinator, watching the server's memory all along.
    let started = Instant::now();
    let mut peak = 0;
    let card = loop {
        peak = peak.max(memory_kib(pid).1);
        let (status, body) = http(addr, "GET", "/v1/catalogues/ccm-2012/builds", &[AUTH], b"");
        assert_eq!(status, 200, "{body}");
        let built = json(&body)["builds"].as_array().is_some_and(|b| b.iter().any(|b| b["state"] == "done"));
        if built {
            let (_, body) = http(addr, "GET", "/v1/catalogues/ccm-2012/contributions", &[AUTH], b"");
            break json(&body)["contributions"][0].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(300), "not assembled in 300 s: {body}");
        std::thread::sleep(Duration::from_millis(250));
    };
    peak = peak.max(memory_kib(pid).1);
    eprintln!("serving process peak while processing and assembling: {} MiB", peak / 1024);
    assert!(peak < 300 * 1024, "the serving process peaked at {} MiB", peak / 1024);
    assert_eq!(card["documents"][0]["state"], "done", "{card}");
    let findings: Vec<&str> = card["findings"].as_array().unwrap().iter().filter_map(|f| f["code"].as_str()).collect();
    assert!(findings.contains(&"text_cut"), "the record says the text was cut: {card}");
    assert_eq!(card["in_book"], false, "a text cut short is not set into the book unread: {card}");

    for path in [
        "/v1/catalogues/ccm-2012",
        "/v1/catalogues/ccm-2012/chapters",
        "/v1/catalogues/ccm-2012/contributions",
        "/v1/catalogues/ccm-2012/findings",
        "/v1/catalogues/ccm-2012/builds",
    ] {
        let started = Instant::now();
        let (status, body) = http(addr, "GET", path, &[AUTH], b"");
        assert_eq!(status, 200, "{path}: {body}");
        assert!(started.elapsed() < Duration::from_secs(1), "{path} took {:?}", started.elapsed());
    }
    let id = card["id"].as_str().unwrap();
    let started = Instant::now();
    let (status, body) =
        http(addr, "GET", &format!("/v1/catalogues/ccm-2012/contributions/{id}/classification"), &[AUTH], b"");
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() < Duration::from_secs(1), "the classification took {:?}", started.elapsed());
}

/// A DOCX whose body inflates to `size` bytes of paragraphs: a 3 KiB block of words, repeated.
fn hostile_docx(size: usize) -> Vec<u8> {
    let words = ["mine", "clearance", "survey", "village", "land", "cooperation", "victim", "report", "team"];
    let mut block = String::new();
    let mut n = 7u32;
    while block.len() < 3 << 10 {
        block.push_str("<w:p><w:r><w:t>");
        for _ in 0..60 {
            n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            block.push_str(words[(n >> 16) as usize % words.len()]);
            block.push(' ');
        }
        block.push_str("</w:t></w:r></w:p>");
    }
    let head = "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>";
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("[Content_Types].xml", options).unwrap();
    zip.write_all(
        b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>",
    )
    .unwrap();
    zip.start_file("word/document.xml", options.large_file(true)).unwrap();
    zip.write_all(head.as_bytes()).unwrap();
    let mut written = head.len();
    while written < size {
        zip.write_all(block.as_bytes()).unwrap();
        written += block.len();
    }
    zip.write_all(b"</w:body></w:document>").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let ratio = written / bytes.len();
    eprintln!("hostile DOCX: {} bytes inflating to {written} ({ratio}:1)", bytes.len());
    assert!((50..200).contains(&ratio), "under the per-part ratio limit of 200:1, as the attack was: {ratio}:1");
    bytes
}

/// A protected document's password is kept only while the document waits: once it is finished, the
/// database holds none (only a salted digest, by which a changed password is told), and a second run does
/// not read the document again. The embedded database is this user's alone.
#[tokio::test]
async fn a_finished_documents_password_is_gone_and_the_database_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::create_dir(&input).unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../folio-extract/tests/fixtures/testWORD_protected_passtika.docx");
    std::fs::copy(fixture, input.join("protected.docx")).unwrap();
    std::fs::write(
        input.join("contributions.csv"),
        "file,chapter,state,author,title,kind,role,modality,received,rights,password\n\
         protected.docx,lebanon,Spain,Ana Ruiz,Protected,text,donor,bilateral,2012-04-01,CC0,tika\n",
    )
    .unwrap();
    std::fs::write(input.join("catalogue.toml"), CATALOGUE_TOML).unwrap();
    let data = dir.path().join("data");
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_folio"))
            .arg("--data-dir")
            .arg(&data)
            .args(["--libreoffice", "off", "--thumbnail-sizes", "none", "process"])
            .arg(&input)
            .arg("--out")
            .arg(dir.path().join("bundle"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run();
    let url = format!("sqlite://{}", data.join("folio.db").display());
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let rows: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT state, password, password_digest FROM documents").fetch_all(&mut db).await.unwrap();
    assert_eq!(rows.len(), 1);
    let (state, password, digest) = &rows[0];
    assert_eq!(state, "done");
    assert_eq!(password, &None, "the password is cleared once the document is finished");
    assert!(digest.as_ref().is_some_and(|d| d.len() == 64 && !d.contains("tika")));
    let text: String = sqlx::query_scalar("SELECT text FROM record_texts").fetch_one(&mut db).await.unwrap();
    assert_eq!(text, "This is an encrypted Word 2007 File.", "it was opened with the password");
    drop(db);
    // The same password again: nothing to read again.
    let second = run();
    assert!(second.contains("nothing changed since it was made"), "the document was not read again: {second}");

    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data folder");
    assert_eq!(mode(&data.join("folio.db")), 0o600, "the database");
    assert_eq!(mode(&data.join("blobs")), 0o700, "the blob folder");
}

/// Any file name a contributor gives survives into the bundle, one that looks like a half-written file
/// included, and `folio verify` passes on the bundle downloaded from the gateway.
#[test]
fn a_file_named_like_a_temporary_file_is_in_the_bundle_and_it_verifies() {
    let served = serve();
    let addr = served.addr.as_str();
    assert_eq!(http(addr, "PUT", "/v1/catalogues/ccm-2012", &[TOML, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);
    let upload = form(&metadata("Scans", "photograph"), &[("scan.tmp-1.png", &png(30)), ("scan.png", &png(31))]);
    let (status, body) = http(addr, "POST", "/v1/catalogues/ccm-2012/contributions", &[MULTIPART, AUTH], &upload);
    assert_eq!(status, 201, "{body}");
    let started = Instant::now();
    loop {
        let (_, body) = http(addr, "GET", "/v1/catalogues/ccm-2012/builds", &[AUTH], b"");
        if json(&body)["builds"].as_array().is_some_and(|b| b.iter().any(|b| b["state"] == "done")) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "not assembled: {body}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET /v1/catalogues/ccm-2012/builds/1/bundle.zip HTTP/1.1\r\nHost: folio\r\nConnection: close\r\nAuthorization: Bearer uploader-secret\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(&response[split..])
    } else {
        response[split..].to_vec()
    };
    let out = tempfile::tempdir().unwrap();
    zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap().extract(out.path()).unwrap();
    assert!(out.path().join("originals/scan.tmp-1.png").is_file(), "the file is in the bundle");
    let verify = Command::new(env!("CARGO_BIN_EXE_folio")).arg("verify").arg(out.path()).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap().trim(), 16).unwrap();
        body = &body[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// SIGTERM while a request is still in flight (here an upload whose client stalls mid-body; an editor's
/// assembly is the same): the process ends within its grace period, cutting the request off, instead of
/// waiting for it.
#[test]
fn sigterm_ends_the_process_within_its_grace_period() {
    let mut served = serve_configured("[worker]\nshutdown_grace_secs = 2\n", &[]);
    let addr = served.addr.clone();
    assert_eq!(http(&addr, "PUT", "/v1/catalogues/ccm-2012", &[TOML, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);
    let mut stalled = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stalled,
        "POST /v1/catalogues/ccm-2012/contributions HTTP/1.1\r\nHost: folio\r\nAuthorization: Bearer uploader-secret\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 10000000\r\n\r\n--{BOUNDARY}\r\n"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on the child this test started and has not reaped.
    unsafe { libc::kill(served.child.id() as i32, libc::SIGTERM) };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "still running 15 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    assert!(started.elapsed() < Duration::from_secs(8), "ended in {:?}", started.elapsed());
    drop(stalled);
}

/// The gateway's edge settings for the tests below: short timers, a small limit on requests in flight.
const EDGE: &str = "[gateway]\nheader_timeout_secs = 2\nbody_idle_secs = 3\nmax_in_flight = 2\n";

/// Reads until the server closes the connection (or 30 s pass); returns what it sent and how long it took.
fn until_closed(stream: &mut std::net::TcpStream) -> (String, Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the connection is still open after {:?}: {e}", started.elapsed()),
        }
    }
    (String::from_utf8_lossy(&received).into_owned(), started.elapsed())
}

/// The head of an upload that announces `length` bytes of body, and the first bytes of that body.
fn stalled_upload(addr: &str, length: usize) -> std::net::TcpStream {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/catalogues/ccm-2012/contributions HTTP/1.1\r\nHost: folio\r\nAuthorization: Bearer uploader-secret\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n--{BOUNDARY}\r\n"
    )
    .unwrap();
    stream
}

/// Slowloris: a client that sends half its headers, or half its body, and then nothing, is cut off (here after
/// the 2 s and 3 s the test sets; 10 s and 20 s by default) instead of holding its connection for ever.
#[test]
fn a_client_that_stalls_in_its_headers_or_its_body_is_cut_off() {
    let served = serve_configured(EDGE, &[]);
    let addr = served.addr.clone();
    assert_eq!(http(&addr, "PUT", "/v1/catalogues/ccm-2012", &[TOML, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);

    let mut half_headers = std::net::TcpStream::connect(&addr).unwrap();
    half_headers.write_all(b"GET /v1/openapi.json HTTP/1.1\r\nHost: folio\r\nX-Slow: ").unwrap();
    let (_, took) = until_closed(&mut half_headers);
    assert!(took < Duration::from_secs(30), "closed after {took:?}");

    let mut half_body = stalled_upload(&addr, 100_000);
    let (answer, took) = until_closed(&mut half_body);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_idle_secs"), "says which setting: {answer}");
    assert!(took < Duration::from_secs(30), "closed after {took:?}");

    // The defaults hold the same line, within 30 s.
    let defaults = folio::config::Settings::default().gateway;
    assert!(defaults.header_timeout_secs <= 10 && defaults.body_idle_secs <= 20, "{defaults:?}");
}

/// Past `gateway.max_in_flight` requests at once, the gateway answers 503 with `Retry-After` at once, and
/// answers again once they end; probes are outside the limit.
#[test]
fn past_the_limit_of_requests_in_flight_the_gateway_answers_503_with_retry_after() {
    let served = serve_configured(EDGE, &[]);
    let addr = served.addr.clone();
    assert_eq!(http(&addr, "PUT", "/v1/catalogues/ccm-2012", &[TOML, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);
    let held: Vec<_> = (0..2).map(|_| stalled_upload(&addr, 100_000)).collect();
    std::thread::sleep(Duration::from_millis(500));

    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream.write_all(b"GET /v1/openapi.json HTTP/1.1\r\nHost: folio\r\nConnection: close\r\n\r\n").unwrap();
    let (answer, _) = until_closed(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("\r\nretry-after: 1\r\n"), "{answer}");
    assert!(answer.contains("gateway.max_in_flight"), "{answer}");
    assert_eq!(http(&addr, "GET", "/livez", &[], b"").0, 200, "probes still answer");

    // The stalled uploads end (408 after 3 s), and with them the refusals.
    drop(held);
    let started = Instant::now();
    while http(&addr, "GET", "/v1/openapi.json", &[], b"").0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(20), "still refused");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A request id, the caller's or a new one, is answered in `X-Request-Id` and in every problem, and every log
/// line the request causes carries it: the handler's own and the access line.
#[test]
fn every_log_line_and_problem_of_a_request_carries_its_request_id() {
    let served = serve_with_log("", &[]);
    let addr = served.addr.clone();
    assert_eq!(http(&addr, "PUT", "/v1/catalogues/ccm-2012", &[TOML, ADMIN], CATALOGUE_TOML.as_bytes()).0, 201);
    let upload = form(&metadata("Field work", "photograph"), &[("field.png", &png(30))]);
    let (status, body) = http(
        &addr,
        "POST",
        "/v1/catalogues/ccm-2012/contributions",
        &[MULTIPART, AUTH, ("X-Request-Id", "upload-req-7")],
        &upload,
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = http(&addr, "GET", "/v1/catalogues/nowhere", &[AUTH, ("X-Request-Id", "lost-req-8")], b"");
    assert_eq!((status, json(&body)["request_id"].as_str()), (404, Some("lost-req-8")), "{body}");
    // An id that is not plain is replaced by one of the gateway's own, answered in the header.
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(stream, "GET /v1/catalogues/nowhere HTTP/1.1\r\nHost: folio\r\nAuthorization: Bearer uploader-secret\r\nX-Request-Id: a b{{\r\nConnection: close\r\n\r\n").unwrap();
    let (answer, _) = until_closed(&mut stream);
    let header = answer.lines().find_map(|l| l.strip_prefix("x-request-id: ")).expect("an id answered").to_string();
    assert!(header.len() == 32 && header.chars().all(|c| c.is_ascii_hexdigit()), "{answer}");
    assert!(answer.contains(&format!("\"request_id\":\"{header}\"")), "{answer}");

    std::thread::sleep(Duration::from_millis(300));
    let log = served.log();
    let lines: Vec<serde_json::Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let of_request = |id: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["span"]["name"] == "request" && l["span"]["id"] == id).collect()
    };
    let upload_lines = of_request("upload-req-7");
    let messages: Vec<&str> = upload_lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(messages.contains(&"upload accepted") && messages.contains(&"answered"), "{messages:?}\n{log}");
    let accepted = lines.iter().filter(|l| l["message"] == "upload accepted").count();
    assert_eq!(accepted, 1, "the handler's line is the request's: {log}");
    assert!(of_request("lost-req-8").iter().any(|l| l["message"] == "answered" && l["status"] == 404), "{log}");
    // Every access line belongs to a request, and no line shows a token.
    for line in lines.iter().filter(|l| l["message"] == "answered") {
        assert!(line["span"]["id"].as_str().is_some_and(|id| !id.is_empty()), "{line}");
    }
    assert!(!log.contains("uploader-secret") && !log.contains("admin-secret-1"), "{log}");
}
