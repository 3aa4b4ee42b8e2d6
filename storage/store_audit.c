/* storage/store_audit.c -- appending to the audit trail (store_audit.h): one row, the
 * rows of many appenders in one transaction (group commit), or the rows a write of the
 * case tables returns (store__audited). Each row is chained and keyed here, in C, inside
 * the appending transaction: lock the head, hash, insert, move the head. The database
 * never holds the key, so it cannot compute a row's hash, and neither can its superuser. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_mem.h"
#include "store_audit.h"
#include "store_audit_int.h"
#include "store_pg_int.h"

/* A label of its own: the blob store's keys come from the same KEK under other labels. */
#define KEY_INFO "caseport audit mac v2"

cp_err_t store_audit_load_key(store_pg_t *pg, const char *key_path, cp_errinfo_t *ei)
{
    uint8_t key[32];
    cp_err_t err = store_blob_derive_key(key_path, KEY_INFO, key, ei);
    if (err == CP_OK)
        store__pg_set_audit_key(pg, key);
    OPENSSL_cleanse(key, sizeof key);
    return err;
}

/* ---- the text and its keyed hash ---- */

char *store__audit_text(int version, int64_t seq, const char *prev_hex,
                        const char *const f[STORE__AUDIT_TEXT_FIELDS], size_t *len)
{
    char *s = NULL;
    FILE *m = open_memstream(&s, len);
    if (m == NULL)
        cp_die_oom(0);
    fprintf(m, "caseport-audit-v%d|%lld|%s|", version, (long long)seq, prev_hex);
    for (int i = 0; i < STORE__AUDIT_TEXT_FIELDS; i++) {
        const char *v = f[i] != NULL ? f[i] : "";
        fprintf(m, "%zu:%s", strlen(v), v);
    }
    if (fclose(m) != 0)
        cp_die_oom(0);
    return s;
}

EVP_MAC_CTX *store__audit_mac_new(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *m = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    return m;
}

bool store__audit_mac(EVP_MAC_CTX *m, const uint8_t key[32], const char *text, size_t len,
                      uint8_t out[32])
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    size_t n = 0;
    return EVP_MAC_init(m, key, 32, params) == 1 &&
           EVP_MAC_update(m, (const unsigned char *)text, len) == 1 &&
           EVP_MAC_final(m, out, &n, 32) == 1 && n == 32;
}

void store__audit_hex(const uint8_t b[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[64] = '\0';
}

/* ---- one row to append ---- */

#define AUDIT_FIELDS 7 /* actor_id, role, case_id, object, action, outcome, source */

typedef struct entry {
    const char *v[AUDIT_FIELDS]; /* NULL: SQL NULL */
    char actor[24], case_id[24];
    char *own; /* the values of a row a statement returned, in one allocation */
} entry_t;

static void entry_of(entry_t *e, const store_audit_row_t *r, const store_actor_t *by)
{
    memset(e, 0, sizeof *e);
    const char *v[AUDIT_FIELDS] = {store__id_param(by->id, e->actor), by->role,
                                   store__id_param(r->case_id, e->case_id), r->object,
                                   r->action, r->outcome, by->source};
    memcpy(e->v, v, sizeof v);
}

/* Columns base.. of row i of r, copied. */
static void entry_from(entry_t *e, PGresult *r, int i, int base)
{
    memset(e, 0, sizeof *e);
    size_t size = 0;
    for (int k = 0; k < AUDIT_FIELDS; k++)
        size += (size_t)PQgetlength(r, i, base + k) + 1;
    char *p = e->own = cp_xmalloc(size);
    for (int k = 0; k < AUDIT_FIELDS; k++) {
        if (PQgetisnull(r, i, base + k))
            continue;
        size_t n = (size_t)PQgetlength(r, i, base + k);
        memcpy(p, PQgetvalue(r, i, base + k), n + 1);
        e->v[k] = p;
        p += n + 1;
    }
}

/* ---- chaining rows in a transaction ---- */

/* The time of the rows, in the one text form hashed and stored (microseconds, UTC). */
static void now_text(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
}

/* One element of a PostgreSQL array literal: "..." with \\ and " escaped, or NULL. */
static void array_elem(FILE *f, bool first, const char *v)
{
    if (!first)
        fputc(',', f);
    if (v == NULL) {
        fputs("NULL", f);
        return;
    }
    fputc('"', f);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

typedef struct head {
    int64_t seq;
    char hex[65];
} head_t;

static bool head_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    head_t *h = ud;
    h->seq = store__num(r, 0);
    snprintf(h->hex, sizeof h->hex, "%s", PQgetvalue(r, 0, 1));
    return true;
}

/* One appender at a time, across every process and node: the head row's lock, held to
 * the commit. Taken after the caller's own statement, so locks are always taken in the
 * order rows, then head. */
static const store__named_t head_st = {16, "cp_audit_head",
                                       "SELECT seq, encode(hash, 'hex') FROM audit_head"
                                       " FOR UPDATE"};

/* The rows as arrays for unnest (each column one literal), and the head moved to the
 * last of them: one statement, whatever the number of rows. */
#define COLUMNS (AUDIT_FIELDS + 2) /* the fields, prev_hash and hash in hex */
static const store__named_t insert_st = {
    17, "cp_audit_insert",
    "WITH r AS (INSERT INTO audit (seq, at, actor_id, role, case_id, object, action, outcome,"
    "   source, prev_hash, hash, version)"
    "   SELECT $1::bigint + n, $2::timestamptz, a, b, c, d, e, f, g, decode(p, 'hex'),"
    "   decode(h, 'hex'), 2 FROM unnest($3::bigint[], $4::text[], $5::bigint[], $6::text[],"
    "   $7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) WITH ORDINALITY"
    "   AS x(a, b, c, d, e, f, g, p, h, n) RETURNING seq, hash),"
    " u AS (UPDATE audit_head SET seq = l.seq, hash = l.hash"
    "   FROM (SELECT seq, hash FROM r ORDER BY seq DESC LIMIT 1) l RETURNING 1)"
    " SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM u)"};

typedef struct counts {
    int64_t rows, heads;
} counts_t;

static bool counts_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    counts_t *c = ud;
    c->rows = store__num(r, 0);
    c->heads = store__num(r, 1);
    return true;
}

/* The statement's parameters: the head's seq, the time, and a column of the rows each,
 * as array literals written in memory. */
typedef struct columns {
    char *text[COLUMNS];
    size_t len[COLUMNS];
    FILE *f[COLUMNS];
} columns_t;

static void columns_open(columns_t *c)
{
    for (int k = 0; k < COLUMNS; k++) {
        c->text[k] = NULL;
        if ((c->f[k] = open_memstream(&c->text[k], &c->len[k])) == NULL)
            cp_die_oom(0);
        fputc('{', c->f[k]);
    }
}

static void columns_close(columns_t *c)
{
    for (int k = 0; k < COLUMNS; k++) {
        fputc('}', c->f[k]);
        if (fclose(c->f[k]) != 0)
            cp_die_oom(0);
    }
}

/* Hashes entry e after prev (updated to its hash) and adds it to the columns. */
static bool chain_one(EVP_MAC_CTX *m, const uint8_t *key, int64_t seq, const char *at,
                      const entry_t *e, char prev[65], columns_t *c, bool first)
{
    const char *tf[STORE__AUDIT_TEXT_FIELDS] = {at, e->v[0], e->v[1], e->v[2],
                                                e->v[3], e->v[4], e->v[5], e->v[6]};
    size_t len;
    char *text = store__audit_text(2, seq, prev, tf, &len);
    uint8_t mac[32];
    bool ok = store__audit_mac(m, key, text, len, mac);
    free(text);
    char hex[65];
    store__audit_hex(mac, hex);
    for (int k = 0; k < AUDIT_FIELDS; k++)
        array_elem(c->f[k], first, e->v[k]);
    array_elem(c->f[AUDIT_FIELDS], first, prev);
    array_elem(c->f[AUDIT_FIELDS + 1], first, hex);
    memcpy(prev, hex, 65);
    return ok;
}

/* Adds to tx the insert of n entries after the head it holds locked, each chained to the
 * one before and keyed; their counts arrive in cnt when the statement has run. */
static cp_err_t add_insert(store__tx_t *tx, const uint8_t *key, const head_t *h,
                           const entry_t *e, size_t n, counts_t *cnt, cp_errinfo_t *ei)
{
    EVP_MAC_CTX *m = store__audit_mac_new();
    if (m == NULL)
        return cp_fail(ei, CP_EKEY, 0, "hmac-sha-256 context for the audit trail");
    char at[32], prev[65], seq[24];
    now_text(at);
    memcpy(prev, h->hex, sizeof prev);
    columns_t c;
    columns_open(&c);
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        ok = chain_one(m, key, h->seq + 1 + (int64_t)i, at, &e[i], prev, &c, i == 0) && ok;
    EVP_MAC_CTX_free(m);
    columns_close(&c);
    snprintf(seq, sizeof seq, "%lld", (long long)h->seq);
    const char *params[2 + COLUMNS] = {seq, at};
    for (int k = 0; k < COLUMNS; k++)
        params[2 + k] = c.text[k];
    if (ok) /* the parameters are copied */
        store__tx_add(tx, &insert_st, 2 + COLUMNS, params, counts_row, cnt);
    for (int k = 0; k < COLUMNS; k++)
        free(c.text[k]);
    return ok ? CP_OK : cp_fail(ei, CP_EKEY, 0, "hmac-sha-256 of an audit row failed");
}

static cp_err_t no_key(cp_errinfo_t *ei)
{
    return cp_fail(ei, CP_EKEY, 0,
                   "the audit trail's key is not loaded (it comes from [storage] key_file)");
}

/* Commits tx with the insert added; the first error wins. */
static cp_err_t commit(store__tx_t *tx, cp_err_t err, const counts_t *c, size_t n,
                       const char *what, cp_errinfo_t *ei)
{
    cp_err_t end = store__tx_end(tx, err == CP_OK, what, err == CP_OK ? ei : NULL);
    if (err == CP_OK)
        err = end;
    if (err == CP_OK && n > 0 && (c->rows != (int64_t)n || c->heads != 1))
        err = cp_fail(ei, CP_EDB, 0, "the audit trail took %lld of %zu rows",
                      (long long)c->rows, n);
    return err;
}

static cp_err_t append_entries(store_pg_t *pg, const entry_t *e, size_t n, cp_errinfo_t *ei)
{
    const uint8_t *key = store__pg_audit_key(pg);
    if (key == NULL)
        return no_key(ei);
    store__tx_t *tx;
    cp_err_t err = store__tx_open(pg, &tx, ei);
    if (err != CP_OK)
        return err;
    head_t h = {0};
    counts_t c = {0};
    store__tx_add(tx, &head_st, 0, NULL, head_row, &h);
    err = store__tx_step(tx, "locking the audit trail's head", ei);
    if (err == CP_OK)
        err = add_insert(tx, key, &h, e, n, &c, ei);
    return commit(tx, err, &c, n, "writing the audit trail", ei);
}

cp_err_t store_audit_append(store_pg_t *pg, const store_audit_row_t *row,
                            const store_actor_t *by, cp_errinfo_t *ei)
{
    entry_t e;
    entry_of(&e, row, by);
    return append_entries(pg, &e, 1, ei);
}

/* ---- writes that carry their audit rows ---- */

typedef struct audited {
    store__row_fn row; /* the caller's */
    void *ud;
    entry_t *e;
    size_t n, cap;
} audited_t;

static bool audited_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    audited_t *a = ud;
    if (a->row != NULL)
        a->row(a->ud, r, err, ei);
    for (int i = 0; i < PQntuples(r); i++) {
        if (a->n == a->cap) {
            a->cap = a->cap ? 2 * a->cap : 4;
            a->e = cp_xrealloc(a->e, a->cap * sizeof *a->e);
        }
        entry_from(&a->e[a->n++], r, i, PQnfields(r) - AUDIT_FIELDS);
    }
    return true;
}

cp_err_t store__audited(store_pg_t *pg, const char *sql, int n, const char *const *params,
                        const char *what, store__row_fn row, void *ud, cp_errinfo_t *ei)
{
    const uint8_t *key = store__pg_audit_key(pg);
    if (key == NULL)
        return no_key(ei);
    store__tx_t *tx;
    cp_err_t err = store__tx_open(pg, &tx, ei);
    if (err != CP_OK)
        return err;
    const store__named_t st = {0, NULL, sql};
    audited_t a = {row, ud, NULL, 0, 0};
    head_t h = {0};
    counts_t c = {0};
    store__tx_add(tx, &st, n, params, audited_row, &a);
    store__tx_add(tx, &head_st, 0, NULL, head_row, &h);
    err = store__tx_step(tx, what, ei);
    if (err == CP_OK && a.n > 0)
        err = add_insert(tx, key, &h, a.e, a.n, &c, ei);
    err = commit(tx, err, &c, err == CP_OK ? a.n : 0, what, ei);
    for (size_t i = 0; i < a.n; i++)
        free(a.e[i].own);
    free(a.e);
    return err;
}

cp_err_t store__audited_one(store_pg_t *pg, const char *sql, int n, const char *const *params,
                            const char *what, const char *none, cp_errinfo_t *ei)
{
    store__first_t c = {0};
    cp_err_t err = store__audited(pg, sql, n, params, what, store__first_row, &c, ei);
    if (err == CP_OK && !c.found)
        return cp_fail(ei, CP_ENOENT, 0, "%s", none);
    return err;
}

/* ---- group commit ---- */

#define BATCH_MAX 256

struct store_audit_log {
    store_pg_t *pg;
    pthread_mutex_t m;
    pthread_cond_t written;
    store_audit_pending_t *head, **tail; /* waiting to be written, oldest first */
    bool writing;                         /* one thread writes a batch at a time */
};

store_audit_log_t *store_audit_log_new(store_pg_t *pg)
{
    store_audit_log_t *l = cp_xcalloc(1, sizeof *l);
    l->pg = pg;
    l->tail = &l->head;
    pthread_mutex_init(&l->m, NULL);
    pthread_cond_init(&l->written, NULL);
    return l;
}

void store_audit_log_free(store_audit_log_t *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->m);
    pthread_cond_destroy(&l->written);
    free(l);
}

static cp_err_t append_pending(store_pg_t *pg, store_audit_pending_t *const *rows, size_t n,
                               cp_errinfo_t *ei)
{
    entry_t *e = cp_xcalloc(n, sizeof *e);
    for (size_t i = 0; i < n; i++)
        entry_of(&e[i], &rows[i]->row, &rows[i]->by);
    cp_err_t err = append_entries(pg, e, n, ei);
    free(e);
    return err;
}

/* Called locked, with nobody writing: writes the oldest rows waiting (unlocked meanwhile,
 * so that more can queue up for the next batch) and marks them done. */
static void write_batch(store_audit_log_t *l)
{
    store_audit_pending_t *batch[BATCH_MAX];
    size_t n = 0;
    while (l->head != NULL && n < BATCH_MAX) {
        batch[n++] = l->head;
        l->head = l->head->next;
    }
    if (l->head == NULL)
        l->tail = &l->head;
    l->writing = true;
    pthread_mutex_unlock(&l->m);
    cp_errinfo_t ei = {0};
    cp_err_t err = append_pending(l->pg, batch, n, &ei);
    for (size_t i = 0; i < n; i++) {
        /* a batch refused: each row alone, so that one bad row fails only its own request */
        cp_errinfo_t one = {0};
        batch[i]->err = err == CP_OK || n == 1 ? err : append_pending(l->pg, &batch[i], 1, &one);
        if (batch[i]->err != CP_OK)
            snprintf(batch[i]->why, sizeof batch[i]->why, "%s",
                     cp_errinfo_msg(n == 1 ? &ei : &one, batch[i]->err));
    }
    pthread_mutex_lock(&l->m);
    for (size_t i = 0; i < n; i++)
        batch[i]->done = true;
    l->writing = false;
    pthread_cond_broadcast(&l->written);
}

cp_err_t store_audit_log_append(store_audit_log_t *l, const store_audit_row_t *row,
                                const store_actor_t *by, cp_errinfo_t *ei)
{
    store_audit_pending_t me = {.row = *row, .by = *by};
    pthread_mutex_lock(&l->m);
    *l->tail = &me;
    l->tail = &me.next;
    while (!me.done) {
        if (l->writing)
            pthread_cond_wait(&l->written, &l->m);
        else
            write_batch(l); /* this thread writes for everyone waiting, itself included */
    }
    pthread_mutex_unlock(&l->m);
    if (me.err != CP_OK)
        return cp_fail(ei, me.err, 0, "the audit row was not written: %s", me.why);
    return CP_OK;
}
