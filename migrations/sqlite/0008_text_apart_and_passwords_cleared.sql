-- A record's text moves to a table of its own, so that reading records (the desk, the rules, the stamp of a
-- build's inputs) never reads text; what those need of it (SHA-256, word count, MinHash signature) is kept
-- with the record as `digest` (JSON, folio_core::duplicates::TextDigest), filled for older rows by the
-- store right after migrating.
CREATE TABLE record_texts (
    document_id TEXT PRIMARY KEY REFERENCES records(document_id) ON DELETE CASCADE,
    text        TEXT NOT NULL
);
INSERT INTO record_texts (document_id, text) SELECT document_id, text FROM records;
ALTER TABLE records DROP COLUMN text;
ALTER TABLE records ADD COLUMN digest TEXT;

-- A document's password is cleared once the document is finished; what remains is a salted digest of it
-- (SHA-256 over the document id and the password), by which a later intake tells whether it changed.
ALTER TABLE documents ADD COLUMN password_digest TEXT;
