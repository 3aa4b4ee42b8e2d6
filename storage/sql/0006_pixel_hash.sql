-- De-duplication level 3: the same decoded pixels under different SOP Instance UIDs (a
-- study re-exported with new UIDs). A pixel_hash job runs for every instance row (queued
-- by a trigger in the ingest's own transaction); the earliest instance with that hash is
-- the representative the others point to.
ALTER TABLE instances
    ADD COLUMN pixel_hash bytea,
    ADD COLUMN pixel_hash_note text,   -- why there is none (compressed, no pixel data, ...)
    ADD COLUMN duplicate_of bigint REFERENCES instances (id) ON DELETE SET NULL;

-- Work derived from an instance goes with it when an operator removes the instance.
ALTER TABLE jobs DROP CONSTRAINT jobs_instance_id_fkey,
    ADD CONSTRAINT jobs_instance_id_fkey FOREIGN KEY (instance_id)
        REFERENCES instances (id) ON DELETE CASCADE;
CREATE INDEX instances_pixel_hash ON instances (pixel_hash) WHERE pixel_hash IS NOT NULL;

CREATE FUNCTION cp_queue_pixel_hash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO jobs (kind, instance_id) VALUES ('pixel_hash', NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER instances_pixel_hash AFTER INSERT ON instances
    FOR EACH ROW EXECUTE FUNCTION cp_queue_pixel_hash();

-- Instances indexed before this migration get their job too.
INSERT INTO jobs (kind, instance_id) SELECT 'pixel_hash', id FROM instances ORDER BY id;

-- Records an instance's hash (or why it has none) and links it to the representative of
-- its pixels. The advisory lock on the hash makes two workers hashing two copies at the
-- same moment agree on one representative.
CREATE FUNCTION cp_set_pixel_hash(p_id bigint, p_hash bytea, p_note text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_rep bigint;
BEGIN
    IF p_hash IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('pix:' || encode(p_hash, 'hex'), 0));
        SELECT min(o.id) INTO v_rep FROM instances o, instances x
         WHERE x.id = p_id AND o.pixel_hash = p_hash AND o.id <> p_id
           AND o.sop_instance_uid <> x.sop_instance_uid AND o.duplicate_of IS NULL;
    END IF;
    UPDATE instances SET pixel_hash = p_hash, pixel_hash_note = p_note, duplicate_of = v_rep
     WHERE id = p_id;
    RETURN v_rep;
END $$;
