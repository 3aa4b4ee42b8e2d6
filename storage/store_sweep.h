/* storage/store_sweep.h -- what a crash can leave in the blob store that nothing refers
 * to, found and given back. Layer: storage (blocking; call it from a worker).
 *
 * Orphans: a blob in a file of its own (normalized objects, delivery copies, opinions'
 * PDFs) is written and made durable before the transaction that records it in `blobs`;
 * a kill between the two leaves a file no row names. Such a file is removed once it is
 * older than min_age (a live writer records its blob well within that: the job workers'
 * batches within half a lease).
 *
 * Pack tails: a pack (store_pack.h) holds whole blobs one after another; a C-STORE killed
 * between its append and its index row leaves bytes past the last blob the index names
 * (never acknowledged: the response follows the row). A pack that no live process holds
 * (its writer keeps an flock on it) is cut back to its last indexed blob. */
#ifndef CASEPORT_STORE_SWEEP_H
#define CASEPORT_STORE_SWEEP_H
#include <stdbool.h>
#include <stdint.h>

#include "store_blob.h"
#include "store_pg.h"

/* How old an unrecorded blob file must be to be an orphan: far more than any writer
 * takes from its blob's commit to the row (a job batch: half of a 300 s lease). */
#define STORE_SWEEP_MIN_AGE (15 * 60)

typedef struct store_sweep_report {
    uint64_t files;        /* blobs in files of their own, looked at */
    uint64_t orphans;      /* of them, named by no row and older than min_age */
    uint64_t orphan_bytes;
    uint64_t young;        /* named by no row yet, but younger: left alone */
    uint64_t packs;        /* pack files looked at */
    uint64_t tails;        /* packs with bytes past their last indexed blob */
    uint64_t tail_bytes;
    uint64_t busy;         /* of those, held by a live writer: left alone */
} store_sweep_report_t;

/* Finds orphans and pack tails; with reclaim, removes the orphans and cuts the tails. */
cp_err_t store_sweep(store_pg_t *pg, store_blob_t *blobs, int min_age_s, bool reclaim,
                     store_sweep_report_t *rep, cp_errinfo_t *ei);
#endif
