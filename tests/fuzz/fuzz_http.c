/* libFuzzer target: the HTTP request assembler (gateway/http/http_req.c) fed arbitrary
 * bytes in pieces of arbitrary size (the first byte), as a socket would deliver them,
 * with pipelined requests. Invariants: the limits hold, a refusal has one of the statuses
 * the listener answers, and the body memory charged to the server's budget is exactly
 * what the request holds, and all of it is given back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bodies to an "upload" URL may reach 300 KiB; the budget lets only one such be buffered. */
static size_t limit(void *ud, const char *method, const char *url)
{
    (void)ud;
    return strcmp(method, "PUT") == 0 && strstr(url, "upload") ? 300 * 1024 : GW_HTTP_MAX_BODY;
}

static void check_request(gw_http_req_t *r, const gw_http_budget_t *b)
{
    gw_api_request_t rq;
    gw_http_req_get(r, &rq);
    if (rq.body_len > r->body_limit || strlen(rq.path) > GW_HTTP_MAX_URL ||
        strlen(rq.bearer) >= sizeof rq.bearer || rq.body[rq.body_len] != '\0')
        abort();
    if (b->used != r->body_cap || (r->body_cap && r->body_cap <= r->body_len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = data[0] ? data[0] : 1;
    data++, size--;
    gw_http_budget_t budget = {0, 400 * 1024};
    gw_http_req_t r;
    gw_http_req_init(&r, &budget, limit, NULL);
    size_t at = 0;
    int requests = 0;
    while (at < size) {
        size_t n = size - at < piece ? size - at : piece, used = 0;
        gw_req_state_t st = gw_http_req_feed(&r, (const char *)data + at, n, &used);
        if (used > n)
            abort();
        if (st == GW_REQ_BAD) {
            if (r.status != 400 && r.status != 413 && r.status != 414 && r.status != 431 &&
                r.status != 503)
                abort();
            break;
        }
        at += st == GW_REQ_DONE ? used : n;
        if (st == GW_REQ_DONE) {
            check_request(&r, &budget);
            gw_http_req_next(&r);
            if (budget.used != 0 || ++requests > 10000)
                abort();
        }
    }
    gw_http_req_free(&r);
    if (budget.used != 0)
        abort();
    return 0;
}
