/* Accounts and cases against a real PostgreSQL: a case's moves with their events, clocks
 * and audit rows; a move raced by another is refused. (The audit trail's own tests:
 * test_audit.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "pg_test.h"
#include "store_audit.h"
#include "store_cases.h"

static const store_actor_t operator_ = {0, "operator", "cli"};

static int64_t add_account(store_pg_t *pg, const char *user, const char *role)
{
    store_account_t a = {0};
    snprintf(a.username, sizeof a.username, "%s", user);
    snprintf(a.role, sizeof a.role, "%s", role);
    snprintf(a.password_hash, sizeof a.password_hash, "$argon2id$v=19$m=19456,t=2,p=1$x$y");
    int64_t id = 0;
    assert_int_equal(store_cases_account_add(pg, &a, role[0] == 's' ? "neuro-oncology" : NULL,
                                             &operator_, &id, NULL),
                     CP_OK);
    return id;
}

static int64_t open_case(store_pg_t *pg, const char *token, int64_t nav)
{
    store_case_new_t n = {.token = token, .patient_name = "Doe^Jane", .birth_date = "19600101",
                          .sex = "F", .condition = "glioblastoma",
                          .subspecialty = "neuro-oncology", .first_opinion = "GBM, resected",
                          .navigator_id = nav};
    int64_t id = 0;
    assert_int_equal(store_cases_create(pg, &n, &operator_, &id, NULL), CP_OK);
    return id;
}

void cases_accounts_unique_and_found(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    int64_t id = add_account(pg, "nina", "navigator");
    store_account_t a = {0};
    snprintf(a.username, sizeof a.username, "nina");
    snprintf(a.role, sizeof a.role, "navigator");
    snprintf(a.password_hash, sizeof a.password_hash, "$argon2id$x");
    assert_int_equal(store_cases_account_add(pg, &a, NULL, &operator_, NULL, NULL), CP_EEXIST);
    store_account_t got;
    assert_int_equal(store_cases_account_get(pg, "nina", &got, NULL), CP_OK);
    assert_int_equal(got.id, id);
    assert_string_equal(got.role, "navigator");
    assert_int_equal(store_cases_account_get(pg, "nobody", &got, NULL), CP_ENOENT);
    add_account(pg, "sam", "specialist");
    assert_string_equal(pg_test_value("SELECT string_agg(code, ',') FROM account_subspecialties"),
                        "neuro-oncology");
    store_pg_close(pg);
}

void cases_moves_events_clocks_audit(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    int64_t nav = add_account(pg, "nina", "navigator");
    int64_t id = open_case(pg, "CP-7K3M-9Q", nav);
    store_case_new_t dup = {.token = "CP-7K3M-9Q", .patient_name = "x", .condition = "x",
                            .subspecialty = "cardiology", .first_opinion = "x"};
    int64_t other;
    assert_int_equal(store_cases_create(pg, &dup, &operator_, &other, NULL), CP_EEXIST);
    store_actor_t by = {nav, "navigator", "127.0.0.1"};
    assert_int_equal(store_cases_move(pg, id, "registered", "collecting_records", "asked", &by,
                                      NULL),
                     CP_OK);
    /* a second move from the old state finds the case moved */
    assert_int_equal(store_cases_move(pg, id, "registered", "collecting_records", "again", &by,
                                      NULL),
                     CP_ENOENT);
    assert_int_equal(store_cases_pause(pg, id, true, "patient abroad", &by, NULL), CP_OK);
    assert_int_equal(store_cases_pause(pg, id, true, "twice", &by, NULL), CP_ENOENT);
    assert_int_equal(store_cases_pause(pg, id, false, "back", &by, NULL), CP_OK);
    assert_int_equal(store_cases_move(pg, id, "collecting_records", "records_complete", "all in",
                                      &by, NULL),
                     CP_OK);
    store_case_row_t c;
    assert_int_equal(store_cases_get(pg, "CP-7K3M-9Q", &c, NULL), CP_OK);
    assert_string_equal(c.state, "records_complete");
    assert_string_equal(c.navigator, "nina");
    assert_true(c.collecting_at >= c.registered_at && c.collecting_at > 0);
    assert_true(c.records_done_at >= c.collecting_at);
    assert_int_equal(c.paused_at, 0);
    assert_string_equal(pg_test_value("SELECT count(*) FROM case_events"), "5");
    /* create, 2 moves, pause, resume: one audit row each, plus the account */
    assert_string_equal(pg_test_value("SELECT count(*) FROM audit WHERE case_id IS NOT NULL"), "5");
    store_audit_report_t rep;
    assert_int_equal(store_audit_verify(pg, NULL, &rep, NULL), CP_OK);
    assert_int_equal(rep.rows, 6);
    assert_int_equal(rep.keyed, 6);
    store_pg_close(pg);
}
