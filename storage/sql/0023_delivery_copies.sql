-- 0023: delivery copies. A C-GET or C-MOVE peer that accepted no presentation context in
-- the syntax an instance is stored in gets it in Explicit VR Little Endian with native
-- pixels (gw_rewrite_native), written once into the blob store and found here the next
-- time. The stored object itself is never changed (rule 2); a copy is a blob like any
-- other (encrypted, verified by `caseport verify`), counted once in its refcount.
CREATE TABLE delivery_copies (
    source          bytea NOT NULL REFERENCES blobs (address),
    transfer_syntax text NOT NULL,
    address         bytea NOT NULL REFERENCES blobs (address),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, transfer_syntax)
);

-- Records a copy made by one node; a copy of the same source made meanwhile by another
-- is the same content (the rewrite is deterministic), so the first row stands.
CREATE FUNCTION cp_add_delivery_copy(p_source bytea, p_ts text, p_addr bytea, p_size bigint,
                                     p_key_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO blobs (address, size, key_id, refcount) VALUES (p_addr, p_size, p_key_id, 0)
    ON CONFLICT (address) DO NOTHING;
    INSERT INTO delivery_copies (source, transfer_syntax, address) VALUES (p_source, p_ts, p_addr)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        UPDATE blobs SET refcount = refcount + 1 WHERE address = p_addr;
    END IF;
END $$;
