//! Runs each extraction in a child process of the `folio` binary, so that a parser that panics, aborts,
//! overflows its stack, loops or eats memory costs that one document its record, never the worker.
//!
//! The child is `folio extract-child` (or a warm `folio extract-server`, [`super::pool`]): it reads one file
//! and answers on its stdout the record, the text, the form and the thumbnails ([`super::answer`]); the
//! parent reads each through its bound before buffering it (the record, the text at `max_text_bytes`, each
//! thumbnail and picture), and at most 64 KiB of its stderr. Nothing passes through a scratch file.
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

use super::answer::{self, Asked, Measured, Unread};
use folio_core::{ExtractError, ExtractErrorKind, Record};
use folio_extract::{Extraction, Limits, Options, Password, ThumbnailSpec};
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
    "FOLIO_LIBTESSERACT",
    "FOLIO_DJPEG",
];

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
        self.extract_measured(path, name, password, ocr).await.extraction
    }

    /// As [`Sandbox::extract_document`], with the parser's own time on the document (apart from its process's
    /// start and hand-back), to the microsecond where the parser said it.
    pub async fn extract_measured(&self, path: &Path, name: &str, password: Option<&Password>, ocr: bool) -> Measured {
        match self.extract_measured_unless(path, name, password, ocr, None).await {
            Some(measured) => measured,
            None => failure(path, name, ExtractErrorKind::Crashed, "given up before its parser began".into()),
        }
    }

    /// As [`Sandbox::extract_measured`]; `None` when `stopping` is cancelled while the document waits for a
    /// warm parser to finish the one before it (it was not read, and costs nothing).
    pub async fn extract_measured_unless(
        &self,
        path: &Path,
        name: &str,
        password: Option<&Password>,
        ocr: bool,
        stopping: Option<&tokio_util::sync::CancellationToken>,
    ) -> Option<Measured> {
        let started = Instant::now();
        let mut measured = match &self.isolation {
            Isolation::InProcess => {
                // This process keeps the OCR engines from one document to the next, as a warm parser does.
                folio_extract::load_ocr_ahead(false);
                let (owned_path, owned_name, options) =
                    (path.to_path_buf(), name.to_string(), self.options(password, ocr));
                let timeout = self.timeout;
                let task = tokio::task::spawn_blocking(move || {
                    let parsing = Instant::now();
                    let mut e = folio_extract::extract_path(&owned_path, &options);
                    e.record.path = owned_name;
                    Measured { extraction: e, parser: Some(parsing.elapsed()), waited: Duration::ZERO }
                });
                match tokio::time::timeout(timeout, task).await {
                    Ok(Ok(measured)) => measured,
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
                    (Some(pool), None) => pool.extract(self, program, path, name, ocr, stopping).await?,
                    _ => self.run_child(program, path, name, password, ocr).await,
                };
                match answered {
                    Ok(measured) => measured,
                    Err(error) => failure(path, name, error.kind, error.message),
                }
            }
        };
        let record = &mut measured.extraction.record;
        if record.elapsed_ms == 0 {
            record.elapsed_ms = started.elapsed().saturating_sub(measured.waited).as_millis() as u64;
        }
        Some(measured)
    }

    /// Documents a worker may send to each of its parsers at once: two where warm processes read them (the
    /// next one's request written while the one before is read, [`super::pool`]), one where each document
    /// has a process of its own or is read in this process.
    pub fn documents_a_parser_takes(&self) -> usize {
        match (&self.isolation, &self.warm, &self.password) {
            (Isolation::ChildProcess { .. }, Some(_), None) => 2,
            _ => 1,
        }
    }

    /// Asks Tesseract for its packs once for this process (`tesseract --list-langs`, tens of milliseconds), on
    /// a thread of its own, so that the parser processes started from then on are told instead of asking:
    /// for a long-running worker, and for one-shot parser processes (each would ask). A short command whose
    /// warm parser may never OCR does not ask.
    pub fn ask_ocr_languages(&self) {
        std::thread::spawn(|| {
            let _ = folio_extract::ocr_languages();
        });
    }

    /// What a parser process is asked for, and so the bounds its answer is read through.
    pub(crate) fn asked(&self) -> Asked {
        Asked { max_text_bytes: self.max_text_bytes, thumbnails: self.thumbnails.clone() }
    }

    async fn run_child(
        &self,
        program: &Path,
        path: &Path,
        name: &str,
        password: Option<&Password>,
        ocr: bool,
    ) -> Result<Measured, ExtractError> {
        let mut command = tokio::process::Command::new(program);
        command.arg("extract-child").arg("--name").arg(name);
        command.arg("--max-text-bytes").arg(self.max_text_bytes.to_string());
        if !ocr {
            command.arg("--no-ocr");
        }
        let sizes = self.thumbnails.sizes_largest_first();
        if !sizes.is_empty() {
            let sizes: Vec<String> = sizes.iter().map(u32::to_string).collect();
            command.arg("--sizes").arg(sizes.join(",")).arg("--format").arg(self.thumbnails.format.as_str());
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
        let stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let asked = self.asked();
        let run = async {
            let mut err = Vec::new();
            let read_out = async {
                let mut stdout = tokio::io::BufReader::new(stdout?);
                let answer = answer::read(&mut stdout, &asked).await;
                if let (Err(Unread::TooLarge(_)), Some(group)) = (&answer, &group) {
                    // Stop it now (its stderr then ends too): what it says past its answer is not read.
                    group.kill();
                }
                // Whatever it writes after its answer is not read: it ends on a closed pipe.
                drop(stdout);
                Some(answer)
            };
            let read_err = async {
                if let Some(s) = stderr.as_mut() {
                    // Enough to classify a crash; a chatty parser cannot fill memory.
                    let _ = s.take(64 * 1024).read_to_end(&mut err).await;
                }
            };
            let (answer, ()) = tokio::join!(read_out, read_err);
            let status = child.wait().await;
            (status, answer, err)
        };
        let (status, answer, err) = match tokio::time::timeout(self.timeout, run).await {
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
        let stderr_text = String::from_utf8_lossy(&err);
        let answer = answer.unwrap_or(Err(Unread::Ended));
        if let Err(Unread::TooLarge(message)) = answer {
            return Err(ExtractError::new(ExtractErrorKind::TooLarge, message));
        }
        let status = status
            .map_err(|e| ExtractError::new(ExtractErrorKind::Crashed, format!("lost the parser process: {e}")))?;
        if !status.success() {
            return Err(classify_exit(status, &stderr_text, self));
        }
        answer.map_err(|unread| unread.into_error(&stderr_text))?.into_extraction(&asked, &stderr_text)
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
    // The packs Tesseract has, asked once by this process instead of once by every parser process, where it
    // has asked (see [`Sandbox::ask_ocr_languages`]); else the parser asks itself, only if it OCRs.
    if let Some(packs) = folio_extract::ocr_languages_known().filter(|p| !p.is_empty()) {
        command.env(folio_extract::TESSERACT_LANGUAGES_ENV, packs.join(","));
    }
    // Tesseract's library in the child, and pdftoppm and friends it starts, read with one OpenMP thread.
    let (threads, one) = folio_extract::OCR_THREADS_ENV;
    command.env(threads, one).env("RUST_BACKTRACE", "0");
    // SAFETY: only async-signal-safe calls (setpgid, setrlimit, unshare, open, write, close, prctl) on memory
    // prepared before the fork; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(move || limits.apply());
    }
    let child = command.spawn().map_err(|e| {
        ExtractError::new(
            ExtractErrorKind::Crashed,
            format!("could not start the parser process {}: {e}", program.display()),
        )
    })?;
    if let Some(stdout) = &child.stdout {
        // A pipe of 1 MiB (the most Linux gives without privilege) instead of 64 KiB: a thumbnail crosses it
        // in one or two hand-overs instead of a dozen. Refused: the default stays.
        use std::os::fd::AsRawFd;
        // SAFETY: plain fcntl on a descriptor this process owns.
        unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES) };
    }
    Ok(child)
}

/// The size asked for a parser process's stdout pipe.
const PIPE_BYTES: libc::c_int = 1 << 20;

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

impl ProcessGroup {
    /// Kills every process of the group.
    pub(crate) fn kill(&self) {
        // SAFETY: plain syscall; the group id is the child's pid, set by setpgid before exec.
        unsafe {
            libc::kill(-self.0, libc::SIGKILL);
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
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
    ExtractError::new(ExtractErrorKind::Crashed, format!("the parser {why}: {}", answer::tail(stderr)))
}

fn failure(path: &Path, name: &str, kind: ExtractErrorKind, message: String) -> Measured {
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
    let extraction =
        Extraction { record, text: String::new(), thumbnails: Vec::new(), structure: None, pictures: Vec::new() };
    Measured { extraction, parser: None, waited: Duration::ZERO }
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
    /// Thumbnails to make (none when it lists no size).
    pub thumbnails: ThumbnailSpec,
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

/// The child's side: `folio extract-child` (and each document of `folio extract-server`). Extracts the file
/// and writes its answer on `out` ([`answer::write`]): the record, then the text, the form and the
/// thumbnails.
pub fn child_main(path: &Path, request: ChildRequest, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut limits = Limits::default();
    if let Some(timeout) = request.office_timeout {
        limits.office_timeout = timeout;
    }
    if let Some(max) = request.max_text_bytes {
        limits.max_text_bytes = max;
    }
    let options = Options {
        limits,
        thumbnails: request.thumbnails,
        office: request.office,
        office_conversions: request.office_conversions,
        keep_text: false,
        password: request.password,
        ocr: !request.no_ocr,
        ..Options::default()
    };
    start_memory_peak();
    let parsing = Instant::now();
    let mut extraction = folio_extract::extract_path(path, &options);
    let parser = parsing.elapsed();
    extraction.record.path = request.name;
    extraction.record.peak_memory_kib = peak_memory_kib();
    answer::write(out, extraction, parser)
}
