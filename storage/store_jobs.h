/* storage/store_jobs.h -- the durable job queue (migration 0005). Layer: storage.
 * Blocking: call from worker threads. A job is claimed under a lease; only the worker
 * holding the lease can finish it. */
#ifndef CASEPORT_STORE_JOBS_H
#define CASEPORT_STORE_JOBS_H
#include <stdbool.h>
#include <stdint.h>

#include "store_blob.h"
#include "store_pg.h"

/* The patient normalization coerces an instance to (cp_target_identity, UTF-8): its
 * case's patient once its study is attached to a case, else the patient record it is
 * filed under; and who sent the instance. */
typedef struct store_patient_identity {
    char patient_id[200], issuer[200], name[1000], birth_date[40], sex[40];
    char calling_ae[17];
    bool found;
} store_patient_identity_t;

typedef struct store_job {
    int64_t id;
    char kind[32];
    int64_t instance_id; /* 0: none */
    int64_t study_id;    /* 0: none (a route job names its study) */
    int attempts, max_attempts;
    int64_t queued_at; /* seconds since the epoch: when the job was made */
    /* Read with the claim, so that a job needs no query of its own to start: the
     * instance's blob and transfer syntax, and its patient (has_instance false when the
     * job names no instance or the instance is gone). */
    bool has_instance;
    store_addr_t addr;
    char ts[65];
    store_patient_identity_t patient;
} store_job_t;

cp_err_t store_jobs_enqueue(store_pg_t *pg, const char *kind, int64_t instance_id,
                            int max_attempts, int64_t *id, cp_errinfo_t *ei);
/* The oldest due queued job of one of kinds (NULL-terminated), leased to worker.
 * CP_ENOENT when there is none. */
cp_err_t store_jobs_claim(store_pg_t *pg, const char *const *kinds, const char *worker,
                          int lease_seconds, store_job_t *job, cp_errinfo_t *ei);
/* Jobs whose lease expired (their worker died or hung) queued again, or dead once their
 * workers died with them max_attempts times; claims take queued jobs only. */
cp_err_t store_jobs_reap(store_pg_t *pg, const char *const *kinds, int *requeued, int *died,
                         cp_errinfo_t *ei);
/* The workers whose names start with prefix that hold running jobs, each once. */
cp_err_t store_jobs_running_workers(store_pg_t *pg, const char *prefix,
                                    void (*fn)(void *ud, const char *worker), void *ud,
                                    cp_errinfo_t *ei);
/* The running jobs of workers (NULL-terminated) known to be gone, taken back at once as
 * store_jobs_reap takes back those whose lease expired. */
cp_err_t store_jobs_reclaim(store_pg_t *pg, const char *const *workers, int *requeued,
                            int *died, cp_errinfo_t *ei);
/* Up to max of them in one statement, oldest first; *n how many (0: none runnable). */
cp_err_t store_jobs_claim_batch(store_pg_t *pg, const char *const *kinds, const char *worker,
                                int lease_seconds, int max, store_job_t *jobs, int *n,
                                cp_errinfo_t *ei);
/* CP_ENOENT if the lease was lost (another worker took the job over). */
cp_err_t store_jobs_done(store_pg_t *pg, int64_t id, const char *worker, cp_errinfo_t *ei);
/* Several done in one statement; *finished: how many this worker still held. */
cp_err_t store_jobs_done_batch(store_pg_t *pg, const int64_t *ids, int n, const char *worker,
                               int *finished, cp_errinfo_t *ei);
/* Claimed jobs handed back unstarted: queued again, the claim not counted as an attempt. */
cp_err_t store_jobs_release(store_pg_t *pg, const int64_t *ids, int n, const char *worker,
                            cp_errinfo_t *ei);
/* How a failed job goes on; why is kept in every case:
 *   RETRY      back to the queue after 2^attempts seconds (at most an hour), dead after
 *              max_attempts;
 *   TRANSIENT  the disk full, the database away: back after as long as it has been
 *              failing so (2 to 60 s), not counted as an attempt, dead only once it has
 *              failed so for patience_s;
 *   PERMANENT  dead at once (the data will not change: a malformed object). */
typedef enum { STORE_FAIL_RETRY, STORE_FAIL_TRANSIENT, STORE_FAIL_PERMANENT } store_fail_t;
cp_err_t store_jobs_fail(store_pg_t *pg, int64_t id, const char *worker, const char *why,
                         store_fail_t how, int patience_s, cp_errinfo_t *ei);
/* A dead job queued again with its attempts reset; CP_ENOENT if it is not dead. */
cp_err_t store_jobs_retry(store_pg_t *pg, int64_t id, cp_errinfo_t *ei);

/* ---- reindex: the index's text fields rewritten from the stored data sets ---- */

/* Queues a reindex job for every current instance (all) or for those whose patient name,
 * accession number or descriptions hold U+FFFD (bytes not decoded when they were
 * indexed), unless one is already waiting. *n: how many were queued. */
cp_err_t store_jobs_queue_reindex(store_pg_t *pg, bool all, int *n, cp_errinfo_t *ei);
/* The blob and transfer syntax of an instance row. */
cp_err_t store_jobs_instance_blob(store_pg_t *pg, int64_t instance_id, store_addr_t *addr,
                                  char ts[65], cp_errinfo_t *ei);
/* Rewrites the text of the instance's patient (name), study (accession, description) and
 * series (description). Identity keys (patient ID, issuer, UIDs) are never changed. */
/* ---- compare: a new version against the versions before it (migration 0024) ---- */

typedef struct store_version {
    int64_t id;
    int version;
    store_addr_t addr;
    char ts[65];
} store_version_t;
/* The versions of instance_id's SOP Instance UID before it (not re-encodings), newest
 * first, at most max; *n how many. */
cp_err_t store_jobs_earlier_versions(store_pg_t *pg, int64_t instance_id, store_version_t *out,
                                     int max, int *n, cp_errinfo_t *ei);
/* instance_id is another encoding of version row of: a receipt of it. *done false when
 * either row changed meanwhile. */
cp_err_t store_jobs_set_encoding(store_pg_t *pg, int64_t instance_id, int64_t of, bool *done,
                                 cp_errinfo_t *ei);

cp_err_t store_jobs_reindex_text(store_pg_t *pg, int64_t instance_id, const char *patient_name,
                                 const char *accession, const char *study_desc,
                                 const char *series_desc, cp_errinfo_t *ei);

/* Records an instance's decoded-pixel hash (hash NULL: none, note says why) and links it
 * to the earliest instance with the same pixels under another SOP Instance UID;
 * *duplicate_of is that instance's id, or 0. */
cp_err_t store_jobs_set_pixel_hash(store_pg_t *pg, int64_t instance_id, const uint8_t hash[32],
                                   const char *note, int64_t *duplicate_of, cp_errinfo_t *ei);

cp_err_t store_jobs_patient_identity(store_pg_t *pg, int64_t instance_id,
                                     store_patient_identity_t *out, cp_errinfo_t *ei);

/* Records what an instance's normalize job made: a new blob (addr, size, key_id) in
 * transfer syntax ts, or addr NULL when the original needed no change; the changes made
 * and how the result was checked. A result recorded before is replaced, unless a newer
 * normalize job than job_id (0: none) exists for the instance: then this result, made
 * from what the older job read, is dropped and the newer job's stands. */
cp_err_t store_jobs_set_normalized(store_pg_t *pg, int64_t instance_id, int64_t job_id,
                                   const store_addr_t *addr,
                                   uint64_t size, const char *key_id, const char *ts,
                                   const char *const *changes, int n_changes,
                                   const char *verified, cp_errinfo_t *ei);

/* Results held back: from store_jobs_hold_results(true) on, this thread's
 * store_jobs_set_pixel_hash and store_jobs_set_normalized are not sent at once but with
 * its next store_jobs_done_batch, in one round trip and one transaction (two round trips
 * an instance fewer for a job worker). If that fails, none of them is recorded and the
 * jobs are not done. *duplicate_of is then reported by store_jobs_held_duplicate after
 * done_batch. false: sends at once again (and drops what is held, if anything). */
void store_jobs_hold_results(bool on);
int store_jobs_held_count(void);
/* The i-th held pixel hash of the last done_batch that linked its instance to another:
 * false when i is past the end. */
bool store_jobs_held_duplicate(int i, int64_t *instance_id, int64_t *duplicate_of);

typedef struct store_job_row {
    const char *id, *kind, *instance_id, *state, *attempts, *run_after, *last_error;
} store_job_row_t;
typedef bool (*store_job_cb)(void *ud, const store_job_row_t *row);
/* Jobs in one state (NULL: all), newest first, at most limit. */
cp_err_t store_jobs_list(store_pg_t *pg, const char *state, int limit, store_job_cb cb, void *ud,
                         cp_errinfo_t *ei);
#endif
