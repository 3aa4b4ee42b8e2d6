-- An addendum to a published opinion (issue 19, part 3): what the patient was shown stays
-- as it was; what the specialist adds later is kept beside it, dated, in order.
CREATE TABLE opinion_addenda (
    id         bigserial PRIMARY KEY,
    case_id    bigint NOT NULL REFERENCES cases (id),
    text       text NOT NULL CHECK (btrim(text) <> ''),
    written_by bigint NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX opinion_addenda_case ON opinion_addenda (case_id, id);
