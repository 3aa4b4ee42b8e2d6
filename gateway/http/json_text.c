/* gateway/http/json_text.c -- compact JSON text: a jansson value byte for byte as
 * json_dumps(j, JSON_COMPACT) writes it, in a third of its time, and the writer the hot
 * answers use without building values at all (json_text.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_utf8.h"
#include "json_text.h"

typedef gw_json_out_t out_t;

static bool reserve(out_t *o, size_t more)
{
    if (o->failed)
        return false;
    if (o->len + more + 1 <= o->cap)
        return true;
    size_t cap = o->cap ? o->cap : 32768; /* a page of 50 cases is about 18 KB */
    while (cap < o->len + more + 1)
        cap *= 2;
    char *p = realloc(o->p, cap);
    if (p == NULL) {
        o->failed = true;
        return false;
    }
    o->p = p;
    o->cap = cap;
    return true;
}

static void put(out_t *o, const char *s, size_t n)
{
    if (reserve(o, n)) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
    }
}

/* Escapes as jansson does without flags: the quote, the backslash and the controls below
 * 0x20; everything else (UTF-8 and '/') as it is. */
static void escape(out_t *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0; /* bytes copied as they are, pending */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        put(o, s + run, i - run);
        run = i + 1;
        const char *short_form = ch == '"'    ? "\\\""
                                 : ch == '\\' ? "\\\\"
                                 : ch == '\b' ? "\\b"
                                 : ch == '\f' ? "\\f"
                                 : ch == '\n' ? "\\n"
                                 : ch == '\r' ? "\\r"
                                 : ch == '\t' ? "\\t"
                                              : NULL;
        if (short_form != NULL) {
            put(o, short_form, 2);
        } else {
            char u[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            put(o, u, sizeof u);
        }
    }
    put(o, s + run, n - run);
}

/* a string jansson checked on the way in */
static void put_string(out_t *o, const char *s, size_t n)
{
    put(o, "\"", 1);
    escape(o, s, n);
    put(o, "\"", 1);
}

/* Text not checked before (from the database): each byte that is not part of valid UTF-8
 * becomes U+FFFD, so that the answer stays JSON whatever a column holds. */
static void put_text(out_t *o, const char *s)
{
    size_t n = strlen(s), run = 0, i = 0;
    put(o, "\"", 1);
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        size_t k = ch < 0x80 ? 1 : cp_utf8_seq((const unsigned char *)s + i, n - i);
        if (k == 0) {
            escape(o, s + run, i - run);
            put(o, "\\uFFFD", 6);
            run = ++i;
        } else {
            i += k;
        }
    }
    escape(o, s + run, n - run);
    put(o, "\"", 1);
}

static void put_integer(out_t *o, int64_t v)
{
    char digits[24];
    size_t i = sizeof digits;
    /* negated in unsigned arithmetic, so the most negative value has no overflow */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        digits[--i] = '-';
    put(o, digits + i, sizeof digits - i);
}

/* Reals (a questionnaire's numbers, a match's confidence) in the fewest digits that read
 * back as the same double: 0.95, not jansson's 17-digit 0.94999999999999996. */
static void put_real(out_t *o, const json_t *j)
{
    double v = json_real_value(j);
    char text[32];
    int n = 0;
    for (int digits = 1; digits <= 17; digits++) {
        n = snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            break;
    }
    if (n <= 0 || (size_t)n + 2 >= sizeof text) {
        o->failed = true;
        return;
    }
    if (strpbrk(text, ".eE") == NULL) /* 3.0 stays a real for a reader, as jansson writes it */
        n += snprintf(text + n, sizeof text - (size_t)n, ".0");
    put(o, text, (size_t)n);
}

static void put_value(out_t *o, const json_t *j);

static void put_object(out_t *o, const json_t *j)
{
    const char *key;
    size_t key_len;
    json_t *v;
    bool first = true;
    put(o, "{", 1);
    json_object_keylen_foreach((json_t *)j, key, key_len, v)
    {
        if (!first)
            put(o, ",", 1);
        first = false;
        put_string(o, key, key_len);
        put(o, ":", 1);
        put_value(o, v);
    }
    put(o, "}", 1);
}

static void put_array(out_t *o, const json_t *j)
{
    size_t n = json_array_size(j);
    put(o, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            put(o, ",", 1);
        put_value(o, json_array_get(j, i));
    }
    put(o, "]", 1);
}

static void put_value(out_t *o, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        put_object(o, j);
        break;
    case JSON_ARRAY:
        put_array(o, j);
        break;
    case JSON_STRING:
        put_string(o, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        put_integer(o, json_integer_value(j));
        break;
    case JSON_REAL:
        put_real(o, j);
        break;
    case JSON_TRUE:
        put(o, "true", 4);
        break;
    case JSON_FALSE:
        put(o, "false", 5);
        break;
    case JSON_NULL:
        put(o, "null", 4);
        break;
    }
}

char *gw_json_finish(gw_json_out_t *o, size_t *len)
{
    if (o->failed || o->p == NULL) {
        free(o->p);
        *o = (gw_json_out_t){0};
        return NULL;
    }
    char *text = o->p;
    text[o->len] = '\0';
    if (len != NULL)
        *len = o->len;
    *o = (gw_json_out_t){0};
    return text;
}

char *gw_json_text(const json_t *j, size_t *len)
{
    out_t o = {0};
    put_value(&o, j);
    return gw_json_finish(&o, len);
}

/* ---- the writer: a comma before each member or element but the first ---- */

static void member(out_t *o, const char *key)
{
    if (o->comma)
        put(o, ",", 1);
    o->comma = true;
    if (key != NULL) {
        put_string(o, key, strlen(key));
        put(o, ":", 1);
    }
}

void gw_json_object(gw_json_out_t *o, const char *key)
{
    member(o, key);
    put(o, "{", 1);
    o->comma = false;
}

void gw_json_array(gw_json_out_t *o, const char *key)
{
    member(o, key);
    put(o, "[", 1);
    o->comma = false;
}

void gw_json_end_object(gw_json_out_t *o)
{
    put(o, "}", 1);
    o->comma = true;
}

void gw_json_end_array(gw_json_out_t *o)
{
    put(o, "]", 1);
    o->comma = true;
}

void gw_json_str(gw_json_out_t *o, const char *key, const char *v)
{
    member(o, key);
    put_text(o, v);
}

void gw_json_int(gw_json_out_t *o, const char *key, int64_t v)
{
    member(o, key);
    put_integer(o, v);
}

void gw_json_bool(gw_json_out_t *o, const char *key, bool v)
{
    member(o, key);
    put(o, v ? "true" : "false", v ? 4 : 5);
}
