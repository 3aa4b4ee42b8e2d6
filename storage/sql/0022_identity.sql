-- 0022: one person's identity never lands on another's records (DESIGN.md, rule 7; the
-- identity rules in docs/cases.md).
--
-- A patient record was (Patient ID, Issuer of Patient ID as sent): two hospitals' MRN100
-- were one person, every instance without a Patient ID was one person, and a study whose
-- name disagreed with the record's was filed under it and then coerced to its name. Now:
--   * an identifier without an issuer is qualified by its sender (the intake passes the
--     sender's authority: [peer] issuer, else the peer's name, else the calling AE title);
--   * an empty Patient ID is no key: each such study gets a record of its own;
--   * the same (ID, issuer) with another name or birth date is a record of its own, marked
--     as in conflict with the first (conflict_with); its study waits in triage;
--   * an instance that names another patient than its study's record is marked
--     (instances.identity_note), never coerced, and holds its study in triage.

ALTER TABLE patients ADD COLUMN issuer_from text NOT NULL DEFAULT 'sent'
    CHECK (issuer_from IN ('sent', 'sender'));
ALTER TABLE patients ADD COLUMN conflict_with bigint REFERENCES patients (id);
ALTER TABLE patients DROP CONSTRAINT patients_patient_id_issuer_key;
CREATE UNIQUE INDEX patients_key ON patients (patient_id, issuer)
    WHERE patient_id <> '' AND conflict_with IS NULL;
CREATE INDEX patients_conflicts ON patients (conflict_with) WHERE conflict_with IS NOT NULL;

ALTER TABLE instances ADD COLUMN identity_note text;

-- The triage item of an identity conflict names what the study disagrees with: the other
-- record (the first one under that identifier), or the case it was sent to, so that the
-- navigator sees both side by side.
ALTER TABLE triage ADD COLUMN other_patient bigint REFERENCES patients (id);
ALTER TABLE triage ADD COLUMN other_case bigint REFERENCES cases (id);

-- Names compared as people mean them: case, spacing inside and around components, and
-- empty trailing components or groups do not matter (Doe^Jane, DOE ^ JANE^^ and
-- doe^jane= are one name). An empty key ('', '^^^^') is no name.
CREATE OR REPLACE FUNCTION cp_name_key(n text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT upper(regexp_replace(regexp_replace(regexp_replace(btrim(coalesce(n, '')),
           '\s+', ' ', 'g'), '\s*([\^=])\s*', '\1', 'g'), '[\^=\s]+$', ''))
$$;

-- Whether two sets of demographics name two people: the names, or the birth dates, are
-- both present and differ. A value missing on either side says nothing.
CREATE FUNCTION cp_people_differ(a_name text, a_birth text, b_name text, b_birth text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT (cp_name_key(a_name) <> '' AND cp_name_key(b_name) <> ''
            AND cp_name_key(a_name) <> cp_name_key(b_name))
        OR (btrim(coalesce(a_birth, '')) <> '' AND btrim(coalesce(b_birth, '')) <> ''
            AND btrim(a_birth) <> btrim(b_birth))
$$;

-- The record a new study is filed under (the identity rules in docs/cases.md). p_issuer
-- is the issuer as sent, p_authority the sender's, which qualifies an identifier sent
-- without one. Records of one identifier are created under one lock, so two nodes
-- receiving the same new patient make one record.
CREATE FUNCTION cp_patient_for(p_pid text, p_issuer text, p_authority text, p_name text,
                               p_birth text, p_sex text, p_charset text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_pid text := btrim(coalesce(p_pid, ''));
    v_issuer text := btrim(coalesce(p_issuer, ''));
    v_from text := 'sent';
    v_first patients;
    v bigint;
BEGIN
    IF v_pid = '' THEN -- no identifier: this study is its own patient record
        INSERT INTO patients (patient_id, issuer, name, birth_date, sex, charset)
        VALUES ('', '', p_name, p_birth, p_sex, p_charset) RETURNING id INTO v;
        RETURN v;
    END IF;
    IF v_issuer = '' THEN
        v_issuer := btrim(coalesce(p_authority, ''));
        v_from := 'sender';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('patient:' || v_pid || '|' || v_issuer, 0));
    SELECT * INTO v_first FROM patients
     WHERE patient_id = v_pid AND issuer = v_issuer AND conflict_with IS NULL;
    IF NOT FOUND THEN
        INSERT INTO patients (patient_id, issuer, issuer_from, name, birth_date, sex, charset)
        VALUES (v_pid, v_issuer, v_from, p_name, p_birth, p_sex, p_charset) RETURNING id INTO v;
        RETURN v;
    END IF;
    IF NOT cp_people_differ(v_first.name, v_first.birth_date, p_name, p_birth) THEN
        -- the same person: what the record lacked is filled in, nothing is replaced
        UPDATE patients SET
            name = CASE WHEN cp_name_key(name) = '' THEN coalesce(p_name, '') ELSE name END,
            birth_date = CASE WHEN btrim(birth_date) = '' THEN coalesce(p_birth, '')
                              ELSE birth_date END,
            sex = CASE WHEN btrim(sex) = '' THEN coalesce(p_sex, '') ELSE sex END
         WHERE id = v_first.id
           AND ((cp_name_key(name) = '' AND cp_name_key(p_name) <> '')
                OR (btrim(birth_date) = '' AND btrim(coalesce(p_birth, '')) <> '')
                OR (btrim(sex) = '' AND btrim(coalesce(p_sex, '')) <> ''));
        RETURN v_first.id;
    END IF;
    -- another person under a known identifier: their own record, in conflict with the first
    SELECT id INTO v FROM patients
     WHERE conflict_with = v_first.id AND NOT cp_people_differ(name, birth_date, p_name, p_birth)
     ORDER BY id LIMIT 1;
    IF NOT FOUND THEN
        INSERT INTO patients (patient_id, issuer, issuer_from, name, birth_date, sex, charset,
                              conflict_with)
        VALUES (v_pid, v_issuer, v_from, p_name, p_birth, p_sex, p_charset, v_first.id)
        RETURNING id INTO v;
    END IF;
    RETURN v;
END $$;

-- The identity normalization coerces an instance to (0019): its case's patient once its
-- study is attached to a case, else its own study's record. Nothing for an instance that
-- names another patient than its study's (identity_note): it keeps what it was sent with.
-- An issuer caseport qualified an identifier with is not written into the data set.
CREATE OR REPLACE FUNCTION cp_target_identity(p_instance bigint)
RETURNS TABLE (patient_id text, issuer text, name text, birth_date text, sex text,
               calling_ae text)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN i.identity_note IS NULL THEN coalesce(c.token, p.patient_id) ELSE '' END,
           CASE WHEN i.identity_note IS NOT NULL THEN ''
                WHEN c.id IS NOT NULL THEN 'CASEPORT'
                WHEN p.issuer_from = 'sent' THEN p.issuer ELSE '' END,
           CASE WHEN i.identity_note IS NULL THEN coalesce(c.patient_name, p.name) ELSE '' END,
           CASE WHEN i.identity_note IS NULL THEN coalesce(c.birth_date, p.birth_date) ELSE '' END,
           CASE WHEN i.identity_note IS NULL THEN coalesce(c.sex, p.sex) ELSE '' END,
           i.calling_ae
      FROM instances i JOIN series e ON e.id = i.series_id JOIN studies s ON s.id = e.study_id
      JOIN patients p ON p.id = s.patient_id
      LEFT JOIN case_records r ON r.study_id = s.id
      LEFT JOIN cases c ON c.id = r.case_id
     WHERE i.id = p_instance
$$;

-- Whether request q asks for this identifier: the MRN is the request's, and so is the
-- issuer; or the request names no issuer, the sender qualified the MRN (it came without
-- one), and the request names that sender's AE title.
CREATE FUNCTION cp_request_mrn(q records_requests, p_pid text, p_issuer text,
                               p_issuer_from text, p_calling text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT q.patient_id <> '' AND q.patient_id = p_pid
       AND (q.issuer = p_issuer
            OR (q.issuer = '' AND p_issuer_from = 'sender' AND q.ae_title <> ''
                AND q.ae_title = p_calling))
$$;

-- Routing (0011) with the identity rules: a study under a record in conflict, or holding
-- an instance of another patient, waits in triage; a study sent to a case's AE title whose
-- patient disagrees with the case's waits in triage with that case as its candidate; an
-- MRN matches a request when its issuer is the request's, or (the request naming no
-- issuer) when the sender qualified it and the request names that sender's AE title.
CREATE OR REPLACE FUNCTION cp_route_study(p_study bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    s record;
    k cases;
    cands bigint[];
    r record;
BEGIN
    PERFORM 1 FROM studies WHERE id = p_study FOR UPDATE;
    IF EXISTS (SELECT 1 FROM case_records WHERE study_id = p_study)
       OR EXISTS (SELECT 1 FROM triage WHERE study_id = p_study) THEN
        RETURN 'already';
    END IF;
    SELECT i.calling_ae, i.called_ae, p.id AS patient, p.patient_id, p.issuer, p.issuer_from,
           p.name, p.birth_date, p.conflict_with INTO s
      FROM instances i JOIN series e ON e.id = i.series_id JOIN studies t ON t.id = e.study_id
      JOIN patients p ON p.id = t.patient_id
     WHERE t.id = p_study ORDER BY i.id LIMIT 1;
    IF NOT FOUND THEN
        RETURN 'already'; -- no instance (gone): nothing to route
    END IF;
    IF s.conflict_with IS NOT NULL THEN
        INSERT INTO triage (study_id, reason, other_patient)
        VALUES (p_study, 'identity conflict: its patient ID and issuer already name a patient with'
                || ' another name or birth date',
                s.conflict_with);
        RETURN 'triage';
    END IF;
    IF EXISTS (SELECT 1 FROM series e JOIN instances i ON i.series_id = e.id
                WHERE e.study_id = p_study AND i.identity_note IS NOT NULL) THEN
        INSERT INTO triage (study_id, reason)
        VALUES (p_study, 'identity conflict: the study''s instances name more than one patient');
        RETURN 'triage';
    END IF;
    SELECT * INTO k FROM cases WHERE token = s.called_ae AND state NOT IN ('closed', 'withdrawn');
    IF FOUND THEN
        IF cp_people_differ(k.patient_name, k.birth_date, s.name, s.birth_date) THEN
            INSERT INTO triage (study_id, reason, candidates, other_case)
            VALUES (p_study, 'sent to ' || k.token || ' but the patient differs', ARRAY[k.id],
                    k.id);
            RETURN 'triage';
        END IF;
        INSERT INTO case_records (case_id, study_id, matched_by, confidence, detail)
        VALUES (k.id, p_study, 'token', 1, 'sent to the case''s AE title ' || s.called_ae);
        RETURN 'token';
    END IF;
    SELECT array_agg(DISTINCT q.case_id ORDER BY q.case_id) INTO cands
      FROM records_requests q JOIN cases c ON c.id = q.case_id
     WHERE q.state = 'open' AND c.state NOT IN ('closed', 'withdrawn')
       AND (q.ae_title = '' OR q.ae_title = s.calling_ae)
       AND (cp_request_mrn(q, s.patient_id, s.issuer, s.issuer_from, s.calling_ae)
            OR (q.patient_name <> '' AND q.birth_date <> ''
                AND cp_name_key(q.patient_name) = cp_name_key(s.name)
                AND q.birth_date = s.birth_date));
    IF cands IS NOT NULL AND cardinality(cands) = 1 THEN
        SELECT q.id, cp_request_mrn(q, s.patient_id, s.issuer, s.issuer_from, s.calling_ae)
               AS by_mrn INTO r
          FROM records_requests q WHERE q.case_id = cands[1] AND q.state = 'open'
           AND (q.ae_title = '' OR q.ae_title = s.calling_ae)
         ORDER BY 2 DESC, q.id
         LIMIT 1;
        INSERT INTO case_records (case_id, study_id, matched_by, request_id, confidence, detail)
        VALUES (cands[1], p_study, 'request', r.id, CASE WHEN r.by_mrn THEN 0.95 ELSE 0.8 END,
                CASE WHEN r.by_mrn THEN 'request ' || r.id || ': MRN and issuer match'
                     ELSE 'request ' || r.id || ': name and birth date match' END);
        RETURN 'request';
    END IF;
    INSERT INTO triage (study_id, reason, candidates)
    VALUES (p_study,
            CASE WHEN cands IS NULL AND s.called_ae LIKE 'CP-%'
                 THEN 'sent to AE title ' || s.called_ae || ', which names no open case'
                 WHEN cands IS NULL THEN 'no case token, and no open records request matches'
                 ELSE cardinality(cands) || ' cases have open requests that match' END,
            coalesce(cands, '{}'));
    RETURN 'triage';
END $$;


-- cp_ingest as in 0021, with p_authority (the sender's, which qualifies a Patient ID sent
-- without an issuer), the study's record found or made by cp_patient_for, and each
-- instance of a known study checked against its record (identity_note: here, not in an SQL
-- function, which plpgsql would plan anew in every transaction, 0.3 ms an instance). A
-- study is looked up before a record is made for it, so that a new series of a study
-- without a Patient ID does not make a record of its own.
DROP FUNCTION cp_ingest(text, text, text, text, text, text, text, text, text, text, text,
    text, text, text, text, text, text, text, text, text, text, text, bytea, bigint, text,
    text, bigint, bigint, bytea, text, boolean);
CREATE FUNCTION cp_ingest(p_sop_class text, p_sop text, p_study text, p_series text,
    p_pid text, p_issuer text, p_name text, p_birth text, p_sex text, p_charset text,
    p_study_date text, p_study_time text, p_accession text, p_study_desc text,
    p_series_desc text, p_modality text, p_series_number text, p_instance_number text,
    p_ts text, p_calling text, p_called text, p_peer text,
    p_addr bytea, p_size bigint, p_key_id text,
    p_pack text, p_pack_offset bigint, p_pack_length bigint,
    p_pixel_hash bytea, p_pixel_hash_note text, p_keeps boolean, p_authority text,
    OUT kind text, OUT instance_id bigint, OUT version integer, OUT receipt_count integer,
    OUT blob_new boolean, OUT duplicate_of bigint, OUT queued boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_prev integer;
    v_series bigint;
    v_study bigint;
    v_patient bigint;
    v_mine bigint;
    v_new_series boolean;
    v_note text;
    v_rec patients;
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

    SELECT e.id, e.study_id, s.patient_id INTO v_series, v_study, v_patient
      FROM series e JOIN studies s ON s.id = e.study_id WHERE e.series_uid = p_series;
    v_new_series := NOT FOUND;
    IF v_new_series THEN
        SELECT s.id, s.patient_id INTO v_study, v_patient FROM studies s WHERE s.study_uid = p_study;
        IF NOT FOUND THEN
            v_mine := cp_patient_for(p_pid, p_issuer, p_authority, p_name, p_birth, p_sex,
                                     p_charset);
            v_study := cp_study_id(p_study, v_mine, p_study_date, p_study_time, p_accession,
                                   p_study_desc);
            SELECT s.patient_id INTO v_patient FROM studies s WHERE s.id = v_study;
        END IF;
        v_series := cp_series_id(p_series, v_study, p_modality, p_series_number, p_series_desc);
    END IF;
    -- The study's record was made from this instance, or it was there (or made by a
    -- concurrent first instance of the study) and this one must agree with it.
    IF v_mine IS NULL OR v_mine <> v_patient THEN
        SELECT * INTO v_rec FROM patients WHERE id = v_patient;
        v_note := CASE
            WHEN v_rec.patient_id <> btrim(coalesce(p_pid, ''))
              OR (v_rec.patient_id <> ''
                  AND v_rec.issuer <> coalesce(nullif(btrim(coalesce(p_issuer, '')), ''),
                                               btrim(coalesce(p_authority, ''))))
                THEN 'its patient identifier differs from its study''s'
            -- the usual case, the same values as sent with the study's first instance
            WHEN v_rec.name = coalesce(p_name, '') AND v_rec.birth_date = coalesce(p_birth, '')
                THEN NULL
            WHEN cp_people_differ(v_rec.name, v_rec.birth_date, p_name, p_birth)
                THEN 'its patient name or birth date differs from its study''s'
            END;
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
    -- Whether normalization would coerce nothing (0021), with cp_target_identity's rules:
    -- the case's patient once the study is in a case, else the study's record, whose
    -- issuer is written only when it was sent. An instance of another patient than its
    -- study's has its job (which coerces nothing).
    IF p_keeps AND v_note IS NULL THEN
        SELECT coalesce(bool_and(t.pid IN ('', coalesce(p_pid, ''))
                                 AND t.issuer IN ('', coalesce(p_issuer, ''))
                                 AND t.name IN ('', coalesce(p_name, ''))
                                 AND t.birth IN ('', coalesce(p_birth, ''))
                                 AND t.sex IN ('', coalesce(p_sex, ''))), false)
          INTO v_normalized
          FROM (SELECT coalesce(c.token, p.patient_id, '') AS pid,
                       CASE WHEN c.id IS NOT NULL THEN 'CASEPORT'
                            WHEN p.issuer_from = 'sent' THEN p.issuer ELSE '' END AS issuer,
                       coalesce(c.patient_name, p.name, '') AS name,
                       coalesce(c.birth_date, p.birth_date, '') AS birth,
                       coalesce(c.sex, p.sex, '') AS sex
                  FROM patients p
                  LEFT JOIN case_records r ON r.study_id = v_study
                  LEFT JOIN cases c ON c.id = r.case_id
                 WHERE p.id = v_patient) t;
    END IF;
    INSERT INTO instances (series_id, sop_class_uid, sop_instance_uid, version,
        instance_number, transfer_syntax, size, blob_address, calling_ae, called_ae,
        peer_address, flagged, flag_reason, pixel_hash, pixel_hash_note, duplicate_of,
        identity_note)
    VALUES (v_series, p_sop_class, p_sop, v_prev + 1, p_instance_number, p_ts, p_size,
        p_addr, p_calling, p_called, p_peer, v_prev > 0,
        CASE WHEN v_prev > 0 THEN 'same SOP Instance UID received with different content' END,
        p_pixel_hash, p_pixel_hash_note, duplicate_of, v_note)
    RETURNING id, 1 INTO instance_id, receipt_count;
    IF p_pixel_hash IS NULL AND p_pixel_hash_note IS NULL THEN
        INSERT INTO jobs (kind, instance_id) VALUES ('pixel_hash', instance_id);
    END IF;
    -- Another patient's instance in a study routed already (attached to a case, or
    -- decided in triage): the study goes back to the navigator. One not routed yet gets
    -- this item from here and its route job finds it there.
    IF v_note IS NOT NULL THEN
        INSERT INTO triage (study_id, reason)
        VALUES (v_study, 'identity conflict: the study''s instances name more than one patient')
        ON CONFLICT (study_id) DO UPDATE SET state = 'open', reason = EXCLUDED.reason,
            decided_by = NULL, decided_at = NULL, decision = ''
        WHERE triage.state <> 'open';
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

-- A study moved to another case by a navigator (a triage decision on a study attached
-- already) is normalized again, to its new case's patient.
CREATE TRIGGER case_records_renormalize_move AFTER UPDATE OF case_id ON case_records
    FOR EACH ROW WHEN (OLD.case_id IS DISTINCT FROM NEW.case_id)
    EXECUTE FUNCTION cp_renormalize_study();
