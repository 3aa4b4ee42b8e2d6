/* storage/store_blob.c -- the encrypted, content-addressed blob store. The byte layout,
 * key derivation and the tamper checks are specified in docs/blob-format.md; keep the two
 * in step (a layout change is a new format version, never an edit of version 1).
 *
 * Writer: plaintext -> HMAC (address) and AES-256-GCM, one segment at a time, sealed in
 * place in one buffer and written with one write() per segment; commit fsyncs the file,
 * renames it to its address without replacing an existing blob and fsyncs the directory.
 * Reader: each segment is authenticated before any of its bytes leave this file; the end
 * is reported only after the final flag was seen and the HMAC matched the address. */
#define _GNU_SOURCE /* renameat2(RENAME_NOREPLACE) */
#include "store_blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "cp_bytes.h"
#include "cp_mem.h"
#include "store_pack.h"

/* Header, version 1 (docs/blob-format.md). Multi-byte integers are big-endian. */
#define HDR_MAGIC "\211CPBLOB\n" /* \211 = 0x89 */
#define HDR_MAGIC_LEN 8
#define OFF_VERSION 8
#define OFF_SUITE 10
#define OFF_SEGSIZE 12
#define OFF_PREFIX 16
#define OFF_KEYID 24
#define OFF_WRAPPED 32
#define OFF_TAG 72
#define HDR_LEN 104
#define HDR_FIXED_LEN OFF_KEYID /* never rewritten: in every segment's AAD */
#define FMT_VERSION 1
#define SUITE_V1 1 /* AES-256-GCM segments, AES-256-KWP data key, HMAC/HKDF-SHA-256 */

#define KEY_LEN 32
#define KEYID_LEN 8
#define PREFIX_LEN 8
#define WRAPPED_LEN 40 /* RFC 5649 of 32 bytes: 32 + 8 */
#define HTAG_LEN 32    /* header tag: HMAC-SHA-256 */
#define TAG_LEN 16     /* GCM tag per segment */
#define NONCE_LEN 12
#define AAD_LEN (HDR_FIXED_LEN + 8 + 1)
#define SEG STORE_BLOB_SEGMENT
#define SEG_DISK (SEG + TAG_LEN)
#define MAX_SEGMENTS ((uint64_t)1 << 32) /* the nonce counter is 32 bits */
#define WRITEBACK_STEP ((off_t)4 << 20)   /* see seal_segment */

_Static_assert(sizeof HDR_MAGIC - 1 == HDR_MAGIC_LEN, "magic is 8 bytes");
_Static_assert(OFF_PREFIX + PREFIX_LEN == OFF_KEYID, "header fields are contiguous");
_Static_assert(OFF_KEYID + KEYID_LEN == OFF_WRAPPED, "header fields are contiguous");
_Static_assert(OFF_WRAPPED + WRAPPED_LEN == OFF_TAG, "header fields are contiguous");
_Static_assert(OFF_TAG + HTAG_LEN == HDR_LEN, "header fields are contiguous");
_Static_assert(PREFIX_LEN + 4 == NONCE_LEN, "nonce = prefix || 32-bit counter");
_Static_assert(SEG <= INT_MAX - TAG_LEN, "a segment fits the int lengths of EVP");

/* HKDF-SHA-256 info strings: one key per purpose, so no key is ever used twice. */
#define INFO_ADDR "caseport blob v1 address"
#define INFO_WRAP "caseport blob v1 wrap"
#define INFO_HDR "caseport blob v1 header"
#define INFO_KEYID "caseport blob v1 key id"

/* Longest suffix appended to the store dir: "/tmp/<16 hex>.tmp" or "/ab/cd/<64 hex>". */
#define DIR_SUFFIX_MAX (1 + 3 + 1 + STORE_ADDR_HEX_LEN + 1)
#define FANOUT_DIGITS 3 /* <dir>/abc/<address>: 4096 directories, made once at open */

/* Where recently written packed blobs are, so that the jobs reading them right after
 * their ingest (pixel hash, normalize: four opens per instance) need no round trip to
 * the index. Direct-mapped on the address's first bytes; a location never changes except
 * by store_blob_remember after a repair, so an entry is never stale. 4096 entries (300 KB):
 * the jobs may run some hundreds of instances behind a 4-association burst. */
#define LOC_CACHE 4096
typedef struct loc_entry {
    bool used;
    store_addr_t addr;
    store_blob_loc_t loc;
} loc_entry_t;

struct store_blob {
    char *dir;
    EVP_CIPHER *gcm, *kwp;
    EVP_MAC *hmac;
    uint8_t addr_key[KEY_LEN], wrap_key[KEY_LEN], hdr_key[KEY_LEN];
    uint8_t key_id[KEYID_LEN];
    char key_id_hex[2 * KEYID_LEN + 1];
    store_packs_t *packs; /* NULL for a reader's store */
    store_blob_locate_fn locate;
    void *locate_ud;
    pthread_mutex_t cache_mu;
    loc_entry_t *cache; /* LOC_CACHE entries, for a store that writes packs */
};

typedef enum { W_OPEN, W_SEALED, W_FAILED, W_COMMITTED } writer_state_t;

struct store_blob_writer {
    store_blob_t *s;
    writer_state_t state;
    int fd;
    bool tmp_exists; /* tmp_path names our file: unlink it unless committed */
    store_pack_t *pack; /* packed: fd is the pack's, the blob starts at base */
    off_t base;
    bool discard;     /* packed, committed, but the index had it: give the space back */
    uint64_t nseg;   /* segments sealed and written so far */
    size_t last_disk; /* file bytes of the last segment written (with its tag) */
    off_t synced;    /* file bytes whose write-back was started */
    store_addr_t addr; /* set by seal */
    size_t fill;     /* plaintext bytes waiting in buf */
    EVP_CIPHER_CTX *gcm;
    EVP_MAC_CTX *mac;
    uint8_t hdr[HDR_LEN];
    char tmp_path[PATH_MAX];
    uint8_t buf[SEG_DISK]; /* plaintext, sealed in place, followed by its tag */
};

struct store_blob_reader {
    store_blob_t *s;
    int fd;
    off_t base; /* where the blob starts in the file (a pack), else 0 */
    cp_err_t err; /* sticky: a reader that failed once never returns data again */
    bool final_seen, done;
    bool check_address; /* verify: the plaintext's HMAC must equal the address */
    uint64_t nseg, next, size;
    size_t last_len;   /* plaintext bytes of the final segment */
    size_t pos, avail; /* authenticated plaintext waiting in buf */
    EVP_CIPHER_CTX *gcm;
    EVP_MAC_CTX *mac;
    store_addr_t addr;
    char hex[STORE_ADDR_HEX_LEN + 1];
    uint8_t hdr[HDR_LEN];
    uint8_t buf[SEG_DISK];
};

/* ---- small helpers ---------------------------------------------------------------- */

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint32_t get_be(const uint8_t *p, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void to_hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The OpenSSL error queue is per thread: report its first entry, then empty it so a stale
 * entry never shows up in an unrelated later failure. */
static cp_err_t fail_ssl(cp_errinfo_t *ei, cp_err_t code, const char *what)
{
    char detail[160] = "no detail";
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    return cp_fail(ei, code, 0, "%s failed in openssl: %s", what, detail);
}

cp_err_t store__fail_errno(cp_errinfo_t *ei, const char *fmt, const char *obj)
{
    int e = errno;
    return cp_fail(ei, cp_err_from_errno(e), e, fmt, obj);
}

static int write_all_v(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t n = writev(fd, iov, cnt);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        /* short write: skip what went out, resume inside the partly written vector */
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
    return write_all_v(fd, &iov, 1);
}

/* 0, or -1 with errno; a short count (the file shrank under us) is reported as *got. */
static int pread_all(int fd, void *p, size_t n, off_t off, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = pread(fd, (char *)p + *got, n - *got, off + (off_t)*got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

/* A rename or create is durable only once its directory is fsynced (store_pack.h). */
cp_err_t store__fsync_dir(const char *dir, cp_errinfo_t *ei)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return store__fail_errno(ei, "cannot open directory %s", dir);
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0)
        return cp_fail(ei, cp_err_from_errno(e), e, "cannot fsync directory %s", dir);
    return CP_OK;
}

/* mkdir that accepts an existing directory; *made tells whether it was created. */
static cp_err_t make_dir(const char *path, mode_t mode, bool *made, cp_errinfo_t *ei)
{
    *made = false;
    if (mkdir(path, mode) == 0) {
        *made = true;
        return CP_OK;
    }
    if (errno != EEXIST)
        return store__fail_errno(ei, "cannot create directory %s", path);
    struct stat st;
    if (stat(path, &st) != 0)
        return store__fail_errno(ei, "cannot stat %s", path);
    if (!S_ISDIR(st.st_mode))
        return cp_fail(ei, CP_EEXIST, 0, "%s exists and is not a directory", path);
    return CP_OK;
}

/* make_dir, and when it created the directory, fsync its parent: a new directory entry is
 * durable only then, and a blob filed below it is no more durable than its directory. */
static cp_err_t make_dir_durable(char *path, mode_t mode, cp_errinfo_t *ei)
{
    bool made;
    cp_err_t err = make_dir(path, mode, &made, ei);
    if (err != CP_OK || !made)
        return err;
    char *slash = strrchr(path, '/');
    if (slash == NULL)
        return store__fsync_dir(".", ei);
    if (slash == path)
        return store__fsync_dir("/", ei);
    *slash = '\0';
    err = store__fsync_dir(path, ei);
    *slash = '/';
    return err;
}

/* mkdir -p: every missing component of path, mode applied to each one created. */
cp_err_t store__make_dirs(const char *path, mode_t mode, cp_errinfo_t *ei)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf)
        return cp_fail(ei, CP_EINVAL, 0, "path %.64s... is too long", path);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i < len; i++) {
        if (buf[i] != '/' || buf[i - 1] == '/')
            continue;
        buf[i] = '\0';
        cp_err_t err = make_dir_durable(buf, mode, ei);
        buf[i] = '/';
        if (err != CP_OK)
            return err;
    }
    return make_dir_durable(buf, mode, ei);
}

/* ---- key derivation and MACs ------------------------------------------------------ */

static bool hkdf(const uint8_t kek[KEY_LEN], const char *info, uint8_t *out, size_t n)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *k = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (k == NULL)
        return false;
    char digest[] = "SHA256";
    /* No salt: HKDF then uses a zero salt (RFC 5869 2.2); the KEK is uniformly random. */
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)kek, KEY_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    bool ok = EVP_KDF_derive(k, out, n, params) == 1;
    EVP_KDF_CTX_free(k);
    return ok;
}

static bool mac_init(EVP_MAC_CTX *m, const uint8_t key[KEY_LEN])
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_init(m, key, KEY_LEN, params) == 1;
}

static bool mac_final(EVP_MAC_CTX *m, uint8_t out[32])
{
    size_t n = 0;
    return EVP_MAC_final(m, out, &n, 32) == 1 && n == 32;
}

/* The header tag binds the header to the address it is filed under: a header (or whole
 * file) moved from another blob fails here, before any segment is read. */
static bool header_tag(const store_blob_t *s, const uint8_t *hdr, const store_addr_t *addr,
                       uint8_t tag[HTAG_LEN])
{
    EVP_MAC_CTX *m = EVP_MAC_CTX_new(s->hmac);
    bool ok = m != NULL && mac_init(m, s->hdr_key) && EVP_MAC_update(m, hdr, OFF_TAG) == 1 &&
              EVP_MAC_update(m, addr->b, sizeof addr->b) == 1 && mac_final(m, tag);
    EVP_MAC_CTX_free(m);
    return ok;
}

/* RFC 5649 key wrap; the provider wants room for one extra block in either direction. */
static bool key_wrap(const store_blob_t *s, bool enc, const uint8_t *in, size_t inlen, uint8_t *out,
                     size_t *outlen)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    bool ok = c != NULL;
    if (ok) {
        EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        ok = EVP_CipherInit_ex2(c, s->kwp, s->wrap_key, NULL, enc, NULL) == 1 &&
             EVP_CipherUpdate(c, out, &n1, in, (int)inlen) == 1 &&
             EVP_CipherFinal_ex(c, out + n1, &n2) == 1;
    }
    EVP_CIPHER_CTX_free(c);
    *outlen = (size_t)n1 + (size_t)n2;
    return ok;
}

/* ---- segments ---------------------------------------------------------------------- */

static void seg_nonce(const uint8_t *hdr, uint64_t index, uint8_t nonce[NONCE_LEN])
{
    memcpy(nonce, hdr + OFF_PREFIX, PREFIX_LEN);
    put_be32(nonce + PREFIX_LEN, (uint32_t)index);
}

/* The index stops swapping and reordering, the final flag stops truncation at a segment
 * boundary, and the fixed header part ties every segment to this blob's format. Key id
 * and wrapped key stay out, so key rotation rewrites the header only. */
static void seg_aad(const uint8_t *hdr, uint64_t index, bool final, uint8_t aad[AAD_LEN])
{
    memcpy(aad, hdr, HDR_FIXED_LEN);
    put_be64(aad + HDR_FIXED_LEN, index);
    aad[HDR_FIXED_LEN + 8] = final ? 1 : 0;
}

/* Seals n bytes of src into out[0..n) and the tag into out[n..n+16); src may be out. */
static bool gcm_seal(EVP_CIPHER_CTX *c, const uint8_t *hdr, uint64_t index, bool final,
                     const uint8_t *src, size_t n, uint8_t *out)
{
    uint8_t nonce[NONCE_LEN], aad[AAD_LEN];
    int len;
    seg_nonce(hdr, index, nonce);
    seg_aad(hdr, index, final, aad);
    return EVP_EncryptInit_ex2(c, NULL, NULL, nonce, NULL) == 1 &&
           EVP_EncryptUpdate(c, NULL, &len, aad, AAD_LEN) == 1 &&
           (n == 0 || EVP_EncryptUpdate(c, out, &len, src, (int)n) == 1) &&
           EVP_EncryptFinal_ex(c, out + n, &len) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, out + n) == 1;
}

/* Opens n ciphertext bytes of src (tag at src + n) into out; src may be out.
 * 1: authentic; 0: forged (out holds garbage the caller must wipe); -1: openssl failed. */
static int gcm_open(EVP_CIPHER_CTX *c, const uint8_t *hdr, uint64_t index, bool final,
                    const uint8_t *src, size_t n, uint8_t *out)
{
    uint8_t nonce[NONCE_LEN], aad[AAD_LEN], tag[TAG_LEN];
    int len;
    memcpy(tag, src + n, TAG_LEN);
    seg_nonce(hdr, index, nonce);
    seg_aad(hdr, index, final, aad);
    if (EVP_DecryptInit_ex2(c, NULL, NULL, nonce, NULL) != 1 ||
        EVP_DecryptUpdate(c, NULL, &len, aad, AAD_LEN) != 1 ||
        (n > 0 && EVP_DecryptUpdate(c, out, &len, src, (int)n) != 1) ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) != 1)
        return -1;
    if (EVP_DecryptFinal_ex(c, out + n, &len) != 1) {
        ERR_clear_error();
        return 0;
    }
    return 1;
}

/* A cipher context keyed once per blob; each segment then only sets its nonce. */
static EVP_CIPHER_CTX *gcm_new(const store_blob_t *s, bool enc, const uint8_t dk[KEY_LEN])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c != NULL && EVP_CipherInit_ex2(c, s->gcm, dk, NULL, enc, NULL) != 1) {
        EVP_CIPHER_CTX_free(c);
        c = NULL;
    }
    return c;
}

/* ---- store ------------------------------------------------------------------------- */

static cp_err_t read_kek(const char *path, uint8_t kek[KEY_LEN], cp_errinfo_t *ei)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cp_fail(ei, CP_EKEY, errno, "cannot open key file %s", path);
    struct stat st;
    cp_err_t err = CP_OK;
    size_t got = 0;
    if (fstat(fd, &st) != 0)
        err = cp_fail(ei, CP_EKEY, errno, "cannot stat key file %s", path);
    else if (!S_ISREG(st.st_mode))
        err = cp_fail(ei, CP_EKEY, 0, "key file %s is not a regular file", path);
    else if ((st.st_mode & 077) != 0)
        err = cp_fail(ei, CP_EKEY, 0,
                      "key file %s is accessible by group or others (mode %04o), "
                      "allow its owner only (chmod 600)",
                      path, (unsigned)(st.st_mode & 07777));
    else if (st.st_size != KEY_LEN)
        err = cp_fail(ei, CP_EKEY, 0, "key file %s holds %lld bytes, a key is exactly %d", path,
                      (long long)st.st_size, KEY_LEN);
    else if (pread_all(fd, kek, KEY_LEN, 0, &got) != 0 || got != KEY_LEN)
        err = cp_fail(ei, CP_EKEY, errno, "cannot read key file %s", path);
    close(fd);
    return err;
}

cp_err_t store_blob_derive_key(const char *key_path, const char *info, uint8_t out[KEY_LEN],
                               cp_errinfo_t *ei)
{
    uint8_t kek[KEY_LEN];
    cp_err_t err = read_kek(key_path, kek, ei);
    if (err == CP_OK && !hkdf(kek, info, out, KEY_LEN))
        err = fail_ssl(ei, CP_EKEY, "key derivation (hkdf-sha-256)");
    OPENSSL_cleanse(kek, sizeof kek);
    return err;
}

static cp_err_t derive_keys(store_blob_t *s, const uint8_t kek[KEY_LEN], cp_errinfo_t *ei)
{
    if (!hkdf(kek, INFO_ADDR, s->addr_key, KEY_LEN) ||
        !hkdf(kek, INFO_WRAP, s->wrap_key, KEY_LEN) || !hkdf(kek, INFO_HDR, s->hdr_key, KEY_LEN) ||
        !hkdf(kek, INFO_KEYID, s->key_id, KEYID_LEN))
        return fail_ssl(ei, CP_EKEY, "blob store key derivation (hkdf-sha-256)");
    to_hex(s->key_id, KEYID_LEN, s->key_id_hex);
    return CP_OK;
}

/* Fetched once: implicit fetches on every init cost a lookup per blob. Fetched algorithm
 * objects are immutable and safe to share between threads. */
static cp_err_t fetch_algorithms(store_blob_t *s, cp_errinfo_t *ei)
{
    s->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    s->kwp = EVP_CIPHER_fetch(NULL, "AES-256-WRAP-PAD", NULL);
    s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (s->gcm == NULL || s->kwp == NULL || s->hmac == NULL)
        return fail_ssl(ei, CP_EKEY, "blob store algorithm fetch (aes-256-gcm, kwp, hmac)");
    return CP_OK;
}

/* A temp file is only ever a blob that was never committed: nothing refers to it. */
static cp_err_t clean_tmp(const char *tmp, cp_errinfo_t *ei)
{
    DIR *d = opendir(tmp);
    if (d == NULL)
        return store__fail_errno(ei, "cannot open blob temp directory %s", tmp);
    cp_err_t err = CP_OK;
    for (struct dirent *de = readdir(d); err == CP_OK && de != NULL; de = readdir(d)) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || de->d_type == DT_DIR)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT && errno != EISDIR)
            err = cp_fail(ei, cp_err_from_errno(errno), errno,
                          "cannot remove stale blob temp file %s/%s", tmp, de->d_name);
    }
    closedir(d);
    return err;
}

/* Every fan-out directory exists before the first commit, so a commit never creates a
 * directory: it costs two fsyncs (file, directory), not four. */
static cp_err_t make_fanout(const store_blob_t *s, cp_errinfo_t *ei)
{
    char path[PATH_MAX];
    bool made_any = false;
    for (unsigned i = 0; i < 1u << (4 * FANOUT_DIGITS); i++) {
        snprintf(path, sizeof path, "%s/%03x", s->dir, i);
        if (mkdir(path, 0700) == 0)
            made_any = true;
        else if (errno != EEXIST)
            return store__fail_errno(ei, "cannot create blob directory %s", path);
    }
    return made_any ? store__fsync_dir(s->dir, ei) : CP_OK;
}

typedef enum open_mode { OPEN_OWNER, OPEN_WRITER, OPEN_READER } open_mode_t;

static cp_err_t prepare_dirs(const store_blob_t *s, bool clean, cp_errinfo_t *ei)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/tmp", s->dir);
    cp_err_t err = store__make_dirs(tmp, 0700, ei);
    if (err == CP_OK && clean)
        err = clean_tmp(tmp, ei);
    if (err == CP_OK)
        err = make_fanout(s, ei);
    if (err == CP_OK)
        err = store_packs_prepare(s->dir, ei);
    return err;
}

static cp_err_t open_store(const char *dir, const char *key_path, open_mode_t mode,
                           store_blob_t **out, cp_errinfo_t *ei)
{
    *out = NULL;
    if (dir == NULL || *dir == '\0' || strlen(dir) >= PATH_MAX - DIR_SUFFIX_MAX)
        return cp_fail(ei, CP_EINVAL, 0, "blob store directory name is empty or too long");
    uint8_t kek[KEY_LEN];
    cp_err_t err = read_kek(key_path, kek, ei);
    if (err != CP_OK)
        return err;
    store_blob_t *s = cp_xcalloc(1, sizeof *s);
    s->dir = cp_xstrdup(dir);
    err = derive_keys(s, kek, ei);
    OPENSSL_cleanse(kek, sizeof kek); /* only the derived keys stay in memory */
    if (err == CP_OK)
        err = fetch_algorithms(s, ei);
    if (err == CP_OK && mode != OPEN_READER)
        err = prepare_dirs(s, mode == OPEN_OWNER, ei);
    if (err == CP_OK && mode != OPEN_READER) {
        s->packs = store_packs_new(dir);
        s->cache = cp_xcalloc(LOC_CACHE, sizeof *s->cache);
        pthread_mutex_init(&s->cache_mu, NULL);
    }
    if (err != CP_OK) {
        store_blob_close(s);
        return err;
    }
    *out = s;
    return CP_OK;
}

void store_blob_close(store_blob_t *s)
{
    if (s == NULL)
        return;
    store_packs_free(s->packs);
    if (s->cache != NULL) {
        pthread_mutex_destroy(&s->cache_mu);
        free(s->cache);
    }
    EVP_CIPHER_free(s->gcm);
    EVP_CIPHER_free(s->kwp);
    EVP_MAC_free(s->hmac);
    free(s->dir);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

static loc_entry_t *cache_slot(const store_blob_t *s, const store_addr_t *addr)
{
    return &s->cache[(addr->b[0] | (unsigned)addr->b[1] << 8) % LOC_CACHE];
}

void store_blob_remember(store_blob_t *s, const store_addr_t *addr, const store_blob_loc_t *loc)
{
    if (s->cache == NULL || loc->pack[0] == '\0')
        return;
    pthread_mutex_lock(&s->cache_mu);
    loc_entry_t *e = cache_slot(s, addr);
    *e = (loc_entry_t){.used = true, .addr = *addr, .loc = *loc};
    pthread_mutex_unlock(&s->cache_mu);
}

/* The locator, asked only when the cache does not know the address. */
static cp_err_t locate(store_blob_t *s, const store_addr_t *addr, store_blob_loc_t *loc,
                       cp_errinfo_t *ei)
{
    bool hit = false;
    if (s->cache != NULL) {
        pthread_mutex_lock(&s->cache_mu);
        const loc_entry_t *e = cache_slot(s, addr);
        if (e->used && memcmp(&e->addr, addr, sizeof *addr) == 0) {
            *loc = e->loc;
            hit = true;
        }
        pthread_mutex_unlock(&s->cache_mu);
    }
    if (hit)
        return CP_OK;
    return s->locate == NULL ? CP_ENOENT : s->locate(s->locate_ud, addr, loc, ei);
}

void store_blob_set_locator(store_blob_t *s, store_blob_locate_fn fn, void *ud)
{
    s->locate = fn;
    s->locate_ud = ud;
}

const char *store_blob_dir(const store_blob_t *s)
{
    return s->dir;
}

const char *store_blob_key_id(const store_blob_t *s)
{
    return s->key_id_hex;
}

/* Parent directory of path ("." without a slash), created 0700 if missing. */
static cp_err_t key_parent(const char *path, char *parent, size_t cap, cp_errinfo_t *ei)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 0 : (size_t)(slash - path);
    if (n >= cap)
        return cp_fail(ei, CP_EINVAL, 0, "key file path %.64s... is too long", path);
    if (slash == NULL) {
        snprintf(parent, cap, ".");
        return CP_OK;
    }
    if (n == 0) {
        snprintf(parent, cap, "/");
        return CP_OK;
    }
    memcpy(parent, path, n);
    parent[n] = '\0';
    return store__make_dirs(parent, 0700, ei);
}

static cp_err_t write_key(int fd, const char *path, cp_errinfo_t *ei)
{
    uint8_t kek[KEY_LEN];
    cp_err_t err = CP_OK;
    if (RAND_bytes(kek, sizeof kek) != 1)
        err = fail_ssl(ei, CP_EKEY, "key generation (rand_bytes)");
    else if (write_all(fd, kek, sizeof kek) != 0 || fsync(fd) != 0)
        err = store__fail_errno(ei, "cannot write key file %s", path);
    OPENSSL_cleanse(kek, sizeof kek);
    return err;
}

cp_err_t store_blob_keygen(const char *key_path, cp_errinfo_t *ei)
{
    char parent[PATH_MAX];
    cp_err_t err = key_parent(key_path, parent, sizeof parent, ei);
    if (err != CP_OK)
        return err;
    /* O_EXCL: a key is never overwritten, whatever the caller believed */
    int fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return cp_fail(ei, CP_EEXIST, 0, "key file %s already exists, refusing to overwrite it",
                       key_path);
    if (fd < 0)
        return store__fail_errno(ei, "cannot create key file %s", key_path);
    err = write_key(fd, key_path, ei);
    if (close(fd) != 0 && err == CP_OK)
        err = store__fail_errno(ei, "cannot write key file %s", key_path);
    if (err == CP_OK)
        err = store__fsync_dir(parent, ei); /* the new key's directory entry, too */
    if (err != CP_OK)
        unlink(key_path);
    return err;
}

/* ---- writer ------------------------------------------------------------------------ */

static void header_init(const store_blob_t *s, uint8_t hdr[HDR_LEN], const uint8_t *prefix)
{
    memset(hdr, 0, HDR_LEN); /* the tag is filled in at commit, once the address is known */
    memcpy(hdr, HDR_MAGIC, HDR_MAGIC_LEN);
    put_be16(hdr + OFF_VERSION, FMT_VERSION);
    put_be16(hdr + OFF_SUITE, SUITE_V1);
    put_be32(hdr + OFF_SEGSIZE, SEG);
    memcpy(hdr + OFF_PREFIX, prefix, PREFIX_LEN);
    memcpy(hdr + OFF_KEYID, s->key_id, KEYID_LEN);
}

/* Fresh data key and nonce prefix; keys the writer's cipher and MAC contexts. */
static cp_err_t writer_keys(store_blob_writer_t *w, cp_errinfo_t *ei)
{
    uint8_t rnd[KEY_LEN + PREFIX_LEN], wrapped[WRAPPED_LEN + 8];
    size_t wlen = 0;
    cp_err_t err = CP_OK;
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        err = fail_ssl(ei, CP_EKEY, "blob data key generation (rand_bytes)");
        goto out;
    }
    header_init(w->s, w->hdr, rnd + KEY_LEN);
    if (!key_wrap(w->s, true, rnd, KEY_LEN, wrapped, &wlen) || wlen != WRAPPED_LEN) {
        err = fail_ssl(ei, CP_EKEY, "blob data key wrap (aes-256-kwp)");
        goto out;
    }
    memcpy(w->hdr + OFF_WRAPPED, wrapped, WRAPPED_LEN);
    w->gcm = gcm_new(w->s, true, rnd);
    w->mac = EVP_MAC_CTX_new(w->s->hmac);
    if (w->gcm == NULL || w->mac == NULL || !mac_init(w->mac, w->s->addr_key))
        err = fail_ssl(ei, CP_ENOMEM, "blob writer setup (aes-256-gcm, hmac)");
out:
    OPENSSL_cleanse(rnd, sizeof rnd);
    return err;
}

/* Temp names come from random bytes: unique across threads and processes sharing dir. */
static cp_err_t open_temp(store_blob_writer_t *w, cp_errinfo_t *ei)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        uint8_t rnd[8];
        char hex[17];
        if (RAND_bytes(rnd, sizeof rnd) != 1)
            return fail_ssl(ei, CP_EIO, "blob temp file name (rand_bytes)");
        to_hex(rnd, sizeof rnd, hex);
        snprintf(w->tmp_path, sizeof w->tmp_path, "%s/tmp/%s.tmp", w->s->dir, hex);
        w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w->fd >= 0) {
            w->tmp_exists = true;
            return CP_OK;
        }
        if (errno != EEXIST)
            break;
    }
    return store__fail_errno(ei, "cannot create blob temp file %s", w->tmp_path);
}

/* The blob starts at the pack's end; the writer alone appends to the pack until freed. */
static cp_err_t open_packed(store_blob_writer_t *w, cp_errinfo_t *ei)
{
    if (w->s->packs == NULL)
        return cp_fail(ei, CP_EUSAGE, 0, "this blob store was opened for reading only");
    cp_err_t err = store_packs_take(w->s->packs, &w->pack, ei);
    if (err != CP_OK)
        return err;
    w->fd = w->pack->fd;
    w->base = (off_t)w->pack->end;
    w->synced = w->base;
    snprintf(w->tmp_path, sizeof w->tmp_path, "%s/packs/%s.pack", w->s->dir, w->pack->name);
    if (lseek(w->fd, w->base, SEEK_SET) != w->base)
        return store__fail_errno(ei, "cannot seek in pack file %s", w->tmp_path);
    return CP_OK;
}

/* A freed writer's memory is kept for the thread's next one: allocated anew, its 64 KiB
 * buffer was zeroed and faulted in page by page for every blob (3% of caseport's CPU on a
 * CT ingest). The key's destructor frees it when the thread ends. */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_ok;

static void spare_init(void)
{
    spare_ok = pthread_key_create(&spare_key, free) == 0;
}

static store_blob_writer_t *writer_alloc(void)
{
    pthread_once(&spare_once, spare_init);
    store_blob_writer_t *w = spare_ok ? pthread_getspecific(spare_key) : NULL;
    if (w != NULL)
        pthread_setspecific(spare_key, NULL);
    else
        w = cp_xmalloc(sizeof *w);
    memset(w, 0, offsetof(store_blob_writer_t, buf)); /* buf is written before it is read */
    return w;
}

static void writer_release(store_blob_writer_t *w)
{
    if (spare_ok && pthread_getspecific(spare_key) == NULL &&
        pthread_setspecific(spare_key, w) == 0)
        return;
    free(w);
}

static cp_err_t writer_new(store_blob_t *s, bool packed, store_blob_writer_t **out,
                           cp_errinfo_t *ei)
{
    *out = NULL;
    store_blob_writer_t *w = writer_alloc();
    w->s = s;
    w->state = W_OPEN;
    w->fd = -1;
    cp_err_t err = writer_keys(w, ei);
    if (err == CP_OK)
        err = packed ? open_packed(w, ei) : open_temp(w, ei);
    if (err != CP_OK) {
        store_blob_writer_free(w);
        return err;
    }
    *out = w;
    return CP_OK;
}

cp_err_t store_blob_writer_new(store_blob_t *s, store_blob_writer_t **out, cp_errinfo_t *ei)
{
    return writer_new(s, false, out, ei);
}

cp_err_t store_blob_writer_new_packed(store_blob_t *s, store_blob_writer_t **out,
                                      cp_errinfo_t *ei)
{
    return writer_new(s, true, out, ei);
}

static cp_err_t writer_unusable(const store_blob_writer_t *w, cp_errinfo_t *ei)
{
    if (w->state == W_COMMITTED)
        return cp_fail(ei, CP_EUSAGE, 0, "blob writer is already committed");
    if (w->state == W_SEALED)
        return cp_fail(ei, CP_EUSAGE, 0, "blob writer is sealed: only commit is allowed");
    return cp_fail(ei, CP_EUSAGE, 0, "blob writer is unusable after an earlier failure");
}

/* Hashes and seals n plaintext bytes of src (w->buf or caller memory) as the next segment
 * and writes it with one system call; the first segment carries the header with it. */
static cp_err_t seal_segment(store_blob_writer_t *w, const uint8_t *src, size_t n, bool final,
                             cp_errinfo_t *ei)
{
    if (w->nseg == MAX_SEGMENTS)
        return cp_fail(ei, CP_ETOOBIG, 0, "blob %s exceeds %llu segments", w->tmp_path,
                       (unsigned long long)MAX_SEGMENTS);
    /* hash before sealing: src may be w->buf, which is encrypted in place */
    if (n > 0 && EVP_MAC_update(w->mac, src, n) != 1)
        return fail_ssl(ei, CP_EIO, "blob address hmac");
    if (!gcm_seal(w->gcm, w->hdr, w->nseg, final, src, n, w->buf))
        return fail_ssl(ei, CP_EIO, "blob segment encryption (aes-256-gcm)");
    struct iovec iov[2] = {
        {.iov_base = w->hdr, .iov_len = HDR_LEN},
        {.iov_base = w->buf, .iov_len = n + TAG_LEN},
    };
    int first = w->nseg == 0 ? 0 : 1;
    if (write_all_v(w->fd, iov + first, 2 - first) != 0)
        return store__fail_errno(ei, "cannot write blob temp file %s", w->tmp_path);
    /* Start write-back (asynchronously) of each WRITEBACK_STEP written, so that the fsync
     * at commit of a large blob finds most of it on its way. Not for every segment: each
     * call submits I/O from this thread, which on this project's VM halved the speed at
     * which a worker encrypts and writes (tools/bench, ct300: 0.53 against 1.0 ms of
     * chunk work per 512 KB instance), and a blob under the step is flushed by fsync. */
    off_t end = w->base + (off_t)(HDR_LEN + w->nseg * SEG_DISK + n + TAG_LEN);
    if (end - w->synced >= WRITEBACK_STEP) {
        sync_file_range(w->fd, w->synced, end - w->synced, SYNC_FILE_RANGE_WRITE);
        w->synced = end;
    }
    w->last_disk = n + TAG_LEN;
    w->nseg++;
    return CP_OK;
}

/* One step of write(): how many bytes of p[0..len) it consumed. A full buffer is sealed
 * only when more data arrives, because only commit knows which segment is final. */
static cp_err_t writer_step(store_blob_writer_t *w, const uint8_t *p, size_t len, size_t *used,
                            cp_errinfo_t *ei)
{
    *used = 0;
    if (w->fill == SEG) {
        cp_err_t err = seal_segment(w, w->buf, SEG, false, ei);
        w->fill = 0;
        return err;
    }
    if (w->fill == 0 && len > SEG) { /* a whole non-final segment: seal straight from p */
        *used = SEG;
        return seal_segment(w, p, SEG, false, ei);
    }
    size_t n = SEG - w->fill < len ? SEG - w->fill : len;
    memcpy(w->buf + w->fill, p, n);
    w->fill += n;
    *used = n;
    return CP_OK;
}

cp_err_t store_blob_writer_write(store_blob_writer_t *w, const void *data, size_t len,
                                 cp_errinfo_t *ei)
{
    if (w->state != W_OPEN)
        return writer_unusable(w, ei);
    const uint8_t *p = data;
    while (len > 0) {
        size_t used;
        cp_err_t err = writer_step(w, p, len, &used, ei);
        if (err != CP_OK) {
            w->state = W_FAILED; /* the file's state is unknown: it can only be dropped */
            return err;
        }
        p += used;
        len -= used;
    }
    return CP_OK;
}

/* Final segment, address, header tag: afterwards the temp file holds a complete blob,
 * not yet durable. */
static cp_err_t writer_seal(store_blob_writer_t *w, store_addr_t *addr, cp_errinfo_t *ei)
{
    cp_err_t err = seal_segment(w, w->buf, w->fill, true, ei);
    if (err != CP_OK)
        return err;
    if (!mac_final(w->mac, addr->b))
        return fail_ssl(ei, CP_EIO, "blob address hmac");
    if (!header_tag(w->s, w->hdr, addr, w->hdr + OFF_TAG))
        return fail_ssl(ei, CP_EIO, "blob header tag (hmac)");
    ssize_t n;
    do
        n = pwrite(w->fd, w->hdr + OFF_TAG, HTAG_LEN, w->base + OFF_TAG);
    while (n < 0 && errno == EINTR);
    if (n != HTAG_LEN) {
        if (n >= 0)
            errno = EIO;
        return store__fail_errno(ei, "cannot write blob temp file %s", w->tmp_path);
    }
    return CP_OK;
}

static cp_err_t writer_sync(store_blob_writer_t *w, cp_errinfo_t *ei)
{
    /* fdatasync: the data and the size that reads need, not the timestamps */
    if (fdatasync(w->fd) != 0)
        return store__fail_errno(ei, "cannot fsync blob temp file %s", w->tmp_path);
    if (w->pack != NULL)
        return CP_OK; /* the pack's descriptor stays with the pack */
    int rc = close(w->fd);
    w->fd = -1;
    if (rc != 0)
        return store__fail_errno(ei, "cannot close blob temp file %s", w->tmp_path);
    return CP_OK;
}

/* rename() that never replaces: 0, or -1 with errno (EEXIST when dst exists). */
static int rename_noreplace(const char *src, const char *dst)
{
    if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* The file system cannot refuse atomically (some network file systems): check, then
     * rename. If another writer wins the race in between, both files hold the same
     * content under the same address, each complete and fsynced: replacing is harmless. */
    struct stat st;
    if (stat(dst, &st) == 0) {
        errno = EEXIST;
        return -1;
    }
    return errno == ENOENT ? rename(src, dst) : -1;
}

static cp_err_t header_check(const store_blob_t *s, const uint8_t *hdr, const store_addr_t *addr,
                             const char *hex, uint8_t dk[KEY_LEN], cp_errinfo_t *ei);

/* Whether the file already at dst is this blob: right length, header authentic for addr.
 * Cheap (one header read) and it catches the likely damage, an empty or cut file. */
static bool existing_is_sound(const store_blob_writer_t *w, const store_addr_t *addr,
                              const char *dst, const char *hex)
{
    int fd = open(dst, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    uint8_t hdr[HDR_LEN], dk[KEY_LEN];
    struct stat st;
    size_t got = 0;
    off_t expect = (off_t)(HDR_LEN + (w->nseg - 1) * SEG_DISK + w->fill + TAG_LEN);
    bool ok = fstat(fd, &st) == 0 && st.st_size == expect &&
              pread_all(fd, hdr, HDR_LEN, 0, &got) == 0 && got == HDR_LEN &&
              header_check(w->s, hdr, addr, hex, dk, NULL) == CP_OK;
    OPENSSL_cleanse(dk, sizeof dk);
    close(fd);
    return ok;
}

/* Moves the finished temp file to its address; an existing sound copy is kept. */
static cp_err_t writer_place(store_blob_writer_t *w, const store_addr_t *addr, cp_errinfo_t *ei)
{
    const store_blob_t *s = w->s;
    char hex[STORE_ADDR_HEX_LEN + 1], dst[PATH_MAX], sub[PATH_MAX];
    store_addr_to_hex(addr, hex);
    snprintf(sub, sizeof sub, "%s/%.3s", s->dir, hex);
    snprintf(dst, sizeof dst, "%s/%s", sub, hex);
    int rc = rename_noreplace(w->tmp_path, dst);
    if (rc != 0 && errno == EEXIST) {
        /* same content already stored: keep it, unless it is damaged, then replace it */
        if (existing_is_sound(w, addr, dst, hex))
            rc = unlink(w->tmp_path);
        else
            rc = rename(w->tmp_path, dst);
    }
    if (rc != 0)
        return store__fail_errno(ei, "cannot move blob temp file %s to its address", w->tmp_path);
    w->tmp_exists = false;
    /* also when the blob existed: its rename may not have been made durable yet */
    return store__fsync_dir(sub, ei);
}

cp_err_t store_blob_writer_seal(store_blob_writer_t *w, store_addr_t *addr, uint64_t *size,
                                cp_errinfo_t *ei)
{
    if (w->state != W_OPEN)
        return writer_unusable(w, ei);
    cp_err_t err = writer_seal(w, &w->addr, ei);
    if (err != CP_OK) {
        w->state = W_FAILED;
        return err;
    }
    w->state = W_SEALED;
    *addr = w->addr;
    *size = (w->nseg - 1) * (uint64_t)SEG + w->fill;
    return CP_OK;
}

cp_err_t store_blob_writer_commit(store_blob_writer_t *w, store_addr_t *addr, uint64_t *size,
                                  cp_errinfo_t *ei)
{
    store_addr_t a;
    uint64_t n;
    cp_err_t err = CP_OK;
    if (w->state == W_OPEN)
        err = store_blob_writer_seal(w, &a, &n, ei);
    else if (w->state != W_SEALED)
        return writer_unusable(w, ei);
    if (err == CP_OK)
        err = writer_sync(w, ei);
    if (err == CP_OK && w->pack == NULL)
        err = writer_place(w, &w->addr, ei);
    if (err != CP_OK) {
        w->state = W_FAILED;
        return err;
    }
    w->state = W_COMMITTED;
    *addr = w->addr;
    *size = (w->nseg - 1) * (uint64_t)SEG + w->fill;
    return CP_OK;
}

/* Bytes the writer put in its file: header and every sealed segment. */
static uint64_t writer_bytes(const store_blob_writer_t *w)
{
    if (w->nseg == 0)
        return 0;
    return HDR_LEN + (w->nseg - 1) * (uint64_t)SEG_DISK + w->last_disk;
}

void store_blob_writer_location(const store_blob_writer_t *w, store_blob_loc_t *loc)
{
    memset(loc, 0, sizeof *loc);
    if (w->pack == NULL)
        return;
    snprintf(loc->pack, sizeof loc->pack, "%s", w->pack->name);
    loc->offset = (uint64_t)w->base;
    loc->length = writer_bytes(w);
}

void store_blob_writer_discard(store_blob_writer_t *w)
{
    w->discard = true;
}

void store_blob_writer_free(store_blob_writer_t *w)
{
    if (w == NULL)
        return;
    if (w->pack != NULL) {
        bool keep = w->state == W_COMMITTED && !w->discard;
        if (keep) {
            store_blob_loc_t loc;
            store_blob_writer_location(w, &loc);
            store_blob_remember(w->s, &w->addr, &loc);
        }
        store_packs_give(w->s->packs, w->pack,
                         (uint64_t)w->base + (keep ? writer_bytes(w) : 0), !keep);
        w->fd = -1;
    }
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp_exists)
        unlink(w->tmp_path);
    EVP_CIPHER_CTX_free(w->gcm); /* wipes the data key schedule */
    EVP_MAC_CTX_free(w->mac);
    if (w->state != W_COMMITTED)
        OPENSSL_cleanse(w->buf, w->fill); /* plaintext of an unfinished segment */
    writer_release(w);
}

/* ---- reader ------------------------------------------------------------------------ */

/* Checks a header against the address it is filed under; on CP_OK dk holds the data key.
 * The key id is compared before the tag so that a blob sealed under another KEK (a wrong
 * key file, a rotation not finished) is reported as a key problem, not as tampering. */
static cp_err_t header_check(const store_blob_t *s, const uint8_t *hdr, const store_addr_t *addr,
                             const char *hex, uint8_t dk[KEY_LEN], cp_errinfo_t *ei)
{
    if (memcmp(hdr, HDR_MAGIC, HDR_MAGIC_LEN) != 0)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s: not a blob file (bad magic)", hex);
    if (get_be(hdr + OFF_VERSION, 2) != FMT_VERSION)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s: unknown format version %u", hex,
                       (unsigned)get_be(hdr + OFF_VERSION, 2));
    if (memcmp(hdr + OFF_KEYID, s->key_id, KEYID_LEN) != 0) {
        char id[2 * KEYID_LEN + 1];
        to_hex(hdr + OFF_KEYID, KEYID_LEN, id);
        return cp_fail(ei, CP_EKEY, 0, "blob %s is sealed under key %s, not this store's key %s",
                       hex, id, s->key_id_hex);
    }
    uint8_t tag[HTAG_LEN];
    if (!header_tag(s, hdr, addr, tag))
        return fail_ssl(ei, CP_EIO, "blob header tag (hmac)");
    if (CRYPTO_memcmp(tag, hdr + OFF_TAG, HTAG_LEN) != 0)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s: header does not authenticate", hex);
    if (get_be(hdr + OFF_SUITE, 2) != SUITE_V1 || get_be(hdr + OFF_SEGSIZE, 4) != SEG)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s: unsupported cipher suite or segment size", hex);
    uint8_t out[KEY_LEN + 16];
    size_t n = 0;
    bool ok = key_wrap(s, false, hdr + OFF_WRAPPED, WRAPPED_LEN, out, &n) && n == KEY_LEN;
    ERR_clear_error();
    if (ok)
        memcpy(dk, out, KEY_LEN);
    OPENSSL_cleanse(out, sizeof out);
    return ok ? CP_OK : cp_fail(ei, CP_ETAMPER, 0, "blob %s: data key does not unwrap", hex);
}

/* Segment count and final length follow from the file length alone: every segment but the
 * last holds SEG bytes, the last 0..SEG (only an empty blob has an empty final segment). */
static cp_err_t reader_layout(store_blob_reader_t *r, off_t file_size, cp_errinfo_t *ei)
{
    if (file_size < HDR_LEN)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s truncated: header incomplete", r->hex);
    uint64_t body = (uint64_t)file_size - HDR_LEN;
    uint64_t full = body / SEG_DISK, rem = body % SEG_DISK;
    if (body == 0)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s truncated: final segment missing", r->hex);
    if (rem != 0 && rem < TAG_LEN)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s truncated: %llu bytes do not form a segment",
                       r->hex, (unsigned long long)rem);
    r->nseg = rem == 0 ? full : full + 1;
    r->last_len = rem == 0 ? SEG : (size_t)(rem - TAG_LEN);
    if (r->nseg > MAX_SEGMENTS)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s has too many segments", r->hex);
    r->size = (r->nseg - 1) * (uint64_t)SEG + r->last_len;
    return CP_OK;
}

/* length: the blob's bytes from r->base (in a pack), or -1 for the whole file. */
static cp_err_t reader_start(store_blob_reader_t *r, int64_t length, cp_errinfo_t *ei)
{
    struct stat st;
    size_t got = 0;
    if (fstat(r->fd, &st) != 0)
        return store__fail_errno(ei, "cannot stat blob %s", r->hex);
    if (length >= 0 && (uint64_t)st.st_size < (uint64_t)r->base + (uint64_t)length)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s truncated: its pack ends early", r->hex);
    cp_err_t err = reader_layout(r, length >= 0 ? (off_t)length : st.st_size, ei);
    if (err != CP_OK)
        return err;
    if (pread_all(r->fd, r->hdr, HDR_LEN, r->base, &got) != 0)
        return store__fail_errno(ei, "cannot read blob %s", r->hex);
    if (got != HDR_LEN)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s truncated: header incomplete", r->hex);
    uint8_t dk[KEY_LEN];
    err = header_check(r->s, r->hdr, &r->addr, r->hex, dk, ei);
    if (err != CP_OK)
        return err;
    r->gcm = gcm_new(r->s, false, dk);
    OPENSSL_cleanse(dk, sizeof dk);
    if (r->gcm == NULL)
        return fail_ssl(ei, CP_ENOMEM, "blob reader setup (aes-256-gcm)");
    if (!r->check_address)
        return CP_OK;
    r->mac = EVP_MAC_CTX_new(r->s->hmac);
    if (r->mac == NULL || !mac_init(r->mac, r->s->addr_key))
        return fail_ssl(ei, CP_ENOMEM, "blob reader setup (hmac)");
    return CP_OK;
}

/* No file of its own: the locator (the index) may know the blob in a pack. */
static cp_err_t open_packed_reader(store_blob_reader_t *r, cp_errinfo_t *ei)
{
    store_blob_t *s = r->s;
    store_blob_loc_t loc;
    cp_err_t err = locate(s, &r->addr, &loc, ei);
    if (err == CP_OK && loc.pack[0] == '\0')
        err = CP_ENOENT; /* the index says: a file of its own, and there is none */
    if (err == CP_ENOENT)
        return cp_fail(ei, CP_ENOENT, 0, "blob %s not found", r->hex);
    if (err != CP_OK)
        return err;
    if (loc.offset > (uint64_t)INT64_MAX || loc.length > (uint64_t)INT64_MAX - loc.offset)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s: impossible pack location", r->hex);
    r->fd = store_pack_open_read(s->dir, loc.pack);
    if (r->fd < 0 && (errno == ENOENT || errno == EINVAL))
        return cp_fail(ei, CP_ENOENT, 0, "blob %s: pack %.16s not found", r->hex, loc.pack);
    if (r->fd < 0)
        return store__fail_errno(ei, "cannot open the pack of blob %s", r->hex);
    r->base = (off_t)loc.offset;
    return reader_start(r, (int64_t)loc.length, ei);
}

/* Every segment is authenticated under the blob's own data key, which the header (tagged
 * together with the address) binds to this address: a reader needs nothing more. The
 * content's HMAC against the address is another SHA-256 pass over the whole blob; only
 * verify pays for it (check_address), as a check of the writer itself. */
static cp_err_t open_reader(store_blob_t *s, const store_addr_t *addr, bool check_address,
                            store_blob_reader_t **out, cp_errinfo_t *ei)
{
    *out = NULL;
    char path[PATH_MAX];
    store_blob_reader_t *r = cp_xcalloc(1, sizeof *r);
    r->s = s;
    r->addr = *addr;
    r->check_address = check_address;
    store_addr_to_hex(addr, r->hex);
    store_blob_path(s, addr, path, sizeof path); /* cannot fail: length checked at open */
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    cp_err_t err = CP_OK;
    if (r->fd < 0 && errno == ENOENT)
        err = open_packed_reader(r, ei);
    else if (r->fd < 0)
        err = store__fail_errno(ei, "cannot open blob %s", r->hex);
    else
        err = reader_start(r, -1, ei);
    if (err == CP_ETAMPER && r->base == 0) {
        /* a damaged file of its own: a resend may have put a sound copy in a pack */
        cp_errinfo_t pei = {0};
        close(r->fd);
        r->fd = -1;
        if (open_packed_reader(r, &pei) == CP_OK)
            err = CP_OK;
    }
    if (err != CP_OK) {
        store_blob_reader_close(r);
        return err;
    }
    *out = r;
    return CP_OK;
}

cp_err_t store_blob_reader_open(store_blob_t *s, const store_addr_t *addr,
                                store_blob_reader_t **out, cp_errinfo_t *ei)
{
    return open_reader(s, addr, false, out, ei);
}

static size_t seg_len(const store_blob_reader_t *r, uint64_t index)
{
    return index + 1 == r->nseg ? r->last_len : SEG;
}

static cp_err_t read_segment_raw(store_blob_reader_t *r, uint64_t index, cp_errinfo_t *ei)
{
    size_t want = seg_len(r, index) + TAG_LEN, got = 0;
    off_t off = r->base + (off_t)(HDR_LEN + index * SEG_DISK);
    if (pread_all(r->fd, r->buf, want, off, &got) != 0)
        return store__fail_errno(ei, "cannot read blob %s", r->hex);
    if (got != want) /* the file shrank since open */
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s truncated while being read", r->hex);
    return CP_OK;
}

/* Authentication failed on the last segment by length: if it opens as a non-final one,
 * the real final segment was cut away at a segment boundary. */
static cp_err_t diagnose_final(store_blob_reader_t *r, uint64_t i, cp_errinfo_t *ei)
{
    size_t n = seg_len(r, i);
    if (read_segment_raw(r, i, ei) == CP_OK &&
        gcm_open(r->gcm, r->hdr, i, false, r->buf, n, r->buf) == 1) {
        OPENSSL_cleanse(r->buf, n);
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s truncated: final segment missing", r->hex);
    }
    OPENSSL_cleanse(r->buf, n);
    return cp_fail(ei, CP_ETAMPER, 0, "blob %s: segment %llu failed authentication", r->hex,
                   (unsigned long long)i);
}

/* Reads, authenticates and decrypts the next segment into dst (r->buf or the caller's
 * buffer). Nothing unauthenticated survives: a forged segment's output is wiped. */
static cp_err_t next_segment(store_blob_reader_t *r, uint8_t *dst, size_t *n, cp_errinfo_t *ei)
{
    uint64_t i = r->next;
    bool final = i + 1 == r->nseg;
    size_t len = seg_len(r, i);
    cp_err_t err = read_segment_raw(r, i, ei);
    if (err != CP_OK)
        return err;
    int ok = gcm_open(r->gcm, r->hdr, i, final, r->buf, len, dst);
    if (ok < 0)
        return fail_ssl(ei, CP_EIO, "blob segment decryption (aes-256-gcm)");
    if (ok == 0) {
        OPENSSL_cleanse(dst, len);
        if (final)
            return diagnose_final(r, i, ei);
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s: segment %llu failed authentication", r->hex,
                       (unsigned long long)i);
    }
    if (r->mac != NULL && len > 0 && EVP_MAC_update(r->mac, dst, len) != 1)
        return fail_ssl(ei, CP_EIO, "blob address hmac");
    r->final_seen = final;
    r->next++;
    *n = len;
    return CP_OK;
}

/* All segments authenticated: the content must also hash to the address it is filed
 * under (a whole blob file copied over another address fails here at the latest). */
static cp_err_t reader_finish(store_blob_reader_t *r, cp_errinfo_t *ei)
{
    if (r->done)
        return CP_OK;
    if (!r->final_seen)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s truncated: final segment missing", r->hex);
    if (r->mac == NULL) { /* see open_reader */
        r->done = true;
        return CP_OK;
    }
    store_addr_t got;
    if (!mac_final(r->mac, got.b))
        return fail_ssl(ei, CP_EIO, "blob address hmac");
    if (CRYPTO_memcmp(got.b, r->addr.b, sizeof got.b) != 0)
        return cp_fail(ei, CP_ETAMPER, 0, "blob %s: content does not match its address", r->hex);
    r->done = true;
    return CP_OK;
}

/* Fills r->buf, or the caller's buffer directly when a whole segment fits (no copy). */
static cp_err_t reader_fill(store_blob_reader_t *r, uint8_t *buf, size_t cap, size_t *n,
                            cp_errinfo_t *ei)
{
    while (r->avail == 0) {
        if (r->next == r->nseg)
            return reader_finish(r, ei);
        size_t len = seg_len(r, r->next);
        if (len > 0 && cap >= len)
            return next_segment(r, buf, n, ei);
        cp_err_t err = next_segment(r, r->buf, &r->avail, ei);
        if (err != CP_OK)
            return err;
        r->pos = 0;
    }
    return CP_OK;
}

cp_err_t store_blob_reader_read(store_blob_reader_t *r, void *buf, size_t cap, size_t *n,
                                cp_errinfo_t *ei)
{
    *n = 0;
    if (r->err != CP_OK)
        return cp_fail(ei, r->err, 0, "blob %s: reader stopped at an earlier error", r->hex);
    if (cap == 0)
        return cp_fail(ei, CP_EINVAL, 0, "blob %s: read into an empty buffer", r->hex);
    cp_err_t err = reader_fill(r, buf, cap, n, ei);
    if (err != CP_OK) {
        r->err = err;
        return err;
    }
    if (*n > 0 || r->avail == 0) /* decrypted straight into buf, or the end */
        return CP_OK;
    *n = r->avail < cap ? r->avail : cap;
    memcpy(buf, r->buf + r->pos, *n);
    r->pos += *n;
    r->avail -= *n;
    return CP_OK;
}

uint64_t store_blob_reader_size(const store_blob_reader_t *r)
{
    return r->size;
}

void store_blob_reader_close(store_blob_reader_t *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    EVP_CIPHER_CTX_free(r->gcm);
    EVP_MAC_CTX_free(r->mac);
    free(r);
}

cp_err_t store_blob_verify(store_blob_t *s, const store_addr_t *addr, uint64_t *size,
                           cp_errinfo_t *ei)
{
    store_blob_reader_t *r;
    cp_err_t err = open_reader(s, addr, true, &r, ei);
    if (err != CP_OK)
        return err;
    size_t n;
    while (err == CP_OK && r->next < r->nseg) /* decrypt in place: nothing is copied out */
        err = next_segment(r, r->buf, &n, ei);
    if (err == CP_OK)
        err = reader_finish(r, ei);
    if (err == CP_OK && size != NULL)
        *size = r->size;
    store_blob_reader_close(r);
    return err;
}

/* ---- addresses ----------------------------------------------------------------------- */

cp_err_t store_blob_path(const store_blob_t *s, const store_addr_t *addr, char *out, size_t cap)
{
    char hex[STORE_ADDR_HEX_LEN + 1];
    store_addr_to_hex(addr, hex);
    int n = snprintf(out, cap, "%s/%.3s/%s", s->dir, hex, hex);
    if (n < 0 || (size_t)n >= cap)
        return CP_ETOOBIG;
    return CP_OK;
}

void store_addr_to_hex(const store_addr_t *addr, char out[STORE_ADDR_HEX_LEN + 1])
{
    to_hex(addr->b, sizeof addr->b, out);
}

cp_err_t store_addr_from_hex(const char *hex, store_addr_t *addr)
{
    if (hex == NULL || strlen(hex) != STORE_ADDR_HEX_LEN)
        return CP_EINVAL;
    store_addr_t a;
    for (size_t i = 0; i < sizeof a.b; i++) {
        int hi = cp_hex_digit(hex[2 * i]), lo = cp_hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return CP_EINVAL;
        a.b[i] = (uint8_t)(hi << 4 | lo);
    }
    *addr = a;
    return CP_OK;
}

cp_err_t store_blob_open(const char *dir, const char *key_path, store_blob_t **out,
                         cp_errinfo_t *ei)
{
    return open_store(dir, key_path, OPEN_OWNER, out, ei);
}

cp_err_t store_blob_open_shared(const char *dir, const char *key_path, store_blob_t **out,
                                cp_errinfo_t *ei)
{
    return open_store(dir, key_path, OPEN_READER, out, ei);
}

cp_err_t store_blob_open_writer(const char *dir, const char *key_path, store_blob_t **out,
                                cp_errinfo_t *ei)
{
    return open_store(dir, key_path, OPEN_WRITER, out, ei);
}

cp_err_t store_blob_read_fn(void *reader, void *buf, size_t cap, size_t *n, cp_errinfo_t *ei)
{
    return store_blob_reader_read(reader, buf, cap, n, ei);
}
