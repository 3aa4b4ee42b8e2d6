/* tests/unit/pg/pg_test.c -- the PostgreSQL unit tests' shared helpers
 * (pg_test.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "pg_test.h"

store_pg_t *pg_test_open(int pool_size) {
  const char *ci = getenv("CASEPORT_TEST_CONNINFO");
  assert_non_null(ci);
  store_pg_t *pg;
  assert_int_equal(store_pg_open(ci, pool_size, &pg, NULL), CP_OK);
  int applied;
  assert_int_equal(store_pg_migrate(pg, &applied, NULL), CP_OK);
  return pg;
}

PGconn *pg_test_connect(void) {
  PGconn *c = PQconnectdb(getenv("CASEPORT_TEST_CONNINFO"));
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  return c;
}

void pg_test_exec(PGconn *c, const char *q) {
  PGresult *r = PQexec(c, q);
  if (PQresultStatus(r) != PGRES_COMMAND_OK &&
      PQresultStatus(r) != PGRES_TUPLES_OK)
    fail_msg("%s: %s", q, PQerrorMessage(c));
  PQclear(r);
}

void pg_test_sql(const char *q, bool replica) {
  PGconn *c = pg_test_connect();
  if (replica)
    PQclear(PQexec(c, "SET session_replication_role = replica"));
  pg_test_exec(c, q);
  PQfinish(c);
}

const char *pg_test_value(const char *q) {
  static char out[256];
  PGconn *c = pg_test_connect();
  PGresult *r = PQexec(c, q);
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
    fail_msg("%s: %s", q, PQerrorMessage(c));
  snprintf(out, sizeof out, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  PQfinish(c);
  return out;
}
