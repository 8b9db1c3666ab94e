//! Settings, in layers: built-in defaults, then a TOML file (`--config` or `FOLIO_CONFIG`), then environment
//! variables and flags (`FOLIO_DATA_DIR` / `--data-dir` and so on). Every setting is listed in
//! docs/CONFIGURATION.md.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the embedded default keeps its database and blobs.
    pub data_dir: PathBuf,
    /// The database: `sqlite://PATH` or `postgres://USER@HOST/DATABASE`. Default: `sqlite://DATA_DIR/folio.db`.
    pub database_url: Option<String>,
    /// The blob store: `file://PATH`. Default: `file://DATA_DIR/blobs`.
    pub blob_url: Option<String>,
    /// The work queue: `memory://` (in-process).
    pub queue_url: String,
    pub worker: WorkerSection,
    pub extract: ExtractSection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSection {
    /// Documents a worker processes at once; 0 means one per CPU core.
    pub concurrency: usize,
    /// Seconds a claim on a document holds before another worker may take it over.
    pub lease_secs: u64,
    /// Attempts at a document before it is recorded as failed.
    pub max_attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractSection {
    /// Wall-clock seconds one document may take.
    pub timeout_secs: u64,
    /// Memory (address space) one parser process may use, in MiB.
    pub memory_mib: u64,
    /// Longest side of thumbnails, in pixels.
    pub thumbnail_px: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("folio-data"),
            database_url: None,
            blob_url: None,
            queue_url: "memory://".into(),
            worker: WorkerSection::default(),
            extract: ExtractSection::default(),
        }
    }
}

impl Default for WorkerSection {
    fn default() -> Self {
        Self { concurrency: 0, lease_secs: 600, max_attempts: 3 }
    }
}

impl Default for ExtractSection {
    fn default() -> Self {
        Self { timeout_secs: 300, memory_mib: 2048, thumbnail_px: 256 }
    }
}

impl Settings {
    /// Defaults, overlaid with the file when one is given.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        match file {
            None => Ok(Self::default()),
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading settings {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("settings {}", path.display()))
            }
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("folio.db").display()))
    }

    pub fn blob_url(&self) -> String {
        self.blob_url.clone().unwrap_or_else(|| format!("file://{}", self.data_dir.join("blobs").display()))
    }

    pub fn concurrency(&self) -> usize {
        match self.worker.concurrency {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            n => n,
        }
    }

    pub fn sandbox(&self) -> Result<crate::sandbox::Sandbox> {
        let mut sandbox =
            crate::sandbox::Sandbox::current_exe().context("finding the folio executable for parser processes")?;
        sandbox.timeout = Duration::from_secs(self.extract.timeout_secs.max(1));
        sandbox.memory_bytes = self.extract.memory_mib.max(64) << 20;
        sandbox.thumbnail_px = Some(self.extract.thumbnail_px).filter(|px| *px > 0);
        Ok(sandbox)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("folio.toml");
        std::fs::write(&file, "data_dir = '/srv/folio'\n[extract]\ntimeout_secs = 30\n").unwrap();
        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(s.extract.timeout_secs, 30);
        assert_eq!(s.extract.memory_mib, 2048);
        assert_eq!(s.database_url(), "sqlite:///srv/folio/folio.db");
        assert_eq!(s.blob_url(), "file:///srv/folio/blobs");
        std::fs::write(&file, "[extract]\ntimeout = 30\n").unwrap();
        assert!(Settings::load(Some(&file)).is_err(), "a misspelt key is an error, not a silent default");
    }
}
