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
                             PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 6)};
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
        " to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " coalesce(to_char(a.last_sign_in_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
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

cp_err_t store_cases_reset_create(store_pg_t *pg, int64_t account_id, int64_t made_by,
                                  const uint8_t hash[32], int hours, cp_errinfo_t *ei)
{
    char id[24], by[24], h[2 * 32 + 3], hrs[16];
    store__bytea_hex(hash, 32, h);
    snprintf(hrs, sizeof hrs, "%d", hours);
    const char *params[] = {h, store__id_param(account_id, id), store__id_param(made_by, by),
                            hrs};
    return store__pg_exec(
        pg,
        "WITH old AS (DELETE FROM password_resets WHERE account_id = $2::bigint"
        "   AND used_at IS NULL)"
        " INSERT INTO password_resets (token_hash, account_id, made_by, expires_at)"
        " VALUES ($1::bytea, $2::bigint, $3::bigint, now() + make_interval(hours => $4::integer))",
        4, params, "making a password link", ei);
}

typedef struct reset_ctx {
    int64_t *id;
    char *username, *role;
} reset_ctx_t;

static bool reset_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    reset_ctx_t *c = ud;
    *c->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(c->username, 65, "%s", PQgetvalue(r, 0, 1));
    snprintf(c->role, 16, "%s", PQgetvalue(r, 0, 2));
    return true;
}

cp_err_t store_cases_reset_use(store_pg_t *pg, const uint8_t hash[32], const char *password_hash,
                               int64_t *account_id, char *username, char *role,
                               cp_errinfo_t *ei)
{
    char h[2 * 32 + 3];
    store__bytea_hex(hash, 32, h);
    const char *params[] = {h, password_hash};
    *account_id = 0;
    reset_ctx_t c = {account_id, username, role};
    cp_err_t err = store__pg_stream(
        pg,
        "WITH r AS (UPDATE password_resets SET used_at = now() WHERE token_hash = $1::bytea"
        "   AND used_at IS NULL AND expires_at > now() RETURNING account_id),"
        " u AS (UPDATE accounts SET password_hash = $2 WHERE id IN (SELECT account_id FROM r)"
        "   AND NOT disabled RETURNING id, username, role),"
        " s AS (DELETE FROM sessions WHERE account_id IN (SELECT id FROM u))"
        " SELECT id, username, role FROM u",
        2, params, "setting a password from a link", reset_row, &c, ei);
    if (err == CP_OK && *account_id == 0)
        return cp_fail(ei, CP_ENOENT, 0, "no such link, or used, or expired");
    return err;
}

cp_err_t store_cases_password_rehash(store_pg_t *pg, int64_t account_id, const char *old_hash,
                                     const char *new_hash, cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(account_id, id), old_hash, new_hash};
    return store__pg_exec(pg,
                          "UPDATE accounts SET password_hash = $3 WHERE id = $1::bigint"
                          " AND password_hash = $2",
                          3, params, "renewing a password hash", ei);
}
