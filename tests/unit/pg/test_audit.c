/* The audit trail against a real PostgreSQL, tampered with as its superuser would
 * (storage/store_audit*.c, migration 0029): every row keyed with HMAC-SHA-256, recomputed
 * here independently (the text by the SQL of 0010, the key and the MAC by this file);
 * an edit, a chain re-hashed without the key, a downgrade to unkeyed rows, a row taken
 * out and a tail cut off each found and named; rows from before 0029 still verify; no
 * row written without the key. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "pg_test.h"
#include "store_audit.h"
#include "store_cases.h"

static const store_actor_t operator_ = {0, "operator", "cli"};

static void append_n(store_pg_t *pg, int n)
{
    store_actor_t by = {7, "navigator", "10.0.0.9"};
    for (int i = 0; i < n; i++) {
        char obj[32];
        snprintf(obj, sizeof obj, "case %d", i);
        store_audit_row_t r = {0, obj, "case.read", i % 2 ? "allowed" : "denied"};
        assert_int_equal(store_audit_append(pg, &r, &by, NULL), CP_OK);
    }
}

static store_audit_finding_kind_t verify_fails(store_pg_t *pg, const char *anchor_path,
                                               int64_t *seq)
{
    store_audit_report_t rep;
    assert_int_equal(store_audit_verify(pg, anchor_path, &rep, NULL), CP_ETAMPER);
    assert_true(rep.findings > 0);
    for (int64_t i = 0; i < rep.findings && i < STORE_AUDIT_FINDINGS_MAX; i++)
        print_message("finding: row %lld: %s: %s\n", (long long)rep.finding[i].seq,
                      store_audit_kind_name(rep.finding[i].kind), rep.finding[i].why);
    *seq = rep.finding[0].seq;
    return rep.finding[0].kind;
}

static void verify_ok(store_pg_t *pg, const char *anchor_path, int64_t rows, int64_t keyed)
{
    store_audit_report_t rep;
    assert_int_equal(store_audit_verify(pg, anchor_path, &rep, NULL), CP_OK);
    assert_int_equal(rep.findings, 0);
    assert_int_equal(rep.rows, rows);
    assert_int_equal(rep.keyed, keyed);
}

/* ---- anchors ---- */

static char anchor_dir[64], anchor_file[96];

static const char *anchors(void)
{
    snprintf(anchor_dir, sizeof anchor_dir, "/tmp/caseport-anchors.XXXXXX");
    assert_non_null(mkdtemp(anchor_dir));
    snprintf(anchor_file, sizeof anchor_file, "%s/audit/anchors", anchor_dir);
    return anchor_file;
}

static void anchors_gone(void)
{
    char dir[128];
    unlink(anchor_file);
    snprintf(dir, sizeof dir, "%s/audit", anchor_dir);
    rmdir(dir);
    rmdir(anchor_dir);
}

static void anchor_now(store_pg_t *pg, const char *path)
{
    store_audit_anchor_t a;
    assert_int_equal(store_audit_head(pg, &a, NULL), CP_OK);
    assert_int_equal(store_audit_anchor_append(path, &a, NULL), CP_OK);
}

/* Superuser SQL: rows from..to edited and marked version, each hash from row from to row
 * to recomputed as the old trigger did (plain SHA-256 of cp_audit_text), linked to the
 * one before; the head moved to the last one when it is the last row. */
static void rehash(int from, int to, int version)
{
    char q[1024];
    snprintf(q, sizeof q,
             "UPDATE audit SET outcome = 'allowed', version = %d WHERE seq BETWEEN %d AND %d;"
             "DO $$ DECLARE r record; prev bytea; BEGIN"
             " SELECT hash INTO prev FROM audit WHERE seq = %d - 1;"
             " prev := coalesce(prev, decode(repeat('00', 32), 'hex'));"
             " FOR r IN SELECT seq FROM audit WHERE seq BETWEEN %d AND %d ORDER BY seq LOOP"
             "  UPDATE audit SET prev_hash = prev WHERE seq = r.seq;"
             "  UPDATE audit a SET hash = sha256(convert_to(cp_audit_text(a), 'UTF8'))"
             "   WHERE seq = r.seq RETURNING hash INTO prev;"
             " END LOOP;"
             " UPDATE audit_head SET hash = prev WHERE seq BETWEEN %d AND %d; END $$",
             version, from, to, from, from, to, from, to);
    pg_test_sql(q, true);
}

static void rehash_from(int from, int version)
{
    rehash(from, 1000000, version);
}

/* ---- the keyed hash, computed independently ---- */

static void audit_key(uint8_t key[32])
{
    FILE *f = fopen(pg_test_key(), "rb");
    uint8_t kek[32];
    assert_non_null(f);
    assert_int_equal(fread(kek, 1, 32, f), 32);
    fclose(f);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
    char digest[] = "SHA256", info[] = "caseport audit mac v2";
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
                      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, kek, 32),
                      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
                                                        strlen(info)),
                      OSSL_PARAM_construct_end()};
    assert_int_equal(EVP_KDF_derive(k, key, 32, p), 1);
    EVP_KDF_CTX_free(k);
    EVP_KDF_free(kdf);
}

void audit_rows_keyed_as_specified(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    append_n(pg, 3);
    /* non-ASCII text and no actor nor case, as the group commit writes them */
    store_audit_log_t *log = store_audit_log_new(pg);
    store_actor_t nobody = {0, "operator", "caf\xc3\xa9"};
    store_audit_row_t odd = {0, "\xc3\xa9t\xc3\xa9", "case.read", "allowed"};
    assert_int_equal(store_audit_log_append(log, &odd, &nobody, NULL), CP_OK);
    store_audit_log_free(log);
    verify_ok(pg, NULL, 4, 4);
    /* the text as 0010 defines it (version 2 in its prefix), the MAC with a key derived
     * here: each stored hash is HMAC-SHA-256 of it, linked to the row before */
    uint8_t key[32];
    audit_key(key);
    PGconn *c = pg_test_connect();
    PGresult *r = PQexec(c, "SELECT replace(cp_audit_text(a), 'caseport-audit-v1|',"
                            " 'caseport-audit-v2|'), encode(hash, 'hex'), version,"
                            " prev_hash = coalesce(lag(hash) OVER (ORDER BY seq),"
                            " decode(repeat('00', 32), 'hex')) FROM audit a ORDER BY seq");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 4);
    for (int i = 0; i < PQntuples(r); i++) {
        const char *text = PQgetvalue(r, i, 0);
        uint8_t mac[32];
        size_t n = 0;
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, 32,
                                  (const unsigned char *)text, strlen(text), mac, 32, &n));
        char hex[65];
        for (int k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", mac[k]);
        assert_string_equal(hex, PQgetvalue(r, i, 1));
        assert_string_equal(PQgetvalue(r, i, 2), "2");
        assert_string_equal(PQgetvalue(r, i, 3), "t");
    }
    PQclear(r);
    /* and the head names the last row */
    assert_string_equal(pg_test_value("SELECT h.seq = a.seq AND h.hash = a.hash FROM audit_head h"
                                      " JOIN audit a ON a.seq = (SELECT max(seq) FROM audit)"),
                        "t");
    PQfinish(c);
    store_pg_close(pg);
}

void audit_edit_and_removal_named(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    append_n(pg, 6);
    /* the table refuses edits outright */
    PGconn *conn = pg_test_connect();
    PGresult *r = PQexec(conn, "UPDATE audit SET outcome = 'allowed' WHERE seq = 3");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    PQfinish(conn);
    /* edited behind the trigger's back, its hash kept: that row, edited */
    int64_t seq;
    pg_test_sql("UPDATE audit SET outcome = 'allowed' WHERE seq = 3", true);
    assert_int_equal(verify_fails(pg, NULL, &seq), STORE_AUDIT_EDITED);
    assert_int_equal(seq, 3);
    pg_test_sql("UPDATE audit SET outcome = 'denied' WHERE seq = 3", true);
    verify_ok(pg, NULL, 6, 6);
    /* the last row edited: edited too (its hash is not an unkeyed one) */
    pg_test_sql("UPDATE audit SET object = 'case 9' WHERE seq = 6", true);
    assert_int_equal(verify_fails(pg, NULL, &seq), STORE_AUDIT_EDITED);
    assert_int_equal(seq, 6);
    pg_test_sql("UPDATE audit SET object = 'case 5' WHERE seq = 6", true);
    /* a row taken out */
    pg_test_sql("DELETE FROM audit WHERE seq = 4", true);
    assert_int_equal(verify_fails(pg, NULL, &seq), STORE_AUDIT_MISSING);
    assert_int_equal(seq, 4);
    store_pg_close(pg);
}

void audit_rehash_and_downgrade_named(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    append_n(pg, 8);
    const char *path = anchors();
    anchor_now(pg, path);
    /* the superuser's forgery: row 3 edited and the chain re-hashed from it, plainly */
    pg_test_sql("CREATE TABLE saved AS SELECT * FROM audit; CREATE TABLE saved_head AS"
                " SELECT * FROM audit_head",
                false);
    rehash_from(3, 2);
    int64_t seq;
    assert_int_equal(verify_fails(pg, NULL, &seq), STORE_AUDIT_REHASHED);
    assert_int_equal(seq, 3);
    /* the same, the rows marked unkeyed (version 1) to pass for rows from before 0029 */
    rehash_from(3, 1);
    assert_int_equal(verify_fails(pg, NULL, &seq), STORE_AUDIT_DOWNGRADE);
    assert_int_equal(seq, 3);
    /* ... and the head's note of where keyed rows begin moved past them: the chain alone
     * cannot tell any more (rows 1-2 keyed before an unkeyed 3 still can) */
    pg_test_sql("UPDATE audit_head SET keyed_from = 100", true);
    assert_int_equal(verify_fails(pg, NULL, &seq), STORE_AUDIT_DOWNGRADE);
    assert_int_equal(seq, 1);
    /* every row rewritten unkeyed: only an anchor taken before finds it */
    rehash_from(1, 1);
    verify_ok(pg, NULL, 8, 0);
    assert_int_equal(verify_fails(pg, path, &seq), STORE_AUDIT_UNANCHORED);
    assert_int_equal(seq, 8);
    pg_test_sql("TRUNCATE audit; INSERT INTO audit SELECT * FROM saved;"
                " UPDATE audit_head h SET seq = s.seq, hash = s.hash, keyed_from = s.keyed_from"
                " FROM saved_head s",
                true);
    verify_ok(pg, path, 8, 8);
    anchors_gone();
    store_pg_close(pg);
}

void audit_truncation_named_by_anchor(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    const char *path = anchors();
    anchor_now(pg, path); /* seq 0: nothing yet */
    append_n(pg, 5);
    anchor_now(pg, path);
    verify_ok(pg, path, 5, 5);
    store_audit_report_t rep;
    assert_int_equal(store_audit_verify(pg, path, &rep, NULL), CP_OK);
    assert_int_equal(rep.anchors, 2);
    /* rows cut off the end, the head left: the head names them */
    pg_test_sql("CREATE TABLE saved AS SELECT * FROM audit WHERE seq > 3;"
                " DELETE FROM audit WHERE seq > 3",
                true);
    int64_t seq;
    assert_int_equal(verify_fails(pg, NULL, &seq), STORE_AUDIT_TRUNCATED);
    assert_int_equal(seq, 4);
    /* ... and the head moved back to the last row left: the chain alone is whole, the
     * anchor is not */
    pg_test_sql("UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit WHERE seq = 3)",
                true);
    verify_ok(pg, NULL, 3, 3);
    assert_int_equal(verify_fails(pg, path, &seq), STORE_AUDIT_TRUNCATED);
    assert_int_equal(seq, 4);
    /* ... and written again past the anchor (by caseport itself, keyed): the anchored row
     * is not the one there now */
    append_n(pg, 3);
    assert_int_equal(verify_fails(pg, path, &seq), STORE_AUDIT_UNANCHORED);
    assert_int_equal(seq, 5);
    anchors_gone();
    store_pg_close(pg);
}

void audit_anchor_file_lines(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(2);
    const char *path = anchors();
    append_n(pg, 2);
    anchor_now(pg, path);
    /* a line cut short by a crash: the next anchor starts a line of its own, the cut one
     * is said and ignored */
    FILE *f = fopen(path, "a");
    fputs("seq=2 hash=ab", f);
    fclose(f);
    append_n(pg, 1);
    anchor_now(pg, path);
    store_audit_anchor_t last;
    bool found;
    assert_int_equal(store_audit_anchor_last(path, &last, &found, NULL), CP_OK);
    assert_true(found);
    assert_int_equal(last.seq, 3);
    store_audit_report_t rep;
    assert_int_equal(store_audit_verify(pg, path, &rep, NULL), CP_OK);
    assert_int_equal(rep.anchors, 2);
    assert_int_equal(rep.bad_lines, 1);
    struct stat st; /* the file is its owner's alone */
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    anchors_gone();
    assert_int_equal(store_audit_anchor_last(path, &last, &found, NULL), CP_OK);
    assert_false(found); /* missing: no anchor, no error */
    store_pg_close(pg);
}

/* ---- rows from before 0029 ---- */

/* The database as 0028 left it, with rows the trigger hashed plainly. */
static void migrate_to_0028_with_rows(void)
{
    PGconn *c = pg_test_connect();
    pg_test_exec(c, "CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
                    " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    for (size_t i = 0; i < store_migration_count && store_migrations[i].version <= 28; i++) {
        char q[200];
        snprintf(q, sizeof q, "INSERT INTO schema_migrations (version, name) VALUES (%d, '%s')",
                 store_migrations[i].version, store_migrations[i].name);
        pg_test_exec(c, "BEGIN");
        pg_test_exec(c, store_migrations[i].sql);
        pg_test_exec(c, q);
        pg_test_exec(c, "COMMIT");
    }
    pg_test_exec(c, "INSERT INTO audit (role, object, action, outcome, source) VALUES"
                    " ('operator', 'account 1', 'account.create', 'allowed', 'cli')");
    pg_test_exec(c, "INSERT INTO audit (actor_id, role, case_id, object, action, outcome)"
                    " VALUES (1, 'navigator', 1, 'case', 'case.read', 'denied'),"
                    " (1, 'navigator', 1, 'case', 'case.read', 'allowed')");
    PQfinish(c);
}

void audit_rows_before_0029_still_verify(void **state)
{
    (void)state;
    migrate_to_0028_with_rows();
    store_pg_t *pg = pg_test_open(2); /* 0029 applied */
    assert_string_equal(pg_test_value("SELECT keyed_from FROM audit_head"), "4");
    append_n(pg, 3);
    verify_ok(pg, NULL, 6, 3);
    /* an unkeyed row appended after the keyed ones, as the old trigger would have */
    pg_test_sql("INSERT INTO audit (seq, role, action, outcome, prev_hash, hash, version)"
                " SELECT 7, 'operator', 'x', 'allowed', hash, '\\x00', 1 FROM audit_head;"
                " UPDATE audit a SET hash = sha256(convert_to(cp_audit_text(a), 'UTF8'))"
                " WHERE seq = 7;"
                " UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit WHERE seq = 7)",
                true);
    int64_t seq;
    assert_int_equal(verify_fails(pg, NULL, &seq), STORE_AUDIT_DOWNGRADE);
    assert_int_equal(seq, 7);
    pg_test_sql("DELETE FROM audit WHERE seq = 7; UPDATE audit_head SET seq = 6,"
                " hash = (SELECT hash FROM audit WHERE seq = 6)",
                true);
    verify_ok(pg, NULL, 6, 3);
    /* an old row edited and the old rows re-hashed: the first keyed row, whose keyed hash
     * covers its link, no longer links to them */
    rehash(2, 3, 1);
    assert_int_equal(verify_fails(pg, NULL, &seq), STORE_AUDIT_RELINKED);
    assert_int_equal(seq, 4);
    store_pg_close(pg);
}

/* ---- the key ---- */

void audit_nothing_written_without_the_key(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open_unkeyed(2);
    store_audit_row_t r = {0, "case", "case.read", "allowed"};
    assert_int_equal(store_audit_append(pg, &r, &operator_, NULL), CP_EKEY);
    store_audit_log_t *log = store_audit_log_new(pg);
    assert_int_not_equal(store_audit_log_append(log, &r, &operator_, NULL), CP_OK);
    store_audit_log_free(log);
    store_account_t a = {0};
    snprintf(a.username, sizeof a.username, "nina");
    snprintf(a.role, sizeof a.role, "navigator");
    snprintf(a.password_hash, sizeof a.password_hash, "$argon2id$x");
    assert_int_equal(store_cases_account_add(pg, &a, NULL, &operator_, NULL, NULL), CP_EKEY);
    assert_string_equal(pg_test_value("SELECT count(*) FROM audit"), "0");
    assert_string_equal(pg_test_value("SELECT count(*) FROM accounts"), "0");
    store_audit_report_t rep;
    assert_int_equal(store_audit_verify(pg, NULL, &rep, NULL), CP_EKEY);
    /* nor by an INSERT that does not chain (an older caseport): refused by the table */
    PGconn *c = pg_test_connect();
    PGresult *res = PQexec(c, "INSERT INTO audit (role, action, outcome)"
                              " VALUES ('operator', 'x', 'allowed')");
    assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
    PQclear(res);
    PQfinish(c);
    store_pg_close(pg);
    /* rows keyed under another KEK: every one fails from the first on */
    pg = pg_test_open(2);
    append_n(pg, 3);
    store_pg_close(pg);
    char dir[] = "/tmp/caseport-other-key.XXXXXX", other[64];
    assert_non_null(mkdtemp(dir));
    snprintf(other, sizeof other, "%s/kek", dir);
    assert_int_equal(store_blob_keygen(other, NULL), CP_OK);
    pg = pg_test_open_unkeyed(2);
    assert_int_equal(store_audit_load_key(pg, other, NULL), CP_OK);
    int64_t seq;
    assert_int_equal(verify_fails(pg, NULL, &seq), STORE_AUDIT_REHASHED);
    assert_int_equal(seq, 1);
    store_pg_close(pg);
    unlink(other);
    rmdir(dir);
}

/* ---- two writers ---- */

#define EACH 30

typedef struct writer {
    store_pg_t *pg;
    int k;
    cp_err_t err;
} writer_t;

/* One "node" writes through the group commit, the other one row at a time and with case
 * writes: the head's lock orders them into one chain. */
static void *write_rows(void *ud)
{
    writer_t *w = ud;
    store_audit_log_t *log = w->k == 0 ? store_audit_log_new(w->pg) : NULL;
    for (int i = 0; i < EACH && w->err == CP_OK; i++) {
        store_actor_t by = {0, "navigator", w->k ? "node-b" : "node-a"};
        store_audit_row_t r = {0, "case", "case.read", "allowed"};
        if (log != NULL) {
            w->err = store_audit_log_append(log, &r, &by, NULL);
        } else if (i % 3 == 0) {
            store_account_t a = {0};
            snprintf(a.username, sizeof a.username, "user%d", i);
            snprintf(a.role, sizeof a.role, "navigator");
            snprintf(a.password_hash, sizeof a.password_hash, "$argon2id$x");
            w->err = store_cases_account_add(w->pg, &a, NULL, &operator_, NULL, NULL);
        } else {
            w->err = store_audit_append(w->pg, &r, &by, NULL);
        }
    }
    store_audit_log_free(log);
    return NULL;
}

void audit_two_writers_one_chain(void **state)
{
    (void)state;
    writer_t w[2];
    pthread_t t[2];
    for (int k = 0; k < 2; k++) {
        w[k] = (writer_t){pg_test_open(2), k, CP_OK};
        assert_int_equal(pthread_create(&t[k], NULL, write_rows, &w[k]), 0);
    }
    for (int k = 0; k < 2; k++) {
        pthread_join(t[k], NULL);
        assert_int_equal(w[k].err, CP_OK);
    }
    verify_ok(w[0].pg, NULL, 2 * EACH, 2 * EACH);
    for (int k = 0; k < 2; k++)
        store_pg_close(w[k].pg);
}
