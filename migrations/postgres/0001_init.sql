-- Folio's records, in PostgreSQL: the schema of ../sqlite/0001_init.sql with native types (uuid, date,
-- timestamptz, jsonb, bigint). Times come from the database's clock (now()), so that the leases of workers
-- on different machines are compared on one clock. `seq` columns keep the order rows were first written
-- in, which SQLite gives through its rowid.

CREATE TABLE catalogues (
    id          uuid PRIMARY KEY,
    title       text NOT NULL,
    deadline    date,
    settings    jsonb NOT NULL,         -- the rule settings
    source      text,                   -- where the intake came from (a folder), for people
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chapters (
    catalogue_id uuid NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    key          text NOT NULL,
    title        text NOT NULL,
    position     bigint NOT NULL CHECK (position >= 0),
    PRIMARY KEY (catalogue_id, key)
);

CREATE TABLE contributions (
    id           uuid PRIMARY KEY,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    catalogue_id uuid NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    chapter_key  text NOT NULL,
    state        text NOT NULL,
    author       text NOT NULL,
    title        text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('text', 'testimonial', 'graphic', 'photograph')),
    role         text NOT NULL CHECK (role IN ('donor', 'recipient', 'both')),
    modality     text NOT NULL,
    received     date NOT NULL,
    rights       text,
    FOREIGN KEY (catalogue_id, chapter_key) REFERENCES chapters(catalogue_id, key)
);
-- Also serves the foreign key to chapters.
CREATE INDEX contributions_by_catalogue ON contributions(catalogue_id, chapter_key);

CREATE TABLE documents (
    id              uuid PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    contribution_id uuid NOT NULL REFERENCES contributions(id) ON DELETE CASCADE,
    file_name       text NOT NULL,
    sha256          text NOT NULL,
    bytes           bigint NOT NULL CHECK (bytes >= 0),
    blob_key        text NOT NULL,
    state           text NOT NULL CHECK (state IN ('queued', 'processing', 'done', 'failed')),
    attempts        bigint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    claimed_by      text,
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- A document being processed has a worker and a lease; any other has neither.
    CHECK ((state = 'processing') = (claimed_by IS NOT NULL AND lease_until IS NOT NULL))
);
CREATE INDEX documents_by_contribution ON documents(contribution_id);
CREATE INDEX documents_by_state ON documents(state, lease_until);

-- At most one record a document: the primary key is what makes a redelivered request harmless.
CREATE TABLE records (
    document_id   uuid PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    record        jsonb NOT NULL,       -- folio_core::Record, without the text
    text          text NOT NULL,
    thumbnail_key text,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE findings (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    catalogue_id    uuid NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    source          text NOT NULL CHECK (source IN ('intake', 'rules')),
    contribution_id uuid,
    code            text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'blocking')),
    file_name       text,
    message         text NOT NULL
);
CREATE INDEX findings_by_catalogue ON findings(catalogue_id, source);

CREATE TABLE builds (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    catalogue_id    uuid NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    number          bigint NOT NULL CHECK (number > 0),
    location        text NOT NULL,
    manifest_sha256 text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (catalogue_id, number)
);
