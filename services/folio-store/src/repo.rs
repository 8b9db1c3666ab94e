//! The database of records: the source of truth for what exists and what is done.

use async_trait::async_trait;
use chrono::NaiveDate;
use folio_core::duplicates::TextDigest;
use folio_core::{
    CatalogueConfig, Chapter, ConfirmedClassification, Contribution, ContributionKind, Decision, DecisionAction,
    Document, Finding, FindingCode, Record,
};
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no database for URL '{0}' (use sqlite://PATH or postgres://USER@HOST/DATABASE)")]
    UnsupportedUrl(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(
        "the TLS handshake with the database at {host} failed: {reason}; this side trusts {trusted}, and the \
         server's certificate must be signed by it and, with sslmode=verify-full, name the URL's host"
    )]
    Tls { host: String, reason: String, trusted: String },
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// What a write refers to is not there (a catalogue, a chapter): the caller's mistake, not retryable.
    #[error("{0}")]
    NotFound(String),
}

impl StoreError {
    /// Whether trying again later may succeed (a lost connection, a busy database), as opposed to a bug or
    /// bad data that will fail the same way every time.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Database(e) => retryable(e),
            _ => false,
        }
    }
}

fn retryable(e: &sqlx::Error) -> bool {
    if matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed
    ) {
        return true;
    }
    let Some(d) = e.as_database_error() else {
        return false;
    };
    match d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        Some(pg) => retryable_sqlstate(pg.code()),
        // SQLite names no class of error; a locked or busy database is the one that passes.
        None => {
            let m = d.message();
            m.contains("locked") || m.contains("busy")
        }
    }
}

/// PostgreSQL's error codes (SQLSTATE) after which the same work may succeed: the connection was lost
/// (class 08), the transaction lost a race to another (serialization failure 40001, deadlock 40P01, lock
/// not available 55P03), the server is out of connections (53300) or shutting down, restarting or
/// starting (57P01, 57P02, 57P03).
fn retryable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "40001" | "40P01" | "55P03" | "53300" | "57P01" | "57P02" | "57P03")
}

/// Everything one reading of an intake folder says, written in one transaction. Documents already known keep
/// their state and records; documents and contributions no longer in the intake are removed.
#[derive(Debug, Clone)]
pub struct IntakeSnapshot {
    pub catalogue_id: Uuid,
    pub config: CatalogueConfig,
    /// Where the intake came from, for people (a folder path).
    pub source: String,
    pub chapters: Vec<Chapter>,
    pub contributions: Vec<Contribution>,
    pub documents: Vec<Document>,
    /// Findings of the intake itself (bad rows, missing and unlisted files).
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone)]
pub struct CatalogueRow {
    pub id: Uuid,
    pub title: String,
    pub deadline: Option<NaiveDate>,
    pub config: CatalogueConfig,
    pub source: Option<String>,
}

/// What a worker writes for a document.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// The record, with its `text` left out (it is kept beside).
    pub record: Record,
    pub text: String,
    pub thumbnail_key: Option<String>,
    /// What the checks need of the text, kept with the record ([`StoredRecord::new`] computes it).
    pub digest: TextDigest,
}

impl StoredRecord {
    /// A record to write, with its text's digest. The digest reads the whole text: call it off the async
    /// runtime's threads for a long one.
    pub fn new(record: Record, text: String, thumbnail_key: Option<String>) -> Self {
        let digest = TextDigest::of(&text);
        Self { record, text, thumbnail_key, digest }
    }
}

/// A record as read back, without its text: what everything but the book needs. The text is read apart
/// ([`Store::text`], [`Store::texts`]) by what prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSummary {
    pub record: Record,
    pub thumbnail_key: Option<String>,
    pub digest: TextDigest,
}

/// How far a chapter's documents are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChapterProgress {
    pub key: String,
    pub title: String,
    pub position: u32,
    pub documents: u64,
    /// Documents in a terminal state (done or failed).
    pub finished: u64,
    pub failed: u64,
}

impl ChapterProgress {
    /// Every document is in a terminal state.
    pub fn cleared(&self) -> bool {
        self.finished == self.documents
    }
}

/// The answer to a worker asking for a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The worker holds the document until its lease runs out. Its contribution's declared kind comes with it
    /// (a photograph is not OCRed unless the settings ask), read in the claim's own statement.
    Granted { document: Document, kind: ContributionKind },
    /// Already done or failed: the request is a duplicate and can be dropped.
    Finished,
    /// Another worker holds a live lease on it.
    Held,
    /// No such document (removed since the request was sent).
    Missing,
    /// This claim would pass the attempt limit: the document was marked failed.
    GaveUp,
}

/// What a reconciler sweep ([`Store::reconcile`]) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Documents whose work request is to be sent again: `(catalogue id, document id)`.
    pub requeue: Vec<(Uuid, Uuid)>,
    /// Documents whose lease ran out after their last attempt: now failed.
    pub failed: Vec<Uuid>,
}

/// Where a build stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildState {
    /// Claimed by a coordinator (or `folio process`), not finished.
    Assembling,
    /// Its bundle is written.
    Done,
}

impl BuildState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assembling => "assembling",
            Self::Done => "done",
        }
    }
}

impl std::str::FromStr for BuildState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "assembling" => Ok(Self::Assembling),
            "done" => Ok(Self::Done),
            other => Err(format!("'{other}' is not a build state")),
        }
    }
}

/// One build of a catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRow {
    pub number: u32,
    pub state: BuildState,
    /// Where the bundle is (empty while assembling).
    pub location: String,
    pub manifest_sha256: String,
    /// The stamp of the inputs it was made from (`None` for builds made before `folio process` stamped its
    /// builds).
    pub input_stamp: Option<String>,
    /// Whether its `catalogue.assembled` event was confirmed.
    pub announced: bool,
    /// What it was made of, as JSON (folio-bundle's `BuildContents`), for the next build's change list;
    /// `None` while assembling and for builds made before contents were kept.
    pub contents: Option<String>,
}

/// A build made, as [`Builds::finish_build`] notes it.
#[derive(Debug, Clone, Copy)]
pub struct FinishedBuild<'a> {
    pub catalogue_id: Uuid,
    pub number: u32,
    /// Where the bundle is.
    pub location: &'a str,
    pub manifest_sha256: &'a str,
    /// What it was made of, as JSON (folio-bundle's `BuildContents`), for the next build's change list.
    pub contents: &'a str,
}

/// Which decision: the contribution, the action and, for a waiver, the finding's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionKey {
    pub contribution_id: Uuid,
    pub action: DecisionAction,
    pub code: Option<FindingCode>,
}

/// An upload's `Idempotency-Key` and what it was first used for.
#[derive(Debug, Clone, Copy)]
pub struct UploadKey<'a> {
    pub key: &'a str,
    /// The checksum of the request (its metadata and each file's name and checksum).
    pub request_sha256: &'a str,
    pub contribution_id: Uuid,
}

/// Which findings a write replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingSource {
    Intake,
    Rules,
}

impl FindingSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            Self::Rules => "rules",
        }
    }
}

/// Catalogues and their intake: what a catalogue holds (chapters, contributions, documents), how it is filled
/// (from a folder, or one upload at a time), what the intake and the rules found, and how far it is. The
/// gateway, `folio process` and the coordinator use it.
#[async_trait]
pub trait Catalogues: Send + Sync {
    async fn sync_intake(&self, snapshot: &IntakeSnapshot) -> Result<(), StoreError>;

    /// Creates a catalogue or updates its settings (title, deadline, rules) and chapters (titles and order,
    /// from `config.chapters`), leaving its contributions as they are: how a catalogue fed by uploads is set
    /// up. A chapter no longer listed is removed only when no contribution belongs to it.
    async fn put_catalogue(&self, catalogue_id: Uuid, config: &CatalogueConfig, source: &str)
        -> Result<(), StoreError>;

    /// Adds one contribution and its documents to a catalogue, as an upload does. Idempotent: a contribution
    /// or document already there (the same derived id) is left as it is, so a retried upload changes
    /// nothing. Returns whether the contribution was new. [`StoreError::NotFound`] when the catalogue or the
    /// contribution's chapter does not exist.
    async fn add_contribution(
        &self,
        catalogue_id: Uuid,
        contribution: &Contribution,
        documents: &[Document],
    ) -> Result<bool, StoreError>;

    async fn catalogue(&self, id: Uuid) -> Result<Option<CatalogueRow>, StoreError>;

    /// In book order.
    async fn chapters(&self, catalogue_id: Uuid) -> Result<Vec<Chapter>, StoreError>;

    /// In intake order within each chapter.
    async fn contributions(&self, catalogue_id: Uuid) -> Result<Vec<Contribution>, StoreError>;

    /// One contribution, by id (a worker reads the kind its sender declared).
    async fn contribution(&self, id: Uuid) -> Result<Option<Contribution>, StoreError>;

    async fn documents(&self, catalogue_id: Uuid) -> Result<Vec<Document>, StoreError>;

    async fn document(&self, id: Uuid) -> Result<Option<Document>, StoreError>;

    async fn replace_findings(
        &self,
        catalogue_id: Uuid,
        source: FindingSource,
        findings: &[Finding],
    ) -> Result<(), StoreError>;

    async fn findings(&self, catalogue_id: Uuid) -> Result<Vec<Finding>, StoreError>;

    /// In book order.
    async fn progress(&self, catalogue_id: Uuid) -> Result<Vec<ChapterProgress>, StoreError>;

    /// Every catalogue's id.
    async fn catalogue_ids(&self) -> Result<Vec<Uuid>, StoreError>;

    /// A marker that changes whenever anything a build of the catalogue is made from may have changed: its
    /// intake written again, a document's state, a record. Cheap: it reads no text, so the coordinator reads
    /// the catalogue whole only when the marker moved.
    async fn change_marker(&self, catalogue_id: Uuid) -> Result<String, StoreError>;
}

/// Records as workers wrote them: read without their text by everything but the book, and their text apart.
#[async_trait]
pub trait Records: Send + Sync {
    /// A document's record, without its text.
    async fn record(&self, document_id: Uuid) -> Result<Option<RecordSummary>, StoreError>;

    /// Every record of the catalogue, by document id, without their text.
    async fn records(&self, catalogue_id: Uuid) -> Result<Vec<(Uuid, RecordSummary)>, StoreError>;

    /// A document's text (`None` when it has no record).
    async fn text(&self, document_id: Uuid) -> Result<Option<String>, StoreError>;

    /// The text of every document of the catalogue that has a record, by document id: for assembling the
    /// book, once per build.
    async fn texts(&self, catalogue_id: Uuid) -> Result<Vec<(Uuid, String)>, StoreError>;
}

/// Documents' leases: how workers take, renew and give back documents, and how the reconciler takes back
/// what stopped workers held.
#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes a document for processing: a conditional change of state that at most one worker wins. A lease
    /// that ran out (its worker died) can be taken over. `limit` bounds how often a document is tried (its
    /// attempts).
    async fn claim(&self, document: Uuid, worker: &str, lease: Duration, limit: u32) -> Result<Claim, StoreError>;

    /// Writes the record and marks the document done, if `worker` still holds it. `false` when it does not
    /// (its lease ran out and another worker took over): nothing is written.
    async fn complete(&self, document_id: Uuid, worker: &str, record: &StoredRecord) -> Result<bool, StoreError>;

    /// Gives a held document back: to the queue (`terminal == false`) or as failed with `error`.
    async fn release(&self, document_id: Uuid, worker: &str, error: &str, terminal: bool) -> Result<bool, StoreError>;

    /// Gives back a document `worker` claimed but never started to read (it stopped while the document waited
    /// for a parser): queued again, its claim's attempt not counted, its last error as it was. `false` when
    /// the worker no longer holds it.
    async fn give_back_unread(&self, document_id: Uuid, worker: &str) -> Result<bool, StoreError>;

    /// Extends the lease of a document `worker` holds, while it works on it (a heartbeat): `false` when it no
    /// longer holds it (its lease ran out and it was taken back).
    async fn renew_lease(&self, document_id: Uuid, worker: &str, lease: Duration) -> Result<bool, StoreError>;

    /// The reconciler's sweep over every catalogue, in one pass:
    /// - a document whose worker stopped holding it (its lease ran out) goes back to `queued`, or to `failed`
    ///   when it has used `max_attempts`, with the reason in `last_error`;
    /// - with `lost_after`, a document `queued` and untouched that long (its request was lost, or never sent)
    ///   is touched, so that the next sweeps leave it alone for as long again.
    ///
    /// Returns at most `limit` documents whose request is to be sent again, and those that failed.
    async fn reconcile(
        &self,
        lost_after: Option<Duration>,
        max_attempts: u32,
        limit: u32,
    ) -> Result<Reconciled, StoreError>;

    /// Marks a document failed with `error` unless it is finished already (done or failed): for a request the
    /// broker dead-lettered after the document used its attempts. `false` when nothing changed.
    async fn fail_document(&self, document_id: Uuid, error: &str) -> Result<bool, StoreError>;

    /// Puts documents of the catalogue that were being processed back in the queue state, whatever their
    /// lease: for a single process restarting after a crash, when no other worker can be holding them.
    async fn requeue_processing(&self, catalogue_id: Uuid) -> Result<u64, StoreError>;

    /// Seconds the oldest queued document (of every catalogue) has waited since it was queued or last
    /// touched; `None` when none waits. For the `folio_oldest_waiting_seconds` metric.
    async fn oldest_queued_secs(&self) -> Result<Option<f64>, StoreError>;
}

/// Builds and their outbox: claims on assembling a catalogue, the builds made, and which were announced and
/// delivered to the webhook.
#[async_trait]
pub trait Builds: Send + Sync {
    /// Takes the right to assemble the catalogue from inputs with this `stamp`: the number of the build to
    /// make, or `None` when the latest build was made from the same stamp, or another coordinator holds a live
    /// claim on one. A claim whose lease ran out (its coordinator died) is taken over, keeping its number.
    async fn claim_build(
        &self,
        catalogue_id: Uuid,
        stamp: &str,
        coordinator: &str,
        lease: Duration,
    ) -> Result<Option<u32>, StoreError>;

    /// Marks a claimed build done, with where its bundle is and what it was made of (`contents`, JSON);
    /// `false` when `coordinator` no longer holds it.
    async fn finish_build(&self, claimant: &str, build: &FinishedBuild<'_>) -> Result<bool, StoreError>;

    /// Gives back the claim on build `number` whose assembly failed: the next claim (the next sweep of this
    /// coordinator or another's) takes it over at once, with its number, rather than after the lease;
    /// `false` when `claimant` no longer holds it.
    async fn release_build(&self, catalogue_id: Uuid, number: u32, claimant: &str) -> Result<bool, StoreError>;

    /// The catalogue's builds, by number.
    async fn builds(&self, catalogue_id: Uuid) -> Result<Vec<BuildRow>, StoreError>;

    /// The coordinator's builds that are done but whose event has not been confirmed: `(catalogue id, build)`.
    async fn unannounced_builds(&self) -> Result<Vec<(Uuid, BuildRow)>, StoreError>;

    /// Notes that a build's event was confirmed.
    async fn mark_announced(&self, catalogue_id: Uuid, number: u32) -> Result<(), StoreError>;

    /// The coordinator's builds that are done but not yet delivered to the webhook: `(catalogue id, build)`.
    async fn undelivered_webhooks(&self) -> Result<Vec<(Uuid, BuildRow)>, StoreError>;

    /// Notes that a build's webhook delivery was answered 2xx.
    async fn mark_webhook_delivered(&self, catalogue_id: Uuid, number: u32) -> Result<(), StoreError>;
}

/// Editors' decisions (waivers, exclusions) and confirmed classifications.
#[async_trait]
pub trait Editorial: Send + Sync {
    /// Records an editor's decision, replacing an earlier one on the same contribution, action and finding
    /// code, and marks the catalogue changed (its next build applies it). [`StoreError::NotFound`] when the
    /// contribution is not in the catalogue.
    async fn put_decision(&self, catalogue_id: Uuid, decision: &Decision) -> Result<(), StoreError>;

    /// Takes a decision back (and marks the catalogue changed); `false` when there was none.
    async fn remove_decision(&self, catalogue_id: Uuid, key: DecisionKey) -> Result<bool, StoreError>;

    /// The catalogue's decisions, in the order they were first made.
    async fn decisions(&self, catalogue_id: Uuid) -> Result<Vec<Decision>, StoreError>;

    /// Sets how the book prints a contribution's PDFs (`None`: as nobody said, as made) and marks the
    /// catalogue changed when that changed anything. [`StoreError::NotFound`] when the contribution is not
    /// in the catalogue.
    async fn set_layout(
        &self,
        catalogue_id: Uuid,
        contribution_id: Uuid,
        layout: Option<folio_core::Layout>,
    ) -> Result<(), StoreError>;

    /// Records (or replaces) what an editor confirmed of a contribution's classification, and marks the
    /// catalogue changed. [`StoreError::NotFound`] when the catalogue has no such contribution.
    async fn put_classification(
        &self,
        catalogue_id: Uuid,
        confirmed: &ConfirmedClassification,
    ) -> Result<(), StoreError>;

    /// Withdraws a confirmation (Folio's suggestion stands again); `false` when there was none.
    async fn remove_classification(&self, catalogue_id: Uuid, contribution_id: Uuid) -> Result<bool, StoreError>;

    /// The catalogue's confirmed classifications, in the order they were first made.
    async fn classifications(&self, catalogue_id: Uuid) -> Result<Vec<ConfirmedClassification>, StoreError>;
}

/// Uploads' `Idempotency-Key`s.
#[async_trait]
pub trait UploadKeys: Send + Sync {
    /// What an upload's `Idempotency-Key` was first used for: `(request checksum, contribution id)`.
    async fn upload_key(&self, catalogue_id: Uuid, key: &str) -> Result<Option<(String, Uuid)>, StoreError>;

    /// Notes an upload's `Idempotency-Key`; a key already noted keeps its first use.
    async fn remember_upload_key(&self, catalogue_id: Uuid, first_use: &UploadKey<'_>) -> Result<(), StoreError>;
}

/// The whole database of records, as an engine implements it: each capability above, and the schema. A role
/// is handed the capabilities it uses (`Arc<dyn Leases>` for a worker, say); start-up opens a `Store`.
#[async_trait]
pub trait Store: Catalogues + Records + Leases + Builds + Editorial + UploadKeys {
    /// Brings the schema up to date.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// A round trip to the database, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_codes_of_passing_faults_are_retryable() {
        for code in ["08006", "08001", "40001", "40P01", "57P01", "57P03"] {
            assert!(retryable_sqlstate(code), "{code}");
        }
        // Unique violation, syntax error, undefined table: the same every time.
        for code in ["23505", "42601", "42P01", "22P05"] {
            assert!(!retryable_sqlstate(code), "{code}");
        }
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(!StoreError::UnsupportedUrl("mysql://x".into()).is_retryable());
    }
}
