//! Rendering PDF pages with poppler's `pdftoppm`, run as a child process under a wall-clock limit (see
//! [`crate::tools`]). A rendering failure never fails the extraction: the record simply has no thumbnail,
//! or the page is not OCRed.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The renderer binary; looked up on `PATH`, or `FOLIO_PDFTOPPM` when set.
fn pdftoppm() -> std::ffi::OsString {
    std::env::var_os("FOLIO_PDFTOPPM").unwrap_or_else(|| "pdftoppm".into())
}

/// Render page 1 of `pdf` as a PNG whose longest side is `max_side` pixels.
/// Returns `None` (after logging a warning) when pdftoppm is missing, fails, or exceeds `timeout`.
pub(crate) fn pdf_first_page_png(pdf: &[u8], max_side: u32, timeout: Duration) -> Option<Vec<u8>> {
    let rendered = (|| {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let input = dir.path().join("in.pdf");
        std::fs::write(&input, pdf).map_err(|e| format!("writing temporary PDF: {e}"))?;
        let scale = ["-scale-to".to_string(), max_side.max(1).to_string()];
        render_page(&input, 1, &scale, dir.path(), timeout)
    })();
    match rendered {
        Ok(png) => Some(png),
        Err(why) => {
            tracing::warn!("no PDF thumbnail: {why}");
            None
        }
    }
}

/// Render page `page` (1-based) of the PDF file `input` as a greyscale PNG at `dpi` dots per inch, for OCR.
pub(crate) fn pdf_page_png_for_ocr(
    input: &Path,
    page: u32,
    dpi: u32,
    work: &Path,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let args = ["-gray".to_string(), "-r".to_string(), dpi.max(1).to_string()];
    render_page(input, page, &args, work, timeout)
}

/// Run pdftoppm on one page with extra `args`, writing into the folder `work`; returns the PNG.
fn render_page(input: &Path, page: u32, args: &[String], work: &Path, timeout: Duration) -> Result<Vec<u8>, String> {
    let prefix = work.join(format!("page-{page}"));
    let page = page.to_string();
    let mut cmd = Command::new(pdftoppm());
    cmd.args(["-f", &page, "-l", &page, "-singlefile", "-png"])
        .args(args)
        .arg(input)
        .arg(&prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (status, _) = crate::tools::run(&mut cmd, "pdftoppm", timeout)?;
    if !status.success() {
        return Err(format!("pdftoppm exited with {status}"));
    }
    let out = prefix.with_extension("png");
    let png = std::fs::read(&out).map_err(|e| format!("pdftoppm wrote no page image: {e}"));
    let _ = std::fs::remove_file(&out);
    png
}
