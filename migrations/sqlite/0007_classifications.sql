-- What an editor confirmed of Folio's classification of a contribution: the Convention's areas it concerns
-- (area ids, comma-separated, such as `clearance,victim_assistance`), its modality and its role. Folio's
-- own suggestions are not stored: they are computed from the text, with their evidence, whenever asked for.
-- A confirmation goes with its contribution.
CREATE TABLE classifications (
    contribution_id TEXT PRIMARY KEY REFERENCES contributions(id) ON DELETE CASCADE,
    catalogue_id    TEXT NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    areas           TEXT NOT NULL,
    modality        TEXT,
    role            TEXT,
    decided_by      TEXT NOT NULL,
    decided_at      TEXT NOT NULL
);
CREATE INDEX classifications_by_catalogue ON classifications(catalogue_id);
