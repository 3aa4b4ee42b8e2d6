/* storage/store_pg.h -- the PostgreSQL index: schema migrations, ingest, listings.
 * Layer: storage. No libuv, no logging. Calls block on the network: run them from worker
 * threads (the gateway's thread pool) or from the CLI. The handle is a small connection
 * pool shared by all threads; a broken connection is dropped and re-opened on next use,
 * so a restarted server is picked up without restarting caseport. */
#ifndef CASEPORT_STORE_PG_H
#define CASEPORT_STORE_PG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_err.h"
#include "store_blob.h"

typedef struct store_migration {
    int version;
    const char *name;
    const char *sql;
} store_migration_t;
extern const store_migration_t store_migrations[]; /* storage/sql/NNNN_*.sql, in order */
extern const size_t store_migration_count;

typedef struct store_pg store_pg_t; /* opaque */

/* Does not connect yet: the first call that needs a connection does. */
cp_err_t store_pg_open(const char *conninfo, int pool_size, store_pg_t **out, cp_errinfo_t *ei);
/* A pool whose commits do not wait for the WAL flush (synchronous_commit = off): for
 * derived data that is made again if a crash loses it (the job workers' results), never
 * for what an acknowledgement depends on. */
cp_err_t store_pg_open_async(const char *conninfo, int pool_size, store_pg_t **out,
                             cp_errinfo_t *ei);
void store_pg_close(store_pg_t *pg); /* NULL: no-op */

/* Applies every migration newer than the database's, each in its own transaction, under
 * an advisory lock so two starting nodes do not race. *applied (may be NULL) = count. */
cp_err_t store_pg_migrate(store_pg_t *pg, int *applied, cp_errinfo_t *ei);
/* CP_EDBSCHEMA unless the database is at the newest migration this binary knows. */
cp_err_t store_pg_check_schema(store_pg_t *pg, cp_errinfo_t *ei);
/* Connects the whole pool now, each connection with its ingest statement prepared, so
 * that the first instances after a start do not wait for PostgreSQL's backend start-ups.
 * Returns how many are ready; what failed is left to the connect on first use. */
int store_pg_warm(store_pg_t *pg);

/* A store_blob_locate_fn (ud: the store_pg_t): where the index says a packed blob is. It
 * uses a connection of its own, so a reader may be opened while the caller holds one of
 * the pool's (a streamed listing, a transaction) without waiting for itself. */
cp_err_t store_pg_blob_locate(void *pg, const store_addr_t *addr, store_blob_loc_t *loc,
                              cp_errinfo_t *ei);
/* Points the index's row for addr at loc: a sound copy replacing a damaged or lost one. */
cp_err_t store_pg_blob_relocate(store_pg_t *pg, const store_addr_t *addr,
                                const store_blob_loc_t *loc, cp_errinfo_t *ei);

/* One received instance, as the intake indexes it. Strings are never NULL ("" if absent). */
typedef struct store_instance_in {
    const char *sop_class_uid, *sop_instance_uid, *study_uid, *series_uid;
    const char *patient_id, *issuer, *patient_name, *birth_date, *sex, *charset;
    const char *study_date, *study_time, *accession, *study_desc;
    const char *series_desc, *modality, *series_number, *instance_number;
    const char *transfer_syntax, *calling_ae, *called_ae, *peer_address;
    const char *authority; /* qualifies a patient_id sent without an issuer (0022) */
    store_addr_t addr;
    uint64_t size;
    const char *key_id;
    store_blob_loc_t loc; /* a packed blob's place (store_blob_writer_location), else zero */
    /* The pixel hash (0006) when the intake computed it, or why there is none; both NULL:
     * the instance's pixel_hash job computes it. */
    const uint8_t *pixel_hash; /* 32 bytes */
    const char *pixel_hash_note;
    /* The normalize job's dry run, run by the intake over the header (gw_normalize's rules
     * apart from the patient identity): true when nothing there asks for a rewrite, so
     * that cp_ingest records "needs no change" itself if the identity agrees; false (or
     * not run): the normalize job decides. */
    bool keeps;
} store_instance_in_t;

typedef enum store_ingest_kind {
    STORE_INGEST_NEW,         /* first receipt of this SOP Instance UID */
    STORE_INGEST_REPEAT,      /* same UID, same content: receipt count incremented */
    STORE_INGEST_NEW_VERSION, /* same UID, different content: new version, flagged */
} store_ingest_kind_t;

typedef struct store_ingest_result {
    store_ingest_kind_t kind;
    int64_t instance_id;
    int version;
    int receipt_count;
    bool blob_new; /* false: the index held this content already, at its own location */
    int64_t duplicate_of; /* the representative of its pixels (hashed at ingest), or 0 */
    bool queued;          /* jobs were queued: the row's, or its new study's route */
} store_ingest_result_t;

/* Indexes one instance whose blob is already durable, in one transaction (rule 1: the
 * caller acknowledges only after CP_OK). Concurrent ingests of one SOP Instance UID are
 * serialised by PostgreSQL, so they end with one row per distinct content. CP_EDB when
 * the server is unreachable (transient: the sender should retry). */
cp_err_t store_pg_ingest(store_pg_t *pg, const store_instance_in_t *in,
                         store_ingest_result_t *res, cp_errinfo_t *ei);

/* The same in two steps, so the database works while the caller makes the blob durable:
 * start opens a transaction and sends the ingest statement without waiting; finish
 * waits for it and commits (commit true: *res filled) or rolls back, and always frees
 * txn. Nothing is visible to others before finish commits. in must stay valid until
 * finish (a connection found dead is replaced and the ingest sent again). */
typedef struct store_pg_txn store_pg_txn_t;
cp_err_t store_pg_ingest_start(store_pg_t *pg, const store_instance_in_t *in,
                               store_pg_txn_t **txn, cp_errinfo_t *ei);
cp_err_t store_pg_ingest_finish(store_pg_txn_t *txn, bool commit, store_ingest_result_t *res,
                                cp_errinfo_t *ei);

/* One association, written when it ends. Strings are never NULL ("" if absent). */
typedef struct store_assoc_row {
    double started_at; /* seconds since the epoch */
    const char *calling_ae, *called_ae, *peer_address, *peer_name;
    const char *impl_class_uid, *impl_version, *outcome;
    bool accepted;
    int stored, failed;
    uint64_t bytes_in;
} store_assoc_row_t;
cp_err_t store_pg_record_association(store_pg_t *pg, const store_assoc_row_t *row,
                                     cp_errinfo_t *ei);

typedef struct store_instance_info {
    int64_t id;
    int version;
    char sop_class_uid[65];
    char sop_instance_uid[65];
    char transfer_syntax[65];
    char calling_ae[17];
    store_addr_t addr;
    uint64_t size;
} store_instance_info_t;

/* version 0: the newest. CP_ENOENT if there is no such instance. */
cp_err_t store_pg_find_instance(store_pg_t *pg, const char *sop_instance_uid, int version,
                                store_instance_info_t *out, cp_errinfo_t *ei);
/* The same, with the normalized data set's blob, size and transfer syntax (the original's
 * when it needed no change). CP_ENOENT also while its normalize job has not run. */
/* The bytes received last under that UID (of that version, if not 0): a version's own
 * row, or a re-encoding of one (migration 0024). */
cp_err_t store_pg_find_last_receipt(store_pg_t *pg, const char *sop_instance_uid, int version,
                                    store_instance_info_t *out, cp_errinfo_t *ei);
cp_err_t store_pg_find_normalized(store_pg_t *pg, const char *sop_instance_uid, int version,
                                  store_instance_info_t *out, cp_errinfo_t *ei);

/* One line of `caseport ls`: an instance with its series, study and patient. */
typedef struct store_ls_row {
    const char *patient_id, *issuer, *patient_name, *birth_date, *sex;
    const char *study_uid, *study_date, *accession, *study_desc;
    const char *series_uid, *modality, *series_number, *series_desc;
    const char *sop_instance_uid, *sop_class_uid, *instance_number, *transfer_syntax;
    const char *calling_ae, *received_at, *blob_hex;
    int version, receipt_count;
    bool flagged;
    int64_t size;
    const char *duplicate_of; /* the representative with the same pixels, or "" */
    const char *duplicates;   /* the instances it represents, comma separated, or "" */
    const char *encodings;    /* other transfer syntaxes this version came in, or "" */
    const char *identity_note; /* why it cannot be its study's patient's (0022), or "" */
} store_ls_row_t;
typedef void (*store_ls_cb)(void *ud, const store_ls_row_t *row);
/* Calls cb for every instance ordered by patient, study, series, instance number; one
 * whose decoded pixels an earlier one of the same patient has (it is among that one's
 * duplicates) only if all. The same pixels under another patient are always listed. */
cp_err_t store_pg_list(store_pg_t *pg, bool all, store_ls_cb cb, void *ud, cp_errinfo_t *ei);

typedef struct store_blob_row {
    store_addr_t addr;
    uint64_t size;
    const char *key_id;
} store_blob_row_t;
typedef bool (*store_blob_cb)(void *ud, const store_blob_row_t *row); /* false: stop */
cp_err_t store_pg_list_blobs(store_pg_t *pg, store_blob_cb cb, void *ud, cp_errinfo_t *ei);
#endif
