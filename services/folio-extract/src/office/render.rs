//! DOCX rendered by LibreOffice: `soffice --headless --convert-to pdf`, then the page count and first page
//! of that PDF read with the PDF code (PDFium, else lopdf and pdftoppm). LibreOffice is optional and its
//! failures are never the document's: the caller falls back to what the DOCX itself says.
//!
//! LibreOffice keeps its state in a profile ("user installation") that one running instance locks; a
//! second `soffice` pointed at a profile in use hands its work to the first and exits, or waits on its lock.
//! So each conversion takes a profile of its own from a small pool under the temporary folder, held with
//! `flock` for as long as it runs. Profiles are reused (building a fresh one costs a second or more) but
//! never by two conversions at once, whichever process they run in.
//!
//! A process that reads many documents ([`Options::office_conversions`] above 0) keeps LibreOffice running
//! between them ([`super::warm`]); this module's own `soffice` per conversion is the fallback when that cannot
//! be had, and the way of a one-shot parser process.

use crate::Options;
use image::DynamicImage;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Profiles in the pool; more conversions at once than this, and the extra ones do without LibreOffice.
const PROFILE_SLOTS: u32 = 64;

/// LibreOffice's `soffice` on `PATH` (`soffice`, else `libreoffice`), as a full path; `None` when neither
/// is there.
pub fn find_office() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["soffice", "libreoffice"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            let executable = std::fs::metadata(&candidate).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0);
            if executable {
                return Some(candidate);
            }
        }
    }
    None
}

/// The page count of `docx` as LibreOffice lays it out and, when `preview_px` is given, its first page
/// rendered with that longest side. `None` (after a warning that says why) when LibreOffice fails, runs
/// past `office_timeout`, or writes nothing readable.
pub(crate) fn render(
    office: &Path,
    docx: &[u8],
    preview_px: Option<u32>,
    opts: &Options,
) -> Option<(u32, Option<DynamicImage>)> {
    let result = to_pdf(office, docx, opts).and_then(|pdf| crate::pdf::rendering(&pdf, preview_px, opts));
    match result {
        Ok(rendered) => Some(rendered),
        Err(why) => {
            tracing::warn!(
                "LibreOffice could not render the DOCX, so it has no thumbnail or rendered page count: {why}"
            );
            None
        }
    }
}

/// Convert `docx` to PDF with LibreOffice, within `office_timeout` and `max_file_bytes`.
fn to_pdf(office: &Path, docx: &[u8], opts: &Options) -> Result<Vec<u8>, String> {
    convert(office, docx, "docx", "pdf", opts)
}

/// Convert a document of the kind `from` names (its file extension: `docx`, `doc`, `odt`, `rtf`) to `to`
/// (`pdf`, `docx`) with LibreOffice, within `office_timeout` and `max_file_bytes`.
pub(crate) fn convert(office: &Path, bytes: &[u8], from: &str, to: &str, opts: &Options) -> Result<Vec<u8>, String> {
    let work = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let input = work.path().join(format!("document.{from}"));
    std::fs::write(&input, bytes).map_err(|e| format!("writing the temporary {from} file: {e}"))?;
    let out = work.path().join("out");
    let written = out.join(format!("document.{to}"));
    let warm = if opts.office_conversions > 0 { super::warm::python_for(office) } else { None };
    if let Some(python) = warm {
        let filter = match to {
            "pdf" => "writer_pdf_Export",
            _ => "MS Word 2007 XML",
        };
        std::fs::create_dir(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
        match super::warm::convert(office, &python, &input, &written, filter, opts) {
            Ok(()) => return read_converted(&written, to, opts),
            Err(super::warm::Failure::Failed(why)) => return Err(why),
            // A crash may be the warm office's own state: the document gets an office of its own.
            Err(super::warm::Failure::Crashed(why)) => {
                tracing::warn!("the warm LibreOffice failed ({why}); converting with a LibreOffice of its own");
            }
        }
    }
    let profile = Profile::take()?;
    let mut cmd = Command::new(office);
    cmd.args(["--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck"])
        .arg(format!("-env:UserInstallation={}", file_url(&profile.dir)))
        .arg("--convert-to")
        .arg(to)
        .arg("--outdir")
        .arg(&out)
        .arg(&input)
        // Whatever LibreOffice and its libraries write under HOME (font caches) stays with the profile.
        .env("HOME", &profile.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (status, _) = crate::tools::run(&mut cmd, "LibreOffice", opts.limits.office_timeout)?;
    drop(profile);
    // soffice exits 0 when it could not convert, too: what counts is the file it wrote.
    if std::fs::metadata(&written).is_err() {
        return Err(if status.success() {
            format!("soffice wrote no {to} file (it could not open the document)")
        } else {
            format!("soffice exited with {status}")
        });
    }
    read_converted(&written, to, opts)
}

/// The converted file, within `max_file_bytes`.
fn read_converted(written: &Path, to: &str, opts: &Options) -> Result<Vec<u8>, String> {
    let size = match std::fs::metadata(written) {
        Ok(m) => m.len(),
        Err(_) => return Err(format!("LibreOffice wrote no {to} file (it could not open the document)")),
    };
    if size > opts.limits.max_file_bytes {
        return Err(format!("the converted {to} file is {size} bytes, past max_file_bytes"));
    }
    std::fs::read(written).map_err(|e| format!("reading the converted {to} file: {e}"))
}

/// A LibreOffice profile of the pool, held (its lock file `flock`ed) until dropped.
pub(crate) struct Profile {
    pub(crate) dir: PathBuf,
    _lock: File,
}

impl Profile {
    /// The first free profile of the pool in `$TMPDIR/folio-office-<uid>`.
    pub(crate) fn take() -> Result<Self, String> {
        // SAFETY: plain syscall without arguments.
        let uid = unsafe { libc::geteuid() };
        let root = std::env::temp_dir().join(format!("folio-office-{uid}"));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&root)
            .map_err(|e| format!("creating {}: {e}", root.display()))?;
        // Others share the temporary folder: the pool must be ours and closed to them.
        let meta = std::fs::symlink_metadata(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
            return Err(format!("{} is not a private folder of this user; remove it", root.display()));
        }
        for slot in 0..PROFILE_SLOTS {
            let lock_path = root.join(format!("{slot}.lock"));
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| format!("opening {}: {e}", lock_path.display()))?;
            // SAFETY: flock on a descriptor we own; the lock goes with the descriptor when `lock` is dropped.
            if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(Self { dir: root.join(slot.to_string()), _lock: lock });
            }
        }
        Err(format!("all {PROFILE_SLOTS} LibreOffice profiles in {} are in use", root.display()))
    }
}

/// `file://` URL of an absolute path, bytes outside the unreserved set percent-encoded.
pub(crate) fn file_url(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_are_encoded() {
        assert_eq!(file_url(Path::new("/tmp/folio-office-0/3")), "file:///tmp/folio-office-0/3");
        assert_eq!(file_url(Path::new("/tmp/a b/é")), "file:///tmp/a%20b/%C3%A9");
    }

    #[test]
    fn two_holders_never_share_a_profile() {
        let a = Profile::take().unwrap();
        let b = Profile::take().unwrap();
        assert_ne!(a.dir, b.dir);
        drop(a);
        let c = Profile::take().unwrap();
        assert_ne!(c.dir, b.dir);
    }
}
