/* gateway/http/http_req.c -- one HTTP/1.1 request from a byte stream (http_req.h). */
#include "http_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cp_mem.h"

#define BODY_FIRST (16 * 1024) /* a body's first buffer; it doubles up to its limit */

static void release_body(gw_http_req_t *r)
{
    if (r->budget != NULL)
        r->budget->used -= r->body_cap;
    free(r->body);
    r->body = NULL;
    r->body_cap = r->body_len = 0;
}

static int on_message_begin(http_parser *p)
{
    gw_http_req_t *r = p->data;
    release_body(r);
    r->url_len = r->header_bytes = r->field_len = r->auth_len = 0;
    r->in_value = r->field_is_auth = r->complete = r->head_complete = false;
    r->url[0] = r->auth[0] = '\0';
    r->body_limit = GW_HTTP_MAX_BODY;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    gw_http_req_t *r = p->data;
    if (r->url_len + n > GW_HTTP_MAX_URL) {
        r->status = 414;
        return 1;
    }
    memcpy(r->url + r->url_len, at, n);
    r->url_len += n;
    r->url[r->url_len] = '\0';
    return 0;
}

static int count_header(gw_http_req_t *r, size_t n)
{
    r->header_bytes += n;
    if (r->header_bytes > GW_HTTP_MAX_HEADERS) {
        r->status = 431;
        return 1;
    }
    return 0;
}

/* Appends at most what fits (the rest of an over-long value is not needed). */
static void append(char *dst, size_t cap, size_t *len, const char *at, size_t n)
{
    size_t room = cap - 1 - *len, k = n < room ? n : room;
    memcpy(dst + *len, at, k);
    *len += k;
    dst[*len] = '\0';
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    gw_http_req_t *r = p->data;
    if (count_header(r, n))
        return 1;
    if (r->in_value) { /* a new header begins */
        r->in_value = false;
        r->field_len = 0;
    }
    append(r->field, sizeof r->field, &r->field_len, at, n);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    gw_http_req_t *r = p->data;
    if (count_header(r, n))
        return 1;
    if (!r->in_value) {
        r->in_value = true;
        r->field_is_auth = strcasecmp(r->field, "Authorization") == 0;
        if (r->field_is_auth)
            r->auth_len = 0;
    }
    if (r->field_is_auth)
        append(r->auth, sizeof r->auth, &r->auth_len, at, n);
    return 0;
}

/* The body's limit is known now; a declared length over it is refused before any of the
 * body is read. (-1: http-parser's error return from this callback.) */
static int on_headers_complete(http_parser *p)
{
    gw_http_req_t *r = p->data;
    r->head_complete = true;
    if (r->limit != NULL)
        r->body_limit = r->limit(r->limit_ud, http_method_str((enum http_method)p->method),
                                 r->url);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > r->body_limit) {
        r->status = 413;
        return -1;
    }
    return 0;
}

static bool grow_body(gw_http_req_t *r, size_t need)
{
    size_t cap = r->body_cap ? r->body_cap : BODY_FIRST;
    while (cap < need + 1)
        cap *= 2;
    if (cap > r->body_limit + 1)
        cap = r->body_limit + 1;
    size_t more = cap - r->body_cap;
    if (r->budget != NULL && r->budget->used + more > r->budget->max) {
        r->status = 503;
        return false;
    }
    r->body = cp_xrealloc(r->body, cap);
    if (r->budget != NULL)
        r->budget->used += more;
    r->body_cap = cap;
    return true;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    gw_http_req_t *r = p->data;
    if (r->body_len + n > r->body_limit) {
        r->status = 413;
        return 1;
    }
    if (r->body_len + n + 1 > r->body_cap && !grow_body(r, r->body_len + n))
        return 1;
    memcpy(r->body + r->body_len, at, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *p)
{
    gw_http_req_t *r = p->data;
    r->complete = true;
    http_parser_pause(p, 1); /* one request at a time: the rest waits */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void gw_http_req_init(gw_http_req_t *r, gw_http_budget_t *budget, gw_http_limit_fn limit,
                      void *ud)
{
    memset(r, 0, sizeof *r);
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    r->budget = budget;
    r->limit = limit;
    r->limit_ud = ud;
    r->body_limit = GW_HTTP_MAX_BODY;
}

gw_req_state_t gw_http_req_feed(gw_http_req_t *r, const char *data, size_t len, size_t *used)
{
    *used = http_parser_execute(&r->parser, &settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (e == HPE_PAUSED && r->complete)
        return GW_REQ_DONE;
    if (e == HPE_OK && r->status == 0)
        return GW_REQ_MORE;
    if (r->status == 0)
        r->status = 400;
    return GW_REQ_BAD;
}

void gw_http_req_get(gw_http_req_t *r, gw_api_request_t *rq)
{
    rq->method = http_method_str((enum http_method)r->parser.method);
    const char *q = strchr(r->url, '?');
    size_t plen = q ? (size_t)(q - r->url) : r->url_len;
    snprintf(rq->path, sizeof rq->path, "%.*s", (int)plen, r->url);
    snprintf(rq->query, sizeof rq->query, "%s", q ? q + 1 : "");
    rq->bearer[0] = '\0';
    if (strncasecmp(r->auth, "Bearer ", 7) == 0)
        snprintf(rq->bearer, sizeof rq->bearer, "%s", r->auth + 7);
    rq->body = r->body ? r->body : "";
    rq->body_len = r->body_len;
}

bool gw_http_req_keep_alive(const gw_http_req_t *r)
{
    return http_should_keep_alive(&r->parser) != 0;
}

void gw_http_req_refusal(const gw_http_req_t *r, const char **code, const char **msg)
{
    switch (r->status) {
    case 413:
        *code = "too_large";
        *msg = "the request body is over its limit (64 KiB; an upload: [http] max_upload_mb)";
        break;
    case 414: *code = "uri_too_long", *msg = "the URL is over 2 KiB"; break;
    case 431: *code = "headers_too_large", *msg = "the headers are over 16 KiB"; break;
    case 503: *code = "busy", *msg = "too many uploads at once; try again shortly"; break;
    default: *code = "bad_request", *msg = "not an HTTP/1.1 request"; break;
    }
}

void gw_http_req_next(gw_http_req_t *r)
{
    release_body(r);
    r->complete = r->head_complete = false;
    http_parser_pause(&r->parser, 0);
}

void gw_http_req_free(gw_http_req_t *r)
{
    release_body(r);
}
