/* The case workflow's rules: tokens and their check symbol, every state transition for
 * every role against the table below, and the SLA clocks on a clock the test sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "case.h"

void case_token_round_trip_and_check_symbol(void **state)
{
    (void)state;
    char t[CASE_TOKEN_LEN + 1], back[CASE_TOKEN_LEN + 1];
    for (uint32_t v = 0; v < 0x2000000u; v += 7919) {
        case_token_make(v, t);
        assert_int_equal(strlen(t), CASE_TOKEN_LEN);
        assert_memory_equal(t, "CP-", 3);
        assert_int_equal(t[7], '-');
        assert_true(case_token_parse(t, back));
        assert_string_equal(back, t);
        /* every single-symbol change and every swap of neighbours is caught */
        char data[7] = {t[3], t[4], t[5], t[6], t[8], t[9], 0};
        for (int i = 0; i < 5; i++) {
            char m[7];
            memcpy(m, data, 7);
            m[i] = m[i] == 'X' ? 'Y' : 'X';
            assert_false(case_token_parse(m, back));
            if (i < 4 && data[i] != data[i + 1]) {
                memcpy(m, data, 7);
                m[i] = data[i + 1];
                m[i + 1] = data[i];
                assert_false(case_token_parse(m, back));
            }
        }
    }
}

void case_token_read_as_typed(void **state)
{
    (void)state;
    char t[CASE_TOKEN_LEN + 1], out[CASE_TOKEN_LEN + 1];
    case_token_make(0x1ABCDEF, t);
    char typed[32];
    /* lower case, no prefix, no hyphen */
    snprintf(typed, sizeof typed, "%c%c%c%c%c%c", t[3] | 0x20, t[4] | 0x20, t[5] | 0x20,
             t[6] | 0x20, t[8] | 0x20, t[9] | 0x20);
    assert_true(case_token_parse(typed, out));
    assert_string_equal(out, t);
    /* O read as 0, I and L as 1 */
    case_token_make(0, t); /* CP-0000-00 */
    assert_string_equal(t, "CP-0000-00");
    assert_true(case_token_parse("cp-oooo-oo", out));
    assert_string_equal(out, "CP-0000-00");
    case_token_make(1 << 5 | 1, t); /* data symbols 00011, check 33 */
    assert_string_equal(t, "CP-0001-1~");
    assert_true(case_token_parse("CP-OOOI-L~", out));
    assert_string_equal(out, t);
    /* the prefix without its hyphen, or with spaces */
    assert_true(case_token_parse("cp000000", out));
    assert_string_equal(out, "CP-0000-00");
    assert_true(case_token_parse("CP 0001 1~", out));
    assert_string_equal(out, t);
    /* six symbols that begin with C and P are a token, not a prefix */
    case_token_make(12u << 20 | 22u << 15, t); /* CP-CP00-0? */
    assert_true(strncmp(t, "CP-CP00-0", 9) == 0);
    assert_true(case_token_parse(t + 3, out));
    assert_string_equal(out, t);
    assert_false(case_token_parse("", out));
    assert_false(case_token_parse("CP-0000-0", out));
    assert_false(case_token_parse("cp0000000", out));
    assert_false(case_token_parse("CP-0000-000", out));
    assert_false(case_token_parse("CP-U000-00", out)); /* U is a check symbol only */
}

/* The whole table, as the issue lays the states out: who may make each move. */
static const struct {
    case_state_t from, to;
    const char *roles; /* p n s a */
} allowed[] = {
    {CASE_REGISTERED, CASE_COLLECTING_RECORDS, "n"},
    {CASE_COLLECTING_RECORDS, CASE_RECORDS_COMPLETE, "n"},
    {CASE_RECORDS_COMPLETE, CASE_COLLECTING_RECORDS, "ns"},
    {CASE_RECORDS_COMPLETE, CASE_UNDER_REVIEW, "ns"},
    {CASE_UNDER_REVIEW, CASE_COLLECTING_RECORDS, "ns"},
    {CASE_UNDER_REVIEW, CASE_CONSULTATION_SCHEDULED, "ns"},
    {CASE_UNDER_REVIEW, CASE_OPINION_DRAFTED, "s"},
    {CASE_CONSULTATION_SCHEDULED, CASE_OPINION_DRAFTED, "s"},
    {CASE_OPINION_DRAFTED, CASE_UNDER_REVIEW, "s"},
    {CASE_OPINION_DRAFTED, CASE_OPINION_PUBLISHED, "s"},
    {CASE_OPINION_PUBLISHED, CASE_CLOSED, "n"},
};

static const char *expected(case_state_t from, case_state_t to)
{
    if (to == CASE_WITHDRAWN)
        return from < CASE_OPINION_PUBLISHED ? "pn" : "";
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (allowed[i].from == from && allowed[i].to == to)
            return allowed[i].roles;
    return "";
}

void case_every_transition_for_every_role(void **state)
{
    (void)state;
    static const char letters[] = "pnsa";
    int yes = 0;
    for (int f = 0; f < CASE_STATE_COUNT; f++)
        for (int t = 0; t < CASE_STATE_COUNT; t++)
            for (int r = 0; r < CASE_ROLE_COUNT; r++) {
                bool want = strchr(expected(f, t), letters[r]) != NULL;
                bool got = case_transition_allowed(f, t, r);
                if (want != got)
                    fail_msg("%s -> %s by %s: %s", case_state_name(f), case_state_name(t),
                             case_role_name(r), got ? "allowed" : "refused");
                yes += got;
            }
    assert_int_equal(yes, 15 + 2 * 6); /* the table's moves, and withdrawing */
    case_state_t s;
    assert_true(case_state_parse("under_review", &s));
    assert_int_equal(s, CASE_UNDER_REVIEW);
    assert_false(case_state_parse("reviewing", &s));
}

#define DAY 86400

void case_sla_clocks(void **state)
{
    (void)state;
    int64_t t0 = 1800000000; /* registered */
    case_clock_t c = {.registered_at = t0, .state = CASE_REGISTERED, .records_days = 5,
                      .opinion_days = 14};
    case_sla_t s;
    case_sla(&c, t0 + DAY, &s);
    assert_int_equal(s.records, CASE_SLA_NOT_STARTED);
    assert_int_equal(s.opinion, CASE_SLA_ON_TRACK);
    assert_int_equal(s.opinion_due, t0 + 14 * DAY);
    /* collecting from day 1: records due on day 6, at risk in its last fifth (1 day) */
    c.state = CASE_COLLECTING_RECORDS;
    c.collecting_at = t0 + DAY;
    case_sla(&c, t0 + 4 * DAY, &s);
    assert_int_equal(s.records, CASE_SLA_ON_TRACK);
    assert_int_equal(s.records_due, t0 + 6 * DAY);
    case_sla(&c, t0 + 5 * DAY + DAY / 2, &s);
    assert_int_equal(s.records, CASE_SLA_AT_RISK);
    case_sla(&c, t0 + 6 * DAY + 1, &s);
    assert_int_equal(s.records, CASE_SLA_OVERDUE);
    /* waiting on the patient for 2 days from day 3: the clocks stand still */
    c.paused_at = t0 + 3 * DAY;
    case_sla(&c, t0 + 6 * DAY + 1, &s);
    assert_true(s.paused);
    assert_int_equal(s.records_due, t0 + 6 * DAY + 3 * DAY + 1); /* paused all along */
    assert_int_equal(s.records, CASE_SLA_ON_TRACK);
    c.paused_at = 0;
    c.paused_seconds = 2 * DAY;
    case_sla(&c, t0 + 7 * DAY + 60, &s); /* less than a day (a fifth) left */
    assert_int_equal(s.records_due, t0 + 8 * DAY);
    assert_int_equal(s.opinion_due, t0 + 16 * DAY);
    assert_int_equal(s.records, CASE_SLA_AT_RISK);
    /* records complete on day 7.5: met; published on day 17: missed */
    c.records_done_at = t0 + 7 * DAY + DAY / 2;
    c.published_at = t0 + 17 * DAY;
    c.state = CASE_OPINION_PUBLISHED;
    case_sla(&c, t0 + 20 * DAY, &s);
    assert_int_equal(s.records, CASE_SLA_MET);
    assert_int_equal(s.opinion, CASE_SLA_MISSED);
    /* withdrawn: the clocks stop */
    case_clock_t w = {.registered_at = t0, .state = CASE_WITHDRAWN, .records_days = 5,
                      .opinion_days = 14};
    case_sla(&w, t0 + 30 * DAY, &s);
    assert_int_equal(s.opinion, CASE_SLA_STOPPED);
}

void case_worklist_order(void **state)
{
    (void)state;
    case_sla_t overdue = {.records = CASE_SLA_OVERDUE, .opinion = CASE_SLA_ON_TRACK,
                          .records_due = 500, .opinion_due = 900};
    case_sla_t risk = {.records = CASE_SLA_NOT_STARTED, .opinion = CASE_SLA_AT_RISK,
                       .opinion_due = 300};
    case_sla_t soon = {.records = CASE_SLA_ON_TRACK, .opinion = CASE_SLA_ON_TRACK,
                       .records_due = 100, .opinion_due = 1000};
    case_sla_t later = {.records = CASE_SLA_MET, .opinion = CASE_SLA_ON_TRACK,
                        .opinion_due = 200};
    assert_true(case_sla_urgency_cmp(&overdue, &risk) < 0);
    assert_true(case_sla_urgency_cmp(&risk, &soon) < 0);
    assert_true(case_sla_urgency_cmp(&soon, &later) < 0); /* due 100 before due 200 */
    assert_true(case_sla_urgency_cmp(&later, &soon) > 0);
    assert_int_equal(case_sla_urgency_cmp(&soon, &soon), 0);
}
