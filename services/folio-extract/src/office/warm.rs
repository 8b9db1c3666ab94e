//! LibreOffice kept running between documents, as Gotenberg does: a `soffice` listening on a pipe and a small
//! Python bridge (`bridge.py`, with LibreOffice's own UNO module) that converts one document per request.
//! Starting LibreOffice costs 1.5 to 2 s; through a running one, the corpus's DOCX take a median of 49 ms each,
//! rendering and thumbnail included (`benches/compare.py --only office`, docs/PERFORMANCE.md).
//!
//! Each warm office lives in the process that started it (a warm parser process, or an in-process worker),
//! inside whatever isolation that process has: the same cleared environment, limits and network namespace.
//! The bridge leads a process group of its own, which soffice joins: a hang past `office_timeout`, a crash,
//! an answer past its bound, or [`Options::office_conversions`] conversions end the group with one signal,
//! and the next document starts a fresh office. When the process that started it is killed without ending
//! it, the bridge sees its parent change and ends the group itself.
//!
//! Needs Python with LibreOffice's `uno` module (Debian: `python3-uno`; LibreOffice's own builds ship
//! `program/python`); without it every conversion starts its own `soffice`, as before.

use super::render::{file_url, Profile};
use crate::Options;
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BRIDGE: &str = include_str!("bridge.py");

/// Longest answer line read from the bridge; its answers are a few hundred bytes.
const ANSWER_BYTES: usize = 64 * 1024;

/// How a conversion through the warm office went wrong.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The office or its bridge died, or could not start: the same document may still convert in an
    /// office of its own.
    Crashed(String),
    /// The office answered that it could not convert the document, or ran out of time on it: it would
    /// not do better in a fresh office.
    Failed(String),
}

/// Offices idle between conversions, with the `soffice` each runs.
static IDLE: Mutex<Vec<WarmOffice>> = Mutex::new(Vec::new());

/// Convert `input` to `output` with LibreOffice's export filter `filter` (`writer_pdf_Export`,
/// `MS Word 2007 XML`) in a warm office, starting one when none is idle.
pub(crate) fn convert(
    office: &Path,
    python: &Path,
    input: &Path,
    output: &Path,
    filter: &str,
    opts: &Options,
) -> Result<(), Failure> {
    let timeout = opts.limits.office_timeout;
    let idle = take_idle(office);
    let mut warm = match idle {
        Some(warm) => warm,
        None => WarmOffice::start(office, python, timeout).map_err(Failure::Crashed)?,
    };
    let result = warm.convert(input, output, filter, timeout);
    match &result {
        Ok(()) | Err(Failure::Failed(_)) if !warm.timed_out => {
            warm.conversions += 1;
            if warm.conversions < opts.office_conversions {
                put_idle(warm);
            }
        }
        // Dropping it ends its process group.
        _ => drop(warm),
    }
    result
}

/// Ends every idle office (a parser process about to exit).
pub fn stop_all() {
    let idle = std::mem::take(&mut *IDLE.lock().unwrap_or_else(|e| e.into_inner()));
    drop(idle);
}

fn take_idle(office: &Path) -> Option<WarmOffice> {
    let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
    let at = idle.iter().position(|w| w.office == office)?;
    Some(idle.swap_remove(at))
}

fn put_idle(warm: WarmOffice) {
    IDLE.lock().unwrap_or_else(|e| e.into_inner()).push(warm);
}

/// A Python that can import LibreOffice's `uno` module, for `office`: LibreOffice's own `program/python`,
/// else the system's `python3`. Asked once a process for each office; `None` when neither imports it.
pub(crate) fn python_for(office: &Path) -> Option<PathBuf> {
    static FOUND: Mutex<Vec<(PathBuf, Option<PathBuf>)>> = Mutex::new(Vec::new());
    let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, python)) = found.iter().find(|(o, _)| o == office) {
        return python.clone();
    }
    let program = std::fs::canonicalize(office).ok().and_then(|p| p.parent().map(Path::to_path_buf));
    let candidates = program.map(|p| p.join("python")).into_iter().chain([PathBuf::from("/usr/bin/python3")]);
    let python = candidates.into_iter().find(|python| {
        let mut cmd = Command::new(python);
        cmd.args(["-I", "-c", "import uno"]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        crate::tools::run(&mut cmd, "python", Duration::from_secs(20)).is_ok_and(|(status, _)| status.success())
    });
    if python.is_none() {
        tracing::warn!(
            "no Python with LibreOffice's uno module (Debian: apt-get install python3-uno), so LibreOffice is \
             started for every document it renders"
        );
    }
    found.push((office.to_path_buf(), python.clone()));
    python
}

struct WarmOffice {
    office: PathBuf,
    bridge: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// Bytes read from the bridge past the last answer.
    pending: Vec<u8>,
    conversions: u32,
    timed_out: bool,
    /// The name of the pipe soffice listens on.
    pipe: String,
    _profile: Profile,
}

impl Drop for WarmOffice {
    fn drop(&mut self) {
        if let Ok(group) = libc::pid_t::try_from(self.bridge.id()) {
            // SAFETY: the bridge leads its own process group (set when it was spawned); the signal goes to
            // that group only: the bridge and the soffice it started.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.bridge.wait();
        // LibreOffice makes its pipe's socket in /tmp whatever TMPDIR says, and a killed one leaves it.
        // SAFETY: plain syscall without arguments.
        let uid = unsafe { libc::geteuid() };
        let _ = std::fs::remove_file(format!("/tmp/OSL_PIPE_{uid}_{}", self.pipe));
    }
}

impl WarmOffice {
    fn start(office: &Path, python: &Path, timeout: Duration) -> Result<Self, String> {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let profile = Profile::take()?;
        let pipe = format!("folio-{}-{}", std::process::id(), STARTED.fetch_add(1, Ordering::Relaxed));
        let mut cmd = Command::new(python);
        cmd.args(["-I", "-c", BRIDGE])
            .arg(office)
            .arg(file_url(&profile.dir))
            .arg(&pipe)
            .arg(format!("{}", timeout.as_secs_f64()))
            // Whatever LibreOffice and its libraries write under HOME (font caches) stays with the profile.
            .env("HOME", &profile.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0);
        let mut bridge = cmd.spawn().map_err(|e| format!("cannot run the LibreOffice bridge: {e}"))?;
        let (Some(stdin), Some(stdout)) = (bridge.stdin.take(), bridge.stdout.take()) else {
            return Err("the LibreOffice bridge has no pipes".into());
        };
        let mut warm = Self {
            office: office.to_path_buf(),
            bridge,
            stdin,
            stdout,
            pending: Vec::new(),
            conversions: 0,
            timed_out: false,
            pipe,
            _profile: profile,
        };
        let answer = warm.answer(Instant::now() + timeout).map_err(|e| format!("starting LibreOffice: {e}"))?;
        match answer.error {
            None if answer.ready => Ok(warm),
            Some(error) => Err(error),
            None => Err("the LibreOffice bridge answered something else than ready".into()),
        }
    }

    fn convert(&mut self, input: &Path, output: &Path, filter: &str, timeout: Duration) -> Result<(), Failure> {
        let request = serde_json::json!({
            "input": input.to_string_lossy(),
            "output": output.to_string_lossy(),
            "filter": filter,
        });
        let mut line = request.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| Failure::Crashed(format!("the LibreOffice bridge is gone: {e}")))?;
        let answer = match self.answer(Instant::now() + timeout) {
            Ok(answer) => answer,
            Err(AnswerError::Late) => {
                self.timed_out = true;
                return Err(Failure::Failed(format!(
                    "LibreOffice took longer than {} s; killed",
                    timeout.as_secs_f64()
                )));
            }
            Err(e) => return Err(Failure::Crashed(e.to_string())),
        };
        match answer.error {
            None if answer.ok => Ok(()),
            None => Err(Failure::Crashed("the LibreOffice bridge answered something else than ok".into())),
            Some(error) if answer.crashed => Err(Failure::Crashed(format!("LibreOffice crashed: {error}"))),
            Some(error) => Err(Failure::Failed(error)),
        }
    }

    /// The bridge's next answer, read by `deadline`.
    fn answer(&mut self, deadline: Instant) -> Result<Answer, AnswerError> {
        let line = loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                break self.pending.drain(..=end).collect::<Vec<u8>>();
            }
            if self.pending.len() > ANSWER_BYTES {
                return Err(AnswerError::TooLong);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(AnswerError::Late);
            }
            let mut poll = libc::pollfd { fd: self.stdout.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            let millis = libc::c_int::try_from(left.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
            // SAFETY: one pollfd for a descriptor we own, for its length of one.
            let ready = unsafe { libc::poll(&mut poll, 1, millis) };
            if ready < 0 {
                let error = std::io::Error::last_os_error();
                if error.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(AnswerError::Io(error));
            }
            if ready == 0 {
                continue;
            }
            let mut buffer = [0u8; 4096];
            use std::io::Read;
            match self.stdout.read(&mut buffer) {
                Ok(0) => return Err(AnswerError::Ended),
                Ok(n) => self.pending.extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(AnswerError::Io(e)),
            }
        };
        serde_json::from_slice(&line).map_err(|e| AnswerError::Garbled(e.to_string()))
    }
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(default)]
struct Answer {
    ready: bool,
    ok: bool,
    crashed: bool,
    error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
enum AnswerError {
    #[error("no answer in time")]
    Late,
    #[error("the LibreOffice bridge ended")]
    Ended,
    #[error("the LibreOffice bridge's answer is longer than {ANSWER_BYTES} bytes")]
    TooLong,
    #[error("the LibreOffice bridge's answer is not JSON: {0}")]
    Garbled(String),
    #[error("reading the LibreOffice bridge's answer: {0}")]
    Io(std::io::Error),
}
