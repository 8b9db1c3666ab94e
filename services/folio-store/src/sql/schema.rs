//! The schema of each engine, embedded so that a binary needs no files beside it. Each engine's folder under
//! `migrations/` holds the same schema in its dialect; versions and names are the same in every engine.

use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

/// Version, name, SQL.
type Embedded = &'static [(i64, &'static str, &'static str)];

pub(crate) const SQLITE: Embedded = &[
    (1, "init", include_str!("../../../../migrations/sqlite/0001_init.sql")),
    (2, "document_password", include_str!("../../../../migrations/sqlite/0002_document_password.sql")),
    (3, "build_claims", include_str!("../../../../migrations/sqlite/0003_build_claims.sql")),
    (4, "decisions_and_upload_keys", include_str!("../../../../migrations/sqlite/0004_decisions_and_upload_keys.sql")),
    (5, "build_webhooks", include_str!("../../../../migrations/sqlite/0005_build_webhooks.sql")),
    (6, "build_contents", include_str!("../../../../migrations/sqlite/0006_build_contents.sql")),
    (7, "classifications", include_str!("../../../../migrations/sqlite/0007_classifications.sql")),
    (
        8,
        "text_apart_and_passwords_cleared",
        include_str!("../../../../migrations/sqlite/0008_text_apart_and_passwords_cleared.sql"),
    ),
    (9, "contribution_layout", include_str!("../../../../migrations/sqlite/0009_contribution_layout.sql")),
];
pub(crate) const POSTGRES: Embedded = &[
    (1, "init", include_str!("../../../../migrations/postgres/0001_init.sql")),
    (2, "document_password", include_str!("../../../../migrations/postgres/0002_document_password.sql")),
    (3, "build_claims", include_str!("../../../../migrations/postgres/0003_build_claims.sql")),
    (
        4,
        "decisions_and_upload_keys",
        include_str!("../../../../migrations/postgres/0004_decisions_and_upload_keys.sql"),
    ),
    (5, "build_webhooks", include_str!("../../../../migrations/postgres/0005_build_webhooks.sql")),
    (6, "build_contents", include_str!("../../../../migrations/postgres/0006_build_contents.sql")),
    (7, "classifications", include_str!("../../../../migrations/postgres/0007_classifications.sql")),
    (
        8,
        "text_apart_and_passwords_cleared",
        include_str!("../../../../migrations/postgres/0008_text_apart_and_passwords_cleared.sql"),
    ),
    (9, "contribution_layout", include_str!("../../../../migrations/postgres/0009_contribution_layout.sql")),
];

/// A migrator over embedded migrations. It keeps sqlx's locking (a no-op in SQLite, an advisory lock in
/// PostgreSQL), so that processes starting at once apply each migration once.
pub(crate) fn migrator(migrations: Embedded) -> Migrator {
    let migrations = migrations
        .iter()
        .map(|(version, name, sql)| {
            Migration::new(*version, Cow::Borrowed(*name), MigrationType::Simple, Cow::Borrowed(*sql), false)
        })
        .collect::<Vec<_>>();
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}
