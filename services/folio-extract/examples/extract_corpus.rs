//! Sanity pass over a directory: one JSON record per file, paths relative to the root. The text is left
//! out unless `--text` is given (then it is in `extracted_text`), so that text quality can be compared
//! with other extractors.
//!
//!     cargo run --release -p folio-extract --example extract_corpus -- /work/shared/corpus/dev [--text]

use folio_extract::{extract_bytes, Options};
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.is_file() && path.extension().is_none_or(|e| e != "jsonl") {
            out.push(path);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_text = args.iter().any(|a| a == "--text");
    let root = PathBuf::from(args.iter().find(|a| !a.starts_with("--")).cloned().unwrap_or_else(|| ".".into()));
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let opts = Options::default();
    for path in files {
        let name = path.strip_prefix(&root).unwrap_or(&path).to_string_lossy().into_owned();
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let ex = extract_bytes(&name, &bytes, &opts);
        let mut v = serde_json::to_value(&ex.record).unwrap_or_default();
        v["thumbnail_bytes"] = ex.thumbnails.iter().map(|t| t.bytes.len()).sum::<usize>().into();
        if with_text {
            v["extracted_text"] = ex.text.into();
        }
        println!("{v}");
    }
}
