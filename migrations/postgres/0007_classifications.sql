-- What an editor confirmed of Folio's classification of a contribution: the Convention's areas it concerns
-- (area ids, comma-separated, such as `clearance,victim_assistance`), its modality and its role. Folio's
-- own suggestions are not stored: they are computed from the text, with their evidence, whenever asked for.
-- A confirmation goes with its contribution.
CREATE TABLE classifications (
    contribution_id uuid PRIMARY KEY REFERENCES contributions(id) ON DELETE CASCADE,
    catalogue_id    uuid NOT NULL REFERENCES catalogues(id) ON DELETE CASCADE,
    areas           text NOT NULL,
    modality        text,
    role            text,
    decided_by      text NOT NULL,
    decided_at      timestamptz NOT NULL DEFAULT now(),
    seq             bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX classifications_by_catalogue ON classifications(catalogue_id);
