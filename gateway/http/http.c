/* gateway/http/http.c -- the HTTP/1.1 listener (http.h). */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "cp_log.h"
#include "cp_mem.h"
#include "http_req.h"
#include "pending.h"
#include "tls.h"

/* Request bodies buffered by the whole server: a few uploads at [http] max_upload_mb. */
#define BODY_BUDGET (128u << 20)

typedef struct conn conn_t;

struct gw_http_server {
    uv_tcp_t tcp;
    uv_loop_t *loop;
    gw_ctx_t ctx;
    int port, n_conns;
    gw_http_budget_t budget;
    gw_tls_ctx_t *tls_ctx; /* [http] tls_cert: HTTPS only; NULL: plain HTTP */
    bool closing, listener_closed;
    conn_t *conns; /* every open connection, to close them */
    gw_pending_t pending; /* those without a whole request head (pending.h) */
    int in_flight, max_in_flight; /* requests on libuv's pool (shared with DICOM) */
    conn_t *wait_head, *wait_tail;  /* requests parsed, waiting for one to finish */
};

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    gw_http_server_t *srv;
    conn_t *prev, *next;
    int handles; /* open: freed when 0 */
    gw_http_req_t req;
    gw_api_request_t rq;
    bool busy, close_after, closing, reading;
    bool working; /* queued to or running on a worker: the memory must stay */
    gw_tls_t *tls;    /* NULL: plain HTTP */
    uint8_t *pending; /* read past the request being answered (pipelined) */
    size_t pending_len;
    uv_work_t work;
    gw_api_response_t rs;
    conn_t *wait_next; /* in the server's queue of requests waiting for the pool */
    char peer[64];     /* the client's address, read once at accept */
    struct sockaddr_storage addr;
    gw_pending_entry_t pend; /* listed while no whole request head is in */
};

static void feed(conn_t *c, const char *data, size_t len);
static void start_reading(conn_t *c);

/* from accept, or the last answer, to a complete request head */
static uint64_t header_ms(const gw_http_server_t *s)
{
    return (uint64_t)s->ctx.conf->http.header_timeout * 1000;
}

/* from the head to the end of the request's body */
static uint64_t request_ms(const gw_http_server_t *s)
{
    return (uint64_t)s->ctx.conf->http.request_timeout * 1000;
}

static size_t body_limit(void *ud, const char *method, const char *url)
{
    const gw_http_server_t *s = ud;
    return gw_api_body_limit(s->ctx.conf, method, url);
}

/* The server lives until its listener and its last connection are closed. */
static void maybe_free(gw_http_server_t *s)
{
    if (s->closing && s->listener_closed && s->n_conns == 0) {
        gw_tls_ctx_free(s->tls_ctx);
        free(s);
    }
}

/* ---- life cycle ---- */

/* The connection's memory goes last: its body is given back to the server's budget, and
 * only then may the server itself be freed. */
static void on_handle_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    if (--c->handles > 0)
        return;
    gw_http_server_t *s = c->srv;
    gw_http_req_free(&c->req);
    gw_tls_free(c->tls);
    free(c->pending);
    free(c);
    s->n_conns--;
    maybe_free(s);
}

static void close_conn(conn_t *c)
{
    if (c->closing)
        return;
    if (c->working) { /* a worker still has the request: close once it is answered */
        c->close_after = true;
        if (c->reading) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
        }
        return;
    }
    c->closing = true;
    gw_http_server_t *s = c->srv;
    gw_pending_remove(&s->pending, &c->pend);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
    conn_t *c = t->data;
    if (!c->busy)
        close_conn(c); /* no complete request in time: a slow or idle client */
}

/* c waits for a request head again (new, or kept alive): it joins the pending ones, and
 * the oldest of its address, or of all, closes when there is no room (pending.h). */
static void wait_for_head(conn_t *c)
{
    gw_http_server_t *s = c->srv;
    gw_pending_entry_t *e;
    uint64_t now = uv_now(s->loop);
    while ((e = gw_pending_victim(&s->pending, &c->pend, now)) != NULL) {
        conn_t *old = container_of(e, conn_t, pend);
        gw_pending_remove(&s->pending, e);
        CP_LOG(CP_LOG_WARN, "http", "event=pending_dropped peer=%s pending=%d", old->peer,
               s->pending.n);
        close_conn(old);
    }
    gw_pending_add(&s->pending, &c->pend, now);
    uv_timer_start(&c->timer, on_timeout, header_ms(s), 0);
}

/* The head is in: the client is no longer pending; the rest of it has request_timeout. */
static void head_arrived(conn_t *c)
{
    if (!c->pend.listed || !c->req.head_complete)
        return;
    gw_pending_remove(&c->srv->pending, &c->pend);
    uv_timer_start(&c->timer, on_timeout, request_ms(c->srv), 0);
}

/* ---- answering ---- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

typedef struct out {
    uv_write_t req;
    conn_t *conn;
    char *buf;  /* the header lines, or ciphertext */
    char *body; /* an answer's body, written as it is (NULL: none or in buf) */
} out_t;

static void after_write(uv_write_t *w, int status)
{
    out_t *o = container_of(w, out_t, req);
    conn_t *c = o->conn;
    free(o->buf);
    free(o->body);
    free(o);
    c->busy = false;
    if (status < 0 || c->close_after || c->srv->closing) {
        close_conn(c);
        return;
    }
    gw_http_req_next(&c->req);
    wait_for_head(c);
    uint8_t *rest = c->pending;
    size_t n = c->pending_len;
    c->pending = NULL;
    c->pending_len = 0;
    if (n > 0)
        feed(c, (const char *)rest, n);
    free(rest);
    if (!c->busy && !c->closing && !c->reading)
        start_reading(c);
}

/* What OpenSSL has to send (handshake messages, alerts), outside any answer. */
static void after_flush(uv_write_t *w, int status)
{
    out_t *o = container_of(w, out_t, req);
    conn_t *c = o->conn;
    free(o->buf);
    free(o);
    if (status < 0)
        close_conn(c);
}

/* An alert has gone out (or could not): the connection ends. */
static void after_alert(uv_write_t *w, int status)
{
    (void)status;
    out_t *o = container_of(w, out_t, req);
    conn_t *c = o->conn;
    free(o->buf);
    free(o);
    close_conn(c);
}

/* Moves OpenSSL's pending ciphertext into one buffer: *n bytes, malloc'ed (NULL: none). */
static char *take_ciphertext(conn_t *c, size_t *n)
{
    *n = gw_tls_pending(c->tls);
    if (*n == 0)
        return NULL;
    char *buf = cp_xmalloc(*n);
    *n = gw_tls_take(c->tls, (uint8_t *)buf, *n);
    return buf;
}

/* Writes what OpenSSL has to send; with last, the connection closes once it is out (a
 * refused handshake's alert reaches the client rather than a reset). */
static void flush_tls(conn_t *c, bool last)
{
    size_t n;
    char *buf = c->tls && !c->closing ? take_ciphertext(c, &n) : NULL;
    if (buf == NULL) {
        if (last)
            close_conn(c);
        return;
    }
    out_t *o = cp_xcalloc(1, sizeof *o);
    o->conn = c;
    o->buf = buf;
    uv_buf_t b = uv_buf_init(buf, (unsigned)n);
    if (last && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    if (uv_write(&o->req, (uv_stream_t *)&c->tcp, &b, 1, last ? after_alert : after_flush) != 0) {
        free(buf);
        free(o);
        close_conn(c);
    }
}

/* Answers with body (malloc'ed, owned from here on; NULL: none): the header lines and the
 * body go out as two buffers, so a large body (an opinion's PDF) is not copied again. */
static void send_response(conn_t *c, int status, char *body, size_t blen, const char *type,
                          bool challenge)
{
    out_t *o = cp_xcalloc(1, sizeof *o);
    o->conn = c;
    o->buf = cp_xmalloc(768);
    o->body = body;
    /* the console is served with a policy that lets it load only itself */
    int n = snprintf(o->buf, 768,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
                     "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\n"
                     "Referrer-Policy: no-referrer\r\n%s%s\r\n",
                     status, reason(status), type ? type : "application/json", blen,
                     challenge ? "WWW-Authenticate: Bearer\r\n" : "",
                     c->close_after ? "Connection: close\r\n" : "");
    uv_buf_t b[2] = {uv_buf_init(o->buf, (unsigned)n), uv_buf_init(body, (unsigned)blen)};
    int nbufs = blen > 0 ? 2 : 1;
    if (c->tls != NULL) { /* the answer goes out as TLS records */
        cp_errinfo_t ei = {0};
        size_t len = 0;
        cp_err_t err = gw_tls_write(c->tls, (const uint8_t *)o->buf, (size_t)n, &ei);
        if (err == CP_OK && blen > 0)
            err = gw_tls_write(c->tls, (const uint8_t *)body, blen, &ei);
        free(o->buf);
        free(o->body);
        o->body = NULL;
        o->buf = err == CP_OK ? take_ciphertext(c, &len) : NULL;
        if (o->buf == NULL) {
            free(o);
            close_conn(c);
            return;
        }
        b[0] = uv_buf_init(o->buf, (unsigned)len);
        nbufs = 1;
    }
    c->busy = true;
    if (uv_write(&o->req, (uv_stream_t *)&c->tcp, b, (unsigned)nbufs, after_write) != 0) {
        free(o->buf);
        free(o->body);
        free(o);
        c->busy = false;
        close_conn(c);
    }
}

static void run_api(uv_work_t *w)
{
    conn_t *c = container_of(w, conn_t, work);
    gw_api_handle(&c->srv->ctx, &c->rq, &c->rs);
}

static void after_api(uv_work_t *w, int status);

/* At most max_in_flight requests are on libuv's pool at a time; the rest wait here in
 * order, so that a flood of API requests cannot fill the pool the C-STORE pipeline needs
 * (each waits in the loop's memory, its connection not read meanwhile). */
static void run_or_wait(conn_t *c)
{
    gw_http_server_t *s = c->srv;
    if (s->in_flight >= s->max_in_flight) {
        c->wait_next = NULL;
        if (s->wait_tail)
            s->wait_tail->wait_next = c;
        else
            s->wait_head = c;
        s->wait_tail = c;
        return;
    }
    s->in_flight++;
    uv_queue_work(s->loop, &c->work, run_api, after_api);
}

static void after_api(uv_work_t *w, int status)
{
    (void)status;
    conn_t *c = container_of(w, conn_t, work);
    gw_http_server_t *s = c->srv;
    s->in_flight--;
    conn_t *next = s->wait_head;
    if (next != NULL) {
        s->wait_head = next->wait_next;
        if (s->wait_head == NULL)
            s->wait_tail = NULL;
        run_or_wait(next);
    }
    c->working = false;
    size_t len = c->rs.body_len ? c->rs.body_len : c->rs.body ? strlen(c->rs.body) : 0;
    send_response(c, c->rs.status, c->rs.body, len, c->rs.content_type,
                  c->rs.bearer_challenge);
    c->rs.body = NULL; /* the answer owns it now */
}

/* The client's address, for the audit rows of its requests, the sign-in throttle and its
 * share of the pending connections */
static void peer_name(conn_t *c, char *out, size_t cap)
{
    struct sockaddr_storage *sa = &c->addr;
    int len = sizeof *sa;
    snprintf(out, cap, "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)sa, &len) == 0) {
        if (sa->ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)sa, out, cap);
        else
            uv_ip4_name((struct sockaddr_in *)sa, out, cap);
    }
}

static void dispatch(conn_t *c)
{
    gw_api_request_t *rq = &c->rq;
    gw_http_req_get(&c->req, rq);
    snprintf(rq->source, sizeof rq->source, "%s", c->peer);
    c->close_after = c->close_after || !gw_http_req_keep_alive(&c->req);
    c->busy = true;
    c->rs = (gw_api_response_t){0};
    uv_timer_stop(&c->timer);
    c->working = true; /* waiting counts: its memory stays until it is answered */
    run_or_wait(c);
}

static void refuse(conn_t *c, int status, const char *code, const char *msg)
{
    char *body = cp_xmalloc(256);
    int n = snprintf(body, 256, "{\"error\": {\"code\": \"%s\", \"message\": \"%s\"}}", code,
                     msg);
    c->close_after = true; /* the stream cannot be trusted past this */
    send_response(c, status, body, (size_t)n, NULL, false);
}

/* Parses what arrived; a complete request is answered before the rest is parsed. */
static void feed(conn_t *c, const char *data, size_t len)
{
    size_t used = 0;
    gw_req_state_t st = gw_http_req_feed(&c->req, data, len, &used);
    head_arrived(c);
    if (st == GW_REQ_MORE)
        return;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    if (st == GW_REQ_DONE) {
        if (used < len) {
            c->pending = cp_xmalloc(len - used);
            memcpy(c->pending, data + used, len - used);
            c->pending_len = len - used;
        }
        dispatch(c);
        return;
    }
    const char *code, *msg;
    gw_http_req_refusal(&c->req, &code, &msg);
    refuse(c, c->req.status, code, msg);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = cp_xmalloc(16 * 1024);
    buf->len = 16 * 1024;
}

/* Plaintext out of TLS records: several requests may come out of one read; those after
 * the one being answered wait in pending. */
static void on_plain(void *ud, const uint8_t *data, size_t len)
{
    conn_t *c = ud;
    if (c->closing)
        return;
    if (!c->busy && c->pending_len == 0) {
        feed(c, (const char *)data, len);
        return;
    }
    c->pending = cp_xrealloc(c->pending, c->pending_len + len);
    memcpy(c->pending + c->pending_len, data, len);
    c->pending_len += len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    cp_errinfo_t ei = {0};
    if (nread < 0) {
        close_conn(c);
    } else if (nread > 0 && c->tls != NULL) {
        cp_err_t err = gw_tls_feed(c->tls, (const uint8_t *)buf->base, (size_t)nread, on_plain,
                                   c, &ei);
        flush_tls(c, err != CP_OK); /* the handshake's answer; or an alert, and the end */
    } else if (nread > 0 && !c->busy) {
        feed(c, buf->base, (size_t)nread);
    }
    free(buf->base);
}

static void start_reading(conn_t *c)
{
    c->reading = true;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connection(uv_stream_t *server, int status)
{
    gw_http_server_t *s = server->data;
    if (status < 0 || s->closing)
        return;
    conn_t *c = cp_xcalloc(1, sizeof *c);
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        close_conn(c);
        return;
    }
    if (s->n_conns > s->ctx.conf->http.max_connections) {
        gw_pending_entry_t *oldest = gw_pending_oldest(&s->pending);
        if (oldest == NULL) { /* every place is a request being served */
            close_conn(c);
            return;
        }
        gw_pending_remove(&s->pending, oldest);
        close_conn(container_of(oldest, conn_t, pend));
    }
    uv_tcp_nodelay(&c->tcp, 1);
    peer_name(c, c->peer, sizeof c->peer);
    gw_pending_set_address(&c->pend, &c->addr);
    if (s->tls_ctx != NULL)
        c->tls = gw_tls_new(s->tls_ctx);
    gw_http_req_init(&c->req, &s->budget, body_limit, s);
    wait_for_head(c);
    start_reading(c);
}

cp_err_t gw_http_listen(uv_loop_t *loop, const gw_ctx_t *ctx, gw_http_server_t **out,
                        cp_errinfo_t *ei)
{
    *out = NULL;
    const conf_http_t *h = &ctx->conf->http;
    if (h->port < 0)
        return CP_OK;
    struct sockaddr_storage sa;
    if (uv_ip4_addr(h->bind, h->port, (struct sockaddr_in *)&sa) != 0 &&
        uv_ip6_addr(h->bind, h->port, (struct sockaddr_in6 *)&sa) != 0)
        return cp_fail(ei, CP_ECONFIG, 0, "[http] bind %s is not an address", h->bind);
    gw_http_server_t *s = cp_xcalloc(1, sizeof *s);
    s->loop = loop;
    s->ctx = *ctx;
    s->budget.max = BODY_BUDGET;
    gw_pending_init(&s->pending, h->max_pending, h->max_pending_per_address);
    /* libuv's pool is 3 * pool_size + 4 (serve.c): four threads stay for DICOM. Each
     * connection's worth of requests is three: one on it, two waiting for their audit
     * rows' group commit (at 2 the case list lost 15% under load). */
    int cap = 3 * ctx->conf->database.pool_size;
    s->max_in_flight = cap > 124 ? 124 : cap; /* serve.c's pool stops at 128 threads */
    if (h->tls_cert[0]) {
        gw_tls_conf_t tc = {h->tls_cert, h->tls_key, NULL, false};
        cp_err_t err = gw_tls_ctx_new(&tc, &s->tls_ctx, ei);
        if (err != CP_OK) {
            free(s);
            return err;
        }
    }
    uv_tcp_init(loop, &s->tcp);
    s->tcp.data = s;
    int rc = uv_tcp_bind(&s->tcp, (struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->tcp, 128, on_connection);
    if (rc != 0) {
        uv_close((uv_handle_t *)&s->tcp, NULL); /* s leaks until the loop ends: rare */
        return cp_fail(ei, CP_ECONFIG, 0, "cannot listen on %s:%d for HTTP: %s", h->bind,
                       h->port, uv_strerror(rc));
    }
    int len = sizeof sa;
    uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&sa, &len);
    s->port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
    *out = s;
    return CP_OK;
}

int gw_http_port(const gw_http_server_t *s)
{
    return s ? s->port : -1;
}

static void on_server_closed(uv_handle_t *h)
{
    gw_http_server_t *s = h->data;
    s->listener_closed = true;
    maybe_free(s);
}

void gw_http_close(gw_http_server_t *s)
{
    if (s == NULL)
        return;
    s->closing = true;
    for (conn_t *c = s->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->busy)
            c->close_after = true;
        else
            close_conn(c);
    }
    uv_close((uv_handle_t *)&s->tcp, on_server_closed);
}
