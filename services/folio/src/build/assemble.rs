//! Builds the catalogue bundle from the database and the blob store: the book (DOCX and PDF), the manifest,
//! the report, the originals and the thumbnails (`thumbnails/<max_side>/<file name>.<format>`, one folder
//! per size).

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use folio_bundle::changes::{BuildChanges, BuildContents};
use folio_bundle::manifest::ManifestFile;
use folio_bundle::plan::{DocumentRecord, Plan, Snapshot, Source};
use folio_bundle::signature::{Signer, SIGNATURE_FILE};
use folio_bundle::{Figure, PlacedPdf};
use folio_core::structure::Structure;
use folio_core::Finding;
use folio_store::{BlobStore, BuildState, FinishedBuild, Store};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
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
    /// The date printed in the book.
    pub date: NaiveDate,
    pub signer: Option<&'a Signer>,
}

/// The name `folio process` holds its build claims under.
const PROCESS_CLAIMANT: &str = "folio process";
/// How long a claim of `folio process` holds against other claimants (a coordinator sharing the database).
const PROCESS_LEASE: Duration = Duration::from_secs(120);

/// What asking for the next build of a catalogue came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// Build this number: the inputs changed since the latest build (or there is none).
    New(u32),
    /// The latest build (this number) was made from the same inputs.
    Unchanged(u32),
    /// Another claimant holds a live claim on the next build.
    Busy,
}

/// Asks for the next build of the catalogue from inputs with `stamp`, for `claimant`: the one claim of
/// `folio process`, the coordinator and the editors' route ([`folio_store::Builds::claim_build`]).
pub async fn claim(
    store: &dyn Store,
    catalogue_id: Uuid,
    stamp: &str,
    claimant: &str,
    lease: Duration,
) -> Result<Claimed> {
    if let Some(number) = store.claim_build(catalogue_id, stamp, claimant, lease).await? {
        return Ok(Claimed::New(number));
    }
    let latest = store.builds(catalogue_id).await?.into_iter().next_back();
    Ok(match latest {
        Some(b) if b.state == BuildState::Done && b.input_stamp.as_deref() == Some(stamp) => {
            Claimed::Unchanged(b.number)
        }
        _ => Claimed::Busy,
    })
}

/// Writes build `number` into `sink` and notes it done at `location` under `claimant`'s claim: the one
/// claim-and-build of every bundle (the sink a folder for `folio process`, a blob prefix for the
/// coordinator). With `unchanged`, the latest build is written again (the same manifest, byte for byte) and
/// nothing is noted.
pub async fn build_into(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    job: BundleJob<'_>,
    (number, unchanged): (u32, bool),
    (claimant, sink, location): (&str, BundleSink<'_>, &str),
) -> Result<BundleSummary> {
    let catalogue_id = job.catalogue_id;
    let previous = previous_contents(&store.builds(catalogue_id).await?, number);
    let numbering = Numbering { number, previous };
    let (mut summary, manifest_sha256, contents) = write_bundle(store, blobs, job, &numbering, &sink).await?;
    sink.finish().await?;
    summary.unchanged = unchanged;
    let finished =
        FinishedBuild { catalogue_id, number, location, manifest_sha256: &manifest_sha256, contents: &contents };
    if !unchanged && !store.finish_build(claimant, &finished).await? {
        bail!("the claim on build {number} ran out before it was done; another claimant has it");
    }
    Ok(summary)
}

/// Assembles the bundle into `out` as a numbered build of the catalogue, through the same claim as the
/// coordinator's builds: inputs that changed since the latest build make the next build; the same inputs
/// write the latest build again, noting nothing. The folder is written beside and swapped in at the end, so
/// a failed assembly leaves the previous bundle whole. `out` must be new, empty, or an earlier bundle.
pub async fn assemble(db: &dyn Store, blobs: &dyn BlobStore, job: BundleJob<'_>, out: &Path) -> Result<BundleSummary> {
    let catalogue_id = job.catalogue_id;
    let stamp = crate::build::inputs::input_stamp(db, catalogue_id).await?;
    let waited_since = std::time::Instant::now();
    let build = loop {
        match claim(db, catalogue_id, &stamp, PROCESS_CLAIMANT, PROCESS_LEASE).await? {
            Claimed::New(number) => break (number, false),
            Claimed::Unchanged(number) => break (number, true),
            // Another claimant assembles now, or an interrupted run's claim has not run out yet.
            Claimed::Busy if waited_since.elapsed() > PROCESS_LEASE + Duration::from_secs(10) => {
                bail!("another process holds the claim on this catalogue's next build")
            }
            Claimed::Busy => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    };
    let location = out.display().to_string();
    build_into(db, blobs, job, build, (PROCESS_CLAIMANT, BundleSink::folder(out)?, &location)).await
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

/// Where a bundle is written: a folder, written beside and swapped in whole at the end (so a failed assembly
/// leaves the previous bundle as it was), or a prefix of the blob store (the coordinator's builds), written
/// into a scratch folder and stored at the end (so a failed assembly stores nothing).
pub enum BundleSink<'a> {
    Folder { out: PathBuf, staging: PathBuf },
    Blobs { blobs: &'a dyn BlobStore, prefix: String, scratch: tempfile::TempDir, paths: std::sync::Mutex<Vec<String>> },
}

impl<'a> BundleSink<'a> {
    /// A folder: `out` must be new, empty, or an earlier bundle.
    pub fn folder(out: &Path) -> Result<Self> {
        check_out_folder(out)?;
        let staging = sibling(out, "partial")?;
        if staging.exists() {
            std::fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
        }
        std::fs::create_dir_all(staging.join("originals"))?;
        std::fs::create_dir_all(staging.join("thumbnails"))?;
        Ok(Self::Folder { out: out.to_path_buf(), staging })
    }

    /// Keys `PREFIX/PATH` of the blob store.
    pub fn blobs(blobs: &'a dyn BlobStore, prefix: String) -> Result<Self> {
        let scratch = tempfile::tempdir().context("a scratch folder for the bundle")?;
        Ok(Self::Blobs { blobs, prefix, scratch, paths: Default::default() })
    }

    async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<()> {
        match self {
            Self::Folder { staging, .. } => write_file(&staging.join(path), &bytes),
            Self::Blobs { scratch, paths, .. } => {
                write_file(&scratch.path().join(path), &bytes)?;
                paths.lock().map_err(|_| anyhow::anyhow!("the bundle's file list"))?.push(path.to_string());
                Ok(())
            }
        }
    }

    /// Where the bundle is, for people.
    fn location(&self) -> PathBuf {
        match self {
            Self::Folder { out, .. } => out.clone(),
            Self::Blobs { prefix, .. } => PathBuf::from(prefix),
        }
    }

    /// Makes the bundle whole: a folder is swapped in for the previous one; a blob-store bundle is stored,
    /// file by file, streamed.
    pub async fn finish(self) -> Result<()> {
        let (out, staging) = match self {
            Self::Folder { out, staging } => (out, staging),
            Self::Blobs { blobs, prefix, scratch, paths } => {
                let paths = paths.into_inner().map_err(|_| anyhow::anyhow!("the bundle's file list"))?;
                for path in paths {
                    let key = format!("{prefix}/{path}");
                    blobs
                        .put_file(&key, &scratch.path().join(&path))
                        .await
                        .with_context(|| format!("storing {path}"))?;
                }
                return Ok(());
            }
        };
        if out.exists() {
            let old = sibling(&out, "old")?;
            if old.exists() {
                std::fs::remove_dir_all(&old)?;
            }
            std::fs::rename(&out, &old)
                .with_context(|| format!("moving the previous bundle {} aside", out.display()))?;
            std::fs::rename(&staging, &out)?;
            std::fs::remove_dir_all(&old)?;
        } else {
            std::fs::rename(&staging, &out)?;
        }
        Ok(())
    }
}

/// The files written so far, for the manifest.
#[derive(Default)]
struct Written(Vec<ManifestFile>);

impl Written {
    async fn put(&mut self, sink: &BundleSink<'_>, path: &str, bytes: Vec<u8>) -> Result<()> {
        self.0.push(ManifestFile {
            path: path.to_string(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes: bytes.len() as u64,
        });
        sink.put(path, bytes).await
    }
}

/// Reads what build `n.number` of the catalogue is made from, once: the catalogue, its records
/// (without text) and texts, the editors' decisions and confirmations, and the thumbnails the records name.
async fn read_snapshot(db: &dyn Store, blobs: &dyn BlobStore, job: BundleJob<'_>, n: &Numbering) -> Result<Snapshot> {
    let catalogue_id = job.catalogue_id;
    let catalogue = db.catalogue(catalogue_id).await?.context("the catalogue is not in the database")?;
    let records: HashMap<Uuid, DocumentRecord> = db
        .records(catalogue_id)
        .await?
        .into_iter()
        .map(|(id, r)| (id, DocumentRecord { record: r.record, thumbnail_key: r.thumbnail_key }))
        .collect();
    let mut thumbnails = HashMap::new();
    for key in folio_bundle::plan::thumbnail_keys(&records) {
        match blobs.get(&key).await {
            Ok(bytes) => {
                thumbnails.insert(key, bytes);
            }
            Err(e) => warn!(%key, error = %e, "thumbnail left out of the bundle"),
        }
    }
    // The documents' forms and their pictures (each bounded when the worker wrote it): what the book sets.
    let mut structures = HashMap::new();
    let mut pictures = HashMap::new();
    for (id, stored) in &records {
        let Some(key) = stored.record.structure.as_deref() else { continue };
        let structure = match blobs.get(key).await.map(|bytes| serde_json::from_slice::<Structure>(&bytes)) {
            Ok(Ok(mut structure)) => {
                structure.cut();
                structure
            }
            Ok(Err(e)) => {
                warn!(%key, error = %e, "a document's form does not parse; its text is set instead");
                continue;
            }
            Err(e) => {
                warn!(%key, error = %e, "a document's form is missing; its text is set instead");
                continue;
            }
        };
        for picture in &structure.pictures {
            match blobs.get(&picture.location).await {
                Ok(bytes) => {
                    pictures.insert(picture.location.clone(), bytes);
                }
                Err(e) => warn!(key = %picture.location, error = %e, "a picture of a document is left out"),
            }
        }
        structures.insert(*id, structure);
    }
    Ok(Snapshot {
        title: catalogue.title,
        deadline: catalogue.deadline,
        date: job.date,
        chapters: db.chapters(catalogue_id).await?,
        contributions: db.contributions(catalogue_id).await?,
        documents: db.documents(catalogue_id).await?,
        records,
        // The book is the one thing that prints text: read once per build (each at most extract.max_text_mib).
        texts: db.texts(catalogue_id).await?.into_iter().collect(),
        structures,
        pictures,
        decisions: db.decisions(catalogue_id).await?,
        confirmed: db.classifications(catalogue_id).await?.into_iter().map(|c| (c.contribution_id, c)).collect(),
        findings: job.findings,
        thumbnails,
        number: n.number,
        previous: n.previous.clone(),
    })
}

/// Writes build `numbering.number` of the bundle into `sink` as [`assemble`] does, without noting the build
/// (the caller finishes the sink); returns the summary, the SHA-256 of manifest.json and the build's contents
/// (JSON). The bundle is planned from one read of the catalogue ([`folio_bundle::plan::plan`]); writing
/// fetches the originals, makes the figures, typesets and lists what it wrote.
pub async fn write_bundle(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    job: BundleJob<'_>,
    numbering: &Numbering,
    sink: &BundleSink<'_>,
) -> Result<(BundleSummary, String, String)> {
    let signer = job.signer;
    let snapshot = read_snapshot(store, blobs, job, numbering).await?;
    let (chapters, documents) = (snapshot.chapters.len(), snapshot.documents.len());
    let findings = snapshot.findings.clone();
    let Plan {
        mut book,
        figures,
        pdfs,
        files,
        mut manifest,
        mut report,
        contents,
        changes,
        left_out,
        included,
        failed_documents,
    } = folio_bundle::plan::plan(snapshot)?;

    let mut written = Written::default();
    for (index, file) in files.into_iter().enumerate() {
        let bytes = match file.source {
            Source::Blob(key) => blobs.get(&key).await.with_context(|| format!("the original {}", file.path))?,
            Source::Bytes(bytes) => bytes,
        };
        for slot in figures.iter().filter(|f| f.original == index) {
            match folio_extract::display_image(&bytes, FIGURE_PX, &folio_extract::Limits::default()) {
                Ok((png, width, height)) => book.chapters[slot.chapter].entries[slot.entry].figures.push(Figure {
                    png,
                    width,
                    height,
                    caption: slot.caption.clone(),
                    credit: slot.credit.clone(),
                }),
                Err(e) => warn!(document_id = %slot.document_id, error = %e, "figure left out"),
            }
        }
        for slot in pdfs.iter().filter(|p| p.original == index) {
            book.chapters[slot.chapter].entries[slot.entry].pdfs.push(PlacedPdf {
                bytes: bytes.clone(),
                pages: slot.pages,
                body: slot.body.clone(),
            });
        }
        written.put(sink, &file.path, bytes).await?;
    }

    let docx = folio_bundle::render_docx(&book).context("writing catalogue.docx")?;
    written.put(sink, "catalogue.docx", docx).await?;
    let (pdf, pages) = typeset_with_fallback(book).await?;
    for (chapter, laid_out) in manifest.chapters.iter_mut().zip(&pages.chapters) {
        chapter.first_page = Some(laid_out.first_page);
        chapter.pages = Some(laid_out.pages);
    }
    written.put(sink, "catalogue.pdf", pdf).await?;
    manifest.catalogue.pages = Some(pages.total);
    report.pages = Some(pages);
    written.put(sink, "report.html", folio_bundle::report::render_html(&report).into_bytes()).await?;

    let mut files = written.0;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    manifest.files = files;
    let manifest_json = serde_json::to_vec_pretty(&manifest)?;
    let manifest_sha256 = hex::encode(Sha256::digest(&manifest_json));
    let signature = signer.map(|s| serde_json::to_vec_pretty(&s.sign(&manifest_json))).transpose()?;
    sink.put("manifest.json", manifest_json).await?;
    if let Some(signature) = signature {
        sink.put(SIGNATURE_FILE, signature).await?;
    }
    let summary = BundleSummary {
        out: sink.location(),
        build: numbering.number,
        unchanged: false,
        changes,
        chapters,
        included,
        left_out,
        documents,
        failed_documents,
        findings,
    };
    Ok((summary, manifest_sha256, serde_json::to_string(&contents)?))
}

/// Typesets catalogue.pdf. The PDFs placed as they were made are parsed here by Typst (they were read
/// without error by the sandboxed parser first); should typesetting fail or panic with them, the book is
/// typeset again with those contributions set from their text, and the failure logged, so that one PDF
/// Typst cannot place never costs the editors their book. The book comes back from the first attempt, so it
/// is never copied.
async fn typeset_with_fallback(book: folio_bundle::Book) -> Result<(Vec<u8>, folio_bundle::model::BookPages)> {
    let (first, mut book) = typeset(book).await?;
    let placed = book.chapters.iter().flat_map(|c| &c.entries).any(|e| !e.pdfs.is_empty());
    match first {
        Ok(done) => Ok(done),
        Err(e) if placed => {
            warn!(error = %format!("{e:#}"), "typesetting with the PDFs placed as made failed; their text is set instead");
            for entry in book.chapters.iter_mut().flat_map(|c| c.entries.iter_mut()) {
                entry.pdfs.clear();
            }
            typeset(book).await?.0
        }
        Err(e) => Err(e),
    }
}

/// One typesetting, off the async threads; a panic in it is an error like any. Gives the book back.
async fn typeset(
    book: folio_bundle::Book,
) -> Result<(Result<(Vec<u8>, folio_bundle::model::BookPages)>, folio_bundle::Book)> {
    Ok(tokio::task::spawn_blocking(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| folio_bundle::pdf::typeset(&book)));
        let result = match result {
            Ok(typeset) => typeset.context("typesetting catalogue.pdf"),
            Err(_) => Err(anyhow::anyhow!("typesetting catalogue.pdf panicked")),
        };
        (result, book)
    })
    .await?)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use folio_bundle::{BookChapter, BookEntry, PlacedPdf};

    /// A "PDF" Typst cannot place (it was read by extraction, but Typst's own reader refuses it): the book is
    /// typeset all the same, that contribution set from its text.
    #[tokio::test]
    async fn a_pdf_typst_cannot_place_is_set_from_its_text() {
        let entry = BookEntry {
            title: "Report".into(),
            author: "Ana".into(),
            state: "Chile".into(),
            kind: folio_core::ContributionKind::Text,
            body: vec!["The text of the report, set instead.".into()],
            figures: Vec::new(),
            areas: Vec::new(),
            pdfs: vec![PlacedPdf { bytes: b"%PDF-1.4\nnot really a PDF".to_vec(), pages: 1, body: 0..1 }],
            credit: "Report. Ana (Chile)".into(),
        };
        let book = folio_bundle::Book {
            title: "Catalogue".into(),
            subtitle: None,
            date: chrono::NaiveDate::from_ymd_opt(2012, 9, 3).unwrap(),
            chapters: vec![BookChapter { title: "One".into(), entries: vec![entry] }],
        };
        let (alone, book) = typeset(book).await.unwrap();
        assert!(alone.is_err(), "Typst refuses the PDF itself");
        let (pdf, pages) = typeset_with_fallback(book).await.expect("the book is typeset all the same");
        assert!(pdf.starts_with(b"%PDF") && pages.total >= 3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.pdf");
        std::fs::write(&path, &pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils) is needed for this test: run scripts/setup");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("set instead"), "{text}");
    }
}
