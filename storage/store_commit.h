/* storage/store_commit.h -- Storage Commitment over the index: which referenced instances
 * caseport holds (a row exists only once its blob is durable: DESIGN.md rule 1), and the
 * record of each commitment request. Layer: storage. Blocking: worker threads. */
#ifndef CASEPORT_STORE_COMMIT_H
#define CASEPORT_STORE_COMMIT_H
#include <stdint.h>

#include "store_pg.h"

typedef struct store_commit_ref {
    char sop_class[65], sop_instance[65];
    uint16_t failure; /* out: 0 committed, 0x0112 no such instance, 0x0119 class conflict */
} store_commit_ref_t;

/* Fills every ref's failure. */
cp_err_t store_commit_check(store_pg_t *pg, store_commit_ref_t *refs, int n, cp_errinfo_t *ei);

typedef struct store_commit_row {
    const char *transaction_uid, *calling_ae, *peer_name, *peer_address;
    double requested_at; /* seconds since the epoch */
    int references_n, failed_n;
    const char *delivery, *outcome;
} store_commit_row_t;
cp_err_t store_commit_record(store_pg_t *pg, const store_commit_row_t *row, cp_errinfo_t *ei);
#endif
