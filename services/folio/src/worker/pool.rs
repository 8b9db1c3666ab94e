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
//! Each process is driven by a lane (a task of its own). The documents asked for wait in one queue that
//! the lanes share; a lane takes the next one as soon as it has read its process's answer to the last, and
//! writes its request at once, in the same task: the parser goes from one answer to the next request
//! without waiting for the worker's task to be woken, store the answer and ask again, and a document never
//! waits behind a long one while another parser is free. A document's time limit runs from the moment its
//! parser begins on it; one given up while it waits in the queue (a worker stopping) is never sent.
//!
//! What differs from a one-shot process: `RLIMIT_CPU` bounds a process's life, so it is the one-shot limit
//! times the documents a process may read (the wall-clock limit still stops each document); a document with
//! a password is read by a one-shot process (its password must not stay in a process that reads the next
//! document); and each document's peak memory is measured from its start (`/proc/self/clear_refs`), so a
//! record's `peak_memory_kib` is its own where the kernel allows the reset, the process's so far where not.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use folio_core::{ExtractError, ExtractErrorKind, ThumbnailFormat};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::Mutex as AsyncMutex;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::answer::{self, Asked, Measured, Unread};
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
    /// CPU seconds this document may use (`extract.cpu_secs`): the process lowers its own `RLIMIT_CPU` to
    /// what it has used so far plus these before reading it (0: left as it is).
    #[serde(default)]
    pub cpu_secs: u64,
}

/// The most stderr kept of a warm process: its last 64 KiB, to tell why it died.
const STDERR_KEPT: usize = 64 * 1024;

/// Warm parser processes of one program, shared by a worker's documents: a lane each, and the queue of
/// documents they take from.
#[derive(Debug)]
pub struct WarmPool {
    lanes: Mutex<Lanes>,
    /// The most lanes (processes) at once: a worker sets its parsers; unbounded until then (a lane for each
    /// document asked for at once, as `folio extract --jobs` asks).
    most_lanes: AtomicUsize,
    /// Documents a process reads before it is replaced.
    pub documents_per_process: u32,
    /// Resident memory (bytes) past which a process is replaced after its document.
    pub recycle_bytes: u64,
}

#[derive(Debug, Default)]
struct Lanes {
    /// Each lane and its task (a task ended with its runtime is a lane gone: the next document makes another).
    lanes: Vec<(Arc<Lane>, tokio::task::JoinHandle<()>)>,
    /// Where documents are asked for, and what the lanes take them from (made with the first lane).
    queue: Option<(mpsc::UnboundedSender<Job>, SharedQueue)>,
    /// Documents asked for and not yet answered.
    outstanding: usize,
}

/// The end of the queue the lanes take documents from, one lane at a time.
type SharedQueue = Arc<AsyncMutex<mpsc::UnboundedReceiver<Job>>>;

/// One warm process's lane, as the pool sees it.
#[derive(Debug)]
struct Lane {
    /// The process the lane keeps (0: none).
    pid: AtomicU32,
    /// Whether it is reading a document.
    busy: std::sync::atomic::AtomicBool,
}

/// One document asked for.
#[derive(Debug)]
struct Job {
    line: Vec<u8>,
    asked: Asked,
    timeout: Duration,
    /// Told when a parser begins on it.
    began: oneshot::Sender<Instant>,
    answer: oneshot::Sender<Result<Measured, ExtractError>>,
}

/// What a lane needs to start and judge its processes: the first caller's sandbox, without the pool.
#[derive(Debug)]
struct LaneWork {
    sandbox: Sandbox,
    program: PathBuf,
    documents_per_process: u32,
    recycle_bytes: u64,
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
        Self {
            lanes: Mutex::new(Lanes::default()),
            most_lanes: AtomicUsize::new(usize::MAX),
            documents_per_process: documents_per_process.max(1),
            recycle_bytes,
        }
    }

    /// At most `parsers` processes at once; documents asked for beyond them wait in the queue for the first
    /// lane to be free.
    pub fn set_parsers(&self, parsers: usize) {
        self.most_lanes.store(parsers.max(1), Ordering::Relaxed);
    }

    /// The processes waiting for a document (for tests and metrics).
    pub fn idle_pids(&self) -> Vec<u32> {
        let lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes
            .lanes
            .iter()
            .map(|(lane, _)| lane)
            .filter(|l| !l.busy.load(Ordering::SeqCst))
            .map(|l| l.pid.load(Ordering::SeqCst))
            .filter(|pid| *pid != 0)
            .collect()
    }

    /// Puts a document in the queue, with a new lane to take it where every lane has one already and there
    /// may be more.
    fn ask(self: &Arc<Self>, job: Job, sandbox: &Sandbox, program: &Path) {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes.lanes.retain(|(_, task)| !task.is_finished());
        let (sender, receiver) = lanes.queue.get_or_insert_with(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            (sender, Arc::new(AsyncMutex::new(receiver)))
        });
        // The pool holds the receiving end too: the send cannot fail.
        let _ = sender.send(job);
        let receiver = receiver.clone();
        lanes.outstanding += 1;
        if lanes.outstanding > lanes.lanes.len() && lanes.lanes.len() < self.most_lanes.load(Ordering::Relaxed) {
            let lane = Arc::new(Lane { pid: AtomicU32::new(0), busy: std::sync::atomic::AtomicBool::new(false) });
            let work = LaneWork {
                sandbox: Sandbox { warm: None, ..sandbox.clone() },
                program: program.to_path_buf(),
                documents_per_process: self.documents_per_process,
                recycle_bytes: self.recycle_bytes,
            };
            let task = tokio::spawn(drive(Arc::downgrade(self), lane.clone(), work, receiver));
            lanes.lanes.push((lane, task));
        }
    }

    /// A document answered (or given up): one less outstanding.
    fn answered(&self) {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes.outstanding = lanes.outstanding.saturating_sub(1);
    }

    /// Extracts one document in a warm process, as [`Sandbox::extract_document`] does in a one-shot one;
    /// `None` when `stopping` is cancelled before a parser began on the document (it then costs nothing: it
    /// is taken out of its lane, or its process is replaced before it is read).
    /// [`Measured::waited`] is the time it waited in its lane for the document before it.
    pub(crate) async fn extract(
        self: &Arc<Self>,
        sandbox: &Sandbox,
        program: &Path,
        path: &Path,
        name: &str,
        ocr: bool,
        stopping: Option<&CancellationToken>,
    ) -> Option<Result<Measured, ExtractError>> {
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
            cpu_secs: sandbox.cpu_secs,
        };
        let mut line = match serde_json::to_vec(&request) {
            Ok(line) => line,
            Err(e) => {
                return Some(Err(ExtractError::new(ExtractErrorKind::Crashed, format!("the parser request: {e}"))))
            }
        };
        line.push(b'\n');
        let asked = Instant::now();
        let (began_tx, mut began) = oneshot::channel();
        let (answer_tx, mut answer) = oneshot::channel();
        let job = Job { line, asked: sandbox.asked(), timeout: sandbox.timeout, began: began_tx, answer: answer_tx };
        self.ask(job, sandbox, program);
        let begun = match stopping {
            Some(stopping) => tokio::select! {
                biased;
                begun = &mut began => begun.ok(),
                () = stopping.cancelled() => return None,
            },
            None => (&mut began).await.ok(),
        };
        let mut answered = match (&mut answer).await {
            Ok(answered) => answered,
            Err(_) => Err(ExtractError::new(ExtractErrorKind::Crashed, "the parser's lane stopped")),
        };
        if let (Ok(measured), Some(begun)) = (&mut answered, begun) {
            measured.waited = begun.saturating_duration_since(asked);
        }
        Some(answered)
    }
}

impl LaneWork {
    /// Starts a warm process of `program` under the sandbox's limits; one that will likely OCR (`prepare_ocr`:
    /// the one it replaces did) loads the OCR engines at its start, beside its first documents.
    fn spawn(&self, prepare_ocr: bool) -> Result<WarmProcess, ExtractError> {
        let (sandbox, program) = (&self.sandbox, &self.program);
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

    /// Why a process that stopped answering died: its exit status and stderr, as for a one-shot process.
    async fn died(&self, mut process: WarmProcess) -> ExtractError {
        let status = tokio::time::timeout(Duration::from_secs(2), process.child.wait()).await;
        // Its stderr closes when it (and the tools it started) are gone: what it said last is read by then.
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut process.stderr_reader).await;
        let stderr = process.stderr_text();
        match status {
            Ok(Ok(status)) => classify_exit(status, &stderr, &self.sandbox),
            _ => ExtractError::new(ExtractErrorKind::Crashed, "the parser process stopped answering"),
        }
    }

    /// Whether a process that answered its document well should read no more: its share read, or its
    /// resident memory past the bound.
    fn worn(&self, process: &WarmProcess) -> bool {
        process.documents >= self.documents_per_process
            || resident_bytes(process.pid).is_some_and(|bytes| bytes > self.recycle_bytes)
    }
}

/// How the reading of a lane's document ended, when not with an answer.
enum Cut {
    TimedOut,
    /// Its caller gave it up (a worker abandoning it at shutdown).
    GivenUp,
}

/// A lane's task: takes the next document from the pool's queue as soon as its process has answered the
/// last, and has it read by that process (started when there is none). Ends when the pool is dropped.
async fn drive(pool: std::sync::Weak<WarmPool>, lane: Arc<Lane>, work: LaneWork, queue: SharedQueue) {
    let mut process: Option<WarmProcess> = None;
    let mut prepare_ocr = false;
    // Done with a document: the lane's state first (what `idle_pids` tells), then its caller.
    type Reply = oneshot::Sender<Result<Measured, ExtractError>>;
    let finish = |reply: Reply, process: &Option<WarmProcess>, result: Option<Result<Measured, ExtractError>>| {
        lane.pid.store(process.as_ref().map_or(0, |p| p.pid), Ordering::SeqCst);
        lane.busy.store(false, Ordering::SeqCst);
        if let Some(pool) = pool.upgrade() {
            pool.answered();
        }
        if let Some(result) = result {
            let _ = reply.send(result);
        }
    };
    loop {
        let next = queue.lock().await.recv().await;
        let Some(job) = next else { return };
        lane.busy.store(true, Ordering::SeqCst);
        if job.answer.is_closed() {
            // Given up while it waited: never sent.
            finish(job.answer, &process, None);
            continue;
        }
        // A kept process may have died since its last document (killed for memory): then a new one.
        let kept = match process.take() {
            Some(mut kept) => send(&mut kept.stdin, &job.line).await.then_some(kept),
            None => None,
        };
        let mut current = match kept {
            Some(kept) => kept,
            None => match work.spawn(prepare_ocr) {
                Ok(mut fresh) => {
                    if !send(&mut fresh.stdin, &job.line).await {
                        let error = work.died(fresh).await;
                        finish(job.answer, &None, Some(Err(error)));
                        continue;
                    }
                    fresh
                }
                Err(error) => {
                    finish(job.answer, &None, Some(Err(error)));
                    continue;
                }
            },
        };
        let Job { asked, timeout, began, mut answer, .. } = job;
        let _ = began.send(Instant::now());
        let read = tokio::select! {
            biased;
            read = answer::read(&mut current.stdout, &asked) => Ok(read),
            () = tokio::time::sleep(timeout) => Err(Cut::TimedOut),
            () = answer.closed() => Err(Cut::GivenUp),
        };
        let (done, result) = match read {
            Ok(Ok(answered)) => {
                current.documents += 1;
                let result = answered.into_extraction(&asked, &current.stderr_text());
                if let Ok(measured) = &result {
                    current.ocred |= measured.extraction.record.ocr == folio_core::OcrStatus::Applied;
                }
                if result.is_ok() && !work.worn(&current) {
                    process = Some(current);
                } else {
                    prepare_ocr = current.ocred;
                    drop(current);
                    // The next document should not pay for the start: a new process waits for it.
                    process = work.spawn(prepare_ocr).ok();
                }
                (answer, Some(result))
            }
            Ok(Err(Unread::Ended)) => (answer, Some(Err(work.died(current).await))),
            Ok(Err(unread)) => {
                // Past a bound, nonsense, or a broken pipe: the process is not trusted with another document.
                let error = unread.into_error(&current.stderr_text());
                drop(current);
                (answer, Some(Err(error)))
            }
            Err(Cut::TimedOut) => {
                // Dropped: its group is killed.
                drop(current);
                let error = ExtractError::new(
                    ExtractErrorKind::Timeout,
                    format!("took longer than the {} s limit and was stopped", timeout.as_secs()),
                );
                (answer, Some(Err(error)))
            }
            Err(Cut::GivenUp) => {
                drop(current);
                (answer, None)
            }
        };
        finish(done, &process, result);
    }
}

/// Writes a request; `false` when the process is gone.
async fn send(stdin: &mut ChildStdin, line: &[u8]) -> bool {
    stdin.write_all(line).await.is_ok() && stdin.flush().await.is_ok()
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
        limit_cpu_to_one_more_document(request.cpu_secs);
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

/// Lowers this process's CPU limit (`RLIMIT_CPU`'s soft limit, within the hard one its parent set for all
/// its documents together) to the CPU time it has used so far plus `cpu_secs`: the backstop a one-shot
/// process has for its one document holds for each document of a warm one, however many it may read.
/// Past it the kernel sends `SIGXCPU`, that document's `timeout`. Nothing changes for 0 or where the
/// system refuses.
fn limit_cpu_to_one_more_document(cpu_secs: u64) {
    if cpu_secs == 0 {
        return;
    }
    // SAFETY: getrusage and getrlimit/setrlimit only read and write the structs handed to them.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 || libc::getrlimit(libc::RLIMIT_CPU, &mut limit) != 0 {
            return;
        }
        let used = (usage.ru_utime.tv_sec.max(0) as u64).saturating_add(usage.ru_stime.tv_sec.max(0) as u64);
        // The started second counts whole: the limit is at least `cpu_secs` ahead.
        let soft = used.saturating_add(1).saturating_add(cpu_secs);
        let soft = if limit.rlim_max == libc::RLIM_INFINITY { soft } else { soft.min(limit.rlim_max as u64) };
        limit.rlim_cur = soft as libc::rlim_t;
        libc::setrlimit(libc::RLIMIT_CPU, &limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu_limit() -> libc::rlimit {
        // SAFETY: getrlimit writes the struct handed to it.
        unsafe {
            let mut limit: libc::rlimit = std::mem::zeroed();
            assert_eq!(libc::getrlimit(libc::RLIMIT_CPU, &mut limit), 0);
            limit
        }
    }

    /// A warm process's CPU limit is one document's ahead of what it has used, under the hard limit its
    /// parent set for all its documents. (This test process's own limit: set far ahead, then put back.)
    #[test]
    fn the_cpu_limit_is_one_documents_ahead_of_the_time_used() {
        let before = cpu_limit();
        limit_cpu_to_one_more_document(100_000);
        let after = cpu_limit();
        // SAFETY: as above; the limit as it was.
        unsafe { libc::setrlimit(libc::RLIMIT_CPU, &before) };
        assert_eq!(after.rlim_max, before.rlim_max, "the hard limit stays");
        let used = {
            // SAFETY: getrusage writes the struct handed to it.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
            usage.ru_utime.tv_sec as u64 + usage.ru_stime.tv_sec as u64
        };
        let soft = after.rlim_cur;
        assert!(soft > 100_000 && soft <= used + 100_001, "{soft} against {used} s used");
        assert_eq!(cpu_limit().rlim_cur, before.rlim_cur, "put back");
        limit_cpu_to_one_more_document(0);
        assert_eq!(cpu_limit().rlim_cur, before.rlim_cur, "0 leaves it as it is");
    }
}
