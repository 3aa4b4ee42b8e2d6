# tests/e2e/pg_unit.sh BINARY TEST: runs one PostgreSQL-backed unit test with a database of
# its own (the cluster tools/test shares, or a private one), in CASEPORT_TEST_CONNINFO.
. "$SRC/tests/e2e/lib.sh"
e2e_database
CASEPORT_TEST_CONNINFO="dbname=$db" "$1" "$2"
