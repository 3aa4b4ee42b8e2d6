/* gateway/http/http.h -- the HTTP/1.1 listener of the JSON API, on the libuv loop.
 * Requests are parsed incrementally (http-parser), one at a time per connection (keep-
 * alive), with limits on the URL, headers and body; each is answered by gw_api_handle on
 * a worker thread, so the loop never waits on PostgreSQL. Layer: gateway. */
#ifndef CASEPORT_HTTP_H
#define CASEPORT_HTTP_H
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "conf.h"
#include "cp_err.h"
#include "gw.h"

#define GW_HTTP_MAX_URL 2048
#define GW_HTTP_MAX_HEADERS (16 * 1024) /* all header lines together */
#define GW_HTTP_MAX_BODY (64 * 1024)

typedef struct gw_http_server gw_http_server_t;

/* *out NULL when [http] port is -1 (no API). */
cp_err_t gw_http_listen(uv_loop_t *loop, const gw_ctx_t *ctx, gw_http_server_t **out,
                        cp_errinfo_t *ei);
int gw_http_port(const gw_http_server_t *s);
/* Stops accepting and closes idle connections; busy ones close after their answer. */
void gw_http_close(gw_http_server_t *s);

/* ---- what the API sees of a request, and what it answers ---- */

typedef struct gw_api_request {
    const char *method; /* GET, POST, DELETE, ... */
    char path[GW_HTTP_MAX_URL + 1];
    char query[GW_HTTP_MAX_URL + 1];
    char bearer[128]; /* the Authorization: Bearer token, or "" */
    const char *body;
    size_t body_len;
    char source[64]; /* the client's address */
} gw_api_request_t;

typedef struct gw_api_response {
    int status;
    char *body; /* malloc'ed JSON (or a console file), or NULL */
    size_t body_len;
    const char *content_type; /* NULL: application/json */
    bool bearer_challenge;    /* 401: WWW-Authenticate: Bearer */
} gw_api_response_t;

/* The largest body a request to url may have: GW_HTTP_MAX_BODY, or [http] max_upload_mb
 * for an upload. Not blocking (the loop thread asks it). */
size_t gw_api_body_limit(const conf_t *conf, const char *method, const char *url);

/* Blocking: runs on a worker thread. Fills rs (rs->body malloc'ed). */
void gw_api_handle(const gw_ctx_t *ctx, const gw_api_request_t *rq, gw_api_response_t *rs);
#endif
