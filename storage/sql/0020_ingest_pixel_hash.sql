-- 0020: the pixel hash (0006) computed by the C-STORE path while the data set streams in,
-- when its pixels are native little-endian bytes that hash as stored (gateway/dicom/store.c).
-- cp_ingest then records it with the instance row, linked to its representative as
-- cp_set_pixel_hash does, and the row's trigger queues no pixel_hash job: no second read
-- and decryption of the blob, no job row, no later UPDATE of the row. Other instances
-- (compressed, big endian, deflated, planar, ...) are hashed by the job as before.

CREATE OR REPLACE FUNCTION cp_queue_instance_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.pixel_hash IS NULL AND NEW.pixel_hash_note IS NULL THEN
        INSERT INTO jobs (kind, instance_id) VALUES ('pixel_hash', NEW.id), ('normalize', NEW.id);
    ELSE
        INSERT INTO jobs (kind, instance_id) VALUES ('normalize', NEW.id);
    END IF;
    RETURN NEW;
END $$;

-- cp_set_normalized as in 0009, but locking the instance row FOR NO KEY UPDATE: that still
-- orders two runs of one job, and no longer conflicts with the KEY SHARE lock an ingest's
-- duplicate_of takes on its representative. With FOR UPDATE, a job batch holding the
-- representative's row and then waiting for the 'pix:' lock of a copy's hash (a later
-- cp_set_pixel_hash in the same batch) deadlocked with an ingest holding that 'pix:' lock
-- and waiting for the row.
CREATE OR REPLACE FUNCTION cp_set_normalized(p_id bigint, p_addr bytea, p_size bigint,
                                             p_key_id text, p_ts text, p_changes text[],
                                             p_verified text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE v_old bytea;
BEGIN
    PERFORM 1 FROM instances WHERE id = p_id FOR NO KEY UPDATE;
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

-- cp_ingest as in 0019, with p_pixel_hash and p_pixel_hash_note (both NULL: the job
-- hashes it), and OUT duplicate_of: the representative the new row was linked to.
DROP FUNCTION cp_ingest(text, text, text, text, text, text, text, text, text, text, text,
    text, text, text, text, text, text, text, text, text, text, text, bytea, bigint, text,
    text, bigint, bigint);
CREATE FUNCTION cp_ingest(p_sop_class text, p_sop text, p_study text, p_series text,
    p_pid text, p_issuer text, p_name text, p_birth text, p_sex text, p_charset text,
    p_study_date text, p_study_time text, p_accession text, p_study_desc text,
    p_series_desc text, p_modality text, p_series_number text, p_instance_number text,
    p_ts text, p_calling text, p_called text, p_peer text,
    p_addr bytea, p_size bigint, p_key_id text,
    p_pack text, p_pack_offset bigint, p_pack_length bigint,
    p_pixel_hash bytea, p_pixel_hash_note text,
    OUT kind text, OUT instance_id bigint, OUT version integer, OUT receipt_count integer,
    OUT blob_new boolean, OUT duplicate_of bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_prev integer;
    v_series bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('sop:' || p_sop, 0));
    blob_new := false;
    UPDATE instances i SET receipt_count = i.receipt_count + 1, last_received_at = now()
     WHERE i.sop_instance_uid = p_sop AND i.blob_address = p_addr
     RETURNING i.id, i.version, i.receipt_count INTO instance_id, version, receipt_count;
    IF FOUND THEN
        kind := 'repeat';
        RETURN;
    END IF;

    INSERT INTO blobs (address, size, key_id, refcount, pack, pack_offset, pack_length)
    VALUES (p_addr, p_size, p_key_id, 1, p_pack, p_pack_offset, p_pack_length)
    ON CONFLICT (address) DO NOTHING;
    blob_new := FOUND;
    IF NOT blob_new THEN
        UPDATE blobs SET refcount = refcount + 1 WHERE address = p_addr;
    END IF;

    SELECT s.id INTO v_series FROM series s WHERE s.series_uid = p_series;
    IF NOT FOUND THEN
        v_series := cp_series_id(p_series,
            cp_study_id(p_study,
                cp_patient_id(p_pid, p_issuer, p_name, p_birth, p_sex, p_charset),
                p_study_date, p_study_time, p_accession, p_study_desc),
            p_modality, p_series_number, p_series_desc);
    END IF;

    -- The representative, as cp_set_pixel_hash finds it (and under its lock), held with the
    -- KEY SHARE lock the row's foreign key takes anyway: one deleted meanwhile is skipped
    -- rather than failing the insert.
    IF p_pixel_hash IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('pix:' || encode(p_pixel_hash, 'hex'), 0));
        SELECT o.id INTO duplicate_of FROM instances o
         WHERE o.pixel_hash = p_pixel_hash AND o.sop_instance_uid <> p_sop
           AND o.duplicate_of IS NULL
         ORDER BY o.id LIMIT 1 FOR KEY SHARE;
    END IF;

    SELECT coalesce(max(i.version), 0) INTO v_prev FROM instances i
     WHERE i.sop_instance_uid = p_sop;
    INSERT INTO instances (series_id, sop_class_uid, sop_instance_uid, version,
        instance_number, transfer_syntax, size, blob_address, calling_ae, called_ae,
        peer_address, flagged, flag_reason, pixel_hash, pixel_hash_note, duplicate_of)
    VALUES (v_series, p_sop_class, p_sop, v_prev + 1, p_instance_number, p_ts, p_size,
        p_addr, p_calling, p_called, p_peer, v_prev > 0,
        CASE WHEN v_prev > 0 THEN 'same SOP Instance UID received with different content' END,
        p_pixel_hash, p_pixel_hash_note, duplicate_of)
    RETURNING id, 1 INTO instance_id, receipt_count;
    version := v_prev + 1;
    kind := CASE WHEN v_prev > 0 THEN 'new_version' ELSE 'new' END;
END $$;
