/* codecs/header.c -- the streaming data set header parser (codec_dshdr_*).
 * Bytes arrive in arbitrary pieces; the parser keeps at most one element header (12
 * bytes) and the values it extracts (capped by their fields), and skips everything else
 * by counting. Defined-length sequences and items are skipped whole; undefined-length ones
 * are walked on a stack of frames, because their end is only found by parsing. Parsing
 * stops at top-level Pixel Data: what follows can be gigabytes and is not header. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec_dicom.h"
#include "codec_ds.h"
#include "cp_mem.h"

#define UNDEFINED 0xFFFFFFFFu
#define DEFAULT_DEPTH CODEC_MAX_DEPTH
#define INFLATE_BUF (16 * 1024)

typedef enum { F_SEQ, F_ITEM } frame_kind_t;

#define NO_END UINT64_MAX

typedef struct frame {
    frame_kind_t kind;
    bool implicit;  /* content is Implicit VR LE (an undefined-length UN, PS3.5 6.2.2) */
    bool fragments; /* encapsulated Pixel Data: its items are not data sets */
    uint64_t end;   /* offset where a defined-length sequence or item ends, or NO_END */
} frame_t;

typedef enum { P_HEADER, P_VALUE, P_DONE, P_DEAD } phase_t;

struct codec_dshdr {
    codec_enc_t enc;
    bool big;      /* Explicit VR Big Endian */
    bool implicit; /* Implicit VR LE at top level */
    uint32_t max_depth;
    uint64_t max_header;
    uint64_t offset; /* bytes consumed of the (inflated) data set */

    phase_t phase;
    uint8_t hb[12];
    size_t hlen, hneed;
    uint16_t group, elem;

    uint64_t remaining; /* of the current value */
    char *keep;         /* destination of a wanted value, or NULL to skip */
    size_t keep_cap, keep_len;
    bool keep_is_number, keep_us;
    uint8_t us[2];

    frame_t *stack;
    uint32_t depth;     /* frames on the stack */
    uint32_t seq_depth; /* sequences among them */

    codec_dshdr_fields_t f;
    cp_err_t err;
    char msg[200];

    bool deflated;
    bool z_ready, z_end;
    z_stream z;
    uint8_t *zbuf;
};

typedef struct wanted {
    uint16_t group, elem;
    size_t off, cap;
    bool number;
    bool us; /* a US value into a uint16_t field, in the data set's byte order */
} wanted_t;

#define W(g, e, field, num)                                                                        \
    {g, e, offsetof(codec_dshdr_fields_t, field), sizeof(((codec_dshdr_fields_t *)0)->field), num, \
     false}
#define U(g, e, field) {g, e, offsetof(codec_dshdr_fields_t, field), 2, false, true}
static const wanted_t wanted[] = {
    W(0x0008, 0x0005, charset, false),          W(0x0008, 0x0016, sop_class_uid, false),
    W(0x0008, 0x0018, sop_instance_uid, false), W(0x0008, 0x0020, study_date, false),
    W(0x0008, 0x0030, study_time, false),       W(0x0008, 0x0050, accession, false),
    W(0x0008, 0x0060, modality, false),         W(0x0008, 0x1030, study_desc, false),
    W(0x0008, 0x103E, series_desc, false),      W(0x0010, 0x0010, patient_name, false),
    W(0x0010, 0x0020, patient_id, false),       W(0x0010, 0x0021, issuer, false),
    W(0x0010, 0x0030, birth_date, false),       W(0x0010, 0x0040, sex, false),
    W(0x0020, 0x000D, study_uid, false),        W(0x0020, 0x000E, series_uid, false),
    W(0x0020, 0x0011, series_number, true),     W(0x0020, 0x0013, instance_number, true),
    U(0x0028, 0x0002, samples_per_pixel),       W(0x0028, 0x0004, photometric, false),
    U(0x0028, 0x0006, planar_configuration),    W(0x0028, 0x0008, number_of_frames, true),
    U(0x0028, 0x0010, rows),                    U(0x0028, 0x0011, columns),
    U(0x0028, 0x0100, bits_allocated),          U(0x0028, 0x0101, bits_stored),
    U(0x0028, 0x0103, pixel_representation),
};
#undef W
#undef U

cp_err_t codec_dshdr_new(codec_enc_t enc, const codec_dshdr_limits_t *lim, codec_dshdr_t **out,
                         cp_errinfo_t *ei)
{
    codec_dshdr_t *p = cp_xcalloc(1, sizeof *p);
    p->enc = enc;
    p->big = enc == CODEC_ENC_EXPLICIT_BE;
    p->implicit = enc == CODEC_ENC_IMPLICIT_LE;
    p->deflated = enc == CODEC_ENC_DEFLATED_LE;
    p->max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_DEPTH;
    p->max_header = lim ? lim->max_header_bytes : 0; /* 0: skipped values are free */
    p->stack = cp_xcalloc(2 * (size_t)p->max_depth + 2, sizeof *p->stack);
    p->hneed = 8;
    if (p->deflated) {
        if (inflateInit2(&p->z, -15) != Z_OK) {
            codec_dshdr_free(p);
            return cp_fail(ei, CP_ENOMEM, 0, "cannot initialise inflate");
        }
        p->z_ready = true;
        p->zbuf = cp_xmalloc(INFLATE_BUF);
    }
    *out = p;
    return CP_OK;
}

void codec_dshdr_free(codec_dshdr_t *p)
{
    if (p == NULL)
        return;
    if (p->z_ready)
        inflateEnd(&p->z);
    free(p->zbuf);
    free(p->stack);
    free(p);
}

/* Kills the parser with "what at offset N"; every later call returns the same error. */
__attribute__((format(printf, 3, 4))) static cp_err_t die(codec_dshdr_t *p, uint64_t off,
                                                          const char *fmt, ...)
{
    char what[140];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(p->msg, sizeof p->msg, "%s at offset %llu", what, (unsigned long long)off);
    p->phase = P_DEAD;
    p->err = CP_EPARSE;
    return CP_EPARSE;
}

static bool in_implicit(const codec_dshdr_t *p)
{
    if (p->depth > 0 && p->stack[p->depth - 1].implicit)
        return true;
    return p->implicit;
}

static uint16_t u16(const codec_dshdr_t *p, const uint8_t *b)
{
    bool big = p->big && !in_implicit(p);
    return big ? (uint16_t)(b[0] << 8 | b[1]) : (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t u32(const codec_dshdr_t *p, const uint8_t *b)
{
    bool big = p->big && !in_implicit(p);
    return big ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
               : (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3]
                                                                                    << 24;
}

/* A sequence or item opens; len its defined length, or UNDEFINED. Defined-length ones
 * are read into too, so that their nesting and lengths are checked as undefined-length
 * ones are: what the intake acknowledges, every later parser can read. */
static cp_err_t push(codec_dshdr_t *p, frame_kind_t kind, bool implicit, uint32_t len,
                     uint64_t at)
{
    if (kind == F_SEQ && p->seq_depth >= p->max_depth)
        return die(p, at, "sequences nested deeper than %u", p->max_depth);
    p->stack[p->depth].kind = kind;
    p->stack[p->depth].implicit = implicit || in_implicit(p);
    p->stack[p->depth].fragments = false;
    p->stack[p->depth].end = len == UNDEFINED ? NO_END : p->offset + len;
    p->depth++;
    if (kind == F_SEQ)
        p->seq_depth++;
    return CP_OK;
}

static void pop(codec_dshdr_t *p)
{
    p->depth--;
    if (p->stack[p->depth].kind == F_SEQ)
        p->seq_depth--;
}

/* Whether len bytes from here stay inside every enclosing defined-length sequence and
 * item (each lies inside its parent, checked as it opened: the innermost is enough). */
static cp_err_t fits(codec_dshdr_t *p, uint32_t len, uint64_t at)
{
    const frame_t *top = p->depth ? &p->stack[p->depth - 1] : NULL;
    uint64_t need = p->offset + (len == UNDEFINED ? 0 : len);
    if (top != NULL && top->end != NO_END && need > top->end)
        return die(p, at, "element (%04x,%04x) runs past its sequence or item", p->group,
                   p->elem);
    return CP_OK;
}

/* Closes the defined-length sequences and items that end here (parse calls it at every
 * element boundary, once the offset has moved past what was read). */
static void close_defined(codec_dshdr_t *p)
{
    while (p->depth > 0 && p->stack[p->depth - 1].end == p->offset)
        pop(p);
}

static void start_value(codec_dshdr_t *p, uint32_t len)
{
    p->keep = NULL;
    if (p->depth == 0) {
        for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
            if (wanted[i].group == p->group && wanted[i].elem == p->elem) {
                p->keep = (char *)&p->f + wanted[i].off;
                p->keep_cap = wanted[i].cap;
                p->keep_is_number = wanted[i].number;
                p->keep_us = wanted[i].us;
                break;
            }
        }
    }
    p->keep_len = 0;
    p->remaining = len;
    p->phase = P_VALUE;
}

static void end_value(codec_dshdr_t *p)
{
    if (p->keep != NULL && p->keep_us) {
        uint16_t v = p->keep_len == 2 ? u16(p, p->us) : 0;
        memcpy(p->keep, &v, sizeof v);
        p->keep = NULL;
    } else if (p->keep != NULL) {
        size_t n = p->keep_len;
        while (n > 0 && (p->keep[n - 1] == ' ' || p->keep[n - 1] == '\0'))
            n--;
        size_t start = 0;
        while (p->keep_is_number && start < n && p->keep[start] == ' ')
            start++;
        memmove(p->keep, p->keep + start, n - start);
        p->keep[n - start] = '\0';
        p->keep = NULL;
    }
    p->phase = P_HEADER;
    p->hlen = 0;
    p->hneed = 8;
}

static bool is_pixel_data(const codec_dshdr_t *p)
{
    return p->group == 0x7FE0 && (p->elem == 0x0010 || p->elem == 0x0008 || p->elem == 0x0009);
}

/* An item or delimiter tag (FFFE,E000/E00D/E0DD): always tag + 4-byte length. */
static cp_err_t on_item_tag(codec_dshdr_t *p, uint32_t len, uint64_t at)
{
    frame_t *top = p->depth ? &p->stack[p->depth - 1] : NULL;
    if (p->elem == 0xE000) {
        if (top == NULL || top->kind != F_SEQ)
            return die(p, at, "item tag (fffe,e000) %s",
                       top == NULL ? "at top level" : "directly inside an item");
        if (fits(p, len, at) != CP_OK)
            return p->err;
        if (top->fragments) { /* a fragment of pixel data: bytes, skipped */
            if (len == UNDEFINED)
                return die(p, at, "pixel data fragment of undefined length");
            start_value(p, len);
            return CP_OK;
        }
        return push(p, F_ITEM, false, len, at);
    }
    if (len != 0)
        return die(p, at, "delimiter (fffe,%04x) with length %u", p->elem, len);
    if (p->elem == 0xE00D && top != NULL && top->kind == F_ITEM && top->end == NO_END) {
        pop(p);
        return CP_OK;
    }
    if (p->elem == 0xE0DD && top != NULL && top->kind == F_SEQ && top->end == NO_END) {
        pop(p);
        return CP_OK;
    }
    return die(p, at, "delimiter (fffe,%04x) out of place", p->elem);
}

/* An Implicit VR element the dictionary knows as a sequence. */
static bool dictionary_sq(const codec_dshdr_t *p)
{
    const char *vr = codec_ds_vr(CODEC_TAG(p->group, p->elem));
    return vr != NULL && strcmp(vr, "SQ") == 0;
}

/* The header of an element is complete in hb[0..hlen). */
static cp_err_t on_header(codec_dshdr_t *p)
{
    uint64_t at = p->offset - p->hlen;
    p->group = u16(p, p->hb);
    p->elem = u16(p, p->hb + 2);
    bool implicit = in_implicit(p);
    if (p->group == 0xFFFE) {
        p->hlen = 0;
        p->hneed = 8;
        return on_item_tag(p, u32(p, p->hb + 4), at);
    }
    if (p->depth > 0 && p->stack[p->depth - 1].kind == F_SEQ)
        return die(p, at, "element (%04x,%04x) where an item was expected", p->group, p->elem);
    uint32_t len;
    bool is_un = false, is_sq = implicit;
    if (implicit) {
        len = u32(p, p->hb + 4);
    } else {
        const uint8_t *vr = p->hb + 4;
        if (!codec_vr_known(vr))
            return die(p, at, "unknown vr in element (%04x,%04x)", p->group, p->elem);
        if (codec_vr_long(vr) && p->hneed == 8) {
            p->hneed = 12; /* read the 4-byte length too */
            return CP_OK;
        }
        len = codec_vr_long(vr) ? u32(p, p->hb + 8) : u16(p, p->hb + 6);
        is_un = vr[0] == 'U' && vr[1] == 'N';
        is_sq = vr[0] == 'S' && vr[1] == 'Q';
    }
    p->hlen = 0;
    p->hneed = 8;
    if (p->depth == 0 && is_pixel_data(p)) {
        p->f.has_pixel_data = true;
        p->f.pixel_data_offset = at;
        p->f.pixel_data_length = len;
        p->f.pixel_data_header = (uint8_t)(p->offset - at);
        p->f.pixel_data_ow = !implicit && p->hb[4] == 'O' && p->hb[5] == 'W';
        p->phase = P_DONE;
        return CP_OK;
    }
    if (p->depth == 0 && p->group == 0x7FE0 && p->elem == 0x0001 && len != UNDEFINED) {
        p->f.eot_offset = p->offset; /* read when the frames are (it may be large) */
        p->f.eot_length = len;
    }
    if (fits(p, len, at) != CP_OK)
        return p->err;
    if (len == UNDEFINED) {
        if (!implicit && !is_sq && !is_un && !is_pixel_data(p))
            return die(p, at, "undefined length on non-sequence element (%04x,%04x)", p->group,
                       p->elem);
        bool pixels = is_pixel_data(p);
        cp_err_t err = push(p, F_SEQ, is_un, len, at);
        if (err == CP_OK && pixels)
            p->stack[p->depth - 1].fragments = true;
        return err;
    }
    /* a defined-length sequence is read into, as one of undefined length (is_sq is true
     * for every implicit element: the dictionary says which are sequences there) */
    if (implicit ? dictionary_sq(p) : is_sq) {
        return push(p, F_SEQ, false, len, at);
    }
    if (p->max_header != 0 && p->offset + len > p->max_header)
        return die(p, at, "element (%04x,%04x) runs past the header limit", p->group, p->elem);
    start_value(p, len);
    return CP_OK;
}

static size_t take_value(codec_dshdr_t *p, const uint8_t *d, size_t n)
{
    size_t k = n < p->remaining ? n : (size_t)p->remaining;
    if (p->keep != NULL && p->keep_us) {
        for (size_t i = 0; i < k && p->keep_len < 3; i++, p->keep_len++)
            if (p->keep_len < 2)
                p->us[p->keep_len] = d[i];
    } else if (p->keep != NULL && p->keep_len + 1 < p->keep_cap) {
        size_t room = p->keep_cap - 1 - p->keep_len;
        size_t c = k < room ? k : room;
        memcpy(p->keep + p->keep_len, d, c);
        p->keep_len += c;
    }
    p->remaining -= k;
    if (p->remaining == 0)
        end_value(p);
    return k;
}

static cp_err_t parse(codec_dshdr_t *p, const uint8_t *d, size_t n)
{
    while (n > 0 && p->phase != P_DONE) {
        size_t used;
        if (p->phase == P_DEAD)
            return p->err;
        if (p->phase == P_VALUE) {
            used = take_value(p, d, n);
        } else {
            used = p->hneed - p->hlen < n ? p->hneed - p->hlen : n;
            memcpy(p->hb + p->hlen, d, used);
            p->hlen += used;
        }
        p->offset += used;
        d += used;
        n -= used;
        if (p->phase == P_HEADER && p->hlen == p->hneed) {
            cp_err_t err = on_header(p);
            if (err != CP_OK)
                return err;
            if (p->phase == P_VALUE && p->remaining == 0)
                end_value(p);
        }
        if (p->phase == P_HEADER && p->hlen == 0)
            close_defined(p); /* at an element's end: the sequences and items ending here */
        if (p->max_header != 0 && p->offset > p->max_header && p->phase != P_DONE)
            return die(p, p->offset, "header longer than %llu bytes",
                       (unsigned long long)p->max_header);
    }
    return CP_OK;
}

/* Inflates into the fixed buffer and parses each buffer full. The loop runs while
 * inflate fills the buffer, not while input remains: with all input consumed, zlib can
 * still hold output (the rest of a match) that only a further call hands out. What was
 * inflated before an error is parsed first, so data past Pixel Data never matters. */
static cp_err_t inflate_some(codec_dshdr_t *p, const uint8_t *d, uInt n)
{
    p->z.next_in = (Bytef *)(uintptr_t)d;
    p->z.avail_in = n;
    while (p->phase != P_DONE && !p->z_end) {
        p->z.next_out = p->zbuf;
        p->z.avail_out = INFLATE_BUF;
        int rc = inflate(&p->z, Z_NO_FLUSH);
        size_t got = INFLATE_BUF - p->z.avail_out;
        cp_err_t err = parse(p, p->zbuf, got);
        if (err != CP_OK || p->phase == P_DONE)
            return err;
        if (rc == Z_STREAM_END)
            p->z_end = true;
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            return die(p, p->offset, "corrupt deflate stream");
        else if (got < INFLATE_BUF && p->z.avail_in == 0)
            break; /* drained: needs more input */
    }
    return CP_OK;
}

static cp_err_t inflate_feed(codec_dshdr_t *p, const uint8_t *d, size_t n)
{
    while (n > 0 && p->phase != P_DONE && !p->z_end) {
        uInt k = n > UINT_MAX ? UINT_MAX : (uInt)n; /* avail_in is 32 bits */
        cp_err_t err = inflate_some(p, d, k);
        if (err != CP_OK)
            return err;
        d += k;
        n -= k;
    }
    return CP_OK;
}

cp_err_t codec_dshdr_feed(codec_dshdr_t *p, const void *data, size_t len, cp_errinfo_t *ei)
{
    if (p->phase == P_DEAD)
        return cp_fail(ei, p->err, 0, "%s", p->msg);
    if (p->phase == P_DONE || len == 0)
        return CP_OK;
    cp_err_t err = p->deflated ? inflate_feed(p, data, len) : parse(p, data, len);
    if (err != CP_OK)
        return cp_fail(ei, err, 0, "%s", p->msg);
    return CP_OK;
}

cp_err_t codec_dshdr_finish(codec_dshdr_t *p, codec_dshdr_fields_t *out, cp_errinfo_t *ei)
{
    if (p->phase == P_DEAD)
        return cp_fail(ei, p->err, 0, "%s", p->msg);
    if (p->phase != P_DONE) {
        if (p->offset == 0)
            return cp_fail(ei, CP_EPARSE, 0, "empty data set");
        if (p->phase == P_VALUE)
            return cp_fail(ei, CP_EPARSE, 0, "data set ends inside element (%04x,%04x)",
                           p->group, p->elem);
        if (p->hlen != 0)
            return cp_fail(ei, CP_EPARSE, 0, "data set ends inside an element header");
        if (p->depth != 0)
            return cp_fail(ei, CP_EPARSE, 0, "data set ends inside a sequence");
        if (p->deflated && !p->z_end)
            return cp_fail(ei, CP_EPARSE, 0, "deflate stream truncated");
    }
    *out = p->f;
    return CP_OK;
}
