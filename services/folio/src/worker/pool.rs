//! Warm parser processes: the isolation of [`super::sandbox`] without a process start per document.
//!
//! A warm process is `folio extract-server`, started as a one-shot parser is (cleared environment and its
//! allowlist, its own process group and network namespace, `RLIMIT_AS`, `RLIMIT_FSIZE`, no core, no new
//! privileges, killed with its group when dropped), that reads one request per line on stdin (the file and
//! what to make of it), extracts it as `folio extract-child` would, and answers on stdout as it does
//! ([`super::answer`]: the record's line, then the text, form and thumbnails, each read through its bound).
//! The worker keeps it for the next document unless:
//! - it has read [`WarmPool::documents_per_process`] documents (then it is replaced: what a parser leaks or
//!   leaves behind lives that long at most);
//! - its resident memory has passed [`WarmPool::recycle_bytes`];
//! - anything went wrong: a timeout (its whole group is killed), a crash, an answer past its bound. Each is
//!   that document's typed error, as with a one-shot process, and the next document gets a new process.
//!
//! What differs from a one-shot process: `RLIMIT_CPU` bounds a process's life, so it is the one-shot limit
//! times the documents a process may read (the wall-clock limit still stops each document); a document with
//! a password is read by a one-shot process (its password must not stay in a process that reads the next
//! document); and each document's peak memory is measured from its start (`/proc/self/clear_refs`), so a
//! record's `peak_memory_kib` is its own where the kernel allows the reset, the process's so far where not.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use folio_core::{ExtractError, ExtractErrorKind, ThumbnailFormat};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

use super::answer::{self, Measured, Unread};
use super::sandbox::{classify_exit, spawn_isolated, ChildLimits, ProcessGroup, Sandbox};

/// One document, as the worker asks a warm process for it (one JSON line on its stdin).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WarmRequest {
    pub file: PathBuf,
    pub name: String,
    /// Thumbnails' longest sides (none when empty).
    pub sizes: Vec<u32>,
    pub format: ThumbnailFormat,
    pub max_text_bytes: u64,
    pub office: Option<PathBuf>,
    pub office_timeout_secs: u64,
    /// Conversions the LibreOffice this process keeps running makes before it is replaced.
    pub office_conversions: u32,
    pub no_ocr: bool,
}

/// The most stderr kept of a warm process: its last 64 KiB, to tell why it died.
const STDERR_KEPT: usize = 64 * 1024;

/// Warm parser processes of one program, shared by a worker's documents.
#[derive(Debug)]
pub struct WarmPool {
    idle: Mutex<Vec<WarmProcess>>,
    /// Documents a process reads before it is replaced.
    pub documents_per_process: u32,
    /// Resident memory (bytes) past which a process is replaced after its document.
    pub recycle_bytes: u64,
}

#[derive(Debug)]
struct WarmProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    /// The task reading stderr: awaited when the process died, so that its last words are in.
    stderr_reader: tokio::task::JoinHandle<()>,
    pid: u32,
    documents: u32,
    /// Whether it OCRed a document: its replacement then loads the OCR engines at its start.
    ocred: bool,
    /// Dropped last: kills the process's whole group (it and the tools it started).
    _group: ProcessGroup,
}

impl WarmProcess {
    fn stderr_text(&self) -> String {
        let kept = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&kept.iter().copied().collect::<Vec<u8>>()).into_owned()
    }
}

impl WarmPool {
    pub fn new(documents_per_process: u32, recycle_bytes: u64) -> Self {
        Self { idle: Mutex::new(Vec::new()), documents_per_process: documents_per_process.max(1), recycle_bytes }
    }

    /// The processes waiting for a document (for tests and metrics).
    pub fn idle_pids(&self) -> Vec<u32> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|p| p.pid).collect()
    }

    fn take(&self) -> Option<WarmProcess> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn give_back(&self, process: WarmProcess) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(process);
    }

    /// Starts a warm process of `program` under the sandbox's limits; one that will likely OCR (`prepare_ocr`:
    /// the one it replaces did) loads the OCR engines at its start, beside its first documents.
    fn spawn(&self, sandbox: &Sandbox, program: &Path, prepare_ocr: bool) -> Result<WarmProcess, ExtractError> {
        let mut command = tokio::process::Command::new(program);
        command.arg("extract-server").stdin(Stdio::piped());
        if prepare_ocr {
            command.arg("--prepare-ocr");
        }
        let limits = ChildLimits::for_documents(sandbox, self.documents_per_process);
        let mut child = spawn_isolated(command, program, limits, None)?;
        let pid = child
            .id()
            .ok_or_else(|| ExtractError::new(ExtractErrorKind::Crashed, "the parser process ended at once"))?;
        let group = ProcessGroup(pid as libc::pid_t);
        sandbox.check_network(pid)?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ExtractError::new(ExtractErrorKind::Crashed, "the parser process has no pipes"));
        };
        widen_answer_pipe(&stdout);
        // Read its stderr as it comes (a chatty parser never blocks on a full pipe), keeping the last part.
        let kept = Arc::new(Mutex::new(VecDeque::new()));
        let sink = kept.clone();
        let stderr_reader = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut kept = sink.lock().unwrap_or_else(|p| p.into_inner());
                kept.extend(&buf[..n]);
                let over = kept.len().saturating_sub(STDERR_KEPT);
                kept.drain(..over);
            }
        });
        Ok(WarmProcess {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr: kept,
            stderr_reader,
            pid,
            documents: 0,
            ocred: false,
            _group: group,
        })
    }

    /// Extracts one document in a warm process (started if none is waiting), as
    /// [`Sandbox::extract_document`] does in a one-shot one.
    pub(crate) async fn extract(
        &self,
        sandbox: &Sandbox,
        program: &Path,
        path: &Path,
        name: &str,
        ocr: bool,
    ) -> Result<Measured, ExtractError> {
        let request = WarmRequest {
            file: path.to_path_buf(),
            name: name.to_string(),
            sizes: sandbox.thumbnails.sizes_largest_first(),
            format: sandbox.thumbnails.format,
            max_text_bytes: sandbox.max_text_bytes,
            office: sandbox.office.clone(),
            office_timeout_secs: sandbox.office_timeout.as_secs().max(1),
            office_conversions: sandbox.office_conversions,
            no_ocr: !ocr,
        };
        let mut line = serde_json::to_vec(&request)
            .map_err(|e| ExtractError::new(ExtractErrorKind::Crashed, format!("the parser request: {e}")))?;
        line.push(b'\n');

        // A waiting process may have died meanwhile (killed for memory by the kernel): then a new one.
        let waiting = match self.take() {
            Some(mut waiting) => send(&mut waiting, &line).await.then_some(waiting),
            None => None,
        };
        let mut process = match waiting {
            Some(waiting) => waiting,
            None => {
                let mut fresh = self.spawn(sandbox, program, false)?;
                if !send(&mut fresh, &line).await {
                    return Err(self.died(fresh, sandbox).await);
                }
                fresh
            }
        };

        let asked = sandbox.asked();
        let answered = match tokio::time::timeout(sandbox.timeout, answer::read(&mut process.stdout, &asked)).await {
            Err(_) => {
                // Dropped: its group is killed.
                drop(process);
                return Err(ExtractError::new(
                    ExtractErrorKind::Timeout,
                    format!("took longer than the {} s limit and was stopped", sandbox.timeout.as_secs()),
                ));
            }
            Ok(Err(Unread::Ended)) => return Err(self.died(process, sandbox).await),
            Ok(Err(unread)) => {
                // Past a bound, nonsense, or a broken pipe: the process is not trusted with another document.
                let error = unread.into_error(&process.stderr_text());
                drop(process);
                return Err(error);
            }
            Ok(Ok(answered)) => answered,
        };
        process.documents += 1;
        let answer = answered.into_extraction(&asked, &process.stderr_text());
        if let Ok(measured) = &answer {
            process.ocred |= measured.extraction.record.ocr == folio_core::OcrStatus::Applied;
        }
        let worn = process.documents >= self.documents_per_process
            || resident_bytes(process.pid).is_some_and(|bytes| bytes > self.recycle_bytes);
        if answer.is_ok() && !worn {
            self.give_back(process);
        } else {
            let ocred = process.ocred;
            drop(process);
            // The next document should not pay for the start: a new process waits for it.
            if let Ok(fresh) = self.spawn(sandbox, program, ocred) {
                self.give_back(fresh);
            }
        }
        answer
    }

    /// Why a process that stopped answering died: its exit status and stderr, as for a one-shot process.
    async fn died(&self, mut process: WarmProcess, sandbox: &Sandbox) -> ExtractError {
        let status = tokio::time::timeout(std::time::Duration::from_secs(2), process.child.wait()).await;
        // Its stderr closes when it (and the tools it started) are gone: what it said last is read by then.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), &mut process.stderr_reader).await;
        let stderr = process.stderr_text();
        match status {
            Ok(Ok(status)) => classify_exit(status, &stderr, sandbox),
            _ => ExtractError::new(ExtractErrorKind::Crashed, "the parser process stopped answering"),
        }
    }
}

/// Writes a request; `false` when the process is gone.
async fn send(process: &mut WarmProcess, line: &[u8]) -> bool {
    process.stdin.write_all(line).await.is_ok() && process.stdin.flush().await.is_ok()
}

/// A process's resident memory, from `/proc/<pid>/statm` (its second field, in pages: the kernel writes
/// those few numbers for less than `status`'s fifty lines, and this is read after every document).
fn resident_bytes(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system setting.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages.saturating_mul(u64::try_from(page).ok().filter(|p| *p > 0).unwrap_or(4096)))
}

/// The pipe a warm process answers through holds this much (Linux's `F_SETPIPE_SZ`, within the system's
/// `fs.pipe-max-size`, 1 MiB by default): a document's answer (its text, thumbnails and form, a few hundred
/// KiB) is written in one go rather than in the default 64 KiB, each part waiting for the worker to be
/// scheduled and read the one before.
const ANSWER_PIPE_BYTES: libc::c_int = 1 << 20;

/// Widens the pipe of `stdout` to [`ANSWER_PIPE_BYTES`] where the system allows it; where not, it stays as
/// it is (the answer is read all the same).
fn widen_answer_pipe(stdout: &ChildStdout) {
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETPIPE_SZ changes only the capacity of the pipe this open descriptor names.
    let _ = unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_SETPIPE_SZ, ANSWER_PIPE_BYTES) };
}

/// The warm process's side: `folio extract-server`. Reads one request per line until stdin closes, and
/// answers each on stdout as `folio extract-child` does.
pub fn server_main(prepare_ocr: bool) -> std::io::Result<()> {
    use std::io::BufRead;
    let stdin = std::io::stdin();
    let mut out = super::answer::output()?;
    let mut line = String::new();
    // Ready before the first request: a replacement process starts while the worker stores the document
    // before it.
    folio_extract::warm_up();
    folio_extract::load_ocr_ahead(prepare_ocr);
    loop {
        line.clear();
        if stdin.lock().read_line(&mut line)? == 0 {
            // The LibreOffice this process kept running goes with it.
            folio_extract::stop_warm_offices();
            return Ok(());
        }
        let request: WarmRequest = serde_json::from_str(&line).map_err(std::io::Error::other)?;
        let child = super::sandbox::ChildRequest {
            name: request.name,
            thumbnails: folio_extract::ThumbnailSpec { sizes: request.sizes, format: request.format },
            no_ocr: request.no_ocr,
            max_text_bytes: Some(request.max_text_bytes),
            office: request.office,
            office_timeout: Some(std::time::Duration::from_secs(request.office_timeout_secs)),
            office_conversions: request.office_conversions,
            password: None,
        };
        super::sandbox::child_main(&request.file, child, &mut out)?;
    }
}
