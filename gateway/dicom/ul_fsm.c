/* gateway/dicom/ul_fsm.c -- PS3.8 Table 9-10 and the actions of Tables 9-6 to 9-9. */
#include "ul_fsm.h"

#include <string.h>

#define _ GW_ACT_NONE
/* [event - 1][state - 1], states Sta1 .. Sta13 left to right, as printed in Table 9-10. */
static const gw_ul_action_t table[GW_UL_EVENTS][GW_UL_STATES] = {
    /*         Sta1     Sta2     Sta3     Sta4     Sta5     Sta6     Sta7     Sta8     Sta9     Sta10    Sta11    Sta12    Sta13 */
    /* Evt1 */ {GW_AE1, _, _, _, _, _, _, _, _, _, _, _, _},
    /* Evt2 */ {_, _, _, GW_AE2, _, _, _, _, _, _, _, _, _},
    /* Evt3 */ {_, GW_AA1, GW_AA8, _, GW_AE3, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA6},
    /* Evt4 */ {_, GW_AA1, GW_AA8, _, GW_AE4, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA6},
    /* Evt5 */ {GW_AE5, _, _, _, _, _, _, _, _, _, _, _, _},
    /* Evt6 */ {_, GW_AE6, GW_AA8, _, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA7},
    /* Evt7 */ {_, _, GW_AE7, _, _, _, _, _, _, _, _, _, _},
    /* Evt8 */ {_, _, GW_AE8, _, _, _, _, _, _, _, _, _, _},
    /* Evt9 */ {_, _, _, _, _, GW_DT1, _, GW_AR7, _, _, _, _, _},
    /* Evt10 */ {_, GW_AA1, GW_AA8, _, GW_AA8, GW_DT2, GW_AR6, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA6},
    /* Evt11 */ {_, _, _, _, _, GW_AR1, _, _, _, _, _, _, _},
    /* Evt12 */ {_, GW_AA1, GW_AA8, _, GW_AA8, GW_AR2, GW_AR8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA6},
    /* Evt13 */ {_, GW_AA1, GW_AA8, _, GW_AA8, GW_AA8, GW_AR3, GW_AA8, GW_AA8, GW_AR10, GW_AR3, GW_AA8, GW_AA6},
    /* Evt14 */ {_, _, _, _, _, _, _, GW_AR4, GW_AR9, _, _, GW_AR4, _},
    /* Evt15 */ {_, _, GW_AA1, GW_AA2, GW_AA1, GW_AA1, GW_AA1, GW_AA1, GW_AA1, GW_AA1, GW_AA1, GW_AA1, _},
    /* Evt16 */ {_, GW_AA2, GW_AA3, _, GW_AA3, GW_AA3, GW_AA3, GW_AA3, GW_AA3, GW_AA3, GW_AA3, GW_AA3, GW_AA2},
    /* Evt17 */ {_, GW_AA5, GW_AA4, GW_AA4, GW_AA4, GW_AA4, GW_AA4, GW_AA4, GW_AA4, GW_AA4, GW_AA4, GW_AA4, GW_AR5},
    /* Evt18 */ {_, GW_AA2, _, _, _, _, _, _, _, _, _, _, GW_AA2},
    /* Evt19 */ {_, GW_AA1, GW_AA8, _, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA8, GW_AA7},
};
#undef _

gw_ul_action_t gw_ul_lookup(gw_ul_state_t state, gw_ul_event_t event)
{
    if (state < GW_STA1 || state > GW_STA13 || event < GW_EVT1 || event > GW_EVT19)
        return GW_ACT_NONE;
    return table[event - 1][state - 1];
}

const char *gw_ul_action_name(gw_ul_action_t a)
{
    static const char *const names[] = {
        "none", "AE-1", "AE-2", "AE-3", "AE-4", "AE-5", "AE-6", "AE-7", "AE-8",
        "DT-1", "DT-2", "AR-1", "AR-2", "AR-3", "AR-4", "AR-5", "AR-6", "AR-7",
        "AR-8", "AR-9", "AR-10", "AA-1", "AA-2", "AA-3", "AA-4", "AA-5", "AA-6",
        "AA-7", "AA-8"};
    _Static_assert(sizeof names / sizeof names[0] == GW_AA8 + 1, "one name per action");
    return (unsigned)a <= GW_AA8 ? names[a] : "?";
}

/* The association-establishment actions, Table 9-6. */
static gw_ul_state_t establish(gw_ul_action_t a, gw_ul_effects_t *fx)
{
    switch (a) {
    case GW_AE1: fx->connect = true; return GW_STA4;
    case GW_AE2: fx->send_assoc_rq = true; return GW_STA5;
    case GW_AE3: fx->confirm = true; return GW_STA6;
    case GW_AE4: fx->confirm = fx->close_transport = true; return GW_STA1;
    case GW_AE5: fx->start_artim = true; return GW_STA2;
    /* AE-6: the request is offered to the user, who answers at once with Evt7 or Evt8;
     * a request the UL itself cannot accept is answered the same way (Evt8). */
    case GW_AE6: fx->stop_artim = fx->indicate_assoc = true; return GW_STA3;
    case GW_AE7: fx->send_assoc_ac = true; return GW_STA6;
    case GW_AE8: fx->send_assoc_rj = fx->start_artim = true; return GW_STA13;
    default: return GW_STA1;
    }
}

/* Data transfer and release, Tables 9-7 and 9-8. */
static gw_ul_state_t transfer_release(gw_ul_action_t a, bool requestor, gw_ul_effects_t *fx)
{
    switch (a) {
    case GW_DT1: fx->send_pdata = true; return GW_STA6;
    case GW_DT2: fx->indicate_pdata = true; return GW_STA6;
    case GW_AR1: fx->send_release_rq = true; return GW_STA7;
    case GW_AR2: fx->indicate_release = true; return GW_STA8;
    case GW_AR3: fx->confirm = fx->close_transport = true; return GW_STA1;
    case GW_AR4: fx->send_release_rp = fx->start_artim = true; return GW_STA13;
    case GW_AR5: fx->stop_artim = true; return GW_STA1;
    case GW_AR6: fx->indicate_pdata = true; return GW_STA7;
    case GW_AR7: fx->send_pdata = true; return GW_STA8;
    case GW_AR8: fx->indicate_release = true; return requestor ? GW_STA9 : GW_STA10;
    case GW_AR9: fx->send_release_rp = true; return GW_STA11;
    case GW_AR10: fx->confirm = true; return GW_STA12;
    default: return GW_STA1;
    }
}

/* Abort, Table 9-9. */
static gw_ul_state_t abort_action(gw_ul_action_t a, gw_ul_event_t event, gw_ul_effects_t *fx)
{
    switch (a) {
    case GW_AA1:
        fx->send_abort = fx->start_artim = true;
        fx->abort_from_user = event == GW_EVT15;
        return GW_STA13;
    case GW_AA2: fx->stop_artim = fx->close_transport = true; return GW_STA1;
    case GW_AA3: fx->indicate_abort = fx->close_transport = true; return GW_STA1;
    case GW_AA4: fx->indicate_abort = true; return GW_STA1;
    case GW_AA5: fx->stop_artim = true; return GW_STA1;
    case GW_AA6: fx->ignore = true; return GW_STA13;
    case GW_AA7: fx->send_abort = true; return GW_STA13;
    case GW_AA8: fx->send_abort = fx->indicate_abort = fx->start_artim = true; return GW_STA13;
    default: return GW_STA1;
    }
}

gw_ul_state_t gw_ul_step(gw_ul_state_t state, gw_ul_event_t event, bool requestor,
                         gw_ul_effects_t *fx)
{
    memset(fx, 0, sizeof *fx);
    gw_ul_action_t a = gw_ul_lookup(state, event);
    fx->action = a;
    if (a == GW_ACT_NONE)
        return state;
    if (a <= GW_AE8)
        return establish(a, fx);
    if (a <= GW_AR10)
        return transfer_release(a, requestor, fx);
    return abort_action(a, event, fx);
}
