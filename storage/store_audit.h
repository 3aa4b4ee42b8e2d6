/* storage/store_audit.h -- the audit trail (migrations 0010, 0029): appending rows, one
 * or many in one transaction; anchoring its head in a file outside the database; and
 * verifying it. Layer: storage. Blocking: call from worker threads or the CLI.
 *
 * Each row's hash is keyed: HMAC-SHA-256 under a key derived from the blob store's KEK,
 * which the database never holds, over the row's text with the hash of the row before
 * (docs/cases.md, "Audit trail"). So a database superuser can neither edit a row nor
 * re-hash the chain after an edit without verify noticing; cutting the tail off is seen
 * against the anchors. Rows written before 0029 keep their plain SHA-256 (version 1). */
#ifndef CASEPORT_STORE_AUDIT_H
#define CASEPORT_STORE_AUDIT_H
#include <stdbool.h>
#include <stdint.h>

#include "store_cases.h"
#include "store_pg.h"

/* Derives the audit trail's key from the KEK file at key_path (store_blob_derive_key,
 * label "caseport audit mac v2") and gives it to pg. Every append and every audited write
 * on pg fails (CP_EKEY) until this is done: no row is ever written unkeyed. Call before
 * pg is shared between threads. */
cp_err_t store_audit_load_key(store_pg_t *pg, const char *key_path, cp_errinfo_t *ei);

typedef struct store_audit_row {
    int64_t case_id; /* 0: none */
    const char *object, *action, *outcome;
} store_audit_row_t;
cp_err_t store_audit_append(store_pg_t *pg, const store_audit_row_t *row,
                            const store_actor_t *by, cp_errinfo_t *ei);

/* Group commit: concurrent appenders' rows go in one transaction (one lock of the chain's
 * head, one WAL flush) instead of one each, which would serialize every audited request
 * on the flush. Each append still returns only once its own row is committed.
 * Thread-safe. */
typedef struct store_audit_pending {
    store_audit_row_t row;
    store_actor_t by;
    struct store_audit_pending *next;
    bool done;
    cp_err_t err;
    char why[200]; /* when err */
} store_audit_pending_t; /* lives on the appender's stack while it waits */
typedef struct store_audit_log store_audit_log_t;
store_audit_log_t *store_audit_log_new(store_pg_t *pg);
void store_audit_log_free(store_audit_log_t *l); /* NULL: no-op; nobody may be appending */
cp_err_t store_audit_log_append(store_audit_log_t *l, const store_audit_row_t *row,
                                const store_actor_t *by, cp_errinfo_t *ei);

/* ---- anchors ---- */

/* The chain's head at a moment: its last row and that row's hash (seq 0: no row yet). */
typedef struct store_audit_anchor {
    int64_t seq;
    char hash[65]; /* lower-case hex */
    char at[32];   /* when it was read, UTC: YYYY-MM-DDTHH:MM:SSZ */
} store_audit_anchor_t;
/* The head now (at: now). */
cp_err_t store_audit_head(store_pg_t *pg, store_audit_anchor_t *out, cp_errinfo_t *ei);
/* Appends the anchor as one line "seq=N hash=HEX at=TIME" to the file at path (opened
 * O_APPEND, created mode 0600 with missing directories 0700) and fsyncs it. */
cp_err_t store_audit_anchor_append(const char *path, const store_audit_anchor_t *a,
                                   cp_errinfo_t *ei);
/* The file's last anchor: *found false when the file is missing or holds none. */
cp_err_t store_audit_anchor_last(const char *path, store_audit_anchor_t *last, bool *found,
                                 cp_errinfo_t *ei);

/* ---- verifying ---- */

typedef enum store_audit_finding_kind {
    STORE_AUDIT_EDITED,     /* a row's content does not match its hash */
    STORE_AUDIT_REHASHED,   /* the hashes from a row on were recomputed without the key */
    STORE_AUDIT_MISSING,    /* a seq is not there */
    STORE_AUDIT_RELINKED,   /* a row does not link to the row before */
    STORE_AUDIT_DOWNGRADE,  /* an unkeyed (version 1) row where keyed rows had begun */
    STORE_AUDIT_TRUNCATED,  /* rows cut off the end: the head or an anchor names more */
    STORE_AUDIT_UNANCHORED, /* a row is not the one an anchor names at its seq */
} store_audit_finding_kind_t;
const char *store_audit_kind_name(store_audit_finding_kind_t k); /* "edited", ... */

typedef struct store_audit_finding {
    store_audit_finding_kind_t kind;
    int64_t seq; /* the row it is about */
    char why[200];
} store_audit_finding_t;

#define STORE_AUDIT_FINDINGS_MAX 16
typedef struct store_audit_report {
    int64_t rows, keyed;      /* rows checked; of them keyed (version 2) */
    int64_t anchors;          /* anchors checked */
    int64_t bad_lines;        /* lines of the anchor file that are no anchor: ignored */
    int64_t findings;         /* found; the first STORE_AUDIT_FINDINGS_MAX are kept */
    store_audit_finding_t finding[STORE_AUDIT_FINDINGS_MAX]; /* by seq, as found */
} store_audit_report_t;
/* Recomputes the chain from the first row up to the head: every row's hash over its
 * fields (keyed from the first version 2 row on, so pg needs the key), every row's link
 * to the one before, no seq missing, no version 1 row after a keyed one, the head at the
 * last row; then every anchor in the file at anchor_path (NULL or missing: none) against
 * the row it names. CP_ETAMPER (with report) on any finding. */
cp_err_t store_audit_verify(store_pg_t *pg, const char *anchor_path,
                            store_audit_report_t *report, cp_errinfo_t *ei);
#endif
