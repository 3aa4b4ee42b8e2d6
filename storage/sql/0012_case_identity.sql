-- The identity normalization coerces an instance to: its case's patient once its study is
-- attached to a case (Patient ID = the case token, issued by CASEPORT; the name, birth
-- date and sex the case was opened with), else the patient record it was filed under.
CREATE FUNCTION cp_target_identity(p_instance bigint, OUT patient_id text, OUT issuer text,
                                   OUT name text, OUT birth_date text, OUT sex text,
                                   OUT calling_ae text)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(c.token, p.patient_id), CASE WHEN c.id IS NULL THEN p.issuer
           ELSE 'CASEPORT' END, coalesce(c.patient_name, p.name),
           coalesce(c.birth_date, p.birth_date), coalesce(c.sex, p.sex), i.calling_ae
      FROM instances i JOIN series e ON e.id = i.series_id JOIN studies s ON s.id = e.study_id
      JOIN patients p ON p.id = s.patient_id
      LEFT JOIN case_records r ON r.study_id = s.id
      LEFT JOIN cases c ON c.id = r.case_id
     WHERE i.id = p_instance
$$;

-- Attached to a case after its instances were normalized (a navigator's triage
-- decision): they are normalized again, to the case's patient.
CREATE FUNCTION cp_renormalize_study() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO jobs (kind, instance_id)
    SELECT 'normalize', i.id FROM series e JOIN instances i ON i.series_id = e.id
     WHERE e.study_id = NEW.study_id
       AND EXISTS (SELECT 1 FROM normalized n WHERE n.instance_id = i.id);
    RETURN NEW;
END $$;
CREATE TRIGGER case_records_renormalize AFTER INSERT ON case_records
    FOR EACH ROW EXECUTE FUNCTION cp_renormalize_study();
