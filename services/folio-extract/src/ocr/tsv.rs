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

/// Parse TSV (header line, then `level page block par line word left top width height conf text`).
/// Rows that do not parse are skipped: a malformed line costs a word, never the page.
pub(crate) fn parse(tsv: &str) -> TsvText {
    let mut out = TsvText::default();
    let mut last: Option<(u32, u32, u32, u32)> = None;
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let word = cols[11..].join(" ");
        let word = word.trim();
        let num = |i: usize| cols[i].trim().parse::<u32>().ok();
        let (Some(page), Some(block), Some(par), Some(line)) = (num(1), num(2), num(3), num(4)) else { continue };
        let Ok(conf) = cols[10].trim().parse::<f64>() else { continue };
        if word.is_empty() || conf < 0.0 {
            continue;
        }
        let here = (page, block, par, line);
        match last {
            None => {}
            Some(prev) if (prev.0, prev.1, prev.2) != (page, block, par) => out.text.push_str("\n\n"),
            Some(prev) if prev.3 != line => out.text.push('\n'),
            // Thai (and Chinese, Japanese) put no space between words, and Tesseract's words there are
            // letters or syllables: joined without one, as written.
            Some(_) if !unspaced(out.text.chars().next_back(), word.chars().next()) => out.text.push(' '),
            Some(_) => {}
        }
        out.text.push_str(word);
        out.confidences.push(conf.min(100.0));
        last = Some(here);
    }
    out
}

/// Like [`parse`], keeping only the pages (of a TSV read from a list of images, one row of text each) whose
/// words' mean confidence is at least `min_mean`: a row the look took for letters (a railing, a window's
/// bars) reads as a few marks of low confidence, and its noise stays out of the rows that are text.
pub(crate) fn parse_confident_pages(tsv: &str, min_mean: f64) -> TsvText {
    let mut pages: std::collections::BTreeMap<&str, (f64, usize)> = std::collections::BTreeMap::new();
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() < 12 || cols[0] != "5" || cols[11..].join(" ").trim().is_empty() {
            continue;
        }
        if let Ok(conf) = cols[10].trim().parse::<f64>().map(|c| c.min(100.0)) {
            if conf >= 0.0 {
                let page = pages.entry(cols[1]).or_default();
                page.0 += conf;
                page.1 += 1;
            }
        }
    }
    let kept: Vec<&str> =
        pages.into_iter().filter(|(_, (sum, n))| *n > 0 && sum / *n as f64 >= min_mean).map(|(p, _)| p).collect();
    let mut filtered = String::with_capacity(tsv.len());
    for (i, row) in tsv.lines().enumerate() {
        if i == 0 || row.split('\t').nth(1).is_some_and(|page| kept.contains(&page)) {
            filtered.push_str(row);
            filtered.push('\n');
        }
    }
    parse(&filtered)
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
