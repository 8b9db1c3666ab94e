-- Editors' decisions on contributions: a finding waived (it no longer keeps the contribution out of the
-- book) or a contribution excluded. One decision per contribution, action and finding code; `code` is ''
-- for an exclusion. A decision goes with its contribution.
CREATE TABLE decisions (
    contribution_id TEXT NOT NULL REFERENCES contributions(id) ON DELETE CASCADE,
    catalogue_id    TEXT NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    action          TEXT NOT NULL CHECK (action IN ('waive', 'exclude')),
    code            TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL,
    decided_by      TEXT NOT NULL,
    decided_at      TEXT NOT NULL,
    PRIMARY KEY (contribution_id, action, code)
);
CREATE INDEX decisions_by_catalogue ON decisions(catalogue_id);

-- `Idempotency-Key`s of uploads: a retried request with the same key gets the first answer; the same key
-- with another request is refused. `request_sha256` is over the metadata and every file's name and checksum.
CREATE TABLE upload_keys (
    catalogue_id    TEXT NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    request_sha256  TEXT NOT NULL,
    contribution_id TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (catalogue_id, key)
);
