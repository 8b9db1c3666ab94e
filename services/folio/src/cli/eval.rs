//! `folio eval MANIFEST...`: extraction against corpora whose manifests say what each file should yield
//! (`../shared/corpus/dev/manifest.jsonl` is one). Prints the agreement figures and every disagreement.

use crate::worker::sandbox::Sandbox;
use anyhow::{Context, Result};
use folio_core::{ExtractErrorKind, Record};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One line of the manifest; fields Folio does not check are ignored.
#[derive(Debug, Deserialize)]
pub struct Expected {
    pub path: String,
    pub format: String,
    pub expected_pages: Option<u32>,
    pub expected_language: Option<String>,
    #[serde(default)]
    pub expected_error: bool,
    #[serde(default)]
    pub frames: Option<u32>,
    /// Difficulty tags (`scanned`, `no-text-layer`, ...).
    #[serde(default)]
    pub kind: Vec<String>,
    /// The password that opens a protected file. The file is read twice: without it (it must then be the
    /// expected error) and with it (pages and language are checked on that reading).
    #[serde(default)]
    pub password: Option<String>,
}

/// A file's expectation and what extraction gave.
pub struct Outcome {
    pub expected: Expected,
    pub record: Record,
    /// The record read with the manifest's password, for files that have one.
    pub with_password: Option<Record>,
    /// Word-F1 of the text against poppler's `pdftotext`, for text PDFs when asked for.
    pub f1: Option<f64>,
    /// pdftotext's text is mojibake ([`is_mojibake`]): not a reference to score against.
    pub reference_mojibake: bool,
}

pub async fn run(sandbox: Sandbox, manifests: &[PathBuf], jobs: usize, against_pdftotext: bool) -> Result<String> {
    let mut expected = Vec::new();
    for manifest in manifests {
        let root = manifest.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        let text = std::fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let e = serde_json::from_str::<Expected>(line)
                .with_context(|| format!("{} line {}", manifest.display(), i + 1))?;
            expected.push((root.join(&e.path), e));
        }
    }
    let sandbox = &sandbox;
    let outcomes: Vec<Outcome> = stream::iter(expected)
        .map(|(path, e)| async move {
            let extraction = sandbox.extract(&path, &e.path).await;
            let with_password = match &e.password {
                Some(password) => {
                    let password = folio_core::Password::new(password.as_str());
                    Some(sandbox.extract_with_password(&path, &e.path, Some(&password)).await.record)
                }
                None => None,
            };
            let text_pdf = e.format == "pdf"
                && !e.expected_error
                // pdftotext reads no image: where Folio's OCR adds a picture's text, it is no reference.
                && !e.kind.iter().any(|k| k == "scanned" || k == "no-text-layer" || k == "image-text");
            let reference = if against_pdftotext && text_pdf { pdftotext(&path).await } else { None };
            let f1 = reference.as_deref().map(|reference| word_f1(&extraction.text, reference));
            let reference_mojibake = reference.as_deref().is_some_and(is_mojibake);
            Outcome { expected: e, record: extraction.record, with_password, f1, reference_mojibake }
        })
        .buffered(jobs.max(1))
        .collect()
        .await;
    Ok(summarise(&outcomes))
}

/// The text poppler's `pdftotext` gives (reading order, no layout), or `None` when it cannot run.
async fn pdftotext(path: &Path) -> Option<String> {
    let run = tokio::process::Command::new("pdftotext").arg(path).arg("-").kill_on_drop(true).output();
    match tokio::time::timeout(std::time::Duration::from_secs(120), run).await {
        Ok(Ok(out)) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        _ => None,
    }
}

/// Whether a text is mojibake of the Latin-1 kind: most of its letters (of at least 20) are the accented
/// letters and signs of U+00A1 to U+00FF, which no language writes mostly in. poppler prints such text for a
/// font declared WinAnsi that holds GB2312 codes (`pdfjs__XiaoBiaoSong.pdf`: `¹ØÓÚºì¾ü×÷Õ½` for 关于红军作战).
pub fn is_mojibake(text: &str) -> bool {
    let letters = text.chars().filter(|c| c.is_alphabetic() || ('\u{00A1}'..='\u{00BF}').contains(c));
    let (mut all, mut latin1) = (0usize, 0usize);
    for c in letters {
        all += 1;
        if ('\u{00A1}'..='\u{00FF}').contains(&c) && c != '\u{00D7}' && c != '\u{00F7}' {
            latin1 += 1;
        }
    }
    all >= 20 && latin1 * 2 > all
}

/// Bag-of-words F1 between two texts, after [`comparable_words`]. 1 when both are empty.
pub fn word_f1(candidate: &str, reference: &str) -> f64 {
    use std::collections::HashMap;
    let bag = |t: &str| {
        let mut m: HashMap<String, usize> = HashMap::new();
        for w in comparable_words(t) {
            *m.entry(w).or_default() += 1;
        }
        m
    };
    let (c, r) = (bag(candidate), bag(reference));
    let (nc, nr): (usize, usize) = (c.values().sum(), r.values().sum());
    if nc == 0 && nr == 0 {
        return 1.0;
    }
    let common: usize = c.iter().map(|(w, n)| (*n).min(r.get(w).copied().unwrap_or(0))).sum();
    if common == 0 {
        return 0.0;
    }
    let (precision, recall) = (common as f64 / nc as f64, common as f64 / nr as f64);
    2.0 * precision * recall / (precision + recall)
}

/// The words of a text as the F1 compares them, so that two extractors that read the same words score 1
/// whatever their encoding and spacing habits:
/// - NFKC: presentation forms (Arabic contextual glyphs, `ﬁ` ligatures, full-width Latin) become the
///   letters they stand for; poppler writes the forms, PDFium the letters.
/// - invisible marks removed: direction marks and embeddings, zero-width spaces and joiners, soft hyphens.
/// - lower case, split on white space and punctuation.
/// - split where a run of digits meets letters, or letters of one script meet another's: poppler writes
///   right-to-left runs with no space between a number and the word beside it (`.١مستند`, `Latexأيضا`);
///   where an extractor puts that space says nothing about the characters it read. Both texts are split
///   alike, so a word glued the same way on both sides still counts once.
/// - scripts written without spaces (Chinese, Japanese, Korean syllables) count one word per character,
///   since where an extractor breaks their lines says nothing about the characters it read.
pub fn comparable_words(text: &str) -> Vec<String> {
    use unicode_normalization::UnicodeNormalization;
    let invisible = |c: char| matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}');
    let normal: String = text.nfkc().filter(|c| !invisible(*c)).collect::<String>().to_lowercase();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut class = CharClass::Space;
    for c in normal.chars() {
        let this = CharClass::of(c);
        let joins = match (class, this) {
            // A combining mark (an Arabic vowel sign, an accent) stays with the letter before it.
            (_, CharClass::Mark) => class != CharClass::Space,
            (a, b) => a == b && !matches!(a, CharClass::Space | CharClass::Cjk),
        };
        if !joins && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if matches!(this, CharClass::Space) {
            class = CharClass::Space;
            continue;
        }
        word.push(c);
        if this != CharClass::Mark {
            class = this;
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words.retain(|w| w.chars().any(char::is_alphanumeric));
    words
}

/// What a character is, for [`comparable_words`]: where the class changes, a word ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharClass {
    /// White space and punctuation: between words.
    Space,
    Digit,
    /// A combining mark: part of the letter before it.
    Mark,
    /// One word per character.
    Cjk,
    Latin,
    Greek,
    Cyrillic,
    Arabic,
    Hebrew,
    OtherLetter,
}

impl CharClass {
    fn of(c: char) -> Self {
        if folio_extract::language::is_cjk(c) {
            return Self::Cjk;
        }
        if c.is_numeric() {
            return Self::Digit;
        }
        if matches!(c, '\u{0300}'..='\u{036F}' | '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06ED}' | '\u{0591}'..='\u{05C7}')
        {
            return Self::Mark;
        }
        if !c.is_alphabetic() {
            return Self::Space;
        }
        use folio_extract::language::Script;
        match Script::of(c) {
            Script::Latin => Self::Latin,
            Script::Greek => Self::Greek,
            Script::Cyrillic => Self::Cyrillic,
            Script::Hebrew => Self::Hebrew,
            Script::Arabic => Self::Arabic,
            _ => Self::OtherLetter,
        }
    }
}

fn ratio(ok: usize, total: usize) -> String {
    if total == 0 {
        "n/a".into()
    } else {
        format!("{ok}/{total} ({:.1}%)", 100.0 * ok as f64 / total as f64)
    }
}

/// The figures, then the disagreements, as text for people (and docs/EXTRACTION.md).
pub fn summarise(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let mut misses = String::new();
    let error_kind = |o: &Outcome| o.record.error.as_ref().map(|e| e.kind);

    let mut pages: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut lang_ok, mut lang_total) = (0, 0);
    let (mut err_ok, mut err_total) = (0, 0);
    let mut unexpected_errors = 0;
    let mut crashes = 0;
    let mut timeouts = 0;
    let (mut opened, mut protected) = (0, 0);
    for o in outcomes {
        let e = &o.expected;
        let kind = error_kind(o);
        // Pages and language are what the file yields once opened: with its password when it has one.
        let read = o.with_password.as_ref().unwrap_or(&o.record);
        if let Some(with_password) = &o.with_password {
            protected += 1;
            match &with_password.error {
                None => opened += 1,
                Some(error) => {
                    let _ = writeln!(misses, "password  {}: not opened with its password [{}]", e.path, error.message);
                }
            }
        }
        crashes += usize::from(matches!(kind, Some(ExtractErrorKind::Crashed | ExtractErrorKind::OutOfMemory)));
        timeouts += usize::from(kind == Some(ExtractErrorKind::Timeout));
        if let Some(want) = e.expected_pages {
            let entry = pages.entry(e.format.as_str()).or_default();
            entry.1 += 1;
            if read.pages == Some(want) {
                entry.0 += 1;
            } else {
                let _ = writeln!(
                    misses,
                    "pages     {}: expected {want}, got {:?} {}",
                    e.path,
                    read.pages,
                    describe(kind, o)
                );
            }
        }
        if let Some(want) = &e.expected_language {
            lang_total += 1;
            if read.language.as_deref() == Some(want.as_str()) {
                lang_ok += 1;
            } else {
                let _ = writeln!(
                    misses,
                    "language  {}: expected {want}, got {:?} {}",
                    e.path,
                    read.language,
                    describe(kind, o)
                );
            }
        }
        if e.expected_error {
            err_total += 1;
            if kind.is_some() {
                err_ok += 1;
            } else {
                let _ = writeln!(misses, "error     {}: expected an error, got a record", e.path);
            }
        } else if let Some(k) = kind {
            unexpected_errors += 1;
            let _ = writeln!(misses, "error     {}: unexpected {}", e.path, describe(Some(k), o));
        }
    }
    let mut elapsed: Vec<u64> = outcomes.iter().map(|o| o.record.elapsed_ms).collect();
    elapsed.sort_unstable();
    let percentile = |p: f64| elapsed.get(((elapsed.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0);

    let _ = writeln!(out, "files                       {}", outcomes.len());
    let _ = writeln!(out, "crashes (crashed, OOM)      {crashes}");
    let _ = writeln!(out, "timeouts                    {timeouts}");
    for (format, (ok, total)) in &pages {
        let _ = writeln!(out, "pages agree ({format:<5})       {}", ratio(*ok, *total));
    }
    let _ = writeln!(out, "language agrees             {}", ratio(lang_ok, lang_total));
    let _ = writeln!(out, "expected errors reported    {}", ratio(err_ok, err_total));
    let _ = writeln!(out, "unexpected errors           {unexpected_errors}");
    if protected > 0 {
        let _ = writeln!(out, "opened with their password  {}", ratio(opened, protected));
    }
    let _ = writeln!(
        out,
        "time per file (ms)          median {}, p90 {}, max {}",
        percentile(0.5),
        percentile(0.9),
        percentile(1.0)
    );
    let mut memory: Vec<u64> = outcomes.iter().filter_map(|o| o.record.peak_memory_kib).collect();
    memory.sort_unstable();
    if let (Some(max), false) = (memory.last(), memory.is_empty()) {
        let median = memory[memory.len() / 2];
        let heaviest = outcomes
            .iter()
            .max_by_key(|o| o.record.peak_memory_kib.unwrap_or(0))
            .map(|o| o.expected.path.as_str())
            .unwrap_or("");
        let _ = writeln!(out, "parser memory (MiB)         median {}, max {} ({heaviest})", median / 1024, max / 1024);
    }
    fn scored(o: &Outcome) -> Option<(&str, f64)> {
        o.f1.map(|f| (o.expected.path.as_str(), f))
    }
    let all: Vec<(&str, f64)> = outcomes.iter().filter_map(scored).collect();
    let f1: Vec<(&str, f64)> = outcomes.iter().filter(|o| !o.reference_mojibake).filter_map(scored).collect();
    if !all.is_empty() {
        let mean = |v: &[(&str, f64)]| v.iter().map(|(_, f)| f).sum::<f64>() / v.len().max(1) as f64;
        let left_out = all.len() - f1.len();
        if left_out == 0 {
            let _ = writeln!(out, "word-F1 vs pdftotext         mean {:.3} over {} text PDFs", mean(&f1), f1.len());
        } else {
            let _ = writeln!(
                out,
                "word-F1 vs pdftotext         mean {:.3} over {} text PDFs ({left_out} left out: pdftotext's text is \
                 mojibake; mean {:.3} over all {})",
                mean(&f1),
                f1.len(),
                mean(&all),
                all.len()
            );
        }
        for o in outcomes.iter().filter(|o| o.reference_mojibake) {
            let _ = writeln!(
                misses,
                "text      {}: pdftotext's text is mojibake, not scored (word-F1 {:.3} against it)",
                o.expected.path,
                o.f1.unwrap_or(0.0)
            );
        }
        for (path, f) in f1.iter().filter(|(_, f)| *f < 0.9) {
            let _ = writeln!(misses, "text      {path}: word-F1 {f:.3} against pdftotext");
        }
    }
    if !misses.is_empty() {
        let _ = writeln!(out, "\ndisagreements:\n{misses}");
    }
    out
}

fn describe(kind: Option<ExtractErrorKind>, o: &Outcome) -> String {
    match (kind, &o.record.error) {
        (Some(k), Some(e)) => format!("[{}: {}]", k.as_str(), e.message.chars().take(90).collect::<String>()),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::word_f1;

    #[test]
    fn latin1_mojibake_is_told_from_real_text() {
        use super::is_mojibake;
        assert!(is_mojibake("¹ØÓÚºì¾ü×÷Õ½µÄÔ-Ôò ¡-¡-¡-¡-¡- Ä¿¡¡¡¡Â¼ £±"));
        assert!(!is_mojibake("Les États parties se réunissent à Genève chaque année pour la réunion"));
        assert!(!is_mojibake("Größenänderung über Straßen"), "German is not mojibake, short or long");
        assert!(!is_mojibake("关于红军作战的原则"));
    }

    #[test]
    fn word_f1_counts_words_as_a_bag() {
        assert_eq!(word_f1("a b c", "c b a"), 1.0);
        assert_eq!(word_f1("", ""), 1.0);
        assert_eq!(word_f1("x", "y"), 0.0);
        // Two of three words right both ways: precision = recall = 2/3.
        assert!((word_f1("The cat sat", "the cat ran") - 2.0 / 3.0).abs() < 1e-9);
        // Glued words count as wrong.
        assert!(word_f1("DearExcellency", "Dear Excellency") == 0.0);
    }

    #[test]
    fn words_compare_after_normalisation() {
        use super::comparable_words;
        // Arabic presentation forms and a direction mark, as poppler writes them, against plain letters.
        assert_eq!(word_f1("\u{200F}\u{FEE3}\u{FEAE}\u{FEA3}\u{FE92}\u{FE8E}", "مرحبا"), 1.0);
        assert_eq!(comparable_words("The ﬁrst, (second) word."), ["the", "first", "second", "word"]);
        assert_eq!(comparable_words("日本語 text"), ["日", "本", "語", "text"]);
        assert_eq!(comparable_words("— …"), Vec::<String>::new());
        // A number glued to a word, and two scripts glued, as poppler writes right-to-left runs.
        assert_eq!(comparable_words(".١مستند Latexأيضا"), ["١", "مستند", "latex", "أيضا"]);
        assert_eq!(word_f1(".١مستند", ".١ مستند"), 1.0);
        // Vowel signs stay in their word; apostrophes and hyphens split alike on both sides.
        assert_eq!(comparable_words("يبيبَح"), ["يبيبَح"]);
        assert_eq!(comparable_words("State's COVID-19"), ["state", "s", "covid", "19"]);
    }
}

/// One sample of a language test set (`{"text", "lang", "kind"}` per line, like
/// `../shared/corpus/lang_dev.jsonl`).
#[derive(Debug, Deserialize)]
struct LanguageSample {
    text: String,
    lang: String,
    #[serde(default)]
    kind: String,
}

/// `folio eval-language FILE`: language detection accuracy by kind of sample, and its speed.
pub fn run_language(samples: &Path) -> Result<String> {
    let text = std::fs::read_to_string(samples).with_context(|| format!("reading {}", samples.display()))?;
    let mut all = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        all.push(
            serde_json::from_str::<LanguageSample>(line)
                .with_context(|| format!("{} line {}", samples.display(), i + 1))?,
        );
    }
    // Each sample timed on its own, so that the time can be given by kind (a paragraph costs more than a
    // sentence); the clock's own cost (tens of nanoseconds) is below what matters here.
    // The detectors' tables are built at their first use (the function-word index, the letter table); as lingua's models are
    // loaded before its clock starts in benches/compare.py, they are built before this one's.
    let _ = folio_extract::language::detect("The catalogue of best practices and their results, État partie");
    let mut elapsed = std::time::Duration::ZERO;
    let mut answers = Vec::with_capacity(all.len());
    for sample in &all {
        let started = std::time::Instant::now();
        let answer = folio_extract::language::detect(&sample.text).map(|(l, _)| l).unwrap_or_default();
        let took = started.elapsed();
        elapsed += took;
        answers.push((answer, took));
    }
    let mut by_kind: BTreeMap<&str, (usize, usize, std::time::Duration)> = BTreeMap::new();
    let mut misses = String::new();
    for (sample, (answer, took)) in all.iter().zip(&answers) {
        let entry = by_kind.entry(if sample.kind.is_empty() { "all" } else { sample.kind.as_str() }).or_default();
        entry.1 += 1;
        entry.2 += *took;
        if *answer == sample.lang {
            entry.0 += 1;
        } else {
            let _ = writeln!(
                misses,
                "{:<16} expected {}, got {answer}: {}",
                sample.kind,
                sample.lang,
                sample.text.chars().take(60).collect::<String>()
            );
        }
    }
    let mut out = String::new();
    let correct: usize = by_kind.values().map(|(ok, _, _)| ok).sum();
    let _ = writeln!(out, "samples                     {}", all.len());
    let _ = writeln!(out, "correct                     {}", ratio(correct, all.len()));
    for (kind, (ok, total, took)) in &by_kind {
        let us = took.as_secs_f64() * 1e6 / (*total).max(1) as f64;
        let _ = writeln!(out, "  {kind:<25} {}, {us:.0} µs a sample", ratio(*ok, *total));
    }
    let per_sample_us = elapsed.as_secs_f64() * 1e6 / all.len().max(1) as f64;
    let _ = writeln!(
        out,
        "time                        {:.1} ms in all, {per_sample_us:.0} µs a sample",
        elapsed.as_secs_f64() * 1e3
    );
    if !misses.is_empty() {
        let _ = writeln!(out, "\nmisses:\n{misses}");
    }
    Ok(out)
}
