/* storage/store_pg_int.h -- what store_pg.c lends the other PostgreSQL modules of the
 * storage layer (store_qr.c): pooled, parameterised statements. */
#ifndef CASEPORT_STORE_PG_INT_H
#define CASEPORT_STORE_PG_INT_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_pg.h"

/* Called per row (the row is row 0 of r); false stops (the rest is drained). */
typedef bool (*store__row_fn)(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei);
/* Runs sql with n text parameters on a pooled connection, rows one at a time. */
cp_err_t store__pg_stream(store_pg_t *pg, const char *sql, int n, const char *const *params,
                          const char *what, store__row_fn row, void *ud, cp_errinfo_t *ei);
/* A statement prepared once per pooled connection (parsed and planned once, not at every
 * call): for the statements the job workers run per job. id: 0..31, unique. In a batch or
 * a transaction (below), name NULL means a statement sent unprepared (id unused). */
typedef struct store__named {
    int id;
    const char *name, *sql;
} store__named_t;
cp_err_t store__pg_stream_named(store_pg_t *pg, const store__named_t *st, int n,
                                const char *const *params, const char *what, store__row_fn row,
                                void *ud, cp_errinfo_t *ei);
/* The same, the rows arriving as one result: rows is called once with all of them
 * (PQntuples) -- for a bounded page, where a result a row costs allocations a row. */
cp_err_t store__pg_page_named(store_pg_t *pg, const store__named_t *st, int n,
                              const char *const *params, const char *what, store__row_fn rows,
                              void *ud, cp_errinfo_t *ei);
/* Named statements sent together in libpq's pipeline mode with one Sync: one round trip,
 * and one implicit transaction (a failure leaves none of them done). Parameters are
 * copied when added; row is called with the statement's rows (PQntuples of the result
 * it is given; all of them at once, or one at a time), never for none (row may be NULL). */
typedef struct store__batch store__batch_t;
store__batch_t *store__batch_new(void);
void store__batch_free(store__batch_t *b); /* NULL: no-op */
void store__batch_add(store__batch_t *b, const store__named_t *st, int n,
                      const char *const *params, store__row_fn row, void *ud);
int store__batch_len(const store__batch_t *b);
/* Runs what was added on one pooled connection, then empties the batch either way. */
cp_err_t store__batch_run(store_pg_t *pg, store__batch_t *b, const char *what, cp_errinfo_t *ei);
/* A transaction on one pooled connection, sent in steps: what was added goes out together
 * in pipeline mode (BEGIN before the first step's) and each step waits for all of its
 * results, so a step costs one round trip, however many statements it holds. A statement
 * whose name is NULL is sent unprepared. After a failed step the transaction can only be
 * ended, and is rolled back. */
typedef struct store__tx store__tx_t;
cp_err_t store__tx_open(store_pg_t *pg, store__tx_t **tx, cp_errinfo_t *ei);
void store__tx_add(store__tx_t *tx, const store__named_t *st, int n, const char *const *params,
                   store__row_fn row, void *ud);
cp_err_t store__tx_step(store__tx_t *tx, const char *what, cp_errinfo_t *ei);
/* Commits (with what was added since the last step) when commit is true and no step
 * failed, else rolls back; releases the connection and frees tx. */
cp_err_t store__tx_end(store__tx_t *tx, bool commit, const char *what, cp_errinfo_t *ei);
/* The audit trail's MAC key (store_audit_load_key), or NULL when none was loaded. Set
 * before the pool is shared between threads. */
void store__pg_set_audit_key(store_pg_t *pg, const uint8_t key[32]);
const uint8_t *store__pg_audit_key(const store_pg_t *pg);
/* storage/store_audit.c: a write that carries its audit rows. sql's rows end with their
 * audit row's seven columns (actor_id, role, case_id, object, action, outcome, source);
 * row gets each result as store__pg_stream would (a statement of at most one row). The
 * rows are chained, keyed and appended in the write's own transaction, so neither is
 * ever committed without the other. CP_EKEY without the audit key. */
cp_err_t store__audited(store_pg_t *pg, const char *sql, int n, const char *const *params,
                        const char *what, store__row_fn row, void *ud, cp_errinfo_t *ei);
/* The same for a statement whose first row is expected (store__one_row). */
cp_err_t store__audited_one(store_pg_t *pg, const char *sql, int n, const char *const *params,
                            const char *what, const char *none, cp_errinfo_t *ei);
/* Runs a statement that returns nothing of interest. */
cp_err_t store__pg_exec(store_pg_t *pg, const char *sql, int n, const char *const *params,
                        const char *what, cp_errinfo_t *ei);
/* Row callbacks for store__pg_stream: the first column of the first row as a number
 * (ud: store__first_t), or a count of the rows (ud: int). */
typedef struct store__first {
    bool found;
    int64_t id;
} store__first_t;
bool store__first_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei);
bool store__count_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei);
/* A bytea parameter in text form: "\x" and two hex digits a byte (out: 2n + 3 bytes). */
void store__bytea_hex(const uint8_t *b, size_t n, char *out);
/* An id as a bigint parameter in buf; NULL (SQL NULL) when id <= 0. */
const char *store__id_param(int64_t id, char buf[24]);
/* Column col of the first row (or of row) as a number (0 when NULL). */
int64_t store__num(PGresult *r, int col);
int64_t store__num_at(PGresult *r, int row, int col);
/* A statement whose first row is expected: CP_ENOENT with the message none if it has none. */
cp_err_t store__one_row(store_pg_t *pg, const char *sql, int n, const char *const *params,
                        const char *what, const char *none, cp_errinfo_t *ei);
bool store__utf8_valid(const char *s);
/* A malloc'd copy of s with every byte that is not part of valid UTF-8 as U+FFFD. */
char *store__utf8_clean(const char *s);
#endif
