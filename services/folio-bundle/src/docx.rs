//! The book as a Word document, for editors to correct before print.
//!
//! Styles carry Word's own names ("Title", "Heading 1", "Heading 2", "Caption") so that Word, LibreOffice and
//! python-docx recognise them, the navigation pane works, and the table of contents can be regenerated.
//! docx-rs numbers some elements from process-wide counters; everything that would otherwise depend on them
//! (picture relationships, bookmarks, table-of-contents anchors) is numbered here, from the book alone, so
//! that two renders of the same book are byte-identical.

use std::io::Cursor;

use docx_rs::{
    AbstractNumbering, AlignmentType, BreakType, Docx, FieldCharType, Footer, Footnote, Header, IndentLevel, InstrPAGE,
    InstrPAGEREF, InstrText, InstrToC, Level, LevelJc, LevelOverride, LevelText, LineSpacing, NumberFormat, Numbering,
    NumberingId, PageMargin, PageNumType, PageSize, Paragraph, Pic, Run, RunFonts, Section, SpecialIndentType, Start,
    Style, StyleType, Tab, TabLeaderType, TabValueType, Table, TableCell, TableRow, VertAlignType, WidthType,
};

use crate::model::{numbered_figures, Block, Book, Figure, Text};
use crate::BundleError;

/// EMU (English Metric Units) per centimetre: pictures are sized in EMU.
const EMU_PER_CM: u64 = 360_000;
/// Widest a figure is printed: the text width of an A4 page with 2.5 cm margins, less a little.
const MAX_FIGURE_WIDTH_EMU: u64 = 15 * EMU_PER_CM;
/// Tallest a figure is printed, so that a portrait picture and its caption fit on one page.
const MAX_FIGURE_HEIGHT_EMU: u64 = 20 * EMU_PER_CM;
/// A4 in twentieths of a point.
const A4_TWIPS: (u32, u32) = (11_906, 16_838);
/// 2.5 cm in twentieths of a point.
const MARGIN_TWIPS: i32 = 1_417;
/// The text width: A4 less both margins, where the contents' page numbers are aligned.
const TEXT_WIDTH_TWIPS: usize = A4_TWIPS.0 as usize - 2 * MARGIN_TWIPS as usize;
const FONT: &str = "Libertinus Serif";

/// Renders the book as DOCX bytes.
pub fn render_docx(book: &Book) -> Result<Vec<u8>, BundleError> {
    for (n, entry, figure) in numbered_figures(book) {
        figure.check(&entry.title, n)?;
    }
    // The pictures of PDFs placed as pages are not numbered figures, but are set here too: checked as well.
    for entry in book.chapters.iter().flat_map(|c| &c.entries) {
        for (i, block) in entry.body.iter().enumerate().filter(|(i, _)| entry.is_placed(*i)) {
            if let Block::Picture(figure) = block {
                figure.check(&entry.title, i)?;
            }
        }
    }

    // W3CDTF at midnight UTC: the book's date, never the clock.
    let stamp = format!("{}T00:00:00Z", book.date.format("%Y-%m-%d"));
    let mut docx = Docx::new()
        .created_at(&stamp)
        .updated_at(&stamp)
        .page_size(A4_TWIPS.0, A4_TWIPS.1)
        .page_margin(page_margin())
        .default_fonts(RunFonts::new().ascii(FONT).hi_ansi(FONT).cs(FONT).east_asia(FONT))
        .default_size(22);
    for style in styles() {
        docx = docx.add_style(style);
    }

    let mut body = Body::default();
    let mut front = title_page(book, &mut body.ids);
    front.extend(contents(book, &mut body.ids));
    let mut parts = vec![Part::of(None, front)];

    let mut bookmark = 0usize;
    for chapter in &book.chapters {
        bookmark += 1;
        // A section of its own: it starts on a new page.
        let mut paragraphs: Vec<Child> = vec![heading(&mut body.ids, &chapter.title, "Heading1", bookmark).into()];
        if chapter.entries.is_empty() {
            paragraphs
                .push(body.ids.next().add_run(Run::new().add_text(crate::model::EMPTY_CHAPTER_NOTE).italic()).into());
        }
        for entry in &chapter.entries {
            bookmark += 1;
            paragraphs.push(heading(&mut body.ids, &entry.title, "Heading2", bookmark).into());
            let attribution = entry.attribution();
            if !attribution.is_empty() {
                paragraphs.push(
                    body.ids.next().style("Attribution").add_run(Run::new().add_text(attribution).italic()).into(),
                );
            }
            for (i, block) in entry.body.iter().enumerate() {
                body.block(block, entry.is_placed(i), &mut paragraphs);
            }
            for figure in &entry.figures {
                body.figure(figure, &mut paragraphs);
            }
        }
        parts.push(Part { running_title: Some(chapter.title.clone()), paragraphs });
    }
    let mut ids = std::mem::take(&mut body.ids);
    parts.extend(indexes(book, &mut ids));
    docx = body.numberings(docx);
    docx = sections(docx, book, parts, &mut ids);

    let mut xml = docx.build();
    xml.document = number_sections(&xml.document)?;
    xml.styles = normal_by_default(&xml.styles)?;
    let mut out = Cursor::new(Vec::new());
    xml.pack(&mut out).map_err(|e| BundleError::Docx(e.to_string()))?;
    Ok(out.into_inner())
}

/// Marks "Normal" as the default paragraph style, which docx-rs does not, so that a paragraph it writes
/// itself (the one closing each section) has a style in every reader; python-docx otherwise finds none.
fn normal_by_default(styles: &[u8]) -> Result<Vec<u8>, BundleError> {
    let xml = std::str::from_utf8(styles).map_err(|e| BundleError::Docx(format!("styles.xml: {e}")))?;
    const NORMAL: &str = r#"<w:style w:type="paragraph" w:styleId="Normal">"#;
    if !xml.contains(NORMAL) {
        return Err(BundleError::Docx("styles.xml has no Normal paragraph style".into()));
    }
    Ok(xml.replacen(NORMAL, r#"<w:style w:type="paragraph" w:default="1" w:styleId="Normal">"#, 1).into_bytes())
}

/// The relationship id docx-rs gives the document's (the last section's) footer.
const PAGE_NUMBER_FOOTER: &str = "rIdFooter1";

/// Points every section after the front matter at the page-number footer. docx-rs 0.4 keeps one header or
/// footer per section added with `Docx::add_section` (it drops the rest when it registers the first), so
/// the chapters' and indexes' sections get their header from docx-rs and their footer reference here;
/// references come first in a section's properties, as the schema orders them. The first section, the front
/// matter, has none: its pages are not numbered.
fn number_sections(document: &[u8]) -> Result<Vec<u8>, BundleError> {
    let xml = std::str::from_utf8(document).map_err(|e| BundleError::Docx(format!("document.xml: {e}")))?;
    const OPEN: &str = "<w:sectPr>";
    let reference = format!(r#"<w:footerReference w:type="default" r:id="{PAGE_NUMBER_FOOTER}" />"#);
    let mut out = String::with_capacity(xml.len() + 1024);
    for (i, piece) in xml.split(OPEN).enumerate() {
        if i > 0 {
            out.push_str(OPEN);
            // Sections after the first; the last (the document's own) has its reference already.
            let own = piece.find("</w:sectPr>").map(|end| &piece[..end]).unwrap_or(piece);
            if i > 1 && !own.contains("<w:footerReference") {
                out.push_str(&reference);
            }
        }
        out.push_str(piece);
    }
    Ok(out.into_bytes())
}

/// Paragraph ids (`w14:paraId`) numbered from the book alone. docx-rs would take them from a thread-local
/// counter that keeps counting across documents, and it numbers the table of contents' own paragraphs from 1
/// when it writes them; starting ours well above keeps every id unique and every render identical.
struct ParaIds(u32);

impl Default for ParaIds {
    fn default() -> Self {
        Self(0x0001_0000)
    }
}

impl ParaIds {
    fn next(&mut self) -> Paragraph {
        self.0 += 1;
        // Explicitly "Normal": docx-rs does not mark Normal as the default style, so readers such as
        // python-docx would otherwise see unstyled paragraphs as having no style at all.
        Paragraph::new().id(format!("{:08X}", self.0)).style("Normal")
    }
}

/// The styles the book uses, with the names Word gives its built-in styles.
fn styles() -> Vec<Style> {
    vec![
        Style::new("Title", StyleType::Paragraph)
            .name("Title")
            .based_on("Normal")
            .next("Normal")
            .size(56)
            .bold()
            .align(AlignmentType::Center)
            .q_format(true),
        Style::new("Subtitle", StyleType::Paragraph)
            .name("Subtitle")
            .based_on("Normal")
            .next("Normal")
            .size(32)
            .italic()
            .align(AlignmentType::Center)
            .q_format(true),
        Style::new("Heading1", StyleType::Paragraph)
            .name("Heading 1")
            .based_on("Normal")
            .next("Normal")
            .size(36)
            .bold()
            .outline_lvl(0)
            .line_spacing(LineSpacing::new().before(480).after(240))
            .q_format(true),
        Style::new("Heading2", StyleType::Paragraph)
            .name("Heading 2")
            .based_on("Normal")
            .next("Normal")
            .size(28)
            .bold()
            .outline_lvl(1)
            .line_spacing(LineSpacing::new().before(360).after(120))
            .q_format(true),
        // A contribution's own headings, below its title: out of the contents, which lists Heading 1 and 2.
        contribution_heading(3, 26),
        contribution_heading(4, 24),
        contribution_heading(5, 22),
        contribution_heading(6, 22).italic(),
        Style::new("ListParagraph", StyleType::Paragraph)
            .name("List Paragraph")
            .based_on("Normal")
            .next("ListParagraph")
            .indent(Some(720), None, None, None)
            .q_format(true),
        Style::new("FootnoteText", StyleType::Paragraph).name("footnote text").based_on("Normal").size(18),
        {
            let mut reference = Style::new("FootnoteReference", StyleType::Character)
                .name("footnote reference")
                .based_on("DefaultParagraphFont");
            reference.run_property = reference.run_property.vert_align(VertAlignType::SuperScript);
            reference
        },
        Style::new("Caption", StyleType::Paragraph)
            .name("Caption")
            .based_on("Normal")
            .next("Normal")
            .size(18)
            .italic()
            .align(AlignmentType::Center)
            .q_format(true),
        Style::new("TOCHeading", StyleType::Paragraph)
            .name("TOC Heading")
            .based_on("Heading1")
            .next("Normal")
            .outline_lvl(9),
        // Word's built-in names for the contents' entries, so that Word and LibreOffice treat them as theirs.
        Style::new("TOC1", StyleType::Paragraph).name("toc 1").based_on("Normal").next("Normal"),
        Style::new("TOC2", StyleType::Paragraph).name("toc 2").based_on("Normal").next("Normal").indent(
            Some(240),
            None,
            None,
            None,
        ),
        // Word's built-in names for an index's headings and entries.
        Style::new("Header", StyleType::Paragraph).name("header").based_on("Normal").next("Header"),
        Style::new("IndexHeading", StyleType::Paragraph)
            .name("index heading")
            .based_on("Normal")
            .next("Index1")
            .line_spacing(LineSpacing::new().before(160).after(40)),
        Style::new("Index1", StyleType::Paragraph).name("index 1").based_on("Normal").next("Normal").indent(
            Some(240),
            None,
            None,
            None,
        ),
        Style::new("Attribution", StyleType::Paragraph)
            .name("Attribution")
            .based_on("Normal")
            .next("Normal")
            .italic()
            .line_spacing(LineSpacing::new().after(200)),
    ]
}

/// Word's "heading N" for a contribution's own heading of level `n - 2`, bold, `size` half-points.
fn contribution_heading(n: usize, size: usize) -> Style {
    Style::new(format!("Heading{n}"), StyleType::Paragraph)
        .name(format!("heading {n}"))
        .based_on("Normal")
        .next("Normal")
        .size(size)
        .bold()
        .outline_lvl(n - 1)
        .line_spacing(LineSpacing::new().before(240).after(80))
        .q_format(true)
}

/// Title, subtitle and date, vertically spaced, then a page break.
fn title_page(book: &Book, ids: &mut ParaIds) -> Vec<Paragraph> {
    let mut paragraphs = vec![
        ids.next().line_spacing(LineSpacing::new().before(4000)),
        ids.next().style("Title").add_run(Run::new().add_text(book.title.as_str())),
    ];
    if let Some(subtitle) = book.subtitle.as_deref().filter(|s| !s.trim().is_empty()) {
        paragraphs.push(ids.next().style("Subtitle").add_run(Run::new().add_text(subtitle)));
    }
    paragraphs.push(
        ids.next()
            .align(AlignmentType::Center)
            .line_spacing(LineSpacing::new().before(1200))
            .add_run(Run::new().add_text(display_date(book.date)))
            .add_run(Run::new().add_break(BreakType::Page)),
    );
    paragraphs
}

/// A stretch of the book with a running header of its own: the front matter, a chapter, an index.
struct Part {
    /// What the header names at the right: the chapter's or the index's title; none in the front matter.
    running_title: Option<String>,
    paragraphs: Vec<Child>,
}

impl Part {
    fn of(running_title: Option<String>, paragraphs: Vec<Paragraph>) -> Self {
        Self { running_title, paragraphs: paragraphs.into_iter().map(Child::from).collect() }
    }
}

/// What a part holds: paragraphs, and the tables of contributions.
enum Child {
    Paragraph(Box<Paragraph>),
    Table(Box<Table>),
}

impl From<Paragraph> for Child {
    fn from(p: Paragraph) -> Self {
        Child::Paragraph(Box::new(p))
    }
}

/// The numbering instance every bulleted list item uses; numbered lists each get one of their own after it.
/// (docx-rs writes a numbering of its own with id 1: ours start well above.)
const BULLETS: usize = 10;
/// The abstract numberings (Word's list definitions): bullets, and decimal numbers.
const BULLET_LIST: usize = 10;
const NUMBERED_LIST: usize = 11;
/// Lists go this many levels deep (as [`folio_core::structure::MAX_LEVEL`]).
const LIST_LEVELS: usize = folio_core::structure::MAX_LEVEL as usize;

/// Sets the entries' bodies: paragraphs, the contributions' own headings (Heading 3 to 6, below the entry's
/// Heading 2, out of the contents), list items (List Paragraph with Word numbering, each numbered list counting
/// from 1), tables (a grid over the text width), pictures (numbered with the book's figures) and footnotes.
/// Every id it gives (paragraphs, pictures, footnotes, numberings) is counted from the book alone.
#[derive(Default)]
struct Body {
    ids: ParaIds,
    /// Pictures set (their relationship ids), and those of them that are the book's figures (numbered).
    pictures: usize,
    figures: usize,
    footnotes: usize,
    /// The numbering instances of numbered lists, and whether the last block set was an item of one.
    numbered: usize,
    in_numbered: bool,
}

impl Body {
    /// Sets one block; `placed`: it belongs to a PDF the typeset book places as pages, where its pictures are
    /// not figures of the book (set here with their caption and credit, unnumbered).
    fn block(&mut self, block: &Block, placed: bool, out: &mut Vec<Child>) {
        let item = matches!(block, Block::ListItem { ordered: true, .. });
        match block {
            Block::Paragraph(text) => {
                let p = self.ids.next().align(AlignmentType::Both);
                let p = self.noted(p, text);
                out.push(p.into());
            }
            Block::Heading { level, text } => {
                let style = format!("Heading{}", (usize::from(*level) + 2).min(6));
                out.push(self.ids.next().style(&style).keep_next(true).add_run(Run::new().add_text(text)).into());
            }
            Block::ListItem { level, ordered, text } => {
                let level = usize::from(*level).clamp(1, LIST_LEVELS) - 1;
                let num = if *ordered {
                    if !self.in_numbered {
                        self.numbered += 1;
                    }
                    BULLETS + self.numbered
                } else {
                    BULLETS
                };
                let p =
                    self.ids.next().style("ListParagraph").numbering(NumberingId::new(num), IndentLevel::new(level));
                let p = self.noted(p, text);
                out.push(p.into());
            }
            Block::Table(rows) => out.push(Child::Table(Box::new(self.table(rows)))),
            Block::Picture(figure) => self.picture(figure, !placed, out),
        }
        self.in_numbered = item;
    }

    /// A paragraph's text, a footnote at each note's mark.
    fn noted(&mut self, mut p: Paragraph, text: &Text) -> Paragraph {
        for (piece, note) in text.pieces() {
            if !piece.is_empty() {
                p = p.add_run(Run::new().add_text(piece));
            }
            if let Some(note) = note {
                self.footnotes += 1;
                let content = vec![self.ids.next().style("FootnoteText").add_run(Run::new().add_text(note))];
                p = p.add_run(Run::new().add_footnote_reference(Footnote { id: self.footnotes, content }));
            }
        }
        p
    }

    fn table(&mut self, rows: &[Vec<Vec<String>>]) -> Table {
        let columns = rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let width = TEXT_WIDTH_TWIPS / columns;
        let rows = rows
            .iter()
            .map(|row| {
                let cells = (0..columns)
                    .map(|c| {
                        let mut cell = TableCell::new().width(width, WidthType::Dxa);
                        let paragraphs = row.get(c).map(Vec::as_slice).unwrap_or_default();
                        if paragraphs.is_empty() {
                            cell = cell.add_paragraph(self.ids.next());
                        }
                        for text in paragraphs {
                            cell = cell.add_paragraph(self.ids.next().add_run(Run::new().add_text(text.as_str())));
                        }
                        cell
                    })
                    .collect();
                TableRow::new(cells)
            })
            .collect();
        Table::new(rows).set_grid(vec![width; columns]).width(width * columns, WidthType::Dxa)
    }

    fn figure(&mut self, figure: &Figure, out: &mut Vec<Child>) {
        self.picture(figure, true, out)
    }

    /// A picture and its caption line: "Figure N: caption — credit" when it is one of the book's figures.
    fn picture(&mut self, figure: &Figure, numbered: bool, out: &mut Vec<Child>) {
        self.pictures += 1;
        let (w, h) = fit(figure.width, figure.height);
        let pic = Pic::new_with_dimensions(figure.png.clone(), figure.width, figure.height)
            .id(format!("rIdImage{}", self.pictures))
            .size(w, h);
        out.push(
            self.ids.next().align(AlignmentType::Center).keep_next(true).add_run(Run::new().add_image(pic)).into(),
        );
        let line = figure.caption_line();
        let caption = if numbered {
            self.figures += 1;
            match line.is_empty() {
                true => format!("Figure {}", self.figures),
                false => format!("Figure {}: {line}", self.figures),
            }
        } else {
            line
        };
        if !caption.is_empty() {
            out.push(self.ids.next().style("Caption").add_run(Run::new().add_text(caption)).into());
        }
        self.in_numbered = false;
    }

    /// The list definitions, and a numbering instance for the bullets and for each numbered list.
    fn numberings(&self, mut docx: Docx) -> Docx {
        let level =
            |l: usize, format: &str, text: String| {
                let indent = 360 * (l as i32 + 1);
                Level::new(l, Start::new(1), NumberFormat::new(format), LevelText::new(text), LevelJc::new("left"))
                    .indent(Some(indent), Some(SpecialIndentType::Hanging(360)), None, None)
            };
        let mut bullets = AbstractNumbering::new(BULLET_LIST);
        let mut numbers = AbstractNumbering::new(NUMBERED_LIST);
        for l in 0..LIST_LEVELS {
            bullets = bullets.add_level(level(l, "bullet", ["•", "◦", "▪", "•"][l % 4].to_string()));
            numbers = numbers.add_level(level(
                l,
                ["decimal", "lowerLetter", "lowerRoman", "decimal"][l % 4],
                format!("%{}.", l + 1),
            ));
        }
        docx = docx.add_abstract_numbering(bullets).add_abstract_numbering(numbers);
        docx = docx.add_numbering(Numbering::new(BULLETS, BULLET_LIST));
        for n in 1..=self.numbered {
            let mut numbering = Numbering::new(BULLETS + n, NUMBERED_LIST);
            for l in 0..LIST_LEVELS {
                numbering = numbering.add_override(LevelOverride::new(l).start(1));
            }
            docx = docx.add_numbering(numbering);
        }
        docx
    }
}

/// Lays the parts out as sections, each starting on a new page with its own header (the book's title, and the
/// part's at the right margin, written out rather than left to a STYLEREF field, which LibreOffice leaves
/// blank). The front matter has no header on its title page and no page numbers; numbering starts at 1 with
/// the first chapter. The last part is the document's final section, as OOXML wants it. Its footer (the page
/// number) is the one every numbered section refers to, in [`number_sections`].
fn sections(mut docx: Docx, book: &Book, parts: Vec<Part>, ids: &mut ParaIds) -> Docx {
    let count = parts.len();
    for (i, part) in parts.into_iter().enumerate() {
        let front = part.running_title.is_none();
        let header = Header::new().add_paragraph(running_header(ids, &book.title, part.running_title.as_deref()));
        let restart = i == 1;
        if i + 1 < count {
            let mut section = Section::new()
                .page_size(PageSize::new().size(A4_TWIPS.0, A4_TWIPS.1))
                .page_margin(page_margin())
                .header(header);
            if front {
                // No first-page header: the title page has none.
                section = section.title_pg();
            }
            if restart {
                section = section.page_num_type(PageNumType::new().start(1));
            }
            for child in part.paragraphs {
                section = match child {
                    Child::Paragraph(p) => section.add_paragraph(*p),
                    Child::Table(t) => section.add_table(*t),
                };
            }
            docx = docx.add_section(section);
        } else {
            docx = docx.header(header);
            if front {
                docx = docx.title_pg();
            } else {
                docx = docx.footer(Footer::new().add_paragraph(page_number(ids)));
            }
            if restart {
                docx = docx.page_num_type(PageNumType::new().start(1));
            }
            for child in part.paragraphs {
                docx = match child {
                    Child::Paragraph(p) => docx.add_paragraph(*p),
                    Child::Table(t) => docx.add_table(*t),
                };
            }
        }
    }
    docx
}

fn page_margin() -> PageMargin {
    PageMargin {
        top: MARGIN_TWIPS,
        left: MARGIN_TWIPS,
        bottom: MARGIN_TWIPS,
        right: MARGIN_TWIPS,
        header: 709,
        footer: 709,
        gutter: 0,
    }
}

/// A TOC field over Heading 1–2 with its entries already written (so it reads right before anyone updates
/// it), marked dirty so that Word refreshes it on opening; each entry's page is a PAGEREF to its heading's
/// bookmark, left empty until the fields are updated (Word does on opening; LibreOffice with Tools > Update):
/// pages depend on the fonts of the machine that lays the document out, so any number written here could be
/// wrong. Every field character and instruction is a run of its own, as Word writes them: LibreOffice
/// reads a field whose begin, instruction and separator share one run as text.
fn contents(book: &Book, ids: &mut ParaIds) -> Vec<Paragraph> {
    let mut paragraphs = vec![ids.next().style("TOCHeading").add_run(Run::new().add_text("Contents"))];
    let mut entries = Vec::new();
    let mut bookmark = 0usize;
    for chapter in &book.chapters {
        bookmark += 1;
        entries.push(("TOC1", chapter.title.as_str(), bookmark));
        for entry in &chapter.entries {
            bookmark += 1;
            entries.push(("TOC2", entry.title.as_str(), bookmark));
        }
    }
    for index in book.indexes() {
        bookmark += 1;
        entries.push(("TOC1", index.title, bookmark));
    }
    let field = |t: FieldCharType, dirty: bool| Run::new().add_field_char(t, dirty);
    let toc = || Run::new().add_instr_text(InstrText::TOC(InstrToC::new().heading_styles_range(1, 2).hyperlink()));
    if entries.is_empty() {
        // No headings: an empty field that Word fills in when there are some.
        paragraphs.push(
            ids.next()
                .add_run(field(FieldCharType::Begin, true))
                .add_run(toc())
                .add_run(field(FieldCharType::Separate, false))
                .add_run(field(FieldCharType::End, false)),
        );
        return paragraphs;
    }
    let last = entries.len() - 1;
    for (i, (style, title, bookmark)) in entries.into_iter().enumerate() {
        let mut p = ids
            .next()
            .style(style)
            .add_tab(Tab::new().val(TabValueType::Right).leader(TabLeaderType::Dot).pos(TEXT_WIDTH_TWIPS));
        if i == 0 {
            p = p
                .add_run(field(FieldCharType::Begin, true))
                .add_run(toc())
                .add_run(field(FieldCharType::Separate, false));
        }
        p = p
            .add_run(Run::new().add_text(title))
            .add_run(Run::new().add_tab())
            .add_run(field(FieldCharType::Begin, false))
            .add_run(Run::new().add_instr_text(InstrText::PAGEREF(InstrPAGEREF::new(toc_key(bookmark)).hyperlink())))
            .add_run(field(FieldCharType::Separate, false))
            .add_run(field(FieldCharType::End, false));
        if i == last {
            p = p.add_run(field(FieldCharType::End, false));
        }
        paragraphs.push(p);
    }
    paragraphs
}

/// The indexes at the back (by State, by author, by area): a Heading 1 each, a bold line per State, author
/// or area, and under it its entries, each with a PAGEREF to the entry's heading, filled in when the fields
/// are updated, as the contents' are.
fn indexes(book: &Book, ids: &mut ParaIds) -> Vec<Part> {
    // Bookmarks run through chapters and entries in book order (as in `contents`), then the indexes'.
    let mut entry_bookmarks = Vec::new();
    let mut bookmark = 0usize;
    for chapter in &book.chapters {
        bookmark += 1;
        for _ in &chapter.entries {
            bookmark += 1;
            entry_bookmarks.push(bookmark);
        }
    }
    let titles: Vec<&str> = book.numbered_entries().map(|(_, e)| e.title.as_str()).collect();
    let field = |t: FieldCharType| Run::new().add_field_char(t, false);
    let mut parts = Vec::new();
    for index in book.indexes() {
        bookmark += 1;
        let mut paragraphs = vec![heading(ids, index.title, "Heading1", bookmark)];
        for (group, entries) in &index.groups {
            paragraphs
                .push(ids.next().style("IndexHeading").keep_next(true).add_run(Run::new().add_text(group).bold()));
            for number in entries {
                paragraphs.push(
                    ids.next()
                        .style("Index1")
                        .add_tab(Tab::new().val(TabValueType::Right).leader(TabLeaderType::Dot).pos(TEXT_WIDTH_TWIPS))
                        .add_run(Run::new().add_text(titles[number - 1]))
                        .add_run(Run::new().add_tab())
                        .add_run(field(FieldCharType::Begin))
                        .add_run(Run::new().add_instr_text(InstrText::PAGEREF(InstrPAGEREF::new(toc_key(
                            entry_bookmarks[number - 1],
                        )))))
                        .add_run(field(FieldCharType::Separate))
                        .add_run(field(FieldCharType::End)),
                );
            }
        }
        parts.push(Part::of(Some(index.title.to_string()), paragraphs));
    }
    parts
}

fn toc_key(n: usize) -> String {
    format!("_Toc{n:08}")
}

/// A heading wrapped in the bookmark the table of contents points to.
fn heading(ids: &mut ParaIds, text: &str, style: &str, bookmark: usize) -> Paragraph {
    ids.next()
        .style(style)
        .keep_next(true)
        .add_bookmark_start(bookmark, toc_key(bookmark))
        .add_run(Run::new().add_text(text))
        .add_bookmark_end(bookmark)
}

/// The running header: the book's title, then the part's (chapter or index) at the right margin.
fn running_header(ids: &mut ParaIds, title: &str, part: Option<&str>) -> Paragraph {
    let mut paragraph = ids
        .next()
        .style("Header")
        .add_tab(Tab::new().val(TabValueType::Right).pos(TEXT_WIDTH_TWIPS))
        .add_run(Run::new().add_text(title).italic().size(18));
    if let Some(part) = part {
        paragraph = paragraph.add_run(Run::new().add_tab()).add_run(Run::new().add_text(part).size(18));
    }
    paragraph
}

/// A centred PAGE field for the footer.
fn page_number(ids: &mut ParaIds) -> Paragraph {
    ids.next().align(AlignmentType::Center).add_run(
        Run::new()
            .add_field_char(FieldCharType::Begin, false)
            .add_instr_text(InstrText::PAGE(InstrPAGE::new()))
            .add_field_char(FieldCharType::Separate, false)
            .add_text("1")
            .add_field_char(FieldCharType::End, false),
    )
}

/// Width and height in EMU: as wide as the text allows, never taller than [`MAX_FIGURE_HEIGHT_EMU`], aspect
/// ratio kept.
fn fit(width_px: u32, height_px: u32) -> (u32, u32) {
    let (w, h) = (u64::from(width_px.max(1)), u64::from(height_px.max(1)));
    let mut width = MAX_FIGURE_WIDTH_EMU;
    let mut height = width * h / w;
    if height > MAX_FIGURE_HEIGHT_EMU {
        height = MAX_FIGURE_HEIGHT_EMU;
        width = height * w / h;
    }
    (width.max(1) as u32, height.max(1) as u32)
}

/// "23 November 2026": unambiguous in every English-speaking delegation.
pub(crate) fn display_date(date: chrono::NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_fit_the_text_block() {
        let (w, h) = fit(1600, 800);
        assert_eq!((w as u64, h as u64), (MAX_FIGURE_WIDTH_EMU, MAX_FIGURE_WIDTH_EMU / 2));
        let (w, h) = fit(400, 1600);
        assert_eq!(h as u64, MAX_FIGURE_HEIGHT_EMU);
        assert_eq!(w as u64, MAX_FIGURE_HEIGHT_EMU / 4);
    }
}
