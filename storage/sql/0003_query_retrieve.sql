-- Query/Retrieve for reviewing physicians' workstations: which studies a pulling peer may
-- see, and an audit row for every query and retrieval (who, when, what, outcome).

-- The newest version of every SOP Instance UID: what C-FIND lists and C-GET/C-MOVE send.
CREATE VIEW current_instances AS
SELECT i.* FROM instances i
 WHERE NOT EXISTS (SELECT 1 FROM instances n
                    WHERE n.sop_instance_uid = i.sop_instance_uid AND n.version > i.version);

-- Per-peer grants of single studies ([peer] access = granted); access = all needs none.
CREATE TABLE qr_grants (
    peer       text NOT NULL,            -- a [peer] section name
    study_uid  text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (peer, study_uid)
);

CREATE TABLE qr_audit (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    operation      text NOT NULL,        -- C-FIND, C-GET, C-MOVE
    model          text NOT NULL,        -- patient root, study root
    level          text NOT NULL,        -- PATIENT, STUDY, SERIES, IMAGE (as asked)
    calling_ae     text NOT NULL,
    peer_name      text,                 -- the [peer] section, if any
    username       text,                 -- the negotiated user identity, if any
    peer_address   text NOT NULL,
    destination_ae text,                 -- C-MOVE
    access         text NOT NULL,        -- all, granted, none
    query          jsonb NOT NULL,       -- the identifier: {"ggggeeee": "value", ...}
    matches        integer NOT NULL DEFAULT 0,
    completed      integer NOT NULL DEFAULT 0,
    failed         integer NOT NULL DEFAULT 0,
    warning        integer NOT NULL DEFAULT 0,
    status         integer NOT NULL,     -- the final DIMSE status
    outcome        text NOT NULL
);
CREATE INDEX qr_audit_at ON qr_audit (at);
CREATE INDEX qr_audit_peer ON qr_audit (calling_ae, at);
