//! The embedded default database: SQLite through sqlx, in WAL mode so readers never wait for the writer.
//! Identifiers, dates, times and JSON are kept as text; times as fixed-width RFC 3339 UTC, so that text order
//! is time order.

use super::rows::{corrupt, text_date, text_time, text_uuid, EngineRow, StoredRow};
use super::{schema, Arg, Conn, Dialect, Engine, Kept, SqlStore};
use crate::repo::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Sqlite, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The database of records in SQLite.
pub type SqliteStore = SqlStore<SqliteEngine>;

pub struct SqliteEngine {
    pub(super) pool: SqlitePool,
    pub(super) kept: Arc<Kept<Sqlite>>,
}

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
        // An in-memory database lives in one connection. A connection to a file in this process cannot be
        // cut as a server's can: no ping before each use (a trip to its thread, a tenth of a millisecond).
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { 8 })
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        // Kept between statements (see `Kept`): half the pool, never pinged (nothing can cut them).
        let kept = Kept::new(pool.clone(), if memory { 0 } else { 4 }, None);
        super::opened(SqliteEngine { pool, kept }).await
    }
}

/// SQLite's forms of the shared SQL's fragments: the time as Folio writes it, from SQLite's clock.
fn fragment(name: &str, argument: &str) -> String {
    const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'";
    match name {
        "now" => format!("{NOW})"),
        "later" => format!("{NOW}, printf('%+.6f seconds', {argument} / 1000000.0))"),
        "earlier" => format!("{NOW}, printf('%+.6f seconds', -{argument} / 1000000.0))"),
        // The clock reads milliseconds: two changes in one would look like one. A thousandth after the
        // column's time when the clock has not passed it.
        "after" => format!("max({NOW}), coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', {argument}, '+0.001 seconds'), ''))"),
        "seq" => "rowid".into(),
        "bytewise" => String::new(),
        other => format!("@{other}"),
    }
}

fn time_text(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Dialect for Sqlite {
    /// IMMEDIATE: every transaction here writes, and one that began as a reader (DEFERRED, SQLite's default)
    /// and then writes while another connection holds the write lock fails at once with "database is locked"
    /// (SQLite cannot wait there without risking a deadlock): an upload's intake failed so beside a busy
    /// worker. Taking the write lock at the start makes it wait its turn (`busy_timeout`) instead.
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    const WRITES_IN_WITH: bool = false;

    fn fragment(name: &str, argument: &str) -> String {
        fragment(name, argument)
    }

    fn bind<'q>(query: SqliteQuery<'q>, arg: &'q Arg<'_>) -> Result<SqliteQuery<'q>, StoreError> {
        Ok(match arg {
            Arg::Id(id) => query.bind(id.to_string()),
            Arg::OptId(id) => query.bind(id.map(|id| id.to_string())),
            Arg::Text(text) => query.bind(*text),
            Arg::OptText(text) => query.bind(*text),
            Arg::Int(n) => query.bind(*n),
            Arg::Date(date) => query.bind(date.map(|d| d.to_string())),
            Arg::Time(time) => query.bind(time_text(time)),
            Arg::Json(json) => query.bind(json.as_str()),
        })
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

#[async_trait]
impl Engine for SqliteEngine {
    type Db = Sqlite;
    type Conn = Conn<Sqlite>;

    async fn conn(&self) -> Result<Conn<Sqlite>, StoreError> {
        self.kept.take().await
    }

    async fn begin(&self) -> Result<Conn<Sqlite>, StoreError> {
        self.kept.begin().await
    }

    /// IMMEDIATE: the write lock from the start, so that two claims cannot both read "no build yet".
    async fn begin_build_claim(&self, _catalogue_id: Uuid) -> Result<Conn<Sqlite>, StoreError> {
        self.kept.begin().await
    }

    async fn apply_migrations(&self) -> Result<(), StoreError> {
        schema::migrator(schema::SQLITE).run(&self.pool).await?;
        Ok(())
    }
}

impl EngineRow for SqliteRow {
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        self.opt_text(column)?.map(|text| text_uuid(column, &text)).transpose()
    }
    fn opt_date(&self, column: &str) -> Result<Option<NaiveDate>, StoreError> {
        self.opt_text(column)?.map(|text| text_date(column, &text)).transpose()
    }
    fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_text(column)?.map(|text| text_time(column, &text)).transpose()
    }
    fn opt_json<T: DeserializeOwned>(&self, column: &str) -> Result<Option<T>, StoreError> {
        let parse = |text: String| serde_json::from_str(&text).map_err(|e| corrupt(format!("{column}: {e}")));
        self.opt_text(column)?.map(parse).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::{Catalogues, Records};
    use crate::sql::Exec;
    use folio_core::duplicates::TextDigest;
    use folio_core::Password;

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
                .fetch_all(&store.engine.pool)
                .await
                .unwrap();
        assert_eq!(digests[1], Some(Password::new("secret-two").digest(waiting)));
        assert_eq!(digests[0], Some(Password::new("secret-one").digest(done)), "told apart from a changed one later");
    }

    /// SQLite's clock in the shared SQL's fragments writes times as Folio does, and leases move it.
    #[tokio::test]
    async fn sqlite_times_are_fixed_width_and_leases_move_them() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let mut db = store.engine.conn().await.unwrap();
        let row = db
            .fetch_one("SELECT @now AS now, @later($1) AS later, @earlier($1) AS earlier", &[Arg::Int(90_000_000)])
            .await
            .unwrap();
        let (now, later, earlier) =
            (row.text("now").unwrap(), row.text("later").unwrap(), row.text("earlier").unwrap());
        assert_eq!(now.len(), "2012-05-01T10:00:00.000Z".len(), "{now}");
        assert!(earlier < now && now < later, "{earlier} {now} {later}");
        let span = row.opt_time("later").unwrap().unwrap() - row.opt_time("earlier").unwrap().unwrap();
        assert!((span.num_milliseconds() - 180_000).abs() < 1_000, "{span}");
    }
}
