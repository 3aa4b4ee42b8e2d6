/* The upper-layer state machine, cell by cell, against PS3.8 Table 9-10 transcribed a
 * second time here row by row as the standard prints it ("-" for an empty cell), and the
 * paths an acceptor and a requestor take through it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ul_fsm.h"

static const char *const rows[GW_UL_EVENTS] = {
    /*       Sta1 Sta2 Sta3 Sta4 Sta5 Sta6 Sta7 Sta8 Sta9 Sta10 Sta11 Sta12 Sta13 */
    /* 1 */ "AE-1 - - - - - - - - - - - -",
    /* 2 */ "- - - AE-2 - - - - - - - - -",
    /* 3 */ "- AA-1 AA-8 - AE-3 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-6",
    /* 4 */ "- AA-1 AA-8 - AE-4 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-6",
    /* 5 */ "AE-5 - - - - - - - - - - - -",
    /* 6 */ "- AE-6 AA-8 - AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-7",
    /* 7 */ "- - AE-7 - - - - - - - - - -",
    /* 8 */ "- - AE-8 - - - - - - - - - -",
    /* 9 */ "- - - - - DT-1 - AR-7 - - - - -",
    /* 10 */ "- AA-1 AA-8 - AA-8 DT-2 AR-6 AA-8 AA-8 AA-8 AA-8 AA-8 AA-6",
    /* 11 */ "- - - - - AR-1 - - - - - - -",
    /* 12 */ "- AA-1 AA-8 - AA-8 AR-2 AR-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-6",
    /* 13 */ "- AA-1 AA-8 - AA-8 AA-8 AR-3 AA-8 AA-8 AR-10 AR-3 AA-8 AA-6",
    /* 14 */ "- - - - - - - AR-4 AR-9 - - AR-4 -",
    /* 15 */ "- - AA-1 AA-2 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1 -",
    /* 16 */ "- AA-2 AA-3 - AA-3 AA-3 AA-3 AA-3 AA-3 AA-3 AA-3 AA-3 AA-2",
    /* 17 */ "- AA-5 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AR-5",
    /* 18 */ "- AA-2 - - - - - - - - - - AA-2",
    /* 19 */ "- AA-1 AA-8 - AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-7",
};

/* The next state of each action (Tables 9-6 to 9-9); AR-8 for an acceptor. */
static gw_ul_state_t next_of(const char *action)
{
    static const struct {
        const char *name;
        gw_ul_state_t next;
    } n[] = {{"AE-1", GW_STA4},  {"AE-2", GW_STA5},   {"AE-3", GW_STA6},  {"AE-4", GW_STA1},
             {"AE-5", GW_STA2},  {"AE-6", GW_STA3},   {"AE-7", GW_STA6},  {"AE-8", GW_STA13},
             {"DT-1", GW_STA6},  {"DT-2", GW_STA6},   {"AR-1", GW_STA7},  {"AR-2", GW_STA8},
             {"AR-3", GW_STA1},  {"AR-4", GW_STA13},  {"AR-5", GW_STA1},  {"AR-6", GW_STA7},
             {"AR-7", GW_STA8},  {"AR-8", GW_STA10},  {"AR-9", GW_STA11}, {"AR-10", GW_STA12},
             {"AA-1", GW_STA13}, {"AA-2", GW_STA1},   {"AA-3", GW_STA1},  {"AA-4", GW_STA1},
             {"AA-5", GW_STA1},  {"AA-6", GW_STA13},  {"AA-7", GW_STA13}, {"AA-8", GW_STA13}};
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
        if (strcmp(n[i].name, action) == 0)
            return n[i].next;
    fail_msg("unknown action %s", action);
    return GW_STA1;
}

void fsm_every_cell_as_ps38_table_9_10(void **state)
{
    (void)state;
    int cells = 0;
    for (int e = 1; e <= GW_UL_EVENTS; e++) {
        char row[256];
        snprintf(row, sizeof row, "%s", rows[e - 1]);
        char *save = NULL;
        char *tok = strtok_r(row, " ", &save); /* checksrc-ok: test-only tokenising */
        for (int s = 1; s <= GW_UL_STATES; s++, tok = strtok_r(NULL, " ", &save)) {
            assert_non_null(tok);
            gw_ul_effects_t fx;
            gw_ul_state_t next = gw_ul_step((gw_ul_state_t)s, (gw_ul_event_t)e, false, &fx);
            if (strcmp(tok, "-") == 0) {
                if (fx.action != GW_ACT_NONE)
                    fail_msg("Evt%d/Sta%d: expected an empty cell, got %s", e, s,
                             gw_ul_action_name(fx.action));
                assert_int_equal(next, s); /* nothing happens */
                continue;
            }
            if (strcmp(gw_ul_action_name(fx.action), tok) != 0)
                fail_msg("Evt%d/Sta%d: expected %s, got %s", e, s, tok,
                         gw_ul_action_name(fx.action));
            if (next != next_of(tok))
                fail_msg("Evt%d/Sta%d (%s): next state Sta%d, expected Sta%d", e, s, tok, next,
                         next_of(tok));
            cells++;
        }
        assert_null(tok);
    }
    assert_int_equal(cells, 123); /* the non-empty cells of Table 9-10 */
}

static gw_ul_state_t step(gw_ul_state_t s, gw_ul_event_t e, bool requestor, gw_ul_effects_t *fx)
{
    return gw_ul_step(s, e, requestor, fx);
}

void fsm_acceptor_accept_data_release(void **state)
{
    (void)state;
    gw_ul_effects_t fx;
    gw_ul_state_t s = step(GW_STA1, GW_EVT5, false, &fx); /* connection */
    assert_int_equal(s, GW_STA2);
    assert_true(fx.start_artim);
    s = step(s, GW_EVT6, false, &fx); /* A-ASSOCIATE-RQ */
    assert_int_equal(s, GW_STA3);
    assert_true(fx.stop_artim && fx.indicate_assoc);
    s = step(s, GW_EVT7, false, &fx); /* accept */
    assert_int_equal(s, GW_STA6);
    assert_true(fx.send_assoc_ac);
    s = step(s, GW_EVT10, false, &fx); /* P-DATA-TF */
    assert_int_equal(s, GW_STA6);
    assert_true(fx.indicate_pdata);
    s = step(s, GW_EVT12, false, &fx); /* A-RELEASE-RQ while a response is pending */
    assert_int_equal(s, GW_STA8);
    assert_true(fx.indicate_release);
    s = step(s, GW_EVT9, false, &fx); /* the pending C-STORE-RSP still goes out (AR-7) */
    assert_int_equal(s, GW_STA8);
    assert_true(fx.send_pdata);
    s = step(s, GW_EVT14, false, &fx); /* A-RELEASE-RP */
    assert_int_equal(s, GW_STA13);
    assert_true(fx.send_release_rp && fx.start_artim);
    s = step(s, GW_EVT17, false, &fx); /* the requestor closes */
    assert_int_equal(s, GW_STA1);
    assert_true(fx.stop_artim);
    assert_false(fx.close_transport);
}

void fsm_acceptor_reject_and_timeouts(void **state)
{
    (void)state;
    gw_ul_effects_t fx;
    gw_ul_state_t s = step(GW_STA3, GW_EVT8, false, &fx); /* reject */
    assert_int_equal(s, GW_STA13);
    assert_true(fx.send_assoc_rj && fx.start_artim);
    s = step(s, GW_EVT18, false, &fx); /* the peer never closes: ARTIM */
    assert_int_equal(s, GW_STA1);
    assert_true(fx.close_transport);
    s = step(GW_STA2, GW_EVT18, false, &fx); /* no A-ASSOCIATE-RQ in time */
    assert_int_equal(s, GW_STA1);
    assert_true(fx.close_transport);
    s = step(GW_STA2, GW_EVT17, false, &fx); /* peer gone before asking */
    assert_int_equal(s, GW_STA1);
    assert_true(fx.stop_artim);
}

void fsm_aborts_and_bad_pdus(void **state)
{
    (void)state;
    gw_ul_effects_t fx;
    gw_ul_state_t s = step(GW_STA2, GW_EVT19, false, &fx); /* garbage before the RQ */
    assert_int_equal(s, GW_STA13);
    assert_true(fx.send_abort && fx.start_artim);
    assert_false(fx.abort_from_user);
    s = step(GW_STA6, GW_EVT19, false, &fx); /* garbage on an association */
    assert_int_equal(s, GW_STA13);
    assert_true(fx.send_abort && fx.indicate_abort && fx.start_artim);
    s = step(GW_STA6, GW_EVT6, false, &fx); /* a second A-ASSOCIATE-RQ */
    assert_int_equal(fx.action, GW_AA8);
    s = step(GW_STA6, GW_EVT15, false, &fx); /* local abort: idle timeout, shutdown */
    assert_int_equal(s, GW_STA13);
    assert_true(fx.send_abort && fx.abort_from_user);
    s = step(GW_STA6, GW_EVT16, false, &fx); /* peer aborts */
    assert_int_equal(s, GW_STA1);
    assert_true(fx.indicate_abort && fx.close_transport);
    s = step(GW_STA6, GW_EVT17, false, &fx); /* connection lost */
    assert_int_equal(s, GW_STA1);
    assert_true(fx.indicate_abort);
    s = step(GW_STA13, GW_EVT10, false, &fx); /* data after our abort: ignored */
    assert_int_equal(s, GW_STA13);
    assert_true(fx.ignore);
    s = step(GW_STA13, GW_EVT6, false, &fx); /* a new RQ in Sta13: A-ABORT again */
    assert_int_equal(s, GW_STA13);
    assert_true(fx.send_abort);
    assert_false(fx.start_artim);
}

void fsm_release_collision_both_sides(void **state)
{
    (void)state;
    gw_ul_effects_t fx;
    /* requestor: RQ sent, RQ received -> Sta9 -> respond -> Sta11 -> RP -> Sta1 */
    gw_ul_state_t s = step(GW_STA6, GW_EVT11, true, &fx);
    assert_int_equal(s, GW_STA7);
    assert_true(fx.send_release_rq);
    s = step(s, GW_EVT12, true, &fx);
    assert_int_equal(s, GW_STA9);
    s = step(s, GW_EVT14, true, &fx);
    assert_int_equal(s, GW_STA11);
    assert_true(fx.send_release_rp);
    s = step(s, GW_EVT13, true, &fx);
    assert_int_equal(s, GW_STA1);
    assert_true(fx.confirm && fx.close_transport);
    /* acceptor side of the same collision: Sta7 -> Sta10 -> RP -> Sta12 -> respond -> Sta13 */
    s = step(GW_STA7, GW_EVT12, false, &fx);
    assert_int_equal(s, GW_STA10);
    s = step(s, GW_EVT13, false, &fx);
    assert_int_equal(s, GW_STA12);
    assert_true(fx.confirm);
    s = step(s, GW_EVT14, false, &fx);
    assert_int_equal(s, GW_STA13);
    assert_true(fx.send_release_rp && fx.start_artim);
}

void fsm_out_of_range_is_empty(void **state)
{
    (void)state;
    assert_int_equal(gw_ul_lookup((gw_ul_state_t)0, GW_EVT5), GW_ACT_NONE);
    assert_int_equal(gw_ul_lookup((gw_ul_state_t)14, GW_EVT5), GW_ACT_NONE);
    assert_int_equal(gw_ul_lookup(GW_STA1, (gw_ul_event_t)20), GW_ACT_NONE);
    assert_string_equal(gw_ul_action_name(GW_AR10), "AR-10");
}
