/* libFuzzer target: the log writer (base/cp_log.c), issue 17.
 * The input is two strings, a and b (split at the first NUL; each ends at a NUL). Both are
 * logged inside quotes, unquoted and in the middle of a value, in logfmt and in JSON.
 * Whatever they hold, each event must be exactly one line of at most 2048 bytes, which:
 * - in logfmt, a strict reader (tests/unit/base/logfmt_read.h) splits into exactly the
 *   fields of the format, with values decoding to the bytes logged;
 * - in JSON, jansson reads (duplicate keys refused) with exactly the format's keys, and
 *   values equal to what was logged, each byte that is not UTF-8 read as U+FFFD.
 * A line too long is cut: the fields it keeps are in order and hold prefixes of the
 * values, and it ends with truncated=true; inputs short enough never are. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_log.h"
#include "cp_utf8.h"
#include "logfmt_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FMT "event=fuzz qa=\"%s\" ub=%s qb=\"%s\" ua=%s mid=<%s> n=%d"
enum { N_KEYS = 10 };
static const char *const keys[N_KEYS] = {"ts", "level", "comp", "event", "qa",
                                         "ub", "qb",    "ua",   "mid",   "n"};

typedef struct want {
    char *val[N_KEYS]; /* what each field must read back as (NULL: not checked: ts) */
    size_t len[N_KEYS];
} want_t;

/* Logs the event in the given format and returns the line, without its newline. */
static size_t log_line(cp_log_format_t format, const char *a, const char *b, char *out, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0)
        abort();
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    cp_log_setup(CP_LOG_INFO, format);
    CP_LOG(CP_LOG_INFO, "fuzz", FMT, a, b, b, a, a, 42);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, cap);
    char extra;
    if (n <= 0 || n > 2048 || read(fds[0], &extra, 1) != 0) /* one write, nothing after */
        abort();
    close(fds[0]);
    if (memchr(out, '\n', (size_t)n) != out + n - 1) /* exactly one line */
        abort();
    return (size_t)n - 1;
}

static char *dup_str(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* s with each byte that is not UTF-8 replaced by U+FFFD: what JSON must read back. */
static char *as_json(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *d = malloc(3 * n + 1);
    for (size_t i = 0, k; i < n; i += k) {
        k = cp_utf8_seq((const unsigned char *)s + i, n - i);
        if (k == 0) {
            memcpy(d + o, "\xEF\xBF\xBD", 3);
            o += 3;
            k = 1;
        } else {
            memcpy(d + o, s + i, k);
            o += k;
        }
    }
    d[o] = '\0';
    return d;
}

static char *bracketed(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 3);
    d[0] = '<';
    memcpy(d + 1, s, n);
    memcpy(d + 1 + n, ">", 2);
    return d;
}

static void want_fill(want_t *w, const char *a, const char *b, char *(*conv)(const char *))
{
    char *mid = bracketed(a);
    const char *plain[N_KEYS] = {NULL, "info", "fuzz", "fuzz", a, b, b, a, mid, "42"};
    for (int i = 0; i < N_KEYS; i++) {
        w->val[i] = plain[i] == NULL ? NULL : conv(plain[i]);
        w->len[i] = w->val[i] == NULL ? 0 : strlen(w->val[i]);
    }
    free(mid);
}

static char *copy(const char *s)
{
    return dup_str(s, strlen(s));
}

static void want_free(want_t *w)
{
    for (int i = 0; i < N_KEYS; i++)
        free(w->val[i]);
}

/* Field i read back as (got, n), the line cut or not: whole, or a prefix when it is the
 * last field of a cut line. */
static void check_value(const want_t *w, int i, const char *got, size_t n, bool cut_here)
{
    if (w->val[i] == NULL)
        return;
    if (cut_here ? n > w->len[i] : n != w->len[i])
        abort();
    if (memcmp(got, w->val[i], n) != 0)
        abort();
}

/* The fields read (count of them, their keys in order) against the format's: all of
 * them; or, in a cut line, the first few and then `truncated`. Returns whether cut. */
static bool check_keys(const char *const *got, int count, bool may_cut)
{
    bool cut = count > 0 && strcmp(got[count - 1], "truncated") == 0;
    int n = cut ? count - 1 : count;
    if ((cut && !may_cut) || (!cut && n != N_KEYS) || n > N_KEYS || n < 3)
        abort();
    for (int i = 0; i < n; i++)
        if (strcmp(got[i], keys[i]) != 0)
            abort();
    return cut;
}

static void check_logfmt(const char *a, const char *b, bool may_cut)
{
    static char line[4096];
    static lf_field_t f[N_KEYS + 2];
    size_t len = log_line(CP_LOG_LOGFMT, a, b, line, sizeof line);
    int count = lf_read(line, len, f, N_KEYS + 2);
    if (count < 0)
        abort();
    const char *got[N_KEYS + 2];
    for (int i = 0; i < count; i++)
        got[i] = f[i].key;
    bool cut = check_keys(got, count, may_cut);
    want_t w;
    want_fill(&w, a, b, copy);
    int n = cut ? count - 1 : count;
    for (int i = 0; i < n; i++)
        check_value(&w, i, f[i].val, f[i].val_len, cut && i == n - 1);
    if (cut && (f[n].val_len != 4 || memcmp(f[n].val, "true", 4) != 0))
        abort();
    want_free(&w);
}

static void check_json(const char *a, const char *b, bool may_cut)
{
    static char line[4096];
    size_t len = log_line(CP_LOG_JSON, a, b, line, sizeof line);
    json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j) || json_object_size(j) > N_KEYS + 1)
        abort();
    const char *got[N_KEYS + 1];
    int count = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        got[count++] = key; /* jansson keeps insertion order */
    }
    bool cut = check_keys(got, count, may_cut);
    if (cut && !json_is_true(json_object_get(j, "truncated")))
        abort();
    want_t w;
    want_fill(&w, a, b, as_json);
    int n = cut ? count - 1 : count;
    for (int i = 0; i < n; i++) {
        json_t *s = json_object_get(j, keys[i]);
        if (!json_is_string(s))
            abort();
        check_value(&w, i, json_string_value(s), json_string_length(s), cut && i == n - 1);
    }
    want_free(&w);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t la = nul != NULL ? (size_t)(nul - data) : size;
    char *a = dup_str((const char *)data, la);
    char *b = nul != NULL ? dup_str((const char *)nul + 1, size - la - 1) : dup_str("", 0);
    /* a byte may take 6 in JSON (\u0001); a is logged three times, b twice; the rest of
     * the line is under 200 bytes: up to 300 stays within 2048 */
    bool may_cut = 3 * strlen(a) + 2 * strlen(b) > 300;
    check_logfmt(a, b, may_cut);
    check_json(a, b, may_cut);
    free(a);
    free(b);
    return 0;
}
