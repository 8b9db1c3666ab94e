//! The command line: `folio ROLE ...`.

pub mod eval;
pub mod extract;

use crate::config::Settings;
use crate::worker::sandbox::{self, ChildRequest};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use extract::ExtractArgs;
use folio_extract::{Password, ThumbnailFormat, ThumbnailSpec};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "folio", version, about = "Turns contributions (PDF, DOCX, images) into a catalogue bundle.")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The settings file.
#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Settings file (TOML); see docs/CONFIGURATION.md.
    #[arg(long, env = "FOLIO_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Where the records, the files and the work requests are.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Backends")]
pub struct BackendArgs {
    /// Folder of the embedded database and blobs.
    #[arg(long, env = "FOLIO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (sqlite://PATH or postgres://USER@HOST/DATABASE).
    #[arg(long, env = "FOLIO_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Blob store URL (file://PATH or s3://BUCKET/PREFIX).
    #[arg(long, env = "FOLIO_BLOB_URL", hide_env_values = true)]
    pub blob_url: Option<String>,
    /// Queue URL (memory:// or amqp://USER:PASSWORD@HOST:PORT/VHOST?queue=NAME).
    #[arg(long, env = "FOLIO_QUEUE_URL", hide_env_values = true)]
    pub queue_url: Option<String>,
}

/// What extraction makes besides the record.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Extraction")]
pub struct ExtractionArgs {
    /// Thumbnail sizes, longest side in pixels, comma-separated (`256,1024`); `none` for no thumbnails.
    #[arg(long, env = "FOLIO_THUMBNAIL_SIZES")]
    pub thumbnail_sizes: Option<String>,
    /// Thumbnail format: png or webp.
    #[arg(long, env = "FOLIO_THUMBNAIL_FORMAT")]
    pub thumbnail_format: Option<String>,
    /// LibreOffice for DOCX renderings: auto (soffice on PATH), off, or the path of soffice.
    #[arg(long, env = "FOLIO_LIBREOFFICE")]
    pub libreoffice: Option<String>,
}

/// The health endpoints of the cluster roles.
#[derive(Args, Debug, Clone, Default)]
pub struct HealthArgs {
    /// Address of the health endpoints (/livez, /readyz), such as 0.0.0.0:8081.
    #[arg(long, env = "FOLIO_HEALTH_ADDR")]
    pub health_addr: Option<String>,
}

/// Settings flags given before the subcommand (`folio --data-dir D process ...`): every group, for every
/// subcommand that reads it. After the subcommand, each takes only the groups it uses, and shows only those
/// in its help.
pub type GlobalArgs = AllSettings;

/// The settings groups a subcommand takes after its name: a struct per combination, so that each lists
/// only what it reads.
macro_rules! settings_groups {
    ($($(#[$doc:meta])* $name:ident { $($group:ident: $kind:ty),* })*) => {$(
        $(#[$doc])*
        #[derive(Args, Debug, Clone, Default)]
        pub struct $name {
            $(#[command(flatten)] pub $group: $kind,)*
        }
        impl $name {
            fn given(&self) -> Given<'_> {
                let mut given = Given::default();
                $(given.$group = Some(&self.$group);)*
                given
            }
        }
    )*};
}

settings_groups! {
    /// `worker`, `config`.
    AllSettings { config: ConfigArgs, backends: BackendArgs, extraction: ExtractionArgs, health: HealthArgs }
    /// `process`, `serve`.
    ProcessSettings { config: ConfigArgs, backends: BackendArgs, extraction: ExtractionArgs }
    /// `extract`, `eval`.
    ExtractSettings { config: ConfigArgs, extraction: ExtractionArgs }
    /// `gateway`, `coordinator`.
    ClusterSettings { config: ConfigArgs, backends: BackendArgs, health: HealthArgs }
    /// `migrate`.
    BackendSettings { config: ConfigArgs, backends: BackendArgs }
}

/// The settings groups a subcommand takes after its name, each `None` where it takes none.
#[derive(Default)]
struct Given<'a> {
    config: Option<&'a ConfigArgs>,
    backends: Option<&'a BackendArgs>,
    extraction: Option<&'a ExtractionArgs>,
    health: Option<&'a HealthArgs>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Turns a folder of contributions into a catalogue bundle, every role in this process.
    Process {
        /// The folder: the files, contributions.csv, and optionally catalogue.toml.
        dir: PathBuf,
        /// Where to write the bundle (a new or empty folder, or an earlier bundle to replace).
        #[arg(long)]
        out: PathBuf,
        /// Documents processed at once (default: one per CPU core).
        #[arg(long, env = "FOLIO_WORKERS")]
        workers: Option<usize>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        settings: ProcessSettings,
    },
    /// Extracts files and prints one record per file.
    Extract {
        /// JSON lines (the documented contract) instead of text.
        #[arg(long)]
        json: bool,
        /// Include the extracted text in each record.
        #[arg(long)]
        text: bool,
        /// Write thumbnails into this folder, one subfolder per size (`DIR/256/`, `DIR/1024/`).
        #[arg(long)]
        thumbnails: Option<PathBuf>,
        /// Files extracted at once (default: one per CPU core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Parse inside this process instead of a child process per file (faster; a crashing parser then
        /// takes this command down).
        #[arg(long)]
        in_process: bool,
        /// OCR nothing: each file is read as a contribution declared a photograph is (its picture, size and
        /// thumbnails; `ocr: needed` where OCR would have run).
        #[arg(long)]
        no_ocr: bool,
        /// Password for protected documents (a DOCX, a PDF with a user password), read from this file (a
        /// trailing newline is dropped); tried on every file given that needs one. The variable
        /// FOLIO_PASSWORD also gives one. There is no flag for the password itself: the command line is
        /// visible to every user of the machine.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// FOLIO_PASSWORD, taken out of the environment by [`Cli::take_passwords_from_env`].
        #[arg(skip)]
        env_password: Option<Password>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        settings: ExtractSettings,
    },
    /// Extracts every file of a corpus manifest (JSON lines: path, format, expected_pages,
    /// expected_language, expected_error) and prints how well the results agree.
    Eval {
        /// The manifests (one or more, measured as one corpus); paths in each are relative to its folder.
        #[arg(required = true)]
        manifests: Vec<PathBuf>,
        /// Files extracted at once (default: one per CPU core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Also score the text of text PDFs against poppler's pdftotext (word-F1).
        #[arg(long)]
        against_pdftotext: bool,
        #[command(flatten)]
        settings: ExtractSettings,
    },
    /// Language detection accuracy and speed on samples: JSON lines with `text`, `lang` (the expected ISO
    /// 639-1 code) and optionally `kind`.
    EvalLanguage { samples: PathBuf },
    /// Brings the database schema up to date.
    Migrate {
        #[command(flatten)]
        settings: BackendSettings,
    },
    /// Takes work requests from the queue and writes records, until SIGTERM or SIGINT; then finishes what is
    /// in flight within `worker.shutdown_grace_secs` and gives the rest back to the queue.
    Worker {
        /// Documents read at once, each by its own parser process (default: one per CPU core). The worker
        /// holds twice as many (the queue's prefetch), so that claiming and storing overlap the reading.
        #[arg(long, env = "FOLIO_WORKER_CONCURRENCY")]
        concurrency: Option<usize>,
        #[command(flatten)]
        settings: AllSettings,
    },
    /// The HTTP API for front ends and editors (docs/API.md) on `gateway.listen`, until SIGTERM or SIGINT.
    /// Needs a shared queue (amqp://): its uploads are processed by `folio worker` processes.
    Gateway {
        /// Address to listen on, such as 0.0.0.0:8080.
        #[arg(long, env = "FOLIO_GATEWAY_LISTEN")]
        listen: Option<String>,
        #[command(flatten)]
        settings: ClusterSettings,
    },
    /// Every role in one process: the gateway's HTTP API, the workers, the reconciler and the builds, on the
    /// embedded default unless URLs say otherwise; until SIGTERM or SIGINT.
    Serve {
        /// Address to listen on, such as 0.0.0.0:8080.
        #[arg(long, env = "FOLIO_GATEWAY_LISTEN")]
        listen: Option<String>,
        /// Documents read at once, each by its own parser process (default: one per CPU core).
        #[arg(long, env = "FOLIO_WORKER_CONCURRENCY")]
        concurrency: Option<usize>,
        #[command(flatten)]
        settings: ProcessSettings,
    },
    /// Checks a bundle folder against its manifest and signature: says each file changed, missing or added,
    /// and whether the signature holds. Exits 1 when anything does not match.
    Verify {
        /// The bundle folder.
        bundle: PathBuf,
        /// The public key the bundle must be signed with: 64 hexadecimal digits, or a file holding them.
        #[arg(long)]
        public_key: Option<String>,
        /// An unsigned bundle is a failure (implied by --public-key).
        #[arg(long)]
        require_signature: bool,
    },
    /// Makes a new Ed25519 key for signing bundles: writes its secret seed to FILE (mode 0600) and prints the
    /// public key editors check bundles with.
    Keygen {
        /// Where to write the secret seed; an existing file is not replaced.
        #[arg(long)]
        out: PathBuf,
    },
    /// Prints the gateway API's OpenAPI 3.1 document (as served on /v1/openapi.json; kept as docs/openapi.json).
    Openapi,
    /// Keeps the queue in agreement with the database until SIGTERM or SIGINT: sends again the requests of
    /// documents whose worker stopped or whose request was lost, and settles what the broker dead-lettered
    /// (see docs/RELIABILITY.md). One is enough; more are harmless.
    Coordinator {
        #[command(flatten)]
        settings: ClusterSettings,
    },
    /// Prints the settings in effect, as TOML.
    Config {
        #[command(flatten)]
        settings: AllSettings,
    },
    /// A warm parser process: reads one request per line on stdin, answers each record on stdout (started
    /// by workers, never by hand).
    #[command(hide = true)]
    ExtractServer {
        /// Load the OCR engines at the start (the process this one replaces OCRed).
        #[arg(long)]
        prepare_ocr: bool,
    },
    /// Internal: extracts one file for a parent process, with only what the parent passes.
    #[command(hide = true)]
    ExtractChild {
        #[arg(long)]
        name: String,
        /// Longest sides of the thumbnails, comma-separated; none are made without it.
        #[arg(long, value_delimiter = ',')]
        sizes: Vec<u32>,
        /// Format of the thumbnails.
        #[arg(long, default_value = "png")]
        format: ThumbnailFormat,
        /// LibreOffice's soffice, for DOCX renderings.
        #[arg(long)]
        office: Option<PathBuf>,
        #[arg(long)]
        office_timeout_secs: Option<u64>,
        /// OCR nothing (a document declared a photograph).
        #[arg(long)]
        no_ocr: bool,
        /// Most text kept, in bytes.
        #[arg(long)]
        max_text_bytes: Option<u64>,
        /// The document's password, from FOLIO_DOCUMENT_PASSWORD (never an argument), taken out of the
        /// environment by [`Cli::take_passwords_from_env`].
        #[arg(skip)]
        password: Option<Password>,
        file: PathBuf,
    },
}

impl Cli {
    /// Takes the document password out of this process's environment into the command: FOLIO_PASSWORD
    /// for `extract`, FOLIO_DOCUMENT_PASSWORD (from the parent) for `extract-child`. No process started
    /// later (a parser process, LibreOffice, pdftoppm, tesseract) then inherits it. Call it before the
    /// runtime starts its threads.
    pub fn take_passwords_from_env(&mut self) {
        match &mut self.command {
            Command::Extract { env_password, .. } => {
                *env_password = sandbox::take_password_env(sandbox::USER_PASSWORD_ENV)
            }
            Command::ExtractChild { password, .. } => {
                *password = sandbox::take_password_env(sandbox::CHILD_PASSWORD_ENV)
            }
            _ => {}
        }
    }
}

/// The password of `folio extract`: the file's content (less one trailing newline) when a file is given,
/// else FOLIO_PASSWORD's value.
fn extract_password(file: Option<&Path>, from_env: Option<Password>) -> Result<Option<Password>> {
    let Some(file) = file else { return Ok(from_env) };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading the password file {}", file.display()))?;
    let password = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    if password.is_empty() {
        bail!("the password file {} is empty", file.display());
    }
    Ok(Some(Password::new(password)))
}

impl GlobalArgs {
    /// The settings in effect: the settings file, then the variables and flags (given after the
    /// subcommand, else before it).
    fn settings(&self, given: Given) -> Result<Settings> {
        let pick =
            |after: Option<&Option<String>>, before: &Option<String>| after.and_then(Clone::clone).or(before.clone());
        let config = given.config.and_then(|c| c.config.clone()).or(self.config.config.clone());
        let mut s = Settings::load(config.as_deref())?;
        let (b, e, h) = (given.backends, given.extraction, given.health);
        if let Some(d) = b.and_then(|b| b.data_dir.clone()).or(self.backends.data_dir.clone()) {
            s.data_dir = d;
        }
        // A URL with a password may come from a file instead (FOLIO_DATABASE_URL_FILE, FOLIO_QUEUE_URL_FILE),
        // as an orchestrator mounts a Secret.
        let from_file = |name: &str| folio_core::redact::env_secret(name).map_err(anyhow::Error::msg);
        if let Some(u) = pick(b.map(|b| &b.database_url), &self.backends.database_url) {
            s.database_url = Some(u);
        } else if let Some(u) = from_file("FOLIO_DATABASE_URL")? {
            s.database_url = Some(u);
        }
        if let Some(u) = pick(b.map(|b| &b.blob_url), &self.backends.blob_url) {
            s.blob_url = Some(u);
        }
        if let Some(u) = pick(b.map(|b| &b.queue_url), &self.backends.queue_url) {
            s.queue_url = u;
        } else if let Some(u) = from_file("FOLIO_QUEUE_URL")? {
            s.queue_url = u;
        }
        s.add_url_params();
        if let Some(sizes) = pick(e.map(|e| &e.thumbnail_sizes), &self.extraction.thumbnail_sizes) {
            s.extract.thumbnail_sizes = crate::config::parse_sizes(&sizes)?;
        }
        if let Some(format) = pick(e.map(|e| &e.thumbnail_format), &self.extraction.thumbnail_format) {
            s.extract.thumbnail_format = format.parse().map_err(anyhow::Error::msg)?;
        }
        if let Some(office) = pick(e.map(|e| &e.libreoffice), &self.extraction.libreoffice) {
            s.extract.libreoffice = office;
        }
        if let Some(addr) = pick(h.map(|h| &h.health_addr), &self.health.health_addr) {
            s.health_addr = Some(addr);
        }
        s.register_secrets();
        Ok(s)
    }
}

/// Runs a parsed command line; the process exit status is the caller's.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::ExtractServer { prepare_ocr } => {
            crate::worker::pool::server_main(prepare_ocr)?;
            Ok(())
        }
        Command::ExtractChild {
            name,
            sizes,
            format,
            office,
            office_timeout_secs,
            no_ocr,
            max_text_bytes,
            password,
            file,
        } => {
            let request = ChildRequest {
                name,
                thumbnails: ThumbnailSpec { sizes, format },
                no_ocr,
                max_text_bytes,
                office,
                office_timeout: office_timeout_secs.map(Duration::from_secs),
                office_conversions: 0,
                password,
            };
            // The answer on stdout (the record's line, then its parts), written in large pieces.
            let mut out = crate::worker::answer::output()?;
            crate::worker::sandbox::child_main(&file, request, &mut out)?;
            Ok(())
        }
        Command::Process { dir, out, workers, quiet, settings } => {
            crate::telemetry::init("folio=warn");
            let given = settings.given();
            let mut settings = cli.global.settings(given)?;
            if let Some(w) = workers {
                settings.worker.concurrency = w;
            }
            let show = !quiet && std::io::stderr().is_terminal();
            let summary = crate::roles::process::run(&settings, &dir, &out, show).await?;
            print!("{}", crate::roles::process::describe(&summary));
            Ok(())
        }
        Command::Extract {
            json,
            text,
            thumbnails,
            jobs,
            in_process,
            no_ocr,
            password_file,
            env_password,
            files,
            settings,
        } => {
            crate::telemetry::init("folio=warn");
            let settings = cli.global.settings(settings.given())?;
            let mut sandbox = settings.sandbox()?;
            sandbox.password = extract_password(password_file.as_deref(), env_password)?;
            if in_process {
                sandbox.isolation = crate::worker::sandbox::Isolation::InProcess;
            }
            if thumbnails.is_none() {
                sandbox.thumbnails = ThumbnailSpec::none();
            }
            if sandbox.warm.is_none() && !in_process {
                sandbox.ask_ocr_languages();
            }
            let jobs = jobs.unwrap_or_else(|| settings.concurrency());
            extract::run(sandbox, ExtractArgs { files, json, text, thumbnails, jobs, no_ocr }).await
        }
        Command::Eval { manifests, jobs, against_pdftotext, settings } => {
            crate::telemetry::init("folio=error");
            let settings = cli.global.settings(settings.given())?;
            let mut sandbox = settings.sandbox()?;
            sandbox.thumbnails = ThumbnailSpec::none();
            let report = crate::cli::eval::run(
                sandbox,
                &manifests,
                jobs.unwrap_or_else(|| settings.concurrency()),
                against_pdftotext,
            )
            .await?;
            print!("{report}");
            Ok(())
        }
        Command::EvalLanguage { samples } => {
            print!("{}", crate::cli::eval::run_language(&samples)?);
            Ok(())
        }
        Command::Worker { concurrency, settings } => {
            crate::telemetry::init("folio=info");
            let given = settings.given();
            let mut settings = cli.global.settings(given)?;
            if let Some(c) = concurrency {
                settings.worker.concurrency = c;
            }
            crate::roles::run(&settings, crate::roles::Role::Worker, |_| {}).await
        }
        Command::Gateway { listen, settings } => {
            crate::telemetry::init("folio=info");
            let mut settings = cli.global.settings(settings.given())?;
            if let Some(l) = listen {
                settings.gateway.listen = l;
            }
            let started = |addr| println!("folio: serving on http://{addr}");
            crate::roles::run(&settings, crate::roles::Role::Gateway, started).await
        }
        Command::Serve { listen, concurrency, settings } => {
            crate::telemetry::init("folio=info");
            let given = settings.given();
            let mut settings = cli.global.settings(given)?;
            if let Some(l) = listen {
                settings.gateway.listen = l;
            }
            if let Some(c) = concurrency {
                settings.worker.concurrency = c;
            }
            let started = |addr| println!("folio: serving on http://{addr}");
            crate::roles::run(&settings, crate::roles::Role::Serve, started).await
        }
        Command::Verify { bundle, public_key, require_signature } => {
            let trusted = match public_key {
                None => None,
                Some(k) => {
                    let text = if std::path::Path::new(&k).is_file() { std::fs::read_to_string(&k)? } else { k };
                    Some(folio_bundle::signature::public_key(&text).context("--public-key")?)
                }
            };
            let v = folio_bundle::verify::verify_bundle(&bundle, trusted.as_ref(), require_signature);
            for problem in &v.problems {
                println!("{problem}");
            }
            let signed = match &v.signed_by {
                Some(id) => format!("signed by key {id}"),
                None => "not signed".into(),
            };
            if v.ok() {
                println!("ok: {} files match the manifest; {signed}", v.matching);
                Ok(())
            } else {
                println!("{}: {} problem(s); {} files match", bundle.display(), v.problems.len(), v.matching);
                std::process::exit(1);
            }
        }
        Command::Keygen { out } => {
            use std::io::Write;
            let signer = folio_bundle::signature::Signer::generate()?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file =
                options.open(&out).with_context(|| format!("creating {} (it must not exist)", out.display()))?;
            writeln!(file, "{}", signer.seed_hex())?;
            println!("{}", signer.public_key_hex());
            eprintln!(
                "folio: secret key written to {}; set bundle.signing_key_file to it. The line above is the public key \
                 editors check bundles with (folio verify --public-key).",
                out.display()
            );
            Ok(())
        }
        Command::Openapi => {
            let document = serde_json::to_string_pretty(&crate::gateway::openapi())?;
            println!("{document}");
            Ok(())
        }
        Command::Coordinator { settings } => {
            crate::telemetry::init("folio=info");
            let given = settings.given();
            crate::roles::run(&cli.global.settings(given)?, crate::roles::Role::Coordinator, |_| {}).await
        }
        Command::Migrate { settings } => {
            crate::telemetry::init("folio=info");
            let settings = cli.global.settings(settings.given())?;
            let url = settings.database_url();
            folio_store::open_store(&url).await?.migrate().await?;
            println!("{}: schema up to date", folio_core::redact::url(&url));
            Ok(())
        }
        Command::Config { settings } => {
            let given = settings.given();
            let settings = cli.global.settings(given)?;
            print!("{}", toml::to_string_pretty(&settings.redacted())?);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent_and_the_child_protocol_parses() {
        // Catches, among others, a subcommand flag that clashes with a global one.
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "folio",
            "--thumbnail-sizes",
            "none",
            "extract-child",
            "--name",
            "a.pdf",
            "--sizes",
            "1024,256",
            "--format",
            "webp",
            "--office",
            "/usr/bin/soffice",
            "--office-timeout-secs",
            "9",
            "--",
            "-odd.pdf",
        ])
        .unwrap();
        assert_eq!(cli.global.extraction.thumbnail_sizes.as_deref(), Some("none"));
        match cli.command {
            Command::ExtractChild { sizes, format, office, office_timeout_secs, file, .. } => {
                assert_eq!(sizes, [1024, 256]);
                assert_eq!(format, ThumbnailFormat::Webp);
                assert_eq!(office, Some(PathBuf::from("/usr/bin/soffice")));
                assert_eq!(office_timeout_secs, Some(9));
                assert_eq!(file, PathBuf::from("-odd.pdf"));
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    /// Each subcommand lists only the settings it reads; they are taken after its name, or before it for
    /// every subcommand, and a flag after the name wins.
    #[test]
    fn each_subcommand_shows_and_takes_only_the_flags_it_uses() {
        let mut command = Cli::command();
        let help = |command: &mut clap::Command, name: &str| {
            command.find_subcommand_mut(name).unwrap().render_long_help().to_string()
        };
        let extract = help(&mut command, "extract");
        for unused in ["--queue-url", "--database-url", "--blob-url", "--data-dir", "--health-addr"] {
            assert!(!extract.contains(unused), "folio extract --help lists {unused}:\n{extract}");
        }
        assert!(extract.contains("--thumbnail-sizes") && extract.contains("--libreoffice"), "{extract}");
        let gateway = help(&mut command, "gateway");
        assert!(gateway.contains("--database-url") && !gateway.contains("--thumbnail-sizes"), "{gateway}");
        let worker = help(&mut command, "worker");
        assert!(worker.contains("--health-addr") && worker.contains("--queue-url"), "{worker}");
        for (name, help) in [("verify", help(&mut command, "verify")), ("openapi", help(&mut command, "openapi"))] {
            assert!(!help.contains("--config") && !help.contains("--queue-url"), "folio {name}: {help}");
        }

        assert!(Cli::try_parse_from(["folio", "extract", "--queue-url", "memory://", "a.pdf"]).is_err());
        let before = Cli::try_parse_from(["folio", "--database-url", "sqlite://before.db", "worker"]).unwrap();
        let after = Cli::try_parse_from([
            "folio",
            "--database-url",
            "sqlite://before.db",
            "worker",
            "--database-url",
            "sqlite://after.db",
        ])
        .unwrap();
        for (cli, expected) in [(before, "sqlite://before.db"), (after, "sqlite://after.db")] {
            let Command::Worker { settings, .. } = &cli.command else { panic!() };
            let given = settings.given();
            assert_eq!(cli.global.settings(given).unwrap().database_url.as_deref(), Some(expected));
        }
    }

    #[test]
    fn the_password_comes_from_a_file_and_never_from_an_argument() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "two words\r\n").unwrap();
        let from_env = Some(Password::new("from-env"));
        let got = extract_password(Some(&file), from_env.clone()).unwrap();
        assert_eq!(got.as_ref().map(Password::as_str), Some("two words"), "the file wins, less its newline");
        assert_eq!(extract_password(None, from_env.clone()).unwrap(), from_env);
        std::fs::write(&file, "\n").unwrap();
        assert!(extract_password(Some(&file), None).is_err(), "an empty password file is a mistake");
        assert!(extract_password(Some(&dir.path().join("missing")), None).is_err());
        // The child has no password flag: FOLIO_DOCUMENT_PASSWORD is the only way in.
        assert!(Cli::try_parse_from(["folio", "extract-child", "--name", "a", "--password", "x", "a.docx"]).is_err());
        assert!(Cli::try_parse_from(["folio", "extract", "--password", "x", "a.docx"]).is_err());
    }
}
