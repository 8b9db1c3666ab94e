//! The book as a PDF, typeset by Typst used as a library.
//!
//! The template (`pdf/book.typ`) is static; the book reaches it as data: `/book.json` (text only), one
//! `/fig-N.png` per figure and one `/pdf-N.pdf` per PDF placed page by page, in a virtual file system. No contribution text is ever spliced into markup, so
//! nothing a State writes can change the layout or break the build. Fonts are the ones bundled with Typst,
//! parsed once per process. The PDF's identifier and dates come from the book, so the output is
//! reproducible byte for byte.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Label, Selector, Smart};
use typst::layout::PagedDocument;
use typst::syntax::{FileId, Source, VirtualPath};
use typst::text::{Font, FontBook};
use typst::utils::{LazyHash, PicoStr};
use typst::{Library, LibraryExt, World};

use crate::model::{numbered_figures, Book, BookPages, ChapterPages};
use crate::BundleError;

/// The template; see the file for its contract with [`BookData`].
const TEMPLATE: &str = include_str!("pdf/book.typ");
/// Stable document identifier: the PDF's /ID derives from it instead of from the content's hash or a clock.
const IDENT: &str = "folio-catalogue";
/// Text width of an A4 page with 2.5 cm margins.
const TEXT_WIDTH_MM: f64 = 160.0;
/// Tallest a figure is printed, leaving room for its caption and credit.
const MAX_FIGURE_HEIGHT_MM: f64 = 170.0;

/// Typst's bundled fonts (Libertinus Serif, New Computer Modern, DejaVu Sans Mono), parsed once.
static FONTS: LazyLock<(LazyHash<FontBook>, Vec<Font>)> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
    (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
});

/// The standard library, built once: it is the same for every book.
static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

/// Renders the book as PDF bytes.
pub fn render_pdf(book: &Book) -> Result<Vec<u8>, BundleError> {
    Ok(typeset(book)?.0)
}

/// Renders the book as PDF bytes, with where each chapter fell in the layout.
pub fn typeset(book: &Book) -> Result<(Vec<u8>, BookPages), BundleError> {
    let world = BookWorld::new(book)?;
    let warned = typst::compile::<PagedDocument>(&world);
    for warning in &warned.warnings {
        tracing::debug!(message = %warning.message, "typst warning");
    }
    let document = warned.output.map_err(|diags| BundleError::Typeset(messages(&diags)))?;
    let pages = book_pages(book, &document);
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(IDENT),
        timestamp: Some(typst_pdf::Timestamp::new_utc(world.today)),
        ..Default::default()
    };
    let pdf = typst_pdf::pdf(&document, &options).map_err(|diags| BundleError::Pdf(messages(&diags)))?;
    Ok((pdf, pages))
}

/// Reads the chapters' first pages from the laid-out document: the template marks each chapter's start with
/// `<folio-chapter>` metadata and the back matter's with `<folio-back>`.
fn book_pages(book: &Book, document: &PagedDocument) -> BookPages {
    let physical_pages = |label: &str| -> Vec<u32> {
        let Some(label) = Label::new(PicoStr::intern(label)) else { return Vec::new() };
        document
            .introspector
            .query(&Selector::Label(label))
            .iter()
            .filter_map(|c| c.location())
            .map(|l| document.introspector.page(l).get() as u32)
            .collect()
    };
    let total = document.pages.len() as u32;
    let starts = physical_pages("folio-chapter");
    let back = physical_pages("folio-back").first().copied().unwrap_or(total + 1);
    let first = starts.first().copied().unwrap_or(back);
    let chapters = book
        .chapters
        .iter()
        .zip(&starts)
        .enumerate()
        .map(|(i, (chapter, &start))| {
            let end = starts.get(i + 1).copied().unwrap_or(back);
            ChapterPages {
                title: chapter.title.clone(),
                first_page: start - first + 1,
                pages: end.saturating_sub(start),
            }
        })
        .collect();
    BookPages { total, front_matter: first.saturating_sub(1), chapters, back_matter: (total + 1).saturating_sub(back) }
}

/// Diagnostics as sentences, with their hints.
fn messages(diags: &[SourceDiagnostic]) -> Vec<String> {
    diags
        .iter()
        .map(|d| {
            let mut message = d.message.to_string();
            for hint in &d.hints {
                message.push_str(" (hint: ");
                message.push_str(hint);
                message.push(')');
            }
            message
        })
        .collect()
}

/// What the template reads from `/book.json`. Text only: figures are separate files.
#[derive(Serialize)]
struct BookData<'a> {
    title: &'a str,
    subtitle: Option<&'a str>,
    date: DateData,
    date_display: String,
    empty_chapter_note: &'static str,
    chapters: Vec<ChapterData<'a>>,
    /// Every figure, for the list of figures.
    figures: Vec<FigureListData<'a>>,
    indexes: Vec<IndexData<'a>>,
}

#[derive(Serialize)]
struct FigureListData<'a> {
    number: usize,
    caption: &'a str,
    credit: &'a str,
}

#[derive(Serialize)]
struct IndexData<'a> {
    title: &'static str,
    groups: Vec<IndexGroupData<'a>>,
}

#[derive(Serialize)]
struct IndexGroupData<'a> {
    heading: String,
    entries: Vec<IndexEntryData<'a>>,
}

#[derive(Serialize)]
struct IndexEntryData<'a> {
    number: usize,
    title: &'a str,
}

#[derive(Serialize)]
struct DateData {
    year: i32,
    month: u32,
    day: u32,
}

#[derive(Serialize)]
struct ChapterData<'a> {
    title: &'a str,
    entries: Vec<EntryData<'a>>,
}

#[derive(Serialize)]
struct EntryData<'a> {
    /// Through the book, from 1: the entry's label is `entry-<number>`.
    number: usize,
    title: &'a str,
    attribution: String,
    /// The blocks set from text: those of PDFs placed as pages are left out.
    blocks: Vec<BlockData<'a>>,
    figures: Vec<FigureData<'a>>,
    /// PDFs placed page by page, and the credit line printed on the first of their pages.
    pdfs: Vec<PdfData>,
    credit: &'a str,
}

/// One block of an entry as the template sets it. Consecutive list items are one list.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum BlockData<'a> {
    Paragraph {
        pieces: Vec<PieceData<'a>>,
    },
    /// The contribution's own heading: the template sets it at `level` + 2, out of the contents.
    Heading {
        level: u8,
        text: &'a str,
    },
    List {
        items: Vec<ItemData<'a>>,
    },
    /// Cells row by row, `columns` to a row; each cell its paragraphs joined by line breaks in the template.
    Table {
        columns: usize,
        cells: Vec<&'a [String]>,
    },
    Figure(FigureData<'a>),
}

/// A stretch of text, and the footnote set after it.
#[derive(Serialize)]
struct PieceData<'a> {
    text: &'a str,
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct ItemData<'a> {
    level: u8,
    /// "•", or the item's number in its list at its level ("2.", "b.").
    marker: String,
    pieces: Vec<PieceData<'a>>,
}

fn pieces(text: &crate::model::Text) -> Vec<PieceData<'_>> {
    text.pieces().into_iter().map(|(text, note)| PieceData { text, note }).collect()
}

/// An entry's blocks as the template sets them, those of PDFs placed as pages left out; `figure` counts the
/// book's figures (pictures drawn in the text are numbered before the entry's own figures, as in
/// [`numbered_figures`]).
fn blocks_data<'a>(entry: &'a crate::BookEntry, figure: &mut usize) -> Vec<BlockData<'a>> {
    use crate::model::Block;
    let mut out: Vec<BlockData<'a>> = Vec::new();
    // Counters of the open numbered list, one per level.
    let mut counters = [0usize; folio_core::structure::MAX_LEVEL as usize];
    for (i, block) in entry.body.iter().enumerate() {
        if entry.pdfs.iter().any(|p| p.body.contains(&i)) || block.is_blank() {
            continue;
        }
        match block {
            Block::Paragraph(text) => out.push(BlockData::Paragraph { pieces: pieces(text) }),
            Block::Heading { level, text } => out.push(BlockData::Heading { level: *level, text }),
            Block::ListItem { level, ordered, text } => {
                let depth = usize::from(*level).clamp(1, counters.len()) - 1;
                if !matches!(out.last(), Some(BlockData::List { .. })) {
                    counters = Default::default();
                }
                let marker = if *ordered {
                    counters[depth] += 1;
                    counters[depth + 1..].iter_mut().for_each(|c| *c = 0);
                    let n = counters[depth];
                    match depth % 2 {
                        0 => format!("{n}."),
                        _ => format!("{}.", char::from(b'a' + ((n - 1) % 26) as u8)),
                    }
                } else {
                    ["•", "◦", "▪", "•"][depth % 4].to_string()
                };
                let item = ItemData { level: (depth + 1) as u8, marker, pieces: pieces(text) };
                match out.last_mut() {
                    Some(BlockData::List { items }) => items.push(item),
                    _ => out.push(BlockData::List { items: vec![item] }),
                }
            }
            Block::Table(rows) => {
                let columns = rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
                const NONE: &[String] = &[];
                let cells = rows
                    .iter()
                    .flat_map(|row| (0..columns).map(move |c| row.get(c).map_or(NONE, Vec::as_slice)))
                    .collect();
                out.push(BlockData::Table { columns, cells });
            }
            Block::Picture(f) => out.push(BlockData::Figure(figure_data(f, figure))),
        }
    }
    out
}

fn figure_data<'a>(f: &'a crate::Figure, figure: &mut usize) -> FigureData<'a> {
    *figure += 1;
    FigureData {
        number: *figure,
        path: figure_path(*figure),
        width_mm: figure_width_mm(f.width, f.height),
        caption: f.caption.trim(),
        credit: f.credit.trim(),
    }
}

#[derive(Serialize)]
struct PdfData {
    /// Absolute path in the virtual file system.
    path: String,
    pages: u32,
}

fn pdf_path(n: usize) -> String {
    format!("/pdf-{n}.pdf")
}

/// The PDFs placed in the book, numbered through it (1, 2, ...) in reading order, as the template names them.
fn numbered_pdfs(book: &Book) -> impl Iterator<Item = (usize, &crate::PlacedPdf)> {
    book.chapters.iter().flat_map(|c| c.entries.iter()).flat_map(|e| e.pdfs.iter()).enumerate().map(|(i, p)| (i + 1, p))
}

#[derive(Serialize)]
struct FigureData<'a> {
    /// Through the book, from 1: the figure's label is `fig-<number>`.
    number: usize,
    /// Absolute path in the virtual file system.
    path: String,
    /// Printed width: the text width, or less when the picture would otherwise be too tall.
    width_mm: f64,
    caption: &'a str,
    credit: &'a str,
}

fn figure_path(n: usize) -> String {
    format!("/fig-{n}.png")
}

fn figure_width_mm(width_px: u32, height_px: u32) -> f64 {
    let ratio = f64::from(width_px.max(1)) / f64::from(height_px.max(1));
    // Rounded to a tenth of a millimetre so that the JSON (and the PDF) never depends on float printing.
    (TEXT_WIDTH_MM.min(MAX_FIGURE_HEIGHT_MM * ratio) * 10.0).round() / 10.0
}

impl<'a> BookData<'a> {
    fn new(book: &'a Book) -> Self {
        use chrono::Datelike;
        let mut figure = 0usize;
        let mut entry_number = 0usize;
        let mut pdf = 0usize;
        let chapters = book
            .chapters
            .iter()
            .map(|chapter| ChapterData {
                title: &chapter.title,
                entries: chapter
                    .entries
                    .iter()
                    .map(|entry| EntryData {
                        number: {
                            entry_number += 1;
                            entry_number
                        },
                        title: &entry.title,
                        attribution: entry.attribution(),
                        blocks: blocks_data(entry, &mut figure),
                        pdfs: entry
                            .pdfs
                            .iter()
                            .map(|p| {
                                pdf += 1;
                                PdfData { path: pdf_path(pdf), pages: p.pages }
                            })
                            .collect(),
                        credit: &entry.credit,
                        figures: entry.figures.iter().map(|f| figure_data(f, &mut figure)).collect(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            title: &book.title,
            subtitle: book.subtitle.as_deref().filter(|s| !s.trim().is_empty()),
            date: DateData { year: book.date.year(), month: book.date.month(), day: book.date.day() },
            date_display: crate::docx::display_date(book.date),
            empty_chapter_note: crate::model::EMPTY_CHAPTER_NOTE,
            chapters,
            figures: numbered_figures(book)
                .map(|(number, _, f)| FigureListData { number, caption: f.caption.trim(), credit: f.credit.trim() })
                .collect(),
            indexes: {
                let titles: Vec<&str> = book.numbered_entries().map(|(_, e)| e.title.as_str()).collect();
                book.indexes()
                    .into_iter()
                    .map(|index| IndexData {
                        title: index.title,
                        groups: index
                            .groups
                            .into_iter()
                            .map(|(heading, entries)| IndexGroupData {
                                heading,
                                entries: entries
                                    .into_iter()
                                    .map(|number| IndexEntryData { number, title: titles[number - 1] })
                                    .collect(),
                            })
                            .collect(),
                    })
                    .collect()
            },
        }
    }
}

/// An in-memory Typst world: the template as main file, the book's data and figures as files, the bundled
/// fonts, and the book's date as "today".
struct BookWorld {
    main: Source,
    files: HashMap<FileId, Bytes>,
    today: Datetime,
}

impl BookWorld {
    fn new(book: &Book) -> Result<Self, BundleError> {
        use chrono::Datelike;
        let mut files = HashMap::new();
        for (n, entry, figure) in numbered_figures(book) {
            figure.check(&entry.title, n)?;
            files.insert(file_id(&figure_path(n)), Bytes::new(figure.png.clone()));
        }
        for (n, placed) in numbered_pdfs(book) {
            files.insert(file_id(&pdf_path(n)), Bytes::new(placed.bytes.clone()));
        }
        let json = serde_json::to_vec(&BookData::new(book))?;
        files.insert(file_id("/book.json"), Bytes::new(json));
        let month = u8::try_from(book.date.month()).map_err(|_| BundleError::Date(book.date))?;
        let day = u8::try_from(book.date.day()).map_err(|_| BundleError::Date(book.date))?;
        let today = Datetime::from_ymd(book.date.year(), month, day).ok_or(BundleError::Date(book.date))?;
        Ok(Self { main: Source::new(file_id("/main.typ"), TEMPLATE.to_string()), files, today })
    }
}

fn file_id(path: &str) -> FileId {
    FileId::new(None, VirtualPath::new(path))
}

impl World for BookWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.0
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else if self.files.contains_key(&id) {
            Err(FileError::NotSource)
        } else {
            Err(FileError::NotFound(id.vpath().as_rooted_path().into()))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.main.id() {
            return Ok(Bytes::from_string(self.main.text().to_string()));
        }
        self.files.get(&id).cloned().ok_or_else(|| FileError::NotFound(id.vpath().as_rooted_path().into()))
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.1.get(index).cloned()
    }

    fn today(&self, _offset: Option<i64>) -> Option<Datetime> {
        Some(self.today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_widths_keep_portraits_on_the_page() {
        assert_eq!(figure_width_mm(1600, 800), TEXT_WIDTH_MM);
        assert_eq!(figure_width_mm(400, 1600), 42.5);
    }
}
