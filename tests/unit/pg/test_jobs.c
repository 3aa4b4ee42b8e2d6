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

#include <cmocka.h>
#include <libpq-fe.h>

#include "store_jobs.h"

static const char *const kinds[] = {"normalize", NULL};

static store_pg_t *open_db(void)
{
    const char *ci = getenv("CASEPORT_TEST_CONNINFO");
    assert_non_null(ci);
    store_pg_t *pg;
    assert_int_equal(store_pg_open(ci, 2, &pg, NULL), CP_OK);
    int applied;
    assert_int_equal(store_pg_migrate(pg, &applied, NULL), CP_OK);
    return pg;
}

/* Runs SQL directly (to move the clock of a job: leases and back-off in the past). */
static void sql(const char *q)
{
    PGconn *c = PQconnectdb(getenv("CASEPORT_TEST_CONNINFO"));
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, q);
    assert_true(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(c);
}

/* The first column of the first row of q, as text (static storage). */
static const char *sql_value(const char *q)
{
    static char out[256];
    PGconn *c = PQconnectdb(getenv("CASEPORT_TEST_CONNINFO"));
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, q);
    assert_true(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
    snprintf(out, sizeof out, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return out;
}

void jobs_claim_takes_oldest_due_once(void **state)
{
    (void)state;
    store_pg_t *pg = open_db();
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
    store_pg_t *pg = open_db();
    int64_t a;
    store_job_t j;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 3, &a, NULL), CP_OK);
    assert_int_equal(store_jobs_claim(pg, kinds, "crashed", 60, &j, NULL), CP_OK);
    assert_int_equal(store_jobs_claim(pg, kinds, "w2", 60, &j, NULL), CP_ENOENT);
    sql("UPDATE jobs SET lease_until = now() - interval '1 second'"); /* the worker died */
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
    store_pg_t *pg = open_db();
    int64_t a;
    store_job_t j;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 2, &a, NULL), CP_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(store_jobs_claim(pg, kinds, "crashing", 60, &j, NULL), CP_OK);
        sql("UPDATE jobs SET lease_until = now() - interval '1 second'"); /* it died */
    }
    assert_int_equal(store_jobs_claim(pg, kinds, "next", 60, &j, NULL), CP_ENOENT);
    assert_string_equal(sql_value("SELECT state || ': ' || last_error FROM jobs"),
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
    store_pg_t *pg = open_db();
    int64_t a;
    store_job_t j;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 2, &a, NULL), CP_OK);
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_OK);
    assert_int_equal(store_jobs_fail(pg, a, "w", "decoder said no", false, NULL), CP_OK);
    /* backed off: not due yet */
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_ENOENT);
    sql("UPDATE jobs SET run_after = now() - interval '1 second'");
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_OK);
    assert_int_equal(j.attempts, 2);
    assert_int_equal(store_jobs_fail(pg, a, "w", "decoder said no", false, NULL), CP_OK);
    sql("UPDATE jobs SET run_after = now() - interval '1 second'");
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

void jobs_only_the_lease_holder_finishes(void **state)
{
    (void)state;
    store_pg_t *pg = open_db();
    int64_t a;
    store_job_t j;
    assert_int_equal(store_jobs_enqueue(pg, "normalize", 0, 3, &a, NULL), CP_OK);
    assert_int_equal(store_jobs_done(pg, a, "w", NULL), CP_ENOENT); /* not claimed */
    assert_int_equal(store_jobs_claim(pg, kinds, "w", 60, &j, NULL), CP_OK);
    assert_int_equal(store_jobs_fail(pg, a, "intruder", "x", false, NULL), CP_ENOENT);
    assert_int_equal(store_jobs_done(pg, a, "w", NULL), CP_OK);
    assert_int_equal(store_jobs_done(pg, a, "w", NULL), CP_ENOENT); /* once */
    store_pg_close(pg);
}
