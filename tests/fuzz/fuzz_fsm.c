/* libFuzzer target: random event sequences through the upper-layer state machine, with
 * the invariants every action of PS3.8 Tables 9-6 to 9-9 keeps. Each input byte is one
 * event (low 5 bits, taken modulo 19) and the requestor flag (bit 7). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ul_fsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(gw_ul_state_t from, gw_ul_state_t to, const gw_ul_effects_t *fx)
{
    if (to < GW_STA1 || to > GW_STA13)
        abort();
    if (fx->action == GW_ACT_NONE && to != from)
        abort(); /* an empty cell changes nothing */
    if (fx->close_transport && to != GW_STA1)
        abort();
    if ((fx->send_abort || fx->send_assoc_rj) && to != GW_STA13)
        abort();
    if (fx->start_artim && to != GW_STA2 && to != GW_STA13)
        abort(); /* ARTIM runs only while awaiting an RQ or a close */
    if (fx->send_assoc_ac && to != GW_STA6)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_ul_state_t s = GW_STA1;
    for (size_t i = 0; i < size; i++) {
        gw_ul_event_t e = (gw_ul_event_t)((data[i] & 0x1F) % GW_UL_EVENTS + 1);
        gw_ul_effects_t fx;
        gw_ul_state_t next = gw_ul_step(s, e, data[i] & 0x80, &fx);
        check(s, next, &fx);
        s = next;
    }
    return 0;
}
