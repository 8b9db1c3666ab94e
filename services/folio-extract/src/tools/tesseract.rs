//! Tesseract 5 (Debian's): which language packs are installed (asked of the `tesseract` tool once per
//! worker and handed down to its parser processes), script and orientation detection (OSD), and recognition
//! to TSV, both through the library, whose engines the parser process keeps loaded
//! ([`crate::tools::libtesseract`]).

use crate::tools::libtesseract;
/// Recognition: pages of grey pixels read by an engine kept loaded, as Tesseract's page segmentation says.
pub(crate) use libtesseract::{prepare, recognise_tsv, Segmentation};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The OCR binary; looked up on `PATH`, or `FOLIO_TESSERACT` when set.
fn tesseract() -> std::ffi::OsString {
    std::env::var_os("FOLIO_TESSERACT").unwrap_or_else(|| "tesseract".into())
}

/// The environment variable, and its value, that give Tesseract one OpenMP thread a reading: measured twice
/// as fast a page as its default threading on our shared machines (its threads wait for one another on
/// busy cores), and extraction already runs several files side by side. Set for every `tesseract` and
/// parser process; OpenMP reads it once, when the library is loaded, so a process that reads documents
/// itself must have it from its start ([`OCR_THREADS_ENV`] in `folio`'s `main`).
pub const OCR_THREADS_ENV: (&str, &str) = ("OMP_THREAD_LIMIT", "1");

/// What a process should set before any thread starts so that Tesseract's library, loaded in it later, reads
/// with one thread: [`OCR_THREADS_ENV`], unless `current` (the variable's value now) says otherwise.
pub fn ocr_threads_to_set(current: Option<&std::ffi::OsStr>) -> Option<(&'static str, &'static str)> {
    current.is_none().then_some(OCR_THREADS_ENV)
}

/// A tesseract command with one OpenMP thread ([`OCR_THREADS_ENV`]).
fn command() -> Command {
    let mut cmd = Command::new(tesseract());
    cmd.env(OCR_THREADS_ENV.0, OCR_THREADS_ENV.1).stdin(Stdio::null()).stderr(Stdio::null());
    cmd
}

/// Where a parent process that asked tesseract already hands its answer to a parser process (pack names,
/// comma-separated): asking costs a tesseract start (about 0.25 s), which every new parser process paid.
pub const LANGUAGES_ENV: &str = "FOLIO_TESSERACT_LANGS";

static LANGS: OnceLock<Vec<String>> = OnceLock::new();

/// The installed packs when this process has already asked for them ([`installed_languages`]); `None`
/// before, without asking.
pub(crate) fn known_languages() -> Option<&'static [String]> {
    LANGS.get().map(Vec::as_slice)
}

/// The installed language packs (`osd` included): from [`LANGUAGES_ENV`] when the parent gave them, else
/// asked of `tesseract --list-langs`; once per process. Empty when tesseract is missing or fails; a warning
/// is logged once.
pub(crate) fn installed_languages() -> &'static [String] {
    LANGS.get_or_init(|| match given_languages().map(Ok).unwrap_or_else(list_languages) {
        Ok(langs) if !langs.is_empty() => langs,
        Ok(_) => {
            tracing::warn!("tesseract has no language packs; images and scans are not OCRed (run scripts/setup)");
            Vec::new()
        }
        Err(why) => {
            tracing::warn!("OCR unavailable, images and scans are not OCRed (run scripts/setup): {why}");
            Vec::new()
        }
    })
}

/// Whether the language pack `lang` (e.g. `spa`) is installed.
pub(crate) fn has_language(lang: &str) -> bool {
    installed_languages().iter().any(|l| l == lang)
}

/// The packs in [`LANGUAGES_ENV`], when it holds a list of pack names (letters, digits, `_` and `-`).
fn given_languages() -> Option<Vec<String>> {
    parse_given_languages(&std::env::var(LANGUAGES_ENV).ok()?)
}

fn parse_given_languages(value: &str) -> Option<Vec<String>> {
    let names: Vec<String> = value.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect();
    let plausible = |n: &String| n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    (!names.is_empty() && names.iter().all(plausible)).then_some(names)
}

fn list_languages() -> Result<Vec<String>, String> {
    let mut cmd = command();
    cmd.arg("--list-langs").stdout(Stdio::piped());
    let (status, stdout) = crate::tools::run(&mut cmd, "tesseract", Duration::from_secs(10))?;
    if !status.success() {
        return Err(format!("tesseract --list-langs exited with {status}"));
    }
    let mut text = String::new();
    if let Some(mut out) = stdout {
        std::io::Read::read_to_string(&mut out, &mut text).map_err(|e| format!("reading tesseract output: {e}"))?;
    }
    Ok(parse_language_list(&text))
}

/// The pack names from `--list-langs` output: every line after the `List of available languages` header.
fn parse_language_list(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("List of available languages"))
        .map(str::to_string)
        .collect()
}

/// What OSD said about a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Osd {
    /// Tesseract's script name: `Latin`, `Han`, `Japanese`, `Hangul`, `Arabic`, `Cyrillic`, `Hebrew`, ...
    pub script: String,
    /// Degrees to rotate the image clockwise to make it upright: 0, 90, 180 or 270; 0 when OSD was not
    /// confident (see [`MIN_ORIENTATION_CONFIDENCE`]).
    pub rotate: u32,
}

/// OSD's orientation confidence below which we do not rotate. On a few lines of capitals OSD proposes
/// 180° with confidence around 1–3 and turns a readable page into garbage; upright and turned pages of
/// running text score 10–20 (ocrmypdf's default threshold is 14). Our turned test page scored 16.9.
const MIN_ORIENTATION_CONFIDENCE: f64 = 8.0;

/// Script and orientation of `page` (Tesseract's OSD, as `--psm 0 -l osd` gives them). Fails when there is
/// too little text to tell, which is common and not worth a warning.
pub(crate) fn osd(page: &image::GrayImage) -> Result<Osd, String> {
    let found = libtesseract::osd(page)?.ok_or("too little text for OSD")?;
    Ok(osd_of(&found))
}

/// What OSD found, as Folio uses it: the page's orientation (the degrees its text is turned
/// counter-clockwise) becomes the clockwise turn that makes it upright, where OSD was confident.
fn osd_of(found: &libtesseract::Orientation) -> Osd {
    let confident = f64::from(found.confidence) >= MIN_ORIENTATION_CONFIDENCE;
    let upright = found.degrees.rem_euclid(360);
    let rotate = if confident && upright % 90 == 0 { ((360 - upright) % 360) as u32 } else { 0 };
    Osd { script: found.script.clone(), rotate }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_ocr_thread_unless_the_environment_says_otherwise() {
        assert_eq!(ocr_threads_to_set(None), Some(("OMP_THREAD_LIMIT", "1")));
        assert_eq!(ocr_threads_to_set(Some(std::ffi::OsStr::new("4"))), None, "an operator's own limit stands");
    }

    #[test]
    fn packs_handed_down_are_taken_only_when_they_look_like_pack_names() {
        assert_eq!(
            parse_given_languages("eng,osd, chi_sim ,"),
            Some(vec!["eng".into(), "osd".into(), "chi_sim".into()])
        );
        assert_eq!(parse_given_languages(""), None);
        assert_eq!(parse_given_languages("eng,../../etc"), None);
        assert_eq!(parse_given_languages("eng;rm -rf"), None);
    }

    #[test]
    fn parses_language_lists() {
        let out = "List of available languages in \"/usr/share/tesseract-ocr/5/tessdata/\" (3):\neng\nosd\nspa\n";
        assert_eq!(parse_language_list(out), ["eng", "osd", "spa"]);
    }

    #[test]
    fn osd_turns_a_confident_orientation_into_the_turn_that_makes_it_upright() {
        let found = |degrees, confidence| libtesseract::Orientation { degrees, confidence, script: "Latin".into() };
        // Tesseract's own tool prints "Orientation in degrees: 90" with "Rotate: 270" for the same page.
        assert_eq!(osd_of(&found(90, 16.94)), Osd { script: "Latin".into(), rotate: 270 });
        assert_eq!(osd_of(&found(270, 16.94)).rotate, 90);
        assert_eq!(osd_of(&found(180, 12.0)).rotate, 180);
        assert_eq!(osd_of(&found(0, 20.0)).rotate, 0);
        assert_eq!(osd_of(&found(180, 1.2)).rotate, 0, "not confident: left as it is");
        assert_eq!(osd_of(&found(45, 20.0)).rotate, 0, "not a quarter turn");
    }
}
