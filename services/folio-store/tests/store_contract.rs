//! The behaviour every `Store` must have, checked against every engine: each check below is a function of a
//! store, and `engines!` makes one test of it per engine (`sqlite::NAME`, `postgres::NAME`).
//!
//! The PostgreSQL tests need a server on which the user may create databases: `FOLIO_TEST_POSTGRES_URL`,
//! by default `postgres://postgres@127.0.0.1:5432/postgres`. Each test creates a database of its own
//! (`folio_test_<uuid>`) and drops it at the end. Without a server they fail and say how to start one.

use chrono::NaiveDate;
use folio_core::*;
use folio_store::{
    open_store, Claim, DecisionKey, FindingSource, FinishedBuild, IntakeSnapshot, Store, StoreError, StoredRecord,
    UploadKey,
};
use sqlx::{Connection, Executor, PgConnection};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

macro_rules! engines {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::Engine::Sqlite.check(super::$check).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::Engine::Postgres.check(super::$check).await;
                }
            )*
        }
    };
}

engines!(
    intake_is_idempotent_and_keeps_finished_work,
    one_worker_wins_a_claim_and_duplicates_write_nothing,
    expired_leases_are_taken_over_and_attempts_are_bounded,
    release_requeues_or_fails_and_progress_follows,
    concurrent_workers_process_each_document_once,
    a_duplicate_completion_changes_nothing,
    book_order_is_the_same_in_every_engine,
    text_with_nuls_is_stored,
    a_new_password_reopens_a_finished_document,
    a_renewed_lease_keeps_a_document_held,
    a_document_given_back_unread_keeps_its_attempts,
    the_reconciler_takes_back_what_stopped_workers_held,
    the_reconciler_resends_lost_requests_once_per_period,
    a_dead_lettered_document_is_failed_unless_finished,
    each_change_is_assembled_once_by_one_coordinator,
    the_change_marker_moves_with_every_change,
    an_upload_adds_its_contribution_once_and_the_catalogue_keeps_it,
    decisions_are_kept_replaced_taken_back_and_move_the_marker,
    an_idempotency_key_keeps_its_first_use,
    classifications_are_kept_replaced_withdrawn_and_move_the_marker,
    the_schema_is_brought_up_to_date_again_and_the_database_answers,
    a_layout_set_by_an_editor_stands_until_the_intake_says_otherwise,
);

#[derive(Debug, Clone, Copy)]
enum Engine {
    Sqlite,
    Postgres,
}

/// A database made for one test, removed after it.
enum TestDb {
    Sqlite { _dir: tempfile::TempDir, url: String },
    Postgres { server: String, name: String, url: String },
}

impl Engine {
    /// Runs `check` on a fresh store of this engine, then removes the database, also when the check failed.
    async fn check<F, Fut>(self, check: F)
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        TestDb::create(self).await.check(check).await;
    }
}

impl TestDb {
    async fn create(engine: Engine) -> Self {
        Self::create_with(engine, "").await
    }

    /// A database made with `options` after `CREATE DATABASE name` (PostgreSQL; ignored for SQLite).
    async fn create_with(engine: Engine, options: &str) -> Self {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("folio.db").display());
                Self::Sqlite { _dir: dir, url }
            }
            Engine::Postgres => {
                let server = postgres_server();
                let name = format!("folio_test_{}", Uuid::new_v4().simple());
                if let Err(e) = admin(&server, &format!("CREATE DATABASE {name} {options}")).await {
                    panic!("could not create the test database {name} on {server}: {e}");
                }
                let url = with_database(&server, &name);
                Self::Postgres { server, name, url }
            }
        }
    }

    fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    async fn open(&self) -> Arc<dyn Store> {
        open_store(self.url()).await.unwrap()
    }

    /// Runs `check` on a store of this database, then removes it, also when the check failed.
    async fn check<F, Fut>(self, check: F)
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let store = self.open().await;
        let outcome = tokio::spawn(check(store)).await;
        self.remove().await;
        if let Err(e) = outcome {
            match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("check did not finish: {e}"),
            }
        }
    }

    /// Best effort: a database left behind is named `folio_test_*` and harms nothing.
    async fn remove(self) {
        if let Self::Postgres { server, name, .. } = self {
            // FORCE ends the sessions the store's pool may still hold.
            if let Err(e) = admin(&server, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await {
                eprintln!("could not drop test database {name}: {e}");
            }
        }
    }
}

fn postgres_server() -> String {
    std::env::var("FOLIO_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

/// Runs one statement on the server's maintenance database. Fails the test, saying what to do, when there is
/// no server to connect to.
async fn admin(server: &str, sql: &str) -> Result<(), sqlx::Error> {
    let connect = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(server)).await;
    let mut conn = match connect {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => unreachable_server(server, &e),
        Err(_) => unreachable_server(server, &"no answer in 10 s"),
    };
    conn.execute(sql).await?;
    conn.close().await
}

fn unreachable_server(server: &str, why: &dyn std::fmt::Display) -> ! {
    panic!(
        "PostgreSQL is not reachable at {server} ({why}): start it (`sudo service postgresql start`, or \
         `scripts/test` starts it) or set FOLIO_TEST_POSTGRES_URL to a server where this user may create databases"
    )
}

/// The server's URL with its database replaced by `name`, keeping any `?options`.
fn with_database(server: &str, name: &str) -> String {
    let (base, options) = match server.split_once('?') {
        Some((base, options)) => (base, format!("?{options}")),
        None => (server, String::new()),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    format!("{base}/{name}{options}")
}

fn contribution(catalogue_id: Uuid, chapter_key: &str, title: &str) -> Contribution {
    Contribution {
        id: Contribution::derive_id(catalogue_id, chapter_key, "Mexico", "Ana", title),
        chapter_key: chapter_key.into(),
        state: "Mexico".into(),
        author: "Ana".into(),
        title: title.into(),
        kind: ContributionKind::Text,
        role: Role::Donor,
        modality: Modality::SouthSouth,
        received: NaiveDate::from_ymd_opt(2012, 4, 1).unwrap(),
        rights: Some("CC0".into()),
        layout: None,
    }
}

fn document(contribution: &Contribution, name: &str, sha: &str) -> Document {
    Document {
        id: Document::derive_id(contribution.id, name, sha),
        contribution_id: contribution.id,
        file_name: name.to_string(),
        sha256: sha.to_string(),
        bytes: 10,
        blob_key: format!("originals/{sha}"),
        state: DocumentState::Queued,
        attempts: 0,
        last_error: None,
        password: None,
    }
}

fn snapshot(catalogue_id: Uuid, files: &[(&str, &str)]) -> IntakeSnapshot {
    let chapter = Chapter { key: "lebanon".into(), title: "Clearance in South Lebanon".into(), position: 1 };
    let contribution = contribution(catalogue_id, "lebanon", "Report");
    let documents = files.iter().map(|(name, sha)| document(&contribution, name, sha)).collect();
    IntakeSnapshot {
        catalogue_id,
        config: CatalogueConfig::default(),
        source: "/tmp/in".into(),
        chapters: vec![chapter],
        contributions: vec![contribution],
        documents,
        findings: vec![Finding {
            code: FindingCode::UnlistedFile,
            severity: Severity::Warning,
            contribution_id: None,
            file_name: Some("stray.png".into()),
            message: "stray".into(),
        }],
    }
}

fn stored(path: &str) -> StoredRecord {
    let mut record = Record::failed(path, "aa".into(), 10, ExtractError::new(ExtractErrorKind::Io, "x"));
    record.error = None;
    record.format = "pdf".into();
    record.pages = Some(3);
    record.text = Some("dropped: text is kept beside".into());
    record.thumbnail = Some("thumbnails/x/256.png".into());
    record.thumbnails = [1024, 256]
        .into_iter()
        .map(|side| ThumbnailRef {
            max_side: side,
            width: side * 3 / 4,
            height: side,
            format: ThumbnailFormat::Png,
            location: format!("thumbnails/x/{side}.png"),
        })
        .collect();
    StoredRecord::new(record, "Hello world".into(), Some("thumbnails/x/256.png".into()))
}

const MINUTE: Duration = Duration::from_secs(60);

async fn intake_is_idempotent_and_keeps_finished_work(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    let mut snap = snapshot(cat, &[("a.pdf", "aa"), ("b.pdf", "bb")]);
    snap.contributions[0].kind = ContributionKind::Photograph;
    store.sync_intake(&snap).await.unwrap();
    store.sync_intake(&snap).await.unwrap();
    let docs = store.documents(cat).await.unwrap();
    assert_eq!(docs.len(), 2, "reading the same intake twice makes no second row");
    assert_eq!(store.findings(cat).await.unwrap().len(), 1);

    let Claim::Granted { document: doc, kind } = store.claim(docs[0].id, "w1", MINUTE, 3).await.unwrap() else {
        panic!("claim refused")
    };
    assert_eq!(kind, ContributionKind::Photograph, "the claim says what its contribution declared");
    assert!(store.complete(doc.id, "w1", &stored("a.pdf")).await.unwrap());
    // A new reading of the same folder keeps the finished document's state and record.
    store.sync_intake(&snap).await.unwrap();
    assert_eq!(store.document(doc.id).await.unwrap().unwrap().state, DocumentState::Done);
    assert!(store.record(doc.id).await.unwrap().is_some());

    // A file removed from the folder is removed from the catalogue, with its record.
    store.sync_intake(&snapshot(cat, &[("b.pdf", "bb")])).await.unwrap();
    let docs = store.documents(cat).await.unwrap();
    assert_eq!(docs.iter().map(|d| d.file_name.as_str()).collect::<Vec<_>>(), ["b.pdf"]);
    assert!(store.record(doc.id).await.unwrap().is_none());
    let row = store.catalogue(cat).await.unwrap().unwrap();
    assert_eq!(row.config.rules.max_pages, 10);
    assert_eq!(store.chapters(cat).await.unwrap()[0].title, "Clearance in South Lebanon");
    assert_eq!(store.contributions(cat).await.unwrap()[0].modality, Modality::SouthSouth);
    let first = store.contributions(cat).await.unwrap().remove(0);
    assert_eq!(store.contribution(first.id).await.unwrap(), Some(first), "one contribution by id, as listed");
    assert_eq!(store.contribution(Uuid::new_v4()).await.unwrap(), None);
}

async fn a_layout_set_by_an_editor_stands_until_the_intake_says_otherwise(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    let snap = snapshot(cat, &[("a.pdf", "aa")]);
    store.sync_intake(&snap).await.unwrap();
    let id = snap.contributions[0].id;
    assert_eq!(store.contributions(cat).await.unwrap()[0].layout, None, "nobody said: as made");

    let before = store.change_marker(cat).await.unwrap();
    store.set_layout(cat, id, Some(folio_core::Layout::Text)).await.unwrap();
    assert_eq!(store.contributions(cat).await.unwrap()[0].layout, Some(folio_core::Layout::Text));
    assert_ne!(store.change_marker(cat).await.unwrap(), before, "the next build prints it otherwise");
    let unchanged = store.change_marker(cat).await.unwrap();
    store.set_layout(cat, id, Some(folio_core::Layout::Text)).await.unwrap();
    assert_eq!(store.change_marker(cat).await.unwrap(), unchanged, "the same layout again changes nothing");

    // An intake that says nothing of the layout keeps the editor's; one that says, sets it.
    store.sync_intake(&snap).await.unwrap();
    assert_eq!(store.contributions(cat).await.unwrap()[0].layout, Some(folio_core::Layout::Text));
    let mut said = snapshot(cat, &[("a.pdf", "aa")]);
    said.contributions[0].layout = Some(folio_core::Layout::AsMade);
    store.sync_intake(&said).await.unwrap();
    assert_eq!(store.contributions(cat).await.unwrap()[0].layout, Some(folio_core::Layout::AsMade));

    let stranger = store.set_layout(cat, Uuid::new_v4(), Some(folio_core::Layout::Text)).await;
    assert!(matches!(stranger, Err(StoreError::NotFound(_))), "{stranger:?}");
}

async fn a_new_password_reopens_a_finished_document(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    let mut snap = snapshot(cat, &[("locked.pdf", "aa"), ("open.pdf", "bb")]);
    snap.documents[0].password = Some(Password::new("first"));
    store.sync_intake(&snap).await.unwrap();
    let docs = store.documents(cat).await.unwrap();
    let locked = docs.iter().find(|d| d.file_name == "locked.pdf").unwrap().id;
    let Claim::Granted { document: claimed, .. } = store.claim(locked, "w1", MINUTE, 3).await.unwrap() else {
        panic!("claim refused")
    };
    assert_eq!(claimed.password.as_ref().map(Password::as_str), Some("first"), "the worker gets the password");
    assert!(store.complete(locked, "w1", &stored("locked.pdf")).await.unwrap());
    let finished = store.document(locked).await.unwrap().unwrap();
    assert_eq!(finished.password, None, "a finished document's password is cleared");

    // The same password again changes nothing (told by its digest), and is not kept again.
    store.sync_intake(&snap).await.unwrap();
    let again = store.document(locked).await.unwrap().unwrap();
    assert_eq!(again.state, DocumentState::Done);
    assert_eq!(again.password, None);

    // A corrected password puts the finished document back in the queue, its attempts counted afresh.
    snap.documents[0].password = Some(Password::new("second"));
    store.sync_intake(&snap).await.unwrap();
    let reopened = store.document(locked).await.unwrap().unwrap();
    assert_eq!(reopened.state, DocumentState::Queued);
    assert_eq!(reopened.attempts, 0);
    assert_eq!(reopened.password.as_ref().map(Password::as_str), Some("second"));
    let open = store.documents(cat).await.unwrap().into_iter().find(|d| d.file_name == "open.pdf").unwrap();
    assert_eq!(open.password, None);
    assert_eq!(store.documents(cat).await.unwrap().len(), 2, "no second row for the same file");
}

async fn one_worker_wins_a_claim_and_duplicates_write_nothing(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa")])).await.unwrap();
    let id = store.documents(cat).await.unwrap()[0].id;

    assert!(matches!(store.claim(id, "w1", MINUTE, 3).await.unwrap(), Claim::Granted { .. }));
    assert_eq!(store.claim(id, "w2", MINUTE, 3).await.unwrap(), Claim::Held);
    // A restarted single process may take back what it held before it died.
    assert_eq!(store.requeue_processing(cat).await.unwrap(), 1);
    assert!(matches!(store.claim(id, "w1", MINUTE, 3).await.unwrap(), Claim::Granted { .. }));
    // The loser cannot write a record.
    assert!(!store.complete(id, "w2", &stored("a.pdf")).await.unwrap());
    assert!(store.complete(id, "w1", &stored("a.pdf")).await.unwrap());
    // A duplicate request after completion is recognised and writes nothing.
    assert_eq!(store.claim(id, "w2", MINUTE, 3).await.unwrap(), Claim::Finished);
    assert!(!store.complete(id, "w1", &stored("a.pdf")).await.unwrap());
    let records = store.records(cat).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(store.text(id).await.unwrap().as_deref(), Some("Hello world"));
    assert_eq!(store.texts(cat).await.unwrap(), [(id, "Hello world".to_string())]);
    assert_eq!(records[0].1.record.text, None, "the text is kept beside the record, not in it");
    assert_eq!(records[0].1.digest, folio_core::duplicates::TextDigest::of("Hello world"), "its digest beside it");
    assert_eq!(store.record(id).await.unwrap().map(|r| r.digest.words), Some(2));
    assert_eq!(records[0].1.record.pages, Some(3));
    assert_eq!(records[0].1.thumbnail_key.as_deref(), Some("thumbnails/x/256.png"));
    let sides: Vec<u32> = records[0].1.record.thumbnails.iter().map(|t| t.max_side).collect();
    assert_eq!(sides, [1024, 256], "every size's thumbnail is kept in the record");
}

async fn expired_leases_are_taken_over_and_attempts_are_bounded(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa")])).await.unwrap();
    let id = store.documents(cat).await.unwrap()[0].id;

    // w1 dies holding a short lease; w2 takes over once it runs out.
    assert!(matches!(store.claim(id, "w1", Duration::from_millis(1), 2).await.unwrap(), Claim::Granted { .. }));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(matches!(store.claim(id, "w2", Duration::from_millis(1), 2).await.unwrap(), Claim::Granted { .. }));
    assert!(!store.complete(id, "w1", &stored("a.pdf")).await.unwrap(), "the dead worker's late write is refused");
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Two attempts used: the third claim gives up and records why.
    assert_eq!(store.claim(id, "w3", MINUTE, 2).await.unwrap(), Claim::GaveUp);
    let doc = store.document(id).await.unwrap().unwrap();
    assert_eq!(doc.state, DocumentState::Failed);
    assert!(doc.last_error.unwrap().contains("gave up after 2 attempts"));
    assert_eq!(store.claim(id, "w3", MINUTE, 2).await.unwrap(), Claim::Finished);
}

async fn release_requeues_or_fails_and_progress_follows(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa"), ("b.pdf", "bb")])).await.unwrap();
    let docs = store.documents(cat).await.unwrap();
    let p = store.progress(cat).await.unwrap();
    assert_eq!((p[0].documents, p[0].finished, p[0].cleared()), (2, 0, false));

    store.claim(docs[0].id, "w", MINUTE, 3).await.unwrap();
    assert!(store.release(docs[0].id, "w", "blob store unreachable", false).await.unwrap());
    assert_eq!(store.document(docs[0].id).await.unwrap().unwrap().state, DocumentState::Queued);
    store.claim(docs[0].id, "w", MINUTE, 3).await.unwrap();
    assert!(store.release(docs[0].id, "w", "parser process crashed", true).await.unwrap());
    assert!(!store.release(docs[0].id, "w", "again", true).await.unwrap(), "only a held document can be released");
    store.claim(docs[1].id, "w", MINUTE, 3).await.unwrap();
    store.complete(docs[1].id, "w", &stored("b.pdf")).await.unwrap();
    let p = store.progress(cat).await.unwrap();
    assert_eq!((p[0].documents, p[0].finished, p[0].failed, p[0].cleared()), (2, 2, 1, true));

    store
        .replace_findings(
            cat,
            FindingSource::Rules,
            &[Finding {
                code: FindingCode::Language,
                severity: Severity::Blocking,
                contribution_id: Some(docs[0].contribution_id),
                file_name: Some("a.pdf".into()),
                message: "Spanish".into(),
            }],
        )
        .await
        .unwrap();
    let findings = store.findings(cat).await.unwrap();
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[1].contribution_id, Some(docs[0].contribution_id));
    store.replace_findings(cat, FindingSource::Rules, &[]).await.unwrap();
    let findings = store.findings(cat).await.unwrap();
    assert_eq!(findings.len(), 1, "replacing rule findings leaves intake findings alone");
    assert_eq!(findings[0].code, FindingCode::UnlistedFile);
}

async fn a_renewed_lease_keeps_a_document_held(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa")])).await.unwrap();
    let id = store.documents(cat).await.unwrap()[0].id;
    let short = Duration::from_millis(300);
    assert!(matches!(store.claim(id, "w1", short, 3).await.unwrap(), Claim::Granted { .. }));
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(store.renew_lease(id, "w1", short).await.unwrap(), "the holder renews its lease");
    }
    // 450 ms after the claim, past the first lease: still held thanks to the heartbeat.
    assert_eq!(store.claim(id, "w2", short, 3).await.unwrap(), Claim::Held);
    assert!(!store.renew_lease(id, "w2", short).await.unwrap(), "only the holder renews");
    assert!(store.reconcile(Some(MINUTE), 3, 100).await.unwrap().requeue.is_empty(), "a live lease is left alone");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(matches!(store.claim(id, "w2", MINUTE, 3).await.unwrap(), Claim::Granted { .. }));
    assert!(!store.renew_lease(id, "w1", short).await.unwrap(), "the old holder learns it lost the document");
}

async fn a_document_given_back_unread_keeps_its_attempts(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa")])).await.unwrap();
    let id = store.documents(cat).await.unwrap()[0].id;
    // An attempt that failed, then a claim given back before its document was read.
    store.claim(id, "w1", MINUTE, 3).await.unwrap();
    assert!(store.release(id, "w1", "blob store unreachable", false).await.unwrap());
    assert!(matches!(store.claim(id, "w1", MINUTE, 3).await.unwrap(), Claim::Granted { .. }));
    assert!(!store.give_back_unread(id, "w2").await.unwrap(), "only the holder gives a document back");
    assert!(store.give_back_unread(id, "w1").await.unwrap());
    let doc = store.document(id).await.unwrap().unwrap();
    assert_eq!(doc.state, DocumentState::Queued);
    assert_eq!(doc.attempts, 1, "the claim given back unread is not an attempt");
    assert_eq!(doc.last_error.as_deref(), Some("blob store unreachable"), "the last error stays");
    assert!(!store.give_back_unread(id, "w1").await.unwrap(), "a queued document is not held");
    // Given back as often as a worker stops: the document is still claimed within its attempts.
    for _ in 0..5 {
        assert!(matches!(store.claim(id, "w3", MINUTE, 2).await.unwrap(), Claim::Granted { .. }));
        assert!(store.give_back_unread(id, "w3").await.unwrap());
    }
    assert_eq!(store.document(id).await.unwrap().unwrap().attempts, 1);
}

async fn the_reconciler_takes_back_what_stopped_workers_held(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa"), ("b.pdf", "bb"), ("c.pdf", "cc")])).await.unwrap();
    let docs = store.documents(cat).await.unwrap();
    let (a, b, c) = (docs[0].id, docs[1].id, docs[2].id);
    let brief = Duration::from_millis(1);
    // a: its worker died on the first attempt. b: on its last allowed attempt. c: held by a live worker.
    assert!(matches!(store.claim(a, "dead-1", brief, 2).await.unwrap(), Claim::Granted { .. }));
    assert!(matches!(store.claim(b, "dead-1", brief, 2).await.unwrap(), Claim::Granted { .. }));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(matches!(store.claim(b, "dead-2", brief, 2).await.unwrap(), Claim::Granted { .. }));
    assert!(matches!(store.claim(c, "alive", MINUTE, 2).await.unwrap(), Claim::Granted { .. }));
    tokio::time::sleep(Duration::from_millis(20)).await;

    let swept = store.reconcile(Some(MINUTE), 2, 100).await.unwrap();
    assert_eq!(swept.requeue, vec![(cat, a)], "a goes back to the queue, with its catalogue");
    assert_eq!(swept.failed, vec![b]);
    let a_doc = store.document(a).await.unwrap().unwrap();
    assert_eq!((a_doc.state, a_doc.attempts), (DocumentState::Queued, 1));
    assert!(a_doc.last_error.unwrap().contains("dead-1 stopped while it held the document"));
    let b_doc = store.document(b).await.unwrap().unwrap();
    assert_eq!(b_doc.state, DocumentState::Failed);
    let why = b_doc.last_error.unwrap();
    assert!(why.contains("gave up after 2 attempts") && why.contains("dead-2"), "{why}");
    assert_eq!(store.document(c).await.unwrap().unwrap().state, DocumentState::Processing);
    // Nothing more to do: a second sweep changes nothing.
    assert_eq!(store.reconcile(Some(MINUTE), 2, 100).await.unwrap(), Default::default());
    // The requeued document is claimed and completed as usual; the late holder's write is refused.
    assert!(matches!(store.claim(a, "w", MINUTE, 2).await.unwrap(), Claim::Granted { .. }));
    assert!(!store.complete(a, "dead-1", &stored("a.pdf")).await.unwrap());
    assert!(store.complete(a, "w", &stored("a.pdf")).await.unwrap());
    assert_eq!(store.records(cat).await.unwrap().len(), 1);
}

async fn the_reconciler_resends_lost_requests_once_per_period(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    let files: Vec<(String, String)> = (0..5).map(|i| (format!("{i}.pdf"), format!("{i:02}"))).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    store.sync_intake(&snapshot(cat, &refs)).await.unwrap();
    let docs = store.documents(cat).await.unwrap();
    store.claim(docs[0].id, "w", MINUTE, 3).await.unwrap();
    store.complete(docs[0].id, "w", &stored("0.pdf")).await.unwrap();

    // Fresh requests are not lost yet.
    assert!(store.reconcile(Some(MINUTE), 3, 100).await.unwrap().requeue.is_empty());
    tokio::time::sleep(Duration::from_millis(700)).await;
    let lost_after = Duration::from_millis(600);
    assert!(store.reconcile(None, 3, 100).await.unwrap().requeue.is_empty(), "not asked to look for lost requests");
    // At most `limit` a sweep, oldest first; the done document is not among them.
    let first = store.reconcile(Some(lost_after), 3, 3).await.unwrap();
    assert_eq!(first.requeue.len(), 3);
    let second = store.reconcile(Some(lost_after), 3, 3).await.unwrap();
    assert_eq!(second.requeue.len(), 1, "the rest, not the three just resent");
    let resent: HashSet<Uuid> = first
        .requeue
        .iter()
        .chain(&second.requeue)
        .map(|(c, d)| {
            assert_eq!(*c, cat);
            *d
        })
        .collect();
    let queued: HashSet<Uuid> = docs[1..].iter().map(|d| d.id).collect();
    assert_eq!(resent, queued);
    assert!(store.reconcile(Some(lost_after), 3, 100).await.unwrap().requeue.is_empty(), "quiet for a period");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(store.reconcile(Some(lost_after), 3, 100).await.unwrap().requeue.len(), 4, "and sent again after it");
    // Sending again changed no state.
    for d in &docs[1..] {
        let now = store.document(d.id).await.unwrap().unwrap();
        assert_eq!((now.state, now.attempts), (DocumentState::Queued, 0));
    }
}

async fn a_dead_lettered_document_is_failed_unless_finished(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa"), ("b.pdf", "bb"), ("c.pdf", "cc")])).await.unwrap();
    let docs = store.documents(cat).await.unwrap();
    let (a, b, c) = (docs[0].id, docs[1].id, docs[2].id);
    store.claim(b, "w", MINUTE, 3).await.unwrap();
    store.complete(b, "w", &stored("b.pdf")).await.unwrap();
    store.claim(c, "w", MINUTE, 3).await.unwrap();

    assert!(store.fail_document(a, "dead-lettered after 5 deliveries").await.unwrap());
    assert!(!store.fail_document(a, "again").await.unwrap(), "once");
    assert!(!store.fail_document(b, "late").await.unwrap(), "a done document keeps its record");
    assert!(!store.fail_document(c, "late").await.unwrap(), "a document a live worker holds is left to it");
    let a_doc = store.document(a).await.unwrap().unwrap();
    assert_eq!(
        (a_doc.state, a_doc.last_error.as_deref()),
        (DocumentState::Failed, Some("dead-lettered after 5 deliveries"))
    );
    assert_eq!(store.document(b).await.unwrap().unwrap().state, DocumentState::Done);
    let p = store.progress(cat).await.unwrap();
    assert_eq!((p[0].finished, p[0].failed), (2, 1));
}

async fn each_change_is_assembled_once_by_one_coordinator(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa")])).await.unwrap();
    assert_eq!(store.catalogue_ids().await.unwrap(), vec![cat]);

    assert_eq!(store.claim_build(cat, "s1", "c1", MINUTE).await.unwrap(), Some(1));
    assert_eq!(store.claim_build(cat, "s1", "c2", MINUTE).await.unwrap(), None, "held by c1");
    assert_eq!(store.claim_build(cat, "s2", "c2", MINUTE).await.unwrap(), None, "one assembly at a time");
    assert!(
        !store.finish_build("c2", &finished(cat, 1, "elsewhere", "00", "{}")).await.unwrap(),
        "only the holder finishes"
    );
    assert!(store
        .finish_build("c1", &finished(cat, 1, "bundles/1/", "ff", r#"{"chapters":["a\u0000"]}"#))
        .await
        .unwrap());
    assert_eq!(store.claim_build(cat, "s1", "c2", MINUTE).await.unwrap(), None, "the same inputs: built already");

    // A change: build 2. Its coordinator dies; another takes the build over, with its number.
    assert_eq!(store.claim_build(cat, "s2", "c1", Duration::from_millis(1)).await.unwrap(), Some(2));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.claim_build(cat, "s2", "c2", MINUTE).await.unwrap(), Some(2));
    // An assembly that failed gives its claim back: the next claim takes it at once, with its number.
    assert!(!store.release_build(cat, 2, "c1").await.unwrap(), "only the holder gives it back");
    assert!(store.release_build(cat, 2, "c2").await.unwrap());
    assert_eq!(store.claim_build(cat, "s2", "c3", MINUTE).await.unwrap(), Some(2), "taken at once, its lease unspent");
    assert!(store.release_build(cat, 2, "c3").await.unwrap());
    assert_eq!(store.claim_build(cat, "s2", "c2", MINUTE).await.unwrap(), Some(2));
    let late = finished(cat, 2, "late", "00", "{}");
    assert!(!store.finish_build("c1", &late).await.unwrap(), "the dead coordinator's late finish");
    assert!(store.finish_build("c2", &finished(cat, 2, "bundles/2/", "ee", r#"{"chapters":["b"]}"#)).await.unwrap());

    // Both wait to be announced; build 1 is, so only build 2 is left.
    let waiting =
        |list: Vec<(Uuid, folio_store::BuildRow)>| list.into_iter().map(|(c, b)| (c, b.number)).collect::<Vec<_>>();
    assert_eq!(waiting(store.unannounced_builds().await.unwrap()), [(cat, 1), (cat, 2)]);
    store.mark_announced(cat, 1).await.unwrap();
    assert_eq!(waiting(store.unannounced_builds().await.unwrap()), [(cat, 2)]);
    // The webhook's deliveries are tracked apart from the event's.
    assert_eq!(waiting(store.undelivered_webhooks().await.unwrap()), [(cat, 1), (cat, 2)]);
    store.mark_webhook_delivered(cat, 2).await.unwrap();
    assert_eq!(waiting(store.undelivered_webhooks().await.unwrap()), [(cat, 1)]);
    assert_eq!(waiting(store.unannounced_builds().await.unwrap()), [(cat, 2)], "the event still waits");

    // Eight coordinators see the next change at once: one of them assembles it.
    let claims = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.claim_build(cat, "s3", &format!("c{i}"), MINUTE).await.unwrap() })
    });
    let won: Vec<u32> = futures_util::future::join_all(claims).await.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(won, vec![3]);

    let builds = store.builds(cat).await.unwrap();
    let seen: Vec<(u32, &str, &str, Option<&str>)> =
        builds.iter().map(|b| (b.number, b.state.as_str(), b.location.as_str(), b.input_stamp.as_deref())).collect();
    assert_eq!(
        seen,
        [
            (1, "done", "bundles/1/", Some("s1")),
            (2, "done", "bundles/2/", Some("s2")),
            (3, "assembling", "", Some("s3"))
        ]
    );
    // Each finished build keeps what it was made of (a NUL in it stored as PostgreSQL's jsonb allows).
    let contents = |b: &folio_store::BuildRow| -> serde_json::Value {
        serde_json::from_str(b.contents.as_deref().expect("contents kept")).unwrap()
    };
    let first = contents(&builds[0])["chapters"][0].as_str().unwrap().to_string();
    assert!(first == "a\u{0}" || first == "a\u{FFFD}", "{first:?}");
    assert_eq!(contents(&builds[1]), serde_json::json!({"chapters": ["b"]}));
    assert_eq!(builds[2].contents, None, "none while assembling");
    assert!(builds[0].announced && !builds[1].announced);
}

async fn the_change_marker_moves_with_every_change(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa"), ("b.pdf", "bb")])).await.unwrap();
    let id = store.documents(cat).await.unwrap()[0].id;
    let mut seen = vec![store.change_marker(cat).await.unwrap()];
    assert_eq!(store.change_marker(cat).await.unwrap(), seen[0], "nothing changed, the same marker");
    let mut moved = |marker: String, what: &str| {
        assert!(!seen.contains(&marker), "the marker moves when {what}");
        seen.push(marker);
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    store.claim(id, "w", MINUTE, 3).await.unwrap();
    moved(store.change_marker(cat).await.unwrap(), "a document is claimed");
    tokio::time::sleep(Duration::from_millis(5)).await;
    store.complete(id, "w", &stored("a.pdf")).await.unwrap();
    moved(store.change_marker(cat).await.unwrap(), "a record is written");
    tokio::time::sleep(Duration::from_millis(5)).await;
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa")])).await.unwrap();
    moved(store.change_marker(cat).await.unwrap(), "the intake is written (a document removed)");
    assert_ne!(store.change_marker(Uuid::new_v4()).await.unwrap(), seen[0], "another catalogue, another marker");
}

/// Eight workers ask for the same 200 documents at once, half of them from the end: each document is
/// granted to one worker, completed once, and has one record.
async fn concurrent_workers_process_each_document_once(store: Arc<dyn Store>) {
    const WORKERS: usize = 8;
    const DOCUMENTS: usize = 200;
    let cat = Uuid::new_v4();
    let files: Vec<(String, String)> = (0..DOCUMENTS).map(|i| (format!("d{i:03}.pdf"), format!("{i:064x}"))).collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    store.sync_intake(&snapshot(cat, &files)).await.unwrap();
    let ids: Vec<Uuid> = store.documents(cat).await.unwrap().iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), DOCUMENTS);

    let workers = (0..WORKERS).map(|w| {
        let (store, mut ids) = (store.clone(), ids.clone());
        if w % 2 == 1 {
            ids.reverse();
        }
        tokio::spawn(async move {
            let worker = format!("w{w}");
            let mut won = Vec::new();
            for id in ids {
                match store.claim(id, &worker, MINUTE, 3).await.unwrap() {
                    Claim::Granted { document: doc, .. } => {
                        assert_eq!((doc.state, doc.attempts), (DocumentState::Processing, 1));
                        assert!(store.complete(id, &worker, &stored(&doc.file_name)).await.unwrap());
                        won.push(id);
                    }
                    Claim::Held | Claim::Finished => {}
                    other => panic!("{worker} got {other:?} for {id}"),
                }
            }
            won
        })
    });
    let mut granted = Vec::new();
    for worker in workers.collect::<Vec<_>>() {
        granted.extend(worker.await.unwrap());
    }
    assert_eq!(granted.len(), DOCUMENTS, "every document is granted exactly once");
    assert_eq!(granted.iter().collect::<HashSet<_>>().len(), DOCUMENTS);
    assert_eq!(store.records(cat).await.unwrap().len(), DOCUMENTS);
    for doc in store.documents(cat).await.unwrap() {
        assert_eq!((doc.state, doc.attempts), (DocumentState::Done, 1), "{}", doc.file_name);
    }
    let p = store.progress(cat).await.unwrap();
    assert_eq!((p[0].documents, p[0].finished, p[0].failed), (DOCUMENTS as u64, DOCUMENTS as u64, 0));
}

/// A redelivered request, late or racing, neither writes a second record nor changes the first.
async fn a_duplicate_completion_changes_nothing(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa"), ("b.pdf", "bb")])).await.unwrap();
    let docs = store.documents(cat).await.unwrap();
    let (a, b) = (docs[0].id, docs[1].id);
    assert!(matches!(store.claim(a, "w1", MINUTE, 3).await.unwrap(), Claim::Granted { .. }));
    assert!(store.complete(a, "w1", &stored("a.pdf")).await.unwrap());
    let (doc_before, record_before) = (store.document(a).await.unwrap(), store.record(a).await.unwrap());

    let mut other = stored("a.pdf");
    other.text = "Something else".into();
    other.record.pages = Some(9);
    assert!(!store.complete(a, "w1", &other).await.unwrap(), "the same worker, again");
    assert!(!store.complete(a, "w2", &other).await.unwrap(), "another worker");
    assert!(!store.release(a, "w1", "late", true).await.unwrap());
    assert_eq!(store.document(a).await.unwrap(), doc_before);
    assert_eq!(store.record(a).await.unwrap(), record_before);
    assert!(record_before.is_some());
    assert_eq!(store.text(a).await.unwrap().as_deref(), Some("Hello world"), "the first record's text stands");
    assert_eq!(store.claim(a, "w2", MINUTE, 3).await.unwrap(), Claim::Finished);
    assert_eq!(store.claim(Uuid::new_v4(), "w2", MINUTE, 3).await.unwrap(), Claim::Missing);

    // The same completion delivered eight times at once: one wins.
    assert!(matches!(store.claim(b, "w1", MINUTE, 3).await.unwrap(), Claim::Granted { .. }));
    let racing = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.complete(b, "w1", &stored("b.pdf")).await.unwrap() })
    });
    let mut wins = 0;
    for complete in racing.collect::<Vec<_>>() {
        wins += usize::from(complete.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert_eq!(store.records(cat).await.unwrap().len(), 2);
}

/// Chapters in position order, ties broken by key byte by byte (whatever the database's collation);
/// contributions and documents in the order the intake first listed them.
async fn book_order_is_the_same_in_every_engine(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    let chapter = |key: &str, position| Chapter { key: key.into(), title: format!("Chapter {key}"), position };
    let contributions = vec![
        contribution(cat, "a", "Zeta"),
        contribution(cat, "a", "Alpha"),
        contribution(cat, "z", "Mid"),
        contribution(cat, "a", "Beta"),
    ];
    let documents = vec![
        document(&contributions[1], "y.pdf", "01"),
        document(&contributions[0], "x.pdf", "02"),
        document(&contributions[1], "a.pdf", "03"),
    ];
    let mut snap = snapshot(cat, &[]);
    snap.chapters = vec![chapter("b", 1), chapter("B", 1), chapter("a", 1), chapter("z", 0)];
    snap.contributions = contributions;
    snap.documents = documents;
    store.sync_intake(&snap).await.unwrap();

    let keys = |chapters: Vec<String>| chapters.join(" ");
    let chapters = store.chapters(cat).await.unwrap();
    assert_eq!(keys(chapters.into_iter().map(|c| c.key).collect()), "z B a b");
    let progress = store.progress(cat).await.unwrap();
    assert_eq!(keys(progress.iter().map(|p| p.key.clone()).collect()), "z B a b");
    assert_eq!(progress.iter().map(|p| p.documents).collect::<Vec<_>>(), [0, 0, 3, 0]);
    let titles: Vec<String> = store.contributions(cat).await.unwrap().into_iter().map(|c| c.title).collect();
    assert_eq!(titles, ["Mid", "Zeta", "Alpha", "Beta"]);
    let files: Vec<String> = store.documents(cat).await.unwrap().into_iter().map(|d| d.file_name).collect();
    assert_eq!(files, ["y.pdf", "x.pdf", "a.pdf"]);
}

/// Text from files may hold NULs (PDF metadata often does). SQLite keeps them; PostgreSQL cannot store U+0000
/// and writes U+FFFD in its place. Either way the write succeeds and the rest of the text is kept.
async fn text_with_nuls_is_stored(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa"), ("b.pdf", "bb")])).await.unwrap();
    let docs = store.documents(cat).await.unwrap();
    let mut record = stored("a.pdf");
    record.text = "Hello\0world".into();
    record.record.title = Some("Ti\0tle".into());
    assert!(matches!(store.claim(docs[0].id, "w", MINUTE, 3).await.unwrap(), Claim::Granted { .. }));
    assert!(store.complete(docs[0].id, "w", &record).await.unwrap());
    let back = store.record(docs[0].id).await.unwrap().unwrap();
    let as_written = |s: &str| s.replace('\u{FFFD}', "\0");
    let text = store.text(docs[0].id).await.unwrap().unwrap();
    assert_eq!(as_written(&text), "Hello\0world");
    assert_eq!(back.record.title.as_deref().map(as_written).as_deref(), Some("Ti\0tle"));

    assert!(matches!(store.claim(docs[1].id, "w", MINUTE, 3).await.unwrap(), Claim::Granted { .. }));
    assert!(store.release(docs[1].id, "w", "parser said \0", true).await.unwrap());
    let error = store.document(docs[1].id).await.unwrap().unwrap().last_error.unwrap();
    assert_eq!(as_written(&error), "parser said \0");
}

/// PostgreSQL only: what several processes sharing one server meet.
mod postgres_server {
    use super::*;

    /// Processes starting at once on an empty database: the migrator's lock lets one create the schema.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn simultaneous_starts_migrate_once() {
        let db = TestDb::create(Engine::Postgres).await;
        let url = db.url().to_string();
        let starts = (0..4).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { open_store(&url).await.map(|_| ()) })
        });
        let mut outcomes = Vec::new();
        for start in starts.collect::<Vec<_>>() {
            outcomes.push(start.await.unwrap());
        }
        db.remove().await;
        for outcome in outcomes {
            outcome.unwrap();
        }
    }

    /// Production databases are seldom created with the C collation that test servers often have; under a
    /// linguistic one ('a' < 'b' < 'B'), the book keeps SQLite's order all the same. Needs a server built with
    /// ICU (Debian's, Ubuntu's and the official images are).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn book_order_ignores_the_database_collation() {
        let icu = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'";
        TestDb::create_with(Engine::Postgres, icu).await.check(book_order_is_the_same_in_every_engine).await;
    }

    /// The store's connections to PostgreSQL are pinged before use only after sitting idle for half a second
    /// (a ping before every use was a second round trip for each claim and completion): sessions the server
    /// ended while they sat in the pool (a restart, an administrator, a proxy's idle cut) are found by that
    /// ping and replaced, and the next statements succeed without an error to retry.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sessions_ended_while_idle_in_the_pool_are_replaced_before_use() {
        let db = TestDb::create(Engine::Postgres).await;
        let (server, name) = match &db {
            TestDb::Postgres { server, name, .. } => (server.clone(), name.clone()),
            TestDb::Sqlite { .. } => unreachable!("a PostgreSQL database"),
        };
        db.check(move |store| async move {
            // Several connections in the pool, each used once.
            let reads = (0..4).map(|_| store.document(Uuid::new_v4()));
            for read in futures_util::future::join_all(reads).await {
                assert!(read.unwrap().is_none());
            }
            admin(
                &server,
                &format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND application_name = 'folio' AND pid <> pg_backend_pid()"
                ),
            )
            .await
            .unwrap();
            tokio::time::sleep(Duration::from_millis(700)).await;
            let reads = (0..4).map(|_| store.document(Uuid::new_v4()));
            for read in futures_util::future::join_all(reads).await {
                assert!(read.expect("an ended session is replaced before use, not handed out").is_none());
            }
        })
        .await;
    }

    /// Faults that pass (a deadlock, a session ended by the server) are retryable; a broken constraint is not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn server_faults_say_whether_to_retry() {
        let db = TestDb::create(Engine::Postgres).await;
        let url = db.url().to_string();
        db.check(|_| classify_faults(url)).await;
    }

    async fn classify_faults(url: String) {
        let retryable = |e: sqlx::Error| StoreError::Database(e).is_retryable();
        let mut setup = PgConnection::connect(&url).await.unwrap();
        setup.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)").await.unwrap();
        let duplicate = setup.execute("INSERT INTO t VALUES (1)").await.unwrap_err();
        assert!(!retryable(duplicate), "a unique violation fails the same way every time");

        // Two transactions each holding the row the other wants: the server breaks the deadlock (40P01).
        let (mut one, mut two) =
            (PgConnection::connect(&url).await.unwrap(), PgConnection::connect(&url).await.unwrap());
        one.execute("BEGIN; UPDATE t SET id = id WHERE id = 1").await.unwrap();
        two.execute("BEGIN; UPDATE t SET id = id WHERE id = 2").await.unwrap();
        let (a, b) = tokio::join!(
            one.execute("UPDATE t SET id = id WHERE id = 2"),
            two.execute("UPDATE t SET id = id WHERE id = 1"),
        );
        let deadlock = a.err().or(b.err()).expect("one transaction is chosen to fail");
        assert_eq!(deadlock.as_database_error().and_then(|d| d.code()).as_deref(), Some("40P01"));
        assert!(retryable(deadlock));

        // An administrator ends the session (57P01, or a lost connection): the next statement fails, retryably.
        let mut victim = PgConnection::connect(&url).await.unwrap();
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut victim).await.unwrap();
        sqlx::query("SELECT pg_terminate_backend($1)").bind(pid).execute(&mut setup).await.unwrap();
        let ended = victim.execute("SELECT 1").await.unwrap_err();
        assert!(retryable(ended));
    }
}

fn config(chapters: &[(&str, &str)]) -> CatalogueConfig {
    CatalogueConfig {
        title: "Uploads".into(),
        deadline: NaiveDate::from_ymd_opt(2012, 4, 30),
        chapters: chapters
            .iter()
            .map(|(id, title)| ChapterConfig { id: id.to_string(), title: title.to_string() })
            .collect(),
        ..CatalogueConfig::default()
    }
}

async fn an_upload_adds_its_contribution_once_and_the_catalogue_keeps_it(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    let c = contribution(cat, "lebanon", "Report");
    let (x, y) = (document(&c, "x.pdf", "aa"), document(&c, "y.png", "bb"));
    // Nothing to add to before the catalogue is set up.
    let missing = store.add_contribution(cat, &c, std::slice::from_ref(&x)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)), "{missing}");

    store.put_catalogue(cat, &config(&[("lebanon", "Clearance"), ("peru", "Peru")]), "gateway").await.unwrap();
    let keys = |chapters: Vec<Chapter>| chapters.into_iter().map(|c| (c.key, c.position)).collect::<Vec<_>>();
    assert_eq!(keys(store.chapters(cat).await.unwrap()), [("lebanon".into(), 1), ("peru".into(), 2)]);
    let row = store.catalogue(cat).await.unwrap().expect("the catalogue");
    assert_eq!(row.config.title, "Uploads");

    // The upload, then its retry: one contribution, its documents once, queued.
    assert!(store.add_contribution(cat, &c, &[x.clone(), y.clone()]).await.unwrap(), "new");
    assert!(!store.add_contribution(cat, &c, &[x.clone(), y.clone()]).await.unwrap(), "a retry adds nothing");
    assert_eq!(store.contributions(cat).await.unwrap().len(), 1);
    let documents = store.documents(cat).await.unwrap();
    assert_eq!(documents.len(), 2);
    assert!(documents.iter().all(|d| d.state == DocumentState::Queued && d.attempts == 0));

    // Finished work survives a retried upload.
    assert!(matches!(store.claim(x.id, "w", MINUTE, 3).await.unwrap(), Claim::Granted { .. }));
    assert!(store.complete(x.id, "w", &stored("x.pdf")).await.unwrap());
    store.add_contribution(cat, &c, &[x.clone(), y.clone()]).await.unwrap();
    assert_eq!(store.document(x.id).await.unwrap().unwrap().state, DocumentState::Done);
    assert!(store.record(x.id).await.unwrap().is_some());

    // A chapter the upload names must exist.
    let elsewhere = contribution(cat, "nowhere", "Lost");
    let no_chapter = store.add_contribution(cat, &elsewhere, &[]).await.unwrap_err();
    assert!(matches!(no_chapter, StoreError::NotFound(_)), "{no_chapter}");
    assert!(!no_chapter.is_retryable());

    // New settings reorder and retitle the chapters; one that holds contributions stays even when no longer
    // listed, an empty one goes.
    store.put_catalogue(cat, &config(&[("chile", "Chile"), ("peru", "Peru again")]), "gateway").await.unwrap();
    let chapters = store.chapters(cat).await.unwrap();
    assert_eq!(keys(chapters.clone()), [("chile".into(), 1), ("lebanon".into(), 1), ("peru".into(), 2)]);
    assert_eq!(chapters.iter().find(|c| c.key == "peru").unwrap().title, "Peru again");
    assert_eq!(store.contributions(cat).await.unwrap().len(), 1, "the contribution stayed");
}

fn decision(contribution_id: Uuid, action: DecisionAction, code: Option<FindingCode>, reason: &str) -> Decision {
    Decision {
        contribution_id,
        action,
        code,
        reason: reason.into(),
        decided_by: "ana".into(),
        decided_at: "2012-05-02T10:00:00.000Z".into(),
    }
}

async fn decisions_are_kept_replaced_taken_back_and_move_the_marker(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.put_catalogue(cat, &config(&[("lebanon", "Clearance")]), "gateway").await.unwrap();
    let c = contribution(cat, "lebanon", "Report");
    store.add_contribution(cat, &c, &[document(&c, "x.pdf", "aa")]).await.unwrap();
    let before = store.change_marker(cat).await.unwrap();

    let waive = decision(c.id, DecisionAction::Waive, Some(FindingCode::Late), "Agreed with the co-chairs");
    store.put_decision(cat, &waive).await.unwrap();
    let after = store.change_marker(cat).await.unwrap();
    assert_ne!(before, after, "a decision changes what the next build is made from");
    // The same decision again replaces the first (its reason and author).
    let mut again = waive.clone();
    again.reason = "Confirmed by letter".into();
    store.put_decision(cat, &again).await.unwrap();
    let exclude = decision(c.id, DecisionAction::Exclude, None, "Sent twice");
    store.put_decision(cat, &exclude).await.unwrap();
    assert_eq!(store.decisions(cat).await.unwrap(), [again.clone(), exclude.clone()]);

    // A contribution of another catalogue, or none: not found.
    let stranger = decision(Uuid::new_v4(), DecisionAction::Exclude, None, "?");
    assert!(matches!(store.put_decision(cat, &stranger).await, Err(StoreError::NotFound(_))));

    assert!(store.remove_decision(cat, key(c.id, DecisionAction::Exclude, None)).await.unwrap());
    assert!(!store.remove_decision(cat, key(c.id, DecisionAction::Exclude, None)).await.unwrap(), "gone already");
    assert!(!store.remove_decision(cat, key(c.id, DecisionAction::Waive, Some(FindingCode::TooLong))).await.unwrap());
    assert_eq!(store.decisions(cat).await.unwrap(), [again.clone()]);

    // Changes in quick succession, several within one millisecond (SQLite's clock reads milliseconds), each
    // move the marker: a build is never skipped because two changes shared a tick.
    let mut last = store.change_marker(cat).await.unwrap();
    for i in 0..20 {
        let mut next = again.clone();
        next.reason = format!("reason {i}");
        store.put_decision(cat, &next).await.unwrap();
        let marker = store.change_marker(cat).await.unwrap();
        assert_ne!(last, marker, "change {i} did not move the marker");
        last = marker;
    }
    store.put_catalogue(cat, &config(&[("lebanon", "Clearance")]), "gateway").await.unwrap();
    assert_ne!(last, store.change_marker(cat).await.unwrap(), "the catalogue's settings written again");
}

async fn an_idempotency_key_keeps_its_first_use(store: Arc<dyn Store>) {
    // Beside it, the age of the oldest waiting document: none waits in a fresh database, then one does.
    assert_eq!(store.oldest_queued_secs().await.unwrap(), None);
    let cat = Uuid::new_v4();
    store.put_catalogue(cat, &config(&[("lebanon", "Clearance")]), "gateway").await.unwrap();
    assert_eq!(store.upload_key(cat, "k-1").await.unwrap(), None);
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let c = contribution(cat, "lebanon", "Report");
    store.add_contribution(cat, &c, &[document(&c, "x.pdf", "aa")]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let age = store.oldest_queued_secs().await.unwrap().expect("a queued document");
    assert!((0.0..60.0).contains(&age), "{age}");
    store
        .remember_upload_key(cat, &UploadKey { key: "k-1", request_sha256: "sha-a", contribution_id: first })
        .await
        .unwrap();
    store
        .remember_upload_key(cat, &UploadKey { key: "k-1", request_sha256: "sha-b", contribution_id: second })
        .await
        .unwrap();
    assert_eq!(store.upload_key(cat, "k-1").await.unwrap(), Some(("sha-a".to_string(), first)));
    assert_eq!(store.upload_key(Uuid::new_v4(), "k-1").await.unwrap(), None, "keys are per catalogue");
}

async fn classifications_are_kept_replaced_withdrawn_and_move_the_marker(store: Arc<dyn Store>) {
    let cat = Uuid::new_v4();
    store.put_catalogue(cat, &config(&[("lebanon", "Clearance")]), "gateway").await.unwrap();
    let c = contribution(cat, "lebanon", "Report");
    store.add_contribution(cat, &c, &[document(&c, "x.pdf", "aa")]).await.unwrap();
    assert!(store.classifications(cat).await.unwrap().is_empty());
    let before = store.change_marker(cat).await.unwrap();
    let confirmed = ConfirmedClassification {
        contribution_id: c.id,
        areas: vec!["clearance".into(), "victim_assistance".into()],
        modality: Some("bilateral".into()),
        role: Some("donor".into()),
        decided_by: "ana".into(),
        decided_at: "2012-05-01T10:00:00.000Z".into(),
    };
    store.put_classification(cat, &confirmed).await.unwrap();
    assert_ne!(store.change_marker(cat).await.unwrap(), before, "a confirmation changes the next build");
    assert_eq!(store.classifications(cat).await.unwrap(), std::slice::from_ref(&confirmed));
    // A second confirmation replaces the first.
    let changed = ConfirmedClassification { areas: vec!["clearance".into()], role: None, ..confirmed.clone() };
    store.put_classification(cat, &changed).await.unwrap();
    assert_eq!(store.classifications(cat).await.unwrap(), [changed]);
    // A contribution of another catalogue, or none: not found.
    let stranger = ConfirmedClassification { contribution_id: Uuid::new_v4(), ..confirmed };
    assert!(matches!(store.put_classification(cat, &stranger).await, Err(StoreError::NotFound(_))));
    assert!(store.remove_classification(cat, c.id).await.unwrap());
    assert!(!store.remove_classification(cat, c.id).await.unwrap(), "gone already");
    assert!(store.classifications(cat).await.unwrap().is_empty());
}

fn finished<'a>(
    catalogue_id: Uuid,
    number: u32,
    location: &'a str,
    sha: &'a str,
    contents: &'a str,
) -> FinishedBuild<'a> {
    FinishedBuild { catalogue_id, number, location, manifest_sha256: sha, contents }
}

fn key(contribution_id: Uuid, action: DecisionAction, code: Option<FindingCode>) -> DecisionKey {
    DecisionKey { contribution_id, action, code }
}

/// Migrating again (every process does at start) changes nothing, and the database answers a ping.
async fn the_schema_is_brought_up_to_date_again_and_the_database_answers(store: Arc<dyn Store>) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

/// Every method of the `Store` trait and the capabilities it is made of is called by some check above, so each
/// runs on both engines: a method added to a trait without a check fails here.
#[test]
fn every_store_method_is_checked_on_both_engines() {
    let repo = include_str!("../src/repo.rs");
    let mut methods: Vec<&str> = Vec::new();
    for start in repo.match_indices("pub trait ").map(|(at, _)| at) {
        let body = &repo[start..];
        let body = &body[..body.find("\n}\n").expect("the trait's end")];
        methods.extend(body.split("async fn ").skip(1).filter_map(|rest| rest.split('(').next()));
    }
    assert!(methods.len() >= 40, "{methods:?}");
    let checks = include_str!("store_contract.rs");
    let unchecked: Vec<&&str> = methods.iter().filter(|m| !checks.contains(&format!(".{m}("))).collect();
    assert!(unchecked.is_empty(), "Store methods no contract check calls: {unchecked:?}");
}
