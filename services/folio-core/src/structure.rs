//! A document's form, beside its text: the blocks it is made of (paragraphs, headings, list items, tables,
//! pictures) and its notes, as extraction found them. The text stays what rules, language detection and search
//! read; the structure is what the book is set from, so that a contribution keeps its headings, lists, tables
//! and pictures in the editors' master.
//!
//! Everything here is data: nothing in it is ever read as markup by a renderer.

use serde::{Deserialize, Serialize};

/// The most blocks one document's structure holds; past it the rest of the document is set as paragraphs of
/// its text instead (see [`Structure::cut`]).
pub const MAX_BLOCKS: usize = 20_000;
/// The most pictures taken from one document into the book.
pub const MAX_PICTURES: usize = 24;
/// The most cells one table keeps (rows × columns); a larger table is cut at a row.
pub const MAX_TABLE_CELLS: usize = 4_000;
/// The longest side a picture taken from a document is kept at (as the book's figures are).
pub const PICTURE_PX: u32 = 1600;
/// The deepest a heading or list level goes (deeper ones are set at this level).
pub const MAX_LEVEL: u8 = 4;

/// A document's blocks in reading order, and where its pictures were written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Structure {
    pub blocks: Vec<Block>,
    /// The pictures [`Block::Picture`] refers to, by index.
    #[serde(default)]
    pub pictures: Vec<PictureRef>,
}

/// One block of a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    Paragraph(Text),
    /// A heading of the document's own, level 1 the highest (the book sets it below the contribution's title).
    Heading {
        level: u8,
        text: String,
    },
    /// One item of a list; `level` 1 is the outermost.
    ListItem {
        level: u8,
        ordered: bool,
        #[serde(flatten)]
        text: Text,
    },
    /// Rows of cells, each cell its paragraphs.
    Table {
        rows: Vec<Vec<Vec<String>>>,
    },
    /// A picture drawn in the text, with the caption its document gives it (or its description).
    Picture {
        picture: usize,
        #[serde(default)]
        caption: String,
    },
}

/// A paragraph's text and the notes anchored in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Text {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

impl Text {
    pub fn plain(text: impl Into<String>) -> Self {
        Self { text: text.into(), notes: Vec::new() }
    }

    /// The text cut where its notes are anchored: `(piece, note after it)`, the last piece with none. A note
    /// anchored past the end or inside a character is put at the end.
    pub fn pieces(&self) -> Vec<(&str, Option<&str>)> {
        let mut out = Vec::new();
        let mut from = 0usize;
        let mut notes: Vec<&Note> = self.notes.iter().collect();
        notes.sort_by_key(|n| n.at);
        for note in notes {
            let at = if note.at >= from && note.at <= self.text.len() && self.text.is_char_boundary(note.at) {
                note.at
            } else {
                self.text.len().max(from)
            };
            out.push((&self.text[from..at], Some(note.text.as_str())));
            from = at;
        }
        out.push((&self.text[from..], None));
        out
    }
}

/// A footnote or endnote: its text, and the byte offset in its paragraph's text where its mark stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub at: usize,
    pub text: String,
}

/// Where one picture of a document was written, and its size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PictureRef {
    /// A blob key (in the store) or a file name (from the parser process).
    pub location: String,
    pub width: u32,
    pub height: u32,
}

impl Block {
    /// The paragraphs of plain text this block holds, in reading order (a table's cells row by row).
    pub fn paragraphs(&self) -> Vec<&str> {
        match self {
            Block::Paragraph(t) | Block::ListItem { text: t, .. } => vec![t.text.as_str()],
            Block::Heading { text, .. } => vec![text.as_str()],
            Block::Table { rows } => rows.iter().flatten().flatten().map(String::as_str).collect(),
            Block::Picture { caption, .. } if !caption.trim().is_empty() => vec![caption.as_str()],
            Block::Picture { .. } => Vec::new(),
        }
    }
}

impl Structure {
    /// Whether it holds anything beyond plain paragraphs (a heading, a list, a table, a picture, a note): a
    /// document with none is set from its text as before.
    pub fn has_form(&self) -> bool {
        self.blocks.iter().any(|b| !matches!(b, Block::Paragraph(t) if t.notes.is_empty()))
    }

    /// Holds it to the bounds above: blocks past [`MAX_BLOCKS`] dropped, pictures past [`MAX_PICTURES`] and
    /// the blocks naming them dropped, tables cut at [`MAX_TABLE_CELLS`], levels clamped to 1..=[`MAX_LEVEL`].
    /// Called by whoever reads a structure from outside its process.
    pub fn cut(&mut self) {
        self.blocks.truncate(MAX_BLOCKS);
        self.pictures.truncate(MAX_PICTURES);
        let pictures = self.pictures.len();
        self.blocks.retain(|b| !matches!(b, Block::Picture { picture, .. } if *picture >= pictures));
        for block in &mut self.blocks {
            match block {
                Block::Heading { level, .. } | Block::ListItem { level, .. } => *level = (*level).clamp(1, MAX_LEVEL),
                Block::Table { rows } => {
                    let mut cells = 0usize;
                    let keep = rows
                        .iter()
                        .take_while(|row| {
                            cells += row.len().max(1);
                            cells <= MAX_TABLE_CELLS
                        })
                        .count();
                    rows.truncate(keep);
                }
                _ => {}
            }
        }
        self.blocks.retain(|b| !matches!(b, Block::Table { rows } if rows.is_empty()));
    }
}

impl Structure {
    /// Keeps the pictures whose `kept` is true (by index; a picture past `kept` is dropped), renumbering the
    /// blocks that show them and dropping those that showed the others.
    pub fn keep_pictures(&mut self, kept: &[bool]) {
        let mut renumbered = Vec::with_capacity(self.pictures.len());
        let mut next = 0usize;
        for index in 0..self.pictures.len() {
            if kept.get(index).copied().unwrap_or(false) {
                renumbered.push(Some(next));
                next += 1;
            } else {
                renumbered.push(None);
            }
        }
        let mut index = 0usize;
        self.pictures.retain(|_| {
            index += 1;
            renumbered[index - 1].is_some()
        });
        self.blocks.retain_mut(|block| match block {
            Block::Picture { picture, .. } => match renumbered.get(*picture).copied().flatten() {
                Some(n) => {
                    *picture = n;
                    true
                }
                None => false,
            },
            _ => true,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_cut_the_text_where_they_stand() {
        let text = Text {
            text: "Mines cleared in 2011 and 2012.".into(),
            notes: vec![Note { at: 30, text: "Survey data.".into() }, Note { at: 6, text: "Anti-personnel.".into() }],
        };
        let pieces = text.pieces();
        assert_eq!(pieces[0], ("Mines ", Some("Anti-personnel.")));
        assert_eq!(pieces[1], ("cleared in 2011 and 2012", Some("Survey data.")));
        assert_eq!(pieces[2], (".", None));
        // A note anchored inside a character goes to the end.
        let odd = Text { text: "é".into(), notes: vec![Note { at: 1, text: "n".into() }] };
        assert_eq!(odd.pieces(), [("é", Some("n")), ("", None)]);
    }

    #[test]
    fn a_structure_from_outside_is_held_to_its_bounds() {
        let mut s = Structure {
            blocks: vec![
                Block::Heading { level: 9, text: "Deep".into() },
                Block::Picture { picture: 3, caption: String::new() },
                Block::Table { rows: vec![vec![vec!["a".into()]; 3000]; 3] },
            ],
            pictures: vec![PictureRef { location: "p".into(), width: 1, height: 1 }],
        };
        s.cut();
        assert_eq!(s.blocks.len(), 2, "the picture that is not there is dropped");
        s.pictures.push(PictureRef { location: "q".into(), width: 2, height: 2 });
        s.blocks.push(Block::Picture { picture: 0, caption: "first".into() });
        s.blocks.push(Block::Picture { picture: 1, caption: "second".into() });
        s.keep_pictures(&[false, true]);
        assert_eq!(s.pictures, [PictureRef { location: "q".into(), width: 2, height: 2 }]);
        assert_eq!(s.blocks[2], Block::Picture { picture: 0, caption: "second".into() });
        s.blocks.truncate(2);
        assert_eq!(s.blocks[0], Block::Heading { level: MAX_LEVEL, text: "Deep".into() });
        assert!(matches!(&s.blocks[1], Block::Table { rows } if rows.len() == 1), "cut at a row");
        assert_eq!(s.blocks.len(), 2, "the picture that is not there is dropped");
        assert!(s.has_form());
    }
}
