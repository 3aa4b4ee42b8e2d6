/* gateway/http/api_int.h -- what the API's endpoint files share: the call being answered,
 * the answer's helpers, and finding the caller's case. Layer: gateway (private to http/). */
#ifndef CASEPORT_API_INT_H
#define CASEPORT_API_INT_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "case.h"
#include "http.h"
#include "json_text.h"
#include "store_audit.h"
#include "store_cases.h"

typedef struct call {
    const gw_ctx_t *ctx;
    const gw_api_request_t *rq;
    gw_api_response_t *rs;
    store_account_t me;
    case_role_t role;
    bool glass; /* an administrator reading the case through a break-glass grant */
    store_audit_row_t read; /* api_audit_read: written before a 2xx answer; object NULL: none */
} call_t;

/* The answer: j (may be NULL) is dumped and released. */
void api_reply(call_t *c, int status, json_t *j);
/* The answer written with json_text.h's writer (finished and reset here). */
void api_reply_text(call_t *c, int status, gw_json_out_t *o);
/* {"error": {"code": code, "message": msg}} */
void api_error(call_t *c, int status, const char *code, const char *msg);
void api_unavailable(call_t *c); /* 503: the database is unavailable */
store_actor_t api_actor(const call_t *c);
/* An audit row, committed before this returns; false (logged) when it cannot be. */
bool api_audit(call_t *c, int64_t case_id, const char *object, const char *action,
               const char *outcome);
/* The read of patient data the answer holds: api_reply writes its audit row first and
 * answers 503 instead when the row cannot be written. */
void api_audit_read(call_t *c, int64_t case_id, const char *object, const char *action);
/* The case named in the path, if the caller may read it (theirs, or an administrator's
 * break-glass grant): else answered (404, or 403 for an administrator) and audited. */
bool api_find_case(call_t *c, const char *token, store_case_row_t *r);
/* The case answered for the caller's role: is it theirs? */
bool api_own(const call_t *c, const store_case_row_t *r);
/* The body as a JSON object, or NULL (400 with usage answered). */
json_t *api_body(call_t *c, const char *usage);
/* Refuses (403, audited) unless the caller has the role; true when they have it. */
bool api_role_is(call_t *c, case_role_t role, int64_t case_id, const char *object,
                 const char *action, const char *why);

/* A new random token (256 bits, base64url, 43 characters) and its SHA-256, the only
 * thing kept of it; false without random bytes. */
bool api_new_token(char token[48], uint8_t hash[32]);
void api_token_hash(const char *token, uint8_t out[32]);

/* The query parameter key, %XX decoded, into out; false when absent, empty or too long. */
bool api_query(const call_t *c, const char *key, char *out, size_t cap);

/* ---- the endpoints: api_cases.c ---- */
void api_list_cases(call_t *c);
void api_open_case(call_t *c);
void api_get_case(call_t *c, const char *token);
void api_move_case(call_t *c, const char *token);
void api_add_request(call_t *c, const char *token);
void api_list_requests(call_t *c, const char *token);
void api_pause_case(call_t *c, const char *token);
void api_case_records(call_t *c, const char *token);
void api_triage(call_t *c);
void api_triage_decide(call_t *c, const char *item);

/* ---- api_accounts.c: the administrators' ---- */
void api_list_accounts(call_t *c);
void api_add_account(call_t *c);
void api_change_account(call_t *c, const char *username);
/* POST accounts/{username}/password-link: a one-time link to set a new password, for any
 * account by an administrator, for a patient's by a navigator. */
void api_password_link(call_t *c, const char *rest);
/* GET break-glass: the grants in force; GET audit?case=TOKEN | ?account=USERNAME: a trail. */
void api_grants(call_t *c);
void api_trail(call_t *c);

/* ---- api_questionnaire.c ---- */
/* With n->condition_code: the condition must exist, answers (may be NULL) must fit its
 * questionnaire; n->subspecialty defaults to the condition's (written into sub), and
 * n->questionnaire_json is set to *text (malloc'ed). false: an error was answered. */
bool api_case_condition(call_t *c, store_case_new_t *n, const json_t *answers, char sub[64],
                        char **text);
void api_conditions(call_t *c);
void api_subspecialties(call_t *c);
void api_get_questionnaire(call_t *c, const char *token);
void api_put_questionnaire(call_t *c, const char *token);

/* ---- api_opinion.c ---- */
void api_suggestions(call_t *c, const char *token);
void api_assign_specialist(call_t *c, const char *token);
void api_get_opinion(call_t *c, const char *token);
void api_write_opinion(call_t *c, const char *token);
void api_add_addendum(call_t *c, const char *token);
void api_put_pdf(call_t *c, const char *token);
void api_get_pdf(call_t *c, const char *token);
void api_send_opinion(call_t *c, const char *token);
void api_list_outbound(call_t *c, const char *token);
void api_break_glass(call_t *c, const char *token);
#endif
