//! Rendering the first page of a PDF with poppler's `pdftoppm`, run as a child process under a wall-clock
//! limit. A renderer is big C++ code fed hostile input: it runs outside our process, is killed when it
//! overruns, and its failure never fails the extraction (the record simply has no thumbnail).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The renderer binary; looked up on `PATH`, or `FOLIO_PDFTOPPM` when set.
fn pdftoppm() -> std::ffi::OsString {
    std::env::var_os("FOLIO_PDFTOPPM").unwrap_or_else(|| "pdftoppm".into())
}

/// Kills the child on drop, so that no renderer outlives an early return or a panic.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Render page 1 of `pdf` as a PNG whose longest side is `max_side` pixels.
/// Returns `None` (after logging a warning) when pdftoppm is missing, fails, or exceeds `timeout`.
pub(crate) fn pdf_first_page_png(pdf: &[u8], max_side: u32, timeout: Duration) -> Option<Vec<u8>> {
    match render(pdf, max_side, timeout) {
        Ok(png) => Some(png),
        Err(why) => {
            tracing::warn!("no PDF thumbnail: {why}");
            None
        }
    }
}

fn render(pdf: &[u8], max_side: u32, timeout: Duration) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, pdf).map_err(|e| format!("writing temporary PDF: {e}"))?;
    let prefix = dir.path().join("page");
    let child = Command::new(pdftoppm())
        .args(["-f", "1", "-l", "1", "-singlefile", "-png", "-scale-to"])
        .arg(max_side.max(1).to_string())
        .arg(&input)
        .arg(&prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run pdftoppm: {e}"))?;
    let status = wait_with_timeout(KillOnDrop(child), timeout)?;
    if !status.success() {
        return Err(format!("pdftoppm exited with {status}"));
    }
    read_output(&prefix.with_extension("png"))
}

fn wait_with_timeout(mut child: KillOnDrop, timeout: Duration) -> Result<std::process::ExitStatus, String> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match child.0.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if start.elapsed() >= timeout => {
                // Dropping `child` kills and reaps it.
                return Err(format!("pdftoppm took longer than {} s; killed", timeout.as_secs_f64()));
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(format!("waiting for pdftoppm: {e}")),
        }
    }
}

fn read_output(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("pdftoppm wrote no page image: {e}"))
}
