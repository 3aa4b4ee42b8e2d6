/* storage/store_accounts.c -- accounts as an administrator manages them: listed, disabled
 * or enabled, a password reset (store_cases.h). A change ends the account's sessions and
 * carries its audit row, in one transaction (store__audited). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_cases.h"
#include "store_pg_int.h"

typedef struct list_ctx {
    store_account_cb cb;
    void *ud;
} list_ctx_t;

static bool account_listed(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    list_ctx_t *c = ud;
    store_account_row_t a = {PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
                             strcmp(PQgetvalue(r, 0, 3), "t") == 0, PQgetvalue(r, 0, 4),
                             PQgetvalue(r, 0, 5)};
    return c->cb(c->ud, &a);
}

cp_err_t store_cases_accounts(store_pg_t *pg, store_account_cb cb, void *ud, cp_errinfo_t *ei)
{
    list_ctx_t c = {cb, ud};
    return store__pg_stream(
        pg,
        "SELECT a.username, a.display_name, a.role, a.disabled,"
        " coalesce((SELECT string_agg(s.code, ',' ORDER BY s.code) FROM account_subspecialties s"
        "   WHERE s.account_id = a.id), ''),"
        " to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        " FROM accounts a ORDER BY a.username",
        0, NULL, "listing accounts", account_listed, &c, ei);
}

cp_err_t store_cases_account_set(store_pg_t *pg, const char *username, int disabled,
                                 const char *password_hash, const store_actor_t *by,
                                 cp_errinfo_t *ei)
{
    char actor[24], dis[8];
    snprintf(dis, sizeof dis, "%s", disabled < 0 ? "" : disabled ? "t" : "f");
    const char *params[] = {username, disabled < 0 ? NULL : dis, password_hash,
                            store__id_param(by->id, actor), by->role, by->source};
    return store__audited_one(
        pg,
        "WITH u AS (UPDATE accounts SET disabled = coalesce($2::boolean, disabled),"
        "   password_hash = coalesce($3, password_hash) WHERE username = $1 RETURNING id),"
        " s AS (DELETE FROM sessions WHERE account_id IN (SELECT id FROM u))"
        " SELECT id, $4::bigint, $5::text, NULL::bigint, 'account ' || id, CASE WHEN $3"
        "   IS NOT NULL THEN 'account.password' WHEN $2::boolean THEN 'account.disable'"
        "   ELSE 'account.enable' END, 'allowed', $6::text FROM u",
        6, params, "changing an account", "no such account", ei);
}
