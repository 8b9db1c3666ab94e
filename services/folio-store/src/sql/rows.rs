//! Turning database rows into Folio's types, once for every engine. Engines store identifiers and dates
//! differently (SQLite as text, PostgreSQL natively), so each says how it reads those columns through
//! [`StoredRow`]; what the values mean (states, kinds, JSON records, counts) is decoded here, so that the
//! engines cannot drift apart in what they accept as readable data.

use crate::repo::{BuildRow, CatalogueRow, ChapterProgress, RecordSummary, StoreError};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use folio_core::{
    Chapter, ConfirmedClassification, Contribution, Decision, Document, Finding, FindingCode, Password, Record,
};
use serde::de::DeserializeOwned;
use sqlx::{ColumnIndex, Decode, Row, Type};
use std::str::FromStr;
use uuid::Uuid;

/// What each engine keeps in column types of its own (SQLite keeps them all as text): identifiers, dates,
/// times and JSON.
pub(crate) trait EngineRow {
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError>;
    fn opt_date(&self, column: &str) -> Result<Option<NaiveDate>, StoreError>;
    /// A time (SQLite: RFC 3339 text; PostgreSQL: `timestamptz`).
    fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// A JSON column, decoded (SQLite: text; PostgreSQL: `jsonb`).
    fn opt_json<T: DeserializeOwned>(&self, column: &str) -> Result<Option<T>, StoreError>
    where
        Self: Sized;
}

/// How a row is read, column by column. Every method fails with [`StoreError`] rather than panicking: what
/// the database holds is input like any other.
pub(crate) trait StoredRow: EngineRow + Sized {
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn bool(&self, column: &str) -> Result<bool, StoreError>;

    fn text(&self, column: &str) -> Result<String, StoreError> {
        required(column, self.opt_text(column)?)
    }
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
        required(column, self.opt_uuid(column)?)
    }
    fn date(&self, column: &str) -> Result<NaiveDate, StoreError> {
        required(column, self.opt_date(column)?)
    }
    fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError> {
        required(column, self.opt_json(column)?)
    }
    /// A time as text, to the millisecond, as Folio writes times (`2012-05-01T10:00:00.000Z`).
    fn opt_time_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.opt_time(column)?.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)))
    }
    fn time_text(&self, column: &str) -> Result<String, StoreError> {
        required(column, self.opt_time_text(column)?)
    }
}

/// Text, numbers and truth values, which every engine stores alike.
impl<R> StoredRow for R
where
    R: Row + EngineRow,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn bool(&self, column: &str) -> Result<bool, StoreError> {
        Ok(self.try_get(column)?)
    }
}

fn required<T>(column: &str, value: Option<T>) -> Result<T, StoreError> {
    value.ok_or_else(|| corrupt(format!("{column} is empty")))
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

pub(crate) fn text_time(column: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(format!("{column} '{text}': {e}")))
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

/// A record row (`record`, the JSON without the text; `digest`; `thumbnail_key`) as a record without its
/// text; a digest not yet filled (between a migration and its backfill) reads as empty.
pub(crate) fn record_from(row: &impl StoredRow) -> Result<RecordSummary, StoreError> {
    let record: Record = row.json("record")?;
    let digest = row.opt_json("digest")?.unwrap_or_default();
    Ok(RecordSummary { record, thumbnail_key: row.opt_text("thumbnail_key")?, digest })
}

pub(crate) fn catalogue_from(row: &impl StoredRow) -> Result<CatalogueRow, StoreError> {
    Ok(CatalogueRow {
        id: row.uuid("id")?,
        title: row.text("title")?,
        deadline: row.opt_date("deadline")?,
        config: row.json("settings")?,
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
        layout: match row.opt_text("layout")? {
            Some(word) => Some(word.parse().map_err(|e: folio_core::UnknownWord| corrupt(e.to_string()))?),
            None => None,
        },
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
        decided_at: row.time_text("decided_at")?,
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
        decided_at: row.time_text("decided_at")?,
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

/// The columns [`build_from`] reads.
pub(crate) const BUILD_COLUMNS: &str =
    "number, state, location, manifest_sha256, input_stamp, announced_at IS NOT NULL AS announced";

/// A `builds` row of [`BUILD_COLUMNS`], with `contents` when the query selects it.
pub(crate) fn build_from(row: &impl StoredRow, with_contents: bool) -> Result<BuildRow, StoreError> {
    let number = row.int("number")?;
    Ok(BuildRow {
        number: u32::try_from(number).map_err(|_| corrupt(format!("build number {number}")))?,
        state: word(row, "state")?,
        location: row.text("location")?,
        manifest_sha256: row.text("manifest_sha256")?,
        input_stamp: row.opt_text("input_stamp")?,
        announced: row.bool("announced")?,
        contents: match with_contents {
            true => row.opt_json::<serde_json::Value>("contents")?.map(|c| c.to_string()),
            false => None,
        },
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
