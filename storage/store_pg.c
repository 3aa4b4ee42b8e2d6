/* storage/store_pg.c -- blocking libpq calls over a small connection pool.
 * Why blocking on worker threads rather than non-blocking on the loop: an ingest is one
 * statement (cp_ingest) issued right after the blob's fsync on the same worker thread,
 * so the chain stays one uv_work_t; the loop never waits on PostgreSQL either way. */
#include "store_pg.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"
#include "cp_utf8.h"
#include "store_pg_int.h"

typedef struct slot {
    PGconn *conn;
    bool busy;
    bool prepared;
    uint32_t named; /* store__named_t ids prepared on conn */
} slot_t;

struct store_pg {
    char *conninfo;
    bool async_commit;
    int size;
    slot_t *slots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot_t locate;           /* store_pg_blob_locate's own connection */
    pthread_mutex_t locate_mu;
    bool audit_keyed;        /* audit_key set (store_audit_load_key) */
    uint8_t audit_key[32];
};

cp_err_t store_pg_open(const char *conninfo, int pool_size, store_pg_t **out, cp_errinfo_t *ei)
{
    if (pool_size < 1)
        return cp_fail(ei, CP_EINVAL, 0, "pool size must be at least 1");
    store_pg_t *pg = cp_xcalloc(1, sizeof *pg);
    pg->conninfo = cp_xstrdup(conninfo);
    pg->size = pool_size;
    pg->slots = cp_xcalloc((size_t)pool_size, sizeof *pg->slots);
    pthread_mutex_init(&pg->mu, NULL);
    pthread_cond_init(&pg->cv, NULL);
    pthread_mutex_init(&pg->locate_mu, NULL);
    *out = pg;
    return CP_OK;
}

cp_err_t store_pg_open_async(const char *conninfo, int pool_size, store_pg_t **out,
                             cp_errinfo_t *ei)
{
    cp_err_t err = store_pg_open(conninfo, pool_size, out, ei);
    if (err == CP_OK)
        (*out)->async_commit = true;
    return err;
}

void store_pg_close(store_pg_t *pg)
{
    if (pg == NULL)
        return;
    for (int i = 0; i < pg->size; i++)
        if (pg->slots[i].conn != NULL)
            PQfinish(pg->slots[i].conn);
    if (pg->locate.conn != NULL)
        PQfinish(pg->locate.conn);
    OPENSSL_cleanse(pg->audit_key, sizeof pg->audit_key);
    pthread_mutex_destroy(&pg->locate_mu);
    pthread_mutex_destroy(&pg->mu);
    pthread_cond_destroy(&pg->cv);
    free(pg->slots);
    free(pg->conninfo);
    free(pg);
}

void store__pg_set_audit_key(store_pg_t *pg, const uint8_t key[32])
{
    memcpy(pg->audit_key, key, sizeof pg->audit_key);
    pg->audit_keyed = true;
}

const uint8_t *store__pg_audit_key(const store_pg_t *pg)
{
    return pg->audit_keyed ? pg->audit_key : NULL;
}

/* libpq's messages end in a newline and may span lines; keep the first line. */
static const char *first_line(const char *msg, char *buf, size_t cap)
{
    size_t n = strcspn(msg, "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, msg, n);
    buf[n] = '\0';
    return buf;
}

/* A notice the server sends anyway (a WARNING as it shuts down) is dropped: libpq's own
 * processor would write it to stderr, unescaped, between the log's lines; the failure that
 * follows is reported by the statement it breaks. */
static void drop_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static cp_err_t connect_slot(store_pg_t *pg, slot_t *s, cp_errinfo_t *ei)
{
    /* Server notices (e.g. "already exists, skipping") would go to stderr unformatted;
     * storage does not log, so they are not asked for. JIT is off: the Query/Retrieve
     * statements are estimated as costly enough to compile, and compiling them takes
     * longer (800 ms measured) than running them (100 ms for 300 studies with counts). */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", "options", NULL};
    const char *vals[] = {pg->conninfo, "5", "caseport",
                          pg->async_commit
                              ? "-c client_min_messages=warning -c jit=off -c synchronous_commit=off"
                              : "-c client_min_messages=warning -c jit=off",
                          NULL};
    s->conn = PQconnectdbParams(keys, vals, 1);
    s->prepared = false;
    s->named = 0;
    if (s->conn != NULL)
        PQsetNoticeProcessor(s->conn, drop_notice, NULL);
    if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK)
        return CP_OK;
    char line[200];
    cp_fail(ei, CP_EDB, 0, "cannot connect to postgresql: %s",
            first_line(s->conn ? PQerrorMessage(s->conn) : "out of memory", line, sizeof line));
    PQfinish(s->conn);
    s->conn = NULL;
    return CP_EDB;
}

/* Takes a free slot (waiting if all are busy) with a live connection. */
static cp_err_t acquire(store_pg_t *pg, slot_t **out, cp_errinfo_t *ei)
{
    pthread_mutex_lock(&pg->mu);
    slot_t *s = NULL;
    for (;;) {
        for (int i = 0; i < pg->size && s == NULL; i++)
            if (!pg->slots[i].busy)
                s = &pg->slots[i];
        if (s != NULL)
            break;
        pthread_cond_wait(&pg->cv, &pg->mu);
    }
    s->busy = true;
    pthread_mutex_unlock(&pg->mu);
    if (s->conn != NULL && PQstatus(s->conn) != CONNECTION_OK) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    cp_err_t err = s->conn == NULL ? connect_slot(pg, s, ei) : CP_OK;
    if (err != CP_OK) {
        pthread_mutex_lock(&pg->mu);
        s->busy = false;
        pthread_cond_signal(&pg->cv);
        pthread_mutex_unlock(&pg->mu);
        return err;
    }
    *out = s;
    return CP_OK;
}

static void release(store_pg_t *pg, slot_t *s)
{
    /* A connection left inside a transaction or broken is not reused as is. */
    if (s->conn != NULL && (PQstatus(s->conn) != CONNECTION_OK ||
                            PQtransactionStatus(s->conn) != PQTRANS_IDLE)) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    pthread_mutex_lock(&pg->mu);
    s->busy = false;
    pthread_cond_signal(&pg->cv);
    pthread_mutex_unlock(&pg->mu);
}

/* Maps a failed result to CP_EDB (connection lost: transient) or CP_EIO (SQL error). */
static cp_err_t result_error(PGconn *c, PGresult *r, const char *what, cp_errinfo_t *ei)
{
    char line[200];
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
    cp_err_t code = PQstatus(c) == CONNECTION_OK ? CP_EIO : CP_EDB;
    cp_fail(ei, code, 0, "%s: %s", what, first_line(msg, line, sizeof line));
    PQclear(r);
    return code;
}

static cp_err_t exec_ok(PGconn *c, const char *sql, const char *what, cp_errinfo_t *ei)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return result_error(c, r, what, ei);
    PQclear(r);
    return CP_OK;
}

static int current_version(PGconn *c, cp_err_t *err, cp_errinfo_t *ei)
{
    PGresult *r = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        *err = result_error(c, r, "reading schema version", ei);
        return -1;
    }
    int v = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    *err = CP_OK;
    return v;
}

static cp_err_t apply_migration(PGconn *c, const store_migration_t *m, cp_errinfo_t *ei)
{
    char what[160];
    snprintf(what, sizeof what, "migration %04d %s", m->version, m->name);
    cp_err_t err = exec_ok(c, "BEGIN", what, ei);
    if (err == CP_OK)
        err = exec_ok(c, m->sql, what, ei);
    if (err == CP_OK) {
        char ver[16];
        snprintf(ver, sizeof ver, "%d", m->version);
        const char *params[] = {ver, m->name};
        PGresult *r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) "
                                      "VALUES ($1, $2)", 2, NULL, params, NULL, NULL, 0);
        err = PQresultStatus(r) == PGRES_COMMAND_OK ? CP_OK : result_error(c, r, what, ei);
        if (err == CP_OK)
            PQclear(r);
    }
    if (err == CP_OK)
        return exec_ok(c, "COMMIT", what, ei);
    PGresult *r = PQexec(c, "ROLLBACK");
    PQclear(r);
    return err;
}

static cp_err_t migrate_locked(PGconn *c, int *applied, cp_errinfo_t *ei)
{
    cp_err_t err = exec_ok(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                              " version integer PRIMARY KEY, name text NOT NULL,"
                              " applied_at timestamptz NOT NULL DEFAULT now())",
                           "creating schema_migrations", ei);
    if (err != CP_OK)
        return err;
    int have = current_version(c, &err, ei);
    if (err != CP_OK)
        return err;
    for (size_t i = 0; i < store_migration_count; i++) {
        if (store_migrations[i].version <= have)
            continue;
        err = apply_migration(c, &store_migrations[i], ei);
        if (err != CP_OK)
            return err;
        (*applied)++;
    }
    return CP_OK;
}

cp_err_t store_pg_migrate(store_pg_t *pg, int *applied, cp_errinfo_t *ei)
{
    slot_t *s;
    int n = 0;
    cp_err_t err = acquire(pg, &s, ei);
    if (err != CP_OK)
        return err;
    /* A session-level advisory lock: a second node starting at once waits, then finds
     * the migrations applied. */
    err = exec_ok(s->conn, "SELECT pg_advisory_lock(7413220)", "locking migrations", ei);
    if (err == CP_OK) {
        err = migrate_locked(s->conn, &n, ei);
        cp_errinfo_t ignore;
        exec_ok(s->conn, "SELECT pg_advisory_unlock(7413220)", "unlocking", &ignore);
    }
    release(pg, s);
    if (applied != NULL)
        *applied = n;
    return err;
}

cp_err_t store_pg_check_schema(store_pg_t *pg, cp_errinfo_t *ei)
{
    slot_t *s;
    cp_err_t err = acquire(pg, &s, ei);
    if (err != CP_OK)
        return err;
    int have = current_version(s->conn, &err, ei);
    release(pg, s);
    if (err != CP_OK)
        return err;
    int want = store_migrations[store_migration_count - 1].version;
    if (have != want)
        return cp_fail(ei, CP_EDBSCHEMA, 0, "database schema is version %d, caseport needs %d",
                       have, want);
    return CP_OK;
}

#define INGEST_PARAMS 32
static const char ingest_sql[] =
    "SELECT kind, instance_id, version, receipt_count, blob_new, duplicate_of, queued"
    " FROM cp_ingest($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,"
    "$21,$22,$23,$24,$25,$26,$27,$28,$29,$30,$31,$32)";

static cp_err_t prepare_ingest(slot_t *s, cp_errinfo_t *ei)
{
    if (s->prepared)
        return CP_OK;
    PGresult *r = PQprepare(s->conn, "ingest", ingest_sql, INGEST_PARAMS, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return result_error(s->conn, r, "preparing ingest", ei);
    PQclear(r);
    s->prepared = true;
    return CP_OK;
}

int store_pg_warm(store_pg_t *pg)
{
    int ready = 0;
    for (int i = 0; i < pg->size; i++) {
        slot_t *s = &pg->slots[i];
        pthread_mutex_lock(&pg->mu);
        bool mine = !s->busy;
        s->busy = true;
        pthread_mutex_unlock(&pg->mu);
        if (!mine) { /* in use: connected */
            ready++;
            continue;
        }
        cp_errinfo_t ei = {0};
        if ((s->conn != NULL || connect_slot(pg, s, &ei) == CP_OK) &&
            prepare_ingest(s, &ei) == CP_OK)
            ready++;
        release(pg, s);
    }
    return ready;
}

struct store_pg_txn {
    store_pg_t *pg;
    slot_t *slot;
    const store_instance_in_t *in; /* the caller's, until finish */
    bool fresh;                    /* the connection was new for this ingest */
};

bool store__first_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    store__first_t *c = ud;
    c->found = true;
    c->id = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    return true;
}

bool store__count_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)r;
    (void)err;
    (void)ei;
    (*(int *)ud)++;
    return true;
}

const char *store__id_param(int64_t id, char buf[24])
{
    if (id <= 0)
        return NULL;
    snprintf(buf, 24, "%lld", (long long)id);
    return buf;
}

int64_t store__num_at(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int64_t store__num(PGresult *r, int col)
{
    return store__num_at(r, 0, col);
}

cp_err_t store__one_row(store_pg_t *pg, const char *sql, int n, const char *const *params,
                        const char *what, const char *none, cp_errinfo_t *ei)
{
    store__first_t c = {0};
    cp_err_t err = store__pg_stream(pg, sql, n, params, what, store__first_row, &c, ei);
    if (err == CP_OK && !c.found)
        return cp_fail(ei, CP_ENOENT, 0, "%s", none);
    return err;
}

void store__bytea_hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        out[2 + 2 * i] = digits[b[i] >> 4];
        out[3 + 2 * i] = digits[b[i] & 15];
    }
    out[2 + 2 * n] = '\0';
}

bool store__utf8_valid(const char *in)
{
    const unsigned char *p = (const unsigned char *)in;
    for (size_t n; *p; p += n)
        if ((n = cp_utf8_seq(p, 4)) == 0)
            return false;
    return true;
}

char *store__utf8_clean(const char *in)
{
    const unsigned char *p = (const unsigned char *)in;
    char *out = cp_xmalloc(3 * strlen(in) + 1), *o = out;
    while (*p) {
        size_t n = cp_utf8_seq(p, 4);
        if (n == 0) {
            memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD */
            o += 3;
            p++;
        } else {
            memcpy(o, p, n);
            o += n;
            p += n;
        }
    }
    *o = '\0';
    return out;
}

/* An identity value that is not UTF-8 is cleaned for the index (send_ingest), and is then
 * not the raw one the normalize job compares: such an instance's job decides. */
static bool identity_utf8(const store_instance_in_t *in)
{
    return store__utf8_valid(in->patient_id) && store__utf8_valid(in->issuer) &&
           store__utf8_valid(in->patient_name) && store__utf8_valid(in->birth_date) &&
           store__utf8_valid(in->sex);
}

/* The index's text columns are UTF-8; until character sets are decoded (normalization),
 * bytes of another set are stored as U+FFFD there -- the blob keeps them as received. */
static cp_err_t send_ingest(slot_t *s, const store_instance_in_t *in, cp_errinfo_t *ei)
{
    char size[24], off[24], len[24], hash[2 * 32 + 3];
    if (in->pixel_hash != NULL)
        store__bytea_hex(in->pixel_hash, 32, hash);
    snprintf(size, sizeof size, "%llu", (unsigned long long)in->size);
    snprintf(off, sizeof off, "%llu", (unsigned long long)in->loc.offset);
    snprintf(len, sizeof len, "%llu", (unsigned long long)in->loc.length);
    bool packed = in->loc.pack[0] != '\0';
    const char *v[INGEST_PARAMS] = {
        in->sop_class_uid, in->sop_instance_uid, in->study_uid, in->series_uid,
        in->patient_id, in->issuer, in->patient_name, in->birth_date, in->sex, in->charset,
        in->study_date, in->study_time, in->accession, in->study_desc, in->series_desc,
        in->modality, in->series_number, in->instance_number, in->transfer_syntax,
        in->calling_ae, in->called_ae, in->peer_address, (const char *)in->addr.b, size,
        in->key_id, packed ? in->loc.pack : NULL, packed ? off : NULL, packed ? len : NULL,
        in->pixel_hash != NULL ? hash : NULL, in->pixel_hash_note,
        in->keeps && identity_utf8(in) ? "t" : "f", in->authority != NULL ? in->authority : ""};
    int lens[INGEST_PARAMS] = {0};
    int fmt[INGEST_PARAMS] = {0};
    lens[22] = (int)sizeof in->addr.b;
    fmt[22] = 1; /* bytea in binary: no hex round trip */
    char *clean[INGEST_PARAMS] = {0};
    for (int i = 0; i < INGEST_PARAMS; i++)
        if (i != 22 && v[i] != NULL && !store__utf8_valid(v[i])) /* rare: decoded at ingest */
            v[i] = clean[i] = store__utf8_clean(v[i]);
    /* libpq copies the parameters into its output buffer before returning */
    bool sent = PQsendQueryPrepared(s->conn, "ingest", INGEST_PARAMS, v, lens, fmt, 0);
    for (int i = 0; i < INGEST_PARAMS; i++)
        free(clean[i]);
    if (!sent)
        return result_error(s->conn, NULL, "sending ingest", ei);
    return CP_OK;
}

static void take_result(PGresult *r, store_ingest_result_t *res)
{
    const char *kind = PQgetvalue(r, 0, 0);
    res->kind = strcmp(kind, "repeat") == 0        ? STORE_INGEST_REPEAT
                : strcmp(kind, "new_version") == 0 ? STORE_INGEST_NEW_VERSION
                                                   : STORE_INGEST_NEW;
    res->instance_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    res->version = (int)strtol(PQgetvalue(r, 0, 2), NULL, 10);
    res->receipt_count = (int)strtol(PQgetvalue(r, 0, 3), NULL, 10);
    res->blob_new = strcmp(PQgetvalue(r, 0, 4), "t") == 0;
    res->duplicate_of = PQgetisnull(r, 0, 5) ? 0 : strtoll(PQgetvalue(r, 0, 5), NULL, 10);
    res->queued = strcmp(PQgetvalue(r, 0, 6), "t") == 0;
}

static cp_err_t read_ingest(slot_t *s, store_ingest_result_t *res, cp_errinfo_t *ei)
{
    cp_err_t err = CP_OK;
    bool got = false;
    PGresult *r;
    while ((r = PQgetResult(s->conn)) != NULL) {
        if (err == CP_OK && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            take_result(r, res);
            got = true;
        } else if (err == CP_OK) {
            err = result_error(s->conn, r, "indexing instance", ei);
            continue; /* result_error cleared r */
        }
        PQclear(r);
    }
    if (err == CP_OK && !got)
        err = result_error(s->conn, NULL, "indexing instance", ei);
    return err;
}

/* The whole ingest, one statement after another: the fallback when the pipelined one
 * found its pooled connection dead before anything reached the server. */
static cp_err_t ingest_sync(store_pg_t *pg, const store_instance_in_t *in, bool commit,
                            store_ingest_result_t *res, cp_errinfo_t *ei)
{
    slot_t *s;
    cp_err_t err = acquire(pg, &s, ei);
    if (err != CP_OK)
        return err;
    err = exec_ok(s->conn, "BEGIN", "starting ingest", ei);
    if (err == CP_OK)
        err = prepare_ingest(s, ei);
    if (err == CP_OK)
        err = send_ingest(s, in, ei);
    if (err == CP_OK)
        err = read_ingest(s, res, ei);
    if (err == CP_OK && commit) {
        err = exec_ok(s->conn, "COMMIT", "committing ingest", ei);
    } else {
        cp_errinfo_t ignore;
        exec_ok(s->conn, "ROLLBACK", "rolling back ingest", &ignore);
    }
    release(pg, s);
    return err;
}

/* BEGIN and the ingest statement go out together in libpq's pipeline mode, and the
 * server runs them while the caller fsyncs the blob; COMMIT follows with the Sync. One
 * round trip is waited for, not three. */
cp_err_t store_pg_ingest_start(store_pg_t *pg, const store_instance_in_t *in,
                               store_pg_txn_t **txn, cp_errinfo_t *ei)
{
    slot_t *s;
    cp_err_t err = acquire(pg, &s, ei);
    if (err != CP_OK)
        return err;
    bool fresh = !s->prepared;
    err = prepare_ingest(s, ei); /* once per connection, outside the pipeline */
    if (err == CP_OK && !PQenterPipelineMode(s->conn))
        err = result_error(s->conn, NULL, "starting ingest", ei);
    if (err == CP_OK && !PQsendQueryParams(s->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
        err = result_error(s->conn, NULL, "starting ingest", ei);
    if (err == CP_OK)
        err = send_ingest(s, in, ei);
    if (err == CP_OK && PQflush(s->conn) != 0)
        err = result_error(s->conn, NULL, "sending ingest", ei);
    if (err != CP_OK) {
        release(pg, s);
        if (err == CP_EDB && !fresh) /* the pooled connection had died: once more */
            return store_pg_ingest_start(pg, in, txn, ei);
        return err;
    }
    *txn = cp_xcalloc(1, sizeof **txn);
    (*txn)->pg = pg;
    (*txn)->slot = s;
    (*txn)->in = in;
    (*txn)->fresh = fresh;
    return CP_OK;
}

/* The results of one pipelined statement; the first failure is kept. */
static void pipeline_results(slot_t *s, const char *what, store_ingest_result_t *res,
                             cp_err_t *err, cp_errinfo_t *ei)
{
    bool got = false;
    PGresult *r;
    while ((r = PQgetResult(s->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (res != NULL && st == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            take_result(r, res);
            got = true;
        } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && *err == CP_OK) {
            *err = result_error(s->conn, st == PGRES_PIPELINE_ABORTED ? NULL : r, what, ei);
            continue; /* result_error cleared r */
        }
        PQclear(r);
    }
    if (res != NULL && !got && *err == CP_OK)
        *err = result_error(s->conn, NULL, what, ei);
}

cp_err_t store_pg_ingest_finish(store_pg_txn_t *txn, bool commit, store_ingest_result_t *res,
                                cp_errinfo_t *ei)
{
    slot_t *s = txn->slot;
    PGconn *c = s->conn;
    cp_err_t err = CP_OK, begin_err = CP_OK;
    if (!PQsendQueryParams(c, commit ? "COMMIT" : "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0) ||
        !PQpipelineSync(c))
        err = result_error(c, NULL, "committing ingest", ei);
    if (err == CP_OK)
        pipeline_results(s, "starting ingest", NULL, &begin_err, ei);
    err = begin_err;
    if (PQstatus(c) == CONNECTION_OK)
        pipeline_results(s, "indexing instance", res, &err, ei);
    if (PQstatus(c) == CONNECTION_OK)
        pipeline_results(s, "committing ingest", NULL, &err, ei);
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQgetResult(c) : NULL;
    bool synced = r != NULL && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
    PQclear(r);
    synced = synced && PQexitPipelineMode(c);
    if (!synced && err == CP_OK)
        err = result_error(c, NULL, "committing ingest", ei);
    if (!synced) { /* not reusable */
        PQfinish(s->conn);
        s->conn = NULL;
    } else if (PQtransactionStatus(c) == PQTRANS_INERROR) {
        cp_errinfo_t ignore;
        exec_ok(c, "ROLLBACK", "rolling back ingest", &ignore);
    }
    release(txn->pg, s);
    /* A pooled connection that had died: nothing reached the server, so the ingest is
     * made again on a new one (the blob is durable already, as rule 1 wants). */
    if (begin_err == CP_EDB && !txn->fresh && commit)
        err = ingest_sync(txn->pg, txn->in, commit, res, ei);
    free(txn);
    return err;
}

cp_err_t store_pg_ingest(store_pg_t *pg, const store_instance_in_t *in,
                         store_ingest_result_t *res, cp_errinfo_t *ei)
{
    store_pg_txn_t *txn;
    cp_err_t err = store_pg_ingest_start(pg, in, &txn, ei);
    if (err != CP_OK)
        return err;
    return store_pg_ingest_finish(txn, true, res, ei);
}

cp_err_t store_pg_record_association(store_pg_t *pg, const store_assoc_row_t *row,
                                     cp_errinfo_t *ei)
{
    slot_t *s;
    cp_err_t err = acquire(pg, &s, ei);
    if (err != CP_OK)
        return err;
    char started[32], stored[16], failed[16], bytes[24];
    snprintf(started, sizeof started, "%.6f", row->started_at);
    snprintf(stored, sizeof stored, "%d", row->stored);
    snprintf(failed, sizeof failed, "%d", row->failed);
    snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)row->bytes_in);
    const char *v[] = {started, row->calling_ae, row->called_ae, row->peer_address,
                       row->peer_name[0] ? row->peer_name : NULL, row->impl_class_uid,
                       row->impl_version, row->accepted ? "t" : "f", row->outcome, stored,
                       failed, bytes};
    PGresult *r = PQexecParams(
        s->conn,
        "INSERT INTO associations (started_at, calling_ae, called_ae, peer_address, peer_name,"
        " impl_class_uid, impl_version, accepted, outcome, stored, failed, bytes_in)"
        " VALUES (to_timestamp($1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        12, NULL, v, NULL, NULL, 0);
    err = PQresultStatus(r) == PGRES_COMMAND_OK ? CP_OK
                                                : result_error(s->conn, r, "recording association", ei);
    if (err == CP_OK)
        PQclear(r);
    release(pg, s);
    return err;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static cp_err_t addr_from_bytea(const char *text, store_addr_t *addr)
{
    /* bytea in text output is "\x" followed by hex */
    if (strncmp(text, "\\x", 2) != 0)
        return CP_EINVAL;
    return store_addr_from_hex(text + 2, addr);
}

/* Why the instance (p: its UID and version) has no normalized copy, from its normalize
 * job: CP_ENOENT with the job's state and reason, or CP_OK when there is nothing to say. */
static cp_err_t why_not_normalized(PGconn *conn, const char *const *p, cp_errinfo_t *ei)
{
    PGresult *r = PQexecParams(
        conn,
        "SELECT j.state, coalesce(j.last_error, '') FROM instances i"
        " JOIN jobs j ON j.instance_id = i.id AND j.kind = 'normalize'"
        " WHERE i.sop_instance_uid = $1 AND ($2::int = 0 OR i.version = $2::int)"
        " AND i.encoding_of IS NULL ORDER BY i.version DESC, j.id DESC LIMIT 1",
        2, NULL, p, NULL, NULL, 0);
    cp_err_t err = CP_OK;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        const char *state = PQgetvalue(r, 0, 0), *why = PQgetvalue(r, 0, 1);
        if (strcmp(state, "dead") == 0)
            err = cp_fail(ei, CP_ENOENT, 0, "no normalized copy: normalizing it failed: %s",
                          why[0] ? why : "no reason kept");
        else if (strcmp(state, "done") != 0)
            err = cp_fail(ei, CP_ENOENT, 0, "no normalized copy yet: its normalize job is %s%s%s",
                          state, why[0] ? " after an error: " : "", why);
    }
    PQclear(r);
    return err;
}

static cp_err_t find_instance(store_pg_t *pg, const char *sop_instance_uid, int version,
                              bool normalized, bool last, store_instance_info_t *out,
                              cp_errinfo_t *ei)
{
    slot_t *s;
    cp_err_t err = acquire(pg, &s, ei);
    if (err != CP_OK)
        return err;
    char ver[16];
    snprintf(ver, sizeof ver, "%d", version);
    const char *p[] = {sop_instance_uid, ver, normalized ? "true" : "false",
                       last ? "true" : "false"};
    PGresult *r = PQexecParams(
        s->conn,
        "SELECT i.id, i.version, i.sop_class_uid, i.sop_instance_uid,"
        " coalesce(n.transfer_syntax, i.transfer_syntax), i.calling_ae,"
        " coalesce(n.blob_address, i.blob_address), coalesce(n.size, i.size)"
        " FROM (SELECT * FROM instances WHERE sop_instance_uid = $1"
        "       AND ($2::int = 0 OR version = $2::int)"
        /* a version's own row before its re-encodings (0024); or its last receipt ($4) */
        "       ORDER BY CASE WHEN $4::boolean THEN last_received_at END DESC NULLS LAST,"
        "       CASE WHEN $4::boolean THEN id END DESC NULLS LAST,"
        "       version DESC, encoding_of IS NOT NULL, id LIMIT 1) i"
        " LEFT JOIN normalized n ON $3::boolean AND n.instance_id = i.id"
        " AND n.blob_address IS NOT NULL"
        /* the version asked for (the newest) must be normalized: never an older one's */
        " WHERE NOT $3::boolean OR EXISTS (SELECT 1 FROM normalized m WHERE m.instance_id = i.id)",
        4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        err = result_error(s->conn, r, "finding instance", ei);
        release(pg, s);
        return err;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        err = normalized ? why_not_normalized(s->conn, p, ei) : CP_OK;
        release(pg, s);
        if (err != CP_OK)
            return err;
        return cp_fail(ei, CP_ENOENT, 0, "no %sinstance with that SOP Instance UID%s",
                       normalized ? "normalized " : "", version ? " and version" : "");
    }
    out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    out->version = (int)strtol(PQgetvalue(r, 0, 1), NULL, 10);
    copy_str(out->sop_class_uid, sizeof out->sop_class_uid, PQgetvalue(r, 0, 2));
    copy_str(out->sop_instance_uid, sizeof out->sop_instance_uid, PQgetvalue(r, 0, 3));
    copy_str(out->transfer_syntax, sizeof out->transfer_syntax, PQgetvalue(r, 0, 4));
    copy_str(out->calling_ae, sizeof out->calling_ae, PQgetvalue(r, 0, 5));
    err = addr_from_bytea(PQgetvalue(r, 0, 6), &out->addr);
    out->size = strtoull(PQgetvalue(r, 0, 7), NULL, 10);
    PQclear(r);
    release(pg, s);
    if (err != CP_OK)
        return cp_fail(ei, CP_EIO, 0, "instance row has a malformed blob address");
    return CP_OK;
}

cp_err_t store_pg_find_instance(store_pg_t *pg, const char *sop_instance_uid, int version,
                                store_instance_info_t *out, cp_errinfo_t *ei)
{
    return find_instance(pg, sop_instance_uid, version, false, false, out, ei);
}

cp_err_t store_pg_find_last_receipt(store_pg_t *pg, const char *sop_instance_uid, int version,
                                    store_instance_info_t *out, cp_errinfo_t *ei)
{
    return find_instance(pg, sop_instance_uid, version, false, true, out, ei);
}

cp_err_t store_pg_find_normalized(store_pg_t *pg, const char *sop_instance_uid, int version,
                                  store_instance_info_t *out, cp_errinfo_t *ei)
{
    return find_instance(pg, sop_instance_uid, version, true, false, out, ei);
}

static const char ls_sql[] =
    "SELECT p.patient_id, p.issuer, p.name, p.birth_date, p.sex,"
    " st.study_uid, st.study_date, st.accession, st.description,"
    " se.series_uid, se.modality, se.series_number, se.description,"
    " i.sop_instance_uid, i.sop_class_uid, i.instance_number, i.transfer_syntax,"
    " i.calling_ae, to_char(i.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " encode(i.blob_address, 'hex'), i.version, i.receipt_count, i.flagged, i.size,"
    " coalesce((SELECT o.sop_instance_uid FROM instances o WHERE o.id = i.duplicate_of), ''),"
    " coalesce((SELECT string_agg(d.sop_instance_uid, ',' ORDER BY d.id) FROM instances d"
    " JOIN series de ON de.id = d.series_id JOIN studies ds ON ds.id = de.study_id"
    " WHERE d.duplicate_of = i.id AND ds.patient_id = st.patient_id), ''),"
    /* the same version received in other encodings (0024): on its line, not lines of their own */
    " coalesce((SELECT string_agg(x.transfer_syntax, ',' ORDER BY x.id) FROM instances x"
    " WHERE x.encoding_of = i.id), ''), coalesce(i.identity_note, '')"
    " FROM instances i JOIN series se ON se.id = i.series_id"
    " JOIN studies st ON st.id = se.study_id JOIN patients p ON p.id = st.patient_id"
    " WHERE i.encoding_of IS NULL AND ($1::boolean OR i.duplicate_of IS NULL OR NOT EXISTS"
    " (SELECT 1 FROM instances o"
    " JOIN series oe ON oe.id = o.series_id JOIN studies os ON os.id = oe.study_id"
    " WHERE o.id = i.duplicate_of AND os.patient_id = st.patient_id))"
    " ORDER BY p.patient_id, p.issuer, st.study_date, st.study_uid, se.series_number,"
    " se.series_uid, NULLIF(regexp_replace(i.instance_number, '[^0-9-]', '', 'g'), '')::bigint"
    " NULLS LAST, i.sop_instance_uid, i.version";

static void ls_emit(PGresult *r, int row, store_ls_cb cb, void *ud)
{
    store_ls_row_t x;
    const char **f[] = {&x.patient_id, &x.issuer, &x.patient_name, &x.birth_date, &x.sex,
                        &x.study_uid, &x.study_date, &x.accession, &x.study_desc,
                        &x.series_uid, &x.modality, &x.series_number, &x.series_desc,
                        &x.sop_instance_uid, &x.sop_class_uid, &x.instance_number,
                        &x.transfer_syntax, &x.calling_ae, &x.received_at, &x.blob_hex};
    for (int c = 0; c < (int)CP_ARRAY_LEN(f); c++)
        *f[c] = PQgetvalue(r, row, c);
    x.version = (int)strtol(PQgetvalue(r, row, 20), NULL, 10);
    x.receipt_count = (int)strtol(PQgetvalue(r, row, 21), NULL, 10);
    x.flagged = PQgetvalue(r, row, 22)[0] == 't';
    x.size = strtoll(PQgetvalue(r, row, 23), NULL, 10);
    x.duplicate_of = PQgetvalue(r, row, 24);
    x.duplicates = PQgetvalue(r, row, 25);
    x.encodings = PQgetvalue(r, row, 26);
    x.identity_note = PQgetvalue(r, row, 27);
    cb(ud, &x);
}

/* Runs sql and hands its rows one by one to row() (false: skip the rest), so a large
 * archive is read in constant memory. row() may set *err to stop with an error. */
/* The rows of the query just sent on s, one at a time. */
static cp_err_t stream_results(slot_t *s, bool whole, const char *what, store__row_fn row,
                               void *ud, cp_errinfo_t *ei)
{
    cp_err_t err = CP_OK;
    if (!whole && !PQsetSingleRowMode(s->conn))
        err = result_error(s->conn, NULL, what, ei);
    ExecStatusType rows = whole ? PGRES_TUPLES_OK : PGRES_SINGLE_TUPLE;
    PGresult *r;
    bool go = true;
    while ((r = PQgetResult(s->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == rows && go && err == CP_OK) {
            go = row(ud, r, &err, ei);
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK &&
                   st != PGRES_COMMAND_OK && err == CP_OK) { /* COMMAND_OK: returns no rows */
            err = result_error(s->conn, r, what, ei);
            continue; /* result_error cleared r */
        }
        PQclear(r);
    }
    return err;
}

cp_err_t store__pg_stream(store_pg_t *pg, const char *sql, int n, const char *const *params,
                          const char *what, store__row_fn row, void *ud, cp_errinfo_t *ei)
{
    slot_t *s;
    cp_err_t err = acquire(pg, &s, ei);
    if (err != CP_OK)
        return err;
    if (!PQsendQueryParams(s->conn, sql, n, NULL, params, NULL, NULL, 0))
        err = result_error(s->conn, NULL, what, ei);
    else
        err = stream_results(s, false, what, row, ud, ei);
    release(pg, s);
    return err;
}

static cp_err_t run_named(store_pg_t *pg, const store__named_t *st, bool whole, int n,
                          const char *const *params, const char *what, store__row_fn row,
                          void *ud, cp_errinfo_t *ei)
{
    slot_t *s;
    cp_err_t err = acquire(pg, &s, ei);
    if (err != CP_OK)
        return err;
    uint32_t bit = 1u << st->id;
    if (!(s->named & bit)) {
        PGresult *r = PQprepare(s->conn, st->name, st->sql, n, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            err = result_error(s->conn, r, what, ei);
            release(pg, s);
            return err;
        }
        PQclear(r);
        s->named |= bit;
    }
    if (!PQsendQueryPrepared(s->conn, st->name, n, params, NULL, NULL, 0))
        err = result_error(s->conn, NULL, what, ei);
    else
        err = stream_results(s, whole, what, row, ud, ei);
    release(pg, s);
    return err;
}

cp_err_t store__pg_stream_named(store_pg_t *pg, const store__named_t *st, int n,
                                const char *const *params, const char *what, store__row_fn row,
                                void *ud, cp_errinfo_t *ei)
{
    return run_named(pg, st, false, n, params, what, row, ud, ei);
}

cp_err_t store__pg_page_named(store_pg_t *pg, const store__named_t *st, int n,
                              const char *const *params, const char *what, store__row_fn rows,
                              void *ud, cp_errinfo_t *ei)
{
    return run_named(pg, st, true, n, params, what, rows, ud, ei);
}

static cp_err_t stream_rows(store_pg_t *pg, const char *sql, const char *what,
                            store__row_fn row, void *ud, cp_errinfo_t *ei)
{
    return store__pg_stream(pg, sql, 0, NULL, what, row, ud, ei);
}

/* ---- batches (pipeline mode) ---- */

typedef struct batch_item {
    const store__named_t *st;
    int n;
    char **params; /* n copies (NULL kept) */
    store__row_fn row;
    void *ud;
} batch_item_t;

struct store__batch {
    batch_item_t *items;
    int len, cap;
};

store__batch_t *store__batch_new(void)
{
    return cp_xcalloc(1, sizeof(store__batch_t));
}

static void batch_clear(store__batch_t *b)
{
    for (int i = 0; i < b->len; i++) {
        for (int k = 0; k < b->items[i].n; k++)
            free(b->items[i].params[k]);
        free(b->items[i].params);
    }
    b->len = 0;
}

void store__batch_free(store__batch_t *b)
{
    if (b == NULL)
        return;
    batch_clear(b);
    free(b->items);
    free(b);
}

void store__batch_add(store__batch_t *b, const store__named_t *st, int n,
                      const char *const *params, store__row_fn row, void *ud)
{
    if (b->len == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        b->items = cp_xrealloc(b->items, (size_t)b->cap * sizeof *b->items);
    }
    batch_item_t *it = &b->items[b->len++];
    *it = (batch_item_t){.st = st, .n = n, .row = row, .ud = ud};
    it->params = cp_xcalloc(n > 0 ? (size_t)n : 1, sizeof *it->params);
    for (int k = 0; k < it->n; k++)
        it->params[k] = params[k] != NULL ? cp_xstrdup(params[k]) : NULL;
}

int store__batch_len(const store__batch_t *b)
{
    return b->len;
}

/* Prepares, outside the pipeline, each named statement the batch uses. */
static cp_err_t batch_prepare(slot_t *s, const store__batch_t *b, const char *what,
                              cp_errinfo_t *ei)
{
    for (int i = 0; i < b->len; i++) {
        const batch_item_t *it = &b->items[i];
        uint32_t bit = 1u << it->st->id;
        if (it->st->name == NULL || (s->named & bit)) /* unnamed: sent as it is */
            continue;
        PGresult *r = PQprepare(s->conn, it->st->name, it->st->sql, it->n, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            return result_error(s->conn, r, what, ei);
        PQclear(r);
        s->named |= bit;
    }
    return CP_OK;
}

/* One item's result to its callback; a failure kept (the first one). The rows may come
 * one result each (PGRES_SINGLE_TUPLE): libpq carries the single-row mode that
 * stream_results sets into the first query of a following pipeline. */
static void batch_result(slot_t *s, const batch_item_t *it, const char *what, cp_err_t *err,
                         cp_errinfo_t *ei)
{
    PGresult *r;
    while ((r = PQgetResult(s->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        bool rows = st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE;
        if (rows && *err == CP_OK && it->row != NULL && PQntuples(r) > 0) {
            it->row(it->ud, r, err, ei);
        } else if (!rows && st != PGRES_COMMAND_OK && *err == CP_OK) {
            *err = result_error(s->conn, st == PGRES_PIPELINE_ABORTED ? NULL : r, what, ei);
            continue; /* result_error cleared r */
        }
        PQclear(r);
    }
}

static cp_err_t batch_send(slot_t *s, const store__batch_t *b, const char *what,
                           cp_errinfo_t *ei)
{
    if (!PQenterPipelineMode(s->conn))
        return result_error(s->conn, NULL, what, ei);
    for (int i = 0; i < b->len; i++) {
        const batch_item_t *it = &b->items[i];
        const char *const *p = (const char *const *)it->params;
        bool sent = it->st->name != NULL
                        ? PQsendQueryPrepared(s->conn, it->st->name, it->n, p, NULL, NULL, 0)
                        : PQsendQueryParams(s->conn, it->st->sql, it->n, NULL, p, NULL, NULL, 0);
        if (!sent)
            return result_error(s->conn, NULL, what, ei);
    }
    if (!PQpipelineSync(s->conn))
        return result_error(s->conn, NULL, what, ei);
    return CP_OK;
}

/* Every item's result, then the Sync; false if the connection is not fit to reuse. */
static bool batch_receive(slot_t *s, const store__batch_t *b, const char *what, cp_err_t *err,
                          cp_errinfo_t *ei)
{
    for (int i = 0; i < b->len && PQstatus(s->conn) == CONNECTION_OK; i++)
        batch_result(s, &b->items[i], what, err, ei);
    PGresult *r = PQstatus(s->conn) == CONNECTION_OK ? PQgetResult(s->conn) : NULL;
    bool synced = r != NULL && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
    PQclear(r);
    synced = synced && PQexitPipelineMode(s->conn);
    if (!synced && *err == CP_OK)
        *err = result_error(s->conn, NULL, what, ei);
    return synced;
}

/* Sends the batch on s and waits for every result; a connection left in pipeline mode by
 * a failure is closed (s->conn NULL). */
static cp_err_t batch_on(slot_t *s, store__batch_t *b, const char *what, cp_errinfo_t *ei)
{
    cp_err_t err = batch_prepare(s, b, what, ei);
    bool fit = err != CP_OK; /* prepared nothing in a pipeline: the connection is fine */
    if (err == CP_OK && (err = batch_send(s, b, what, ei)) == CP_OK)
        fit = batch_receive(s, b, what, &err, ei);
    if (!fit && PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    return err;
}

cp_err_t store__batch_run(store_pg_t *pg, store__batch_t *b, const char *what, cp_errinfo_t *ei)
{
    if (b->len == 0)
        return CP_OK;
    slot_t *s;
    cp_err_t err = acquire(pg, &s, ei);
    if (err == CP_OK) {
        err = batch_on(s, b, what, ei);
        release(pg, s);
    }
    batch_clear(b);
    return err;
}

/* ---- transactions in steps ---- */

struct store__tx {
    store_pg_t *pg;
    slot_t *slot;
    store__batch_t *b; /* added since the last step; BEGIN first, until the first step */
    bool failed;
};

static const store__named_t begin_st = {0, NULL, "BEGIN"}, commit_st = {0, NULL, "COMMIT"};

cp_err_t store__tx_open(store_pg_t *pg, store__tx_t **out, cp_errinfo_t *ei)
{
    slot_t *s;
    cp_err_t err = acquire(pg, &s, ei);
    if (err != CP_OK)
        return err;
    store__tx_t *tx = cp_xcalloc(1, sizeof *tx);
    tx->pg = pg;
    tx->slot = s;
    tx->b = store__batch_new();
    store__batch_add(tx->b, &begin_st, 0, NULL, NULL, NULL);
    *out = tx;
    return CP_OK;
}

void store__tx_add(store__tx_t *tx, const store__named_t *st, int n, const char *const *params,
                   store__row_fn row, void *ud)
{
    store__batch_add(tx->b, st, n, params, row, ud);
}

cp_err_t store__tx_step(store__tx_t *tx, const char *what, cp_errinfo_t *ei)
{
    cp_err_t err = tx->failed ? cp_fail(ei, CP_EIO, 0, "%s: the transaction failed", what)
                              : batch_on(tx->slot, tx->b, what, ei);
    batch_clear(tx->b);
    if (err != CP_OK)
        tx->failed = true;
    return err;
}

cp_err_t store__tx_end(store__tx_t *tx, bool commit, const char *what, cp_errinfo_t *ei)
{
    cp_err_t err = CP_OK;
    if (commit && !tx->failed) {
        store__batch_add(tx->b, &commit_st, 0, NULL, NULL, NULL);
        err = store__tx_step(tx, what, ei);
    }
    slot_t *s = tx->slot;
    if (s->conn != NULL && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        cp_errinfo_t ignore; /* a failed or abandoned transaction: undone */
        exec_ok(s->conn, "ROLLBACK", "rolling back", &ignore);
    }
    release(tx->pg, s);
    store__batch_free(tx->b);
    free(tx);
    return err;
}

cp_err_t store__pg_exec(store_pg_t *pg, const char *sql, int n, const char *const *params,
                        const char *what, cp_errinfo_t *ei)
{
    slot_t *s;
    cp_err_t err = acquire(pg, &s, ei);
    if (err != CP_OK)
        return err;
    PGresult *r = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        err = result_error(s->conn, r, what, ei);
    else
        PQclear(r);
    release(pg, s);
    return err;
}

typedef struct ls_ctx {
    store_ls_cb cb;
    void *ud;
} ls_ctx_t;

static bool ls_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    ls_ctx_t *c = ud;
    ls_emit(r, 0, c->cb, c->ud);
    return true;
}

cp_err_t store_pg_list(store_pg_t *pg, bool all, store_ls_cb cb, void *ud, cp_errinfo_t *ei)
{
    ls_ctx_t c = {cb, ud};
    const char *params[] = {all ? "true" : "false"};
    return store__pg_stream(pg, ls_sql, 1, params, "listing instances", ls_row, &c, ei);
}

typedef struct blob_ctx {
    store_blob_cb cb;
    void *ud;
} blob_ctx_t;

static bool blob_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    blob_ctx_t *c = ud;
    store_blob_row_t b;
    if (store_addr_from_hex(PQgetvalue(r, 0, 0), &b.addr) != CP_OK) {
        *err = cp_fail(ei, CP_EIO, 0, "blob row has a malformed address");
        return false;
    }
    b.size = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
    b.key_id = PQgetvalue(r, 0, 2);
    return c->cb(c->ud, &b);
}

cp_err_t store_pg_list_blobs(store_pg_t *pg, store_blob_cb cb, void *ud, cp_errinfo_t *ei)
{
    blob_ctx_t c = {cb, ud};
    return stream_rows(pg,
                       "SELECT encode(address, 'hex'), size, key_id FROM blobs"
                       " ORDER BY created_at, address",
                       "listing blobs", blob_row, &c, ei);
}

static void locate_row(PGresult *r, store_blob_loc_t *loc)
{
    memset(loc, 0, sizeof *loc);
    if (PQgetisnull(r, 0, 0))
        return; /* a file of its own */
    snprintf(loc->pack, sizeof loc->pack, "%s", PQgetvalue(r, 0, 0));
    loc->offset = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
    loc->length = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
}

static cp_err_t locate_once(store_pg_t *pg, const char *hex, store_blob_loc_t *loc,
                            cp_errinfo_t *ei)
{
    slot_t *s = &pg->locate;
    if (s->conn != NULL && PQstatus(s->conn) != CONNECTION_OK) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    cp_err_t err = s->conn == NULL ? connect_slot(pg, s, ei) : CP_OK;
    if (err != CP_OK)
        return err;
    const char *params[] = {hex};
    PGresult *r = PQexecParams(s->conn,
                               "SELECT pack, pack_offset, pack_length FROM blobs"
                               " WHERE address = decode($1, 'hex')",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return result_error(s->conn, r, "locating blob", ei);
    err = PQntuples(r) == 1 ? CP_OK : CP_ENOENT;
    if (err == CP_OK)
        locate_row(r, loc);
    PQclear(r);
    return err;
}

cp_err_t store_pg_blob_locate(void *ud, const store_addr_t *addr, store_blob_loc_t *loc,
                              cp_errinfo_t *ei)
{
    store_pg_t *pg = ud;
    char hex[STORE_ADDR_HEX_LEN + 1];
    store_addr_to_hex(addr, hex);
    pthread_mutex_lock(&pg->locate_mu);
    cp_err_t err = locate_once(pg, hex, loc, ei);
    if (err == CP_EDB) /* a connection that died since its last use: once more */
        err = locate_once(pg, hex, loc, ei);
    pthread_mutex_unlock(&pg->locate_mu);
    return err;
}

cp_err_t store_pg_blob_relocate(store_pg_t *pg, const store_addr_t *addr,
                                const store_blob_loc_t *loc, cp_errinfo_t *ei)
{
    char hex[STORE_ADDR_HEX_LEN + 1], off[24], len[24];
    store_addr_to_hex(addr, hex);
    snprintf(off, sizeof off, "%llu", (unsigned long long)loc->offset);
    snprintf(len, sizeof len, "%llu", (unsigned long long)loc->length);
    const char *params[] = {hex, loc->pack, off, len};
    return store__pg_exec(pg,
                          "UPDATE blobs SET pack = $2, pack_offset = $3, pack_length = $4"
                          " WHERE address = decode($1, 'hex')",
                          4, params, "relocating blob", ei);
}
