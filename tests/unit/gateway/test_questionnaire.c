/* Questionnaire answers against a schema, keyword by keyword, with the JSON Pointer of
 * the first answer that fails; schemas with keywords the checker does not know refused
 * as a whole. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "questionnaire.h"

static const char schema_text[] =
    "{\"type\": \"object\", \"additionalProperties\": false, \"required\": [\"question\"],"
    " \"properties\": {"
    "  \"question\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 10},"
    "  \"date\": {\"type\": \"string\", \"pattern\": \"^[0-9]{4}-[0-9]{2}-[0-9]{2}$\"},"
    "  \"grade\": {\"type\": \"integer\", \"enum\": [1, 2, 3, 4]},"
    "  \"score\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 10},"
    "  \"seizures\": {\"type\": \"boolean\"},"
    "  \"a/b\": {\"type\": \"string\"},"
    "  \"treatments\": {\"type\": \"array\", \"maxItems\": 2,"
    "                  \"items\": {\"type\": \"string\", \"enum\": [\"surgery\", \"trial\"]}},"
    "  \"receptors\": {\"type\": \"object\", \"additionalProperties\": false,"
    "                 \"properties\": {\"er\": {\"type\": \"string\","
    "                                          \"enum\": [\"positive\", \"negative\"]}}}}}";

/* "" when the answers fit, else "where: why" */
static const char *verdict(const char *answers)
{
    static char out[300];
    json_error_t je;
    json_t *s = json_loads(schema_text, 0, &je), *a = json_loads(answers, 0, &je);
    assert_non_null(s);
    assert_non_null(a);
    char where[200];
    const char *why = NULL;
    bool ok = questionnaire_check(s, a, where, sizeof where, &why);
    snprintf(out, sizeof out, "%s%s%s", ok ? "" : where, ok ? "" : ": ", ok ? "" : why);
    json_decref(s);
    json_decref(a);
    return out;
}

void questionnaire_answers_checked(void **state)
{
    (void)state;
    assert_string_equal(verdict("{\"question\": \"why?\"}"), "");
    assert_string_equal(verdict("{\"question\": \"why?\", \"date\": \"2026-01-31\", \"grade\": 4,"
                                " \"score\": 7.5, \"seizures\": false, \"a/b\": \"x\","
                                " \"treatments\": [\"surgery\", \"trial\"],"
                                " \"receptors\": {\"er\": \"negative\"}}"),
                        "");
    assert_string_equal(verdict("{\"question\": \"why?\", \"grade\": 2.0}"), ""); /* 2.0: 2 */
    assert_string_equal(verdict("{}"), "/question: required, and missing");
    assert_string_equal(verdict("[]"), ": of the wrong type");
    assert_string_equal(verdict("{\"question\": \"\"}"), "/question: too short");
    /* ten code points, not bytes: é is two bytes */
    assert_string_equal(verdict("{\"question\": \"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
                                "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}"),
                        "");
    assert_string_equal(verdict("{\"question\": \"12345678901\"}"), "/question: too long");
    assert_string_equal(verdict("{\"question\": \"q\", \"date\": \"31.01.2026\"}"),
                        "/date: not in the form asked for");
    assert_string_equal(verdict("{\"question\": \"q\", \"grade\": 5}"),
                        "/grade: not one of the choices");
    assert_string_equal(verdict("{\"question\": \"q\", \"grade\": \"4\"}"),
                        "/grade: of the wrong type");
    assert_string_equal(verdict("{\"question\": \"q\", \"score\": 10.5}"), "/score: out of range");
    assert_string_equal(verdict("{\"question\": \"q\", \"score\": -1}"), "/score: out of range");
    assert_string_equal(verdict("{\"question\": \"q\", \"seizures\": 1}"),
                        "/seizures: of the wrong type");
    assert_string_equal(verdict("{\"question\": \"q\", \"a/b\": 1}"), "/a~1b: of the wrong type");
    assert_string_equal(verdict("{\"question\": \"q\", \"weight\": 80}"),
                        "/weight: not a question of this questionnaire");
    assert_string_equal(verdict("{\"question\": \"q\", \"treatments\": [\"surgery\", \"x\"]}"),
                        "/treatments/1: not one of the choices");
    assert_string_equal(verdict("{\"question\": \"q\", \"treatments\": [\"trial\", \"trial\","
                                " \"trial\"]}"),
                        "/treatments: too many items");
    assert_string_equal(verdict("{\"question\": \"q\", \"receptors\": {\"pr\": \"positive\"}}"),
                        "/receptors/pr: not a question of this questionnaire");
}

static const char *schema_verdict(const char *text)
{
    static char out[300];
    json_error_t je;
    json_t *s = json_loads(text, 0, &je);
    assert_non_null(s);
    char where[200];
    const char *why = NULL;
    bool ok = questionnaire_schema_ok(s, where, sizeof where, &why);
    snprintf(out, sizeof out, "%s%s%s", ok ? "" : where, ok ? "" : ": ", ok ? "" : why);
    json_decref(s);
    return out;
}

void questionnaire_schema_keywords_known(void **state)
{
    (void)state;
    assert_string_equal(schema_verdict(schema_text), "");
    assert_string_equal(schema_verdict("{\"type\": \"object\", \"properties\": {\"x\":"
                                       " {\"oneOf\": [{\"type\": \"string\"}]}}}"),
                        "/properties/x/oneOf: a keyword this checker does not understand");
    assert_string_equal(schema_verdict("{\"type\": \"date\"}"),
                        "/type: a keyword's value has the wrong form");
    assert_string_equal(schema_verdict("{\"pattern\": \"(\"}"),
                        "/pattern: a keyword's value has the wrong form");
    assert_string_equal(schema_verdict("{\"additionalProperties\": true}"),
                        "/additionalProperties: a keyword's value has the wrong form");
    assert_string_equal(schema_verdict("{\"required\": [1]}"),
                        "/required: a keyword's value has the wrong form");
    /* nine levels of items: deeper than a questionnaire needs */
    assert_string_equal(schema_verdict("{\"items\": {\"items\": {\"items\": {\"items\": {\"items\":"
                                       " {\"items\": {\"items\": {\"items\": {\"items\": {}}}}}}}}}}"),
                        "/items/items/items/items/items/items/items/items/items: nested too deeply");
}
