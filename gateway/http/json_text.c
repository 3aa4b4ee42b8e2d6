/* gateway/http/json_text.c -- a jansson value as compact JSON text, byte for byte what
 * json_dumps(j, JSON_COMPACT) writes, in about a tenth of its time (json_text.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"

typedef struct out {
    char *p;
    size_t len, cap;
    bool failed;
} out_t;

static bool reserve(out_t *o, size_t more)
{
    if (o->failed)
        return false;
    if (o->len + more + 1 <= o->cap)
        return true;
    size_t cap = o->cap ? o->cap : 4096;
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
 * 0x20; everything else (UTF-8, which jansson checked on the way in, and '/') as it is. */
static void put_string(out_t *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!reserve(o, n + 2))
        return;
    o->p[o->len++] = '"';
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
    put(o, "\"", 1);
}

static void put_integer(out_t *o, json_int_t v)
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

/* Reals are rare in answers (a questionnaire's numbers): jansson's own text for them. */
static void put_real(out_t *o, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL) {
        o->failed = true;
        return;
    }
    put(o, s, strlen(s));
    free(s);
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

char *gw_json_text(const json_t *j, size_t *len)
{
    out_t o = {0};
    put_value(&o, j);
    if (o.failed || o.p == NULL) {
        free(o.p);
        return NULL;
    }
    o.p[o.len] = '\0';
    if (len != NULL)
        *len = o.len;
    return o.p;
}
