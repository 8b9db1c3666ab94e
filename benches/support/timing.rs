//! What the workers' `folio::timing` log events say about where documents' time went: one event a document
//! recorded (`FOLIO_LOG=folio=warn,folio::timing=info FOLIO_LOG_FORMAT=json`), with the time of each stage.
//! Read by the end-to-end benches to give the share of a document's time spent outside extraction.

/// One document's stages in milliseconds, as the worker logged them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stages {
    /// From delivery to acknowledgement, less `wait`.
    pub document: f64,
    pub claim: f64,
    /// Waiting for a parser held by another of the worker's documents: time in line, left out of `document`.
    pub wait: f64,
    pub fetch: f64,
    pub extract: f64,
    pub isolation: f64,
    pub store: f64,
    /// Of `store`: the blobs and the text's digest, then the record's write to the database.
    pub blobs: f64,
    pub record: f64,
    pub settle: f64,
}

/// Every `document handled` event in `log` (JSON lines; other lines are skipped).
pub fn parse(log: &str) -> Vec<Stages> {
    log.lines()
        .filter(|l| l.contains("\"document handled\""))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            let ms = |k: &str| v[k].as_f64().unwrap_or(0.0);
            Stages {
                document: ms("document_ms") - ms("wait_ms"),
                claim: ms("claim_ms"),
                wait: ms("wait_ms"),
                fetch: ms("fetch_ms"),
                extract: ms("extract_ms"),
                isolation: ms("isolation_ms"),
                store: ms("store_ms"),
                blobs: ms("blobs_ms"),
                record: ms("record_ms"),
                settle: ms("settle_ms"),
            }
        })
        .collect()
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// A summary of the stages over many documents.
pub struct Summary {
    pub documents: usize,
    /// Median and 99th percentile of the whole time in a worker, delivery to acknowledgement less the wait
    /// for a parser (ms).
    pub handled_median_ms: f64,
    pub handled_p99_ms: f64,
    /// Median over documents of the share of its time outside the parser's own work (the database, the
    /// blob store, the queue and the parser process's start); and the same with the parser process's
    /// start and hand-back counted as extraction (the database, the blob store and the queue only).
    pub outside_median: f64,
    pub pipeline_median: f64,
    /// The same shares over the sum of all documents' time.
    pub outside_total: f64,
    pub pipeline_total: f64,
    /// Mean milliseconds a document of each stage outside extraction.
    pub mean_claim: f64,
    pub mean_wait: f64,
    pub mean_fetch: f64,
    pub mean_isolation: f64,
    pub mean_store: f64,
    pub mean_blobs: f64,
    pub mean_record: f64,
    pub mean_settle: f64,
    /// What no stage holds: the worker's own steps between them (events, logs, the lease's keeper).
    pub mean_between: f64,
    /// The parsers' own time over all documents (ms).
    pub extract_total_ms: f64,
}

pub fn summarise(stages: &[Stages]) -> Summary {
    let n = stages.len().max(1) as f64;
    let handled = sorted(stages.iter().map(|s| s.document).collect());
    let share = |f: &dyn Fn(&Stages) -> f64| {
        sorted(stages.iter().filter(|s| s.document > 0.0).map(|s| (f(s) / s.document).clamp(0.0, 1.0)).collect())
    };
    let outside = |s: &Stages| s.document - s.extract;
    let pipeline = |s: &Stages| s.document - s.extract - s.isolation;
    let total: f64 = stages.iter().map(|s| s.document).sum();
    let mean = |f: &dyn Fn(&Stages) -> f64| stages.iter().map(f).sum::<f64>() / n;
    Summary {
        documents: stages.len(),
        handled_median_ms: percentile(&handled, 50.0),
        handled_p99_ms: percentile(&handled, 99.0),
        outside_median: percentile(&share(&outside), 50.0),
        pipeline_median: percentile(&share(&pipeline), 50.0),
        outside_total: stages.iter().map(outside).sum::<f64>() / total,
        pipeline_total: stages.iter().map(pipeline).sum::<f64>() / total,
        mean_claim: mean(&|s| s.claim),
        mean_wait: mean(&|s| s.wait),
        mean_fetch: mean(&|s| s.fetch),
        mean_isolation: mean(&|s| s.isolation),
        mean_store: mean(&|s| s.store),
        mean_blobs: mean(&|s| s.blobs),
        mean_record: mean(&|s| s.record),
        mean_settle: mean(&|s| s.settle),
        extract_total_ms: stages.iter().map(|s| s.extract).sum(),
        mean_between: mean(&|s| {
            (s.document - s.claim - s.fetch - s.extract - s.isolation - s.store - s.settle).max(0.0)
        }),
    }
}

impl Summary {
    /// How busy `parsers` parsers were with documents' own work over `seconds` (the run's processing time):
    /// what is left is the pipeline's share of the run (the database, blob store, queue and hand-over that
    /// the parsers waited for) and the wait for work.
    pub fn parsers_busy(&self, parsers: usize, seconds: f64) -> f64 {
        self.extract_total_ms / 1000.0 / (parsers.max(1) as f64 * seconds)
    }

    /// The summary as printed by the benches.
    pub fn lines(&self) -> String {
        format!(
            "in a worker             median {:.1} ms, p99 {:.1} ms a document (delivery to acknowledgement, less the wait for a parser; {} documents)\n\
             outside extraction      {:.1}% of a document's time (median), {:.1}% of all; without the parser process's start: {:.1}% (median), {:.1}% of all\n\
             mean ms a document      claim {:.2}, fetch {:.2}, isolation {:.2}, store {:.2} (blobs {:.2}, record {:.2}), settle {:.2}, between {:.2}; waiting for a parser {:.2}",
            self.handled_median_ms,
            self.handled_p99_ms,
            self.documents,
            100.0 * self.outside_median,
            100.0 * self.outside_total,
            100.0 * self.pipeline_median,
            100.0 * self.pipeline_total,
            self.mean_claim,
            self.mean_fetch,
            self.mean_isolation,
            self.mean_store,
            self.mean_blobs,
            self.mean_record,
            self.mean_settle,
            self.mean_between,
            self.mean_wait,
        )
    }
}
