/* gateway/http/api_cases.c -- the API's cases: listing them by urgency, opening one, its
 * page (facts, clocks, timeline), its moves, records requests and received records, and
 * the navigators' triage queue (api_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "caselist.h"
#include "conf.h"
#include "cp_mem.h"

/* A case's members, inside an object the caller opened */
static void case_members(gw_json_out_t *o, const call_t *c, const store_case_row_t *r)
{
    case_sla_t s;
    case_row_sla(r, c->ctx->conf, (int64_t)time(NULL), &s);
    gw_json_str(o, "token", r->token);
    gw_json_str(o, "state", r->state);
    gw_json_str(o, "patient_name", r->patient_name);
    gw_json_str(o, "birth_date", r->birth_date);
    gw_json_str(o, "sex", r->sex);
    gw_json_str(o, "condition", r->condition);
    gw_json_str(o, "condition_code", r->condition_code);
    gw_json_str(o, "subspecialty", r->subspecialty);
    gw_json_str(o, "navigator", r->navigator);
    gw_json_str(o, "navigator_name", r->navigator_name);
    gw_json_str(o, "specialist", r->specialist);
    gw_json_str(o, "specialist_name", r->specialist_name);
    if (c->role == CASE_ROLE_NAVIGATOR) /* who may be sent a password link (api_accounts.c) */
        gw_json_str(o, "patient_account", r->patient_account);
    gw_json_object(o, "clocks");
    gw_json_str(o, "records", case_sla_name(s.records));
    gw_json_int(o, "records_due", s.records_due);
    gw_json_str(o, "opinion", case_sla_name(s.opinion));
    gw_json_int(o, "opinion_due", s.opinion_due);
    gw_json_bool(o, "waiting_on_patient", s.paused);
    gw_json_end_object(o);
    gw_json_int(o, "records_received", r->records_received);
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

typedef struct page {
    call_t *c;
    gw_json_out_t *out;
} page_t;

static bool page_json(void *ud, const store_case_row_t *r)
{
    page_t *p = ud;
    if (api_own(p->c, r)) { /* the database selected the caller's cases; checked again */
        gw_json_object(p->out, NULL);
        case_members(p->out, p->c, r);
        gw_json_end_object(p->out);
    }
    return true;
}

/* The caller's cases, most urgent first, a page at a time (sorted by the database). */
void api_list_cases(call_t *c)
{
    if (c->role == CASE_ROLE_ADMINISTRATOR) {
        api_audit(c, 0, "cases", "case.list", "denied");
        api_error(c, 403, "forbidden", "administrators read no clinical content");
        return;
    }
    const conf_t *conf = c->ctx->conf;
    store_worklist_page_t pg = {
        .scope = c->role == CASE_ROLE_PATIENT     ? STORE_CASES_OF_PATIENT
                 : c->role == CASE_ROLE_NAVIGATOR ? STORE_CASES_OF_NAVIGATOR
                                                  : STORE_CASES_OF_SPECIALIST,
        .account_id = c->me.id,
        .now = (int64_t)time(NULL),
        .records_days = conf->cases.records_days,
        .opinion_days = conf->cases.opinion_days,
        .offset = query_long(c->rq->query, "offset", 0, 1L << 30),
        .limit = query_long(c->rq->query, "limit", 50, 200)};
    gw_json_out_t out = {0};
    gw_json_object(&out, NULL);
    gw_json_array(&out, "cases");
    page_t p = {c, &out};
    int64_t total = 0;
    cp_errinfo_t ei = {0};
    if (store_cases_worklist(c->ctx->pg, &pg, page_json, &p, &total, &ei) != CP_OK) {
        free(gw_json_finish(&out, NULL));
        api_unavailable(c);
        return;
    }
    gw_json_end_array(&out);
    gw_json_int(&out, "total", total);
    gw_json_int(&out, "offset", pg.offset);
    gw_json_int(&out, "limit", pg.limit);
    gw_json_end_object(&out);
    api_audit_read(c, 0, "cases", "case.list");
    api_reply_text(c, 200, &out);
}

static bool event_json(void *ud, const store_case_event_t *e)
{
    gw_json_out_t *o = ud;
    gw_json_object(o, NULL);
    gw_json_str(o, "from", e->from);
    gw_json_str(o, "to", e->to);
    gw_json_str(o, "by", e->actor);
    gw_json_str(o, "role", e->role);
    gw_json_str(o, "reason", e->reason);
    gw_json_str(o, "at", e->at);
    gw_json_end_object(o);
    return true;
}

void api_get_case(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r))
        return;
    cp_errinfo_t ei = {0};
    char *first = NULL; /* what the specialist is asked to review */
    if (store_cases_first_opinion(c->ctx->pg, r.id, &first, &ei) != CP_OK) {
        api_unavailable(c);
        return;
    }
    gw_json_out_t out = {0};
    gw_json_object(&out, NULL);
    case_members(&out, c, &r);
    gw_json_str(&out, "first_opinion", first);
    free(first);
    gw_json_array(&out, "timeline");
    if (store_cases_events(c->ctx->pg, r.id, event_json, &out, &ei) != CP_OK) {
        free(gw_json_finish(&out, NULL));
        api_unavailable(c);
        return;
    }
    gw_json_end_array(&out);
    gw_json_end_object(&out);
    api_audit_read(c, r.id, "case", "case.read");
    api_reply_text(c, 200, &out);
}

/* The patient's own account, when the case names one: it must be a patient's, active.
 * false: answered 400 (or 503). */
static bool patient_account(call_t *c, const char *username, store_case_new_t *n)
{
    if (username == NULL)
        return true;
    store_account_t a = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_account_get(c->ctx->pg, username, &a, &ei);
    if (err == CP_OK && strcmp(a.role, "patient") == 0 && !a.disabled) {
        n->patient_account_id = a.id;
        return true;
    }
    if (err != CP_OK && err != CP_ENOENT)
        api_unavailable(c);
    else
        api_error(c, 400, "unknown_patient", "patient_username names no active patient account");
    return false;
}

/* Opens the case checked by api_open_case. */
static void create_case(call_t *c, store_case_new_t *n)
{
    bool known = false;
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_subspecialty_known(c->ctx->pg, n->subspecialty, &known, &ei);
    if (err == CP_OK && !known) {
        api_error(c, 400, "unknown_subspecialty", "no such subspecialty");
        return;
    }
    char token[CASE_TOKEN_LEN + 1];
    int64_t id = 0;
    store_actor_t by = api_actor(c);
    if (err == CP_OK)
        err = case_open(c->ctx->pg, n, &by, token, &id, &ei);
    if (err != CP_OK)
        api_unavailable(c);
    else
        api_reply(c, 201, json_pack("{s:s,s:s}", "token", token, "state", "registered"));
}

/* A navigator opens a case and is its navigator; with a condition code, the answers to
 * its questionnaire are checked against it. */
void api_open_case(call_t *c)
{
    if (c->role != CASE_ROLE_NAVIGATOR) {
        api_audit(c, 0, "case", "case.create", "denied");
        api_error(c, 403, "forbidden", "navigators open cases");
        return;
    }
    static const char usage[] = "send {\"patient_name\", \"condition\", \"first_opinion\", "
                                "\"subspecialty\" or \"condition_code\" (GET /conditions), and "
                                "optionally \"questionnaire\" (its answers), \"birth_date\", "
                                "\"sex\"}";
    json_t *in = api_body(c, usage);
    if (in == NULL)
        return;
    store_case_new_t n = {.birth_date = "", .sex = "", .navigator_id = c->me.id};
    json_t *answers = NULL;
    const char *patient = NULL;
    if (json_unpack(in, "{s:s,s:s,s?s,s:s,s?s,s?s,s?s,s?o,s?s}", "patient_name",
                    &n.patient_name, "condition", &n.condition, "subspecialty", &n.subspecialty,
                    "first_opinion", &n.first_opinion, "birth_date", &n.birth_date, "sex",
                    &n.sex, "condition_code", &n.condition_code, "questionnaire", &answers,
                    "patient_username", &patient) != 0 ||
        !n.patient_name[0] || !n.condition[0] || !n.first_opinion[0] ||
        (n.subspecialty == NULL && n.condition_code == NULL) ||
        (answers != NULL && n.condition_code == NULL) ||
        (n.birth_date[0] && (strlen(n.birth_date) != 8 ||
                             strspn(n.birth_date, "0123456789") != 8)) ||
        (n.sex[0] && strcmp(n.sex, "M") && strcmp(n.sex, "F") && strcmp(n.sex, "O"))) {
        api_error(c, 400, "bad_request", usage);
        json_decref(in);
        return;
    }
    char sub[64], *text = NULL;
    if (patient_account(c, patient, &n) && api_case_condition(c, &n, answers, sub, &text))
        create_case(c, &n);
    free(text);
    json_decref(in);
}

/* The case's navigator asks a provider for its records. */
void api_add_request(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r))
        return;
    if (c->role != CASE_ROLE_NAVIGATOR) {
        api_audit(c, r.id, "request", "request.create", "denied");
        api_error(c, 403, "forbidden", "the case's navigator asks for records");
        return;
    }
    static const char usage[] = "send {\"provider\", and \"patient_id\" with \"issuer\" or "
                                "\"patient_name\" with \"birth_date\"; optionally "
                                "\"ae_title\", \"fax\", \"email\"}";
    json_t *in = api_body(c, usage);
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
    store_actor_t by = api_actor(c);
    cp_err_t err = ok ? store_cases_request_add(c->ctx->pg, r.id, &q, &by, &id, &ei) : CP_OK;
    json_decref(in);
    if (!ok)
        api_error(c, 400, "bad_request", usage);
    else if (err != CP_OK)
        api_unavailable(c);
    else
        api_reply(c, 201, json_pack("{s:I}", "request", (json_int_t)id));
}

/* The case's navigator marks it waiting on the patient, or no longer. */
void api_pause_case(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r))
        return;
    json_t *in = api_body(c, "send {\"waiting\": true|false, \"reason\": ...}");
    if (in == NULL)
        return;
    int waiting = 0;
    const char *why = "";
    if (json_unpack(in, "{s:b,s?s}", "waiting", &waiting, "reason", &why) != 0) {
        json_decref(in);
        api_error(c, 400, "bad_request", "send {\"waiting\": true|false, \"reason\": ...}");
        return;
    }
    if (c->role != CASE_ROLE_NAVIGATOR) {
        json_decref(in);
        api_audit(c, r.id, "case", waiting ? "case.pause" : "case.resume", "denied");
        api_error(c, 403, "forbidden", "the case's navigator says when it waits on the patient");
        return;
    }
    store_actor_t by = api_actor(c);
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_pause(c->ctx->pg, r.id, waiting, why, &by, &ei);
    json_decref(in);
    if (err == CP_ENOENT)
        api_error(c, 409, "unchanged", waiting ? "the case waits already, or is finished"
                                           : "the case is not waiting");
    else if (err != CP_OK)
        api_unavailable(c);
    else
        api_reply(c, 200, json_pack("{s:s,s:b}", "token", r.token, "waiting", waiting));
}

void api_move_case(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r))
        return;
    json_error_t je;
    json_t *in = json_loadb(c->rq->body, c->rq->body_len, 0, &je);
    const char *to = NULL, *why = "";
    case_state_t from, want;
    if (in == NULL || json_unpack(in, "{s:s,s?s}", "to", &to, "reason", &why) != 0 ||
        !case_state_parse(to, &want) || !case_state_parse(r.state, &from)) {
        json_decref(in);
        api_error(c, 400, "bad_request", "send {\"to\": STATE, \"reason\": ...}");
        return;
    }
    if (want == CASE_WITHDRAWN && why[strspn(why, " \t\r\n")] == '\0') {
        json_decref(in); /* it cannot be undone: the navigator is to know why */
        api_error(c, 400, "reason_needed", "say why the request is withdrawn");
        return;
    }
    char action[96];
    snprintf(action, sizeof action, "case.move %s -> %s", r.state, to);
    if (!case_transition_allowed(from, want, c->role)) {
        json_decref(in);
        api_audit(c, r.id, "case", action, "denied");
        api_error(c, 409, "transition_not_allowed", "your role may not move the case that way");
        return;
    }
    store_actor_t by = api_actor(c);
    cp_errinfo_t ei = {0};
    bool written = true;
    cp_err_t err = CP_OK;
    if (want == CASE_OPINION_DRAFTED || want == CASE_OPINION_PUBLISHED)
        err = store_cases_opinion_exists(c->ctx->pg, r.id, &written, NULL, &ei);
    if (err == CP_OK && written)
        err = store_cases_move(c->ctx->pg, r.id, r.state, to, why, &by, &ei);
    if (err == CP_OK && !written)
        api_error(c, 409, "no_opinion", "write the opinion first");
    else if (err == CP_ENOENT)
        api_error(c, 409, "moved_meanwhile", "the case left that state meanwhile");
    else if (err != CP_OK)
        api_unavailable(c);
    else
        api_reply(c, 200, json_pack("{s:s,s:s}", "token", r.token, "state", to));
    json_decref(in); /* to and why point into it */
}

static json_t *demographics_json(const store_demographics_t *d)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "patient_id", d->patient_id, "issuer", d->issuer,
                     "name", d->name, "birth_date", d->birth_date, "sex", d->sex);
}

/* The study's facts (store_study_facts_t) as members of o. */
static void study_facts_json(json_t *o, const store_study_facts_t *f)
{
    json_object_update_new(o, json_pack("{s:s,s:s,s:s,s:s,s:I}", "study_date", f->study_date,
                                        "description", f->description, "accession", f->accession,
                                        "modalities", f->modalities, "series_count",
                                        (json_int_t)f->series));
}

/* The [peer] section that names the calling AE title, "" when none does: the sender in
 * the words of the configuration ("st mary"), beside its AE title. */
static const char *sender_name(const call_t *c, const char *calling_ae)
{
    const conf_peer_t *p = conf_find_peer(c->ctx->conf, calling_ae);
    return p != NULL ? p->name : "";
}

typedef struct records_ctx {
    const call_t *c;
    json_t *items;
    bool failed;
} records_ctx_t;

/* A study attached to the case: how it matched, whose it is as sent, what it is, and who
 * sent it, so that a person recognises it without its UID. */
static bool record_json(void *ud, const store_case_record_t *r)
{
    records_ctx_t *x = ud;
    json_t *o = json_pack("{s:s,s:s,s:s,s:f,s:s,s:s,s:o,s:I,s:s,s:s,s:s,s:s,s:I}", "study_uid",
                          r->study_uid, "series", r->modality_count ? r->modality_count : "",
                          "matched_by", r->matched_by, "confidence", r->confidence, "detail",
                          r->detail, "at", r->at, "patient", demographics_json(&r->patient),
                          "instances", (json_int_t)r->study.instances, "calling_ae", r->calling_ae,
                          "sender", sender_name(x->c, r->calling_ae), "provider", r->provider,
                          "received_at", r->received_at, "request", (json_int_t)r->request_id);
    if (o == NULL) {
        x->failed = true;
        return false;
    }
    study_facts_json(o, &r->study);
    json_array_append_new(x->items, o);
    return true;
}

void api_case_records(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r))
        return;
    records_ctx_t x = {c, json_array(), false};
    cp_errinfo_t ei = {0};
    if (store_cases_records(c->ctx->pg, r.id, record_json, &x, &ei) != CP_OK || x.failed) {
        json_decref(x.items);
        api_unavailable(c);
        return;
    }
    api_audit_read(c, r.id, "records", "case.records");
    api_reply(c, 200, json_pack("{s:o}", "records", x.items));
}

typedef struct triage_ctx {
    const call_t *c;
    json_t *items;
    int64_t *cases; /* the candidate cases shown, each once: audited as read */
    size_t n_cases, cap_cases;
    bool failed;
} triage_ctx_t;

static void note_case(triage_ctx_t *x, int64_t id)
{
    for (size_t i = 0; i < x->n_cases; i++)
        if (x->cases[i] == id)
            return;
    if (x->n_cases == x->cap_cases) {
        x->cap_cases = x->cap_cases ? 2 * x->cap_cases : 16;
        x->cases = cp_xrealloc(x->cases, x->cap_cases * sizeof *x->cases);
    }
    x->cases[x->n_cases++] = id;
}

/* The item's candidate cases from the database's JSON text: each noted for the audit
 * trail, its internal id left out of the answer. */
static json_t *candidates_json(triage_ctx_t *x, const char *text)
{
    json_error_t je;
    json_t *a = json_loads(text, 0, &je);
    if (!json_is_array(a)) {
        json_decref(a);
        x->failed = true;
        return json_array();
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        note_case(x, (int64_t)json_integer_value(json_object_get(v, "case_id")));
        json_object_del(v, "case_id");
    }
    return a;
}

/* An item with the study's patient and facts, its candidate cases with the reason for
 * each, and, for an identity conflict, what it disagrees with ("conflicts_with"), so that
 * the navigator sees both side by side. */
static bool triage_json(void *ud, const store_triage_item_t *t)
{
    triage_ctx_t *x = ud;
    json_t *o = json_pack(
        "{s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "item", (json_int_t)t->id, "study_uid",
        t->study_uid, "instances", (json_int_t)t->instances, "calling_ae", t->calling_ae, "sender",
        sender_name(x->c, t->calling_ae), "called_ae", t->called_ae, "received_at", t->received_at,
        "reason", t->reason, "candidates", t->candidates, "patient", demographics_json(&t->patient),
        "candidate_cases", candidates_json(x, t->candidates_json));
    if (o == NULL) {
        x->failed = true;
        return false;
    }
    study_facts_json(o, &t->study);
    if (t->has_other) {
        json_t *w = demographics_json(&t->other);
        if (t->other_case[0])
            json_object_set_new(w, "case", json_string(t->other_case));
        json_object_set_new(o, "conflicts_with", w);
    }
    json_array_append_new(x->items, o);
    return true;
}

void api_triage(call_t *c)
{
    if (c->role != CASE_ROLE_NAVIGATOR) {
        api_audit(c, 0, "triage", "triage.list", "denied");
        api_error(c, 403, "forbidden", "the triage queue is the navigators'");
        return;
    }
    triage_ctx_t x = {.c = c, .items = json_array()};
    cp_errinfo_t ei = {0};
    bool ok = store_cases_triage_list(c->ctx->pg, triage_json, &x, &ei) == CP_OK && !x.failed;
    /* each candidate case's patient is shown: a read of that case, audited as such */
    for (size_t i = 0; ok && i < x.n_cases; i++)
        ok = api_audit(c, x.cases[i], "triage", "triage.candidate", "allowed");
    free(x.cases);
    if (!ok) {
        json_decref(x.items);
        api_unavailable(c);
        return;
    }
    api_audit_read(c, 0, "triage", "triage.list");
    api_reply(c, 200, json_pack("{s:o}", "items", x.items));
}

void api_triage_decide(call_t *c, const char *item)
{
    char *end = NULL;
    long long n = strtoll(item, &end, 10);
    if (c->role != CASE_ROLE_NAVIGATOR) {
        api_audit(c, 0, "triage", "triage.decide", "denied");
        api_error(c, 403, "forbidden", "the triage queue is the navigators'");
        return;
    }
    json_error_t je;
    json_t *in = json_loadb(c->rq->body, c->rq->body_len, 0, &je);
    const char *decision = NULL, *token = NULL, *why = NULL;
    char t[CASE_TOKEN_LEN + 1];
    bool ok = n > 0 && *end == '\0' && in != NULL &&
              json_unpack(in, "{s:s,s?s,s:s}", "decision", &decision, "token", &token, "reason",
                          &why) == 0 &&
              why[strspn(why, " \t\r\n")] != '\0' && /* a decision is kept with why */
              (strcmp(decision, "reject") == 0 || (strcmp(decision, "attach") == 0 && token));
    if (ok && decision[0] == 'a' && !case_token_parse(token, t)) {
        json_decref(in);
        api_error(c, 400, "not_a_token", "that is not a case token (they read like CP-7K3M-9Q; "
                                         "the last symbol is a check)");
        return;
    }
    if (!ok) {
        json_decref(in);
        api_error(c, 400, "bad_request",
                  "send {\"decision\": \"attach\", \"token\": CASE, \"reason\": ...} or "
                  "{\"decision\": \"reject\", \"reason\": ...}; the reason is required");
        return;
    }
    store_case_row_t r = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = decision[0] == 'a' ? store_cases_get(c->ctx->pg, t, &r, &ei) : CP_OK;
    store_actor_t by = api_actor(c);
    if (err == CP_OK)
        err = store_cases_triage_decide(c->ctx->pg, n, r.id, why, &by, &ei);
    if (err == CP_ENOENT)
        api_error(c, 409, "not_open", "no such case, or the item was decided meanwhile");
    else if (err != CP_OK)
        api_unavailable(c);
    else
        api_reply(c, 200, json_pack("{s:I,s:s}", "item", (json_int_t)n, "decision", decision));
    json_decref(in);
}

static bool request_json(void *ud, const store_request_row_t *q)
{
    json_array_append_new(
        ud, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "id", (json_int_t)q->id,
                      "provider", q->provider, "ae_title", q->ae_title, "fax", q->fax, "email",
                      q->email, "patient_id", q->patient_id, "issuer", q->issuer, "patient_name",
                      q->patient_name, "birth_date", q->birth_date, "state", q->state, "created_at",
                      q->created_at, "records", (json_int_t)q->records));
    return true;
}

/* The case's records requests: whom it asked, and what each brought. */
void api_list_requests(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r))
        return;
    json_t *items = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_requests(c->ctx->pg, r.id, request_json, items, &ei) != CP_OK) {
        json_decref(items);
        api_unavailable(c);
        return;
    }
    api_audit_read(c, r.id, "requests", "case.requests");
    api_reply(c, 200, json_pack("{s:o}", "requests", items));
}
