/* The seeded conditions (migration 0016): each names a known subspecialty, and each
 * questionnaire uses only what the checker understands, so that no question's
 * constraint is silently skipped; and each accepts the shortest honest answer, a
 * question. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pg_test.h"
#include "questionnaire.h"
#include "store_cases.h"

static bool each(void *ud, const store_condition_t *d)
{
    int *n = ud;
    json_error_t je;
    json_t *s = json_loads(d->questionnaire_json, 0, &je);
    if (s == NULL)
        fail_msg("%s: %s", d->code, je.text);
    char where[200];
    const char *why = NULL;
    if (!questionnaire_schema_ok(s, where, sizeof where, &why))
        fail_msg("%s: %s: %s", d->code, where, why);
    json_t *a = json_pack("{s:s}", "question", "Is the diagnosis right?");
    if (!questionnaire_check(s, a, where, sizeof where, &why))
        fail_msg("%s rejects a plain question: %s: %s", d->code, where, why);
    json_t *none = json_object();
    assert_false(questionnaire_check(s, none, where, sizeof where, &why));
    assert_string_equal(where, "/question");
    json_decref(none);
    json_decref(a);
    json_decref(s);
    (*n)++;
    return true;
}

void conditions_schemas_understood(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    int n = 0;
    assert_int_equal(store_cases_conditions(pg, NULL, each, &n, NULL), CP_OK);
    assert_true(n >= 7);
    assert_int_equal(store_cases_conditions(pg, "astrology", each, &n, NULL), CP_ENOENT);
    store_pg_close(pg);
}
