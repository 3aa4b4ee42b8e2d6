/* gateway/dicom/server.h -- the DICOM listener: accepts TCP connections on the loop and
 * runs one association per connection (assoc.c). Layer: gateway; loop thread only. */
#ifndef CASEPORT_GW_DICOM_SERVER_H
#define CASEPORT_GW_DICOM_SERVER_H
#include <uv.h>

#include "gw.h"

typedef struct gw_dicom_server gw_dicom_server_t;

cp_err_t gw_dicom_listen(uv_loop_t *loop, const gw_ctx_t *ctx, gw_dicom_server_t **out,
                         cp_errinfo_t *ei);
int gw_dicom_port(const gw_dicom_server_t *s); /* the bound port (useful with port 0) */
int gw_dicom_tls_port(const gw_dicom_server_t *s); /* -1 without TLS */
/* Stops listening and aborts every association; the server frees itself once all its
 * handles are closed and in-flight stores have finished (the loop then runs dry). */
void gw_dicom_close(gw_dicom_server_t *s);
#endif
