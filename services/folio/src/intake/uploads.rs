//! Taking an upload in: one contribution and its files, from the gateway's HTTP API or from a
//! `folio.upload.v1` message on the work queue. The same steps either way: check the metadata against the
//! call, store each original in the blob store by its checksum, add the contribution and its documents to
//! the database (idempotent: a retried or redelivered upload adds nothing), and ask for work on every
//! document not finished.

use folio_core::upload::{catalogue_id_for_key, clean_file_name, is_catalogue_key, ContributionFields, UploadFile};
use folio_core::{Document, DocumentState};
use folio_extract::Format;
use folio_store::{BlobError, BlobStore, QueueError, Store, StoreError, WorkQueue, WorkRequest};
use sha2::{Digest, Sha256};
use std::path::Path;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// The most files one upload may carry.
pub const MAX_FILES: usize = 50;

/// How much of a file's start and end is kept for sniffing its format (a DOCX names its parts at the end).
const SNIFF_BYTES: usize = 64 * 1024;

/// A file of an upload, spooled to a temporary file as it arrived (removed when this is dropped), with its
/// checksum and the bytes its format is sniffed from.
pub struct IncomingFile {
    /// As the front end sent it; cleaned before it is stored.
    pub name: String,
    pub spool: tempfile::TempPath,
    pub sha256: String,
    pub bytes: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl IncomingFile {
    /// Spools bytes already in memory (an upload message's inline file).
    pub async fn from_bytes(name: &str, bytes: &[u8], spool_dir: &Path) -> Result<Self, UploadError> {
        let mut spooler = Spooler::new(spool_dir, u64::MAX).await?;
        spooler.write(bytes).await?;
        spooler.finish(name).await
    }

    /// The format its content says it is (its name and declared type are not trusted).
    async fn sniff(&self) -> Result<Format, UploadError> {
        const OLE2: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        if self.head.starts_with(OLE2) {
            // A password-protected DOCX is an OLE2 file with an `EncryptionInfo` stream; a legacy .doc has
            // none. The stream's directory entry may stand anywhere in the file, which is searched in chunks
            // of bounded size, never read whole.
            let marker = folio_extract::encryption_info_marker();
            if file_contains(&self.spool, &marker).await.map_err(UploadError::Spool)? {
                return Ok(Format::Docx);
            }
            let word = folio_extract::word_document_marker();
            let found = file_contains(&self.spool, &word).await.map_err(UploadError::Spool)?;
            return Ok(if found { Format::Doc } else { Format::Unknown });
        }
        let mut both = self.head.clone();
        both.extend_from_slice(&self.tail);
        Ok(Format::sniff(&both))
    }
}

/// Whether the file holds `needle`, read 1 MiB at a time (memory holds one chunk and the needle's length).
async fn file_contains(path: &Path, needle: &[u8]) -> std::io::Result<bool> {
    use tokio::io::AsyncReadExt;
    const CHUNK: usize = 1 << 20;
    let mut file = tokio::fs::File::open(path).await?;
    let mut window: Vec<u8> = Vec::with_capacity(CHUNK + needle.len());
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut chunk).await?;
        if n == 0 {
            return Ok(false);
        }
        window.extend_from_slice(&chunk[..n]);
        if window.windows(needle.len()).any(|w| w == needle) {
            return Ok(true);
        }
        let keep = needle.len().saturating_sub(1).min(window.len());
        window.drain(..window.len() - keep);
    }
}

/// Writes an arriving file to a temporary file, hashing it and counting its size on the way; refuses it as
/// soon as it passes `limit` bytes. Memory holds one chunk and the sniffing bytes, whatever the file's size.
pub struct Spooler {
    file: tokio::fs::File,
    path: tempfile::TempPath,
    hash: Sha256,
    bytes: u64,
    limit: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Spooler {
    pub async fn new(dir: &Path, limit: u64) -> Result<Self, UploadError> {
        let (file, path) =
            tempfile::Builder::new().prefix("folio-upload-").tempfile_in(dir).map_err(UploadError::Spool)?.into_parts();
        Ok(Self {
            file: tokio::fs::File::from_std(file),
            path,
            hash: Sha256::new(),
            bytes: 0,
            limit,
            head: Vec::new(),
            tail: Vec::new(),
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), UploadError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > self.limit {
            return Err(UploadError::TooLarge(self.limit));
        }
        self.hash.update(chunk);
        if self.head.len() < SNIFF_BYTES {
            let take = chunk.len().min(SNIFF_BYTES - self.head.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.tail.extend_from_slice(&chunk[chunk.len().saturating_sub(SNIFF_BYTES)..]);
        if self.tail.len() > SNIFF_BYTES {
            self.tail.drain(..self.tail.len() - SNIFF_BYTES);
        }
        self.file.write_all(chunk).await.map_err(UploadError::Spool)
    }

    pub async fn finish(mut self, name: &str) -> Result<IncomingFile, UploadError> {
        self.file.flush().await.map_err(UploadError::Spool)?;
        Ok(IncomingFile {
            name: name.to_string(),
            spool: self.path,
            sha256: hex::encode(self.hash.finalize()),
            bytes: self.bytes,
            head: self.head,
            tail: self.tail,
        })
    }
}

/// What an upload became.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Accepted {
    pub catalogue_id: Uuid,
    pub contribution_id: Uuid,
    /// False when the same contribution was already there (a retried upload).
    pub created: bool,
    pub documents: Vec<AcceptedDocument>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct AcceptedDocument {
    pub id: Uuid,
    /// The name it is stored under (the front end's, cleaned).
    pub file_name: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// What was sent breaks the contract or the call: each problem is a sentence for the person uploading.
    #[error("the upload was refused: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// A file that is not a format Folio reads, or not the format its name says.
    #[error("the upload was refused: {}", .0.join("; "))]
    Unsupported(Vec<String>),
    /// A file larger than the limit (bytes).
    #[error("a file is larger than {0} bytes")]
    TooLarge(u64),
    #[error("there is no catalogue '{0}'")]
    UnknownCatalogue(String),
    /// The `Idempotency-Key` was used before for another request.
    #[error("the Idempotency-Key was used before for another upload")]
    KeyReused,
    #[error("writing the upload to a temporary file: {0}")]
    Spool(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl UploadError {
    /// Whether the same upload may succeed later (a database, blob store or broker that is down, a full disk).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Invalid(_)
            | Self::Unsupported(_)
            | Self::TooLarge(_)
            | Self::UnknownCatalogue(_)
            | Self::KeyReused => false,
            Self::Spool(_) => true,
            Self::Store(e) => e.is_retryable(),
            Self::Blob(e) => e.is_retryable(),
            Self::Queue(e) => e.is_retryable(),
        }
    }
}

/// The file name extensions Folio knows, and the format each claims.
fn claimed_format(name: &str) -> Option<Format> {
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "pdf" => Format::Pdf,
        "docx" => Format::Docx,
        "jpg" | "jpeg" => Format::Jpeg,
        "png" => Format::Png,
        "tif" | "tiff" => Format::Tiff,
        "webp" => Format::Webp,
        "gif" => Format::Gif,
        "doc" => Format::Doc,
        "odt" => Format::Odt,
        "rtf" => Format::Rtf,
        _ => return None,
    })
}

fn described(format: Format) -> &'static str {
    match format {
        Format::Pdf => "a PDF",
        Format::Docx => "a Word document (DOCX)",
        Format::Jpeg => "a JPEG image",
        Format::Png => "a PNG image",
        Format::Tiff => "a TIFF image",
        Format::Webp => "a WebP image",
        Format::Gif => "a GIF image",
        Format::Doc => "a Word 97-2003 document (.doc)",
        Format::Odt => "an OpenDocument text (.odt)",
        Format::Rtf => "a Rich Text Format document (.rtf)",
        Format::Unknown => "of no format Folio reads",
    }
}

/// The checksum an `Idempotency-Key` is tied to: the catalogue, the metadata and every file's name and
/// checksum, in order.
pub fn request_checksum(catalogue_key: &str, fields: &ContributionFields, files: &[IncomingFile]) -> String {
    let mut hash = Sha256::new();
    hash.update(catalogue_key.as_bytes());
    hash.update([0]);
    hash.update(serde_json::to_vec(fields).unwrap_or_default());
    for f in files {
        hash.update([0]);
        hash.update(f.name.as_bytes());
        hash.update([0]);
        hash.update(f.sha256.as_bytes());
    }
    hex::encode(hash.finalize())
}

/// The answer an accepted upload got, read back from the database (for a retried `Idempotency-Key`).
pub async fn accepted_of(
    store: &dyn Store,
    catalogue_id: Uuid,
    contribution_id: Uuid,
) -> Result<Accepted, UploadError> {
    let documents = store
        .documents(catalogue_id)
        .await?
        .into_iter()
        .filter(|d| d.contribution_id == contribution_id)
        .map(|d| AcceptedDocument { id: d.id, file_name: d.file_name, sha256: d.sha256, bytes: d.bytes })
        .collect();
    Ok(Accepted { catalogue_id, contribution_id, created: false, documents })
}

/// The prefix under which a front end puts the files of an upload it publishes to the queue; a `blob_key`
/// elsewhere (another catalogue's bundle, an original) is refused.
pub const UPLOADS_PREFIX: &str = "incoming/";

/// The files of a queued upload, with their content: decoded when inline, read from the blob store when the
/// front end put them there. Their count and each blob's size are checked before anything is fetched; a blob
/// may only be named under [`UPLOADS_PREFIX`].
pub async fn resolve_files(
    blobs: &dyn BlobStore,
    files: &[UploadFile],
    spool_dir: &Path,
    max_file_bytes: u64,
) -> Result<Vec<IncomingFile>, UploadError> {
    use base64::Engine as _;
    if files.len() > MAX_FILES {
        return Err(UploadError::Invalid(vec![format!(
            "an upload carries at most {MAX_FILES} files, not {}",
            files.len()
        )]));
    }
    let mut problems = Vec::new();
    for file in files {
        let Some(key) = &file.blob_key else { continue };
        let shown = file.name.escape_debug();
        if !key.starts_with(UPLOADS_PREFIX) || key.split('/').any(|part| part == ".." || part == ".") {
            problems.push(format!(
                "'{shown}': a `blob_key` names a blob under '{UPLOADS_PREFIX}', not '{}'",
                key.escape_debug()
            ));
            continue;
        }
        match blobs.size(key).await {
            Ok(size) if size > max_file_bytes => {
                problems.push(format!("'{shown}' is {size} bytes, more than a file may be ({max_file_bytes} bytes)"))
            }
            Ok(_) => {}
            Err(e) if e.is_retryable() => return Err(e.into()),
            Err(e) => problems.push(format!("'{shown}': its blob cannot be read ({e})")),
        }
    }
    if !problems.is_empty() {
        return Err(UploadError::Invalid(problems));
    }
    let mut resolved = Vec::with_capacity(files.len());
    for file in files {
        match (&file.content_base64, &file.blob_key) {
            (Some(content), None) => {
                // Base64 of MAX_INLINE_BYTES is 4/3 of it; a longer string is refused before it is decoded.
                if content.len() > folio_core::upload::MAX_INLINE_BYTES / 3 * 4 + 8 {
                    problems.push(format!(
                        "'{}' is more than a message carries inline ({} bytes): put it in the blob store under '{UPLOADS_PREFIX}' and send its `blob_key`",
                        file.name,
                        folio_core::upload::MAX_INLINE_BYTES
                    ));
                    continue;
                }
                match base64::engine::general_purpose::STANDARD.decode(content.trim()) {
                    Ok(bytes) if bytes.len() > folio_core::upload::MAX_INLINE_BYTES => problems.push(format!(
                        "'{}' is {} bytes, more than a message carries inline ({} bytes): put it in the blob store under '{UPLOADS_PREFIX}' and send its `blob_key`",
                        file.name,
                        bytes.len(),
                        folio_core::upload::MAX_INLINE_BYTES
                    )),
                    Ok(bytes) => resolved.push(IncomingFile::from_bytes(&file.name, &bytes, spool_dir).await?),
                    Err(e) => problems.push(format!("'{}' has `content_base64` that is not base64 ({e})", file.name)),
                }
            }
            (None, Some(key)) => match blobs.get(key).await {
                Ok(bytes) => resolved.push(IncomingFile::from_bytes(&file.name, &bytes, spool_dir).await?),
                Err(e) if e.is_retryable() => return Err(e.into()),
                Err(e) => problems.push(format!("'{}': its blob cannot be read ({e})", file.name)),
            },
            _ => problems.push(format!("'{}' needs exactly one of `content_base64` and `blob_key`", file.name)),
        }
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(UploadError::Invalid(problems))
    }
}

/// Takes one upload in (see the module's documentation), and counts it (`folio_uploads_total`).
pub async fn accept(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    queue: &dyn WorkQueue,
    catalogue_key: &str,
    fields: &ContributionFields,
    files: Vec<IncomingFile>,
    traceparent: Option<&str>,
) -> Result<Accepted, UploadError> {
    let accepted = async move {
        if !is_catalogue_key(catalogue_key) {
            return Err(UploadError::UnknownCatalogue(catalogue_key.chars().take(80).collect()));
        }
        let catalogue_id = catalogue_id_for_key(catalogue_key);
        let Some(catalogue) = store.catalogue(catalogue_id).await? else {
            return Err(UploadError::UnknownCatalogue(catalogue_key.to_string()));
        };
        let mut problems = Vec::new();
        let contribution = match fields.to_contribution(catalogue_id) {
            Ok(c) => Some(c),
            Err(p) => {
                problems.extend(p);
                None
            }
        };
        if let Some(c) = &contribution {
            let chapters = store.chapters(catalogue_id).await?;
            if !chapters.iter().any(|ch| ch.key == c.chapter_key) {
                let keys: Vec<&str> = catalogue.config.chapters.iter().map(|ch| ch.id.as_str()).collect();
                problems.push(format!(
                    "chapter '{}' is not one of the catalogue's chapters ({})",
                    c.chapter_key,
                    keys.join(", ")
                ));
            }
        }
        if files.is_empty() {
            problems.push("an upload needs at least one file".into());
        }
        if files.len() > MAX_FILES {
            problems.push(format!("an upload carries at most {MAX_FILES} files, not {}", files.len()));
        }
        let mut unsupported = Vec::new();
        let mut names = Vec::with_capacity(files.len());
        for file in &files {
            match clean_file_name(&file.name) {
                Some(name) if names.contains(&name) => problems.push(format!("two files are named '{name}'")),
                Some(name) => names.push(name),
                None => problems.push(format!("'{}' is not a usable file name", file.name.escape_debug())),
            }
            if file.bytes == 0 {
                problems.push(format!("'{}' is empty", file.name.escape_debug()));
                continue;
            }
            let format = file.sniff().await?;
            let shown = file.name.escape_debug();
            match claimed_format(&file.name) {
                _ if format == Format::Unknown => unsupported.push(format!(
                    "'{shown}' is not a PDF, a Word document (DOCX, DOC), an OpenDocument or RTF text, or an image \
                     (JPEG, PNG, TIFF, WebP, GIF)"
                )),
                // Read through LibreOffice: without it here (the gateway runs the workers' image), say what to
                // install rather than take a file no worker will read.
                _ if format.is_legacy_office() && folio_extract::find_office().is_none() => unsupported.push(format!(
                    "'{shown}' is {}, which Folio reads by converting it with LibreOffice, and LibreOffice is not \
                     installed here: install it (Debian: apt-get install libreoffice-writer-nogui) or send the file \
                     as DOCX or PDF",
                    described(format)
                )),
                Some(claimed) if claimed != format => unsupported.push(format!(
                    "'{shown}' is {}, not {} as its name says: rename it or send the right file",
                    described(format),
                    described(claimed)
                )),
                _ => {}
            }
        }
        let contribution = match contribution {
            Some(c) if problems.is_empty() && unsupported.is_empty() => c,
            _ if problems.is_empty() => return Err(UploadError::Unsupported(unsupported)),
            _ => {
                problems.extend(unsupported);
                return Err(UploadError::Invalid(problems));
            }
        };

        let mut documents = Vec::with_capacity(files.len());
        for (file, name) in files.into_iter().zip(names) {
            let sha256 = file.sha256.clone();
            let blob_key = format!("originals/{}/{}", &sha256[..2], sha256);
            let bytes = file.bytes;
            if !blobs.exists(&blob_key).await? {
                blobs.put_file(&blob_key, &file.spool).await?;
            }
            documents.push(Document {
                id: Document::derive_id(contribution.id, &name, &sha256),
                contribution_id: contribution.id,
                file_name: name,
                sha256,
                bytes,
                blob_key,
                state: DocumentState::Queued,
                attempts: 0,
                last_error: None,
                password: None,
            });
        }
        let created = store.add_contribution(catalogue_id, &contribution, &documents).await?;
        // Work is asked for after the commit; if this fails the upload is retried, or the reconciler finds the
        // queued documents whose request never came.
        for d in &documents {
            let finished = store.document(d.id).await?.is_some_and(|stored| stored.state.is_terminal());
            if !finished {
                queue.publish(&WorkRequest::new(catalogue_id, d.id).traced(traceparent)).await?;
            }
        }
        tracing::info!(
            catalogue = catalogue_key,
            contribution_id = %contribution.id,
            created,
            documents = documents.len(),
            trace_id = traceparent.map(folio_core::trace::trace_id).unwrap_or("-"),
            "upload accepted"
        );
        Ok(Accepted {
            catalogue_id,
            contribution_id: contribution.id,
            created,
            documents: documents
                .into_iter()
                .map(|d| AcceptedDocument { id: d.id, file_name: d.file_name, sha256: d.sha256, bytes: d.bytes })
                .collect(),
        })
    }
    .await;
    match &accepted {
        Ok(a) => crate::metrics::upload(if a.created { "created" } else { "repeated" }),
        Err(e) if !e.is_retryable() => crate::metrics::upload("refused"),
        Err(_) => {}
    }
    accepted
}

#[cfg(test)]
mod tests {
    use super::*;
    use folio_core::upload::UploadFile;
    use folio_store::{FileBlobStore, InProcessQueue};

    fn png() -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3])).write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    /// A queued upload names blobs under the uploads prefix only; the count of files and each blob's size are
    /// checked before anything is fetched.
    #[tokio::test]
    async fn a_queued_upload_reaches_only_its_own_blobs_within_the_limits() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FileBlobStore::new(dir.path().join("blobs")).unwrap();
        blobs.put("bundles/other/1/manifest.json", b"{}".to_vec()).await.unwrap();
        blobs.put("incoming/front-end/photo.png", png()).await.unwrap();
        blobs.put("incoming/front-end/huge.png", vec![0u8; 5000]).await.unwrap();
        let file =
            |name: &str, key: &str| UploadFile { name: name.into(), content_base64: None, blob_key: Some(key.into()) };
        let spool = dir.path();
        let refused = |outcome: Result<Vec<IncomingFile>, UploadError>| match outcome {
            Err(UploadError::Invalid(problems)) => problems.join("; "),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("accepted"),
        };
        let outside =
            refused(resolve_files(&blobs, &[file("m.json", "bundles/other/1/manifest.json")], spool, 1000).await);
        assert!(outside.contains("under 'incoming/'"), "{outside}");
        let climbing = [file("x", "incoming/../bundles/other/1/manifest.json")];
        assert!(refused(resolve_files(&blobs, &climbing, spool, 1000).await).contains("under 'incoming/'"));
        let huge =
            refused(resolve_files(&blobs, &[file("huge.png", "incoming/front-end/huge.png")], spool, 1000).await);
        assert!(huge.contains("5000 bytes"), "the size, from the store's metadata, before fetching: {huge}");
        let many: Vec<UploadFile> =
            (0..=MAX_FILES).map(|i| file(&format!("{i}.png"), "incoming/front-end/photo.png")).collect();
        assert!(refused(resolve_files(&blobs, &many, spool, 1000).await).contains("at most 50 files"));
        let ok =
            resolve_files(&blobs, &[file("photo.png", "incoming/front-end/photo.png")], spool, 1000).await.unwrap();
        assert_eq!(ok.len(), 1);
    }

    /// The marker of a protected DOCX is found wherever it stands in the file, across the chunks it is read in.
    #[tokio::test]
    async fn a_file_is_searched_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let needle = b"EncryptionInfo";
        let mut bytes = vec![0u8; (1 << 20) - 5];
        bytes.extend_from_slice(needle);
        bytes.extend_from_slice(&[1u8; 100]);
        std::fs::write(&path, &bytes).unwrap();
        assert!(file_contains(&path, needle).await.unwrap(), "across the first chunk's end");
        assert!(!file_contains(&path, b"not there at all").await.unwrap());
    }

    /// An upload's trace context goes on every work request it makes; a file that is not what its name says
    /// is refused as unsupported, before anything is stored.
    #[tokio::test]
    async fn work_requests_carry_the_uploads_trace_and_liars_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            folio_store::open_store(&format!("sqlite://{}", dir.path().join("folio.db").display())).await.unwrap();
        let blobs = FileBlobStore::new(dir.path().join("blobs")).unwrap();
        let queue = InProcessQueue::new();
        let config =
            folio_core::CatalogueConfig::from_toml("title = \"T\"\n[[chapters]]\nid = \"one\"\ntitle = \"One\"\n")
                .unwrap();
        store.put_catalogue(catalogue_id_for_key("t"), &config, "test").await.unwrap();
        let fields: ContributionFields = serde_json::from_value(serde_json::json!({
            "chapter": "one", "state": "Chile", "author": "A", "title": "Photo", "kind": "photograph",
            "role": "donor", "modality": "bilateral", "received": "2012-04-01", "rights": "CC0"
        }))
        .unwrap();
        let spool = dir.path();
        let liar = vec![IncomingFile::from_bytes("scan.pdf", &png(), spool).await.unwrap()];
        let refused = accept(store.as_ref(), &blobs, &queue, "t", &fields, liar, None).await.unwrap_err();
        assert!(
            matches!(&refused, UploadError::Unsupported(p) if p[0].contains("is a PNG image, not a PDF")),
            "{refused}"
        );
        assert!(blobs.list("originals/").await.unwrap().is_empty(), "nothing stored");

        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let files = vec![IncomingFile::from_bytes("photo.png", &png(), spool).await.unwrap()];
        let accepted = accept(store.as_ref(), &blobs, &queue, "t", &fields, files, Some(tp)).await.unwrap();
        assert!(accepted.created);
        let delivery = queue.next().await.expect("a work request");
        let request = delivery.request().expect("work, not an upload").clone();
        assert_eq!(request.traceparent.as_deref(), Some(tp));
        assert_eq!(request.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(request.document_id, accepted.documents[0].id);
    }
}
