-- caseport schema v1: the DICOM index (patients, studies, series, instances) over the
-- encrypted blob store. Identity of a patient is (patient_id, issuer) as the sender
-- gave it; coercion to a case's patient comes with normalization, in new objects.

CREATE TABLE blobs (
    address    bytea PRIMARY KEY CHECK (length(address) = 32),
    size       bigint NOT NULL CHECK (size >= 0),
    key_id     text NOT NULL,
    refcount   integer NOT NULL DEFAULT 0 CHECK (refcount >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE patients (
    id          bigserial PRIMARY KEY,
    patient_id  text NOT NULL,
    issuer      text NOT NULL DEFAULT '',
    name        text NOT NULL DEFAULT '',
    birth_date  text NOT NULL DEFAULT '',
    sex         text NOT NULL DEFAULT '',
    charset     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (patient_id, issuer)
);

CREATE TABLE studies (
    id           bigserial PRIMARY KEY,
    study_uid    text NOT NULL UNIQUE,
    patient_id   bigint NOT NULL REFERENCES patients (id),
    study_date   text NOT NULL DEFAULT '',
    study_time   text NOT NULL DEFAULT '',
    accession    text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX studies_patient ON studies (patient_id);

CREATE TABLE series (
    id            bigserial PRIMARY KEY,
    series_uid    text NOT NULL UNIQUE,
    study_id      bigint NOT NULL REFERENCES studies (id),
    modality      text NOT NULL DEFAULT '',
    series_number text NOT NULL DEFAULT '',
    description   text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX series_study ON series (study_id);

CREATE TABLE instances (
    id               bigserial PRIMARY KEY,
    series_id        bigint NOT NULL REFERENCES series (id),
    sop_class_uid    text NOT NULL,
    sop_instance_uid text NOT NULL,
    version          integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    instance_number  text NOT NULL DEFAULT '',
    transfer_syntax  text NOT NULL,
    size             bigint NOT NULL CHECK (size >= 0),
    blob_address     bytea NOT NULL REFERENCES blobs (address),
    calling_ae       text NOT NULL,
    called_ae        text NOT NULL DEFAULT '',
    peer_address     text NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now(),
    last_received_at timestamptz NOT NULL DEFAULT now(),
    receipt_count    integer NOT NULL DEFAULT 1 CHECK (receipt_count >= 1),
    flagged          boolean NOT NULL DEFAULT false,
    flag_reason      text,
    -- de-duplication level 2: one row per (UID, content), versions numbered per UID
    UNIQUE (sop_instance_uid, version),
    UNIQUE (sop_instance_uid, blob_address)
);
CREATE INDEX instances_series ON instances (series_id);
CREATE INDEX instances_blob ON instances (blob_address);

-- Get-or-create helpers: INSERT .. ON CONFLICT DO NOTHING waits for a concurrent inserter
-- of the same key and then does nothing, so the SELECT after it finds the committed row.
CREATE FUNCTION cp_patient_id(p_pid text, p_issuer text, p_name text, p_birth text,
                              p_sex text, p_charset text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
    INSERT INTO patients (patient_id, issuer, name, birth_date, sex, charset)
    VALUES (p_pid, p_issuer, p_name, p_birth, p_sex, p_charset)
    ON CONFLICT (patient_id, issuer) DO NOTHING RETURNING id INTO v;
    IF v IS NULL THEN
        SELECT id INTO STRICT v FROM patients WHERE patient_id = p_pid AND issuer = p_issuer;
    END IF;
    RETURN v;
END $$;

CREATE FUNCTION cp_study_id(p_uid text, p_patient bigint, p_date text, p_time text,
                            p_accession text, p_desc text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
    INSERT INTO studies (study_uid, patient_id, study_date, study_time, accession, description)
    VALUES (p_uid, p_patient, p_date, p_time, p_accession, p_desc)
    ON CONFLICT (study_uid) DO NOTHING RETURNING id INTO v;
    IF v IS NULL THEN
        SELECT id INTO STRICT v FROM studies WHERE study_uid = p_uid;
    END IF;
    RETURN v;
END $$;

CREATE FUNCTION cp_series_id(p_uid text, p_study bigint, p_modality text, p_number text,
                             p_desc text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
    INSERT INTO series (series_uid, study_id, modality, series_number, description)
    VALUES (p_uid, p_study, p_modality, p_number, p_desc)
    ON CONFLICT (series_uid) DO NOTHING RETURNING id INTO v;
    IF v IS NULL THEN
        SELECT id INTO STRICT v FROM series WHERE series_uid = p_uid;
    END IF;
    RETURN v;
END $$;

-- One received instance whose blob is durable. De-duplication levels 1 and 2: the same
-- content under the same UID is a repeat receipt; other content under a known UID is a
-- new version, flagged. The advisory lock serialises receipts of one UID across nodes;
-- the UNIQUE constraints above are what finally guarantees one row per content.
CREATE FUNCTION cp_ingest(p_sop_class text, p_sop text, p_study text, p_series text,
    p_pid text, p_issuer text, p_name text, p_birth text, p_sex text, p_charset text,
    p_study_date text, p_study_time text, p_accession text, p_study_desc text,
    p_series_desc text, p_modality text, p_series_number text, p_instance_number text,
    p_ts text, p_calling text, p_called text, p_peer text,
    p_addr bytea, p_size bigint, p_key_id text,
    OUT kind text, OUT instance_id bigint, OUT version integer, OUT receipt_count integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_prev integer;
    v_series bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('sop:' || p_sop, 0));
    UPDATE instances i SET receipt_count = i.receipt_count + 1, last_received_at = now()
     WHERE i.sop_instance_uid = p_sop AND i.blob_address = p_addr
     RETURNING i.id, i.version, i.receipt_count INTO instance_id, version, receipt_count;
    IF FOUND THEN
        kind := 'repeat';
        RETURN;
    END IF;

    INSERT INTO blobs (address, size, key_id, refcount) VALUES (p_addr, p_size, p_key_id, 1)
    ON CONFLICT (address) DO UPDATE SET refcount = blobs.refcount + 1;

    v_series := cp_series_id(p_series,
        cp_study_id(p_study,
            cp_patient_id(p_pid, p_issuer, p_name, p_birth, p_sex, p_charset),
            p_study_date, p_study_time, p_accession, p_study_desc),
        p_modality, p_series_number, p_series_desc);

    SELECT coalesce(max(i.version), 0) INTO v_prev FROM instances i
     WHERE i.sop_instance_uid = p_sop;
    INSERT INTO instances (series_id, sop_class_uid, sop_instance_uid, version,
        instance_number, transfer_syntax, size, blob_address, calling_ae, called_ae,
        peer_address, flagged, flag_reason)
    VALUES (v_series, p_sop_class, p_sop, v_prev + 1, p_instance_number, p_ts, p_size,
        p_addr, p_calling, p_called, p_peer, v_prev > 0,
        CASE WHEN v_prev > 0 THEN 'same SOP Instance UID received with different content' END)
    RETURNING id, 1 INTO instance_id, receipt_count;
    version := v_prev + 1;
    kind := CASE WHEN v_prev > 0 THEN 'new_version' ELSE 'new' END;
END $$;
