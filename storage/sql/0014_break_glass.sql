-- An administrator reads no clinical content, except through a break-glass grant: asked
-- for one case, with a reason, for a limited time, and audited like every read.
CREATE TABLE break_glass (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    case_id    bigint NOT NULL REFERENCES cases (id),
    reason     text NOT NULL CHECK (btrim(reason) <> ''),
    granted_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CHECK (expires_at > granted_at)
);
CREATE INDEX break_glass_active ON break_glass (account_id, case_id, expires_at);
