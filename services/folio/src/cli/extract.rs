//! `folio extract`: one record per file, as JSON lines (`--json`) or a line of text, each file in its own
//! parser process. The exit status is 0 when every file got its line, unreadable files included.

use crate::worker::sandbox::Sandbox;
use anyhow::Result;
use folio_core::Record;
use futures_util::stream::{self, StreamExt};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct ExtractArgs {
    pub files: Vec<PathBuf>,
    pub json: bool,
    pub text: bool,
    pub thumbnails: Option<PathBuf>,
    pub jobs: usize,
    /// OCR nothing, as for a contribution declared a photograph.
    pub no_ocr: bool,
}

pub async fn run(sandbox: Sandbox, args: ExtractArgs) -> Result<()> {
    if let Some(dir) = &args.thumbnails {
        std::fs::create_dir_all(dir)?;
    }
    let sandbox = &sandbox;
    let thumbnails = args.thumbnails.as_deref();
    let ocr = !args.no_ocr;
    let mut results = stream::iter(args.files.iter().enumerate())
        .map(|(index, path)| async move {
            let name = path.display().to_string();
            let extraction = sandbox.extract_document(path, &name, sandbox.password.as_ref(), ocr).await;
            let mut record = extraction.record;
            if let Some(dir) = thumbnails {
                for thumbnail in &extraction.thumbnails {
                    let file = dir.join(thumbnail.max_side.to_string()).join(thumbnail_name(index, path, thumbnail));
                    let written = std::fs::create_dir_all(dir.join(thumbnail.max_side.to_string()))
                        .and_then(|()| std::fs::write(&file, &thumbnail.bytes));
                    match written {
                        Ok(()) => record.thumbnails.push(thumbnail.reference(file.display().to_string())),
                        Err(e) => tracing::warn!(file = %file.display(), error = %e, "thumbnail not written"),
                    }
                }
                record.thumbnail = record.thumbnails.iter().min_by_key(|t| t.max_side).map(|t| t.location.clone());
            }
            (record, extraction.text)
        })
        .buffered(args.jobs.max(1));
    let mut stdout = std::io::stdout().lock();
    while let Some((mut record, text)) = results.next().await {
        if args.text {
            record.text = Some(text);
        }
        let line = if args.json { serde_json::to_string(&record)? } else { human_line(&record) };
        writeln!(stdout, "{line}")?;
    }
    stdout.flush()?;
    Ok(())
}

/// `<index>-<file name>.<format>`, e.g. `0003-report.pdf.png`: unique per run, and still telling.
fn thumbnail_name(index: usize, path: &Path, thumbnail: &folio_extract::Thumbnail) -> String {
    let stem: String = path
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .map(|c| if c.is_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
                .collect()
        })
        .unwrap_or_default();
    format!("{index:04}-{stem}.{}", thumbnail.format.as_str())
}

fn human_line(r: &Record) -> String {
    let mut line = format!("{}\t{}", r.path, r.format);
    if let Some(e) = &r.error {
        line.push_str(&format!("\terror {}: {}", e.kind.as_str(), e.message));
        return line;
    }
    if let Some(p) = r.pages {
        line.push_str(&format!("\t{p} page{}", if p == 1 { "" } else { "s" }));
    }
    if let Some(l) = &r.language {
        line.push_str(&format!("\t{l} ({:.2})", r.language_confidence.unwrap_or(0.0)));
    }
    line.push_str(&format!("\t{} words", r.words));
    if let Some(t) = &r.title {
        line.push_str(&format!("\t\"{t}\""));
    }
    line
}
