-- 0021: normalization settled at ingest for the instances that need no change, the usual
-- case (DESIGN.md's pipeline, step "normalize"). The intake runs the normalize job's dry
-- run over the header it has just received (gw_normalize_header_keeps) and sends
-- p_keeps: true when nothing there asks for a rewrite. cp_ingest then checks the one
-- rule the header cannot settle, the patient identity, and if that holds too records the
-- normalized row itself ("the original needs no change", as the job would) and queues no
-- normalize job. Measured on ct300 with one association: the job's claim, read-back and
-- done statements cost as much as a quarter of the ingest rate. Anything else (p_keeps
-- false, a coercion) gets its job as before, which cp_ingest now queues itself.
--
-- An instance normalized here must not miss its study's attachment to a case, which
-- changes the identity it is coerced to: cp_ingest holds a shared lock on the study from
-- its identity check to its commit, and the attachment's trigger takes it exclusively.

-- cp_ingest, the one place that inserts instances, now queues the row's jobs itself: it
-- knows whether it recorded the normalization, which the row's trigger (0019, 0020) could
-- not, as it runs before the normalized row can exist.
DROP TRIGGER instances_jobs ON instances;
DROP FUNCTION cp_queue_instance_jobs();

-- A study attached to a case (0012): its instances are normalized again, to the case's
-- patient; now also those whose normalize job is queued or running, as a job claimed
-- before the attachment committed read the identity without the case. The study's lock,
-- exclusive here, waits for the ingests in flight (cp_ingest holds it shared to its
-- commit) so that their rows are seen here, and makes later ones see the case.
CREATE OR REPLACE FUNCTION cp_renormalize_study() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('study:' || NEW.study_id, 0));
    INSERT INTO jobs (kind, instance_id)
    SELECT 'normalize', i.id FROM series e JOIN instances i ON i.series_id = e.id
     WHERE e.study_id = NEW.study_id
       AND (EXISTS (SELECT 1 FROM normalized n WHERE n.instance_id = i.id)
            OR EXISTS (SELECT 1 FROM jobs j WHERE j.instance_id = i.id
                        AND j.kind = 'normalize' AND j.state IN ('queued', 'running')));
    RETURN NEW;
END $$;

-- cp_set_normalized (0020) for job p_job (0: none): its result is dropped when the
-- instance has a newer normalize job. A case attachment queues one for an instance whose
-- job was already claimed (cp_renormalize_study); the claimed job read the identity
-- without the case and must not overwrite the newer one's result by finishing last. The
-- row lock, taken first, orders the two.
CREATE FUNCTION cp_set_normalized(p_id bigint, p_addr bytea, p_size bigint, p_key_id text,
                                  p_ts text, p_changes text[], p_verified text, p_job bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM instances WHERE id = p_id FOR NO KEY UPDATE;
    IF p_job = 0 OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.instance_id = p_id
                                   AND j.kind = 'normalize' AND j.id > p_job) THEN
        PERFORM cp_set_normalized(p_id, p_addr, p_size, p_key_id, p_ts, p_changes, p_verified);
    END IF;
END $$;

-- cp_ingest as in 0020, with p_keeps, the study's lock, the row's jobs, and OUT queued:
-- whether it queued jobs, so that the intake wakes the workers only then (an empty claim
-- costs about as much as a full one).
DROP FUNCTION cp_ingest(text, text, text, text, text, text, text, text, text, text, text,
    text, text, text, text, text, text, text, text, text, text, text, bytea, bigint, text,
    text, bigint, bigint, bytea, text);
CREATE FUNCTION cp_ingest(p_sop_class text, p_sop text, p_study text, p_series text,
    p_pid text, p_issuer text, p_name text, p_birth text, p_sex text, p_charset text,
    p_study_date text, p_study_time text, p_accession text, p_study_desc text,
    p_series_desc text, p_modality text, p_series_number text, p_instance_number text,
    p_ts text, p_calling text, p_called text, p_peer text,
    p_addr bytea, p_size bigint, p_key_id text,
    p_pack text, p_pack_offset bigint, p_pack_length bigint,
    p_pixel_hash bytea, p_pixel_hash_note text, p_keeps boolean,
    OUT kind text, OUT instance_id bigint, OUT version integer, OUT receipt_count integer,
    OUT blob_new boolean, OUT duplicate_of bigint, OUT queued boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_prev integer;
    v_series bigint;
    v_study bigint;
    v_new_series boolean;
    v_normalized boolean := false;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('sop:' || p_sop, 0));
    blob_new := false;
    queued := false;
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

    SELECT s.id, s.study_id INTO v_series, v_study FROM series s WHERE s.series_uid = p_series;
    v_new_series := NOT FOUND;
    IF v_new_series THEN
        v_study := cp_study_id(p_study,
            cp_patient_id(p_pid, p_issuer, p_name, p_birth, p_sex, p_charset),
            p_study_date, p_study_time, p_accession, p_study_desc);
        v_series := cp_series_id(p_series, v_study, p_modality, p_series_number, p_series_desc);
    END IF;
    -- Held to the commit: a case attachment of the study (cp_renormalize_study) waits for
    -- this ingest, and sees its row and its normalized row; or this one waits for it, and
    -- sees the case.
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('study:' || v_study, 0));

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
    -- Whether normalization would coerce nothing: codec_coerce_identity (codecs/coerce.c)
    -- changes an attribute when the target's value is not empty and differs from the one
    -- sent. The target is cp_target_identity's (0019), found from the series as the row
    -- does not exist yet: the case's patient once the study is in a case, else the patient
    -- record. (Here, not in an SQL function: plpgsql would plan one anew in every
    -- transaction, 0.4 ms measured.)
    IF p_keeps THEN
        SELECT coalesce(bool_and(t.pid IN ('', coalesce(p_pid, ''))
                                 AND t.issuer IN ('', coalesce(p_issuer, ''))
                                 AND t.name IN ('', coalesce(p_name, ''))
                                 AND t.birth IN ('', coalesce(p_birth, ''))
                                 AND t.sex IN ('', coalesce(p_sex, ''))), false)
          INTO v_normalized
          FROM (SELECT coalesce(c.token, p.patient_id, '') AS pid,
                       CASE WHEN c.id IS NULL THEN coalesce(p.issuer, '') ELSE 'CASEPORT' END
                           AS issuer,
                       coalesce(c.patient_name, p.name, '') AS name,
                       coalesce(c.birth_date, p.birth_date, '') AS birth,
                       coalesce(c.sex, p.sex, '') AS sex
                  FROM series e JOIN studies s ON s.id = e.study_id
                  JOIN patients p ON p.id = s.patient_id
                  LEFT JOIN case_records r ON r.study_id = s.id
                  LEFT JOIN cases c ON c.id = r.case_id
                 WHERE e.id = v_series) t;
    END IF;
    INSERT INTO instances (series_id, sop_class_uid, sop_instance_uid, version,
        instance_number, transfer_syntax, size, blob_address, calling_ae, called_ae,
        peer_address, flagged, flag_reason, pixel_hash, pixel_hash_note, duplicate_of)
    VALUES (v_series, p_sop_class, p_sop, v_prev + 1, p_instance_number, p_ts, p_size,
        p_addr, p_calling, p_called, p_peer, v_prev > 0,
        CASE WHEN v_prev > 0 THEN 'same SOP Instance UID received with different content' END,
        p_pixel_hash, p_pixel_hash_note, duplicate_of)
    RETURNING id, 1 INTO instance_id, receipt_count;
    IF p_pixel_hash IS NULL AND p_pixel_hash_note IS NULL THEN
        INSERT INTO jobs (kind, instance_id) VALUES ('pixel_hash', instance_id);
    END IF;
    IF v_normalized THEN
        INSERT INTO normalized (instance_id, changes, verified)
        VALUES (instance_id, '{}', 'the original needs no change');
    ELSE
        INSERT INTO jobs (kind, instance_id) VALUES ('normalize', instance_id);
    END IF;
    -- jobs for the workers: the row's, or a new study's route (0011)
    queued := NOT v_normalized OR (p_pixel_hash IS NULL AND p_pixel_hash_note IS NULL)
              OR v_new_series;
    version := v_prev + 1;
    kind := CASE WHEN v_prev > 0 THEN 'new_version' ELSE 'new' END;
END $$;
