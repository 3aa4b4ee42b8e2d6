/* storage/store_jobs.c -- the job queue's statements (store_jobs.h). */
#include "store_jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"
#include "store_pg_int.h"

cp_err_t store_jobs_enqueue(store_pg_t *pg, const char *kind, int64_t instance_id,
                            int max_attempts, int64_t *id, cp_errinfo_t *ei)
{
    char inst[24], max[16];
    snprintf(inst, sizeof inst, "%lld", (long long)instance_id);
    snprintf(max, sizeof max, "%d", max_attempts);
    const char *params[] = {kind, instance_id > 0 ? inst : NULL, max};
    store__first_t c = {0};
    cp_err_t err = store__pg_stream(pg,
                                    "INSERT INTO jobs (kind, instance_id, max_attempts)"
                                    " VALUES ($1, $2::bigint, $3::integer) RETURNING id",
                                    3, params, "queueing a job", store__first_row, &c, ei);
    if (err == CP_OK && id != NULL)
        *id = c.id;
    return err;
}

/* The kinds as a text array literal: {"a","b"} (kinds are plain identifiers). */
static char *kinds_array(const char *const *kinds)
{
    size_t cap = 3;
    for (const char *const *k = kinds; *k != NULL; k++)
        cap += strlen(*k) + 3;
    char *out = cp_xmalloc(cap);
    size_t n = 0;
    out[n++] = '{';
    for (const char *const *k = kinds; *k != NULL; k++)
        n += (size_t)snprintf(out + n, cap - n, "%s\"%s\"", k == kinds ? "" : ",", *k);
    snprintf(out + n, cap - n, "}");
    return out;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* The patient columns, from col on: patient_id, issuer, name, birth_date, sex, calling_ae. */
static void identity_from(PGresult *r, int col, store_patient_identity_t *p)
{
    copy_field(p->patient_id, sizeof p->patient_id, PQgetvalue(r, 0, col));
    copy_field(p->issuer, sizeof p->issuer, PQgetvalue(r, 0, col + 1));
    copy_field(p->name, sizeof p->name, PQgetvalue(r, 0, col + 2));
    copy_field(p->birth_date, sizeof p->birth_date, PQgetvalue(r, 0, col + 3));
    copy_field(p->sex, sizeof p->sex, PQgetvalue(r, 0, col + 4));
    copy_field(p->calling_ae, sizeof p->calling_ae, PQgetvalue(r, 0, col + 5));
    p->found = true;
}

typedef struct claim_ctx {
    store_job_t *jobs;
    int max, n;
} claim_ctx_t;

static bool claim_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    claim_ctx_t *c = ud;
    if (c->n >= c->max) { /* LIMIT says it cannot happen */
        *err = cp_fail(ei, CP_EIO, 0, "claim returned more jobs than asked for");
        return false;
    }
    store_job_t *j = &c->jobs[c->n++];
    memset(j, 0, sizeof *j);
    j->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(j->kind, sizeof j->kind, "%s", PQgetvalue(r, 0, 1));
    j->instance_id = PQgetisnull(r, 0, 2) ? 0 : strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    j->attempts = (int)strtol(PQgetvalue(r, 0, 3), NULL, 10);
    j->max_attempts = (int)strtol(PQgetvalue(r, 0, 4), NULL, 10);
    j->study_id = PQgetisnull(r, 0, 13) ? 0 : strtoll(PQgetvalue(r, 0, 13), NULL, 10);
    j->queued_at = strtoll(PQgetvalue(r, 0, 14), NULL, 10);
    if (PQgetisnull(r, 0, 5) || store_addr_from_hex(PQgetvalue(r, 0, 5), &j->addr) != CP_OK)
        return true; /* no instance: the job finds out itself */
    j->has_instance = true;
    copy_field(j->ts, sizeof j->ts, PQgetvalue(r, 0, 6));
    identity_from(r, 7, &j->patient);
    return true;
}

/* Prepared: a worker that keeps pace with ingest claims a job or two at a time, and
 * planning this statement cost twice what running it did. */
static const store__named_t claim_stmt = {
    0, "cp_jobs_claim",
    "WITH c AS (SELECT id FROM jobs WHERE state = 'queued' AND run_after <= now()"
    "   AND kind = ANY($1::text[]) ORDER BY run_after, id FOR UPDATE SKIP LOCKED"
    "   LIMIT $4::integer),"
    " u AS (UPDATE jobs j SET state = 'running', attempts = j.attempts + 1, worker = $2,"
    "   lease_until = now() + make_interval(secs => $3::integer), updated_at = now()"
    "   FROM c WHERE j.id = c.id"
    "   RETURNING j.id, j.kind, j.instance_id, j.attempts, j.max_attempts, j.run_after,"
    "   j.study_id, j.created_at)"
    " SELECT u.id, u.kind, u.instance_id, u.attempts, u.max_attempts,"
    "  encode(i.blob_address, 'hex'), i.transfer_syntax, t.patient_id, t.issuer, t.name,"
    "  t.birth_date, t.sex, t.calling_ae, u.study_id,"
    "  floor(extract(epoch FROM u.created_at))::bigint"
    " FROM u LEFT JOIN instances i ON i.id = u.instance_id"
    " LEFT JOIN LATERAL cp_target_identity(i.id) t ON i.id IS NOT NULL"
    " ORDER BY u.run_after, u.id"};

cp_err_t store_jobs_claim_batch(store_pg_t *pg, const char *const *kinds, const char *worker,
                                int lease_seconds, int max, store_job_t *jobs, int *n,
                                cp_errinfo_t *ei)
{
    char lease[16], lim[16];
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    snprintf(lim, sizeof lim, "%d", max);
    char *arr = kinds_array(kinds);
    const char *params[] = {arr, worker, lease, lim};
    claim_ctx_t c = {jobs, max, 0};
    cp_err_t err =
        store__pg_stream_named(pg, &claim_stmt, 4, params, "claiming jobs", claim_row, &c, ei);
    free(arr);
    *n = err == CP_OK ? c.n : 0;
    return err;
}

typedef struct reap_ctx {
    int queued, dead;
} reap_ctx_t;

static bool reap_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    reap_ctx_t *c = ud;
    if (strcmp(PQgetvalue(r, 0, 0), "dead") == 0)
        c->dead++;
    else
        c->queued++;
    return true;
}

/* Running jobs that match which ($1: the text array param) back to the queue, or dead
 * once their workers died with them max_attempts times: run once more, such a job would
 * crash-loop every worker. */
static cp_err_t take_back(store_pg_t *pg, const char *which, const char *arr, int *requeued,
                          int *died, cp_errinfo_t *ei)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "WITH x AS (SELECT id FROM jobs WHERE state = 'running' AND %s"
             "   FOR UPDATE SKIP LOCKED)"
             " UPDATE jobs j SET state = CASE WHEN j.attempts >= j.max_attempts THEN 'dead'"
             "   ELSE 'queued' END,"
             " last_error = CASE WHEN j.attempts >= j.max_attempts"
             "   THEN 'its worker stopped while running it ' || j.attempts || ' time(s)'"
             "   ELSE j.last_error END,"
             " worker = NULL, lease_until = NULL, run_after = now(), updated_at = now()"
             " FROM x WHERE j.id = x.id RETURNING j.state",
             which);
    const char *params[] = {arr};
    reap_ctx_t c = {0};
    cp_err_t err = store__pg_stream(pg, sql, 1, params, "taking back jobs", reap_row, &c, ei);
    if (requeued != NULL)
        *requeued = c.queued;
    if (died != NULL)
        *died = c.dead;
    return err;
}

cp_err_t store_jobs_reap(store_pg_t *pg, const char *const *kinds, int *requeued, int *died,
                         cp_errinfo_t *ei)
{
    char *arr = kinds_array(kinds);
    cp_err_t err = take_back(pg, "lease_until < now() AND kind = ANY($1::text[])", arr,
                             requeued, died, ei);
    free(arr);
    return err;
}

cp_err_t store_jobs_reclaim(store_pg_t *pg, const char *const *workers, int *requeued,
                            int *died, cp_errinfo_t *ei)
{
    char *arr = kinds_array(workers);
    cp_err_t err = take_back(pg, "worker = ANY($1::text[])", arr, requeued, died, ei);
    free(arr);
    return err;
}

typedef struct workers_ctx {
    void (*fn)(void *ud, const char *worker);
    void *ud;
} workers_ctx_t;

static bool worker_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    workers_ctx_t *c = ud;
    c->fn(c->ud, PQgetvalue(r, 0, 0));
    return true;
}

cp_err_t store_jobs_running_workers(store_pg_t *pg, const char *prefix,
                                    void (*fn)(void *ud, const char *worker), void *ud,
                                    cp_errinfo_t *ei)
{
    const char *params[] = {prefix};
    workers_ctx_t c = {fn, ud};
    return store__pg_stream(pg,
                            "SELECT DISTINCT worker FROM jobs WHERE state = 'running'"
                            " AND starts_with(worker, $1)",
                            1, params, "listing the workers of running jobs", worker_row, &c, ei);
}

cp_err_t store_jobs_claim(store_pg_t *pg, const char *const *kinds, const char *worker,
                          int lease_seconds, store_job_t *job, cp_errinfo_t *ei)
{
    int n = 0;
    cp_err_t err = store_jobs_claim_batch(pg, kinds, worker, lease_seconds, 1, job, &n, ei);
    if (err == CP_OK && n == 0)
        return CP_ENOENT;
    return err;
}

static cp_err_t update_one(store_pg_t *pg, const char *sql, int n, const char *const *params,
                           const char *what, cp_errinfo_t *ei)
{
    store__first_t c = {0};
    cp_err_t err = store__pg_stream(pg, sql, n, params, what, store__first_row, &c, ei);
    if (err == CP_OK && !c.found)
        return cp_fail(ei, CP_ENOENT, 0, "%s: no such job in that state", what);
    return err;
}

cp_err_t store_jobs_done(store_pg_t *pg, int64_t id, const char *worker, cp_errinfo_t *ei)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)id);
    const char *params[] = {s, worker};
    return update_one(pg,
                      "UPDATE jobs SET state = 'done', done_at = now(), lease_until = NULL,"
                      " updated_at = now() WHERE id = $1::bigint AND worker = $2"
                      " AND state = 'running' RETURNING id",
                      2, params, "finishing a job", ei);
}

/* A bigint[] literal of ids. */
static char *id_array(const int64_t *ids, int n)
{
    size_t cap = (size_t)n * 21 + 3;
    char *list = cp_xmalloc(cap), *o = list;
    *o++ = '{';
    for (int i = 0; i < n; i++)
        o += snprintf(o, cap - (size_t)(o - list), "%s%lld", i ? "," : "", (long long)ids[i]);
    snprintf(o, cap - (size_t)(o - list), "}");
    return list;
}

static cp_err_t update_ids(store_pg_t *pg, const store__named_t *st, const int64_t *ids, int n,
                           const char *worker, const char *what, int *count, cp_errinfo_t *ei)
{
    if (count != NULL)
        *count = 0;
    if (n == 0)
        return CP_OK;
    char *list = id_array(ids, n);
    const char *params[] = {list, worker};
    int c = 0;
    cp_err_t err = store__pg_stream_named(pg, st, 2, params, what, store__count_row, &c, ei);
    free(list);
    if (count != NULL)
        *count = c;
    return err;
}

static const store__named_t done_stmt = {
    1, "cp_jobs_done",
    "UPDATE jobs SET state = 'done', done_at = now(), lease_until = NULL, updated_at = now()"
    " WHERE id = ANY($1::bigint[]) AND worker = $2 AND state = 'running' RETURNING id"};

static const store__named_t release_stmt = {
    2, "cp_jobs_release",
    "UPDATE jobs SET state = 'queued', attempts = attempts - 1, worker = NULL,"
    " lease_until = NULL, updated_at = now() WHERE id = ANY($1::bigint[])"
    " AND worker = $2 AND state = 'running' RETURNING id"};

/* ---- results held back until the batch is done (store_jobs_hold_results) ---- */

typedef struct held_dup {
    int64_t instance_id, rep;
} held_dup_t;

typedef struct held {
    bool on;
    store__batch_t *batch;
    held_dup_t *dups; /* one per held pixel hash, in order */
    int ndups, cap;
} held_t;

static _Thread_local held_t held;

void store_jobs_hold_results(bool on)
{
    if (on && held.batch == NULL)
        held.batch = store__batch_new();
    if (!on) {
        store__batch_free(held.batch);
        held.batch = NULL;
        free(held.dups);
        held.dups = NULL;
        held.cap = 0;
    }
    held.ndups = 0;
    held.on = on;
}

int store_jobs_held_count(void)
{
    return held.on ? store__batch_len(held.batch) : 0;
}

bool store_jobs_held_duplicate(int i, int64_t *instance_id, int64_t *duplicate_of)
{
    int k = 0;
    for (int j = 0; j < held.ndups; j++) {
        if (held.dups[j].rep == 0)
            continue;
        if (k++ == i) {
            *instance_id = held.dups[j].instance_id;
            *duplicate_of = held.dups[j].rep;
            return true;
        }
    }
    return false;
}

static bool held_rep_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    int i = (int)(intptr_t)ud;
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        held.dups[i].rep = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    return true;
}

static int held_dup(int64_t instance_id)
{
    if (held.ndups == held.cap) {
        held.cap = held.cap ? 2 * held.cap : 32;
        held.dups = cp_xrealloc(held.dups, (size_t)held.cap * sizeof *held.dups);
    }
    held.dups[held.ndups] = (held_dup_t){instance_id, 0};
    return held.ndups++;
}

static bool rows_counted(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    *(int *)ud += PQntuples(r);
    return true;
}

cp_err_t store_jobs_done_batch(store_pg_t *pg, const int64_t *ids, int n, const char *worker,
                               int *finished, cp_errinfo_t *ei)
{
    if (store_jobs_held_count() == 0)
        return update_ids(pg, &done_stmt, ids, n, worker, "finishing jobs", finished, ei);
    char *list = id_array(ids, n);
    const char *params[] = {list, worker};
    int c = 0;
    store__batch_add(held.batch, &done_stmt, 2, params, rows_counted, &c);
    free(list);
    cp_err_t err = store__batch_run(pg, held.batch, "finishing jobs", ei);
    if (finished != NULL)
        *finished = err == CP_OK ? c : 0;
    return err;
}

cp_err_t store_jobs_release(store_pg_t *pg, const int64_t *ids, int n, const char *worker,
                            cp_errinfo_t *ei)
{
    return update_ids(pg, &release_stmt, ids, n, worker, "releasing jobs", NULL, ei);
}

cp_err_t store_jobs_fail(store_pg_t *pg, int64_t id, const char *worker, const char *why,
                         store_fail_t how, int patience_s, cp_errinfo_t *ei)
{
    static const char *const names[] = {"retry", "transient", "permanent"};
    char s[24], patience[16];
    snprintf(s, sizeof s, "%lld", (long long)id);
    snprintf(patience, sizeof patience, "%d", patience_s);
    char *clean = store__utf8_clean(why);
    const char *params[] = {s, worker, clean, names[how], patience};
    /* every right-hand side reads the row as it was */
    cp_err_t err = update_one(
        pg,
        "UPDATE jobs SET state = CASE WHEN $4 = 'permanent' THEN 'dead'"
        "   WHEN $4 = 'transient' THEN CASE WHEN coalesce(failing_since, now())"
        "     < now() - make_interval(secs => $5::integer) THEN 'dead' ELSE 'queued' END"
        "   WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,"
        " attempts = CASE WHEN $4 = 'transient' THEN greatest(attempts - 1, 0) ELSE attempts END,"
        " failing_since = CASE WHEN $4 = 'transient' THEN coalesce(failing_since, now())"
        "   ELSE failing_since END,"
        " run_after = now() + CASE WHEN $4 = 'transient' THEN make_interval(secs =>"
        "   least(60, greatest(2, extract(epoch FROM now() - coalesce(failing_since, now())))))"
        "   ELSE make_interval(secs => least(3600, power(2, attempts))::integer) END,"
        " last_error = $3, lease_until = NULL, updated_at = now()"
        " WHERE id = $1::bigint AND worker = $2 AND state = 'running' RETURNING id",
        5, params, "failing a job", ei);
    free(clean);
    return err;
}

cp_err_t store_jobs_retry(store_pg_t *pg, int64_t id, cp_errinfo_t *ei)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)id);
    const char *params[] = {s};
    return update_one(pg,
                      "UPDATE jobs SET state = 'queued', attempts = 0, failing_since = NULL,"
                      " run_after = now(), updated_at = now()"
                      " WHERE id = $1::bigint AND state = 'dead' RETURNING id",
                      1, params, "retrying a job", ei);
}

typedef struct list_ctx {
    store_job_cb cb;
    void *ud;
} list_ctx_t;

static bool list_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    list_ctx_t *c = ud;
    store_job_row_t row = {PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
                           PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5),
                           PQgetvalue(r, 0, 6)};
    return c->cb(c->ud, &row);
}

cp_err_t store_jobs_list(store_pg_t *pg, const char *state, int limit, store_job_cb cb, void *ud,
                         cp_errinfo_t *ei)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {state, lim};
    list_ctx_t c = {cb, ud};
    return store__pg_stream(pg,
                            "SELECT id, kind, coalesce(instance_id::text, '-'), state, attempts,"
                            " to_char(run_after, 'YYYY-MM-DD\"T\"HH24:MI:SSOF'),"
                            " coalesce(last_error, '') FROM jobs"
                            " WHERE $1::text IS NULL OR state = $1 ORDER BY id DESC"
                            " LIMIT $2::integer",
                            2, params, "listing jobs", list_row, &c, ei);
}

/* ---- reindex ---- */

cp_err_t store_jobs_queue_reindex(store_pg_t *pg, bool all, int *n, cp_errinfo_t *ei)
{
    const char *params[] = {all ? "true" : "false"};
    int c = 0;
    cp_err_t err = store__pg_stream(
        pg,
        "INSERT INTO jobs (kind, instance_id)"
        " SELECT 'reindex', i.id FROM current_instances i"
        " JOIN series e ON e.id = i.series_id JOIN studies s ON s.id = e.study_id"
        " JOIN patients p ON p.id = s.patient_id"
        " WHERE ($1::boolean OR strpos(p.name || s.accession || s.description || e.description,"
        "        U&'\\FFFD') > 0)"
        " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'reindex'"
        "                 AND j.instance_id = i.id AND j.state IN ('queued', 'running'))"
        " ORDER BY i.id RETURNING id",
        1, params, "queueing reindex jobs", store__count_row, &c, ei);
    if (err == CP_OK)
        *n = c;
    return err;
}

typedef struct blob_ctx {
    bool found;
    store_addr_t *addr;
    char *ts;
    cp_err_t bad;
} blob_ctx_t;

static bool blob_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    blob_ctx_t *c = ud;
    c->found = true;
    if (store_addr_from_hex(PQgetvalue(r, 0, 0), c->addr) != CP_OK) {
        *err = cp_fail(ei, CP_EIO, 0, "instance row has a malformed blob address");
        return false;
    }
    snprintf(c->ts, 65, "%s", PQgetvalue(r, 0, 1));
    return true;
}

cp_err_t store_jobs_instance_blob(store_pg_t *pg, int64_t instance_id, store_addr_t *addr,
                                  char ts[65], cp_errinfo_t *ei)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)instance_id);
    const char *params[] = {id};
    blob_ctx_t c = {.addr = addr, .ts = ts};
    cp_err_t err = store__pg_stream(pg,
                                    "SELECT encode(blob_address, 'hex'), transfer_syntax"
                                    " FROM instances WHERE id = $1::bigint",
                                    1, params, "finding an instance's blob", blob_row, &c, ei);
    if (err == CP_OK && !c.found)
        return cp_fail(ei, CP_ENOENT, 0, "no instance %lld", (long long)instance_id);
    return err;
}

cp_err_t store_jobs_reindex_text(store_pg_t *pg, int64_t instance_id, const char *patient_name,
                                 const char *accession, const char *study_desc,
                                 const char *series_desc, cp_errinfo_t *ei)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)instance_id);
    char *v[] = {store__utf8_clean(patient_name), store__utf8_clean(accession),
                 store__utf8_clean(study_desc), store__utf8_clean(series_desc)};
    const char *params[] = {id, v[0], v[1], v[2], v[3]};
    cp_err_t err = update_one(
        pg,
        "WITH i AS (SELECT e.id AS series_id, e.study_id, s.patient_id, x.identity_note"
        "  FROM instances x JOIN series e ON e.id = x.series_id JOIN studies s ON s.id = e.study_id"
        "  WHERE x.id = $1::bigint),"
        /* an instance of another patient than its study's (0022) does not name the record */
        " a AS (UPDATE patients SET name = $2 WHERE id = (SELECT patient_id FROM i"
        "       WHERE identity_note IS NULL) RETURNING 1),"
        " b AS (UPDATE studies SET accession = $3, description = $4"
        "       WHERE id = (SELECT study_id FROM i) RETURNING 1),"
        " c AS (UPDATE series SET description = $5 WHERE id = (SELECT series_id FROM i) RETURNING 1)"
        " SELECT 1 FROM i",
        5, params, "reindexing an instance's text", ei);
    for (int k = 0; k < 4; k++)
        free(v[k]);
    return err;
}

typedef struct rep_ctx {
    int64_t rep;
} rep_ctx_t;

static bool rep_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    rep_ctx_t *c = ud;
    c->rep = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    return true;
}

cp_err_t store_jobs_set_pixel_hash(store_pg_t *pg, int64_t instance_id, const uint8_t hash[32],
                                   const char *note, int64_t *duplicate_of, cp_errinfo_t *ei)
{
    char id[24], hex[2 * 32 + 3];
    snprintf(id, sizeof id, "%lld", (long long)instance_id);
    if (hash != NULL)
        store__bytea_hex(hash, 32, hex);
    const char *params[] = {id, hash != NULL ? hex : NULL, note};
    rep_ctx_t c = {0};
    static const store__named_t st = {3, "cp_jobs_pixel_hash",
                                      "SELECT cp_set_pixel_hash($1::bigint, $2::bytea, $3)"};
    if (held.on) {
        int i = held_dup(instance_id);
        store__batch_add(held.batch, &st, 3, params, held_rep_row, (void *)(intptr_t)i);
        if (duplicate_of != NULL)
            *duplicate_of = 0;
        return CP_OK;
    }
    cp_err_t err =
        store__pg_stream_named(pg, &st, 3, params, "recording a pixel hash", rep_row, &c, ei);
    if (err == CP_OK && duplicate_of != NULL)
        *duplicate_of = c.rep;
    return err;
}

/* A text[] literal: every element quoted, quotes and backslashes escaped. */
static char *text_array(const char *const *v, int n)
{
    size_t cap = 3;
    for (int i = 0; i < n; i++)
        cap += 2 * strlen(v[i]) + 3;
    char *out = cp_xmalloc(cap), *o = out;
    *o++ = '{';
    for (int i = 0; i < n; i++) {
        if (i > 0)
            *o++ = ',';
        *o++ = '"';
        for (const char *c = v[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                *o++ = '\\';
            *o++ = *c;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

cp_err_t store_jobs_set_normalized(store_pg_t *pg, int64_t instance_id, int64_t job_id,
                                   const store_addr_t *addr, uint64_t size, const char *key_id,
                                   const char *ts, const char *const *changes, int n_changes,
                                   const char *verified, cp_errinfo_t *ei)
{
    char id[24], job[24], sz[24], hex[STORE_ADDR_HEX_LEN + 3];
    snprintf(id, sizeof id, "%lld", (long long)instance_id);
    snprintf(job, sizeof job, "%lld", (long long)job_id);
    snprintf(sz, sizeof sz, "%llu", (unsigned long long)size);
    if (addr != NULL)
        store__bytea_hex(addr->b, sizeof addr->b, hex);
    char *arr = text_array(changes, n_changes);
    const char *params[] = {id, addr ? hex : NULL, addr ? sz : NULL, addr ? key_id : NULL,
                            addr ? ts : NULL, arr, verified, job};
    static const store__named_t st = {4, "cp_jobs_normalized",
                                      "SELECT cp_set_normalized($1::bigint, $2::bytea,"
                                      " $3::bigint, $4, $5, $6::text[], $7, $8::bigint)"};
    int ignore = 0;
    cp_err_t err = CP_OK;
    if (held.on)
        store__batch_add(held.batch, &st, 8, params, NULL, NULL);
    else
        err = store__pg_stream_named(pg, &st, 8, params, "recording a normalized instance",
                                     store__count_row, &ignore, ei);
    free(arr);
    return err;
}

static bool identity_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    identity_from(r, 0, ud);
    return true;
}

cp_err_t store_jobs_patient_identity(store_pg_t *pg, int64_t instance_id,
                                     store_patient_identity_t *out, cp_errinfo_t *ei)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)instance_id);
    const char *params[] = {id};
    memset(out, 0, sizeof *out);
    cp_err_t err = store__pg_stream(
        pg,
        "SELECT patient_id, issuer, name, birth_date, sex, calling_ae"
        " FROM cp_target_identity($1::bigint) WHERE patient_id IS NOT NULL",
        1, params, "finding an instance's patient", identity_row, out, ei);
    if (err == CP_OK && !out->found)
        return cp_fail(ei, CP_ENOENT, 0, "no instance %lld", (long long)instance_id);
    return err;
}

/* ---- compare ---- */

typedef struct versions_ctx {
    store_version_t *out;
    int max, n;
} versions_ctx_t;

static bool version_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    versions_ctx_t *c = ud;
    if (c->n == c->max)
        return false;
    store_version_t *v = &c->out[c->n];
    v->id = store__num(r, 0);
    v->version = (int)store__num(r, 1);
    snprintf(v->ts, sizeof v->ts, "%s", PQgetvalue(r, 0, 3));
    if (store_addr_from_hex(PQgetvalue(r, 0, 2), &v->addr) != CP_OK) {
        *err = cp_fail(ei, CP_EIO, 0, "instance row has a malformed blob address");
        return false;
    }
    c->n++;
    return true;
}

cp_err_t store_jobs_earlier_versions(store_pg_t *pg, int64_t instance_id, store_version_t *out,
                                     int max, int *n, cp_errinfo_t *ei)
{
    char id[24];
    const char *params[] = {store__id_param(instance_id, id)};
    versions_ctx_t c = {out, max, 0};
    cp_err_t err = store__pg_stream(
        pg,
        "SELECT o.id, o.version, encode(o.blob_address, 'hex'), o.transfer_syntax"
        " FROM instances i JOIN instances o ON o.sop_instance_uid = i.sop_instance_uid"
        " WHERE i.id = $1::bigint AND o.version < i.version AND o.encoding_of IS NULL"
        " AND i.encoding_of IS NULL ORDER BY o.version DESC",
        1, params, "listing earlier versions", version_row, &c, ei);
    *n = c.n;
    return err;
}

static bool bool_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    *(bool *)ud = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    return false;
}

cp_err_t store_jobs_set_encoding(store_pg_t *pg, int64_t instance_id, int64_t of, bool *done,
                                 cp_errinfo_t *ei)
{
    char a[24], b[24];
    const char *params[] = {store__id_param(instance_id, a), store__id_param(of, b)};
    *done = false;
    return store__pg_stream(pg, "SELECT cp_set_encoding($1::bigint, $2::bigint)", 2, params,
                            "recording a re-encoding", bool_row, done, ei);
}
