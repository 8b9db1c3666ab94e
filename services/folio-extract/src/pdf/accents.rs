//! Accents drawn as glyphs of their own, put back on their letters by position.
//!
//! Some producers draw an accented letter as the plain letter and a spacing accent (`´`, U+00B4) placed over
//! it: Ukrainian and Russian dictionaries and textbooks mark stress that way (`словни´к`). A PDF reader
//! shows `словни́к`; a text layer read in drawing order gives the letter and then a loose accent, with spaces
//! around it where the accent's advance left a gap (`словни ´ к`), and the word is lost to search and to
//! language detection. poppler joins such an accent to the letter it overlaps; so does this: an accent whose
//! box sits over (or under) a letter's becomes the combining mark after that letter, and the spaces its own
//! box made are dropped when the letters on either side touch. NFC then composes the pair where Unicode has
//! one character for it.

/// One character of a page's text as PDFium gives it: the character, its box in page space (`None` for
/// characters PDFium generated, such as the spaces and line breaks it inserts) and whether it was generated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Glyph {
    pub ch: char,
    /// `[left, bottom, right, top]` in points.
    pub bounds: Option<[f32; 4]>,
    pub generated: bool,
}

/// How far (in characters, either side) an accent's letter is looked for: a line and more.
const WINDOW: usize = 96;

/// The combining mark a spacing accent stands for.
pub(crate) fn combining(c: char) -> Option<char> {
    Some(match c {
        '\u{00B4}' | '\u{02CA}' => '\u{0301}',
        '\u{02CB}' => '\u{0300}',
        '\u{00A8}' => '\u{0308}',
        '\u{02C6}' => '\u{0302}',
        '\u{02DC}' => '\u{0303}',
        '\u{00AF}' | '\u{02C9}' => '\u{0304}',
        '\u{02D8}' => '\u{0306}',
        '\u{02D9}' => '\u{0307}',
        '\u{02DA}' => '\u{030A}',
        '\u{02DD}' => '\u{030B}',
        '\u{02C7}' => '\u{030C}',
        '\u{00B8}' => '\u{0327}',
        '\u{02DB}' => '\u{0328}',
        _ => return None,
    })
}

/// Whether `text` holds a spacing accent that may belong on a letter (the only case [`compose`] changes).
pub(crate) fn has_spacing_accent(text: &str) -> bool {
    text.chars().any(|c| combining(c).is_some())
}

/// The page's characters as text, each spacing accent that sits on a letter moved onto it as a combining
/// mark. Accents over nothing (a lone `´` in running text, an apostrophe typed as an accent) stay as they are.
pub(crate) fn compose(glyphs: &[Glyph]) -> String {
    let mut marks: Vec<Vec<char>> = vec![Vec::new(); glyphs.len()];
    let mut moved = vec![false; glyphs.len()];
    for (i, g) in glyphs.iter().enumerate() {
        let (Some(mark), Some(accent)) = (combining(g.ch), g.bounds) else { continue };
        if g.generated {
            continue;
        }
        if let Some(base) = letter_under(glyphs, i, accent) {
            marks[base].push(mark);
            moved[i] = true;
        }
    }
    let mut out = String::new();
    let mut i = 0;
    while i < glyphs.len() {
        if moved[i] {
            i += 1;
            continue;
        }
        let g = glyphs[i];
        if g.ch == ' ' && g.generated && next_to_moved(&moved, i) {
            // A space PDFium made beside a moved accent: kept only when the letters around it stand apart.
            if !letters_touch(glyphs, &moved, i) && !out.ends_with(' ') {
                out.push(' ');
            }
            i += 1;
            continue;
        }
        out.push(g.ch);
        out.extend(&marks[i]);
        i += 1;
    }
    out
}

/// The letter whose box the accent's box sits over (under, for a cedilla or an ogonek): overlapping it
/// across at least half the narrower of the two, on the accent's side of the letter's middle, and no further
/// from it vertically than the letter is high. The nearest wins, then the widest overlap. Producers that
/// draw accents in a second pass put them after the line, so the look reaches [`WINDOW`] characters away.
fn letter_under(glyphs: &[Glyph], i: usize, [al, ab, ar, at]: [f32; 4]) -> Option<usize> {
    let below = matches!(glyphs[i].ch, '\u{00B8}' | '\u{02DB}');
    let from = i.saturating_sub(WINDOW);
    let to = (i + WINDOW + 1).min(glyphs.len());
    let accent_width = (ar - al).max(0.01);
    let accent_middle = (ab + at) / 2.0;
    let mut best: Option<(usize, f32, f32)> = None;
    for j in (from..to).filter(|&j| j != i) {
        let g = glyphs[j];
        let Some([l, b, r, t]) = g.bounds else { continue };
        if g.generated || !g.ch.is_alphabetic() {
            continue;
        }
        let middle = (b + t) / 2.0;
        if (below && accent_middle > middle) || (!below && accent_middle < middle) {
            continue;
        }
        let overlap = (ar.min(r) - al.max(l)).max(0.0);
        let gap = (ab - t).max(b - at).max(0.0);
        let closer = best.is_none_or(|(_, g, o)| gap < g || (gap == g && overlap > o));
        if overlap > 0.0 && overlap >= 0.5 * accent_width.min(r - l) && gap <= (t - b).max(0.01) && closer {
            best = Some((j, gap, overlap));
        }
    }
    best.map(|(j, ..)| j)
}

fn next_to_moved(moved: &[bool], i: usize) -> bool {
    (i > 0 && moved[i - 1]) || moved.get(i + 1).copied().unwrap_or(false)
}

/// Whether the nearest kept glyphs with boxes before and after position `i` touch: less than a fifth of the
/// letter's height between them, where a word space is a quarter to a third of the type size.
fn letters_touch(glyphs: &[Glyph], moved: &[bool], i: usize) -> bool {
    let kept = |j: &usize| !moved[*j] && glyphs[*j].bounds.is_some() && !glyphs[*j].generated;
    let before = (0..i).rev().find(kept).and_then(|j| glyphs[j].bounds);
    let after = (i + 1..glyphs.len()).find(kept).and_then(|j| glyphs[j].bounds);
    match (before, after) {
        (Some([_, b, r, t]), Some([l, ..])) => l - r < 0.2 * (t - b).max(1.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Glyphs of a word set at 10 points a letter from x = 0, the accent (if any) over letter `over`.
    fn word(letters: &str, accent_over: Option<usize>, spaces_round_accent: bool) -> Vec<Glyph> {
        let mut out = Vec::new();
        for (n, ch) in letters.chars().enumerate() {
            let x = n as f32 * 10.0;
            out.push(Glyph { ch, bounds: Some([x, 0.0, x + 9.5, 12.0]), generated: false });
        }
        if let Some(n) = accent_over {
            let x = n as f32 * 10.0;
            let space = Glyph { ch: ' ', bounds: None, generated: true };
            // Drawn after the word, as producers that add accents in a second pass do.
            if spaces_round_accent {
                out.insert(n + 1, space);
                out.insert(n + 2, Glyph { ch: '´', bounds: Some([x + 3.0, 13.0, x + 7.0, 17.0]), generated: false });
                out.insert(n + 3, space);
            } else {
                out.push(Glyph { ch: '´', bounds: Some([x + 3.0, 13.0, x + 7.0, 17.0]), generated: false });
            }
        }
        out
    }

    #[test]
    fn an_accent_over_a_letter_becomes_its_mark() {
        assert_eq!(compose(&word("словник", Some(5), true)), "словни\u{301}к");
        assert_eq!(compose(&word("cafe", Some(3), false)), "cafe\u{301}");
    }

    #[test]
    fn words_apart_stay_apart() {
        let mut glyphs = word("cafe", Some(3), false);
        glyphs.push(Glyph { ch: ' ', bounds: None, generated: true });
        for (n, ch) in "bar".chars().enumerate() {
            let x = 45.0 + n as f32 * 10.0;
            glyphs.push(Glyph { ch, bounds: Some([x, 0.0, x + 9.5, 12.0]), generated: false });
        }
        assert_eq!(compose(&glyphs), "cafe\u{301} bar");
    }

    #[test]
    fn an_accent_over_nothing_stays() {
        let glyphs = vec![
            Glyph { ch: 'a', bounds: Some([0.0, 0.0, 9.0, 12.0]), generated: false },
            Glyph { ch: ' ', bounds: None, generated: true },
            Glyph { ch: '´', bounds: Some([40.0, 13.0, 44.0, 17.0]), generated: false },
        ];
        assert_eq!(compose(&glyphs), "a ´");
        assert!(has_spacing_accent("a ´") && !has_spacing_accent("á"));
    }
}
