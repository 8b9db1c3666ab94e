//! What the book contains. The coordinator builds a [`Book`] from the contributions it decided to include;
//! the renderers in this crate turn it into DOCX and PDF without deciding anything themselves.

use chrono::NaiveDate;
use folio_core::ContributionKind;

/// The whole printed catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Book {
    pub title: String,
    pub subtitle: Option<String>,
    /// Printed on the title page and written as the documents' creation date. There is no wall clock
    /// anywhere in rendering: the same `Book` always gives the same bytes.
    pub date: NaiveDate,
    /// In the order they are printed.
    pub chapters: Vec<BookChapter>,
}

/// Where the typeset book's parts fall: read from the PDF as it was laid out, for the report and the
/// manifest (page totals per chapter and for the book).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BookPages {
    /// Every page, the title page and the front and back matter included.
    pub total: u32,
    /// The title page, the contents and the list of figures (numbered i, ii, ...).
    pub front_matter: u32,
    /// In book order.
    pub chapters: Vec<ChapterPages>,
    /// The indexes and credits after the last chapter.
    pub back_matter: u32,
}

/// One chapter's pages in the typeset book.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChapterPages {
    pub title: String,
    /// The page number printed on its first page (chapters are numbered 1, 2, ... from the first).
    pub first_page: u32,
    pub pages: u32,
}

/// One chapter: one cooperation project.
#[derive(Debug, Clone, PartialEq)]
pub struct BookChapter {
    pub title: String,
    /// In the order they are printed.
    pub entries: Vec<BookEntry>,
}

/// What a chapter with no entry says under its heading: the editor's master keeps every chapter, so an
/// empty one is visible rather than silently gone.
pub const EMPTY_CHAPTER_NOTE: &str =
    "No contribution to this chapter is in the book yet. The report lists what was left out and why.";

/// One contribution as printed.
#[derive(Debug, Clone, PartialEq)]
pub struct BookEntry {
    pub title: String,
    /// May be empty: the attribution line then names the State only.
    pub author: String,
    pub state: String,
    pub kind: ContributionKind,
    /// What is set of it, in reading order: paragraphs (plain text, already reflowed), and where its
    /// document gave them, headings, list items, tables, pictures and notes. Never interpreted as markup.
    pub body: Vec<Block>,
    pub figures: Vec<Figure>,
    /// The Convention's areas it concerns, as printed in the index by area (labels such as "Victim
    /// assistance"); empty when none was suggested or confirmed.
    pub areas: Vec<String>,
    /// The contribution's PDFs as they were made: the typeset book places their pages (scaled to its type
    /// area, under its running head) instead of setting their part of `body`, which the DOCX master still sets.
    pub pdfs: Vec<PlacedPdf>,
    /// The credit line printed on the first of those pages: title, attribution, rights.
    pub credit: String,
}

/// A PDF placed in the typeset book page by page, its text still selectable there.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedPdf {
    pub bytes: Vec<u8>,
    /// Its page count, as extraction counted it.
    pub pages: u32,
    /// The entry's `body` blocks that are this PDF's text and pictures: the DOCX master sets them (its
    /// pictures with their caption and credit, unnumbered: the typeset book shows them on the placed pages,
    /// where they are not figures of the book), the typeset book shows the pages instead.
    pub body: std::ops::Range<usize>,
}

/// One block of an entry's body.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(Text),
    /// The contribution's own heading, level 1 its highest: set below the entry's title.
    Heading {
        level: u8,
        text: String,
    },
    ListItem {
        level: u8,
        ordered: bool,
        text: Text,
    },
    /// Rows of cells, each cell its paragraphs.
    Table(Vec<Vec<Vec<String>>>),
    /// A picture drawn in the contribution's text, numbered with the book's figures.
    Picture(Figure),
}

pub use folio_core::structure::{Note, Text};

impl From<&str> for Block {
    fn from(text: &str) -> Self {
        Block::Paragraph(Text::plain(text))
    }
}

impl From<String> for Block {
    fn from(text: String) -> Self {
        Block::Paragraph(Text::plain(text))
    }
}

impl Block {
    /// Whether it has nothing to set (blank text, a table of blank cells).
    pub fn is_blank(&self) -> bool {
        match self {
            Block::Paragraph(t) | Block::ListItem { text: t, .. } => t.text.trim().is_empty(),
            Block::Heading { text, .. } => text.trim().is_empty(),
            Block::Table(rows) => rows.iter().flatten().flatten().all(|p| p.trim().is_empty()),
            Block::Picture(_) => false,
        }
    }
}

impl BookEntry {
    /// "Author (State)"; the State alone when there is no author; the author alone when there is no State.
    pub fn attribution(&self) -> String {
        folio_core::attribution_line(&self.author, &self.state).unwrap_or_default()
    }
}

/// A picture of an entry, already converted and downscaled by the coordinator.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// PNG bytes, longest side at most 1600 px.
    pub png: Vec<u8>,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    pub caption: String,
    pub credit: String,
}

impl Figure {
    /// "caption — credit", either part alone when the other is empty.
    pub fn caption_line(&self) -> String {
        let (caption, credit) = (self.caption.trim(), self.credit.trim());
        match (caption.is_empty(), credit.is_empty()) {
            (false, false) => format!("{caption} — {credit}"),
            (false, true) => caption.to_string(),
            (true, false) => credit.to_string(),
            (true, true) => String::new(),
        }
    }

    /// Checks the bytes are a PNG whose header agrees with the stated size, so that neither writer embeds
    /// something a reader cannot open (and docx-rs, which panics on bad images, is never handed one).
    pub(crate) fn check(&self, entry: &str, number: usize) -> Result<(), crate::BundleError> {
        let fail = |reason: String| crate::BundleError::Figure { entry: entry.to_string(), figure: number, reason };
        const SIGNATURE: [u8; 8] = [137, 80, 78, 71, 13, 10, 26, 10];
        if !self.png.starts_with(&SIGNATURE) || self.png.len() < 24 {
            return Err(fail("missing PNG signature".into()));
        }
        let reader = image::ImageReader::with_format(std::io::Cursor::new(&self.png), image::ImageFormat::Png);
        let (w, h) = reader.into_dimensions().map_err(|e| fail(e.to_string()))?;
        if (w, h) != (self.width, self.height) || w == 0 || h == 0 {
            return Err(fail(format!("header says {w}x{h} px, the model says {}x{}", self.width, self.height)));
        }
        Ok(())
    }
}

impl BookEntry {
    /// Its figures in reading order: the pictures drawn in its text (but those of PDFs placed as pages), then
    /// those it was sent as.
    pub fn all_figures(&self) -> impl Iterator<Item = &Figure> {
        let drawn = self.body.iter().enumerate().filter_map(|(i, b)| match b {
            Block::Picture(figure) if !self.is_placed(i) => Some(figure),
            _ => None,
        });
        drawn.chain(self.figures.iter())
    }

    /// Whether body block `index` belongs to a PDF placed as pages in the typeset book.
    pub fn is_placed(&self, index: usize) -> bool {
        self.pdfs.iter().any(|p| p.body.contains(&index))
    }
}

/// Figures are numbered through the book (1, 2, …) in reading order, an entry's pictures drawn in its text
/// before those it was sent as; both renderers use this numbering.
pub(crate) fn numbered_figures(book: &Book) -> impl Iterator<Item = (usize, &BookEntry, &Figure)> {
    book.chapters
        .iter()
        .flat_map(|c| c.entries.iter())
        .flat_map(|e| e.all_figures().map(move |f| (e, f)))
        .enumerate()
        .map(|(i, (e, f))| (i + 1, e, f))
}

/// One index at the back of the book: headings (a State, an author, an area) in alphabetical order, each with
/// the entries it lists in book order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookIndex {
    pub title: &'static str,
    pub groups: Vec<(String, Vec<usize>)>,
}

impl Book {
    /// Every entry with its number through the book (1, 2, ...), in reading order; both renderers anchor an
    /// entry's page references on this number.
    pub fn numbered_entries(&self) -> impl Iterator<Item = (usize, &BookEntry)> {
        self.chapters.iter().flat_map(|c| c.entries.iter()).enumerate().map(|(i, e)| (i + 1, e))
    }

    /// The indexes printed at the back: by State, by author and by the Convention's area. An index with
    /// nothing to list is left out.
    pub fn indexes(&self) -> Vec<BookIndex> {
        let by = |title, keys: &dyn Fn(&BookEntry) -> Vec<String>| {
            let mut groups: std::collections::BTreeMap<(String, String), Vec<usize>> = Default::default();
            for (n, entry) in self.numbered_entries() {
                for key in keys(entry) {
                    let key = key.trim().to_string();
                    if !key.is_empty() {
                        groups.entry((key.to_lowercase(), key)).or_default().push(n);
                    }
                }
            }
            BookIndex { title, groups: groups.into_iter().map(|((_, key), entries)| (key, entries)).collect() }
        };
        [
            by("Index of contributions by State", &|e| vec![e.state.clone()]),
            by("Index of contributions by author", &|e| vec![e.author.clone()]),
            by("Index of contributions by area", &|e| e.areas.clone()),
        ]
        .into_iter()
        .filter(|index| !index.groups.is_empty())
        .collect()
    }
}
