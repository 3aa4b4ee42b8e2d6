/* storage/store_sweep.c -- orphaned blob files and pack tails (store_sweep.h). */
#include "store_sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cp_bytes.h"
#include "cp_mem.h"
#include "store_pack.h"
#include "store_pg_int.h"

#define BATCH 512 /* files asked about in one query */

typedef struct candidate {
    char hex[STORE_ADDR_HEX_LEN + 1];
    uint64_t size;
    time_t mtime;
    bool unknown;
} candidate_t;

typedef struct sweep {
    store_pg_t *pg;
    const store_blob_t *blobs;
    const char *dir;
    int min_age;
    bool reclaim;
    time_t now;
    store_sweep_report_t *rep;
    candidate_t batch[BATCH];
    int n;
} sweep_t;

static bool all_hex(const char *s, size_t len)
{
    if (strlen(s) != len)
        return false;
    for (; *s; s++)
        if (cp_hex_digit(*s) < 0)
            return false;
    return true;
}

static bool unknown_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    sweep_t *w = ud;
    const char *hex = PQgetvalue(r, 0, 0);
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->batch[i].hex, hex) == 0)
            w->batch[i].unknown = true;
    return true;
}

static void settle(sweep_t *w, const candidate_t *c)
{
    if (w->now - c->mtime < w->min_age) {
        w->rep->young++;
        return;
    }
    w->rep->orphans++;
    w->rep->orphan_bytes += c->size;
    if (!w->reclaim)
        return;
    char path[PATH_MAX];
    store_addr_t addr;
    if (store_addr_from_hex(c->hex, &addr) == CP_OK &&
        store_blob_path(w->blobs, &addr, path, sizeof path) == CP_OK)
        unlink(path); /* gone already: another sweep was first */
}

/* Which files of the batch no row of `blobs` names; those are settled. */
static cp_err_t check_batch(sweep_t *w, cp_errinfo_t *ei)
{
    if (w->n == 0)
        return CP_OK;
    size_t cap = (size_t)w->n * (STORE_ADDR_HEX_LEN + 1) + 3;
    char *arr = cp_xmalloc(cap);
    size_t len = 0;
    arr[len++] = '{';
    for (int i = 0; i < w->n; i++)
        len += (size_t)snprintf(arr + len, cap - len, "%s%s", i ? "," : "", w->batch[i].hex);
    snprintf(arr + len, cap - len, "}");
    const char *params[] = {arr};
    cp_err_t err = store__pg_stream(
        w->pg,
        "SELECT h FROM unnest($1::text[]) h"
        " WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE address = decode(h, 'hex'))",
        1, params, "looking for orphaned blobs", unknown_row, w, ei);
    free(arr);
    for (int i = 0; err == CP_OK && i < w->n; i++)
        if (w->batch[i].unknown)
            settle(w, &w->batch[i]);
    w->n = 0;
    return err;
}

static cp_err_t look_at(sweep_t *w, int dfd, const char *name, cp_errinfo_t *ei)
{
    struct stat st;
    if (!all_hex(name, STORE_ADDR_HEX_LEN) || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode))
        return CP_OK;
    w->rep->files++;
    candidate_t *c = &w->batch[w->n++];
    snprintf(c->hex, sizeof c->hex, "%s", name);
    c->size = (uint64_t)st.st_size;
    c->mtime = st.st_mtime;
    c->unknown = false;
    return w->n == BATCH ? check_batch(w, ei) : CP_OK;
}

/* The files of one fan-out directory. */
static cp_err_t walk_leaf(sweep_t *w, const char *path, cp_errinfo_t *ei)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return CP_OK;
    cp_err_t err = CP_OK;
    for (struct dirent *de; err == CP_OK && (de = readdir(d)) != NULL;)
        err = look_at(w, dirfd(d), de->d_name, ei);
    closedir(d);
    return err;
}

/* Every blob in a file of its own: <dir>/<first 3 hex digits>/<64 hex digits>
 * (docs/blob-format.md). */
static cp_err_t walk_files(sweep_t *w, cp_errinfo_t *ei)
{
    cp_err_t err = CP_OK;
    char path[PATH_MAX];
    for (int a = 0; err == CP_OK && a < 4096; a++) {
        snprintf(path, sizeof path, "%s/%03x", w->dir, a);
        err = walk_leaf(w, path, ei);
    }
    return err == CP_OK ? check_batch(w, ei) : err;
}

static bool end_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    *(uint64_t *)ud = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    return true;
}

/* One pack: held by a live writer (its flock), or cut back to its last indexed blob. The
 * index is asked only once the lock is ours: a writer records its blobs before it lets
 * the pack go, so what the index says then is final. */
static cp_err_t trim_pack(sweep_t *w, const char *packs, const char *file, cp_errinfo_t *ei)
{
    char name[STORE_PACK_NAME_LEN + 1], path[PATH_MAX];
    if (strlen(file) != STORE_PACK_NAME_LEN + 5 || strcmp(file + STORE_PACK_NAME_LEN, ".pack") != 0)
        return CP_OK;
    snprintf(name, sizeof name, "%.*s", STORE_PACK_NAME_LEN, file);
    if (!store_pack_name_ok(name))
        return CP_OK;
    snprintf(path, sizeof path, "%s/%s", packs, file);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return CP_OK;
    w->rep->packs++;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return CP_OK; /* a live writer's: it may be mid-blob */
    }
    uint64_t end = 0;
    const char *params[] = {name};
    struct stat st;
    cp_err_t err = store__pg_stream(w->pg,
                                    "SELECT coalesce(max(pack_offset + pack_length), 0)"
                                    " FROM blobs WHERE pack = $1",
                                    1, params, "finding a pack's end", end_row, &end, ei);
    if (err == CP_OK && fstat(fd, &st) == 0 && (uint64_t)st.st_size > end) {
        w->rep->tails++;
        w->rep->tail_bytes += (uint64_t)st.st_size - end;
        if (w->reclaim && (ftruncate(fd, (off_t)end) != 0 || fdatasync(fd) != 0))
            err = store__fail_errno(ei, "cannot cut the tail of pack %s", path);
    }
    close(fd);
    return err;
}

static cp_err_t walk_packs(sweep_t *w, cp_errinfo_t *ei)
{
    char packs[PATH_MAX];
    snprintf(packs, sizeof packs, "%s/packs", w->dir);
    DIR *d = opendir(packs);
    if (d == NULL)
        return CP_OK;
    cp_err_t err = CP_OK;
    for (struct dirent *de; err == CP_OK && (de = readdir(d)) != NULL;)
        err = trim_pack(w, packs, de->d_name, ei);
    closedir(d);
    return err;
}

cp_err_t store_sweep(store_pg_t *pg, store_blob_t *blobs, int min_age_s, bool reclaim,
                     store_sweep_report_t *rep, cp_errinfo_t *ei)
{
    memset(rep, 0, sizeof *rep);
    sweep_t *w = cp_xcalloc(1, sizeof *w);
    w->pg = pg;
    w->blobs = blobs;
    w->dir = store_blob_dir(blobs);
    w->min_age = min_age_s;
    w->reclaim = reclaim;
    w->now = time(NULL);
    w->rep = rep;
    cp_err_t err = walk_files(w, ei);
    if (err == CP_OK)
        err = walk_packs(w, ei);
    free(w);
    return err;
}
