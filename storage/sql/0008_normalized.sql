-- Normalization (DESIGN.md rule 2: originals stay byte for byte; normalization makes new,
-- linked objects). One row per instance once its normalize job has run: the normalized
-- data set's blob, or none when the original needed no change; what changed and why.
CREATE TABLE normalized (
    instance_id     bigint PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    blob_address    bytea REFERENCES blobs (address),   -- NULL: the original is normal
    transfer_syntax text,
    size            bigint,
    changes         text[] NOT NULL DEFAULT '{}',
    verified        text NOT NULL,   -- how the result was checked against the original
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX normalized_blob ON normalized (blob_address) WHERE blob_address IS NOT NULL;

CREATE FUNCTION cp_queue_normalize() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO jobs (kind, instance_id) VALUES ('normalize', NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER instances_normalize AFTER INSERT ON instances
    FOR EACH ROW EXECUTE FUNCTION cp_queue_normalize();
INSERT INTO jobs (kind, instance_id) SELECT 'normalize', id FROM instances ORDER BY id;

-- Records a job's result; a result recorded before (the job ran again) gives its blob
-- reference back.
CREATE FUNCTION cp_set_normalized(p_id bigint, p_addr bytea, p_size bigint, p_key_id text,
                                  p_ts text, p_changes text[], p_verified text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE v_old bytea;
BEGIN
    IF p_addr IS NOT NULL THEN
        INSERT INTO blobs (address, size, key_id, refcount) VALUES (p_addr, p_size, p_key_id, 1)
        ON CONFLICT (address) DO UPDATE SET refcount = blobs.refcount + 1;
    END IF;
    SELECT blob_address INTO v_old FROM normalized WHERE instance_id = p_id FOR UPDATE;
    IF v_old IS NOT NULL THEN
        UPDATE blobs SET refcount = refcount - 1 WHERE address = v_old;
    END IF;
    INSERT INTO normalized (instance_id, blob_address, transfer_syntax, size, changes, verified)
    VALUES (p_id, p_addr, p_ts, p_size, p_changes, p_verified)
    ON CONFLICT (instance_id) DO UPDATE SET blob_address = EXCLUDED.blob_address,
        transfer_syntax = EXCLUDED.transfer_syntax, size = EXCLUDED.size,
        changes = EXCLUDED.changes, verified = EXCLUDED.verified, created_at = now();
END $$;
