-- 0024: the same instance sent again in another encoding is not a new version. A SOP
-- Instance UID received with other bytes was always a new version, flagged; a sender that
-- re-sends an instance in another transfer syntax (storescu -xb, a PACS that compresses)
-- made a flagged version 2 of an unchanged image. Now such a row is provisional: a
-- `compare` job (gateway/compare.c) re-encodes both data sets canonically (every
-- attribute before Pixel Data as Explicit VR LE with UTF-8 text, the encoding's own
-- attributes left out, and the pixels after decoding) and, when they are equal, makes the
-- row another receipt of the earlier version: encoding_of names it, it takes its version
-- number, the flag goes, and the earlier row counts the receipt. The bytes stay as sent
-- (rule 2): the row and its blob are kept, as that version's encoding in that syntax.

ALTER TABLE instances ADD COLUMN encoding_of bigint REFERENCES instances (id);
ALTER TABLE instances DROP CONSTRAINT instances_sop_instance_uid_version_key;
CREATE UNIQUE INDEX instances_version ON instances (sop_instance_uid, version)
    WHERE encoding_of IS NULL;
CREATE INDEX instances_encoding_of ON instances (encoding_of) WHERE encoding_of IS NOT NULL;

-- The instance as Q/R and the console see it: its newest version, not its re-encodings.
CREATE OR REPLACE VIEW current_instances AS
SELECT i.* FROM instances i
 WHERE i.encoding_of IS NULL
   AND NOT EXISTS (SELECT 1 FROM instances n
                    WHERE n.sop_instance_uid = i.sop_instance_uid AND n.version > i.version
                      AND n.encoding_of IS NULL);

-- Every new version gets its comparison with the versions before it.
CREATE FUNCTION cp_queue_compare() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO jobs (kind, instance_id) VALUES ('compare', NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER instances_compare AFTER INSERT ON instances
    FOR EACH ROW WHEN (NEW.version > 1) EXECUTE FUNCTION cp_queue_compare();

-- The comparison found row p_id equal to the earlier version p_of: a receipt of it.
CREATE FUNCTION cp_set_encoding(p_id bigint, p_of bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('sop:' || sop_instance_uid, 0))
       FROM instances WHERE id = p_id;
    UPDATE instances i SET encoding_of = p_of, version = o.version, flagged = false,
           flag_reason = NULL
      FROM instances o
     WHERE i.id = p_id AND o.id = p_of AND i.encoding_of IS NULL AND o.encoding_of IS NULL
       AND o.sop_instance_uid = i.sop_instance_uid AND o.version < i.version;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- copies under other UIDs that took this row as their representative take the
    -- version's own row, which Q/R and ls show (one representative a group of images)
    UPDATE instances SET duplicate_of = p_of WHERE duplicate_of = p_id;
    UPDATE instances SET receipt_count = receipt_count + 1,
           last_received_at = greatest(last_received_at, (SELECT received_at FROM instances
                                                          WHERE id = p_id))
     WHERE id = p_of;
    RETURN true;
END $$;
