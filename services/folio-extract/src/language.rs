//! Language identification and word counting. whatlang is statistical: on a few words it guesses
//! wildly, so below a minimum amount of text we answer `und` (undetermined) rather than a guess.

use whatlang::Lang;

/// Fewer letters than this and the language is `und`.
const MIN_LETTERS: usize = 20;
/// Fewer words than this and the language is `und`.
const MIN_WORDS: u64 = 3;
/// Only the beginning of long texts is examined: detection is linear in the text, and a book's first
/// pages say as much about its language as the whole.
const SAMPLE_CHARS: usize = 20_000;

/// Detect the language of `text`.
///
/// Returns the ISO 639-1 code where one exists (else ISO 639-3) and whatlang's confidence (0 to 1);
/// `("und", 0.0)` when there is too little text or whatlang cannot tell. Always `Some`; the `Option`
/// leaves room for callers that distinguish "not attempted".
pub fn detect(text: &str) -> Option<(String, f64)> {
    let sample: &str = match text.char_indices().nth(SAMPLE_CHARS) {
        Some((at, _)) => &text[..at],
        None => text,
    };
    let letters = sample.chars().filter(|c| c.is_alphabetic()).count();
    if letters < MIN_LETTERS || count_words(sample) < MIN_WORDS {
        return Some(("und".to_string(), 0.0));
    }
    match whatlang::detect(sample) {
        Some(info) => Some((iso639_1(info.lang()).to_string(), info.confidence())),
        None => Some(("und".to_string(), 0.0)),
    }
}

/// Paragraphs examined for [`shares`]: enough for any contribution, bounded for a 1,000-page book.
const MAX_PARAGRAPHS: usize = 2_000;

/// The languages of a text by share of its words, largest first: each paragraph (blank-line separated) long
/// enough to tell is detected on its own, and its words go to its language. Paragraphs too short to tell
/// are left out of the shares. Shares are rounded to 3 decimals so records compare stably.
pub fn shares(text: &str) -> Vec<folio_core::LanguageShare> {
    let mut words_by_language: Vec<(String, u64)> = Vec::new();
    let mut told = 0u64;
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()).take(MAX_PARAGRAPHS) {
        let Some((language, _)) = detect(paragraph) else { continue };
        if language == "und" {
            continue;
        }
        let words = count_words(paragraph);
        told += words;
        match words_by_language.iter_mut().find(|(l, _)| *l == language) {
            Some((_, n)) => *n += words,
            None => words_by_language.push((language, words)),
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
            } else if c.is_alphanumeric() {
                other = true;
            }
        }
        words += cjk + u64::from(other);
    }
    words
}

fn is_cjk(c: char) -> bool {
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

    #[test]
    fn every_language_maps_to_a_short_code() {
        for lang in Lang::all() {
            let code = iso639_1(*lang);
            assert!(code.len() == 2 || code.len() == 3, "{lang:?} -> {code}");
        }
    }
}
