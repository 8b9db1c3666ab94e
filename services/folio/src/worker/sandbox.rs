//! Runs each extraction in a child process of the `folio` binary, so that a parser that panics, aborts,
//! overflows its stack, loops or eats memory costs that one document its record, never the worker.
//!
//! The child is `folio extract-child`: it reads one file, writes its text into a file it is given
//! (`--text-file`), prints its record as JSON on stdout and writes its thumbnails into a folder it is given,
//! one file per size (`256.png`, `1024.png`), listed in the record's `thumbnails`; the parent reads back
//! those it asked for. Everything it answers is read through a bound: the record ([`MAX_RECORD_BYTES`]), the
//! text (`max_text_bytes`), stderr (64 KiB), each thumbnail ([`MAX_THUMBNAIL_BYTES`]).
//!
//! What a parser that is taken over (a hostile file exploiting PDFium, LibreOffice or Tesseract) can reach
//! is bounded too. The child starts with a cleared environment and an allowlist ([`CHILD_ENV_ALLOWLIST`]):
//! no database URL, token or key. Its limits: wall clock (killed past it, with its whole process group, and
//! killed if the parent drops it), address space (`RLIMIT_AS`), CPU time (`RLIMIT_CPU`), the size of any
//! file it writes (`RLIMIT_FSIZE`), no core dumps, no new privileges (`PR_SET_NO_NEW_PRIVS`: no setuid
//! program raises it), and no network: it runs in a network namespace of its own, which has no interface
//! but a loopback that is down. The tools it starts (pdftoppm, tesseract, LibreOffice) inherit all of it.
//! Where the kernel refuses a namespace (a container without `CAP_SYS_ADMIN` and without user namespaces),
//! the child runs in the worker's network and the worker warns once; `extract.require_network_isolation`
//! makes that an error instead (docs/SECURITY.md).
//!
//! A document password travels to the child in its environment ([`CHILD_PASSWORD_ENV`], set on that
//! child's command only), never in its arguments, which every user of the machine can read with `ps`; the
//! child takes it out of its environment before it starts any thread or tool.

use folio_core::structure::Structure;
use folio_core::{ExtractError, ExtractErrorKind, Record};
use folio_extract::{Extraction, Limits, Options, Password, Picture, Thumbnail, ThumbnailSpec};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// The variable that carries a document password from the parent to `folio extract-child`.
pub const CHILD_PASSWORD_ENV: &str = "FOLIO_DOCUMENT_PASSWORD";
/// The variable a person sets to give `folio extract` a password (see `--password-file`).
pub const USER_PASSWORD_ENV: &str = "FOLIO_PASSWORD";

/// The variables a parser process keeps from its parent's environment; every other is cleared. None of
/// them holds a secret: where the tools are, the locale, the temporary folder (LibreOffice's profiles).
pub const CHILD_ENV_ALLOWLIST: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "TESSDATA_PREFIX",
    "FOLIO_PDFIUM_LIB",
    "FOLIO_PDFTOPPM",
    "FOLIO_TESSERACT",
    "FOLIO_DJPEG",
];

/// The most bytes of record (JSON, without its text) read from a parser process.
pub const MAX_RECORD_BYTES: u64 = 4 << 20;
/// The most bytes read back of one thumbnail (a 4096 px lossless image is well under it).
pub const MAX_THUMBNAIL_BYTES: u64 = 64 << 20;
/// The most bytes read back of one picture taken from a document (1600 px at most: well under it).
pub const MAX_PICTURE_BYTES: u64 = 16 << 20;
/// The file in the form folder that holds a document's structure (JSON).
const STRUCTURE_FILE: &str = "structure.json";

/// The most bytes of structure read back: its texts are bounded as the text is (`max_text_bytes`), with room
/// for JSON's escapes and its tables' and notes' framing.
fn max_structure_bytes(max_text_bytes: u64) -> u64 {
    max_text_bytes.saturating_mul(2).saturating_add(1 << 20)
}

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
    /// Conversions one LibreOffice makes in a process that reads many documents (a warm parser process, or
    /// this one when in-process) before it is replaced; 0 starts one per conversion.
    pub office_conversions: u32,
    /// The password tried on every document that needs one (a protected DOCX, a PDF with a user
    /// password); `None` for none. Its `Debug` output hides it.
    pub password: Option<Password>,
    /// Most text kept of one document, in bytes (the rest is cut, and the record says so).
    pub max_text_bytes: u64,
    /// CPU seconds the parser process may use (`RLIMIT_CPU`); a backstop to the wall-clock limit that
    /// holds even if the worker dies and leaves it running.
    pub cpu_secs: u64,
    /// Largest file the parser process (and the tools it starts) may write (`RLIMIT_FSIZE`), in bytes.
    pub max_write_bytes: u64,
    /// Refuse to run a parser when the kernel does not give it a network namespace of its own.
    pub require_network_isolation: bool,
    /// OCR the documents of contributions declared photographs too (off: a photograph is sent for its
    /// picture, and OCR of it finds nothing worth its time).
    pub ocr_photographs: bool,
    /// Warm parser processes, each reading several documents ([`super::pool`]); `None`: a process per
    /// document. A document with a password is always read by a process of its own.
    pub warm: Option<std::sync::Arc<super::pool::WarmPool>>,
}

impl Sandbox {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
    pub const DEFAULT_MEMORY_BYTES: u64 = 2 << 30;
    pub const DEFAULT_MAX_WRITE_BYTES: u64 = 1 << 30;

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
            office_conversions: 0,
            password: None,
            max_text_bytes: Limits::DEFAULT_MAX_TEXT_BYTES,
            cpu_secs: 2 * Self::DEFAULT_TIMEOUT.as_secs(),
            max_write_bytes: Self::DEFAULT_MAX_WRITE_BYTES,
            require_network_isolation: false,
            ocr_photographs: false,
            warm: None,
        }
    }

    pub fn in_process() -> Self {
        Self { isolation: Isolation::InProcess, ..Self::with_program(PathBuf::new()) }
    }

    fn options(&self, password: Option<&Password>, ocr: bool) -> Options {
        Options {
            limits: Limits {
                office_timeout: self.office_timeout,
                max_text_bytes: self.max_text_bytes,
                ..Limits::default()
            },
            thumbnails: self.thumbnails.clone(),
            office: self.office.clone(),
            office_conversions: self.office_conversions,
            keep_text: true,
            password: password.cloned(),
            ocr,
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
        self.extract_document(path, name, password, true).await
    }

    /// As [`Sandbox::extract_with_password`]; without `ocr`, no page or image is OCRed (a photograph, which
    /// its sender declared as such: its record says `ocr: needed` where it would have had OCR).
    pub async fn extract_document(
        &self,
        path: &Path,
        name: &str,
        password: Option<&Password>,
        ocr: bool,
    ) -> Extraction {
        let started = Instant::now();
        let mut extraction = match &self.isolation {
            Isolation::InProcess => {
                let (owned_path, owned_name, options) =
                    (path.to_path_buf(), name.to_string(), self.options(password, ocr));
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
            Isolation::ChildProcess { program } => {
                let answered = match (&self.warm, password) {
                    (Some(pool), None) => pool.extract(self, program, path, name, ocr).await,
                    _ => self.run_child(program, path, name, password, ocr).await,
                };
                match answered {
                    Ok(e) => e,
                    Err(error) => failure(path, name, error.kind, error.message),
                }
            }
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
        ocr: bool,
    ) -> Result<Extraction, ExtractError> {
        let scratch = tempfile::tempdir()
            .map_err(|e| ExtractError::new(ExtractErrorKind::Io, format!("no scratch folder for the parser: {e}")))?;
        let thumbnail_dir = scratch.path().join("thumbnails");
        let form_dir = scratch.path().join("form");
        let text_file = scratch.path().join("text");
        std::fs::create_dir(&form_dir)
            .map_err(|e| ExtractError::new(ExtractErrorKind::Io, format!("no scratch folder for the form: {e}")))?;
        let mut command = tokio::process::Command::new(program);
        command.arg("extract-child").arg("--name").arg(name);
        command.arg("--text-file").arg(&text_file).arg("--max-text-bytes").arg(self.max_text_bytes.to_string());
        command.arg("--form-dir").arg(&form_dir);
        if !ocr {
            command.arg("--no-ocr");
        }
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
        command.arg("--").arg(path).stdin(Stdio::null());
        let mut child = spawn_isolated(command, program, ChildLimits::new(self), password)?;
        let group = child.id().map(|pid| ProcessGroup(pid as libc::pid_t));
        if let Some(pid) = child.id() {
            if let Err(refused) = self.check_network(pid) {
                drop(group);
                return Err(refused);
            }
        }
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let run = async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let read_out = async {
                if let Some(s) = stdout.as_mut() {
                    // One byte past the bound tells a record that is too long from one that fits.
                    let _ = s.take(MAX_RECORD_BYTES + 1).read_to_end(&mut out).await;
                }
            };
            let read_err = async {
                if let Some(s) = stderr.as_mut() {
                    // Enough to classify a crash; a chatty parser cannot fill memory.
                    let _ = s.take(64 * 1024).read_to_end(&mut err).await;
                }
            };
            tokio::join!(read_out, read_err);
            if out.len() as u64 > MAX_RECORD_BYTES {
                // Stop it now: what it says past the bound is not read.
                let _ = child.start_kill();
            }
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
        if out.len() as u64 > MAX_RECORD_BYTES {
            return Err(ExtractError::new(
                ExtractErrorKind::TooLarge,
                format!("the parser process answered more than {} MiB of record", MAX_RECORD_BYTES >> 20),
            ));
        }
        let status = status
            .map_err(|e| ExtractError::new(ExtractErrorKind::Crashed, format!("lost the parser process: {e}")))?;
        let stderr_text = String::from_utf8_lossy(&err);
        if !status.success() {
            return Err(classify_exit(status, &stderr_text, self));
        }
        self.read_answer(&out, &stderr_text, &Scratch { text_file, thumbnail_dir, form_dir }).await
    }

    /// What a parser process answered for one document: its record (`out`, JSON), then the text, the
    /// thumbnails and the form it wrote into `scratch`, each read through its bound.
    pub(crate) async fn read_answer(
        &self,
        out: &[u8],
        stderr_text: &str,
        scratch: &Scratch,
    ) -> Result<Extraction, ExtractError> {
        let Scratch { text_file, thumbnail_dir, form_dir } = scratch;
        let mut record: Record = serde_json::from_slice(out).map_err(|e| {
            ExtractError::new(
                ExtractErrorKind::Crashed,
                format!("the parser process answered nonsense ({e}); stderr: {}", tail(stderr_text)),
            )
        })?;
        let mut text = match record.text.take() {
            Some(inline) => inline,
            None => read_bounded_text(text_file, self.max_text_bytes).await?,
        };
        if let Some(found) = folio_extract::cut_text(&mut text, self.max_text_bytes) {
            record.text_cut_from_bytes = Some(record.text_cut_from_bytes.unwrap_or(found).max(found));
        }
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
            match read_bounded(&thumbnail_dir.join(thumbnail.file_name()), MAX_THUMBNAIL_BYTES).await {
                Ok(Some(bytes)) => {
                    thumbnail.bytes = bytes;
                    thumbnails.push(thumbnail);
                }
                Ok(None) => tracing::warn!(size = made.max_side, "a thumbnail the parser wrote is over its bound"),
                Err(e) => tracing::warn!(size = made.max_side, error = %e, "a thumbnail the parser listed is missing"),
            }
        }
        record.thumbnail = None;
        let (structure, pictures) = read_form(form_dir, self.max_text_bytes).await;
        Ok(Extraction { record, text, thumbnails, structure, pictures })
    }
}

/// Where a parser process writes what it found of one document.
pub(crate) struct Scratch {
    pub text_file: PathBuf,
    pub thumbnail_dir: PathBuf,
    pub form_dir: PathBuf,
}

/// The form the child wrote, read through its bounds: the structure ([`max_structure_bytes`], then held to
/// [`Structure::cut`]'s), each picture it names ([`MAX_PICTURE_BYTES`], from the file name the parent expects,
/// a PNG of the size the structure says). A picture that is missing or over its bound is left out with the
/// blocks that show it; a structure that is over its bound or does not parse is left out (the text remains).
async fn read_form(dir: &Path, max_text_bytes: u64) -> (Option<Structure>, Vec<Picture>) {
    let mut structure: Structure = match read_bounded(&dir.join(STRUCTURE_FILE), max_structure_bytes(max_text_bytes))
        .await
    {
        Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
            Ok(structure) => structure,
            Err(e) => {
                tracing::warn!(error = %e, "the structure the parser wrote does not parse; the text is set instead");
                return (None, Vec::new());
            }
        },
        Ok(None) => {
            tracing::warn!("the structure the parser wrote is over its bound; the text is set instead");
            return (None, Vec::new());
        }
        Err(_) => return (None, Vec::new()),
    };
    structure.cut();
    let mut pictures = Vec::new();
    let mut kept = Vec::new();
    for (index, reference) in structure.pictures.iter_mut().enumerate() {
        let name = Picture::file_name(index);
        let read = read_bounded(&dir.join(&name), MAX_PICTURE_BYTES).await.ok().flatten();
        let png = read.filter(|bytes| png_size(bytes) == Some((reference.width, reference.height)));
        kept.push(png.is_some());
        if let Some(png) = png {
            reference.location = name;
            pictures.push(Picture { png, width: reference.width, height: reference.height });
        } else {
            tracing::warn!(
                picture = index + 1,
                "a picture the parser listed is missing, over its bound or not the PNG it says"
            );
        }
    }
    structure.keep_pictures(&kept);
    (Some(structure), pictures)
}

/// The width and height a PNG's header gives.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((be(16), be(20)))
}

/// A file's content when it has at most `limit` bytes; `None` when it has more (only `limit + 1` are read).
async fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = tokio::fs::File::open(path).await?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).await?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// The text the child wrote: at most `limit` bytes of it are read (the child cuts it already; this holds
/// whatever the child does), cut at a character boundary. No file: no text.
async fn read_bounded_text(path: &Path, limit: u64) -> Result<String, ExtractError> {
    let file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(ExtractError::new(ExtractErrorKind::Io, format!("reading the parser's text: {e}"))),
    };
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ExtractError::new(ExtractErrorKind::Io, format!("reading the parser's text: {e}")))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            // Over the bound, the last character may be cut in two: keep what decodes.
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes)
                .map_err(|e| ExtractError::new(ExtractErrorKind::Crashed, format!("the parser's text: {e}")))
        }
    }
}

/// Starts a parser process: `command` (its arguments set) with stdout and stderr piped, killed when dropped,
/// nothing of this process's environment but the allowlist (no database URL, token or key), and `limits`
/// applied between fork and exec (its own process group, rlimits, network namespace, no new privileges);
/// with `password`, that document's password in [`CHILD_PASSWORD_ENV`].
pub(crate) fn spawn_isolated(
    mut command: tokio::process::Command,
    program: &Path,
    limits: ChildLimits,
    password: Option<&Password>,
) -> Result<tokio::process::Child, ExtractError> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true).env_clear();
    for (key, value) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| CHILD_ENV_ALLOWLIST.contains(&k)) {
            command.env(key, value);
        }
    }
    if let Some(password) = password {
        command.env(CHILD_PASSWORD_ENV, password.as_str());
    }
    // The packs Tesseract has, asked once by this process instead of once by every parser process.
    let packs = folio_extract::ocr_languages();
    if !packs.is_empty() {
        command.env(folio_extract::TESSERACT_LANGUAGES_ENV, packs.join(","));
    }
    // pdftoppm and friends started by the child must not inherit threads it does not need.
    command.env("OMP_THREAD_LIMIT", "1").env("RUST_BACKTRACE", "0");
    // SAFETY: only async-signal-safe calls (setpgid, setrlimit, unshare, open, write, close, prctl) on memory
    // prepared before the fork; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(move || limits.apply());
    }
    command.spawn().map_err(|e| {
        ExtractError::new(
            ExtractErrorKind::Crashed,
            format!("could not start the parser process {}: {e}", program.display()),
        )
    })
}

impl Sandbox {
    /// Whether parser process `pid` may go on: it has a network namespace of its own, or it has not and this
    /// is allowed (warned once); an error when `require_network_isolation` refuses it.
    pub(crate) fn check_network(&self, pid: u32) -> Result<(), ExtractError> {
        if !own_network(pid) {
            if self.require_network_isolation {
                return Err(ExtractError::new(
                    ExtractErrorKind::Crashed,
                    "the parser process could not be given a network namespace of its own, and \
                     extract.require_network_isolation is set (see docs/SECURITY.md)",
                ));
            }
            warn_once_shared_network();
        }
        Ok(())
    }
}

/// Whether process `pid` is in a network namespace other than this process's.
fn own_network(pid: u32) -> bool {
    match (std::fs::read_link(format!("/proc/{pid}/ns/net")), std::fs::read_link("/proc/self/ns/net")) {
        (Ok(child), Ok(parent)) => child != parent,
        // The child already exited (it may have, when the file was quick): it was checked on an earlier one.
        _ => true,
    }
}

fn warn_once_shared_network() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "parser processes share this process's network: the kernel gave them no network namespace (no \
             CAP_SYS_ADMIN and no user namespaces here). Block their traffic around the process instead (the \
             chart's NetworkPolicy), or set extract.require_network_isolation to refuse to parse without one; \
             see docs/SECURITY.md"
        )
    });
}

/// The limits a parser process puts on itself between fork and exec, prepared before the fork (nothing may
/// allocate after it).
#[derive(Clone)]
pub(crate) struct ChildLimits {
    memory_bytes: u64,
    cpu_secs: u64,
    max_write_bytes: u64,
    /// `/proc/self/uid_map`, `gid_map` and `setgroups` lines mapping this user to itself in a user
    /// namespace, for the unprivileged way to a network namespace.
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

impl ChildLimits {
    fn new(sandbox: &Sandbox) -> Self {
        // SAFETY: plain syscalls without arguments.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        Self {
            memory_bytes: sandbox.memory_bytes,
            cpu_secs: sandbox.cpu_secs.max(1),
            max_write_bytes: sandbox.max_write_bytes,
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
        }
    }

    /// The limits of a warm process that reads up to `documents` documents: its CPU time is theirs together
    /// (the wall-clock limit still stops each one).
    pub(crate) fn for_documents(sandbox: &Sandbox, documents: u32) -> Self {
        let mut limits = Self::new(sandbox);
        limits.cpu_secs = limits.cpu_secs.saturating_mul(u64::from(documents.max(1)));
        limits
    }

    /// Runs in the child, after fork and before exec.
    pub(crate) fn apply(&self) -> std::io::Result<()> {
        let fail = || Err(std::io::Error::last_os_error());
        // SAFETY: async-signal-safe syscalls on memory prepared before the fork.
        unsafe {
            // Its own process group, so a timeout ends the renderers it started too.
            if libc::setpgid(0, 0) != 0 {
                return fail();
            }
            let limit = |resource, value: u64| {
                let limit = libc::rlimit { rlim_cur: value as libc::rlim_t, rlim_max: value as libc::rlim_t };
                libc::setrlimit(resource, &limit) == 0
            };
            if !limit(libc::RLIMIT_AS, self.memory_bytes)
                || !limit(libc::RLIMIT_CPU, self.cpu_secs)
                || !limit(libc::RLIMIT_FSIZE, self.max_write_bytes)
                || !limit(libc::RLIMIT_CORE, 0)
            {
                return fail();
            }
            // No network: a namespace of its own (as root, or with CAP_SYS_ADMIN), else inside a user
            // namespace that maps this user to itself (unprivileged, where the kernel allows it). When both
            // are refused the parent sees it (the namespace is the same as its own) and decides.
            if libc::unshare(libc::CLONE_NEWNET) != 0 && libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0 {
                write_proc(c"/proc/self/setgroups", b"deny");
                write_proc(c"/proc/self/uid_map", &self.uid_map);
                write_proc(c"/proc/self/gid_map", &self.gid_map);
            }
            // No setuid or file-capability program run from here on gains a privilege.
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return fail();
            }
        }
        Ok(())
    }
}

/// Writes `bytes` to a file of /proc, ignoring failure (the caller checks the outcome another way).
///
/// # Safety
/// Async-signal-safe: open, write and close only.
unsafe fn write_proc(path: &std::ffi::CStr, bytes: &[u8]) {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd >= 0 {
        libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        libc::close(fd);
    }
}

/// A parser's process group, killed when dropped (at a timeout, or once the parser has exited).
#[derive(Debug)]
pub(crate) struct ProcessGroup(pub(crate) libc::pid_t);

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
pub(crate) fn classify_exit(status: std::process::ExitStatus, stderr: &str, limits: &Sandbox) -> ExtractError {
    use std::os::unix::process::ExitStatusExt;
    let out_of_memory = stderr.contains("memory allocation of")
        || stderr.contains("out of memory")
        || stderr.contains("Cannot allocate memory");
    if out_of_memory {
        return ExtractError::new(
            ExtractErrorKind::OutOfMemory,
            format!("needed more than the {} MiB memory limit", limits.memory_bytes >> 20),
        );
    }
    match status.signal() {
        Some(libc::SIGXCPU) => {
            return ExtractError::new(
                ExtractErrorKind::Timeout,
                format!("used more than its {} s of CPU time and was stopped", limits.cpu_secs),
            )
        }
        Some(libc::SIGXFSZ) => {
            return ExtractError::new(
                ExtractErrorKind::TooLarge,
                format!("tried to write a file larger than {} MiB and was stopped", limits.max_write_bytes >> 20),
            )
        }
        _ => {}
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
    Extraction { record, text: String::new(), thumbnails: Vec::new(), structure: None, pictures: Vec::new() }
}

/// Peak resident memory of this process and of the tools it waited for (renderer, OCR), in KiB: the
/// larger of the two, since they ran one after the other.
fn peak_memory_kib() -> Option<u64> {
    // This process's peak since the document began (reset by `start_memory_peak`), and its tools' own.
    let own = proc_status_kib("self", "VmHWM");
    let own = own.or_else(|| {
        // SAFETY: getrusage writes into the struct we hand it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        (unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0).then_some(usage.ru_maxrss.max(0) as u64)
    })?;
    Some(own.max(folio_extract::tools_peak_kib()))
}

/// A memory figure of `/proc/<process>/status` (`VmRSS`, `VmHWM`), in KiB; `process` is a pid or `self`.
pub(crate) fn proc_status_kib(process: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    let line = status.lines().find(|l| l.strip_prefix(field).is_some_and(|rest| rest.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Starts the peak of [`peak_memory_kib`] anew: a warm parser process reads many documents, and each
/// record's `peak_memory_kib` is its own document's. Linux resets a process's peak resident set (VmHWM) when
/// 5 is written to its `clear_refs`; where that is refused, the peak is the process's so far.
fn start_memory_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    folio_extract::reset_tools_peak();
}

/// What the parent asks of `folio extract-child`.
#[derive(Debug, Clone)]
pub struct ChildRequest {
    /// The name to record the file under.
    pub name: String,
    /// Thumbnails to make, written into `thumbnail_dir` (none without one).
    pub thumbnails: ThumbnailSpec,
    pub thumbnail_dir: Option<PathBuf>,
    /// Where to write the text; without it the text goes in the record on stdout.
    pub text_file: Option<PathBuf>,
    /// Where to write the document's form: `structure.json` and its pictures (`picture-N.png`); none without.
    pub form_dir: Option<PathBuf>,
    /// OCR nothing (a declared photograph).
    pub no_ocr: bool,
    /// Most text kept, in bytes.
    pub max_text_bytes: Option<u64>,
    /// LibreOffice, for DOCX renderings.
    pub office: Option<PathBuf>,
    pub office_timeout: Option<Duration>,
    /// Conversions one LibreOffice kept running in this process makes (a warm parser process); 0 for a
    /// one-shot process, which starts one per conversion.
    pub office_conversions: u32,
    /// The document's password, from [`CHILD_PASSWORD_ENV`] (see [`take_password_env`]).
    pub password: Option<Password>,
}

/// The child's side: `folio extract-child`. Writes each thumbnail as `<max_side>.<format>` into the
/// thumbnail folder, lists them in the record's `thumbnails` under those names, writes the text into the
/// text file, and prints the record as one JSON line (with the text in it when no text file was given).
pub fn child_main(path: &Path, request: ChildRequest) -> std::io::Result<()> {
    let thumbnails = if request.thumbnail_dir.is_some() { request.thumbnails } else { ThumbnailSpec::none() };
    let mut limits = Limits::default();
    if let Some(timeout) = request.office_timeout {
        limits.office_timeout = timeout;
    }
    if let Some(max) = request.max_text_bytes {
        limits.max_text_bytes = max;
    }
    let options = Options {
        limits,
        thumbnails,
        office: request.office,
        office_conversions: request.office_conversions,
        keep_text: false,
        password: request.password,
        ocr: !request.no_ocr,
        ..Options::default()
    };
    start_memory_peak();
    let mut extraction = folio_extract::extract_path(path, &options);
    extraction.record.path = request.name;
    match &request.text_file {
        Some(file) => std::fs::write(file, extraction.text.as_bytes())?,
        None => extraction.record.text = Some(std::mem::take(&mut extraction.text)),
    }
    extraction.record.peak_memory_kib = peak_memory_kib();
    if let (Some(dir), Some(structure)) = (&request.form_dir, &extraction.structure) {
        for (index, picture) in extraction.pictures.iter().enumerate() {
            std::fs::write(dir.join(folio_extract::Picture::file_name(index)), &picture.png)?;
        }
        std::fs::write(dir.join(STRUCTURE_FILE), serde_json::to_vec(structure).map_err(std::io::Error::other)?)?;
    }
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
