//! Text layers checked against the page: whether the words of an OCR sample are in a page's text layer (a
//! scan whose invisible OCR layer was made with the wrong language or a poor engine reads as another text
//! entirely), and the lines OCR found in an image that the layer lacks, added without doubling what the
//! layer already says.
//!
//! Words are compared as [`words`] makes them: lower case, letters and digits only, a word per CJK character,
//! and (for the sample) at least three letters long, since OCR's one- and two-letter "words" are mostly
//! noise and a lying layer still holds `a`, `of`, `1`.

use crate::language::is_cjk;
use std::collections::HashSet;

/// Fewer sample words than this and the sample cannot judge the layer: it is kept.
const MIN_SAMPLE_WORDS: usize = 6;
/// A layer holding fewer than this share of the sample's words does not say what the page shows. Measured:
/// OCR of a clean page against the page's own text layer shares 0.8 to 1.0 of its words, against a layer
/// made by Tesseract's English pack over a Russian page 0.0 (fixture `tests/fixtures/layers/`); a fair but
/// noisy older OCR layer stays far above this.
const MIN_SHARED: f64 = 0.3;
/// An OCR line whose words are at least this share new to the layer is added; below it, the layer already
/// says that line (in the caption or the body beside the image) and adding it would double it.
const MIN_NEW_IN_LINE: f64 = 0.5;

/// What the sample says of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The layer holds the sample's words.
    Agrees,
    /// The layer holds few of them: it is not the page's text.
    Lies,
    /// Too few sample words to tell; the layer is kept.
    Undecided,
}

/// Whether `layer` holds the words OCR read in a sample of the same page.
pub(crate) fn judge(layer: &str, sample: &str) -> Verdict {
    let sample: HashSet<String> = words(sample).into_iter().filter(|w| long_enough(w)).collect();
    if sample.len() < MIN_SAMPLE_WORDS {
        return Verdict::Undecided;
    }
    let layer: HashSet<String> = words(layer).into_iter().collect();
    let shared = sample.iter().filter(|w| layer.contains(*w)).count();
    if (shared as f64) < MIN_SHARED * sample.len() as f64 {
        Verdict::Lies
    } else {
        Verdict::Agrees
    }
}

/// `layer` with the lines of `ocr` it lacks added after it (a blank line between): an OCR line is added when
/// at least half of its words are not in the layer, so the text an image shares with its caption, or with
/// the layer drawn over it, is not written twice.
pub(crate) fn with_lines_it_lacks(layer: &str, ocr: &str) -> String {
    let known: HashSet<String> = words(layer).into_iter().collect();
    let new: Vec<&str> = ocr
        .lines()
        .filter(|line| {
            let ws = words(line);
            !ws.is_empty()
                && ws.iter().filter(|w| !known.contains(*w)).count() as f64 >= MIN_NEW_IN_LINE * ws.len() as f64
        })
        .collect();
    match (layer.trim().is_empty(), new.is_empty()) {
        (_, true) => layer.to_string(),
        (true, false) => new.join("\n"),
        (false, false) => format!("{layer}\n\n{}", new.join("\n")),
    }
}

/// The words of `text` as the checks compare them: lower case, split at anything not a letter, digit or
/// combining mark, one word per CJK character.
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() || is_mark(c) {
            word.push(c);
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{0591}'..='\u{05C7}' | '\u{064B}'..='\u{065F}' | '\u{0900}'..='\u{0903}' | '\u{093A}'..='\u{094F}' | '\u{0E31}' | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}')
}

fn long_enough(word: &str) -> bool {
    word.chars().any(is_cjk) || word.chars().filter(|c| c.is_alphabetic()).count() >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "Программа сотрудничества помогает пострадавшим общинам восстановить поля и дороги";

    #[test]
    fn a_layer_with_the_pages_words_agrees_even_with_ocr_errors() {
        let ocr = "Программа сотрудничества помогаот пострадавшим общинам восстановить поля и дороги";
        assert_eq!(judge(PAGE, ocr), Verdict::Agrees);
    }

    #[test]
    fn a_layer_in_another_script_lies() {
        let garbage = "Nporpamma COTPYAHMYeCTBa NoMoraeT NOCTpaAaBLUMM OOLUMHAM BOCCTAHOBMTb NONA M AOpOrM";
        assert_eq!(judge(garbage, PAGE), Verdict::Lies);
    }

    #[test]
    fn a_sample_of_a_few_words_cannot_judge() {
        assert_eq!(judge("anything at all", "Figure 3 map"), Verdict::Undecided);
    }

    #[test]
    fn cjk_is_compared_by_character() {
        let layer = "国际合作项目帮助受影响的社区恢复田地和道路";
        assert_eq!(judge(layer, "国际合作项目帮助社区"), Verdict::Agrees);
        assert_eq!(judge("ÿþ¿½ random latin words only here", "国际合作项目帮助社区"), Verdict::Lies);
    }

    #[test]
    fn lines_the_layer_lacks_are_added_once() {
        let layer = "Annual report\n\nFigure 1: Cleared land in 2011";
        let ocr = "Cleared land in 2011\nHectares returned to farming: 1,200\n\n";
        assert_eq!(
            with_lines_it_lacks(layer, ocr),
            "Annual report\n\nFigure 1: Cleared land in 2011\n\nHectares returned to farming: 1,200"
        );
        assert_eq!(with_lines_it_lacks(layer, "Annual report"), layer, "nothing new, nothing added");
        assert_eq!(with_lines_it_lacks("", "Only OCR"), "Only OCR");
    }
}
