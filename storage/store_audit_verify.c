/* storage/store_audit_verify.c -- verifying the audit trail (store_audit.h): the chain
 * recomputed from its first row, then the anchors. It goes on past a broken row, so that
 * it can tell an edit (one row's hash fails, the next row's holds) from a chain re-hashed
 * without the key (every keyed hash from a row on fails, each linked to the one before). */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"
#include "store_audit.h"
#include "store_audit_int.h"
#include "store_pg_int.h"

const char *store_audit_kind_name(store_audit_finding_kind_t k)
{
    switch (k) {
    case STORE_AUDIT_EDITED:
        return "edited";
    case STORE_AUDIT_REHASHED:
        return "re-hashed";
    case STORE_AUDIT_MISSING:
        return "missing";
    case STORE_AUDIT_RELINKED:
        return "relinked";
    case STORE_AUDIT_DOWNGRADE:
        return "downgrade";
    case STORE_AUDIT_TRUNCATED:
        return "truncated";
    case STORE_AUDIT_UNANCHORED:
        return "not as anchored";
    }
    return "?";
}

/* ---- the anchors, in seq order ---- */

typedef struct anchors {
    store_audit_anchor_t *a;
    size_t n, cap, next; /* next: the first not yet compared with a row */
} anchors_t;

typedef struct verify_ctx {
    store_audit_report_t *rep;
    const uint8_t *key;
    EVP_MAC_CTX *mac;
    EVP_MD_CTX *md;
    anchors_t anchors;
    int64_t head_seq, keyed_from; /* audit_head, read first */
    char head_hex[65];
    int64_t expect_seq;
    char prev_hex[65];    /* the stored hash of the row before */
    int64_t first_keyed;  /* the first version 2 row; 0: none yet */
    int64_t suspect;      /* a keyed row whose hash failed, until the next row tells how */
    bool suspect_unkeyed; /* ... its hash being a plain SHA-256 of its text */
    bool rehashed;        /* a re-hash was named: the keyed rows after it fail with it */
    bool downgraded;      /* a downgrade was named: the version 1 rows after it are its */
    bool gap;             /* the row before this one is missing */
} verify_ctx_t;

static void finding(verify_ctx_t *c, store_audit_finding_kind_t kind, int64_t seq,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void finding(verify_ctx_t *c, store_audit_finding_kind_t kind, int64_t seq,
                    const char *fmt, ...)
{
    store_audit_report_t *rep = c->rep;
    if (rep->findings++ >= STORE_AUDIT_FINDINGS_MAX)
        return;
    store_audit_finding_t *f = &rep->finding[rep->findings - 1];
    f->kind = kind;
    f->seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof f->why, fmt, ap);
    va_end(ap);
}

static void take_anchor(void *ud, int64_t lineno, const store_audit_anchor_t *a)
{
    verify_ctx_t *c = ud;
    anchors_t *s = &c->anchors;
    (void)lineno;
    if (a == NULL) { /* hides nothing: taking a line out is what a forger would do */
        c->rep->bad_lines++;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->a = cp_xrealloc(s->a, s->cap * sizeof *s->a);
    }
    s->a[s->n++] = *a;
}

static int by_seq(const void *x, const void *y)
{
    const store_audit_anchor_t *a = x, *b = y;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* The anchors naming this row: each must name it with its hash. */
static void check_anchors(verify_ctx_t *c, int64_t seq, const char *hash)
{
    anchors_t *s = &c->anchors;
    while (s->next < s->n && s->a[s->next].seq < seq) /* a row that is missing: said */
        s->next++;
    for (; s->next < s->n && s->a[s->next].seq == seq; s->next++)
        if (strcmp(s->a[s->next].hash, hash) != 0)
            finding(c, STORE_AUDIT_UNANCHORED, seq,
                    "it is not the row anchored at %s: the trail was rewritten from here "
                    "or before (cut back and written again, or re-hashed)",
                    s->a[s->next].at);
}

/* ---- the rows ---- */

/* Columns: seq, version, prev_hash hex, hash hex, then the hashed fields in their order. */
#define FIRST_FIELD 4

static void digest_hex(EVP_MD_CTX *md, const char *text, size_t len, char hex[65])
{
    uint8_t h[32];
    unsigned n = 0;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, text, len);
    EVP_DigestFinal_ex(md, h, &n);
    store__audit_hex(h, hex);
}

/* Row r's text for version v, hashed plainly (SHA-256) or keyed, in hex. */
static bool row_hash(verify_ctx_t *c, PGresult *r, int version, bool keyed, char hex[65])
{
    const char *f[STORE__AUDIT_TEXT_FIELDS];
    for (int i = 0; i < STORE__AUDIT_TEXT_FIELDS; i++)
        f[i] = PQgetvalue(r, 0, FIRST_FIELD + i);
    size_t len;
    char *text = store__audit_text(version, store__num(r, 0), PQgetvalue(r, 0, 2), f, &len);
    uint8_t mac[32];
    bool ok = true;
    if (!keyed)
        digest_hex(c->md, text, len, hex);
    else if ((ok = store__audit_mac(c->mac, c->key, text, len, mac)))
        store__audit_hex(mac, hex);
    free(text);
    return ok;
}

/* The previous row failed its keyed hash: this one (linked to it or not, its own hash
 * good or not) tells whether it was edited alone or the chain re-hashed from it. */
static void settle(verify_ctx_t *c, bool linked, bool good)
{
    if (c->suspect == 0)
        return;
    if ((linked && !good) || c->suspect_unkeyed) {
        /* a wrong key file fails from the first keyed row on as well */
        bool first = c->suspect == c->first_keyed && !c->suspect_unkeyed;
        finding(c, STORE_AUDIT_REHASHED, c->suspect,
                "the hashes from this row on were recomputed without the key%s",
                c->suspect_unkeyed ? " (its hash is a plain SHA-256)"
                : first            ? " (or this is not the key file that wrote them)"
                                   : "");
        c->rehashed = true;
    } else {
        finding(c, STORE_AUDIT_EDITED, c->suspect,
                "its content does not match its keyed hash");
    }
    c->suspect = 0;
}

typedef struct verdict {
    bool good;    /* its hash holds (keyed for version 2, plain for version 1) */
    bool unkeyed; /* version 2 failing, its hash a plain SHA-256 of its text */
    bool fault;   /* openssl failed */
} verdict_t;

/* Row r's hash checked, nothing said yet. */
static verdict_t judge(verify_ctx_t *c, PGresult *r, int version, const char *hash)
{
    verdict_t v = {0};
    char hex[65], v1[65], v2[65];
    if (version == 1) {
        row_hash(c, r, 1, false, hex);
        v.good = strcmp(hex, hash) == 0;
    } else if (version == 2) {
        v.fault = !row_hash(c, r, 2, true, hex);
        v.good = !v.fault && strcmp(hex, hash) == 0;
        if (!v.good && !v.fault) {
            row_hash(c, r, 1, false, v1);
            row_hash(c, r, 2, false, v2);
            v.unkeyed = strcmp(v1, hash) == 0 || strcmp(v2, hash) == 0;
        }
    }
    return v;
}

/* A version 1 row: only before the keyed rows began, and with its plain hash. */
static void say_plain(verify_ctx_t *c, int64_t seq, bool good)
{
    int64_t began = c->first_keyed ? c->first_keyed : c->keyed_from;
    if (seq >= began) {
        if (!c->downgraded)
            finding(c, STORE_AUDIT_DOWNGRADE, seq,
                    "it is unkeyed (version 1) but keyed rows began at row %lld",
                    (long long)began);
        c->downgraded = true;
    } else if (!good) {
        finding(c, STORE_AUDIT_EDITED, seq, "its content does not match its hash");
    }
}

/* A version 2 row: failing, it is the suspect until the next row says how it failed. */
static void say_keyed(verify_ctx_t *c, int64_t seq, verdict_t v)
{
    c->rep->keyed++;
    if (c->first_keyed == 0) {
        c->first_keyed = seq;
        if (seq < c->keyed_from)
            finding(c, STORE_AUDIT_DOWNGRADE, seq,
                    "it is keyed, but the head says keyed rows begin at row %lld (altered)",
                    (long long)c->keyed_from);
    }
    if (!v.good && !c->rehashed) {
        c->suspect = seq;
        c->suspect_unkeyed = v.unkeyed;
    }
}

static bool verify_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    verify_ctx_t *c = ud;
    int64_t seq = store__num(r, 0);
    int version = (int)store__num(r, 1);
    const char *prev = PQgetvalue(r, 0, 2), *hash = PQgetvalue(r, 0, 3);
    c->rep->rows++;
    c->gap = seq != c->expect_seq;
    if (c->gap)
        finding(c, STORE_AUDIT_MISSING, c->expect_seq, "the row is missing%s",
                seq > c->expect_seq + 1 ? " (and others after it)" : "");
    bool linked = strcmp(prev, c->prev_hex) == 0;
    verdict_t v = judge(c, r, version, hash);
    if (v.fault) {
        *err = cp_fail(ei, CP_EKEY, 0, "hmac-sha-256 of audit row %lld failed", (long long)seq);
        return false;
    }
    settle(c, linked, v.good);
    if (!linked && !c->gap)
        finding(c, STORE_AUDIT_RELINKED, seq,
                "its link to row %lld does not match that row's hash", (long long)seq - 1);
    if (version == 1)
        say_plain(c, seq, v.good);
    else if (version == 2)
        say_keyed(c, seq, v);
    else
        finding(c, STORE_AUDIT_EDITED, seq, "its version %d is none caseport writes", version);
    check_anchors(c, seq, hash);
    snprintf(c->prev_hex, sizeof c->prev_hex, "%s", hash);
    c->expect_seq = seq + 1;
    return true;
}

static bool head_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    verify_ctx_t *c = ud;
    c->head_seq = store__num(r, 0);
    snprintf(c->head_hex, sizeof c->head_hex, "%s", PQgetvalue(r, 0, 1));
    c->keyed_from = store__num(r, 2);
    return true;
}

/* After the last row: the head must name it, and no anchor a row after it. */
static void check_end(verify_ctx_t *c)
{
    settle(c, false, true); /* the last row failed: edited, unless its hash is unkeyed */
    int64_t last = c->expect_seq - 1;
    if (c->head_seq != last)
        finding(c, STORE_AUDIT_TRUNCATED, last + 1,
                "the head names row %lld but the trail ends at row %lld: rows cut off",
                (long long)c->head_seq, (long long)last);
    else if (strcmp(c->head_hex, c->prev_hex) != 0)
        finding(c, STORE_AUDIT_RELINKED, last,
                "the head names it with another hash (the row was replaced)");
    const anchors_t *s = &c->anchors;
    if (s->n > 0 && s->a[s->n - 1].seq > last) {
        const store_audit_anchor_t *a = &s->a[s->n - 1];
        finding(c, STORE_AUDIT_TRUNCATED, last + 1,
                "the trail ends at row %lld but the anchor of %s names row %lld: rows cut off",
                (long long)last, a->at, (long long)a->seq);
    }
}

static cp_err_t read_anchors(verify_ctx_t *c, const char *path, cp_errinfo_t *ei)
{
    if (path == NULL)
        return CP_OK;
    cp_err_t err = store__audit_anchors_read(path, take_anchor, c, ei);
    if (c->anchors.n > 1) /* in file order already, unless the head went back */
        qsort(c->anchors.a, c->anchors.n, sizeof *c->anchors.a, by_seq);
    c->rep->anchors = (int64_t)c->anchors.n;
    return err;
}

static cp_err_t read_rows(store_pg_t *pg, verify_ctx_t *c, cp_errinfo_t *ei)
{
    /* The head first, then the rows up to it: rows appended meanwhile (committed after the
     * head was read) are left to the next verify rather than taken for a broken end. */
    cp_err_t err = store__pg_stream(pg,
                                    "SELECT seq, encode(hash, 'hex'), keyed_from FROM audit_head",
                                    0, NULL, "reading the audit trail's head", head_row, c, ei);
    char upto[24];
    snprintf(upto, sizeof upto, "%lld", (long long)c->head_seq);
    const char *params[] = {upto};
    /* the timestamp in the one text form both sides hash */
    if (err == CP_OK)
        err = store__pg_stream(
            pg,
            "SELECT seq, version, encode(prev_hash, 'hex'), encode(hash, 'hex'),"
            " cp_audit_time(at), coalesce(actor_id::text, ''), role,"
            " coalesce(case_id::text, ''), object, action, outcome, source"
            " FROM audit WHERE seq <= $1::bigint ORDER BY seq",
            1, params, "reading the audit trail", verify_row, c, ei);
    return err;
}

cp_err_t store_audit_verify(store_pg_t *pg, const char *anchor_path, store_audit_report_t *rep,
                            cp_errinfo_t *ei)
{
    memset(rep, 0, sizeof *rep);
    verify_ctx_t c = {.rep = rep, .key = store__pg_audit_key(pg), .expect_seq = 1};
    memset(c.prev_hex, '0', 64);
    if (c.key == NULL)
        return cp_fail(ei, CP_EKEY, 0, "the audit trail's key is not loaded: keyed rows "
                                       "cannot be checked");
    c.mac = store__audit_mac_new();
    c.md = EVP_MD_CTX_new();
    cp_err_t err = c.mac != NULL && c.md != NULL
                       ? CP_OK
                       : cp_fail(ei, CP_ENOMEM, 0, "hash contexts for the audit trail");
    if (err == CP_OK)
        err = read_anchors(&c, anchor_path, ei);
    if (err == CP_OK)
        err = read_rows(pg, &c, ei);
    if (err == CP_OK)
        check_end(&c);
    EVP_MAC_CTX_free(c.mac);
    EVP_MD_CTX_free(c.md);
    free(c.anchors.a);
    if (err == CP_OK && rep->findings > 0)
        return cp_fail(ei, CP_ETAMPER, 0, "audit row %lld: %s: %s",
                       (long long)rep->finding[0].seq,
                       store_audit_kind_name(rep->finding[0].kind), rep->finding[0].why);
    return err;
}
