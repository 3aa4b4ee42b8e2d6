/* gateway/dicom/ul_fsm.h -- the DICOM Upper Layer state machine of PS3.8 9.2, as a table:
 * Table 9-10 maps [event][state] to an action (Tables 9-6 to 9-9), and each action to its
 * effects and next state. Pure: no sockets, no timers; the association turns I/O into
 * events and carries out the effects gw_ul_step() returns. */
#ifndef CASEPORT_UL_FSM_H
#define CASEPORT_UL_FSM_H
#include <stdbool.h>
#include <stdint.h>

typedef enum gw_ul_state {
    GW_STA1 = 1, /* idle: no transport */
    GW_STA2,     /* transport open, awaiting A-ASSOCIATE-RQ */
    GW_STA3,     /* awaiting the local A-ASSOCIATE response */
    GW_STA4,     /* awaiting transport open (requestor) */
    GW_STA5,     /* awaiting A-ASSOCIATE-AC or -RJ (requestor) */
    GW_STA6,     /* association established, ready for data */
    GW_STA7,     /* awaiting A-RELEASE-RP */
    GW_STA8,     /* awaiting the local A-RELEASE response */
    GW_STA9,     /* release collision, requestor: awaiting local A-RELEASE response */
    GW_STA10,    /* release collision, acceptor: awaiting A-RELEASE-RP */
    GW_STA11,    /* release collision, requestor: awaiting A-RELEASE-RP */
    GW_STA12,    /* release collision, acceptor: awaiting local A-RELEASE response */
    GW_STA13,    /* awaiting transport close */
} gw_ul_state_t;
#define GW_UL_STATES 13

typedef enum gw_ul_event {
    GW_EVT1 = 1, /* A-ASSOCIATE request (local) */
    GW_EVT2,     /* transport connect confirmation */
    GW_EVT3,     /* A-ASSOCIATE-AC PDU received */
    GW_EVT4,     /* A-ASSOCIATE-RJ PDU received */
    GW_EVT5,     /* transport connection indication */
    GW_EVT6,     /* A-ASSOCIATE-RQ PDU received */
    GW_EVT7,     /* A-ASSOCIATE response: accept (local) */
    GW_EVT8,     /* A-ASSOCIATE response: reject (local) */
    GW_EVT9,     /* P-DATA request (local) */
    GW_EVT10,    /* P-DATA-TF PDU received */
    GW_EVT11,    /* A-RELEASE request (local) */
    GW_EVT12,    /* A-RELEASE-RQ PDU received */
    GW_EVT13,    /* A-RELEASE-RP PDU received */
    GW_EVT14,    /* A-RELEASE response (local) */
    GW_EVT15,    /* A-ABORT request (local) */
    GW_EVT16,    /* A-ABORT PDU received */
    GW_EVT17,    /* transport connection closed */
    GW_EVT18,    /* ARTIM timer expired */
    GW_EVT19,    /* unrecognized or invalid PDU received */
} gw_ul_event_t;
#define GW_UL_EVENTS 19

typedef enum gw_ul_action {
    GW_ACT_NONE, /* an empty cell: the event cannot happen in that state */
    GW_AE1, GW_AE2, GW_AE3, GW_AE4, GW_AE5, GW_AE6, GW_AE7, GW_AE8,
    GW_DT1, GW_DT2,
    GW_AR1, GW_AR2, GW_AR3, GW_AR4, GW_AR5, GW_AR6, GW_AR7, GW_AR8, GW_AR9, GW_AR10,
    GW_AA1, GW_AA2, GW_AA3, GW_AA4, GW_AA5, GW_AA6, GW_AA7, GW_AA8,
} gw_ul_action_t;

/* What an action asks the association to do, in this order: stop the timer, send, issue
 * the indication, start the timer, close. */
typedef struct gw_ul_effects {
    gw_ul_action_t action;
    bool stop_artim, start_artim;
    bool connect;            /* AE-1 */
    bool send_assoc_rq;      /* AE-2 */
    bool send_assoc_ac;      /* AE-7 */
    bool send_assoc_rj;      /* AE-8 */
    bool send_pdata;         /* DT-1, AR-7 */
    bool send_release_rq;    /* AR-1 */
    bool send_release_rp;    /* AR-4, AR-9 */
    bool send_abort;         /* AA-1, AA-7, AA-8 */
    bool abort_from_user;    /* AA-1 on a local A-ABORT request: source 0, else 2 */
    bool indicate_assoc;     /* AE-6: the request is offered to the user */
    bool indicate_pdata;     /* DT-2, AR-6 */
    bool indicate_release;   /* AR-2, AR-8 */
    bool indicate_abort;     /* AA-3, AA-4, AA-8: the association is gone */
    bool confirm;            /* AE-3, AE-4, AR-3, AR-10: requestor confirmations */
    bool ignore;             /* AA-6 */
    bool close_transport;
} gw_ul_effects_t;

/* The cell of Table 9-10. */
gw_ul_action_t gw_ul_lookup(gw_ul_state_t state, gw_ul_event_t event);
/* Runs one event: fills *fx and returns the next state. requestor matters only for the
 * release collision (AR-8). An empty cell returns the state unchanged with action NONE. */
gw_ul_state_t gw_ul_step(gw_ul_state_t state, gw_ul_event_t event, bool requestor,
                         gw_ul_effects_t *fx);
const char *gw_ul_action_name(gw_ul_action_t a); /* "AE-1" ... */
#endif
