-- Builds made by the coordinator in cluster mode: the stamp of the inputs a build was made from (so that a
-- catalogue is assembled once per change of its inputs), and a claim with a lease while it is assembled (so
-- that two coordinators never assemble the same change, and one that dies is taken over). Builds made by
-- `folio process` are `done` at once and carry no stamp.
ALTER TABLE builds ADD COLUMN input_stamp TEXT;
ALTER TABLE builds ADD COLUMN state TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('assembling', 'done'));
ALTER TABLE builds ADD COLUMN claimed_by TEXT;
ALTER TABLE builds ADD COLUMN lease_until TEXT;
-- When the build's `catalogue.assembled` event was confirmed by the broker: a build done but not announced
-- is announced by the next coordinator sweep (at least once, whatever dies in between).
ALTER TABLE builds ADD COLUMN announced_at TEXT;
