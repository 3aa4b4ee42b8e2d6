-- The case workflow: people and their roles, cases with their state machine and clocks,
-- and the append-only audit trail whose rows are chained by SHA-256.

CREATE TABLE subspecialties (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z-]*$'),
    name text NOT NULL
);
INSERT INTO subspecialties (code, name) VALUES
    ('neuro-oncology', 'Neuro-oncology'),
    ('breast-imaging', 'Breast imaging'),
    ('movement-disorders', 'Movement disorders'),
    ('multiple-sclerosis', 'Multiple sclerosis'),
    ('dementia', 'Dementia and cognitive disorders'),
    ('neuroradiology', 'Neuroradiology'),
    ('thoracic-oncology', 'Thoracic oncology'),
    ('cardiology', 'Cardiology'),
    ('musculoskeletal', 'Musculoskeletal');

CREATE TABLE accounts (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    display_name  text NOT NULL DEFAULT '',
    role          text NOT NULL
                  CHECK (role IN ('patient', 'navigator', 'specialist', 'administrator')),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE account_subspecialties (
    account_id bigint NOT NULL REFERENCES accounts (id),
    code       text NOT NULL REFERENCES subspecialties (code),
    PRIMARY KEY (account_id, code)
);

-- A session token is 256 random bits given to the client once; only its SHA-256 is kept.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    account_id bigint NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    source     text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE cases (
    id                 bigserial PRIMARY KEY,
    token              text NOT NULL UNIQUE CHECK (token ~ '^CP-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z][0-9A-HJKMNP-TV-Z*~$=U]$'),
    patient_account_id bigint REFERENCES accounts (id),
    patient_name       text NOT NULL,
    birth_date         text NOT NULL DEFAULT '',
    sex                text NOT NULL DEFAULT '',
    condition          text NOT NULL CHECK (btrim(condition) <> ''),
    subspecialty       text NOT NULL REFERENCES subspecialties (code),
    questionnaire      jsonb NOT NULL DEFAULT '{}',
    first_opinion      text NOT NULL CHECK (btrim(first_opinion) <> ''),
    navigator_id       bigint REFERENCES accounts (id),
    specialist_id      bigint REFERENCES accounts (id),
    state              text NOT NULL DEFAULT 'registered' CHECK (state IN
                       ('registered', 'collecting_records', 'records_complete', 'under_review',
                        'consultation_scheduled', 'opinion_drafted', 'opinion_published',
                        'closed', 'withdrawn')),
    registered_at      timestamptz NOT NULL DEFAULT now(),
    collecting_at      timestamptz,          -- collecting_records first entered
    records_done_at    timestamptz,          -- records_complete first entered
    published_at       timestamptz,
    paused_at          timestamptz,          -- waiting on the patient since (clocks stopped)
    paused_seconds     bigint NOT NULL DEFAULT 0 CHECK (paused_seconds >= 0),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_navigator ON cases (navigator_id);
CREATE INDEX cases_specialist ON cases (specialist_id);
CREATE INDEX cases_patient ON cases (patient_account_id);

CREATE TABLE case_events (
    id         bigserial PRIMARY KEY,
    case_id    bigint NOT NULL REFERENCES cases (id),
    from_state text,
    to_state   text NOT NULL,
    actor_id   bigint REFERENCES accounts (id),
    role       text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_events_case ON case_events (case_id, id);

-- Audit: every read and write of patient data. Rows are chained: each holds the hash of
-- the one before, in seq order (assigned under the head row's lock, so the chain has
-- one order even when ids are taken concurrently). The hashed text is cp_audit_text's;
-- `caseport audit verify` recomputes it independently.
CREATE TABLE audit (
    seq       bigint PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id  bigint,
    role      text NOT NULL,
    case_id   bigint,
    object    text NOT NULL DEFAULT '',
    action    text NOT NULL,
    outcome   text NOT NULL,
    source    text NOT NULL DEFAULT '',
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL
);
CREATE INDEX audit_case ON audit (case_id, seq);

CREATE TABLE audit_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'));

-- Each field as <octets>:<value>, so that no value can pass for another's boundary.
CREATE FUNCTION cp_audit_field(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT octet_length(coalesce(v, '')) || ':' || coalesce(v, '')
$$;
CREATE FUNCTION cp_audit_time(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
CREATE FUNCTION cp_audit_text(a audit) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'caseport-audit-v1|' || a.seq || '|' || encode(a.prev_hash, 'hex') || '|'
        || cp_audit_field(cp_audit_time(a.at)) || cp_audit_field(a.actor_id::text)
        || cp_audit_field(a.role) || cp_audit_field(a.case_id::text)
        || cp_audit_field(a.object) || cp_audit_field(a.action)
        || cp_audit_field(a.outcome) || cp_audit_field(a.source)
$$;

CREATE FUNCTION cp_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    h audit_head;
BEGIN
    SELECT * INTO h FROM audit_head FOR UPDATE; -- one appender at a time
    NEW.seq := h.seq + 1;
    NEW.prev_hash := h.hash;
    NEW.at := date_trunc('microseconds', NEW.at);
    NEW.hash := sha256(convert_to(cp_audit_text(NEW), 'UTF8'));
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_chain BEFORE INSERT ON audit
    FOR EACH ROW EXECUTE FUNCTION cp_audit_chain();

CREATE FUNCTION cp_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION cp_audit_append_only();
