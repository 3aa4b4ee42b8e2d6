-- What an administrator looks at (issue 19, part 6): when each account last signed in,
-- and the audit trail of one account (what it did, and what was done to it) read by index.
ALTER TABLE accounts ADD COLUMN last_sign_in_at timestamptz;
CREATE INDEX audit_actor ON audit (actor_id, seq);
CREATE INDEX audit_account_object ON audit (object, seq) WHERE object LIKE 'account %';
