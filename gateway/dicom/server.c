/* gateway/dicom/server.c -- the listening socket. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "assoc_int.h"
#include "cp_log.h"
#include "cp_mem.h"

static void on_listener_closed(uv_handle_t *h)
{
    gw_dicom_server_t *srv = container_of((uv_tcp_t *)h, gw_dicom_server_t, listener);
    free(srv);
}

static void on_connection(uv_stream_t *l, int status)
{
    gw_dicom_server_t *srv = container_of((uv_tcp_t *)l, gw_dicom_server_t, listener);
    if (status < 0) {
        CP_LOG(CP_LOG_WARN, "dicom", "event=accept_failed error=%s", uv_err_name(status));
        return;
    }
    if (!srv->closing)
        gw__assoc_accept(srv);
}

cp_err_t gw_dicom_listen(uv_loop_t *loop, const gw_ctx_t *ctx, gw_dicom_server_t **out,
                         cp_errinfo_t *ei)
{
    const conf_dicom_t *dc = &ctx->conf->dicom;
    struct sockaddr_storage addr;
    int rc = strchr(dc->bind, ':') != NULL
                 ? uv_ip6_addr(dc->bind, dc->port, (struct sockaddr_in6 *)&addr)
                 : uv_ip4_addr(dc->bind, dc->port, (struct sockaddr_in *)&addr);
    if (rc != 0)
        return cp_fail(ei, CP_ECONFIG, 0, "dicom bind address \"%s\" is not an ip address",
                       dc->bind);
    gw_dicom_server_t *srv = cp_xcalloc(1, sizeof *srv);
    srv->loop = loop;
    srv->ctx = *ctx;
    uv_tcp_init(loop, &srv->listener);
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
    if (rc != 0) {
        uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
        return cp_fail(ei, CP_EIO, 0, "cannot listen on %s:%d: %s", dc->bind, dc->port,
                       uv_strerror(rc));
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len);
    srv->port = ntohs(((struct sockaddr_in *)&bound)->sin_port); /* same offset in v6 */
    *out = srv;
    return CP_OK;
}

int gw_dicom_port(const gw_dicom_server_t *s)
{
    return s->port;
}

void gw__server_close_listener(gw_dicom_server_t *srv)
{
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
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
