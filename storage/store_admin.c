/* storage/store_admin.c -- what an administrator looks at (store_cases.h): the break-glass
 * grants in force, and the audit trail of a case or an account. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_cases.h"
#include "store_pg_int.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

typedef struct grants_ctx {
    store_grant_cb cb;
    void *ud;
} grants_ctx_t;

static bool grant_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    grants_ctx_t *c = ud;
    store_grant_row_t g = {PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
                           PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4)};
    return c->cb(c->ud, &g);
}

cp_err_t store_cases_grants_in_force(store_pg_t *pg, store_grant_cb cb, void *ud,
                                     cp_errinfo_t *ei)
{
    grants_ctx_t c = {cb, ud};
    return store__pg_stream(pg,
                            "SELECT c.token, a.username, b.reason, " ISO("b.granted_at") ", "
                            ISO("b.expires_at") " FROM break_glass b"
                            " JOIN cases c ON c.id = b.case_id"
                            " JOIN accounts a ON a.id = b.account_id"
                            " WHERE b.expires_at > now() ORDER BY b.expires_at, b.id",
                            0, NULL, "listing break-glass grants", grant_row, &c, ei);
}

typedef struct trail_ctx {
    store_trail_cb cb;
    void *ud;
} trail_ctx_t;

static bool trail_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    trail_ctx_t *c = ud;
    store_trail_row_t t = {strtoll(PQgetvalue(r, 0, 0), NULL, 10), PQgetvalue(r, 0, 1),
                           PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4),
                           PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 6), PQgetvalue(r, 0, 7),
                           PQgetvalue(r, 0, 8)};
    return c->cb(c->ud, &t);
}

cp_err_t store_cases_trail(store_pg_t *pg, int64_t case_id, int64_t account_id, int limit,
                           store_trail_cb cb, void *ud, cp_errinfo_t *ei)
{
    char cid[24], aid[24], lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {store__id_param(case_id, cid), store__id_param(account_id, aid), lim};
    trail_ctx_t c = {cb, ud};
    /* the two indexes of an account's rows (migration 0028) read as one list */
    return store__pg_stream(
        pg,
        "WITH x AS (SELECT seq FROM audit WHERE case_id = $1::bigint"
        "   UNION SELECT seq FROM audit WHERE actor_id = $2::bigint"
        "   UNION SELECT seq FROM audit"
        "   WHERE object LIKE 'account %' AND object = 'account ' || $2)"
        " SELECT u.seq, " ISO("u.at") ", coalesce(a.username, ''), u.role, u.object, u.action,"
        " u.outcome, u.source, coalesce(k.token, '') FROM x JOIN audit u ON u.seq = x.seq"
        " LEFT JOIN accounts a ON a.id = u.actor_id LEFT JOIN cases k ON k.id = u.case_id"
        " ORDER BY u.seq DESC LIMIT $3::integer",
        3, params, "reading the audit trail", trail_row, &c, ei);
}
