//! Paragraphs found from the page's layout: PDFium's text of a page has a line break after every line and no
//! mark where a paragraph ends, so a letter read from a PDF (letterhead, date, greeting, body paragraphs,
//! signatures) came out as one block. Where the space between two lines is clearly more than the page's usual
//! line pitch, a paragraph ends: a blank line is put there, as the rest of Folio marks paragraphs.
//!
//! The lines' positions come from PDFium's text segments (one rectangle per run of text on a line), merged
//! into lines; they are matched to the text's lines one for one, and the text is left as it is whenever the
//! two do not count the same lines (then the geometry cannot be trusted to say which line is which).

/// A line of text on the page: its bottom and top in points (PDF space: y grows upwards).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LineBox {
    pub bottom: f32,
    pub top: f32,
}

/// A gap between lines at least this many times the page's usual pitch ends a paragraph. Measured: body text
/// set solid or at 1.15 has pitches within 5% of each other; paragraph spacing adds half a line or more.
const PARAGRAPH_GAP: f32 = 1.35;
/// Fewer line pairs than this on a page and its usual pitch is not known well enough.
const MIN_PAIRS: usize = 3;

/// Merges segment rectangles, in PDFium's (reading) order, into lines: a segment that overlaps the current
/// line vertically by half the smaller height continues it.
pub(crate) fn lines_of(segments: &[LineBox]) -> Vec<LineBox> {
    let mut lines: Vec<LineBox> = Vec::new();
    for s in segments {
        if let Some(line) = lines.last_mut() {
            let overlap = line.top.min(s.top) - line.bottom.max(s.bottom);
            let smaller = (line.top - line.bottom).min(s.top - s.bottom).max(0.01);
            if overlap >= 0.5 * smaller {
                line.bottom = line.bottom.min(s.bottom);
                line.top = line.top.max(s.top);
                continue;
            }
        }
        lines.push(*s);
    }
    lines
}

/// Whether [`with_paragraph_breaks`] could change `text`: enough lines, and no paragraph marked yet. Asked
/// first, so that the lines' positions are read from PDFium only for pages that need them.
pub(crate) fn may_need_breaks(text: &str) -> bool {
    let mut lines = 0;
    for line in text.split('\n') {
        if line.trim().is_empty() {
            return false;
        }
        lines += 1;
    }
    lines > MIN_PAIRS
}

/// `text` (one page, lines separated by `\n`) with a blank line where the layout shows a paragraph ending;
/// `None` when the text already marks paragraphs, or its lines and `lines` do not count alike, or the page
/// has too few lines to know its pitch.
pub(crate) fn with_paragraph_breaks(text: &str, lines: &[LineBox]) -> Option<String> {
    let text_lines: Vec<&str> = text.split('\n').collect();
    if text_lines.iter().any(|l| l.trim().is_empty()) || text_lines.len() != lines.len() {
        return None;
    }
    // Pitch from one line's bottom to the next's, going down the page; a jump up (a new column) is no pitch.
    let pitches: Vec<Option<f32>> =
        lines.windows(2).map(|w| Some(w[0].bottom - w[1].bottom).filter(|p| *p > 0.0)).collect();
    let mut known: Vec<f32> = pitches.iter().flatten().copied().collect();
    if known.len() < MIN_PAIRS {
        return None;
    }
    known.sort_by(f32::total_cmp);
    // The lower quartile, not the median: in a letter of short paragraphs, a third of the gaps or more are
    // paragraph gaps; the lines within paragraphs are the closest.
    let usual = known[known.len() / 4];
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text_lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            if pitches[i - 1].is_some_and(|p| p > PARAGRAPH_GAP * usual) {
                out.push('\n');
            }
        }
        out.push_str(line);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines 12 points apart from y = 700 down, with an extra `extra` points before the lines in `after`.
    fn layout(n: usize, after: &[usize], extra: f32) -> Vec<LineBox> {
        let mut y = 700.0;
        (0..n)
            .map(|i| {
                if after.contains(&i) {
                    y -= extra;
                }
                let line = LineBox { bottom: y, top: y + 9.0 };
                y -= 12.0;
                line
            })
            .collect()
    }

    #[test]
    fn a_wider_gap_ends_a_paragraph() {
        let text = "Geneva, 18 January 2012\nDear Excellency,\nWe are pleased to address you\nand refer to the meeting.\nMuch has been achieved\nin the field.";
        let lines = layout(6, &[1, 2, 4], 8.0);
        assert_eq!(
            with_paragraph_breaks(text, &lines).unwrap(),
            "Geneva, 18 January 2012\n\nDear Excellency,\n\nWe are pleased to address you\nand refer to the meeting.\n\nMuch has been achieved\nin the field."
        );
    }

    #[test]
    fn the_text_is_left_alone_when_unsure() {
        assert_eq!(with_paragraph_breaks("a\nb\nc", &layout(4, &[], 0.0)), None, "lines do not count alike");
        assert_eq!(with_paragraph_breaks("a\n\nb", &layout(3, &[], 0.0)), None, "paragraphs already marked");
        assert_eq!(with_paragraph_breaks("a\nb", &layout(2, &[], 0.0)), None, "too few lines");
        assert!(!may_need_breaks("a\nb") && !may_need_breaks("a\nb\n\nc\nd\ne") && may_need_breaks("a\nb\nc\nd"));
        let even = "one\ntwo\nthree\nfour\nfive";
        assert_eq!(with_paragraph_breaks(even, &layout(5, &[], 0.0)).unwrap(), even, "even pitch: one paragraph");
    }

    #[test]
    fn segments_on_one_line_merge() {
        let segments = [
            LineBox { bottom: 700.0, top: 709.0 },
            LineBox { bottom: 700.5, top: 708.0 },
            LineBox { bottom: 688.0, top: 697.0 },
        ];
        assert_eq!(lines_of(&segments).len(), 2);
    }
}
