/* gateway/dicom/store.h -- one C-STORE data set on its way to durable storage.
 * The association pushes data-set bytes PDV by PDV on the loop thread; they are
 * encrypted, hashed, parsed (header) and written on the thread pool one chunk at a time,
 * in order; on the last chunk the blob is committed (fsync, rename, dir fsync) and the
 * instance indexed in PostgreSQL, and only then is on_done called (DESIGN.md rule 1).
 * Memory is bounded: at most two chunks are held, and gw_store_backlogged() tells the
 * association to stop reading until on_drain. */
#ifndef CASEPORT_GW_STORE_H
#define CASEPORT_GW_STORE_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "codec_dicom.h"
#include "gw.h"

typedef struct gw_store gw_store_t;

typedef struct gw_store_meta {
    const codec_ts_t *ts;
    const char *sop_class;    /* from the command */
    const char *abstract_syntax; /* of the presentation context (NULL: sop_class) */
    const char *sop_instance; /* from the command */
    const char *calling_ae, *called_ae, *peer;
    /* Who assigned a Patient ID sent without an issuer: the [peer]'s issuer, else its
     * name, else the calling AE title (gw_assoc's sender_authority). */
    const char *authority;
} gw_store_meta_t;

typedef struct gw_store_outcome {
    cp_err_t err;
    uint16_t status;       /* the C-STORE-RSP status */
    char comment[65];      /* error comment for the response; no PHI, no local detail */
    char why[256];         /* the failure in full, for the log */
    store_ingest_result_t res;
    uint64_t bytes;
} gw_store_outcome_t;

typedef struct gw_store_cbs {
    void (*on_drain)(void *ud);                                   /* backlog cleared */
    void (*on_done)(void *ud, const gw_store_outcome_t *outcome); /* after finish */
} gw_store_cbs_t;

gw_store_t *gw_store_new(uv_loop_t *loop, const gw_ctx_t *ctx, const gw_store_meta_t *meta,
                         const gw_store_cbs_t *cbs, void *ud);
/* Copies the bytes; never calls a callback synchronously. */
void gw_store_push(gw_store_t *s, const uint8_t *data, size_t len);
bool gw_store_backlogged(const gw_store_t *s);
/* No more data: the outcome arrives through on_done, after which the store is freed. */
void gw_store_finish(gw_store_t *s);
/* The association is going away: no callback will fire again; the store finishes what
 * a worker holds, removes its temp file and frees itself. */
void gw_store_cancel(gw_store_t *s);
#endif
