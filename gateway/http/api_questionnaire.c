/* gateway/http/api_questionnaire.c -- the API's conditions and their questionnaires: the
 * list of conditions with their JSON Schemas, and a case's answers read and written by
 * its patient or navigator, each checked against its condition's schema (api_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "questionnaire.h"

/* Answered 400 (with where and why) unless answers fit the schema. */
static bool answers_fit(call_t *c, const char *schema_json, const json_t *answers)
{
    json_error_t je;
    json_t *schema = json_loads(schema_json, 0, &je);
    char where[256], msg[400];
    const char *why = "the questionnaire cannot be read";
    bool ok = schema != NULL && questionnaire_check(schema, answers, where, sizeof where, &why);
    json_decref(schema);
    if (!ok) {
        snprintf(msg, sizeof msg, "%s: %s", where[0] ? where : "(the answers)", why);
        api_error(c, 400, "invalid_answers", msg);
    }
    return ok;
}

typedef struct one_condition {
    char subspecialty[64];
    char *schema;
} one_condition_t;

static bool take_condition(void *ud, const store_condition_t *d)
{
    one_condition_t *o = ud;
    snprintf(o->subspecialty, sizeof o->subspecialty, "%s", d->subspecialty);
    o->schema = strdup(d->questionnaire_json);
    return o->schema != NULL;
}

bool api_case_condition(call_t *c, store_case_new_t *n, const json_t *answers, char sub[64],
                        char **text)
{
    *text = NULL;
    if (n->condition_code == NULL)
        return true;
    one_condition_t o = {"", NULL};
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_conditions(c->ctx->pg, n->condition_code, take_condition, &o, &ei);
    bool ok = err == CP_OK && o.schema != NULL;
    if (err == CP_ENOENT)
        api_error(c, 400, "unknown_condition", "no such condition (GET /api/v1/conditions)");
    else if (!ok)
        api_unavailable(c);
    if (ok && answers != NULL && (ok = answers_fit(c, o.schema, answers)))
        *text = json_dumps(answers, JSON_COMPACT);
    free(o.schema);
    if (ok && n->subspecialty == NULL) { /* the condition's, unless the navigator chose */
        snprintf(sub, 64, "%s", o.subspecialty);
        n->subspecialty = sub;
    }
    n->questionnaire_json = *text;
    return ok;
}

static bool condition_json(void *ud, const store_condition_t *d)
{
    json_error_t je;
    json_array_append_new(ud, json_pack("{s:s,s:s,s:s,s:o}", "code", d->code, "name", d->name,
                                        "subspecialty", d->subspecialty, "questionnaire",
                                        json_loads(d->questionnaire_json, 0, &je)));
    return true;
}

/* Every condition with its questionnaire: what a case may be opened for. */
void api_conditions(call_t *c)
{
    json_t *items = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_conditions(c->ctx->pg, NULL, condition_json, items, &ei) != CP_OK) {
        json_decref(items);
        api_unavailable(c);
        return;
    }
    api_reply(c, 200, json_pack("{s:o}", "conditions", items));
}

static bool subspecialty_json(void *ud, const store_condition_t *d)
{
    json_array_append_new(ud, json_pack("{s:s,s:s}", "code", d->code, "name", d->name));
    return true;
}

/* The subspecialties a case (or a specialist) may have. */
void api_subspecialties(call_t *c)
{
    json_t *items = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_subspecialties(c->ctx->pg, subspecialty_json, items, &ei) != CP_OK) {
        json_decref(items);
        api_unavailable(c);
        return;
    }
    api_reply(c, 200, json_pack("{s:o}", "subspecialties", items));
}

/* The case's questionnaire and its answers so far (every reader of the case). */
void api_get_questionnaire(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r))
        return;
    char *schema = NULL, *answers = NULL;
    cp_errinfo_t ei = {0};
    if (store_cases_questionnaire(c->ctx->pg, r.id, &schema, &answers, &ei) != CP_OK) {
        api_unavailable(c);
        return;
    }
    json_error_t je;
    json_t *s = schema[0] ? json_loads(schema, 0, &je) : json_null();
    api_audit_read(c, r.id, "questionnaire", "questionnaire.read");
    api_reply(c, 200, json_pack("{s:o,s:o}", "schema", s ? s : json_null(), "answers",
                                json_loads(answers, 0, &je)));
    free(schema);
    free(answers);
}

/* The patient, or the navigator for them, answers (the body is the answers object). */
void api_put_questionnaire(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r))
        return;
    if ((c->role != CASE_ROLE_PATIENT && c->role != CASE_ROLE_NAVIGATOR) || c->glass) {
        api_audit(c, r.id, "questionnaire", "questionnaire.answer", "denied");
        api_error(c, 403, "forbidden", "the patient or the case's navigator answers");
        return;
    }
    json_t *in = api_body(c, "send the answers as a JSON object");
    if (in == NULL)
        return;
    char *schema = NULL, *answers = NULL, *text = NULL;
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_questionnaire(c->ctx->pg, r.id, &schema, &answers, &ei);
    store_actor_t by = api_actor(c);
    if (err != CP_OK)
        api_unavailable(c);
    else if (!schema[0])
        api_error(c, 409, "no_questionnaire", "the case names no condition with a questionnaire");
    else if (answers_fit(c, schema, in)) {
        text = json_dumps(in, JSON_COMPACT);
        err = store_cases_answers_put(c->ctx->pg, r.id, text, &by, &ei);
        if (err == CP_ENOENT)
            api_error(c, 409, "settled", "the case is settled: its answers no longer change");
        else if (err != CP_OK)
            api_unavailable(c);
        else
            api_reply(c, 200, json_pack("{s:s,s:O}", "token", r.token, "answers", in));
    }
    free(text);
    free(schema);
    free(answers);
    json_decref(in);
}
