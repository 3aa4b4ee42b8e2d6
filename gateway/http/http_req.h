/* gateway/http/http_req.h -- one HTTP/1.1 request assembled from a byte stream
 * (http-parser), with no socket: what the listener (http.c) and the fuzz target share.
 * Limits: the URL (414), all header lines together (431), the body (413, per route), and
 * the body memory of the whole server (503). Layer: gateway (private to http/). */
#ifndef CASEPORT_HTTP_REQ_H
#define CASEPORT_HTTP_REQ_H
#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"

/* Body bytes buffered by every request of a server together; a request that would go over
 * max is refused with 503 rather than the server running out of memory. */
typedef struct gw_http_budget {
    size_t used, max;
} gw_http_budget_t;

/* The largest body a request may have, decided once its method and URL are known. */
typedef size_t (*gw_http_limit_fn)(void *ud, const char *method, const char *url);

typedef struct gw_http_req {
    http_parser parser;
    char url[GW_HTTP_MAX_URL + 1];
    size_t url_len, header_bytes;
    char field[32];
    size_t field_len;
    bool in_value, field_is_auth, complete;
    bool head_complete; /* the request line and headers are in */
    char auth[160];
    size_t auth_len;
    char *body;
    size_t body_len, body_cap, body_limit;
    int status; /* a refusal: 400, 413, 414, 431 or 503; 0 while fine */
    gw_http_budget_t *budget;
    gw_http_limit_fn limit;
    void *limit_ud;
} gw_http_req_t;

typedef enum { GW_REQ_MORE, GW_REQ_DONE, GW_REQ_BAD } gw_req_state_t;

void gw_http_req_init(gw_http_req_t *r, gw_http_budget_t *budget, gw_http_limit_fn limit,
                      void *ud);
/* Parses up to len bytes; *used: how many were taken. DONE: a whole request is here (the
 * rest of data is the next one: feed it after gw_http_req_next); BAD: r->status says why
 * and the connection cannot go on. */
gw_req_state_t gw_http_req_feed(gw_http_req_t *r, const char *data, size_t len, size_t *used);
/* The request as the API sees it (pointers into r; valid until gw_http_req_next). */
void gw_http_req_get(gw_http_req_t *r, gw_api_request_t *rq);
bool gw_http_req_keep_alive(const gw_http_req_t *r);
/* The refusal of a BAD request: its code and message. */
void gw_http_req_refusal(const gw_http_req_t *r, const char **code, const char **msg);
/* Ready for the next request; the body's memory is given back. */
void gw_http_req_next(gw_http_req_t *r);
void gw_http_req_free(gw_http_req_t *r);
#endif
