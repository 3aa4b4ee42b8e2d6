/* storage/store_audit.c -- appending to the audit trail, one row or many in one
 * transaction (group commit), and verifying its hash chain (store_cases.h). */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"
#include "store_cases.h"
#include "store_pg_int.h"

/* ---- appending ---- */

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

#define AUDIT_COLUMNS 7

/* Every row in one statement, each column as an array literal for unnest: the chain
 * trigger takes the head's lock once and the transaction commits once, whatever n is. */
static cp_err_t append_rows(store_pg_t *pg, store_audit_pending_t *const *rows, size_t n,
                            cp_errinfo_t *ei)
{
    char *col[AUDIT_COLUMNS] = {0};
    size_t len[AUDIT_COLUMNS];
    FILE *f[AUDIT_COLUMNS];
    for (int k = 0; k < AUDIT_COLUMNS; k++) {
        if ((f[k] = open_memstream(&col[k], &len[k])) == NULL)
            cp_die_oom(0);
        fputc('{', f[k]);
    }
    for (size_t i = 0; i < n; i++) {
        const store_audit_row_t *r = &rows[i]->row;
        const store_actor_t *by = &rows[i]->by;
        char actor[24], id[24];
        const char *v[AUDIT_COLUMNS] = {store__id_param(by->id, actor), by->role,
                                        store__id_param(r->case_id, id), r->object, r->action,
                                        r->outcome, by->source};
        for (int k = 0; k < AUDIT_COLUMNS; k++)
            array_elem(f[k], i == 0, v[k]);
    }
    for (int k = 0; k < AUDIT_COLUMNS; k++) {
        fputc('}', f[k]);
        if (fclose(f[k]) != 0)
            cp_die_oom(0);
    }
    static const store__named_t st = {
        11, "cp_audit_append",
        "INSERT INTO audit (actor_id, role, case_id, object, action, outcome, source)"
        " SELECT a, b, c, d, e, f, g FROM unnest($1::bigint[], $2::text[], $3::bigint[],"
        " $4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY"
        " AS r(a, b, c, d, e, f, g, n) ORDER BY n RETURNING seq"};
    int written = 0;
    cp_err_t err = store__pg_stream_named(pg, &st, AUDIT_COLUMNS, (const char *const *)col,
                                          "writing the audit trail", store__count_row, &written,
                                          ei);
    for (int k = 0; k < AUDIT_COLUMNS; k++)
        free(col[k]);
    if (err == CP_OK && written != (int)n)
        err = cp_fail(ei, CP_EDB, 0, "the audit trail took %d of %zu rows", written, n);
    return err;
}

cp_err_t store_audit_append(store_pg_t *pg, const store_audit_row_t *row,
                            const store_actor_t *by, cp_errinfo_t *ei)
{
    store_audit_pending_t one = {.row = *row, .by = *by};
    store_audit_pending_t *rows[] = {&one};
    return append_rows(pg, rows, 1, ei);
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
    cp_err_t err = append_rows(l->pg, batch, n, &ei);
    for (size_t i = 0; i < n; i++) {
        /* a batch refused: each row alone, so that one bad row fails only its own request */
        cp_errinfo_t one = {0};
        batch[i]->err = err == CP_OK || n == 1 ? err : append_rows(l->pg, &batch[i], 1, &one);
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

/* ---- verifying the chain ---- */

typedef struct verify_ctx {
    store_audit_report_t *rep;
    int64_t expect_seq;
    char prev_hex[65];
    EVP_MD_CTX *md;
    int64_t head_seq; /* audit_head, read first */
    char head_hex[65];
} verify_ctx_t;

/* <octets>:<value>, as cp_audit_field writes it */
static void field(EVP_MD_CTX *md, const char *v)
{
    char len[24];
    int n = snprintf(len, sizeof len, "%zu:", strlen(v));
    EVP_DigestUpdate(md, len, (size_t)n);
    EVP_DigestUpdate(md, v, strlen(v));
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static bool broken(verify_ctx_t *c, int64_t seq, const char *why)
{
    c->rep->bad_seq = seq;
    snprintf(c->rep->why, sizeof c->rep->why, "%s", why);
    return false;
}

/* Columns: seq, prev_hash hex, hash hex, then the hashed fields in their order. */
static bool verify_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    verify_ctx_t *c = ud;
    int64_t seq = store__num(r, 0);
    const char *seq_text = PQgetvalue(r, 0, 0), *prev = PQgetvalue(r, 0, 1);
    c->rep->rows++;
    if (seq != c->expect_seq)
        return broken(c, c->expect_seq, "a row is missing (its seq is not there)");
    if (strcmp(prev, c->prev_hex) != 0)
        return broken(c, seq, "its link to the row before does not match that row's hash");
    EVP_DigestInit_ex(c->md, EVP_sha256(), NULL);
    EVP_DigestUpdate(c->md, "caseport-audit-v1|", 18);
    EVP_DigestUpdate(c->md, seq_text, strlen(seq_text));
    EVP_DigestUpdate(c->md, "|", 1);
    EVP_DigestUpdate(c->md, prev, strlen(prev));
    EVP_DigestUpdate(c->md, "|", 1);
    for (int col = 3; col < PQnfields(r); col++)
        field(c->md, PQgetvalue(r, 0, col));
    unsigned char h[32];
    unsigned hl = 0;
    EVP_DigestFinal_ex(c->md, h, &hl);
    char hex[65];
    to_hex(h, sizeof h, hex);
    if (strcmp(hex, PQgetvalue(r, 0, 2)) != 0)
        return broken(c, seq, "its content does not match its hash (edited)");
    snprintf(c->prev_hex, sizeof c->prev_hex, "%s", hex);
    c->expect_seq++;
    return true;
}

static bool head_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    verify_ctx_t *c = ud;
    c->head_seq = store__num(r, 0);
    snprintf(c->head_hex, sizeof c->head_hex, "%s", PQgetvalue(r, 0, 1));
    return true;
}

cp_err_t store_audit_verify(store_pg_t *pg, store_audit_report_t *rep, cp_errinfo_t *ei)
{
    memset(rep, 0, sizeof *rep);
    verify_ctx_t c = {.rep = rep, .expect_seq = 1, .md = EVP_MD_CTX_new()};
    memset(c.prev_hex, '0', 64);
    if (c.md == NULL)
        return cp_fail(ei, CP_ENOMEM, 0, "sha-256 context");
    /* The head first, then the rows up to it: rows appended meanwhile (committed after the
     * head was read) are left to the next verify rather than taken for a broken end. */
    cp_err_t err = store__pg_stream(pg, "SELECT seq, encode(hash, 'hex') FROM audit_head", 0,
                                    NULL, "reading the audit trail's head", head_row, &c, ei);
    char upto[24];
    snprintf(upto, sizeof upto, "%lld", (long long)c.head_seq);
    const char *params[] = {upto};
    /* the timestamp in the one text form both sides hash */
    if (err == CP_OK)
        err = store__pg_stream(
            pg,
            "SELECT seq, encode(prev_hash, 'hex'), encode(hash, 'hex'), cp_audit_time(at),"
            " coalesce(actor_id::text, ''), role, coalesce(case_id::text, ''), object, action,"
            " outcome, source FROM audit WHERE seq <= $1::bigint ORDER BY seq",
            1, params, "reading the audit trail", verify_row, &c, ei);
    if (err == CP_OK && rep->bad_seq == 0 &&
        (c.head_seq != c.expect_seq - 1 || strcmp(c.head_hex, c.prev_hex) != 0))
        broken(&c, c.expect_seq, "rows after the last one are missing (the head is further)");
    EVP_MD_CTX_free(c.md);
    if (err == CP_OK && rep->bad_seq != 0)
        return cp_fail(ei, CP_ETAMPER, 0, "audit row %lld: %s", (long long)rep->bad_seq,
                       rep->why);
    return err;
}
