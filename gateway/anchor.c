/* gateway/anchor.c -- the audit trail's head, anchored in a file and in syslog (anchor.h):
 * on_tick -> run_anchor (a pool thread: the head read from PostgreSQL, the line written
 * and fsynced, syslog) -> after_anchor (the loop: logged).
 * syslog(3) to a missing /dev/log (no daemon) drops the line quietly: the file is the
 * record caseport relies on, syslog the copy that may leave the host. */
#include "anchor.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cp_log.h"
#include "cp_mem.h"
#include "store_audit.h"

struct gw_anchor {
    const gw_ctx_t *ctx;
    uv_timer_t timer; /* closed by gw_anchor_stop; a is freed after the loop ended */
    uv_work_t work;
    bool busy;                  /* work queued */
    store_audit_anchor_t last;  /* the last one written (or found in the file) */
    bool have_last;
    /* what the last run did, for the loop thread to log */
    store_audit_anchor_t now;
    bool wrote, went_back;
    cp_err_t err;
    cp_errinfo_t ei;
    int64_t back_from; /* the seq anchored before the head went back */
};

static bool same(const store_audit_anchor_t *x, const store_audit_anchor_t *y)
{
    return x->seq == y->seq && strcmp(x->hash, y->hash) == 0;
}

/* Reads the head and, when it moved since the last anchor, writes it. Any thread. */
static void anchor_once(gw_anchor_t *a)
{
    const conf_audit_t *c = &a->ctx->conf->audit;
    a->wrote = a->went_back = false;
    a->ei = (cp_errinfo_t){0};
    a->err = store_audit_head(a->ctx->pg, &a->now, &a->ei);
    if (a->err != CP_OK || (a->have_last && same(&a->now, &a->last)))
        return;
    /* the same seq with another hash: cut back and written again since */
    a->went_back = a->have_last && a->now.seq <= a->last.seq;
    a->back_from = a->last.seq;
    a->err = store_audit_anchor_append(c->anchor_file, &a->now, &a->ei);
    if (a->err != CP_OK)
        return;
    syslog(LOG_AUTHPRIV | LOG_INFO, "audit_anchor seq=%lld hash=%s at=%s",
           (long long)a->now.seq, a->now.hash, a->now.at);
    if (a->went_back)
        syslog(LOG_AUTHPRIV | LOG_ERR, "audit_head_went_back seq=%lld anchored_before=%lld",
               (long long)a->now.seq, (long long)a->back_from);
    a->last = a->now;
    a->have_last = a->wrote = true;
}

static void report(const gw_anchor_t *a, bool quiet)
{
    if (a->err != CP_OK)
        CP_LOG(CP_LOG_ERROR, "audit", "event=anchor_failed error=%s why=\"%s\"",
               cp_err_name(a->err), cp_errinfo_msg(&a->ei, a->err));
    if (a->went_back)
        CP_LOG(CP_LOG_ERROR, "audit",
               "event=audit_head_went_back seq=%lld anchored_before=%lld hint=\"rows were cut "
               "off the audit trail: run caseport audit verify\"",
               (long long)a->now.seq, (long long)a->back_from);
    if (a->wrote)
        CP_LOG(quiet ? CP_LOG_DEBUG : CP_LOG_INFO, "audit", "event=anchored seq=%lld hash=%s",
               (long long)a->now.seq, a->now.hash);
}

static void run_anchor(uv_work_t *w)
{
    anchor_once(container_of(w, gw_anchor_t, work));
}

static void after_anchor(uv_work_t *w, int status)
{
    gw_anchor_t *a = container_of(w, gw_anchor_t, work);
    a->busy = false;
    if (status == 0)
        report(a, true);
}

static void on_tick(uv_timer_t *t)
{
    gw_anchor_t *a = container_of(t, gw_anchor_t, timer);
    if (a->busy) /* the last one still writing (a slow disk or database): skip a turn */
        return;
    if (uv_queue_work(t->loop, &a->work, run_anchor, after_anchor) == 0)
        a->busy = true;
}

/* The file's last anchor, so that a restart with an unmoved head writes nothing. */
static cp_err_t read_last(gw_anchor_t *a, cp_errinfo_t *ei)
{
    return store_audit_anchor_last(a->ctx->conf->audit.anchor_file, &a->last, &a->have_last,
                                   ei);
}

cp_err_t gw_anchor_start(uv_loop_t *loop, const gw_ctx_t *ctx, gw_anchor_t **out,
                         cp_errinfo_t *ei)
{
    gw_anchor_t *a = cp_xcalloc(1, sizeof *a);
    a->ctx = ctx;
    openlog("caseport", LOG_PID, LOG_AUTHPRIV);
    cp_err_t err = read_last(a, ei);
    if (err == CP_OK) {
        anchor_once(a);
        report(a, false);
        err = a->err != CP_OK ? cp_fail(ei, a->err, 0, "%s", cp_errinfo_msg(&a->ei, a->err))
                              : CP_OK;
    }
    if (err != CP_OK) {
        closelog();
        free(a);
        return err;
    }
    uint64_t ms = (uint64_t)ctx->conf->audit.anchor_interval * 1000;
    uv_timer_init(loop, &a->timer);
    uv_timer_start(&a->timer, on_tick, ms, ms);
    *out = a;
    return CP_OK;
}

void gw_anchor_stop(gw_anchor_t *a)
{
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, NULL);
}

void gw_anchor_finish(gw_anchor_t *a)
{
    if (a == NULL)
        return;
    anchor_once(a);
    report(a, false);
    closelog();
    free(a);
}
