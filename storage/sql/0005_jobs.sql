-- A durable job queue for work that follows ingest (normalization and what comes after):
-- workers claim with FOR UPDATE SKIP LOCKED under a lease; a crashed worker's job is taken
-- over when its lease expires; a failure is retried with back-off, and after max_attempts
-- the job is dead with its reason until an operator retries it (caseport jobs --retry).
CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    instance_id  bigint REFERENCES instances (id),
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    run_after    timestamptz NOT NULL DEFAULT now(),
    lease_until  timestamptz,
    worker       text,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    done_at      timestamptz
);
CREATE INDEX jobs_ready ON jobs (run_after, id) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_instance ON jobs (instance_id);
