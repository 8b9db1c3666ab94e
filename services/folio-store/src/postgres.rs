//! The cluster's database: PostgreSQL through sqlx, shared by every Folio process. It behaves as
//! [`SqliteStore`](crate::SqliteStore) does; what differs is how: each change of a document's state is one
//! conditional statement that the database serialises, and leases are timed by the database's clock
//! (`now()`), so that workers on machines whose clocks disagree still agree on when a lease ran out.

use crate::repo::{
    BuildRow, CatalogueRow, ChapterProgress, Claim, FindingSource, IntakeSnapshot, Reconciled, RecordSummary, Store,
    StoreError, StoredRecord,
};
use crate::rows::{
    build_from, catalogue_from, change_marker_of, chapter_from, classification_from, contribution_from, corrupt,
    decision_from, document_from, finding_from, progress_from, record_from, BuildTuple, CatalogueBuildTuple, StoredRow,
    DOCUMENT_COLUMNS, STOPPED,
};
use crate::schema;
use async_trait::async_trait;
use chrono::NaiveDate;
use folio_core::duplicates::TextDigest;
use folio_core::{
    CatalogueConfig, Chapter, ConfirmedClassification, Contribution, Decision, DecisionAction, Document, DocumentState,
    Finding, FindingCode, Password,
};
use serde::Serialize;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool, Row};
use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

/// Connections a process keeps open: as many as the SQLite store, each held for one operation at a time.
const POOL_SIZE: u32 = 8;

/// The longest lease the database is asked to time. PostgreSQL's timestamps end in the year 294276, so an
/// unbounded lease would fail the claim instead of meaning "as long as it takes".
const MAX_LEASE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

pub struct PostgresStore {
    pool: PgPool,
    /// Kept for the migrator, which runs on a connection of its own (see [`Store::migrate`]).
    options: PgConnectOptions,
}

impl StoredRow for PgRow {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn date(&self, column: &str) -> Result<NaiveDate, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_date(&self, column: &str) -> Result<Option<NaiveDate>, StoreError> {
        Ok(self.try_get(column)?)
    }
}

/// PostgreSQL's `text` and `jsonb` cannot hold U+0000, which SQLite keeps. Text that came out of a file (a
/// PDF title can carry NULs) has them replaced with U+FFFD, so that the write succeeds instead of failing the
/// document for good.
fn storable(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn storable_opt(text: &Option<String>) -> Option<Cow<'_, str>> {
    text.as_deref().map(storable)
}

/// A value as JSON text for a `jsonb` column, NULs in its strings replaced as by [`storable`].
fn storable_json(value: &impl Serialize) -> Result<String, StoreError> {
    let mut value = serde_json::to_value(value).map_err(corrupt)?;
    replace_nuls(&mut value);
    serde_json::to_string(&value).map_err(corrupt)
}

fn replace_nuls(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{FFFD}"),
        Value::Array(items) => items.iter_mut().for_each(replace_nuls),
        Value::Object(map) if map.keys().any(|k| k.contains('\0')) => {
            *map = std::mem::take(map)
                .into_iter()
                .map(|(k, mut v)| {
                    replace_nuls(&mut v);
                    (storable(&k).into_owned(), v)
                })
                .collect();
        }
        Value::Object(map) => map.values_mut().for_each(replace_nuls),
        _ => {}
    }
}

/// A lease in microseconds, for `now() + $n * interval '1 microsecond'`.
fn lease_micros(lease: Duration) -> i64 {
    i64::try_from(lease.min(MAX_LEASE).as_micros()).unwrap_or(i64::MAX)
}

/// A contribution read again from the intake takes the intake's metadata.
const CONTRIBUTION_UPDATE: &str = "DO UPDATE SET chapter_key = excluded.chapter_key, state = excluded.state,
   author = excluded.author, title = excluded.title, kind = excluded.kind, role = excluded.role,
   modality = excluded.modality, received = excluded.received, rights = excluded.rights";

/// A document read again from the intake keeps its state, unless its password changed (told by its digest,
/// since a finished document's password is cleared): then a finished one is read again with the new one.
const DOCUMENT_PASSWORD_UPDATE: &str = "DO UPDATE SET password = excluded.password,
   password_digest = excluded.password_digest,
   state = CASE WHEN documents.state IN ('done', 'failed') THEN 'queued' ELSE documents.state END,
   attempts = CASE WHEN documents.state IN ('done', 'failed') THEN 0 ELSE documents.attempts END,
   last_error = CASE WHEN documents.state IN ('done', 'failed') THEN NULL ELSE documents.last_error END,
   updated_at = now()
 WHERE documents.password_digest IS DISTINCT FROM excluded.password_digest";

impl PostgresStore {
    /// Connects to the database at `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?OPTIONS]` (which must
    /// exist) and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?.application_name("folio");
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        let store = Self { pool, options };
        store.migrate().await?;
        Ok(store)
    }

    /// Inserts the catalogue's row or updates its settings.
    async fn upsert_catalogue(
        tx: &mut PgConnection,
        catalogue_id: Uuid,
        config: &CatalogueConfig,
        source: &str,
    ) -> Result<(), StoreError> {
        let settings = storable_json(config)?;
        sqlx::query(
            "INSERT INTO catalogues (id, title, deadline, settings, source) VALUES ($1, $2, $3, $4::jsonb, $5)
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, deadline = excluded.deadline,
               settings = excluded.settings, source = excluded.source, updated_at = now()",
        )
        .bind(catalogue_id)
        .bind(storable(&config.title))
        .bind(config.deadline)
        .bind(&settings)
        .bind(storable(source))
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Inserts or updates the catalogue's chapters, contributions and documents; documents already known keep
    /// their state and record (the same file is not processed twice).
    async fn upsert_intake(tx: &mut PgConnection, s: &IntakeSnapshot) -> Result<(), StoreError> {
        for chapter in &s.chapters {
            sqlx::query(
                "INSERT INTO chapters (catalogue_id, key, title, position) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (catalogue_id, key) DO UPDATE SET title = excluded.title, position = excluded.position",
            )
            .bind(s.catalogue_id)
            .bind(&chapter.key)
            .bind(storable(&chapter.title))
            .bind(i64::from(chapter.position))
            .execute(&mut *tx)
            .await?;
        }
        let chapter_keys: Vec<&str> = s.chapters.iter().map(|c| c.key.as_str()).collect();
        sqlx::query("DELETE FROM chapters WHERE catalogue_id = $1 AND NOT (key = ANY($2))")
            .bind(s.catalogue_id)
            .bind(&chapter_keys)
            .execute(&mut *tx)
            .await?;
        for c in &s.contributions {
            Self::insert_contribution(tx, s.catalogue_id, c, CONTRIBUTION_UPDATE).await?;
        }
        for d in &s.documents {
            Self::insert_document(tx, d, DOCUMENT_PASSWORD_UPDATE).await?;
        }
        Ok(())
    }

    /// Inserts a contribution; `on_conflict` says what becomes of one already there.
    async fn insert_contribution(
        tx: &mut PgConnection,
        catalogue_id: Uuid,
        c: &Contribution,
        on_conflict: &str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO contributions (id, catalogue_id, chapter_key, state, author, title, kind, role, modality, received, rights)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) {on_conflict}"
        ))
        .bind(c.id)
        .bind(catalogue_id)
        .bind(&c.chapter_key)
        .bind(storable(&c.state))
        .bind(storable(&c.author))
        .bind(storable(&c.title))
        .bind(c.kind.as_str())
        .bind(c.role.as_str())
        .bind(storable(c.modality.as_str()))
        .bind(c.received)
        .bind(storable_opt(&c.rights))
        .execute(&mut *tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// What a migration leaves to fill: the text digests of records written before digests were kept, the
    /// password digests of documents, and the passwords of finished documents, cleared. A batch at a time,
    /// so that memory holds a few texts at most. Safe to run from several processes at once.
    async fn backfill(&self) -> Result<(), StoreError> {
        loop {
            let rows: Vec<(Uuid, String)> = sqlx::query_as(
                "SELECT r.document_id, t.text FROM records r JOIN record_texts t ON t.document_id = r.document_id
                 WHERE r.digest IS NULL LIMIT 20",
            )
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for (id, text) in rows {
                sqlx::query("UPDATE records SET digest = $1::jsonb WHERE document_id = $2")
                    .bind(storable_json(&TextDigest::of(&text))?)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        let passwords: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT id, password FROM documents WHERE password IS NOT NULL AND password_digest IS NULL")
                .fetch_all(&self.pool)
                .await?;
        for (id, password) in passwords {
            sqlx::query("UPDATE documents SET password_digest = $1 WHERE id = $2")
                .bind(Password::new(password).digest(id))
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        sqlx::query("UPDATE documents SET password = NULL WHERE password IS NOT NULL AND state IN ('done', 'failed')")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Inserts a document, queued; `on_conflict` says what becomes of one already there.
    async fn insert_document(tx: &mut PgConnection, d: &Document, on_conflict: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO documents (id, contribution_id, file_name, sha256, bytes, blob_key, state, password, password_digest)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) {on_conflict}"
        ))
        .bind(d.id)
        .bind(d.contribution_id)
        .bind(storable(&d.file_name))
        .bind(&d.sha256)
        .bind(i64::try_from(d.bytes).map_err(|_| corrupt(format!("{}: {} bytes", d.file_name, d.bytes)))?)
        .bind(&d.blob_key)
        .bind(DocumentState::Queued.as_str())
        .bind(d.password.as_ref().map(|p| storable(p.as_str())))
        .bind(d.password.as_ref().map(|p| p.digest(d.id)))
        .execute(&mut *tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// Removes the catalogue's documents and contributions that the intake no longer lists, with their
    /// records (by cascade).
    async fn delete_missing(tx: &mut PgConnection, s: &IntakeSnapshot) -> Result<(), StoreError> {
        let documents: Vec<Uuid> = s.documents.iter().map(|d| d.id).collect();
        sqlx::query(
            "DELETE FROM documents d USING contributions c
             WHERE c.id = d.contribution_id AND c.catalogue_id = $1 AND NOT (d.id = ANY($2))",
        )
        .bind(s.catalogue_id)
        .bind(&documents)
        .execute(&mut *tx)
        .await?;
        let contributions: Vec<Uuid> = s.contributions.iter().map(|c| c.id).collect();
        sqlx::query("DELETE FROM contributions WHERE catalogue_id = $1 AND NOT (id = ANY($2))")
            .bind(s.catalogue_id)
            .bind(&contributions)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// Marks a document failed when it has used its attempts and nobody holds it. `false` when another worker
    /// got there first (it claimed, completed or gave up on it).
    async fn give_up(&self, document_id: Uuid, max_attempts: u32) -> Result<bool, StoreError> {
        let gave_up = sqlx::query(
            "UPDATE documents SET state = 'failed', claimed_by = NULL, lease_until = NULL, updated_at = now(), password = NULL,
               last_error = 'gave up after ' || attempts || ' attempts' || COALESCE(': ' || last_error, '')
             WHERE id = $1 AND attempts >= $2 AND (state = 'queued' OR (state = 'processing' AND lease_until < now()))",
        )
        .bind(document_id)
        .bind(i64::from(max_attempts))
        .execute(&self.pool)
        .await?;
        Ok(gave_up.rows_affected() == 1)
    }
}

#[async_trait]
impl Store for PostgresStore {
    /// Runs on a connection of its own, closed afterwards: sqlx's migrator holds a session-level advisory lock
    /// (so that processes starting at once apply each migration once) and does not release it when a
    /// migration fails, which would leave it held on a pooled connection.
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.options.connect().await?;
        let outcome = schema::migrator(schema::POSTGRES).run_direct(&mut conn).await;
        // Ending the session releases the lock whatever happened; an error closing it changes nothing.
        let _ = conn.close().await;
        outcome?;
        self.backfill().await
    }

    async fn sync_intake(&self, s: &IntakeSnapshot) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        Self::upsert_catalogue(&mut tx, s.catalogue_id, &s.config, &s.source).await?;
        Self::delete_missing(&mut tx, s).await?;
        Self::upsert_intake(&mut tx, s).await?;
        replace_findings_in(&mut tx, s.catalogue_id, FindingSource::Intake, &s.findings).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn put_catalogue(
        &self,
        catalogue_id: Uuid,
        config: &CatalogueConfig,
        source: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        Self::upsert_catalogue(&mut tx, catalogue_id, config, source).await?;
        for (i, chapter) in config.chapters.iter().enumerate() {
            sqlx::query(
                "INSERT INTO chapters (catalogue_id, key, title, position) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (catalogue_id, key) DO UPDATE SET title = excluded.title, position = excluded.position",
            )
            .bind(catalogue_id)
            .bind(storable(&chapter.id))
            .bind(storable(&chapter.title))
            .bind(i as i64 + 1)
            .execute(&mut *tx)
            .await?;
        }
        let listed: Vec<String> = config.chapters.iter().map(|c| storable(&c.id).into_owned()).collect();
        sqlx::query(
            "DELETE FROM chapters ch WHERE catalogue_id = $1 AND NOT (key = ANY($2))
               AND NOT EXISTS (SELECT 1 FROM contributions c WHERE c.catalogue_id = ch.catalogue_id AND c.chapter_key = ch.key)",
        )
        .bind(catalogue_id)
        .bind(&listed)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_contribution(
        &self,
        catalogue_id: Uuid,
        c: &Contribution,
        documents: &[Document],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let chapter: Option<i64> = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM chapters WHERE catalogue_id = $1 AND key = $2) FROM catalogues WHERE id = $1",
        )
        .bind(catalogue_id)
        .bind(storable(&c.chapter_key))
        .fetch_optional(&mut *tx)
        .await?;
        match chapter {
            None => return Err(StoreError::NotFound(format!("there is no catalogue {catalogue_id}"))),
            Some(0) => return Err(StoreError::NotFound(format!("the catalogue has no chapter '{}'", c.chapter_key))),
            Some(_) => {}
        }
        let added = Self::insert_contribution(&mut tx, catalogue_id, c, "DO NOTHING").await? == 1;
        for d in documents {
            Self::insert_document(&mut tx, d, "DO NOTHING").await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn catalogue(&self, id: Uuid) -> Result<Option<CatalogueRow>, StoreError> {
        let row =
            sqlx::query("SELECT id, title, deadline, settings::text AS settings, source FROM catalogues WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(catalogue_from).transpose()
    }

    async fn chapters(&self, catalogue_id: Uuid) -> Result<Vec<Chapter>, StoreError> {
        // Keys compare byte by byte, as in SQLite, whatever the database's collation.
        let rows = sqlx::query(
            "SELECT key, title, position FROM chapters WHERE catalogue_id = $1 ORDER BY position, key COLLATE \"C\"",
        )
        .bind(catalogue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(chapter_from).collect()
    }

    async fn contributions(&self, catalogue_id: Uuid) -> Result<Vec<Contribution>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.chapter_key, c.state, c.author, c.title, c.kind, c.role, c.modality, c.received, c.rights
             FROM contributions c JOIN chapters ch ON ch.catalogue_id = c.catalogue_id AND ch.key = c.chapter_key
             WHERE c.catalogue_id = $1 ORDER BY ch.position, c.seq",
        )
        .bind(catalogue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(contribution_from).collect()
    }

    async fn documents(&self, catalogue_id: Uuid) -> Result<Vec<Document>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents d JOIN contributions c ON c.id = d.contribution_id
             WHERE c.catalogue_id = $1 ORDER BY d.seq"
        ))
        .bind(catalogue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_from).collect()
    }

    async fn document(&self, id: Uuid) -> Result<Option<Document>, StoreError> {
        let row = sqlx::query(&format!("SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(document_from).transpose()
    }

    /// One conditional UPDATE: when several workers claim at once, PostgreSQL lets one change the row and
    /// re-checks the others' conditions against what it wrote, so they find it held and change nothing.
    async fn claim(
        &self,
        document_id: Uuid,
        worker: &str,
        lease: Duration,
        max_attempts: u32,
    ) -> Result<Claim, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE documents d SET state = 'processing', attempts = attempts + 1, claimed_by = $1,
               lease_until = now() + $2 * interval '1 microsecond', updated_at = now()
             WHERE id = $3 AND attempts < $4 AND (state = 'queued' OR (state = 'processing' AND lease_until < now()))
             RETURNING {DOCUMENT_COLUMNS}"
        ))
        .bind(worker)
        .bind(lease_micros(lease))
        .bind(document_id)
        .bind(i64::from(max_attempts))
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            return Ok(Claim::Granted(document_from(&row)?));
        }
        let Some(doc) = self.document(document_id).await? else {
            return Ok(Claim::Missing);
        };
        if doc.state.is_terminal() {
            return Ok(Claim::Finished);
        }
        if doc.attempts >= max_attempts && self.give_up(document_id, max_attempts).await? {
            return Ok(Claim::GaveUp);
        }
        Ok(Claim::Held)
    }

    async fn complete(&self, document_id: Uuid, worker: &str, r: &StoredRecord) -> Result<bool, StoreError> {
        let mut record = r.record.clone();
        record.text = None;
        let json = storable_json(&record)?;
        let digest = storable_json(&r.digest)?;
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE documents SET state = 'done', claimed_by = NULL, lease_until = NULL, last_error = NULL,
               updated_at = now(), password = NULL
             WHERE id = $1 AND state = 'processing' AND claimed_by = $2",
        )
        .bind(document_id)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO records (document_id, record, digest, thumbnail_key) VALUES ($1, $2::jsonb, $3::jsonb, $4)
             ON CONFLICT (document_id) DO UPDATE SET record = excluded.record, digest = excluded.digest,
               thumbnail_key = excluded.thumbnail_key, created_at = now()",
        )
        .bind(document_id)
        .bind(&json)
        .bind(&digest)
        .bind(storable_opt(&r.thumbnail_key))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO record_texts (document_id, text) VALUES ($1, $2)
             ON CONFLICT (document_id) DO UPDATE SET text = excluded.text",
        )
        .bind(document_id)
        .bind(storable(&r.text))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn release(&self, document_id: Uuid, worker: &str, error: &str, terminal: bool) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE documents SET state = $1, claimed_by = NULL, lease_until = NULL, last_error = $2, updated_at = now(),
               password = CASE WHEN $1 = 'failed' THEN NULL ELSE password END
             WHERE id = $3 AND state = 'processing' AND claimed_by = $4",
        )
        .bind(if terminal { DocumentState::Failed.as_str() } else { DocumentState::Queued.as_str() })
        .bind(storable(error))
        .bind(document_id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn renew_lease(&self, document_id: Uuid, worker: &str, lease: Duration) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE documents SET lease_until = now() + $1 * interval '1 microsecond'
             WHERE id = $2 AND state = 'processing' AND claimed_by = $3",
        )
        .bind(lease_micros(lease))
        .bind(document_id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn reconcile(
        &self,
        lost_after: Option<Duration>,
        max_attempts: u32,
        limit: u32,
    ) -> Result<Reconciled, StoreError> {
        // Each statement re-checks its condition row by row, so a worker's claim racing a sweep is either
        // before it (the lease is live again: left alone) or after it (the document is queued: claimed).
        let failed: Vec<Uuid> = sqlx::query_scalar(&format!(
            "UPDATE documents SET state = 'failed', claimed_by = NULL, lease_until = NULL, updated_at = now(), password = NULL,
               last_error = 'gave up after ' || attempts || ' attempts: {STOPPED}' || COALESCE('; before that: ' || last_error, '')
             WHERE state = 'processing' AND lease_until < now() AND attempts >= $1
             RETURNING id"
        ))
        .bind(i64::from(max_attempts))
        .fetch_all(&self.pool)
        .await?;
        let mut requeue: Vec<(Uuid, Uuid)> = sqlx::query_as(&format!(
            "UPDATE documents d SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = now(),
               last_error = '{STOPPED}'
             FROM contributions c
             WHERE c.id = d.contribution_id AND d.state = 'processing' AND d.lease_until < now()
               AND d.id IN (SELECT id FROM documents WHERE state = 'processing' AND lease_until < now()
                            ORDER BY lease_until LIMIT $1)
             RETURNING c.catalogue_id, d.id"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let left = i64::from(limit).saturating_sub(requeue.len() as i64);
        if let Some(lost_after) = lost_after.filter(|_| left > 0) {
            let lost: Vec<(Uuid, Uuid)> = sqlx::query_as(
                "UPDATE documents d SET updated_at = now()
                 FROM contributions c
                 WHERE c.id = d.contribution_id AND d.state = 'queued'
                   AND d.updated_at < now() - $1 * interval '1 microsecond'
                   AND d.id IN (SELECT id FROM documents
                                WHERE state = 'queued' AND updated_at < now() - $1 * interval '1 microsecond'
                                ORDER BY updated_at LIMIT $2)
                 RETURNING c.catalogue_id, d.id",
            )
            .bind(lease_micros(lost_after))
            .bind(left)
            .fetch_all(&self.pool)
            .await?;
            requeue.extend(lost);
        }
        Ok(Reconciled { requeue, failed })
    }

    async fn fail_document(&self, document_id: Uuid, error: &str) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE documents SET state = 'failed', claimed_by = NULL, lease_until = NULL, updated_at = now(), password = NULL, last_error = $1
             WHERE id = $2 AND (state = 'queued' OR (state = 'processing' AND lease_until < now()))",
        )
        .bind(storable(error))
        .bind(document_id)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn requeue_processing(&self, catalogue_id: Uuid) -> Result<u64, StoreError> {
        let updated = sqlx::query(
            "UPDATE documents SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = now()
             WHERE state = 'processing' AND contribution_id IN (SELECT id FROM contributions WHERE catalogue_id = $1)",
        )
        .bind(catalogue_id)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected())
    }

    async fn record(&self, document_id: Uuid) -> Result<Option<RecordSummary>, StoreError> {
        let row = sqlx::query(
            "SELECT record::text AS record, digest::text AS digest, thumbnail_key FROM records WHERE document_id = $1",
        )
        .bind(document_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record_from).transpose()
    }

    async fn records(&self, catalogue_id: Uuid) -> Result<Vec<(Uuid, RecordSummary)>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.document_id, r.record::text AS record, r.digest::text AS digest, r.thumbnail_key FROM records r
             JOIN documents d ON d.id = r.document_id JOIN contributions c ON c.id = d.contribution_id
             WHERE c.catalogue_id = $1 ORDER BY d.seq",
        )
        .bind(catalogue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.uuid("document_id")?, record_from(r)?))).collect()
    }

    async fn text(&self, document_id: Uuid) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT text FROM record_texts WHERE document_id = $1")
            .bind(document_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn texts(&self, catalogue_id: Uuid) -> Result<Vec<(Uuid, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT t.document_id, t.text FROM record_texts t
             JOIN documents d ON d.id = t.document_id JOIN contributions c ON c.id = d.contribution_id
             WHERE c.catalogue_id = $1 ORDER BY d.seq",
        )
        .bind(catalogue_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn replace_findings(
        &self,
        catalogue_id: Uuid,
        source: FindingSource,
        findings: &[Finding],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        replace_findings_in(&mut tx, catalogue_id, source, findings).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn findings(&self, catalogue_id: Uuid) -> Result<Vec<Finding>, StoreError> {
        let rows = sqlx::query(
            "SELECT contribution_id, code, severity, file_name, message FROM findings WHERE catalogue_id = $1
             ORDER BY CASE source WHEN 'intake' THEN 0 ELSE 1 END, id",
        )
        .bind(catalogue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(finding_from).collect()
    }

    async fn progress(&self, catalogue_id: Uuid) -> Result<Vec<ChapterProgress>, StoreError> {
        let rows = sqlx::query(
            "SELECT ch.key, ch.title, ch.position, COUNT(d.id) AS documents,
                    COUNT(d.id) FILTER (WHERE d.state IN ('done', 'failed')) AS finished,
                    COUNT(d.id) FILTER (WHERE d.state = 'failed') AS failed
             FROM chapters ch
             LEFT JOIN contributions c ON c.catalogue_id = ch.catalogue_id AND c.chapter_key = ch.key
             LEFT JOIN documents d ON d.contribution_id = c.id
             WHERE ch.catalogue_id = $1 GROUP BY ch.key, ch.title, ch.position
             ORDER BY ch.position, ch.key COLLATE \"C\"",
        )
        .bind(catalogue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(progress_from).collect()
    }

    /// Locks the catalogue's row first, so that two builds finishing at once take numbers one after the other
    /// instead of both reading the same highest number.
    async fn change_marker(&self, catalogue_id: Uuid) -> Result<String, StoreError> {
        let updated: Option<String> = sqlx::query_scalar("SELECT updated_at::text FROM catalogues WHERE id = $1")
            .bind(catalogue_id)
            .fetch_optional(&self.pool)
            .await?;
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT d.id::text, d.state, d.updated_at::text, r.created_at::text
             FROM documents d JOIN contributions c ON c.id = d.contribution_id
             LEFT JOIN records r ON r.document_id = d.id
             WHERE c.catalogue_id = $1 ORDER BY d.seq",
        )
        .bind(catalogue_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(change_marker_of(updated.as_deref(), rows.into_iter()))
    }

    async fn catalogue_ids(&self) -> Result<Vec<Uuid>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM catalogues ORDER BY created_at, id").fetch_all(&self.pool).await?)
    }

    async fn claim_build(
        &self,
        catalogue_id: Uuid,
        stamp: &str,
        coordinator: &str,
        lease: Duration,
    ) -> Result<Option<u32>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One claim at a time per catalogue: the catalogue's row is the lock.
        sqlx::query("SELECT 1 FROM catalogues WHERE id = $1 FOR UPDATE").bind(catalogue_id).execute(&mut *tx).await?;
        let latest: Option<(i64, Option<String>, String, bool)> = sqlx::query_as(
            "SELECT number, input_stamp, state, COALESCE(lease_until < now(), true) FROM builds
             WHERE catalogue_id = $1 ORDER BY number DESC LIMIT 1",
        )
        .bind(catalogue_id)
        .fetch_optional(&mut *tx)
        .await?;
        let number = match latest {
            Some((_, _, state, false)) if state == "assembling" => None,
            Some((number, _, state, true)) if state == "assembling" => {
                sqlx::query(
                    "UPDATE builds SET input_stamp = $1, claimed_by = $2, lease_until = now() + $3 * interval '1 microsecond'
                     WHERE catalogue_id = $4 AND number = $5",
                )
                .bind(stamp)
                .bind(coordinator)
                .bind(lease_micros(lease))
                .bind(catalogue_id)
                .bind(number)
                .execute(&mut *tx)
                .await?;
                Some(number)
            }
            Some((_, Some(done), _, _)) if done == stamp => None,
            latest => {
                let number = latest.map_or(1, |(n, ..)| n + 1);
                sqlx::query(
                    "INSERT INTO builds (catalogue_id, number, location, manifest_sha256, input_stamp, state, claimed_by, lease_until)
                     VALUES ($1, $2, '', '', $3, 'assembling', $4, now() + $5 * interval '1 microsecond')",
                )
                .bind(catalogue_id)
                .bind(number)
                .bind(stamp)
                .bind(coordinator)
                .bind(lease_micros(lease))
                .execute(&mut *tx)
                .await?;
                Some(number)
            }
        };
        tx.commit().await?;
        number.map(|n| u32::try_from(n).map_err(|_| corrupt(format!("build number {n}")))).transpose()
    }

    async fn finish_build(
        &self,
        catalogue_id: Uuid,
        number: u32,
        coordinator: &str,
        location: &str,
        manifest_sha256: &str,
        contents: &str,
    ) -> Result<bool, StoreError> {
        // jsonb refuses NUL characters: through the same replacement as every other JSON column.
        let contents = storable_json(&serde_json::from_str::<Value>(contents).map_err(corrupt)?)?;
        let updated = sqlx::query(
            "UPDATE builds SET state = 'done', location = $1, manifest_sha256 = $2, claimed_by = NULL, lease_until = NULL,
               created_at = now(), contents = $6::jsonb
             WHERE catalogue_id = $3 AND number = $4 AND state = 'assembling' AND claimed_by = $5",
        )
        .bind(storable(location))
        .bind(manifest_sha256)
        .bind(catalogue_id)
        .bind(i64::from(number))
        .bind(coordinator)
        .bind(&contents)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn builds(&self, catalogue_id: Uuid) -> Result<Vec<BuildRow>, StoreError> {
        let rows: Vec<BuildTuple> = sqlx::query_as(
            "SELECT number, state, location, manifest_sha256, input_stamp, announced_at IS NOT NULL, contents::text
             FROM builds WHERE catalogue_id = $1 ORDER BY number",
        )
        .bind(catalogue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(build_from).collect()
    }

    async fn unannounced_builds(&self) -> Result<Vec<(Uuid, BuildRow)>, StoreError> {
        self.done_builds_without("announced_at").await
    }

    async fn mark_announced(&self, catalogue_id: Uuid, number: u32) -> Result<(), StoreError> {
        sqlx::query("UPDATE builds SET announced_at = now() WHERE catalogue_id = $1 AND number = $2")
            .bind(catalogue_id)
            .bind(i64::from(number))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn undelivered_webhooks(&self) -> Result<Vec<(Uuid, BuildRow)>, StoreError> {
        self.done_builds_without("webhook_delivered_at").await
    }

    async fn mark_webhook_delivered(&self, catalogue_id: Uuid, number: u32) -> Result<(), StoreError> {
        sqlx::query("UPDATE builds SET webhook_delivered_at = now() WHERE catalogue_id = $1 AND number = $2")
            .bind(catalogue_id)
            .bind(i64::from(number))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn put_decision(&self, catalogue_id: Uuid, d: &Decision) -> Result<(), StoreError> {
        let decided_at = chrono::DateTime::parse_from_rfc3339(&d.decided_at)
            .map_err(|e| StoreError::Corrupt(format!("decided_at '{}': {e}", d.decided_at)))?;
        let mut tx = self.pool.begin().await?;
        let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM contributions WHERE id = $1 AND catalogue_id = $2")
            .bind(d.contribution_id)
            .bind(catalogue_id)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("the catalogue has no contribution {}", d.contribution_id)));
        }
        sqlx::query(
            "INSERT INTO decisions (contribution_id, catalogue_id, action, code, reason, decided_by, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (contribution_id, action, code) DO UPDATE SET reason = excluded.reason,
               decided_by = excluded.decided_by, decided_at = excluded.decided_at",
        )
        .bind(d.contribution_id)
        .bind(catalogue_id)
        .bind(d.action.as_str())
        .bind(d.code.map(|c| c.as_str()).unwrap_or(""))
        .bind(&d.reason)
        .bind(&d.decided_by)
        .bind(decided_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE catalogues SET updated_at = now() WHERE id = $1")
            .bind(catalogue_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_decision(
        &self,
        catalogue_id: Uuid,
        contribution_id: Uuid,
        action: DecisionAction,
        code: Option<FindingCode>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query(
            "DELETE FROM decisions WHERE catalogue_id = $1 AND contribution_id = $2 AND action = $3 AND code = $4",
        )
        .bind(catalogue_id)
        .bind(contribution_id)
        .bind(action.as_str())
        .bind(code.map(|c| c.as_str()).unwrap_or(""))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if removed > 0 {
            sqlx::query("UPDATE catalogues SET updated_at = now() WHERE id = $1")
                .bind(catalogue_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(removed > 0)
    }

    async fn decisions(&self, catalogue_id: Uuid) -> Result<Vec<Decision>, StoreError> {
        let rows = sqlx::query(
            "SELECT contribution_id, action, code, reason, decided_by,
                    to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS decided_at
             FROM decisions WHERE catalogue_id = $1 ORDER BY seq",
        )
        .bind(catalogue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decision_from).collect()
    }

    async fn put_classification(&self, catalogue_id: Uuid, c: &ConfirmedClassification) -> Result<(), StoreError> {
        let decided_at = chrono::DateTime::parse_from_rfc3339(&c.decided_at)
            .map_err(|e| StoreError::Corrupt(format!("decided_at '{}': {e}", c.decided_at)))?;
        let mut tx = self.pool.begin().await?;
        let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM contributions WHERE id = $1 AND catalogue_id = $2")
            .bind(c.contribution_id)
            .bind(catalogue_id)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("the catalogue has no contribution {}", c.contribution_id)));
        }
        sqlx::query(
            "INSERT INTO classifications (contribution_id, catalogue_id, areas, modality, role, decided_by, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (contribution_id) DO UPDATE SET areas = excluded.areas, modality = excluded.modality,
               role = excluded.role, decided_by = excluded.decided_by, decided_at = excluded.decided_at",
        )
        .bind(c.contribution_id)
        .bind(catalogue_id)
        .bind(storable(&c.areas.join(",")))
        .bind(storable_opt(&c.modality))
        .bind(storable_opt(&c.role))
        .bind(storable(&c.decided_by))
        .bind(decided_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE catalogues SET updated_at = now() WHERE id = $1")
            .bind(catalogue_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_classification(&self, catalogue_id: Uuid, contribution_id: Uuid) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query("DELETE FROM classifications WHERE catalogue_id = $1 AND contribution_id = $2")
            .bind(catalogue_id)
            .bind(contribution_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed > 0 {
            sqlx::query("UPDATE catalogues SET updated_at = now() WHERE id = $1")
                .bind(catalogue_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(removed > 0)
    }

    async fn classifications(&self, catalogue_id: Uuid) -> Result<Vec<ConfirmedClassification>, StoreError> {
        let rows = sqlx::query(
            "SELECT contribution_id, areas, modality, role, decided_by,
                    to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS decided_at
             FROM classifications WHERE catalogue_id = $1 ORDER BY seq",
        )
        .bind(catalogue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(classification_from).collect()
    }

    async fn oldest_queued_secs(&self) -> Result<Option<f64>, StoreError> {
        // GREATEST would turn the NULL of "none waits" into 0: the floor at 0 is taken here instead.
        let age: Option<f64> = sqlx::query_scalar(
            "SELECT EXTRACT(EPOCH FROM (now() - MIN(updated_at)))::float8 FROM documents WHERE state = 'queued'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(age.map(|a| a.max(0.0)))
    }

    async fn upload_key(&self, catalogue_id: Uuid, key: &str) -> Result<Option<(String, Uuid)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT request_sha256, contribution_id FROM upload_keys WHERE catalogue_id = $1 AND key = $2",
        )
        .bind(catalogue_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn remember_upload_key(
        &self,
        catalogue_id: Uuid,
        key: &str,
        request_sha256: &str,
        contribution_id: Uuid,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO upload_keys (catalogue_id, key, request_sha256, contribution_id)
             VALUES ($1, $2, $3, $4) ON CONFLICT (catalogue_id, key) DO NOTHING",
        )
        .bind(catalogue_id)
        .bind(key)
        .bind(request_sha256)
        .bind(contribution_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl PostgresStore {
    /// The coordinator's finished builds (those with an input stamp) whose `column` (a time it was sent
    /// somewhere) is still empty, in the order they were made.
    async fn done_builds_without(&self, column: &'static str) -> Result<Vec<(Uuid, BuildRow)>, StoreError> {
        let rows: Vec<CatalogueBuildTuple<Uuid>> = sqlx::query_as(&format!(
            "SELECT catalogue_id, number, state, location, manifest_sha256, input_stamp, announced_at IS NOT NULL
             FROM builds WHERE state = 'done' AND input_stamp IS NOT NULL AND {column} IS NULL ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|(c, n, s, l, m, i, a)| Ok((c, build_from((n, s, l, m, i, a, None))?))).collect()
    }
}

async fn replace_findings_in(
    tx: &mut PgConnection,
    catalogue_id: Uuid,
    source: FindingSource,
    findings: &[Finding],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM findings WHERE catalogue_id = $1 AND source = $2")
        .bind(catalogue_id)
        .bind(source.as_str())
        .execute(&mut *tx)
        .await?;
    for f in findings {
        sqlx::query(
            "INSERT INTO findings (catalogue_id, source, contribution_id, code, severity, file_name, message)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(catalogue_id)
        .bind(source.as_str())
        .bind(f.contribution_id)
        .bind(f.code.as_str())
        .bind(f.severity.as_str())
        .bind(storable_opt(&f.file_name))
        .bind(storable(&f.message))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nuls_become_replacement_characters_in_text_and_json() {
        assert_eq!(storable("a\0b"), "a\u{FFFD}b");
        assert!(matches!(storable("plain"), Cow::Borrowed(_)));
        let json = storable_json(&serde_json::json!({"t\0": ["x\0", {"y": "z\0"}], "n": 1})).unwrap();
        assert!(!json.contains("\\u0000"), "{json}");
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["t\u{FFFD}"][1]["y"], "z\u{FFFD}");
        assert_eq!(back["n"], 1);
    }

    #[test]
    fn leases_are_bounded() {
        assert_eq!(lease_micros(Duration::from_millis(1)), 1000);
        assert_eq!(lease_micros(Duration::MAX), lease_micros(MAX_LEASE));
    }
}
