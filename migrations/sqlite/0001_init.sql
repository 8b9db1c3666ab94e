-- Folio's records. Identifiers are UUIDs as text; times are RFC 3339 UTC strings of fixed width, so they
-- compare correctly as text.

CREATE TABLE catalogues (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    deadline    TEXT,
    settings    TEXT NOT NULL,          -- the rule settings, JSON
    source      TEXT,                   -- where the intake came from (a folder), for people
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE chapters (
    catalogue_id TEXT NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    title        TEXT NOT NULL,
    position     INTEGER NOT NULL,
    PRIMARY KEY (catalogue_id, key)
);

CREATE TABLE contributions (
    id           TEXT PRIMARY KEY,
    catalogue_id TEXT NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    chapter_key  TEXT NOT NULL,
    state        TEXT NOT NULL,
    author       TEXT NOT NULL,
    title        TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('text', 'testimonial', 'graphic', 'photograph')),
    role         TEXT NOT NULL CHECK (role IN ('donor', 'recipient', 'both')),
    modality     TEXT NOT NULL,
    received     TEXT NOT NULL,
    rights       TEXT,
    FOREIGN KEY (catalogue_id, chapter_key) REFERENCES chapters(catalogue_id, key)
);
CREATE INDEX contributions_by_catalogue ON contributions(catalogue_id);

CREATE TABLE documents (
    id              TEXT PRIMARY KEY,
    contribution_id TEXT NOT NULL REFERENCES contributions(id) ON DELETE CASCADE,
    file_name       TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    bytes           INTEGER NOT NULL,
    blob_key        TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'processing', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT,
    lease_until     TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX documents_by_contribution ON documents(contribution_id);
CREATE INDEX documents_by_state ON documents(state, lease_until);

-- At most one record a document: the primary key is what makes a redelivered request harmless.
CREATE TABLE records (
    document_id   TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    record        TEXT NOT NULL,        -- folio_core::Record as JSON, without the text
    text          TEXT NOT NULL,
    thumbnail_key TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE findings (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    catalogue_id    TEXT NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    source          TEXT NOT NULL CHECK (source IN ('intake', 'rules')),
    contribution_id TEXT,
    code            TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'blocking')),
    file_name       TEXT,
    message         TEXT NOT NULL
);
CREATE INDEX findings_by_catalogue ON findings(catalogue_id, source);

CREATE TABLE builds (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    catalogue_id TEXT NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    location     TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (catalogue_id, number)
);
