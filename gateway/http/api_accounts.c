/* gateway/http/api_accounts.c -- the administrator's part of the API: accounts listed,
 * added, disabled or enabled, a password reset (api_int.h). No clinical content here; an
 * administrator reads a case only through break-glass (api_opinion.c). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "auth.h"
#include "caselist.h"
#include "sessions.h"

static bool administrator(call_t *c, const char *action)
{
    if (c->role == CASE_ROLE_ADMINISTRATOR)
        return true;
    api_audit(c, 0, "accounts", action, "denied");
    api_error(c, 403, "forbidden", "accounts are the administrators'");
    return false;
}

static bool account_json(void *ud, const store_account_row_t *a)
{
    json_array_append_new(ud, json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:s?}", "username", a->username,
                                        "name", a->display_name, "role", a->role, "disabled",
                                        a->disabled, "subspecialties", a->subspecialties,
                                        "created_at", a->created_at, "last_sign_in",
                                        a->last_sign_in[0] ? a->last_sign_in : NULL));
    return true;
}

void api_list_accounts(call_t *c)
{
    if (!administrator(c, "account.list"))
        return;
    json_t *items = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_accounts(c->ctx->pg, account_json, items, &ei) != CP_OK) {
        json_decref(items);
        api_unavailable(c);
        return;
    }
    api_audit_read(c, 0, "accounts", "account.list");
    api_reply(c, 200, json_pack("{s:o}", "accounts", items));
}

void api_add_account(call_t *c)
{
    if (!administrator(c, "account.create"))
        return;
    static const char usage[] = "send {\"username\", \"role\", \"password\" (12 to 128 "
                                "characters), and optionally \"name\", \"subspecialties\" "
                                "(a specialist's, comma-separated)}";
    json_t *in = api_body(c, usage);
    if (in == NULL)
        return;
    case_account_new_t a = {0};
    cp_errinfo_t ei = {0};
    int64_t id = 0;
    store_actor_t by = api_actor(c);
    cp_err_t err = json_unpack(in, "{s:s,s:s,s:s,s?s,s?s}", "username", &a.username, "role",
                               &a.role, "password", &a.password, "name", &a.name,
                               "subspecialties", &a.subspecialties) == 0
                       ? case_account_add(c->ctx->pg, &a, &by, &id, &ei)
                       : cp_fail(&ei, CP_EINVAL, 0, "%s", usage);
    if (err == CP_EINVAL)
        api_error(c, 400, "bad_request", cp_errinfo_msg(&ei, err));
    else if (err == CP_EEXIST)
        api_error(c, 409, "taken", "the username is taken");
    else if (err != CP_OK)
        api_error(c, 400, "bad_request", "the account cannot be added (the username: a-z, "
                                         "0-9, '.', '_', '-', 2 to 64)");
    else
        api_reply(c, 201, json_pack("{s:s,s:s}", "username", a.username, "role", a.role));
    json_decref(in); /* a's strings point into it */
}

/* {"disabled": bool} and/or {"password": ...}: the account's sessions end either way. */
void api_change_account(call_t *c, const char *username)
{
    if (!administrator(c, "account.change"))
        return;
    static const char usage[] = "send {\"disabled\": true|false} or {\"password\": ...}";
    json_t *in = api_body(c, usage);
    if (in == NULL)
        return;
    int disabled = -1;
    const char *pw = NULL;
    json_t *d = json_object_get(in, "disabled");
    if (d != NULL)
        disabled = json_is_boolean(d) ? json_is_true(d) : -2;
    json_t *p = json_object_get(in, "password");
    if (p != NULL)
        pw = json_is_string(p) ? json_string_value(p) : "";
    if (disabled == 1 && strcmp(username, c->me.username) == 0) {
        json_decref(in); /* nobody locks themselves out, nor the last administrator */
        api_error(c, 409, "yourself", "an administrator does not disable their own account");
        return;
    }
    char hash[200];
    cp_errinfo_t ei = {0};
    cp_err_t err = disabled == -2 || (d == NULL && p == NULL) ? CP_EINVAL : CP_OK;
    if (err == CP_OK && pw && !case_password_ok(pw))
        err = CP_EINVAL;
    if (err == CP_OK && pw)
        err = gw_auth_hash(pw, hash, sizeof hash, &ei);
    store_actor_t by = api_actor(c);
    if (err == CP_OK)
        err = store_cases_account_set(c->ctx->pg, username, disabled, pw ? hash : NULL, &by, &ei);
    OPENSSL_cleanse(hash, sizeof hash);
    json_decref(in);
    if (err == CP_OK && c->ctx->sessions) /* its sessions ended: forget any cached */
        gw_sessions_clear(c->ctx->sessions);
    if (err == CP_EINVAL)
        api_error(c, 400, "bad_request", "send {\"disabled\": true|false} or {\"password\": "
                                         "12 to 128 characters}");
    else if (err == CP_ENOENT)
        api_error(c, 404, "not_found", "no such account");
    else if (err != CP_OK)
        api_unavailable(c);
    else
        api_reply(c, 200, json_pack("{s:s}", "username", username));
}

#define LINK_HOURS 24

/* Who may make whose link: an administrator anyone's but their own (they sign in and
 * change it), a navigator a patient's; the refusal is audited. */
static bool may_link(call_t *c, const store_account_t *a)
{
    bool ok = c->role == CASE_ROLE_ADMINISTRATOR ? strcmp(a->username, c->me.username) != 0
                                                 : c->role == CASE_ROLE_NAVIGATOR &&
                                                       strcmp(a->role, "patient") == 0;
    if (!ok) {
        api_audit(c, 0, "accounts", "account.password_link_made", "denied");
        api_error(c, 403, "forbidden", "an administrator makes these links, or a navigator for "
                                       "a patient");
    }
    return ok;
}

void api_password_link(call_t *c, const char *rest)
{
    static const char tail[] = "/password-link";
    char username[80];
    size_t n = strlen(rest), t = sizeof tail - 1;
    if (n <= t || n - t >= sizeof username || strcmp(rest + n - t, tail) != 0) {
        api_error(c, 404, "not_found", "no such endpoint");
        return;
    }
    snprintf(username, sizeof username, "%.*s", (int)(n - t), rest);
    store_account_t a = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_account_get(c->ctx->pg, username, &a, &ei);
    if (err == CP_ENOENT) {
        api_error(c, 404, "not_found", "no such account");
        return;
    }
    if (err != CP_OK) {
        api_unavailable(c);
        return;
    }
    OPENSSL_cleanse(a.password_hash, sizeof a.password_hash);
    if (!may_link(c, &a))
        return;
    if (a.disabled) {
        api_error(c, 409, "disabled", "the account is disabled: enable it first");
        return;
    }
    char token[48];
    uint8_t h[32];
    if (!api_new_token(token, h)) {
        api_error(c, 503, "unavailable", "no random bytes for a link");
        return;
    }
    if (store_cases_reset_create(c->ctx->pg, a.id, c->me.id, h, LINK_HOURS, &ei) != CP_OK) {
        api_unavailable(c);
        return;
    }
    char object[96];
    snprintf(object, sizeof object, "account %lld", (long long)a.id);
    api_audit(c, 0, object, "account.password_link_made", "allowed");
    char path[64];
    snprintf(path, sizeof path, "/#password/%s", token);
    api_reply(c, 201, json_pack("{s:s,s:s,s:i}", "username", a.username, "path", path,
                                "expires_in", LINK_HOURS * 3600));
}

static bool grant_json(void *ud, const store_grant_row_t *g)
{
    json_array_append_new(ud, json_pack("{s:s,s:s,s:s,s:s,s:s}", "token", g->token, "username",
                                        g->username, "reason", g->reason, "granted_at",
                                        g->granted_at, "expires_at", g->expires_at));
    return true;
}

void api_grants(call_t *c)
{
    if (!administrator(c, "break_glass.list"))
        return;
    json_t *items = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_grants_in_force(c->ctx->pg, grant_json, items, &ei) != CP_OK) {
        json_decref(items);
        api_unavailable(c);
        return;
    }
    api_audit_read(c, 0, "break-glass", "break_glass.list");
    api_reply(c, 200, json_pack("{s:o}", "grants", items));
}

static bool trail_json(void *ud, const store_trail_row_t *t)
{
    json_array_append_new(ud, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "seq",
                                        (json_int_t)t->seq, "at", t->at, "actor", t->actor, "role",
                                        t->role, "object", t->object, "action", t->action,
                                        "outcome", t->outcome, "source", t->source, "case",
                                        t->token));
    return true;
}

#define TRAIL_ROWS 500

/* Whose trail: the case (by token) or the account (by username) the query names; false:
 * answered (400 or 404). */
static bool trail_subject(call_t *c, int64_t *case_id, int64_t *account_id)
{
    char v[80], t[CASE_TOKEN_LEN + 1];
    cp_errinfo_t ei = {0};
    cp_err_t err = CP_EINVAL;
    if (api_query(c, "case", v, sizeof v)) {
        store_case_row_t r;
        err = case_token_parse(v, t) ? store_cases_get(c->ctx->pg, t, &r, &ei) : CP_ENOENT;
        *case_id = err == CP_OK ? r.id : 0;
    } else if (api_query(c, "account", v, sizeof v)) {
        store_account_t a = {0};
        err = store_cases_account_get(c->ctx->pg, v, &a, &ei);
        OPENSSL_cleanse(a.password_hash, sizeof a.password_hash);
        *account_id = err == CP_OK ? a.id : 0;
    }
    if (err == CP_EINVAL)
        api_error(c, 400, "bad_request",
                  "name a case (?case=TOKEN) or an account (?account=USERNAME)");
    else if (err == CP_ENOENT)
        api_error(c, 404, "not_found", "no such case or account");
    else if (err != CP_OK)
        api_unavailable(c);
    return err == CP_OK;
}

void api_trail(call_t *c)
{
    if (!administrator(c, "audit.read"))
        return;
    int64_t case_id = 0, account_id = 0;
    if (!trail_subject(c, &case_id, &account_id))
        return;
    json_t *items = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_trail(c->ctx->pg, case_id, account_id, TRAIL_ROWS, trail_json, items, &ei) !=
        CP_OK) {
        json_decref(items);
        api_unavailable(c);
        return;
    }
    char object[48];
    snprintf(object, sizeof object, "%s %lld", case_id ? "case" : "account",
             (long long)(case_id ? case_id : account_id));
    api_audit_read(c, case_id, object, "audit.read");
    api_reply(c, 200, json_pack("{s:o,s:i}", "rows", items, "limit", TRAIL_ROWS));
}
