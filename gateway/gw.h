/* gateway/gw.h -- what every part of the daemon shares: the configuration snapshot and
 * the storage handles. Layer: gateway. Loop thread unless stated. */
#ifndef CASEPORT_GW_H
#define CASEPORT_GW_H
#include "conf.h"
#include "store_audit.h"
#include "store_blob.h"
#include "store_cases.h"
#include "store_pg.h"

typedef struct gw_ctx {
    const conf_t *conf;
    store_blob_t *blobs; /* thread-safe */
    store_pg_t *pg;      /* thread-safe pool */
    store_audit_log_t *audit; /* the API's audit rows, group-committed; thread-safe */
    struct gw_sessions *sessions; /* the API's recently looked-up sessions; thread-safe */
    struct gw_throttle *logins;   /* failed sign-ins by username and address; thread-safe */
} gw_ctx_t;
#endif
