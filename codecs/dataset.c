/* codecs/dataset.c -- in-memory data set iterator and writer (codec_ds.h). */
#include "codec_ds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"
#include "cp_bytes.h"

#define MAX_DEPTH CODEC_MAX_DEPTH
#define UNDEFINED 0xFFFFFFFFu
#define ITEM CODEC_TAG(0xFFFE, 0xE000)
#define ITEM_END CODEC_TAG(0xFFFE, 0xE00D)
#define SEQ_END CODEC_TAG(0xFFFE, 0xE0DD)

/* The standard's data dictionary (dict.c): what Implicit VR identifiers and messages
 * need to be read and written. */
const char *codec_ds_vr(uint32_t tag)
{
    return codec_dict_vr(tag);
}

/* ---- reading ---- */

static uint16_t rd16(const codec_ds_iter_t *it, const uint8_t *p)
{
    return it->enc == CODEC_ENC_EXPLICIT_BE ? (uint16_t)(p[0] << 8 | p[1])
                                            : (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const codec_ds_iter_t *it, const uint8_t *p)
{
    if (it->enc == CODEC_ENC_EXPLICIT_BE)
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void codec_ds_iter_init(codec_ds_iter_t *it, codec_enc_t enc, const void *data, size_t len)
{
    *it = (codec_ds_iter_t){.p = data, .len = len, .enc = enc};
}

static cp_err_t skip_undefined(codec_ds_iter_t *it, uint32_t end_tag, int depth, size_t *end,
                               cp_errinfo_t *ei);

/* Reads a tag + length header (items and delimiters: always 8 bytes, no VR). */
static cp_err_t read_tag(codec_ds_iter_t *it, uint32_t *tag, cp_errinfo_t *ei)
{
    if (it->len - it->off < 8)
        return cp_fail(ei, CP_EPARSE, 0, "truncated element at offset %zu", it->off);
    const uint8_t *h = it->p + it->off;
    *tag = (uint32_t)rd16(it, h) << 16 | rd16(it, h + 2);
    return CP_OK;
}

/* The length of an undefined-length value starting at it->off: scans to end_tag. */
static cp_err_t skip_undefined(codec_ds_iter_t *it, uint32_t end_tag, int depth, size_t *end,
                               cp_errinfo_t *ei)
{
    if (depth > MAX_DEPTH)
        return cp_fail(ei, CP_EPARSE, 0, "sequences nested deeper than %d", MAX_DEPTH);
    codec_ds_iter_t sub = *it;
    sub.depth = depth;
    for (;;) {
        uint32_t tag;
        cp_err_t err = read_tag(&sub, &tag, ei);
        if (err != CP_OK)
            return cp_fail(ei, CP_EPARSE, 0, "undefined length without its delimiter");
        if (tag == end_tag) {
            *end = sub.off;
            return CP_OK;
        }
        if (tag == ITEM) {
            uint32_t n = rd32(&sub, sub.p + sub.off + 4);
            sub.off += 8;
            if (n == UNDEFINED) {
                size_t e;
                /* an item is a level of its sequence: depth counts sequences */
                if ((err = skip_undefined(&sub, ITEM_END, depth, &e, ei)) != CP_OK)
                    return err;
                sub.off = e + 8;
            } else if (n > sub.len - sub.off) {
                return cp_fail(ei, CP_EPARSE, 0, "item overruns its sequence");
            } else {
                sub.off += n;
            }
            continue;
        }
        codec_elem_t e;
        if ((err = codec_ds_next(&sub, &e, ei)) != CP_OK)
            return err == CP_EOF ? cp_fail(ei, CP_EPARSE, 0, "undefined length not closed") : err;
    }
}

cp_err_t codec_ds_next(codec_ds_iter_t *it, codec_elem_t *e, cp_errinfo_t *ei)
{
    if (it->off >= it->len)
        return CP_EOF;
    uint32_t tag;
    cp_err_t err = read_tag(it, &tag, ei);
    if (err != CP_OK)
        return err;
    const uint8_t *h = it->p + it->off;
    size_t hdr = 8;
    uint32_t n;
    const char *vr;
    if (it->enc == CODEC_ENC_IMPLICIT_LE) {
        n = rd32(it, h + 4);
        vr = codec_ds_vr(tag);
        if (vr == NULL)
            vr = n == UNDEFINED ? "SQ" : "UN";
    } else {
        char v[3] = {(char)h[4], (char)h[5], 0};
        if (!codec_vr_known(v))
            return cp_fail(ei, CP_EPARSE, 0, "unknown vr in element at offset %zu", it->off);
        if (codec_vr_long(v)) {
            if (it->len - it->off < 12)
                return cp_fail(ei, CP_EPARSE, 0, "truncated element at offset %zu", it->off);
            n = rd32(it, h + 8);
            hdr = 12;
        } else {
            n = rd16(it, h + 6);
        }
        vr = NULL;
        memcpy(e->vr, v, 3);
        if (n == UNDEFINED && strcmp(v, "SQ") != 0 && strcmp(v, "UN") != 0)
            return cp_fail(ei, CP_EPARSE, 0, "undefined length on a %s element", v);
    }
    if (vr != NULL)
        memcpy(e->vr, vr, 3);
    if (tag == ITEM || tag == ITEM_END || tag == SEQ_END)
        return cp_fail(ei, CP_EPARSE, 0, "item tag outside a sequence at offset %zu", it->off);
    e->tag = tag;
    size_t start = it->off + hdr;
    if (start > it->len)
        return cp_fail(ei, CP_EPARSE, 0, "truncated element at offset %zu", it->off);
    if (n == UNDEFINED) {
        codec_ds_iter_t sub = *it;
        sub.off = start;
        size_t end;
        if ((err = skip_undefined(&sub, SEQ_END, it->depth + 1, &end, ei)) != CP_OK)
            return err;
        memcpy(e->vr, "SQ", 3);
        e->value = it->p + start;
        e->len = (uint32_t)(end - start);
        it->off = end + 8;
        return CP_OK;
    }
    if (n > it->len - start)
        return cp_fail(ei, CP_EPARSE, 0, "element (%04x,%04x) overruns the data set",
                       tag >> 16, tag & 0xFFFF);
    e->value = it->p + start;
    e->len = n;
    it->off = start + n;
    return CP_OK;
}

void codec_ds_seq_init(codec_ds_iter_t *seq, const codec_ds_iter_t *parent,
                       const codec_elem_t *e)
{
    *seq = (codec_ds_iter_t){.p = e->value, .len = e->len, .enc = parent->enc,
                             .depth = parent->depth + 1};
}

cp_err_t codec_ds_item_next(codec_ds_iter_t *seq, codec_ds_iter_t *item, cp_errinfo_t *ei)
{
    if (seq->off >= seq->len)
        return CP_EOF;
    if (seq->depth > MAX_DEPTH)
        return cp_fail(ei, CP_EPARSE, 0, "sequences nested deeper than %d", MAX_DEPTH);
    uint32_t tag;
    cp_err_t err = read_tag(seq, &tag, ei);
    if (err != CP_OK)
        return err;
    if (tag != ITEM)
        return cp_fail(ei, CP_EPARSE, 0, "sequence holds a non-item at offset %zu", seq->off);
    uint32_t n = rd32(seq, seq->p + seq->off + 4);
    size_t start = seq->off + 8, end;
    if (n == UNDEFINED) {
        codec_ds_iter_t sub = *seq;
        sub.off = start;
        if ((err = skip_undefined(&sub, ITEM_END, seq->depth, &end, ei)) != CP_OK)
            return err;
        seq->off = end + 8;
    } else {
        if (n > seq->len - start)
            return cp_fail(ei, CP_EPARSE, 0, "item overruns its sequence");
        end = start + n;
        seq->off = end;
    }
    *item = (codec_ds_iter_t){.p = seq->p + start, .len = end - start, .enc = seq->enc,
                              .depth = seq->depth};
    return CP_OK;
}

bool codec_elem_text(const codec_elem_t *e, char *out, size_t cap)
{
    const uint8_t *v = e->value;
    size_t n = e->len;
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\0'))
        n--;
    while (n > 0 && v[0] == ' ') {
        v++;
        n--;
    }
    bool whole = n < cap;
    if (!whole)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return whole;
}

bool codec_elem_us(const codec_ds_iter_t *it, const codec_elem_t *e, uint16_t *out)
{
    if (e->len != 2)
        return false;
    *out = rd16(it, e->value);
    return true;
}

/* ---- writing ---- */

void codec_ds_buf_init(codec_ds_buf_t *b, codec_enc_t enc)
{
    *b = (codec_ds_buf_t){.enc = enc};
}

void codec_ds_buf_free(codec_ds_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static uint8_t *grow(codec_ds_buf_t *b, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap - b->len < n)
            cap *= 2;
        b->data = cp_xrealloc(b->data, cap);
        b->cap = cap;
    }
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

static void header(codec_ds_buf_t *b, uint32_t tag, const char *vr, uint32_t len)
{
    bool explicit = b->enc != CODEC_ENC_IMPLICIT_LE;
    bool big = explicit && codec_vr_long(vr);
    uint8_t *p = grow(b, explicit && !big ? 8 : big ? 12 : 8);
    cp_put_le16(p, (uint16_t)(tag >> 16));
    cp_put_le16(p + 2, (uint16_t)tag);
    if (!explicit) {
        cp_put_le32(p + 4, len);
    } else if (big) {
        memcpy(p + 4, vr, 2);
        p[6] = p[7] = 0;
        cp_put_le32(p + 8, len);
    } else {
        memcpy(p + 4, vr, 2);
        cp_put_le16(p + 6, (uint16_t)len);
    }
}

void codec_ds_put(codec_ds_buf_t *b, uint32_t tag, const void *value, size_t len)
{
    const char *vr = codec_ds_vr(tag);
    if (vr == NULL)
        vr = "UN";
    /* short-VR values are at most 65534 bytes: the caller's values are far below */
    if (len > 0xFFF0)
        len = 0xFFF0;
    size_t padded = len + (len & 1);
    header(b, tag, vr, (uint32_t)padded);
    uint8_t *p = grow(b, padded);
    if (len > 0)
        memcpy(p, value, len);
    if (len & 1)
        p[len] = codec_vr_text(vr) ? ' ' : 0;
}

void codec_ds_put_text(codec_ds_buf_t *b, uint32_t tag, const char *text)
{
    codec_ds_put(b, tag, text, strlen(text));
}

void codec_ds_put_us(codec_ds_buf_t *b, uint32_t tag, uint16_t v)
{
    uint8_t p[2];
    cp_put_le16(p, v);
    codec_ds_put(b, tag, p, 2);
}

static void delimiter(codec_ds_buf_t *b, uint32_t tag, uint32_t len)
{
    uint8_t *p = grow(b, 8);
    cp_put_le16(p, (uint16_t)(tag >> 16));
    cp_put_le16(p + 2, (uint16_t)tag);
    cp_put_le32(p + 4, len);
}

void codec_ds_seq_begin(codec_ds_buf_t *b, uint32_t tag)
{
    header(b, tag, "SQ", UNDEFINED);
}

void codec_ds_item_begin(codec_ds_buf_t *b)
{
    delimiter(b, ITEM, UNDEFINED);
}

void codec_ds_item_end(codec_ds_buf_t *b)
{
    delimiter(b, ITEM_END, 0);
}

void codec_ds_seq_end(codec_ds_buf_t *b)
{
    delimiter(b, SEQ_END, 0);
}

/* ---- a value by path ---- */

/* One step of a path: "GGGG,EEEE" and, for a sequence, "[i]" (0-based). */
static const char *path_step(const char *p, uint32_t *tag, long *item)
{
    uint32_t v = 0;
    for (int i = 0; i < 9; i++) {
        char c = p[i];
        if (i == 4) {
            if (c != ',')
                return NULL;
            continue;
        }
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return NULL;
        v = v << 4 | (uint32_t)d;
    }
    *tag = v;
    p += 9;
    *item = -1;
    if (*p == '[') {
        char *end;
        *item = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end != ']' || *item < 0)
            return NULL;
        p = end + 1;
    }
    return p;
}

cp_err_t codec_ds_find(codec_enc_t enc, const void *data, size_t len, const char *path,
                       codec_elem_t *out, cp_errinfo_t *ei)
{
    codec_ds_iter_t level, seq, item;
    codec_ds_iter_init(&level, enc, data, len);
    const char *p = path;
    for (;;) {
        uint32_t tag;
        long index;
        const char *next = path_step(p, &tag, &index);
        if (next == NULL || (*next != '\0' && (*next != '.' || index < 0)))
            return cp_fail(ei, CP_EINVAL, 0, "path \"%s\": expected GGGG,EEEE[i].GGGG,EEEE", path);
        cp_err_t err;
        while ((err = codec_ds_next(&level, out, ei)) == CP_OK && out->tag != tag)
            ;
        if (err == CP_EOF)
            return cp_fail(ei, CP_ENOENT, 0, "(%04X,%04X) is not there", tag >> 16, tag & 0xFFFF);
        if (err != CP_OK)
            return err;
        if (*next == '\0')
            return CP_OK;
        if (memcmp(out->vr, "SQ", 2) != 0)
            return cp_fail(ei, CP_EINVAL, 0, "(%04X,%04X) is not a sequence", tag >> 16, tag & 0xFFFF);
        codec_ds_seq_init(&seq, &level, out);
        for (long i = 0; i <= index; i++)
            if ((err = codec_ds_item_next(&seq, &item, ei)) != CP_OK)
                return err == CP_EOF ? cp_fail(ei, CP_ENOENT, 0, "(%04X,%04X) has no item %ld",
                                               tag >> 16, tag & 0xFFFF, index)
                                     : err;
        level = item;
        p = next + 1;
    }
}
