/* storage/store_blob.h -- the encrypted, content-addressed blob store (docs/blob-format.md).
 * Layer: storage. No libuv, no logging. Blocking file I/O: call it from a worker thread.
 * A store is shared by all threads; a writer or reader is used by one thread at a time
 * (it may move between threads, never be used by two at once).
 *
 * Envelope encryption: a 256-bit key-encryption key (KEK) from a key file; per blob a
 * random data key wrapped by a key derived from the KEK (HKDF-SHA-256); the plaintext is
 * cut into segments of STORE_BLOB_SEGMENT bytes, each sealed with AES-256-GCM, nonce =
 * random prefix || segment counter, the final segment marked in the associated data.
 * The address is HMAC-SHA-256 of the plaintext under another key derived from the KEK. */
#ifndef CASEPORT_STORE_BLOB_H
#define CASEPORT_STORE_BLOB_H
#include <stddef.h>
#include <stdint.h>

#include "cp_err.h"

#define STORE_BLOB_SEGMENT (64 * 1024)
#define STORE_ADDR_HEX_LEN 64 /* without the terminating NUL */

typedef struct store_addr {
    uint8_t b[32];
} store_addr_t;

/* Where a blob's bytes are: a file of its own at its address (pack[0] == '\0'), or
 * length bytes at offset in the pack file <dir>/packs/<pack>.pack (docs/blob-format.md).
 * A blob has the same bytes in either place. */
#define STORE_PACK_NAME_LEN 16 /* lower-case hex digits */
typedef struct store_blob_loc {
    char pack[STORE_PACK_NAME_LEN + 1];
    uint64_t offset, length;
} store_blob_loc_t;

typedef struct store_blob store_blob_t;               /* opaque: dir + derived keys */
typedef struct store_blob_writer store_blob_writer_t; /* opaque */
typedef struct store_blob_reader store_blob_reader_t; /* opaque */

/* Creates a new key file holding 32 random bytes, mode 0600; CP_EEXIST if it exists
 * (never overwrites a key). Creates missing parent directories with mode 0700. */
cp_err_t store_blob_keygen(const char *key_path, cp_errinfo_t *ei);

/* A 32-byte key for another use of the KEK at key_path (read and checked as
 * store_blob_open reads it): HKDF-SHA-256 with info as its label. Only the derived key
 * leaves; the KEK is wiped. */
cp_err_t store_blob_derive_key(const char *key_path, const char *info, uint8_t out[32],
                               cp_errinfo_t *ei);

/* Opens the store rooted at dir (created if missing, with dir/tmp for spool files).
 * Reads the KEK from key_path: exactly 32 bytes, refused (CP_EKEY) if the file is
 * readable by group or others. Removes temp files left by a crash. */
cp_err_t store_blob_open(const char *dir, const char *key_path, store_blob_t **out,
                         cp_errinfo_t *ei);
/* The same for a process beside the one that owns the store (the CLI while serve runs):
 * nothing is created and dir/tmp is left alone, whose files may be another process's
 * spool files still being written. */
cp_err_t store_blob_open_shared(const char *dir, const char *key_path, store_blob_t **out,
                                cp_errinfo_t *ei);
/* The same for a process beside the owner that writes blobs too (the CLI storing an
 * opinion's PDF): missing directories are created, dir/tmp is still left alone. */
cp_err_t store_blob_open_writer(const char *dir, const char *key_path, store_blob_t **out,
                                cp_errinfo_t *ei);
void store_blob_close(store_blob_t *s); /* NULL: no-op */
/* The store's directory, as opened. */
const char *store_blob_dir(const store_blob_t *s);
/* 16 hex characters naming the KEK (derived from it, reveals nothing); stored per blob. */
const char *store_blob_key_id(const store_blob_t *s);

/* Finds a packed blob: CP_OK with *loc set, CP_ENOENT if the address is not known. The
 * index of packed blobs is the database's (storage/store_pg.c), so readers are told
 * where to look by a callback; it is called from any thread, so it must be thread safe.
 * Without a locator only blobs in files of their own are found. */
typedef cp_err_t (*store_blob_locate_fn)(void *ud, const store_addr_t *addr,
                                         store_blob_loc_t *loc, cp_errinfo_t *ei);
void store_blob_set_locator(store_blob_t *s, store_blob_locate_fn fn, void *ud);
/* Tells the store where a packed blob now is (after the index was pointed at it), so
 * that its cache of recent locations answers with the new place. */
void store_blob_remember(store_blob_t *s, const store_addr_t *addr, const store_blob_loc_t *loc);

/* A writer streams plaintext into an encrypted temp file under dir/tmp. Memory: two
 * segment buffers, whatever the blob's size. */
cp_err_t store_blob_writer_new(store_blob_t *s, store_blob_writer_t **out, cp_errinfo_t *ei);
cp_err_t store_blob_writer_write(store_blob_writer_t *w, const void *data, size_t len,
                                 cp_errinfo_t *ei);
/* Seals the final segment and writes the header tag: the address and size are known,
 * the blob is complete in its temp file but NOT durable (optional step: it lets a caller
 * start indexing while commit's fsyncs run). Then call commit. */
cp_err_t store_blob_writer_seal(store_blob_writer_t *w, store_addr_t *addr, uint64_t *size,
                                cp_errinfo_t *ei);
/* Seals the final segment (unless sealed already), fsyncs the file, renames it to its address and fsyncs the
 * directory (if a blob with that address already exists the temp file is dropped and
 * the existing one kept). On CP_OK *addr and *size (plaintext bytes) are set and the
 * blob is durable. The writer must still be freed. */
cp_err_t store_blob_writer_commit(store_blob_writer_t *w, store_addr_t *addr, uint64_t *size,
                                  cp_errinfo_t *ei);
/* A writer that appends the blob to a pack file this store owns instead of a file of its
 * own (the C-STORE path): commit is one fdatasync of the pack, no rename and no directory
 * fsync, and concurrent writers append to different packs. The caller must record the
 * location (store_blob_writer_location, valid after seal) in the index in the same
 * transaction that makes the blob visible: a packed blob is found only through it. */
cp_err_t store_blob_writer_new_packed(store_blob_t *s, store_blob_writer_t **out,
                                      cp_errinfo_t *ei);
/* The blob's location once sealed (pack[0] == '\0' for a writer of a file of its own). */
void store_blob_writer_location(const store_blob_writer_t *w, store_blob_loc_t *loc);
/* A committed packed blob that the index already held at another location (the same
 * content again): its space in the pack is given back when the writer is freed. */
void store_blob_writer_discard(store_blob_writer_t *w);
/* Frees the writer; an uncommitted temp file is removed, and an uncommitted or discarded
 * packed blob's space is given back to its pack. NULL: no-op. */
void store_blob_writer_free(store_blob_writer_t *w);

/* Opens a stored blob: its own file, else where the locator says. CP_ENOENT if absent; CP_ETAMPER if its header fails to
 * authenticate (including a header copied from another blob). */
cp_err_t store_blob_reader_open(store_blob_t *s, const store_addr_t *addr,
                                store_blob_reader_t **out, cp_errinfo_t *ei);
/* Reads up to cap plaintext bytes into buf; *n == 0 means the end was reached and the
 * whole blob authenticated (final segment seen). Each segment is authenticated before any
 * of its bytes are returned; a flipped byte, a truncated file, swapped or reordered
 * segments -> CP_ETAMPER. That the plaintext hashes to the address is verify's check. */
cp_err_t store_blob_reader_read(store_blob_reader_t *r, void *buf, size_t cap, size_t *n,
                                cp_errinfo_t *ei);
/* Plaintext size (from the file's length, checked against the segment layout). */
uint64_t store_blob_reader_size(const store_blob_reader_t *r);
/* store_blob_reader_read for a reader passed as void *: a codec_read_fn (codecs read
 * through callbacks and know nothing of the store). */
cp_err_t store_blob_read_fn(void *reader, void *buf, size_t cap, size_t *n, cp_errinfo_t *ei);
void store_blob_reader_close(store_blob_reader_t *r); /* NULL: no-op */

/* Reads and authenticates the whole blob, and checks that its plaintext hashes to its
 * address; *size set on CP_OK (may be NULL). */
cp_err_t store_blob_verify(store_blob_t *s, const store_addr_t *addr, uint64_t *size,
                           cp_errinfo_t *ei);

/* Path of the blob file for addr: <dir>/<hex[0:3]>/<hex>. */
cp_err_t store_blob_path(const store_blob_t *s, const store_addr_t *addr, char *out,
                         size_t cap);
void store_addr_to_hex(const store_addr_t *addr, char out[STORE_ADDR_HEX_LEN + 1]);
/* CP_EINVAL unless hex is exactly 64 lower- or upper-case hex digits. */
cp_err_t store_addr_from_hex(const char *hex, store_addr_t *addr);
#endif
