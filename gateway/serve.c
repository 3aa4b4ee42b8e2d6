/* gateway/serve.c -- `caseport serve`: open storage, migrate, listen, run the loop until
 * SIGINT/SIGTERM, then stop accepting, let in-flight stores finish and exit cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/resource.h>

#include <uv.h>

#include "anchor.h"
#include "cli.h"
#include "jobs.h"
#include "cli_int.h"
#include "codec_dicom.h"
#include "cp_log.h"
#include "cp_mem.h"
#include "gw.h"
#include "http.h"
#include "sessions.h"
#include "throttle.h"
#include "server.h"
#include "store_sweep.h"

typedef struct serve {
    uv_signal_t sigint, sigterm;
    gw_dicom_server_t *dicom;
    gw_http_server_t *http;
    gw_anchor_t *anchor;
    bool stopping;
} serve_t;

static void on_signal(uv_signal_t *h, int signum)
{
    serve_t *s = h->data;
    if (s->stopping)
        return;
    s->stopping = true;
    CP_LOG(CP_LOG_INFO, "serve", "event=stopping signal=%d", signum);
    gw_dicom_close(s->dicom);
    gw_http_close(s->http);
    gw_anchor_stop(s->anchor);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
}

/* Workers block on PostgreSQL and fsync. Three times the connection pool and four: a
 * worker waiting for its audit row's group commit or a blob's fsync holds no connection,
 * and another should be there to use it (with only pool + 2, an API under load left a
 * seventh of the CPU idle and answered 15% fewer case lists). The HTTP listener keeps
 * its requests to 3 * pool_size at a time, so four threads always stay for DICOM. */
static void size_thread_pool(const conf_t *conf)
{
    char n[16];
    int threads = 3 * conf->database.pool_size + 4;
    snprintf(n, sizeof n, "%d", threads < 4 ? 4 : threads > 128 ? 128 : threads);
    setenv("UV_THREADPOOL_SIZE", n, 0);
}

/* The soft limit on open files is 1024 wherever a shell or systemd left it, the hard one
 * far more. Every connection is a descriptor, and a flood of them is turned away by
 * accepting and closing the oldest pending one (pending.h): that needs descriptors to
 * spare, or accept fails and real senders wait in the kernel's queue. */
static void raise_open_files(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rlim_t want = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
    if (want > rl.rlim_cur) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* glibc serves a large allocation with mmap, given back when freed, and after the first
 * such free raises the size it does so from to that one's (up to 32 MiB). A sign-in's
 * 19 MiB argon2id buffer then came from the freeing thread's arena and stayed there:
 * twenty sign-ins on the pool's threads left serve at 300 MiB instead of 18 (tools/torture
 * flood). A fixed threshold keeps large buffers mmap'ed, and freed for good. */
static void large_allocations_returned(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

static int open_storage(const conf_t *conf, gw_ctx_t *ctx)
{
    cp_errinfo_t ei = {0};
    cp_err_t err = store_blob_open(conf->storage.blob_dir, conf->storage.key_file, &ctx->blobs,
                                   &ei);
    char conninfo[4096];
    if (err == CP_OK)
        err = conf_pg_conninfo(conf, conninfo, sizeof conninfo, &ei);
    if (err == CP_OK)
        err = store_pg_open(conninfo, conf->database.pool_size, &ctx->pg, &ei);
    if (err == CP_OK) /* every audit row this process writes is keyed */
        err = store_audit_load_key(ctx->pg, conf->storage.key_file, &ei);
    int applied = 0;
    if (err == CP_OK)
        err = store_pg_migrate(ctx->pg, &applied, &ei);
    if (err == CP_OK)
        err = store_pg_check_schema(ctx->pg, &ei);
    int warmed = 0;
    if (err == CP_OK) {
        store_blob_set_locator(ctx->blobs, store_pg_blob_locate, ctx->pg);
        warmed = store_pg_warm(ctx->pg);
    }
    if (err != CP_OK) {
        CP_LOG(CP_LOG_ERROR, "serve", "event=start_failed error=%s why=\"%s\"", cp_err_name(err),
               cp_errinfo_msg(&ei, err));
        return 1;
    }
    CP_LOG(CP_LOG_INFO, "serve", "event=storage_ready key_id=%s migrations_applied=%d",
           store_blob_key_id(ctx->blobs), applied);
    if (warmed < conf->database.pool_size)
        CP_LOG(CP_LOG_WARN, "serve", "event=pool_not_ready connected=%d of=%d", warmed,
               conf->database.pool_size);
    return 0;
}

/* What a crash of a previous life left in the blob store (store_sweep.h), given back on
 * the pool while the listeners already serve. */
typedef struct sweep_work {
    uv_work_t work;
    const gw_ctx_t *ctx;
    cp_err_t err;
    cp_errinfo_t ei;
    store_sweep_report_t rep;
} sweep_work_t;

static void run_sweep(uv_work_t *w)
{
    sweep_work_t *s = container_of(w, sweep_work_t, work);
    s->err = store_sweep(s->ctx->pg, s->ctx->blobs, STORE_SWEEP_MIN_AGE, true, &s->rep, &s->ei);
}

static void after_sweep(uv_work_t *w, int status)
{
    (void)status;
    sweep_work_t *s = container_of(w, sweep_work_t, work);
    if (s->err != CP_OK)
        CP_LOG(CP_LOG_WARN, "serve", "event=sweep_failed error=%s why=\"%s\"",
               cp_err_name(s->err), cp_errinfo_msg(&s->ei, s->err));
    else
        CP_LOG(s->rep.orphans + s->rep.tails > 0 ? CP_LOG_WARN : CP_LOG_INFO, "serve",
               "event=swept files=%llu orphans_removed=%llu orphan_bytes=%llu young=%llu "
               "packs=%llu tails_cut=%llu tail_bytes=%llu",
               (unsigned long long)s->rep.files, (unsigned long long)s->rep.orphans,
               (unsigned long long)s->rep.orphan_bytes, (unsigned long long)s->rep.young,
               (unsigned long long)s->rep.packs, (unsigned long long)s->rep.tails,
               (unsigned long long)s->rep.tail_bytes);
    free(s);
}

static void start_sweep(uv_loop_t *loop, const gw_ctx_t *ctx)
{
    sweep_work_t *s = cp_xcalloc(1, sizeof *s);
    s->ctx = ctx;
    uv_queue_work(loop, &s->work, run_sweep, after_sweep);
}

static int run_loop(const conf_t *conf, gw_ctx_t *ctx)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    serve_t s = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = gw_dicom_listen(&loop, ctx, &s.dicom, &ei);
    if (err == CP_OK && (err = gw_http_listen(&loop, ctx, &s.http, &ei)) != CP_OK)
        gw_dicom_close(s.dicom);
    if (err == CP_OK && (err = gw_anchor_start(&loop, ctx, &s.anchor, &ei)) != CP_OK) {
        gw_dicom_close(s.dicom);
        gw_http_close(s.http);
    }
    if (err != CP_OK) {
        CP_LOG(CP_LOG_ERROR, "serve", "event=start_failed error=%s why=\"%s\"", cp_err_name(err),
               cp_errinfo_msg(&ei, err));
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return 1;
    }
    uv_signal_init(&loop, &s.sigint);
    uv_signal_init(&loop, &s.sigterm);
    s.sigint.data = s.sigterm.data = &s;
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    CP_LOG(CP_LOG_INFO, "serve",
           "event=listening ae_title=\"%s\" bind=%s port=%d tls_port=%d version=%s",
           conf->dicom.ae_title, conf->dicom.bind, gw_dicom_port(s.dicom),
           gw_dicom_tls_port(s.dicom), CODEC_IMPL_VERSION);
    if (s.http != NULL)
        CP_LOG(CP_LOG_INFO, "serve", "event=http_listening bind=%s port=%d scheme=%s",
               conf->http.bind, gw_http_port(s.http), conf->http.tls_cert[0] ? "https" : "http");
    start_sweep(&loop, ctx);
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&loop);
    gw_anchor_finish(s.anchor); /* nothing appends any more: the last head this process saw */
    CP_LOG(rc == 0 ? CP_LOG_INFO : CP_LOG_ERROR, "serve", "event=stopped clean=%s",
           rc == 0 ? "yes" : "no");
    return rc == 0 ? 0 : 1;
}

int cli_serve(int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"}, {0}};
    int rc = cli_parse(argc, argv,
                       "Run the DICOM listener and the job workers in the foreground; logs go to "
                       "stderr. SIGINT or SIGTERM stops it cleanly.",
                       opts);
    conf_t conf;
    if (rc >= 0 || (rc = cli_load_conf(argv[0], config, &conf)) != 0)
        return rc;
    size_thread_pool(&conf);
    raise_open_files();
    large_allocations_returned();
    gw_ctx_t ctx = {.conf = &conf};
    rc = open_storage(&conf, &ctx);
    if (rc == 0) {
        ctx.audit = store_audit_log_new(ctx.pg);
        ctx.sessions = gw_sessions_new();
        ctx.logins = gw_throttle_new();
    }
    if (rc == 0) {
        gw_jobs_t *jobs = gw_jobs_start(&ctx, conf.jobs.workers);
        rc = run_loop(&conf, &ctx);
        gw_jobs_stop(jobs); /* after their current job: the pool closes next */
    }
    store_audit_log_free(ctx.audit);
    gw_sessions_free(ctx.sessions);
    gw_throttle_free(ctx.logins);
    store_pg_close(ctx.pg);
    store_blob_close(ctx.blobs);
    return rc;
}
