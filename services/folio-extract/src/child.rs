//! Running an external tool (pdftoppm, tesseract) as a child process under a wall-clock limit. These tools
//! are big C/C++ code fed hostile input: they run outside our process, are killed when they overrun, and
//! no child outlives an early return or a panic.

use std::process::{Child, ChildStdout, Command, ExitStatus};
use std::time::{Duration, Instant};

/// Kills the child on drop, so that no tool outlives an early return or a panic.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
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
    let mut child = KillOnDrop(cmd.spawn().map_err(|e| format!("cannot run {name}: {e}"))?);
    let stdout = child.0.stdout.take();
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match child.0.try_wait() {
            Ok(Some(status)) => return Ok((status, stdout)),
            Ok(None) if start.elapsed() >= timeout => {
                // Dropping `child` kills and reaps it.
                return Err(format!("{name} took longer than {} s; killed", timeout.as_secs_f64()));
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(format!("waiting for {name}: {e}")),
        }
    }
}
