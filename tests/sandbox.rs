//! The sandbox turns whatever a parser process does into that document's typed error. The misbehaving
//! parsers here are small shell scripts standing in for `folio extract-child`; the well-behaved one is the
//! real binary.

use folio::worker::sandbox::Sandbox;
use folio_core::{ExtractErrorKind, PagesSource};
use folio_extract::{ThumbnailFormat, ThumbnailSpec};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A stand-in for `folio extract-server`: for each request line, the shell of the first `case` pattern the
/// line matches (`cases`: `pattern) commands ;;` lines).
fn warm_script(dir: &Path, name: &str, cases: &str) -> PathBuf {
    let body = format!(
        "[ \"$1\" = extract-server ] || exit 9\n\
         while IFS= read -r line; do\n\
           case \"$line\" in\n{cases}\n           esac\n\
         done\n"
    );
    script(dir, name, &body)
}

fn input(dir: &Path) -> PathBuf {
    let path = dir.join("input.pdf");
    std::fs::write(&path, b"%PDF-1.4 not really").unwrap();
    path
}

async fn kind_of(program: PathBuf, file: &Path, timeout: Duration) -> (Option<ExtractErrorKind>, String, Duration) {
    let mut sandbox = Sandbox::with_program(program);
    sandbox.timeout = timeout;
    let started = Instant::now();
    let e = sandbox.extract(file, "input.pdf").await;
    let error = e.record.error.clone();
    (error.as_ref().map(|e| e.kind), error.map(|e| e.message).unwrap_or_default(), started.elapsed())
}

#[tokio::test]
async fn a_crashing_parser_is_the_documents_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path());
    let (kind, message, _) = kind_of(script(dir.path(), "segv", "kill -SEGV $$"), &file, Duration::from_secs(10)).await;
    assert_eq!(kind, Some(ExtractErrorKind::Crashed), "{message}");
    assert!(message.contains("signal 11"), "{message}");
}

#[tokio::test]
async fn a_hanging_parser_is_stopped_at_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path());
    let marker = dir.path().join("still-running");
    // A grandchild (as a renderer started by the parser would be) must end with it.
    let body = format!("(sleep 2; touch {}) & sleep 30", marker.display());
    let (kind, message, elapsed) = kind_of(script(dir.path(), "hang", &body), &file, Duration::from_secs(1)).await;
    assert_eq!(kind, Some(ExtractErrorKind::Timeout), "{message}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    // The script and its child were killed, not left running: the marker never appears.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!marker.exists());
}

#[tokio::test]
async fn running_out_of_memory_and_nonsense_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path());
    let oom = script(dir.path(), "oom", "echo 'memory allocation of 4294967296 bytes failed' >&2; kill -ABRT $$");
    let (kind, message, _) = kind_of(oom, &file, Duration::from_secs(10)).await;
    assert_eq!(kind, Some(ExtractErrorKind::OutOfMemory), "{message}");
    let nonsense = script(dir.path(), "nonsense", "echo 'this is not json'");
    let (kind, message, _) = kind_of(nonsense, &file, Duration::from_secs(10)).await;
    assert_eq!(kind, Some(ExtractErrorKind::Crashed), "{message}");
    assert!(message.contains("nonsense"), "{message}");
    let failing = script(dir.path(), "exit3", "echo boom >&2; exit 3");
    let (kind, message, _) = kind_of(failing, &file, Duration::from_secs(10)).await;
    assert_eq!(kind, Some(ExtractErrorKind::Crashed), "{message}");
    assert!(message.contains("status 3") && message.contains("boom"), "{message}");
}

#[tokio::test]
async fn the_memory_limit_is_applied_to_the_parser_process() {
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path());
    // The child reports its own address-space limit instead of a record.
    let program = script(dir.path(), "limit", "ulimit -v >&2; exit 1");
    let mut sandbox = Sandbox::with_program(program);
    sandbox.memory_bytes = 256 << 20;
    let e = sandbox.extract(&file, "input.pdf").await;
    let message = e.record.error.unwrap().message;
    assert!(message.contains(&(256 * 1024).to_string()), "ulimit -v should print 262144 KiB: {message}");
}

#[tokio::test]
async fn the_real_parser_process_returns_the_record_and_thumbnail() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ccm-2012/timeline-2012.png");
    let sandbox = Sandbox::with_program(PathBuf::from(env!("CARGO_BIN_EXE_folio")));
    let e = sandbox.extract(&example, "timeline-2012.png").await;
    assert_eq!(e.record.error, None);
    assert_eq!(e.record.format, "png");
    assert_eq!(e.record.path, "timeline-2012.png");
    assert_eq!(e.record.dimensions, Some((1200, 400)));
    let sizes: Vec<(u32, u32, u32)> = e.thumbnails.iter().map(|t| (t.max_side, t.width, t.height)).collect();
    assert_eq!(sizes, [(1024, 1024, 341), (256, 256, 85)]);
    for t in &e.thumbnails {
        let img = image::load_from_memory_with_format(&t.bytes, image::ImageFormat::Png).unwrap();
        assert_eq!((img.width(), img.height()), (t.width, t.height));
    }
    assert!(e.record.thumbnails.is_empty(), "where to keep them is the caller's to say");
    drop(dir);
}

#[tokio::test]
async fn the_parser_process_renders_a_docx_with_libreoffice_under_its_limits() {
    let office = folio_extract::find_office().expect(
        "LibreOffice (soffice) is not installed: run scripts/test, or apt-get install libreoffice-writer-nogui",
    );
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ccm-2012/call-for-contributions.docx");
    let mut sandbox = Sandbox::with_program(PathBuf::from(env!("CARGO_BIN_EXE_folio")));
    // LibreOffice runs inside the parser process's address-space limit (2 GiB by default).
    sandbox.office = Some(office);
    sandbox.thumbnails = ThumbnailSpec { sizes: vec![256, 1024], format: ThumbnailFormat::Webp };
    let e = sandbox.extract(&example, "call.docx").await;
    assert_eq!(e.record.error, None);
    // Its app.xml has no page count: LibreOffice's rendering gives it (one page in Liberation Serif, the
    // metric twin of the Times New Roman it asks for; scripts/setup installs fonts-liberation).
    assert_eq!(e.record.pages, Some(1));
    assert_eq!(e.record.pages_source, Some(PagesSource::Rendered));
    let sizes: Vec<u32> = e.thumbnails.iter().map(|t| t.max_side).collect();
    assert_eq!(sizes, [1024, 256]);
    for t in &e.thumbnails {
        assert_eq!(image::guess_format(&t.bytes).unwrap(), image::ImageFormat::WebP);
        let img = image::load_from_memory_with_format(&t.bytes, image::ImageFormat::WebP).unwrap();
        assert_eq!((img.width(), img.height()), (t.width, t.height));
        assert_eq!(t.width.max(t.height), t.max_side);
        assert!(t.height > t.width, "a portrait page");
    }
}

fn protected_docx() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../folio-extract/tests/fixtures/testWORD_protected_passtika.docx")
}

#[tokio::test]
async fn a_protected_docx_opens_in_the_parser_process_with_its_password() {
    let mut sandbox = Sandbox::with_program(PathBuf::from(env!("CARGO_BIN_EXE_folio")));
    sandbox.thumbnails = ThumbnailSpec::none();
    let e = sandbox.extract(&protected_docx(), "protected.docx").await;
    let error = e.record.error.expect("no password: an error");
    assert_eq!(error.kind, ExtractErrorKind::Encrypted);
    assert!(error.message.contains("supply it per document"), "{}", error.message);

    sandbox.password = Some("tika".into());
    let e = sandbox.extract(&protected_docx(), "protected.docx").await;
    assert_eq!(e.record.error, None);
    assert_eq!(e.record.format, "docx");
    assert_eq!(e.text, "This is an encrypted Word 2007 File.");
    assert_eq!(e.record.language.as_deref(), Some("en"));
    assert_eq!(e.record.pages, Some(1));

    sandbox.password = Some("not-tika".into());
    let error = sandbox.extract(&protected_docx(), "protected.docx").await.record.error.expect("an error");
    assert_eq!(error.kind, ExtractErrorKind::Encrypted);
    assert_eq!(error.message, "the password given for this document is wrong");
    assert!(!format!("{sandbox:?}").contains("not-tika"), "Debug output hides the password");
}

#[tokio::test]
async fn the_password_reaches_the_parser_process_in_its_environment_never_its_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path());
    let show = script(dir.path(), "show", r#"echo "argv=[$*] env=[$FOLIO_DOCUMENT_PASSWORD]" >&2; exit 1"#);
    let mut sandbox = Sandbox::with_program(show);
    sandbox.password = Some("s3cret pw".into());
    let message = sandbox.extract(&file, "input.pdf").await.record.error.unwrap().message;
    assert!(message.contains("env=[s3cret pw]"), "{message}");
    let argv = message.split("env=").next().unwrap();
    assert!(argv.contains("extract-child") && !argv.contains("s3cret"), "{message}");
    // Without a password the variable is not set at all.
    sandbox.password = None;
    let message = sandbox.extract(&file, "input.pdf").await.record.error.unwrap().message;
    assert!(message.contains("env=[]"), "{message}");
}

/// `folio extract` as a person runs it: the password from `--password-file` or `FOLIO_PASSWORD`.
#[test]
fn folio_extract_takes_the_password_from_a_file_or_its_variable() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "tika\n").unwrap();
    let run = |password_file: Option<&Path>, variable: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_folio"));
        cmd.args(["--libreoffice", "off", "--thumbnail-sizes", "none", "extract", "--json", "--text"]);
        if let Some(f) = password_file {
            cmd.arg("--password-file").arg(f);
        }
        cmd.env_remove("FOLIO_PASSWORD").env_remove("FOLIO_DOCUMENT_PASSWORD");
        if let Some(v) = variable {
            cmd.env("FOLIO_PASSWORD", v);
        }
        let out = cmd.arg(protected_docx()).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        record
    };
    let opened = run(Some(&password_file), None);
    assert_eq!(opened["error"], serde_json::Value::Null, "{opened}");
    assert_eq!(opened["text"], "This is an encrypted Word 2007 File.");
    let opened = run(None, Some("tika"));
    assert_eq!(opened["error"], serde_json::Value::Null, "{opened}");
    // The file wins over the variable.
    let wrong = run(Some(&password_file), Some("not-tika"));
    assert_eq!(wrong["error"], serde_json::Value::Null, "{wrong}");
    let wrong = run(None, Some("not-tika"));
    assert_eq!(wrong["error"]["kind"], "encrypted");
    assert_eq!(wrong["error"]["message"], "the password given for this document is wrong");
    let none = run(None, None);
    assert_eq!(none["error"]["kind"], "encrypted");
}

/// Issue 24: warm parser processes. The real parser reads several documents in one process, which is
/// replaced after its share (and a new one waits for the next document).
#[tokio::test]
async fn a_warm_parser_reads_several_documents_and_is_replaced_after_its_share() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ccm-2012/timeline-2012.png");
    let mut sandbox = Sandbox::with_program(PathBuf::from(env!("CARGO_BIN_EXE_folio")));
    let pool = std::sync::Arc::new(folio::worker::pool::WarmPool::new(2, 512 << 20));
    sandbox.warm = Some(pool.clone());
    let mut pids = Vec::new();
    for n in 0..3 {
        let e = sandbox.extract(&example, &format!("timeline-{n}.png")).await;
        assert_eq!(e.record.error, None, "document {n}");
        assert_eq!((e.record.format.as_str(), e.record.dimensions), ("png", Some((1200, 400))));
        assert_eq!(e.record.path, format!("timeline-{n}.png"));
        assert_eq!(e.thumbnails.len(), 2, "its thumbnails, read back as from a one-shot process");
        pids.push(pool.idle_pids());
    }
    assert_eq!(pids[0].len(), 1, "one process waits after the first document: {pids:?}");
    assert_ne!(pids[1], pids[0], "replaced after its two documents: {pids:?}");
    assert_eq!(pids[2], pids[1], "the new one read the third and waits: {pids:?}");
}

/// A warm parser whose resident memory has passed the pool's bound after a document is replaced: here a
/// bound of 1 MiB, which any parser process passes, so each document is read by a new process.
#[tokio::test]
async fn a_warm_parser_past_its_memory_bound_is_replaced_after_its_document() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ccm-2012/timeline-2012.png");
    let mut sandbox = Sandbox::with_program(PathBuf::from(env!("CARGO_BIN_EXE_folio")));
    let pool = std::sync::Arc::new(folio::worker::pool::WarmPool::new(100, 1 << 20));
    sandbox.warm = Some(pool.clone());
    let mut pids = Vec::new();
    for n in 0..2 {
        let e = sandbox.extract(&example, &format!("timeline-{n}.png")).await;
        assert_eq!(e.record.error, None, "document {n}");
        pids.push(pool.idle_pids());
    }
    assert_eq!(pids[0].len(), 1, "a new process waits after the first document: {pids:?}");
    assert_ne!(pids[1], pids[0], "replaced again after the second, being past its bound: {pids:?}");

    // With room to spare, the same process reads both.
    let mut sandbox = Sandbox::with_program(PathBuf::from(env!("CARGO_BIN_EXE_folio")));
    let roomy = std::sync::Arc::new(folio::worker::pool::WarmPool::new(100, 4 << 30));
    sandbox.warm = Some(roomy.clone());
    let mut kept = Vec::new();
    for n in 0..2 {
        assert_eq!(sandbox.extract(&example, &format!("timeline-{n}.png")).await.record.error, None);
        kept.push(roomy.idle_pids());
    }
    assert_eq!(kept[0], kept[1], "kept while under its bound: {kept:?}");
}

/// Each record's `peak_memory_kib` is its own document's, though one warm process reads them all: a 64
/// megapixel image (256 MiB decoded) and then a small one, whose record does not carry the first one's peak.
#[tokio::test]
async fn a_warm_parsers_records_give_each_documents_own_peak_memory() {
    let dir = tempfile::tempdir().unwrap();
    let large = dir.path().join("large.png");
    image::RgbaImage::from_fn(8000, 8000, |x, y| image::Rgba([(x % 251) as u8, (y % 241) as u8, 0, 255]))
        .save(&large)
        .unwrap();
    let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ccm-2012/timeline-2012.png");
    let mut sandbox = Sandbox::with_program(PathBuf::from(env!("CARGO_BIN_EXE_folio")));
    sandbox.memory_bytes = 4 << 30;
    let pool = std::sync::Arc::new(folio::worker::pool::WarmPool::new(100, 4 << 30));
    sandbox.warm = Some(pool.clone());
    // No OCR: this is about memory, and Tesseract on 64 megapixels only costs time.
    let first = sandbox.extract_document(&large, "large.png", None, false).await;
    assert_eq!(first.record.error, None);
    let warm = pool.idle_pids();
    let second = sandbox.extract_document(&small, "small.png", None, false).await;
    assert_eq!(second.record.error, None);
    assert_eq!(pool.idle_pids(), warm, "one process read both");
    let (large_kib, small_kib) = (first.record.peak_memory_kib.unwrap(), second.record.peak_memory_kib.unwrap());
    assert!(large_kib > 256 << 10, "the large image's peak holds its decoded pixels: {large_kib} KiB");
    assert!(
        small_kib * 2 < large_kib,
        "the small image's record has its own peak: {small_kib} against {large_kib} KiB"
    );
}

/// A warm process that crashes or hangs on a document: that document's typed error, and the next document
/// is read by a new process. A stand-in speaks the warm protocol: it answers a record per request line, exits
/// on a request for `crash`, hangs on one for `hang`.
#[tokio::test]
async fn a_warm_parser_that_crashes_or_hangs_costs_that_document_only() {
    let dir = tempfile::tempdir().unwrap();
    let record = serde_json::to_string(&folio_core::Record::failed(
        "stand-in",
        String::new(),
        0,
        folio_core::ExtractError::new(ExtractErrorKind::Corrupt, "answered by the stand-in"),
    ))
    .unwrap();
    assert!(!record.contains('\''));
    let program = warm_script(
        dir.path(),
        "warm-stand-in",
        &format!(
            "*crash*) echo 'memory allocation of 1099511627776 bytes failed' >&2; exit 3 ;;\n\
             *hang*) sleep 60 ;;\n\
             *) printf '%s\\n' '{record}' ;;"
        ),
    );
    let file = input(dir.path());
    let mut sandbox = Sandbox::with_program(program);
    sandbox.timeout = Duration::from_secs(2);
    let pool = std::sync::Arc::new(folio::worker::pool::WarmPool::new(100, 512 << 20));
    sandbox.warm = Some(pool.clone());

    let first = sandbox.extract(&file, "first.pdf").await;
    assert_eq!(first.record.error.map(|e| e.kind), Some(ExtractErrorKind::Corrupt), "the stand-in's record");
    let warm = pool.idle_pids();
    let second = sandbox.extract(&file, "second.pdf").await;
    assert_eq!(second.record.error.map(|e| e.kind), Some(ExtractErrorKind::Corrupt));
    assert_eq!(pool.idle_pids(), warm, "the same process read both");

    let crashed = sandbox.extract(&file, "crash.pdf").await;
    assert_eq!(crashed.record.error.map(|e| e.kind), Some(ExtractErrorKind::OutOfMemory), "named from its stderr");
    let started = Instant::now();
    let hung = sandbox.extract(&file, "hang.pdf").await;
    assert_eq!(hung.record.error.map(|e| e.kind), Some(ExtractErrorKind::Timeout));
    assert!(started.elapsed() < Duration::from_secs(10));

    let after = sandbox.extract(&file, "after.pdf").await;
    assert_eq!(after.record.error.map(|e| e.kind), Some(ExtractErrorKind::Corrupt), "a new process reads the next");
    assert_ne!(pool.idle_pids(), warm);
    assert_eq!(pool.idle_pids().len(), 1);
}

/// The answer comes back over the pipe, each part through its bound: a stand-in (one-shot, then warm) that
/// answers a record and a text part is read whole; one that announces a terabyte of text is stopped before a
/// byte of it is buffered, as that document's `too_large` error, and a warm one is not given another document.
#[tokio::test]
async fn a_parsers_answer_is_read_part_by_part_through_its_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let answer = |text_bytes: u64| {
        let mut record = serde_json::to_value(folio_core::Record::failed(
            "stand-in",
            String::new(),
            0,
            folio_core::ExtractError::new(ExtractErrorKind::Corrupt, "answered by the stand-in"),
        ))
        .unwrap();
        record["parts"] = serde_json::json!([{ "kind": "text", "bytes": text_bytes }]);
        record["parser_us"] = serde_json::json!(1500);
        let line = record.to_string();
        assert!(!line.contains('\''));
        line
    };
    // A one-shot stand-in: the answer, then its text's five bytes.
    let good = script(dir.path(), "good", &format!("printf '%s\\n' '{}'; printf 'hello'", answer(5)));
    let greedy = script(dir.path(), "greedy", &format!("printf '%s\\n' '{}'; exec cat /dev/zero", answer(1 << 40)));
    let file = input(dir.path());
    let mut sandbox = Sandbox::with_program(good);
    sandbox.timeout = Duration::from_secs(10);
    let measured = sandbox.extract_measured(&file, "good.pdf", None, true).await;
    assert_eq!(measured.extraction.text, "hello");
    assert_eq!(measured.parser, Some(Duration::from_micros(1500)), "the parser's own time, to the microsecond");
    assert_eq!(measured.extraction.record.error.map(|e| e.kind), Some(ExtractErrorKind::Corrupt));

    let mut sandbox = Sandbox::with_program(greedy);
    sandbox.timeout = Duration::from_secs(10);
    let started = Instant::now();
    let error = sandbox.extract(&file, "greedy.pdf").await.record.error.expect("an error");
    assert_eq!(error.kind, ExtractErrorKind::TooLarge, "{}", error.message);
    assert!(error.message.contains("1099511627776 bytes of text"), "{}", error.message);
    assert!(started.elapsed() < Duration::from_secs(5), "stopped at once, not read: {:?}", started.elapsed());

    // The same stand-ins speaking the warm protocol: an answer per request line.
    let warm = warm_script(
        dir.path(),
        "warm",
        &format!(
            "*greedy*) printf '%s\\n' '{}'; exec cat /dev/zero ;;\n\
             *) printf '%s\\n' '{}'; printf 'hello' ;;",
            answer(1 << 40),
            answer(5)
        ),
    );
    let mut sandbox = Sandbox::with_program(warm);
    sandbox.timeout = Duration::from_secs(10);
    let pool = std::sync::Arc::new(folio::worker::pool::WarmPool::new(100, 512 << 20));
    sandbox.warm = Some(pool.clone());
    for n in 0..2 {
        assert_eq!(sandbox.extract(&file, &format!("good-{n}.pdf")).await.text, "hello", "answer {n}");
    }
    let first = pool.idle_pids();
    let error = sandbox.extract(&file, "greedy.pdf").await.record.error.expect("an error");
    assert_eq!(error.kind, ExtractErrorKind::TooLarge, "{}", error.message);
    assert_eq!(sandbox.extract(&file, "after.pdf").await.text, "hello");
    assert_ne!(pool.idle_pids(), first, "a new process read the document after");
}

/// Tesseract's packs, once this process has asked for them (a worker does at its start), are handed to each
/// parser process it starts, which then does not run `tesseract --list-langs` again.
#[tokio::test]
async fn the_parser_is_told_tesseracts_packs_once_this_process_knows_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path());
    let show = script(dir.path(), "show-packs", r#"echo "packs=[$FOLIO_TESSERACT_LANGS]" >&2; exit 1"#);
    let mut sandbox = Sandbox::with_program(show);
    sandbox.timeout = Duration::from_secs(10);
    let packs = folio_extract::ocr_languages().join(",");
    let message = sandbox.extract(&file, "input.pdf").await.record.error.expect("the stand-in fails").message;
    assert!(message.contains(&format!("packs=[{packs}]")), "{message}");
}

/// A warm process that OCRed a document is replaced by one that loads the OCR engines at its start
/// (`--prepare-ocr`), beside its first documents rather than inside the first one it OCRs; one that never
/// OCRed is replaced by a plain one. A stand-in writes its arguments when it starts and answers a record
/// that says OCR ran for a request naming `scanned.png`.
#[tokio::test]
async fn a_parser_that_ocred_is_replaced_by_one_that_loads_the_ocr_engines_at_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let record = |ocr: &str| {
        let mut record = serde_json::to_value(folio_core::Record::failed(
            "stand-in",
            String::new(),
            0,
            folio_core::ExtractError::new(ExtractErrorKind::Corrupt, "answered by the stand-in"),
        ))
        .unwrap();
        record["ocr"] = serde_json::json!(ocr);
        let line = record.to_string();
        assert!(!line.contains('\''));
        line
    };
    let started = dir.path().join("started");
    let program = script(
        dir.path(),
        "warm-stand-in",
        &format!(
            "echo \"$*\" >> {}\n\
             while IFS= read -r line; do\n\
               case \"$line\" in\n\
                 *scanned.png*) printf '%s\\n' '{}' ;;\n\
                 *) printf '%s\\n' '{}' ;;\n\
               esac\n\
             done",
            started.display(),
            record("applied"),
            record("not_needed"),
        ),
    );
    let file = input(dir.path());
    let mut sandbox = Sandbox::with_program(program);
    sandbox.timeout = Duration::from_secs(10);
    // One document a process: each is replaced after it.
    let pool = std::sync::Arc::new(folio::worker::pool::WarmPool::new(1, 512 << 20));
    sandbox.warm = Some(pool.clone());
    let plain = sandbox.extract(&file, "plain.pdf").await;
    assert_eq!(plain.record.ocr, folio_core::OcrStatus::NotNeeded);
    let scanned = sandbox.extract(&file, "scanned.png").await;
    assert_eq!(scanned.record.ocr, folio_core::OcrStatus::Applied);
    // The last replacement was started after the answer; it writes its arguments when it runs.
    let waiting = Instant::now();
    let mut starts = String::new();
    while starts.lines().count() < 3 && waiting.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        starts = std::fs::read_to_string(&started).unwrap_or_default();
    }
    assert_eq!(
        starts.lines().collect::<Vec<_>>(),
        ["extract-server", "extract-server", "extract-server --prepare-ocr"],
        "the first, its plain replacement, then the replacement of the one that OCRed"
    );
}

/// A stand-in for `folio extract-server` (in bash): it writes a line to `started` when it starts, and
/// answers each request with a record whose `path` is the request's name, after a second on a request
/// naming `slow`. It exits (as out of memory) on `crash`, hangs on `hang`.
fn lane_stand_in(dir: &Path, started: &Path) -> PathBuf {
    let record = serde_json::to_string(&folio_core::Record::failed(
        "@NAME@",
        String::new(),
        0,
        folio_core::ExtractError::new(ExtractErrorKind::Corrupt, "answered by the stand-in"),
    ))
    .unwrap();
    assert!(!record.contains('\''));
    let body = format!(
        "#!/bin/bash\n\
         echo started >> '{started}'\n\
         answer='{record}'\n\
         while IFS= read -r line; do\n\
           name=${{line#*\\\"name\\\":\\\"}}; name=${{name%%\\\"*}}\n\
           case \"$name\" in\n\
             *crash*) sleep 0.5; echo 'memory allocation of 1099511627776 bytes failed' >&2; exit 3 ;;\n\
             *hang*) sleep 60 ;;\n\
             *slow*) sleep 1 ;;\n\
           esac\n\
           printf '%s\\n' \"${{answer/@NAME@/$name}}\"\n\
         done\n",
        started = started.display(),
    );
    let path = dir.join("lane-stand-in");
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn starts(started: &Path) -> usize {
    std::fs::read_to_string(started).unwrap_or_default().lines().count()
}

/// A sandbox of [`lane_stand_in`]s, at most `parsers` of them warm at once, each document under `timeout`.
fn lane_sandbox(
    dir: &Path,
    started: &Path,
    timeout: Duration,
    parsers: usize,
) -> (Sandbox, std::sync::Arc<folio::worker::pool::WarmPool>) {
    let mut sandbox = Sandbox::with_program(lane_stand_in(dir, started));
    sandbox.timeout = timeout;
    let pool = std::sync::Arc::new(folio::worker::pool::WarmPool::new(100, 512 << 20));
    pool.set_parsers(parsers);
    sandbox.warm = Some(pool.clone());
    (sandbox, pool)
}

/// Issue 24: documents asked for beyond the parsers wait in one queue, taken by whichever parser is free
/// first: with two parsers, one reading a long document, the next two are read by the other, not behind
/// the long one. With one parser, the second waits for the first, and its wait is told apart from its own
/// reading. Each answer is its own document's.
#[tokio::test]
async fn a_document_waits_for_the_first_free_parser_not_behind_a_long_one() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let file = input(dir.path());
    let (mut sandbox, pool) = lane_sandbox(dir.path(), &started, Duration::from_secs(10), 1);
    let (first, second) = tokio::join!(
        sandbox.extract_measured(&file, "slow-first.pdf", None, true),
        sandbox.extract_measured(&file, "second.pdf", None, true),
    );
    assert_eq!(first.extraction.record.path, "slow-first.pdf");
    assert_eq!(second.extraction.record.path, "second.pdf");
    assert!(second.waited >= Duration::from_millis(900), "it waited for the first: {:?}", second.waited);
    assert!(first.waited < Duration::from_millis(500), "the first did not wait: {:?}", first.waited);
    assert_eq!(starts(&started), 1, "one process read both");
    assert_eq!(pool.idle_pids().len(), 1);

    let pool = std::sync::Arc::new(folio::worker::pool::WarmPool::new(100, 512 << 20));
    pool.set_parsers(2);
    sandbox.warm = Some(pool.clone());
    let asked = Instant::now();
    let timed = |name: &'static str| {
        let sandbox = sandbox.clone();
        let file = file.clone();
        async move {
            let e = sandbox.extract(&file, name).await;
            (e.record.path, asked.elapsed())
        }
    };
    let (slow, quick, next) = tokio::join!(timed("slow.pdf"), timed("quick.pdf"), timed("next.pdf"));
    assert_eq!((slow.0.as_str(), quick.0.as_str(), next.0.as_str()), ("slow.pdf", "quick.pdf", "next.pdf"));
    assert!(next.1 + Duration::from_millis(500) < slow.1, "not behind the long one: {next:?} against {slow:?}");
    assert_eq!(pool.idle_pids().len(), 2, "two processes, no more");
}

/// A document waiting behind one that crashes or hangs is not charged with its failure: that process goes,
/// and the next document is read by a new one.
#[tokio::test]
async fn a_document_waiting_survives_the_crash_or_hang_of_the_one_before() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let file = input(dir.path());
    let (sandbox, _pool) = lane_sandbox(dir.path(), &started, Duration::from_secs(2), 1);
    let (crashed, after_crash) =
        tokio::join!(sandbox.extract(&file, "crash.pdf"), sandbox.extract(&file, "following-1.pdf"));
    assert_eq!(crashed.record.error.map(|e| e.kind), Some(ExtractErrorKind::OutOfMemory));
    assert_eq!(after_crash.record.path, "following-1.pdf");
    assert_eq!(after_crash.record.error.map(|e| e.kind), Some(ExtractErrorKind::Corrupt), "the stand-in's answer");

    let (hung, after_hang) =
        tokio::join!(sandbox.extract(&file, "hang.pdf"), sandbox.extract(&file, "following-2.pdf"));
    assert_eq!(hung.record.error.map(|e| e.kind), Some(ExtractErrorKind::Timeout));
    assert_eq!(after_hang.record.path, "following-2.pdf");
    assert_eq!(after_hang.record.error.map(|e| e.kind), Some(ExtractErrorKind::Corrupt));
    assert_eq!(starts(&started), 3, "a new process after each");
}

/// A document given up while it waits for the one before it (a worker stopping) returns at once unread,
/// and is never sent: the process goes on to the next document, whose answer is its own.
#[tokio::test]
async fn a_document_given_up_in_its_lane_is_never_answered_as_another() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let file = input(dir.path());
    let (sandbox, _pool) = lane_sandbox(dir.path(), &started, Duration::from_secs(10), 1);
    let stopping = tokio_util::sync::CancellationToken::new();
    let stop_soon = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stopping.cancel();
        Instant::now()
    };
    let (first, given_up, stopped) = tokio::join!(
        sandbox.extract_measured(&file, "slow-first.pdf", None, true),
        async {
            let given_up = sandbox.extract_measured_unless(&file, "given-up.pdf", None, true, Some(&stopping)).await;
            (given_up.is_none(), Instant::now())
        },
        stop_soon,
    );
    let (unread, returned) = given_up;
    assert!(unread, "given up unread");
    assert!(returned.duration_since(stopped) < Duration::from_millis(500), "at once, not after the first");
    assert_eq!(first.extraction.record.path, "slow-first.pdf");
    let next = sandbox.extract(&file, "next.pdf").await;
    assert_eq!(next.record.path, "next.pdf", "its own answer, not the given-up document's");
    assert_eq!(starts(&started), 1, "the given-up document was never sent: one process read the others");
}

/// A pool whose lanes ended with their runtime (a sandbox kept from one runtime to the next) makes new lanes
/// for the next document rather than leave it waiting in the queue.
#[test]
fn a_warm_pool_outlives_the_runtime_its_lanes_ran_on() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let file = input(dir.path());
    let mut sandbox = Sandbox::with_program(lane_stand_in(dir.path(), &started));
    sandbox.timeout = Duration::from_secs(10);
    sandbox.warm = Some(std::sync::Arc::new(folio::worker::pool::WarmPool::new(100, 512 << 20)));
    for n in 0..2 {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let name = format!("in-runtime-{n}.pdf");
        let path = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(20), sandbox.extract(&file, &name)).await.expect("answered")
        });
        assert_eq!(path.record.path, name);
    }
    assert_eq!(starts(&started), 2, "a process for each runtime's lane");
}
