/* storage/store_cases.c -- accounts and cases (store_cases.h). Every write of a case
 * carries its audit row: the statement returns the row's fields as its last seven
 * columns, and store__audited chains and keys it in the same transaction, so neither is
 * ever committed without the other. */
#include "store_cases.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"
#include "store_pg_int.h"

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

cp_err_t store_cases_account_add(store_pg_t *pg, const store_account_t *a,
                                 const char *subspecialties, const store_actor_t *by,
                                 int64_t *id, cp_errinfo_t *ei)
{
    char actor[24];
    const char *params[] = {a->username, a->display_name, a->role, a->password_hash,
                            subspecialties ? subspecialties : "", store__id_param(by->id, actor),
                            by->role, by->source};
    store__first_t c = {0};
    cp_err_t err = store__audited(
        pg,
        "WITH n AS (INSERT INTO accounts (username, display_name, role, password_hash)"
        "   VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING RETURNING id),"
        " s AS (INSERT INTO account_subspecialties (account_id, code)"
        "   SELECT n.id, btrim(x) FROM n, unnest(string_to_array($5, ',')) x"
        "   WHERE btrim(x) <> '')"
        " SELECT id, $6::bigint, $7::text, NULL::bigint, 'account ' || n.id, 'account.create',"
        "   'allowed', $8::text FROM n",
        8, params, "adding an account", store__first_row, &c, ei);
    if (err == CP_OK && !c.found)
        return cp_fail(ei, CP_EEXIST, 0, "the username %s is taken", a->username);
    if (err == CP_OK && id != NULL)
        *id = c.id;
    return err;
}

typedef struct account_ctx {
    bool found;
    store_account_t *a;
} account_ctx_t;

static bool account_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    account_ctx_t *c = ud;
    c->found = true;
    c->a->id = store__num(r, 0);
    copy(c->a->username, sizeof c->a->username, PQgetvalue(r, 0, 1));
    copy(c->a->display_name, sizeof c->a->display_name, PQgetvalue(r, 0, 2));
    copy(c->a->role, sizeof c->a->role, PQgetvalue(r, 0, 3));
    copy(c->a->password_hash, sizeof c->a->password_hash, PQgetvalue(r, 0, 4));
    c->a->disabled = strcmp(PQgetvalue(r, 0, 5), "t") == 0;
    return true;
}

cp_err_t store_cases_account_get(store_pg_t *pg, const char *username, store_account_t *out,
                                 cp_errinfo_t *ei)
{
    const char *params[] = {username};
    account_ctx_t c = {false, out};
    cp_err_t err = store__pg_stream(pg,
                                    "SELECT id, username, display_name, role, password_hash,"
                                    " disabled FROM accounts WHERE username = $1",
                                    1, params, "finding an account", account_row, &c, ei);
    if (err == CP_OK && !c.found)
        return cp_fail(ei, CP_ENOENT, 0, "no account %s", username);
    return err;
}

cp_err_t store_cases_session_create(store_pg_t *pg, int64_t account_id, const uint8_t hash[32],
                                    int hours, const char *source, cp_errinfo_t *ei)
{
    char id[24], h[2 * 32 + 3], hrs[16];
    store__bytea_hex(hash, 32, h);
    snprintf(hrs, sizeof hrs, "%d", hours);
    const char *params[] = {h, store__id_param(account_id, id), hrs, source};
    return store__pg_exec(pg,
                          "WITH s AS (INSERT INTO sessions (token_hash, account_id, expires_at,"
                          "   source) VALUES ($1::bytea, $2::bigint, now() + make_interval(hours =>"
                          "   $3::integer), $4))"
                          " UPDATE accounts SET last_sign_in_at = now() WHERE id = $2::bigint",
                          4, params, "opening a session", ei);
}

cp_err_t store_cases_session_account(store_pg_t *pg, const uint8_t hash[32],
                                     store_account_t *out, cp_errinfo_t *ei)
{
    char h[2 * 32 + 3];
    store__bytea_hex(hash, 32, h);
    const char *params[] = {h};
    account_ctx_t c = {false, out};
    /* prepared, as the few statements every API request runs */
    static const store__named_t st = {
        8, "cp_api_session",
        "SELECT a.id, a.username, a.display_name, a.role, '', a.disabled FROM sessions s"
        " JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1::bytea"
        " AND s.expires_at > now() AND NOT a.disabled"};
    cp_err_t err =
        store__pg_stream_named(pg, &st, 1, params, "finding a session", account_row, &c, ei);
    if (err == CP_OK && !c.found)
        return cp_fail(ei, CP_ENOENT, 0, "no such session");
    return err;
}

cp_err_t store_cases_session_delete(store_pg_t *pg, const uint8_t hash[32], cp_errinfo_t *ei)
{
    char h[2 * 32 + 3];
    store__bytea_hex(hash, 32, h);
    const char *params[] = {h};
    return store__pg_exec(pg, "DELETE FROM sessions WHERE token_hash = $1::bytea", 1, params,
                          "closing a session", ei);
}

cp_err_t store_cases_subspecialty_known(store_pg_t *pg, const char *code, bool *known,
                                        cp_errinfo_t *ei)
{
    const char *params[] = {code};
    store__first_t c = {0};
    cp_err_t err = store__pg_stream(pg, "SELECT 1 FROM subspecialties WHERE code = $1", 1,
                                    params, "finding a subspecialty", store__first_row, &c, ei);
    *known = c.found;
    return err;
}

cp_err_t store_cases_create(store_pg_t *pg, const store_case_new_t *n, const store_actor_t *by,
                            int64_t *id, cp_errinfo_t *ei)
{
    char nav[24], pat[24], actor[24];
    const char *params[] = {n->token, n->patient_name, n->birth_date ? n->birth_date : "",
                            n->sex ? n->sex : "", n->condition,
                            n->subspecialty,
                            n->questionnaire_json ? n->questionnaire_json : "{}",
                            n->first_opinion, store__id_param(n->navigator_id, nav),
                            store__id_param(n->patient_account_id, pat),
                            store__id_param(by->id, actor), by->role, by->source,
                            n->condition_code};
    store__first_t c = {0};
    cp_err_t err = store__audited(
        pg,
        "WITH c AS (INSERT INTO cases (token, patient_name, birth_date, sex, condition,"
        "   subspecialty, questionnaire, first_opinion, navigator_id, patient_account_id,"
        "   condition_code)"
        "   VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::bigint, $10::bigint, $14)"
        "   ON CONFLICT (token) DO NOTHING RETURNING id),"
        " e AS (INSERT INTO case_events (case_id, from_state, to_state, actor_id, role, reason)"
        "   SELECT id, NULL, 'registered', $11::bigint, $12, 'case opened' FROM c)"
        " SELECT id, $11::bigint, $12, id, 'case', 'case.create', 'allowed', $13::text FROM c",
        14, params, "opening a case", store__first_row, &c, ei);
    if (err == CP_OK && !c.found)
        return cp_fail(ei, CP_EEXIST, 0, "case token %s is taken", n->token);
    if (err == CP_OK)
        *id = c.id;
    return err;
}

/* ---- reading cases ---- */

#define CASE_SELECT                                                                              \
    "SELECT c.id, c.token, c.patient_name, c.birth_date, c.sex, c.condition, c.subspecialty,"   \
    " c.state, coalesce(n.username, ''), coalesce(s.username, ''), c.navigator_id,"              \
    " c.specialist_id, c.patient_account_id, date_part('epoch', c.registered_at)::bigint,"      \
    " date_part('epoch', c.collecting_at)::bigint,"                                              \
    " date_part('epoch', c.records_done_at)::bigint,"                                            \
    " date_part('epoch', c.published_at)::bigint, date_part('epoch', c.paused_at)::bigint,"     \
    " c.paused_seconds, coalesce(c.condition_code, ''),"                                         \
    " (SELECT count(*) FROM case_records r WHERE r.case_id = c.id),"                            \
    " coalesce(n.display_name, ''), coalesce(s.display_name, ''),"                              \
    " coalesce((SELECT a.username FROM accounts a WHERE a.id = c.patient_account_id), '')"
#define CASE_FROM                                                                                \
    " FROM cases c LEFT JOIN accounts n ON n.id = c.navigator_id"                                \
    " LEFT JOIN accounts s ON s.id = c.specialist_id"
#define CASE_COLUMNS CASE_SELECT CASE_FROM

/* Row i of r */
static void case_from(PGresult *r, int i, store_case_row_t *o)
{
    memset(o, 0, sizeof *o);
    o->id = store__num_at(r, i, 0);
    copy(o->token, sizeof o->token, PQgetvalue(r, i, 1));
    copy(o->patient_name, sizeof o->patient_name, PQgetvalue(r, i, 2));
    copy(o->birth_date, sizeof o->birth_date, PQgetvalue(r, i, 3));
    copy(o->sex, sizeof o->sex, PQgetvalue(r, i, 4));
    copy(o->condition, sizeof o->condition, PQgetvalue(r, i, 5));
    copy(o->subspecialty, sizeof o->subspecialty, PQgetvalue(r, i, 6));
    copy(o->state, sizeof o->state, PQgetvalue(r, i, 7));
    copy(o->navigator, sizeof o->navigator, PQgetvalue(r, i, 8));
    copy(o->specialist, sizeof o->specialist, PQgetvalue(r, i, 9));
    o->navigator_id = store__num_at(r, i, 10);
    o->specialist_id = store__num_at(r, i, 11);
    o->patient_account_id = store__num_at(r, i, 12);
    o->registered_at = store__num_at(r, i, 13);
    o->collecting_at = store__num_at(r, i, 14);
    o->records_done_at = store__num_at(r, i, 15);
    o->published_at = store__num_at(r, i, 16);
    o->paused_at = store__num_at(r, i, 17);
    o->paused_seconds = store__num_at(r, i, 18);
    copy(o->condition_code, sizeof o->condition_code, PQgetvalue(r, i, 19));
    o->records_received = store__num_at(r, i, 20);
    copy(o->navigator_name, sizeof o->navigator_name, PQgetvalue(r, i, 21));
    copy(o->specialist_name, sizeof o->specialist_name, PQgetvalue(r, i, 22));
    copy(o->patient_account, sizeof o->patient_account, PQgetvalue(r, i, 23));
}

typedef struct case_ctx {
    bool found;
    store_case_row_t *one;
    store_case_cb cb;
    void *ud;
} case_ctx_t;

static bool case_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    case_ctx_t *c = ud;
    c->found = true;
    if (c->one != NULL) {
        case_from(r, 0, c->one);
        return true;
    }
    store_case_row_t row;
    case_from(r, 0, &row);
    return c->cb(c->ud, &row);
}

cp_err_t store_cases_get(store_pg_t *pg, const char *token, store_case_row_t *out,
                         cp_errinfo_t *ei)
{
    const char *params[] = {token};
    case_ctx_t c = {.one = out};
    static const store__named_t st = {9, "cp_api_case", CASE_COLUMNS " WHERE c.token = $1"};
    cp_err_t err = store__pg_stream_named(pg, &st, 1, params, "finding a case", case_row, &c, ei);
    if (err == CP_OK && !c.found)
        return cp_fail(ei, CP_ENOENT, 0, "no case %s", token);
    return err;
}

cp_err_t store_cases_list(store_pg_t *pg, store_case_scope_t scope, int64_t account_id,
                          store_case_cb cb, void *ud, cp_errinfo_t *ei)
{
    /* one statement a scope, so that each uses its own index */
    static const char *const sql[] = {
        [STORE_CASES_ALL] = CASE_COLUMNS " ORDER BY c.id",
        [STORE_CASES_OF_PATIENT] = CASE_COLUMNS " WHERE c.patient_account_id = $1 ORDER BY c.id",
        [STORE_CASES_OF_NAVIGATOR] = CASE_COLUMNS " WHERE c.navigator_id = $1 ORDER BY c.id",
        [STORE_CASES_OF_SPECIALIST] = CASE_COLUMNS " WHERE c.specialist_id = $1 ORDER BY c.id",
    };
    char id[24];
    const char *params[] = {store__id_param(account_id, id)};
    case_ctx_t c = {.cb = cb, .ud = ud};
    return store__pg_stream(pg, sql[scope], scope == STORE_CASES_ALL ? 0 : 1, params,
                            "listing cases", case_row, &c, ei);
}

typedef struct page_ctx {
    store_case_cb cb;
    void *ud;
    int64_t total;
} page_ctx_t;

/* The whole page at once (store__pg_page_named) */
static bool page_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    page_ctx_t *c = ud;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        store_case_row_t row;
        case_from(r, i, &row);
        c->total = store__num_at(r, i, 24);
        if (!c->cb(c->ud, &row))
            return false;
    }
    return true;
}

/* Innermost, the order's inputs once a row; then each clock's due time if it runs; then
 * the two keys of the order (migration 0018); each level fenced by OFFSET 0, so that
 * PostgreSQL computes a value once instead of folding it into every use. Then the page of
 * ids with the total; only the page's rows are read whole and joined. */
#define WORKLIST(where)                                                                          \
    CASE_SELECT ", p.total FROM (SELECT k.id, k.u, k.d, count(*) OVER () AS total FROM"          \
                " (SELECT d.id, least(cp_clock_urgency_at(d.rdue, $2, $3 * 86400::bigint),"      \
                "   cp_clock_urgency_at(d.odue, $2, $4 * 86400::bigint)) AS u,"                  \
                "   coalesce(least(d.rdue, d.odue), 9223372036854775807) AS d FROM"             \
                " (SELECT t.id,"                                                                  \
                "   cp_clock_running_due(t.col, t.done, t.stopped, $3 * 86400::bigint, t.paused)" \
                "   AS rdue,"                                                                     \
                "   cp_clock_running_due(t.reg, t.pub, t.stopped, $4 * 86400::bigint, t.paused)"  \
                "   AS odue FROM (SELECT c.id, c.state = 'withdrawn' AS stopped,"                 \
                "   date_part('epoch', c.registered_at)::bigint AS reg,"                          \
                "   date_part('epoch', c.collecting_at)::bigint AS col,"                          \
                "   date_part('epoch', c.records_done_at)::bigint AS done,"                       \
                "   date_part('epoch', c.published_at)::bigint AS pub,"                           \
                "   c.paused_seconds + CASE WHEN c.paused_at IS NOT NULL"                         \
                "   AND $2 > date_part('epoch', c.paused_at)::bigint"                             \
                "   THEN $2 - date_part('epoch', c.paused_at)::bigint ELSE 0 END AS paused"       \
                "   FROM cases c WHERE " where " OFFSET 0) t OFFSET 0) d) k"                      \
                " ORDER BY k.u, k.d, k.id OFFSET $5 LIMIT $6) p JOIN cases c ON c.id = p.id"      \
                " LEFT JOIN accounts n ON n.id = c.navigator_id"                                  \
                " LEFT JOIN accounts s ON s.id = c.specialist_id ORDER BY p.u, p.d, p.id"

cp_err_t store_cases_worklist(store_pg_t *pg, const store_worklist_page_t *page,
                              store_case_cb cb, void *ud, int64_t *total, cp_errinfo_t *ei)
{
    static const store__named_t st[] = {
        [STORE_CASES_OF_PATIENT] = {12, "cp_api_worklist_p", WORKLIST("c.patient_account_id = $1")},
        [STORE_CASES_OF_NAVIGATOR] = {13, "cp_api_worklist_n", WORKLIST("c.navigator_id = $1")},
        [STORE_CASES_OF_SPECIALIST] = {14, "cp_api_worklist_s", WORKLIST("c.specialist_id = $1")},
    };
    if (page->scope == STORE_CASES_ALL)
        return cp_fail(ei, CP_EINVAL, 0, "a worklist is an account's");
    char id[24], now[24], rd[16], od[16], off[24], lim[24];
    snprintf(now, sizeof now, "%lld", (long long)page->now);
    snprintf(rd, sizeof rd, "%d", page->records_days);
    snprintf(od, sizeof od, "%d", page->opinion_days);
    snprintf(off, sizeof off, "%lld", (long long)page->offset);
    snprintf(lim, sizeof lim, "%lld", (long long)page->limit);
    const char *params[] = {store__id_param(page->account_id, id), now, rd, od, off, lim};
    page_ctx_t c = {cb, ud, 0};
    cp_err_t err = store__pg_page_named(pg, &st[page->scope], 6, params, "listing a worklist",
                                        page_row, &c, ei);
    *total = c.total;
    if (err == CP_OK && c.total == 0) { /* no row (past the end, limit 0): count alone */
        static const char *const count_sql[] = {
            [STORE_CASES_OF_PATIENT] = "SELECT count(*) FROM cases WHERE patient_account_id = $1",
            [STORE_CASES_OF_NAVIGATOR] = "SELECT count(*) FROM cases WHERE navigator_id = $1",
            [STORE_CASES_OF_SPECIALIST] = "SELECT count(*) FROM cases WHERE specialist_id = $1",
        };
        store__first_t n = {0};
        err = store__pg_stream(pg, count_sql[page->scope], 1, params, "counting a worklist",
                               store__first_row, &n, ei);
        *total = n.id;
    }
    return err;
}

typedef struct event_ctx {
    store_case_event_cb cb;
    void *ud;
} event_ctx_t;

static bool event_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    event_ctx_t *c = ud;
    store_case_event_t e = {PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
                            PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5)};
    return c->cb(c->ud, &e);
}

cp_err_t store_cases_events(store_pg_t *pg, int64_t case_id, store_case_event_cb cb, void *ud,
                            cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(case_id, id)};
    event_ctx_t c = {cb, ud};
    static const store__named_t st = {
        10, "cp_api_events",
        "SELECT coalesce(e.from_state, ''), e.to_state, coalesce(a.username, 'operator'),"
        " e.role, e.reason, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        " FROM case_events e LEFT JOIN accounts a ON a.id = e.actor_id"
        " WHERE e.case_id = $1::bigint ORDER BY e.id"};
    return store__pg_stream_named(pg, &st, 1, params, "listing a case's events", event_row, &c,
                                  ei);
}

/* ---- writing cases ---- */

cp_err_t store_cases_move(store_pg_t *pg, int64_t case_id, const char *from, const char *to,
                          const char *reason, const store_actor_t *by, cp_errinfo_t *ei)
{
    char id[24], actor[24];
    const char *params[] = {store__id_param(case_id, id), from, to, store__id_param(by->id, actor),
                            by->role, reason, by->source};
    return store__audited_one(
        pg,
        "WITH c AS (UPDATE cases SET state = $3, updated_at = now(),"
        "   collecting_at = CASE WHEN $3 = 'collecting_records'"
        "     THEN coalesce(collecting_at, now()) ELSE collecting_at END,"
        "   records_done_at = CASE WHEN $3 = 'records_complete' THEN now()"
        "     WHEN $3 = 'collecting_records' THEN NULL ELSE records_done_at END,"
        "   published_at = CASE WHEN $3 = 'opinion_published' THEN now() ELSE published_at END,"
        "   paused_seconds = paused_seconds + CASE WHEN $3 IN ('closed', 'withdrawn')"
        "     AND paused_at IS NOT NULL THEN extract(epoch FROM now() - paused_at)::bigint"
        "     ELSE 0 END,"
        "   paused_at = CASE WHEN $3 IN ('closed', 'withdrawn') THEN NULL ELSE paused_at END"
        "   WHERE id = $1::bigint AND state = $2 RETURNING id),"
        " e AS (INSERT INTO case_events (case_id, from_state, to_state, actor_id, role, reason)"
        "   SELECT id, $2, $3, $4::bigint, $5, $6 FROM c)"
        " SELECT id, $4::bigint, $5, id, 'case', 'case.move ' || $2 || ' -> ' || $3,"
        "   'allowed', $7::text FROM c",
        7, params, "moving a case", "the case is not in that state (moved meanwhile?)", ei);
}

cp_err_t store_cases_pause(store_pg_t *pg, int64_t case_id, bool pause, const char *reason,
                           const store_actor_t *by, cp_errinfo_t *ei)
{
    char id[24], actor[24];
    const char *params[] = {store__id_param(case_id, id), pause ? "true" : "false",
                            store__id_param(by->id, actor), by->role, reason, by->source};
    return store__audited_one(
        pg,
        "WITH c AS (UPDATE cases SET updated_at = now(),"
        "   paused_seconds = paused_seconds + CASE WHEN $2::boolean THEN 0"
        "     ELSE extract(epoch FROM now() - paused_at)::bigint END,"
        "   paused_at = CASE WHEN $2::boolean THEN now() ELSE NULL END"
        "   WHERE id = $1::bigint AND (paused_at IS NULL) = $2::boolean"
        "   AND state NOT IN ('opinion_published', 'closed', 'withdrawn') RETURNING id, state),"
        " e AS (INSERT INTO case_events (case_id, from_state, to_state, actor_id, role, reason)"
        "   SELECT id, state, state, $3::bigint, $4,"
        "   CASE WHEN $2::boolean THEN 'waiting on the patient: ' ELSE 'resumed: ' END || $5"
        "   FROM c)"
        " SELECT id, $3::bigint, $4, id, 'case', CASE WHEN $2::boolean THEN 'case.pause'"
        "   ELSE 'case.resume' END, 'allowed', $6::text FROM c",
        6, params, "pausing a case", pause ? "the case is already waiting, or finished"
                                            : "the case is not waiting",
        ei);
}

cp_err_t store_cases_assign(store_pg_t *pg, int64_t case_id, const char *role,
                            int64_t account_id, const store_actor_t *by, cp_errinfo_t *ei)
{
    char id[24], acc[24], actor[24];
    const char *params[] = {store__id_param(case_id, id), role, store__id_param(account_id, acc),
                            store__id_param(by->id, actor), by->role, by->source};
    return store__audited_one(
        pg,
        "WITH p AS (SELECT id FROM accounts"
        "   WHERE id = $3::bigint AND role = $2 AND NOT disabled),"
        " c AS (UPDATE cases SET updated_at = now(),"
        "   navigator_id = CASE WHEN $2 = 'navigator' THEN (SELECT id FROM p)"
        "     ELSE navigator_id END,"
        "   specialist_id = CASE WHEN $2 = 'specialist' THEN (SELECT id FROM p)"
        "     ELSE specialist_id END"
        "   WHERE id = $1::bigint AND EXISTS (SELECT 1 FROM p) RETURNING id)"
        " SELECT id, $4::bigint, $5::text, id, 'account ' || $3, 'case.assign ' || $2,"
        "   'allowed', $6::text FROM c",
        6, params, "assigning a case", "no such case, or the account has not that role", ei);
}

typedef struct suggest_ctx {
    store_specialist_cb cb;
    void *ud;
} suggest_ctx_t;

static bool suggest_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    suggest_ctx_t *c = ud;
    store_specialist_load_t s = {PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), store__num(r, 0),
                                 store__num(r, 3)};
    return c->cb(c->ud, &s);
}

cp_err_t store_cases_suggest(store_pg_t *pg, int64_t case_id, store_specialist_cb cb, void *ud,
                             cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(case_id, id)};
    suggest_ctx_t c = {cb, ud};
    return store__pg_stream(
        pg,
        "SELECT a.id, a.username, a.display_name,"
        " (SELECT count(*) FROM cases o WHERE o.specialist_id = a.id"
        "   AND o.state NOT IN ('opinion_published', 'closed', 'withdrawn')) AS load"
        " FROM cases c JOIN account_subspecialties s ON s.code = c.subspecialty"
        " JOIN accounts a ON a.id = s.account_id"
        " WHERE c.id = $1::bigint AND a.role = 'specialist' AND NOT a.disabled"
        " ORDER BY load, a.username",
        1, params, "suggesting specialists", suggest_row, &c, ei);
}

/* ---- intake routing ---- */

typedef struct text_ctx {
    char *out;
    size_t cap;
} text_ctx_t;

static bool text_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    text_ctx_t *c = ud;
    copy(c->out, c->cap, PQgetvalue(r, 0, 0));
    return true;
}

cp_err_t store_cases_route(store_pg_t *pg, int64_t study_id, char how[16], cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(study_id, id)};
    text_ctx_t c = {how, 16};
    how[0] = '\0';
    return store__pg_stream(pg, "SELECT cp_route_study($1::bigint)", 1, params,
                            "routing a study", text_row, &c, ei);
}

cp_err_t store_cases_request_add(store_pg_t *pg, int64_t case_id, const store_request_new_t *r,
                                 const store_actor_t *by, int64_t *id, cp_errinfo_t *ei)
{
    char cid[24], actor[24];
#define OR_EMPTY(x) ((x) ? (x) : "")
    const char *params[] = {store__id_param(case_id, cid), r->provider, OR_EMPTY(r->fax),
                            OR_EMPTY(r->email), OR_EMPTY(r->ae_title), OR_EMPTY(r->patient_id),
                            OR_EMPTY(r->issuer), OR_EMPTY(r->patient_name),
                            OR_EMPTY(r->birth_date), store__id_param(by->id, actor), by->role,
                            by->source};
#undef OR_EMPTY
    store__first_t c = {0};
    cp_err_t err = store__audited(
        pg,
        "WITH q AS (INSERT INTO records_requests (case_id, provider, fax, email, ae_title,"
        "   patient_id, issuer, patient_name, birth_date, created_by)"
        "   VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9, $10::bigint) RETURNING id)"
        " SELECT id, $10::bigint, $11::text, $1::bigint, 'request ' || id, 'request.create',"
        "   'allowed', $12::text FROM q",
        12, params, "adding a records request", store__first_row, &c, ei);
    if (err == CP_OK && id != NULL)
        *id = c.id;
    return err;
}

typedef struct record_ctx {
    store_case_record_cb cb;
    void *ud;
} record_ctx_t;

static bool record_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    record_ctx_t *c = ud;
    store_case_record_t x = {.study_uid = PQgetvalue(r, 0, 0),
                             .matched_by = PQgetvalue(r, 0, 1),
                             .detail = PQgetvalue(r, 0, 2),
                             .at = PQgetvalue(r, 0, 3),
                             .modality_count = PQgetvalue(r, 0, 4),
                             .confidence = strtod(PQgetvalue(r, 0, 5), NULL)};
    const char **f[] = {&x.patient.patient_id, &x.patient.issuer,  &x.patient.name,
                        &x.patient.birth_date, &x.patient.sex,     &x.study.study_date,
                        &x.study.description,  &x.study.accession, &x.study.modalities,
                        &x.calling_ae,         &x.received_at,     &x.provider};
    for (int i = 0; i < 12; i++)
        *f[i] = PQgetvalue(r, 0, 6 + i);
    x.study.series = store__num(r, 18);
    x.study.instances = store__num(r, 19);
    x.request_id = store__num(r, 20);
    return c->cb(c->ud, &x);
}

/* A study's modalities, series and current instances, for people to recognise it by
 * (s: the studies row). */
#define STUDY_MODALITIES                                                                           \
    " coalesce((SELECT string_agg(DISTINCT e.modality, ', ') FROM series e"                        \
    "   WHERE e.study_id = s.id AND e.modality <> ''), '')"
#define STUDY_COUNTS                                                                               \
    " (SELECT count(*) FROM series e WHERE e.study_id = s.id),"                                    \
    " (SELECT count(*) FROM series e JOIN current_instances i ON i.series_id = e.id"               \
    "   WHERE e.study_id = s.id)"
/* The first instance of study s: who sent it, to whom, when (the lateral f). */
#define STUDY_FIRST                                                                                \
    " LEFT JOIN LATERAL (SELECT i.calling_ae, i.called_ae, i.received_at FROM series e"            \
    "   JOIN instances i ON i.series_id = e.id WHERE e.study_id = s.id ORDER BY i.id"              \
    "   LIMIT 1) f ON true"
#define UTC_TEXT(x) "to_char(" x " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

cp_err_t store_cases_records(store_pg_t *pg, int64_t case_id, store_case_record_cb cb, void *ud,
                             cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(case_id, id)};
    record_ctx_t c = {cb, ud};
    static const store__named_t st = {
        15, "cp_api_records",
        "SELECT s.study_uid, r.matched_by, r.detail, " UTC_TEXT("r.at") ","
        " (SELECT string_agg(m || ' x' || n, ' ') FROM (SELECT e.modality AS m, count(*) AS n"
        "   FROM series e JOIN current_instances i ON i.series_id = e.id"
        "   WHERE e.study_id = s.id GROUP BY e.modality ORDER BY 1) k),"
        " r.confidence, p.patient_id, p.issuer, p.name, p.birth_date, p.sex, s.study_date,"
        " s.description, s.accession," STUDY_MODALITIES ", coalesce(f.calling_ae, ''),"
        " coalesce(" UTC_TEXT("f.received_at") ", ''), coalesce(q.provider, ''),"
        STUDY_COUNTS ", coalesce(r.request_id, 0)"
        " FROM case_records r JOIN studies s ON s.id = r.study_id"
        " JOIN patients p ON p.id = s.patient_id"
        " LEFT JOIN records_requests q ON q.id = r.request_id" STUDY_FIRST
        " WHERE r.case_id = $1::bigint ORDER BY r.id"};
    return store__pg_stream_named(pg, &st, 1, params, "listing a case's records", record_row, &c,
                                  ei);
}

typedef struct triage_ctx {
    store_triage_cb cb;
    void *ud;
} triage_ctx_t;

static bool triage_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    triage_ctx_t *c = ud;
    store_triage_item_t t = {.id = store__num(r, 0),
                             .study_uid = PQgetvalue(r, 0, 1),
                             .calling_ae = PQgetvalue(r, 0, 2),
                             .called_ae = PQgetvalue(r, 0, 3),
                             .received_at = PQgetvalue(r, 0, 4),
                             .reason = PQgetvalue(r, 0, 5),
                             .candidates = PQgetvalue(r, 0, 6),
                             .instances = store__num(r, 7)};
    const char **p[] = {&t.patient.patient_id, &t.patient.issuer, &t.patient.name,
                        &t.patient.birth_date, &t.patient.sex,  &t.other.patient_id,
                        &t.other.issuer,       &t.other.name,   &t.other.birth_date,
                        &t.other.sex,          &t.study.study_date, &t.study.description,
                        &t.study.accession,    &t.study.modalities, &t.other_case,
                        &t.candidates_json};
    for (int i = 0; i < 16; i++)
        *p[i] = PQgetvalue(r, 0, 8 + i);
    t.has_other = !PQgetisnull(r, 0, 15);
    t.study.series = store__num(r, 24);
    return c->cb(c->ud, &t);
}

/* The cases an open triage item t (its study s, the study's record p, its first instance
 * f) could be attached to, one row each (x: case_id, kind, why, rank), before they are
 * ordered and limited. Routing's candidates first (cp_route_study in 0022 put them in
 * t.candidates: by open records requests, or the case whose AE title the study was sent
 * to), then the open requests that asked for the study's MRN and issuer of another sender,
 * then the open cases whose patient has the study's name and no other birth date (the
 * comparison of cp_people_differ). */
#define TRIAGE_REQUEST_MATCHES(q)                                                                  \
    " (cp_request_mrn(" q ", p.patient_id, p.issuer, p.issuer_from, f.calling_ae)"                 \
    "  OR (" q ".patient_name <> '' AND " q ".birth_date <> ''"                                    \
    "      AND cp_name_key(" q ".patient_name) = cp_name_key(p.name)"                              \
    "      AND " q ".birth_date = p.birth_date))"
#define TRIAGE_CANDIDATES                                                                          \
    " SELECT cc.id AS case_id, CASE WHEN cc.id = t.other_case THEN 'sent_to' ELSE 'request' END"   \
    "   AS kind, CASE WHEN cc.id = t.other_case THEN 'it was sent to this case''s AE title, but"   \
    " its patient differs from the case''s' ELSE coalesce((SELECT string_agg('asked '"             \
    "   || q.provider || ' for its patient: ' || CASE WHEN cp_request_mrn(q, p.patient_id,"        \
    "   p.issuer, p.issuer_from, f.calling_ae) THEN 'the MRN and issuer match'"                    \
    "   ELSE 'the name and birth date match' END, '; ' ORDER BY q.id)"                             \
    "   FROM records_requests q WHERE q.case_id = cc.id AND q.state = 'open'"                      \
    "   AND (q.ae_title = '' OR q.ae_title = f.calling_ae) AND" TRIAGE_REQUEST_MATCHES("q")        \
    "   ), 'an open records request of the case matched when the study arrived') END AS why,"      \
    "   0 AS rank FROM cases cc WHERE cc.id = ANY(t.candidates)"                                   \
    " UNION ALL"                                                                                   \
    " SELECT q.case_id, 'request', 'asked ' || q.provider || ' (AE title ' || q.ae_title"          \
    "   || ') for its MRN and issuer; it came from ' || f.calling_ae, 1"                           \
    "   FROM records_requests q JOIN cases cc ON cc.id = q.case_id"                                \
    "   WHERE q.state = 'open' AND cc.state NOT IN ('closed', 'withdrawn')"                        \
    "   AND q.ae_title NOT IN ('', f.calling_ae)"                                                  \
    "   AND cp_request_mrn(q, p.patient_id, p.issuer, p.issuer_from, f.calling_ae)"                \
    " UNION ALL"                                                                                   \
    " SELECT cc.id, 'patient', CASE WHEN cc.birth_date <> '' AND p.birth_date <> ''"               \
    "   THEN 'the case''s patient has its name and birth date'"                                    \
    "   ELSE 'the case''s patient has its name (no birth date to compare)' END, 2"                 \
    "   FROM cases cc WHERE cp_name_key(cc.patient_name) = cp_name_key(p.name)"                    \
    "   AND cp_name_key(p.name) <> '' AND cc.state NOT IN ('closed', 'withdrawn')"                 \
    "   AND NOT cp_people_differ(cc.patient_name, cc.birth_date, p.name, p.birth_date)"
/* At most 10 a item, each case once (its likeliest reason), as a JSON array text. */
#define TRIAGE_CANDIDATES_JSON                                                                     \
    " coalesce((SELECT json_agg(json_build_object('case_id', y.case_id, 'token', cc.token,"        \
    "   'patient_name', cc.patient_name, 'birth_date', cc.birth_date, 'sex', cc.sex,"              \
    "   'state', cc.state, 'navigator', coalesce(n.username, ''), 'kind', y.kind,"                 \
    "   'why', y.why) ORDER BY y.rank, y.case_id)"                                                 \
    "   FROM (SELECT * FROM (SELECT DISTINCT ON (x.case_id) x.* FROM (" TRIAGE_CANDIDATES          \
    "   ) x ORDER BY x.case_id, x.rank) d ORDER BY d.rank, d.case_id LIMIT 10) y"                  \
    "   JOIN cases cc ON cc.id = y.case_id LEFT JOIN accounts n ON n.id = cc.navigator_id),"       \
    "   '[]'::json)::text"

cp_err_t store_cases_triage_list(store_pg_t *pg, store_triage_cb cb, void *ud, cp_errinfo_t *ei)
{
    triage_ctx_t c = {cb, ud};
    return store__pg_stream(
        pg,
        "SELECT t.id, s.study_uid, coalesce(f.calling_ae, ''), coalesce(f.called_ae, ''),"
        " " UTC_TEXT("t.created_at") ", t.reason,"
        " coalesce((SELECT string_agg(c.token, ',' ORDER BY c.id) FROM cases c"
        "   WHERE c.id = ANY(t.candidates)), ''),"
        " (SELECT count(*) FROM series e JOIN current_instances i ON i.series_id = e.id"
        "   WHERE e.study_id = s.id),"
        " p.patient_id, p.issuer, p.name, p.birth_date, p.sex,"
        " coalesce(o.patient_id, k.token), coalesce(o.issuer, CASE WHEN k.id IS NOT NULL"
        "   THEN 'CASEPORT' END), coalesce(o.name, k.patient_name),"
        " coalesce(o.birth_date, k.birth_date), coalesce(o.sex, k.sex),"
        " s.study_date, s.description, s.accession," STUDY_MODALITIES ","
        " coalesce(k.token, '')," TRIAGE_CANDIDATES_JSON ","
        " (SELECT count(*) FROM series e WHERE e.study_id = s.id)"
        " FROM triage t JOIN studies s ON s.id = t.study_id"
        " JOIN patients p ON p.id = s.patient_id"
        " LEFT JOIN patients o ON o.id = t.other_patient"
        " LEFT JOIN cases k ON k.id = t.other_case" STUDY_FIRST
        " WHERE t.state = 'open' ORDER BY t.id",
        0, NULL, "listing the triage queue", triage_row, &c, ei);
}

cp_err_t store_cases_triage_decide(store_pg_t *pg, int64_t item, int64_t case_id,
                                   const char *reason, const store_actor_t *by,
                                   cp_errinfo_t *ei)
{
    char it[24], cid[24], actor[24];
    const char *params[] = {store__id_param(item, it), store__id_param(case_id, cid), reason,
                            store__id_param(by->id, actor), by->role, by->source};
    return store__audited_one(
        pg,
        "WITH t AS (UPDATE triage SET state = CASE WHEN $2::bigint IS NULL THEN 'rejected'"
        "   ELSE 'attached' END, decided_by = $4::bigint, decided_at = now(), decision = $3"
        "   WHERE id = $1::bigint AND state = 'open'"
        "   AND ($2::bigint IS NULL OR EXISTS (SELECT 1 FROM cases WHERE id = $2::bigint))"
        "   RETURNING id, study_id),"
        " r AS (INSERT INTO case_records (case_id, study_id, matched_by, confidence, detail,"
        "   attached_by) SELECT $2::bigint, study_id, 'navigator', 1, $3, $4::bigint FROM t"
        "   WHERE $2::bigint IS NOT NULL"
        /* a study attached already (its item reopened by another patient's instance,
         * 0022): the navigator's case replaces the one it had */
        "   ON CONFLICT (study_id) DO UPDATE SET case_id = EXCLUDED.case_id,"
        "   matched_by = 'navigator', request_id = NULL, confidence = 1,"
        "   detail = EXCLUDED.detail, attached_by = EXCLUDED.attached_by, at = now())"
        " SELECT id, $4::bigint, $5::text, $2::bigint, 'triage ' || id, CASE WHEN $2::bigint"
        "   IS NULL THEN 'triage.reject' ELSE 'triage.attach' END, 'allowed', $6::text FROM t",
        6, params, "deciding a triage item", "the triage item is not open (decided meanwhile?)",
        ei);
}

static bool dup_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    free(*(char **)ud);
    *(char **)ud = cp_xstrdup(PQgetvalue(r, 0, 0));
    return true;
}

cp_err_t store_cases_first_opinion(store_pg_t *pg, int64_t case_id, char **text,
                                   cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(case_id, id)};
    *text = NULL;
    cp_err_t err = store__pg_stream(pg, "SELECT first_opinion FROM cases WHERE id = $1::bigint", 1,
                                    params, "reading a case's first opinion", dup_row, text, ei);
    if (err == CP_OK && *text == NULL)
        *text = cp_xstrdup("");
    return err;
}
