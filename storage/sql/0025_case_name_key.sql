-- The triage queue offers, for each open item, the open cases whose patient has the
-- study's name (compared as cp_name_key compares names, 0022): one index lookup an item
-- instead of cp_name_key over every case.
CREATE INDEX cases_name_key ON cases (cp_name_key(patient_name));
