/* storage/store_opinions.c -- a case's opinion (its text and PDF), the requests to send
 * it to the patient's doctor, the records requests of a case as listed, and the
 * administrators' break-glass grants, conditions and their questionnaires
 * (store_cases.h). As in store_cases.c, every write carries its audit row in the same
 * transaction (store__audited). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_cases.h"
#include "store_pg_int.h"

/* The states in which an opinion no longer changes: what the patient was shown stays. */
#define SETTLED "('opinion_published', 'closed', 'withdrawn')"

cp_err_t store_cases_opinion_put(store_pg_t *pg, int64_t case_id, const char *text,
                                 const store_addr_t *pdf, uint64_t pdf_size, const char *key_id,
                                 const store_actor_t *by, cp_errinfo_t *ei)
{
    char id[24], actor[24], size[24], hex[STORE_ADDR_HEX_LEN + 3] = "";
    snprintf(size, sizeof size, "%llu", (unsigned long long)pdf_size);
    if (pdf != NULL)
        store__bytea_hex(pdf->b, sizeof pdf->b, hex);
    const char *params[] = {store__id_param(case_id, id), text, pdf ? hex : NULL,
                            pdf ? size : NULL, pdf ? key_id : NULL, store__id_param(by->id, actor),
                            by->role, by->source};
    return store__audited_one(
        pg,
        "WITH b AS (INSERT INTO blobs (address, size, key_id, refcount)"
        "   SELECT $3::bytea, $4::bigint, $5, 0 WHERE $3::bytea IS NOT NULL"
        "   ON CONFLICT (address) DO NOTHING),"
        " o AS (INSERT INTO opinions AS o (case_id, text, pdf_blob, pdf_size, written_by)"
        "   SELECT $1::bigint, $2, $3::bytea, $4::bigint, $6::bigint FROM cases"
        "   WHERE id = $1::bigint AND state NOT IN " SETTLED
        "   ON CONFLICT (case_id) DO UPDATE SET text = EXCLUDED.text,"
        "   pdf_blob = coalesce(EXCLUDED.pdf_blob, o.pdf_blob),"
        "   pdf_size = coalesce(EXCLUDED.pdf_size, o.pdf_size),"
        "   written_by = EXCLUDED.written_by, updated_at = now() RETURNING case_id)"
        " SELECT case_id, $6::bigint, $7::text, case_id, 'opinion', 'opinion.write',"
        "   'allowed', $8::text FROM o",
        8, params, "writing an opinion", "no such case, or its opinion is published", ei);
}

typedef struct opinion_ctx {
    bool found, pdf;
} opinion_ctx_t;

static bool opinion_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    opinion_ctx_t *c = ud;
    c->found = true;
    c->pdf = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    return true;
}

cp_err_t store_cases_opinion_exists(store_pg_t *pg, int64_t case_id, bool *exists,
                                    bool *has_pdf, cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(case_id, id)};
    opinion_ctx_t c = {0};
    cp_err_t err = store__pg_stream(pg,
                                    "SELECT pdf_blob IS NOT NULL FROM opinions"
                                    " WHERE case_id = $1::bigint",
                                    1, params, "finding an opinion", opinion_row, &c, ei);
    *exists = c.found;
    if (has_pdf != NULL)
        *has_pdf = c.pdf;
    return err;
}

cp_err_t store_cases_outbound_add(store_pg_t *pg, int64_t case_id, const char *recipient,
                                  const char *fax, const char *email, const store_actor_t *by,
                                  int64_t *id, cp_errinfo_t *ei)
{
    char cid[24], actor[24];
    const char *params[] = {store__id_param(case_id, cid), recipient, fax ? fax : "",
                            email ? email : "", store__id_param(by->id, actor), by->role,
                            by->source};
    store__first_t c = {0};
    cp_err_t err = store__audited(
        pg,
        "WITH q AS (INSERT INTO outbound_requests (case_id, what, recipient, fax, email,"
        "   requested_by) VALUES ($1::bigint, 'opinion', $2, $3, $4, $5::bigint) RETURNING id)"
        " SELECT id, $5::bigint, $6::text, $1::bigint, 'outbound ' || id,"
        "   'opinion.send_request', 'allowed', $7::text FROM q",
        7, params, "recording a request to send the opinion", store__first_row, &c, ei);
    if (err == CP_OK && id != NULL)
        *id = c.id;
    return err;
}

cp_err_t store_cases_addendum_add(store_pg_t *pg, int64_t case_id, const char *text,
                                  const store_actor_t *by, cp_errinfo_t *ei)
{
    char id[24], actor[24];
    const char *params[] = {store__id_param(case_id, id), text, store__id_param(by->id, actor),
                            by->role, by->source};
    return store__audited_one(
        pg,
        "WITH a AS (INSERT INTO opinion_addenda (case_id, text, written_by)"
        "   SELECT id, $2, $3::bigint FROM cases WHERE id = $1::bigint"
        "   AND state IN ('opinion_published', 'closed') RETURNING id)"
        " SELECT id, $3::bigint, $4::text, $1::bigint, 'addendum ' || id, 'opinion.addendum',"
        "   'allowed', $5::text FROM a",
        5, params, "adding to an opinion", "no such case, or its opinion is not published", ei);
}

typedef struct addenda_ctx {
    store_addendum_cb cb;
    void *ud;
} addenda_ctx_t;

static bool addendum_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    addenda_ctx_t *c = ud;
    store_addendum_row_t a = {PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2)};
    return c->cb(c->ud, &a);
}

cp_err_t store_cases_addenda(store_pg_t *pg, int64_t case_id, store_addendum_cb cb, void *ud,
                             cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(case_id, id)};
    addenda_ctx_t c = {cb, ud};
    return store__pg_stream(pg,
                            "SELECT d.text, a.username,"
                            " to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                            " FROM opinion_addenda d JOIN accounts a ON a.id = d.written_by"
                            " WHERE d.case_id = $1::bigint ORDER BY d.id",
                            1, params, "reading an opinion's addenda", addendum_row, &c, ei);
}

typedef struct outbound_ctx {
    store_outbound_cb cb;
    void *ud;
} outbound_ctx_t;

static bool outbound_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    outbound_ctx_t *c = ud;
    store_outbound_row_t o = {strtoll(PQgetvalue(r, 0, 0), NULL, 10), PQgetvalue(r, 0, 1),
                              PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4),
                              PQgetvalue(r, 0, 5)};
    return c->cb(c->ud, &o);
}

cp_err_t store_cases_outbound_list(store_pg_t *pg, int64_t case_id, store_outbound_cb cb,
                                   void *ud, cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(case_id, id)};
    outbound_ctx_t c = {cb, ud};
    return store__pg_stream(pg,
                            "SELECT id, recipient, fax, email, state,"
                            " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                            " FROM outbound_requests WHERE case_id = $1::bigint ORDER BY id",
                            1, params, "listing the requests to send the opinion", outbound_row, &c,
                            ei);
}

cp_err_t store_cases_opinion_pdf(store_pg_t *pg, int64_t case_id, const store_addr_t *pdf,
                                 uint64_t pdf_size, const char *key_id, const store_actor_t *by,
                                 cp_errinfo_t *ei)
{
    char id[24], actor[24], size[24], hex[STORE_ADDR_HEX_LEN + 3];
    snprintf(size, sizeof size, "%llu", (unsigned long long)pdf_size);
    store__bytea_hex(pdf->b, sizeof pdf->b, hex);
    const char *params[] = {store__id_param(case_id, id), hex, size, key_id,
                            store__id_param(by->id, actor), by->role, by->source};
    return store__audited_one(
        pg,
        "WITH b AS (INSERT INTO blobs (address, size, key_id, refcount)"
        "   VALUES ($2::bytea, $3::bigint, $4, 0) ON CONFLICT (address) DO NOTHING),"
        " o AS (UPDATE opinions SET pdf_blob = $2::bytea, pdf_size = $3::bigint,"
        "   written_by = $5::bigint, updated_at = now() WHERE case_id = $1::bigint"
        "   AND case_id IN (SELECT id FROM cases WHERE state NOT IN " SETTLED ")"
        "   RETURNING case_id)"
        " SELECT case_id, $5::bigint, $6::text, case_id, 'opinion', 'opinion.pdf',"
        "   'allowed', $7::text FROM o",
        7, params, "attaching an opinion's PDF",
        "the opinion has no text yet, or it is published", ei);
}

typedef struct get_ctx {
    store_opinion_t *o;
    bool found;
} get_ctx_t;

static bool get_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    get_ctx_t *c = ud;
    store_opinion_t *o = c->o;
    c->found = true;
    o->text = strdup(PQgetvalue(r, 0, 0));
    if (o->text == NULL) {
        *err = cp_fail(ei, CP_ENOMEM, 0, "out of memory for an opinion");
        return false;
    }
    o->has_pdf = !PQgetisnull(r, 0, 1);
    if (o->has_pdf && store_addr_from_hex(PQgetvalue(r, 0, 1), &o->pdf) != CP_OK) {
        *err = cp_fail(ei, CP_EPARSE, 0, "an opinion's PDF address is malformed");
        return false;
    }
    o->pdf_size = (uint64_t)store__num(r, 2);
    snprintf(o->written_by, sizeof o->written_by, "%s", PQgetvalue(r, 0, 3));
    snprintf(o->updated_at, sizeof o->updated_at, "%s", PQgetvalue(r, 0, 4));
    return true;
}

cp_err_t store_cases_opinion_get(store_pg_t *pg, int64_t case_id, store_opinion_t *out,
                                 cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(case_id, id)};
    *out = (store_opinion_t){0};
    get_ctx_t c = {out, false};
    cp_err_t err = store__pg_stream(
        pg,
        "SELECT o.text, encode(o.pdf_blob, 'hex'), o.pdf_size, a.username,"
        " to_char(o.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        " FROM opinions o JOIN accounts a ON a.id = o.written_by WHERE o.case_id = $1::bigint",
        1, params, "reading an opinion", get_row, &c, ei);
    if (err == CP_OK && !c.found)
        return cp_fail(ei, CP_ENOENT, 0, "no opinion is written yet");
    if (err != CP_OK)
        store_opinion_free(out);
    return err;
}

void store_opinion_free(store_opinion_t *o)
{
    free(o->text);
    o->text = NULL;
}

/* ---- records requests, as a case lists them ---- */

typedef struct request_ctx {
    store_request_cb cb;
    void *ud;
} request_ctx_t;

static bool request_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    request_ctx_t *c = ud;
    store_request_row_t q = {.id = store__num(r, 0)};
    const char **f[] = {&q.provider, &q.ae_title, &q.fax, &q.email, &q.patient_id,
                        &q.issuer, &q.state, &q.created_at};
    for (int i = 0; i < 8; i++)
        *f[i] = PQgetvalue(r, 0, i + 1);
    q.records = store__num(r, 9);
    q.patient_name = PQgetvalue(r, 0, 10);
    q.birth_date = PQgetvalue(r, 0, 11);
    return c->cb(c->ud, &q);
}

cp_err_t store_cases_requests(store_pg_t *pg, int64_t case_id, store_request_cb cb, void *ud,
                              cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(case_id, id)};
    request_ctx_t c = {cb, ud};
    return store__pg_stream(
        pg,
        "SELECT q.id, q.provider, q.ae_title, q.fax, q.email, q.patient_id, q.issuer, q.state,"
        " to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " (SELECT count(*) FROM case_records r WHERE r.request_id = q.id), q.patient_name,"
        " q.birth_date FROM records_requests q WHERE q.case_id = $1::bigint ORDER BY q.id",
        1, params, "listing a case's records requests", request_row, &c, ei);
}

/* ---- break-glass ---- */

cp_err_t store_cases_break_glass(store_pg_t *pg, int64_t case_id, const char *reason,
                                 int minutes, const store_actor_t *by, cp_errinfo_t *ei)
{
    char id[24], actor[24], mins[16];
    if (minutes < 1 || minutes > 24 * 60)
        return cp_fail(ei, CP_EINVAL, 0, "a break-glass grant lasts 1 minute to 24 hours");
    snprintf(mins, sizeof mins, "%d", minutes);
    const char *params[] = {store__id_param(case_id, id), reason, mins,
                            store__id_param(by->id, actor), by->role, by->source};
    return store__audited_one(
        pg,
        "WITH g AS (INSERT INTO break_glass (account_id, case_id, reason, expires_at)"
        "   SELECT $4::bigint, id, $2, now() + make_interval(mins => $3::int) FROM cases"
        "   WHERE id = $1::bigint RETURNING id)"
        " SELECT id, $4::bigint, $5::text, $1::bigint, 'break-glass ' || id,"
        "   'case.break_glass', 'allowed', $6::text FROM g",
        6, params, "granting a break-glass read", "no such case", ei);
}

cp_err_t store_cases_break_glass_active(store_pg_t *pg, int64_t case_id, int64_t account_id,
                                        bool *active, cp_errinfo_t *ei)
{
    char id[24], acc[24];
    const char *params[] = {store__id_param(case_id, id), store__id_param(account_id, acc)};
    int n = 0;
    cp_err_t err = store__pg_stream(pg,
                                    "SELECT 1 FROM break_glass WHERE case_id = $1::bigint"
                                    " AND account_id = $2::bigint AND expires_at > now()"
                                    " LIMIT 1",
                                    2, params, "looking for a break-glass grant",
                                    store__count_row, &n, ei);
    *active = n > 0;
    return err;
}

/* ---- conditions and questionnaires ---- */

typedef struct condition_ctx {
    store_condition_cb cb;
    void *ud;
    bool found;
} condition_ctx_t;

static bool condition_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    condition_ctx_t *c = ud;
    c->found = true;
    store_condition_t x = {PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
                           PQgetvalue(r, 0, 3)};
    return c->cb(c->ud, &x);
}

cp_err_t store_cases_conditions(store_pg_t *pg, const char *code, store_condition_cb cb,
                                void *ud, cp_errinfo_t *ei)
{
    const char *params[] = {code};
    condition_ctx_t c = {cb, ud, false};
    cp_err_t err = store__pg_stream(pg,
                                    "SELECT code, name, subspecialty, questionnaire::text"
                                    " FROM conditions WHERE $1::text IS NULL OR code = $1"
                                    " ORDER BY code",
                                    1, params, "listing conditions", condition_row, &c, ei);
    if (err == CP_OK && code != NULL && !c.found)
        return cp_fail(ei, CP_ENOENT, 0, "no condition %s", code);
    return err;
}

static bool subspecialty_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    condition_ctx_t *c = ud;
    store_condition_t x = {PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), "", "{}"};
    return c->cb(c->ud, &x);
}

cp_err_t store_cases_subspecialties(store_pg_t *pg, store_condition_cb cb, void *ud,
                                    cp_errinfo_t *ei)
{
    condition_ctx_t c = {cb, ud, false};
    return store__pg_stream(pg, "SELECT code, name FROM subspecialties ORDER BY name", 0, NULL,
                            "listing subspecialties", subspecialty_row, &c, ei);
}

typedef struct answers_ctx {
    char *schema, *answers;
} answers_ctx_t;

static bool answers_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    answers_ctx_t *c = ud;
    c->schema = strdup(PQgetvalue(r, 0, 0));
    c->answers = strdup(PQgetvalue(r, 0, 1));
    if (c->schema == NULL || c->answers == NULL)
        *err = cp_fail(ei, CP_ENOMEM, 0, "out of memory for a questionnaire");
    return *err == CP_OK;
}

cp_err_t store_cases_questionnaire(store_pg_t *pg, int64_t case_id, char **schema_json,
                                   char **answers_json, cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(case_id, id)};
    answers_ctx_t c = {NULL, NULL};
    cp_err_t err = store__pg_stream(pg,
                                    "SELECT coalesce(d.questionnaire::text, ''),"
                                    " c.questionnaire::text FROM cases c"
                                    " LEFT JOIN conditions d ON d.code = c.condition_code"
                                    " WHERE c.id = $1::bigint",
                                    1, params, "reading a questionnaire", answers_row, &c, ei);
    if (err == CP_OK && c.schema == NULL)
        err = cp_fail(ei, CP_ENOENT, 0, "no such case");
    if (err != CP_OK) {
        free(c.schema);
        free(c.answers);
        c.schema = c.answers = NULL;
    }
    *schema_json = c.schema;
    *answers_json = c.answers;
    return err;
}

cp_err_t store_cases_answers_put(store_pg_t *pg, int64_t case_id, const char *answers_json,
                                 const store_actor_t *by, cp_errinfo_t *ei)
{
    char id[24], actor[24];
    const char *params[] = {store__id_param(case_id, id), answers_json,
                            store__id_param(by->id, actor), by->role, by->source};
    return store__audited_one(
        pg,
        "WITH c AS (UPDATE cases SET questionnaire = $2::jsonb, updated_at = now()"
        "   WHERE id = $1::bigint AND state NOT IN " SETTLED " RETURNING id)"
        " SELECT id, $3::bigint, $4::text, id, 'questionnaire', 'questionnaire.answer',"
        "   'allowed', $5::text FROM c",
        5, params, "answering a questionnaire", "no such case, or it is settled", ei);
}
