-- Intake routing: every study that arrives is attached to a case, by the case token (the
-- per-case AE title it was sent to), or by an open records request whose provider and
-- patient identifiers match; otherwise it waits in the triage queue for a navigator.

CREATE TABLE records_requests (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    provider     text NOT NULL CHECK (btrim(provider) <> ''),
    fax          text NOT NULL DEFAULT '',
    email        text NOT NULL DEFAULT '',
    ae_title     text NOT NULL DEFAULT '',   -- '' : any sender
    patient_id   text NOT NULL DEFAULT '',   -- the patient's MRN at that provider
    issuer       text NOT NULL DEFAULT '',
    patient_name text NOT NULL DEFAULT '',   -- as DICOM writes it: Family^Given
    birth_date   text NOT NULL DEFAULT '',
    state        text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'fulfilled', 'cancelled')),
    created_by   bigint REFERENCES accounts (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (patient_id <> '' OR (patient_name <> '' AND birth_date <> ''))
);
CREATE INDEX records_requests_open ON records_requests (case_id) WHERE state = 'open';

CREATE TABLE case_records (
    id          bigserial PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    study_id    bigint NOT NULL UNIQUE REFERENCES studies (id),
    matched_by  text NOT NULL CHECK (matched_by IN ('token', 'request', 'navigator')),
    request_id  bigint REFERENCES records_requests (id),
    confidence  real NOT NULL CHECK (confidence > 0 AND confidence <= 1),
    detail      text NOT NULL DEFAULT '',
    attached_by bigint REFERENCES accounts (id),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_records_case ON case_records (case_id);

CREATE TABLE triage (
    id           bigserial PRIMARY KEY,
    study_id     bigint NOT NULL UNIQUE REFERENCES studies (id),
    reason       text NOT NULL,
    candidates   bigint[] NOT NULL DEFAULT '{}',  -- case ids
    state        text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'attached', 'rejected')),
    decided_by   bigint REFERENCES accounts (id),
    decided_at   timestamptz,
    decision     text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX triage_open ON triage (id) WHERE state = 'open';

-- A route job per new study (the first instance is in the same transaction).
ALTER TABLE jobs ADD COLUMN study_id bigint;
CREATE FUNCTION cp_queue_route() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO jobs (kind, study_id) VALUES ('route', NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER studies_route AFTER INSERT ON studies
    FOR EACH ROW EXECUTE FUNCTION cp_queue_route();
INSERT INTO jobs (kind, study_id) SELECT 'route', id FROM studies ORDER BY id;

-- Names compared as people mean them: case, surrounding spaces and empty trailing
-- components (Doe^Jane^^ is Doe^Jane) do not matter.
CREATE FUNCTION cp_name_key(n text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT upper(regexp_replace(btrim(coalesce(n, '')), '\^+$', ''))
$$;

-- Routes one study; returns how: 'token', 'request', 'triage' or 'already'. Rules in
-- order: the called AE title is a case's token; else the open requests that match (their
-- AE title, if any, is the sender's; and the MRN with its issuer, or the name with the
-- birth date, are the patient's): one case -> attached, several -> triage with the
-- candidates, none -> triage.
CREATE FUNCTION cp_route_study(p_study bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    s record;
    c_id bigint;
    cands bigint[];
    r record;
BEGIN
    PERFORM 1 FROM studies WHERE id = p_study FOR UPDATE;
    IF EXISTS (SELECT 1 FROM case_records WHERE study_id = p_study)
       OR EXISTS (SELECT 1 FROM triage WHERE study_id = p_study) THEN
        RETURN 'already';
    END IF;
    SELECT i.calling_ae, i.called_ae, p.patient_id, p.issuer, p.name, p.birth_date INTO s
      FROM instances i JOIN series e ON e.id = i.series_id JOIN studies t ON t.id = e.study_id
      JOIN patients p ON p.id = t.patient_id
     WHERE t.id = p_study ORDER BY i.id LIMIT 1;
    IF NOT FOUND THEN
        RETURN 'already'; -- no instance (gone): nothing to route
    END IF;
    SELECT id INTO c_id FROM cases WHERE token = s.called_ae AND state NOT IN ('closed', 'withdrawn');
    IF FOUND THEN
        INSERT INTO case_records (case_id, study_id, matched_by, confidence, detail)
        VALUES (c_id, p_study, 'token', 1, 'sent to the case''s AE title ' || s.called_ae);
        RETURN 'token';
    END IF;
    SELECT array_agg(DISTINCT q.case_id ORDER BY q.case_id) INTO cands
      FROM records_requests q JOIN cases c ON c.id = q.case_id
     WHERE q.state = 'open' AND c.state NOT IN ('closed', 'withdrawn')
       AND (q.ae_title = '' OR q.ae_title = s.calling_ae)
       AND ((q.patient_id <> '' AND q.patient_id = s.patient_id AND q.issuer = s.issuer)
            OR (q.patient_name <> '' AND q.birth_date <> ''
                AND cp_name_key(q.patient_name) = cp_name_key(s.name)
                AND q.birth_date = s.birth_date));
    IF cands IS NOT NULL AND cardinality(cands) = 1 THEN
        SELECT q.id, (q.patient_id <> '' AND q.patient_id = s.patient_id AND q.issuer = s.issuer)
               AS by_mrn INTO r
          FROM records_requests q WHERE q.case_id = cands[1] AND q.state = 'open'
           AND (q.ae_title = '' OR q.ae_title = s.calling_ae)
         ORDER BY (q.patient_id <> '' AND q.patient_id = s.patient_id AND q.issuer = s.issuer) DESC, q.id
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
