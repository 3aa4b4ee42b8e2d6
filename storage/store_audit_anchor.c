/* storage/store_audit_anchor.c -- the audit trail's head, and the anchor file that keeps
 * it outside the database (store_audit.h): one line "seq=N hash=HEX at=TIME" per anchor,
 * appended and fsynced. A database superuser who cuts the tail off and moves the head
 * back cannot take back what a line already says. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_audit.h"
#include "store_audit_int.h"
#include "store_pack.h"
#include "store_pg_int.h"

static bool head_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    store_audit_anchor_t *a = ud;
    a->seq = store__num(r, 0);
    snprintf(a->hash, sizeof a->hash, "%s", PQgetvalue(r, 0, 1));
    return true;
}

cp_err_t store_audit_head(store_pg_t *pg, store_audit_anchor_t *out, cp_errinfo_t *ei)
{
    memset(out, 0, sizeof *out);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out->at, sizeof out->at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return store__pg_stream(pg, "SELECT seq, encode(hash, 'hex') FROM audit_head", 0, NULL,
                            "reading the audit trail's head", head_row, out, ei);
}

/* ---- the file ---- */

static cp_err_t make_parent(const char *path, cp_errinfo_t *ei)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return CP_OK;
    *slash = '\0';
    return store__make_dirs(dir, 0700, ei);
}

static cp_err_t fsync_parent(const char *path, cp_errinfo_t *ei)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return store__fsync_dir(".", ei);
    *slash = '\0';
    return store__fsync_dir(slash == dir ? "/" : dir, ei);
}

/* *fd opened for appending; the file created (and *created set) when missing. */
static cp_err_t open_anchors(const char *path, int *fd, bool *created, cp_errinfo_t *ei)
{
    *created = false;
    *fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (*fd < 0 && errno == ENOENT) {
        cp_err_t err = make_parent(path, ei);
        if (err != CP_OK)
            return err;
        *fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        *created = true;
    }
    if (*fd < 0)
        return store__fail_errno(ei, "cannot open the audit anchor file %s", path);
    return CP_OK;
}

/* A last line cut short (a crash while it was written) gets its newline first, so that
 * the new anchor is a line of its own. */
static bool ends_cut(int fd)
{
    off_t end = lseek(fd, 0, SEEK_END);
    char last = '\n';
    return end > 0 && pread(fd, &last, 1, end - 1) == 1 && last != '\n';
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

cp_err_t store_audit_anchor_append(const char *path, const store_audit_anchor_t *a,
                                   cp_errinfo_t *ei)
{
    bool created;
    int fd;
    cp_err_t err = open_anchors(path, &fd, &created, ei);
    if (err != CP_OK)
        return err;
    char line[160];
    int n = snprintf(line, sizeof line, "%sseq=%lld hash=%s at=%s\n", ends_cut(fd) ? "\n" : "",
                     (long long)a->seq, a->hash, a->at);
    if (!write_all(fd, line, (size_t)n) || fsync(fd) != 0)
        err = store__fail_errno(ei, "cannot write the audit anchor file %s", path);
    close(fd);
    if (err == CP_OK && created)
        err = fsync_parent(path, ei);
    return err;
}

/* ---- reading it ---- */

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* "seq=N hash=HEX at=TIME" (the newline cut off): true and *a filled if it is one. */
static bool parse_anchor(const char *line, store_audit_anchor_t *a)
{
    if (strncmp(line, "seq=", 4) != 0 || line[4] < '0' || line[4] > '9')
        return false;
    char *end;
    errno = 0;
    long long seq = strtoll(line + 4, &end, 10);
    if (errno != 0 || seq < 0 || strncmp(end, " hash=", 6) != 0)
        return false;
    const char *h = end + 6;
    if (!all_hex(h, 64) || strncmp(h + 64, " at=", 4) != 0)
        return false;
    const char *at = h + 68;
    size_t n = strlen(at);
    if (n == 0 || n >= sizeof a->at || strchr(at, ' ') != NULL)
        return false;
    a->seq = seq;
    memcpy(a->hash, h, 64);
    a->hash[64] = '\0';
    memcpy(a->at, at, n + 1);
    return true;
}

cp_err_t store__audit_anchors_read(const char *path, store__anchor_fn cb, void *ud,
                                   cp_errinfo_t *ei)
{
    FILE *f = fopen(path, "re");
    if (f == NULL && errno == ENOENT)
        return CP_OK;
    if (f == NULL)
        return store__fail_errno(ei, "cannot read the audit anchor file %s", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    for (int64_t lineno = 1; (n = getline(&line, &cap, f)) > 0; lineno++) {
        if (line[n - 1] != '\n')
            break; /* cut short: see ends_cut */
        line[n - 1] = '\0';
        store_audit_anchor_t a;
        cb(ud, lineno, parse_anchor(line, &a) ? &a : NULL);
    }
    cp_err_t err = ferror(f) ? store__fail_errno(ei, "cannot read the audit anchor file %s", path)
                             : CP_OK;
    free(line);
    fclose(f);
    return err;
}

typedef struct last_ctx {
    store_audit_anchor_t *last;
    bool *found;
} last_ctx_t;

static void keep_last(void *ud, int64_t lineno, const store_audit_anchor_t *a)
{
    (void)lineno;
    last_ctx_t *c = ud;
    if (a == NULL)
        return;
    *c->last = *a;
    *c->found = true;
}

cp_err_t store_audit_anchor_last(const char *path, store_audit_anchor_t *last, bool *found,
                                 cp_errinfo_t *ei)
{
    *found = false;
    last_ctx_t c = {last, found};
    return store__audit_anchors_read(path, keep_last, &c, ei);
}
