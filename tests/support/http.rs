//! The gateway as a client sees it: `folio serve` (the real binary, the embedded default, a data folder and
//! a port of its own) and plain HTTP/1.1 requests to it, with the tokens the tests use.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn png(width: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, 8, image::Rgb([30, 60, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// One HTTP/1.1 request; returns the status and the body.
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
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

pub const BOUNDARY: &str = "folio-test-boundary-7f3a";

/// A multipart form: the metadata part, then one part per (file name, content).
pub fn form(metadata: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
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

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

pub struct Served {
    pub child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `folio serve` on port 0 with a fresh data folder; waits for the address it prints.
pub fn serve() -> Served {
    serve_with(&[])
}

/// As [`serve`], with more environment variables.
pub fn serve_with(env: &[(&str, &str)]) -> Served {
    serve_configured(
        "[gateway]\nmax_upload_mib = 3\nmax_file_mib = 1\nmax_files = 5\n[coordinator]\nevery_secs = 1\n",
        env,
    )
}

/// As [`serve_with`], with these settings (folio.toml).
pub fn serve_configured(settings: &str, env: &[(&str, &str)]) -> Served {
    serve_logging(settings, env, false)
}

/// As [`serve_configured`], its log (JSON lines) kept in the data folder for [`Served::log`].
pub fn serve_with_log(settings: &str, env: &[(&str, &str)]) -> Served {
    serve_logging(settings, env, true)
}

impl Served {
    /// What the process logged so far, when started by [`serve_with_log`].
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("folio.log")).unwrap_or_default()
    }
}

fn serve_logging(settings: &str, env: &[(&str, &str)], keep_log: bool) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let stderr = match keep_log {
        true => Stdio::from(std::fs::File::create(dir.path().join("folio.log")).unwrap()),
        false => Stdio::inherit(),
    };
    let config = dir.path().join("folio.toml");
    std::fs::write(&config, settings).unwrap();
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
        .env("FOLIO_GATEWAY_TOKEN", "admin-secret-1")
        .env("FOLIO_GATEWAY_TOKENS", "portal:uploader:uploader-secret, ana:editor:editor-secret-22")
        .env("FOLIO_LOG_FORMAT", if keep_log { "json" } else { "text" })
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("folio: serving on http://").unwrap_or_else(|| panic!("{line}")).to_string();
    Served { child, addr, dir }
}

pub const ADMIN: (&str, &str) = ("Authorization", "Bearer admin-secret-1");
pub const AUTH: (&str, &str) = ("Authorization", "Bearer uploader-secret");
pub const EDITOR: (&str, &str) = ("Authorization", "Bearer editor-secret-22");
pub const MULTIPART: (&str, &str) = ("Content-Type", "multipart/form-data; boundary=folio-test-boundary-7f3a");
pub const JSON: (&str, &str) = ("Content-Type", "application/json");
