-- Conditions a second opinion is asked for, each with its subspecialty and its
-- questionnaire: a JSON Schema of the questions the patient (or the navigator for them)
-- answers when the case is opened or later (gateway/cases/questionnaire.h says which
-- keywords are understood; the unit test pg.conditions_schemas_understood checks every
-- seeded one). A case names its condition in condition_code; the free-text condition
-- stays as the navigator wrote it.
CREATE TABLE conditions (
    code          text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9-]*$'),
    name          text NOT NULL,
    subspecialty  text NOT NULL REFERENCES subspecialties (code),
    -- json, not jsonb: the questions keep the order they are written in
    questionnaire json NOT NULL CHECK (json_typeof(questionnaire) = 'object')
);
ALTER TABLE cases ADD COLUMN condition_code text REFERENCES conditions (code);

INSERT INTO conditions (code, name, subspecialty, questionnaire) VALUES
('glioma', 'Glioma and other brain tumours', 'neuro-oncology', $json${
  "type": "object", "additionalProperties": false, "required": ["question"],
  "properties": {
    "question": {"type": "string", "minLength": 1, "maxLength": 4000,
                 "title": "What would you like the specialist to answer?"},
    "diagnosis_date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                       "title": "When was the tumour diagnosed? (YYYY-MM-DD)"},
    "who_grade": {"type": "integer", "enum": [1, 2, 3, 4], "title": "WHO grade, if known"},
    "idh": {"type": "string", "enum": ["mutant", "wildtype", "unknown"], "title": "IDH status"},
    "treatments": {"type": "array", "maxItems": 6, "title": "Treatments so far",
                   "items": {"type": "string",
                             "enum": ["surgery", "radiotherapy", "chemotherapy", "trial", "none"]}},
    "karnofsky": {"type": "integer", "minimum": 0, "maximum": 100,
                  "title": "Karnofsky performance status"},
    "seizures": {"type": "boolean", "title": "Seizures since the diagnosis?"}
  }}$json$),
('breast-cancer', 'Breast cancer and breast imaging findings', 'breast-imaging', $json${
  "type": "object", "additionalProperties": false, "required": ["question"],
  "properties": {
    "question": {"type": "string", "minLength": 1, "maxLength": 4000,
                 "title": "What would you like the specialist to answer?"},
    "birads": {"type": "integer", "minimum": 0, "maximum": 6, "title": "BI-RADS category"},
    "biopsy_done": {"type": "boolean", "title": "Has a biopsy been done?"},
    "receptors": {"type": "object", "additionalProperties": false, "title": "Receptor status",
                  "properties": {
                    "er": {"type": "string", "enum": ["positive", "negative", "unknown"]},
                    "pr": {"type": "string", "enum": ["positive", "negative", "unknown"]},
                    "her2": {"type": "string", "enum": ["positive", "low", "negative", "unknown"]}}},
    "family_history": {"type": "boolean", "title": "Breast or ovarian cancer in the family?"}
  }}$json$),
('dementia', 'Memory loss and dementia', 'dementia', $json${
  "type": "object", "additionalProperties": false, "required": ["question"],
  "properties": {
    "question": {"type": "string", "minLength": 1, "maxLength": 4000,
                 "title": "What would you like the specialist to answer?"},
    "onset_year": {"type": "integer", "minimum": 1900, "maximum": 2100,
                   "title": "When did the first symptoms appear?"},
    "mmse": {"type": "integer", "minimum": 0, "maximum": 30, "title": "Latest MMSE score"},
    "moca": {"type": "integer", "minimum": 0, "maximum": 30, "title": "Latest MoCA score"},
    "caregiver": {"type": "boolean", "title": "Does a caregiver help with daily life?"},
    "medications": {"type": "array", "maxItems": 30, "title": "Current medications",
                    "items": {"type": "string", "minLength": 1, "maxLength": 200}}
  }}$json$),
('multiple-sclerosis', 'Multiple sclerosis', 'multiple-sclerosis', $json${
  "type": "object", "additionalProperties": false, "required": ["question"],
  "properties": {
    "question": {"type": "string", "minLength": 1, "maxLength": 4000,
                 "title": "What would you like the specialist to answer?"},
    "course": {"type": "string",
               "enum": ["relapsing-remitting", "secondary-progressive", "primary-progressive",
                        "clinically-isolated", "unknown"], "title": "Course of the disease"},
    "edss": {"type": "number", "minimum": 0, "maximum": 10, "title": "Latest EDSS"},
    "relapses_last_year": {"type": "integer", "minimum": 0, "maximum": 50},
    "therapy": {"type": "string", "maxLength": 200, "title": "Current disease-modifying therapy"},
    "new_lesions": {"type": "boolean", "title": "New lesions on the latest MRI?"}
  }}$json$),
('parkinsonism', 'Parkinson''s disease and other movement disorders', 'movement-disorders', $json${
  "type": "object", "additionalProperties": false, "required": ["question"],
  "properties": {
    "question": {"type": "string", "minLength": 1, "maxLength": 4000,
                 "title": "What would you like the specialist to answer?"},
    "onset_year": {"type": "integer", "minimum": 1900, "maximum": 2100},
    "hoehn_yahr": {"type": "number", "minimum": 1, "maximum": 5, "title": "Hoehn and Yahr stage"},
    "levodopa_response": {"type": "string", "enum": ["good", "partial", "none", "not-tried"]},
    "falls": {"type": "boolean", "title": "Falls in the last year?"}
  }}$json$),
('lung-cancer', 'Lung cancer and lung nodules', 'thoracic-oncology', $json${
  "type": "object", "additionalProperties": false, "required": ["question"],
  "properties": {
    "question": {"type": "string", "minLength": 1, "maxLength": 4000,
                 "title": "What would you like the specialist to answer?"},
    "stage": {"type": "string", "enum": ["IA", "IB", "IIA", "IIB", "IIIA", "IIIB", "IIIC",
                                         "IVA", "IVB", "unknown"]},
    "pack_years": {"type": "number", "minimum": 0, "maximum": 300, "title": "Pack-years smoked"},
    "markers": {"type": "array", "maxItems": 10, "title": "Driver mutations found",
                "items": {"type": "string", "enum": ["EGFR", "ALK", "ROS1", "KRAS", "BRAF",
                                                     "MET", "RET", "NTRK", "HER2", "none"]}}
  }}$json$),
('other', 'Another condition', 'neuroradiology', $json${
  "type": "object", "additionalProperties": false, "required": ["question"],
  "properties": {
    "question": {"type": "string", "minLength": 1, "maxLength": 4000,
                 "title": "What would you like the specialist to answer?"},
    "history": {"type": "string", "maxLength": 8000, "title": "Your history, in your words"}
  }}$json$);
