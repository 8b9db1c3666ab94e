-- What each build was made of (folio-bundle's BuildContents as JSON: the chapters in order, and for each
-- contribution its files, a digest of its records, the editors' decisions and whether it is in the book), so
-- that the next build can list what changed since. Builds from before this migration have none: the build
-- after them lists no changes.
ALTER TABLE builds ADD COLUMN contents TEXT;
