-- Storage Commitment (PS3.4 J): one row per N-ACTION request, with its outcome and how
-- the N-EVENT-REPORT reached the requestor. The references themselves are not kept:
-- the instances table is the record of what is stored.
CREATE TABLE commitments (
    id             bigserial PRIMARY KEY,
    transaction_uid text NOT NULL,
    calling_ae     text NOT NULL,
    peer_name      text,
    peer_address   text NOT NULL,
    requested_at   timestamptz NOT NULL,
    reported_at    timestamptz NOT NULL DEFAULT now(),
    references_n   integer NOT NULL,
    failed_n       integer NOT NULL,
    delivery       text NOT NULL,       -- same association, new association, undelivered
    outcome        text NOT NULL
);
CREATE INDEX commitments_transaction ON commitments (transaction_uid);
