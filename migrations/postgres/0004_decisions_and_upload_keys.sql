-- Editors' decisions on contributions: a finding waived (it no longer keeps the contribution out of the
-- book) or a contribution excluded. One decision per contribution, action and finding code; `code` is ''
-- for an exclusion. A decision goes with its contribution.
CREATE TABLE decisions (
    contribution_id uuid NOT NULL REFERENCES contributions(id) ON DELETE CASCADE,
    catalogue_id    uuid NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    action          text NOT NULL CHECK (action IN ('waive', 'exclude')),
    code            text NOT NULL DEFAULT '',
    reason          text NOT NULL,
    decided_by      text NOT NULL,
    decided_at      timestamptz NOT NULL DEFAULT now(),
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (contribution_id, action, code)
);
CREATE INDEX decisions_by_catalogue ON decisions(catalogue_id);

-- `Idempotency-Key`s of uploads: a retried request with the same key gets the first answer; the same key
-- with another request is refused. `request_sha256` is over the metadata and every file's name and checksum.
CREATE TABLE upload_keys (
    catalogue_id    uuid NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    key             text NOT NULL,
    request_sha256  text NOT NULL,
    contribution_id uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (catalogue_id, key)
);
