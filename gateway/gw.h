/* gateway/gw.h -- what every part of the daemon shares: the configuration snapshot and
 * the storage handles. Layer: gateway. Loop thread unless stated. */
#ifndef CASEPORT_GW_H
#define CASEPORT_GW_H
#include "conf.h"
#include "store_blob.h"
#include "store_pg.h"

typedef struct gw_ctx {
    const conf_t *conf;
    store_blob_t *blobs; /* thread-safe */
    store_pg_t *pg;      /* thread-safe pool */
} gw_ctx_t;
#endif
