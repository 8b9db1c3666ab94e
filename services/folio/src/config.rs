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
    /// Query parameters added to a `postgres://` database URL where the URL does not set them: what belongs
    /// to the deployment rather than to the Secret that holds the URL, such as
    /// `sslmode=verify-full&sslrootcert=/etc/folio/ca/ca.crt`.
    pub database_url_params: Option<String>,
    /// Likewise for an `amqp://` or `amqps://` queue URL: `queue=folio.work&cacertfile=/etc/folio/ca/ca.crt`.
    pub queue_url_params: Option<String>,
    /// Where probes and metrics are answered (`/livez`, `/readyz`, `/metrics`; for example `0.0.0.0:8081`):
    /// a port of their own, kept off the public one. Unset: the gateway answers them beside its API, the
    /// other roles not at all.
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
    /// Seconds a client may take to send a request's headers; then the connection is closed.
    pub header_timeout_secs: u64,
    /// Seconds a request body may pause between two pieces; then the request is answered 408 and its
    /// connection closed.
    pub body_idle_secs: u64,
    /// Seconds a read or a small write may take to answer (503 after that).
    pub request_timeout_secs: u64,
    /// Seconds an upload, an assembly or a bundle download may take to answer (503 after that).
    pub long_request_timeout_secs: u64,
    /// Requests answered at once, at most; one more is answered 503 with `Retry-After` at once.
    pub max_in_flight: usize,
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
            header_timeout_secs: 10,
            body_idle_secs: 20,
            request_timeout_secs: 30,
            long_request_timeout_secs: 900,
            max_in_flight: 256,
        }
    }
}

impl GatewaySection {
    /// What the gateway's edge holds to ([`crate::gateway::edge`]), each at least a second (one request).
    pub fn edge(&self) -> crate::gateway::edge::EdgeSettings {
        let secs = |n: u64| Duration::from_secs(n.max(1));
        crate::gateway::edge::EdgeSettings {
            max_in_flight: self.max_in_flight.max(1),
            body_idle: secs(self.body_idle_secs),
            short: secs(self.request_timeout_secs),
            long: secs(self.long_request_timeout_secs),
        }
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs.max(1))
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
    /// Conversions one LibreOffice makes before it is replaced, kept running between documents by each warm
    /// parser process (and by an in-process worker); it is also replaced after a crash or a hang. 0 starts a
    /// LibreOffice for every document. Needs Python's `uno` module (Debian: python3-uno); without it, 0.
    pub libreoffice_conversions: u32,
    /// Most text kept of one document, in MiB: past it the text is cut, the record says how much was found
    /// (`text_cut_from_bytes`) and the rules add a blocking `text_cut` finding.
    pub max_text_mib: u64,
    /// CPU seconds one parser process may use (`RLIMIT_CPU`); 0 means twice `timeout_secs`.
    pub cpu_secs: u64,
    /// Largest file one parser process, or a tool it starts, may write (`RLIMIT_FSIZE`), in MiB.
    pub max_write_mib: u64,
    /// Refuse to parse when the kernel gives the parser process no network namespace of its own (instead
    /// of a warning at the first document); see docs/SECURITY.md.
    pub require_network_isolation: bool,
    /// OCR the files of contributions declared photographs (`kind = photograph`) too; off, they are read for
    /// their picture only (their record says `ocr: needed` where OCR would have run).
    pub ocr_photographs: bool,
    /// Keep parser processes warm, each reading several documents (`false`: a process per document).
    pub warm_parsers: bool,
    /// Documents a warm parser process reads before it is replaced.
    pub parser_documents: u32,
    /// Resident memory (MiB) past which a warm parser process is replaced after its document.
    pub parser_recycle_mib: u64,
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
            database_url_params: None,
            queue_url_params: None,
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
            libreoffice_conversions: 50,
            max_text_mib: folio_extract::Limits::DEFAULT_MAX_TEXT_BYTES >> 20,
            cpu_secs: 0,
            max_write_mib: crate::worker::sandbox::Sandbox::DEFAULT_MAX_WRITE_BYTES >> 20,
            require_network_isolation: false,
            ocr_photographs: false,
            warm_parsers: true,
            parser_documents: 1000,
            parser_recycle_mib: 512,
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

    /// Notes every secret these settings and the process's environment hold with
    /// [`folio_core::redact::register`], so that no log line shows one: the passwords and query values of the
    /// database, queue, blob store and webhook URLs, the gateway's tokens, the signing key.
    pub fn register_secrets(&self) {
        use folio_core::redact;
        for url in [
            Some(self.database_url()),
            Some(self.queue_url.clone()),
            Some(self.blob_url()),
            self.bundle.webhook_url.clone(),
        ]
        .into_iter()
        .flatten()
        {
            redact::register_url(&url);
        }
        for name in ["FOLIO_DATABASE_URL", "FOLIO_QUEUE_URL", "FOLIO_BLOB_URL", "FOLIO_WEBHOOK_URL"] {
            if let Ok(url) = std::env::var(name) {
                redact::register_url(&url);
            }
        }
        let secret_of = |entry: &str| entry.splitn(3, ':').nth(2).map(str::to_string);
        for entry in &self.gateway.tokens {
            if let Some(secret) = secret_of(entry) {
                redact::register(&secret);
            }
        }
        if let Ok(entries) = std::env::var("FOLIO_GATEWAY_TOKENS") {
            for entry in entries.split(|c: char| c == ',' || c.is_whitespace()) {
                if let Some(secret) = secret_of(entry) {
                    redact::register(&secret);
                }
            }
        }
        let from_env = ["FOLIO_GATEWAY_TOKEN", "FOLIO_SIGNING_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
            .map(|name| std::env::var(name).ok());
        for secret in from_env.into_iter().chain([self.gateway.token.clone()]).flatten() {
            redact::register(&secret);
        }
        if let Some(seed) = self.bundle.signing_key_file.as_ref().and_then(|f| std::fs::read_to_string(f).ok()) {
            redact::register(seed.trim());
        }
    }

    /// These settings as `folio config` prints them: every secret masked (URL passwords and query strings,
    /// token secrets, the webhook URL's query).
    pub fn redacted(&self) -> Self {
        use folio_core::redact;
        let mut shown = self.clone();
        shown.database_url = self.database_url.as_deref().map(redact::url);
        shown.blob_url = self.blob_url.as_deref().map(redact::url);
        shown.queue_url = redact::url(&self.queue_url);
        shown.bundle.webhook_url = self.bundle.webhook_url.as_deref().map(redact::url);
        shown.gateway.token = self.gateway.token.as_ref().map(|_| redact::MASK.to_string());
        shown.gateway.tokens = self
            .gateway
            .tokens
            .iter()
            .map(|entry| {
                let mut parts = entry.splitn(3, ':');
                match (parts.next(), parts.next()) {
                    (Some(name), Some(scope)) => format!("{name}:{scope}:{}", redact::MASK),
                    _ => redact::MASK.to_string(),
                }
            })
            .collect();
        shown
    }

    /// Adds `database_url_params` and `queue_url_params` to the URLs, where they do not set a parameter
    /// themselves.
    pub fn add_url_params(&mut self) {
        if let (Some(url), Some(params)) = (&self.database_url, &self.database_url_params) {
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                self.database_url = Some(with_params(url, params));
            }
        }
        if let Some(params) = &self.queue_url_params {
            if self.queue_url.starts_with("amqp://") || self.queue_url.starts_with("amqps://") {
                self.queue_url = with_params(&self.queue_url, params);
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
            max_upload_file_bytes: self.gateway.max_file_mib.saturating_mul(1 << 20),
            ..crate::worker::WorkerSettings::default()
        }
    }

    /// The reconciler's settings from these (attempts are the workers').
    pub fn reconciler_settings(&self) -> crate::worker::reconciler::ReconcilerSettings {
        crate::worker::reconciler::ReconcilerSettings {
            every: Duration::from_secs(self.reconciler.every_secs.max(1)),
            resend_after: Duration::from_secs(self.reconciler.resend_after_secs),
            max_attempts: self.worker.max_attempts,
            batch: self.reconciler.batch.max(1),
        }
    }

    /// The coordinator's build settings from these (its name is this host and process).
    pub fn build_settings(&self) -> Result<crate::build::sweep::BuildSettings> {
        Ok(crate::build::sweep::BuildSettings {
            name: crate::worker::default_worker_name(),
            every: Duration::from_secs(self.coordinator.every_secs.max(1)),
            lease: Duration::from_secs(self.coordinator.build_lease_secs.max(1)),
            blob_url: folio_core::redact::url(&self.blob_url()),
            signer: self.signer()?,
            webhook: self.webhook()?,
        })
    }

    /// The webhook builds are announced to: FOLIO_WEBHOOK_URL (or the file FOLIO_WEBHOOK_URL_FILE names), else
    /// `bundle.webhook_url`.
    pub fn webhook(&self) -> Result<Option<crate::build::webhook::Webhook>> {
        let from_env = folio_core::redact::env_secret("FOLIO_WEBHOOK_URL").map_err(anyhow::Error::msg)?;
        let url = from_env.or(self.bundle.webhook_url.clone());
        url.map(|u| crate::build::webhook::Webhook::new(&u, self.signer()?).map_err(anyhow::Error::msg)).transpose()
    }

    /// The key bundles are signed with: FOLIO_SIGNING_KEY (the seed; or FOLIO_SIGNING_KEY_FILE, a file holding
    /// it), else `bundle.signing_key_file`; none
    /// when neither is set.
    pub fn signer(&self) -> Result<Option<folio_bundle::signature::Signer>> {
        use folio_bundle::signature::Signer;
        let from_env = folio_core::redact::env_secret("FOLIO_SIGNING_KEY").map_err(anyhow::Error::msg)?;
        if let Some(seed) = from_env.filter(|s| !s.trim().is_empty()) {
            return Ok(Some(Signer::from_hex(&seed).context("FOLIO_SIGNING_KEY")?));
        }
        let Some(file) = &self.bundle.signing_key_file else { return Ok(None) };
        let seed = std::fs::read_to_string(file)
            .with_context(|| format!("reading the signing key {} (bundle.signing_key_file)", file.display()))?;
        folio_core::redact::register(seed.trim());
        Ok(Some(Signer::from_hex(&seed).with_context(|| format!("the signing key {}", file.display()))?))
    }

    pub fn sandbox(&self) -> Result<crate::worker::sandbox::Sandbox> {
        let mut sandbox = crate::worker::sandbox::Sandbox::current_exe()
            .context("finding the folio executable for parser processes")?;
        sandbox.timeout = Duration::from_secs(self.extract.timeout_secs.max(1));
        sandbox.memory_bytes = self.extract.memory_mib.max(64) << 20;
        sandbox.thumbnails = self.thumbnails()?;
        sandbox.office = self.office()?;
        sandbox.office_timeout = Duration::from_secs(self.extract.libreoffice_timeout_secs.max(1));
        sandbox.office_conversions = self.extract.libreoffice_conversions;
        sandbox.max_text_bytes = self.extract.max_text_mib.max(1) << 20;
        sandbox.cpu_secs = match self.extract.cpu_secs {
            0 => 2 * sandbox.timeout.as_secs(),
            secs => secs,
        };
        sandbox.max_write_bytes = self.extract.max_write_mib.max(16) << 20;
        sandbox.require_network_isolation = self.extract.require_network_isolation;
        sandbox.ocr_photographs = self.extract.ocr_photographs;
        if self.extract.warm_parsers {
            sandbox.warm = Some(std::sync::Arc::new(crate::worker::pool::WarmPool::new(
                self.extract.parser_documents,
                self.extract.parser_recycle_mib.max(64) << 20,
            )));
        }
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

/// `url` with each of `params` (`a=1&b=2`) the URL does not set already; the URL's own win.
fn with_params(url: &str, params: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else { return url.to_string() };
    let present: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
    let added: Vec<(String, String)> = url::form_urlencoded::parse(params.trim_start_matches('?').as_bytes())
        .filter(|(k, _)| !k.is_empty() && !present.iter().any(|p| p == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if added.is_empty() {
        return url.to_string();
    }
    parsed.query_pairs_mut().extend_pairs(added);
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_params_from_the_settings_fill_in_what_the_url_does_not_say() {
        let mut s = Settings {
            database_url: Some("postgres://folio:pw@db.example:5432/folio?sslmode=require".into()),
            database_url_params: Some("sslmode=verify-full&sslrootcert=/etc/folio/ca/ca.crt".into()),
            queue_url: "amqps://folio:pw@mq.example/%2f".into(),
            queue_url_params: Some("queue=folio.work&cacertfile=/etc/folio/ca/ca.crt".into()),
            ..Settings::default()
        };
        s.add_url_params();
        assert_eq!(
            s.database_url.as_deref(),
            Some("postgres://folio:pw@db.example:5432/folio?sslmode=require&sslrootcert=%2Fetc%2Ffolio%2Fca%2Fca.crt"),
            "the URL's own sslmode wins"
        );
        assert_eq!(
            s.queue_url,
            "amqps://folio:pw@mq.example/%2f?queue=folio.work&cacertfile=%2Fetc%2Ffolio%2Fca%2Fca.crt"
        );
        let mut embedded = Settings { database_url_params: Some("sslmode=verify-full".into()), ..Settings::default() };
        embedded.add_url_params();
        assert_eq!(embedded.database_url, None, "SQLite takes no TLS parameters");
    }

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
    fn config_output_masks_every_secret() {
        let s = Settings {
            database_url: Some("postgres://folio:db-pass-123@db:5432/folio?sslmode=require".into()),
            queue_url: "amqp://folio:mq-pass-456@mq:5672/%2f".into(),
            gateway: GatewaySection {
                token: Some("admin-secret-7890".into()),
                tokens: vec!["portal:uploader:portal-secret-1234".into()],
                ..GatewaySection::default()
            },
            bundle: BundleSection {
                webhook_url: Some("https://hooks.example/b?token=hook-secret-55".into()),
                ..BundleSection::default()
            },
            ..Settings::default()
        };
        let shown = toml::to_string_pretty(&s.redacted()).unwrap();
        for secret in ["db-pass-123", "mq-pass-456", "admin-secret-7890", "portal-secret-1234", "hook-secret-55"] {
            assert!(!shown.contains(secret), "{secret} in:\n{shown}");
        }
        assert!(shown.contains("portal:uploader:***"), "{shown}");
        s.register_secrets();
        let line = "connecting to postgres://folio:db-pass-123@db:5432/folio with portal-secret-1234";
        let masked = folio_core::redact::text(line);
        assert!(!masked.contains("db-pass-123") && !masked.contains("portal-secret-1234"), "{masked}");
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
