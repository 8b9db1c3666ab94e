//! A PDF's form rebuilt from its layout, for the book: paragraphs (from the gaps between lines), headings
//! (lines set larger than the body, or bold where the body is not), list items (a bullet or a number at the
//! start of a line, its level from the indentation), and its running heads and page numbers left out (a line
//! at the top or bottom of the page that is a page number, or that recurs on other pages with only its
//! numbers changed). The text keeps every line; only the structure, which the book is set from, leaves them
//! out. Pages whose text came from OCR are set as the paragraphs of that text.

use folio_core::structure::{Block, Structure, Text, MAX_LEVEL};
use std::collections::HashMap;

/// A line of a page as PDFium lays it out: its text, where it is (points, y upwards), its type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub text: String,
    pub left: f32,
    pub right: f32,
    pub bottom: f32,
    pub top: f32,
    /// The font size most of its characters are set in (points).
    pub size: f32,
    /// Most of its characters are bold.
    pub bold: bool,
}

/// A picture of a page: which of the document's pictures it is, and its bottom and top (points).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placed {
    pub picture: usize,
    pub bottom: f32,
    pub top: f32,
}

/// One page, for [`structure`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PageForm {
    /// Its lines, the bottom and top of the page (points), and the pictures it draws (top first).
    Laid { lines: Vec<Line>, bottom: f32, top: f32, pictures: Vec<Placed> },
    /// Its text only (OCR read it): set as its paragraphs.
    Text(String),
}

/// The share of the page's height at its top and at its bottom where running heads and page numbers stand.
const MARGIN_BAND: f32 = 0.12;
/// A line at least this many times the body's size is a heading (when short).
const HEADING_SIZE: f32 = 1.15;
/// A heading has at most this many words.
const HEADING_WORDS: usize = 14;
/// A gap between lines at least this many times the page's usual pitch ends a paragraph (as
/// [`crate::pdf::paragraphs`] finds them for the text).
const PARAGRAPH_GAP: f32 = 1.35;
/// A line that ends a sentence this short of the page's full lines (as a share of their width) ends its
/// paragraph.
const SHORT_LINE: f32 = 0.8;
/// Lines indented this many points further than a list's first item are one level deeper.
const LIST_INDENT: f32 = 12.0;

/// The document's blocks from its pages.
pub(crate) fn structure(pages: &[PageForm]) -> Structure {
    let furniture = furniture(pages);
    let laid: Vec<&Line> = pages
        .iter()
        .enumerate()
        .flat_map(|(p, page)| match page {
            PageForm::Laid { lines, .. } => {
                lines.iter().enumerate().filter(|(i, _)| !furniture.contains(&(p, *i))).map(|(_, l)| l).collect()
            }
            PageForm::Text(_) => Vec::new(),
        })
        .collect();
    let body = body_type(&laid);
    let levels = heading_levels(&laid, body);

    let mut blocks: Vec<Block> = Vec::new();
    for (p, page) in pages.iter().enumerate() {
        let page_blocks = match page {
            PageForm::Text(text) => text
                .split("\n\n")
                .map(|para| para.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|para| !para.is_empty())
                .map(|para| Block::Paragraph(Text::plain(para)))
                .collect(),
            PageForm::Laid { lines, pictures, .. } => {
                let kept: Vec<&Line> =
                    lines.iter().enumerate().filter(|(i, _)| !furniture.contains(&(p, *i))).map(|(_, l)| l).collect();
                page_blocks(&kept, pictures, body, &levels)
            }
        };
        let mut page_blocks = page_blocks.into_iter().peekable();
        // A paragraph that runs on from the page before: no closing punctuation there, lower case here.
        let run_on = match (blocks.last(), page_blocks.peek()) {
            (Some(Block::Paragraph(before)), Some(Block::Paragraph(next))) => runs_on(&before.text, &next.text),
            _ => false,
        };
        if run_on {
            if let (Some(Block::Paragraph(before)), Some(Block::Paragraph(next))) =
                (blocks.last_mut(), page_blocks.next())
            {
                join_line(&mut before.text, &next.text);
            }
        }
        blocks.extend(page_blocks);
    }
    captions(&mut blocks);
    Structure { blocks, pictures: Vec::new() }
}

/// A paragraph right under a picture that names itself its caption ("Figure 2: ...", "Photo: ...", "Map of
/// ...") becomes the picture's caption.
fn captions(blocks: &mut Vec<Block>) {
    const NAMES: [&str; 8] = ["figure", "fig.", "photo", "photograph", "image", "map", "chart", "graph"];
    let mut i = 0;
    while i + 1 < blocks.len() {
        let caption = match (&blocks[i], &blocks[i + 1]) {
            (Block::Picture { .. }, Block::Paragraph(text)) => {
                let lower = text.text.to_lowercase();
                let named = NAMES.iter().any(|n| {
                    lower.strip_prefix(n).is_some_and(|rest| rest.starts_with([' ', ':', '.']) || rest.is_empty())
                });
                named.then(|| text.text.clone())
            }
            _ => None,
        };
        if let Some(caption) = caption {
            if let Block::Picture { caption: c, .. } = &mut blocks[i] {
                *c = caption;
            }
            blocks.remove(i + 1);
        }
        i += 1;
    }
}

/// The lines that are running heads, running feet or page numbers, as (page index, line index).
fn furniture(pages: &[PageForm]) -> Vec<(usize, usize)> {
    // The lines in each page's top and bottom bands (at most two of each), with their text's key.
    let mut candidates: Vec<(usize, usize, String)> = Vec::new();
    for (p, page) in pages.iter().enumerate() {
        let PageForm::Laid { lines, bottom, top, .. } = page else { continue };
        let height = (top - bottom).max(1.0);
        let (high, low) = (top - MARGIN_BAND * height, bottom + MARGIN_BAND * height);
        let in_top = lines.iter().enumerate().filter(|(_, l)| l.bottom >= high).take(2);
        let in_bottom = lines.iter().enumerate().rev().filter(|(_, l)| l.top <= low).take(2);
        for (i, line) in in_top.chain(in_bottom) {
            candidates.push((p, i, key(&line.text)));
        }
    }
    let mut pages_of: HashMap<&str, Vec<usize>> = HashMap::new();
    for (p, _, key) in &candidates {
        let pages = pages_of.entry(key.as_str()).or_default();
        if !pages.contains(p) {
            pages.push(*p);
        }
    }
    candidates
        .iter()
        .filter(|(_, _, key)| is_page_number(key) || pages_of.get(key.as_str()).is_some_and(|p| p.len() >= 2))
        .map(|(p, i, _)| (*p, *i))
        .collect()
}

/// A line's text with its numbers as `#`, lower case, its spaces single: the same running head on every page.
fn key(text: &str) -> String {
    let mut out = String::new();
    let mut last_hash = false;
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
            last_hash = false;
        }
        for c in word.chars() {
            if c.is_ascii_digit() {
                if !last_hash {
                    out.push('#');
                }
                last_hash = true;
            } else {
                out.extend(c.to_lowercase());
                last_hash = false;
            }
        }
    }
    out
}

/// "#", "- # -", "page #", "# of #", "page # of #", "#/#", a roman numeral alone.
fn is_page_number(key: &str) -> bool {
    let bare = key.trim_matches(|c: char| c == '-' || c == '–' || c == '—' || c.is_whitespace() || c == '|');
    let bare = bare.strip_prefix("page").map_or(bare, str::trim_start);
    let bare = bare.strip_prefix("p.").map_or(bare, str::trim_start);
    if bare.is_empty() {
        return false;
    }
    let is_number = |s: &str| s == "#" || (!s.is_empty() && s.len() <= 6 && s.chars().all(|c| "ivxlc".contains(c)));
    if is_number(bare) {
        return true;
    }
    for sep in [" of ", "/", " / ", " de ", " sur "] {
        if let Some((a, b)) = bare.split_once(sep) {
            return is_number(a.trim()) && is_number(b.trim());
        }
    }
    false
}

/// The body's size (the size most characters are set in, to half a point) and whether it is bold.
fn body_type(lines: &[&Line]) -> (f32, bool) {
    let mut sizes: HashMap<i32, usize> = HashMap::new();
    let (mut bold, mut all) = (0usize, 0usize);
    for line in lines {
        let chars = line.text.chars().filter(|c| !c.is_whitespace()).count();
        *sizes.entry((line.size * 2.0).round() as i32).or_default() += chars;
        all += chars;
        if line.bold {
            bold += chars;
        }
    }
    let size = sizes.into_iter().max_by_key(|(size, n)| (*n, -*size)).map_or(10.0, |(s, _)| s as f32 / 2.0);
    (size, bold * 2 > all)
}

/// Whether a line reads as a heading: short, with letters, not ending a sentence, set larger than the body
/// (or bold where the body is not).
fn is_heading(line: &Line, (size, body_bold): (f32, bool)) -> bool {
    let text = line.text.trim();
    let words = text.split_whitespace().count();
    if words == 0 || words > HEADING_WORDS || !text.chars().any(char::is_alphabetic) {
        return false;
    }
    if text.ends_with(['.', ',', ';']) || list_marker(text).is_some() {
        return false;
    }
    line.size >= HEADING_SIZE * size || (line.bold && !body_bold && line.size >= 0.95 * size)
}

/// The heading levels by size: the largest size level 1, the next 2, ... (bold at the body's size last).
fn heading_levels(lines: &[&Line], body: (f32, bool)) -> Vec<i32> {
    let mut sizes: Vec<i32> =
        lines.iter().filter(|l| is_heading(l, body)).map(|l| (l.size * 2.0).round() as i32).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();
    sizes
}

fn level_of(line: &Line, levels: &[i32]) -> u8 {
    let size = (line.size * 2.0).round() as i32;
    let index = levels.iter().position(|s| *s == size).unwrap_or(levels.len());
    u8::try_from(index + 1).unwrap_or(MAX_LEVEL).min(MAX_LEVEL)
}

/// A list item's marker at the start of `text`: `(ordered, the text after it)`.
fn list_marker(text: &str) -> Option<(bool, &str)> {
    let text = text.trim_start();
    let mut chars = text.char_indices();
    let (_, first) = chars.next()?;
    if matches!(
        first,
        '•' | '·' | '▪' | '‣' | '◦' | '●' | '○' | '■' | '□' | '➢' | '►' | '–' | '-' | '*' | '\u{F0B7}' | '\u{F0A7}'
    ) {
        let rest = &text[first.len_utf8()..];
        return rest.starts_with(char::is_whitespace).then(|| (false, rest.trim_start()));
    }
    // "1." "12)" "a." "b)" "(iv)" "(3)", then white space.
    let (inner, rest) = match text.strip_prefix('(') {
        Some(after) => {
            let close = after.find(')')?;
            (&after[..close], &after[close + 1..])
        }
        None => {
            let end = text.find(['.', ')'])?;
            (&text[..end], &text[end + 1..])
        }
    };
    let numbered = !inner.is_empty() && inner.len() <= 3 && inner.chars().all(|c| c.is_ascii_digit());
    let lettered = inner.len() == 1 && inner.chars().all(|c| c.is_ascii_lowercase());
    let roman = !inner.is_empty() && inner.len() <= 4 && inner.chars().all(|c| "ivx".contains(c));
    ((numbered || lettered || roman) && rest.starts_with(char::is_whitespace) && rest.trim().len() > 1)
        .then(|| (true, rest.trim_start()))
}

/// The usual pitch of a page's lines: the lower quartile of the distances from one line's bottom to the next's
/// (going down); `None` with too few lines to tell.
fn usual_pitch(lines: &[&Line]) -> Option<f32> {
    let mut pitches: Vec<f32> =
        lines.windows(2).map(|w| w[0].bottom - w[1].bottom).filter(|p| *p > 0.0 && p.is_finite()).collect();
    if pitches.len() < 3 {
        return None;
    }
    pitches.sort_by(f32::total_cmp);
    Some(pitches[pitches.len() / 4])
}

/// One page's lines as blocks.
fn page_blocks(lines: &[&Line], pictures: &[Placed], body: (f32, bool), levels: &[i32]) -> Vec<Block> {
    let mut pictures = pictures.iter().peekable();
    let pitch = usual_pitch(lines);
    // The right edge of the page's full lines: a sentence that ends well short of it ends its paragraph, where
    // paragraphs are not spaced apart.
    let measure = {
        let mut rights: Vec<f32> = lines.iter().map(|l| l.right).collect();
        rights.sort_by(f32::total_cmp);
        rights.get(rights.len() * 3 / 4).copied()
    };
    let mut blocks: Vec<Block> = Vec::new();
    // Where the open list's first item starts, to tell levels and continuation lines.
    let mut list_left: Option<f32> = None;
    let mut previous: Option<&Line> = None;
    for line in lines {
        let text = line.text.trim();
        if text.is_empty() {
            continue;
        }
        // The pictures above this line come before it.
        while let Some(picture) = pictures.next_if(|p| p.bottom >= line.top - 1.0) {
            blocks.push(Block::Picture { picture: picture.picture, caption: String::new() });
            previous = None;
            list_left = None;
        }
        let gap = previous.map(|p| p.bottom - line.bottom);
        // A piece of the same line that PDFium broke off (after a superscript, a change of font): joined.
        let same_line = previous.is_some_and(|p| {
            let overlap = p.top.min(line.top) - p.bottom.max(line.bottom);
            overlap >= 0.5 * (line.top - line.bottom).min(p.top - p.bottom).max(0.1) && line.left >= p.left
        });
        if same_line {
            let target = match blocks.last_mut() {
                Some(Block::Paragraph(t) | Block::ListItem { text: t, .. }) => Some(&mut t.text),
                Some(Block::Heading { text: t, .. }) => Some(t),
                _ => None,
            };
            if let Some(target) = target {
                if !text.starts_with(['.', ',', ';', ':', '!', '?', ')']) {
                    target.push(' ');
                }
                target.push_str(text);
                previous = Some(line);
                continue;
            }
        }
        let spaced = match (gap, pitch) {
            (Some(gap), Some(pitch)) => gap > PARAGRAPH_GAP * pitch || gap <= 0.0,
            (Some(gap), None) => gap > 1.8 * (line.top - line.bottom).max(1.0) || gap <= 0.0,
            (None, _) => true,
        };
        let ended = previous.zip(measure).is_some_and(|(p, measure)| {
            let width = (measure - p.left).max(1.0);
            p.text.trim_end().ends_with(['.', '!', '?', ':']) && p.right - p.left < SHORT_LINE * width
        });
        let breaks = spaced || ended;
        let heading = is_heading(line, body);
        let previous_heading = previous.is_some_and(|p| is_heading(p, body));
        if heading {
            let level = level_of(line, levels);
            match blocks.last_mut() {
                // A heading set on two lines.
                Some(Block::Heading { level: l, text: t }) if previous_heading && !breaks && *l == level => {
                    join_line(t, text)
                }
                _ => blocks.push(Block::Heading { level, text: text.to_string() }),
            }
            list_left = None;
        } else if let Some((ordered, rest)) = list_marker(text) {
            let left = *list_left.get_or_insert(line.left);
            let depth = ((line.left - left).max(0.0) / LIST_INDENT).floor() as u8;
            blocks.push(Block::ListItem {
                level: depth.saturating_add(1).min(MAX_LEVEL),
                ordered,
                text: Text::plain(rest),
            });
        } else {
            let continues_item = list_left.is_some_and(|left| line.left > left + 2.0)
                && matches!(blocks.last(), Some(Block::ListItem { .. }))
                && !breaks;
            match blocks.last_mut() {
                Some(Block::ListItem { text: t, .. }) if continues_item => join_line(&mut t.text, text),
                Some(Block::Paragraph(t)) if !breaks && !previous_heading => join_line(&mut t.text, text),
                _ => {
                    list_left = None;
                    blocks.push(Block::Paragraph(Text::plain(text)));
                }
            }
        }
        previous = Some(line);
    }
    blocks.extend(pictures.map(|p| Block::Picture { picture: p.picture, caption: String::new() }));
    blocks
}

/// Appends a line to a paragraph: a word hyphenated across the break is joined, else a space.
fn join_line(paragraph: &mut String, line: &str) {
    let line = line.trim();
    let hyphenated = paragraph.ends_with('-')
        && paragraph.chars().rev().nth(1).is_some_and(char::is_alphabetic)
        && line.starts_with(char::is_lowercase);
    if hyphenated {
        paragraph.pop();
    } else if !paragraph.is_empty() {
        paragraph.push(' ');
    }
    paragraph.push_str(line);
}

/// Whether a paragraph ending a page runs on at the top of the next.
fn runs_on(before: &str, next: &str) -> bool {
    !before.trim_end().ends_with(['.', '!', '?', ':', ';']) && next.starts_with(char::is_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, top: f32, size: f32, bold: bool) -> Line {
        let right = 72.0 + 5.0 * text.chars().count() as f32;
        Line { text: text.into(), left: 72.0, right, bottom: top - size, top, size, bold }
    }

    fn page(lines: Vec<Line>) -> PageForm {
        PageForm::Laid { lines, bottom: 0.0, top: 842.0, pictures: Vec::new() }
    }

    #[test]
    fn running_heads_and_page_numbers_are_left_out_headings_and_lists_found() {
        let mut pages = Vec::new();
        for n in 1..=2 {
            let mut lines = vec![line("Mine Action Centre  Annual report 2012", 820.0, 9.0, false)];
            if n == 1 {
                lines.push(line("Clearing the border districts", 760.0, 18.0, true));
                lines.push(line("The programme began in 2011 with a survey of the border", 730.0, 11.0, false));
                lines.push(line("districts, carried out with the commu-", 716.0, 11.0, false));
                lines.push(line("nities themselves.", 702.0, 11.0, false));
                lines.push(line("Its results guided every task.", 670.0, 11.0, false));
                lines.push(line("Methods", 640.0, 11.0, true));
                lines.push(line("• Non-technical survey", 620.0, 11.0, false));
                lines.push(line("• Technical survey of the suspected areas, which took", 606.0, 11.0, false));
                let mut more = line("longer", 592.0, 11.0, false);
                more.left = 84.0;
                lines.push(more);
                lines.push(line("1. The community signs the handover", 570.0, 11.0, false));
                lines.push(line("2. The district keeps the map", 556.0, 11.0, false));
                lines.push(line("The land is farmed again, and the", 520.0, 11.0, false));
            } else {
                lines.push(line("families have returned.", 760.0, 11.0, false));
            }
            lines.push(line(&format!("Page {n} of 2"), 30.0, 9.0, false));
            pages.push(page(lines));
        }
        let s = structure(&pages);
        let texts: Vec<String> = s.blocks.iter().flat_map(|b| b.paragraphs()).map(String::from).collect();
        assert!(!texts.iter().any(|t| t.contains("Annual report") || t.starts_with("Page")), "{texts:#?}");
        assert_eq!(s.blocks[0], Block::Heading { level: 1, text: "Clearing the border districts".into() });
        assert_eq!(
            s.blocks[1],
            Block::Paragraph(Text::plain(
                "The programme began in 2011 with a survey of the border districts, carried out with the communities themselves."
            ))
        );
        assert_eq!(s.blocks[2], Block::Paragraph(Text::plain("Its results guided every task.")));
        assert_eq!(s.blocks[3], Block::Heading { level: 2, text: "Methods".into() });
        assert_eq!(
            s.blocks[5],
            Block::ListItem {
                level: 1,
                ordered: false,
                text: Text::plain("Technical survey of the suspected areas, which took longer")
            }
        );
        assert_eq!(
            s.blocks[6],
            Block::ListItem { level: 1, ordered: true, text: Text::plain("The community signs the handover") }
        );
        assert_eq!(
            s.blocks.last(),
            Some(&Block::Paragraph(Text::plain("The land is farmed again, and the families have returned."))),
            "a paragraph runs on across the page break"
        );
    }

    #[test]
    fn page_numbers_are_told_from_text() {
        for number in ["#", "- # -", "page #", "# of #", "page # of #", "#/#", "iv", "p. #"] {
            assert!(is_page_number(number), "{number}");
        }
        for text in ["annex", "# people", "page", "chapter #"] {
            assert!(!is_page_number(text), "{text}");
        }
        assert_eq!(key("Page 12  of 30"), "page # of #");
    }

    #[test]
    fn list_markers() {
        assert_eq!(list_marker("• Survey"), Some((false, "Survey")));
        assert_eq!(list_marker("12) Clearance"), Some((true, "Clearance")));
        assert_eq!(list_marker("(iv) Handover"), Some((true, "Handover")));
        assert_eq!(list_marker("b. Maps"), Some((true, "Maps")));
        assert_eq!(list_marker("2012. A year"), None);
        assert_eq!(list_marker("e.g. this"), None);
        assert_eq!(list_marker("-5 degrees"), None);
    }
}
