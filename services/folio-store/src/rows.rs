//! Turning database rows into Folio's types, once for every engine. Engines store identifiers and dates
//! differently (SQLite as text, PostgreSQL natively), so each says how it reads those columns through
//! [`StoredRow`]; what the values mean (states, kinds, JSON records, counts) is decoded here, so that the
//! engines cannot drift apart in what they accept as readable data.

use crate::repo::{BuildRow, CatalogueRow, ChapterProgress, RecordSummary, StoreError};
use chrono::NaiveDate;
use folio_core::{
    Chapter, ConfirmedClassification, Contribution, Decision, Document, Finding, FindingCode, Password, Record,
};
use serde::de::DeserializeOwned;
use std::str::FromStr;
use uuid::Uuid;

/// How an engine reads one column of a row. Every method fails with [`StoreError`] rather than panicking:
/// what the database holds is input like any other.
pub(crate) trait StoredRow {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError>;
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError>;
    fn date(&self, column: &str) -> Result<NaiveDate, StoreError>;
    fn opt_date(&self, column: &str) -> Result<Option<NaiveDate>, StoreError>;
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// A column holding one of the words an enum is written as (`queued`, `donor`, ...).
pub(crate) fn word<T: FromStr>(row: &impl StoredRow, column: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    row.text(column)?.parse().map_err(|e: T::Err| corrupt(format!("{column}: {e}")))
}

/// A column holding JSON as text (PostgreSQL's `jsonb` is selected as `column::text`).
pub(crate) fn json<T: DeserializeOwned>(row: &impl StoredRow, column: &str) -> Result<T, StoreError> {
    serde_json::from_str(&row.text(column)?).map_err(|e| corrupt(format!("{column}: {e}")))
}

/// A count or size, which the schema keeps non-negative.
pub(crate) fn count(row: &impl StoredRow, column: &str) -> Result<u64, StoreError> {
    let value = row.int(column)?;
    u64::try_from(value).map_err(|_| corrupt(format!("{column} {value} is negative")))
}

/// A small non-negative number (a position, a number of attempts).
pub(crate) fn small(row: &impl StoredRow, column: &str) -> Result<u32, StoreError> {
    let value = row.int(column)?;
    u32::try_from(value).map_err(|_| corrupt(format!("{column} {value} is out of range")))
}

pub(crate) fn text_date(column: &str, text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| corrupt(format!("{column} '{text}': {e}")))
}

pub(crate) fn text_uuid(column: &str, text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| corrupt(format!("{column} '{text}': {e}")))
}

/// The columns [`document_from`] reads, for a query's select list on `documents d`.
pub(crate) const DOCUMENT_COLUMNS: &str =
    "d.id, d.contribution_id, d.file_name, d.sha256, d.bytes, d.blob_key, d.state, d.attempts, d.last_error, d.password";
/// The same columns for `RETURNING`, where SQLite takes no table alias.
pub(crate) const DOCUMENT_RETURNING: &str =
    "id, contribution_id, file_name, sha256, bytes, blob_key, state, attempts, last_error, password";

pub(crate) fn document_from(row: &impl StoredRow) -> Result<Document, StoreError> {
    Ok(Document {
        id: row.uuid("id")?,
        contribution_id: row.uuid("contribution_id")?,
        file_name: row.text("file_name")?,
        sha256: row.text("sha256")?,
        bytes: count(row, "bytes")?,
        blob_key: row.text("blob_key")?,
        state: word(row, "state")?,
        attempts: small(row, "attempts")?,
        last_error: row.opt_text("last_error")?,
        password: row.opt_text("password")?.map(Password::new),
    })
}

/// A record row: `record` (the JSON without the text), `text` and `thumbnail_key`.
/// A record without its text; a digest not yet filled (between a migration and its backfill) reads as
/// empty.
pub(crate) fn record_from(row: &impl StoredRow) -> Result<RecordSummary, StoreError> {
    let record: Record = json(row, "record")?;
    let digest = match row.opt_text("digest")? {
        Some(text) => serde_json::from_str(&text).map_err(|e| corrupt(format!("digest: {e}")))?,
        None => Default::default(),
    };
    Ok(RecordSummary { record, thumbnail_key: row.opt_text("thumbnail_key")?, digest })
}

pub(crate) fn catalogue_from(row: &impl StoredRow) -> Result<CatalogueRow, StoreError> {
    Ok(CatalogueRow {
        id: row.uuid("id")?,
        title: row.text("title")?,
        deadline: row.opt_date("deadline")?,
        config: json(row, "settings")?,
        source: row.opt_text("source")?,
    })
}

pub(crate) fn chapter_from(row: &impl StoredRow) -> Result<Chapter, StoreError> {
    Ok(Chapter { key: row.text("key")?, title: row.text("title")?, position: small(row, "position")? })
}

pub(crate) fn contribution_from(row: &impl StoredRow) -> Result<Contribution, StoreError> {
    Ok(Contribution {
        id: row.uuid("id")?,
        chapter_key: row.text("chapter_key")?,
        state: row.text("state")?,
        author: row.text("author")?,
        title: row.text("title")?,
        kind: word(row, "kind")?,
        role: word(row, "role")?,
        modality: word(row, "modality")?,
        received: row.date("received")?,
        rights: row.opt_text("rights")?,
    })
}

pub(crate) fn finding_from(row: &impl StoredRow) -> Result<Finding, StoreError> {
    let code = row.text("code")?;
    Ok(Finding {
        code: FindingCode::parse(&code).ok_or_else(|| corrupt(format!("finding code '{code}'")))?,
        severity: word(row, "severity")?,
        contribution_id: row.opt_uuid("contribution_id")?,
        file_name: row.opt_text("file_name")?,
        message: row.text("message")?,
    })
}

/// Columns: contribution_id, action, code ('' for none), reason, decided_by, decided_at (text).
pub(crate) fn decision_from(row: &impl StoredRow) -> Result<Decision, StoreError> {
    let code = row.text("code")?;
    Ok(Decision {
        contribution_id: row.uuid("contribution_id")?,
        action: word(row, "action")?,
        code: match code.as_str() {
            "" => None,
            c => Some(FindingCode::parse(c).ok_or_else(|| corrupt(format!("decision code '{c}'")))?),
        },
        reason: row.text("reason")?,
        decided_by: row.text("decided_by")?,
        decided_at: row.text("decided_at")?,
    })
}

pub(crate) fn classification_from(row: &impl StoredRow) -> Result<ConfirmedClassification, StoreError> {
    let areas = row.text("areas")?;
    Ok(ConfirmedClassification {
        contribution_id: row.uuid("contribution_id")?,
        areas: areas.split(',').filter(|a| !a.is_empty()).map(str::to_string).collect(),
        modality: row.opt_text("modality")?,
        role: row.opt_text("role")?,
        decided_by: row.text("decided_by")?,
        decided_at: row.text("decided_at")?,
    })
}

pub(crate) fn progress_from(row: &impl StoredRow) -> Result<ChapterProgress, StoreError> {
    Ok(ChapterProgress {
        key: row.text("key")?,
        title: row.text("title")?,
        position: small(row, "position")?,
        documents: count(row, "documents")?,
        finished: count(row, "finished")?,
        failed: count(row, "failed")?,
    })
}

/// SQL text (inside a quoted literal) for why a document went back: its worker's lease ran out.
pub(crate) const STOPPED: &str =
    "the worker ' || claimed_by || ' stopped while it held the document (its lease ran out)";

/// A `builds` row as both engines select it: number, state, location, manifest SHA-256, input stamp, announced.
pub(crate) type BuildTuple = (i64, String, String, String, Option<String>, bool, Option<String>);
/// A finished build with its catalogue's id (`Uuid` on PostgreSQL, its text on SQLite) and without its contents.
pub(crate) type CatalogueBuildTuple<Id> = (Id, i64, String, String, String, Option<String>, bool);

pub(crate) fn build_from(
    (number, state, location, manifest_sha256, input_stamp, announced, contents): BuildTuple,
) -> Result<BuildRow, StoreError> {
    Ok(BuildRow {
        number: u32::try_from(number).map_err(|_| corrupt(format!("build number {number}")))?,
        state: state.parse().map_err(|e: String| corrupt(format!("builds.state: {e}")))?,
        location,
        manifest_sha256,
        input_stamp,
        announced,
        contents,
    })
}

/// [`crate::Store::change_marker`] from the catalogue's `updated_at` and, document by document, its id, state,
/// `updated_at` and its record's `created_at`, all as text.
pub(crate) fn change_marker_of(
    catalogue_updated: Option<&str>,
    documents: impl Iterator<Item = (String, String, String, Option<String>)>,
) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(catalogue_updated.unwrap_or("-"));
    for (id, state, updated, recorded) in documents {
        for part in [id.as_str(), state.as_str(), updated.as_str(), recorded.as_deref().unwrap_or("-")] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
