-- The password that opens a protected PDF or DOCX, when its sender gave one (the optional `password` column
-- of contributions.csv). Kept beside the document so that any worker can open it. It guards nothing the
-- database does not already hold: the record keeps the text the password opens.
ALTER TABLE documents ADD COLUMN password TEXT;
