-- tools/bench.d/api-data.sql -- the API benchmark's database: 50 navigators (one a
-- client of the benchmark, 200 cases each), 50 specialists, 10 000 cases spread over every state and clock, each with one study of 4
-- series x 25 instances (1 000 000 instances), attached through a records request.
-- psql variable: hash, an argon2id password hash every account gets. Bulk rows skip the
-- triggers (jobs, routing, blob reference counts, the audit chain): the rows are written
-- consistent, and the benchmark measures reading them.
\set ON_ERROR_STOP 1
SET session_replication_role = replica;
BEGIN;
INSERT INTO accounts (username, display_name, role, password_hash)
SELECT 'nav' || i, 'Navigator ' || i, 'navigator', :'hash' FROM generate_series(1, 50) i;
INSERT INTO accounts (username, display_name, role, password_hash)
SELECT 'spec' || i, 'Specialist ' || i, 'specialist', :'hash' FROM generate_series(1, 50) i;
INSERT INTO account_subspecialties (account_id, code)
SELECT a.id, s.code FROM accounts a
  JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM subspecialties) s
    ON s.k = substr(a.username, 5)::int % 9
 WHERE a.role = 'specialist';

-- A case token as caseport makes one (gateway/cases/case.c): 25 bits in Crockford's
-- base32, then the check symbol (the value mod 37).
CREATE FUNCTION pg_temp.sym(k bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U', (k & 31)::int + 1, 1)
$$;
CREATE FUNCTION pg_temp.token(v bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'CP-' || pg_temp.sym(v >> 20) || pg_temp.sym(v >> 15) || pg_temp.sym(v >> 10)
        || pg_temp.sym(v >> 5) || '-' || pg_temp.sym(v)
        || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U', (v % 37)::int + 1, 1)
$$;

-- i -> its state (k: 0..8 in the state machine's order) and ages; the multiplier is odd,
-- so the 25-bit values, and the tokens, are distinct.
CREATE TEMP TABLE g AS
SELECT i, (i * 2654435761::bigint) % 33554432 AS v, i % 9 AS k,
       now() - ((i * 7) % 40) * interval '1 day' - (i % 24) * interval '1 hour' AS reg
  FROM generate_series(1, 10000) i;

INSERT INTO cases (token, patient_name, birth_date, sex, condition, subspecialty,
                   first_opinion, navigator_id, specialist_id, state, registered_at,
                   collecting_at, records_done_at, published_at, updated_at)
SELECT pg_temp.token(g.v), 'Bench^Patient' || g.i, '19600101', 'F', 'bench condition',
       sub.code, 'the first opinion', nav.id, CASE WHEN g.k >= 3 THEN spec.id END,
       (ARRAY['registered', 'collecting_records', 'records_complete', 'under_review',
              'consultation_scheduled', 'opinion_drafted', 'opinion_published', 'closed',
              'withdrawn'])[g.k + 1],
       g.reg,
       CASE WHEN g.k >= 1 THEN g.reg + interval '1 day' END,
       CASE WHEN g.k BETWEEN 2 AND 7 THEN g.reg + interval '4 days' END,
       CASE WHEN g.k IN (6, 7) THEN g.reg + interval '12 days' END, g.reg
  FROM g
  JOIN accounts nav ON nav.username = 'nav' || (1 + g.i % 50)
  JOIN accounts spec ON spec.username = 'spec' || (1 + g.i % 50)
  JOIN account_subspecialties sub ON sub.account_id = spec.id;

INSERT INTO case_events (case_id, from_state, to_state, actor_id, role, reason, at)
SELECT c.id, NULL, 'registered', c.navigator_id, 'navigator', 'case opened', c.registered_at
  FROM cases c;
INSERT INTO case_events (case_id, from_state, to_state, actor_id, role, reason, at)
SELECT c.id, 'registered', c.state, c.navigator_id, 'navigator', 'bench', c.updated_at
  FROM cases c WHERE c.state <> 'registered';

INSERT INTO records_requests (case_id, provider, ae_title, patient_id, issuer, state,
                              created_by, created_at)
SELECT c.id, 'Bench Hospital', 'BENCHPACS', 'MRN' || c.id, 'BENCH', 'fulfilled',
       c.navigator_id, c.registered_at
  FROM cases c;

INSERT INTO patients (patient_id, issuer, name, birth_date, sex)
SELECT 'MRN' || c.id, 'BENCH', c.patient_name, c.birth_date, c.sex FROM cases c;
INSERT INTO studies (study_uid, patient_id, study_date, description)
SELECT '1.2.826.0.1.3680043.10.1000.' || c.id, p.id, '20260101', 'MR brain'
  FROM cases c JOIN patients p ON p.patient_id = 'MRN' || c.id AND p.issuer = 'BENCH';
INSERT INTO series (series_uid, study_id, modality, series_number)
SELECT s.study_uid || '.' || n, s.id, CASE WHEN n = 4 THEN 'SR' ELSE 'MR' END, n::text
  FROM studies s, generate_series(1, 4) n;
INSERT INTO case_records (case_id, study_id, matched_by, request_id, confidence, detail, at)
SELECT c.id, s.id, 'request', q.id, 0.95, 'MRN and issuer', c.registered_at + interval '2 days'
  FROM cases c
  JOIN records_requests q ON q.case_id = c.id
  JOIN studies s ON s.study_uid = '1.2.826.0.1.3680043.10.1000.' || c.id;

INSERT INTO blobs (address, size, key_id, refcount)
SELECT sha256(int8send(n)), 540000, 'bench', 1 FROM generate_series(1, 1000000) n;
INSERT INTO instances (series_id, sop_class_uid, sop_instance_uid, instance_number,
                       transfer_syntax, size, blob_address, calling_ae, called_ae, peer_address)
SELECT e.id, '1.2.840.10008.5.1.4.1.1.4', e.series_uid || '.' || n, n::text, '1.2.840.10008.1.2.1',
       540000, sha256(int8send((e.id - first.id) * 25 + n)), 'BENCHPACS', 'CASEPORT', '127.0.0.1'
  FROM series e, (SELECT min(id) AS id FROM series) first, generate_series(1, 25) n;
COMMIT;
-- the steady state of a database in service: autovacuum has been through the bulk load
-- (hint bits set, visibility map written) and its pages are on disk, instead of a
-- vacuum of a million rows and a checkpoint of the load's WAL running while the requests
-- are measured
VACUUM ANALYZE;
CHECKPOINT;
