/* One line per event, logfmt or JSON, to stderr: captured through a pipe. Every value a
 * caller passes is escaped (issue 17): the lines are read back with a strict logfmt
 * reader (logfmt_read.h) and with jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cp_log.h"
#include "logfmt_read.h"

static int cap_fds[2] = {-1, -1}, cap_saved = -1;

/* Sends stderr into a pipe until capture_end(); a log line is far below the pipe's
 * buffer, so nothing blocks. */
static void capture_begin(void)
{
    assert_int_equal(pipe(cap_fds), 0);
    cap_saved = dup(STDERR_FILENO);
    dup2(cap_fds[1], STDERR_FILENO);
}

/* Restores stderr and returns what was written meanwhile, NUL-terminated. */
static size_t capture_end(char *out, size_t cap)
{
    dup2(cap_saved, STDERR_FILENO);
    close(cap_saved);
    close(cap_fds[1]);
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(cap_fds[0], out + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(cap_fds[0]);
    out[len] = '\0';
    return len;
}

/* Runs emit() with stderr going to a pipe and returns what it wrote. */
static void capture(void (*emit)(void), char *out, size_t cap)
{
    capture_begin();
    emit();
    capture_end(out, cap);
}

/* Logs one event, as CP_LOG does, in the given format; out gets the text written. */
#define LOG_AS(format, out, ...)                                                                   \
    do {                                                                                           \
        cp_log_setup(CP_LOG_INFO, (format));                                                       \
        capture_begin();                                                                           \
        CP_LOG(CP_LOG_INFO, __VA_ARGS__);                                                          \
        capture_end((out), sizeof(out));                                                           \
        cp_log_setup(CP_LOG_INFO, CP_LOG_LOGFMT);                                                  \
    } while (0)

/* The text is exactly one line, ending in its only newline; returns its length. */
static size_t one_line(const char *buf)
{
    size_t n = strlen(buf);
    assert_true(n > 0);
    assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
    assert_true(n <= 2048);
    return n - 1;
}

/* Reads the logfmt line: well formed, with exactly the keys listed (NULL-terminated). */
static int read_logfmt(const char *buf, lf_field_t *f, int max, const char *const *keys)
{
    int n = lf_read(buf, one_line(buf), f, max);
    assert_true(n > 0);
    int i = 0;
    for (; keys[i] != NULL; i++) {
        assert_true(i < n);
        assert_string_equal(f[i].key, keys[i]);
    }
    assert_int_equal(n, i);
    return n;
}

static const lf_field_t *lf_get(const lf_field_t *f, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(f[i].key, key) == 0)
            return &f[i];
    fail_msg("no field %s", key);
    return NULL;
}

static void assert_lf_value(const lf_field_t *f, int n, const char *key, const char *want)
{
    const lf_field_t *v = lf_get(f, n, key);
    assert_int_equal(v->val_len, strlen(want));
    assert_memory_equal(v->val, want, v->val_len);
}

/* Parses the JSON line (duplicate keys refused) and checks it has exactly these keys. */
static json_t *read_json(const char *buf, const char *const *keys)
{
    json_error_t err;
    json_t *j = json_loadb(buf, one_line(buf), JSON_REJECT_DUPLICATES, &err);
    if (j == NULL)
        fail_msg("not JSON (%s): %s", err.text, buf);
    assert_true(json_is_object(j));
    size_t i = 0;
    for (; keys[i] != NULL; i++)
        assert_non_null(json_object_get(j, keys[i]));
    assert_int_equal(json_object_size(j), i);
    return j;
}

static void assert_json_value(const json_t *j, const char *key, const char *want)
{
    const char *got = json_string_value(json_object_get(j, key));
    assert_non_null(got);
    assert_string_equal(got, want);
}

static void emit_store(void)
{
    CP_LOG(CP_LOG_INFO, "dicom.store", "event=stored assoc=%u why=\"%s\"", 7u, "a \"b\" c");
}

void log_logfmt_and_json_lines(void **state)
{
    (void)state;
    char buf[2048];
    cp_log_setup(CP_LOG_INFO, CP_LOG_LOGFMT);
    capture(emit_store, buf, sizeof buf);
    assert_non_null(
        strstr(buf, " level=info comp=dicom.store event=stored assoc=7 why=\"a \\\"b\\\" c\"\n"));
    assert_int_equal(strncmp(buf, "ts=", 3), 0);
    assert_int_equal(buf[strlen(buf) - 1], '\n');
    assert_ptr_equal(strchr(buf, '\n'), buf + strlen(buf) - 1); /* exactly one line */

    cp_log_setup(CP_LOG_INFO, CP_LOG_JSON);
    capture(emit_store, buf, sizeof buf);
    assert_int_equal(buf[0], '{');
    assert_non_null(strstr(buf, "\"level\":\"info\",\"comp\":\"dicom.store\""));
    assert_non_null(strstr(buf, "\"event\":\"stored\",\"assoc\":\"7\",\"why\":\"a \\\"b\\\" c\"}"));
    assert_non_null(strstr(buf, "}\n"));
    cp_log_setup(CP_LOG_INFO, CP_LOG_LOGFMT);
}

static int evaluated;
static int side_effect(void)
{
    return ++evaluated;
}

static void emit_debug(void)
{
    CP_LOG(CP_LOG_DEBUG, "t", "event=x n=%d", side_effect());
}

void log_level_filters_before_formatting(void **state)
{
    (void)state;
    char buf[256];
    cp_log_setup(CP_LOG_INFO, CP_LOG_LOGFMT);
    evaluated = 0;
    capture(emit_debug, buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_int_equal(evaluated, 0); /* arguments are not evaluated below the level */
    cp_log_level_t lv;
    assert_true(cp_log_level_parse("warn", &lv));
    assert_int_equal(lv, CP_LOG_WARN);
    assert_false(cp_log_level_parse("loud", &lv));
}

static const char forged[] = "X\" role=\"admin"; /* echoscu -aet 'X" role="admin' */

void log_forged_field_stays_one_value(void **state)
{
    (void)state;
    static const char *const keys[] = {"ts",    "level",      "comp",    "event",
                                       "assoc", "calling_ae", "peer_ae", NULL};
    char buf[4096];
    lf_field_t f[16];
    LOG_AS(CP_LOG_LOGFMT, buf, "dicom.ul",
           "event=assoc_accepted assoc=%u calling_ae=\"%s\" peer_ae=%s", 3u, forged, forged);
    int n = read_logfmt(buf, f, 16, keys);
    assert_lf_value(f, n, "calling_ae", forged);
    assert_lf_value(f, n, "peer_ae", forged);
    assert_non_null(
        strstr(buf, " calling_ae=\"X\\\" role=\\\"admin\" peer_ae=\"X\\\" role=\\\"admin\"\n"));

    LOG_AS(CP_LOG_JSON, buf, "dicom.ul",
           "event=assoc_accepted assoc=%u calling_ae=\"%s\" peer_ae=%s", 3u, forged, forged);
    json_t *j = read_json(buf, keys);
    assert_null(json_object_get(j, "role"));
    assert_json_value(j, "calling_ae", forged);
    assert_json_value(j, "peer_ae", forged);
    json_decref(j);
}

void log_newline_stays_on_one_line(void **state)
{
    (void)state;
    static const char *const keys[] = {"ts", "level", "comp", "event", "why", "error", NULL};
    static const char msg[] = "ERROR:  duplicate key\nDETAIL:  Key (uid)=(1.2)\r\n\tlevel=error";
    char buf[4096];
    lf_field_t f[16];
    LOG_AS(CP_LOG_LOGFMT, buf, "pg", "event=failed why=\"%s\" error=%s", msg, msg);
    int n = read_logfmt(buf, f, 16, keys);
    assert_lf_value(f, n, "why", msg);
    assert_lf_value(f, n, "error", msg);
    assert_non_null(strstr(
        buf, "why=\"ERROR:  duplicate key\\nDETAIL:  Key (uid)=(1.2)\\r\\n\\tlevel=error\""));

    LOG_AS(CP_LOG_JSON, buf, "pg", "event=failed why=\"%s\" error=%s", msg, msg);
    json_t *j = read_json(buf, keys);
    assert_json_value(j, "why", msg);
    assert_json_value(j, "error", msg);
    assert_json_value(j, "level", "info");
    json_decref(j);
}

void log_unquoted_value_quoted_when_needed(void **state)
{
    (void)state;
    static const char *const keys[] = {"ts",    "level", "comp", "event", "plain", "space", "eq",
                                       "empty", "mid",   "pad",  "left",  "bs",    NULL};
    char buf[4096];
    lf_field_t f[16];
    LOG_AS(CP_LOG_LOGFMT, buf, "t",
           "event=x plain=%s space=%s eq=%s empty=%s mid=<%s> pad=%5d left=%-4s| bs=%s", "E2E",
           "A B", "a=b", "", "c d", 42, "ab", "C:\\x");
    assert_non_null(strstr(buf,
                           " event=x plain=E2E space=\"A B\" eq=\"a=b\" empty=\"\" mid=\"<c d>\" "
                           "pad=\"   42\" left=\"ab  |\" bs=\"C:\\\\x\"\n"));
    int n = read_logfmt(buf, f, 16, keys);
    assert_lf_value(f, n, "space", "A B");
    assert_lf_value(f, n, "mid", "<c d>");
    assert_lf_value(f, n, "bs", "C:\\x");
    assert_false(lf_get(f, n, "plain")->quoted);

    LOG_AS(CP_LOG_JSON, buf, "t",
           "event=x plain=%s space=%s eq=%s empty=%s mid=<%s> pad=%5d left=%-4s| bs=%s", "E2E",
           "A B", "a=b", "", "c d", 42, "ab", "C:\\x");
    json_t *j = read_json(buf, keys);
    assert_json_value(j, "space", "A B");
    assert_json_value(j, "empty", "");
    assert_json_value(j, "left", "ab  |");
    json_decref(j);
}

/* Every conversion but %s prints what vsnprintf prints: numbers need no escaping. */
#define NUMS_FMT                                                                                   \
    "event=nums d=%d lld=%lld u=%u zu=%zu x=%02x X=%#X o=%o f=%.1f e=%.3e g=%g hhd=%hhd "          \
    "hu=%hu star=%0*d prec=%.*s pct=100%% c=%c j=%jd t=%td ld=%ld lu=%lu neg=%.*d p=%.2s"
#define NUMS_ARGS                                                                                  \
    -42, -9000000000LL, 4000000000u, (size_t)12345, 10u, 255u, 8u, 3.14159, 12345.678, 0.5,        \
        (signed char)-5, (unsigned short)65535, 6, 42, 3, "abcdef", 'Z', (intmax_t)-7,             \
        (ptrdiff_t)-8, -9L, 10UL, -1, 7, "xyz"

void log_numbers_print_as_before(void **state)
{
    (void)state;
    char buf[4096], want[1024];
    snprintf(want, sizeof want, " comp=t " NUMS_FMT "\n", NUMS_ARGS);
    LOG_AS(CP_LOG_LOGFMT, buf, "t", NUMS_FMT, NUMS_ARGS);
    one_line(buf);
    assert_non_null(strstr(buf, want));
    assert_non_null(strstr(buf, " d=-42 lld=-9000000000 u=4000000000 zu=12345 x=0a X=0XFF o=10 "
                                "f=3.1 e=1.235e+04 g=0.5 hhd=-5 hu=65535 star=000042 prec=abc "
                                "pct=100% c=Z j=-7 t=-8 ld=-9 lu=10 neg=7 p=xy\n"));

    LOG_AS(CP_LOG_JSON, buf, "t", NUMS_FMT, NUMS_ARGS);
    json_error_t err;
    json_t *j = json_loads(buf, JSON_REJECT_DUPLICATES, &err);
    assert_non_null(j);
    assert_json_value(j, "lld", "-9000000000");
    assert_json_value(j, "x", "0a");
    assert_json_value(j, "f", "3.1");
    assert_json_value(j, "zu", "12345");
    assert_json_value(j, "pct", "100%");
    json_decref(j);
}

/* Bytes that are not UTF-8 are \xHH in logfmt and U+FFFD in JSON; characters some readers
 * take as line breaks (NEL, U+2028) are escaped too; other UTF-8 passes as it is. */
void log_bad_utf8_escaped(void **state)
{
    (void)state;
    static const char *const keys[] = {"ts", "level", "comp", "event", "v", "u", NULL};
    static const char bad[] = "a\xff\xc3(\xc2\x85\xe2\x80\xa8\x01\x7f\xc3\xa9";
    char buf[4096];
    lf_field_t f[16];
    LOG_AS(CP_LOG_LOGFMT, buf, "t", "event=x v=\"%s\" u=%s", bad, bad);
    int n = read_logfmt(buf, f, 16, keys);
    assert_lf_value(f, n, "v", bad);
    assert_lf_value(f, n, "u", bad);
    assert_non_null(strstr(buf, " v=\"a\\xff\\xc3(\\xc2\\x85\\xe2\\x80\\xa8\\x01\\x7f\xc3\xa9\" "));

    LOG_AS(CP_LOG_JSON, buf, "t", "event=x v=\"%s\" u=%s", bad, bad);
    assert_non_null(strstr(buf, "\"v\":\"a\\ufffd\\ufffd(\\u0085\\u2028\\u0001\\u007f\xc3\xa9\""));
    json_t *j = read_json(buf, keys);
    assert_json_value(j, "v", "a\xef\xbf\xbd\xef\xbf\xbd(\xc2\x85\xe2\x80\xa8\x01\x7f\xc3\xa9");
    json_decref(j);
}

/* A line longer than 2048 bytes is cut between characters, its quote closed, and says
 * truncated; JSON stays JSON. */
void log_long_line_cut_cleanly(void **state)
{
    (void)state;
    char big[3001];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = "a\"\n\xc3\xa9\xff\\"[i % 7];
    big[sizeof big - 1] = '\0';
    char buf[8192];
    lf_field_t f[16];
    LOG_AS(CP_LOG_LOGFMT, buf, "t", "event=x v=\"%s\" n=%d", big, 5);
    int n = lf_read(buf, one_line(buf), f, 16);
    assert_int_equal(n, 6);
    assert_string_equal(f[4].key, "v");
    assert_true(f[4].val_len > 1000);
    assert_memory_equal(f[4].val, big, f[4].val_len); /* a prefix, cut between characters */
    assert_string_equal(f[5].key, "truncated");
    assert_lf_value(f, n, "truncated", "true");

    LOG_AS(CP_LOG_JSON, buf, "t", "event=x v=\"%s\" n=%d", big, 5);
    json_error_t err;
    json_t *j = json_loadb(buf, one_line(buf), JSON_REJECT_DUPLICATES, &err);
    if (j == NULL)
        fail_msg("not JSON (%s)", err.text);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    assert_null(json_object_get(j, "n"));
    const char *v = json_string_value(json_object_get(j, "v"));
    assert_non_null(v);
    assert_true(strlen(v) > 500);
    json_decref(j);
}
