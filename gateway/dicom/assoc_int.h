/* gateway/dicom/assoc_int.h -- what the listener and its associations share. */
#ifndef CASEPORT_GW_ASSOC_INT_H
#define CASEPORT_GW_ASSOC_INT_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "gw.h"
#include "server.h"

typedef struct gw__assoc gw__assoc_t;

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
    gw__assoc_t *head; /* every open association, for shutdown */
    int peer_active[CONF_MAX_PEERS]; /* accepted associations per [peer] */
    bool closing;
};

void gw__assoc_accept(gw_dicom_server_t *srv, bool tls);
void gw__assoc_abort_all(gw_dicom_server_t *srv);
void gw__server_close_listener(gw_dicom_server_t *srv);
#endif
