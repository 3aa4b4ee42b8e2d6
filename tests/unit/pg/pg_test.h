/* tests/unit/pg/pg_test.h -- what the PostgreSQL unit tests share: each test
 * runs with a fresh database in CASEPORT_TEST_CONNINFO (tests/e2e/pg_unit.sh).
 */
#ifndef CASEPORT_PG_TEST_H
#define CASEPORT_PG_TEST_H
#include <libpq-fe.h>

#include "store_pg.h"

/* A pool of pool_size connections to the test database, migrated, with the audit
 * trail's key (from pg_test_key's file) loaded. */
store_pg_t *pg_test_open(int pool_size);
/* The same without the audit trail's key: every audited write must fail. */
store_pg_t *pg_test_open_unkeyed(int pool_size);
/* A KEK file of the test's own (made once, removed at exit). */
const char *pg_test_key(void);
/* Runs SQL on its own connection (to set a clock back, to look); with replica,
 * as a superuser whose triggers do not fire: what tampering looks like. */
void pg_test_sql(const char *q, bool replica);
/* A connection of its own to the test database (a transaction held open beside the
 * pool's), and a statement on it that must succeed. */
PGconn *pg_test_connect(void);
void pg_test_exec(PGconn *c, const char *q);
/* The first column of the one row q returns (a static buffer). */
const char *pg_test_value(const char *q);
#endif
