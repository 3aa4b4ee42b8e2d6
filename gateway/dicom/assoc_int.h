/* gateway/dicom/assoc_int.h -- what the listener and its associations share. */
#ifndef CASEPORT_GW_ASSOC_INT_H
#define CASEPORT_GW_ASSOC_INT_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "gw.h"
#include "pending.h"
#include "server.h"

typedef struct gw__assoc gw__assoc_t;

#include "codec_dicom.h"
#include "dimse.h"
#include "store.h"
#include "tls.h"
#include "ul_fsm.h"
#include "ul_pdu.h"

#define READ_BUF (64 * 1024)
#define CMD_MAX (16 * 1024)          /* a C-STORE-RQ command set is a few hundred bytes */
#define MAX_RQ_PDU (512 * 1024)      /* A-ASSOCIATE-RQ and other non-data PDUs */
#define VERIFICATION "1.2.840.10008.1.1"

typedef struct pc {
    bool accepted;
    bool peer_scp; /* the requestor took the SCP role: we may send it C-STORE-RQs */
    char abstract_syntax[65];
    const codec_ts_t *ts;
} pc_t;

struct gw__assoc {
    uv_tcp_t tcp;
    uv_timer_t timer;
    gw_dicom_server_t *srv;
    gw__assoc_t *next, *prev;
    uint32_t id;
    gw_ul_state_t state;
    int open_handles;
    bool closing, reading;
    gw_pending_entry_t pend; /* listed until its A-ASSOCIATE-RQ is whole (pending.h) */
    bool discard_input;   /* after a framing error the rest of the stream is noise */
    uint8_t abort_reason; /* of the A-ABORT the next event may send (PS3.8 9.3.8) */
    const char *why;      /* for its log line */
    uint8_t rj[10];       /* the A-ASSOCIATE-RJ Evt8 sends */
    uint8_t *ac;          /* the A-ASSOCIATE-AC Evt7 sends */
    size_t ac_len;
    const uint8_t *out;   /* the P-DATA-TF Evt9 sends */
    size_t out_len;
    char peer[64];
    struct sockaddr_storage peer_addr;
    int peer_idx;          /* the [peer] section it was accepted under, or -1 */
    uint64_t bytes_in;     /* P-DATA received, for the peer's max_bytes */
    char calling_ae[17], called_ae[17];
    bool rq_seen, accepted; /* for the associations table, written at the end */
    bool verifying;         /* a worker checks the peer's password: freed after it */
    gw_ul_assoc_rq_t *pending_rq; /* the request waiting for that check */
    gw_tls_t *tls;          /* DICOM TLS connection, or NULL */
    double started_at;
    char impl_class[65], impl_version[17];
    char outcome[96];
    uint32_t peer_max; /* largest P-DATA-TF body the peer takes; 0: no limit */
    gw_ul_reader_t rd;
    pc_t pc[256]; /* by presentation context id */
    struct gw_qr *qr;    /* the Q/R operation being served, or NULL */
    uint8_t *ident;      /* the identifier / request data set being received */
    size_t ident_len, ident_cap;
    uint16_t next_msg_id; /* of our own requests (sub-operations) */
    uv_timer_t send_timer; /* runs while a sender waits for the peer to read */
    void (*on_writable)(gw__assoc_t *a); /* a sender waiting for the backlog to drain */
    char username[65];   /* the negotiated user identity, if any */
    bool requestor;      /* we opened it (C-MOVE sub-operations) */
    bool write_failed;   /* closing on the next loop turn */
    struct gw_qr *mover; /* the C-MOVE whose sub-operations it carries */
    struct gw_sc *sc;       /* a Storage Commitment whose report is meant for it */
    struct gw_sc *reporter; /* the Storage Commitment report our association carries */
    uint8_t *rq_pdu;     /* the A-ASSOCIATE-RQ AE-2 sends */
    size_t rq_pdu_len;
    uv_getaddrinfo_t gai;
    uv_connect_t connect_req;
    char dest_port[8];
    uint8_t cmd[CMD_MAX];
    size_t cmd_len;
    gw_dimse_cmd_t rq; /* the command being served */
    uint8_t rq_pc;
    gw_store_t *store; /* the C-STORE receiving its data set, or NULL */
    bool awaiting_data;
    uint64_t t_start, t_data; /* uv_hrtime: C-STORE-RQ received, last data PDV received */
    uint32_t n_stored, n_failed;
    uint8_t readbuf[READ_BUF];
};


struct gw_dicom_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_tcp_t tls_listener;      /* when tls_ctx */
    struct gw_tls_ctx *tls_ctx; /* DICOM TLS, or NULL */
    int tls_port;
    int listeners_open;
    gw_ctx_t ctx;
    int port;
    uint32_t next_id;
    int n_assoc;      /* open connections */
    gw_pending_t pending; /* those without a whole A-ASSOCIATE-RQ yet */
    gw__assoc_t *head; /* every open association, for shutdown */
    int peer_active[CONF_MAX_PEERS]; /* accepted associations per [peer] */
    bool closing;
};

void gw__assoc_accept(gw_dicom_server_t *srv, bool tls);

/* For the DIMSE services beyond C-ECHO/C-STORE (qr.c): */
#define GW_SEND_HIGH (1024 * 1024) /* a sender stops above this much unsent */
void gw__send_command(gw__assoc_t *a, uint8_t pc_id, const gw_dimse_cmd_t *cmd);
/* Data-set bytes as P-DATA-TF PDUs within the peer's maximum length; last marks the
 * final PDV. */
void gw__send_data(gw__assoc_t *a, uint8_t pc_id, const uint8_t *data, size_t len, bool last);
size_t gw__backlog(const gw__assoc_t *a);
/* Calls fn once the backlog is under GW_SEND_HIGH / 4; aborts the association if the
 * peer reads nothing for send_timeout seconds meanwhile. */
void gw__wait_writable(gw__assoc_t *a, void (*fn)(gw__assoc_t *a));
void gw__protocol_error(gw__assoc_t *a, uint8_t reason, const char *why);
void gw__local_abort(gw__assoc_t *a, const char *why);
/* An association we request (C-MOVE): resolves host, connects, sends the A-ASSOCIATE-RQ
 * built from rq. gw_qr_move_ready(out) follows acceptance; gw_qr_move_lost(out, why) any
 * end before the mover detached itself (out->mover = NULL). */
gw__assoc_t *gw__assoc_connect(gw_dicom_server_t *srv, const char *host, int port,
                               const gw_ul_assoc_rq_t *rq, struct gw_qr *mover);
void gw__assoc_release(gw__assoc_t *a); /* A-RELEASE request (Evt11) */
/* The operation finished: a release that waited for it goes on. */
void gw__op_done(gw__assoc_t *a);
void gw__assoc_abort_all(gw_dicom_server_t *srv);
void gw__server_close_listener(gw_dicom_server_t *srv);
#endif
