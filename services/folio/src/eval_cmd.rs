//! `folio eval MANIFEST`: extraction against a corpus whose manifest says what each file should yield
//! (`../shared/corpus/dev/manifest.jsonl` is one). Prints the agreement figures and every disagreement.

use crate::sandbox::Sandbox;
use anyhow::{Context, Result};
use folio_core::{ExtractErrorKind, Record};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One line of the manifest; fields Folio does not check are ignored.
#[derive(Debug, Deserialize)]
pub struct Expected {
    pub path: String,
    pub format: String,
    pub expected_pages: Option<u32>,
    pub expected_language: Option<String>,
    #[serde(default)]
    pub expected_error: bool,
    #[serde(default)]
    pub frames: Option<u32>,
}

/// A file's expectation and what extraction gave.
pub struct Outcome {
    pub expected: Expected,
    pub record: Record,
}

pub async fn run(sandbox: Sandbox, manifest: &Path, jobs: usize) -> Result<String> {
    let root = manifest.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let text = std::fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let mut expected = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        expected.push(serde_json::from_str::<Expected>(line).with_context(|| format!("{} line {}", manifest.display(), i + 1))?);
    }
    let sandbox = &sandbox;
    let root = &root;
    let outcomes: Vec<Outcome> = stream::iter(expected)
        .map(|e| async move {
            let record = sandbox.extract(&root.join(&e.path), &e.path).await.record;
            Outcome { expected: e, record }
        })
        .buffered(jobs.max(1))
        .collect()
        .await;
    Ok(summarise(&outcomes))
}

fn ratio(ok: usize, total: usize) -> String {
    if total == 0 {
        "n/a".into()
    } else {
        format!("{ok}/{total} ({:.1}%)", 100.0 * ok as f64 / total as f64)
    }
}

/// The figures, then the disagreements, as text for people (and docs/EXTRACTION.md).
pub fn summarise(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let mut misses = String::new();
    let error_kind = |o: &Outcome| o.record.error.as_ref().map(|e| e.kind);

    let mut pages: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut lang_ok, mut lang_total) = (0, 0);
    let (mut err_ok, mut err_total) = (0, 0);
    let mut unexpected_errors = 0;
    let mut crashes = 0;
    let mut timeouts = 0;
    for o in outcomes {
        let e = &o.expected;
        let kind = error_kind(o);
        crashes += usize::from(matches!(kind, Some(ExtractErrorKind::Crashed | ExtractErrorKind::OutOfMemory)));
        timeouts += usize::from(kind == Some(ExtractErrorKind::Timeout));
        if let Some(want) = e.expected_pages {
            let entry = pages.entry(e.format.as_str()).or_default();
            entry.1 += 1;
            if o.record.pages == Some(want) {
                entry.0 += 1;
            } else {
                let _ = writeln!(misses, "pages     {}: expected {want}, got {:?} {}", e.path, o.record.pages, describe(kind, o));
            }
        }
        if let Some(want) = &e.expected_language {
            lang_total += 1;
            if o.record.language.as_deref() == Some(want.as_str()) {
                lang_ok += 1;
            } else {
                let _ = writeln!(misses, "language  {}: expected {want}, got {:?} {}", e.path, o.record.language, describe(kind, o));
            }
        }
        if e.expected_error {
            err_total += 1;
            if kind.is_some() {
                err_ok += 1;
            } else {
                let _ = writeln!(misses, "error     {}: expected an error, got a record", e.path);
            }
        } else if let Some(k) = kind {
            unexpected_errors += 1;
            let _ = writeln!(misses, "error     {}: unexpected {}", e.path, describe(Some(k), o));
        }
    }
    let mut elapsed: Vec<u64> = outcomes.iter().map(|o| o.record.elapsed_ms).collect();
    elapsed.sort_unstable();
    let percentile = |p: f64| elapsed.get(((elapsed.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0);

    let _ = writeln!(out, "files                       {}", outcomes.len());
    let _ = writeln!(out, "crashes (crashed, OOM)      {crashes}");
    let _ = writeln!(out, "timeouts                    {timeouts}");
    for (format, (ok, total)) in &pages {
        let _ = writeln!(out, "pages agree ({format:<5})       {}", ratio(*ok, *total));
    }
    let _ = writeln!(out, "language agrees             {}", ratio(lang_ok, lang_total));
    let _ = writeln!(out, "expected errors reported    {}", ratio(err_ok, err_total));
    let _ = writeln!(out, "unexpected errors           {unexpected_errors}");
    let _ = writeln!(out, "time per file (ms)          median {}, p90 {}, max {}", percentile(0.5), percentile(0.9), percentile(1.0));
    if !misses.is_empty() {
        let _ = writeln!(out, "\ndisagreements:\n{misses}");
    }
    out
}

fn describe(kind: Option<ExtractErrorKind>, o: &Outcome) -> String {
    match (kind, &o.record.error) {
        (Some(k), Some(e)) => format!("[{}: {}]", k.as_str(), e.message.chars().take(90).collect::<String>()),
        _ => String::new(),
    }
}
