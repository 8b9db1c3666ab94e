//! The coordinator role: follows the catalogue's progress in the database, checks every contribution
//! against the rules once its chapter has cleared processing, and has the bundle assembled.

use folio_core::rules::{self, Evidence};
use folio_core::Finding;
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
    let catalogue = store
        .catalogue(catalogue_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("catalogue {catalogue_id} does not exist")))?;
    let contributions = store.contributions(catalogue_id).await?;
    let documents = store.documents(catalogue_id).await?;
    let records: HashMap<Uuid, folio_store::StoredRecord> = store.records(catalogue_id).await?.into_iter().collect();
    let mut findings = Vec::new();
    for contribution in &contributions {
        let evidence: Vec<Evidence<'_>> = documents
            .iter()
            .filter(|d| d.contribution_id == contribution.id)
            .map(|d| Evidence { document: d, record: records.get(&d.id).map(|r| &r.record) })
            .collect();
        findings.extend(rules::check(contribution, &evidence, &catalogue.config.rules, catalogue.deadline));
    }
    store.replace_findings(catalogue_id, FindingSource::Rules, &findings).await?;
    store.findings(catalogue_id).await
}

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

/// Turns extracted text into the book's paragraphs: blank lines separate paragraphs, line breaks inside one
/// are joined, runs of white space become one space.
pub fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|block| block.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_are_reflowed() {
        assert_eq!(
            paragraphs("Dear  Excellency,\n\nMuch has been\nachieved.\n\n\n  \n\nEnd"),
            ["Dear Excellency,", "Much has been achieved.", "End"]
        );
        assert!(paragraphs(" \n\n ").is_empty());
    }
}
