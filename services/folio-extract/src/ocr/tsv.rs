//! Tesseract's TSV output: one row per layout element, words at level 5 with a confidence (0–100). We
//! rebuild the text from the block/paragraph/line numbers (a line break between lines, a blank line
//! between paragraphs, as elsewhere in Folio) and keep the word confidences to judge the result.

/// Text and word confidences recovered from one TSV.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct TsvText {
    pub text: String,
    /// Confidence of each word, 0 to 100.
    pub confidences: Vec<f64>,
}

impl TsvText {
    /// Mean word confidence, 0 to 100; 0 when there are no words.
    pub fn mean_confidence(&self) -> f64 {
        if self.confidences.is_empty() {
            return 0.0;
        }
        self.confidences.iter().sum::<f64>() / self.confidences.len() as f64
    }

    /// Words recognised with at least `min` confidence.
    pub fn confident_words(&self, min: f64) -> usize {
        self.confidences.iter().filter(|c| **c >= min).count()
    }
}

/// One recognised word of a TSV row: where it is (page, block, paragraph, line), its confidence and text.
struct Word {
    at: (u32, u32, u32, u32),
    confidence: f64,
    text: String,
}

/// The words of TSV (header line, then `level page block par line word left top width height conf text`).
/// Rows that do not parse are skipped: a malformed line costs a word, never the page.
fn words(tsv: &str) -> impl Iterator<Item = Word> + '_ {
    tsv.lines().skip(1).filter_map(|row| {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            return None;
        }
        let text = cols[11..].join(" ").trim().to_string();
        let num = |i: usize| cols[i].trim().parse::<u32>().ok();
        let at = (num(1)?, num(2)?, num(3)?, num(4)?);
        let confidence = cols[10].trim().parse::<f64>().ok()?;
        (!text.is_empty() && confidence >= 0.0).then(|| Word { at, confidence: confidence.min(100.0), text })
    })
}

/// Parse TSV into its text (lines and paragraphs as Tesseract found them) and its words' confidences.
pub(crate) fn parse(tsv: &str) -> TsvText {
    assemble(words(tsv))
}

fn assemble(words: impl Iterator<Item = Word>) -> TsvText {
    let mut out = TsvText::default();
    let mut last: Option<(u32, u32, u32, u32)> = None;
    for word in words {
        let (page, block, par, line) = word.at;
        match last {
            None => {}
            Some(prev) if (prev.0, prev.1, prev.2) != (page, block, par) => out.text.push_str("\n\n"),
            Some(prev) if prev.3 != line => out.text.push('\n'),
            // Thai (and Chinese, Japanese) put no space between words, and Tesseract's words there are
            // letters or syllables: joined without one, as written.
            Some(_) if !unspaced(out.text.chars().next_back(), word.text.chars().next()) => out.text.push(' '),
            Some(_) => {}
        }
        out.text.push_str(&word.text);
        out.confidences.push(word.confidence);
        last = Some(word.at);
    }
    out
}

/// Like [`parse`], keeping only the pages (of a TSV read from a list of images, one row of text each) whose
/// words' mean confidence is at least `min_mean`: a row the look took for letters (a railing, a window's
/// bars) reads as a few marks of low confidence, and its noise stays out of the rows that are text.
pub(crate) fn parse_confident_pages(tsv: &str, min_mean: f64) -> TsvText {
    let mut pages: std::collections::BTreeMap<u32, (f64, usize)> = std::collections::BTreeMap::new();
    for word in words(tsv) {
        let page = pages.entry(word.at.0).or_default();
        page.0 += word.confidence;
        page.1 += 1;
    }
    let kept = |page: u32| pages.get(&page).is_some_and(|(sum, n)| *n > 0 && sum / *n as f64 >= min_mean);
    assemble(words(tsv).filter(|w| kept(w.at.0)))
}

/// Whether two letters of a line are of scripts written without spaces between words (Thai, Lao, Khmer,
/// Myanmar; Chinese characters and Japanese kana), or the second is a combining mark.
fn unspaced(before: Option<char>, after: Option<char>) -> bool {
    let no_space = |c: char| matches!(c as u32, 0x0E00..=0x0EFF | 0x1000..=0x109F | 0x1780..=0x17FF | 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF);
    let combining = |c: char| unicode_normalization::char::is_combining_mark(c);
    match (before, after) {
        (Some(b), Some(a)) => (no_space(b) && no_space(a)) || combining(a),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n";

    #[test]
    fn rebuilds_lines_and_paragraphs() {
        let tsv = format!(
            "{HEAD}1\t1\t0\t0\t0\t0\t0\t0\t9\t9\t-1\t\n\
             5\t1\t1\t1\t1\t1\t0\t0\t9\t9\t90.5\tDear\n\
             5\t1\t1\t1\t1\t2\t0\t0\t9\t9\t80\tExcellency,\n\
             5\t1\t1\t1\t2\t1\t0\t0\t9\t9\t70\tWe\n\
             5\t1\t1\t2\t1\t1\t0\t0\t9\t9\t60\tMuch\n\
             5\t1\t2\t1\t1\t1\t0\t0\t9\t9\t-1\t \n\
             5\t1\t2\t1\t1\t2\t0\t0\t9\t9\tnan?\tbad\n\
             5\t1\t3\t1\t1\t1\t0\t0\t9\t9\t50\tEnd"
        );
        let t = parse(&tsv);
        assert_eq!(t.text, "Dear Excellency,\nWe\n\nMuch\n\nEnd");
        assert_eq!(t.confidences, [90.5, 80.0, 70.0, 60.0, 50.0]);
        assert!((t.mean_confidence() - 70.1).abs() < 1e-9);
        assert_eq!(t.confident_words(60.0), 4);
    }

    #[test]
    fn empty_output_has_no_words() {
        let t = parse(HEAD);
        assert_eq!(t.text, "");
        assert_eq!(t.mean_confidence(), 0.0);
    }

    #[test]
    fn pages_of_low_confidence_are_left_out() {
        let tsv = format!(
            "{HEAD}5\t1\t1\t1\t1\t1\t0\t0\t9\t9\t91\tMusée\n\
             5\t1\t1\t1\t1\t2\t0\t0\t9\t9\t89\tdu\n\
             5\t2\t1\t1\t1\t1\t0\t0\t9\t9\t20\t|‘\n\
             5\t2\t1\t1\t1\t2\t0\t0\t9\t9\t70\tmiu\n\
             5\t3\t1\t1\t1\t1\t0\t0\t9\t9\t80\tLOUVRE\n"
        );
        let t = parse_confident_pages(&tsv, 50.0);
        assert_eq!(t.text, "Musée du\n\nLOUVRE");
        assert_eq!(t.confidences, [91.0, 89.0, 80.0]);
        assert_eq!(parse_confident_pages(&tsv, 95.0), TsvText::default());
    }
}
