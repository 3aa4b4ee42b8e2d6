/* gateway/http/api.c -- the JSON API, version 1 (docs/api.md). Every endpoint but login
 * needs a session; what a role may see is decided here, and every read or refusal
 * touching patient data leaves an audit row. A case that is not the caller's answers 404,
 * as one that does not exist: its existence is not revealed. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "case.h"
#include "caselist.h"
#include "conf.h"
#include "http.h"
#include "store_cases.h"

typedef struct call {
    const gw_ctx_t *ctx;
    const gw_api_request_t *rq;
    gw_api_response_t *rs;
    store_account_t me;
    case_role_t role;
} call_t;

static void reply(call_t *c, int status, json_t *j)
{
    c->rs->status = status;
    c->rs->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
}

static void error(call_t *c, int status, const char *code, const char *msg)
{
    reply(c, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
    c->rs->bearer_challenge = status == 401;
}

static void token_hash(const char *token, uint8_t out[32])
{
    unsigned n = 0;
    EVP_Digest(token, strlen(token), out, &n, EVP_sha256(), NULL);
}

static store_actor_t actor(const call_t *c)
{
    return (store_actor_t){c->me.id, c->me.role, c->rq->source};
}

static void audit(call_t *c, int64_t case_id, const char *object, const char *action,
                  const char *outcome)
{
    store_audit_row_t a = {case_id, object, action, outcome};
    store_actor_t by = actor(c);
    cp_errinfo_t ei = {0};
    store_audit_append(c->ctx->pg, &a, &by, &ei); /* the answer does not wait on it */
}

/* The caller's session: false (and 401 answered) without a valid one. */
static bool signed_in(call_t *c)
{
    if (c->rq->bearer[0] == '\0') {
        error(c, 401, "unauthorized", "sign in first: POST /api/v1/sessions");
        return false;
    }
    uint8_t h[32];
    token_hash(c->rq->bearer, h);
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_session_account(c->ctx->pg, h, &c->me, &ei);
    if (err == CP_ENOENT || (err == CP_OK && !case_role_parse(c->me.role, &c->role))) {
        error(c, 401, "unauthorized", "the session is unknown or has expired");
        return false;
    }
    if (err != CP_OK) {
        error(c, 503, "unavailable", "the database is unavailable");
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

static void login(call_t *c)
{
    json_error_t je;
    json_t *in = json_loadb(c->rq->body, c->rq->body_len, 0, &je);
    const char *user = NULL, *pw = NULL;
    if (in == NULL || json_unpack(in, "{s:s,s:s}", "username", &user, "password", &pw) != 0) {
        json_decref(in);
        error(c, 400, "bad_request", "send {\"username\": ..., \"password\": ...}");
        return;
    }
    cp_errinfo_t ei = {0};
    store_account_t a = {0};
    cp_err_t err = store_cases_account_get(c->ctx->pg, user, &a, &ei);
    /* An unknown username costs the same argon2id check as a known one: the time of the
     * answer does not tell which usernames exist. (The hash is of a discarded random
     * password, with the parameters gw_auth_hash uses.) */
    static const char nobody[] = "$argon2id$v=19$m=65536,t=3,p=1$VfoIbcWHs8jt04gFNXjiKw$"
                                 "cDJBe+S0+OtShGQ0ZkLpxrYbjXDp/qdOsX8+9hP+VmE";
    bool known = err == CP_OK && !a.disabled;
    bool ok = gw_auth_verify(known ? a.password_hash : nobody, pw, strlen(pw)) && known;
    json_decref(in);
    if (err != CP_OK && err != CP_ENOENT) {
        error(c, 503, "unavailable", "the database is unavailable");
        return;
    }
    c->me = a; /* for the audit row: who tried (id 0 if no such account) */
    if (!ok) {
        snprintf(c->me.role, sizeof c->me.role, "%s", err == CP_OK ? a.role : "unknown");
        audit(c, 0, "session", "session.create", "denied");
        error(c, 401, "unauthorized", "wrong username or password");
        return;
    }
    uint8_t raw[32], h[32];
    char token[48];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        error(c, 503, "unavailable", "no random bytes for a session token");
        return;
    }
    base64url(raw, sizeof raw, token);
    token_hash(token, h);
    int hours = c->ctx->conf->http.session_hours;
    err = store_cases_session_create(c->ctx->pg, a.id, h, hours, c->rq->source, &ei);
    if (err != CP_OK) {
        error(c, 503, "unavailable", "the database is unavailable");
        return;
    }
    audit(c, 0, "session", "session.create", "allowed");
    reply(c, 201, json_pack("{s:s,s:s,s:s,s:i}", "token", token, "username", a.username, "role",
                            a.role, "expires_in", hours * 3600));
}

static void logout(call_t *c)
{
    uint8_t h[32];
    token_hash(c->rq->bearer, h);
    cp_errinfo_t ei = {0};
    store_cases_session_delete(c->ctx->pg, h, &ei);
    reply(c, 204, NULL);
}

/* ---- cases ---- */

static bool own(const call_t *c, const store_case_row_t *r)
{
    return case_row_own(r, c->role, c->me.id);
}

static json_t *case_json(const call_t *c, const store_case_row_t *r)
{
    case_sla_t s;
    case_row_sla(r, c->ctx->conf, (int64_t)time(NULL), &s);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:I,s:s,s:I,s:b}}", "token",
                     r->token, "state", r->state, "patient_name", r->patient_name, "birth_date",
                     r->birth_date, "condition", r->condition, "subspecialty", r->subspecialty,
                     "navigator", r->navigator, "specialist", r->specialist, "clocks",
                     "records", case_sla_name(s.records), "records_due", (json_int_t)s.records_due,
                     "opinion", case_sla_name(s.opinion), "opinion_due",
                     (json_int_t)s.opinion_due, "waiting_on_patient", s.paused);
}

static bool is_own(void *ud, const store_case_row_t *r)
{
    return own(ud, r);
}

static long query_long(const char *q, const char *key, long def, long max)
{
    size_t k = strlen(key);
    for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
        if (strncmp(p, key, k) == 0 && p[k] == '=') {
            long v = strtol(p + k + 1, NULL, 10);
            return v < 0 ? def : v > max ? max : v;
        }
    return def;
}

static void list_cases(call_t *c)
{
    if (c->role == CASE_ROLE_ADMINISTRATOR) {
        audit(c, 0, "cases", "case.list", "denied");
        error(c, 403, "forbidden", "administrators read no clinical content");
        return;
    }
    long skip = query_long(c->rq->query, "offset", 0, 1L << 30);
    long limit = query_long(c->rq->query, "limit", 50, 200);
    case_listed_t *v;
    size_t n;
    cp_errinfo_t ei = {0};
    if (case_worklist(c->ctx->pg, c->ctx->conf, (int64_t)time(NULL), is_own, c, &v, &n, &ei) !=
        CP_OK) {
        error(c, 503, "unavailable", "the database is unavailable");
        return;
    }
    json_t *items = json_array();
    for (size_t i = (size_t)skip; i < n && i < (size_t)skip + (size_t)limit; i++)
        json_array_append_new(items, case_json(c, &v[i].row));
    free(v);
    audit(c, 0, "cases", "case.list", "allowed");
    reply(c, 200, json_pack("{s:o,s:I,s:I,s:I}", "cases", items, "total", (json_int_t)n,
                            "offset", (json_int_t)skip, "limit", (json_int_t)limit));
}

/* The case named in the path, if it is the caller's: else answered (404, audited). */
static bool find_case(call_t *c, const char *token_in, store_case_row_t *r)
{
    char t[CASE_TOKEN_LEN + 1];
    cp_errinfo_t ei = {0};
    cp_err_t err = case_token_parse(token_in, t) ? store_cases_get(c->ctx->pg, t, r, &ei)
                                                 : CP_ENOENT;
    if (err != CP_OK && err != CP_ENOENT) {
        error(c, 503, "unavailable", "the database is unavailable");
        return false;
    }
    if (err == CP_OK && own(c, r))
        return true;
    audit(c, err == CP_OK ? r->id : 0, "case", "case.read", "denied");
    if (c->role == CASE_ROLE_ADMINISTRATOR)
        error(c, 403, "forbidden", "administrators read no clinical content");
    else
        error(c, 404, "not_found", "no such case among yours");
    return false;
}

static bool event_json(void *ud, const store_case_event_t *e)
{
    json_array_append_new(ud, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "from", e->from, "to",
                                        e->to, "by", e->actor, "role", e->role, "reason",
                                        e->reason, "at", e->at));
    return true;
}

static void get_case(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!find_case(c, token, &r))
        return;
    json_t *events = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_events(c->ctx->pg, r.id, event_json, events, &ei) != CP_OK) {
        json_decref(events);
        error(c, 503, "unavailable", "the database is unavailable");
        return;
    }
    audit(c, r.id, "case", "case.read", "allowed");
    json_t *j = case_json(c, &r);
    json_object_set_new(j, "timeline", events);
    reply(c, 200, j);
}

/* The body as a JSON object, or NULL (400 answered). */
static json_t *body_object(call_t *c, const char *usage)
{
    json_error_t je;
    json_t *in = json_loadb(c->rq->body, c->rq->body_len, 0, &je);
    if (in != NULL && json_is_object(in))
        return in;
    json_decref(in);
    error(c, 400, "bad_request", usage);
    return NULL;
}

/* A navigator opens a case and is its navigator. */
static void open_case(call_t *c)
{
    if (c->role != CASE_ROLE_NAVIGATOR) {
        audit(c, 0, "case", "case.create", "denied");
        error(c, 403, "forbidden", "navigators open cases");
        return;
    }
    static const char usage[] = "send {\"patient_name\", \"condition\", \"subspecialty\", "
                                "\"first_opinion\", and optionally \"birth_date\", \"sex\"}";
    json_t *in = body_object(c, usage);
    if (in == NULL)
        return;
    store_case_new_t n = {.birth_date = "", .sex = "", .navigator_id = c->me.id};
    bool known = false;
    cp_errinfo_t ei = {0};
    if (json_unpack(in, "{s:s,s:s,s:s,s:s,s?s,s?s}", "patient_name", &n.patient_name,
                    "condition", &n.condition, "subspecialty", &n.subspecialty, "first_opinion",
                    &n.first_opinion, "birth_date", &n.birth_date, "sex", &n.sex) != 0 ||
        !n.patient_name[0] || !n.condition[0] || !n.first_opinion[0] ||
        (n.birth_date[0] && (strlen(n.birth_date) != 8 ||
                             strspn(n.birth_date, "0123456789") != 8)) ||
        (n.sex[0] && strcmp(n.sex, "M") && strcmp(n.sex, "F") && strcmp(n.sex, "O"))) {
        error(c, 400, "bad_request", usage);
        json_decref(in);
        return;
    }
    cp_err_t err = store_cases_subspecialty_known(c->ctx->pg, n.subspecialty, &known, &ei);
    if (err == CP_OK && !known) {
        error(c, 400, "unknown_subspecialty", "no such subspecialty");
        json_decref(in);
        return;
    }
    char token[CASE_TOKEN_LEN + 1];
    int64_t id = 0;
    store_actor_t by = actor(c);
    if (err == CP_OK)
        err = case_open(c->ctx->pg, &n, &by, token, &id, &ei);
    json_decref(in);
    if (err == CP_EINVAL)
        error(c, 400, "bad_request", usage);
    else if (err != CP_OK)
        error(c, 503, "unavailable", "the database is unavailable");
    else
        reply(c, 201, json_pack("{s:s,s:s}", "token", token, "state", "registered"));
}

/* The case's navigator asks a provider for its records. */
static void add_request(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!find_case(c, token, &r))
        return;
    if (c->role != CASE_ROLE_NAVIGATOR) {
        audit(c, r.id, "request", "request.create", "denied");
        error(c, 403, "forbidden", "the case's navigator asks for records");
        return;
    }
    static const char usage[] = "send {\"provider\", and \"patient_id\" with \"issuer\" or "
                                "\"patient_name\" with \"birth_date\"; optionally "
                                "\"ae_title\", \"fax\", \"email\"}";
    json_t *in = body_object(c, usage);
    if (in == NULL)
        return;
    store_request_new_t q = {0};
    bool ok = json_unpack(in, "{s:s,s?s,s?s,s?s,s?s,s?s,s?s,s?s}", "provider", &q.provider,
                          "ae_title", &q.ae_title, "fax", &q.fax, "email", &q.email,
                          "patient_id", &q.patient_id, "issuer", &q.issuer, "patient_name",
                          &q.patient_name, "birth_date", &q.birth_date) == 0 &&
              q.provider[0] &&
              ((q.patient_id && q.patient_id[0]) ||
               (q.patient_name && q.patient_name[0] && q.birth_date && q.birth_date[0]));
    int64_t id = 0;
    cp_errinfo_t ei = {0};
    store_actor_t by = actor(c);
    cp_err_t err = ok ? store_cases_request_add(c->ctx->pg, r.id, &q, &by, &id, &ei) : CP_OK;
    json_decref(in);
    if (!ok)
        error(c, 400, "bad_request", usage);
    else if (err != CP_OK)
        error(c, 503, "unavailable", "the database is unavailable");
    else
        reply(c, 201, json_pack("{s:I}", "request", (json_int_t)id));
}

/* The case's navigator marks it waiting on the patient, or no longer. */
static void pause_case(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!find_case(c, token, &r))
        return;
    json_t *in = body_object(c, "send {\"waiting\": true|false, \"reason\": ...}");
    if (in == NULL)
        return;
    int waiting = 0;
    const char *why = "";
    if (json_unpack(in, "{s:b,s?s}", "waiting", &waiting, "reason", &why) != 0) {
        json_decref(in);
        error(c, 400, "bad_request", "send {\"waiting\": true|false, \"reason\": ...}");
        return;
    }
    if (c->role != CASE_ROLE_NAVIGATOR) {
        json_decref(in);
        audit(c, r.id, "case", waiting ? "case.pause" : "case.resume", "denied");
        error(c, 403, "forbidden", "the case's navigator says when it waits on the patient");
        return;
    }
    store_actor_t by = actor(c);
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_pause(c->ctx->pg, r.id, waiting, why, &by, &ei);
    json_decref(in);
    if (err == CP_ENOENT)
        error(c, 409, "unchanged", waiting ? "the case waits already, or is finished"
                                           : "the case is not waiting");
    else if (err != CP_OK)
        error(c, 503, "unavailable", "the database is unavailable");
    else
        reply(c, 200, json_pack("{s:s,s:b}", "token", r.token, "waiting", waiting));
}

static bool load_json(void *ud, const store_specialist_load_t *l)
{
    json_array_append_new(ud, json_pack("{s:s,s:s,s:I}", "username", l->username, "name",
                                        l->display_name, "open_cases",
                                        (json_int_t)l->open_cases));
    return true;
}

/* The specialists of the case's subspecialty, least loaded first (navigators). */
static void suggestions(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!find_case(c, token, &r))
        return;
    if (c->role != CASE_ROLE_NAVIGATOR) {
        error(c, 403, "forbidden", "navigators assign specialists");
        return;
    }
    json_t *items = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_suggest(c->ctx->pg, r.id, load_json, items, &ei) != CP_OK) {
        json_decref(items);
        error(c, 503, "unavailable", "the database is unavailable");
        return;
    }
    reply(c, 200, json_pack("{s:o}", "specialists", items));
}

/* The case's navigator assigns its specialist (one of the case's subspecialty). */
static void assign_specialist(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!find_case(c, token, &r))
        return;
    if (c->role != CASE_ROLE_NAVIGATOR) {
        audit(c, r.id, "case", "case.assign specialist", "denied");
        error(c, 403, "forbidden", "the case's navigator assigns its specialist");
        return;
    }
    json_t *in = body_object(c, "send {\"username\": SPECIALIST}");
    if (in == NULL)
        return;
    const char *user = NULL;
    store_account_t a = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = json_unpack(in, "{s:s}", "username", &user) == 0
                       ? store_cases_account_get(c->ctx->pg, user, &a, &ei)
                       : CP_EINVAL;
    /* one of the case's subspecialty: among the suggestions */
    json_t *fit = json_array();
    if (err == CP_OK)
        err = store_cases_suggest(c->ctx->pg, r.id, load_json, fit, &ei);
    bool qualified = false;
    for (size_t i = 0; err == CP_OK && i < json_array_size(fit); i++)
        qualified |= strcmp(json_string_value(json_object_get(json_array_get(fit, i),
                                                              "username")),
                            a.username) == 0;
    json_decref(fit);
    store_actor_t by = actor(c);
    if (err == CP_OK && qualified)
        err = store_cases_assign(c->ctx->pg, r.id, "specialist", a.id, &by, &ei);
    if (err == CP_EINVAL || err == CP_ENOENT || (err == CP_OK && !qualified))
        error(c, 400, "bad_request", "not an active specialist of the case's subspecialty");
    else if (err != CP_OK)
        error(c, 503, "unavailable", "the database is unavailable");
    else
        reply(c, 200, json_pack("{s:s,s:s}", "token", r.token, "specialist", a.username));
    json_decref(in);
}

/* The case's specialist writes (or rewrites) the opinion's text. */
static void write_opinion(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!find_case(c, token, &r))
        return;
    if (c->role != CASE_ROLE_SPECIALIST) {
        audit(c, r.id, "opinion", "opinion.write", "denied");
        error(c, 403, "forbidden", "the case's specialist writes the opinion");
        return;
    }
    json_t *in = body_object(c, "send {\"text\": ...}");
    if (in == NULL)
        return;
    const char *text = NULL;
    bool ok = json_unpack(in, "{s:s}", "text", &text) == 0 && text[strspn(text, " \t\r\n")];
    store_actor_t by = actor(c);
    cp_errinfo_t ei = {0};
    cp_err_t err = ok ? store_cases_opinion_put(c->ctx->pg, r.id, text, NULL, 0, NULL, &by, &ei)
                      : CP_OK;
    json_decref(in);
    if (!ok)
        error(c, 400, "bad_request", "send {\"text\": ...} with some text");
    else if (err != CP_OK)
        error(c, 503, "unavailable", "the database is unavailable");
    else
        reply(c, 200, json_pack("{s:s,s:b}", "token", r.token, "opinion", 1));
}

static void move_case(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!find_case(c, token, &r))
        return;
    json_error_t je;
    json_t *in = json_loadb(c->rq->body, c->rq->body_len, 0, &je);
    const char *to = NULL, *why = "";
    case_state_t from, want;
    if (in == NULL || json_unpack(in, "{s:s,s?s}", "to", &to, "reason", &why) != 0 ||
        !case_state_parse(to, &want) || !case_state_parse(r.state, &from)) {
        json_decref(in);
        error(c, 400, "bad_request", "send {\"to\": STATE, \"reason\": ...}");
        return;
    }
    char action[96];
    snprintf(action, sizeof action, "case.move %s -> %s", r.state, to);
    if (!case_transition_allowed(from, want, c->role)) {
        json_decref(in);
        audit(c, r.id, "case", action, "denied");
        error(c, 409, "transition_not_allowed", "your role may not move the case that way");
        return;
    }
    store_actor_t by = actor(c);
    cp_errinfo_t ei = {0};
    bool written = true;
    cp_err_t err = CP_OK;
    if (want == CASE_OPINION_DRAFTED || want == CASE_OPINION_PUBLISHED)
        err = store_cases_opinion_exists(c->ctx->pg, r.id, &written, NULL, &ei);
    if (err == CP_OK && written)
        err = store_cases_move(c->ctx->pg, r.id, r.state, to, why, &by, &ei);
    if (err == CP_OK && !written)
        error(c, 409, "no_opinion", "write the opinion first");
    else if (err == CP_ENOENT)
        error(c, 409, "moved_meanwhile", "the case left that state meanwhile");
    else if (err != CP_OK)
        error(c, 503, "unavailable", "the database is unavailable");
    else
        reply(c, 200, json_pack("{s:s,s:s}", "token", r.token, "state", to));
    json_decref(in); /* to and why point into it */
}

static bool record_json(void *ud, const store_case_record_t *r)
{
    json_array_append_new(ud, json_pack("{s:s,s:s,s:s,s:f,s:s,s:s}", "study_uid", r->study_uid,
                                        "series", r->modality_count ? r->modality_count : "",
                                        "matched_by", r->matched_by, "confidence", r->confidence,
                                        "detail", r->detail, "at", r->at));
    return true;
}

static void case_records(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!find_case(c, token, &r))
        return;
    json_t *items = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_records(c->ctx->pg, r.id, record_json, items, &ei) != CP_OK) {
        json_decref(items);
        error(c, 503, "unavailable", "the database is unavailable");
        return;
    }
    audit(c, r.id, "records", "case.records", "allowed");
    reply(c, 200, json_pack("{s:o}", "records", items));
}

static bool triage_json(void *ud, const store_triage_item_t *t)
{
    json_array_append_new(ud, json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:s}", "item",
                                        (json_int_t)t->id, "study_uid", t->study_uid,
                                        "instances", (json_int_t)t->instances, "calling_ae",
                                        t->calling_ae, "called_ae", t->called_ae, "received_at",
                                        t->received_at, "reason", t->reason, "candidates",
                                        t->candidates));
    return true;
}

static void triage(call_t *c)
{
    if (c->role != CASE_ROLE_NAVIGATOR) {
        audit(c, 0, "triage", "triage.list", "denied");
        error(c, 403, "forbidden", "the triage queue is the navigators'");
        return;
    }
    json_t *items = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_triage_list(c->ctx->pg, triage_json, items, &ei) != CP_OK) {
        json_decref(items);
        error(c, 503, "unavailable", "the database is unavailable");
        return;
    }
    audit(c, 0, "triage", "triage.list", "allowed");
    reply(c, 200, json_pack("{s:o}", "items", items));
}

static void triage_decide(call_t *c, const char *item)
{
    char *end = NULL;
    long long n = strtoll(item, &end, 10);
    if (c->role != CASE_ROLE_NAVIGATOR) {
        audit(c, 0, "triage", "triage.decide", "denied");
        error(c, 403, "forbidden", "the triage queue is the navigators'");
        return;
    }
    json_error_t je;
    json_t *in = json_loadb(c->rq->body, c->rq->body_len, 0, &je);
    const char *decision = NULL, *token = NULL, *why = NULL;
    char t[CASE_TOKEN_LEN + 1];
    bool ok = n > 0 && *end == '\0' && in != NULL &&
              json_unpack(in, "{s:s,s?s,s:s}", "decision", &decision, "token", &token,
                          "reason", &why) == 0 &&
              (strcmp(decision, "reject") == 0 ||
               (strcmp(decision, "attach") == 0 && token && case_token_parse(token, t)));
    if (!ok) {
        json_decref(in);
        error(c, 400, "bad_request",
              "send {\"decision\": \"attach\", \"token\": CASE, \"reason\": ...} or "
              "{\"decision\": \"reject\", \"reason\": ...}");
        return;
    }
    store_case_row_t r = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = decision[0] == 'a' ? store_cases_get(c->ctx->pg, t, &r, &ei) : CP_OK;
    store_actor_t by = actor(c);
    if (err == CP_OK)
        err = store_cases_triage_decide(c->ctx->pg, n, r.id, why, &by, &ei);
    if (err == CP_ENOENT)
        error(c, 409, "not_open", "no such case, or the item was decided meanwhile");
    else if (err != CP_OK)
        error(c, 503, "unavailable", "the database is unavailable");
    else
        reply(c, 200, json_pack("{s:I,s:s}", "item", (json_int_t)n, "decision", decision));
    json_decref(in);
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
        error(c, 404, "not_found", "no such page");
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

void gw_api_handle(const gw_ctx_t *ctx, const gw_api_request_t *rq, gw_api_response_t *rs)
{
    call_t c = {ctx, rq, rs, {0}, CASE_ROLE_PATIENT};
    const char *p = rq->path;
    static const char cases[] = "/api/v1/cases/";
    if (strcmp(p, "/api/v1/sessions") == 0) {
        if (is(&c, "POST"))
            login(&c);
        else
            error(&c, 405, "method_not_allowed", "POST to sign in");
        return;
    }
    if (strncmp(p, "/api/", 5) != 0 && is(&c, "GET")) {
        console_file(&c);
        return;
    }
    if (strncmp(p, "/api/v1/", 8) != 0) {
        error(&c, 404, "not_found", "no such endpoint");
        return;
    }
    if (!signed_in(&c))
        return;
    const char *rest = strncmp(p, cases, sizeof cases - 1) == 0 ? p + sizeof cases - 1 : NULL;
    const char *slash = rest ? strchr(rest, '/') : NULL;
    char token[32] = "";
    if (rest != NULL)
        snprintf(token, sizeof token, "%.*s", slash ? (int)(slash - rest) : (int)strlen(rest),
                 rest);
    if (strcmp(p, "/api/v1/sessions/current") == 0 && is(&c, "DELETE"))
        logout(&c);
    else if (strcmp(p, "/api/v1/me") == 0 && is(&c, "GET"))
        reply(&c, 200, json_pack("{s:s,s:s,s:s}", "username", c.me.username, "name",
                                 c.me.display_name, "role", c.me.role));
    else if (strcmp(p, "/api/v1/cases") == 0 && is(&c, "GET"))
        list_cases(&c);
    else if (rest != NULL && slash == NULL && is(&c, "GET"))
        get_case(&c, token);
    else if (rest != NULL && slash != NULL && strcmp(slash, "/transitions") == 0 && is(&c, "POST"))
        move_case(&c, token);
    else if (strcmp(p, "/api/v1/cases") == 0 && is(&c, "POST"))
        open_case(&c);
    else if (rest != NULL && slash != NULL && strcmp(slash, "/requests") == 0 && is(&c, "POST"))
        add_request(&c, token);
    else if (rest != NULL && slash != NULL && strcmp(slash, "/waiting") == 0 && is(&c, "PUT"))
        pause_case(&c, token);
    else if (rest != NULL && slash != NULL && strcmp(slash, "/specialists") == 0 &&
             is(&c, "GET"))
        suggestions(&c, token);
    else if (rest != NULL && slash != NULL && strcmp(slash, "/specialist") == 0 && is(&c, "PUT"))
        assign_specialist(&c, token);
    else if (rest != NULL && slash != NULL && strcmp(slash, "/opinion") == 0 && is(&c, "PUT"))
        write_opinion(&c, token);
    else if (rest != NULL && slash != NULL && strcmp(slash, "/records") == 0 && is(&c, "GET"))
        case_records(&c, token);
    else if (strcmp(p, "/api/v1/triage") == 0 && is(&c, "GET"))
        triage(&c);
    else if (strncmp(p, "/api/v1/triage/", 15) == 0 && is(&c, "POST"))
        triage_decide(&c, p + 15);
    else
        error(&c, 404, "not_found", "no such endpoint");
}
