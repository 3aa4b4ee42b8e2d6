/* tests/unit/pg/pg_test.c -- the PostgreSQL unit tests' shared helpers
 * (pg_test.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "pg_test.h"
#include "store_audit.h"

static char key_dir[64], key_path[96];

static void remove_key(void) {
  unlink(key_path);
  rmdir(key_dir);
}

const char *pg_test_key(void) {
  if (key_path[0] == '\0') {
    snprintf(key_dir, sizeof key_dir, "/tmp/caseport-pg-key.XXXXXX");
    assert_non_null(mkdtemp(key_dir));
    snprintf(key_path, sizeof key_path, "%s/kek", key_dir);
    assert_int_equal(store_blob_keygen(key_path, NULL), CP_OK);
    atexit(remove_key);
  }
  return key_path;
}

store_pg_t *pg_test_open_unkeyed(int pool_size) {
  const char *ci = getenv("CASEPORT_TEST_CONNINFO");
  assert_non_null(ci);
  store_pg_t *pg;
  assert_int_equal(store_pg_open(ci, pool_size, &pg, NULL), CP_OK);
  int applied;
  assert_int_equal(store_pg_migrate(pg, &applied, NULL), CP_OK);
  return pg;
}

store_pg_t *pg_test_open(int pool_size) {
  store_pg_t *pg = pg_test_open_unkeyed(pool_size);
  assert_int_equal(store_audit_load_key(pg, pg_test_key(), NULL), CP_OK);
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
