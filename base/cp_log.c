/* base/cp_log.c -- formats one event per line; a line is written with one write(2)
 * so lines from threads never interleave.
 *
 * What callers pass is often a peer's text (calling AE titles, UIDs, PostgreSQL's error
 * messages), so the format is never handed to vsnprintf whole: a value holding `" role="`
 * or a newline would forge a field or a line (issue 17). Instead cp_log_emit walks the
 * format itself and builds the event as fields first: the literal text decides where
 * keys, values and quotes are, and each conversion is formatted alone with snprintf and
 * appended, raw, to the key or value it sits in, so no argument can end a value. Then
 * the fields are written as logfmt or JSON, each escaped for its format. Building fields
 * first, rather than escaping into logfmt and re-parsing that for JSON, means there is
 * no decoder to keep in step with the encoder: JSON values are the arguments' bytes. */
#include "cp_log.h"
#include "cp_utf8.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

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

/* ---- the event: fields parsed from the format, values raw -------------------------- */

enum { LINE_CAP = 2048, MAX_FIELDS = 48 };

typedef struct field {
    size_t key, key_len; /* offsets into event_t.text */
    size_t val, val_len;
    bool has_val; /* `key=...`, not a bare word */
    bool quoted;  /* the format quoted it: written quoted even when it need not be */
} field_t;

typedef enum { AT_GAP, AT_KEY, AT_VALUE_START, AT_VALUE, AT_QUOTED } where_t;

typedef struct event {
    char text[LINE_CAP];
    size_t len;
    field_t f[MAX_FIELDS];
    int n;
    where_t at;
    bool truncated; /* text or fields ran out: the line says so */
} event_t;

static void append(event_t *ev, const char *s, size_t n)
{
    if (n > sizeof ev->text - ev->len) {
        n = sizeof ev->text - ev->len;
        ev->truncated = true;
    }
    memcpy(ev->text + ev->len, s, n);
    ev->len += n;
}

static void field_start(event_t *ev)
{
    if (ev->n == MAX_FIELDS) {
        ev->truncated = true;
        return;
    }
    ev->f[ev->n] = (field_t){.key = ev->len};
    ev->at = AT_KEY;
}

static void field_end(event_t *ev)
{
    field_t *f = &ev->f[ev->n];
    if (ev->at == AT_GAP)
        return;
    if (f->has_val)
        f->val_len = ev->len - f->val;
    else
        f->key_len = ev->len - f->key;
    ev->n++;
    ev->at = AT_GAP;
}

/* One byte of the format's own text: spaces, `=` and `"` here are the structure. */
static void literal(event_t *ev, char c)
{
    field_t *f = &ev->f[ev->n];
    switch (ev->at) {
    case AT_GAP:
        if (c == ' ')
            return;
        field_start(ev);
        if (ev->truncated)
            return;
        literal(ev, c);
        return;
    case AT_KEY:
        if (c == ' ') {
            field_end(ev);
        } else if (c == '=') {
            f->key_len = ev->len - f->key;
            f->has_val = true;
            f->val = ev->len;
            ev->at = AT_VALUE_START;
        } else {
            append(ev, &c, 1);
        }
        return;
    case AT_VALUE_START:
        if (c == '"') {
            f->quoted = true;
            ev->at = AT_QUOTED;
            return;
        }
        ev->at = AT_VALUE;
        literal(ev, c);
        return;
    case AT_VALUE:
        if (c == ' ')
            field_end(ev);
        else
            append(ev, &c, 1);
        return;
    case AT_QUOTED:
        if (c == '"')
            field_end(ev);
        else
            append(ev, &c, 1);
        return;
    }
}

/* What one conversion printed: data, whatever bytes it holds. */
static void converted(event_t *ev, const char *s, size_t n)
{
    if (ev->at == AT_GAP) {
        if (n == 0)
            return;
        field_start(ev);
        if (ev->truncated)
            return;
    }
    if (ev->at == AT_VALUE_START)
        ev->at = AT_VALUE;
    append(ev, s, n);
}

/* ---- one conversion, formatted alone ------------------------------------------------ */

typedef enum { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T, LEN_BIG_L } len_t;

typedef struct spec {
    char text[64]; /* the conversion rebuilt with `*` resolved, e.g. "%-12.3lld" */
    len_t len;
    char conv;
} spec_t;

static const char *const len_names[] = {"", "hh", "h", "l", "ll", "z", "j", "t", "L"};
_Static_assert(sizeof len_names / sizeof len_names[0] == LEN_BIG_L + 1, "a name per len_t");

static const char *parse_len(const char *p, len_t *len)
{
    /* longest first: "hh" before "h", "ll" before "l" */
    static const len_t order[] = {LEN_HH, LEN_H, LEN_LL, LEN_L, LEN_Z, LEN_J, LEN_T, LEN_BIG_L};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        size_t n = strlen(len_names[order[i]]);
        if (strncmp(p, len_names[order[i]], n) == 0) {
            *len = order[i];
            return p + n;
        }
    }
    *len = LEN_NONE;
    return p;
}

/* Width or precision: digits, `*` taken from the arguments, or absent (0). */
static const char *parse_number(const char *p, va_list *ap, int *out)
{
    if (*p == '*') {
        *out = va_arg(*ap, int);
        return p + 1;
    }
    int v = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        v = v < 100000 ? v * 10 + (*p - '0') : v; /* any more is past the line cap */
    *out = v;
    return p;
}

/* p points just past the '%'. Returns where the format goes on, with *s filled. */
static const char *parse_spec(const char *p, va_list *ap, spec_t *s)
{
    char flags[8];
    size_t nf = 0;
    for (; *p && strchr("-+ #0'", *p) != NULL; p++)
        if (nf + 1 < sizeof flags)
            flags[nf++] = *p;
    flags[nf] = '\0';
    int width, prec = -1;
    p = parse_number(p, ap, &width);
    if (*p == '.')
        p = parse_number(p + 1, ap, &prec);
    p = parse_len(p, &s->len);
    s->conv = *p ? *p++ : '\0';
    size_t k = (size_t)snprintf(s->text, sizeof s->text, "%%%s", flags);
    if (width != 0) /* a negative `*` width means left-justify: "%-5" says the same */
        k += (size_t)snprintf(s->text + k, sizeof s->text - k, "%d", width);
    if (prec >= 0) /* a negative `*` precision is as if none were given */
        k += (size_t)snprintf(s->text + k, sizeof s->text - k, ".%d", prec);
    snprintf(s->text + k, sizeof s->text - k, "%s%c", len_names[s->len], s->conv);
    return p;
}

/* The spec is rebuilt from a format that __attribute__((format)) checked, so passing it
 * to snprintf is as safe as the original call. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

static int format_signed(const spec_t *s, va_list *ap, char *out, size_t cap)
{
    switch (s->len) {
    case LEN_NONE:
    case LEN_HH:
    case LEN_H:
    case LEN_BIG_L:
        return snprintf(out, cap, s->text, va_arg(*ap, int));
    case LEN_L:
        return snprintf(out, cap, s->text, va_arg(*ap, long));
    case LEN_LL:
        return snprintf(out, cap, s->text, va_arg(*ap, long long));
    case LEN_Z:
        return snprintf(out, cap, s->text, va_arg(*ap, ssize_t));
    case LEN_J:
        return snprintf(out, cap, s->text, va_arg(*ap, intmax_t));
    case LEN_T:
        return snprintf(out, cap, s->text, va_arg(*ap, ptrdiff_t));
    }
    return -1;
}

static int format_unsigned(const spec_t *s, va_list *ap, char *out, size_t cap)
{
    switch (s->len) {
    case LEN_NONE:
    case LEN_HH:
    case LEN_H:
    case LEN_BIG_L:
        return snprintf(out, cap, s->text, va_arg(*ap, unsigned));
    case LEN_L:
        return snprintf(out, cap, s->text, va_arg(*ap, unsigned long));
    case LEN_LL:
        return snprintf(out, cap, s->text, va_arg(*ap, unsigned long long));
    case LEN_Z:
        return snprintf(out, cap, s->text, va_arg(*ap, size_t));
    case LEN_J:
        return snprintf(out, cap, s->text, va_arg(*ap, uintmax_t));
    case LEN_T:
        return snprintf(out, cap, s->text, va_arg(*ap, ptrdiff_t));
    }
    return -1;
}

static int format_string(const spec_t *s, va_list *ap, char *out, size_t cap)
{
    if (s->len == LEN_L) {
        const wchar_t *w = va_arg(*ap, const wchar_t *);
        return snprintf(out, cap, s->text, w != NULL ? w : L"(null)");
    }
    const char *v = va_arg(*ap, const char *);
    return snprintf(out, cap, s->text, v != NULL ? v : "(null)");
}

/* Formats the value of one conversion into out; -1 when there is nothing to print. */
static int format_one(const spec_t *s, va_list *ap, char *out, size_t cap)
{
    switch (s->conv) {
    case 'd':
    case 'i':
        return format_signed(s, ap, out, cap);
    case 'o':
    case 'u':
    case 'x':
    case 'X':
        return format_unsigned(s, ap, out, cap);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
        if (s->len == LEN_BIG_L)
            return snprintf(out, cap, s->text, va_arg(*ap, long double));
        return snprintf(out, cap, s->text, va_arg(*ap, double));
    case 'c':
        if (s->len == LEN_L)
            return snprintf(out, cap, s->text, va_arg(*ap, wint_t));
        return snprintf(out, cap, s->text, va_arg(*ap, int));
    case 's':
        return format_string(s, ap, out, cap);
    case 'p':
        return snprintf(out, cap, s->text, va_arg(*ap, void *));
    case 'n': /* a log line stores nothing through its arguments */
        (void)va_arg(*ap, void *);
        return -1;
    }
    return -1;
}

#pragma GCC diagnostic pop

/* Walks fmt: literal text shapes the fields, each conversion's output is data. */
static void walk(event_t *ev, const char *fmt, va_list *ap)
{
    char out[LINE_CAP];
    for (const char *p = fmt; *p && !ev->truncated;) {
        if (*p != '%') {
            literal(ev, *p++);
            continue;
        }
        if (p[1] == '%') {
            converted(ev, "%", 1);
            p += 2;
            continue;
        }
        spec_t s;
        p = parse_spec(p + 1, ap, &s);
        if (strchr("diouxXeEfFgGaAcspn", s.conv) == NULL || s.conv == '\0')
            break; /* not a conversion the format checker lets through: stop here */
        int n = format_one(&s, ap, out, sizeof out);
        if (n < 0)
            continue;
        if ((size_t)n >= sizeof out) {
            n = (int)sizeof out - 1;
            ev->truncated = true;
        }
        converted(ev, out, (size_t)n);
    }
    field_end(ev);
}

static void add_field(event_t *ev, const char *key, const char *val)
{
    field_start(ev);
    append(ev, key, strlen(key));
    literal(ev, '=');
    converted(ev, val, strlen(val));
    field_end(ev);
}

/* ---- writing the line --------------------------------------------------------------- */

/* Room always kept for what closes a cut line: `"` ` truncated=true` or
 * `","truncated":true}`, then the newline. */
enum { RESERVE = 24 };

typedef struct line {
    char buf[LINE_CAP];
    size_t len;
    bool full; /* a piece did not fit: nothing more is written but the closing */
} line_t;

/* Writes s whole, or nothing and marks the line full: escapes and UTF-8 sequences are
 * written as one piece, so a cut never splits one. */
static bool put(line_t *l, const char *s, size_t n)
{
    if (l->full || l->len + n + RESERVE > sizeof l->buf) {
        l->full = true;
        return false;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return true;
}

/* The closing text, into the reserved room. */
static void put_closing(line_t *l, const char *s)
{
    size_t n = strlen(s);
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Valid UTF-8 that some readers take as a line break: C1 controls (NEL is U+0085),
 * U+2028 and U+2029. Escaped like the ASCII controls. */
static bool breaks_lines(const unsigned char *p, size_t k)
{
    return (k == 2 && p[0] == 0xC2 && p[1] < 0xA0) ||
           (k == 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9));
}

/* Length of the character at p for escaping: a valid sequence, or 1 for a bad byte. */
static size_t char_len(const unsigned char *p, size_t n, bool *valid)
{
    size_t k = cp_utf8_seq(p, n);
    *valid = k > 0;
    return k > 0 ? k : 1;
}

/* A logfmt value needs no quotes: printable ASCII, not empty, nothing logfmt reads. */
static bool logfmt_plain(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7F || c == '=' || c == '"' || c == '\\')
            return false;
    }
    return true;
}

/* The two-character escapes logfmt and JSON share, or NULL. */
static const char *short_escape(unsigned char c)
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    }
    return NULL;
}

/* Inside logfmt quotes: \" \\ \n \r \t, and \xHH for other control bytes, bytes that
 * are not UTF-8 and the bytes of line-breaking characters. */
static bool put_logfmt_char(line_t *l, const unsigned char *p, size_t k, bool valid)
{
    char esc[16];
    const char *short_esc = short_escape(*p);
    if (short_esc != NULL)
        return put(l, short_esc, 2);
    if (valid && *p >= ' ' && *p != 0x7F && !breaks_lines(p, k))
        return put(l, (const char *)p, k);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        m += (size_t)snprintf(esc + m, sizeof esc - m, "\\x%02x", p[i]);
    return put(l, esc, m);
}

/* Inside JSON quotes (RFC 8259): bytes that are not UTF-8 become U+FFFD, so the line is
 * always valid JSON; controls and line-breaking characters are \u escapes. */
static bool put_json_char(line_t *l, const unsigned char *p, size_t k, bool valid)
{
    char esc[8];
    const char *short_esc = short_escape(*p);
    if (short_esc != NULL)
        return put(l, short_esc, 2);
    if (!valid)
        return put(l, "\\ufffd", 6);
    if (*p < ' ' || *p == 0x7F)
        return put(l, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p));
    if (k == 2 && breaks_lines(p, k))
        return put(l, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", p[1]));
    if (breaks_lines(p, k))
        return put(l, p[2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
    return put(l, (const char *)p, k);
}

typedef bool (*put_char_fn)(line_t *, const unsigned char *, size_t, bool);

static bool put_escaped(line_t *l, const char *s, size_t n, put_char_fn put_char)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0, k; i < n; i += k) {
        bool valid;
        k = char_len(p + i, n - i, &valid);
        if (!put_char(l, p + i, k, valid))
            return false;
    }
    return true;
}

/* Keys come from the format's text; a conversion inside a key cannot make it two, nor
 * differ between the formats: anything but printable ASCII other than `=`, `"` and `\`
 * reads `_`, in logfmt and in JSON alike. */
static bool put_key(line_t *l, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char k = c <= ' ' || c >= 0x7F || c == '=' || c == '"' || c == '\\' ? '_' : (char)c;
        if (!put(l, &k, 1))
            return false;
    }
    return true;
}

static void write_logfmt_field(line_t *l, const event_t *ev, const field_t *f, bool first)
{
    size_t start = l->len;
    const char *v = ev->text + f->val;
    bool quote = f->quoted || !logfmt_plain(v, f->val_len);
    if (!(first || put(l, " ", 1)) || !put_key(l, ev->text + f->key, f->key_len) ||
        (f->has_val && !put(l, quote ? "=\"" : "=", quote ? 2 : 1))) {
        l->len = start; /* a key without its value would be misread */
        return;
    }
    if (!f->has_val)
        return;
    put_escaped(l, v, f->val_len, put_logfmt_char); /* a plain value has nothing to escape */
    if (quote)
        put_closing(l, "\"");
}

static void write_json_field(line_t *l, const event_t *ev, const field_t *f, bool first)
{
    size_t start = l->len;
    if (!put(l, first ? "\"" : ",\"", first ? 1 : 2) ||
        !put_key(l, ev->text + f->key, f->key_len) || !put(l, "\":\"", 3)) {
        l->len = start;
        return;
    }
    put_escaped(l, ev->text + f->val, f->has_val ? f->val_len : 0, put_json_char);
    put_closing(l, "\"");
}

static void write_line(line_t *l, const event_t *ev, cp_log_format_t format)
{
    bool json = format == CP_LOG_JSON;
    if (json)
        put(l, "{", 1);
    for (int i = 0; i < ev->n && !l->full; i++) {
        if (json)
            write_json_field(l, ev, &ev->f[i], i == 0);
        else
            write_logfmt_field(l, ev, &ev->f[i], i == 0);
    }
    if (ev->truncated || l->full)
        put_closing(l, json ? ",\"truncated\":true" : " truncated=true");
    put_closing(l, json ? "}\n" : "\n");
}

static void timestamp(char *when, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t w = strftime(when, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + w, cap - w, ".%03ldZ", ts.tv_nsec / 1000000);
}

void cp_log_emit(cp_log_level_t level, const char *comp, const char *fmt, ...)
{
    event_t ev = {.at = AT_GAP};
    char when[40];
    timestamp(when, sizeof when);
    add_field(&ev, "ts", when);
    add_field(&ev, "level", level_names[level < CP_LOG_OFF ? level : CP_LOG_ERROR]);
    add_field(&ev, "comp", comp);

    va_list ap;
    va_start(ap, fmt);
    walk(&ev, fmt, &ap);
    va_end(ap);

    line_t l = {.len = 0};
    write_line(&l, &ev, log_format);
    ssize_t rc = write(STDERR_FILENO, l.buf, l.len);
    (void)rc;
}
