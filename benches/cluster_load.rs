//! The cluster's load run: N documents through W `folio worker` processes and one `folio coordinator`, on
//! RabbitMQ and PostgreSQL, with a `file://` blob store; the real binary, as operators run it.
//!
//! ```text
//! cargo bench -p folio --bench cluster_load -- [--documents 2000] [--workers 2] [--concurrency 2] [--rate 0]
//!     [--thumbnail-sizes 256,1024]
//! ```
//!
//! The documents are the example catalogue's files (examples/ccm-2012: two PDFs, two DOCX, a PNG graphic
//! that needs OCR), each uploaded many times under its own name. `--rate 0` uploads them all at once (a
//! burst: throughput); `--rate R` uploads R documents a second, in batches of a tenth of a second (latency
//! below saturation). Printed: documents per second from the first upload to the last record, and the time
//! from upload to record (the document's row to its record's, both by PostgreSQL's clock): median, 90th and
//! 99th percentile; the median extraction time in the parser; from the workers' `folio::timing` log events,
//! the time a document spends in a worker and the share of it outside the parser's own work (database, blob
//! store, queue, the parser process's start); and each worker process's resident memory as the run goes on
//! (sampled every second, the largest in each tenth of the documents) with its peak, and the largest parser
//! process. Needs RabbitMQ and PostgreSQL as the tests do (`scripts/test` starts them).

#[path = "support/timing.rs"]
#[allow(dead_code)]
mod timing;

#[path = "../tests/support/cluster.rs"]
#[allow(dead_code)]
mod cluster;

use chrono::NaiveDate;
use cluster::{stop, Cluster};
use folio_core::*;
use folio_store::*;
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};
use std::path::Path;
use std::time::{Duration, Instant};
use uuid::Uuid;

struct Args {
    documents: usize,
    workers: usize,
    concurrency: usize,
    rate: f64,
    thumbnail_sizes: String,
}

fn args() -> Args {
    let mut a = Args { documents: 2000, workers: 2, concurrency: 2, rate: 0.0, thumbnail_sizes: "256,1024".into() };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--documents" => a.documents = value().parse().expect("--documents N"),
            "--workers" => a.workers = value().parse().expect("--workers N"),
            "--concurrency" => a.concurrency = value().parse().expect("--concurrency N"),
            "--rate" => a.rate = value().parse().expect("--rate DOCS_PER_SECOND"),
            "--thumbnail-sizes" => a.thumbnail_sizes = value(),
            // cargo bench passes --bench.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

use timing::percentile;

/// A process's resident memory now and at its peak (KiB), from /proc.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let settings = format!(
        "[worker]\nconcurrency = {}\n[reconciler]\nevery_secs = 5\n[coordinator]\nevery_secs = 5\n",
        a.concurrency
    );
    let (mut cluster, queue) = Cluster::create(&settings).await;
    for (k, v) in [
        ("FOLIO_LOG", "folio=info"),
        ("FOLIO_LOG_FORMAT", "json"),
        ("FOLIO_THUMBNAIL_SIZES", a.thumbnail_sizes.as_str()),
    ] {
        cluster.env.push((k.into(), v.into()));
    }
    let store = open_store(&cluster.db_url()).await.unwrap();
    store.migrate().await.unwrap();
    let blobs = open_blobs(&cluster.blob_url()).unwrap();

    // The example's files, stored once each (blobs are keyed by content).
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ccm-2012");
    let mut files = Vec::new();
    for name in [
        "call-for-contributions.pdf",
        "call-for-contributions.docx",
        "draft-notes.docx",
        "mexico-statement.pdf",
        "timeline-2012.png",
    ] {
        let bytes = std::fs::read(example.join(name)).expect("examples/ccm-2012");
        let sha = hex::encode(Sha256::digest(&bytes));
        blobs.put(&format!("originals/{sha}"), bytes.clone()).await.unwrap();
        files.push((name, sha, bytes.len() as u64));
    }
    let catalogue_id = Uuid::new_v4();
    let chapter = Chapter { key: "load".into(), title: "Load".into(), position: 1 };
    let mut contributions = Vec::new();
    let mut documents = Vec::new();
    for i in 0..a.documents {
        let (name, sha, bytes) = &files[i % files.len()];
        let contribution = Contribution {
            id: Uuid::new_v4(),
            chapter_key: "load".into(),
            state: "Spain".into(),
            author: format!("Author {i}"),
            title: format!("Contribution {i}"),
            kind: ContributionKind::Text,
            role: Role::Donor,
            modality: Modality::Bilateral,
            received: NaiveDate::from_ymd_opt(2012, 4, 1).unwrap(),
            rights: Some("CC0".into()),
            layout: None,
        };
        let file_name = format!("{i:05}-{name}");
        documents.push(Document {
            id: Document::derive_id(contribution.id, &file_name, sha),
            contribution_id: contribution.id,
            file_name,
            sha256: sha.clone(),
            bytes: *bytes,
            blob_key: format!("originals/{sha}"),
            state: DocumentState::Queued,
            attempts: 0,
            last_error: None,
            password: None,
        });
        contributions.push(contribution);
    }
    let snapshot = |n: usize| IntakeSnapshot {
        catalogue_id,
        config: CatalogueConfig::default(),
        source: "load run".into(),
        chapters: vec![chapter.clone()],
        contributions: contributions[..n].to_vec(),
        documents: documents[..n].to_vec(),
        findings: vec![],
    };

    let names: Vec<String> =
        (1..=a.workers).map(|i| format!("worker-{i}")).chain(["coordinator".to_string()]).collect();
    let mut processes: Vec<_> =
        names.iter().map(|n| (n.clone(), cluster.start(n.split('-').next().unwrap(), n))).collect();
    // Let the processes connect before the clock starts.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let started = Instant::now();
    if a.rate <= 0.0 {
        store.sync_intake(&snapshot(a.documents)).await.unwrap();
        for d in &documents {
            queue.publish(&WorkRequest::new(catalogue_id, d.id)).await.unwrap();
        }
    } else {
        // A tenth of a second's documents at a time; each sync writes the catalogue as uploaded so far, so
        // the intake itself limits the rate it reaches (printed below).
        let batch = ((a.rate / 10.0).ceil() as usize).max(1);
        let mut sent = 0;
        while sent < a.documents {
            let next = (sent + batch).min(a.documents);
            store.sync_intake(&snapshot(next)).await.unwrap();
            for d in &documents[sent..next] {
                queue.publish(&WorkRequest::new(catalogue_id, d.id)).await.unwrap();
            }
            sent = next;
            let due = Duration::from_secs_f64(sent as f64 / a.rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }
    let uploaded = started.elapsed();
    let worker_pids: Vec<u32> =
        processes.iter().filter(|(n, _)| n.starts_with("worker")).map(|(_, c)| c.id()).collect();
    // (documents finished, resident KiB of each worker), about once a second.
    let mut samples: Vec<(u64, Vec<u64>)> = Vec::new();
    let mut sampled = Instant::now() - Duration::from_secs(1);
    loop {
        let finished: u64 = store.progress(catalogue_id).await.unwrap().iter().map(|p| p.finished).sum();
        if sampled.elapsed() >= Duration::from_secs(1) {
            samples.push((finished, worker_pids.iter().map(|&p| memory_kib(p).0).collect()));
            sampled = Instant::now();
        }
        if finished as usize >= a.documents {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(4 * 3600),
            "not finished in four hours:\n{}",
            cluster.logs(&[])
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed();
    let peaks: Vec<u64> = worker_pids.iter().map(|&p| memory_kib(p).1).collect();

    let mut conn = PgConnection::connect(&cluster.db_url()).await.unwrap();
    let rows: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT EXTRACT(EPOCH FROM (r.created_at - d.created_at))::float8, COALESCE((r.record->>'elapsed_ms')::float8, 0)
         FROM records r JOIN documents d ON d.id = r.document_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    // From the first document's row to the last record (PostgreSQL's clock): the processing time.
    let processing_s: f64 = sqlx::query_scalar(
        "SELECT COALESCE(EXTRACT(EPOCH FROM (max(r.created_at) - min(d.created_at)))::float8, 0)
         FROM records r JOIN documents d ON d.id = r.document_id",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM documents WHERE state = 'failed'").fetch_one(&mut conn).await.unwrap();
    let largest_parser: Option<(f64, String)> = sqlx::query_as(
        "SELECT (r.record->>'peak_memory_kib')::float8 / 1024, d.file_name FROM records r
         JOIN documents d ON d.id = r.document_id WHERE r.record ? 'peak_memory_kib'
         ORDER BY (r.record->>'peak_memory_kib')::float8 DESC NULLS LAST LIMIT 1",
    )
    .fetch_optional(&mut conn)
    .await
    .unwrap();
    let _ = conn.close().await;
    let mut latency: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let mut extraction: Vec<f64> = rows.iter().map(|r| r.1).collect();
    latency.sort_by(f64::total_cmp);
    extraction.sort_by(f64::total_cmp);

    println!("documents               {} ({} records, {failed} failed)", a.documents, rows.len());
    println!("workers x concurrency   {} x {}", a.workers, a.concurrency);
    println!(
        "upload                  {}",
        if a.rate <= 0.0 { "all at once".to_string() } else { format!("{} a second", a.rate) }
    );
    println!(
        "uploaded in             {:.1} s ({:.1} documents/s achieved)",
        uploaded.as_secs_f64(),
        a.documents as f64 / uploaded.as_secs_f64()
    );
    println!("all recorded after      {:.1} s", elapsed.as_secs_f64());
    println!("throughput              {:.1} documents/s", a.documents as f64 / elapsed.as_secs_f64());
    println!(
        "upload -> record        median {:.2} s, p90 {:.2} s, p99 {:.2} s, max {:.2} s",
        percentile(&latency, 50.0),
        percentile(&latency, 90.0),
        percentile(&latency, 99.0),
        latency.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "extraction (parser)     median {:.0} ms, p99 {:.0} ms",
        percentile(&extraction, 50.0),
        percentile(&extraction, 99.0)
    );
    let worker_names: Vec<&str> = names.iter().filter(|n| n.starts_with("worker")).map(String::as_str).collect();
    let stages: Vec<timing::Stages> = worker_names.iter().flat_map(|n| timing::parse(&cluster.log(n))).collect();
    let summary = timing::summarise(&stages);
    println!("{}", summary.lines());
    println!(
        "parsers busy            {:.1}% (their own time over {} parsers x {:.1} s from the first document's row to the last record)",
        100.0 * summary.parsers_busy(a.workers * a.concurrency, processing_s),
        a.workers * a.concurrency,
        processing_s
    );
    // Each worker's resident memory, the largest sample in each tenth of the run's documents.
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("worker resident MiB     by tenth of the documents recorded (largest sample in each):");
    for (w, name) in worker_names.iter().enumerate() {
        let tenths: Vec<String> = (1..=10u64)
            .map(|t| {
                let (from, to) = ((t - 1) * a.documents as u64 / 10, t * a.documents as u64 / 10);
                samples
                    .iter()
                    .filter(|(done, _)| *done > from && *done <= to)
                    .map(|(_, rss)| rss[w])
                    .max()
                    .map_or("-".into(), |k| format!("{:.0}", mib(k)))
            })
            .collect();
        println!("  {name:<20}  {}   peak {:.0} MiB", tenths.join(" "), mib(peaks[w]));
    }
    if let Some((parser_mib, file)) = largest_parser {
        println!("largest parser process  {parser_mib:.0} MiB ({file})");
    }

    // The coordinator's peak: it reconciles, then assembles the book of every document (typeset in its own
    // process), which it starts at its next look once the chapter clears; waited for up to ten minutes.
    if let Some((_, coordinator)) = processes.iter().find(|(n, _)| n == "coordinator") {
        let waiting = Instant::now();
        let assembled = loop {
            let builds = store.builds(catalogue_id).await.unwrap();
            if builds.iter().any(|b| b.state == folio_store::BuildState::Done) {
                break true;
            }
            if waiting.elapsed() > Duration::from_secs(600) {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let (_, peak) = memory_kib(coordinator.id());
        let what = if assembled { "with the book of every document assembled" } else { "no book assembled in 10 min" };
        println!("coordinator peak        {:.0} MiB ({what})", mib(peak));
    }
    for (name, child) in &mut processes {
        let status = stop(child);
        if !status.success() {
            eprintln!("{name} exited with {status}:\n{}", cluster.log(name));
        }
    }
    drop(store);
    cluster.remove(&queue).await;
}
