/* storage/store_pack.h -- pack files of the blob store (internal to storage/).
 * A pack is an append-only file <dir>/packs/<16 hex>.pack of whole blobs one after
 * another. The process that creates a pack is the only one that ever appends to it, and
 * one writer at a time: a writer takes an idle pack from the pool and gives it back. */
#ifndef CASEPORT_STORE_PACK_H
#define CASEPORT_STORE_PACK_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cp_err.h"
#include "store_blob.h"

/* A pack grows to about this size; the blob that crosses it is the pack's last. */
#define STORE_PACK_TARGET ((uint64_t)1 << 30)

typedef struct store_pack {
    struct store_pack *next; /* in the pool's idle list */
    int fd;                  /* read-write */
    uint64_t end;            /* bytes in use: the next blob starts here */
    char name[STORE_PACK_NAME_LEN + 1];
} store_pack_t;

typedef struct store_packs store_packs_t;

/* The pool for the store at dir (the packs directory is made by store_packs_prepare). */
store_packs_t *store_packs_new(const char *dir);
void store_packs_free(store_packs_t *p); /* closes idle packs; none may be taken */
cp_err_t store_packs_prepare(const char *dir, cp_errinfo_t *ei);

/* An idle pack, or a new empty one (created durably: file and directory fsynced). */
cp_err_t store_packs_take(store_packs_t *p, store_pack_t **out, cp_errinfo_t *ei);
/* Gives the pack back with end bytes in use; what was written past end is cut off. A
 * pack that cannot be cut, or that reached STORE_PACK_TARGET, is closed instead. */
void store_packs_give(store_packs_t *p, store_pack_t *k, uint64_t end, bool cut);

bool store_pack_name_ok(const char *name);
/* fsync of a directory, after a file was created or renamed in it (store_blob.c). */
cp_err_t store__fsync_dir(const char *dir, cp_errinfo_t *ei);
/* mkdir -p, each directory made durably (store_blob.c; the audit anchors' too). */
cp_err_t store__make_dirs(const char *path, mode_t mode, cp_errinfo_t *ei);
/* errno's failure, fmt with one %s for obj (store_blob.c). */
cp_err_t store__fail_errno(cp_errinfo_t *ei, const char *fmt, const char *obj);
/* Opens <dir>/packs/<name>.pack for reading; -1 with errno set on failure. */
int store_pack_open_read(const char *dir, const char *name);
#endif
