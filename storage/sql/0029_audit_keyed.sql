-- The audit chain keyed (issue 18, part 3). A plain SHA-256 chain computed by a trigger
-- can be recomputed by anyone who can write the table: a database superuser edited a row,
-- re-hashed the chain from it, and `audit verify` found nothing. From here on each row's
-- hash is HMAC-SHA-256 under a key the database never holds (derived from the blob
-- store's KEK), so caseport computes it, in C, in the appending transaction
-- (storage/store_audit.c): it locks audit_head, chains the rows, inserts them and moves
-- the head. The trigger that hashed in SQL goes; without it an insert that does not
-- bring seq, hashes and version (an older caseport) fails rather than writing a row
-- without a hash.
--
-- Rows written before keep their plain SHA-256 and say so (version 1); audit_head
-- remembers where the keyed rows begin, and verify refuses a version 1 row from there on,
-- so that a forger cannot pass keyed rows off as old unkeyed ones.
ALTER TABLE audit ADD COLUMN version smallint NOT NULL DEFAULT 1;
ALTER TABLE audit ALTER COLUMN version DROP DEFAULT;

ALTER TABLE audit_head ADD COLUMN keyed_from bigint;
UPDATE audit_head SET keyed_from = seq + 1;
ALTER TABLE audit_head ALTER COLUMN keyed_from SET NOT NULL;

DROP TRIGGER audit_chain ON audit;
DROP FUNCTION cp_audit_chain();
