/* base/cp_log.c -- formats one event per line; a line is written with one write(2)
 * so lines from threads never interleave. */
#include "cp_log.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

cp_log_level_t cp_log_level = CP_LOG_INFO;
static cp_log_format_t log_format = CP_LOG_LOGFMT;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void cp_log_setup(cp_log_level_t level, cp_log_format_t format)
{
    cp_log_level = level;
    log_format = format;
}

bool cp_log_level_parse(const char *s, cp_log_level_t *out)
{
    for (int i = 0; i <= CP_LOG_OFF; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (cp_log_level_t)i;
            return true;
        }
    }
    return false;
}

bool cp_log_format_parse(const char *s, cp_log_format_t *out)
{
    if (strcmp(s, "logfmt") == 0)
        *out = CP_LOG_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *out = CP_LOG_JSON;
    else
        return false;
    return true;
}

typedef struct line {
    char buf[2048];
    size_t len;
} line_t;

static void put(line_t *l, const char *s, size_t n)
{
    size_t room = sizeof l->buf - 2 - l->len; /* keep space for "}\n" */
    if (n > room)
        n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void put_json_str(line_t *l, const char *s, size_t n)
{
    put(l, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(l, esc, 2);
        } else if (c < 0x20) {
            int k = snprintf(esc, sizeof esc, "\\u%04x", c);
            put(l, esc, (size_t)k);
        } else {
            put(l, (const char *)&s[i], 1);
        }
    }
    put(l, "\"", 1);
}

/* Turns `k=v k2="a b"` into `,"k":"v","k2":"a b"`. */
static void kv_to_json(line_t *l, const char *msg)
{
    const char *p = msg;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *k = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        size_t klen = (size_t)(p - k);
        const char *v = "";
        size_t vlen = 0;
        if (*p == '=') {
            p++;
            if (*p == '"') {
                v = ++p;
                while (*p && *p != '"')
                    p++;
                vlen = (size_t)(p - v);
                if (*p == '"')
                    p++;
            } else {
                v = p;
                while (*p && *p != ' ')
                    p++;
                vlen = (size_t)(p - v);
            }
        }
        put(l, ",", 1);
        put_json_str(l, k, klen);
        put(l, ":", 1);
        put_json_str(l, v, vlen);
    }
}

void cp_log_emit(cp_log_level_t level, const char *comp, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t w = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + w, sizeof when - w, ".%03ldZ", ts.tv_nsec / 1000000);

    line_t l = {.len = 0};
    const char *lv = level_names[level < CP_LOG_OFF ? level : CP_LOG_ERROR];
    char head[128];
    if (log_format == CP_LOG_JSON) {
        int n = snprintf(head, sizeof head, "{\"ts\":\"%s\",\"level\":\"%s\",\"comp\":\"%s\"", when,
                         lv, comp);
        put(&l, head, (size_t)n);
        kv_to_json(&l, msg);
        l.buf[l.len++] = '}';
    } else {
        int n = snprintf(head, sizeof head, "ts=%s level=%s comp=%s ", when, lv, comp);
        put(&l, head, (size_t)n);
        put(&l, msg, strlen(msg));
    }
    l.buf[l.len++] = '\n';
    ssize_t rc = write(STDERR_FILENO, l.buf, l.len);
    (void)rc;
}
