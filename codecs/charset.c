/* codecs/charset.c -- text values in their Specific Character Set to UTF-8 (PS3.5 6.1,
 * PS3.3 C.12.1.1.2). Single-byte sets and the ISO 2022 multi-byte sets go through glibc's
 * iconv one character at a time (the set in use changes inside a value); UTF-8, GB18030
 * and GBK values whole. */
#include "codec_charset.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <string.h>

/* A graphic character set as ISO 2022 designates it. */
typedef enum cs_kind {
    CS_ASCII,    /* ISO-IR 6 */
    CS_ROMAN,    /* ISO-IR 14, JIS X 0201 Romaji: ASCII but 0x5C yen, 0x7E overline */
    CS_KATAKANA, /* ISO-IR 13, JIS X 0201 Katakana: G1, 0xA1-0xDF */
    CS_8BIT,     /* an ISO 8859 or TIS 620 upper half, by iconv */
    CS_DOUBLE,   /* two-byte: JIS X 0208/0212, KS X 1001, GB 2312, by iconv */
} cs_kind_t;

typedef struct cs {
    const char *term;   /* the defined term, without the "ISO 2022 " / "ISO_" prefix */
    cs_kind_t kind;
    const char *iconv;  /* for CS_8BIT and CS_DOUBLE */
    bool g1;            /* designated to G1 (upper half) rather than G0 */
    const char *escape; /* its designation escape sequence, after ESC */
    uint8_t prefix;     /* CS_DOUBLE in EUC form: a byte before the pair (JIS X 0212) */
} cs_t;

static const cs_t sets[] = {
    {"IR 6", CS_ASCII, NULL, false, "(B", 0},
    {"IR 14", CS_ROMAN, NULL, false, "(J", 0},
    {"IR 13", CS_KATAKANA, NULL, true, ")I", 0},
    {"IR 100", CS_8BIT, "ISO-8859-1", true, "-A", 0},
    {"IR 101", CS_8BIT, "ISO-8859-2", true, "-B", 0},
    {"IR 109", CS_8BIT, "ISO-8859-3", true, "-C", 0},
    {"IR 110", CS_8BIT, "ISO-8859-4", true, "-D", 0},
    {"IR 144", CS_8BIT, "ISO-8859-5", true, "-L", 0},
    {"IR 127", CS_8BIT, "ISO-8859-6", true, "-G", 0},
    {"IR 126", CS_8BIT, "ISO-8859-7", true, "-F", 0},
    {"IR 138", CS_8BIT, "ISO-8859-8", true, "-H", 0},
    {"IR 148", CS_8BIT, "ISO-8859-9", true, "-M", 0},
    {"IR 203", CS_8BIT, "ISO-8859-15", true, "-b", 0},
    {"IR 166", CS_8BIT, "TIS-620", true, "-T", 0},
    {"IR 87", CS_DOUBLE, "EUC-JP", false, "$B", 0},
    {"IR 159", CS_DOUBLE, "EUC-JP", false, "$(D", 0x8F},
    {"IR 149", CS_DOUBLE, "EUC-KR", true, "$)C", 0},
    {"IR 58", CS_DOUBLE, "GB2312", true, "$)A", 0},
};

/* "ISO_IR 100", "ISO 2022 IR 100", "" (the default repertoire). */
static const cs_t *find_term(const char *term, size_t n)
{
    while (n > 0 && term[n - 1] == ' ')
        n--;
    while (n > 0 && term[0] == ' ') {
        term++;
        n--;
    }
    if (n == 0)
        return &sets[0];
    size_t skip = n > 4 && strncmp(term, "ISO_", 4) == 0 ? 4
                  : n > 9 && strncmp(term, "ISO 2022 ", 9) == 0 ? 9
                                                                 : 0;
    if (skip == 0)
        return NULL;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (strlen(sets[i].term) == n - skip && strncmp(sets[i].term, term + skip, n - skip) == 0)
            return &sets[i];
    return NULL;
}

typedef struct out {
    char *p;
    size_t len, cap;
    bool full;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->len + n >= o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_cp(out_t *o, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18);
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    put(o, b, n);
}

/* Converts in[0..n) from an iconv encoding, appending UTF-8; false if it does not convert. */
static bool conv(const char *from, const uint8_t *in, size_t n, out_t *o)
{
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1)
        return false;
    char *ip = (char *)in, *op = o->p + o->len;
    size_t il = n, ol = o->cap - o->len - 1;
    size_t r = iconv(cd, &ip, &il, &op, &ol);
    if (r != (size_t)-1)
        r = iconv(cd, NULL, NULL, &op, &ol); /* flush any shift state */
    if (r == (size_t)-1 && errno == E2BIG)
        o->full = true;
    iconv_close(cd);
    if (r == (size_t)-1 || il != 0)
        return false;
    o->len = (size_t)(op - o->p);
    return true;
}

/* The escape sequence at in[i] (after ESC): the set it designates, and its length. */
static const cs_t *escape(const uint8_t *in, size_t n, size_t i, size_t *len)
{
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
        size_t l = strlen(sets[k].escape);
        if (n - i >= l && memcmp(in + i, sets[k].escape, l) == 0) {
            *len = l;
            return &sets[k];
        }
    }
    return NULL;
}

/* One character of a double-byte set at in[i..i+1] (7-bit form in G0, 8-bit in G1). */
static bool double_char(const cs_t *s, const uint8_t *in, size_t n, size_t *i, out_t *o)
{
    if (n - *i < 2)
        return false;
    uint8_t b[3];
    size_t k = 0;
    if (s->prefix)
        b[k++] = s->prefix;
    b[k++] = in[*i] | 0x80;
    b[k++] = in[*i + 1] | 0x80;
    *i += 2;
    return conv(s->iconv, b, k, o);
}

static bool single_char(const cs_t *s, uint8_t c, out_t *o)
{
    if (c < 0x80) {
        if (s->kind == CS_ROMAN && c == 0x5C)
            put_cp(o, 0xA5);
        else if (s->kind == CS_ROMAN && c == 0x7E)
            put_cp(o, 0x203E);
        else
            put(o, (const char *)&c, 1);
        return true;
    }
    if (s->kind == CS_KATAKANA) {
        if (c < 0xA1 || c > 0xDF)
            return false;
        put_cp(o, 0xFF61 + (uint32_t)(c - 0xA1));
        return true;
    }
    if (s->kind == CS_8BIT)
        return conv(s->iconv, &c, 1, o);
    return false;
}

static bool is_delimiter(uint8_t c, bool pn)
{
    return c == '\\' || c == '\r' || c == '\n' || c == '\t' || c == '\f' ||
           (pn && (c == '^' || c == '='));
}

/* ISO 2022: G0 and G1 change with escape sequences and go back to the initial sets at
 * every delimiter (PS3.5 6.1.2.5.3). */
static bool decode_2022(const cs_t *g0_init, const cs_t *g1_init, const uint8_t *in, size_t n,
                        bool pn, out_t *o)
{
    const cs_t *g0 = g0_init, *g1 = g1_init;
    for (size_t i = 0; i < n && !o->full;) {
        uint8_t c = in[i];
        if (c == 0x1B) {
            size_t len;
            const cs_t *s = escape(in, n, i + 1, &len);
            if (s == NULL)
                return false;
            if (s->g1)
                g1 = s;
            else
                g0 = s;
            i += 1 + len;
            continue;
        }
        /* in a two-byte set 0x5C, 0x5E and 0x3D are halves of characters; a sender
         * returns to a single-byte set before a delimiter (PS3.5 6.1.2.5.3) */
        const cs_t *cur = c < 0x80 ? g0 : g1;
        if ((cur == NULL || cur->kind != CS_DOUBLE) && is_delimiter(c, pn)) {
            g0 = g0_init;
            g1 = g1_init;
            put(o, (const char *)&c, 1);
            i++;
            continue;
        }
        const cs_t *s = c < 0x80 ? g0 : g1;
        if (s == NULL)
            return false;
        if (s->kind == CS_DOUBLE) {
            if (!double_char(s, in, n, &i, o))
                return false;
            continue;
        }
        if (!single_char(s, c, o))
            return false;
        i++;
    }
    return true;
}

cp_err_t codec_charset_to_utf8(const char *charset, const void *value, size_t len, bool pn,
                               char *out, size_t cap, cp_errinfo_t *ei)
{
    const uint8_t *in = value;
    out_t o = {.p = out, .cap = cap};
    if (cap == 0)
        return cp_fail(ei, CP_ETOOBIG, 0, "no room for the text");
    out[0] = '\0';
    const char *cs = charset ? charset : "";
    const char *bs = strchr(cs, '\\');
    size_t first_len = bs ? (size_t)(bs - cs) : strlen(cs);
    bool ok;
    if (strncmp(cs, "ISO_IR 192", first_len) == 0 && first_len == 10) {
        ok = conv("UTF-8", in, len, &o);
    } else if ((first_len == 7 && strncmp(cs, "GB18030", 7) == 0) ||
               (first_len == 3 && strncmp(cs, "GBK", 3) == 0)) {
        ok = conv(first_len == 3 ? "GBK" : "GB18030", in, len, &o);
    } else {
        const cs_t *first = find_term(cs, first_len);
        if (first == NULL)
            return cp_fail(ei, CP_EUNSUPPORTED, 0, "specific character set not supported");
        /* the first value is the initial set: ISO-IR 13 is Romaji in G0, Katakana in G1 */
        const cs_t *g0 = first->kind == CS_KATAKANA ? &sets[1] : first->g1 ? &sets[0] : first;
        const cs_t *g1 = first->g1 ? first : NULL;
        ok = decode_2022(g0, g1, in, len, pn, &o);
        for (const char *p = bs; ok && p != NULL; p = strchr(p + 1, '\\')) {
            const char *q = strchr(p + 1, '\\');
            if (find_term(p + 1, q ? (size_t)(q - p - 1) : strlen(p + 1)) == NULL)
                return cp_fail(ei, CP_EUNSUPPORTED, 0, "specific character set not supported");
        }
    }
    if (o.full)
        return cp_fail(ei, CP_ETOOBIG, 0, "decoded text longer than %zu bytes", cap - 1);
    if (!ok)
        return cp_fail(ei, CP_EPARSE, 0, "text is not valid in its specific character set");
    out[o.len] = '\0';
    return CP_OK;
}
