/* gateway/cases/case.c -- case tokens, the state machine, the SLA clocks (case.h). */
#include "case.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "cp_mem.h"

/* Crockford's base32 (https://www.crockford.com/base32.html): no I, L, O or U; the
 * check symbol is the value mod 37, with five more symbols for 32..36. */
static const char symbols[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";

static int symbol_value(char c, bool check)
{
    c = (char)toupper((unsigned char)c);
    if (c == 'O')
        c = '0';
    if (c == 'I' || c == 'L')
        c = '1';
    const char *p = strchr(symbols, c);
    if (c == '\0' || p == NULL)
        return -1;
    int v = (int)(p - symbols);
    return v < 32 || check ? v : -1;
}

void case_token_make(uint32_t rnd, char out[CASE_TOKEN_LEN + 1])
{
    uint32_t v = rnd & 0x1FFFFFFu;
    char d[5];
    for (int i = 4; i >= 0; i--) {
        d[i] = symbols[v & 31];
        v >>= 5;
    }
    uint32_t check = (rnd & 0x1FFFFFFu) % 37;
    memcpy(out, "CP-", 3);
    memcpy(out + 3, d, 4);
    out[7] = '-';
    out[8] = d[4];
    out[9] = symbols[check];
    out[10] = '\0';
}

bool case_token_parse(const char *in, char out[CASE_TOKEN_LEN + 1])
{
    char s[8];
    size_t n = 0;
    for (const char *p = in; *p; p++) { /* hyphens and spaces as typed do not count */
        if (*p == '-' || *p == ' ')
            continue;
        if (n == 8)
            return false;
        s[n++] = *p;
    }
    /* eight symbols: the CP prefix with the six (six alone may well begin with C, P) */
    bool prefixed = n == 8 && (s[0] == 'C' || s[0] == 'c') && (s[1] == 'P' || s[1] == 'p');
    if (prefixed)
        memmove(s, s + 2, 6);
    else if (n != 6)
        return false;
    uint32_t v = 0;
    for (int i = 0; i < 5; i++) {
        int k = symbol_value(s[i], false);
        if (k < 0)
            return false;
        v = v << 5 | (uint32_t)k;
    }
    int check = symbol_value(s[5], true);
    if (check < 0 || (uint32_t)check != v % 37)
        return false;
    case_token_make(v, out);
    return true;
}

static const char *const role_names[] = {"patient", "navigator", "specialist", "administrator"};
static const char *const state_names[] = {
    "registered",      "collecting_records", "records_complete",
    "under_review",    "consultation_scheduled", "opinion_drafted",
    "opinion_published", "closed",           "withdrawn"};

const char *case_role_name(case_role_t r)
{
    return r < CASE_ROLE_COUNT ? role_names[r] : "?";
}

bool case_role_parse(const char *s, case_role_t *out)
{
    for (int i = 0; i < CASE_ROLE_COUNT; i++)
        if (strcmp(s, role_names[i]) == 0) {
            *out = (case_role_t)i;
            return true;
        }
    return false;
}

const char *case_state_name(case_state_t s)
{
    return s < CASE_STATE_COUNT ? state_names[s] : "?";
}

bool case_state_parse(const char *s, case_state_t *out)
{
    for (int i = 0; i < CASE_STATE_COUNT; i++)
        if (strcmp(s, state_names[i]) == 0) {
            *out = (case_state_t)i;
            return true;
        }
    return false;
}

#define P (1u << CASE_ROLE_PATIENT)
#define N (1u << CASE_ROLE_NAVIGATOR)
#define S (1u << CASE_ROLE_SPECIALIST)

/* The allowed moves and who makes them. The administrator makes none: it reads no
 * clinical content and does not run cases. */
static const struct move {
    case_state_t from, to;
    unsigned roles;
} moves[] = {
    {CASE_REGISTERED, CASE_COLLECTING_RECORDS, N},
    {CASE_COLLECTING_RECORDS, CASE_RECORDS_COMPLETE, N},
    {CASE_RECORDS_COMPLETE, CASE_COLLECTING_RECORDS, N | S}, /* more records needed */
    {CASE_RECORDS_COMPLETE, CASE_UNDER_REVIEW, N | S},
    {CASE_UNDER_REVIEW, CASE_COLLECTING_RECORDS, N | S},
    {CASE_UNDER_REVIEW, CASE_CONSULTATION_SCHEDULED, N | S},
    {CASE_UNDER_REVIEW, CASE_OPINION_DRAFTED, S},
    {CASE_CONSULTATION_SCHEDULED, CASE_OPINION_DRAFTED, S},
    {CASE_OPINION_DRAFTED, CASE_UNDER_REVIEW, S},
    {CASE_OPINION_DRAFTED, CASE_OPINION_PUBLISHED, S},
    {CASE_OPINION_PUBLISHED, CASE_CLOSED, N},
};

#undef S

bool case_transition_allowed(case_state_t from, case_state_t to, case_role_t role)
{
    if (role >= CASE_ROLE_COUNT)
        return false;
    unsigned bit = 1u << role;
    /* the patient (or the navigator for the patient) may withdraw before the opinion */
    if (to == CASE_WITHDRAWN)
        return (bit & (P | N)) != 0 && from < CASE_OPINION_PUBLISHED;
    for (size_t i = 0; i < CP_ARRAY_LEN(moves); i++)
        if (moves[i].from == from && moves[i].to == to)
            return (moves[i].roles & bit) != 0;
    return false;
}

#undef P
#undef N

/* ---- SLA ---- */

static const char *const sla_names[] = {"not-started", "on-track", "at-risk", "overdue",
                                        "met",         "missed",   "stopped"};

const char *case_sla_name(case_sla_status_t s)
{
    return (size_t)s < CP_ARRAY_LEN(sla_names) ? sla_names[s] : "?";
}

/* One clock: started at start (0: not yet), ends at done (0: not yet). */
static case_sla_status_t clock_status(int64_t start, int64_t window, int64_t paused,
                                      int64_t done, int64_t now, bool stopped, int64_t *due)
{
    *due = start ? start + window + paused : 0;
    if (start == 0)
        return stopped ? CASE_SLA_STOPPED : CASE_SLA_NOT_STARTED;
    if (done != 0)
        return done <= *due ? CASE_SLA_MET : CASE_SLA_MISSED;
    if (stopped)
        return CASE_SLA_STOPPED;
    if (now > *due)
        return CASE_SLA_OVERDUE;
    return *due - now < window / 5 ? CASE_SLA_AT_RISK : CASE_SLA_ON_TRACK;
}

void case_sla(const case_clock_t *c, int64_t now, case_sla_t *out)
{
    int64_t paused = c->paused_seconds;
    if (c->paused_at != 0 && now > c->paused_at)
        paused += now - c->paused_at; /* the clocks stand still while waiting */
    bool stopped = c->state == CASE_WITHDRAWN;
    out->paused = c->paused_at != 0;
    out->records = clock_status(c->collecting_at, (int64_t)c->records_days * 86400, paused,
                                c->records_done_at, now, stopped, &out->records_due);
    out->opinion = clock_status(c->registered_at, (int64_t)c->opinion_days * 86400, paused,
                                c->published_at, now, stopped, &out->opinion_due);
}

static int urgency(case_sla_status_t s)
{
    return s == CASE_SLA_OVERDUE ? 0 : s == CASE_SLA_AT_RISK ? 1 : 2;
}

static int64_t next_due(const case_sla_t *s)
{
    bool r = s->records == CASE_SLA_ON_TRACK || s->records == CASE_SLA_AT_RISK ||
             s->records == CASE_SLA_OVERDUE;
    bool o = s->opinion == CASE_SLA_ON_TRACK || s->opinion == CASE_SLA_AT_RISK ||
             s->opinion == CASE_SLA_OVERDUE;
    if (r && o)
        return s->records_due < s->opinion_due ? s->records_due : s->opinion_due;
    return r ? s->records_due : o ? s->opinion_due : INT64_MAX;
}

int case_sla_urgency_cmp(const case_sla_t *a, const case_sla_t *b)
{
    int ua = urgency(a->records) < urgency(a->opinion) ? urgency(a->records) : urgency(a->opinion);
    int ub = urgency(b->records) < urgency(b->opinion) ? urgency(b->records) : urgency(b->opinion);
    if (ua != ub)
        return ua < ub ? -1 : 1;
    int64_t da = next_due(a), db = next_due(b);
    return da < db ? -1 : da > db ? 1 : 0;
}
