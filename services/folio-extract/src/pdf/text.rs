//! Page text with line structure, from the content stream.
//!
//! lopdf's `extract_text` concatenates shown strings and only breaks lines at `ET`, so text positioned
//! with `Td`/`T*`/`Tm` comes out glued ("Dear Excellency,We are pleased") and word spaces made by TJ
//! positioning are lost. Here we run the text-positioning operators ourselves (text and line matrices,
//! CTM, Form XObjects), record where each string starts and ends, and lay the fragments out afterwards:
//! a newline when the baseline moves by more than half the font size, a blank line when the gap is well
//! above the page's usual leading, a space when there is a horizontal gap. Strings are decoded with
//! lopdf's own font encodings (including ToUnicode CMaps), so the characters are the ones lopdf gives.
//!
//! Hostile files: Form XObjects nest at most `max_pdf_depth` deep, a form that is already being drawn is
//! skipped (cycles), and a page stops after [`MAX_OPS`] operators or [`MAX_CHARS`] characters.

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// Operators run per page, counting those inside forms each time the form is drawn: bounds the work a
/// file of nested, repeatedly drawn forms can demand.
const MAX_OPS: usize = 2_000_000;
/// Characters of text per page.
const MAX_CHARS: usize = 4 * 1024 * 1024;
/// Deepest q/Q nesting we keep track of (deeper saves are ignored, not stored).
const MAX_SAVES: usize = 1024;
/// Glyph width (thousandths of em) when the font gives none.
const DEFAULT_WIDTH: f32 = 500.0;
/// A TJ adjustment below this (thousandths of em) is a word space.
const TJ_SPACE: f32 = -200.0;

/// The text of page `page_id`, lines separated by `"\n"` and paragraphs by `"\n\n"`, trimmed.
pub(crate) fn page_text(doc: &Document, page_id: ObjectId, max_depth: u32) -> lopdf::Result<String> {
    let content = doc.get_and_decode_page_content(page_id)?;
    let (inline, ids) = doc.get_page_resources(page_id)?;
    let mut dicts: Vec<&Dictionary> = inline.into_iter().collect();
    dicts.extend(ids.into_iter().filter_map(|id| doc.get_dictionary(id).ok()));
    let resources = Rc::new(Resources::from_dicts(doc, &dicts));
    let mut walker = Walker::new(doc, max_depth);
    walker.run(&content.operations, &resources, 0);
    if walker.truncated {
        tracing::warn!("page {page_id:?}: text extraction stopped at the operator or character limit");
    }
    Ok(layout(&walker.fragments))
}

/// A 2-D affine matrix `[a b c d e f]`, as PDF writes them (row vector times matrix).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Matrix([f32; 6]);

impl Matrix {
    const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn translate(tx: f32, ty: f32) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, tx, ty])
    }

    /// `self` applied first, then `then`.
    fn then(&self, then: &Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = then.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }

    fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let [a, b, c, d, e, f] = self.0;
        (a * x + c * y + e, b * x + d * y + f)
    }

    fn from_operands(ops: &[Object]) -> Option<Matrix> {
        let v: Vec<f32> = ops.iter().take(6).filter_map(|o| o.as_float().ok()).collect();
        let m: [f32; 6] = v.try_into().ok()?;
        m.iter().all(|x| x.is_finite()).then_some(Matrix(m))
    }
}

/// One shown string, in device space: where it starts and ends, the unit vectors along and across its
/// baseline, and its effective font size.
#[derive(Debug, Clone)]
struct Fragment {
    text: String,
    start: (f32, f32),
    end: (f32, f32),
    along: (f32, f32),
    across: (f32, f32),
    size: f32,
    /// Whether glyph advances came from the font's widths (else estimated, so gaps are less certain).
    exact_widths: bool,
}

/// How wide a font's glyphs are, in thousandths of text space units (before `scale`).
enum Widths {
    /// Simple fonts: /FirstChar and /Widths.
    Simple { first: u32, widths: Vec<f32>, missing: f32 },
    /// CID fonts: /DW and /W of the descendant font.
    Cid { default: f32, single: HashMap<u32, f32>, ranges: Vec<(u32, u32, f32)> },
    /// No widths: estimate.
    Unknown,
}

/// What we need of a font: lopdf's decoder, code length, and widths.
struct Font<'a> {
    /// `None` when lopdf cannot decode this font; its text is then skipped, as lopdf does.
    encoding: Option<Encoding<'a>>,
    two_byte: bool,
    widths: Widths,
    /// Glyph space to text space: 0.001, or /FontMatrix[0] for Type 3 fonts.
    scale: f32,
}

impl<'a> Font<'a> {
    fn load(doc: &'a Document, dict: &'a Dictionary) -> Font<'a> {
        let encoding = match dict.get_font_encoding(doc) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::debug!("font encoding not usable, its text is skipped: {e}");
                None
            }
        };
        let subtype = dict.get(b"Subtype").and_then(Object::as_name).unwrap_or(b"");
        let two_byte = subtype == b"Type0";
        let scale = if subtype == b"Type3" {
            deref(doc, dict.get(b"FontMatrix").ok())
                .and_then(|m| m.as_array().ok())
                .and_then(|m| m.first())
                .and_then(|a| a.as_float().ok())
                .filter(|a| a.is_finite() && *a != 0.0)
                .unwrap_or(0.001)
        } else {
            0.001
        };
        let widths = if two_byte { cid_widths(doc, dict) } else { simple_widths(doc, dict) };
        Font { encoding, two_byte, widths, scale }
    }

    /// Width of `code` in glyph units, and whether it is known rather than estimated.
    fn width(&self, code: u32) -> (f32, bool) {
        match &self.widths {
            Widths::Simple { first, widths, missing } => {
                match code.checked_sub(*first).and_then(|i| widths.get(i as usize)) {
                    Some(w) => (*w, true),
                    None => (*missing, true),
                }
            }
            Widths::Cid { default, single, ranges } => {
                if let Some(w) = single.get(&code) {
                    return (*w, true);
                }
                let w = ranges.iter().find(|(a, b, _)| (*a..=*b).contains(&code)).map_or(*default, |r| r.2);
                (w, true)
            }
            Widths::Unknown => (DEFAULT_WIDTH * 0.001 / self.scale, false),
        }
    }
}

fn deref<'a>(doc: &'a Document, obj: Option<&'a Object>) -> Option<&'a Object> {
    doc.dereference(obj?).ok().map(|(_, o)| o)
}

fn number(o: &Object) -> Option<f32> {
    o.as_float().ok().filter(|x| x.is_finite())
}

fn simple_widths(doc: &Document, font: &Dictionary) -> Widths {
    let first = font.get(b"FirstChar").and_then(Object::as_i64).ok().and_then(|f| u32::try_from(f).ok());
    let widths = deref(doc, font.get(b"Widths").ok()).and_then(|w| w.as_array().ok());
    let (Some(first), Some(widths)) = (first, widths) else { return Widths::Unknown };
    let missing = deref(doc, font.get(b"FontDescriptor").ok())
        .and_then(|d| d.as_dict().ok())
        .and_then(|d| d.get(b"MissingWidth").ok())
        .and_then(number)
        .filter(|w| *w > 0.0)
        .unwrap_or(DEFAULT_WIDTH);
    let widths = widths.iter().map(|w| deref(doc, Some(w)).and_then(number).unwrap_or(missing)).collect();
    Widths::Simple { first, widths, missing }
}

fn cid_widths(doc: &Document, font: &Dictionary) -> Widths {
    let descendant = deref(doc, font.get(b"DescendantFonts").ok())
        .and_then(|d| d.as_array().ok())
        .and_then(|d| deref(doc, d.first()))
        .and_then(|d| d.as_dict().ok());
    let Some(descendant) = descendant else { return Widths::Unknown };
    let default = descendant.get(b"DW").ok().and_then(number).unwrap_or(1000.0);
    let mut single = HashMap::new();
    let mut ranges = Vec::new();
    if let Some(w) = deref(doc, descendant.get(b"W").ok()).and_then(|w| w.as_array().ok()) {
        let mut i = 0;
        while i < w.len() {
            let Some(start) = w[i].as_i64().ok().and_then(|c| u32::try_from(c).ok()) else { break };
            match (w.get(i + 1).map(|o| deref(doc, Some(o))), w.get(i + 2)) {
                (Some(Some(Object::Array(list))), _) => {
                    for (k, width) in list.iter().enumerate() {
                        if let (Some(width), Ok(k)) = (number(width), u32::try_from(k)) {
                            single.insert(start.saturating_add(k), width);
                        }
                    }
                    i += 2;
                }
                (Some(Some(end)), Some(width)) => {
                    if let (Ok(end), Some(width)) = (end.as_i64(), number(width)) {
                        ranges.push((start, u32::try_from(end).unwrap_or(u32::MAX), width));
                    }
                    i += 3;
                }
                _ => break,
            }
        }
    }
    Widths::Cid { default, single, ranges }
}

/// The fonts and XObjects a content stream can name.
struct Resources<'a> {
    fonts: BTreeMap<Vec<u8>, &'a Dictionary>,
    xobjects: BTreeMap<Vec<u8>, ObjectId>,
}

impl<'a> Resources<'a> {
    /// From resource dictionaries, nearest first (a name found earlier wins).
    fn from_dicts(doc: &'a Document, dicts: &[&'a Dictionary]) -> Resources<'a> {
        let mut fonts = BTreeMap::new();
        let mut xobjects = BTreeMap::new();
        for dict in dicts {
            if let Some(Object::Dictionary(f)) = deref(doc, dict.get(b"Font").ok()) {
                for (name, value) in f.iter() {
                    if let Some(Object::Dictionary(font)) = deref(doc, Some(value)) {
                        fonts.entry(name.clone()).or_insert(font);
                    }
                }
            }
            if let Some(Object::Dictionary(x)) = deref(doc, dict.get(b"XObject").ok()) {
                for (name, value) in x.iter() {
                    if let Object::Reference(id) = value {
                        xobjects.entry(name.clone()).or_insert(*id);
                    }
                }
            }
        }
        Resources { fonts, xobjects }
    }
}

/// Graphics and text state that `q`/`Q` save and restore.
#[derive(Clone)]
struct State<'a> {
    ctm: Matrix,
    font: Option<Rc<Font<'a>>>,
    size: f32,
    char_spacing: f32,
    word_spacing: f32,
    h_scale: f32,
    leading: f32,
    rise: f32,
}

struct Walker<'a> {
    doc: &'a Document,
    max_depth: u32,
    /// Fonts by the address of their dictionary (the document is not modified while we walk).
    fonts: HashMap<usize, Rc<Font<'a>>>,
    /// Decoded form content by object id; `None` when it could not be decoded.
    forms: HashMap<ObjectId, Option<Rc<Vec<Operation>>>>,
    /// Forms being drawn now, to skip cycles.
    active: Vec<ObjectId>,
    ops_left: usize,
    chars: usize,
    truncated: bool,
    state: State<'a>,
    saved: Vec<State<'a>>,
    tm: Matrix,
    tlm: Matrix,
    fragments: Vec<Fragment>,
}

impl<'a> Walker<'a> {
    fn new(doc: &'a Document, max_depth: u32) -> Self {
        Walker {
            doc,
            max_depth,
            fonts: HashMap::new(),
            forms: HashMap::new(),
            active: Vec::new(),
            ops_left: MAX_OPS,
            chars: 0,
            truncated: false,
            state: State {
                ctm: Matrix::IDENTITY,
                font: None,
                size: 0.0,
                char_spacing: 0.0,
                word_spacing: 0.0,
                h_scale: 1.0,
                leading: 0.0,
                rise: 0.0,
            },
            saved: Vec::new(),
            tm: Matrix::IDENTITY,
            tlm: Matrix::IDENTITY,
            fragments: Vec::new(),
        }
    }

    fn run(&mut self, ops: &[Operation], res: &Rc<Resources<'a>>, depth: u32) {
        for op in ops {
            if self.ops_left == 0 || self.chars >= MAX_CHARS {
                self.truncated = true;
                return;
            }
            self.ops_left -= 1;
            self.op(op, res, depth);
        }
    }

    fn op(&mut self, op: &Operation, res: &Rc<Resources<'a>>, depth: u32) {
        let args = &op.operands;
        let num = |i: usize| args.get(i).and_then(number);
        match op.operator.as_str() {
            "q" if self.saved.len() < MAX_SAVES => self.saved.push(self.state.clone()),
            "Q" => {
                if let Some(s) = self.saved.pop() {
                    self.state = s;
                }
            }
            "cm" => {
                if let Some(m) = Matrix::from_operands(args) {
                    self.state.ctm = m.then(&self.state.ctm);
                }
            }
            "BT" => {
                self.tm = Matrix::IDENTITY;
                self.tlm = Matrix::IDENTITY;
            }
            "Tf" => {
                self.state.font = args.first().and_then(|n| n.as_name().ok()).and_then(|n| self.font(res, n));
                if let Some(size) = num(1) {
                    self.state.size = size;
                }
            }
            "Tc" => self.state.char_spacing = num(0).unwrap_or(self.state.char_spacing),
            "Tw" => self.state.word_spacing = num(0).unwrap_or(self.state.word_spacing),
            "Tz" => self.state.h_scale = num(0).map_or(self.state.h_scale, |z| z / 100.0),
            "TL" => self.state.leading = num(0).unwrap_or(self.state.leading),
            "Ts" => self.state.rise = num(0).unwrap_or(self.state.rise),
            "Td" | "TD" => {
                if let (Some(tx), Some(ty)) = (num(0), num(1)) {
                    if op.operator == "TD" {
                        self.state.leading = -ty;
                    }
                    self.next_line(tx, ty);
                }
            }
            "Tm" => {
                if let Some(m) = Matrix::from_operands(args) {
                    self.tm = m;
                    self.tlm = m;
                }
            }
            "T*" => self.next_line(0.0, -self.state.leading),
            "Tj" => self.show(args.first()),
            "TJ" => self.show(args.first()),
            "'" => {
                self.next_line(0.0, -self.state.leading);
                self.show(args.first());
            }
            "\"" => {
                if let (Some(aw), Some(ac)) = (num(0), num(1)) {
                    self.state.word_spacing = aw;
                    self.state.char_spacing = ac;
                }
                self.next_line(0.0, -self.state.leading);
                self.show(args.get(2));
            }
            "Do" => {
                if let Some(name) = args.first().and_then(|n| n.as_name().ok()) {
                    if let Some(&id) = res.xobjects.get(name) {
                        self.form(id, res, depth);
                    }
                }
            }
            _ => {}
        }
    }

    fn next_line(&mut self, tx: f32, ty: f32) {
        self.tlm = Matrix::translate(tx, ty).then(&self.tlm);
        self.tm = self.tlm;
    }

    fn font(&mut self, res: &Resources<'a>, name: &[u8]) -> Option<Rc<Font<'a>>> {
        let dict = *res.fonts.get(name)?;
        let key = dict as *const Dictionary as usize;
        let doc = self.doc;
        Some(self.fonts.entry(key).or_insert_with(|| Rc::new(Font::load(doc, dict))).clone())
    }

    /// Draw Form XObject `id`: its content with its own resources and matrix, state saved around it.
    fn form(&mut self, id: ObjectId, res: &Rc<Resources<'a>>, depth: u32) {
        if self.active.contains(&id) {
            tracing::debug!("form {id:?} draws itself; skipped");
            return;
        }
        if depth >= self.max_depth {
            tracing::warn!("forms nest deeper than max_pdf_depth ({}); the rest is skipped", self.max_depth);
            self.truncated = true;
            return;
        }
        let Ok(stream) = self.doc.get_object(id).and_then(Object::as_stream) else { return };
        if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Form") {
            return;
        }
        let ops = match self.forms.get(&id) {
            Some(cached) => cached.clone(),
            None => {
                let decoded =
                    stream.get_plain_content().and_then(|c| Content::decode(&c)).map(|c| Rc::new(c.operations));
                let decoded = match decoded {
                    Ok(d) => Some(d),
                    Err(e) => {
                        tracing::debug!("form {id:?} content not decoded: {e}");
                        None
                    }
                };
                self.forms.insert(id, decoded.clone());
                decoded
            }
        };
        let Some(ops) = ops else { return };
        let form_res = match deref(self.doc, stream.dict.get(b"Resources").ok()) {
            Some(Object::Dictionary(d)) => Rc::new(Resources::from_dicts(self.doc, &[d])),
            _ => res.clone(),
        };
        let saved = (self.state.clone(), self.tm, self.tlm, self.saved.len());
        if let Some(m) =
            stream.dict.get(b"Matrix").ok().and_then(|m| m.as_array().ok()).and_then(|m| Matrix::from_operands(m))
        {
            self.state.ctm = m.then(&self.state.ctm);
        }
        self.active.push(id);
        self.run(&ops, &form_res, depth + 1);
        self.active.pop();
        (self.state, self.tm, self.tlm) = (saved.0, saved.1, saved.2);
        self.saved.truncate(saved.3);
    }

    /// Show a string or a TJ array: decode it, advance the text matrix, record a fragment.
    fn show(&mut self, operand: Option<&Object>) {
        let Some(operand) = operand else { return };
        let Some(font) = self.state.font.clone() else { return };
        let trm = self.tm.then(&self.state.ctm);
        let start = trm.apply(0.0, self.state.rise);
        let [a, b, c, d, _, _] = trm.0;
        let along_len = (a * a + b * b).sqrt();
        let across_len = (c * c + d * d).sqrt();
        let size = self.state.size.abs() * across_len;
        if !(along_len > 0.0 && across_len > 0.0 && size.is_finite()) {
            return;
        }
        let mut text = String::new();
        let mut exact = true;
        match operand {
            Object::String(bytes, _) => exact &= self.show_bytes(&font, bytes, &mut text),
            Object::Array(items) => {
                for item in items {
                    match item {
                        Object::String(bytes, _) => exact &= self.show_bytes(&font, bytes, &mut text),
                        other => {
                            if let Some(n) = number(other) {
                                let tx = -n / 1000.0 * self.state.size * self.state.h_scale;
                                self.tm = Matrix::translate(tx, 0.0).then(&self.tm);
                                if n < TJ_SPACE && !text.is_empty() && !text.ends_with(' ') {
                                    text.push(' ');
                                }
                            }
                        }
                    }
                }
            }
            _ => return,
        }
        let end = self.tm.then(&self.state.ctm).apply(0.0, self.state.rise);
        self.chars += text.len();
        self.fragments.push(Fragment {
            text,
            start,
            end,
            along: (a / along_len, b / along_len),
            across: (c / across_len, d / across_len),
            size,
            exact_widths: exact,
        });
    }

    /// Decode `bytes` into `out` and advance the text matrix past them. Returns whether the widths
    /// were known.
    fn show_bytes(&mut self, font: &Font<'a>, bytes: &[u8], out: &mut String) -> bool {
        if let Some(enc) = &font.encoding {
            match Document::decode_text(enc, bytes) {
                Ok(s) => out.push_str(&s),
                Err(e) => tracing::debug!("text not decoded: {e}"),
            }
        }
        let st = &self.state;
        let mut advance = 0.0;
        let mut exact = true;
        let step = if font.two_byte { 2 } else { 1 };
        for code in bytes.chunks(step) {
            let c = code.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
            let (w, known) = font.width(c);
            exact &= known;
            let mut tx = w * font.scale * st.size + st.char_spacing;
            if code == [32] {
                tx += st.word_spacing;
            }
            advance += tx * st.h_scale;
        }
        if advance.is_finite() {
            self.tm = Matrix::translate(advance, 0.0).then(&self.tm);
        }
        exact
    }
}

/// Lay fragments out as text: newlines where the baseline moves, blank lines where it moves by well
/// over the page's usual leading, spaces at horizontal gaps.
fn layout(fragments: &[Fragment]) -> String {
    let leading = usual_leading(fragments);
    let mut out = String::new();
    let mut prev: Option<&Fragment> = None;
    for f in fragments.iter().filter(|f| !f.text.is_empty()) {
        if let Some(p) = prev {
            let (dx, dy) = offset(p, f);
            let size = f.size.max(p.size).max(1.0);
            if dy.abs() > 0.5 * size {
                let usual = leading.unwrap_or(1.2 * size);
                out.push_str(if dy.abs() > 1.5 * usual { "\n\n" } else { "\n" });
            } else {
                // Estimated widths drift with the length of the string, so allow more slack.
                let slack =
                    if p.exact_widths { 0.2 } else { (0.2f32).max(0.1 * p.text.chars().count() as f32).min(1.0) };
                let gap = dx > slack * size || dx < -3.0 * size;
                let spaced = out.ends_with(char::is_whitespace) || f.text.starts_with(char::is_whitespace);
                if gap && !spaced {
                    out.push(' ');
                }
            }
        }
        out.push_str(&f.text);
        prev = Some(f);
    }
    tidy(&out)
}

/// Displacement from the end of `p` to the start of `f`, along and across `f`'s baseline. `dy` is
/// positive downwards (the next line).
fn offset(p: &Fragment, f: &Fragment) -> (f32, f32) {
    let (ddx, ddy) = (f.start.0 - p.end.0, f.start.1 - p.end.1);
    let dx = ddx * f.along.0 + ddy * f.along.1;
    let dy = -(ddx * f.across.0 + ddy * f.across.1);
    (dx, dy)
}

/// The median downward baseline-to-baseline distance between consecutive lines on the page.
fn usual_leading(fragments: &[Fragment]) -> Option<f32> {
    let mut gaps: Vec<f32> = fragments
        .windows(2)
        .filter_map(|w| {
            let (_, dy) = offset(&w[0], &w[1]);
            let size = w[0].size.max(w[1].size).max(1.0);
            (dy > 0.5 * size && dy < 10.0 * size).then_some(dy)
        })
        .collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_by(f32::total_cmp);
    Some(gaps[gaps.len() / 2])
}

/// Trim each line, collapse runs of blank lines to one, and drop blank lines at the ends.
pub(crate) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            blank = true;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(text: &str, x: f32, y: f32, width: f32) -> Fragment {
        Fragment {
            text: text.into(),
            start: (x, y),
            end: (x + width, y),
            along: (1.0, 0.0),
            across: (0.0, 1.0),
            size: 10.0,
            exact_widths: true,
        }
    }

    #[test]
    fn matrices_compose_in_pdf_order() {
        let m = Matrix::translate(10.0, 0.0).then(&Matrix([2.0, 0.0, 0.0, 2.0, 0.0, 0.0]));
        assert_eq!(m.apply(0.0, 0.0), (20.0, 0.0));
    }

    #[test]
    fn layout_breaks_lines_paragraphs_and_words() {
        let f = [
            frag("one", 0.0, 100.0, 15.0),
            frag("two", 30.0, 100.0, 15.0),
            frag("three", 0.0, 88.0, 25.0),
            frag("four", 0.0, 76.0, 20.0),
            frag("five", 0.0, 40.0, 20.0),
        ];
        assert_eq!(layout(&f), "one two\nthree\nfour\n\nfive");
    }

    #[test]
    fn tidy_keeps_single_blank_lines() {
        assert_eq!(tidy("\n a \n\n\n b\nc \n\n"), "a\n\nb\nc");
    }
}
