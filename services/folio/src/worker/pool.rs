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
//! Each process is driven by a lane (a task of its own) that takes the documents sent to it in order. A
//! lane writes the next document's request while the parser still reads the one before (at most one ahead,
//! and never one past the process's share), so the parser goes from one answer to the next request without
//! waiting for the worker to read the answer, store it and ask again. A document's time limit runs from the
//! moment its parser begins on it. When the document being read times out, crashes or answers nonsense, or
//! its caller gives it up, the process is killed and the document written ahead is sent again to the new one:
//! it is not charged with the other's failure. A document given up before its parser began (a worker
//! stopping) costs nothing; one given up after its request was written has its process killed when its turn
//! comes, so that no answer is ever read for a document other than the one it was asked for.
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

/// Warm parser processes of one program, shared by a worker's documents: a lane each.
#[derive(Debug)]
pub struct WarmPool {
    lanes: Mutex<Vec<Arc<Lane>>>,
    /// The most lanes (processes) at once: a worker sets its parsers; unbounded until then (a lane for each
    /// document asked for at once, as `folio extract --jobs` asks).
    most_lanes: AtomicUsize,
    /// Documents a process reads before it is replaced.
    pub documents_per_process: u32,
    /// Resident memory (bytes) past which a process is replaced after its document.
    pub recycle_bytes: u64,
}

/// One warm process's queue of documents, served in order by its own task ([`drive`]).
#[derive(Debug)]
struct Lane {
    jobs: mpsc::UnboundedSender<Job>,
    /// Documents sent to the lane and not yet answered.
    outstanding: AtomicUsize,
    /// The process the lane keeps between documents (0: none).
    pid: AtomicU32,
}

/// One document in a lane.
#[derive(Debug)]
struct Job {
    line: Vec<u8>,
    asked: Asked,
    timeout: Duration,
    /// Told when the parser begins on it.
    began: Option<oneshot::Sender<Instant>>,
    answer: oneshot::Sender<Result<Measured, ExtractError>>,
    /// Its request is in the lane's current process already (written ahead while the one before was read).
    sent: bool,
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
            lanes: Mutex::new(Vec::new()),
            most_lanes: AtomicUsize::new(usize::MAX),
            documents_per_process: documents_per_process.max(1),
            recycle_bytes,
        }
    }

    /// At most `parsers` processes at once; documents asked for beyond them wait in the lanes, the next
    /// one's request written while the one before it is read.
    pub fn set_parsers(&self, parsers: usize) {
        self.most_lanes.store(parsers.max(1), Ordering::Relaxed);
    }

    /// The processes waiting for a document (for tests and metrics).
    pub fn idle_pids(&self) -> Vec<u32> {
        let lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes
            .iter()
            .filter(|l| l.outstanding.load(Ordering::SeqCst) == 0)
            .map(|l| l.pid.load(Ordering::SeqCst))
            .filter(|pid| *pid != 0)
            .collect()
    }

    /// The lane for one more document: one with nothing to do, else a new one while there may be more,
    /// else the one with the least in hand.
    fn lane_for(&self, sandbox: &Sandbox, program: &Path) -> Arc<Lane> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes.retain(|l| !l.jobs.is_closed());
        let least = lanes.iter().min_by_key(|l| l.outstanding.load(Ordering::SeqCst)).cloned();
        let lane = match least {
            Some(lane)
                if lane.outstanding.load(Ordering::SeqCst) == 0
                    || lanes.len() >= self.most_lanes.load(Ordering::Relaxed) =>
            {
                lane
            }
            _ => {
                let (jobs, queue) = mpsc::unbounded_channel();
                let lane = Arc::new(Lane { jobs, outstanding: AtomicUsize::new(0), pid: AtomicU32::new(0) });
                let work = LaneWork {
                    sandbox: Sandbox { warm: None, ..sandbox.clone() },
                    program: program.to_path_buf(),
                    documents_per_process: self.documents_per_process,
                    recycle_bytes: self.recycle_bytes,
                };
                tokio::spawn(drive(lane.clone(), work, queue));
                lanes.push(lane.clone());
                lane
            }
        };
        lane.outstanding.fetch_add(1, Ordering::SeqCst);
        lane
    }

    /// Extracts one document in a warm process, as [`Sandbox::extract_document`] does in a one-shot one;
    /// `None` when `stopping` is cancelled before a parser began on the document (it then costs nothing: it
    /// is taken out of its lane, or its process is replaced before it is read).
    /// [`Measured::waited`] is the time it waited in its lane for the document before it.
    pub(crate) async fn extract(
        &self,
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
        let mut job = Job {
            line,
            asked: sandbox.asked(),
            timeout: sandbox.timeout,
            began: Some(began_tx),
            answer: answer_tx,
            sent: false,
        };
        // A lane whose task has ended (its runtime gone) is closed: another is made.
        for _ in 0..2 {
            let lane = self.lane_for(sandbox, program);
            match lane.jobs.send(job) {
                Ok(()) => break,
                Err(mpsc::error::SendError(back)) => {
                    lane.outstanding.fetch_sub(1, Ordering::SeqCst);
                    job = back;
                }
            }
        }
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

/// How the reading of a lane's current document ended, when not with an answer.
enum Cut {
    TimedOut,
    /// Its caller gave it up (a worker abandoning it at shutdown).
    GivenUp,
}

/// A lane's task: its documents, in order, each read by the lane's process (started when there is none),
/// the next one's request written while the one before is read. Ends when the pool is dropped.
async fn drive(lane: Arc<Lane>, work: LaneWork, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut process: Option<WarmProcess> = None;
    let mut next: Option<Job> = None;
    let mut open = true;
    let mut prepare_ocr = false;
    // Done with a document: the lane's state first (what `idle_pids` tells), then its caller.
    let finish = |job: Job, process: &Option<WarmProcess>, answer: Option<Result<Measured, ExtractError>>| {
        lane.pid.store(process.as_ref().map_or(0, |p| p.pid), Ordering::SeqCst);
        lane.outstanding.fetch_sub(1, Ordering::SeqCst);
        if let Some(answer) = answer {
            let _ = job.answer.send(answer);
        }
    };
    loop {
        let mut job = match next.take() {
            Some(job) => job,
            None if open => match jobs.recv().await {
                Some(job) => job,
                None => return,
            },
            None => return,
        };
        if job.answer.is_closed() {
            // Given up before its parser began. Where its request was written, the process is reading it for
            // nobody: replaced.
            if job.sent {
                process = None;
            }
            finish(job, &process, None);
            continue;
        }
        if !(job.sent && process.is_some()) {
            // A kept process may have died since its last document (killed for memory): then a new one.
            let kept = match process.take() {
                Some(mut kept) => send(&mut kept.stdin, &job.line).await.then_some(kept),
                None => None,
            };
            process = match kept {
                Some(kept) => Some(kept),
                None => match work.spawn(prepare_ocr) {
                    Ok(mut fresh) => {
                        if !send(&mut fresh.stdin, &job.line).await {
                            let error = work.died(fresh).await;
                            finish(job, &None, Some(Err(error)));
                            continue;
                        }
                        Some(fresh)
                    }
                    Err(error) => {
                        finish(job, &None, Some(Err(error)));
                        continue;
                    }
                },
            };
        }
        let Some(mut current) = process.take() else {
            let error = ExtractError::new(ExtractErrorKind::Crashed, "no parser process");
            finish(job, &None, Some(Err(error)));
            continue;
        };
        if let Some(began) = job.began.take() {
            let _ = began.send(Instant::now());
        }
        let read = {
            let WarmProcess { stdin, stdout, documents, .. } = &mut current;
            let reading = answer::read(stdout, &job.asked);
            tokio::pin!(reading);
            let deadline = tokio::time::sleep(job.timeout);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    biased;
                    read = &mut reading => break Ok(read),
                    () = &mut deadline => break Err(Cut::TimedOut),
                    () = job.answer.closed() => break Err(Cut::GivenUp),
                    more = jobs.recv(), if open && next.is_none() => match more {
                        Some(mut more) => {
                            // Written ahead only where the process will read it: not past its share.
                            if *documents + 1 < work.documents_per_process && !more.answer.is_closed() {
                                more.sent = send(stdin, &more.line).await;
                            }
                            next = Some(more);
                        }
                        None => open = false,
                    },
                }
            }
        };
        match read {
            Ok(Ok(answered)) => {
                current.documents += 1;
                let answer = answered.into_extraction(&job.asked, &current.stderr_text());
                if let Ok(measured) = &answer {
                    current.ocred |= measured.extraction.record.ocr == folio_core::OcrStatus::Applied;
                }
                if answer.is_ok() && !work.worn(&current) {
                    process = Some(current);
                } else {
                    prepare_ocr = current.ocred;
                    drop(current);
                    unsend(&mut next);
                    // The next document should not pay for the start: a new process waits for it.
                    process = work.spawn(prepare_ocr).ok();
                }
                finish(job, &process, Some(answer));
            }
            Ok(Err(Unread::Ended)) => {
                unsend(&mut next);
                let error = work.died(current).await;
                finish(job, &None, Some(Err(error)));
            }
            Ok(Err(unread)) => {
                // Past a bound, nonsense, or a broken pipe: the process is not trusted with another document.
                let error = unread.into_error(&current.stderr_text());
                drop(current);
                unsend(&mut next);
                finish(job, &None, Some(Err(error)));
            }
            Err(Cut::TimedOut) => {
                // Dropped: its group is killed.
                drop(current);
                unsend(&mut next);
                let error = ExtractError::new(
                    ExtractErrorKind::Timeout,
                    format!("took longer than the {} s limit and was stopped", job.timeout.as_secs()),
                );
                finish(job, &None, Some(Err(error)));
            }
            Err(Cut::GivenUp) => {
                drop(current);
                unsend(&mut next);
                finish(job, &None, None);
            }
        }
    }
}

/// The process that had the next document's request is gone: it goes to the next process.
fn unsend(next: &mut Option<Job>) {
    if let Some(next) = next {
        next.sent = false;
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
        let soft = after.rlim_cur as u64;
        assert!(soft > 100_000 && soft <= used + 100_001, "{soft} against {used} s used");
        assert_eq!(cpu_limit().rlim_cur, before.rlim_cur, "put back");
        limit_cpu_to_one_more_document(0);
        assert_eq!(cpu_limit().rlim_cur, before.rlim_cur, "0 leaves it as it is");
    }
}
