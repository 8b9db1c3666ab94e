//! Running an external tool (pdftoppm, tesseract, LibreOffice) as a child process under a wall-clock limit.
//! These tools are big C/C++ code fed hostile input: they run outside our process, are killed when they
//! overrun, and no child outlives an early return or a panic.
//!
//! A tool may start processes of its own (`soffice` is a script that runs `oosplash`, which starts
//! `soffice.bin`), so the tool is killed with every process descended from it. The tool stays in our
//! process group rather than getting one of its own: the sandbox that runs this parser in a child process
//! kills that child's process group when the document runs out of time, and the tools must go with it.

pub(crate) mod libtesseract;
pub(crate) mod pdftoppm;
pub(crate) mod tesseract;

use std::process::{Child, ChildStdout, Command, ExitStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The largest resident set of a tool reaped since [`reset_tools_peak`], in KiB.
static TOOLS_PEAK_KIB: AtomicU64 = AtomicU64::new(0);

/// The largest resident set (KiB) of any tool this process ran and reaped since the last
/// [`reset_tools_peak`]: with [`wait4`](libc::wait4)'s own figure for each tool, a process that reads many
/// documents tells each document's tools apart, which `RUSAGE_CHILDREN` (a peak over the process's life)
/// cannot.
pub fn tools_peak_kib() -> u64 {
    TOOLS_PEAK_KIB.load(Ordering::Relaxed)
}

/// Starts a new [`tools_peak_kib`] (a new document).
pub fn reset_tools_peak() {
    TOOLS_PEAK_KIB.store(0, Ordering::Relaxed);
}

/// Kills the child and its descendants on drop, so that no tool outlives an early return or a panic.
struct KillOnDrop {
    child: Child,
    /// Reaped by [`run`] already: its pid may belong to another process by now.
    reaped: bool,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        if let Ok(None) = self.child.try_wait() {
            kill_tree(self.child.id());
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Spawn `cmd` and wait for it at most `timeout`; `name` is the tool's name for messages. The caller sets
/// up stdio. Returns the exit status and the child's stdout when it was piped: read it only for small
/// outputs (a full pipe would stall the child until the timeout), write anything large to a file instead.
pub(crate) fn run(
    cmd: &mut Command,
    name: &str,
    timeout: Duration,
) -> Result<(ExitStatus, Option<ChildStdout>), String> {
    let mut child = KillOnDrop { child: cmd.spawn().map_err(|e| format!("cannot run {name}: {e}"))?, reaped: false };
    let stdout = child.child.stdout.take();
    let Ok(pid) = libc::pid_t::try_from(child.child.id()) else { return Err(format!("{name}: pid out of range")) };
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: wait4 writes the status and the usage into the two values we hand it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            child.reaped = true;
            TOOLS_PEAK_KIB.fetch_max(u64::try_from(usage.ru_maxrss).unwrap_or(0), Ordering::Relaxed);
            return Ok((std::os::unix::process::ExitStatusExt::from_raw(status), stdout));
        }
        if reaped < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("waiting for {name}: {error}"));
        }
        if start.elapsed() >= timeout {
            // Dropping `child` kills it and its descendants, and reaps it.
            return Err(format!("{name} took longer than {} s; killed", timeout.as_secs_f64()));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// SIGKILL every process descended from `root` (not `root` itself: the caller kills and reaps it). The
/// tree is stopped first (SIGSTOP), rescanning until no new process appears, so that nothing forks between
/// the scan and the kill; a descendant reparented before the scan is out of reach here, and the sandbox's
/// process-group kill ends it.
fn kill_tree(root: u32) {
    let Ok(root) = libc::pid_t::try_from(root) else { return };
    let mut stopped: Vec<libc::pid_t> = Vec::new();
    for _ in 0..8 {
        let found = descendants(root);
        let new: Vec<libc::pid_t> = found.into_iter().filter(|p| !stopped.contains(p)).collect();
        if new.is_empty() {
            break;
        }
        for pid in new {
            // SAFETY: plain syscall on a pid we just found among our descendants.
            unsafe { libc::kill(pid, libc::SIGSTOP) };
            stopped.push(pid);
        }
    }
    for pid in stopped {
        // SAFETY: as above; SIGKILL also ends a stopped process.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// The processes descended from `root`, read from `/proc` (parent of each process in its `stat`).
fn descendants(root: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut parent_of: Vec<(libc::pid_t, libc::pid_t)> = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<libc::pid_t>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        if let Some(ppid) = parent_in_stat(&stat) {
            parent_of.push((pid, ppid));
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(parent_of.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    tree.remove(0);
    tree
}

/// The parent pid in a `/proc/PID/stat` line: `pid (comm) state ppid ...`, where comm may hold spaces
/// and parentheses, so the fields are counted from the last `)`.
fn parent_in_stat(stat: &str) -> Option<libc::pid_t> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    #[test]
    fn reads_the_parent_from_stat() {
        assert_eq!(parent_in_stat("123 (soffice.bin) S 120 123 1 0 -1"), Some(120));
        assert_eq!(parent_in_stat("7 (a) b (c)) R 1 7 7"), Some(1));
        assert_eq!(parent_in_stat("garbage"), None);
    }

    #[test]
    fn a_timeout_kills_the_tools_children_too() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild");
        // The shell starts a background sleep (a grandchild of ours, as soffice.bin is) and waits.
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let err = run(&mut cmd, "sh", Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("killed"), "{err}");
        let pid: libc::pid_t = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        // Reparented to init and reaped there, or a zombie awaiting that: either way not running.
        std::thread::sleep(Duration::from_millis(200));
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
        let running = state.as_deref().and_then(|s| s.rsplit(')').next()).is_some_and(|s| !s.trim().starts_with('Z'));
        assert!(!running, "the grandchild {pid} survived: {state:?}");
    }
}
