-- One-time links to set a new password (issue 19, part 7): made by an administrator, or
-- by a navigator for a patient, given to the person by a safe route; the link's token is
-- 256 random bits shown once, only its SHA-256 kept, like a session's. Used once, within
-- its hours; a new link for the account replaces the unused ones.
CREATE TABLE password_resets (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    account_id bigint NOT NULL REFERENCES accounts (id),
    made_by    bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_account ON password_resets (account_id);
