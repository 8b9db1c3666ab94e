//! The behaviour every `Store` must have. Runs against the embedded SQLite store; the cluster's engines run
//! the same checks.

use chrono::NaiveDate;
use folio_core::*;
use folio_store::{open_store, Claim, FindingSource, IntakeSnapshot, Store, StoredRecord};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

fn snapshot(catalogue_id: Uuid, files: &[(&str, &str)]) -> IntakeSnapshot {
    let chapter = Chapter { key: "lebanon".into(), title: "Clearance in South Lebanon".into(), position: 1 };
    let contribution = Contribution {
        id: Contribution::derive_id(catalogue_id, "lebanon", "Mexico", "Ana", "Report"),
        chapter_key: "lebanon".into(),
        state: "Mexico".into(),
        author: "Ana".into(),
        title: "Report".into(),
        kind: ContributionKind::Text,
        role: Role::Donor,
        modality: Modality::SouthSouth,
        received: NaiveDate::from_ymd_opt(2012, 4, 1).unwrap(),
        rights: Some("CC0".into()),
    };
    let documents = files
        .iter()
        .map(|(name, sha)| Document {
            id: Document::derive_id(contribution.id, name, sha),
            contribution_id: contribution.id,
            file_name: name.to_string(),
            sha256: sha.to_string(),
            bytes: 10,
            blob_key: format!("originals/{sha}"),
            state: DocumentState::Queued,
            attempts: 0,
            last_error: None,
        })
        .collect();
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
    StoredRecord { record, text: "Hello world".into(), thumbnail_key: Some("thumbnails/x/256.png".into()) }
}

async fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("folio.db").display());
    let store = open_store(&url).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn intake_is_idempotent_and_keeps_finished_work() {
    let (_dir, store) = sqlite().await;
    let cat = Uuid::new_v4();
    let snap = snapshot(cat, &[("a.pdf", "aa"), ("b.pdf", "bb")]);
    store.sync_intake(&snap).await.unwrap();
    store.sync_intake(&snap).await.unwrap();
    let docs = store.documents(cat).await.unwrap();
    assert_eq!(docs.len(), 2, "reading the same intake twice makes no second row");
    assert_eq!(store.findings(cat).await.unwrap().len(), 1);

    let Claim::Granted(doc) = store.claim(docs[0].id, "w1", Duration::from_secs(60), 3).await.unwrap() else {
        panic!("claim refused")
    };
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
}

#[tokio::test]
async fn one_worker_wins_a_claim_and_duplicates_write_nothing() {
    let (_dir, store) = sqlite().await;
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa")])).await.unwrap();
    let id = store.documents(cat).await.unwrap()[0].id;

    assert!(matches!(store.claim(id, "w1", Duration::from_secs(60), 3).await.unwrap(), Claim::Granted(_)));
    assert_eq!(store.claim(id, "w2", Duration::from_secs(60), 3).await.unwrap(), Claim::Held);
    // A restarted single process may take back what it held before it died.
    assert_eq!(store.requeue_processing(cat).await.unwrap(), 1);
    assert!(matches!(store.claim(id, "w1", Duration::from_secs(60), 3).await.unwrap(), Claim::Granted(_)));
    // The loser cannot write a record.
    assert!(!store.complete(id, "w2", &stored("a.pdf")).await.unwrap());
    assert!(store.complete(id, "w1", &stored("a.pdf")).await.unwrap());
    // A duplicate request after completion is recognised and writes nothing.
    assert_eq!(store.claim(id, "w2", Duration::from_secs(60), 3).await.unwrap(), Claim::Finished);
    assert!(!store.complete(id, "w1", &stored("a.pdf")).await.unwrap());
    let records = store.records(cat).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].1.text, "Hello world");
    assert_eq!(records[0].1.record.text, None, "the text is kept beside the record, not in it");
    assert_eq!(records[0].1.record.pages, Some(3));
    assert_eq!(records[0].1.thumbnail_key.as_deref(), Some("thumbnails/x/256.png"));
    let sides: Vec<u32> = records[0].1.record.thumbnails.iter().map(|t| t.max_side).collect();
    assert_eq!(sides, [1024, 256], "every size's thumbnail is kept in the record");
}

#[tokio::test]
async fn expired_leases_are_taken_over_and_attempts_are_bounded() {
    let (_dir, store) = sqlite().await;
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa")])).await.unwrap();
    let id = store.documents(cat).await.unwrap()[0].id;

    // w1 dies holding a short lease; w2 takes over once it runs out.
    assert!(matches!(store.claim(id, "w1", Duration::from_millis(1), 2).await.unwrap(), Claim::Granted(_)));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(matches!(store.claim(id, "w2", Duration::from_millis(1), 2).await.unwrap(), Claim::Granted(_)));
    assert!(!store.complete(id, "w1", &stored("a.pdf")).await.unwrap(), "the dead worker's late write is refused");
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Two attempts used: the third claim gives up and records why.
    assert_eq!(store.claim(id, "w3", Duration::from_secs(60), 2).await.unwrap(), Claim::GaveUp);
    let doc = store.document(id).await.unwrap().unwrap();
    assert_eq!(doc.state, DocumentState::Failed);
    assert!(doc.last_error.unwrap().contains("gave up after 2 attempts"));
    assert_eq!(store.claim(id, "w3", Duration::from_secs(60), 2).await.unwrap(), Claim::Finished);
}

#[tokio::test]
async fn release_requeues_or_fails_and_progress_follows() {
    let (_dir, store) = sqlite().await;
    let cat = Uuid::new_v4();
    store.sync_intake(&snapshot(cat, &[("a.pdf", "aa"), ("b.pdf", "bb")])).await.unwrap();
    let docs = store.documents(cat).await.unwrap();
    let p = store.progress(cat).await.unwrap();
    assert_eq!((p[0].documents, p[0].finished, p[0].cleared()), (2, 0, false));

    store.claim(docs[0].id, "w", Duration::from_secs(60), 3).await.unwrap();
    assert!(store.release(docs[0].id, "w", "blob store unreachable", false).await.unwrap());
    assert_eq!(store.document(docs[0].id).await.unwrap().unwrap().state, DocumentState::Queued);
    store.claim(docs[0].id, "w", Duration::from_secs(60), 3).await.unwrap();
    assert!(store.release(docs[0].id, "w", "parser process crashed", true).await.unwrap());
    assert!(!store.release(docs[0].id, "w", "again", true).await.unwrap(), "only a held document can be released");
    store.claim(docs[1].id, "w", Duration::from_secs(60), 3).await.unwrap();
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
    store.replace_findings(cat, FindingSource::Rules, &[]).await.unwrap();
    let findings = store.findings(cat).await.unwrap();
    assert_eq!(findings.len(), 1, "replacing rule findings leaves intake findings alone");
    assert_eq!(findings[0].code, FindingCode::UnlistedFile);
    assert_eq!(store.add_build(cat, "/out", "ff").await.unwrap(), 1);
    assert_eq!(store.add_build(cat, "/out", "ff").await.unwrap(), 2);
}
