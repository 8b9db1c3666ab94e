//! The command line: `folio ROLE ...`.

use crate::config::Settings;
use crate::extract_cmd::{self, ExtractArgs};
use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "folio", version, about = "Turns contributions (PDF, DOCX, images) into a catalogue bundle.")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every role shares; each overrides the settings file.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Settings file (TOML); see docs/CONFIGURATION.md.
    #[arg(long, global = true, env = "FOLIO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Folder of the embedded database and blobs.
    #[arg(long, global = true, env = "FOLIO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (sqlite://PATH or postgres://USER@HOST/DATABASE).
    #[arg(long, global = true, env = "FOLIO_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Blob store URL (file://PATH).
    #[arg(long, global = true, env = "FOLIO_BLOB_URL")]
    pub blob_url: Option<String>,
    /// Queue URL (memory://).
    #[arg(long, global = true, env = "FOLIO_QUEUE_URL")]
    pub queue_url: Option<String>,
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
    },
    /// Extracts files and prints one record per file.
    Extract {
        /// JSON lines (the documented contract) instead of text.
        #[arg(long)]
        json: bool,
        /// Include the extracted text in each record.
        #[arg(long)]
        text: bool,
        /// Write thumbnails into this folder.
        #[arg(long)]
        thumbnails: Option<PathBuf>,
        /// Files extracted at once (default: one per CPU core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Parse inside this process instead of a child process per file (faster; a crashing parser then
        /// takes this command down).
        #[arg(long)]
        in_process: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Extracts every file of a corpus manifest (JSON lines: path, format, expected_pages,
    /// expected_language, expected_error) and prints how well the results agree.
    Eval {
        /// The manifest; paths in it are relative to its folder.
        manifest: PathBuf,
        /// Files extracted at once (default: one per CPU core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Also score the text of text PDFs against poppler's pdftotext (word-F1).
        #[arg(long)]
        against_pdftotext: bool,
    },
    /// Language detection accuracy and speed on samples: JSON lines with `text`, `lang` (the expected ISO
    /// 639-1 code) and optionally `kind`.
    EvalLanguage { samples: PathBuf },
    /// Brings the database schema up to date.
    Migrate,
    /// Prints the settings in effect, as TOML.
    Config,
    /// Internal: extracts one file for a parent process.
    #[command(hide = true)]
    ExtractChild {
        #[arg(long)]
        name: String,
        #[arg(long)]
        thumbnail_px: Option<u32>,
        #[arg(long)]
        thumbnail_out: Option<PathBuf>,
        file: PathBuf,
    },
}

impl GlobalArgs {
    pub fn settings(&self) -> Result<Settings> {
        let mut s = Settings::load(self.config.as_deref())?;
        if let Some(d) = &self.data_dir {
            s.data_dir = d.clone();
        }
        if let Some(u) = &self.database_url {
            s.database_url = Some(u.clone());
        }
        if let Some(u) = &self.blob_url {
            s.blob_url = Some(u.clone());
        }
        if let Some(u) = &self.queue_url {
            s.queue_url = u.clone();
        }
        Ok(s)
    }
}

/// Runs a parsed command line; the process exit status is the caller's.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::ExtractChild { name, thumbnail_px, thumbnail_out, file } => {
            crate::sandbox::child_main(&file, &name, thumbnail_px, thumbnail_out.as_deref())?;
            Ok(())
        }
        Command::Process { dir, out, workers, quiet } => {
            crate::telemetry::init("folio=warn");
            let mut settings = cli.global.settings()?;
            if let Some(w) = workers {
                settings.worker.concurrency = w;
            }
            let show = !quiet && std::io::stderr().is_terminal();
            let summary = crate::process::run(&settings, &dir, &out, show).await?;
            print!("{}", crate::process::describe(&summary));
            Ok(())
        }
        Command::Extract { json, text, thumbnails, jobs, in_process, files } => {
            crate::telemetry::init("folio=warn");
            let settings = cli.global.settings()?;
            let mut sandbox = if in_process { crate::sandbox::Sandbox::in_process() } else { settings.sandbox()? };
            sandbox.timeout = std::time::Duration::from_secs(settings.extract.timeout_secs.max(1));
            if thumbnails.is_none() {
                sandbox.thumbnail_px = None;
            }
            let jobs = jobs.unwrap_or_else(|| settings.concurrency());
            extract_cmd::run(sandbox, ExtractArgs { files, json, text, thumbnails, jobs }).await
        }
        Command::Eval { manifest, jobs, against_pdftotext } => {
            crate::telemetry::init("folio=error");
            let settings = cli.global.settings()?;
            let mut sandbox = settings.sandbox()?;
            sandbox.thumbnail_px = None;
            let report = crate::eval_cmd::run(
                sandbox,
                &manifest,
                jobs.unwrap_or_else(|| settings.concurrency()),
                against_pdftotext,
            )
            .await?;
            print!("{report}");
            Ok(())
        }
        Command::EvalLanguage { samples } => {
            print!("{}", crate::eval_cmd::run_language(&samples)?);
            Ok(())
        }
        Command::Migrate => {
            crate::telemetry::init("folio=info");
            let settings = cli.global.settings()?;
            let url = settings.database_url();
            folio_store::open_store(&url).await?.migrate().await?;
            println!("{url}: schema up to date");
            Ok(())
        }
        Command::Config => {
            let settings = cli.global.settings()?;
            print!("{}", toml::to_string_pretty(&settings)?);
            Ok(())
        }
    }
}
