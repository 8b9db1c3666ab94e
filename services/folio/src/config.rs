//! Settings, in layers: built-in defaults, then a TOML file (`--config` or `FOLIO_CONFIG`), then environment
//! variables and flags (`FOLIO_DATA_DIR` / `--data-dir` and so on). Every setting is listed in
//! docs/CONFIGURATION.md.

use anyhow::{bail, Context, Result};
use folio_extract::{ThumbnailFormat, ThumbnailSpec};
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
    /// The work queue: `memory://` (in-process) or `amqp://USER:PASSWORD@HOST:PORT/VHOST?queue=…` (RabbitMQ).
    pub queue_url: String,
    /// Where the cluster roles answer `/livez` and `/readyz` (for example `0.0.0.0:8081`); none when unset.
    pub health_addr: Option<String>,
    pub worker: WorkerSection,
    pub reconciler: ReconcilerSection,
    pub coordinator: CoordinatorSection,
    pub gateway: GatewaySection,
    pub extract: ExtractSection,
    pub bundle: BundleSection,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BundleSection {
    /// A file holding the Ed25519 signing key's secret seed (64 hexadecimal digits; `folio keygen` makes
    /// one): every bundle is then signed (`signature.json`). FOLIO_SIGNING_KEY gives the seed itself instead.
    pub signing_key_file: Option<PathBuf>,
    /// An http(s) URL each finished build's `catalogue.assembled` event is POSTed to (signed when bundles
    /// are), retried with backoff until it answers 2xx; also FOLIO_WEBHOOK_URL.
    pub webhook_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySection {
    /// Where `folio gateway` and `folio serve` answer HTTP (the API, `/livez`, `/readyz`).
    pub listen: String,
    /// The largest upload request (metadata and every file), in MiB; a larger one is refused with 413.
    pub max_upload_mib: u64,
    /// The largest file of an upload, in MiB; a larger one is refused with 413.
    pub max_file_mib: u64,
    /// The most files one upload may carry (at most 50, the limit of uploads by queue too).
    pub max_files: usize,
    /// An admin token (`Authorization: Bearer TOKEN`): the same as `tokens = ["admin:admin:TOKEN"]`. Better
    /// given as FOLIO_GATEWAY_TOKEN than written in a file.
    pub token: Option<String>,
    /// The API's bearer tokens, each `NAME:SCOPE:SECRET`, the scope `uploader` (uploads), `editor` (uploads,
    /// waivers, exclusions, assembly) or `admin` (everything, catalogues included); the secret at least 12
    /// characters. Better given as FOLIO_GATEWAY_TOKENS (separated by commas or white space). With no token at
    /// all the API is open to whoever reaches it.
    pub tokens: Vec<String>,
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            max_upload_mib: 200,
            max_file_mib: 100,
            max_files: 50,
            token: None,
            tokens: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoordinatorSection {
    /// Seconds between the coordinator's looks at the catalogues (to assemble those that cleared and changed,
    /// and to announce finished builds).
    pub every_secs: u64,
    /// Seconds a coordinator's claim on a build holds: after that another coordinator takes over a build whose
    /// coordinator died. Longer than the longest assembly.
    pub build_lease_secs: u64,
}

impl Default for CoordinatorSection {
    fn default() -> Self {
        Self { every_secs: 5, build_lease_secs: 900 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReconcilerSection {
    /// Seconds between the reconciler's sweeps (in `folio coordinator`, `folio process`).
    pub every_secs: u64,
    /// Seconds a queued document waits, while the queue holds no request, before its request is sent again
    /// (it was lost, or never sent).
    pub resend_after_secs: u64,
    /// Documents and dead letters one sweep handles, at most.
    pub batch: u32,
}

impl Default for ReconcilerSection {
    fn default() -> Self {
        Self { every_secs: 10, resend_after_secs: 120, batch: 500 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSection {
    /// Documents a worker processes at once; 0 means one per CPU core.
    pub concurrency: usize,
    /// Seconds a claim on a document holds before another worker may take it over. The worker renews it every
    /// third of that while it works, so it bounds how long a dead worker's document waits, not how long a
    /// document may take.
    pub lease_secs: u64,
    /// Attempts at a document before it is recorded as failed.
    pub max_attempts: u32,
    /// Seconds a stopping worker (SIGTERM) gives the documents in flight to finish before it gives them back
    /// to the queue. Keep it below the orchestrator's own grace period (Kubernetes: 30 s by default).
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractSection {
    /// Wall-clock seconds one document may take.
    pub timeout_secs: u64,
    /// Memory (address space) one parser process may use, in MiB.
    pub memory_mib: u64,
    /// Longest sides of the thumbnails made of each document, in pixels; empty for none.
    pub thumbnail_sizes: Vec<u32>,
    /// `png` or `webp` (lossless).
    pub thumbnail_format: ThumbnailFormat,
    /// LibreOffice, to render DOCX files (first-page thumbnail; page count when app.xml has none):
    /// `auto` (`soffice` on PATH, if any), `off`, or the path of `soffice`.
    pub libreoffice: String,
    /// Wall-clock seconds one LibreOffice conversion may take.
    pub libreoffice_timeout_secs: u64,
}

/// The largest thumbnail size accepted: a 4096 px page is already 50 MiB of pixels to render.
pub const MAX_THUMBNAIL_PX: u32 = 4096;

/// Thumbnail sizes as written in a flag or variable: `256,1024`; `none` (or nothing) for none.
pub fn parse_sizes(text: &str) -> Result<Vec<u32>> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|s| s.trim().parse::<u32>().with_context(|| format!("thumbnail size '{s}' is not a number of pixels")))
        .collect()
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("folio-data"),
            database_url: None,
            blob_url: None,
            queue_url: "memory://".into(),
            health_addr: None,
            worker: WorkerSection::default(),
            reconciler: ReconcilerSection::default(),
            coordinator: CoordinatorSection::default(),
            gateway: GatewaySection::default(),
            extract: ExtractSection::default(),
            bundle: BundleSection::default(),
        }
    }
}

impl Default for WorkerSection {
    fn default() -> Self {
        Self { concurrency: 0, lease_secs: 60, max_attempts: 3, shutdown_grace_secs: 25 }
    }
}

impl Default for ExtractSection {
    fn default() -> Self {
        Self {
            timeout_secs: 300,
            memory_mib: 2048,
            thumbnail_sizes: ThumbnailSpec::DEFAULT_SIZES.to_vec(),
            thumbnail_format: ThumbnailFormat::Png,
            libreoffice: "auto".into(),
            libreoffice_timeout_secs: 60,
        }
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

    /// A worker's settings from these: concurrency, lease and attempts (its name is this host and process).
    pub fn worker_settings(&self) -> crate::worker::WorkerSettings {
        crate::worker::WorkerSettings {
            concurrency: self.concurrency(),
            lease: Duration::from_secs(self.worker.lease_secs),
            max_attempts: self.worker.max_attempts,
            ..crate::worker::WorkerSettings::default()
        }
    }

    /// The reconciler's settings from these (attempts are the workers').
    pub fn reconciler_settings(&self) -> crate::reconciler::ReconcilerSettings {
        crate::reconciler::ReconcilerSettings {
            every: Duration::from_secs(self.reconciler.every_secs.max(1)),
            resend_after: Duration::from_secs(self.reconciler.resend_after_secs),
            max_attempts: self.worker.max_attempts,
            batch: self.reconciler.batch.max(1),
        }
    }

    /// The coordinator's build settings from these (its name is this host and process).
    pub fn build_settings(&self) -> Result<crate::builds::BuildSettings> {
        Ok(crate::builds::BuildSettings {
            name: crate::worker::default_worker_name(),
            every: Duration::from_secs(self.coordinator.every_secs.max(1)),
            lease: Duration::from_secs(self.coordinator.build_lease_secs.max(1)),
            blob_url: folio_store::amqp::redact(&self.blob_url()),
            signer: self.signer()?,
            webhook: self.webhook()?,
        })
    }

    /// The webhook builds are announced to: FOLIO_WEBHOOK_URL, else `bundle.webhook_url`.
    pub fn webhook(&self) -> Result<Option<crate::webhook::Webhook>> {
        let url = std::env::var("FOLIO_WEBHOOK_URL").ok().filter(|u| !u.is_empty()).or(self.bundle.webhook_url.clone());
        url.map(|u| crate::webhook::Webhook::new(&u, self.signer()?).map_err(anyhow::Error::msg)).transpose()
    }

    /// The key bundles are signed with: FOLIO_SIGNING_KEY (the seed), else `bundle.signing_key_file`; none
    /// when neither is set.
    pub fn signer(&self) -> Result<Option<folio_bundle::signature::Signer>> {
        use folio_bundle::signature::Signer;
        if let Some(seed) = std::env::var("FOLIO_SIGNING_KEY").ok().filter(|s| !s.trim().is_empty()) {
            return Ok(Some(Signer::from_hex(&seed).context("FOLIO_SIGNING_KEY")?));
        }
        let Some(file) = &self.bundle.signing_key_file else { return Ok(None) };
        let seed = std::fs::read_to_string(file)
            .with_context(|| format!("reading the signing key {} (bundle.signing_key_file)", file.display()))?;
        Ok(Some(Signer::from_hex(&seed).with_context(|| format!("the signing key {}", file.display()))?))
    }

    pub fn sandbox(&self) -> Result<crate::sandbox::Sandbox> {
        let mut sandbox =
            crate::sandbox::Sandbox::current_exe().context("finding the folio executable for parser processes")?;
        sandbox.timeout = Duration::from_secs(self.extract.timeout_secs.max(1));
        sandbox.memory_bytes = self.extract.memory_mib.max(64) << 20;
        sandbox.thumbnails = self.thumbnails()?;
        sandbox.office = self.office()?;
        sandbox.office_timeout = Duration::from_secs(self.extract.libreoffice_timeout_secs.max(1));
        Ok(sandbox)
    }

    /// The thumbnails asked for, checked: every size from 1 to [`MAX_THUMBNAIL_PX`].
    pub fn thumbnails(&self) -> Result<ThumbnailSpec> {
        let sizes = &self.extract.thumbnail_sizes;
        if let Some(bad) = sizes.iter().find(|s| **s == 0 || **s > MAX_THUMBNAIL_PX) {
            bail!("extract.thumbnail_sizes: {bad} is not between 1 and {MAX_THUMBNAIL_PX} pixels (use [] for none)");
        }
        Ok(ThumbnailSpec { sizes: sizes.clone(), format: self.extract.thumbnail_format })
    }

    /// LibreOffice as `extract.libreoffice` says: found on PATH (`auto`; `None` when it is not there), `off`,
    /// or the path given, which must exist.
    pub fn office(&self) -> Result<Option<PathBuf>> {
        match self.extract.libreoffice.trim() {
            "auto" => Ok(folio_extract::find_office()),
            "off" => Ok(None),
            path => {
                let path = PathBuf::from(path);
                if !path.is_file() {
                    bail!(
                        "extract.libreoffice is {}, which is not a file; give the path of soffice, auto or off",
                        path.display()
                    );
                }
                Ok(Some(path))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every setting the file can hold is in docs/CONFIGURATION.md, under its dotted name.
    #[test]
    fn every_setting_is_documented() {
        let reference = include_str!("../../../docs/CONFIGURATION.md");
        let table: toml::Table = toml::from_str(&toml::to_string(&Settings::default()).unwrap()).unwrap();
        let mut keys = Vec::new();
        for (key, value) in &table {
            match value.as_table() {
                Some(section) => keys.extend(section.keys().map(|k| format!("{key}.{k}"))),
                None => keys.push(key.clone()),
            }
        }
        keys.extend(
            [
                "database_url",
                "blob_url",
                "health_addr",
                "gateway.token",
                "bundle.signing_key_file",
                "bundle.webhook_url",
            ]
            .map(String::from),
        );
        let missing: Vec<&String> = keys.iter().filter(|k| !reference.contains(&format!("| `{k}` |"))).collect();
        assert!(missing.is_empty(), "settings missing from docs/CONFIGURATION.md: {missing:?}");
    }

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

    #[test]
    fn thumbnail_and_libreoffice_settings() {
        let defaults = Settings::default();
        assert_eq!(defaults.thumbnails().unwrap(), ThumbnailSpec::default());
        assert_eq!(defaults.extract.libreoffice, "auto");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("folio.toml");
        std::fs::write(
            &file,
            "[extract]\nthumbnail_sizes = [128]\nthumbnail_format = 'webp'\nlibreoffice = 'off'\nlibreoffice_timeout_secs = 9\n",
        )
        .unwrap();
        let s = Settings::load(Some(&file)).unwrap();
        let sandbox = s.sandbox().unwrap();
        assert_eq!(sandbox.thumbnails, ThumbnailSpec { sizes: vec![128], format: ThumbnailFormat::Webp });
        assert_eq!(sandbox.office, None);
        assert_eq!(sandbox.office_timeout, Duration::from_secs(9));
        // What `folio config` prints reads back as the same settings.
        assert_eq!(toml::from_str::<Settings>(&toml::to_string_pretty(&s).unwrap()).unwrap(), s);

        std::fs::write(&file, "[extract]\nthumbnail_format = 'gif'\n").unwrap();
        assert!(Settings::load(Some(&file)).is_err());
        let mut s = Settings::default();
        s.extract.thumbnail_sizes = vec![256, 0];
        assert!(s.thumbnails().is_err(), "0 is refused: [] means none");
        s.extract.thumbnail_sizes = vec![100_000];
        assert!(s.thumbnails().is_err());
        s.extract.libreoffice = "/nowhere/soffice".into();
        assert!(s.office().is_err(), "a path that is not there is an error, not a silent fallback");

        assert_eq!(parse_sizes("256, 1024").unwrap(), [256, 1024]);
        assert!(parse_sizes("none").unwrap().is_empty());
        assert!(parse_sizes("big").is_err());
    }
}
