-- How the typeset book prints a contribution's PDFs: 'as-made' (each page placed) or 'text' (set from their
-- text). NULL: nobody said; the book places them as made. The intake sets it only when its CSV or upload
-- metadata says, so an editor's choice stands until the intake says otherwise.
ALTER TABLE contributions ADD COLUMN layout TEXT CHECK (layout IN ('as-made', 'text'));
