/* gateway/jobs.h -- the workers of `caseport serve` that run the durable job queue
 * (storage/store_jobs.h): plain threads, so that slow jobs never hold the libuv pool the
 * C-STORE pipeline runs on. */
#ifndef CASEPORT_GW_JOBS_H
#define CASEPORT_GW_JOBS_H
#include "gw.h"

typedef struct gw_jobs gw_jobs_t;

/* Starts n workers (n 0: none, returns NULL). */
gw_jobs_t *gw_jobs_start(const gw_ctx_t *ctx, int n);
/* Asks the workers to stop after their current job and waits for them. NULL: no-op. */
void gw_jobs_stop(gw_jobs_t *j);
#endif
