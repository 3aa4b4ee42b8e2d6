/* gateway/dicom/server.c -- the listening socket. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "assoc_int.h"
#include "tls.h"
#include "cp_log.h"
#include "cp_mem.h"

static void on_listener_closed(uv_handle_t *h)
{
    gw_dicom_server_t *srv = h->data;
    if (--srv->listeners_open > 0)
        return;
    gw_tls_ctx_free(srv->tls_ctx);
    free(srv);
}

static void on_connection(uv_stream_t *l, int status)
{
    gw_dicom_server_t *srv = l->data;
    if (status < 0) {
        CP_LOG(CP_LOG_WARN, "dicom", "event=accept_failed error=%s", uv_err_name(status));
        return;
    }
    if (!srv->closing)
        gw__assoc_accept(srv, (uv_tcp_t *)l == &srv->tls_listener);
}

static int bound_port(uv_tcp_t *t)
{
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(t, (struct sockaddr *)&bound, &len);
    return ntohs(((struct sockaddr_in *)&bound)->sin_port); /* same offset in v6 */
}

static int listen_on(gw_dicom_server_t *srv, uv_tcp_t *t, const char *bind, int port)
{
    struct sockaddr_storage addr;
    int rc = strchr(bind, ':') != NULL ? uv_ip6_addr(bind, port, (struct sockaddr_in6 *)&addr)
                                       : uv_ip4_addr(bind, port, (struct sockaddr_in *)&addr);
    uv_tcp_init(srv->loop, t);
    t->data = srv;
    srv->listeners_open++;
    if (rc == 0)
        rc = uv_tcp_bind(t, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)t, 128, on_connection);
    return rc;
}

cp_err_t gw_dicom_listen(uv_loop_t *loop, const gw_ctx_t *ctx, gw_dicom_server_t **out,
                         cp_errinfo_t *ei)
{
    const conf_dicom_t *dc = &ctx->conf->dicom;
    struct sockaddr_storage probe;
    if (uv_ip4_addr(dc->bind, 0, (struct sockaddr_in *)&probe) != 0 &&
        uv_ip6_addr(dc->bind, 0, (struct sockaddr_in6 *)&probe) != 0)
        return cp_fail(ei, CP_ECONFIG, 0, "dicom bind address \"%s\" is not an ip address",
                       dc->bind);
    gw_dicom_server_t *srv = cp_xcalloc(1, sizeof *srv);
    srv->loop = loop;
    srv->ctx = *ctx;
    gw_pending_init(&srv->pending, dc->max_pending, dc->max_pending_per_address);
    cp_err_t err = CP_OK;
    gw_tls_conf_t tc = {dc->tls_cert, dc->tls_key, dc->tls_ca, dc->tls_require_client_cert};
    if (dc->tls_port >= 0)
        err = gw_tls_ctx_new(&tc, &srv->tls_ctx, ei);
    int rc = err == CP_OK ? listen_on(srv, &srv->listener, dc->bind, dc->port) : 0;
    if (err == CP_OK && rc != 0)
        err = cp_fail(ei, CP_EIO, 0, "cannot listen on %s:%d: %s", dc->bind, dc->port,
                      uv_strerror(rc));
    if (err == CP_OK && srv->tls_ctx != NULL &&
        (rc = listen_on(srv, &srv->tls_listener, dc->bind, dc->tls_port)) != 0)
        err = cp_fail(ei, CP_EIO, 0, "cannot listen on %s:%d (tls): %s", dc->bind,
                      dc->tls_port, uv_strerror(rc));
    if (err != CP_OK) {
        if (srv->listeners_open == 0) {
            gw_tls_ctx_free(srv->tls_ctx);
            free(srv);
        } else {
            gw__server_close_listener(srv);
        }
        return err;
    }
    srv->port = bound_port(&srv->listener);
    srv->tls_port = srv->tls_ctx ? bound_port(&srv->tls_listener) : -1;
    *out = srv;
    return CP_OK;
}

int gw_dicom_tls_port(const gw_dicom_server_t *s)
{
    return s->tls_port;
}

int gw_dicom_port(const gw_dicom_server_t *s)
{
    return s->port;
}

void gw__server_close_listener(gw_dicom_server_t *srv)
{
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    if (srv->listeners_open > 1)
        uv_close((uv_handle_t *)&srv->tls_listener, on_listener_closed);
}

void gw_dicom_close(gw_dicom_server_t *srv)
{
    srv->closing = true;
    gw__assoc_abort_all(srv);
    /* Associations keep a pointer to srv until their close_cb: the listener is closed
     * after them, from the last one's close (see assoc.c) or now if none is open. */
    if (srv->n_assoc == 0)
        gw__server_close_listener(srv);
}
