/* The job queue against a real PostgreSQL (tests/e2e/pg_unit.sh gives each test a fresh
 * database in CASEPORT_TEST_CONNINFO): claiming under SKIP LOCKED, lease take-over,
 * back-off, the dead letter and an operator's retry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "pg_test.h"
#include "store_jobs.h"

static const char *const kinds[] = {"normalize", NULL};

void jobs_claim_takes_oldest_due_once(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    int64_t a, b, c;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 3, &a, NULL), CP_OK);
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 3, &b, NULL), CP_OK);
    assert_int_equal(store_jobs_enqueue(pg, "other", 0, 3, &c, NULL), CP_OK);
    store_job_t j1, j2, j3;
    assert_int_equal(store_jobs_claim(pg, kinds, "w1", 60, &j1, NULL), CP_OK);
    assert_int_equal(j1.id, a);
    assert_int_equal(j1.attempts, 1);
    assert_string_equal(j1.kind, "normalize");
    assert_int_equal(store_jobs_claim(pg, kinds, "w2", 60, &j2, NULL), CP_OK);
    assert_int_equal(j2.id, b); /* the first is leased: the next worker gets the second */
    /* nothing else of that kind; the "other" job is not ours */
    assert_int_equal(store_jobs_claim(pg, kinds, "w3", 60, &j3, NULL), CP_ENOENT);
    assert_int_equal(store_jobs_done(pg, a, "w1", NULL), CP_OK);
    assert_int_equal(store_jobs_claim(pg, kinds, "w3", 60, &j3, NULL), CP_ENOENT);
    store_pg_close(pg);
}

void jobs_expired_lease_is_taken_over(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    int64_t a;
    store_job_t j;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 3, &a, NULL), CP_OK);
    assert_int_equal(store_jobs_claim(pg, kinds, "crashed", 60, &j, NULL), CP_OK);
    assert_int_equal(store_jobs_claim(pg, kinds, "w2", 60, &j, NULL), CP_ENOENT);
    /* the worker died */
    pg_test_sql("UPDATE jobs SET lease_until = now() - interval '1 second'", false);
    assert_int_equal(store_jobs_claim(pg, kinds, "w2", 60, &j, NULL), CP_ENOENT);
    int queued = -1, died = -1;
    assert_int_equal(store_jobs_reap(pg, kinds, &queued, &died, NULL), CP_OK);
    assert_int_equal(queued, 1);
    assert_int_equal(died, 0);
    assert_int_equal(store_jobs_claim(pg, kinds, "w2", 60, &j, NULL), CP_OK);
    assert_int_equal(j.id, a);
    assert_int_equal(j.attempts, 2); /* a crash counts: a job that kills workers dies */
    /* the crashed worker, back, can no longer finish what it lost */
    assert_int_equal(store_jobs_done(pg, a, "crashed", NULL), CP_ENOENT);
    assert_int_equal(store_jobs_done(pg, a, "w2", NULL), CP_OK);
    store_pg_close(pg);
}

/* A job that takes its worker down every time dies after max_attempts crashes. */
void jobs_crash_loop_dies(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    int64_t a;
    store_job_t j;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 2, &a, NULL), CP_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(store_jobs_claim(pg, kinds, "crashing", 60, &j, NULL), CP_OK);
        /* it died */
        pg_test_sql("UPDATE jobs SET lease_until = now() - interval '1 second'", false);
        int queued = -1, died = -1;
        assert_int_equal(store_jobs_reap(pg, kinds, &queued, &died, NULL), CP_OK);
        assert_int_equal(queued, i == 0 ? 1 : 0);
        assert_int_equal(died, i == 0 ? 0 : 1);
    }
    assert_int_equal(store_jobs_claim(pg, kinds, "next", 60, &j, NULL), CP_ENOENT);
    assert_string_equal(pg_test_value("SELECT state || ': ' || last_error FROM jobs"),
                        "dead: its worker stopped while running it 2 time(s)");
    store_pg_close(pg);
}

static bool count_dead(void *ud, const store_job_row_t *row)
{
    int *n = ud;
    (*n)++;
    assert_string_equal(row->state, "dead");
    assert_string_equal(row->last_error, "decoder said no");
    return true;
}

void jobs_failure_backs_off_then_dies_then_retries(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    int64_t a;
    store_job_t j;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 2, &a, NULL), CP_OK);
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_OK);
    assert_int_equal(store_jobs_fail(pg, a, "w", "decoder said no", STORE_FAIL_RETRY, 3600, NULL), CP_OK);
    /* backed off: not due yet */
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_ENOENT);
    pg_test_sql("UPDATE jobs SET run_after = now() - interval '1 second'", false);
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_OK);
    assert_int_equal(j.attempts, 2);
    assert_int_equal(store_jobs_fail(pg, a, "w", "decoder said no", STORE_FAIL_RETRY, 3600, NULL), CP_OK);
    pg_test_sql("UPDATE jobs SET run_after = now() - interval '1 second'", false);
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_ENOENT); /* dead */
    int dead = 0;
    assert_int_equal(store_jobs_list(pg, "dead", 10, count_dead, &dead, NULL), CP_OK);
    assert_int_equal(dead, 1);
    assert_int_equal(store_jobs_retry(pg, a, NULL), CP_OK);
    assert_int_equal(store_jobs_retry(pg, a, NULL), CP_ENOENT); /* only a dead job */
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_OK);
    assert_int_equal(j.attempts, 1);
    store_pg_close(pg);
}

/* The disk full, the database away: retried every minute at most, not counted as an
 * attempt, for as long as the patience lasts; a permanent failure dies at once. */
void jobs_transient_failure_waits_out_patience(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    int64_t a, b;
    store_job_t j;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 1, &a, NULL), CP_OK);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_OK);
        assert_int_equal(j.id, a);
        assert_int_equal(j.attempts, 1); /* the transient ones were not counted */
        assert_int_equal(store_jobs_fail(pg, a, "w", "disk full", STORE_FAIL_TRANSIENT, 3600,
                                         NULL), CP_OK);
        assert_string_equal(pg_test_value("SELECT state FROM jobs"), "queued");
        /* the wait grows with the time it has been failing, from 2 s to 60 s at most */
        pg_test_sql("UPDATE jobs SET failing_since = failing_since - interval '10 minutes'",
                    false);
        pg_test_sql("UPDATE jobs SET run_after = now() - interval '1 second'", false);
    }
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_OK);
    assert_int_equal(store_jobs_fail(pg, a, "w", "disk full", STORE_FAIL_TRANSIENT, 3600, NULL),
                     CP_OK);
    assert_string_equal(pg_test_value("SELECT extract(epoch FROM run_after - updated_at)::int"
                                      " FROM jobs"), "60");
    /* failing so for longer than the patience: given up */
    pg_test_sql("UPDATE jobs SET run_after = now() - interval '1 second',"
                " failing_since = now() - interval '2 hours'", false);
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_OK);
    assert_int_equal(store_jobs_fail(pg, a, "w", "disk full", STORE_FAIL_TRANSIENT, 3600, NULL),
                     CP_OK);
    assert_string_equal(pg_test_value("SELECT state || ' ' || last_error FROM jobs"),
                        "dead disk full");
    assert_int_equal(store_jobs_retry(pg, a, NULL), CP_OK);
    assert_string_equal(pg_test_value("SELECT coalesce(failing_since::text, 'none') FROM jobs"),
                        "none");
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 5, &b, NULL), CP_OK);
    pg_test_sql("UPDATE jobs SET state = 'done' WHERE id <> (SELECT max(id) FROM jobs)", false);
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_OK);
    assert_int_equal(store_jobs_fail(pg, b, "w", "malformed", STORE_FAIL_PERMANENT, 3600, NULL),
                     CP_OK);
    assert_string_equal(pg_test_value("SELECT state FROM jobs WHERE id = (SELECT max(id) FROM jobs)"),
                        "dead");
    store_pg_close(pg);
}

void jobs_only_the_lease_holder_finishes(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    int64_t a;
    store_job_t j;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 3, &a, NULL), CP_OK);
    assert_int_equal(store_jobs_done(pg, a, "w", NULL), CP_ENOENT); /* not claimed */
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_OK);
    assert_int_equal(store_jobs_fail(pg, a, "intruder", "x", STORE_FAIL_RETRY, 3600, NULL), CP_ENOENT);
    assert_int_equal(store_jobs_done(pg, a, "w", NULL), CP_OK);
    assert_int_equal(store_jobs_done(pg, a, "w", NULL), CP_ENOENT); /* once */
    store_pg_close(pg);
}

/* One instance with its pixel_hash and normalize jobs, as cp_ingest queues them. */
static void one_instance(void)
{
    pg_test_sql("INSERT INTO blobs (address, size, key_id)"
                " VALUES (decode('ab' || repeat('00', 31), 'hex'), 10, 'k1');"
                "INSERT INTO patients (patient_id, issuer, name, birth_date, sex)"
                " VALUES ('MRN7', 'HOSP', 'Doe^Jane', '19700101', 'F');"
                "INSERT INTO studies (study_uid, patient_id) SELECT '1.2.3', id FROM patients;"
                "INSERT INTO series (series_uid, study_id) SELECT '1.2.3.4', id FROM studies;"
                "INSERT INTO instances (series_id, sop_class_uid, sop_instance_uid,"
                " transfer_syntax, size, blob_address, calling_ae, peer_address)"
                " SELECT id, '1.2.840.10008.5.1.4.1.1.2', '1.2.3.4.5', '1.2.840.10008.1.2.1', 10,"
                " (SELECT address FROM blobs), 'MODALITY1', '127.0.0.1' FROM series;"
                "INSERT INTO jobs (kind, instance_id)"
                " SELECT k, id FROM instances, (VALUES ('pixel_hash'), ('normalize')) v(k)",
                false);
}

/* A batch claim takes the oldest due jobs up to its size, with each job's instance (blob,
 * transfer syntax, patient) read in the same statement; done marks only what the worker
 * still holds; jobs handed back unstarted are queued again without an attempt counted. */
void jobs_batch_claim_done_release(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    one_instance();
    pg_test_sql("DELETE FROM jobs WHERE kind <> 'normalize'", false);
    int64_t ids[4];
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 3, &ids[i], NULL), CP_OK);
    store_job_t b[3];
    int n = -1;
    assert_int_equal(store_jobs_claim_batch(pg, kinds, "w", 60, 3, b, &n, NULL), CP_OK);
    assert_int_equal(n, 3);
    /* the instance's first job is the oldest and carries its instance */
    assert_true(b[0].has_instance);
    assert_string_equal(b[0].ts, "1.2.840.10008.1.2.1");
    assert_int_equal(b[0].addr.b[0], 0xab);
    assert_string_equal(b[0].patient.patient_id, "MRN7");
    assert_string_equal(b[0].patient.name, "Doe^Jane");
    assert_string_equal(b[0].patient.calling_ae, "MODALITY1");
    assert_false(b[1].has_instance); /* no instance named */
    assert_int_equal(b[1].id, ids[0]);
    assert_int_equal(b[2].id, ids[1]);
    store_job_t rest[3];
    assert_int_equal(store_jobs_claim_batch(pg, kinds, "w2", 60, 3, rest, &n, NULL), CP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rest[0].id, ids[2]);
    assert_int_equal(store_jobs_claim_batch(pg, kinds, "w3", 60, 3, rest, &n, NULL), CP_OK);
    assert_int_equal(n, 0);
    /* w finishes two; the third it gives back */
    int64_t done[3] = {b[0].id, b[1].id, ids[2]}; /* ids[2] is w2's: not finished by w */
    int finished = -1;
    assert_int_equal(store_jobs_done_batch(pg, done, 3, "w", &finished, NULL), CP_OK);
    assert_int_equal(finished, 2);
    assert_int_equal(store_jobs_release(pg, &b[2].id, 1, "w", NULL), CP_OK);
    assert_string_equal(pg_test_value("SELECT count(*) FROM jobs WHERE state = 'done'"), "2");
    store_job_t again;
    assert_int_equal(store_jobs_claim(pg, kinds, "w3", 60, &again, NULL), CP_OK);
    assert_int_equal(again.id, b[2].id);
    assert_int_equal(again.attempts, 1); /* the released claim did not count */
    store_pg_close(pg);
}

/* Results held back (store_jobs_hold_results) are recorded with the jobs' completion in
 * one transaction: all of them, or, when one fails, none of them and no job done. */
void jobs_held_results_all_or_nothing(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1); /* one connection: what one worker has */
    one_instance();
    static const char *const both[] = {"pixel_hash", "normalize", NULL};
    store_job_t b[2];
    int n = -1, finished = -1;
    assert_int_equal(store_jobs_claim_batch(pg, both, "w", 60, 2, b, &n, NULL), CP_OK);
    assert_int_equal(n, 2);
    int64_t inst = b[0].instance_id, done[2] = {b[0].id, b[1].id}, dup = -1;
    uint8_t hash[32];
    /* Every statement sent at once first (prepared), the last one streamed row by row:
     * libpq then hands the pipeline's first result over row by row too. */
    int64_t none = -1;
    assert_int_equal(store_jobs_done_batch(pg, &none, 1, "w", &finished, NULL), CP_OK);
    assert_int_equal(store_jobs_set_normalized(pg, inst, 0, NULL, 0, NULL, NULL, NULL, 0, "none",
                                               NULL), CP_OK);
    memset(hash, 0x00, sizeof hash);
    assert_int_equal(store_jobs_set_pixel_hash(pg, inst, hash, NULL, &dup, NULL), CP_OK);
    memset(hash, 0x11, sizeof hash);
    store_jobs_hold_results(true);
    assert_int_equal(store_jobs_set_pixel_hash(pg, inst, hash, NULL, &dup, NULL), CP_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(store_jobs_set_normalized(pg, inst, 0, NULL, 0, NULL, NULL, NULL, 0, "none",
                                               NULL), CP_OK);
    assert_int_equal(store_jobs_held_count(), 2);
    assert_string_equal(pg_test_value("SELECT substr(encode(pixel_hash, 'hex'), 1, 4)"
                                      " FROM instances"), "0000");
    assert_int_equal(store_jobs_done_batch(pg, done, 2, "w", &finished, NULL), CP_OK);
    assert_int_equal(finished, 2);
    store_jobs_hold_results(false);
    assert_string_equal(pg_test_value("SELECT encode(pixel_hash, 'hex') FROM instances"),
                        "1111111111111111111111111111111111111111111111111111111111111111");
    assert_string_equal(pg_test_value("SELECT count(*) FROM normalized"), "1");
    assert_string_equal(pg_test_value("SELECT count(*) FROM jobs WHERE state = 'done'"), "2");

    /* a held result that fails (no such instance): nothing of the batch is recorded */
    int64_t id;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", inst, 3, &id, NULL), CP_OK);
    assert_int_equal(store_jobs_claim_batch(pg, both, "w", 60, 2, b, &n, NULL), CP_OK);
    assert_int_equal(n, 1);
    memset(hash, 0x22, sizeof hash);
    store_jobs_hold_results(true);
    assert_int_equal(store_jobs_set_pixel_hash(pg, inst, hash, NULL, &dup, NULL), CP_OK);
    assert_int_equal(store_jobs_set_normalized(pg, 999999, 0, NULL, 0, NULL, NULL, NULL, 0, "none",
                                               NULL), CP_OK);
    assert_int_not_equal(store_jobs_done_batch(pg, &id, 1, "w", &finished, NULL), CP_OK);
    assert_int_equal(finished, 0);
    store_jobs_hold_results(false);
    assert_string_equal(pg_test_value("SELECT substr(encode(pixel_hash, 'hex'), 1, 4)"
                                      " FROM instances"), "1111");
    assert_string_equal(pg_test_value("SELECT state FROM jobs"
                                      " WHERE id = (SELECT max(id) FROM jobs)"), "running");
    /* sent at once again, the connection still usable */
    assert_int_equal(store_jobs_done_batch(pg, &id, 1, "w", &finished, NULL), CP_OK);
    assert_int_equal(finished, 1);
    store_pg_close(pg);
}

/* A job batch that has recorded an instance's normalization (cp_set_normalized, its
 * transaction still open) does not hold up an ingest that links a copy to that instance:
 * duplicate_of's foreign key takes a KEY SHARE lock on it. With FOR UPDATE there, the
 * ingest waited for the batch while the batch, going on to the copy's pixel hash, waited
 * for the ingest's 'pix:' lock: a deadlock. */
void jobs_set_normalized_lets_copies_link(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    one_instance();
    PGconn *batch = pg_test_connect(), *ingest = pg_test_connect();
    pg_test_exec(batch, "BEGIN");
    pg_test_exec(batch, "SELECT cp_set_normalized((SELECT id FROM instances), NULL, NULL, NULL,"
                  " NULL, '{}', 'none', 0)");
    pg_test_exec(ingest, "SET lock_timeout = '3s'");
    pg_test_exec(ingest, "INSERT INTO instances (series_id, sop_class_uid, sop_instance_uid,"
                   " transfer_syntax, size, blob_address, calling_ae, peer_address,"
                   " duplicate_of) SELECT series_id, sop_class_uid, '1.2.3.4.6',"
                   " transfer_syntax, size, blob_address, calling_ae, peer_address, id"
                   " FROM instances");
    pg_test_exec(batch, "COMMIT");
    assert_string_equal(pg_test_value("SELECT count(duplicate_of) FROM instances"), "1");
    PQfinish(ingest);
    PQfinish(batch);
    store_pg_close(pg);
}

/* cp_ingest of one CT instance of study 1.2.9 (patient MRN9), blob address byte b, with
 * the intake's p_keeps (SQL: NULL, true or false). */
static void ingest_call(char *out, size_t cap, const char *sop, int b, const char *keeps)
{
    snprintf(out, cap,
             "SELECT kind FROM cp_ingest('1.2.840.10008.5.1.4.1.1.2', '%s', '1.2.9', '1.2.9.1',"
             " 'MRN9', 'HOSP', 'Doe^Jane', '19700101', 'F', '', '', '', '', '', '', 'CT', '1',"
             " '1', '1.2.840.10008.1.2.1', 'MOD', 'CASEPORT', '127.0.0.1',"
             " decode(repeat('%02x', 32), 'hex'), 10, 'k1', NULL, NULL, NULL, NULL,"
             " 'no pixel data', %s, 'MOD')",
             sop, b, keeps);
}

static const char *jobs_of(const char *sop)
{
    static char q[256];
    snprintf(q, sizeof q, "SELECT count(*) FROM jobs j JOIN instances i ON i.id = j.instance_id"
                          " WHERE j.kind = 'normalize' AND i.sop_instance_uid = '%s'", sop);
    return pg_test_value(q);
}

/* Normalization settled at ingest (0021) against a case attachment of the study, which
 * changes the identity the instances are coerced to. The attachment waits for an ingest
 * in flight, then queues the job for it; an ingest after it coerces (its job); an instance
 * whose normalize job has not run yet gets another, as a claimed one may have read the
 * identity before the attachment. Without the study's lock the attachment does not wait
 * and the instance normalized in flight keeps the sender's identity. */
void jobs_case_attachment_waits_for_ingest(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    char q[1024];
    ingest_call(q, sizeof q, "1.2.9.1.1", 1, "NULL"); /* its job is queued */
    pg_test_sql(q, false);
    pg_test_sql("INSERT INTO cases (token, patient_name, condition, subspecialty, first_opinion)"
                " VALUES ('CP-0000-00', 'Case^Pat', 'c', (SELECT min(code) FROM subspecialties),"
                " 'first')",
                false);
    assert_string_equal(jobs_of("1.2.9.1.1"), "1");
    PGconn *ingest = pg_test_connect(), *attach = pg_test_connect();
    pg_test_exec(ingest, "BEGIN");
    ingest_call(q, sizeof q, "1.2.9.1.2", 2, "true");
    pg_test_exec(ingest, q);
    assert_int_equal(PQsendQuery(attach, "INSERT INTO case_records (case_id, study_id,"
                                         " matched_by, confidence) SELECT c.id, s.id,"
                                         " 'navigator', 1 FROM cases c, studies s"),
                     1);
    snprintf(q, sizeof q, "SELECT coalesce(wait_event_type, '') FROM pg_stat_activity"
                          " WHERE pid = %d", PQbackendPID(attach));
    const char *wait = "";
    for (int i = 0; i < 500 && strcmp(wait, "Lock") != 0; i++) {
        wait = pg_test_value(q);
        if (strcmp(wait, "Lock") != 0)
            usleep(10000);
    }
    assert_string_equal(wait, "Lock"); /* the attachment waits for the ingest */
    pg_test_exec(ingest, "COMMIT");
    PGresult *r;
    while ((r = PQgetResult(attach)) != NULL) {
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
    assert_string_equal(pg_test_value("SELECT verified FROM normalized"),
                        "the original needs no change");
    assert_string_equal(jobs_of("1.2.9.1.2"), "1"); /* queued by the attachment */
    assert_string_equal(jobs_of("1.2.9.1.1"), "2"); /* its first may have been claimed */
    ingest_call(q, sizeof q, "1.2.9.1.3", 3, "true");
    pg_test_sql(q, false);
    assert_string_equal(jobs_of("1.2.9.1.3"), "1"); /* the case's identity: coerced */
    assert_string_equal(pg_test_value("SELECT count(*) FROM normalized"), "1");
    PQfinish(attach);
    PQfinish(ingest);
    store_pg_close(pg);
}

/* A normalize job claimed before its study was attached to a case read the identity
 * without the case; the attachment queued a newer job. Whichever finishes last, the newer
 * job's result stands: the older one's is dropped (0021). */
void jobs_stale_normalize_result_dropped(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    one_instance();
    store_job_t old, newer;
    assert_int_equal(store_jobs_claim(pg, kinds, "w1", 60, &old, NULL), CP_OK);
    int64_t id;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", old.instance_id, 3, &id, NULL), CP_OK);
    assert_int_equal(store_jobs_claim(pg, kinds, "w2", 60, &newer, NULL), CP_OK);
    assert_int_equal(newer.id, id);
    assert_int_equal(store_jobs_set_normalized(pg, newer.instance_id, newer.id, NULL, 0, NULL,
                                               NULL, NULL, 0, "newer", NULL), CP_OK);
    assert_int_equal(store_jobs_set_normalized(pg, old.instance_id, old.id, NULL, 0, NULL, NULL,
                                               NULL, 0, "older", NULL), CP_OK);
    assert_string_equal(pg_test_value("SELECT verified FROM normalized"), "newer");
    store_pg_close(pg);
}
