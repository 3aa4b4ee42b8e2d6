/* storage/store_qr.c -- Query/Retrieve over the index (store_qr.h).
 * A query is one SQL statement built from a table of keys: each key names the entity it
 * belongs to, how it matches (PS3.4 C.2.2.2) and the SQL expression that holds it. Every
 * value goes in as a parameter. Visibility is a CTE `vs` of the studies the peer may see;
 * every level is reached through it, so counts never reveal what is not granted. Duplicates
 * (the same decoded pixels as another visible instance) are left out the same way. */
#include "store_qr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"
#include "store_pg_int.h"

#define TAG(g, e) ((uint32_t)(g) << 16 | (uint32_t)(e))
#define MAX_PARAMS 96
#define SQL_MAX 16384

typedef enum match {
    M_NONE,       /* returned, never matched (counts, attributes the index lacks) */
    M_TEXT,       /* single value, wildcards */
    M_PN,         /* the same, case-insensitive */
    M_RANGE,      /* DA/TM: single value or range */
    M_UID,        /* single value or list of UIDs */
    M_MODALITIES, /* Modalities in Study: any series of that modality */
} match_t;

typedef struct qkey {
    uint32_t tag;
    store_qr_level_t level;
    bool own_level_only; /* counts: meaningful at their own level only */
    match_t match;
    const char *expr;
} qkey_t;

static const qkey_t qkeys[] = {
    {TAG(0x0010, 0x0010), STORE_QR_PATIENT, false, M_PN, "p.name"},
    {TAG(0x0010, 0x0020), STORE_QR_PATIENT, false, M_TEXT, "p.patient_id"},
    {TAG(0x0010, 0x0021), STORE_QR_PATIENT, false, M_TEXT, "p.issuer"},
    {TAG(0x0010, 0x0030), STORE_QR_PATIENT, false, M_RANGE, "p.birth_date"},
    {TAG(0x0010, 0x0040), STORE_QR_PATIENT, false, M_TEXT, "p.sex"},
    {TAG(0x0020, 0x1200), STORE_QR_PATIENT, true, M_NONE,
     "(SELECT count(*) FROM vs x WHERE x.patient_id = p.id)::text"},
    {TAG(0x0020, 0x1202), STORE_QR_PATIENT, true, M_NONE,
     "(SELECT count(*) FROM ve x JOIN vs y ON y.id = x.study_id"
     " WHERE y.patient_id = p.id)::text"},
    {TAG(0x0020, 0x1204), STORE_QR_PATIENT, true, M_NONE,
     "(SELECT count(*) FROM vi x JOIN series y ON y.id = x.series_id"
     " JOIN vs z ON z.id = y.study_id WHERE z.patient_id = p.id)::text"},
    {TAG(0x0020, 0x000D), STORE_QR_STUDY, false, M_UID, "s.study_uid"},
    {TAG(0x0008, 0x0020), STORE_QR_STUDY, false, M_RANGE, "s.study_date"},
    {TAG(0x0008, 0x0030), STORE_QR_STUDY, false, M_RANGE, "s.study_time"},
    {TAG(0x0008, 0x0050), STORE_QR_STUDY, false, M_TEXT, "s.accession"},
    {TAG(0x0008, 0x1030), STORE_QR_STUDY, false, M_TEXT, "s.description"},
    {TAG(0x0020, 0x0010), STORE_QR_STUDY, false, M_NONE, "NULL::text"}, /* Study ID */
    {TAG(0x0008, 0x0090), STORE_QR_STUDY, false, M_NONE, "NULL::text"}, /* Referring */
    {TAG(0x0008, 0x0061), STORE_QR_STUDY, true, M_MODALITIES,
     "(SELECT coalesce(string_agg(DISTINCT x.modality, '\\' ORDER BY x.modality), '')"
     " FROM ve x WHERE x.study_id = s.id AND x.modality <> '')"},
    {TAG(0x0020, 0x1206), STORE_QR_STUDY, true, M_NONE,
     "(SELECT count(*) FROM ve x WHERE x.study_id = s.id)::text"},
    {TAG(0x0020, 0x1208), STORE_QR_STUDY, true, M_NONE,
     "(SELECT count(*) FROM vi x JOIN series y ON y.id = x.series_id"
     " WHERE y.study_id = s.id)::text"},
    {TAG(0x0020, 0x000E), STORE_QR_SERIES, false, M_UID, "e.series_uid"},
    {TAG(0x0008, 0x0060), STORE_QR_SERIES, false, M_TEXT, "e.modality"},
    {TAG(0x0020, 0x0011), STORE_QR_SERIES, false, M_TEXT, "e.series_number"},
    {TAG(0x0008, 0x103E), STORE_QR_SERIES, false, M_TEXT, "e.description"},
    {TAG(0x0020, 0x1209), STORE_QR_SERIES, true, M_NONE,
     "(SELECT count(*) FROM vi x WHERE x.series_id = e.id)::text"},
    {TAG(0x0008, 0x0018), STORE_QR_IMAGE, false, M_UID, "i.sop_instance_uid"},
    {TAG(0x0008, 0x0016), STORE_QR_IMAGE, false, M_UID, "i.sop_class_uid"},
    {TAG(0x0020, 0x0013), STORE_QR_IMAGE, false, M_TEXT, "i.instance_number"},
};

static const char *const from_sql[] = {
    [STORE_QR_PATIENT] = " FROM patients p WHERE EXISTS (SELECT 1 FROM vs WHERE vs.patient_id = p.id)",
    [STORE_QR_STUDY] = " FROM vs s JOIN patients p ON p.id = s.patient_id WHERE true",
    [STORE_QR_SERIES] = " FROM ve e JOIN vs s ON s.id = e.study_id"
                        " JOIN patients p ON p.id = s.patient_id WHERE true",
    [STORE_QR_IMAGE] = " FROM vi i JOIN ve e ON e.id = i.series_id"
                       " JOIN vs s ON s.id = e.study_id JOIN patients p ON p.id = s.patient_id"
                       " WHERE true",
};

/* Retrieval's FROM: IMAGE level's, with the normalized data set when $4 asks for it. */
static const char retrieve_from_sql[] =
    " FROM vi i JOIN ve e ON e.id = i.series_id"
    " JOIN vs s ON s.id = e.study_id JOIN patients p ON p.id = s.patient_id"
    " LEFT JOIN normalized n ON $4::boolean AND n.instance_id = i.id"
    " AND n.blob_address IS NOT NULL WHERE true";

static const char *const order_sql[] = {
    [STORE_QR_PATIENT] = " ORDER BY p.id",
    [STORE_QR_STUDY] = " ORDER BY s.study_date, s.study_time, s.id",
    [STORE_QR_SERIES] = " ORDER BY e.id",
    [STORE_QR_IMAGE] = " ORDER BY e.id, i.id",
};

static const qkey_t *find_key(uint32_t tag, store_qr_level_t level)
{
    for (size_t i = 0; i < CP_ARRAY_LEN(qkeys); i++) {
        const qkey_t *k = &qkeys[i];
        if (k->tag != tag)
            continue;
        if (k->level > level || (k->own_level_only && k->level != level))
            return NULL;
        return k;
    }
    return NULL;
}

bool store_qr_key_known(uint32_t tag, store_qr_level_t level)
{
    return find_key(tag, level) != NULL;
}

/* ---- building the statement ---- */

typedef struct build {
    char sql[SQL_MAX];
    size_t len;
    const char *params[MAX_PARAMS];
    char *owned[MAX_PARAMS]; /* params built here, freed after */
    int n;
    bool overflow;
} build_t;

static void add(build_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(build_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->sql + b->len, sizeof b->sql - b->len, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof b->sql - b->len)
        b->overflow = true;
    else
        b->len += (size_t)w;
}

/* A parameter (NULL stays NULL, text is made valid UTF-8); returns its number ($n). */
static int param(build_t *b, const char *v, bool owned)
{
    char *clean = v != NULL ? store__utf8_clean(v) : NULL;
    if (owned)
        free((char *)v);
    if (b->n >= MAX_PARAMS) {
        b->overflow = true;
        free(clean);
        return 1;
    }
    b->owned[b->n] = clean;
    b->params[b->n] = clean;
    return ++b->n;
}

static void build_free(build_t *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->owned[i]);
}

/* DICOM wildcards to a LIKE pattern: * -> %, ? -> _, LIKE's own characters escaped. */
static char *like_pattern(const char *v)
{
    char *out = cp_xmalloc(2 * strlen(v) + 1), *o = out;
    for (; *v; v++) {
        if (*v == '*')
            *o++ = '%';
        else if (*v == '?')
            *o++ = '_';
        else {
            if (*v == '%' || *v == '_' || *v == '\\')
                *o++ = '\\';
            *o++ = *v;
        }
    }
    *o = '\0';
    return out;
}

static void match_text(build_t *b, const qkey_t *k, const char *v)
{
    bool wild = strpbrk(v, "*?") != NULL;
    const char *lower = k->match == M_PN ? "lower" : "";
    if (wild)
        add(b, " AND %s(%s) LIKE %s($%d)", lower, k->expr, lower,
            param(b, like_pattern(v), true));
    else
        add(b, " AND %s(%s) = %s($%d)", lower, k->expr, lower, param(b, v, false));
}

/* DA/TM: "a" exact, "a-b", "-b", "a-" ranges (PS3.4 C.2.2.2.5); a bound compares only as
 * many characters as it has, so "1200" as an upper time bound takes in 12:00:59. */
static void match_range(build_t *b, const qkey_t *k, const char *v)
{
    const char *dash = strchr(v, '-');
    if (dash == NULL) {
        add(b, " AND %s = $%d", k->expr, param(b, v, false));
        return;
    }
    size_t lo_len = (size_t)(dash - v);
    add(b, " AND %s <> ''", k->expr);
    if (lo_len > 0) {
        char *lo = cp_xmalloc(lo_len + 1);
        memcpy(lo, v, lo_len);
        lo[lo_len] = '\0';
        int n = param(b, lo, true);
        add(b, " AND left(%s, length($%d)) >= $%d", k->expr, n, n);
    }
    if (dash[1] != '\0') {
        int n = param(b, dash + 1, false);
        add(b, " AND left(%s, length($%d)) <= $%d", k->expr, n, n);
    }
}

static void match_key(build_t *b, const qkey_t *k, const char *v)
{
    if (v[0] == '\0' || strcmp(v, "*") == 0)
        return; /* universal matching */
    switch (k->match) {
    case M_NONE:
        return;
    case M_TEXT:
    case M_PN:
        match_text(b, k, v);
        return;
    case M_RANGE:
        match_range(b, k, v);
        return;
    case M_UID:
        add(b, " AND %s = ANY(string_to_array($%d, '\\'))", k->expr, param(b, v, false));
        return;
    case M_MODALITIES:
        add(b,
            " AND EXISTS (SELECT 1 FROM ve x WHERE x.study_id = s.id"
            " AND x.modality = ANY(string_to_array($%d, '\\')))",
            param(b, v, false));
        return;
    }
}

/* WITH vs (the visible studies) ... FROM ... WHERE <matching>; $1 peer, $2 sees all. */
static void build_common(build_t *b, const store_qr_query_t *q, store_qr_level_t from)
{
    param(b, q->peer ? q->peer : "", false);
    param(b, q->access == STORE_QR_ALL ? "true" : "false", false);
    param(b, q->show_duplicates ? "true" : "false", false);
    (void)from;
}

static void build_where(build_t *b, const store_qr_query_t *q, store_qr_level_t from,
                        const char *from_clause)
{
    add(b, "%s", from_clause);
    if (q->access == STORE_QR_NONE)
        add(b, " AND false");
    for (int i = 0; i < q->n_keys; i++) {
        const qkey_t *k = find_key(q->keys[i].tag, from);
        if (k != NULL)
            match_key(b, k, q->keys[i].value);
    }
}

/* vs0: the studies the peer may see ($1 peer, $2 sees all). vi: the current instances in
 * them, less those whose decoded pixels a current instance of the same patient that it
 * may also see, and that came earlier, already has (de-duplication level 3), unless $3
 * (duplicates = show): of each group of identical images the earliest visible one is
 * shown, whichever links the intake made (a link may name a version since replaced). The
 * same pixels under another patient are a mix-up or a test pattern, never hidden. ve, vs:
 * the series and studies with anything left. Not materialized, so that matching narrows
 * each before it is read; vi joins nothing itself (joined to series and vs0 in here, the
 * planner read every instance: 1.6 s instead of 10 ms for one series of 400000). */
static const char vs_sql[] =
    "WITH vs0 AS NOT MATERIALIZED (SELECT * FROM studies WHERE $2::boolean"
    " OR study_uid IN (SELECT study_uid FROM qr_grants WHERE peer = $1::text)),"
    " vi AS NOT MATERIALIZED (SELECT i.* FROM current_instances i WHERE $3::boolean"
    " OR i.pixel_hash IS NULL OR NOT EXISTS (SELECT 1 FROM current_instances r"
    " JOIN series re ON re.id = r.series_id JOIN vs0 rs ON rs.id = re.study_id,"
    " series ie JOIN studies ist ON ist.id = ie.study_id WHERE r.pixel_hash = i.pixel_hash"
    " AND r.id < i.id AND r.sop_instance_uid <> i.sop_instance_uid"
    " AND ie.id = i.series_id AND rs.patient_id = ist.patient_id)),"
    " ve AS NOT MATERIALIZED (SELECT * FROM series x"
    " WHERE EXISTS (SELECT 1 FROM vi WHERE vi.series_id = x.id)),"
    " vs AS NOT MATERIALIZED (SELECT * FROM vs0"
    " WHERE EXISTS (SELECT 1 FROM ve WHERE ve.study_id = vs0.id)) ";

/* ---- find ---- */

typedef struct find_ctx {
    const store_qr_query_t *q;
    store_qr_row_cb cb;
    void *ud;
} find_ctx_t;

static bool find_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    find_ctx_t *c = ud;
    const char *vals[MAX_PARAMS];
    int n = c->q->n_keys < MAX_PARAMS ? c->q->n_keys : MAX_PARAMS;
    for (int i = 0; i < n; i++)
        vals[i] = PQgetisnull(r, 0, i) ? NULL : PQgetvalue(r, 0, i);
    /* the columns of keys not known at this level are NULL: the callback skips them */
    return c->cb(c->ud, vals, PQgetvalue(r, 0, n));
}

cp_err_t store_qr_find(store_pg_t *pg, const store_qr_query_t *q, store_qr_row_cb cb, void *ud,
                       cp_errinfo_t *ei)
{
    if (q->n_keys > MAX_PARAMS - 8)
        return cp_fail(ei, CP_ETOOBIG, 0, "query with %d keys", q->n_keys);
    build_t *b = cp_xcalloc(1, sizeof *b);
    build_common(b, q, q->level);
    add(b, "%sSELECT ", vs_sql);
    for (int i = 0; i < q->n_keys; i++) {
        const qkey_t *k = find_key(q->keys[i].tag, q->level);
        add(b, "%s, ", k != NULL ? k->expr : "NULL::text");
    }
    add(b, "p.charset");
    build_where(b, q, q->level, from_sql[q->level]);
    add(b, "%s LIMIT %d", order_sql[q->level], q->limit + 1);
    cp_err_t err;
    if (b->overflow) {
        err = cp_fail(ei, CP_ETOOBIG, 0, "query too large");
    } else {
        find_ctx_t c = {q, cb, ud};
        err = store__pg_stream(pg, b->sql, b->n, b->params, "query/retrieve find", find_row,
                               &c, ei);
    }
    build_free(b);
    free(b);
    return err;
}

/* ---- instances to retrieve ---- */

typedef struct inst_ctx {
    store_qr_instance_cb cb;
    void *ud;
} inst_ctx_t;

static bool inst_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    inst_ctx_t *c = ud;
    store_qr_instance_t in = {.sop_class = PQgetvalue(r, 0, 0),
                              .sop_instance = PQgetvalue(r, 0, 1),
                              .transfer_syntax = PQgetvalue(r, 0, 2),
                              .size = strtoull(PQgetvalue(r, 0, 4), NULL, 10),
                              .study_uid = PQgetvalue(r, 0, 5)};
    if (store_addr_from_hex(PQgetvalue(r, 0, 3), &in.addr) != CP_OK) {
        *err = cp_fail(ei, CP_EIO, 0, "instance row has a malformed blob address");
        return false;
    }
    return c->cb(c->ud, &in);
}

cp_err_t store_qr_instances(store_pg_t *pg, const store_qr_query_t *q, store_qr_instance_cb cb,
                            void *ud, cp_errinfo_t *ei)
{
    if (q->n_keys > MAX_PARAMS - 8)
        return cp_fail(ei, CP_ETOOBIG, 0, "query with %d keys", q->n_keys);
    build_t *b = cp_xcalloc(1, sizeof *b);
    build_common(b, q, STORE_QR_IMAGE);
    /* $4: the normalized data set where there is one (normalize job, migration 0008) */
    param(b, q->originals ? "false" : "true", false);
    add(b, "%sSELECT i.sop_class_uid, i.sop_instance_uid,"
           " coalesce(n.transfer_syntax, i.transfer_syntax),"
           " encode(coalesce(n.blob_address, i.blob_address), 'hex'),"
           " coalesce(n.size, i.size), s.study_uid",
        vs_sql);
    build_where(b, q, STORE_QR_IMAGE, retrieve_from_sql);
    add(b, "%s LIMIT %d", order_sql[STORE_QR_IMAGE], q->limit + 1);
    cp_err_t err;
    if (b->overflow) {
        err = cp_fail(ei, CP_ETOOBIG, 0, "query too large");
    } else {
        inst_ctx_t c = {cb, ud};
        err = store__pg_stream(pg, b->sql, b->n, b->params, "query/retrieve instances",
                               inst_row, &c, ei);
    }
    build_free(b);
    free(b);
    return err;
}

/* ---- grants ---- */

cp_err_t store_qr_grant(store_pg_t *pg, const char *peer, const char *study_uid, bool revoke,
                        cp_errinfo_t *ei)
{
    const char *params[] = {peer, study_uid};
    return store__pg_exec(pg,
                          revoke ? "DELETE FROM qr_grants WHERE peer = $1 AND study_uid = $2"
                                 : "INSERT INTO qr_grants (peer, study_uid) VALUES ($1, $2)"
                                   " ON CONFLICT DO NOTHING",
                          2, params, revoke ? "revoking a grant" : "granting a study", ei);
}

typedef struct grant_ctx {
    store_qr_grant_cb cb;
    void *ud;
} grant_ctx_t;

static bool grant_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    grant_ctx_t *c = ud;
    return c->cb(c->ud, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
}

cp_err_t store_qr_list_grants(store_pg_t *pg, store_qr_grant_cb cb, void *ud, cp_errinfo_t *ei)
{
    grant_ctx_t c = {cb, ud};
    return store__pg_stream(pg,
                            "SELECT peer, study_uid, to_char(granted_at, 'YYYY-MM-DD\"T\"HH24:MI:SSOF')"
                            " FROM qr_grants ORDER BY peer, granted_at, study_uid",
                            0, NULL, "listing grants", grant_row, &c, ei);
}

/* ---- audit ---- */

static const char *access_name(store_qr_access_t a)
{
    return a == STORE_QR_ALL ? "all" : a == STORE_QR_GRANTED ? "granted" : "none";
}

static const char *opt(const char *s)
{
    return s != NULL && s[0] ? s : NULL;
}

cp_err_t store_qr_audit(store_pg_t *pg, const store_qr_audit_t *a, cp_errinfo_t *ei)
{
    build_t *b = cp_xcalloc(1, sizeof *b);
    char nums[5][16];
    int vals[5] = {a->matches, a->completed, a->failed, a->warning, a->status};
    for (int i = 0; i < 5; i++)
        snprintf(nums[i], sizeof nums[i], "%d", vals[i]);
    const char *fixed[] = {a->operation, a->model,    a->level,   a->calling_ae,
                           opt(a->peer_name), opt(a->username), a->peer_address,
                           opt(a->destination_ae), access_name(a->access), nums[0],
                           nums[1], nums[2], nums[3], nums[4], a->outcome};
    for (size_t i = 0; i < CP_ARRAY_LEN(fixed); i++)
        param(b, fixed[i], false);
    add(b, "INSERT INTO qr_audit (operation, model, level, calling_ae, peer_name, username,"
           " peer_address, destination_ae, access, matches, completed, failed, warning,"
           " status, outcome, query) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
           " $12, $13, $14, $15, jsonb_build_object(");
    int n = a->n_keys < (MAX_PARAMS - 20) / 2 ? a->n_keys : (MAX_PARAMS - 20) / 2;
    for (int i = 0; i < n; i++) {
        char *tag = cp_xmalloc(9);
        snprintf(tag, 9, "%08X", (unsigned)a->keys[i].tag);
        int t = param(b, tag, true);
        int v = param(b, a->keys[i].value, false);
        add(b, "%s$%d::text, $%d::text", i ? ", " : "", t, v);
    }
    add(b, "))");
    cp_err_t err = b->overflow ? cp_fail(ei, CP_ETOOBIG, 0, "audit row too large")
                               : store__pg_exec(pg, b->sql, b->n, b->params,
                                                "writing the query/retrieve audit", ei);
    build_free(b);
    free(b);
    return err;
}

typedef struct copy_ctx {
    store_addr_t *copy;
    bool *found;
} copy_ctx_t;

static bool copy_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    copy_ctx_t *c = ud;
    *err = store_addr_from_hex(PQgetvalue(r, 0, 0), c->copy);
    if (*err != CP_OK)
        cp_fail(ei, *err, 0, "a delivery copy row has a malformed address");
    *c->found = *err == CP_OK;
    return false;
}

cp_err_t store_qr_delivery_find(store_pg_t *pg, const store_addr_t *source, const char *ts,
                                store_addr_t *copy, bool *found, cp_errinfo_t *ei)
{
    char src[2 * sizeof source->b + 3];
    store__bytea_hex(source->b, sizeof source->b, src);
    const char *params[] = {src, ts};
    copy_ctx_t c = {copy, found};
    *found = false;
    return store__pg_stream(pg,
                            "SELECT encode(address, 'hex') FROM delivery_copies"
                            " WHERE source = $1::bytea AND transfer_syntax = $2",
                            2, params, "finding a delivery copy", copy_row, &c, ei);
}

cp_err_t store_qr_delivery_add(store_pg_t *pg, const store_addr_t *source, const char *ts,
                               const store_addr_t *copy, uint64_t size, const char *key_id,
                               cp_errinfo_t *ei)
{
    char src[2 * sizeof source->b + 3], dst[2 * sizeof copy->b + 3], n[24];
    store__bytea_hex(source->b, sizeof source->b, src);
    store__bytea_hex(copy->b, sizeof copy->b, dst);
    snprintf(n, sizeof n, "%llu", (unsigned long long)size);
    const char *params[] = {src, ts, dst, n, key_id};
    return store__pg_exec(pg, "SELECT cp_add_delivery_copy($1::bytea, $2, $3::bytea, $4, $5)",
                          5, params, "recording a delivery copy", ei);
}
