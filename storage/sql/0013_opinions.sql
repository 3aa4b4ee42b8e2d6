-- The specialist's written opinion (text, and the PDF as an encrypted blob), and the
-- requests to send it to the patient's own doctor (delivered by later channels).
CREATE TABLE opinions (
    case_id    bigint PRIMARY KEY REFERENCES cases (id),
    text       text NOT NULL CHECK (btrim(text) <> ''),
    pdf_blob   bytea REFERENCES blobs (address),
    pdf_size   bigint,
    written_by bigint NOT NULL REFERENCES accounts (id),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE outbound_requests (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    what         text NOT NULL CHECK (what IN ('opinion')),
    recipient    text NOT NULL CHECK (btrim(recipient) <> ''),
    fax          text NOT NULL DEFAULT '',
    email        text NOT NULL DEFAULT '',
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    requested_by bigint NOT NULL REFERENCES accounts (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (fax <> '' OR email <> '')
);
CREATE INDEX outbound_requests_case ON outbound_requests (case_id);

-- An opinion's PDF holds a blob reference; a PDF replaced gives its reference back.
CREATE FUNCTION cp_opinion_pdf_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_blob bytea := CASE WHEN TG_OP = 'UPDATE' THEN OLD.pdf_blob END;
BEGIN
    IF NEW.pdf_blob IS NOT NULL AND NEW.pdf_blob IS DISTINCT FROM old_blob THEN
        UPDATE blobs SET refcount = refcount + 1 WHERE address = NEW.pdf_blob;
    END IF;
    IF old_blob IS NOT NULL AND NEW.pdf_blob IS DISTINCT FROM old_blob THEN
        UPDATE blobs SET refcount = refcount - 1 WHERE address = old_blob;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER opinions_pdf_changed AFTER INSERT OR UPDATE ON opinions
    FOR EACH ROW EXECUTE FUNCTION cp_opinion_pdf_changed();
