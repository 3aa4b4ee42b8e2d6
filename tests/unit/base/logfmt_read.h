/* tests/unit/base/logfmt_read.h -- a strict logfmt reader for the log tests
 * (test_log.c, tests/fuzz/fuzz_log.c): what an operator's tool does with caseport's lines.
 * Written apart from base/cp_log.c, so the tests do not share the writer's mistakes.
 * Quoted values may hold \" \\ \n \r \t and \xHH (one byte); anything else that is not
 * plain printable text makes the line malformed. */
#ifndef CASEPORT_TEST_LOGFMT_READ_H
#define CASEPORT_TEST_LOGFMT_READ_H
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct lf_field {
    char key[64];
    char val[2048]; /* decoded; may hold NUL bytes, val_len says how many */
    size_t val_len;
    bool quoted;
} lf_field_t;

static int lf_hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The quoted value at s (past its opening quote); returns where it ends (past the closing
 * quote) or NULL when malformed. */
static const char *lf_quoted(const char *s, const char *end, lf_field_t *f)
{
    static const char from[] = "\"\\nrt", to[] = "\"\\\n\r\t";
    while (s < end && *s != '"') {
        unsigned char c = (unsigned char)*s++;
        if (f->val_len >= sizeof f->val || c < ' ' || c == 0x7F)
            return NULL;
        if (c != '\\') {
            f->val[f->val_len++] = (char)c;
            continue;
        }
        if (s == end)
            return NULL;
        const char *e = strchr(from, *s);
        if (*s == 'x') {
            if (end - s < 3 || lf_hex(s[1]) < 0 || lf_hex(s[2]) < 0)
                return NULL;
            f->val[f->val_len++] = (char)(lf_hex(s[1]) * 16 + lf_hex(s[2]));
            s += 3;
        } else if (*s != '\0' && e != NULL) {
            f->val[f->val_len++] = to[e - from];
            s++;
        } else {
            return NULL;
        }
    }
    return s < end ? s + 1 : NULL;
}

static bool lf_plain_byte(unsigned char c)
{
    return c > ' ' && c < 0x7F && c != '"' && c != '\\' && c != '=';
}

/* Splits one line (n bytes, no newline) into at most max fields; the number of fields,
 * or -1 when the line is not well-formed logfmt. */
static int lf_read(const char *line, size_t n, lf_field_t *f, int max)
{
    const char *s = line, *end = line + n;
    int count = 0;
    while (s < end) {
        if (*s == ' ') {
            s++;
            continue;
        }
        if (count == max)
            return -1;
        lf_field_t *cur = &f[count++];
        memset(cur, 0, sizeof *cur);
        size_t k = 0;
        for (; s < end && *s != '=' && *s != ' '; s++) {
            if (!lf_plain_byte((unsigned char)*s) || k + 1 >= sizeof cur->key)
                return -1;
            cur->key[k++] = *s;
        }
        if (k == 0)
            return -1;
        if (s == end || *s == ' ')
            continue; /* a bare word */
        s++;          /* '=' */
        if (s < end && *s == '"') {
            cur->quoted = true;
            s = lf_quoted(s + 1, end, cur);
            if (s == NULL || (s < end && *s != ' '))
                return -1;
            continue;
        }
        for (; s < end && *s != ' '; s++) {
            if (!lf_plain_byte((unsigned char)*s) || cur->val_len >= sizeof cur->val)
                return -1;
            cur->val[cur->val_len++] = *s;
        }
    }
    return count;
}
#endif
