//! LibreOffice kept running between documents (`office/warm.rs`): one `soffice` renders several documents,
//! is replaced after its share of conversions, after a crash (the document still rendered) and after a hang
//! (killed with everything it started), and its page counts are those of a LibreOffice started per document.
//!
//! Needs LibreOffice and Python's `uno` module (`scripts/test` installs both: libreoffice-writer-nogui,
//! python3-uno) and fails, rather than passes silently, when either is missing. One test function: the warm
//! offices are per process, and the assertions count this process's LibreOffice processes.

mod common;

use common::*;
use folio_core::PagesSource;
use folio_extract::{extract_bytes, Limits, Options, ThumbnailFormat, ThumbnailSpec};
use std::time::{Duration, Instant};

fn require_uno() {
    let ok = std::process::Command::new("/usr/bin/python3")
        .args(["-I", "-c", "import uno"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "Python's uno module is missing: run scripts/test, which installs it, or apt-get install python3-uno");
}

fn warm(conversions: u32, timeout: Duration) -> Options {
    Options {
        office: Some(require_soffice()),
        office_conversions: conversions,
        thumbnails: ThumbnailSpec { sizes: vec![256], format: ThumbnailFormat::Png },
        limits: Limits { office_timeout: timeout, ..Limits::default() },
        ocr: false,
        ..Options::default()
    }
}

/// `(pid, state)` of each `soffice.bin` descended from this process.
fn our_offices() -> Vec<(i32, char)> {
    let me = std::process::id() as i32;
    let mut parent_of = Vec::new();
    let mut names = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let parent = rest.next().and_then(|p| p.parse::<i32>().ok()).unwrap_or(0);
        parent_of.push((pid, parent));
        names.push((pid, stat[open + 1..close].to_string(), state));
    }
    let descends = |mut pid: i32| {
        for _ in 0..64 {
            match parent_of.iter().find(|(p, _)| *p == pid) {
                Some((_, parent)) if *parent == me => return true,
                Some((_, parent)) => pid = *parent,
                None => return false,
            }
        }
        false
    };
    names
        .into_iter()
        .filter(|(pid, name, state)| name == "soffice.bin" && *state != 'Z' && descends(*pid))
        .map(|(pid, _, state)| (pid, state))
        .collect()
}

fn pids() -> Vec<i32> {
    let mut pids: Vec<i32> = our_offices().into_iter().map(|(p, _)| p).collect();
    pids.sort_unstable();
    pids
}

#[test]
fn one_libreoffice_renders_several_documents_and_is_replaced_when_due_or_broken() {
    require_uno();
    let opts = warm(3, Duration::from_secs(60));
    let documents: Vec<Vec<u8>> = (1..=4)
        .map(|n| {
            let pages: Vec<String> = (1..=n).map(|p| format!("Page {p} of {n}.")).collect();
            paged_docx(&pages.iter().map(String::as_str).collect::<Vec<_>>(), None)
        })
        .collect();
    // The counts a LibreOffice of its own gives, for comparison.
    let cold: Vec<Option<u32>> = documents
        .iter()
        .map(|d| extract_bytes("cold.docx", d, &Options { office_conversions: 0, ..opts.clone() }).record.pages)
        .collect();
    assert_eq!(cold, [Some(1), Some(2), Some(3), Some(4)]);
    assert!(pids().is_empty(), "a LibreOffice of its own ends with its conversion");

    // Three conversions through one office, which stays running between them and goes after its share.
    let mut seen = Vec::new();
    for (n, document) in documents.iter().take(3).enumerate() {
        let ex = extract_bytes("warm.docx", document, &opts);
        assert_eq!(ex.record.error, None);
        assert_eq!((ex.record.pages, ex.record.pages_source), (cold[n], Some(PagesSource::Rendered)));
        assert_eq!(ex.thumbnails.len(), 1, "the first page, rendered");
        if n < 2 {
            let running = pids();
            assert_eq!(running.len(), 1, "one office kept running after conversion {}", n + 1);
            seen.push(running[0]);
        }
    }
    assert_eq!(seen[0], seen[1], "the second document went to the office the first started");
    assert!(pids().is_empty(), "the office is ended after its 3 conversions");

    // A new one for the next document; killed while idle, it is replaced and the document still rendered.
    let ex = extract_bytes("warm.docx", &documents[3], &opts);
    assert_eq!(ex.record.pages, cold[3]);
    let second = pids();
    assert_eq!(second.len(), 1);
    assert_ne!(second[0], seen[0]);
    // SAFETY: a process of this test's own.
    unsafe { libc::kill(second[0], libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(300));
    let ex = extract_bytes("warm.docx", &documents[1], &opts);
    assert_eq!(ex.record.error, None);
    assert_eq!((ex.record.pages, ex.record.pages_source), (cold[1], Some(PagesSource::Rendered)));

    // A hang: the office is stopped mid-document; past the time limit it is killed with its bridge, and the
    // document has what it has without the rendering.
    let short = warm(3, Duration::from_secs(4));
    let ex = extract_bytes("warm.docx", &documents[0], &short);
    assert_eq!(ex.record.pages, cold[0]);
    let running = pids();
    assert_eq!(running.len(), 1);
    // SAFETY: as above.
    unsafe { libc::kill(running[0], libc::SIGSTOP) };
    let started = Instant::now();
    let ex = extract_bytes("warm.docx", &documents[2], &short);
    assert!(started.elapsed() >= Duration::from_secs(4), "it waited its limit");
    assert!(started.elapsed() < Duration::from_secs(30), "and no longer: {:?}", started.elapsed());
    assert_eq!(ex.record.error, None, "a hung LibreOffice is not the document's error");
    assert_eq!(ex.record.pages_source, Some(PagesSource::Estimate));
    std::thread::sleep(Duration::from_millis(300));
    assert!(our_offices().iter().all(|(pid, _)| *pid != running[0]), "the hung office was killed");

    // A .doc goes through the warm office too, saved as DOCX (the "MS Word 2007 XML" filter) and read as one.
    let doc = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/legacy/call-for-contributions.doc"))
        .unwrap();
    let ex = extract_bytes("call.doc", &doc, &short);
    assert_eq!(ex.record.error, None);
    assert_eq!(ex.record.converted_from.as_deref(), Some("doc"));
    assert!(ex.record.words > 500, "{} words", ex.record.words);
    assert_eq!(pids().len(), 1, "converted by a warm office, which waits for the next document");

    folio_extract::stop_warm_offices();
    std::thread::sleep(Duration::from_millis(300));
    assert!(pids().is_empty(), "no office outlives stop_warm_offices");
    // Nor the sockets of their pipes, which LibreOffice makes in /tmp and a killed one leaves behind.
    let ours = format!("_folio-{}-", std::process::id());
    let left: Vec<String> = std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("OSL_PIPE_") && n.contains(&ours))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn without_a_working_office_the_warm_path_falls_back_and_costs_the_document_nothing() {
    require_uno();
    let dir = tempfile::tempdir().unwrap();
    let script = |name: &str, body: &str| script(dir.path(), name, body);
    let bytes = paged_docx(&["One.", "Two."], None);
    let failing = script("soffice-fails", "echo 'cannot start' >&2; exit 1");
    let hanging = script("soffice-hangs", "sleep 60 & wait");
    for office in [failing, hanging] {
        let opts = Options { office: Some(office.clone()), ..warm(3, Duration::from_secs(1)) };
        let started = Instant::now();
        let ex = extract_bytes("two.docx", &bytes, &opts);
        assert!(started.elapsed() < Duration::from_secs(15), "{} took {:?}", office.display(), started.elapsed());
        assert_eq!(ex.record.error, None, "{}", office.display());
        assert_eq!(ex.record.pages_source, Some(PagesSource::Estimate), "{}", office.display());
        assert!(ex.text.contains("Two."));
    }
}
