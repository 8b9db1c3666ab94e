//! WordprocessingML read for its form: one walk of a part gives its text (paragraphs, as always) and its
//! blocks (headings, list items, tables, pictures, note marks), from the styles, the numbering and the
//! relationships the package declares. Headers and footers are never walked for the body; `mc:Fallback`
//! (the same content again for old readers) is skipped; every part is walked under the depth limit.

use std::collections::HashMap;

use folio_core::structure::{Block, Note, Text};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::docx::{resolve_ref, xml_error, Depth};
use crate::Limits;
use folio_core::ExtractError;

/// The value of the attribute with local name `name` (`w:val`, `r:embed`, `descr`).
fn attr(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
}

/// What `styles.xml` says of a paragraph style.
#[derive(Debug, Clone, Default)]
struct StyleInfo {
    name: String,
    based_on: Option<String>,
    outline: Option<u8>,
    num_id: Option<String>,
    ilvl: Option<u8>,
}

/// The package's paragraph styles, by id.
#[derive(Debug, Default)]
pub(crate) struct Styles(HashMap<String, StyleInfo>);

impl Styles {
    pub(crate) fn read(xml: &[u8], limits: &Limits) -> Result<Self, ExtractError> {
        let mut styles = HashMap::new();
        let mut current: Option<(String, StyleInfo)> = None;
        walk_elements(xml, limits, |e, _| match e.local_name().as_ref() {
            b"style" => {
                if let Some((id, info)) = current.take() {
                    styles.insert(id, info);
                }
                let paragraph = attr(e, b"type").is_none_or(|t| t == "paragraph");
                current = attr(e, b"styleId").filter(|_| paragraph).map(|id| (id, StyleInfo::default()));
            }
            b"name" => {
                if let (Some((_, info)), Some(v)) = (current.as_mut(), attr(e, b"val")) {
                    info.name = v;
                }
            }
            b"basedOn" => {
                if let Some((_, info)) = current.as_mut() {
                    info.based_on = attr(e, b"val");
                }
            }
            b"outlineLvl" => {
                if let Some((_, info)) = current.as_mut() {
                    info.outline = attr(e, b"val").and_then(|v| v.parse().ok());
                }
            }
            b"numId" => {
                if let Some((_, info)) = current.as_mut() {
                    info.num_id = attr(e, b"val");
                }
            }
            b"ilvl" => {
                if let Some((_, info)) = current.as_mut() {
                    info.ilvl = attr(e, b"val").and_then(|v| v.parse().ok());
                }
            }
            _ => {}
        })?;
        if let Some((id, info)) = current {
            styles.insert(id, info);
        }
        Ok(Self(styles))
    }

    /// The style and those it is based on, nearest first (at most 10: a loop of `basedOn` ends there).
    fn chain(&self, id: &str) -> Vec<&StyleInfo> {
        let mut out = Vec::new();
        let mut next = Some(id);
        while let Some(id) = next {
            let Some(info) = self.0.get(id) else { break };
            out.push(info);
            if out.len() == 10 {
                break;
            }
            next = info.based_on.as_deref();
        }
        out
    }

    /// The heading level a style gives (1 the highest): Word's "heading N", "Title", or an outline level.
    fn heading(&self, id: &str) -> Option<u8> {
        for info in self.chain(id) {
            let name = info.name.to_ascii_lowercase();
            if let Some(n) = name.strip_prefix("heading ").and_then(|n| n.trim().parse::<u8>().ok()) {
                return Some(n.max(1));
            }
            if name == "title" {
                return Some(1);
            }
            if let Some(level) = info.outline.filter(|l| *l < 9) {
                return Some(level + 1);
            }
        }
        None
    }

    fn is_caption(&self, id: &str) -> bool {
        self.chain(id).first().is_some_and(|info| info.name.eq_ignore_ascii_case("caption"))
    }

    /// The numbering a style carries (List Bullet, List Number): its `numId` and level.
    fn numbering(&self, id: &str) -> Option<(String, u8)> {
        self.chain(id).into_iter().find_map(|info| info.num_id.clone().map(|n| (n, info.ilvl.unwrap_or(0))))
    }
}

/// `numbering.xml`: for each `numId`, whether each level counts (1., a), i.) or bullets.
#[derive(Debug, Default)]
pub(crate) struct Numbering(HashMap<String, Vec<bool>>);

impl Numbering {
    pub(crate) fn read(xml: &[u8], limits: &Limits) -> Result<Self, ExtractError> {
        let mut abstracts: HashMap<String, Vec<bool>> = HashMap::new();
        let mut nums: HashMap<String, String> = HashMap::new();
        let mut current_abstract: Option<String> = None;
        let mut current_num: Option<String> = None;
        let mut level: usize = 0;
        walk_elements(xml, limits, |e, _| match e.local_name().as_ref() {
            b"abstractNum" => {
                current_abstract = attr(e, b"abstractNumId");
                current_num = None;
            }
            b"lvl" => level = attr(e, b"ilvl").and_then(|v| v.parse().ok()).unwrap_or(0).min(9),
            b"numFmt" => {
                if let (Some(id), Some(fmt)) = (&current_abstract, attr(e, b"val")) {
                    let levels = abstracts.entry(id.clone()).or_default();
                    if levels.len() <= level {
                        levels.resize(level + 1, false);
                    }
                    levels[level] = fmt != "bullet" && fmt != "none";
                }
            }
            b"num" => {
                current_num = attr(e, b"numId");
                current_abstract = None;
            }
            b"abstractNumId" => {
                if let (Some(num), Some(id)) = (&current_num, attr(e, b"val")) {
                    nums.insert(num.clone(), id);
                }
            }
            _ => {}
        })?;
        Ok(Self(nums.into_iter().filter_map(|(num, id)| abstracts.get(&id).map(|l| (num, l.clone()))).collect()))
    }

    fn ordered(&self, num_id: &str, level: u8) -> bool {
        self.0.get(num_id).and_then(|levels| levels.get(usize::from(level))).copied().unwrap_or(false)
    }
}

/// `word/_rels/document.xml.rels`: each internal relationship's target, by id.
pub(crate) fn relationships(xml: &[u8], limits: &Limits) -> Result<HashMap<String, String>, ExtractError> {
    let mut out = HashMap::new();
    walk_elements(xml, limits, |e, _| {
        if e.local_name().as_ref() == b"Relationship" && attr(e, b"TargetMode").is_none_or(|m| m != "External") {
            if let (Some(id), Some(target)) = (attr(e, b"Id"), attr(e, b"Target")) {
                out.insert(id, target);
            }
        }
    })?;
    Ok(out)
}

/// Calls `each` for every start (or empty) element of a part, under the depth limit.
fn walk_elements(xml: &[u8], limits: &Limits, mut each: impl FnMut(&BytesStart<'_>, u32)) -> Result<(), ExtractError> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut depth = Depth { now: 0, max: limits.max_xml_depth };
    loop {
        match reader.read_event_into(&mut buf).map_err(xml_error)? {
            Event::Start(e) => {
                depth.enter("a DOCX part")?;
                each(&e, depth.now);
            }
            Event::Empty(e) => each(&e, depth.now),
            Event::End(_) => depth.leave(),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(())
}

/// What the walk of a part found.
#[derive(Debug, Default)]
pub(crate) struct Walked {
    /// Every paragraph with text, in document order (text boxes before the paragraph holding them, a table's
    /// cells row by row): the document's text.
    pub paragraphs: Vec<String>,
    /// The blocks, with [`Note::text`] holding the note's key (`f3`, `e1`) and [`Block::Picture`]'s index
    /// pointing into `pictures`, until [`resolve`] replaces them.
    pub blocks: Vec<Block>,
    /// The pictures' relationship ids, in first-use order, and the description their drawing gives.
    pub pictures: Vec<(String, String)>,
    /// A notes part's notes, by key.
    pub notes: HashMap<String, String>,
    /// The bytes of text the blocks hold so far: past the text limit no block is added (the structure is
    /// cut there anyway), so that a document of hundreds of megabytes of text is not held twice.
    block_bytes: u64,
    max_block_bytes: u64,
}

/// The styles, numbering and notes a part's paragraphs are read with.
pub(crate) struct Context<'a> {
    pub styles: &'a Styles,
    pub numbering: &'a Numbering,
}

#[derive(Default)]
struct OpenParagraph {
    text: String,
    style: Option<String>,
    num: Option<(String, u8)>,
    outline: Option<u8>,
    notes: Vec<Note>,
    pictures: Vec<usize>,
}

#[derive(Default)]
struct OpenTable {
    rows: Vec<Vec<Vec<String>>>,
}

impl OpenTable {
    fn cell(&mut self) -> &mut Vec<String> {
        if self.rows.is_empty() {
            self.rows.push(Vec::new());
        }
        let row = self.rows.last_mut().expect("a row was pushed");
        if row.is_empty() {
            row.push(Vec::new());
        }
        row.last_mut().expect("a cell was pushed")
    }
}

fn skipped(e: &BytesStart<'_>) -> bool {
    let name = e.local_name();
    // `mc:Fallback`: the same content again (a text box as VML) for readers that do not know the `mc:Choice`
    // before it; read, it would print a text box twice.
    if name.as_ref() == b"Fallback" {
        return true;
    }
    if name.as_ref() != b"footnote" && name.as_ref() != b"endnote" {
        return false;
    }
    attr(e, b"type").is_some_and(|t| matches!(t.as_str(), "separator" | "continuationSeparator" | "continuationNotice"))
}

/// Walks a WordprocessingML part (the body, or the footnotes or endnotes).
///
/// Text comes from `t` elements (w:t, and a:t in drawings); `tab`, `br` and `cr` count only inside a run
/// (`r`) since `w:tab` also defines tab stops in paragraph properties. Paragraphs nest (text boxes inside a
/// paragraph's run), so open paragraphs are a stack; a paragraph is emitted when it closes.
pub(crate) fn walk(xml: &[u8], limits: &Limits, context: &Context<'_>) -> Result<Walked, ExtractError> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut depth = Depth { now: 0, max: limits.max_xml_depth };
    let mut out = Walked { max_block_bytes: limits.max_text_bytes, ..Walked::default() };
    let mut open: Vec<OpenParagraph> = Vec::new();
    let mut tables: Vec<OpenTable> = Vec::new();
    let mut loose = String::new(); // text outside any paragraph (rare)
    let (mut in_t, mut in_run, mut in_properties, mut in_change) = (0u32, 0u32, 0u32, 0u32);
    let mut skip_from: Option<u32> = None; // depth at which a skipped element began
    let mut note: Option<String> = None; // the note whose paragraphs these are, in a notes part
    let mut description = String::new(); // the last drawing's description

    let mut start = |e: &BytesStart<'_>,
                     open: &mut Vec<OpenParagraph>,
                     tables: &mut Vec<OpenTable>,
                     note: &mut Option<String>,
                     out: &mut Walked,
                     in_run: u32,
                     in_properties: u32,
                     in_change: u32| {
        let properties = in_properties > 0 && in_change == 0;
        match e.local_name().as_ref() {
            b"footnote" | b"endnote" => {
                let prefix = if e.local_name().as_ref() == b"footnote" { "f" } else { "e" };
                *note = attr(e, b"id").map(|id| format!("{prefix}{id}"));
            }
            b"tbl" => tables.push(OpenTable::default()),
            b"tr" => {
                if let Some(t) = tables.last_mut() {
                    t.rows.push(Vec::new());
                }
            }
            b"tc" => {
                if let Some(t) = tables.last_mut() {
                    if t.rows.is_empty() {
                        t.rows.push(Vec::new());
                    }
                    if let Some(row) = t.rows.last_mut() {
                        row.push(Vec::new());
                    }
                }
            }
            b"pStyle" if properties => {
                if let Some(p) = open.last_mut().filter(|p| p.style.is_none()) {
                    p.style = attr(e, b"val");
                }
            }
            b"numId" if properties => {
                if let (Some(p), Some(id)) = (open.last_mut(), attr(e, b"val")) {
                    let level = p.num.as_ref().map_or(0, |n| n.1);
                    p.num = Some((id, level));
                }
            }
            b"ilvl" if properties => {
                if let Some(p) = open.last_mut() {
                    let level = attr(e, b"val").and_then(|v| v.parse().ok()).unwrap_or(0);
                    let id = p.num.take().map(|n| n.0).unwrap_or_default();
                    p.num = Some((id, level));
                }
            }
            b"outlineLvl" if properties => {
                if let Some(p) = open.last_mut() {
                    p.outline = attr(e, b"val").and_then(|v| v.parse().ok());
                }
            }
            b"footnoteReference" | b"endnoteReference" if in_run > 0 => {
                let prefix = if e.local_name().as_ref() == b"footnoteReference" { "f" } else { "e" };
                if let (Some(p), Some(id)) = (open.last_mut(), attr(e, b"id")) {
                    p.notes.push(Note { at: p.text.len(), text: format!("{prefix}{id}") });
                }
            }
            b"docPr" => description = attr(e, b"descr").or_else(|| attr(e, b"title")).unwrap_or_default(),
            b"blip" | b"imagedata" => {
                let id = attr(e, b"embed").or_else(|| attr(e, b"id"));
                if let (Some(p), Some(id)) = (open.last_mut(), id.filter(|i| !i.is_empty())) {
                    let index = match out.pictures.iter().position(|(known, _)| *known == id) {
                        Some(i) => i,
                        None => {
                            out.pictures.push((id, std::mem::take(&mut description)));
                            out.pictures.len() - 1
                        }
                    };
                    p.pictures.push(index);
                }
            }
            _ => {}
        }
    };

    loop {
        let event = reader.read_event_into(&mut buf).map_err(xml_error)?;
        match event {
            Event::Start(e) => {
                depth.enter("a DOCX part")?;
                if skip_from.is_some() {
                    // inside a skipped element: only depth matters
                } else if skipped(&e) {
                    skip_from = Some(depth.now);
                } else {
                    match e.local_name().as_ref() {
                        b"p" => open.push(OpenParagraph::default()),
                        b"r" => in_run += 1,
                        b"t" => in_t += 1,
                        b"pPr" => in_properties += 1,
                        b"pPrChange" | b"rPrChange" => in_change += 1,
                        other => {
                            push_run_char(other, in_run, &mut open, &mut loose);
                            start(&e, &mut open, &mut tables, &mut note, &mut out, in_run, in_properties, in_change);
                        }
                    }
                }
            }
            Event::Empty(e) if skip_from.is_none() => {
                push_run_char(e.local_name().as_ref(), in_run, &mut open, &mut loose);
                start(&e, &mut open, &mut tables, &mut note, &mut out, in_run, in_properties, in_change);
            }
            Event::End(e) => {
                if let Some(start) = skip_from {
                    if depth.now == start {
                        skip_from = None;
                    }
                } else {
                    match e.local_name().as_ref() {
                        b"p" => {
                            if let Some(p) = open.pop() {
                                close_paragraph(p, context, &mut tables, note.as_deref(), &mut out);
                            }
                        }
                        b"tbl" => {
                            if let Some(table) = tables.pop() {
                                match tables.last_mut() {
                                    // A table in a cell: its cells' paragraphs join the outer cell's.
                                    Some(outer) => outer.cell().extend(table.rows.into_iter().flatten().flatten()),
                                    None if table.rows.iter().flatten().any(|c| !c.is_empty()) => {
                                        out.blocks.push(Block::Table { rows: table.rows })
                                    }
                                    None => {}
                                }
                            }
                        }
                        b"footnote" | b"endnote" => note = None,
                        b"r" => in_run = in_run.saturating_sub(1),
                        b"t" => in_t = in_t.saturating_sub(1),
                        b"pPr" => in_properties = in_properties.saturating_sub(1),
                        b"pPrChange" | b"rPrChange" => in_change = in_change.saturating_sub(1),
                        _ => {}
                    }
                }
                depth.leave();
            }
            Event::Text(t) if in_t > 0 && skip_from.is_none() => {
                let s = t.decode().map_err(xml_error)?;
                current(&mut open, &mut loose).push_str(&s);
            }
            Event::CData(t) if in_t > 0 && skip_from.is_none() => {
                let s = t.decode().map_err(xml_error)?;
                current(&mut open, &mut loose).push_str(&s);
            }
            Event::GeneralRef(r) if in_t > 0 && skip_from.is_none() => {
                if let Some(s) = resolve_ref(&r) {
                    current(&mut open, &mut loose).push_str(&s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    // Unclosed paragraphs and tables (tolerated by the reader at EOF) still count.
    while let Some(p) = open.pop() {
        close_paragraph(p, context, &mut tables, note.as_deref(), &mut out);
    }
    for table in tables.drain(..) {
        out.blocks.push(Block::Table { rows: table.rows });
    }
    if !loose.trim().is_empty() {
        out.paragraphs.push(loose.trim_end().to_string());
        out.blocks.push(Block::Paragraph(Text::plain(loose.trim().to_string())));
    }
    Ok(out)
}

/// A paragraph closes: its text joins the document's, and it becomes a block (or a table cell's paragraph,
/// or a note's text), followed by the pictures drawn in it.
fn close_paragraph(
    p: OpenParagraph,
    context: &Context<'_>,
    tables: &mut [OpenTable],
    note: Option<&str>,
    out: &mut Walked,
) {
    let text = p.text.trim_end();
    let has_text = !text.trim().is_empty();
    if has_text {
        out.paragraphs.push(text.to_string());
    }
    if let Some(note) = note {
        if has_text {
            let joined = out.notes.entry(note.to_string()).or_default();
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(text.trim());
        }
        return;
    }
    out.block_bytes += text.len() as u64;
    if out.block_bytes > out.max_block_bytes {
        return;
    }
    if let Some(table) = tables.last_mut() {
        if has_text {
            table.cell().push(text.trim().to_string());
        }
        return;
    }
    let style = p.style.as_deref().unwrap_or("");
    if has_text {
        // Notes anchored past the trimmed text stand at its end; leading spaces trimmed move them back.
        let lead = text.len() - text.trim_start().len();
        let trimmed = text.trim();
        let notes = p
            .notes
            .into_iter()
            .map(|n| Note { at: n.at.saturating_sub(lead).min(trimmed.len()), text: n.text })
            .collect();
        let body = Text { text: trimmed.to_string(), notes };
        let heading = context.styles.heading(style).or(p.outline.filter(|l| *l < 9).map(|l| l + 1));
        let numbering = p.num.clone().or_else(|| context.styles.numbering(style)).filter(|(id, _)| id != "0");
        let previous_picture = matches!(out.blocks.last(), Some(Block::Picture { .. })) && p.pictures.is_empty();
        if context.styles.is_caption(style) && previous_picture {
            if let Some(Block::Picture { caption, .. }) = out.blocks.last_mut() {
                *caption = body.text;
            }
        } else if let Some(level) = heading {
            out.blocks.push(Block::Heading { level, text: body.text });
        } else if let Some((id, level)) = numbering {
            let ordered = context.numbering.ordered(&id, level);
            out.blocks.push(Block::ListItem { level: level.saturating_add(1), ordered, text: body });
        } else {
            out.blocks.push(Block::Paragraph(body));
        }
    }
    for picture in p.pictures {
        let caption = out.pictures.get(picture).map(|(_, d)| d.trim().to_string()).unwrap_or_default();
        out.blocks.push(Block::Picture { picture, caption });
    }
}

fn current<'a>(open: &'a mut [OpenParagraph], loose: &'a mut String) -> &'a mut String {
    match open.last_mut() {
        Some(p) => &mut p.text,
        None => loose,
    }
}

fn push_run_char(local: &[u8], in_run: u32, open: &mut [OpenParagraph], loose: &mut String) {
    if in_run == 0 {
        return;
    }
    let c = match local {
        b"tab" => '\t',
        b"br" | b"cr" => '\n',
        _ => return,
    };
    current(open, loose).push(c);
}
