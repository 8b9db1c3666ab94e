//! Runs each extraction in a child process of the `folio` binary, so that a parser that panics, aborts,
//! overflows its stack, loops or eats memory costs that one document its record, never the worker.
//!
//! The child is `folio extract-child`: it reads one file, prints its record as JSON on stdout (text
//! included) and writes its thumbnails into a folder it is given, one file per size (`256.png`,
//! `1024.png`), listed in the record's `thumbnails`; the parent reads back those it asked for. The parent
//! bounds it with a wall-clock limit (killed on expiry, and killed if the parent drops it) and an
//! address-space limit (`RLIMIT_AS`), which also bounds the tools it starts (pdftoppm, tesseract,
//! LibreOffice).
//!
//! A document password travels to the child in its environment ([`CHILD_PASSWORD_ENV`], set on that
//! child's command only), never in its arguments, which every user of the machine can read with `ps`; the
//! child takes it out of its environment before it starts any thread or tool.

use folio_core::{ExtractError, ExtractErrorKind, Record};
use folio_extract::{Extraction, Limits, Options, Password, Thumbnail, ThumbnailSpec};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// The variable that carries a document password from the parent to `folio extract-child`.
pub const CHILD_PASSWORD_ENV: &str = "FOLIO_DOCUMENT_PASSWORD";
/// The variable a person sets to give `folio extract` a password (see `--password-file`).
pub const USER_PASSWORD_ENV: &str = "FOLIO_PASSWORD";

/// Take the password in the environment variable `name` out of this process's environment, so that no
/// process it starts later inherits it; `None` when it is unset or empty. Call it before any thread
/// starts (the environment is not safe to change while other threads may read it).
pub fn take_password_env(name: &str) -> Option<Password> {
    let value = std::env::var_os(name)?;
    std::env::remove_var(name);
    let value = value.to_string_lossy().into_owned();
    (!value.is_empty()).then(|| Password::new(value))
}

/// How extraction is isolated from the caller.
#[derive(Debug, Clone)]
pub enum Isolation {
    /// A child process of this program (the default for workers and `folio extract`).
    ChildProcess {
        /// The `folio` executable.
        program: PathBuf,
    },
    /// On a blocking thread of this process, panics caught: for tests and benchmarks of the parsers alone.
    InProcess,
}

/// Extraction with named limits. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub isolation: Isolation,
    /// Wall-clock limit for one document.
    pub timeout: Duration,
    /// Address-space limit of the child process, in bytes.
    pub memory_bytes: u64,
    /// The thumbnails to make; [`ThumbnailSpec::none`] for none.
    pub thumbnails: ThumbnailSpec,
    /// LibreOffice's `soffice`, to render DOCX files; `None` to do without.
    pub office: Option<PathBuf>,
    /// Wall-clock limit for one LibreOffice conversion (within `timeout`).
    pub office_timeout: Duration,
    /// The password tried on every document that needs one (a protected DOCX, a PDF with a user
    /// password); `None` for none. Its `Debug` output hides it.
    pub password: Option<Password>,
}

impl Sandbox {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
    pub const DEFAULT_MEMORY_BYTES: u64 = 2 << 30;

    /// Children of the running executable.
    pub fn current_exe() -> std::io::Result<Self> {
        Ok(Self::with_program(std::env::current_exe()?))
    }

    pub fn with_program(program: PathBuf) -> Self {
        Self {
            isolation: Isolation::ChildProcess { program },
            timeout: Self::DEFAULT_TIMEOUT,
            memory_bytes: Self::DEFAULT_MEMORY_BYTES,
            thumbnails: ThumbnailSpec::default(),
            office: None,
            office_timeout: Limits::default().office_timeout,
            password: None,
        }
    }

    pub fn in_process() -> Self {
        Self { isolation: Isolation::InProcess, ..Self::with_program(PathBuf::new()) }
    }

    fn options(&self, password: Option<&Password>) -> Options {
        Options {
            limits: Limits { office_timeout: self.office_timeout, ..Limits::default() },
            thumbnails: self.thumbnails.clone(),
            office: self.office.clone(),
            keep_text: true,
            password: password.cloned(),
            ..Options::default()
        }
    }

    /// Extracts the file at `path`, recorded under `name`. Always returns a record: failures are in its
    /// `error`.
    pub async fn extract(&self, path: &Path, name: &str) -> Extraction {
        self.extract_with_password(path, name, self.password.as_ref()).await
    }

    /// As [`Sandbox::extract`], with `password` for this document instead of [`Sandbox::password`].
    pub async fn extract_with_password(&self, path: &Path, name: &str, password: Option<&Password>) -> Extraction {
        let started = Instant::now();
        let mut extraction = match &self.isolation {
            Isolation::InProcess => {
                let (owned_path, owned_name, options) = (path.to_path_buf(), name.to_string(), self.options(password));
                let timeout = self.timeout;
                let task = tokio::task::spawn_blocking(move || {
                    let mut e = folio_extract::extract_path(&owned_path, &options);
                    e.record.path = owned_name;
                    e
                });
                match tokio::time::timeout(timeout, task).await {
                    Ok(Ok(e)) => e,
                    Ok(Err(join)) => {
                        failure(path, name, ExtractErrorKind::Crashed, format!("the parser thread failed: {join}"))
                    }
                    Err(_) => failure(
                        path,
                        name,
                        ExtractErrorKind::Timeout,
                        format!("took longer than {} s", timeout.as_secs()),
                    ),
                }
            }
            Isolation::ChildProcess { program } => match self.run_child(program, path, name, password).await {
                Ok(e) => e,
                Err(error) => failure(path, name, error.kind, error.message),
            },
        };
        if extraction.record.elapsed_ms == 0 {
            extraction.record.elapsed_ms = started.elapsed().as_millis() as u64;
        }
        extraction
    }

    async fn run_child(
        &self,
        program: &Path,
        path: &Path,
        name: &str,
        password: Option<&Password>,
    ) -> Result<Extraction, ExtractError> {
        let scratch = tempfile::tempdir()
            .map_err(|e| ExtractError::new(ExtractErrorKind::Io, format!("no scratch folder for the parser: {e}")))?;
        let thumbnail_dir = scratch.path().join("thumbnails");
        let mut command = tokio::process::Command::new(program);
        command.arg("extract-child").arg("--name").arg(name);
        let sizes = self.thumbnails.sizes_largest_first();
        if !sizes.is_empty() {
            std::fs::create_dir(&thumbnail_dir).map_err(|e| {
                ExtractError::new(ExtractErrorKind::Io, format!("no scratch folder for thumbnails: {e}"))
            })?;
            let sizes: Vec<String> = sizes.iter().map(u32::to_string).collect();
            command
                .arg("--sizes")
                .arg(sizes.join(","))
                .arg("--format")
                .arg(self.thumbnails.format.as_str())
                .arg("--thumbnail-dir")
                .arg(&thumbnail_dir);
        }
        if let Some(office) = &self.office {
            command.arg("--office").arg(office);
            command.arg("--office-timeout-secs").arg(self.office_timeout.as_secs().max(1).to_string());
        }
        command
            .arg("--")
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // pdftoppm and friends started by the child must not inherit a terminal or threads it does not need.
            .env("OMP_THREAD_LIMIT", "1")
            .env("RUST_BACKTRACE", "0")
            // A person's password variable stays with this process; the child gets the one it needs.
            .env_remove(USER_PASSWORD_ENV);
        match password {
            Some(password) => command.env(CHILD_PASSWORD_ENV, password.as_str()),
            None => command.env_remove(CHILD_PASSWORD_ENV),
        };
        let memory = self.memory_bytes;
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // Its own process group, so a timeout ends the renderers it started too.
                if libc::setpgid(0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let limit = libc::rlimit { rlim_cur: memory as libc::rlim_t, rlim_max: memory as libc::rlim_t };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| {
            ExtractError::new(
                ExtractErrorKind::Crashed,
                format!("could not start the parser process {}: {e}", program.display()),
            )
        })?;
        let group = child.id().map(|pid| ProcessGroup(pid as libc::pid_t));
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let run = async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let read_out = async {
                if let Some(s) = stdout.as_mut() {
                    let _ = s.read_to_end(&mut out).await;
                }
            };
            let read_err = async {
                if let Some(s) = stderr.as_mut() {
                    // Enough to classify a crash; a chatty parser cannot fill memory.
                    let _ = s.take(64 * 1024).read_to_end(&mut err).await;
                }
            };
            tokio::join!(read_out, read_err);
            let status = child.wait().await;
            (status, out, err)
        };
        let (status, out, err) = match tokio::time::timeout(self.timeout, run).await {
            Ok(result) => result,
            Err(_) => {
                // `child` is dropped with the future (kill_on_drop); the group takes its children with it.
                drop(group);
                return Err(ExtractError::new(
                    ExtractErrorKind::Timeout,
                    format!("took longer than the {} s limit and was stopped", self.timeout.as_secs()),
                ));
            }
        };
        // The child exited: nothing of its group may outlive the document.
        drop(group);
        let status = status
            .map_err(|e| ExtractError::new(ExtractErrorKind::Crashed, format!("lost the parser process: {e}")))?;
        let stderr_text = String::from_utf8_lossy(&err);
        if !status.success() {
            return Err(classify_exit(status, &stderr_text, self.memory_bytes));
        }
        let mut record: Record = serde_json::from_slice(&out).map_err(|e| {
            ExtractError::new(
                ExtractErrorKind::Crashed,
                format!("the parser process answered nonsense ({e}); stderr: {}", tail(&stderr_text)),
            )
        })?;
        let text = record.text.take().unwrap_or_default();
        // The record lists the thumbnails the child wrote; read back those of the sizes and format asked
        // for, each from the file name the parent expects (never a path the child chose).
        let mut thumbnails = Vec::new();
        for made in std::mem::take(&mut record.thumbnails) {
            if !self.thumbnails.sizes.contains(&made.max_side) || made.format != self.thumbnails.format {
                continue;
            }
            let mut thumbnail = Thumbnail {
                max_side: made.max_side,
                width: made.width,
                height: made.height,
                format: made.format,
                bytes: Vec::new(),
            };
            match tokio::fs::read(thumbnail_dir.join(thumbnail.file_name())).await {
                Ok(bytes) => {
                    thumbnail.bytes = bytes;
                    thumbnails.push(thumbnail);
                }
                Err(e) => tracing::warn!(size = made.max_side, error = %e, "a thumbnail the parser listed is missing"),
            }
        }
        record.thumbnail = None;
        Ok(Extraction { record, text, thumbnails })
    }
}

/// A parser's process group, killed when dropped (at a timeout, or once the parser has exited).
struct ProcessGroup(libc::pid_t);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: plain syscall; the group id is the child's pid, set by setpgid before exec.
        unsafe {
            libc::kill(-self.0, libc::SIGKILL);
        }
    }
}

fn tail(text: &str) -> String {
    let trimmed = text.trim();
    let start = trimmed.char_indices().rev().nth(300).map(|(i, _)| i).unwrap_or(0);
    trimmed[start..].to_string()
}

#[cfg(unix)]
fn classify_exit(status: std::process::ExitStatus, stderr: &str, memory_bytes: u64) -> ExtractError {
    use std::os::unix::process::ExitStatusExt;
    let out_of_memory = stderr.contains("memory allocation of")
        || stderr.contains("out of memory")
        || stderr.contains("Cannot allocate memory");
    if out_of_memory {
        return ExtractError::new(
            ExtractErrorKind::OutOfMemory,
            format!("needed more than the {} MiB memory limit", memory_bytes >> 20),
        );
    }
    let why = match status.signal() {
        Some(libc::SIGSEGV) if stderr.contains("overflowed its stack") => "overflowed its stack".to_string(),
        Some(libc::SIGABRT) if stderr.contains("overflowed its stack") => "overflowed its stack".to_string(),
        Some(libc::SIGKILL) => "was killed (SIGKILL), most likely for memory".to_string(),
        Some(signal) => format!("was ended by signal {signal}"),
        None => format!("exited with status {}", status.code().unwrap_or(-1)),
    };
    ExtractError::new(ExtractErrorKind::Crashed, format!("the parser {why}: {}", tail(stderr)))
}

fn failure(path: &Path, name: &str, kind: ExtractErrorKind, message: String) -> Extraction {
    let content = std::fs::read(path).ok();
    let (sha256, bytes) = content
        .as_deref()
        .map(|b| {
            use sha2::Digest;
            (hex::encode(sha2::Sha256::digest(b)), b.len() as u64)
        })
        .unwrap_or_default();
    let mut record = Record::failed(name, sha256, bytes, ExtractError::new(kind, message));
    if let Some(b) = &content {
        let format = folio_extract::Format::sniff(b);
        record.format = format.as_str().to_string();
        record.mime = format.mime().to_string();
    }
    Extraction { record, text: String::new(), thumbnails: Vec::new() }
}

/// Peak resident memory of this process and of the tools it waited for (renderer, OCR), in KiB: the
/// larger of the two, since they ran one after the other.
fn peak_memory_kib() -> Option<u64> {
    let peak = |who| {
        // SAFETY: getrusage writes into the struct we hand it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        (unsafe { libc::getrusage(who, &mut usage) } == 0).then_some(usage.ru_maxrss.max(0) as u64)
    };
    peak(libc::RUSAGE_SELF).max(peak(libc::RUSAGE_CHILDREN))
}

/// What the parent asks of `folio extract-child`.
#[derive(Debug, Clone)]
pub struct ChildRequest {
    /// The name to record the file under.
    pub name: String,
    /// Thumbnails to make, written into `thumbnail_dir` (none without one).
    pub thumbnails: ThumbnailSpec,
    pub thumbnail_dir: Option<PathBuf>,
    /// LibreOffice, for DOCX renderings.
    pub office: Option<PathBuf>,
    pub office_timeout: Option<Duration>,
    /// The document's password, from [`CHILD_PASSWORD_ENV`] (see [`take_password_env`]).
    pub password: Option<Password>,
}

/// The child's side: `folio extract-child`. Writes each thumbnail as `<max_side>.<format>` into the
/// thumbnail folder, lists them in the record's `thumbnails` under those names, and prints the record
/// (with text) as one JSON line.
pub fn child_main(path: &Path, request: ChildRequest) -> std::io::Result<()> {
    let thumbnails = if request.thumbnail_dir.is_some() { request.thumbnails } else { ThumbnailSpec::none() };
    let mut limits = Limits::default();
    if let Some(timeout) = request.office_timeout {
        limits.office_timeout = timeout;
    }
    let options = Options {
        limits,
        thumbnails,
        office: request.office,
        keep_text: true,
        password: request.password,
        ..Options::default()
    };
    let mut extraction = folio_extract::extract_path(path, &options);
    extraction.record.path = request.name;
    extraction.record.text = Some(extraction.text);
    extraction.record.peak_memory_kib = peak_memory_kib();
    if let Some(dir) = &request.thumbnail_dir {
        for thumbnail in &extraction.thumbnails {
            let file = thumbnail.file_name();
            std::fs::write(dir.join(&file), &thumbnail.bytes)?;
            extraction.record.thumbnails.push(thumbnail.reference(file));
        }
    }
    let line = serde_json::to_string(&extraction.record).map_err(std::io::Error::other)?;
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(line.as_bytes())?;
    stdout.write_all(b"\n")?;
    stdout.flush()
}
