\set n random(1, 4000)
UPDATE documents SET state = 'processing', claimed_by = 'w', attempts = 1, lease_until = now() + interval '1 minute' WHERE n = :n;
