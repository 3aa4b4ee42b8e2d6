/* gateway/cases/questionnaire.h -- a condition's questionnaire is a JSON Schema (draft
 * 2020-12), kept in the conditions table (migration 0016); the answers a patient or
 * navigator gives are checked against it before they are stored. Only the keywords a
 * questionnaire needs are understood, and a schema with any other keyword is refused as
 * a whole (questionnaire_schema_ok), so that no constraint is silently skipped:
 * type (object, string, integer, number, boolean, array), properties, required,
 * additionalProperties (false), enum, minimum, maximum, minLength, maxLength, pattern
 * (POSIX extended), items, maxItems; title and description are text for people.
 * Layer: gateway (cases). */
#ifndef CASEPORT_QUESTIONNAIRE_H
#define CASEPORT_QUESTIONNAIRE_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define QUESTIONNAIRE_MAX_DEPTH 8

/* false with *why (static text) and where (the JSON Pointer of the keyword) when the
 * schema uses a keyword or a value this checker does not understand. */
bool questionnaire_schema_ok(const json_t *schema, char *where, size_t cap, const char **why);
/* false with *why and where (the JSON Pointer of the first answer that fails). */
bool questionnaire_check(const json_t *schema, const json_t *answers, char *where, size_t cap,
                         const char **why);
#endif
