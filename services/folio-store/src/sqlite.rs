//! The embedded default database: SQLite through sqlx, in WAL mode so readers never wait for the writer.

use crate::repo::{
    BuildRow, CatalogueRow, ChapterProgress, Claim, FindingSource, IntakeSnapshot, Reconciled, RecordSummary, Store,
    StoreError, StoredRecord,
};
use crate::rows::{
    build_from, catalogue_from, change_marker_of, chapter_from, classification_from, contribution_from, corrupt,
    decision_from, document_from, finding_from, progress_from, record_from, text_date, text_uuid, BuildTuple,
    CatalogueBuildTuple, StoredRow, DOCUMENT_COLUMNS, DOCUMENT_RETURNING, STOPPED,
};
use crate::schema;
use async_trait::async_trait;
use chrono::{NaiveDate, SecondsFormat, Utc};
use folio_core::duplicates::TextDigest;
use folio_core::{
    CatalogueConfig, Chapter, ConfirmedClassification, Contribution, Decision, DecisionAction, Document, DocumentState,
    Finding, FindingCode, Password,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

pub struct SqliteStore {
    pool: SqlitePool,
}

/// Now, as stored: fixed-width RFC 3339 UTC, so text order is time order.
fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn earlier_text(before: Duration) -> String {
    let before = chrono::Duration::from_std(before).unwrap_or(chrono::Duration::MAX);
    Utc::now()
        .checked_sub_signed(before)
        .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn later_text(after: Duration) -> String {
    let after = chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
    (Utc::now() + after).to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl StoredRow for SqliteRow {
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
        text_uuid(column, &self.text(column)?)
    }
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        self.opt_text(column)?.map(|text| text_uuid(column, &text)).transpose()
    }
    fn date(&self, column: &str) -> Result<NaiveDate, StoreError> {
        text_date(column, &self.text(column)?)
    }
    fn opt_date(&self, column: &str) -> Result<Option<NaiveDate>, StoreError> {
        self.opt_text(column)?.map(|text| text_date(column, &text)).transpose()
    }
}

/// A contribution read again from the intake takes the intake's metadata.
const CONTRIBUTION_UPDATE: &str = "DO UPDATE SET chapter_key = excluded.chapter_key, state = excluded.state,
   author = excluded.author, title = excluded.title, kind = excluded.kind, role = excluded.role,
   modality = excluded.modality, received = excluded.received, rights = excluded.rights";

/// A document read again from the intake keeps its state, unless its password changed (told by its digest,
/// since a finished document's password is cleared): then a finished one is read again with the new one.
const DOCUMENT_PASSWORD_UPDATE: &str = "DO UPDATE SET password = excluded.password,
   password_digest = excluded.password_digest,
   state = CASE WHEN state IN ('done', 'failed') THEN 'queued' ELSE state END,
   attempts = CASE WHEN state IN ('done', 'failed') THEN 0 ELSE attempts END,
   last_error = CASE WHEN state IN ('done', 'failed') THEN NULL ELSE last_error END,
   updated_at = excluded.updated_at
 WHERE documents.password_digest IS NOT excluded.password_digest";

impl SqliteStore {
    /// Opens (creating when missing) the database at `sqlite://PATH`, or an in-memory one for `sqlite::memory:`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let memory = url.contains(":memory:");
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .journal_mode(if memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
            .synchronous(SqliteSynchronous::Normal);
        if !memory {
            let io = |e| StoreError::Database(sqlx::Error::Io(e));
            let file = options.get_filename();
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                crate::create_private_dir(parent).map_err(io)?;
            }
            // Only this user may read the database (0600), whether it is made now or was made world-readable
            // by an older version; SQLite gives its -wal and -shm files the database file's mode.
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(file).map_err(io)?;
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        // An in-memory database lives in one connection.
        let pool = SqlitePoolOptions::new().max_connections(if memory { 1 } else { 8 }).connect_with(options).await?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// What a migration leaves to fill: the text digests of records written before digests were kept, the
    /// password digests of documents, and the passwords of finished documents, cleared. A batch at a time,
    /// so that memory holds a few texts at most.
    async fn backfill(&self) -> Result<(), StoreError> {
        loop {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT r.document_id, t.text FROM records r JOIN record_texts t ON t.document_id = r.document_id
                 WHERE r.digest IS NULL LIMIT 20",
            )
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for (id, text) in rows {
                let digest = serde_json::to_string(&TextDigest::of(&text)).map_err(corrupt)?;
                sqlx::query("UPDATE records SET digest = ? WHERE document_id = ?")
                    .bind(digest)
                    .bind(&id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        let passwords: Vec<(String, String)> =
            sqlx::query_as("SELECT id, password FROM documents WHERE password IS NOT NULL AND password_digest IS NULL")
                .fetch_all(&self.pool)
                .await?;
        for (id, password) in passwords {
            let digest = Password::new(password).digest(text_uuid("id", &id)?);
            sqlx::query("UPDATE documents SET password_digest = ? WHERE id = ?")
                .bind(digest)
                .bind(&id)
                .execute(&self.pool)
                .await?;
        }
        sqlx::query("UPDATE documents SET password = NULL WHERE password IS NOT NULL AND state IN ('done', 'failed')")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Inserts the catalogue's row or updates its settings.
    async fn upsert_catalogue(
        tx: &mut sqlx::SqliteConnection,
        catalogue_id: &str,
        config: &CatalogueConfig,
        source: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let settings = serde_json::to_string(config).map_err(corrupt)?;
        sqlx::query(
            "INSERT INTO catalogues (id, title, deadline, settings, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET title = excluded.title, deadline = excluded.deadline,
               settings = excluded.settings, source = excluded.source, updated_at = excluded.updated_at",
        )
        .bind(catalogue_id)
        .bind(&config.title)
        .bind(config.deadline.map(|d| d.to_string()))
        .bind(&settings)
        .bind(source)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Inserts a document, queued; `on_conflict` says what becomes of one already there.
    async fn insert_document(
        tx: &mut sqlx::SqliteConnection,
        d: &Document,
        now: &str,
        on_conflict: &str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO documents (id, contribution_id, file_name, sha256, bytes, blob_key, state, attempts, password, password_digest, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?) ON CONFLICT(id) {on_conflict}"
        ))
        .bind(d.id.to_string())
        .bind(d.contribution_id.to_string())
        .bind(&d.file_name)
        .bind(&d.sha256)
        .bind(d.bytes as i64)
        .bind(&d.blob_key)
        .bind(DocumentState::Queued.as_str())
        .bind(d.password.as_ref().map(Password::as_str))
        .bind(d.password.as_ref().map(|p| p.digest(d.id)))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// Inserts a contribution; `on_conflict` says what becomes of one already there.
    async fn insert_contribution(
        tx: &mut sqlx::SqliteConnection,
        catalogue_id: &str,
        c: &Contribution,
        on_conflict: &str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO contributions (id, catalogue_id, chapter_key, state, author, title, kind, role, modality, received, rights)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) {on_conflict}"
        ))
        .bind(c.id.to_string())
        .bind(catalogue_id)
        .bind(&c.chapter_key)
        .bind(&c.state)
        .bind(&c.author)
        .bind(&c.title)
        .bind(c.kind.as_str())
        .bind(c.role.as_str())
        .bind(c.modality.as_str())
        .bind(c.received.to_string())
        .bind(&c.rights)
        .execute(&mut *tx)
        .await?;
        Ok(done.rows_affected())
    }

    async fn delete_missing(
        tx: &mut sqlx::SqliteConnection,
        select_sql: &str,
        delete_sql: &str,
        catalogue_id: &str,
        keep: &HashSet<String>,
    ) -> Result<(), StoreError> {
        let existing: Vec<String> = sqlx::query_scalar(select_sql).bind(catalogue_id).fetch_all(&mut *tx).await?;
        for id in existing.into_iter().filter(|id| !keep.contains(id)) {
            sqlx::query(delete_sql).bind(catalogue_id).bind(id).execute(&mut *tx).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        schema::migrator(schema::SQLITE).run(&self.pool).await?;
        self.backfill().await
    }

    async fn sync_intake(&self, s: &IntakeSnapshot) -> Result<(), StoreError> {
        let now = now_text();
        let catalogue_id = s.catalogue_id.to_string();
        let mut tx = self.pool.begin().await?;
        Self::upsert_catalogue(&mut tx, &catalogue_id, &s.config, &s.source, &now).await?;

        let keep_documents: HashSet<String> = s.documents.iter().map(|d| d.id.to_string()).collect();
        Self::delete_missing(
            &mut tx,
            "SELECT d.id FROM documents d JOIN contributions c ON c.id = d.contribution_id WHERE c.catalogue_id = ?",
            "DELETE FROM documents WHERE id = ?2 AND contribution_id IN (SELECT id FROM contributions WHERE catalogue_id = ?1)",
            &catalogue_id,
            &keep_documents,
        )
        .await?;
        let keep_contributions: HashSet<String> = s.contributions.iter().map(|c| c.id.to_string()).collect();
        Self::delete_missing(
            &mut tx,
            "SELECT id FROM contributions WHERE catalogue_id = ?",
            "DELETE FROM contributions WHERE catalogue_id = ? AND id = ?",
            &catalogue_id,
            &keep_contributions,
        )
        .await?;
        for chapter in &s.chapters {
            sqlx::query(
                "INSERT INTO chapters (catalogue_id, key, title, position) VALUES (?, ?, ?, ?)
                 ON CONFLICT(catalogue_id, key) DO UPDATE SET title = excluded.title, position = excluded.position",
            )
            .bind(&catalogue_id)
            .bind(&chapter.key)
            .bind(&chapter.title)
            .bind(chapter.position as i64)
            .execute(&mut *tx)
            .await?;
        }
        let keep_chapters: HashSet<String> = s.chapters.iter().map(|c| c.key.clone()).collect();
        Self::delete_missing(
            &mut tx,
            "SELECT key FROM chapters WHERE catalogue_id = ?",
            "DELETE FROM chapters WHERE catalogue_id = ? AND key = ?",
            &catalogue_id,
            &keep_chapters,
        )
        .await?;
        for c in &s.contributions {
            Self::insert_contribution(&mut tx, &catalogue_id, c, CONTRIBUTION_UPDATE).await?;
        }
        for d in &s.documents {
            // A document already known keeps its state and record: the same file is not processed twice.
            // Unless its password changed: then a finished document is read again with the new one.
            Self::insert_document(&mut tx, d, &now, DOCUMENT_PASSWORD_UPDATE).await?;
        }
        replace_findings_in(&mut tx, &catalogue_id, FindingSource::Intake, &s.findings).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn put_catalogue(
        &self,
        catalogue_id: Uuid,
        config: &CatalogueConfig,
        source: &str,
    ) -> Result<(), StoreError> {
        let now = now_text();
        let id = catalogue_id.to_string();
        let mut tx = self.pool.begin().await?;
        Self::upsert_catalogue(&mut tx, &id, config, source, &now).await?;
        for (i, chapter) in config.chapters.iter().enumerate() {
            sqlx::query(
                "INSERT INTO chapters (catalogue_id, key, title, position) VALUES (?, ?, ?, ?)
                 ON CONFLICT(catalogue_id, key) DO UPDATE SET title = excluded.title, position = excluded.position",
            )
            .bind(&id)
            .bind(&chapter.id)
            .bind(&chapter.title)
            .bind(i as i64 + 1)
            .execute(&mut *tx)
            .await?;
        }
        let listed: HashSet<String> = config.chapters.iter().map(|c| c.id.clone()).collect();
        let existing: Vec<String> = sqlx::query_scalar(
            "SELECT key FROM chapters ch WHERE catalogue_id = ?
               AND NOT EXISTS (SELECT 1 FROM contributions c WHERE c.catalogue_id = ch.catalogue_id AND c.chapter_key = ch.key)",
        )
        .bind(&id)
        .fetch_all(&mut *tx)
        .await?;
        for key in existing.into_iter().filter(|k| !listed.contains(k)) {
            sqlx::query("DELETE FROM chapters WHERE catalogue_id = ? AND key = ?")
                .bind(&id)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn add_contribution(
        &self,
        catalogue_id: Uuid,
        c: &Contribution,
        documents: &[Document],
    ) -> Result<bool, StoreError> {
        let now = now_text();
        let id = catalogue_id.to_string();
        let mut tx = self.pool.begin().await?;
        let chapter: Option<i64> = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM chapters WHERE catalogue_id = ?1 AND key = ?2) FROM catalogues WHERE id = ?1",
        )
        .bind(&id)
        .bind(&c.chapter_key)
        .fetch_optional(&mut *tx)
        .await?;
        match chapter {
            None => return Err(StoreError::NotFound(format!("there is no catalogue {catalogue_id}"))),
            Some(0) => return Err(StoreError::NotFound(format!("the catalogue has no chapter '{}'", c.chapter_key))),
            Some(_) => {}
        }
        let added = Self::insert_contribution(&mut tx, &id, c, "DO NOTHING").await? == 1;
        for d in documents {
            Self::insert_document(&mut tx, d, &now, "DO NOTHING").await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn catalogue(&self, id: Uuid) -> Result<Option<CatalogueRow>, StoreError> {
        let row = sqlx::query("SELECT id, title, deadline, settings, source FROM catalogues WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(catalogue_from).transpose()
    }

    async fn chapters(&self, catalogue_id: Uuid) -> Result<Vec<Chapter>, StoreError> {
        let rows =
            sqlx::query("SELECT key, title, position FROM chapters WHERE catalogue_id = ? ORDER BY position, key")
                .bind(catalogue_id.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(chapter_from).collect()
    }

    async fn contributions(&self, catalogue_id: Uuid) -> Result<Vec<Contribution>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.* FROM contributions c JOIN chapters ch ON ch.catalogue_id = c.catalogue_id AND ch.key = c.chapter_key
             WHERE c.catalogue_id = ? ORDER BY ch.position, c.rowid",
        )
        .bind(catalogue_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(contribution_from).collect()
    }

    async fn documents(&self, catalogue_id: Uuid) -> Result<Vec<Document>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents d JOIN contributions c ON c.id = d.contribution_id
             WHERE c.catalogue_id = ? ORDER BY d.rowid"
        ))
        .bind(catalogue_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_from).collect()
    }

    async fn document(&self, id: Uuid) -> Result<Option<Document>, StoreError> {
        let row = sqlx::query(&format!("SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(document_from).transpose()
    }

    async fn claim(
        &self,
        document_id: Uuid,
        worker: &str,
        lease: Duration,
        max_attempts: u32,
    ) -> Result<Claim, StoreError> {
        let now = now_text();
        let id = document_id.to_string();
        let row = sqlx::query(&format!(
            "UPDATE documents SET state = 'processing', attempts = attempts + 1, claimed_by = ?, lease_until = ?, updated_at = ?
             WHERE id = ? AND attempts < ? AND (state = 'queued' OR (state = 'processing' AND lease_until < ?))
             RETURNING {DOCUMENT_RETURNING}"
        ))
        .bind(worker)
        .bind(later_text(lease))
        .bind(&now)
        .bind(&id)
        .bind(max_attempts as i64)
        .bind(&now)
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
        if doc.attempts >= max_attempts {
            let gave_up = sqlx::query(
                "UPDATE documents SET state = 'failed', claimed_by = NULL, lease_until = NULL, updated_at = ?, password = NULL,
                   last_error = 'gave up after ' || attempts || ' attempts' || COALESCE(': ' || last_error, '')
                 WHERE id = ? AND (state = 'queued' OR (state = 'processing' AND lease_until < ?))",
            )
            .bind(&now)
            .bind(&id)
            .bind(&now)
            .execute(&self.pool)
            .await?;
            if gave_up.rows_affected() == 1 {
                return Ok(Claim::GaveUp);
            }
        }
        Ok(Claim::Held)
    }

    async fn complete(&self, document_id: Uuid, worker: &str, r: &StoredRecord) -> Result<bool, StoreError> {
        let now = now_text();
        let mut record = r.record.clone();
        record.text = None;
        let json = serde_json::to_string(&record).map_err(corrupt)?;
        let digest = serde_json::to_string(&r.digest).map_err(corrupt)?;
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE documents SET state = 'done', claimed_by = NULL, lease_until = NULL, last_error = NULL, updated_at = ?,
               password = NULL
             WHERE id = ? AND state = 'processing' AND claimed_by = ?",
        )
        .bind(&now)
        .bind(document_id.to_string())
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO records (document_id, record, digest, thumbnail_key, created_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(document_id) DO UPDATE SET record = excluded.record, digest = excluded.digest,
               thumbnail_key = excluded.thumbnail_key, created_at = excluded.created_at",
        )
        .bind(document_id.to_string())
        .bind(&json)
        .bind(&digest)
        .bind(&r.thumbnail_key)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO record_texts (document_id, text) VALUES (?, ?)
             ON CONFLICT(document_id) DO UPDATE SET text = excluded.text",
        )
        .bind(document_id.to_string())
        .bind(&r.text)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn release(&self, document_id: Uuid, worker: &str, error: &str, terminal: bool) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE documents SET state = ?, claimed_by = NULL, lease_until = NULL, last_error = ?, updated_at = ?,
               password = CASE WHEN ? THEN NULL ELSE password END
             WHERE id = ? AND state = 'processing' AND claimed_by = ?",
        )
        .bind(if terminal { "failed" } else { "queued" })
        .bind(error)
        .bind(now_text())
        .bind(terminal)
        .bind(document_id.to_string())
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn renew_lease(&self, document_id: Uuid, worker: &str, lease: Duration) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE documents SET lease_until = ? WHERE id = ? AND state = 'processing' AND claimed_by = ?",
        )
        .bind(later_text(lease))
        .bind(document_id.to_string())
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
        // As in PostgreSQL, each statement re-checks its condition row by row. SQLite's RETURNING sees only
        // the changed table, so the catalogue of each document is looked up afterwards.
        let now = now_text();
        let failed_ids: Vec<String> = sqlx::query_scalar(&format!(
            "UPDATE documents SET state = 'failed', claimed_by = NULL, lease_until = NULL, updated_at = ?, password = NULL,
               last_error = 'gave up after ' || attempts || ' attempts: {STOPPED}' || COALESCE('; before that: ' || last_error, '')
             WHERE state = 'processing' AND lease_until < ? AND attempts >= ?
             RETURNING id"
        ))
        .bind(&now)
        .bind(&now)
        .bind(i64::from(max_attempts))
        .fetch_all(&self.pool)
        .await?;
        let mut changed: Vec<(String, String)> = sqlx::query_as(&format!(
            "UPDATE documents SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = ?,
               last_error = '{STOPPED}'
             WHERE state = 'processing' AND lease_until < ?
               AND id IN (SELECT id FROM documents WHERE state = 'processing' AND lease_until < ?
                          ORDER BY lease_until LIMIT ?)
             RETURNING contribution_id, id"
        ))
        .bind(&now)
        .bind(&now)
        .bind(&now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let left = i64::from(limit).saturating_sub(changed.len() as i64);
        if let Some(lost_after) = lost_after.filter(|_| left > 0) {
            let cutoff = earlier_text(lost_after);
            let lost: Vec<(String, String)> = sqlx::query_as(
                "UPDATE documents SET updated_at = ?
                 WHERE state = 'queued' AND updated_at < ?
                   AND id IN (SELECT id FROM documents WHERE state = 'queued' AND updated_at < ?
                              ORDER BY updated_at LIMIT ?)
                 RETURNING contribution_id, id",
            )
            .bind(&now)
            .bind(&cutoff)
            .bind(&cutoff)
            .bind(left)
            .fetch_all(&self.pool)
            .await?;
            changed.extend(lost);
        }
        let mut catalogues: HashMap<String, Uuid> = HashMap::new();
        let mut requeue = Vec::with_capacity(changed.len());
        for (contribution_id, id) in changed {
            let catalogue_id = match catalogues.get(&contribution_id) {
                Some(c) => *c,
                None => {
                    let text: String = sqlx::query_scalar("SELECT catalogue_id FROM contributions WHERE id = ?")
                        .bind(&contribution_id)
                        .fetch_one(&self.pool)
                        .await?;
                    let c = text_uuid("catalogue_id", &text)?;
                    catalogues.insert(contribution_id, c);
                    c
                }
            };
            requeue.push((catalogue_id, text_uuid("id", &id)?));
        }
        let failed = failed_ids.iter().map(|id| text_uuid("id", id)).collect::<Result<_, _>>()?;
        Ok(Reconciled { requeue, failed })
    }

    async fn fail_document(&self, document_id: Uuid, error: &str) -> Result<bool, StoreError> {
        let now = now_text();
        let updated = sqlx::query(
            "UPDATE documents SET state = 'failed', claimed_by = NULL, lease_until = NULL, updated_at = ?, password = NULL, last_error = ?
             WHERE id = ? AND (state = 'queued' OR (state = 'processing' AND lease_until < ?))",
        )
        .bind(&now)
        .bind(error)
        .bind(document_id.to_string())
        .bind(&now)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn requeue_processing(&self, catalogue_id: Uuid) -> Result<u64, StoreError> {
        let updated = sqlx::query(
            "UPDATE documents SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = ?
             WHERE state = 'processing' AND contribution_id IN (SELECT id FROM contributions WHERE catalogue_id = ?)",
        )
        .bind(now_text())
        .bind(catalogue_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected())
    }

    async fn record(&self, document_id: Uuid) -> Result<Option<RecordSummary>, StoreError> {
        let row = sqlx::query("SELECT record, digest, thumbnail_key FROM records WHERE document_id = ?")
            .bind(document_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record_from).transpose()
    }

    async fn records(&self, catalogue_id: Uuid) -> Result<Vec<(Uuid, RecordSummary)>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.document_id, r.record, r.digest, r.thumbnail_key FROM records r
             JOIN documents d ON d.id = r.document_id JOIN contributions c ON c.id = d.contribution_id
             WHERE c.catalogue_id = ? ORDER BY d.rowid",
        )
        .bind(catalogue_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.uuid("document_id")?, record_from(r)?))).collect()
    }

    async fn text(&self, document_id: Uuid) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT text FROM record_texts WHERE document_id = ?")
            .bind(document_id.to_string())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn texts(&self, catalogue_id: Uuid) -> Result<Vec<(Uuid, String)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT t.document_id, t.text FROM record_texts t
             JOIN documents d ON d.id = t.document_id JOIN contributions c ON c.id = d.contribution_id
             WHERE c.catalogue_id = ? ORDER BY d.rowid",
        )
        .bind(catalogue_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|(id, text)| Ok((text_uuid("document_id", &id)?, text))).collect()
    }

    async fn replace_findings(
        &self,
        catalogue_id: Uuid,
        source: FindingSource,
        findings: &[Finding],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        replace_findings_in(&mut tx, &catalogue_id.to_string(), source, findings).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn findings(&self, catalogue_id: Uuid) -> Result<Vec<Finding>, StoreError> {
        let rows = sqlx::query(
            "SELECT contribution_id, code, severity, file_name, message FROM findings WHERE catalogue_id = ?
             ORDER BY CASE source WHEN 'intake' THEN 0 ELSE 1 END, id",
        )
        .bind(catalogue_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(finding_from).collect()
    }

    async fn progress(&self, catalogue_id: Uuid) -> Result<Vec<ChapterProgress>, StoreError> {
        let rows = sqlx::query(
            "SELECT ch.key, ch.title, ch.position, COUNT(d.id) AS documents,
                    COALESCE(SUM(CASE WHEN d.state IN ('done', 'failed') THEN 1 ELSE 0 END), 0) AS finished,
                    COALESCE(SUM(CASE WHEN d.state = 'failed' THEN 1 ELSE 0 END), 0) AS failed
             FROM chapters ch
             LEFT JOIN contributions c ON c.catalogue_id = ch.catalogue_id AND c.chapter_key = ch.key
             LEFT JOIN documents d ON d.contribution_id = c.id
             WHERE ch.catalogue_id = ? GROUP BY ch.key, ch.title, ch.position ORDER BY ch.position, ch.key",
        )
        .bind(catalogue_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(progress_from).collect()
    }

    async fn change_marker(&self, catalogue_id: Uuid) -> Result<String, StoreError> {
        let cat = catalogue_id.to_string();
        let updated: Option<String> = sqlx::query_scalar("SELECT updated_at FROM catalogues WHERE id = ?")
            .bind(&cat)
            .fetch_optional(&self.pool)
            .await?;
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT d.id, d.state, d.updated_at, r.created_at
             FROM documents d JOIN contributions c ON c.id = d.contribution_id
             LEFT JOIN records r ON r.document_id = d.id
             WHERE c.catalogue_id = ? ORDER BY d.rowid",
        )
        .bind(&cat)
        .fetch_all(&self.pool)
        .await?;
        Ok(change_marker_of(updated.as_deref(), rows.into_iter()))
    }

    async fn catalogue_ids(&self) -> Result<Vec<Uuid>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM catalogues ORDER BY created_at, id").fetch_all(&self.pool).await?;
        ids.iter().map(|id| text_uuid("id", id)).collect()
    }

    async fn claim_build(
        &self,
        catalogue_id: Uuid,
        stamp: &str,
        coordinator: &str,
        lease: Duration,
    ) -> Result<Option<u32>, StoreError> {
        // IMMEDIATE: the write lock from the start, so that two claims cannot both read "no build yet".
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let now = now_text();
        let cat = catalogue_id.to_string();
        let latest: Option<(i64, Option<String>, String, bool)> = sqlx::query_as(
            "SELECT number, input_stamp, state, COALESCE(lease_until < ?, 1) FROM builds
             WHERE catalogue_id = ? ORDER BY number DESC LIMIT 1",
        )
        .bind(&now)
        .bind(&cat)
        .fetch_optional(&mut *tx)
        .await?;
        let number = match latest {
            Some((_, _, state, false)) if state == "assembling" => None,
            Some((number, _, state, true)) if state == "assembling" => {
                sqlx::query(
                    "UPDATE builds SET input_stamp = ?, claimed_by = ?, lease_until = ? WHERE catalogue_id = ? AND number = ?",
                )
                .bind(stamp)
                .bind(coordinator)
                .bind(later_text(lease))
                .bind(&cat)
                .bind(number)
                .execute(&mut *tx)
                .await?;
                Some(number)
            }
            Some((_, Some(done), _, _)) if done == stamp => None,
            latest => {
                let number = latest.map_or(1, |(n, ..)| n + 1);
                sqlx::query(
                    "INSERT INTO builds (catalogue_id, number, location, manifest_sha256, created_at, input_stamp, state,
                       claimed_by, lease_until)
                     VALUES (?, ?, '', '', ?, ?, 'assembling', ?, ?)",
                )
                .bind(&cat)
                .bind(number)
                .bind(&now)
                .bind(stamp)
                .bind(coordinator)
                .bind(later_text(lease))
                .execute(&mut *tx)
                .await?;
                Some(number)
            }
        };
        tx.commit().await?;
        Ok(number.map(|n| n.max(0) as u32))
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
        let updated = sqlx::query(
            "UPDATE builds SET state = 'done', location = ?, manifest_sha256 = ?, contents = ?, claimed_by = NULL,
               lease_until = NULL, created_at = ?
             WHERE catalogue_id = ? AND number = ? AND state = 'assembling' AND claimed_by = ?",
        )
        .bind(location)
        .bind(manifest_sha256)
        .bind(contents)
        .bind(now_text())
        .bind(catalogue_id.to_string())
        .bind(i64::from(number))
        .bind(coordinator)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn builds(&self, catalogue_id: Uuid) -> Result<Vec<BuildRow>, StoreError> {
        let rows: Vec<BuildTuple> = sqlx::query_as(
            "SELECT number, state, location, manifest_sha256, input_stamp, announced_at IS NOT NULL, contents
             FROM builds WHERE catalogue_id = ? ORDER BY number",
        )
        .bind(catalogue_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(build_from).collect()
    }

    async fn unannounced_builds(&self) -> Result<Vec<(Uuid, BuildRow)>, StoreError> {
        self.done_builds_without("announced_at").await
    }

    async fn mark_announced(&self, catalogue_id: Uuid, number: u32) -> Result<(), StoreError> {
        sqlx::query("UPDATE builds SET announced_at = ? WHERE catalogue_id = ? AND number = ?")
            .bind(now_text())
            .bind(catalogue_id.to_string())
            .bind(i64::from(number))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn undelivered_webhooks(&self) -> Result<Vec<(Uuid, BuildRow)>, StoreError> {
        self.done_builds_without("webhook_delivered_at").await
    }

    async fn mark_webhook_delivered(&self, catalogue_id: Uuid, number: u32) -> Result<(), StoreError> {
        sqlx::query("UPDATE builds SET webhook_delivered_at = ? WHERE catalogue_id = ? AND number = ?")
            .bind(now_text())
            .bind(catalogue_id.to_string())
            .bind(i64::from(number))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn put_decision(&self, catalogue_id: Uuid, d: &Decision) -> Result<(), StoreError> {
        let cat = catalogue_id.to_string();
        let mut tx = self.pool.begin().await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM contributions WHERE id = ? AND catalogue_id = ?")
            .bind(d.contribution_id.to_string())
            .bind(&cat)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("the catalogue has no contribution {}", d.contribution_id)));
        }
        sqlx::query(
            "INSERT INTO decisions (contribution_id, catalogue_id, action, code, reason, decided_by, decided_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (contribution_id, action, code) DO UPDATE SET reason = excluded.reason,
               decided_by = excluded.decided_by, decided_at = excluded.decided_at",
        )
        .bind(d.contribution_id.to_string())
        .bind(&cat)
        .bind(d.action.as_str())
        .bind(d.code.map(|c| c.as_str()).unwrap_or(""))
        .bind(&d.reason)
        .bind(&d.decided_by)
        .bind(&d.decided_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE catalogues SET updated_at = ? WHERE id = ?")
            .bind(now_text())
            .bind(&cat)
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
        let cat = catalogue_id.to_string();
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query(
            "DELETE FROM decisions WHERE catalogue_id = ? AND contribution_id = ? AND action = ? AND code = ?",
        )
        .bind(&cat)
        .bind(contribution_id.to_string())
        .bind(action.as_str())
        .bind(code.map(|c| c.as_str()).unwrap_or(""))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if removed > 0 {
            sqlx::query("UPDATE catalogues SET updated_at = ? WHERE id = ?")
                .bind(now_text())
                .bind(&cat)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(removed > 0)
    }

    async fn decisions(&self, catalogue_id: Uuid) -> Result<Vec<Decision>, StoreError> {
        let rows = sqlx::query(
            "SELECT contribution_id, action, code, reason, decided_by, decided_at FROM decisions
             WHERE catalogue_id = ? ORDER BY rowid",
        )
        .bind(catalogue_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decision_from).collect()
    }

    async fn put_classification(&self, catalogue_id: Uuid, c: &ConfirmedClassification) -> Result<(), StoreError> {
        let cat = catalogue_id.to_string();
        let mut tx = self.pool.begin().await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM contributions WHERE id = ? AND catalogue_id = ?")
            .bind(c.contribution_id.to_string())
            .bind(&cat)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("the catalogue has no contribution {}", c.contribution_id)));
        }
        sqlx::query(
            "INSERT INTO classifications (contribution_id, catalogue_id, areas, modality, role, decided_by, decided_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (contribution_id) DO UPDATE SET areas = excluded.areas, modality = excluded.modality,
               role = excluded.role, decided_by = excluded.decided_by, decided_at = excluded.decided_at",
        )
        .bind(c.contribution_id.to_string())
        .bind(&cat)
        .bind(c.areas.join(","))
        .bind(&c.modality)
        .bind(&c.role)
        .bind(&c.decided_by)
        .bind(&c.decided_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE catalogues SET updated_at = ? WHERE id = ?")
            .bind(now_text())
            .bind(&cat)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_classification(&self, catalogue_id: Uuid, contribution_id: Uuid) -> Result<bool, StoreError> {
        let cat = catalogue_id.to_string();
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query("DELETE FROM classifications WHERE catalogue_id = ? AND contribution_id = ?")
            .bind(&cat)
            .bind(contribution_id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed > 0 {
            sqlx::query("UPDATE catalogues SET updated_at = ? WHERE id = ?")
                .bind(now_text())
                .bind(&cat)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(removed > 0)
    }

    async fn classifications(&self, catalogue_id: Uuid) -> Result<Vec<ConfirmedClassification>, StoreError> {
        let rows = sqlx::query(
            "SELECT contribution_id, areas, modality, role, decided_by, decided_at FROM classifications
             WHERE catalogue_id = ? ORDER BY rowid",
        )
        .bind(catalogue_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(classification_from).collect()
    }

    async fn oldest_queued_secs(&self) -> Result<Option<f64>, StoreError> {
        let oldest: Option<String> = sqlx::query_scalar("SELECT MIN(updated_at) FROM documents WHERE state = 'queued'")
            .fetch_one(&self.pool)
            .await?;
        let Some(oldest) = oldest else { return Ok(None) };
        let at = chrono::DateTime::parse_from_rfc3339(&oldest)
            .map_err(|e| corrupt(format!("updated_at '{oldest}': {e}")))?;
        Ok(Some((Utc::now() - at.with_timezone(&Utc)).num_milliseconds().max(0) as f64 / 1000.0))
    }

    async fn upload_key(&self, catalogue_id: Uuid, key: &str) -> Result<Option<(String, Uuid)>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT request_sha256, contribution_id FROM upload_keys WHERE catalogue_id = ? AND key = ?",
        )
        .bind(catalogue_id.to_string())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(sha, id)| Ok((sha, text_uuid("contribution_id", &id)?))).transpose()
    }

    async fn remember_upload_key(
        &self,
        catalogue_id: Uuid,
        key: &str,
        request_sha256: &str,
        contribution_id: Uuid,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO upload_keys (catalogue_id, key, request_sha256, contribution_id, created_at)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (catalogue_id, key) DO NOTHING",
        )
        .bind(catalogue_id.to_string())
        .bind(key)
        .bind(request_sha256)
        .bind(contribution_id.to_string())
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl SqliteStore {
    /// The coordinator's finished builds (those with an input stamp) whose `column` (a time it was sent
    /// somewhere) is still empty, in the order they were made.
    async fn done_builds_without(&self, column: &'static str) -> Result<Vec<(Uuid, BuildRow)>, StoreError> {
        let rows: Vec<CatalogueBuildTuple<String>> = sqlx::query_as(&format!(
            "SELECT catalogue_id, number, state, location, manifest_sha256, input_stamp, announced_at IS NOT NULL
             FROM builds WHERE state = 'done' AND input_stamp IS NOT NULL AND {column} IS NULL ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(c, n, s, l, m, i, a)| Ok((text_uuid("catalogue_id", &c)?, build_from((n, s, l, m, i, a, None))?)))
            .collect()
    }
}

async fn replace_findings_in(
    tx: &mut sqlx::SqliteConnection,
    catalogue_id: &str,
    source: FindingSource,
    findings: &[Finding],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM findings WHERE catalogue_id = ? AND source = ?")
        .bind(catalogue_id)
        .bind(source.as_str())
        .execute(&mut *tx)
        .await?;
    for f in findings {
        sqlx::query(
            "INSERT INTO findings (catalogue_id, source, contribution_id, code, severity, file_name, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(catalogue_id)
        .bind(source.as_str())
        .bind(f.contribution_id.map(|c| c.to_string()))
        .bind(f.code.as_str())
        .bind(f.severity.as_str())
        .bind(&f.file_name)
        .bind(&f.message)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that version 7 of the schema made (texts in `records`, passwords of finished documents
    /// kept) is brought up to date on opening: texts move to `record_texts`, digests are filled, the
    /// finished document's password is cleared, and the waiting one's is kept with its digest.
    #[tokio::test]
    async fn an_older_database_has_its_texts_moved_and_finished_passwords_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true).foreign_keys(true);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        schema::migrator(&schema::SQLITE[..7]).run(&pool).await.unwrap();
        let (cat, con, done, waiting) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let record = serde_json::to_string(&folio_core::Record::failed(
            "a.pdf",
            "aa".into(),
            1,
            folio_core::ExtractError::new(folio_core::ExtractErrorKind::Io, "x"),
        ))
        .unwrap();
        let t = "2012-01-01T00:00:00.000000Z";
        sqlx::raw_sql(&format!(
            "INSERT INTO catalogues (id, title, settings, created_at, updated_at) VALUES ('{cat}', 'C', '{{}}', '{t}', '{t}');
             INSERT INTO chapters (catalogue_id, key, title, position) VALUES ('{cat}', 'one', 'One', 0);
             INSERT INTO contributions (id, catalogue_id, chapter_key, state, author, title, kind, role, modality, received)
               VALUES ('{con}', '{cat}', 'one', 'Chile', 'A', 'T', 'text', 'donor', 'bilateral', '2012-01-01');
             INSERT INTO documents (id, contribution_id, file_name, sha256, bytes, blob_key, state, password, created_at, updated_at)
               VALUES ('{done}', '{con}', 'a.pdf', 'aa', 1, 'k', 'done', 'secret-one', '{t}', '{t}'),
                      ('{waiting}', '{con}', 'b.pdf', 'bb', 1, 'k', 'queued', 'secret-two', '{t}', '{t}');
             INSERT INTO records (document_id, record, text, thumbnail_key, created_at)
               VALUES ('{done}', '{record}', 'the text of an older version', NULL, '{t}');"
        ))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = SqliteStore::open(&url).await.unwrap();
        assert_eq!(store.text(done).await.unwrap().as_deref(), Some("the text of an older version"));
        let summary = store.record(done).await.unwrap().unwrap();
        assert_eq!(summary.digest, TextDigest::of("the text of an older version"));
        assert_eq!(store.document(done).await.unwrap().unwrap().password, None);
        let kept = store.document(waiting).await.unwrap().unwrap().password;
        assert_eq!(kept.as_ref().map(Password::as_str), Some("secret-two"), "a waiting document keeps it");
        let digests: Vec<Option<String>> =
            sqlx::query_scalar("SELECT password_digest FROM documents ORDER BY file_name")
                .fetch_all(&store.pool)
                .await
                .unwrap();
        assert_eq!(digests[1], Some(Password::new("secret-two").digest(waiting)));
        assert_eq!(digests[0], Some(Password::new("secret-one").digest(done)), "told apart from a changed one later");
    }
}
