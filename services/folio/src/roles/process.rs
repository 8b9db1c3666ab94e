//! `folio process DIR --out OUT`: every role in one process, on the embedded default: read the folder, run
//! the workers, wait for every chapter to clear, check the rules, assemble the bundle.

use crate::build::assemble::{assemble, book_date, BundleJob, BundleSummary};
use crate::build::inputs;
use crate::config::Settings;
use crate::intake::folder;
use crate::roles::backends::Backends;
use crate::worker::WorkEvent;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::Path;
use std::time::Duration;
use tokio::sync::broadcast;

/// Runs the whole job. `show_progress` draws a bar on stderr (when it is a terminal).
pub async fn run(settings: &Settings, input: &Path, out: &Path, show_progress: bool) -> Result<BundleSummary> {
    let backends = Backends::open_for_workers(settings).await?;
    let (store, blobs, queue) = (backends.store.clone(), backends.blobs.clone(), backends.queue.clone());

    let snapshot = folder::read_folder(input, blobs.as_ref()).await?;
    let catalogue_id = snapshot.catalogue_id;
    backends.take_back_interrupted(&[catalogue_id]).await?;
    let ingested = folder::submit(store.as_ref(), queue.as_ref(), snapshot).await?;
    let total = ingested.snapshot.documents.len() as u64;

    let bar = if show_progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix:>10} [{bar:30}] {pos}/{len} documents  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix("extracting");
    bar.set_position(total - ingested.queued as u64);
    bar.enable_steady_tick(Duration::from_millis(120));

    let (events, mut listener) = broadcast::channel(1024);
    let shutdown = super::Shutdown::new(Duration::from_secs(settings.worker.shutdown_grace_secs));
    let worker = backends.worker(settings, Some(events))?;
    shutdown.tasks.spawn(worker.run(shutdown.stopping.clone()));
    // The same reconciler as the cluster's: here it can only find requests lost inside this process.
    let reconciler = settings.reconciler_settings();
    shutdown.tasks.spawn(crate::worker::reconciler::run(
        store.clone(),
        queue.clone(),
        reconciler,
        shutdown.stopping.clone(),
    ));

    // Follow the workers for the bar; the database decides when the chapters are clear.
    let follow_bar = bar.clone();
    let follower = tokio::spawn(async move {
        let (mut in_flight, mut errors, mut retries) = (0i64, 0u64, 0u64);
        while let Ok(event) = listener.recv().await {
            match event {
                WorkEvent::Started { .. } => in_flight += 1,
                WorkEvent::Recorded { error, .. } => {
                    in_flight -= 1;
                    errors += u64::from(error.is_some());
                    follow_bar.inc(1);
                }
                WorkEvent::Failed { .. } => {
                    in_flight = (in_flight - 1).max(0);
                    errors += 1;
                    follow_bar.inc(1);
                }
                WorkEvent::Retried { .. } => {
                    in_flight = (in_flight - 1).max(0);
                    retries += 1;
                }
                WorkEvent::Skipped { .. } => {}
            }
            follow_bar.set_message(format!("{in_flight} in progress, {errors} unreadable, {retries} retried"));
        }
    });

    let cleared = inputs::wait_until_cleared(store.as_ref(), catalogue_id, Duration::from_millis(100), |_| {}).await;
    queue.close();
    shutdown.stop().await;
    follower.abort();
    cleared?;

    bar.set_prefix("checking");
    let findings = inputs::evaluate(store.as_ref(), catalogue_id).await?;
    bar.set_prefix("assembling");
    bar.set_message("typesetting the book");
    let signer = settings.signer()?;
    let job = BundleJob { catalogue_id, findings, date: book_date(), signer: signer.as_ref() };
    let summary = assemble(store.as_ref(), blobs.as_ref(), job, out).await?;
    bar.finish_and_clear();
    Ok(summary)
}

/// The summary printed at the end of `folio process`.
pub fn describe(summary: &BundleSummary) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let blocking = summary.findings.iter().filter(|f| f.is_blocking()).count();
    if summary.unchanged {
        let _ = writeln!(
            s,
            "Bundle (build {}, nothing changed since it was made) written again to {}",
            summary.build,
            summary.out.display()
        );
    } else {
        let _ = writeln!(s, "Bundle (build {}) written to {}", summary.build, summary.out.display());
    }
    if let Some(since) = summary.changes.since {
        let counts: Vec<String> = summary
            .changes
            .lists()
            .iter()
            .filter(|(_, list)| !list.is_empty())
            .map(|(name, list)| format!("{} {}", list.len(), name.to_lowercase()))
            .chain(summary.changes.chapters_reordered.then(|| "chapters reordered".to_string()))
            .collect();
        let what = if counts.is_empty() { "nothing".to_string() } else { counts.join(", ") };
        let _ = writeln!(s, "  changed since build {since}: {what}; details in report.html");
    }
    let _ = writeln!(
        s,
        "  {} documents processed, {} unreadable; {} chapters; {} contributions in the book, {} left out",
        summary.documents,
        summary.failed_documents,
        summary.chapters,
        summary.included,
        summary.left_out.len()
    );
    let _ = writeln!(s, "  {} findings ({} blocking); details in report.html", summary.findings.len(), blocking);
    for (title, reasons) in &summary.left_out {
        let _ = writeln!(s, "  left out: {title}");
        for reason in reasons {
            let _ = writeln!(s, "    - {reason}");
        }
    }
    for f in summary.findings.iter().filter(|f| f.contribution_id.is_none()) {
        let _ = writeln!(s, "  intake: {}", f.message);
    }
    s
}
