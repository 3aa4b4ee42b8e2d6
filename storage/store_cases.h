/* storage/store_cases.h -- accounts, cases and their events in PostgreSQL (migration
 * 0010). Layer: storage. Blocking: call from worker threads or the CLI. The rules (who
 * may do what, the clocks) are gateway/cases' to apply. Every write here carries its
 * audit row in the same transaction, so it fails unless the pool has the audit trail's
 * key (store_audit.h). */
#ifndef CASEPORT_STORE_CASES_H
#define CASEPORT_STORE_CASES_H
#include <stdbool.h>
#include <stdint.h>

#include "store_blob.h"
#include "store_pg.h"

/* Who did something, for the case events and the audit trail: an account (id > 0) in
 * its role, or the operator at the command line (id 0, role "operator"). */
typedef struct store_actor {
    int64_t id;
    const char *role;
    const char *source; /* client address, or "cli" */
} store_actor_t;

typedef struct store_account {
    int64_t id;
    char username[65], display_name[200], role[16], password_hash[200];
    bool disabled;
} store_account_t;

/* CP_EEXIST if the username is taken. subspecialties: comma-separated codes, or NULL. */
cp_err_t store_cases_account_add(store_pg_t *pg, const store_account_t *a,
                                 const char *subspecialties, const store_actor_t *by,
                                 int64_t *id, cp_errinfo_t *ei);
/* CP_ENOENT if there is no such account. */
cp_err_t store_cases_account_get(store_pg_t *pg, const char *username, store_account_t *out,
                                 cp_errinfo_t *ei);
/* storage/store_accounts.c: every account as an administrator sees it (no hash). */
typedef struct store_account_row {
    const char *username, *display_name, *role;
    bool disabled;
    const char *subspecialties, *created_at; /* comma-separated; ISO 8601 UTC */
    const char *last_sign_in;                /* ISO 8601 UTC; "": never */
} store_account_row_t;
typedef bool (*store_account_cb)(void *ud, const store_account_row_t *a);
cp_err_t store_cases_accounts(store_pg_t *pg, store_account_cb cb, void *ud, cp_errinfo_t *ei);
/* disabled: 1 or 0, -1 unchanged; password_hash NULL: unchanged. The account's sessions
 * end; with the audit row. CP_ENOENT: no such account. */
cp_err_t store_cases_account_set(store_pg_t *pg, const char *username, int disabled,
                                 const char *password_hash, const store_actor_t *by,
                                 cp_errinfo_t *ei);

/* storage/store_accounts.c: the password hash made again with newer parameters, if it is
 * still old_hash (the account's sessions stay). */
cp_err_t store_cases_password_rehash(store_pg_t *pg, int64_t account_id, const char *old_hash,
                                     const char *new_hash, cp_errinfo_t *ei);
/* storage/store_accounts.c: a one-time link to set a new password, kept as its token's
 * hash: valid for hours, replacing the account's unused ones. */
cp_err_t store_cases_reset_create(store_pg_t *pg, int64_t account_id, int64_t made_by,
                                  const uint8_t hash[32], int hours, cp_errinfo_t *ei);
/* Spends a link: the account's password_hash set, its sessions ended. *account_id,
 * username (65 bytes) and role (16) say whose. CP_ENOENT: no such link, used, expired, or
 * the account disabled. */
cp_err_t store_cases_reset_use(store_pg_t *pg, const uint8_t hash[32], const char *password_hash,
                               int64_t *account_id, char *username, char *role,
                               cp_errinfo_t *ei);
/* ---- sessions: only the SHA-256 of a token is kept ---- */

cp_err_t store_cases_session_create(store_pg_t *pg, int64_t account_id, const uint8_t hash[32],
                                    int hours, const char *source, cp_errinfo_t *ei);
/* The account of an unexpired session, if it is not disabled; CP_ENOENT otherwise. */
cp_err_t store_cases_session_account(store_pg_t *pg, const uint8_t hash[32],
                                     store_account_t *out, cp_errinfo_t *ei);
cp_err_t store_cases_session_delete(store_pg_t *pg, const uint8_t hash[32], cp_errinfo_t *ei);

/* Whether code names a subspecialty of the seeded list. */
cp_err_t store_cases_subspecialty_known(store_pg_t *pg, const char *code, bool *known,
                                        cp_errinfo_t *ei);

typedef struct store_case_new {
    const char *token, *patient_name, *birth_date, *sex, *condition, *subspecialty;
    const char *questionnaire_json, *first_opinion;
    const char *condition_code; /* NULL: none (migration 0016) */
    int64_t navigator_id, patient_account_id; /* 0: none */
} store_case_new_t;

/* The case, its first event and its audit row, in one transaction. CP_EEXIST if the
 * token is taken (make another). */
cp_err_t store_cases_create(store_pg_t *pg, const store_case_new_t *c, const store_actor_t *by,
                            int64_t *id, cp_errinfo_t *ei);

typedef struct store_case_row {
    int64_t id;
    char token[16], patient_name[256], birth_date[16], sex[16], condition[256];
    char subspecialty[64], state[32], navigator[65], specialist[65], condition_code[64];
    int64_t navigator_id, specialist_id, patient_account_id;
    /* unix seconds; 0: not yet */
    int64_t registered_at, collecting_at, records_done_at, published_at, paused_at;
    int64_t paused_seconds;
    int64_t records_received; /* studies attached to the case */
    char navigator_name[200], specialist_name[200]; /* display names; "": none given */
    char patient_account[65]; /* the patient's own account's username; "": none */
} store_case_row_t;

/* The first opinion the case was opened with (malloc'ed into *text). */
cp_err_t store_cases_first_opinion(store_pg_t *pg, int64_t case_id, char **text,
                                   cp_errinfo_t *ei);
/* CP_ENOENT if there is no case with that token. */
cp_err_t store_cases_get(store_pg_t *pg, const char *token, store_case_row_t *out,
                         cp_errinfo_t *ei);
typedef bool (*store_case_cb)(void *ud, const store_case_row_t *row);
/* Whose cases a list holds: all, or those of one account as their patient, navigator or
 * specialist (each an index of cases). */
typedef enum {
    STORE_CASES_ALL,
    STORE_CASES_OF_PATIENT,
    STORE_CASES_OF_NAVIGATOR,
    STORE_CASES_OF_SPECIALIST,
} store_case_scope_t;
/* The cases in scope (account_id: whose), oldest first. */
cp_err_t store_cases_list(store_pg_t *pg, store_case_scope_t scope, int64_t account_id,
                          store_case_cb cb, void *ud, cp_errinfo_t *ei);
/* One page of an account's worklist, most urgent first, ordered by the database as
 * case_sla_urgency_cmp orders (migration 0015) at time now with the [cases] windows;
 * *total: the cases in scope. scope: not STORE_CASES_ALL. */
typedef struct store_worklist_page {
    store_case_scope_t scope;
    int64_t account_id, now;
    int records_days, opinion_days;
    int64_t offset, limit;
} store_worklist_page_t;
cp_err_t store_cases_worklist(store_pg_t *pg, const store_worklist_page_t *page,
                              store_case_cb cb, void *ud, int64_t *total, cp_errinfo_t *ei);

typedef struct store_case_event {
    const char *from, *to, *actor, *role, *reason, *at; /* at: ISO 8601, UTC */
} store_case_event_t;
typedef bool (*store_case_event_cb)(void *ud, const store_case_event_t *e);
cp_err_t store_cases_events(store_pg_t *pg, int64_t case_id, store_case_event_cb cb, void *ud,
                            cp_errinfo_t *ei);

/* Moves the case from one state to another, with its event and audit row; the clock
 * columns follow (collecting_records started, records complete, opinion published).
 * CP_ENOENT if the case is no longer in state from (someone moved it meanwhile). */
cp_err_t store_cases_move(store_pg_t *pg, int64_t case_id, const char *from, const char *to,
                          const char *reason, const store_actor_t *by, cp_errinfo_t *ei);
/* Waiting on the patient (pause) or not (resume): the clocks stand still meanwhile.
 * CP_ENOENT if it already is in that condition. */
cp_err_t store_cases_pause(store_pg_t *pg, int64_t case_id, bool pause, const char *reason,
                           const store_actor_t *by, cp_errinfo_t *ei);
/* Assigns the navigator or the specialist (role "navigator" or "specialist"). */
cp_err_t store_cases_assign(store_pg_t *pg, int64_t case_id, const char *role,
                            int64_t account_id, const store_actor_t *by, cp_errinfo_t *ei);

typedef struct store_specialist_load {
    const char *username, *display_name;
    int64_t id, open_cases;
} store_specialist_load_t;
typedef bool (*store_specialist_cb)(void *ud, const store_specialist_load_t *s);
/* The active specialists of the case's subspecialty, least loaded first (the cases
 * assigned to them that are not yet published, closed or withdrawn). */
cp_err_t store_cases_suggest(store_pg_t *pg, int64_t case_id, store_specialist_cb cb, void *ud,
                             cp_errinfo_t *ei);

/* ---- opinions (migration 0013) ---- */

/* Writes (or rewrites) the case's opinion: its text, and a PDF already stored as a blob
 * (pdf NULL: none, or keep the one there). With its audit row. */
cp_err_t store_cases_opinion_put(store_pg_t *pg, int64_t case_id, const char *text,
                                 const store_addr_t *pdf, uint64_t pdf_size, const char *key_id,
                                 const store_actor_t *by, cp_errinfo_t *ei);
/* *exists: the case has an opinion; *has_pdf: with a PDF. */
cp_err_t store_cases_opinion_exists(store_pg_t *pg, int64_t case_id, bool *exists,
                                    bool *has_pdf, cp_errinfo_t *ei);
/* Attaches the PDF (already stored as a blob) to the case's written opinion; CP_ENOENT
 * when no text is written yet. With its audit row. */
cp_err_t store_cases_opinion_pdf(store_pg_t *pg, int64_t case_id, const store_addr_t *pdf,
                                 uint64_t pdf_size, const char *key_id, const store_actor_t *by,
                                 cp_errinfo_t *ei);
typedef struct store_opinion {
    char *text; /* malloc'ed */
    bool has_pdf;
    store_addr_t pdf;
    uint64_t pdf_size;
    char written_by[65], updated_at[32];
} store_opinion_t;
/* CP_ENOENT when the case has no opinion yet. Free with store_opinion_free. */
cp_err_t store_cases_opinion_get(store_pg_t *pg, int64_t case_id, store_opinion_t *out,
                                 cp_errinfo_t *ei);
void store_opinion_free(store_opinion_t *o);
/* The patient asks for the opinion to be sent to their doctor (fax or e-mail). */
cp_err_t store_cases_outbound_add(store_pg_t *pg, int64_t case_id, const char *recipient,
                                  const char *fax, const char *email, const store_actor_t *by,
                                  int64_t *id, cp_errinfo_t *ei);

/* An addendum to a published opinion, kept beside it, dated. CP_ENOENT unless the case's
 * opinion is published. */
cp_err_t store_cases_addendum_add(store_pg_t *pg, int64_t case_id, const char *text,
                                  const store_actor_t *by, cp_errinfo_t *ei);
typedef struct store_addendum_row {
    const char *text, *written_by, *created_at; /* ISO 8601 UTC */
} store_addendum_row_t;
typedef bool (*store_addendum_cb)(void *ud, const store_addendum_row_t *a);
/* The case's addenda, oldest first. */
cp_err_t store_cases_addenda(store_pg_t *pg, int64_t case_id, store_addendum_cb cb, void *ud,
                             cp_errinfo_t *ei);
/* The case's requests to send the opinion, oldest first (times ISO 8601 UTC). */
typedef struct store_outbound_row {
    int64_t id;
    const char *recipient, *fax, *email, *state, *created_at;
} store_outbound_row_t;
typedef bool (*store_outbound_cb)(void *ud, const store_outbound_row_t *o);
cp_err_t store_cases_outbound_list(store_pg_t *pg, int64_t case_id, store_outbound_cb cb,
                                   void *ud, cp_errinfo_t *ei);

/* ---- conditions and their questionnaires (migration 0016): store_opinions.c ---- */

typedef struct store_condition {
    const char *code, *name, *subspecialty, *questionnaire_json;
} store_condition_t;
typedef bool (*store_condition_cb)(void *ud, const store_condition_t *c);
/* Every condition, by code; with code non-NULL only that one (none: CP_ENOENT). */
cp_err_t store_cases_conditions(store_pg_t *pg, const char *code, store_condition_cb cb,
                                void *ud, cp_errinfo_t *ei);
/* The seeded subspecialties, by code. */
cp_err_t store_cases_subspecialties(store_pg_t *pg, store_condition_cb cb, void *ud,
                                    cp_errinfo_t *ei); /* code and name set */
/* The case's questionnaire (its condition's schema, "" when it names none) and the
 * answers given so far, malloc'ed JSON texts (free them). */
cp_err_t store_cases_questionnaire(store_pg_t *pg, int64_t case_id, char **schema_json,
                                   char **answers_json, cp_errinfo_t *ei);
/* Replaces the answers (already checked against the schema), with the audit row;
 * CP_ENOENT when the case's opinion is published or the case is over. */
cp_err_t store_cases_answers_put(store_pg_t *pg, int64_t case_id, const char *answers_json,
                                 const store_actor_t *by, cp_errinfo_t *ei);

/* ---- records requests as listed, break-glass (migrations 0011, 0014) ---- */

typedef struct store_request_row {
    int64_t id;
    const char *provider, *ae_title, *fax, *email, *patient_id, *issuer, *state, *created_at;
    const char *patient_name, *birth_date; /* as asked for (DICOM's forms) */
    int64_t records; /* studies attached through this request */
} store_request_row_t;
typedef bool (*store_request_cb)(void *ud, const store_request_row_t *row);
/* The case's records requests, oldest first. */
cp_err_t store_cases_requests(store_pg_t *pg, int64_t case_id, store_request_cb cb, void *ud,
                              cp_errinfo_t *ei);
/* An administrator's grant to read one case for minutes, with the reason; audited. */
cp_err_t store_cases_break_glass(store_pg_t *pg, int64_t case_id, const char *reason,
                                 int minutes, const store_actor_t *by, cp_errinfo_t *ei);
/* storage/store_admin.c: what an administrator looks at. The break-glass grants still in
 * force, soonest to end first. */
typedef struct store_grant_row {
    const char *token, *username, *reason, *granted_at, *expires_at; /* times ISO 8601 UTC */
} store_grant_row_t;
typedef bool (*store_grant_cb)(void *ud, const store_grant_row_t *g);
cp_err_t store_cases_grants_in_force(store_pg_t *pg, store_grant_cb cb, void *ud,
                                     cp_errinfo_t *ei);
/* The audit trail of one case (case_id > 0) or one account (what it did and what was done
 * to it), newest first, at most limit rows. */
typedef struct store_trail_row {
    int64_t seq;
    const char *at, *actor, *role, *object, *action, *outcome, *source, *token;
} store_trail_row_t;
typedef bool (*store_trail_cb)(void *ud, const store_trail_row_t *t);
cp_err_t store_cases_trail(store_pg_t *pg, int64_t case_id, int64_t account_id, int limit,
                           store_trail_cb cb, void *ud, cp_errinfo_t *ei);
cp_err_t store_cases_break_glass_active(store_pg_t *pg, int64_t case_id, int64_t account_id,
                                        bool *active, cp_errinfo_t *ei);

/* ---- intake routing (migration 0011) ---- */

/* Attaches a new study to its case (by the case token it was sent to, or by the one open
 * records request that matches) or puts it in the triage queue; *how: "token",
 * "request", "triage", or "already" when it was routed before. */
cp_err_t store_cases_route(store_pg_t *pg, int64_t study_id, char how[16], cp_errinfo_t *ei);

typedef struct store_request_new {
    const char *provider, *fax, *email, *ae_title, *patient_id, *issuer, *patient_name,
        *birth_date;
} store_request_new_t;
cp_err_t store_cases_request_add(store_pg_t *pg, int64_t case_id, const store_request_new_t *r,
                                 const store_actor_t *by, int64_t *id, cp_errinfo_t *ei);

/* A patient's demographics as the index holds them (names as DICOM writes them). */
typedef struct store_demographics {
    const char *patient_id, *issuer, *name, *birth_date, *sex;
} store_demographics_t;

/* What a person reads to recognise a study: its date (DICOM's YYYYMMDD, as sent), its
 * description and accession number, its modalities ("CT, SR"), series and instances. */
typedef struct store_study_facts {
    const char *study_date, *description, *accession, *modalities;
    int64_t series, instances;
} store_study_facts_t;

typedef struct store_case_record {
    const char *study_uid, *matched_by, *detail, *at, *modality_count;
    double confidence;
    store_demographics_t patient; /* the study's own record, as its sender wrote it */
    store_study_facts_t study;
    /* the sender of its first instance, and when it arrived (ISO 8601, UTC) */
    const char *calling_ae, *received_at;
    const char *provider; /* the records request's provider when matched by one, else "" */
    int64_t request_id;   /* 0: none */
} store_case_record_t;
typedef bool (*store_case_record_cb)(void *ud, const store_case_record_t *r);
/* The studies attached to a case, how each matched. */
cp_err_t store_cases_records(store_pg_t *pg, int64_t case_id, store_case_record_cb cb, void *ud,
                             cp_errinfo_t *ei);

typedef struct store_triage_item {
    int64_t id;
    const char *study_uid, *calling_ae, *called_ae, *received_at, *reason, *candidates;
    int64_t instances;
    store_demographics_t patient; /* the study's record */
    store_study_facts_t study;
    /* What it disagrees with, for an identity conflict: the first record under its
     * identifier, or the case it was sent to (other_case: its token, else ""); has_other
     * false: nothing. */
    bool has_other;
    store_demographics_t other;
    const char *other_case;
    /* The cases it could be attached to, as a JSON array text of {case_id, token,
     * patient_name, birth_date, sex, state, navigator, kind, why}, most likely first: the
     * routing's candidates (kind "request": an open records request matches; "sent_to":
     * sent to the case's AE title, its patient differs), then the open cases that asked
     * the study's MRN and issuer of another sender ("request"), then the open cases
     * whose patient has the study's name and no other birth date ("patient"). */
    const char *candidates_json;
} store_triage_item_t;
typedef bool (*store_triage_cb)(void *ud, const store_triage_item_t *t);
/* The open triage items, oldest first, with the demographics a navigator decides on. */
cp_err_t store_cases_triage_list(store_pg_t *pg, store_triage_cb cb, void *ud,
                                 cp_errinfo_t *ei);
/* A navigator's decision on an open item: attach its study to a case (case_id > 0) or
 * reject it; kept with who and why. CP_ENOENT if the item is not open. */
cp_err_t store_cases_triage_decide(store_pg_t *pg, int64_t item, int64_t case_id,
                                   const char *reason, const store_actor_t *by,
                                   cp_errinfo_t *ei);

#endif
