//! Connections kept between uses, out of sqlx's pool ([`Kept`]), and the connection each statement runs on
//! ([`Conn`]).
//!
//! sqlx tests every connection that goes back into its pool with a ping: a round trip to PostgreSQL, a trip
//! to SQLite's connection thread, in a task of its own. With one statement a claim and one a completion, that
//! was a second trip beside each (`cargo bench -p folio-store --bench claim_and_complete`: the CPU a claimed
//! and completed document costs, 520-620 µs to 290-380 µs on SQLite, 1,070-1,090 µs to 840-860 µs for
//! PostgreSQL and its server together; docs/PERFORMANCE.md). A connection is therefore kept here after a use
//! that ended cleanly, the most recently used first, and goes back to sqlx's pool (which pings it then, and
//! applies its idle and lifetime limits) only when it may be in an unknown state, when [`Kept::max`] are kept
//! already, when the pool has none left (a caller may be waiting there), or a minute after it left the pool.
//!
//! A kept connection that waited [`Kept::ping_after_idle`] or longer is pinged before use, as the pool does
//! (`before_acquire`), and closed when the server ended its session meanwhile. A transaction is begun and
//! ended by statements on the connection: one dropped without its commit is rolled back on the runtime before
//! the connection is kept again (closed where there is no runtime, which ends the transaction as well).

use super::{Dialect, StoreError};
use futures_util::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Executor, Pool};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a connection stays out of sqlx's pool: then it goes back, for the pool's own checks (its idle
/// time, its lifetime, the ping on return). Once a minute a connection is nothing to a database.
const BACK_TO_THE_POOL_AFTER: Duration = Duration::from_secs(60);

/// Connections taken from sqlx's pool and kept for the next statement.
pub(crate) struct Kept<DB: Database> {
    pool: Pool<DB>,
    idle: Mutex<Vec<Waiting<DB>>>,
    /// The most kept at once; the pool's other connections stay in it for callers that take from it directly
    /// (the migrator, tests).
    max: usize,
    /// A connection that waited this long is pinged before use (`None`: never; SQLite's connection is in this
    /// process and cannot be cut as a server's session can).
    ping_after_idle: Option<Duration>,
}

struct Waiting<DB: Database> {
    conn: PoolConnection<DB>,
    /// When it left sqlx's pool.
    taken: Instant,
    /// When it was kept, after its last use.
    since: Instant,
}

impl<DB: Dialect> Kept<DB> {
    pub(crate) fn new(pool: Pool<DB>, max: usize, ping_after_idle: Option<Duration>) -> Arc<Self> {
        Arc::new(Self { pool, idle: Mutex::new(Vec::new()), max, ping_after_idle })
    }

    /// A kept connection (pinged first if it waited long), else one from the pool.
    pub(crate) async fn take(self: &Arc<Self>) -> Result<Conn<DB>, StoreError> {
        loop {
            let waiting = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(Waiting { mut conn, taken, since }) = waiting else { break };
            if taken.elapsed() >= BACK_TO_THE_POOL_AFTER {
                continue;
            }
            if self.ping_after_idle.is_some_and(|after| since.elapsed() >= after) && conn.ping().await.is_err() {
                // Its session is gone: closed, not returned to be pinged again.
                conn.close_on_drop();
                continue;
            }
            return Ok(Conn::new(conn, taken, self.clone()));
        }
        Ok(Conn::new(self.pool.acquire().await?, Instant::now(), self.clone()))
    }

    /// A connection as [`Kept::take`] gives, inside a transaction ([`Dialect::BEGIN`]).
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<Conn<DB>, StoreError>
    where
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    {
        let mut conn = self.take().await?;
        conn.begin(DB::BEGIN).await?;
        Ok(conn)
    }

    /// Keeps `conn` for the next statement, or gives it back to the pool: when enough are kept, when it has been
    /// out of the pool a minute, and when the pool has none left, for someone may be waiting there for one
    /// (a caller finds this one here only when it comes after).
    fn keep(&self, conn: PoolConnection<DB>, taken: Instant) {
        let exhausted = self.pool.num_idle() == 0 && self.pool.size() >= self.pool.options().get_max_connections();
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max && !exhausted && taken.elapsed() < BACK_TO_THE_POOL_AFTER {
            idle.push(Waiting { conn, taken, since: Instant::now() });
        } else {
            // Back to sqlx's pool, outside the lock.
            drop(idle);
            drop(conn);
        }
    }

    /// Connections kept now (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Ends a transaction left open: the connection back, or `None` when the `ROLLBACK` failed (then it is
/// closed, which ends the transaction on the server as well).
pub(crate) trait Rollback: Database {
    fn roll_back(conn: PoolConnection<Self>) -> BoxFuture<'static, Option<PoolConnection<Self>>>;
}

impl<DB: Database> Rollback for DB
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    fn roll_back(mut conn: PoolConnection<Self>) -> BoxFuture<'static, Option<PoolConnection<Self>>> {
        Box::pin(async move {
            match (&mut *conn).execute("ROLLBACK").await {
                Ok(_) => Some(conn),
                Err(_) => {
                    conn.close_on_drop();
                    None
                }
            }
        })
    }
}

/// A connection that runs statements, from [`Kept`]; kept again when dropped, unless a statement on it did
/// not end cleanly (then back to sqlx's pool, which pings it) or it is inside a transaction (rolled back
/// first).
pub(crate) struct Conn<DB: Dialect> {
    conn: Option<PoolConnection<DB>>,
    taken: Instant,
    kept: Arc<Kept<DB>>,
    /// A `BEGIN` was sent and no `COMMIT` or `ROLLBACK` has ended it.
    pub(super) in_transaction: bool,
    /// A statement was sent and its answer was not read to its end: an error, or a future dropped mid-way.
    pub(super) unsettled: bool,
}

impl<DB: Dialect> Conn<DB> {
    fn new(conn: PoolConnection<DB>, taken: Instant, kept: Arc<Kept<DB>>) -> Self {
        Self { conn: Some(conn), taken, kept, in_transaction: false, unsettled: false }
    }

    pub(super) fn raw(&mut self) -> &mut DB::Connection {
        // Present from `new` until `drop`.
        self.conn.as_deref_mut().expect("a connection until dropped")
    }
}

impl<DB: Dialect> Drop for Conn<DB> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        if self.in_transaction {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let (kept, taken) = (self.kept.clone(), self.taken);
                    runtime.spawn(async move {
                        if let Some(conn) = DB::roll_back(conn).await {
                            kept.keep(conn, taken);
                        }
                    });
                }
                // Closing it ends the transaction.
                Err(_) => conn.close_on_drop(),
            }
        } else if !self.unsettled {
            self.kept.keep(conn, self.taken);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::postgres::PostgresStore;
    use crate::sql::sqlite::SqliteStore;
    use crate::sql::{Engine, Exec, SqlStore};

    /// Waits up to 5 s for `done`: what must happen at once, told from what waits for a timeout (SQLite's
    /// 30 s lock wait, the pool's 30 s acquire).
    async fn within_5s<T>(what: &str, done: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(5), done).await.unwrap_or_else(|_| panic!("{what}: not within 5 s"))
    }

    async fn kept_after<DB: Dialect>(kept: &Kept<DB>, n: usize) {
        within_5s("the connection kept again", async {
            while kept.len() != n {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }

    async fn sqlite() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("kept.db").display())).await.unwrap();
        store.engine.conn().await.unwrap().execute("CREATE TABLE t (id INTEGER PRIMARY KEY)", &[]).await.unwrap();
        (dir, store)
    }

    async fn count<E: Engine>(store: &SqlStore<E>) -> i64 {
        let row = store.engine.one("SELECT count(*) AS n FROM t", &[]).await.unwrap();
        crate::sql::rows::StoredRow::int(&row, "n").unwrap()
    }

    /// A connection is kept after a statement that ended cleanly and taken again by the next; one whose
    /// statement failed goes back to sqlx's pool, which tests it.
    #[tokio::test]
    async fn a_connection_is_kept_after_a_clean_statement_and_not_after_a_failed_one() {
        let (_dir, store) = sqlite().await;
        let kept = store.engine.kept.clone();
        let idle_in_the_pool = store.engine.pool.num_idle();
        store.engine.run("INSERT INTO t (id) VALUES (1)", &[]).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(store.engine.pool.num_idle(), idle_in_the_pool, "not given back to the pool");
        let mut conn = store.engine.conn().await.unwrap();
        assert_eq!(kept.len(), 0, "taken again");
        conn.execute("INSERT INTO no_such_table VALUES (1)", &[]).await.unwrap_err();
        drop(conn);
        assert_eq!(kept.len(), 0, "after a failed statement, back to the pool");
        assert_eq!(count(&store).await, 1);
    }

    /// A transaction dropped without its commit is rolled back, and its connection kept again with no
    /// transaction open: the next write does not wait for SQLite's write lock.
    #[tokio::test]
    async fn a_transaction_dropped_without_its_commit_is_rolled_back_before_its_connection_is_kept() {
        let (_dir, store) = sqlite().await;
        let kept = store.engine.kept.clone();
        let mut tx = store.engine.begin().await.unwrap();
        tx.execute("INSERT INTO t (id) VALUES (1)", &[]).await.unwrap();
        drop(tx);
        kept_after(&kept, 1).await;
        within_5s("a write after the rollback", store.engine.run("INSERT INTO t (id) VALUES (2)", &[])).await.unwrap();
        assert_eq!(count(&store).await, 1, "the dropped transaction's row is not there");

        // Dropped while its statement runs (a task cancelled mid-way): rolled back all the same.
        let engine = &store.engine;
        let cut = tokio::time::timeout(Duration::from_micros(1), async {
            let mut tx = engine.begin().await.unwrap();
            let many = "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 100000)
                        INSERT INTO t (id) SELECT v + 10 FROM s";
            tx.execute(many, &[]).await
        });
        let _ = cut.await;
        within_5s("a write after a cancelled transaction", store.engine.run("INSERT INTO t (id) VALUES (3)", &[]))
            .await
            .unwrap();
        assert_eq!(count(&store).await, 2);
    }

    /// SQLite's completion sends its transaction with its statements: where one fails, none is kept and no
    /// transaction stays open.
    #[tokio::test]
    async fn a_transaction_sent_with_its_statements_keeps_none_of_them_when_one_fails() {
        let (_dir, store) = sqlite().await;
        let kept = store.engine.kept.clone();
        let mut conn = store.engine.conn().await.unwrap();
        let two = "INSERT INTO t (id) VALUES (1) RETURNING id; INSERT INTO t (id) VALUES (2) RETURNING id";
        assert_eq!(conn.fetch_all_in_transaction(two, &[]).await.unwrap().len(), 2);
        let clash = conn.fetch_all_in_transaction("INSERT INTO t (id) VALUES (3); INSERT INTO t (id) VALUES (1)", &[]);
        assert!(clash.await.is_err(), "the second insert clashes");
        drop(conn);
        kept_after(&kept, 1).await;
        within_5s("a write after the failed batch", store.engine.run("INSERT INTO t (id) VALUES (4)", &[]))
            .await
            .unwrap();
        assert_eq!(count(&store).await, 3, "1, 2 and 4; not 3");
    }

    /// With every connection of the pool in use, one more caller waits in the pool: the connections given up
    /// then go back to it rather than being kept where the waiting caller would not see them.
    #[tokio::test]
    async fn a_caller_waiting_on_a_full_pool_gets_a_connection_given_up() {
        let (_dir, store) = sqlite().await;
        let engine = &store.engine;
        let mut held = Vec::new();
        for _ in 0..8 {
            held.push(engine.conn().await.unwrap());
        }
        let waiting = engine.conn();
        tokio::pin!(waiting);
        assert!(tokio::time::timeout(Duration::from_millis(100), &mut waiting).await.is_err(), "the pool is full");
        held.clear();
        let mut conn = within_5s("a connection for the waiting caller", waiting).await.unwrap();
        conn.execute("INSERT INTO t (id) VALUES (1)", &[]).await.unwrap();
    }

    /// PostgreSQL: a transaction dropped without its commit is rolled back before its connection is kept; a
    /// kept connection whose session the server ended is replaced before use (see also the store's contract
    /// tests). Needs the server that `scripts/test` starts (`FOLIO_TEST_POSTGRES_URL` to name another).
    #[tokio::test]
    async fn postgres_transactions_dropped_are_rolled_back_and_ended_sessions_replaced() {
        use sqlx::{Connection as _, Executor as _};
        let server = std::env::var("FOLIO_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let mut admin = sqlx::PgConnection::connect(&server).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {server} ({e}): start it (`sudo service postgresql start`, or \
                 `scripts/test` starts it) or set FOLIO_TEST_POSTGRES_URL"
            )
        });
        let name = format!("folio_test_kept_{}", uuid::Uuid::new_v4().simple());
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
        let url = match server.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => unreachable!("a URL with a database"),
        };
        let store = PostgresStore::open(&url).await.unwrap();
        let kept = store.engine.kept.clone();
        store.engine.run("CREATE TABLE t (id int PRIMARY KEY)", &[]).await.unwrap();

        let mut tx = store.engine.begin().await.unwrap();
        tx.execute("INSERT INTO t (id) VALUES (1)", &[]).await.unwrap();
        drop(tx);
        kept_after(&kept, 1).await;
        assert_eq!(count(&store).await, 0, "rolled back");
        let mut tx = store.engine.begin().await.unwrap();
        tx.execute("INSERT INTO t (id) VALUES (1)", &[]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(count(&store).await, 1, "committed on the connection kept after the rollback");

        admin
            .execute(
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' \
                     AND application_name = 'folio'"
                )
                .as_str(),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(count(&store).await, 1, "the ended session replaced before use");

        drop(store);
        admin.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str()).await.unwrap();
    }
}
