-- One row per association a peer asked for (accepted or not): who, from where, with
-- which implementation, how it ended and what it carried. For PACS administrators
-- tracing a sender, and for the audit trail.
CREATE TABLE associations (
    id             bigserial PRIMARY KEY,
    started_at     timestamptz NOT NULL,
    ended_at       timestamptz NOT NULL DEFAULT now(),
    calling_ae     text NOT NULL,
    called_ae      text NOT NULL,
    peer_address   text NOT NULL,
    peer_name      text,                 -- the [peer] section it matched, if any
    impl_class_uid text NOT NULL DEFAULT '',
    impl_version   text NOT NULL DEFAULT '',
    accepted       boolean NOT NULL,
    outcome        text NOT NULL,        -- released, aborted, rejected: <why>, ...
    stored         integer NOT NULL DEFAULT 0,
    failed         integer NOT NULL DEFAULT 0,
    bytes_in       bigint NOT NULL DEFAULT 0
);
CREATE INDEX associations_calling ON associations (calling_ae, started_at);
