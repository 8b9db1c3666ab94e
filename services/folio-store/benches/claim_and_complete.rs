//! What the database costs a document in a worker: its claim and its completion (the document done, its
//! record and its text), through the store the worker uses, one document after another.
//!
//! ```text
//! cargo bench -p folio-store --bench claim_and_complete -- [--documents 2000] [--rounds 3] \
//!     [--engines sqlite,postgres] [--postgres postgres://postgres@127.0.0.1:5432]
//! ```
//!
//! SQLite in a file under a temporary folder; PostgreSQL in a database made for the run and dropped after
//! (the server as `scripts/test` starts it). Each round is a new catalogue of `--documents` documents; each
//! document is claimed and completed with a record of about the size a PDF's is (its text 5,000 bytes).
//! Printed: the median and 90th percentile of each call, and the two together; and the CPU time a document
//! (claim and completion) took, this process's and the whole machine's (which holds PostgreSQL's server and
//! anything else running: run it on a quiet machine), from `/proc`.

use folio_core::*;
use folio_store::{open_store, Claim, IntakeSnapshot, Store, StoredRecord};
use std::time::{Duration, Instant};
use uuid::Uuid;

struct Args {
    documents: usize,
    rounds: usize,
    engines: Vec<String>,
    postgres: String,
}

fn args() -> Args {
    let mut a = Args {
        documents: 2000,
        rounds: 3,
        engines: vec!["sqlite".into(), "postgres".into()],
        postgres: "postgres://postgres@127.0.0.1:5432".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--documents" => a.documents = value().parse().expect("--documents N"),
            "--rounds" => a.rounds = value().parse().expect("--rounds N"),
            "--engines" => a.engines = value().split(',').map(str::to_string).collect(),
            "--postgres" => a.postgres = value(),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn snapshot(catalogue_id: Uuid, documents: usize) -> IntakeSnapshot {
    let contribution = Contribution {
        id: Contribution::derive_id(catalogue_id, "one", "Chile", "Ana", "Report"),
        chapter_key: "one".into(),
        state: "Chile".into(),
        author: "Ana".into(),
        title: "Report".into(),
        kind: ContributionKind::Text,
        role: Role::Donor,
        modality: Modality::SouthSouth,
        received: chrono::NaiveDate::from_ymd_opt(2012, 4, 1).expect("a date"),
        rights: Some("CC0".into()),
        layout: None,
    };
    let documents = (0..documents)
        .map(|i| {
            let sha = format!("{i:064x}");
            Document {
                id: Document::derive_id(contribution.id, &format!("{i}.pdf"), &sha),
                contribution_id: contribution.id,
                file_name: format!("{i}.pdf"),
                sha256: sha.clone(),
                bytes: 100_000,
                blob_key: format!("originals/{sha}"),
                state: DocumentState::Queued,
                attempts: 0,
                last_error: None,
                password: None,
            }
        })
        .collect();
    IntakeSnapshot {
        catalogue_id,
        config: CatalogueConfig::default(),
        source: "/tmp/in".into(),
        chapters: vec![Chapter { key: "one".into(), title: "One".into(), position: 1 }],
        contributions: vec![contribution],
        documents,
        findings: Vec::new(),
    }
}

/// A record of a 3-page PDF with two thumbnails, and 5,000 bytes of text.
fn stored(document: &Document) -> StoredRecord {
    let mut record =
        Record::failed(&document.file_name, document.sha256.clone(), 12, ExtractError::new(ExtractErrorKind::Io, "x"));
    record.error = None;
    record.format = "pdf".into();
    record.pages = Some(3);
    record.language = Some("en".into());
    record.thumbnails = [1024, 256]
        .into_iter()
        .map(|side| ThumbnailRef {
            max_side: side,
            width: side * 3 / 4,
            height: side,
            format: ThumbnailFormat::Png,
            location: format!("thumbnails/{}/{side}.png", document.id),
        })
        .collect();
    let text = "The catalogue gathers what States learnt in clearance and victim assistance. ".repeat(65);
    StoredRecord::new(record, text, Some(format!("thumbnails/{}/256.png", document.id)))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(name: &str, mut times: Vec<Duration>) -> String {
    times.sort();
    let at = |p: f64| ms(times[((times.len() - 1) as f64 * p).round() as usize]);
    format!("{name} median {:.3} ms, p90 {:.3} ms", at(0.5), at(0.9))
}

/// CPU seconds so far: this process's (user and system, `/proc/self/stat`) and the machine's (every core's
/// busy time, `/proc/stat`), in clock ticks of 1/100 s.
fn cpu_seconds() -> (f64, f64) {
    const TICK: f64 = 0.01;
    let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command's name, which is in parentheses and may hold spaces.
    let after = own.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<f64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0.0)).collect();
    let own = fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0);
    let machine = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let busy: Vec<f64> = machine
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // user, nice, system, irq, softirq: not idle or waiting for I/O.
    let machine = [0, 1, 2, 5, 6].iter().map(|&i| busy.get(i).unwrap_or(&0.0)).sum::<f64>();
    (own * TICK, machine * TICK)
}

async fn round(store: &dyn Store, documents: usize) -> (Vec<Duration>, Vec<Duration>, Vec<Duration>) {
    let catalogue = Uuid::new_v4();
    let snap = snapshot(catalogue, documents);
    store.sync_intake(&snap).await.expect("the catalogue");
    let (mut claims, mut completions, mut both) = (Vec::new(), Vec::new(), Vec::new());
    for document in &snap.documents {
        let record = stored(document);
        let started = Instant::now();
        let claim = store.claim(document.id, "bench", Duration::from_secs(60), 3).await.expect("a claim");
        let claimed = started.elapsed();
        assert!(matches!(claim, Claim::Granted { .. }), "{claim:?}");
        let completing = Instant::now();
        assert!(store.complete(document.id, "bench", &record).await.expect("a completion"));
        completions.push(completing.elapsed());
        claims.push(claimed);
        both.push(started.elapsed());
    }
    (claims, completions, both)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let scratch = tempfile::tempdir().expect("a temporary folder");
    for engine in &a.engines {
        let database = format!("folio_bench_{}", Uuid::new_v4().simple());
        let url = match engine.as_str() {
            "sqlite" => format!("sqlite://{}", scratch.path().join("bench.db").display()),
            "postgres" => {
                let admin = format!("{}/postgres", a.postgres);
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is not reachable at {admin} ({e}): start it (`scripts/test` does) or pass --postgres URL")
                });
                sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {database}").as_str())
                    .await
                    .expect("a database");
                format!("{}/{database}", a.postgres)
            }
            other => panic!("unknown engine {other}: sqlite or postgres"),
        };
        let store = open_store(&url).await.expect("the store");
        for r in 1..=a.rounds {
            let (own, machine) = cpu_seconds();
            let (claims, completions, both) = round(store.as_ref(), a.documents).await;
            let (own_after, machine_after) = cpu_seconds();
            let per_document = |seconds: f64| seconds * 1e6 / a.documents as f64;
            println!(
                "{engine:<8} round {r}: {}; {}; {}; CPU a document {:.0} µs here, {:.0} µs the machine",
                summary("claim", claims),
                summary("complete", completions),
                summary("both", both),
                per_document(own_after - own),
                per_document(machine_after - machine),
            );
        }
        drop(store);
        if engine == "postgres" {
            let admin = format!("{}/postgres", a.postgres);
            if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await {
                let _ =
                    sqlx::Executor::execute(&mut conn, format!("DROP DATABASE {database} WITH (FORCE)").as_str()).await;
            }
        }
    }
}
