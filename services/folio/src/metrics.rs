//! Prometheus metrics, one registry per process, served as text on `GET /metrics` by every role (beside the
//! health endpoints). Counters count what this process did; the queue's depth and the age of the oldest
//! waiting document are read from the broker and the database at each scrape, so any one replica's
//! `/metrics` gives them. The names are a contract (dashboards and alerts use them): add, never rename.
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `folio_documents_total` | counter | `outcome` (`done`, `unreadable`, `failed`), `format` | documents recorded by this process's workers: `done` with a usable record, `unreadable` with the record's error (encrypted, corrupt, ...), `failed` after their attempts |
//! | `folio_stage_seconds` | histogram | `stage` (`claim`, `wait`, `fetch`, `extract`, `isolation`, `store`, `settle`, `document`), `format` | time spent per document in a worker: claiming it in the database, waiting for one of the worker's parsers (another of its documents being read), making the original a local file, the parser's own work, the parser process's start and hand-back, writing thumbnails and the record, acknowledging the message, and the whole from delivery to acknowledgement |
//! | `folio_ocr_pages_total` | counter | | pages whose text came from OCR |
//! | `folio_bytes_processed_total` | counter | `format` | bytes of the originals processed |
//! | `folio_uploads_total` | counter | `outcome` (`created`, `repeated`, `refused`) | uploads taken in by the gateway or from the queue |
//! | `folio_builds_total` | counter | | catalogue builds assembled by this process |
//! | `folio_queue_depth` | gauge | | requests waiting in the work queue |
//! | `folio_oldest_waiting_seconds` | gauge | | how long the oldest queued document has waited since it was queued or last touched (0 when none waits) |

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::sync::LazyLock;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeFormat {
    outcome: &'static str,
    format: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageFormat {
    stage: &'static str,
    format: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Format {
    format: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

struct Metrics {
    registry: Registry,
    documents: Family<OutcomeFormat, Counter>,
    stages: Family<StageFormat, Histogram>,
    ocr_pages: Counter,
    bytes: Family<Format, Counter>,
    uploads: Family<Outcome, Counter>,
    builds: Counter,
    queue_depth: Gauge,
    oldest_waiting: Gauge<f64, AtomicU64>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let documents = Family::<OutcomeFormat, Counter>::default();
    registry.register("folio_documents", "Documents recorded, by outcome and format", documents.clone());
    // 10 ms to about 160 s: a small image to a long scan's OCR.
    let stages =
        Family::<StageFormat, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.01, 2.0, 15)));
    registry.register_with_unit(
        "folio_stage",
        "Time spent per document, by stage and format",
        Unit::Seconds,
        stages.clone(),
    );
    let ocr_pages = Counter::default();
    registry.register("folio_ocr_pages", "Pages whose text came from OCR", ocr_pages.clone());
    let bytes = Family::<Format, Counter>::default();
    registry.register("folio_bytes_processed", "Bytes of originals processed, by format", bytes.clone());
    let uploads = Family::<Outcome, Counter>::default();
    registry.register("folio_uploads", "Uploads taken in, by outcome", uploads.clone());
    let builds = Counter::default();
    registry.register("folio_builds", "Catalogue builds assembled by this process", builds.clone());
    let queue_depth = Gauge::default();
    registry.register("folio_queue_depth", "Requests waiting in the work queue", queue_depth.clone());
    let oldest_waiting = Gauge::<f64, AtomicU64>::default();
    registry.register(
        "folio_oldest_waiting_seconds",
        "Seconds the oldest queued document has waited (0 when none waits)",
        oldest_waiting.clone(),
    );
    Metrics { registry, documents, stages, ocr_pages, bytes, uploads, builds, queue_depth, oldest_waiting }
});

/// A document recorded by a worker: `unreadable` when its record carries an error.
pub fn document_recorded(format: &str, unreadable: bool, bytes: u64, ocr_pages: usize) {
    let m = &*METRICS;
    let format = format.to_string();
    let outcome = if unreadable { "unreadable" } else { "done" };
    m.documents.get_or_create(&OutcomeFormat { outcome, format: format.clone() }).inc();
    m.bytes.get_or_create(&Format { format }).inc_by(bytes);
    m.ocr_pages.inc_by(ocr_pages as u64);
}

/// Where a recorded document's time went, stage by stage (see the table above).
pub fn document_timed(format: &str, stages: &[(&'static str, std::time::Duration)]) {
    let m = &*METRICS;
    for (stage, took) in stages {
        m.stages.get_or_create(&StageFormat { stage, format: format.to_string() }).observe(took.as_secs_f64());
    }
}

/// A document that failed after its attempts (its format is not known: it never got a record).
pub fn document_failed() {
    METRICS.documents.get_or_create(&OutcomeFormat { outcome: "failed", format: "unknown".into() }).inc();
}

/// An upload taken in (`created`, `repeated`) or refused.
pub fn upload(outcome: &'static str) {
    METRICS.uploads.get_or_create(&Outcome { outcome }).inc();
}

pub fn build_assembled() {
    METRICS.builds.inc();
}

/// The text exposition, with the queue's depth and the oldest waiting document's age as just read.
pub fn render(queue_depth: Option<u64>, oldest_waiting_secs: Option<f64>) -> String {
    let m = &*METRICS;
    if let Some(depth) = queue_depth {
        m.queue_depth.set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
    if let Some(age) = oldest_waiting_secs {
        m.oldest_waiting.set(age);
    }
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &m.registry).is_err() {
        out.clear();
    }
    out
}
