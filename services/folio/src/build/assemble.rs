//! Builds the catalogue bundle from the database and the blob store: the book (DOCX and PDF), the manifest,
//! the report, the originals and the thumbnails (`thumbnails/<max_side>/<file name>.<format>`, one folder
//! per size).

use crate::build::inputs::{blocked, paragraphs};
use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use folio_bundle::changes::{BuildChanges, BuildContents, ContributionContents};
use folio_bundle::manifest::{
    CatalogueInfo, Manifest, ManifestChapter, ManifestClassification, ManifestContribution, ManifestDocument,
    ManifestFile, SCHEMA_VERSION,
};
use folio_bundle::report::{ReportChapter, ReportContribution, ReportDocument, ReportInput, Totals};
use folio_bundle::signature::{Signer, SIGNATURE_FILE};
use folio_bundle::{Book, BookChapter, BookEntry, Figure};
use folio_core::{DocumentState, Finding, ThumbnailFormat, ThumbnailRef};
use folio_store::{BlobStore, BuildState, RecordSummary, Store};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracing::warn;
use uuid::Uuid;

/// Longest side of a figure in the book, in pixels: enough for print at about 15 cm and 270 dpi.
const FIGURE_PX: u32 = 1600;

/// What was assembled, for the summary people read.
#[derive(Debug, Clone)]
pub struct BundleSummary {
    pub out: PathBuf,
    pub build: u32,
    /// Whether the inputs were those of build `build`, which was written again (no new build).
    pub unchanged: bool,
    /// What changed since the previous build.
    pub changes: BuildChanges,
    pub chapters: usize,
    pub included: usize,
    /// Contributions left out of the book, with the reasons.
    pub left_out: Vec<(String, Vec<String>)>,
    pub documents: usize,
    pub failed_documents: usize,
    pub findings: Vec<Finding>,
}

/// The date printed in the book: `SOURCE_DATE_EPOCH` when set (reproducible builds), else today.
pub fn book_date() -> NaiveDate {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map(|t| t.date_naive())
        .unwrap_or_else(|| chrono::Utc::now().date_naive())
}

/// What a bundle is made from and where it goes.
pub struct BundleJob<'a> {
    pub catalogue_id: Uuid,
    /// The rules' findings on the catalogue (see [`crate::build::inputs::evaluate`]).
    pub findings: Vec<Finding>,
    pub out: &'a Path,
    /// The date printed in the book.
    pub date: NaiveDate,
    pub signer: Option<&'a Signer>,
}

/// The name `folio process` holds its build claims under.
const PROCESS_CLAIMANT: &str = "folio process";
/// How long a claim of `folio process` holds against other claimants (a coordinator sharing the database).
const PROCESS_LEASE: Duration = Duration::from_secs(120);

/// Assembles the bundle into `out` as a numbered build of the catalogue, through the same claim as the
/// coordinator's builds: inputs that changed since the latest build make the next build; the same inputs
/// write the latest build again (the same manifest, byte for byte), noting nothing. The folder is written
/// beside and swapped in at the end, so a failed assembly leaves the previous bundle whole. `out` must be new,
/// empty, or an earlier bundle.
pub async fn assemble(store: &dyn Store, blobs: &dyn BlobStore, job: BundleJob<'_>) -> Result<BundleSummary> {
    let (catalogue_id, out) = (job.catalogue_id, job.out);
    let stamp = crate::build::inputs::input_stamp(store, catalogue_id).await?;
    let waited_since = std::time::Instant::now();
    let (number, unchanged) = loop {
        if let Some(number) = store.claim_build(catalogue_id, &stamp, PROCESS_CLAIMANT, PROCESS_LEASE).await? {
            break (number, false);
        }
        let latest = store.builds(catalogue_id).await?.into_iter().next_back();
        if let Some(b) =
            latest.filter(|b| b.state == BuildState::Done && b.input_stamp.as_deref() == Some(stamp.as_str()))
        {
            break (b.number, true);
        }
        // Another claimant assembles now, or an interrupted run's claim has not run out yet.
        if waited_since.elapsed() > PROCESS_LEASE + Duration::from_secs(10) {
            bail!("another process holds the claim on this catalogue's next build");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let previous = previous_contents(&store.builds(catalogue_id).await?, number);
    let numbering = Numbering { number, previous };
    let (mut summary, manifest_sha256, contents) = write_bundle(store, blobs, job, &numbering).await?;
    summary.unchanged = unchanged;
    if !unchanged {
        let location = out.display().to_string();
        if !store.finish_build(catalogue_id, number, PROCESS_CLAIMANT, &location, &manifest_sha256, &contents).await? {
            bail!("the claim on build {number} ran out before it was done; another process has it");
        }
    }
    Ok(summary)
}

/// The number of the build being written, and the contents of the build before it (for the change list).
#[derive(Debug, Clone)]
pub struct Numbering {
    pub number: u32,
    pub previous: Option<(u32, BuildContents)>,
}

/// The contents of the latest finished build before build `number` that kept them.
pub fn previous_contents(builds: &[folio_store::BuildRow], number: u32) -> Option<(u32, BuildContents)> {
    let before = builds.iter().rev().find(|b| b.number < number && b.state == BuildState::Done)?;
    let contents = serde_json::from_str(before.contents.as_deref()?)
        .map_err(
            |e| warn!(build = before.number, error = %e, "unreadable contents of an earlier build; no change list"),
        )
        .ok()?;
    Some((before.number, contents))
}

/// Writes build `numbering.number` of the bundle into `out` as [`assemble`] does, without noting the build;
/// returns the summary, the SHA-256 of manifest.json and the build's contents (JSON).
pub async fn write_bundle(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    job: BundleJob<'_>,
    numbering: &Numbering,
) -> Result<(BundleSummary, String, String)> {
    let BundleJob { catalogue_id, findings, out, date, signer } = job;
    check_out_folder(out)?;
    let catalogue = store.catalogue(catalogue_id).await?.context("the catalogue is not in the database")?;
    let chapters = store.chapters(catalogue_id).await?;
    let contributions = store.contributions(catalogue_id).await?;
    let documents = store.documents(catalogue_id).await?;
    let records: HashMap<Uuid, folio_store::RecordSummary> = store.records(catalogue_id).await?.into_iter().collect();
    // The book is the one thing that prints text: read once per build (each at most extract.max_text_mib).
    let texts: HashMap<Uuid, String> = store.texts(catalogue_id).await?.into_iter().collect();
    let decisions = store.decisions(catalogue_id).await?;
    let confirmed: HashMap<Uuid, folio_core::ConfirmedClassification> =
        store.classifications(catalogue_id).await?.into_iter().map(|c| (c.contribution_id, c)).collect();
    let blocking = blocked(&findings);
    let mut contents =
        BuildContents { chapters: chapters.iter().map(|c| c.key.clone()).collect(), ..Default::default() };

    let staging = sibling(out, "partial")?;
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
    }
    std::fs::create_dir_all(staging.join("originals"))?;
    std::fs::create_dir_all(staging.join("thumbnails"))?;

    let mut book = Book { title: catalogue.title.clone(), subtitle: None, date, chapters: Vec::new() };
    book.subtitle = catalogue.deadline.map(|d| format!("Contributions received by {}", d.format("%-d %B %Y")));
    let mut report_chapters = Vec::new();
    let mut manifest_chapters = Vec::new();
    let mut manifest_contributions = Vec::new();
    let mut left_out = Vec::new();
    let mut used_names = HashSet::new();
    let mut figure_number = 0usize;

    for chapter in &chapters {
        let mut entries = Vec::new();
        let mut report_contributions = Vec::new();
        let mut ids = Vec::new();
        for contribution in contributions.iter().filter(|c| c.chapter_key == chapter.key) {
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
                paragraphs: Vec::new(),
                figures: Vec::new(),
                areas: Vec::new(),
            };
            let mut manifest_contribution = ManifestContribution::new(contribution, included);
            let mut report_documents = Vec::new();
            for document in documents.iter().filter(|d| d.contribution_id == contribution.id) {
                let stored = records.get(&document.id);
                let original = unique_name(&mut used_names, "originals", &document.file_name, document.id);
                let bytes = blobs
                    .get(&document.blob_key)
                    .await
                    .with_context(|| format!("original of {}", document.file_name))?;
                write_file(&staging.join(&original), &bytes)?;
                let thumbnails = bundle_thumbnails(blobs, stored, document, &mut used_names, &staging).await?;
                let usable = document.state == DocumentState::Done && stored.is_some_and(|r| r.record.error.is_none());
                if included && usable {
                    if let Some(stored) = stored {
                        if stored.record.is_image() {
                            match folio_extract::display_image(&bytes, FIGURE_PX, &folio_extract::Limits::default()) {
                                Ok((png, width, height)) => {
                                    figure_number += 1;
                                    entry.figures.push(Figure {
                                        png,
                                        width,
                                        height,
                                        caption: contribution.title.clone(),
                                        credit: credit(contribution),
                                    });
                                }
                                Err(e) => warn!(document_id = %document.id, error = %e, "figure left out"),
                            }
                        } else {
                            entry.paragraphs.extend(paragraphs(texts.get(&document.id).map_or("", String::as_str)));
                        }
                    }
                }
                let mut record = stored.map(|r| r.record.clone());
                if let Some(r) = record.as_mut() {
                    r.thumbnail = thumbnails.smallest.clone();
                    r.thumbnails = thumbnails.all.clone();
                    // Measurements of one run, not facts of the document: the same inputs, the same manifest.
                    r.elapsed_ms = 0;
                    r.peak_memory_kib = None;
                }
                manifest_contribution.documents.push(ManifestDocument {
                    id: document.id,
                    file_name: document.file_name.clone(),
                    sha256: document.sha256.clone(),
                    bytes: document.bytes,
                    state: document.state,
                    original: original.clone(),
                    thumbnail: thumbnails.smallest,
                    thumbnails: thumbnails.all,
                    record: record.clone(),
                });
                report_documents.push(ReportDocument {
                    file_name: document.file_name.clone(),
                    record,
                    thumbnail: thumbnails.inline,
                });
            }
            let text: Vec<&str> = documents
                .iter()
                .filter(|d| d.contribution_id == contribution.id)
                .filter_map(|d| texts.get(&d.id).map(String::as_str))
                .collect();
            let suggestion = crate::build::classification::suggest(contribution, &text.join("\n\n"));
            let effective = crate::build::classification::effective(&suggestion, confirmed.get(&contribution.id));
            entry.areas = effective.areas.iter().map(|a| a.label().to_string()).collect();
            manifest_contribution.classification = Some(ManifestClassification {
                areas: effective.areas.iter().map(|a| a.as_str().to_string()).collect(),
                modality: effective.modality.clone(),
                role: effective.role.clone(),
                confirmed_by: effective.confirmed_by.clone(),
                suggestion,
            });
            let own_findings: Vec<Finding> =
                findings.iter().filter(|f| f.contribution_id == Some(contribution.id)).cloned().collect();
            manifest_contribution.findings = own_findings.clone();
            contents.contributions.push(contribution_contents(contribution, &manifest_contribution, &decisions)?);
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
    tracing::debug!(figures = figure_number, "book laid out");

    let docx = folio_bundle::render_docx(&book).context("writing catalogue.docx")?;
    write_file(&staging.join("catalogue.docx"), &docx)?;
    let book_for_pdf = book.clone();
    let (pdf, pages) = tokio::task::spawn_blocking(move || folio_bundle::pdf::typeset(&book_for_pdf))
        .await?
        .context("typesetting catalogue.pdf")?;
    for (chapter, laid_out) in manifest_chapters.iter_mut().zip(&pages.chapters) {
        chapter.first_page = Some(laid_out.first_page);
        chapter.pages = Some(laid_out.pages);
    }
    write_file(&staging.join("catalogue.pdf"), &pdf)?;

    let intake_findings: Vec<Finding> = findings.iter().filter(|f| f.contribution_id.is_none()).cloned().collect();
    let failed_documents = documents
        .iter()
        .filter(|d| d.state == DocumentState::Failed || records.get(&d.id).is_some_and(|r| r.record.error.is_some()))
        .count();
    let included = manifest_contributions.iter().filter(|c| c.included).count();
    let changes = match &numbering.previous {
        Some((since, before)) => BuildChanges::between(*since, before, &contents),
        None => BuildChanges::default(),
    };
    let report = ReportInput {
        title: catalogue.title.clone(),
        generated: date,
        build: numbering.number,
        changes: changes.clone(),
        pages: Some(pages.clone()),
        totals: Totals {
            documents_processed: documents.len(),
            documents_failed: failed_documents,
            contributions_included: included,
            contributions_left_out: manifest_contributions.len() - included,
        },
        chapters: report_chapters,
        intake_findings: intake_findings.clone(),
    };
    write_file(&staging.join("report.html"), folio_bundle::report::render_html(&report).as_bytes())?;

    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        catalogue: CatalogueInfo {
            title: catalogue.title.clone(),
            deadline: catalogue.deadline,
            generated: date,
            pages: Some(pages.total),
        },
        build: numbering.number,
        changes: changes.clone(),
        chapters: manifest_chapters,
        contributions: manifest_contributions,
        findings: intake_findings,
        files: list_files(&staging)?,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)?;
    write_file(&staging.join("manifest.json"), &manifest_json)?;
    if let Some(signer) = signer {
        let signature = serde_json::to_vec_pretty(&signer.sign(&manifest_json))?;
        write_file(&staging.join(SIGNATURE_FILE), &signature)?;
    }

    // Swap the new bundle in.
    if out.exists() {
        let old = sibling(out, "old")?;
        if old.exists() {
            std::fs::remove_dir_all(&old)?;
        }
        std::fs::rename(out, &old).with_context(|| format!("moving the previous bundle {} aside", out.display()))?;
        std::fs::rename(&staging, out)?;
        std::fs::remove_dir_all(&old)?;
    } else {
        std::fs::rename(&staging, out)?;
    }
    let summary = BundleSummary {
        out: out.to_path_buf(),
        build: numbering.number,
        unchanged: false,
        changes,
        chapters: chapters.len(),
        included,
        left_out,
        documents: documents.len(),
        failed_documents,
        findings,
    };
    Ok((summary, hex::encode(Sha256::digest(&manifest_json)), serde_json::to_string(&contents)?))
}

/// What a build is made of for one contribution (its manifest entry carries the files and records).
fn contribution_contents(
    contribution: &folio_core::Contribution,
    entry: &ManifestContribution,
    decisions: &[folio_core::Decision],
) -> Result<ContributionContents> {
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
        excluded: own.clone().any(|d| d.action == folio_core::DecisionAction::Exclude),
        included: entry.included,
        classification: entry
            .classification
            .iter()
            .flat_map(|c| c.areas.iter().cloned().chain(c.modality.clone()).chain(c.role.clone()))
            .collect(),
    })
}

fn sha256_of_json(value: &impl serde::Serialize) -> Result<String> {
    Ok(hex::encode(Sha256::digest(serde_json::to_vec(value)?)))
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

/// Copies a document's thumbnails from the blob store into the bundle, each size in its folder under one
/// name for the document (`thumbnails/256/report.pdf.png`, `thumbnails/1024/report.pdf.png`). A thumbnail
/// missing from the blob store is left out with a warning.
async fn bundle_thumbnails(
    blobs: &dyn BlobStore,
    stored: Option<&RecordSummary>,
    document: &folio_core::Document,
    used: &mut HashSet<String>,
    staging: &Path,
) -> Result<BundledThumbnails> {
    let mut bundled = BundledThumbnails::default();
    let Some(stored) = stored else { return Ok(bundled) };
    if stored.record.thumbnails.is_empty() {
        // A record from before there were several sizes: its one PNG, where bundles put it then.
        let Some(key) = stored.thumbnail_key.as_deref() else { return Ok(bundled) };
        match blobs.get(key).await {
            Ok(png) => {
                let path = unique_name(used, "thumbnails", &format!("{}.png", document.file_name), document.id);
                write_file(&staging.join(&path), &png)?;
                bundled.smallest = Some(path);
                bundled.inline = Some((ThumbnailFormat::Png, png));
            }
            Err(e) => warn!(document_id = %document.id, error = %e, "thumbnail left out"),
        }
        return Ok(bundled);
    }
    let reserved = unique_name(used, "thumbnails", &document.file_name, document.id);
    let name = reserved.strip_prefix("thumbnails/").unwrap_or(&reserved);
    for thumbnail in &stored.record.thumbnails {
        let bytes = match blobs.get(&thumbnail.location).await {
            Ok(bytes) => bytes,
            Err(e) => {
                warn!(document_id = %document.id, size = thumbnail.max_side, error = %e, "thumbnail left out");
                continue;
            }
        };
        let path = format!("thumbnails/{}/{name}.{}", thumbnail.max_side, thumbnail.format.as_str());
        write_file(&staging.join(&path), &bytes)?;
        let smaller = bundled.all.iter().all(|t| t.max_side > thumbnail.max_side);
        if smaller {
            bundled.smallest = Some(path.clone());
            bundled.inline = Some((thumbnail.format, bytes));
        }
        bundled.all.push(ThumbnailRef { location: path, ..thumbnail.clone() });
    }
    Ok(bundled)
}

fn credit(c: &folio_core::Contribution) -> String {
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

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Every file under `root` except `manifest.json` and `signature.json`, sorted, with checksums.
fn list_files(root: &Path) -> Result<Vec<ManifestFile>> {
    let mut files = Vec::new();
    for (relative, path) in bundle_files(root)? {
        if relative == "manifest.json" || relative == SIGNATURE_FILE {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        files.push(ManifestFile {
            path: relative,
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes: bytes.len() as u64,
        });
    }
    Ok(files)
}

/// Every file of a bundle folder: its path relative to `root` (forward slashes) and its full path, sorted by
/// the relative path.
pub(crate) fn bundle_files(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(root)?.to_string_lossy().replace('\\', "/");
            files.push((relative, path));
        }
    }
    files.sort();
    Ok(files)
}

fn sibling(out: &Path, suffix: &str) -> Result<PathBuf> {
    let name = out.file_name().context("--out must name a folder")?.to_string_lossy().to_string();
    Ok(out.with_file_name(format!(".{name}.{suffix}")))
}

/// Refuses to replace a folder that is not a bundle: people point `--out` at the wrong place.
fn check_out_folder(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!("{} exists and is not a folder", out.display());
    }
    let empty = std::fs::read_dir(out)?.next().is_none();
    if !empty && !out.join("manifest.json").is_file() {
        bail!(
            "{} is not empty and holds no earlier bundle (no manifest.json); choose a new or empty folder",
            out.display()
        );
    }
    Ok(())
}
