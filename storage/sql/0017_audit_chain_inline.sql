-- The chain's trigger (0010) built each row's text by calling SQL functions, which a
-- PL/pgSQL trigger plans again at every call: under the API's load that was a fifth of
-- PostgreSQL's CPU. The same text, byte for byte (cp_audit_text is kept, and the unit
-- tests' verify recomputes it in C), written as PL/pgSQL expressions, planned once.
CREATE OR REPLACE FUNCTION cp_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    h audit_head;
    f text[];
    t text := '';
BEGIN
    SELECT * INTO h FROM audit_head FOR UPDATE; -- one appender at a time
    NEW.seq := h.seq + 1;
    NEW.prev_hash := h.hash;
    NEW.at := date_trunc('microseconds', NEW.at);
    f := ARRAY[to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               coalesce(NEW.actor_id::text, ''), coalesce(NEW.role, ''),
               coalesce(NEW.case_id::text, ''), coalesce(NEW.object, ''),
               coalesce(NEW.action, ''), coalesce(NEW.outcome, ''), coalesce(NEW.source, '')];
    FOR i IN 1 .. 8 LOOP
        t := t || octet_length(f[i]) || ':' || f[i];
    END LOOP;
    NEW.hash := sha256(convert_to('caseport-audit-v1|' || NEW.seq || '|'
                                  || encode(NEW.prev_hash, 'hex') || '|' || t, 'UTF8'));
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END $$;
