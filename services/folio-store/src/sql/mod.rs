//! The database of records in SQL, written once for both engines. Each statement is one text with `$N`
//! placeholders, which SQLite and PostgreSQL both read; the few places where their SQL differs are named
//! fragments an engine expands (`@now`, `@later($N)`, `@earlier($N)`, `@after(COLUMN)`, `@seq`, `@bytewise`, see
//! [`expand`]), and values are bound as [`Arg`]s, which each engine encodes in its own column types (SQLite
//! keeps ids, dates, times and JSON as text; PostgreSQL as `uuid`, `date`, `timestamptz` and `jsonb`). What an
//! engine does its own way is in its file: opening, migrating, and the lock a build claim takes.
//!
//! Times come from the database's clock in both engines, so that the leases of workers on machines whose
//! clocks disagree are compared on one clock.

mod builds;
mod catalogues;
mod editorial;
mod kept;
mod leases;
pub mod postgres;
mod rows;
mod schema;
pub mod sqlite;

use crate::repo::{
    BuildRow, Builds, CatalogueRow, Catalogues, ChapterProgress, Claim, DecisionKey, Editorial, FindingSource,
    FinishedBuild, IntakeSnapshot, Leases, Reconciled, RecordSummary, Records, Store, StoreError, StoredRecord,
    UploadKey, UploadKeys,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use folio_core::duplicates::TextDigest;
use folio_core::{
    CatalogueConfig, Chapter, ConfirmedClassification, Contribution, Decision, Document, DocumentState, Finding,
    Password,
};
pub(crate) use kept::{Conn, Kept, Rollback};
use rows::{
    build_from, catalogue_from, change_marker_of, chapter_from, classification_from, contribution_from, corrupt,
    decision_from, document_from, finding_from, progress_from, record_from, word, EngineRow, StoredRow, BUILD_COLUMNS,
    DOCUMENT_COLUMNS, DOCUMENT_RETURNING, STOPPED,
};
use sqlx::query::Query;
use sqlx::{Database, Executor, IntoArguments};
use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

/// A value bound to a statement.
pub(crate) enum Arg<'a> {
    Id(Uuid),
    OptId(Option<Uuid>),
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    Date(Option<NaiveDate>),
    Time(DateTime<Utc>),
    /// JSON, serialised.
    Json(String),
}

/// A connection that runs statements: each statement its own transaction, or inside one begun by
/// [`Engine::begin`], committed by [`Exec::commit`] and rolled back when dropped without it.
#[async_trait]
pub(crate) trait Exec: Send {
    type Row: StoredRow + Send;
    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError>;
    async fn fetch_all(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Self::Row>, StoreError>;
    async fn fetch_optional(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<Self::Row>, StoreError>;
    /// Ends a transaction, keeping what it wrote (nothing to do outside one).
    async fn commit(self) -> Result<(), StoreError>;
    /// `sql` (one or more statements) in a transaction of its own, begun and committed in the same trip: the
    /// rows its statements return (a count of changes would not do: SQLite's counts a `BEGIN` or `COMMIT` with
    /// the statement before it). Where a statement fails, the transaction is rolled back when the connection
    /// is dropped.
    async fn fetch_all_in_transaction(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Self::Row>, StoreError>;

    async fn fetch_one(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Self::Row, StoreError> {
        self.fetch_optional(sql, args).await?.ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))
    }
}

/// How an engine writes the shared SQL's fragments (see [`expand`]) and binds [`Arg`]s.
pub(crate) trait Dialect: Rollback {
    /// How a transaction that writes begins.
    const BEGIN: &'static str;
    /// Whether a statement's `WITH` may hold `INSERT`/`UPDATE` (PostgreSQL's data-modifying CTEs; SQLite has
    /// none): several writes in one statement, one round trip, atomic without `BEGIN`/`COMMIT`.
    const WRITES_IN_WITH: bool;
    fn fragment(name: &str, argument: &str) -> String;
    fn bind<'q>(
        query: Query<'q, Self, <Self as Database>::Arguments<'q>>,
        arg: &'q Arg<'_>,
    ) -> Result<Query<'q, Self, <Self as Database>::Arguments<'q>>, StoreError>;
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

impl<DB: Dialect> Conn<DB> {
    fn query<'q>(
        sql: &'q str,
        args: &'q [Arg<'_>],
    ) -> Result<Query<'q, DB, <DB as Database>::Arguments<'q>>, StoreError> {
        args.iter().try_fold(sqlx::query(sql), DB::bind)
    }

    /// Begins a transaction with `statement` (`BEGIN`, or SQLite's `BEGIN IMMEDIATE`).
    pub(crate) async fn begin(&mut self, statement: &str) -> Result<(), StoreError>
    where
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    {
        self.in_transaction = true;
        self.unsettled = true;
        self.raw().execute(statement).await?;
        self.unsettled = false;
        Ok(())
    }
}

#[async_trait]
impl<DB> Exec for Conn<DB>
where
    DB: Dialect,
    DB::Row: StoredRow + Send,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
{
    type Row = DB::Row;

    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let sql = expand(sql, DB::fragment);
        self.unsettled = true;
        let result = Self::query(&sql, args)?.execute(self.raw()).await?;
        self.unsettled = false;
        Ok(DB::rows_affected(&result))
    }

    async fn fetch_all(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<DB::Row>, StoreError> {
        let sql = expand(sql, DB::fragment);
        self.unsettled = true;
        let rows = Self::query(&sql, args)?.fetch_all(self.raw()).await?;
        self.unsettled = false;
        Ok(rows)
    }

    async fn fetch_optional(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<DB::Row>, StoreError> {
        let sql = expand(sql, DB::fragment);
        self.unsettled = true;
        let row = Self::query(&sql, args)?.fetch_optional(self.raw()).await?;
        self.unsettled = false;
        Ok(row)
    }

    async fn fetch_all_in_transaction(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<DB::Row>, StoreError> {
        let sql = format!("{};\n{};\nCOMMIT", DB::BEGIN, expand(sql, DB::fragment));
        self.in_transaction = true;
        self.unsettled = true;
        // All of it read: the statements after the rows (the COMMIT) run only as the answer is read on.
        let rows = Self::query(&sql, args)?.fetch_all(self.raw()).await?;
        (self.in_transaction, self.unsettled) = (false, false);
        Ok(rows)
    }

    async fn commit(mut self) -> Result<(), StoreError> {
        if self.in_transaction {
            self.unsettled = true;
            self.raw().execute("COMMIT").await?;
            (self.in_transaction, self.unsettled) = (false, false);
        }
        Ok(())
    }
}

/// What each engine does its own way.
#[async_trait]
pub(crate) trait Engine: Send + Sync + 'static {
    type Db: Dialect;
    type Conn: Exec;

    /// A connection: one kept from an earlier statement, else one from the pool.
    async fn conn(&self) -> Result<Self::Conn, StoreError>;
    /// A connection inside a transaction ([`Dialect::BEGIN`]).
    async fn begin(&self) -> Result<Self::Conn, StoreError>;
    /// A transaction in which nobody else claims a build of the catalogue until it ends.
    async fn begin_build_claim(&self, catalogue_id: Uuid) -> Result<Self::Conn, StoreError>;
    /// Applies the engine's migrations (`migrations/<engine>/`).
    async fn apply_migrations(&self) -> Result<(), StoreError>;

    /// One statement on a pooled connection: its rows.
    async fn all(&self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<<Self::Conn as Exec>::Row>, StoreError> {
        self.conn().await?.fetch_all(sql, args).await
    }
    async fn optional(&self, sql: &str, args: &[Arg<'_>]) -> Result<Option<<Self::Conn as Exec>::Row>, StoreError> {
        self.conn().await?.fetch_optional(sql, args).await
    }
    async fn one(&self, sql: &str, args: &[Arg<'_>]) -> Result<<Self::Conn as Exec>::Row, StoreError> {
        self.conn().await?.fetch_one(sql, args).await
    }
    /// One statement on a pooled connection: the number of rows it changed.
    async fn run(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        self.conn().await?.execute(sql, args).await
    }
}

/// Expands an engine's fragments in shared SQL: `@name` or `@name($N)`, by `fragment(name, argument)`.
pub(crate) fn expand<'s>(sql: &'s str, fragment: impl Fn(&str, &str) -> String) -> Cow<'s, str> {
    if !sql.contains('@') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 64);
    let mut rest = sql;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let name_len = after.find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(after.len());
        let (name, mut tail) = after.split_at(name_len);
        let mut argument = "";
        if let Some(inner) = tail.strip_prefix('(') {
            let close = inner.find(')').unwrap_or(inner.len());
            argument = &inner[..close];
            tail = inner.get(close + 1..).unwrap_or("");
        }
        out.push_str(&fragment(name, argument));
        rest = tail;
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The longest lease the database is asked to time: timestamps end (PostgreSQL's in the year 294276,
/// SQLite's text in 9999), so an unbounded lease would fail the claim instead of meaning "as long as it
/// takes".
const MAX_LEASE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A duration in microseconds, for `@later($N)` and `@earlier($N)`.
fn micros(duration: Duration) -> Arg<'static> {
    Arg::Int(i64::try_from(duration.min(MAX_LEASE).as_micros()).unwrap_or(i64::MAX))
}

/// The database of records on an [`Engine`]: [`SqliteStore`](sqlite::SqliteStore) or
/// [`PostgresStore`](postgres::PostgresStore).
pub struct SqlStore<E> {
    engine: E,
}

/// The store on an opened engine, its schema brought up to date.
async fn opened<E: Engine>(engine: E) -> Result<SqlStore<E>, StoreError> {
    let store = SqlStore { engine };
    store.migrate().await?;
    Ok(store)
}

/// What a migration leaves to fill: the text digests of records written before digests were kept, the
/// password digests of documents, and the passwords of finished documents, cleared. A batch at a time,
/// so that memory holds a few texts at most. Safe to run from several processes at once.
async fn backfill(engine: &impl Engine) -> Result<(), StoreError> {
    let mut db = engine.conn().await?;
    loop {
        let sql = "SELECT r.document_id, t.text FROM records r JOIN record_texts t ON t.document_id = r.document_id
                 WHERE r.digest IS NULL LIMIT 20";
        let rows = db.fetch_all(sql, &[]).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let digest = serde_json::to_string(&TextDigest::of(&row.text("text")?)).map_err(corrupt)?;
            let sql = "UPDATE records SET digest = $1 WHERE document_id = $2";
            db.execute(sql, &[Arg::Json(digest), Arg::Id(row.uuid("document_id")?)]).await?;
        }
    }
    let passwords = db
        .fetch_all("SELECT id, password FROM documents WHERE password IS NOT NULL AND password_digest IS NULL", &[])
        .await?;
    for row in passwords {
        let id = row.uuid("id")?;
        let digest = Password::new(row.text("password")?).digest(id);
        db.execute("UPDATE documents SET password_digest = $1 WHERE id = $2", &[Arg::Text(&digest), Arg::Id(id)])
            .await?;
    }
    db.execute("UPDATE documents SET password = NULL WHERE password IS NOT NULL AND state IN ('done', 'failed')", &[])
        .await?;
    Ok(())
}

#[async_trait]
impl<E: Engine> Store for SqlStore<E> {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.engine.apply_migrations().await?;
        backfill(&self.engine).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.engine.run("SELECT 1", &[]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_expanded_with_their_argument() {
        let sql = "UPDATE t SET a = @later($2), b = @now WHERE c < @earlier($1) ORDER BY x.@seq";
        let out = expand(sql, |name, arg| format!("<{name}:{arg}>"));
        assert_eq!(out, "UPDATE t SET a = <later:$2>, b = <now:> WHERE c < <earlier:$1> ORDER BY x.<seq:>");
        assert!(matches!(expand("SELECT 1", |_, _| String::new()), Cow::Borrowed(_)));
    }

    #[test]
    fn leases_are_bounded() {
        assert!(matches!(micros(Duration::from_millis(1)), Arg::Int(1000)));
        let Arg::Int(max) = micros(MAX_LEASE) else { panic!() };
        assert!(matches!(micros(Duration::MAX), Arg::Int(m) if m == max));
    }
}
