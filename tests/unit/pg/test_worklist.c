/* The worklist as the database orders it (migration 0015, store_cases_worklist) against
 * the C that defines the order (case_sla, case_sla_urgency_cmp): 90 cases with clocks in
 * every status -- not started, on track, at risk, overdue, met, missed, stopped, paused --
 * must come out in the same order, page by page. And the audit trail's group commit:
 * appenders on many threads, each returning only once its row is committed, leave one
 * unbroken chain with every row. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "case.h"
#include "pg_test.h"
#include "store_audit.h"
#include "store_cases.h"

#define N_CASES 90

static const store_actor_t operator_ = {0, "operator", "cli"};

/* Cases of one navigator whose clocks are spread over every status: state, start times,
 * completion and pauses drawn from i by small primes, relative to now. */
static int64_t make_cases(store_pg_t *pg)
{
    store_account_t a = {0};
    snprintf(a.username, sizeof a.username, "nina");
    snprintf(a.role, sizeof a.role, "navigator");
    snprintf(a.password_hash, sizeof a.password_hash, "$argon2id$v=19$m=19456,t=2,p=1$x$y");
    int64_t nav = 0;
    assert_int_equal(store_cases_account_add(pg, &a, NULL, &operator_, &nav, NULL), CP_OK);
    for (int i = 0; i < N_CASES; i++) {
        char token[CASE_TOKEN_LEN + 1];
        case_token_make((uint32_t)(i * 7919 + 13), token);
        store_case_new_t n = {.token = token, .patient_name = "Doe^Jane", .condition = "x",
                              .subspecialty = "neuro-oncology", .first_opinion = "x",
                              .navigator_id = nav};
        int64_t id;
        assert_int_equal(store_cases_create(pg, &n, &operator_, &id, NULL), CP_OK);
    }
    pg_test_sql("UPDATE cases SET"
                " state = (ARRAY['registered', 'collecting_records', 'records_complete',"
                "   'under_review', 'consultation_scheduled', 'opinion_drafted',"
                "   'opinion_published', 'closed', 'withdrawn'])[1 + id % 9],"
                " registered_at = now() - (id * 37 % 30) * interval '1 day'"
                "   - (id * 13 % 24) * interval '1 hour'",
                false);
    pg_test_sql("UPDATE cases SET"
                " collecting_at = CASE WHEN id % 9 >= 1 AND id % 11 <> 0"
                "   THEN registered_at + (id % 3) * interval '1 day' END,"
                " paused_seconds = (id % 4) * 3600 * (id % 5),"
                " paused_at = CASE WHEN id % 5 = 0 THEN now() - (id % 3) * interval '1 day' END",
                false);
    pg_test_sql("UPDATE cases SET"
                " records_done_at = CASE WHEN collecting_at IS NOT NULL AND id % 9 BETWEEN 2 AND 7"
                "   THEN collecting_at + (id % 8) * interval '1 day' END,"
                " published_at = CASE WHEN id % 9 IN (6, 7) THEN registered_at"
                "   + (8 + id % 10) * interval '1 day' END",
                false);
    return nav;
}

typedef struct rows {
    store_case_row_t v[N_CASES];
    case_sla_t sla[N_CASES];
    int n;
    int64_t now;
} rows_t;

static bool take(void *ud, const store_case_row_t *r)
{
    rows_t *x = ud;
    assert_true(x->n < N_CASES);
    x->v[x->n] = *r;
    case_clock_t k = {.registered_at = r->registered_at, .collecting_at = r->collecting_at,
                      .records_done_at = r->records_done_at, .published_at = r->published_at,
                      .paused_at = r->paused_at, .paused_seconds = r->paused_seconds,
                      .records_days = 5, .opinion_days = 14};
    assert_true(case_state_parse(r->state, &k.state));
    case_sla(&k, x->now, &x->sla[x->n]);
    x->n++;
    return true;
}

static rows_t *c_order;

static int by_c(const void *a, const void *b)
{
    const store_case_row_t *x = a, *y = b;
    const case_sla_t *sx = &c_order->sla[x - c_order->v], *sy = &c_order->sla[y - c_order->v];
    int c = case_sla_urgency_cmp(sx, sy);
    return c != 0 ? c : x->id < y->id ? -1 : 1;
}

void cases_worklist_order_as_in_c(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(4);
    int64_t nav = make_cases(pg);
    int64_t now = (int64_t)time(NULL);
    static rows_t all, page;
    all = (rows_t){.now = now};
    assert_int_equal(store_cases_list(pg, STORE_CASES_OF_NAVIGATOR, nav, take, &all, NULL),
                     CP_OK);
    assert_int_equal(all.n, N_CASES);
    /* sort indexes by the C comparator (qsort moves rows: sort a copy with its slas) */
    int idx[N_CASES];
    for (int i = 0; i < N_CASES; i++)
        idx[i] = i;
    c_order = &all;
    for (int i = 1; i < N_CASES; i++) /* insertion sort on indexes: stable, no row moves */
        for (int j = i; j > 0 && by_c(&all.v[idx[j - 1]], &all.v[idx[j]]) > 0; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    int statuses = 0;
    for (int i = 0; i < N_CASES; i++)
        statuses |= 1 << all.sla[i].records | 1 << all.sla[i].opinion;
    assert_int_equal(statuses, 0x7f); /* all seven statuses occur */
    for (int64_t off = 0; off < N_CASES; off += 25) {
        page = (rows_t){.now = now};
        store_worklist_page_t p = {STORE_CASES_OF_NAVIGATOR, nav, now, 5, 14, off, 25};
        int64_t total = 0;
        assert_int_equal(store_cases_worklist(pg, &p, take, &page, &total, NULL), CP_OK);
        assert_int_equal(total, N_CASES);
        assert_int_equal(page.n, N_CASES - off < 25 ? N_CASES - off : 25);
        for (int i = 0; i < page.n; i++)
            if (page.v[i].id != all.v[idx[off + i]].id)
                fail_msg("position %d: the database has case %lld (%s/%s), C case %lld (%s/%s)",
                         (int)(off + i), (long long)page.v[i].id,
                         case_sla_name(page.sla[i].records), case_sla_name(page.sla[i].opinion),
                         (long long)all.v[idx[off + i]].id,
                         case_sla_name(all.sla[idx[off + i]].records),
                         case_sla_name(all.sla[idx[off + i]].opinion));
    }
    page = (rows_t){.now = now};
    store_worklist_page_t past = {STORE_CASES_OF_NAVIGATOR, nav, now, 5, 14, 500, 10};
    int64_t total = 0;
    assert_int_equal(store_cases_worklist(pg, &past, take, &page, &total, NULL), CP_OK);
    assert_int_equal(page.n, 0);
    assert_int_equal(total, N_CASES);
    store_pg_close(pg);
}

#define APPENDERS 8
#define EACH 40

typedef struct appender {
    store_audit_log_t *log;
    int k;
    cp_err_t err;
} appender_t;

static void *append_many(void *ud)
{
    appender_t *a = ud;
    for (int i = 0; i < EACH && a->err == CP_OK; i++) {
        char obj[32];
        snprintf(obj, sizeof obj, "thread %d row %d", a->k, i);
        store_audit_row_t row = {0, obj, "case.read", "allowed"};
        /* the last appender's rows are bad (not UTF-8): they must fail alone */
        store_actor_t by = {0, "navigator", a->k == APPENDERS - 1 ? "\xff" : "127.0.0.1"};
        a->err = store_audit_log_append(a->log, &row, &by, NULL);
    }
    return NULL;
}

void audit_group_commit_keeps_the_chain(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(4);
    store_audit_log_t *log = store_audit_log_new(pg);
    pthread_t t[APPENDERS];
    appender_t a[APPENDERS];
    for (int k = 0; k < APPENDERS; k++) {
        a[k] = (appender_t){log, k, CP_OK};
        assert_int_equal(pthread_create(&t[k], NULL, append_many, &a[k]), 0);
    }
    for (int k = 0; k < APPENDERS; k++) {
        pthread_join(t[k], NULL);
        if (k == APPENDERS - 1)
            assert_int_not_equal(a[k].err, CP_OK);
        else
            assert_int_equal(a[k].err, CP_OK);
    }
    store_audit_log_free(log);
    store_audit_report_t rep;
    assert_int_equal(store_audit_verify(pg, NULL, &rep, NULL), CP_OK);
    assert_int_equal(rep.rows, (APPENDERS - 1) * EACH);
    /* a row with quotes, backslashes and braces survives the array literal intact */
    store_audit_row_t odd = {0, "a \"quoted\" \\ {brace}, comma", "case.read", "allowed"};
    store_actor_t by = {0, "navigator", "NULL"};
    assert_int_equal(store_audit_append(pg, &odd, &by, NULL), CP_OK);
    assert_string_equal(pg_test_value("SELECT object FROM audit ORDER BY seq DESC LIMIT 1"),
                        odd.object);
    assert_string_equal(pg_test_value("SELECT source FROM audit ORDER BY seq DESC LIMIT 1"),
                        "NULL");
    assert_string_equal(pg_test_value("SELECT actor_id IS NULL FROM audit ORDER BY seq DESC"
                                      " LIMIT 1"),
                        "t");
    assert_int_equal(store_audit_verify(pg, NULL, &rep, NULL), CP_OK);
    store_pg_close(pg);
}
