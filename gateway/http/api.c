/* gateway/http/api.c -- the JSON API, version 1 (docs/api.md). Every endpoint but login
 * needs a session; what a role may see is decided here, and every read or refusal
 * touching patient data leaves an audit row. A case that is not the caller's answers 404,
 * as one that does not exist: its existence is not revealed. The endpoints themselves are
 * in api_cases.c and api_opinion.c. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "auth.h"
#include "caselist.h"
#include "cp_bytes.h"
#include "conf.h"
#include "cp_log.h"
#include "sessions.h"
#include "json_text.h"
#include "throttle.h"

/* The pending read's audit row before a 2xx answer; false when it cannot be written (and
 * 503 answered instead). */
static bool read_audited(call_t *c, int status)
{
    if (c->read.object == NULL || status >= 300)
        return true;
    store_audit_row_t read = c->read;
    c->read.object = NULL;
    if (api_audit(c, read.case_id, read.object, read.action, "allowed"))
        return true;
    api_error(c, 503, "unavailable", "the audit trail cannot be written");
    return false; /* no patient data leaves without its audit row */
}

static void reply_body(call_t *c, int status, char *text, size_t len)
{
    c->rs->status = status;
    c->rs->body = text;
    c->rs->body_len = len;
}

void api_reply(call_t *c, int status, json_t *j)
{
    if (!read_audited(c, status)) {
        json_decref(j);
        return;
    }
    size_t len = 0;
    char *text = NULL;
    if (j != NULL && (text = gw_json_text(j, &len)) == NULL)
        status = 503; /* out of memory: an empty answer that says so */
    reply_body(c, status, text, len);
    json_decref(j);
}

void api_reply_text(call_t *c, int status, gw_json_out_t *o)
{
    size_t len = 0;
    char *text = gw_json_finish(o, &len);
    if (!read_audited(c, status)) {
        free(text);
        return;
    }
    reply_body(c, text != NULL ? status : 503, text, len);
}

void api_error(call_t *c, int status, const char *code, const char *msg)
{
    api_reply(c, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
    c->rs->bearer_challenge = status == 401;
}

void api_unavailable(call_t *c)
{
    api_error(c, 503, "unavailable", "the database is unavailable");
}

void api_token_hash(const char *token, uint8_t out[32])
{
    unsigned n = 0;
    EVP_Digest(token, strlen(token), out, &n, EVP_sha256(), NULL);
}

store_actor_t api_actor(const call_t *c)
{
    return (store_actor_t){c->me.id, c->me.role, c->rq->source};
}

void api_audit_read(call_t *c, int64_t case_id, const char *object, const char *action)
{
    c->read = (store_audit_row_t){case_id, object, action, "allowed"};
}

bool api_audit(call_t *c, int64_t case_id, const char *object, const char *action,
               const char *outcome)
{
    store_audit_row_t a = {case_id, object, action, outcome};
    store_actor_t by = api_actor(c);
    cp_errinfo_t ei = {0};
    /* The answer waits for its row, committed with those of other requests meanwhile. A
     * read is not answered without it (api_reply); a refusal goes out anyway, logged. */
    cp_err_t err = c->ctx->audit ? store_audit_log_append(c->ctx->audit, &a, &by, &ei)
                                 : store_audit_append(c->ctx->pg, &a, &by, &ei);
    if (err != CP_OK)
        CP_LOG(CP_LOG_ERROR, "api", "event=audit_failed action=\"%s\" error=%s why=\"%s\"",
               action, cp_err_name(err), cp_errinfo_msg(&ei, err));
    return err == CP_OK;
}

/* The caller's session: false (and 401 answered) without a valid one. */
static bool signed_in(call_t *c)
{
    if (c->rq->bearer[0] == '\0') {
        api_error(c, 401, "unauthorized", "sign in first: POST /api/v1/sessions");
        return false;
    }
    uint8_t h[32];
    api_token_hash(c->rq->bearer, h);
    cp_errinfo_t ei = {0};
    gw_sessions_t *cache = c->ctx->sessions;
    bool cached = cache && gw_sessions_get(cache, h, &c->me);
    cp_err_t err = cached ? CP_OK : store_cases_session_account(c->ctx->pg, h, &c->me, &ei);
    if (err == CP_OK && cache && !cached)
        gw_sessions_put(cache, h, &c->me);
    if (err == CP_ENOENT || (err == CP_OK && !case_role_parse(c->me.role, &c->role))) {
        api_error(c, 401, "unauthorized", "the session is unknown or has expired");
        return false;
    }
    if (err != CP_OK) {
        api_unavailable(c);
        return false;
    }
    return true;
}

/* ---- sessions ---- */

static void base64url(const uint8_t *b, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, bits = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | b[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = a[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = a[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

bool api_new_token(char token[48], uint8_t hash[32])
{
    uint8_t raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return false;
    base64url(raw, sizeof raw, token);
    api_token_hash(token, hash);
    OPENSSL_cleanse(raw, sizeof raw);
    return true;
}

/* Failed sign-ins are counted for the account from this address (a guesser there is
 * slowed down soon and hard), for the address (many accounts tried from one place), and
 * for the account from everywhere (a guesser with many addresses), whose wait stays
 * short: nobody elsewhere can keep its owner out for more than a few seconds. */
#define KEY_LEN 160
static const gw_throttle_rule_t login_rules[3] = {
    {5, 30, 15 * 60}, /* account and address */
    {20, 30, 15 * 60}, /* address */
    {50, 1, 10},       /* account */
};

static void login_keys(const char *user, const char *source, char keys[3][KEY_LEN])
{
    snprintf(keys[0], KEY_LEN, "ua:%s\x1f%s", source, user);
    snprintf(keys[1], KEY_LEN, "a:%s", source);
    snprintf(keys[2], KEY_LEN, "u:%s", user);
}

static void throttled(call_t *c, int wait)
{
    char msg[128];
    snprintf(msg, sizeof msg, "too many failed sign-ins: wait %d second%s, then try again",
             wait, wait == 1 ? "" : "s");
    api_reply(c, 429, json_pack("{s:{s:s,s:s,s:i}}", "error", "code", "too_many_attempts",
                                "message", msg, "retry_after", wait));
}

/* A password hash made with older parameters, made again now that the password is known
 * (the account's sessions stay); should it fail, the old one still works. */
static void rehash(call_t *c, const store_account_t *a, const char *pw)
{
    char hash[200];
    cp_errinfo_t ei = {0};
    if (gw_auth_hash(pw, hash, sizeof hash, &ei) == CP_OK)
        store_cases_password_rehash(c->ctx->pg, a->id, a->password_hash, hash, &ei);
    OPENSSL_cleanse(hash, sizeof hash);
}

static void login(call_t *c)
{
    json_error_t je;
    json_t *in = json_loadb(c->rq->body, c->rq->body_len, 0, &je);
    const char *user = NULL, *pw = NULL;
    if (in == NULL || json_unpack(in, "{s:s,s:s}", "username", &user, "password", &pw) != 0) {
        json_decref(in);
        api_error(c, 400, "bad_request", "send {\"username\": ..., \"password\": ...}");
        return;
    }
    cp_errinfo_t ei = {0};
    store_account_t a = {0};
    cp_err_t err = store_cases_account_get(c->ctx->pg, user, &a, &ei);
    /* An unknown username costs the same argon2id check as a known one: the time of the
     * answer does not tell which usernames exist. (The hash is of a discarded random
     * password, with the parameters gw_auth_hash uses.) */
    static const char nobody[] = "$argon2id$v=19$m=19456,t=2,p=1$A+K1fguAzgLqiVlXSLKcAg$"
                                 "SqiqGxhI7TAXGrXxeqHHDZiWg5DVRFe72PLlLcTTPHE";
    char keys[3][KEY_LEN];
    login_keys(user, c->rq->source, keys);
    gw_throttle_t *th = c->ctx->logins;
    int wait = 0;
    for (int i = 0; th != NULL && i < 3; i++) {
        int w = gw_throttle_wait(th, keys[i], login_rules[i]);
        wait = w > wait ? w : wait;
    }
    bool blocked = wait > 0;
    if (err != CP_OK && err != CP_ENOENT) { /* before argon2id: no 64 MiB for nothing */
        json_decref(in);
        api_unavailable(c);
        return;
    }
    bool known = err == CP_OK && !a.disabled;
    bool ok = !blocked && gw_auth_verify(known ? a.password_hash : nobody, pw, strlen(pw)) &&
              known;
    if (ok && gw_auth_outdated(a.password_hash))
        rehash(c, &a, pw); /* before in, which holds pw, is released */
    json_decref(in);
    c->me = a; /* for the audit row: who tried (id 0 if no such account) */
    if (!ok) {
        snprintf(c->me.role, sizeof c->me.role, "%s", err == CP_OK ? a.role : "unknown");
        api_audit(c, 0, "session", blocked ? "session.create throttled" : "session.create",
                  "denied");
        if (blocked) {
            throttled(c, wait);
            return;
        }
        for (int i = 0; th != NULL && i < 3; i++)
            gw_throttle_failed(th, keys[i]);
        api_error(c, 401, "unauthorized", "wrong username or password");
        return;
    }
    uint8_t h[32];
    char token[48];
    if (!api_new_token(token, h)) {
        api_error(c, 503, "unavailable", "no random bytes for a session token");
        return;
    }
    int hours = c->ctx->conf->http.session_hours;
    err = store_cases_session_create(c->ctx->pg, a.id, h, hours, c->rq->source, &ei);
    if (err != CP_OK) {
        api_unavailable(c);
        return;
    }
    if (th) /* the account's own count from everywhere stays: a guesser may be elsewhere */
        gw_throttle_reset(th, keys[0]);
    api_audit(c, 0, "session", "session.create", "allowed");
    api_reply(c, 201, json_pack("{s:s,s:s,s:s,s:i}", "token", token, "username", a.username, "role",
                            a.role, "expires_in", hours * 3600));
}

/* A one-time link spent: {"token", "password"}. Tried from an address too often with
 * links that do not work, it is slowed down as sign-ins are. */
static void set_password(call_t *c)
{
    json_error_t je;
    json_t *in = json_loadb(c->rq->body, c->rq->body_len, 0, &je);
    const char *token = NULL, *pw = NULL;
    char keys[3][KEY_LEN];
    login_keys("", c->rq->source, keys);
    gw_throttle_t *th = c->ctx->logins;
    int wait = th ? gw_throttle_wait(th, keys[1], login_rules[1]) : 0;
    if (in == NULL || json_unpack(in, "{s:s,s:s}", "token", &token, "password", &pw) != 0) {
        json_decref(in);
        api_error(c, 400, "bad_request", "send {\"token\": ..., \"password\": ...}");
        return;
    }
    if (wait > 0) {
        json_decref(in);
        throttled(c, wait);
        return;
    }
    if (!case_password_ok(pw)) {
        json_decref(in);
        api_error(c, 400, "bad_password", "the password must have 12 to 128 characters");
        return;
    }
    uint8_t h[32];
    char hash[200], username[65] = "";
    cp_errinfo_t ei = {0};
    api_token_hash(token, h);
    cp_err_t err = gw_auth_hash(pw, hash, sizeof hash, &ei);
    json_decref(in);
    int64_t id = 0;
    if (err == CP_OK)
        err = store_cases_reset_use(c->ctx->pg, h, hash, &id, username, c->me.role, &ei);
    OPENSSL_cleanse(hash, sizeof hash);
    c->me.id = id; /* the audit row is the account's own */
    if (id == 0)
        snprintf(c->me.role, sizeof c->me.role, "unknown");
    if (err == CP_ENOENT) {
        if (th)
            gw_throttle_failed(th, keys[1]);
        api_audit(c, 0, "account", "account.password_link", "denied");
        api_error(c, 404, "not_found", "this link does not work: it was used already, it has "
                                       "expired, or it was replaced by a newer one; ask for a "
                                       "new one");
        return;
    }
    if (err != CP_OK) {
        api_unavailable(c);
        return;
    }
    if (c->ctx->sessions) /* its sessions ended: forget any cached */
        gw_sessions_clear(c->ctx->sessions);
    api_audit(c, 0, "account", "account.password_link", "allowed");
    api_reply(c, 200, json_pack("{s:s}", "username", username));
}

static void logout(call_t *c)
{
    uint8_t h[32];
    api_token_hash(c->rq->bearer, h);
    cp_errinfo_t ei = {0};
    if (c->ctx->sessions)
        gw_sessions_drop(c->ctx->sessions, h);
    if (store_cases_session_delete(c->ctx->pg, h, &ei) != CP_OK)
        api_unavailable(c); /* the token would still work: say so */
    else
        api_reply(c, 204, NULL);
}

/* ---- cases ---- */

bool api_own(const call_t *c, const store_case_row_t *r)
{
    return case_row_own(r, c->role, c->me.id);
}

/* An administrator's read of a case through a break-glass grant (api_break_glass). */
static bool glass(call_t *c, const store_case_row_t *r)
{
    bool active = false;
    cp_errinfo_t ei = {0};
    if (c->role == CASE_ROLE_ADMINISTRATOR &&
        store_cases_break_glass_active(c->ctx->pg, r->id, c->me.id, &active, &ei) == CP_OK)
        c->glass = active;
    return c->glass;
}

bool api_find_case(call_t *c, const char *token_in, store_case_row_t *r)
{
    char t[CASE_TOKEN_LEN + 1];
    cp_errinfo_t ei = {0};
    cp_err_t err = case_token_parse(token_in, t) ? store_cases_get(c->ctx->pg, t, r, &ei)
                                                 : CP_ENOENT;
    if (err != CP_OK && err != CP_ENOENT) {
        api_unavailable(c);
        return false;
    }
    if (err == CP_OK && (api_own(c, r) || glass(c, r)))
        return true;
    api_audit(c, err == CP_OK ? r->id : 0, "case", "case.read", "denied");
    if (c->role == CASE_ROLE_ADMINISTRATOR)
        api_error(c, 403, "forbidden", "administrators read no clinical content without a "
                                       "break-glass grant");
    else
        api_error(c, 404, "not_found", "no such case among yours");
    return false;
}

json_t *api_body(call_t *c, const char *usage)
{
    json_error_t je;
    json_t *in = json_loadb(c->rq->body, c->rq->body_len, 0, &je);
    if (in != NULL && json_is_object(in))
        return in;
    json_decref(in);
    api_error(c, 400, "bad_request", usage);
    return NULL;
}

bool api_role_is(call_t *c, case_role_t role, int64_t case_id, const char *object,
                 const char *action, const char *why)
{
    if (c->role == role && !c->glass)
        return true;
    api_audit(c, case_id, object, action, "denied");
    api_error(c, 403, "forbidden", why);
    return false;
}

/* ---- the web console: a few static files, by plain name only ---- */

static const char *file_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    return !dot                       ? NULL
           : strcmp(dot, ".html") == 0 ? "text/html; charset=utf-8"
           : strcmp(dot, ".js") == 0   ? "text/javascript; charset=utf-8"
           : strcmp(dot, ".css") == 0  ? "text/css; charset=utf-8"
                                       : NULL;
}

/* Serves console_dir/NAME for /NAME ("/" is index.html). Only [a-z0-9_-] and one dot in
 * NAME: no path can leave the directory. */
static void console_file(call_t *c)
{
    const char *dir = c->ctx->conf->http.static_dir;
    const char *name = strcmp(c->rq->path, "/") == 0 ? "index.html" : c->rq->path + 1;
    const char *type = file_type(name);
    bool plain = name[0] != '.' && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-.") ==
                                       strlen(name) && strchr(name, '.') == strrchr(name, '.');
    char path[CONF_PATH_MAX + 64];
    FILE *f = NULL;
    if (dir[0] && type && plain && strlen(name) < 64) {
        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "rb");
    }
    char *buf = f ? malloc(256 * 1024 + 1) : NULL;
    size_t n = buf ? fread(buf, 1, 256 * 1024 + 1, f) : 0;
    if (f)
        fclose(f);
    if (buf == NULL || n > 256 * 1024) {
        free(buf);
        api_error(c, 404, "not_found", "no such page");
        return;
    }
    buf[n] = '\0';
    c->rs->status = 200;
    c->rs->body = buf;
    c->rs->body_len = n;
    c->rs->content_type = type;
}

/* ---- routing ---- */

static bool is(const call_t *c, const char *method)
{
    return strcmp(c->rq->method, method) == 0;
}

size_t gw_api_body_limit(const conf_t *conf, const char *method, const char *url)
{
    static const char cases[] = "/api/v1/cases/", pdf[] = "/opinion/pdf";
    size_t n = strcspn(url, "?"), k = sizeof pdf - 1;
    bool upload = strcmp(method, "PUT") == 0 && strncmp(url, cases, sizeof cases - 1) == 0 &&
                  n > sizeof cases - 1 + k && strncmp(url + n - k, pdf, k) == 0;
    return upload ? (size_t)conf->http.max_upload_mb << 20 : GW_HTTP_MAX_BODY;
}

typedef void (*case_fn)(call_t *c, const char *token);

/* /api/v1/cases/{token}TAIL */
static const struct case_route {
    const char *method, *tail;
    case_fn fn;
} case_routes[] = {
    {"GET", "", api_get_case},
    {"POST", "/transitions", api_move_case},
    {"GET", "/requests", api_list_requests},
    {"GET", "/questionnaire", api_get_questionnaire},
    {"PUT", "/questionnaire", api_put_questionnaire},
    {"POST", "/requests", api_add_request},
    {"PUT", "/waiting", api_pause_case},
    {"GET", "/records", api_case_records},
    {"GET", "/specialists", api_suggestions},
    {"PUT", "/specialist", api_assign_specialist},
    {"GET", "/opinion", api_get_opinion},
    {"PUT", "/opinion", api_write_opinion},
    {"POST", "/opinion/addenda", api_add_addendum},
    {"GET", "/opinion/pdf", api_get_pdf},
    {"PUT", "/opinion/pdf", api_put_pdf},
    {"POST", "/outbound", api_send_opinion},
    {"GET", "/outbound", api_list_outbound},
    {"POST", "/break-glass", api_break_glass},
};

/* A path segment with its %XX escapes decoded (a browser writes the token's check symbol
 * $ or = as %24 or %3D); false when it does not fit or an escape is malformed. */
static bool unescape(const char *in, size_t n, char *out, size_t cap)
{
    if (n > 0 && cap == 0)
        return false;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch == '%') {
            int hi = i + 2 < n ? cp_hex_digit(in[i + 1]) : -1;
            int lo = i + 2 < n ? cp_hex_digit(in[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi << 4 | lo) == 0)
                return false;
            ch = (char)(hi << 4 | lo);
            i += 2;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = ch;
    }
    out[o] = '\0';
    return true;
}

bool api_query(const call_t *c, const char *key, char *out, size_t cap)
{
    size_t k = strlen(key);
    for (const char *p = c->rq->query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, key, k) != 0 || p[k] != '=')
            continue;
        const char *v = p + k + 1, *end = strchr(v, '&');
        return unescape(v, end ? (size_t)(end - v) : strlen(v), out, cap) && out[0] != '\0';
    }
    return false;
}

static void case_route(call_t *c, const char *rest)
{
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *tail = rest + n;
    char token[32];
    if (!unescape(rest, n, token, sizeof token))
        token[0] = '\0'; /* no such case */
    bool path_known = false;
    for (size_t i = 0; i < sizeof case_routes / sizeof case_routes[0]; i++) {
        if (strcmp(tail, case_routes[i].tail) != 0)
            continue;
        path_known = true;
        if (is(c, case_routes[i].method)) {
            case_routes[i].fn(c, token);
            return;
        }
    }
    if (path_known)
        api_error(c, 405, "method_not_allowed", "that method is not allowed here");
    else
        api_error(c, 404, "not_found", "no such endpoint");
}

void gw_api_handle(const gw_ctx_t *ctx, const gw_api_request_t *rq, gw_api_response_t *rs)
{
    call_t c = {.ctx = ctx, .rq = rq, .rs = rs, .role = CASE_ROLE_PATIENT};
    const char *p = rq->path;
    static const char cases[] = "/api/v1/cases/";
    if (strcmp(p, "/api/v1/password-links/use") == 0 && is(&c, "POST")) {
        set_password(&c);
        return;
    }
    if (strcmp(p, "/api/v1/sessions") == 0) {
        if (is(&c, "POST"))
            login(&c);
        else
            api_error(&c, 405, "method_not_allowed", "POST to sign in");
        return;
    }
    if (strncmp(p, "/api/", 5) != 0 && is(&c, "GET")) {
        console_file(&c);
        return;
    }
    if (strncmp(p, "/api/v1/", 8) != 0) {
        api_error(&c, 404, "not_found", "no such endpoint");
        return;
    }
    if (!signed_in(&c))
        return;
    if (strncmp(p, cases, sizeof cases - 1) == 0)
        case_route(&c, p + sizeof cases - 1);
    else if (strcmp(p, "/api/v1/sessions/current") == 0 && is(&c, "DELETE"))
        logout(&c);
    else if (strcmp(p, "/api/v1/me") == 0 && is(&c, "GET"))
        api_reply(&c, 200, json_pack("{s:s,s:s,s:s}", "username", c.me.username, "name",
                                     c.me.display_name, "role", c.me.role));
    else if (strcmp(p, "/api/v1/cases") == 0 && is(&c, "GET"))
        api_list_cases(&c);
    else if (strcmp(p, "/api/v1/cases") == 0 && is(&c, "POST"))
        api_open_case(&c);
    else if (strcmp(p, "/api/v1/accounts") == 0 && is(&c, "GET"))
        api_list_accounts(&c);
    else if (strcmp(p, "/api/v1/accounts") == 0 && is(&c, "POST"))
        api_add_account(&c);
    else if (strncmp(p, "/api/v1/accounts/", 17) == 0 && is(&c, "PUT"))
        api_change_account(&c, p + 17);
    else if (strncmp(p, "/api/v1/accounts/", 17) == 0 && is(&c, "POST"))
        api_password_link(&c, p + 17);
    else if (strcmp(p, "/api/v1/break-glass") == 0 && is(&c, "GET"))
        api_grants(&c);
    else if (strcmp(p, "/api/v1/audit") == 0 && is(&c, "GET"))
        api_trail(&c);
    else if (strcmp(p, "/api/v1/subspecialties") == 0 && is(&c, "GET"))
        api_subspecialties(&c);
    else if (strcmp(p, "/api/v1/conditions") == 0 && is(&c, "GET"))
        api_conditions(&c);
    else if (strcmp(p, "/api/v1/triage") == 0 && is(&c, "GET"))
        api_triage(&c);
    else if (strncmp(p, "/api/v1/triage/", 15) == 0 && is(&c, "POST"))
        api_triage_decide(&c, p + 15);
    else
        api_error(&c, 404, "not_found", "no such endpoint");
}
