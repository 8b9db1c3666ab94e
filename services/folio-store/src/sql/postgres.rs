//! The cluster's database: PostgreSQL through sqlx, shared by every Folio process. It runs the same SQL as
//! SQLite (see [`super`]); what differs is kept here: native column types, the database's clock (`now()`),
//! the row lock a build claim takes, and migrating on a connection of its own.

use super::rows::{corrupt, EngineRow};
use super::{schema, Arg, Conn, Dialect, Engine, Exec, Kept, SqlStore};
use crate::repo::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{ConnectOptions, Connection, Postgres, Row};
use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Connections a process keeps open: as many as the SQLite store, each held for one operation at a time.
const POOL_SIZE: u32 = 8;
/// How long a connection may sit in the pool and be handed out without a ping first.
const PING_AFTER_IDLE: Duration = Duration::from_millis(500);

/// The database of records in PostgreSQL.
pub type PostgresStore = SqlStore<PostgresEngine>;

pub struct PostgresEngine {
    /// Connections from sqlx's pool, kept between statements.
    pub(super) kept: Arc<Kept<Postgres>>,
    /// Kept for the migrator, which runs on a connection of its own (see [`Engine::apply_migrations`]).
    options: PgConnectOptions,
}

impl PostgresStore {
    /// Connects to the database at `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?OPTIONS]` (which must
    /// exist) and brings its schema up to date.
    ///
    /// TLS is libpq's: `sslmode` (`disable`, `prefer` by default, `require`, `verify-ca`, `verify-full`),
    /// `sslrootcert` (the CA bundle that signed the server's certificate; the platform's roots when absent),
    /// and `sslcert` with `sslkey` for a client certificate. A server elsewhere than this machine without a
    /// verified certificate is warned about: its password and data may travel in plain text or to an impostor.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?.application_name("folio");
        if let Some(warning) = tls_warning(&options) {
            tracing::warn!(host = options.get_host(), "{warning}");
        }
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(30))
            // A connection that sat in the pool is pinged before use, and replaced if the server ended its
            // session meanwhile (a restart, an administrator, a proxy's idle cut); one back from use within
            // PING_AFTER_IDLE is not, as HikariCP bypasses its check for one used within 500 ms: under load
            // the ping was a second round trip for each claim and each completion. A session cut within that
            // window fails its statement retryably, and the work goes back to the queue.
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        sqlx::Connection::ping(connection).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(|e| tls_error(e, &options, url))?;
        // Kept between statements (see `Kept`): half the pool, pinged after the same idle time.
        let kept = Kept::new(pool.clone(), POOL_SIZE as usize / 2, Some(PING_AFTER_IDLE));
        super::opened(PostgresEngine { kept, options }).await
    }
}

/// What to say at start about a connection's TLS: nothing for a server on this machine (a loopback address
/// or a Unix socket) or a verified certificate.
pub fn tls_warning(options: &PgConnectOptions) -> Option<&'static str> {
    use sqlx::postgres::PgSslMode;
    let host = options.get_host().trim_start_matches('[').trim_end_matches(']');
    let local = options.get_socket().is_some()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match options.get_ssl_mode() {
        _ if local => None,
        PgSslMode::VerifyFull => None,
        PgSslMode::VerifyCa => Some(
            "the database connection checks the server's CA but not its name (sslmode=verify-ca): use \
             sslmode=verify-full",
        ),
        PgSslMode::Require => Some(
            "the database connection is encrypted but does not check who answers (sslmode=require): use \
             sslmode=verify-full&sslrootcert=CA_FILE",
        ),
        PgSslMode::Disable | PgSslMode::Allow | PgSslMode::Prefer => Some(
            "the database is not on this machine and the connection may be plain text (sslmode is disable, \
             allow or prefer, the default): use sslmode=verify-full&sslrootcert=CA_FILE (see \
             docs/CONFIGURATION.md)",
        ),
    }
}

/// A failed TLS handshake said as such, with what this side trusts; other errors unchanged.
fn tls_error(error: sqlx::Error, options: &PgConnectOptions, url: &str) -> StoreError {
    // rustls's verdict comes as a TLS error or, from inside the handshake, as an I/O error.
    let handshake = match &error {
        sqlx::Error::Tls(reason) => Some(reason.to_string()),
        sqlx::Error::Io(e) => {
            let text = e.to_string();
            let lowered = text.to_lowercase();
            ["certificate", "handshake", "tls"].iter().any(|w| lowered.contains(w)).then_some(text)
        }
        _ => None,
    };
    match handshake {
        Some(reason) => {
            let trusted = url::Url::parse(url)
                .ok()
                .and_then(|u| u.query_pairs().find(|(k, _)| k == "sslrootcert").map(|(_, v)| v.into_owned()))
                .map(|file| format!("the CA in sslrootcert={file}"))
                .unwrap_or_else(|| "the platform's roots (name the server's CA with sslrootcert=)".into());
            StoreError::Tls { host: options.get_host().to_string(), reason, trusted }
        }
        None => error.into(),
    }
}

fn fragment(name: &str, argument: &str) -> String {
    match name {
        "now" => "now()".into(),
        "later" => format!("(now() + {argument} * interval '1 microsecond')"),
        "earlier" => format!("(now() - {argument} * interval '1 microsecond')"),
        // A thousandth of a second, as in SQLite: the change marker reads times to the millisecond.
        "after" => format!("greatest(now(), {argument} + interval '1 millisecond')"),
        "seq" => "seq".into(),
        // Keys compare byte by byte, as in SQLite, whatever the database's collation.
        "bytewise" => "COLLATE \"C\"".into(),
        other => format!("@{other}"),
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

type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

impl Dialect for Postgres {
    const BEGIN: &'static str = "BEGIN";
    const WRITES_IN_WITH: bool = true;

    fn fragment(name: &str, argument: &str) -> String {
        fragment(name, argument)
    }

    /// Text without NULs, JSON as `jsonb`.
    fn bind<'q>(query: PgQuery<'q>, arg: &'q Arg<'_>) -> Result<PgQuery<'q>, StoreError> {
        Ok(match arg {
            Arg::Id(id) => query.bind(*id),
            Arg::OptId(id) => query.bind(*id),
            Arg::Text(text) => query.bind(storable(text)),
            Arg::OptText(text) => query.bind(text.map(storable)),
            Arg::Int(n) => query.bind(*n),
            Arg::Date(date) => query.bind(*date),
            Arg::Time(time) => query.bind(*time),
            Arg::Json(json) => query.bind(jsonb(json)?),
        })
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// JSON text as a `jsonb` value, NULs in its strings replaced as by [`storable`].
fn jsonb(json: &str) -> Result<Json<Value>, StoreError> {
    let mut value: Value = serde_json::from_str(json).map_err(corrupt)?;
    replace_nuls(&mut value);
    Ok(Json(value))
}

#[async_trait]
impl Engine for PostgresEngine {
    type Db = Postgres;
    type Conn = Conn<Postgres>;

    async fn conn(&self) -> Result<Conn<Postgres>, StoreError> {
        self.kept.take().await
    }

    async fn begin(&self) -> Result<Conn<Postgres>, StoreError> {
        self.kept.begin().await
    }

    /// One claim at a time per catalogue: the catalogue's row is the lock, so that two builds finishing at
    /// once take numbers one after the other instead of both reading the same highest number.
    async fn begin_build_claim(&self, catalogue_id: Uuid) -> Result<Conn<Postgres>, StoreError> {
        let mut tx = self.kept.begin().await?;
        tx.execute("SELECT 1 FROM catalogues WHERE id = $1 FOR UPDATE", &[Arg::Id(catalogue_id)]).await?;
        Ok(tx)
    }

    /// Runs on a connection of its own, closed afterwards: sqlx's migrator holds a session-level advisory lock
    /// (so that processes starting at once apply each migration once) and does not release it when a
    /// migration fails, which would leave it held on a pooled connection.
    async fn apply_migrations(&self) -> Result<(), StoreError> {
        let mut conn = self.options.connect().await?;
        let outcome = schema::migrator(schema::POSTGRES).run_direct(&mut conn).await;
        // Ending the session releases the lock whatever happened; an error closing it changes nothing.
        let _ = conn.close().await;
        Ok(outcome?)
    }
}

impl EngineRow for PgRow {
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_date(&self, column: &str) -> Result<Option<NaiveDate>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_json<T: DeserializeOwned>(&self, column: &str) -> Result<Option<T>, StoreError> {
        let value: Option<Json<T>> = self.try_get(column)?;
        Ok(value.map(|Json(v)| v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nuls_become_replacement_characters_in_text_and_json() {
        assert_eq!(storable("a\0b"), "a\u{FFFD}b");
        assert!(matches!(storable("plain"), Cow::Borrowed(_)));
        let Json(back) = jsonb(&serde_json::json!({"t\0": ["x\0", {"y": "z\0"}], "n": 1}).to_string()).unwrap();
        assert!(!back.to_string().contains("\\u0000"), "{back}");
        assert_eq!(back["t\u{FFFD}"][1]["y"], "z\u{FFFD}");
        assert_eq!(back["n"], 1);
    }

    #[test]
    fn a_database_elsewhere_without_a_verified_certificate_is_warned_about() {
        let warning = |url: &str| tls_warning(&PgConnectOptions::from_str(url).unwrap());
        assert_eq!(warning("postgres://u@localhost/db"), None, "this machine");
        assert_eq!(warning("postgres://u@127.0.0.1/db?sslmode=disable"), None);
        assert_eq!(warning("postgres://u@[::1]/db"), None);
        assert_eq!(warning("postgres:///db?host=/var/run/postgresql"), None, "a Unix socket");
        assert_eq!(warning("postgres://u@db.example/db?sslmode=verify-full&sslrootcert=/ca.crt"), None);
        assert!(warning("postgres://u@db.example/db").unwrap().contains("plain text"), "prefer, the default");
        assert!(warning("postgres://u@10.0.0.5/db?sslmode=disable").unwrap().contains("plain text"));
        assert!(warning("postgres://u@db.example/db?sslmode=require").unwrap().contains("does not check who answers"));
        assert!(warning("postgres://u@db.example/db?sslmode=verify-ca").unwrap().contains("not its name"));
    }
}
