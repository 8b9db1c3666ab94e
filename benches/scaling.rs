//! How throughput scales with workers: the same end-to-end run (`folio process` on the embedded default:
//! SQLite, the in-process queue, a `file://` blob folder, each document extracted in its own parser process)
//! with 1, 2, 4, ... documents processed at once, on a fresh data folder each time.
//!
//! ```text
//! cargo bench -p folio --bench scaling -- [--documents 480] [--workers 1,2,4,8,16] [--rounds 1]
//!     [--folio PATH] [--examples DIR] [--work DIR] [--csv FILE]
//! ```
//!
//! The documents are the example catalogue's five files (examples/ccm-2012: two PDFs, two DOCX, a PNG graphic
//! that is OCRed), cycled under numbered names, one contribution each. LibreOffice is off (DOCX page counts
//! from app.xml, no DOCX rendering), thumbnails at the default 256 and 1024 px.
//!
//! For each worker count it prints: the wall time of the whole command (reading the folder, processing,
//! checking, typesetting the book); the processing time, from the first document's row to the last record
//! (both by the database's clock); documents a second over that time; the speed-up over one worker and the
//! efficiency (speed-up / workers); and how busy the parsers kept the workers (the sum of the parsers' own times,
//! from the timing log, over workers x processing time: what is left is the queue, database, blob store and
//! hand-over that the parsers waited for, and waiting for work); the time
//! from upload to record (the document's row to its record's: in this burst, mostly the wait in line), median
//! and 99th percentile; and, from the workers' `folio::timing` log events, the median share of a document's
//! time in a worker spent outside the parser's own work (database, blob store, queue and the parser process's
//! start). `--folio` runs another build of the binary (another machine's copy, say); `--csv` also writes the
//! rows as CSV.

#[path = "support/timing.rs"]
#[allow(dead_code)]
mod timing;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Instant;

const FILES: [&str; 5] = [
    "call-for-contributions.pdf",
    "call-for-contributions.docx",
    "mexico-statement.pdf",
    "draft-notes.docx",
    "timeline-2012.png",
];

struct Args {
    documents: usize,
    workers: Vec<usize>,
    rounds: usize,
    folio: PathBuf,
    examples: PathBuf,
    work: Option<PathBuf>,
    csv: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        documents: 480,
        workers: vec![1, 2],
        rounds: 1,
        folio: PathBuf::from(env!("CARGO_BIN_EXE_folio")),
        examples: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ccm-2012"),
        work: None,
        csv: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--documents" => a.documents = value().parse().expect("--documents N"),
            "--workers" => a.workers = value().split(',').map(|w| w.trim().parse().expect("--workers 1,2,4")).collect(),
            "--rounds" => a.rounds = value().parse().expect("--rounds N"),
            "--folio" => a.folio = value().into(),
            "--examples" => a.examples = value().into(),
            "--work" => a.work = Some(value().into()),
            "--csv" => a.csv = Some(value().into()),
            // cargo bench passes --bench.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Writes the input folder: `documents` files cycling through the example's five, one contribution each.
fn write_input(dir: &Path, examples: &Path, documents: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut csv = String::from("file,chapter,state,author,title,kind,role,modality,received,rights\n");
    for i in 0..documents {
        let source = FILES[i % FILES.len()];
        let name = format!("{i:05}-{source}");
        std::fs::copy(examples.join(source), dir.join(&name))
            .unwrap_or_else(|e| panic!("copying {} from {}: {e}", source, examples.display()));
        let kind = if source.ends_with(".png") { "graphic" } else { "text" };
        csv.push_str(&format!(
            "{name},load,Mexico,Author {i},Contribution {i},{kind},both,multilateral,2012-04-01,Free to reproduce\n"
        ));
    }
    std::fs::write(dir.join("contributions.csv"), csv).unwrap();
    std::fs::write(
        dir.join("catalogue.toml"),
        "title = \"Scaling run\"\ndeadline = \"2012-04-30\"\n\n[[chapters]]\nid = \"load\"\ntitle = \"Load\"\n",
    )
    .unwrap();
}

struct Row_ {
    workers: usize,
    round: usize,
    wall_s: f64,
    processing_s: f64,
    records: i64,
    unreadable: i64,
    parser_s: f64,
    latency_p50_s: f64,
    latency_p99_s: f64,
    outside: f64,
    pipeline: f64,
}

fn seconds_between(from: &str, to: &str) -> f64 {
    let from = chrono::DateTime::parse_from_rfc3339(from).expect("an RFC 3339 time");
    let to = chrono::DateTime::parse_from_rfc3339(to).expect("an RFC 3339 time");
    (to - from).num_milliseconds() as f64 / 1000.0
}

struct Measured {
    processing_s: f64,
    records: i64,
    unreadable: i64,
    parser_s: f64,
    /// Upload to record, each document, sorted (seconds).
    latencies: Vec<f64>,
}

async fn measure(data: &Path) -> Measured {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", data.join("folio.db").display()))
        .unwrap()
        .read_only(true);
    let mut db = options.connect().await.expect("the run's database");
    let row = sqlx::query(
        "SELECT (SELECT MIN(created_at) FROM documents), (SELECT MAX(created_at) FROM records),
                (SELECT COUNT(*) FROM records), (SELECT COUNT(*) FROM documents WHERE state = 'failed')",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    let first: String = row.get(0);
    let last: String = row.get(1);
    let records: i64 = row.get(2);
    let failed: i64 = row.get(3);
    let mut parser_ms = 0i64;
    let mut unreadable = failed;
    for r in sqlx::query("SELECT record FROM records").fetch_all(&mut db).await.unwrap() {
        let record: serde_json::Value = serde_json::from_str(&r.get::<String, _>(0)).unwrap();
        parser_ms += record["elapsed_ms"].as_i64().unwrap_or(0);
        if !record["error"].is_null() {
            unreadable += 1;
        }
    }
    let mut latencies = Vec::new();
    for r in sqlx::query("SELECT d.created_at, r.created_at FROM records r JOIN documents d ON d.id = r.document_id")
        .fetch_all(&mut db)
        .await
        .unwrap()
    {
        latencies.push(seconds_between(&r.get::<String, _>(0), &r.get::<String, _>(1)));
    }
    Measured {
        processing_s: seconds_between(&first, &last),
        records,
        unreadable,
        parser_s: parser_ms as f64 / 1000.0,
        latencies: timing::sorted(latencies),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = args();
    let scratch;
    let work = match &a.work {
        Some(w) => w.clone(),
        None => {
            scratch = tempfile::tempdir().unwrap();
            scratch.path().to_path_buf()
        }
    };
    let input = work.join("input");
    write_input(&input, &a.examples, a.documents);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("documents {}  cores {cores}  folio {}", a.documents, a.folio.display());
    println!(
        "{:>7} {:>5} {:>8} {:>12} {:>8} {:>8} {:>10} {:>11} {:>13} {:>13} {:>8} {:>8}",
        "workers",
        "round",
        "wall s",
        "processing s",
        "docs/s",
        "speed-up",
        "efficiency",
        "parser busy",
        "up->rec p50 s",
        "up->rec p99 s",
        "outside",
        "pipeline"
    );
    let mut rows: Vec<Row_> = Vec::new();
    for round in 1..=a.rounds {
        for &workers in &a.workers {
            let data = work.join(format!("data-{workers}-{round}"));
            let out = work.join(format!("bundle-{workers}-{round}"));
            let _ = std::fs::remove_dir_all(&data);
            let _ = std::fs::remove_dir_all(&out);
            let log_path = work.join(format!("timing-{workers}-{round}.jsonl"));
            let log = std::fs::File::create(&log_path).unwrap();
            let started = Instant::now();
            let status = Command::new(&a.folio)
                .args(["--libreoffice", "off", "--data-dir"])
                .arg(&data)
                .arg("process")
                .arg(&input)
                .arg("--out")
                .arg(&out)
                .args(["--workers", &workers.to_string(), "--quiet"])
                .env("FOLIO_LOG", "folio=warn,folio::timing=info")
                .env("FOLIO_LOG_FORMAT", "json")
                .stdout(std::process::Stdio::null())
                .stderr(log)
                .status()
                .expect("running folio");
            let wall_s = started.elapsed().as_secs_f64();
            assert!(status.success(), "folio process with {workers} workers: {status}");
            let Measured { processing_s, records, unreadable, parser_s, latencies } = measure(&data).await;
            let stages = timing::summarise(&timing::parse(&std::fs::read_to_string(&log_path).unwrap_or_default()));
            let row = Row_ {
                workers,
                round,
                wall_s,
                processing_s,
                records,
                unreadable,
                parser_s,
                latency_p50_s: timing::percentile(&latencies, 50.0),
                latency_p99_s: timing::percentile(&latencies, 99.0),
                outside: stages.outside_median,
                pipeline: stages.pipeline_median,
            };
            let rate = records as f64 / processing_s;
            let one = rows.iter().find(|r| r.workers == 1 && r.round == round);
            let speedup = one.map(|o| rate / (o.records as f64 / o.processing_s));
            println!(
                "{workers:>7} {round:>5} {wall_s:>8.1} {processing_s:>12.1} {rate:>8.2} {:>8} {:>10} {:>10.0}% {:>13.2} {:>13.2} {:>7.1}% {:>7.1}%   ({records} records, {unreadable} unreadable)",
                speedup.map_or("-".into(), |s| format!("{s:.2}")),
                speedup.map_or("-".into(), |s| format!("{:.2}", s / workers as f64)),
                100.0 * stages.parsers_busy(workers, processing_s),
                row.latency_p50_s,
                row.latency_p99_s,
                100.0 * row.outside,
                100.0 * row.pipeline,
            );
            println!("{}", stages.lines());
            rows.push(row);
            // Written after every run, so that what was measured survives a run cut short.
            if let Some(csv) = &a.csv {
                write_csv(csv, &rows);
            }
            let _ = std::fs::remove_dir_all(&data);
            let _ = std::fs::remove_dir_all(&out);
        }
    }
}

fn write_csv(path: &Path, rows: &[Row_]) {
    let mut text = String::from(
        "workers,round,wall_s,processing_s,records,unreadable,parser_s,latency_p50_s,latency_p99_s,outside,pipeline\n",
    );
    for r in rows {
        text.push_str(&format!(
            "{},{},{:.3},{:.3},{},{},{:.3},{:.3},{:.3},{:.4},{:.4}\n",
            r.workers,
            r.round,
            r.wall_s,
            r.processing_s,
            r.records,
            r.unreadable,
            r.parser_s,
            r.latency_p50_s,
            r.latency_p99_s,
            r.outside,
            r.pipeline
        ));
    }
    std::fs::write(path, text).unwrap();
}
