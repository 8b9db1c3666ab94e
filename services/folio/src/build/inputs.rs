//! The coordinator role: follows the catalogue's progress in the database, checks every contribution
//! against the rules once its chapter has cleared processing, and has the bundle assembled.

use folio_core::rules::{self, Evidence};
use folio_core::{duplicates, Decision, Finding};
use folio_store::{ChapterProgress, FindingSource, Store, StoreError};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// Waits until every document of every chapter is in a terminal state. `on_progress` sees each reading.
pub async fn wait_until_cleared(
    store: &dyn Store,
    catalogue_id: Uuid,
    poll: Duration,
    mut on_progress: impl FnMut(&[ChapterProgress]),
) -> Result<Vec<ChapterProgress>, StoreError> {
    loop {
        let progress = store.progress(catalogue_id).await?;
        on_progress(&progress);
        if progress.iter().all(ChapterProgress::cleared) {
            return Ok(progress);
        }
        tokio::time::sleep(poll).await;
    }
}

/// Checks every contribution against the rules of the call and stores the findings; returns every finding of
/// the catalogue (the intake's first).
pub async fn evaluate(store: &dyn Store, catalogue_id: Uuid) -> Result<Vec<Finding>, StoreError> {
    let findings = rule_findings(store, catalogue_id, false).await?;
    store.replace_findings(catalogue_id, FindingSource::Rules, &findings).await?;
    store.findings(catalogue_id).await
}

/// The findings as they stand, for editors following the catalogue: the intake's, then the rules' for every
/// contribution whose documents are all processed (the others' wait for their records). Stores nothing.
pub async fn current_findings(store: &dyn Store, catalogue_id: Uuid) -> Result<Vec<Finding>, StoreError> {
    let mut findings: Vec<Finding> =
        store.findings(catalogue_id).await?.into_iter().filter(|f| f.code.is_intake()).collect();
    findings.extend(rule_findings(store, catalogue_id, true).await?);
    Ok(findings)
}

/// The rules' findings with the editors' decisions applied; with `processed_only`, only for contributions
/// whose documents are all in a terminal state.
async fn rule_findings(
    store: &dyn Store,
    catalogue_id: Uuid,
    processed_only: bool,
) -> Result<Vec<Finding>, StoreError> {
    let catalogue = store
        .catalogue(catalogue_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("catalogue {catalogue_id} does not exist")))?;
    let contributions = store.contributions(catalogue_id).await?;
    let documents = store.documents(catalogue_id).await?;
    // Records without their text: the near-duplicate check uses each text's digest, kept with its record.
    let records: HashMap<Uuid, folio_store::RecordSummary> = store.records(catalogue_id).await?.into_iter().collect();
    let chapters = store.chapters(catalogue_id).await?;
    let mut findings = Vec::new();
    let mut candidates = Vec::new();
    for contribution in &contributions {
        let own: Vec<&folio_core::Document> =
            documents.iter().filter(|d| d.contribution_id == contribution.id).collect();
        if processed_only && own.iter().any(|d| !d.state.is_terminal()) {
            continue;
        }
        let evidence: Vec<Evidence<'_>> =
            own.iter().map(|d| Evidence { document: d, record: records.get(&d.id).map(|r| &r.record) }).collect();
        findings.extend(rules::check(contribution, &evidence, &catalogue.config.rules, catalogue.deadline));
        let chapter = chapters.iter().find(|c| c.key == contribution.chapter_key);
        candidates.push((
            chapter.map_or(u32::MAX, |c| c.position),
            duplicates::Candidate {
                contribution_id: contribution.id,
                label: format!(
                    "“{}” by {} ({}), chapter “{}”",
                    contribution.title,
                    contribution.author,
                    contribution.state,
                    chapter.map_or(contribution.chapter_key.as_str(), |c| c.title.as_str())
                ),
                sha256: own.iter().map(|d| d.sha256.as_str()).collect(),
                signature: duplicates::combined_signature(
                    own.iter().filter_map(|d| records.get(&d.id).map(|r| &r.digest)),
                ),
            },
        ));
    }
    // Book order (a stable sort keeps intake order within a chapter): the later of two is the one flagged.
    candidates.sort_by_key(|(position, _)| *position);
    let candidates: Vec<duplicates::Candidate<'_>> = candidates.into_iter().map(|(_, c)| c).collect();
    findings.extend(duplicates::check(&candidates));
    Ok(Decision::apply(&store.decisions(catalogue_id).await?, findings))
}

/// The stamp of a catalogue's inputs: SHA-256 over what its book is made from (the catalogue's title,
/// deadline and settings, its chapters, contributions and documents, the editors' decisions, and each
/// document's record and the SHA-256 of its text, kept with the record: no text is read).
/// The same inputs give the same stamp; any change to them (a new, replaced or removed file, a reprocessed
/// document, a chapter moved) gives another. Findings are left out: the rules' findings are made from these.
pub async fn input_stamp(store: &dyn Store, catalogue_id: Uuid) -> Result<String, StoreError> {
    use sha2::{Digest, Sha256};
    let catalogue = store
        .catalogue(catalogue_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("catalogue {catalogue_id} does not exist")))?;
    let mut hash = Sha256::new();
    let mut add = |part: &str, value: serde_json::Result<Vec<u8>>| -> Result<(), StoreError> {
        let bytes = value.map_err(|e| StoreError::Corrupt(format!("{part}: {e}")))?;
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
        Ok(())
    };
    add("catalogue", serde_json::to_vec(&(&catalogue.title, catalogue.deadline, &catalogue.config)))?;
    add("chapters", serde_json::to_vec(&store.chapters(catalogue_id).await?))?;
    add("contributions", serde_json::to_vec(&store.contributions(catalogue_id).await?))?;
    add("documents", serde_json::to_vec(&store.documents(catalogue_id).await?))?;
    add("decisions", serde_json::to_vec(&store.decisions(catalogue_id).await?))?;
    add("classifications", serde_json::to_vec(&store.classifications(catalogue_id).await?))?;
    let mut records = store.records(catalogue_id).await?;
    records.sort_by_key(|(id, _)| *id);
    for (id, r) in &records {
        add("record", serde_json::to_vec(&(id, &r.record, &r.digest.sha256, &r.thumbnail_key)))?;
    }
    Ok(hex::encode(hash.finalize()))
}
