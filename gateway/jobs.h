/* gateway/jobs.h -- the workers of `caseport serve` that run the durable job queue
 * (storage/store_jobs.h): plain threads, so that slow jobs never hold the libuv pool the
 * C-STORE pipeline runs on. */
#ifndef CASEPORT_GW_JOBS_H
#define CASEPORT_GW_JOBS_H
#include "gw.h"

typedef struct gw_jobs gw_jobs_t;

/* Starts n workers (n 0: none, returns NULL). */
gw_jobs_t *gw_jobs_start(const gw_ctx_t *ctx, int n);
/* Wakes an idle worker now rather than at its next poll: new work was just committed
 * (the ingest's trigger queued jobs). Any thread; no-op without workers. */
void gw_jobs_wake(void);
/* Asks the workers to stop after their current job and waits for them. NULL: no-op. */
void gw_jobs_stop(gw_jobs_t *j);
#endif
