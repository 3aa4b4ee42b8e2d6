/* tests/unit/storage/test_pack.c -- blobs appended to pack files (storage/store_pack.c).
 * The index of packed blobs is PostgreSQL's in caseport; here a table in memory plays
 * the locator, and the e2e tests (series, concurrent, cli, reindex) run the real one. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_blob.h"

#define MAX_BLOBS 8

typedef struct px {
    char root[64], dir[128], key[128];
    store_blob_t *s;
    int n;
    store_addr_t addr[MAX_BLOBS];
    store_blob_loc_t loc[MAX_BLOBS];
} px_t;

static cp_err_t table_locate(void *ud, const store_addr_t *addr, store_blob_loc_t *loc,
                             cp_errinfo_t *ei)
{
    px_t *p = ud;
    (void)ei;
    for (int i = 0; i < p->n; i++)
        if (memcmp(&p->addr[i], addr, sizeof *addr) == 0) {
            *loc = p->loc[i];
            return CP_OK;
        }
    return CP_ENOENT;
}

static void px_open(px_t *p)
{
    cp_errinfo_t ei = {0};
    memset(p, 0, sizeof *p);
    snprintf(p->root, sizeof p->root, "/tmp/cp-pack-XXXXXX");
    assert_non_null(mkdtemp(p->root));
    snprintf(p->dir, sizeof p->dir, "%s/store", p->root);
    snprintf(p->key, sizeof p->key, "%s/kek", p->root);
    assert_int_equal(store_blob_keygen(p->key, &ei), CP_OK);
    assert_int_equal(store_blob_open(p->dir, p->key, &p->s, &ei), CP_OK);
    store_blob_set_locator(p->s, table_locate, p);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void px_close(px_t *p)
{
    store_blob_close(p->s);
    nftw(p->root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)((i * 131 + seed * 7) >> 3);
}

/* Writes a packed blob; keep: committed and indexed, else freed uncommitted. */
static store_blob_writer_t *write_packed(px_t *p, const uint8_t *data, size_t n)
{
    cp_errinfo_t ei = {0};
    store_blob_writer_t *w;
    assert_int_equal(store_blob_writer_new_packed(p->s, &w, &ei), CP_OK);
    assert_int_equal(store_blob_writer_write(w, data, n, &ei), CP_OK);
    store_addr_t a;
    uint64_t size;
    assert_int_equal(store_blob_writer_seal(w, &a, &size, &ei), CP_OK);
    assert_int_equal(size, n);
    assert_true(p->n < MAX_BLOBS);
    p->addr[p->n] = a;
    store_blob_writer_location(w, &p->loc[p->n]);
    assert_int_equal(strlen(p->loc[p->n].pack), STORE_PACK_NAME_LEN);
    return w;
}

static void put_packed(px_t *p, const uint8_t *data, size_t n)
{
    cp_errinfo_t ei = {0};
    store_blob_writer_t *w = write_packed(p, data, n);
    store_addr_t a;
    uint64_t size;
    assert_int_equal(store_blob_writer_commit(w, &a, &size, &ei), CP_OK);
    store_blob_writer_free(w);
    p->n++;
}

static void read_back(px_t *p, int i, const uint8_t *want, size_t n)
{
    cp_errinfo_t ei = {0};
    store_blob_reader_t *r;
    uint8_t *got = malloc(n + 1);
    size_t total = 0, k;
    assert_int_equal(store_blob_reader_open(p->s, &p->addr[i], &r, &ei), CP_OK);
    assert_int_equal(store_blob_reader_size(r), n);
    do {
        assert_int_equal(store_blob_reader_read(r, got + total, n + 1 - total, &k, &ei), CP_OK);
        total += k;
    } while (k > 0);
    store_blob_reader_close(r);
    assert_int_equal(total, n);
    assert_memory_equal(got, want, n);
    free(got);
    assert_int_equal(store_blob_verify(p->s, &p->addr[i], NULL, &ei), CP_OK);
}

static off_t pack_size(const px_t *p, int i)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/packs/%s.pack", p->dir, p->loc[i].pack);
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void flip(const px_t *p, int i, uint64_t at)
{
    char path[256];
    uint8_t b;
    snprintf(path, sizeof path, "%s/packs/%s.pack", p->dir, p->loc[i].pack);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    off_t off = (off_t)(p->loc[i].offset + at);
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* Three blobs, one after another in one pack (one writer at a time takes the same idle
 * pack), each read back whole; the pack is exactly their bytes. */
void pack_blobs_follow_each_other(void **state)
{
    (void)state;
    static uint8_t a[100], b[3 * 65536 + 5], c[1];
    px_t p;
    px_open(&p);
    fill(a, sizeof a, 1);
    fill(b, sizeof b, 2);
    fill(c, sizeof c, 3);
    put_packed(&p, a, sizeof a);
    put_packed(&p, b, sizeof b);
    put_packed(&p, c, sizeof c);
    assert_string_equal(p.loc[0].pack, p.loc[2].pack);
    assert_int_equal(p.loc[0].offset, 0);
    assert_int_equal(p.loc[1].offset, p.loc[0].length);
    assert_int_equal(p.loc[2].offset, p.loc[1].offset + p.loc[1].length);
    assert_int_equal(pack_size(&p, 0), p.loc[2].offset + p.loc[2].length);
    read_back(&p, 0, a, sizeof a);
    read_back(&p, 1, b, sizeof b);
    read_back(&p, 2, c, sizeof c);
    px_close(&p);
}

/* Two writers at once get two packs; an uncommitted and a discarded blob give their
 * space back, so the next blob starts where they did. */
void pack_space_given_back(void **state)
{
    (void)state;
    cp_errinfo_t ei = {0};
    static uint8_t a[5000], b[7000];
    px_t p;
    px_open(&p);
    fill(a, sizeof a, 4);
    fill(b, sizeof b, 5);
    store_blob_writer_t *w1 = write_packed(&p, a, sizeof a);
    p.n++;
    store_blob_writer_t *w2 = write_packed(&p, b, sizeof b);
    assert_string_not_equal(p.loc[0].pack, p.loc[1].pack);
    store_blob_writer_free(w2); /* never committed */
    assert_int_equal(pack_size(&p, 1), 0);
    store_addr_t x;
    uint64_t size;
    assert_int_equal(store_blob_writer_commit(w1, &x, &size, &ei), CP_OK);
    store_blob_writer_discard(w1); /* the index had it already */
    store_blob_writer_free(w1);
    assert_int_equal(pack_size(&p, 0), 0);
    p.n = 0;
    put_packed(&p, b, sizeof b);
    assert_int_equal(p.loc[0].offset, 0);
    read_back(&p, 0, b, sizeof b);
    px_close(&p);
}

/* Damage inside a pack is found for the damaged blob alone; a location that lies (too
 * long, another blob's bytes, a pack that is not there) is refused, never followed. The
 * lies are told to a reader's store, which has no cache of what it wrote. */
void pack_tamper_and_bad_locations(void **state)
{
    (void)state;
    cp_errinfo_t ei = {0};
    static uint8_t a[70000], b[300];
    px_t p;
    px_open(&p);
    fill(a, sizeof a, 6);
    fill(b, sizeof b, 7);
    put_packed(&p, a, sizeof a);
    put_packed(&p, b, sizeof b);
    store_blob_loc_t good = p.loc[1];

    flip(&p, 0, 65536 + 200); /* in a's second segment */
    assert_int_equal(store_blob_verify(p.s, &p.addr[0], NULL, &ei), CP_ETAMPER);
    read_back(&p, 1, b, sizeof b);
    store_blob_close(p.s);
    assert_int_equal(store_blob_open_shared(p.dir, p.key, &p.s, &ei), CP_OK);
    store_blob_set_locator(p.s, table_locate, &p);

    p.loc[1].length = good.length + 1; /* past the pack's end */
    assert_int_equal(store_blob_verify(p.s, &p.addr[1], NULL, &ei), CP_ETAMPER);
    p.loc[1] = p.loc[0]; /* a's bytes under b's address: the header is bound to a's */
    assert_int_equal(store_blob_verify(p.s, &p.addr[1], NULL, &ei), CP_ETAMPER);
    p.loc[1] = good;
    p.loc[1].length -= 1; /* cut short */
    assert_int_equal(store_blob_verify(p.s, &p.addr[1], NULL, &ei), CP_ETAMPER);
    p.loc[1] = good;
    snprintf(p.loc[1].pack, sizeof p.loc[1].pack, "0123456789abcdef");
    assert_int_equal(store_blob_verify(p.s, &p.addr[1], NULL, &ei), CP_ENOENT);
    snprintf(p.loc[1].pack, sizeof p.loc[1].pack, "../../../etc/pa");
    assert_int_equal(store_blob_verify(p.s, &p.addr[1], NULL, &ei), CP_ENOENT);
    p.loc[1] = good;
    read_back(&p, 1, b, sizeof b);
    px_close(&p);
}

/* A store opened for reading cannot append; a reader without a locator finds only
 * blobs in files of their own. */
void pack_reader_store_and_no_locator(void **state)
{
    (void)state;
    cp_errinfo_t ei = {0};
    static uint8_t a[10];
    px_t p;
    px_open(&p);
    fill(a, sizeof a, 8);
    put_packed(&p, a, sizeof a);
    store_blob_t *ro;
    assert_int_equal(store_blob_open_shared(p.dir, p.key, &ro, &ei), CP_OK);
    store_blob_writer_t *w = NULL;
    assert_int_equal(store_blob_writer_new_packed(ro, &w, &ei), CP_EUSAGE);
    assert_null(w);
    assert_int_equal(store_blob_verify(ro, &p.addr[0], NULL, &ei), CP_ENOENT);
    store_blob_set_locator(ro, table_locate, &p);
    assert_int_equal(store_blob_verify(ro, &p.addr[0], NULL, &ei), CP_OK);
    store_blob_close(ro);
    px_close(&p);
}

/* The writing store remembers where its recent blobs went: found without asking the
 * index, and a repair (store_blob_remember) moves the entry. */
void pack_recent_locations_remembered(void **state)
{
    (void)state;
    cp_errinfo_t ei = {0};
    static uint8_t a[2000];
    px_t p;
    px_open(&p);
    fill(a, sizeof a, 9);
    put_packed(&p, a, sizeof a);
    put_packed(&p, a, sizeof a); /* a second copy of the same content, in the same pack */
    store_blob_set_locator(p.s, NULL, NULL);
    assert_int_equal(store_blob_verify(p.s, &p.addr[0], NULL, &ei), CP_OK);
    flip(&p, 1, 500); /* the copy the store remembers last */
    assert_int_equal(store_blob_verify(p.s, &p.addr[0], NULL, &ei), CP_ETAMPER);
    store_blob_remember(p.s, &p.addr[0], &p.loc[0]);
    assert_int_equal(store_blob_verify(p.s, &p.addr[0], NULL, &ei), CP_OK);
    px_close(&p);
}
