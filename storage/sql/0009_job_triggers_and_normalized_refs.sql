-- One trigger function queues every per-instance job kind (0006 and 0008 had one each).
DROP TRIGGER instances_pixel_hash ON instances;
DROP TRIGGER instances_normalize ON instances;
DROP FUNCTION cp_queue_pixel_hash();
DROP FUNCTION cp_queue_normalize();
CREATE FUNCTION cp_queue_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO jobs (kind, instance_id) VALUES (TG_ARGV[0], NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER instances_pixel_hash AFTER INSERT ON instances
    FOR EACH ROW EXECUTE FUNCTION cp_queue_job('pixel_hash');
CREATE TRIGGER instances_normalize AFTER INSERT ON instances
    FOR EACH ROW EXECUTE FUNCTION cp_queue_job('normalize');

-- A normalized copy removed (its instance deleted: ON DELETE CASCADE) gives its blob
-- reference back.
CREATE FUNCTION cp_normalized_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.blob_address IS NOT NULL THEN
        UPDATE blobs SET refcount = refcount - 1 WHERE address = OLD.blob_address;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER normalized_gone AFTER DELETE ON normalized
    FOR EACH ROW EXECUTE FUNCTION cp_normalized_gone();

-- Two runs of one instance's job (a lease taken over) record one after the other: the
-- instance row is locked first, so the second sees the first's blob and gives it back.
CREATE OR REPLACE FUNCTION cp_set_normalized(p_id bigint, p_addr bytea, p_size bigint,
                                             p_key_id text, p_ts text, p_changes text[],
                                             p_verified text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE v_old bytea;
BEGIN
    PERFORM 1 FROM instances WHERE id = p_id FOR UPDATE;
    IF p_addr IS NOT NULL THEN
        INSERT INTO blobs (address, size, key_id, refcount) VALUES (p_addr, p_size, p_key_id, 1)
        ON CONFLICT (address) DO UPDATE SET refcount = blobs.refcount + 1;
    END IF;
    SELECT blob_address INTO v_old FROM normalized WHERE instance_id = p_id;
    IF v_old IS NOT NULL THEN
        UPDATE blobs SET refcount = refcount - 1 WHERE address = v_old;
    END IF;
    INSERT INTO normalized (instance_id, blob_address, transfer_syntax, size, changes, verified)
    VALUES (p_id, p_addr, p_ts, p_size, p_changes, p_verified)
    ON CONFLICT (instance_id) DO UPDATE SET blob_address = EXCLUDED.blob_address,
        transfer_syntax = EXCLUDED.transfer_syntax, size = EXCLUDED.size,
        changes = EXCLUDED.changes, verified = EXCLUDED.verified, created_at = now();
END $$;
