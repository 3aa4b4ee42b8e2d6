/* tests/unit/storage/test_blob.c -- the encrypted blob store (storage/store_blob.h).
 * Each test builds its store under a fresh mkdtemp directory in /tmp and removes it at
 * the end; a failing test leaves its directory behind for inspection. The layout
 * constants below restate docs/blob-format.md, so a format change fails here first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "store_blob.h"

#define HDR_LEN 104
#define HDR_FIXED_LEN 24
#define OFF_PREFIX 16
#define OFF_KEYID 24
#define OFF_WRAPPED 32
#define OFF_TAG 72
#define KEYID_LEN 8
#define TAG_LEN 16
#define SEG STORE_BLOB_SEGMENT
#define SEG_DISK (SEG + TAG_LEN)

typedef struct fx {
    char root[64];
    char dir[128];
    char key[128];
    store_blob_t *s;
} fx_t;

/* ---- helpers --------------------------------------------------------------------- */

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        assert_non_null(d);
        for (struct dirent *de = readdir(d); de != NULL; de = readdir(d)) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void fx_root(fx_t *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/cp-blob-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->dir, sizeof f->dir, "%s/store", f->root);
    snprintf(f->key, sizeof f->key, "%s/keys/kek", f->root);
}

/* A store with a fresh key under a fresh directory. */
static void fx_open(fx_t *f)
{
    cp_errinfo_t ei = {0};
    fx_root(f);
    assert_int_equal(store_blob_keygen(f->key, &ei), CP_OK);
    assert_int_equal(store_blob_open(f->dir, f->key, &f->s, &ei), CP_OK);
}

static void fx_close(fx_t *f)
{
    store_blob_close(f->s);
    f->s = NULL;
    rm_rf(f->root);
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 32);
    }
}

/* Writes data in chunks of `chunk` bytes (0: one write) and commits. */
static store_addr_t put_blob(store_blob_t *s, const uint8_t *data, size_t n, size_t chunk)
{
    cp_errinfo_t ei = {0};
    store_blob_writer_t *w;
    assert_int_equal(store_blob_writer_new(s, &w, &ei), CP_OK);
    for (size_t off = 0; off < n;) {
        size_t k = chunk == 0 || chunk > n - off ? n - off : chunk;
        assert_int_equal(store_blob_writer_write(w, data + off, k, &ei), CP_OK);
        off += k;
    }
    store_addr_t addr;
    uint64_t size = 0;
    assert_int_equal(store_blob_writer_commit(w, &addr, &size, &ei), CP_OK);
    assert_int_equal(size, n);
    store_blob_writer_free(w);
    return addr;
}

/* Reads the whole blob with reads of at most `chunk` bytes; *total counts bytes handed
 * out before the end or the first error. */
static cp_err_t get_blob(store_blob_t *s, const store_addr_t *a, uint8_t *out, size_t cap,
                         size_t chunk, size_t *total, cp_errinfo_t *ei)
{
    store_blob_reader_t *r;
    *total = 0;
    cp_err_t err = store_blob_reader_open(s, a, &r, ei);
    if (err != CP_OK)
        return err;
    for (;;) {
        size_t n = 0, room = cap - *total < chunk ? cap - *total : chunk;
        assert_true(room > 0);
        err = store_blob_reader_read(r, out + *total, room, &n, ei);
        if (err != CP_OK || n == 0)
            break;
        *total += n;
    }
    store_blob_reader_close(r);
    return err;
}

static uint64_t file_len_for(uint64_t size)
{
    uint64_t nseg = size == 0 ? 1 : (size + SEG - 1) / SEG;
    return HDR_LEN + size + nseg * TAG_LEN;
}

static void blob_file(const fx_t *f, const store_addr_t *a, char *path, size_t cap)
{
    assert_int_equal(store_blob_path(f->s, a, path, cap), CP_OK);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void patch(const char *path, off_t off, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
    close(fd);
}

static void peek(const char *path, off_t off, void *p, size_t n)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, p, n, off), (ssize_t)n);
    close(fd);
}

static void flip(const char *path, off_t off)
{
    uint8_t b;
    peek(path, off, &b, 1);
    b ^= 0x01;
    patch(path, off, &b, 1);
}

static void write_file(const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent *de = readdir(d); de != NULL; de = readdir(d))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Expects reading the blob at a to fail with code and a message containing want. */
static void expect_refused(fx_t *f, const store_addr_t *a, cp_err_t code, const char *want)
{
    cp_errinfo_t ei = {0};
    size_t cap = 4 * SEG + 64, total;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    cp_err_t err = get_blob(f->s, a, out, cap, 4096, &total, &ei);
    free(out);
    if (err != code || strstr(ei.msg, want) == NULL)
        fail_msg("expected %s with \"%s\", got %s: %s", cp_err_name(code), want, cp_err_name(err),
                 ei.msg);
    assert_int_equal(store_blob_verify(f->s, a, NULL, NULL), code);
}

/* A random blob of n bytes; its plaintext is left in *data (caller frees). */
static store_addr_t put_random(fx_t *f, size_t n, uint64_t seed, uint8_t **data)
{
    *data = malloc(n + 1);
    assert_non_null(*data);
    fill_random(*data, n, seed);
    return put_blob(f->s, *data, n, 0);
}

/* ---- keys ------------------------------------------------------------------------- */

void blob_keygen_creates_0600(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    fx_root(&f);
    assert_int_equal(store_blob_keygen(f.key, &ei), CP_OK);
    struct stat st;
    assert_int_equal(stat(f.key, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 32);
    char parent[160];
    snprintf(parent, sizeof parent, "%s/keys", f.root);
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    rm_rf(f.root);
}

void blob_keygen_refuses_overwrite(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    uint8_t before[32], after[32];
    fx_root(&f);
    assert_int_equal(store_blob_keygen(f.key, &ei), CP_OK);
    peek(f.key, 0, before, sizeof before);
    assert_int_equal(store_blob_keygen(f.key, &ei), CP_EEXIST);
    assert_non_null(strstr(ei.msg, "already exists"));
    peek(f.key, 0, after, sizeof after);
    assert_memory_equal(before, after, sizeof before);
    rm_rf(f.root);
}

void blob_open_refuses_group_readable_key(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    store_blob_t *s = NULL;
    fx_root(&f);
    assert_int_equal(store_blob_keygen(f.key, &ei), CP_OK);
    assert_int_equal(chmod(f.key, 0644), 0);
    assert_int_equal(store_blob_open(f.dir, f.key, &s, &ei), CP_EKEY);
    assert_null(s);
    assert_non_null(strstr(ei.msg, "group or others"));
    assert_int_equal(chmod(f.key, 0604), 0);
    assert_int_equal(store_blob_open(f.dir, f.key, &s, &ei), CP_EKEY);
    assert_int_equal(count_entries(f.dir), -1); /* refused before creating anything */
    assert_int_equal(chmod(f.key, 0400), 0);
    assert_int_equal(store_blob_open(f.dir, f.key, &s, &ei), CP_OK);
    store_blob_close(s);
    rm_rf(f.root);
}

void blob_open_refuses_wrong_key_size(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    store_blob_t *s = NULL;
    uint8_t bytes[33] = {1, 2, 3};
    fx_root(&f);
    snprintf(f.key, sizeof f.key, "%s/kek", f.root);
    write_file(f.key, bytes, 31, 0600);
    assert_int_equal(store_blob_open(f.dir, f.key, &s, &ei), CP_EKEY);
    assert_non_null(strstr(ei.msg, "holds 31 bytes"));
    write_file(f.key, bytes, 33, 0600);
    assert_int_equal(store_blob_open(f.dir, f.key, &s, &ei), CP_EKEY);
    unlink(f.key);
    assert_int_equal(store_blob_open(f.dir, f.key, &s, &ei), CP_EKEY);
    assert_non_null(strstr(ei.msg, "cannot open key file"));
    assert_null(s);
    rm_rf(f.root);
}

void blob_key_id_is_derived(void **state)
{
    (void)state;
    fx_t f, g;
    cp_errinfo_t ei = {0};
    store_blob_t *again;
    fx_open(&f);
    fx_open(&g);
    const char *id = store_blob_key_id(f.s);
    assert_int_equal(strlen(id), 16);
    assert_int_equal(strspn(id, "0123456789abcdef"), 16);
    assert_int_equal(store_blob_open(f.dir, f.key, &again, &ei), CP_OK);
    assert_string_equal(store_blob_key_id(again), id);
    assert_string_not_equal(store_blob_key_id(g.s), id);
    store_blob_close(again);
    fx_close(&f);
    fx_close(&g);
}

/* ---- round trips ---------------------------------------------------------------- */

static void round_trip(fx_t *f, size_t n, store_addr_t *seen, int nseen)
{
    cp_errinfo_t ei = {0};
    uint8_t *data = malloc(n + 1), *back = malloc(n + SEG);
    assert_non_null(data);
    assert_non_null(back);
    fill_random(data, n, n + 1);
    /* one big write (sealed straight from the caller) and small odd writes (buffered)
     * must give the same address */
    store_addr_t a = put_blob(f->s, data, n, 0);
    store_addr_t b = put_blob(f->s, data, n, 1000);
    assert_memory_equal(&a, &b, sizeof a);
    for (int i = 0; i < nseen; i++)
        assert_memory_not_equal(&a, &seen[i], sizeof a);
    seen[nseen] = a;

    char path[256];
    blob_file(f, &a, path, sizeof path);
    assert_int_equal(file_size(path), file_len_for(n));

    size_t total;
    assert_int_equal(get_blob(f->s, &a, back, n + SEG, 4093, &total, &ei), CP_OK);
    assert_int_equal(total, n);
    assert_memory_equal(data, back, n);
    memset(back, 0, n);
    assert_int_equal(get_blob(f->s, &a, back, n + SEG, n + SEG, &total, &ei), CP_OK);
    assert_int_equal(total, n);
    assert_memory_equal(data, back, n);

    uint64_t size = 1;
    assert_int_equal(store_blob_verify(f->s, &a, &size, &ei), CP_OK);
    assert_int_equal(size, n);
    if (n > 0) { /* one byte different: another address */
        data[n / 2] ^= 0x80;
        store_addr_t c = put_blob(f->s, data, n, 0);
        assert_memory_not_equal(&a, &c, sizeof a);
    }
    free(data);
    free(back);
}

void blob_round_trip_sizes(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG + 17};
    store_addr_t seen[sizeof sizes / sizeof sizes[0]];
    fx_t f;
    fx_open(&f);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        round_trip(&f, sizes[i], seen, (int)i);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/tmp", f.dir);
    assert_int_equal(count_entries(tmp), 0);
    fx_close(&f);
}

void blob_reader_reports_size(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    uint8_t *data, byte;
    size_t n;
    fx_open(&f);
    store_addr_t a = put_random(&f, 2 * SEG + 5, 7, &data);
    store_blob_reader_t *r;
    assert_int_equal(store_blob_reader_open(f.s, &a, &r, &ei), CP_OK);
    assert_int_equal(store_blob_reader_size(r), 2 * SEG + 5);
    assert_int_equal(store_blob_reader_read(r, &byte, 0, &n, &ei), CP_EINVAL);
    assert_int_equal(store_blob_reader_read(r, &byte, 1, &n, &ei), CP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(byte, data[0]);
    store_blob_reader_close(r);
    store_blob_reader_close(NULL);
    free(data);
    fx_close(&f);
}

void blob_same_content_stored_once(void **state)
{
    (void)state;
    fx_t f;
    uint8_t *data;
    fx_open(&f);
    store_addr_t a = put_random(&f, SEG + 3, 11, &data);
    store_addr_t b = put_blob(f.s, data, SEG + 3, 0);
    assert_memory_equal(&a, &b, sizeof a);
    char hex[STORE_ADDR_HEX_LEN + 1], sub[200], tmp[160];
    store_addr_to_hex(&a, hex);
    snprintf(sub, sizeof sub, "%s/%.3s", f.dir, hex);
    assert_int_equal(count_entries(sub), 1);
    snprintf(tmp, sizeof tmp, "%s/tmp", f.dir);
    assert_int_equal(count_entries(tmp), 0);
    free(data);
    fx_close(&f);
}

void blob_dedupe_replaces_damaged_copy(void **state)
{
    (void)state;
    fx_t f;
    uint8_t *data;
    char path[256];
    fx_open(&f);
    store_addr_t a = put_random(&f, 1000, 12, &data);
    blob_file(&f, &a, path, sizeof path);
    assert_int_equal(truncate(path, 0), 0); /* as a crash on a careless file system might */
    store_addr_t b = put_blob(f.s, data, 1000, 0);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(store_blob_verify(f.s, &a, NULL, NULL), CP_OK);
    free(data);
    fx_close(&f);
}

void blob_different_keys_different_addresses(void **state)
{
    (void)state;
    fx_t f, g;
    uint8_t data[5000];
    char pf[256], pg[256];
    cp_errinfo_t ei = {0};
    fx_open(&f);
    fx_open(&g);
    fill_random(data, sizeof data, 3);
    store_addr_t a = put_blob(f.s, data, sizeof data, 0);
    store_addr_t b = put_blob(g.s, data, sizeof data, 0);
    assert_memory_not_equal(&a, &b, sizeof a);
    /* f's blob filed under the same address in g: sealed under another key */
    blob_file(&f, &a, pf, sizeof pf);
    blob_file(&g, &a, pg, sizeof pg);
    assert_int_equal(store_blob_verify(g.s, &a, NULL, &ei), CP_ENOENT);
    char hex[STORE_ADDR_HEX_LEN + 1], sub[200];
    store_addr_to_hex(&a, hex);
    snprintf(sub, sizeof sub, "%s/%.2s", g.dir, hex);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/%.2s/%.2s", g.dir, hex, hex + 2);
    mkdir(sub, 0700);
    uint8_t *copy = malloc(file_len_for(sizeof data));
    assert_non_null(copy);
    peek(pf, 0, copy, file_len_for(sizeof data));
    write_file(pg, copy, file_len_for(sizeof data), 0600);
    free(copy);
    assert_int_equal(store_blob_verify(g.s, &a, NULL, &ei), CP_EKEY);
    assert_non_null(strstr(ei.msg, "sealed under key"));
    fx_close(&f);
    fx_close(&g);
}

/* ---- temp files ------------------------------------------------------------------- */

void blob_open_removes_stale_temp(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    char tmp[160], stale[200];
    fx_open(&f);
    snprintf(tmp, sizeof tmp, "%s/tmp", f.dir);
    snprintf(stale, sizeof stale, "%s/0123456789abcdef.tmp", tmp);
    write_file(stale, "half a blob", 11, 0600);
    assert_int_equal(count_entries(tmp), 1);
    store_blob_close(f.s);
    assert_int_equal(store_blob_open(f.dir, f.key, &f.s, &ei), CP_OK);
    assert_int_equal(count_entries(tmp), 0);
    fx_close(&f);
}

void blob_writer_free_removes_temp(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    char tmp[160];
    uint8_t data[3 * SEG];
    store_blob_writer_t *w;
    fx_open(&f);
    fill_random(data, sizeof data, 5);
    snprintf(tmp, sizeof tmp, "%s/tmp", f.dir);
    assert_int_equal(store_blob_writer_new(f.s, &w, &ei), CP_OK);
    assert_int_equal(store_blob_writer_write(w, data, sizeof data, &ei), CP_OK);
    assert_int_equal(count_entries(tmp), 1);
    store_blob_writer_free(w);
    assert_int_equal(count_entries(tmp), 0);
    /* only tmp, packs and the 4096 empty fan-out directories: nothing was filed */
    assert_int_equal(count_entries(f.dir), 2 + 4096);
    store_blob_writer_free(NULL);
    fx_close(&f);
}

void blob_writer_refuses_use_after_commit(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    store_blob_writer_t *w;
    store_addr_t a;
    uint64_t size;
    fx_open(&f);
    assert_int_equal(store_blob_writer_new(f.s, &w, &ei), CP_OK);
    assert_int_equal(store_blob_writer_write(w, "x", 1, &ei), CP_OK);
    assert_int_equal(store_blob_writer_commit(w, &a, &size, &ei), CP_OK);
    assert_int_equal(store_blob_writer_write(w, "y", 1, &ei), CP_EUSAGE);
    assert_int_equal(store_blob_writer_commit(w, &a, &size, &ei), CP_EUSAGE);
    assert_non_null(strstr(ei.msg, "already committed"));
    store_blob_writer_free(w);
    assert_int_equal(store_blob_verify(f.s, &a, NULL, &ei), CP_OK); /* still there */
    fx_close(&f);
}

void blob_missing_is_enoent(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    store_blob_reader_t *r = (void *)1;
    store_addr_t a;
    fx_open(&f);
    memset(&a, 0xab, sizeof a);
    assert_int_equal(store_blob_reader_open(f.s, &a, &r, &ei), CP_ENOENT);
    assert_null(r);
    assert_non_null(strstr(ei.msg, "not found"));
    fx_close(&f);
}

/* ---- tampering -------------------------------------------------------------------- */

void blob_tamper_segment_byte(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    uint8_t *data, *back = malloc(4 * SEG);
    char path[256];
    size_t total;
    fx_open(&f);
    store_addr_t a = put_random(&f, 3 * SEG + 17, 21, &data);
    blob_file(&f, &a, path, sizeof path);
    flip(path, HDR_LEN + SEG_DISK + 100); /* segment 1, ciphertext */
    assert_int_equal(get_blob(f.s, &a, back, 4 * SEG, 4096, &total, &ei), CP_ETAMPER);
    assert_non_null(strstr(ei.msg, "segment 1 failed authentication"));
    assert_int_equal(total, SEG); /* segment 0 only: nothing of segment 1 came out */
    assert_memory_equal(back, data, SEG);
    flip(path, HDR_LEN + SEG_DISK + 100);
    flip(path, HDR_LEN + 2 * SEG_DISK - 1); /* segment 1, tag */
    expect_refused(&f, &a, CP_ETAMPER, "segment 1 failed authentication");
    flip(path, HDR_LEN + 2 * SEG_DISK - 1);
    flip(path, file_size(path) - 1); /* final segment */
    expect_refused(&f, &a, CP_ETAMPER, "segment 3 failed authentication");
    free(data);
    free(back);
    fx_close(&f);
}

void blob_tamper_header_byte(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    uint8_t *data;
    char path[256];
    fx_open(&f);
    store_addr_t a = put_random(&f, SEG + 9, 22, &data);
    blob_file(&f, &a, path, sizeof path);
    for (off_t off = 0; off < HDR_LEN; off++) {
        flip(path, off);
        store_blob_reader_t *r = NULL;
        cp_err_t want = off >= OFF_KEYID && off < OFF_KEYID + KEYID_LEN ? CP_EKEY : CP_ETAMPER;
        cp_err_t err = store_blob_reader_open(f.s, &a, &r, &ei);
        if (err != want)
            fail_msg("header byte %d: expected %s, got %s: %s", (int)off, cp_err_name(want),
                     cp_err_name(err), ei.msg);
        assert_null(r);
        flip(path, off);
    }
    flip(path, 80); /* inside the header tag */
    expect_refused(&f, &a, CP_ETAMPER, "header does not authenticate");
    flip(path, 80);
    assert_int_equal(store_blob_verify(f.s, &a, NULL, &ei), CP_OK);
    free(data);
    fx_close(&f);
}

void blob_tamper_truncated_mid_segment(void **state)
{
    (void)state;
    fx_t f;
    uint8_t *data;
    char path[256];
    fx_open(&f);
    store_addr_t a = put_random(&f, 3 * SEG + 17, 23, &data);
    blob_file(&f, &a, path, sizeof path);
    assert_int_equal(truncate(path, HDR_LEN + 3 * SEG_DISK + 20), 0); /* final cut short */
    expect_refused(&f, &a, CP_ETAMPER, "segment 3 failed authentication");
    assert_int_equal(truncate(path, HDR_LEN + 2 * SEG_DISK + 1000), 0); /* inside segment 2 */
    expect_refused(&f, &a, CP_ETAMPER, "segment 2 failed authentication");
    assert_int_equal(truncate(path, HDR_LEN + 2 * SEG_DISK + 5), 0); /* less than a tag */
    expect_refused(&f, &a, CP_ETAMPER, "truncated");
    assert_int_equal(truncate(path, HDR_LEN - 1), 0);
    expect_refused(&f, &a, CP_ETAMPER, "truncated: header incomplete");
    assert_int_equal(truncate(path, 0), 0);
    expect_refused(&f, &a, CP_ETAMPER, "truncated: header incomplete");
    free(data);
    fx_close(&f);
}

void blob_tamper_truncated_at_boundary(void **state)
{
    (void)state;
    fx_t f;
    uint8_t *data;
    char path[256];
    fx_open(&f);
    store_addr_t a = put_random(&f, 3 * SEG + 17, 24, &data);
    blob_file(&f, &a, path, sizeof path);
    assert_int_equal(truncate(path, HDR_LEN + 3 * SEG_DISK), 0);
    expect_refused(&f, &a, CP_ETAMPER, "truncated: final segment missing");
    assert_int_equal(truncate(path, HDR_LEN + SEG_DISK), 0);
    expect_refused(&f, &a, CP_ETAMPER, "truncated: final segment missing");
    assert_int_equal(truncate(path, HDR_LEN), 0); /* no segment at all */
    expect_refused(&f, &a, CP_ETAMPER, "truncated: final segment missing");
    free(data);
    store_addr_t b = put_random(&f, 2 * SEG, 25, &data); /* final segment is a full one */
    blob_file(&f, &b, path, sizeof path);
    assert_int_equal(truncate(path, HDR_LEN + SEG_DISK), 0);
    expect_refused(&f, &b, CP_ETAMPER, "truncated: final segment missing");
    free(data);
    fx_close(&f);
}

void blob_tamper_swapped_segments(void **state)
{
    (void)state;
    fx_t f;
    uint8_t *data, *s0 = malloc(SEG_DISK), *s1 = malloc(SEG_DISK);
    char path[256];
    fx_open(&f);
    store_addr_t a = put_random(&f, 3 * SEG + 17, 26, &data);
    blob_file(&f, &a, path, sizeof path);
    peek(path, HDR_LEN, s0, SEG_DISK);
    peek(path, HDR_LEN + SEG_DISK, s1, SEG_DISK);
    patch(path, HDR_LEN, s1, SEG_DISK);
    patch(path, HDR_LEN + SEG_DISK, s0, SEG_DISK);
    expect_refused(&f, &a, CP_ETAMPER, "segment 0 failed authentication");
    patch(path, HDR_LEN, s0, SEG_DISK); /* now segment 0 twice: duplicated, not swapped */
    expect_refused(&f, &a, CP_ETAMPER, "segment 1 failed authentication");
    free(data);
    free(s0);
    free(s1);
    fx_close(&f);
}

void blob_tamper_spliced_header(void **state)
{
    (void)state;
    fx_t f;
    uint8_t *da, *db, hdr[HDR_LEN];
    char pa[256], pb[256];
    fx_open(&f);
    store_addr_t a = put_random(&f, 2 * SEG + 100, 27, &da);
    store_addr_t b = put_random(&f, 2 * SEG + 100, 28, &db);
    blob_file(&f, &a, pa, sizeof pa);
    blob_file(&f, &b, pb, sizeof pb);
    peek(pb, 0, hdr, HDR_LEN);
    patch(pa, 0, hdr, HDR_LEN);
    expect_refused(&f, &a, CP_ETAMPER, "header does not authenticate");
    /* the whole of b filed under a's address */
    uint8_t *copy = malloc(file_len_for(2 * SEG + 100));
    assert_non_null(copy);
    peek(pb, 0, copy, file_len_for(2 * SEG + 100));
    patch(pa, 0, copy, file_len_for(2 * SEG + 100));
    expect_refused(&f, &a, CP_ETAMPER, "header does not authenticate");
    assert_int_equal(store_blob_verify(f.s, &b, NULL, NULL), CP_OK);
    free(copy);
    free(da);
    free(db);
    fx_close(&f);
}

void blob_reader_stops_after_error(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    uint8_t *data, buf[100];
    char path[256];
    size_t n;
    fx_open(&f);
    store_addr_t a = put_random(&f, 2 * SEG, 29, &data);
    blob_file(&f, &a, path, sizeof path);
    flip(path, HDR_LEN + 5);
    store_blob_reader_t *r;
    /* a cap of a whole segment decrypts straight into the caller's buffer: a forged
     * segment must leave nothing of its would-be plaintext there */
    uint8_t *big = malloc(SEG), *zero = calloc(1, SEG);
    assert_non_null(big);
    assert_non_null(zero);
    memset(big, 0xee, SEG);
    assert_int_equal(store_blob_reader_open(f.s, &a, &r, &ei), CP_OK);
    assert_int_equal(store_blob_reader_read(r, big, SEG, &n, &ei), CP_ETAMPER);
    assert_int_equal(n, 0);
    assert_memory_equal(big, zero, SEG);
    free(big);
    free(zero);
    store_blob_reader_close(r);
    assert_int_equal(store_blob_reader_open(f.s, &a, &r, &ei), CP_OK);
    assert_int_equal(store_blob_reader_read(r, buf, sizeof buf, &n, &ei), CP_ETAMPER);
    assert_int_equal(n, 0);
    flip(path, HDR_LEN + 5); /* repaired, but this reader has already refused */
    assert_int_equal(store_blob_reader_read(r, buf, sizeof buf, &n, &ei), CP_ETAMPER);
    assert_non_null(strstr(ei.msg, "earlier error"));
    store_blob_reader_close(r);
    free(data);
    fx_close(&f);
}

void blob_verify_reports(void **state)
{
    (void)state;
    fx_t f;
    cp_errinfo_t ei = {0};
    uint8_t *data;
    char path[256];
    uint64_t size = 0;
    fx_open(&f);
    store_addr_t a = put_random(&f, SEG + 1, 30, &data);
    assert_int_equal(store_blob_verify(f.s, &a, &size, &ei), CP_OK);
    assert_int_equal(size, SEG + 1);
    assert_int_equal(store_blob_verify(f.s, &a, NULL, &ei), CP_OK);
    blob_file(&f, &a, path, sizeof path);
    flip(path, HDR_LEN + SEG_DISK + 3);
    assert_int_equal(store_blob_verify(f.s, &a, &size, &ei), CP_ETAMPER);
    assert_non_null(strstr(ei.msg, "segment 1 failed authentication"));
    unlink(path);
    assert_int_equal(store_blob_verify(f.s, &a, &size, &ei), CP_ENOENT);
    free(data);
    fx_close(&f);
}

/* ---- format conformance: docs/blob-format.md recomputed with plain OpenSSL ---------- */

static void hkdf_ref(const uint8_t kek[32], const char *info, uint8_t *out, size_t n)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
    char digest[] = "SHA256";
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)kek, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    assert_int_equal(EVP_KDF_derive(k, out, n, p), 1);
    EVP_KDF_CTX_free(k);
    EVP_KDF_free(kdf);
}

static void hmac_ref(const uint8_t key[32], const uint8_t *a, size_t alen, const uint8_t *b,
                     size_t blen, uint8_t out[32])
{
    uint8_t msg[HDR_LEN + 32];
    size_t n = 0;
    assert_true(alen + blen <= sizeof msg);
    memcpy(msg, a, alen);
    if (blen > 0)
        memcpy(msg + alen, b, blen);
    assert_non_null(
        EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, 32, msg, alen + blen, out, 32, &n));
    assert_int_equal(n, 32);
}

static void kek_of(const fx_t *f, uint8_t kek[32])
{
    peek(f->key, 0, kek, 32);
}

/* The header tag of hdr as if it were filed under addr. */
static void retag(const fx_t *f, uint8_t hdr[HDR_LEN], const store_addr_t *addr)
{
    uint8_t kek[32], hkey[32];
    kek_of(f, kek);
    hkdf_ref(kek, "caseport blob v1 header", hkey, sizeof hkey);
    hmac_ref(hkey, hdr, OFF_TAG, addr->b, 32, hdr + OFF_TAG);
}

void blob_format_conformance(void **state)
{
    (void)state;
    fx_t f;
    uint8_t kek[32], k[32], id[8], hdr[HDR_LEN], tag[32];
    char idhex[17];
    static const uint8_t msg[] = "hello, segment 0";
    const size_t n = sizeof msg - 1;
    fx_open(&f);
    kek_of(&f, kek);
    hkdf_ref(kek, "caseport blob v1 key id", id, sizeof id);
    for (int i = 0; i < 8; i++)
        snprintf(idhex + 2 * i, 3, "%02x", id[i]);
    assert_string_equal(store_blob_key_id(f.s), idhex);

    store_addr_t a = put_blob(f.s, msg, n, 0);
    hkdf_ref(kek, "caseport blob v1 address", k, sizeof k);
    hmac_ref(k, msg, n, NULL, 0, tag);
    assert_memory_equal(tag, a.b, 32);

    char path[256];
    blob_file(&f, &a, path, sizeof path);
    assert_int_equal(file_size(path), HDR_LEN + n + TAG_LEN);
    peek(path, 0, hdr, HDR_LEN);
    assert_memory_equal(hdr, "\211CPBLOB\n", 8);             /* 89 43 50 42 4c 4f 42 0a */
    static const uint8_t fixed[] = {0, 1, 0, 1, 0, 1, 0, 0}; /* version, suite, 65536 */
    assert_memory_equal(hdr + 8, fixed, sizeof fixed);
    assert_memory_equal(hdr + OFF_KEYID, id, 8);
    memcpy(tag, hdr + OFF_TAG, 32);
    retag(&f, hdr, &a);
    assert_memory_equal(tag, hdr + OFF_TAG, 32);

    /* data key: RFC 5649 unwrap under the wrap key */
    uint8_t dk[48], seg[64], aad[HDR_FIXED_LEN + 9] = {0}, nonce[12] = {0}, out[64];
    int l1 = 0, l2 = 0;
    hkdf_ref(kek, "caseport blob v1 wrap", k, sizeof k);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_DecryptInit_ex2(c, EVP_aes_256_wrap_pad(), k, NULL, NULL), 1);
    assert_int_equal(EVP_DecryptUpdate(c, dk, &l1, hdr + OFF_WRAPPED, 40), 1);
    assert_int_equal(EVP_DecryptFinal_ex(c, dk + l1, &l2), 1);
    assert_int_equal(l1 + l2, 32);
    EVP_CIPHER_CTX_free(c);

    /* segment 0, final: nonce = prefix || be32(0), aad = hdr[0:24] || be64(0) || 01 */
    peek(path, HDR_LEN, seg, n + TAG_LEN);
    memcpy(nonce, hdr + OFF_PREFIX, 8);
    memcpy(aad, hdr, HDR_FIXED_LEN);
    aad[HDR_FIXED_LEN + 8] = 1;
    c = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_DecryptInit_ex2(c, EVP_aes_256_gcm(), dk, nonce, NULL), 1);
    assert_int_equal(EVP_DecryptUpdate(c, NULL, &l1, aad, sizeof aad), 1);
    assert_int_equal(EVP_DecryptUpdate(c, out, &l1, seg, (int)n), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, seg + n), 1);
    assert_int_equal(EVP_DecryptFinal_ex(c, out + l1, &l2), 1);
    EVP_CIPHER_CTX_free(c);
    assert_memory_equal(out, msg, n);
    fx_close(&f);
}

void blob_content_must_match_address(void **state)
{
    (void)state;
    fx_t f;
    uint8_t *da, *db, hdr[HDR_LEN];
    char pa[256], pb[256];
    fx_open(&f);
    store_addr_t a = put_random(&f, SEG + 50, 33, &da);
    store_addr_t b = put_random(&f, SEG + 50, 34, &db);
    blob_file(&f, &a, pa, sizeof pa);
    blob_file(&f, &b, pb, sizeof pb);
    /* b's file under a's name with a header re-tagged for a (what only a KEK holder could
     * forge, or a writer that miscomputed an address): every segment authenticates, the
     * content hash is the last line */
    uint8_t *copy = malloc(file_len_for(SEG + 50));
    assert_non_null(copy);
    peek(pb, 0, copy, file_len_for(SEG + 50));
    memcpy(hdr, copy, HDR_LEN);
    retag(&f, hdr, &a);
    memcpy(copy, hdr, HDR_LEN);
    patch(pa, 0, copy, file_len_for(SEG + 50));
    /* readers trust the segments' authentication; verify checks the address too */
    cp_errinfo_t ei = {0};
    assert_int_equal(store_blob_verify(f.s, &a, NULL, &ei), CP_ETAMPER);
    assert_non_null(strstr(ei.msg, "content does not match its address"));
    free(copy);
    free(da);
    free(db);
    fx_close(&f);
}

/* ---- addresses -------------------------------------------------------------------- */

void blob_addr_hex_round_trip(void **state)
{
    (void)state;
    store_addr_t a, b, c;
    char hex[STORE_ADDR_HEX_LEN + 1], upper[STORE_ADDR_HEX_LEN + 1];
    fill_random(a.b, sizeof a.b, 31);
    store_addr_to_hex(&a, hex);
    assert_int_equal(strlen(hex), STORE_ADDR_HEX_LEN);
    assert_int_equal(strspn(hex, "0123456789abcdef"), STORE_ADDR_HEX_LEN);
    assert_int_equal(store_addr_from_hex(hex, &b), CP_OK);
    assert_memory_equal(&a, &b, sizeof a);
    for (int i = 0; i <= STORE_ADDR_HEX_LEN; i++)
        upper[i] = hex[i] >= 'a' && hex[i] <= 'f' ? (char)(hex[i] - 32) : hex[i];
    assert_int_equal(store_addr_from_hex(upper, &c), CP_OK);
    assert_memory_equal(&a, &c, sizeof a);
}

void blob_addr_hex_refuses_bad(void **state)
{
    (void)state;
    store_addr_t a, keep;
    char hex[STORE_ADDR_HEX_LEN + 2];
    memset(&a, 0x5a, sizeof a);
    keep = a;
    memset(hex, '0', sizeof hex);
    hex[STORE_ADDR_HEX_LEN - 1] = '\0'; /* 63 digits */
    assert_int_equal(store_addr_from_hex(hex, &a), CP_EINVAL);
    hex[STORE_ADDR_HEX_LEN - 1] = '0';
    hex[STORE_ADDR_HEX_LEN + 1] = '\0'; /* 65 digits */
    assert_int_equal(store_addr_from_hex(hex, &a), CP_EINVAL);
    hex[STORE_ADDR_HEX_LEN] = '\0';
    hex[10] = 'g';
    assert_int_equal(store_addr_from_hex(hex, &a), CP_EINVAL);
    hex[10] = ' ';
    assert_int_equal(store_addr_from_hex(hex, &a), CP_EINVAL);
    assert_int_equal(store_addr_from_hex("", &a), CP_EINVAL);
    assert_int_equal(store_addr_from_hex(NULL, &a), CP_EINVAL);
    assert_memory_equal(&a, &keep, sizeof a); /* untouched on failure */
    hex[10] = '0';
    assert_int_equal(store_addr_from_hex(hex, &a), CP_OK);
}

void blob_path_layout(void **state)
{
    (void)state;
    fx_t f;
    store_addr_t a;
    char hex[STORE_ADDR_HEX_LEN + 1], path[256], want[256], small[40];
    fx_open(&f);
    fill_random(a.b, sizeof a.b, 32);
    store_addr_to_hex(&a, hex);
    assert_int_equal(store_blob_path(f.s, &a, path, sizeof path), CP_OK);
    snprintf(want, sizeof want, "%s/%.3s/%s", f.dir, hex, hex);
    assert_string_equal(path, want);
    snprintf(want, sizeof want, "%s/%.3s", f.dir, hex);
    assert_int_equal(count_entries(want), 0); /* the fan-out directory exists already */
    assert_int_equal(store_blob_path(f.s, &a, small, sizeof small), CP_ETOOBIG);
    fx_close(&f);
}
