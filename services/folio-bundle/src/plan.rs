//! Assembly as a plan: a catalogue as read once (a [`Snapshot`]) turned into what its bundle holds (the
//! book, the manifest, the report, the build's contents, and which file goes where), with no I/O. The
//! writer (`build::assemble` in the `folio` binary) fetches what the plan names, makes the figures,
//! typesets, writes, and fills in what only writing tells (pages, the list of files).

use crate::changes::{BuildChanges, BuildContents, ContributionContents};
use crate::classification;
use crate::manifest::{
    CatalogueInfo, Manifest, ManifestChapter, ManifestClassification, ManifestContribution, ManifestDocument,
    SCHEMA_VERSION,
};
use crate::model::{Block, Figure, Note, Text};
use crate::report::{ReportChapter, ReportContribution, ReportDocument, ReportInput, Totals};
use crate::{Book, BookChapter, BookEntry};
use chrono::NaiveDate;
use folio_core::structure::Structure;
use folio_core::{
    Chapter, ConfirmedClassification, Contribution, Decision, DecisionAction, Document, DocumentState, Finding, Record,
    ThumbnailFormat, ThumbnailRef,
};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use tracing::warn;
use uuid::Uuid;

/// A document's record as the store keeps it, without its text.
#[derive(Debug, Clone)]
pub struct DocumentRecord {
    pub record: Record,
    /// The one PNG of a record from before there were several thumbnail sizes.
    pub thumbnail_key: Option<String>,
}

/// Everything a build is made from, read once.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub title: String,
    pub deadline: Option<NaiveDate>,
    /// The date printed in the book.
    pub date: NaiveDate,
    /// In book order.
    pub chapters: Vec<Chapter>,
    /// In intake order within each chapter.
    pub contributions: Vec<Contribution>,
    pub documents: Vec<Document>,
    pub records: HashMap<Uuid, DocumentRecord>,
    /// The texts of the documents that have one: what the book prints.
    pub texts: HashMap<Uuid, String>,
    /// The documents' forms, where extraction found one ([`Record::structure`]): the book sets them instead of
    /// the text. Their pictures' locations are keys of `pictures`.
    pub structures: HashMap<Uuid, Structure>,
    /// The pictures the structures name that the blob store holds, by key (PNG); one missing is left out.
    pub pictures: HashMap<String, Vec<u8>>,
    pub decisions: Vec<Decision>,
    pub confirmed: HashMap<Uuid, ConfirmedClassification>,
    /// The rules' findings, editors' decisions applied.
    pub findings: Vec<Finding>,
    /// The thumbnails the records name that the blob store holds, by key ([`thumbnail_keys`]); one missing
    /// is left out of the bundle.
    pub thumbnails: HashMap<String, Vec<u8>>,
    /// The number of the build, and the contents of the build before it (for the change list).
    pub number: u32,
    pub previous: Option<(u32, BuildContents)>,
}

/// Where a file of the bundle comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A blob, by key (an original).
    Blob(String),
    /// Bytes already read (a thumbnail).
    Bytes(Vec<u8>),
}

/// A file of the bundle, at its bundle-relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub path: String,
    pub source: Source,
}

/// A figure of the book: an image contribution's original (`files[original]`), which the writer decodes and
/// sets in entry `entry` of chapter `chapter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureSlot {
    pub chapter: usize,
    pub entry: usize,
    pub original: usize,
    pub document_id: Uuid,
    pub caption: String,
    pub credit: String,
}

/// A PDF contribution's original (`files[original]`), which the writer places page by page in entry `entry`
/// of chapter `chapter` of the typeset book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfSlot {
    pub chapter: usize,
    pub entry: usize,
    pub original: usize,
    pub pages: u32,
    /// The entry's body blocks that are this PDF's text.
    pub body: std::ops::Range<usize>,
}

/// What a bundle holds, before it is written.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The book, without its figures (see `figures`).
    pub book: Book,
    pub figures: Vec<FigureSlot>,
    /// The PDFs placed in the typeset book as they were made.
    pub pdfs: Vec<PdfSlot>,
    /// The originals and thumbnails, in the order they are named.
    pub files: Vec<PlannedFile>,
    /// Without the list of files and the pages, which writing tells.
    pub manifest: Manifest,
    /// Without the pages.
    pub report: ReportInput,
    pub contents: BuildContents,
    pub changes: BuildChanges,
    /// Contributions left out of the book, with the reasons.
    pub left_out: Vec<(String, Vec<String>)>,
    pub included: usize,
    pub failed_documents: usize,
}

/// Why a plan could not be made: the build's contents did not serialise.
#[derive(Debug, thiserror::Error)]
#[error("the build's contents: {0}")]
pub struct PlanError(#[from] serde_json::Error);

/// The blob keys of the thumbnails the records name, for [`Snapshot::thumbnails`].
pub fn thumbnail_keys(records: &HashMap<Uuid, DocumentRecord>) -> Vec<String> {
    let mut keys: Vec<String> = records
        .values()
        .flat_map(|r| match r.record.thumbnails.is_empty() {
            true => r.thumbnail_key.iter().cloned().collect::<Vec<_>>(),
            false => r.record.thumbnails.iter().map(|t| t.location.clone()).collect(),
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Turns extracted text into the book's paragraphs: blank lines separate paragraphs, line breaks inside one
/// are joined, runs of white space become one space.
pub fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|block| block.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// A document's form as the book sets it: texts reflowed as [`paragraphs`] does (notes kept where they stand),
/// blank blocks left out, each picture with the caption its document gives it and the contribution's credit;
/// a picture the blob store did not give back, or that is not the PNG its structure says, is left out.
pub fn blocks(structure: &Structure, pictures: &HashMap<String, Vec<u8>>, credit: &str) -> Vec<Block> {
    use folio_core::structure::Block as Found;
    let reflow = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let reflow_noted = |text: &Text| {
        let mut out = Text::default();
        for (piece, note) in text.pieces() {
            let mut piece_out = reflow(piece);
            // A space on either side of a note's mark is kept as one.
            if piece.starts_with(char::is_whitespace) && !out.text.is_empty() && !piece_out.is_empty() {
                piece_out.insert(0, ' ');
            }
            out.text.push_str(&piece_out);
            if let Some(note) = note {
                out.notes.push(Note { at: out.text.len(), text: reflow(note) });
            }
            if piece.ends_with(char::is_whitespace) && !out.text.is_empty() && !out.text.ends_with(' ') {
                out.text.push(' ');
            }
        }
        let trimmed = out.text.trim_end().len();
        out.text.truncate(trimmed);
        for note in &mut out.notes {
            note.at = note.at.min(trimmed);
        }
        out
    };
    structure
        .blocks
        .iter()
        .filter_map(|block| {
            let made = match block {
                Found::Paragraph(text) => Block::Paragraph(reflow_noted(text)),
                Found::Heading { level, text } => Block::Heading { level: *level, text: reflow(text) },
                Found::ListItem { level, ordered, text } => {
                    Block::ListItem { level: *level, ordered: *ordered, text: reflow_noted(text) }
                }
                Found::Table { rows } => Block::Table(
                    rows.iter()
                        .map(|row| row.iter().map(|cell| cell.iter().map(|p| reflow(p)).collect()).collect())
                        .collect(),
                ),
                Found::Picture { picture, caption } => {
                    let reference = structure.pictures.get(*picture)?;
                    let png = pictures.get(&reference.location)?.clone();
                    let figure = Figure {
                        png,
                        width: reference.width,
                        height: reference.height,
                        caption: reflow(caption),
                        credit: credit.to_string(),
                    };
                    if let Err(e) = figure.check("", 0) {
                        warn!(picture = %reference.location, error = %e, "a picture of a document is left out");
                        return None;
                    }
                    Block::Picture(figure)
                }
            };
            (!made.is_blank()).then_some(made)
        })
        .collect()
}

/// Why a contribution with nothing to print is left out of the book.
pub const NOTHING_TO_PRINT: &str =
    "nothing in it can be printed: its files gave no text, no picture and no page (see each file's record)";

/// Contributions with a blocking finding, and why, in finding order.
pub fn blocked(findings: &[Finding]) -> HashMap<Uuid, Vec<&Finding>> {
    let mut out: HashMap<Uuid, Vec<&Finding>> = HashMap::new();
    for f in findings.iter().filter(|f| f.is_blocking()) {
        if let Some(id) = f.contribution_id {
            out.entry(id).or_default().push(f);
        }
    }
    out
}

/// The plan of the bundle of `snapshot`.
pub fn plan(mut snapshot: Snapshot) -> Result<Plan, PlanError> {
    let mut thumbnails = std::mem::take(&mut snapshot.thumbnails);
    let s = &snapshot;
    let blocking = blocked(&s.findings);
    let mut contents =
        BuildContents { chapters: s.chapters.iter().map(|c| c.key.clone()).collect(), ..Default::default() };
    let subtitle = s.deadline.map(|d| format!("Contributions received by {}", d.format("%-d %B %Y")));
    let mut book = Book { title: s.title.clone(), subtitle, date: s.date, chapters: Vec::new() };
    let (mut report_chapters, mut manifest_chapters, mut manifest_contributions) = (Vec::new(), Vec::new(), Vec::new());
    let (mut files, mut figures, mut pdfs, mut left_out) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut used_names = HashSet::new();

    for (chapter_index, chapter) in s.chapters.iter().enumerate() {
        let (mut entries, mut report_contributions, mut ids) = (Vec::new(), Vec::new(), Vec::new());
        for contribution in s.contributions.iter().filter(|c| c.chapter_key == chapter.key) {
            ids.push(contribution.id);
            let reasons = blocking.get(&contribution.id);
            let included = reasons.is_none();
            if let Some(reasons) = reasons {
                left_out.push((contribution.title.clone(), reasons.iter().map(|f| f.message.clone()).collect()));
            }
            let mut entry = BookEntry {
                title: contribution.title.clone(),
                author: contribution.author.clone(),
                state: contribution.state.clone(),
                kind: contribution.kind,
                body: Vec::new(),
                figures: Vec::new(),
                areas: Vec::new(),
                pdfs: Vec::new(),
                credit: credit_line(contribution),
            };
            let mut manifest_contribution = ManifestContribution::new(contribution, included);
            let mut report_documents = Vec::new();
            let documents: Vec<&Document> =
                s.documents.iter().filter(|d| d.contribution_id == contribution.id).collect();
            for document in &documents {
                let stored = s.records.get(&document.id);
                let original = unique_name(&mut used_names, "originals", &document.file_name, document.id);
                let original_index = files.len();
                files.push(PlannedFile { path: original.clone(), source: Source::Blob(document.blob_key.clone()) });
                let bundled = bundle_thumbnails(stored, document, &mut used_names, &mut thumbnails, &mut files);
                let usable = document.state == DocumentState::Done && stored.is_some_and(|r| r.record.error.is_none());
                match stored.filter(|_| included && usable) {
                    Some(stored) if stored.record.is_image() => figures.push(FigureSlot {
                        chapter: chapter_index,
                        entry: entries.len(),
                        original: original_index,
                        document_id: document.id,
                        caption: contribution.title.clone(),
                        credit: credit(contribution),
                    }),
                    Some(stored) => {
                        let first = entry.body.len();
                        match s.structures.get(&document.id) {
                            Some(structure) => {
                                let mut found = blocks(structure, &s.pictures, &credit(contribution));
                                // A document whose first heading is the contribution's title: printed once,
                                // as the entry's heading.
                                if matches!(found.first(), Some(Block::Heading { text, .. })
                                    if text.trim().eq_ignore_ascii_case(contribution.title.trim()))
                                {
                                    found.remove(0);
                                }
                                entry.body.extend(found)
                            }
                            None => entry.body.extend(
                                paragraphs(s.texts.get(&document.id).map_or("", String::as_str))
                                    .into_iter()
                                    .map(Block::from),
                            ),
                        }
                        if let Some(pages) = placed_pages(&stored.record, contribution) {
                            let (chapter, entry_index) = (chapter_index, entries.len());
                            let body = first..entry.body.len();
                            pdfs.push(PdfSlot { chapter, entry: entry_index, original: original_index, pages, body });
                        }
                    }
                    None => {}
                }
                let mut record = stored.map(|r| r.record.clone());
                if let Some(r) = record.as_mut() {
                    r.thumbnail = bundled.smallest.clone();
                    r.thumbnails = bundled.all.clone();
                    // Measurements of one run, not facts of the document: the same inputs, the same manifest.
                    r.elapsed_ms = 0;
                    r.peak_memory_kib = None;
                    // Where the store keeps its form: not a file of the bundle.
                    r.structure = None;
                }
                manifest_contribution.documents.push(ManifestDocument {
                    id: document.id,
                    file_name: document.file_name.clone(),
                    sha256: document.sha256.clone(),
                    bytes: document.bytes,
                    state: document.state,
                    original,
                    thumbnail: bundled.smallest,
                    thumbnails: bundled.all,
                    record: record.clone(),
                });
                report_documents.push(ReportDocument {
                    file_name: document.file_name.clone(),
                    record,
                    thumbnail: bundled.inline,
                });
            }
            // The book never prints an empty contribution: one that reached here with nothing to set (no text,
            // no picture, no page to place) is left out, with the finding that says so.
            let entry_index = entries.len();
            let nothing_to_print = entry.body.is_empty()
                && !figures.iter().any(|f: &FigureSlot| (f.chapter, f.entry) == (chapter_index, entry_index))
                && !pdfs.iter().any(|p: &PdfSlot| (p.chapter, p.entry) == (chapter_index, entry_index));
            let mut empty_finding = None;
            let included = if included && nothing_to_print {
                let finding = Finding {
                    code: folio_core::FindingCode::Unreadable,
                    severity: folio_core::Severity::Blocking,
                    contribution_id: Some(contribution.id),
                    file_name: None,
                    message: NOTHING_TO_PRINT.to_string(),
                };
                left_out.push((contribution.title.clone(), vec![finding.message.clone()]));
                manifest_contribution.included = false;
                empty_finding = Some(finding);
                false
            } else {
                included
            };
            let text: Vec<&str> = documents.iter().filter_map(|d| s.texts.get(&d.id).map(String::as_str)).collect();
            let suggestion = classification::suggest(contribution, &text.join("\n\n"));
            let effective = classification::effective(&suggestion, s.confirmed.get(&contribution.id));
            entry.areas = effective.areas.iter().map(|a| a.label().to_string()).collect();
            manifest_contribution.classification = Some(ManifestClassification {
                areas: effective.areas.iter().map(|a| a.as_str().to_string()).collect(),
                modality: effective.modality.clone(),
                role: effective.role.clone(),
                confirmed_by: effective.confirmed_by.clone(),
                suggestion,
            });
            let mut own_findings: Vec<Finding> =
                s.findings.iter().filter(|f| f.contribution_id == Some(contribution.id)).cloned().collect();
            own_findings.extend(empty_finding);
            manifest_contribution.findings = own_findings.clone();
            contents.contributions.push(contribution_contents(contribution, &manifest_contribution, &s.decisions)?);
            manifest_contributions.push(manifest_contribution);
            report_contributions.push(ReportContribution {
                title: contribution.title.clone(),
                state: contribution.state.clone(),
                author: contribution.author.clone(),
                kind: contribution.kind,
                included,
                documents: report_documents,
                findings: own_findings,
            });
            if included {
                entries.push(entry);
            }
        }
        book.chapters.push(BookChapter { title: chapter.title.clone(), entries });
        report_chapters.push(ReportChapter { title: chapter.title.clone(), contributions: report_contributions });
        manifest_chapters.push(ManifestChapter {
            key: chapter.key.clone(),
            title: chapter.title.clone(),
            position: chapter.position,
            contributions: ids,
            first_page: None,
            pages: None,
        });
    }

    let intake_findings: Vec<Finding> = s.findings.iter().filter(|f| f.contribution_id.is_none()).cloned().collect();
    let failed_documents = s
        .documents
        .iter()
        .filter(|d| d.state == DocumentState::Failed || s.records.get(&d.id).is_some_and(|r| r.record.error.is_some()))
        .count();
    let included = manifest_contributions.iter().filter(|c| c.included).count();
    let changes = match &s.previous {
        Some((since, before)) => BuildChanges::between(*since, before, &contents),
        None => BuildChanges::default(),
    };
    let report = ReportInput {
        title: s.title.clone(),
        generated: s.date,
        build: s.number,
        changes: changes.clone(),
        pages: None,
        totals: Totals {
            documents_processed: s.documents.len(),
            documents_failed: failed_documents,
            contributions_included: included,
            contributions_left_out: manifest_contributions.len() - included,
        },
        chapters: report_chapters,
        intake_findings: intake_findings.clone(),
    };
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        catalogue: CatalogueInfo { title: s.title.clone(), deadline: s.deadline, generated: s.date, pages: None },
        build: s.number,
        changes: changes.clone(),
        chapters: manifest_chapters,
        contributions: manifest_contributions,
        findings: intake_findings,
        files: Vec::new(),
    };
    Ok(Plan { book, figures, pdfs, files, manifest, report, contents, changes, left_out, included, failed_documents })
}

/// A document's thumbnails as the bundle holds them.
#[derive(Default)]
struct BundledThumbnails {
    /// Bundle path of the smallest.
    smallest: Option<String>,
    /// Every size, largest first, at its bundle path.
    all: Vec<ThumbnailRef>,
    /// The smallest's format and bytes, for the report.
    inline: Option<(ThumbnailFormat, Vec<u8>)>,
}

/// A document's thumbnails, each size in its folder under one name for the document
/// (`thumbnails/256/report.pdf.png`, `thumbnails/1024/report.pdf.png`), added to `files`. A thumbnail the
/// blob store does not hold is left out with a warning.
fn bundle_thumbnails(
    stored: Option<&DocumentRecord>,
    document: &Document,
    used: &mut HashSet<String>,
    thumbnails: &mut HashMap<String, Vec<u8>>,
    files: &mut Vec<PlannedFile>,
) -> BundledThumbnails {
    let mut bundled = BundledThumbnails::default();
    let Some(stored) = stored else { return bundled };
    if stored.record.thumbnails.is_empty() {
        // A record from before there were several sizes: its one PNG, where bundles put it then.
        let Some(key) = stored.thumbnail_key.as_deref() else { return bundled };
        match thumbnails.remove(key) {
            Some(png) => {
                let path = unique_name(used, "thumbnails", &format!("{}.png", document.file_name), document.id);
                files.push(PlannedFile { path: path.clone(), source: Source::Bytes(png.clone()) });
                bundled.smallest = Some(path);
                bundled.inline = Some((ThumbnailFormat::Png, png));
            }
            None => warn!(document_id = %document.id, "thumbnail missing from the blob store; left out"),
        }
        return bundled;
    }
    let reserved = unique_name(used, "thumbnails", &document.file_name, document.id);
    let name = reserved.strip_prefix("thumbnails/").unwrap_or(&reserved);
    for thumbnail in &stored.record.thumbnails {
        let Some(bytes) = thumbnails.remove(&thumbnail.location) else {
            warn!(document_id = %document.id, size = thumbnail.max_side, "thumbnail missing from the blob store; left out");
            continue;
        };
        let path = format!("thumbnails/{}/{name}.{}", thumbnail.max_side, thumbnail.format.as_str());
        if bundled.all.iter().all(|t| t.max_side > thumbnail.max_side) {
            bundled.smallest = Some(path.clone());
            bundled.inline = Some((thumbnail.format, bytes.clone()));
        }
        files.push(PlannedFile { path: path.clone(), source: Source::Bytes(bytes) });
        bundled.all.push(ThumbnailRef { location: path, ..thumbnail.clone() });
    }
    bundled
}

/// The pages a PDF record is placed with in the typeset book: a PDF read without error, with its page count,
/// of a contribution printed as it was made (the default; an editor may ask for its text instead).
fn placed_pages(record: &Record, contribution: &Contribution) -> Option<u32> {
    let as_made = contribution.layout.unwrap_or_default() == folio_core::Layout::AsMade;
    (as_made && record.format == "pdf" && record.error.is_none()).then_some(record.pages).flatten().filter(|p| *p > 0)
}

/// The line printed on the first placed page of a contribution: "Title. Author (State). Rights".
fn credit_line(c: &Contribution) -> String {
    let mut parts = vec![c.title.trim().to_string()];
    parts.extend(folio_core::attribution_line(&c.author, &c.state));
    parts.extend(c.rights.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string));
    parts.retain(|p| !p.is_empty());
    parts.iter().map(|p| p.trim_end_matches('.').to_string()).collect::<Vec<_>>().join(". ")
}

fn credit(c: &Contribution) -> String {
    match &c.rights {
        Some(rights) => format!("{}. {rights}", c.attribution()),
        None => c.attribution(),
    }
}

/// A bundle-relative path under `folder` for `name`, unique within the bundle.
fn unique_name(used: &mut HashSet<String>, folder: &str, name: &str, id: Uuid) -> String {
    let plain = format!("{folder}/{name}");
    if used.insert(plain.clone()) {
        return plain;
    }
    let prefixed = format!("{folder}/{}-{name}", &id.simple().to_string()[..8]);
    used.insert(prefixed.clone());
    prefixed
}

/// What a build is made of for one contribution (its manifest entry carries the files and records).
fn contribution_contents(
    contribution: &Contribution,
    entry: &ManifestContribution,
    decisions: &[Decision],
) -> Result<ContributionContents, serde_json::Error> {
    let mut files: Vec<(String, String)> =
        entry.documents.iter().map(|d| (d.file_name.clone(), d.sha256.clone())).collect();
    files.sort();
    // The records without their bundle paths, which move when another file of the same name arrives.
    let extraction: Vec<_> = entry
        .documents
        .iter()
        .map(|d| {
            let record = d.record.clone().map(|mut r| {
                r.thumbnail = None;
                r.thumbnails.clear();
                r
            });
            (&d.sha256, d.state, record)
        })
        .collect();
    let own = decisions.iter().filter(|d| d.contribution_id == contribution.id);
    let mut waived: Vec<String> = own.clone().filter_map(|d| d.code.map(|c| c.as_str().to_string())).collect();
    waived.sort();
    Ok(ContributionContents {
        id: contribution.id,
        title: contribution.title.clone(),
        chapter: contribution.chapter_key.clone(),
        state: contribution.state.clone(),
        author: contribution.author.clone(),
        metadata: sha256_of_json(&(
            contribution.kind,
            contribution.role,
            contribution.modality.as_str(),
            contribution.received,
            &contribution.rights,
        ))?,
        files,
        extraction: sha256_of_json(&extraction)?,
        waived,
        excluded: own.clone().any(|d| d.action == DecisionAction::Exclude),
        included: entry.included,
        classification: entry
            .classification
            .iter()
            .flat_map(|c| c.areas.iter().cloned().chain(c.modality.clone()).chain(c.role.clone()))
            .collect(),
    })
}

fn sha256_of_json(value: &impl serde::Serialize) -> Result<String, serde_json::Error> {
    Ok(hex::encode(Sha256::digest(serde_json::to_vec(value)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use folio_core::{ContributionKind, ExtractError, ExtractErrorKind, FindingCode, Modality, Role, Severity};

    fn contribution(title: &str, kind: ContributionKind) -> Contribution {
        Contribution {
            id: Uuid::new_v4(),
            chapter_key: "one".into(),
            state: "Chile".into(),
            author: "Ana".into(),
            title: title.into(),
            kind,
            role: Role::Donor,
            modality: Modality::Bilateral,
            received: NaiveDate::from_ymd_opt(2012, 5, 1).unwrap(),
            rights: Some("CC BY 4.0".into()),
            layout: None,
        }
    }

    fn document(of: &Contribution, name: &str) -> Document {
        Document {
            id: Uuid::new_v4(),
            contribution_id: of.id,
            file_name: name.into(),
            sha256: format!("sha-of-{name}"),
            bytes: 10,
            blob_key: format!("originals/{}", Uuid::new_v4()),
            state: DocumentState::Done,
            attempts: 1,
            last_error: None,
            password: None,
        }
    }

    fn record(name: &str, format: &str, thumbnails: &[(u32, &str)]) -> DocumentRecord {
        let mut record =
            Record::failed(name, format!("sha-of-{name}"), 10, ExtractError::new(ExtractErrorKind::Io, ""));
        record.error = None;
        record.format = format.into();
        record.elapsed_ms = 1234;
        record.thumbnails = thumbnails
            .iter()
            .map(|(side, key)| ThumbnailRef {
                max_side: *side,
                width: *side,
                height: *side,
                format: ThumbnailFormat::Png,
                location: key.to_string(),
            })
            .collect();
        DocumentRecord { record, thumbnail_key: None }
    }

    /// A text contribution, a photograph and a contribution a blocking finding keeps out, whose file has the
    /// text's file name; one of the text's two thumbnails is not in the blob store.
    fn snapshot() -> Snapshot {
        let (text, photo, blocked) = (
            contribution("Clearance in the south", ContributionKind::Text),
            contribution("A deminer at work", ContributionKind::Photograph),
            contribution("Late", ContributionKind::Text),
        );
        let (a, b, c) =
            (document(&text, "report.pdf"), document(&photo, "photo.jpg"), document(&blocked, "report.pdf"));
        let records = HashMap::from([
            (a.id, record("report.pdf", "pdf", &[(1024, "thumbs/a/1024"), (256, "thumbs/a/256")])),
            (b.id, record("photo.jpg", "jpeg", &[])),
            (c.id, record("report.pdf", "pdf", &[])),
        ]);
        let finding = Finding {
            code: FindingCode::TextCut,
            severity: Severity::Blocking,
            contribution_id: Some(blocked.id),
            file_name: None,
            message: "its text was cut".into(),
        };
        Snapshot {
            title: "Catalogue".into(),
            deadline: NaiveDate::from_ymd_opt(2012, 6, 30),
            date: NaiveDate::from_ymd_opt(2012, 9, 3).unwrap(),
            chapters: vec![Chapter { key: "one".into(), title: "One".into(), position: 1 }],
            texts: HashMap::from([(a.id, "First  paragraph\nof the text.\n\nSecond.".to_string())]),
            structures: HashMap::new(),
            pictures: HashMap::new(),
            contributions: vec![text, photo, blocked],
            documents: vec![a, b, c],
            records,
            decisions: Vec::new(),
            confirmed: HashMap::new(),
            findings: vec![finding],
            thumbnails: HashMap::from([("thumbs/a/256".to_string(), b"png-256".to_vec())]),
            number: 1,
            previous: None,
        }
    }

    #[test]
    fn a_snapshot_becomes_the_book_the_files_the_manifest_and_the_report() {
        let s = snapshot();
        let (photo_key, blocked_doc) = (s.documents[1].blob_key.clone(), s.documents[2].id);
        let plan = plan(s).unwrap();

        let entries = &plan.book.chapters[0].entries;
        assert_eq!(entries.len(), 2, "the blocked contribution is left out of the book");
        assert_eq!(entries[0].body, [Block::from("First paragraph of the text."), Block::from("Second.")]);
        assert!(entries[1].body.is_empty() && entries.iter().all(|e| e.figures.is_empty()));
        assert_eq!(plan.book.subtitle.as_deref(), Some("Contributions received by 30 June 2012"));
        assert_eq!(plan.left_out, [("Late".to_string(), vec!["its text was cut".to_string()])]);
        assert_eq!((plan.included, plan.failed_documents), (2, 0));

        let paths: Vec<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
        let prefix = &blocked_doc.simple().to_string()[..8];
        let renamed = format!("originals/{prefix}-report.pdf");
        assert_eq!(paths, ["originals/report.pdf", "thumbnails/256/report.pdf.png", "originals/photo.jpg", &renamed]);
        assert_eq!(plan.files[1].source, Source::Bytes(b"png-256".to_vec()), "a thumbnail carries its bytes");
        assert_eq!(plan.files[2].source, Source::Blob(photo_key), "an original is fetched by the writer");
        assert_eq!(plan.figures.len(), 1);
        let figure = &plan.figures[0];
        assert_eq!((figure.chapter, figure.entry, figure.original), (0, 1, 2));
        assert_eq!(figure.credit, "Ana (Chile). CC BY 4.0");

        let text_doc = &plan.manifest.contributions[0].documents[0];
        assert_eq!(text_doc.thumbnail.as_deref(), Some("thumbnails/256/report.pdf.png"));
        assert_eq!(text_doc.thumbnails.len(), 1, "the thumbnail the blob store lacks is left out");
        let record = text_doc.record.as_ref().unwrap();
        assert_eq!((record.elapsed_ms, record.thumbnail.as_deref()), (0, Some("thumbnails/256/report.pdf.png")));
        assert!(plan.manifest.files.is_empty() && plan.manifest.catalogue.pages.is_none(), "writing fills them");
        assert!(!plan.manifest.contributions[2].included);

        let report_doc = &plan.report.chapters[0].contributions[0].documents[0];
        assert_eq!(report_doc.thumbnail, Some((ThumbnailFormat::Png, b"png-256".to_vec())));
        assert_eq!(plan.report.totals.contributions_left_out, 1);
        assert_eq!(plan.contents.contributions.len(), 3);
    }

    #[test]
    fn a_pdf_is_placed_as_it_was_made_with_its_credit_line() {
        let mut s = snapshot();
        let id = s.documents[0].id;
        s.records.get_mut(&id).unwrap().record.pages = Some(2);
        let plan = plan(s).unwrap();
        assert_eq!(plan.pdfs.len(), 1);
        let slot = &plan.pdfs[0];
        assert_eq!((slot.chapter, slot.entry, slot.original, slot.pages), (0, 0, 0, 2));
        assert_eq!(slot.body, 0..2, "the PDF's two paragraphs, which the typeset book does not set again");
        assert_eq!(plan.book.chapters[0].entries[0].credit, "Clearance in the south. Ana (Chile). CC BY 4.0");

        // Set from its text where the editor asks: no page placed, the paragraphs set.
        let mut s = snapshot();
        let id = s.documents[0].id;
        s.records.get_mut(&id).unwrap().record.pages = Some(2);
        s.contributions[0].layout = Some(folio_core::Layout::Text);
        let plan = super::plan(s).unwrap();
        assert!(plan.pdfs.is_empty());
        assert_eq!(plan.book.chapters[0].entries[0].body.len(), 2);
    }

    #[test]
    fn a_documents_form_is_set_instead_of_its_text() {
        use folio_core::structure::{Block as Found, PictureRef, Structure};
        let mut s = snapshot();
        let a = s.documents[0].id;
        let mut png = Vec::new();
        image::RgbImage::new(4, 3)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encode");
        s.pictures.insert("structure/a/picture-1.png".into(), png);
        s.structures.insert(
            a,
            Structure {
                blocks: vec![
                    Found::Heading { level: 1, text: "Clearance in  the south".into() },
                    Found::Paragraph(Text {
                        text: "Mines  cleared\nin 2011 and 2012.".into(),
                        notes: vec![Note { at: 14, text: "Survey data.".into() }],
                    }),
                    Found::Table { rows: vec![vec![vec!["Area".into()], vec!["4.2 km2".into()]]] },
                    Found::Picture { picture: 0, caption: "The map".into() },
                    Found::Picture { picture: 1, caption: "Not in the store".into() },
                ],
                pictures: vec![
                    PictureRef { location: "structure/a/picture-1.png".into(), width: 4, height: 3 },
                    PictureRef { location: "structure/a/picture-2.png".into(), width: 4, height: 3 },
                ],
            },
        );
        let plan = plan(s).expect("plan");
        let body = &plan.book.chapters[0].entries[0].body;
        assert_eq!(body.len(), 3, "the title's heading printed once, the missing picture left out: {body:?}");
        assert_eq!(
            body[0],
            Block::Paragraph(Text {
                text: "Mines cleared in 2011 and 2012.".into(),
                notes: vec![Note { at: 13, text: "Survey data.".into() }]
            }),
            "reflowed, the note still after \"cleared\""
        );
        assert_eq!(body[1], Block::Table(vec![vec![vec!["Area".into()], vec!["4.2 km2".into()]]]));
        assert!(
            matches!(&body[2], Block::Picture(f) if f.caption == "The map" && !f.credit.is_empty()),
            "{:?}",
            body[2]
        );
    }

    #[test]
    fn a_contribution_with_nothing_to_print_is_left_out_with_a_finding() {
        let mut s = snapshot();
        // The text contribution's PDF gave no text and no page count.
        s.texts.clear();
        let plan = plan(s).unwrap();
        let titles: Vec<&str> = plan.book.chapters[0].entries.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(titles, ["A deminer at work"], "no empty section");
        assert!(plan.left_out.iter().any(|(t, why)| t == "Clearance in the south" && why == &[NOTHING_TO_PRINT]));
        let manifest = &plan.manifest.contributions[0];
        assert!(!manifest.included);
        assert!(manifest.findings.iter().any(|f| f.code == folio_core::FindingCode::Unreadable && f.is_blocking()));
        assert_eq!(plan.report.totals.contributions_left_out, 2);
    }

    #[test]
    fn planned_again_the_same_snapshot_lists_no_changes_and_a_new_record_does() {
        let s = snapshot();
        let first = plan(s.clone()).unwrap();
        assert!(first.changes.is_empty(), "a first build lists no changes");
        let again = plan(Snapshot { number: 2, previous: Some((1, first.contents.clone())), ..s.clone() }).unwrap();
        assert!(again.changes.is_empty(), "{:?}", again.changes);
        assert_eq!(again.manifest.build, 2);
        assert_eq!(serde_json::to_value(&again.contents).unwrap(), serde_json::to_value(&first.contents).unwrap());

        let mut changed = Snapshot { number: 2, previous: Some((1, first.contents)), ..s };
        let id = changed.documents[0].id;
        if let Some(r) = changed.records.get_mut(&id) {
            r.record.pages = Some(3);
        }
        assert!(!plan(changed).unwrap().changes.is_empty(), "a document read again is a change");
    }

    #[test]
    fn text_is_reflowed_into_paragraphs() {
        assert_eq!(
            paragraphs("Dear  Excellency,\n\nMuch has been\nachieved.\n\n\n  \n\nEnd"),
            ["Dear Excellency,", "Much has been achieved.", "End"]
        );
        assert!(paragraphs(" \n\n ").is_empty());
    }
}
