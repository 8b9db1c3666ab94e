//! Language identification and word counting. whatlang is statistical: on a few words it guesses
//! wildly, so below a minimum amount of text we answer `und` (undetermined) rather than a guess.

pub(crate) mod lexicon;

use whatlang::Lang;

/// Fewer letters than this and the language is `und`.
const MIN_LETTERS: usize = 20;
/// Fewer words than this and the language is `und`.
const MIN_WORDS: u64 = 3;
/// The confidence given to a language named by [`crate::language::lexicon::short_text`]: sure of the words, but they
/// are few.
const SHORT_TEXT_CONFIDENCE: f64 = 0.6;
/// Only the beginning of long texts is examined: detection is linear in the text, and a book's first
/// pages say as much about its language as the whole.
const SAMPLE_CHARS: usize = 20_000;

/// Detect the language of `text`.
///
/// Returns the ISO 639-1 code where one exists (else ISO 639-3) and a confidence (0 to 1); `("und", 0.0)`
/// when there is too little text or nothing can tell. On Latin script the text's function words
/// ([`crate::language::lexicon`]) answer first when they clearly name a language (whatlang reads short English as
/// Catalan, and does not know Swahili); otherwise whatlang answers. Always `Some`; the `Option` leaves room
/// for callers that distinguish "not attempted".
pub fn detect(text: &str) -> Option<(String, f64)> {
    Some(detect_prose(&prose_only(sample(text))))
}

/// The beginning of `text` that detection examines (see [`SAMPLE_CHARS`]).
fn sample(text: &str) -> &str {
    match text.char_indices().nth(SAMPLE_CHARS) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// [`detect`] on text already reduced by [`prose_only`].
fn detect_prose(prose: &str) -> (String, f64) {
    let undetermined = || ("und".to_string(), 0.0);
    if !enough_text(prose) {
        // Too little for statistics; a few words that are all frequent words of one language still tell.
        return match crate::language::lexicon::short_text(prose) {
            Some(code) => (code.to_string(), SHORT_TEXT_CONFIDENCE),
            None => undetermined(),
        };
    }
    // On Latin script, function words that clearly name a language decide: they overrule whatlang where it
    // disagrees (short English read as Catalan, Swahili it does not know), and where it would agree it is not
    // asked, which saves its fixed cost (100 to 150 µs a paragraph, comparing the text with every Latin-script
    // language's trigrams) on most prose in the listed languages. Where close languages share the lead
    // (Czech and Slovak), whatlang chooses among them and the languages no list covers: its comparison with
    // the languages the function words ruled out is not paid for.
    let info = if whatlang::detect_script(prose) == Some(whatlang::Script::Latin) {
        use crate::language::lexicon::{read, Reading};
        match read(prose) {
            // Half the tokens being function words is as sure as prose gets.
            Reading::Named(code, share) => return (code.to_string(), (0.5 + share).min(1.0)),
            Reading::Between(close) => whatlang::Detector::with_allowlist(latin_candidates(close)).detect(prose),
            Reading::Unknown => whatlang::detect(prose),
        }
    } else {
        whatlang::detect(prose)
    };
    let Some(info) = info else { return undetermined() };
    (iso639_1(info.lang()).to_string(), info.confidence())
}

/// The Latin-script languages whatlang may answer when function words left `close` (a
/// [`crate::language::lexicon::Reading::Between`] mask): those listed in it, and every one no list covers.
fn latin_candidates(close: u32) -> Vec<Lang> {
    use crate::language::lexicon::{codes, knows};
    let listed: Vec<&str> = codes(close).collect();
    whatlang::Script::Latin
        .langs()
        .iter()
        .copied()
        .filter(|lang| {
            let code = iso639_1(*lang);
            listed.contains(&code) || !knows(code)
        })
        .collect()
}

/// The words of `text` that can belong to a natural language: tokens with markup or code characters
/// (`\\section`, `eskd@title`, `{x}`, `a_b`, `x=1`, URLs) are dropped, so that the index of a LaTeX manual or a
/// code listing inside a Russian document does not count as English.
fn prose_only(text: &str) -> String {
    let code = |c: char| {
        matches!(
            c,
            '\\' | '@'
                | '{'
                | '}'
                | '['
                | ']'
                | '_'
                | '='
                | '<'
                | '>'
                | '#'
                | '$'
                | '%'
                | '^'
                | '&'
                | '*'
                | '|'
                | '~'
                | '/'
        )
    };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        for token in line.split_whitespace().filter(|t| !t.contains(code)) {
            out.push_str(token);
            out.push(' ');
        }
        out.push('\n');
    }
    out
}

/// Whether `text` holds enough to tell its language: [`MIN_LETTERS`] letters and [`MIN_WORDS`] words, where
/// a character of a script written without spaces (Chinese, Japanese, Korean, Thai, Lao, Khmer, Burmese)
/// counts as three letters and the word count is waived for such text: one such character carries about
/// as much as a short Latin syllable.
fn enough_text(text: &str) -> bool {
    let (mut letters, mut unspaced) = (0usize, 0usize);
    for c in text.chars().filter(|c| is_letter(*c)) {
        letters += 1;
        if is_cjk(c) || is_unspaced_southeast_asian(c) {
            unspaced += 1;
        }
    }
    let weighted = letters + 2 * unspaced;
    weighted >= MIN_LETTERS && (count_words(text) >= MIN_WORDS || unspaced * 2 >= letters)
}

fn is_unspaced_southeast_asian(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF) // Khmer
}

/// The language of a whole document: the language of most of its letters, paragraph by paragraph, so that
/// a code listing, a bibliography or a quotation in another language does not outvote the prose; the whole
/// text's answer when no language holds most of the letters of the paragraphs long enough to tell (OCR
/// output, short lines). Returns the language, its confidence, and the [`shares`].
pub fn detect_document(text: &str) -> (String, f64, Vec<folio_core::LanguageShare>) {
    let (paragraphs, all_letters) = paragraph_languages(text);
    let shares = shares_of(&paragraphs);
    // Short paragraphs (headings, captions, a line each) are told apart poorly; when they hold most of the
    // text, the text as a whole is the better witness.
    let long: Vec<&ParagraphLanguage> = paragraphs.iter().filter(|p| p.letters >= LONG_PARAGRAPH_LETTERS).collect();
    let told: usize = long.iter().map(|p| p.letters).sum();
    if told * 2 >= all_letters {
        let mut by_language: Vec<(&str, usize, f64)> = Vec::new();
        for p in long {
            match by_language.iter_mut().find(|(l, _, _)| *l == p.language) {
                Some((_, n, c)) => {
                    *n += p.letters;
                    *c += p.confidence * p.letters as f64;
                }
                None => by_language.push((&p.language, p.letters, p.confidence * p.letters as f64)),
            }
        }
        if let Some((language, letters, weighted)) = by_language.into_iter().max_by_key(|(_, n, _)| *n) {
            if letters * 2 > told {
                return (language.to_string(), weighted / letters as f64, shares);
            }
        }
    }
    let (language, confidence) = detect_prose(&prose_only(sample(text)));
    (language, confidence, shares)
}

/// Paragraphs with fewer letters than this do not vote on the language of a document.
const LONG_PARAGRAPH_LETTERS: usize = 100;

/// Paragraphs examined for [`shares`]: enough for any contribution, bounded for a 1,000-page book.
const MAX_PARAGRAPHS: usize = 2_000;

/// One paragraph whose language could be told.
struct ParagraphLanguage {
    language: String,
    confidence: f64,
    words: u64,
    letters: usize,
}

/// Each paragraph (blank-line separated) long enough to tell, with its language; and the letters of every
/// paragraph examined, told or not.
fn paragraph_languages(text: &str) -> (Vec<ParagraphLanguage>, usize) {
    let mut told = Vec::new();
    let mut all_letters = 0;
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()).take(MAX_PARAGRAPHS) {
        let prose = prose_only(sample(paragraph));
        let letters = prose.chars().filter(|c| is_letter(*c)).count();
        all_letters += letters;
        let (language, confidence) = detect_prose(&prose);
        if language != "und" {
            told.push(ParagraphLanguage { language, confidence, words: count_words(paragraph), letters });
        }
    }
    (told, all_letters)
}

/// The languages of a text by share of its words, largest first: each paragraph (blank-line separated) long
/// enough to tell is detected on its own, and its words go to its language. Paragraphs too short to tell
/// are left out of the shares. Shares are rounded to 3 decimals so records compare stably.
pub fn shares(text: &str) -> Vec<folio_core::LanguageShare> {
    shares_of(&paragraph_languages(text).0)
}

fn shares_of(paragraphs: &[ParagraphLanguage]) -> Vec<folio_core::LanguageShare> {
    let mut words_by_language: Vec<(String, u64)> = Vec::new();
    let mut told = 0u64;
    for p in paragraphs {
        told += p.words;
        match words_by_language.iter_mut().find(|(l, _)| *l == p.language) {
            Some((_, n)) => *n += p.words,
            None => words_by_language.push((p.language.clone(), p.words)),
        }
    }
    if told == 0 {
        return Vec::new();
    }
    words_by_language.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    words_by_language
        .into_iter()
        .map(|(language, words)| folio_core::LanguageShare {
            language,
            share: (words as f64 / told as f64 * 1000.0).round() / 1000.0,
        })
        .collect()
}

/// Count words: whitespace-separated tokens with at least one letter or digit. Scripts written without
/// spaces (CJK) count each ideograph/kana/hangul character as a word, a rough but stable measure.
pub fn count_words(text: &str) -> u64 {
    let mut words = 0u64;
    for token in text.split_whitespace() {
        let mut cjk = 0u64;
        let mut other = false;
        for c in token.chars() {
            if is_cjk(c) {
                cjk += 1;
            } else if !other && (is_letter(c) || c.is_numeric()) {
                other = true;
            }
        }
        words += cjk + u64::from(other);
    }
    words
}

/// The script of a letter, as text checks tell scripts apart (OCR's [`crate::ocr`] judgement of a reading,
/// `folio eval`'s word split).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Script {
    Latin,
    Greek,
    Cyrillic,
    Hebrew,
    Arabic,
    Devanagari,
    Thai,
    /// Han and kana: Japanese writes them mixed.
    HanKana,
    Hangul,
    Other,
}

impl Script {
    /// The script of `c` (meaningful for letters; anything else is `Other` or the block it sits in).
    pub fn of(c: char) -> Self {
        match c as u32 {
            0..=0x024F | 0x1E00..=0x1EFF => Self::Latin,
            0x0370..=0x03FF | 0x1F00..=0x1FFF => Self::Greek,
            0x0400..=0x052F => Self::Cyrillic,
            0x0590..=0x05FF | 0xFB1D..=0xFB4F => Self::Hebrew,
            0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Self::Arabic,
            0x0900..=0x097F => Self::Devanagari,
            0x0E00..=0x0E7F => Self::Thai,
            0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF66..=0xFF9F => Self::HanKana,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Self::Hangul,
            _ => Self::Other,
        }
    }
}

/// Whether `c` belongs to a script written without spaces between words (CJK ideographs, kana, hangul).
/// Whether `c` is a letter ([`char::is_alphabetic`]), answered from a bit table of the Basic Multilingual
/// Plane built once a process (8 KiB, about 1 ms): the standard library searches its Unicode tables for each
/// character outside ASCII, which made that search most of the time of detecting Thai, Tamil, Hindi or Bengali
/// (60 to 130 µs a paragraph, where whatlang itself takes 1 to 35 µs).
pub fn is_letter(c: char) -> bool {
    static BMP: std::sync::LazyLock<Box<[u64; 1024]>> = std::sync::LazyLock::new(|| {
        let mut table = Box::new([0u64; 1024]);
        for code in 0x80..0x1_0000u32 {
            if char::from_u32(code).is_some_and(char::is_alphabetic) {
                table[(code >> 6) as usize] |= 1 << (code & 63);
            }
        }
        table
    });
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    let code = c as u32;
    if code > 0xFFFF {
        return c.is_alphabetic();
    }
    BMP[(code >> 6) as usize] & (1 << (code & 63)) != 0
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0x20000..=0x2FA1F) // extensions B..
}

/// ISO 639-1 code of a whatlang language, or its ISO 639-3 code where no two-letter code exists.
fn iso639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
        Lang::Cym => "cy",
        #[allow(unreachable_patterns)]
        other => other.code(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_letter_table_agrees_with_the_standard_library_on_every_character() {
        for code in 0..=0x10_FFFFu32 {
            if let Some(c) = char::from_u32(code) {
                assert_eq!(is_letter(c), c.is_alphabetic(), "U+{code:04X}");
            }
        }
    }

    use super::*;

    #[test]
    fn shares_split_a_mixed_text_by_paragraph() {
        let en = "The catalogue gathers the experience of States in clearance, victim assistance and risk education, so that others can learn from what worked and what did not.";
        let fr = "Le catalogue rassemble l'expérience des États en matière de dépollution, d'assistance aux victimes et d'éducation aux risques, afin que d'autres apprennent de ce qui a fonctionné.";
        let text = format!("{en}\n\n{en}\n\n{fr}\n\nok");
        let s = shares(&text);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0].language, "en");
        assert_eq!(s[1].language, "fr");
        assert!(s[0].share > 0.6 && s[0].share < 0.7, "{s:?}");
        assert!((s[0].share + s[1].share - 1.0).abs() < 0.002);
        assert_eq!(shares(en)[0].share, 1.0);
        assert!(shares("ok\n\nfine").is_empty(), "too little text to tell is no share");
    }

    #[test]
    fn counts_words() {
        assert_eq!(count_words("Hello, world — 42 !"), 3);
        assert_eq!(count_words("日本語 text"), 4);
        assert_eq!(count_words(""), 0);
    }

    /// Paragraphs of close languages whose function words do not single one out: whatlang chooses among the
    /// close ones and the unlisted ones, and its choice is the one it makes among all its languages.
    #[test]
    fn close_languages_are_told_apart_among_the_candidates_alone() {
        use crate::language::lexicon::{read, Reading};
        for (text, expected) in [
            (
                "Prosjektet startet i 2010, og målet var å hjelpe ofrene for landminer. Kommunene i regionen har \
                 vært med fra begynnelsen, fordi uten deres hjelp ville det ikke vært mulig å oppnå resultater. Vi \
                 har lært mye av arbeidet, og vi håper at andre land kan bruke erfaringene våre.",
                "nb",
            ),
            (
                "Projektet startede i 2010, og målet var at hjælpe ofrene for landminer. Kommunerne i regionen har \
                 været med fra begyndelsen, fordi det uden deres hjælp ikke ville have været muligt at opnå \
                 resultater. Vi har lært meget af arbejdet, og vi håber, at andre lande kan bruge vores erfaringer.",
                "da",
            ),
            (
                "Projekt je započeo 2010. godine, a cilj mu je bio pomoći žrtvama mina. Općine u regiji sudjeluju \
                 od samog početka, jer bez njihove pomoći ne bi bilo moguće postići rezultate. Mnogo smo naučili iz \
                 tog rada i nadamo se da će i druge zemlje moći koristiti naša iskustva.",
                "hr",
            ),
        ] {
            let prose = prose_only(text);
            let reading = read(&prose);
            let Reading::Between(close) = reading else { panic!("a clear lead on {expected}: {reading:?}") };
            let candidates = latin_candidates(close);
            assert!(candidates.len() < whatlang::Script::Latin.langs().len(), "{expected}: some are ruled out");
            assert!(candidates.iter().any(|l| iso639_1(*l) == expected), "{expected} stays a candidate");
            let everyone = whatlang::detect(&prose).map(|i| iso639_1(i.lang()));
            assert_eq!(everyone, Some(expected), "whatlang among all its languages");
            assert_eq!(detect(text).map(|d| d.0).as_deref(), Some(expected));
        }
    }

    #[test]
    fn every_language_maps_to_a_short_code() {
        for lang in Lang::all() {
            let code = iso639_1(*lang);
            assert!(code.len() == 2 || code.len() == 3, "{lang:?} -> {code}");
        }
    }
}
