/* gateway/cases/case.h -- the case workflow's rules, without I/O: case tokens, the state
 * machine and who may move a case, and the SLA clocks. Layer: gateway (cases). */
#ifndef CASEPORT_CASE_H
#define CASEPORT_CASE_H
#include <stdbool.h>
#include <stdint.h>

/* ---- case tokens: "CP-7K3M-9Q", five Crockford base32 symbols and a check symbol ---- */

#define CASE_TOKEN_LEN 10 /* without the NUL */

/* A token from 25 random bits (the low 25 of rnd). */
void case_token_make(uint32_t rnd, char out[CASE_TOKEN_LEN + 1]);
/* Reads a token as a person may type it (lower case, without hyphens or the CP- prefix,
 * O for 0, I and L for 1) into its canonical form; false if it is not one or its check
 * symbol does not match (a mistyped symbol or two swapped neighbours are caught). */
bool case_token_parse(const char *in, char out[CASE_TOKEN_LEN + 1]);

/* ---- roles and states ---- */

typedef enum case_role {
    CASE_ROLE_PATIENT,
    CASE_ROLE_NAVIGATOR,
    CASE_ROLE_SPECIALIST,
    CASE_ROLE_ADMINISTRATOR,
    CASE_ROLE_COUNT
} case_role_t;

typedef enum case_state {
    CASE_REGISTERED,
    CASE_COLLECTING_RECORDS,
    CASE_RECORDS_COMPLETE,
    CASE_UNDER_REVIEW,
    CASE_CONSULTATION_SCHEDULED,
    CASE_OPINION_DRAFTED,
    CASE_OPINION_PUBLISHED,
    CASE_CLOSED,
    CASE_WITHDRAWN,
    CASE_STATE_COUNT
} case_state_t;

const char *case_role_name(case_role_t r);
bool case_role_parse(const char *s, case_role_t *out);
const char *case_state_name(case_state_t s);
bool case_state_parse(const char *s, case_state_t *out);

/* Whether role may move a case from one state to another. The actor must also be the
 * case's own (its patient, navigator or specialist): the caller checks that. */
bool case_transition_allowed(case_state_t from, case_state_t to, case_role_t role);

/* ---- SLA clocks ---- */

typedef struct case_clock {
    int64_t registered_at;   /* unix seconds */
    int64_t collecting_at;   /* 0: collecting_records not started */
    int64_t records_done_at; /* 0: records not complete */
    int64_t published_at;    /* 0: opinion not published */
    int64_t paused_at;       /* 0: not waiting on the patient */
    int64_t paused_seconds;  /* waiting on the patient before, in total */
    case_state_t state;
    int records_days, opinion_days; /* the promises: 5 and 14 by default */
} case_clock_t;

typedef enum case_sla_status {
    CASE_SLA_NOT_STARTED, /* the clock has not started (records: not collecting yet) */
    CASE_SLA_ON_TRACK,
    CASE_SLA_AT_RISK, /* less than a fifth of the time left */
    CASE_SLA_OVERDUE,
    CASE_SLA_MET,
    CASE_SLA_MISSED, /* reached, but late */
    CASE_SLA_STOPPED /* withdrawn */
} case_sla_status_t;

typedef struct case_sla {
    case_sla_status_t records, opinion;
    int64_t records_due, opinion_due; /* unix seconds, 0 if not started */
    bool paused;
} case_sla_t;

const char *case_sla_name(case_sla_status_t s);
/* Both clocks at time now. Time waiting on the patient (paused) does not count: the due
 * times move by it. */
void case_sla(const case_clock_t *c, int64_t now, case_sla_t *out);
/* Orders cases for a worklist: overdue first, then at risk, then by the nearer due time. */
int case_sla_urgency_cmp(const case_sla_t *a, const case_sla_t *b);
#endif
