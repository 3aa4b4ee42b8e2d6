/* storage/store_qr.h -- the index seen through DICOM Query/Retrieve (PS3.4 C.4): matching
 * keys at PATIENT, STUDY, SERIES and IMAGE level, what a pulling peer may see, the
 * instances a retrieval sends, grants and the audit of every query and retrieval.
 * Layer: storage. Blocking: call from a worker thread. Tags are (group << 16 | element). */
#ifndef CASEPORT_STORE_QR_H
#define CASEPORT_STORE_QR_H
#include <stdbool.h>
#include <stdint.h>

#include "store_blob.h"
#include "store_pg.h"

typedef enum store_qr_level {
    STORE_QR_PATIENT,
    STORE_QR_STUDY,
    STORE_QR_SERIES,
    STORE_QR_IMAGE,
} store_qr_level_t;

typedef enum store_qr_access {
    STORE_QR_NONE,    /* sees nothing */
    STORE_QR_GRANTED, /* the studies granted to its [peer] section (qr_grants) */
    STORE_QR_ALL,
} store_qr_access_t;

typedef struct store_qr_key {
    uint32_t tag;
    const char *value; /* trimmed; "" or "*": universal matching */
} store_qr_key_t;

typedef struct store_qr_query {
    store_qr_level_t level;
    const store_qr_key_t *keys;
    int n_keys;
    store_qr_access_t access;
    const char *peer; /* the [peer] section name, for STORE_QR_GRANTED */
    bool show_duplicates; /* also instances whose decoded pixels a visible one has */
    bool originals;       /* retrieval sends originals, not their normalized data sets */
    int limit;        /* rows at most (the callback may see limit + 1: "there are more") */
} store_qr_query_t;

/* Whether the index matches and returns tag at this level (PS3.4 C.6.1.1/C.6.2.1 keys it
 * holds; the counts and Modalities in Study at their own level only). A key it does not
 * know is neither matched nor returned. */
bool store_qr_key_known(uint32_t tag, store_qr_level_t level);

/* One match: values[i] belongs to q->keys[i] (NULL where the key is not known at this
 * level); charset is the patient's Specific Character Set as received. false: stop. */
typedef bool (*store_qr_row_cb)(void *ud, const char *const *values, const char *charset);
cp_err_t store_qr_find(store_pg_t *pg, const store_qr_query_t *q, store_qr_row_cb cb, void *ud,
                       cp_errinfo_t *ei);

typedef struct store_qr_instance {
    const char *sop_class, *sop_instance, *transfer_syntax, *study_uid;
    store_addr_t addr;
    uint64_t size;
} store_qr_instance_t;
typedef bool (*store_qr_instance_cb)(void *ud, const store_qr_instance_t *inst);
/* The current instances under every entity the keys match (any level's keys may narrow
 * it), in series and then receipt order: each one's normalized data set (blob, size,
 * transfer syntax) where its normalize job made one, unless q->originals. */
cp_err_t store_qr_instances(store_pg_t *pg, const store_qr_query_t *q, store_qr_instance_cb cb,
                            void *ud, cp_errinfo_t *ei);

/* Grants of single studies to a [peer] section. */
cp_err_t store_qr_grant(store_pg_t *pg, const char *peer, const char *study_uid, bool revoke,
                        cp_errinfo_t *ei);
typedef bool (*store_qr_grant_cb)(void *ud, const char *peer, const char *study_uid,
                                  const char *granted_at);
cp_err_t store_qr_list_grants(store_pg_t *pg, store_qr_grant_cb cb, void *ud, cp_errinfo_t *ei);

typedef struct store_qr_audit {
    const char *operation, *model, *level;
    const char *calling_ae, *peer_name, *username, *peer_address, *destination_ae;
    store_qr_access_t access;
    const store_qr_key_t *keys; /* the identifier as received */
    int n_keys;
    int matches, completed, failed, warning;
    int status;
    const char *outcome;
} store_qr_audit_t;
cp_err_t store_qr_audit(store_pg_t *pg, const store_qr_audit_t *a, cp_errinfo_t *ei);
/* A delivery copy of the blob source in transfer syntax ts (migration 0023): *found
 * false when none was made yet. */
cp_err_t store_qr_delivery_find(store_pg_t *pg, const store_addr_t *source, const char *ts,
                                store_addr_t *copy, bool *found, cp_errinfo_t *ei);
/* Records the copy just written (its blob durable). */
cp_err_t store_qr_delivery_add(store_pg_t *pg, const store_addr_t *source, const char *ts,
                               const store_addr_t *copy, uint64_t size, const char *key_id,
                               cp_errinfo_t *ei);
#endif
