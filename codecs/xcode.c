/* codecs/xcode.c -- a data set re-encoded as Explicit VR Little Endian (codec_xcode.h).
 * A recursive descent over a pull reader: level() walks the elements of a data set or an
 * item, element() dispatches on what the element is (sequence, fragments, value), and
 * every sequence and item is written with undefined length, so nothing needs to be known
 * before it is written. */
#include "codec_xcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec_charset.h"
#include "cp_mem.h"
#include "cp_utf8.h"
#include "cp_bytes.h"

#define UNDEF 0xFFFFFFFFu
#define NO_END UINT64_MAX
#define CHUNK (64 * 1024)
#define MAX_WHOLE (16u * 1024 * 1024) /* values read whole: every text, and others up to */
#define MAX_SMALL (1024u * 1024)      /* ... this size; larger binary values stream */
#define MAX_DEPTH CODEC_MAX_DEPTH
#define TAG(g, e) ((uint32_t)(g) << 16 | (uint32_t)(e))
#define T_ITEM TAG(0xFFFE, 0xE000)
#define T_ITEM_END TAG(0xFFFE, 0xE00D)
#define T_SEQ_END TAG(0xFFFE, 0xE0DD)
#define T_PIXEL_DATA TAG(0x7FE0, 0x0010)

typedef struct src {
    codec_read_fn rd;
    void *ud;
    bool deflated, z_ready, raw_eof;
    z_stream z;
    uint8_t *raw; /* deflated input */
    uint8_t *buf;
    size_t pos, len;
    bool eof;
    uint64_t off; /* bytes of the (inflated) data set consumed */
} src_t;

typedef struct xc {
    const codec_xcode_opts_t *o;
    src_t in;
    bool big;
    codec_write_fn wr;
    void *wud;
    codec_xcode_report_t *rep;
    int next_edit;
    int mute; /* > 0: what is read is not written (an element an edit replaces) */
    uint16_t bits_allocated; /* top-level (0028,0100): the word size of big endian pixels */
    char charset[128];       /* in effect: the option's, or an item's own (0008,0005) */
    bool in_sq;              /* the top-level element being read is a sequence */
    const codec_edit_t *append; /* items to add to the top-level sequence being read */
    uint8_t *out;
    size_t olen;
} xc_t;

typedef struct el {
    uint32_t tag;
    char vr[3];
    uint32_t len;
} el_t;

/* ---- input ---- */

static cp_err_t inflate_more(src_t *s, cp_errinfo_t *ei)
{
    s->z.next_out = s->buf;
    s->z.avail_out = CHUNK;
    while (s->z.avail_out == CHUNK) {
        if (s->z.avail_in == 0 && !s->raw_eof) {
            size_t n;
            cp_err_t err = s->rd(s->ud, s->raw, CHUNK, &n, ei);
            if (err != CP_OK)
                return err;
            s->raw_eof = n == 0;
            s->z.next_in = s->raw;
            s->z.avail_in = (uInt)n;
        }
        int rc = inflate(&s->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            s->eof = true;
            break;
        }
        if (rc == Z_BUF_ERROR && s->raw_eof) /* a deflate stream ends with its last block */
            return cp_fail(ei, CP_EPARSE, 0, "the deflated data set is truncated");
        if (rc != Z_OK)
            return cp_fail(ei, CP_EPARSE, 0, "the deflated data set is corrupt");
    }
    s->pos = 0;
    s->len = CHUNK - s->z.avail_out;
    return CP_OK;
}

static cp_err_t fill(src_t *s, cp_errinfo_t *ei)
{
    if (s->pos < s->len || s->eof)
        return CP_OK;
    if (s->deflated)
        return inflate_more(s, ei);
    size_t n;
    cp_err_t err = s->rd(s->ud, s->buf, CHUNK, &n, ei);
    if (err != CP_OK)
        return err;
    s->pos = 0;
    s->len = n;
    s->eof = n == 0;
    return CP_OK;
}

/* Whether the input is at its end (checked between top-level elements only). */
static cp_err_t at_end(src_t *s, bool *end, cp_errinfo_t *ei)
{
    cp_err_t err = fill(s, ei);
    *end = s->pos == s->len && s->eof;
    return err;
}

/* Up to want bytes, at least one: *got = 0 only at the end. */
static cp_err_t take_some(src_t *s, void *out, size_t want, size_t *got, cp_errinfo_t *ei)
{
    *got = 0;
    while (s->pos == s->len && !s->eof) {
        cp_err_t err = fill(s, ei);
        if (err != CP_OK)
            return err;
    }
    size_t n = s->len - s->pos < want ? s->len - s->pos : want;
    memcpy(out, s->buf + s->pos, n);
    s->pos += n;
    s->off += n;
    *got = n;
    return CP_OK;
}

static cp_err_t take(src_t *s, void *out, size_t n, cp_errinfo_t *ei)
{
    uint8_t *o = out;
    while (n > 0) {
        size_t got;
        cp_err_t err = take_some(s, o, n, &got, ei);
        if (err != CP_OK)
            return err;
        if (got == 0)
            return cp_fail(ei, CP_EPARSE, 0, "the data set ends inside an element");
        o += got;
        n -= got;
    }
    return CP_OK;
}

/* ---- output ---- */

static cp_err_t flush(xc_t *x, cp_errinfo_t *ei)
{
    cp_err_t err = x->olen > 0 ? x->wr(x->wud, x->out, x->olen, ei) : CP_OK;
    x->olen = 0;
    return err;
}

static cp_err_t put(xc_t *x, const void *data, size_t n, cp_errinfo_t *ei)
{
    if (x->mute > 0 || x->wr == NULL)
        return CP_OK;
    const uint8_t *p = data;
    while (n > 0) {
        if (x->olen == CHUNK) {
            cp_err_t err = flush(x, ei);
            if (err != CP_OK)
                return err;
        }
        size_t k = CHUNK - x->olen < n ? CHUNK - x->olen : n;
        memcpy(x->out + x->olen, p, k);
        x->olen += k;
        p += k;
        n -= k;
    }
    return CP_OK;
}

size_t codec_elem_header(uint8_t h[12], uint32_t tag, const char *vr, uint32_t len)
{
    cp_put_le16(h, tag >> 16);
    cp_put_le16(h + 2, tag & 0xFFFF);
    if (tag >> 16 == 0xFFFE) {
        cp_put_le32(h + 4, len);
        return 8;
    }
    if (!codec_vr_long(vr) && len > 0xFFFF)
        vr = "UN";
    memcpy(h + 4, vr, 2);
    if (codec_vr_long(vr)) {
        cp_put_le16(h + 6, 0);
        cp_put_le32(h + 8, len);
        return 12;
    }
    cp_put_le16(h + 6, len);
    return 8;
}

static cp_err_t put_header(xc_t *x, uint32_t tag, const char *vr, uint32_t len, cp_errinfo_t *ei)
{
    uint8_t h[12];
    return put(x, h, codec_elem_header(h, tag, vr, len), ei);
}

/* ---- element headers ---- */

static uint32_t rd16(const xc_t *x, bool implicit, const uint8_t *p)
{
    return x->big && !implicit ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0];
}

static uint32_t rd32(const xc_t *x, bool implicit, const uint8_t *p)
{
    if (x->big && !implicit)
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static cp_err_t read_el(xc_t *x, bool implicit, el_t *e, cp_errinfo_t *ei)
{
    uint8_t h[8];
    cp_err_t err = take(&x->in, h, 4, ei);
    if (err != CP_OK)
        return err;
    e->tag = rd16(x, implicit, h) << 16 | rd16(x, implicit, h + 2);
    e->vr[0] = e->vr[1] = e->vr[2] = '\0';
    if (e->tag >> 16 == 0xFFFE || implicit) {
        if ((err = take(&x->in, h, 4, ei)) != CP_OK)
            return err;
        e->len = rd32(x, implicit, h);
        if (e->tag >> 16 != 0xFFFE) {
            const char *vr = codec_dict_vr(e->tag);
            memcpy(e->vr, vr != NULL ? vr : e->len == UNDEF ? "SQ" : "UN", 2);
        }
        return CP_OK;
    }
    if ((err = take(&x->in, h, 4, ei)) != CP_OK)
        return err;
    memcpy(e->vr, h, 2);
    if (!codec_vr_known(e->vr))
        return cp_fail(ei, CP_EPARSE, 0, "unknown VR in (%04X,%04X)", e->tag >> 16,
                       e->tag & 0xFFFF);
    if (!codec_vr_long(e->vr)) {
        e->len = rd16(x, false, h + 2);
        return CP_OK;
    }
    if ((err = take(&x->in, h, 4, ei)) != CP_OK)
        return err;
    e->len = rd32(x, false, h);
    return CP_OK;
}

/* ---- values ---- */

static size_t swap_size(const char *vr)
{
    static const struct {
        const char *vr;
        size_t n;
    } t[] = {{"US", 2}, {"SS", 2}, {"AT", 2}, {"OW", 2}, {"UL", 4}, {"SL", 4}, {"FL", 4},
             {"OL", 4}, {"OF", 4}, {"FD", 8}, {"SV", 8}, {"UV", 8}, {"OD", 8}, {"OV", 8}};
    for (size_t i = 0; i < CP_ARRAY_LEN(t); i++)
        if (memcmp(t[i].vr, vr, 2) == 0)
            return t[i].n;
    return 1;
}

/* Pixel data words are Bits Allocated wide: 32-bit pixels in OW swap as 4 bytes. */
static size_t word_of(const xc_t *x, const el_t *e)
{
    if (e->tag == T_PIXEL_DATA && memcmp(e->vr, "OW", 2) == 0 && x->bits_allocated > 16)
        return x->bits_allocated / 8;
    return swap_size(e->vr);
}

static void swap(uint8_t *p, size_t len, size_t word)
{
    for (size_t i = 0; word > 1 && i + word <= len; i += word)
        for (size_t k = 0; k < word / 2; k++) {
            uint8_t t = p[i + k];
            p[i + k] = p[i + word - 1 - k];
            p[i + word - 1 - k] = t;
        }
}

static bool charset_vr(const char *vr)
{
    static const char *const t[] = {"SH", "LO", "UC", "ST", "LT", "UT", "PN"};
    for (size_t i = 0; i < CP_ARRAY_LEN(t); i++)
        if (memcmp(t[i], vr, 2) == 0)
            return true;
    return false;
}

/* Text governed by the character set, decoded to UTF-8 in place of *v (reallocated). */
static cp_err_t decode_text(xc_t *x, const el_t *e, uint8_t **v, size_t *len, cp_errinfo_t *ei)
{
    bool plain = true;
    for (size_t i = 0; i < *len && plain; i++)
        plain = (*v)[i] < 0x80 && (*v)[i] != 0x1B;
    if (plain)
        return CP_OK;
    x->rep->non_ascii++;
    const char *cs = x->charset;
    if (cs[0] == '\0') {
        if (x->rep->guessed++ == 0)
            x->rep->guessed_tag = e->tag;
        cs = cp_utf8_valid(*v, *len) ? "ISO_IR 192" : "ISO_IR 100";
    }
    if (strcmp(cs, "ISO_IR 192") == 0)
        return cp_utf8_valid(*v, *len) ? CP_OK
                                    : cp_fail(ei, CP_EUNSUPPORTED, 0,
                                              "(%04X,%04X) is not valid UTF-8", e->tag >> 16,
                                              e->tag & 0xFFFF);
    size_t cap = *len * 4 + 16;
    char *out = cp_xmalloc(cap);
    cp_errinfo_t why = {0};
    cp_err_t err = codec_charset_to_utf8(cs, *v, *len, memcmp(e->vr, "PN", 2) == 0, out, cap,
                                         &why);
    if (err != CP_OK) {
        free(out);
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "(%04X,%04X) does not decode: %s",
                       e->tag >> 16, e->tag & 0xFFFF, cp_errinfo_msg(&why, err));
    }
    free(*v);
    *v = (uint8_t *)out;
    *len = strlen(out);
    return CP_OK;
}

/* Padding repairs and even length: UI pads with NUL, other text with a space. */
static void repair(xc_t *x, const el_t *e, uint8_t *v, size_t *len)
{
    bool ui = memcmp(e->vr, "UI", 2) == 0, text = codec_vr_text(e->vr);
    bool fixed = false;
    for (size_t i = *len; i > 0 && (ui || text); i--) {
        uint8_t *c = &v[i - 1];
        if (ui && *c == ' ')
            *c = '\0', fixed = true;
        else if (text && *c == '\0')
            *c = ' ', fixed = true;
        else
            break;
    }
    if (fixed && x->rep->padding++ == 0)
        x->rep->padding_tag = e->tag;
    if (*len % 2 != 0) {
        v[(*len)++] = ui ? '\0' : text ? ' ' : '\0';
        if (x->rep->odd_lengths++ == 0)
            x->rep->odd_tag = e->tag;
    }
}

/* implicit: inside an undefined-length UN, whose content is Implicit VR LE whatever the
 * data set's byte order; top: a top-level element (Bits Allocated of the Pixel Data). */
static cp_err_t value_whole(xc_t *x, const el_t *e, bool implicit, bool top, cp_errinfo_t *ei)
{
    size_t len = e->len;
    uint8_t *v = cp_xmalloc(len + 2);
    cp_err_t err = take(&x->in, v, len, ei);
    if (err == CP_OK && x->big && !implicit)
        swap(v, len, word_of(x, e));
    if (err == CP_OK && top && e->tag == TAG(0x0028, 0x0100) && len == 2)
        x->bits_allocated = cp_get_le16(v);
    /* a value an edit replaces is not decoded: it need not be decodable */
    if (err == CP_OK && x->o->charset != NULL && charset_vr(e->vr) && x->mute == 0) {
        err = decode_text(x, e, &v, &len, ei);
        if (err == CP_OK && len % 2 != 0) { /* the decoded text is padded, not repaired */
            v = cp_xrealloc(v, len + 2);
            v[len++] = ' ';
        }
    }
    if (err == CP_OK) {
        v = cp_xrealloc(v, len + 2);
        repair(x, e, v, &len);
        err = put_header(x, e->tag, e->vr, (uint32_t)len, ei);
    }
    if (err == CP_OK)
        err = put(x, v, len, ei);
    free(v);
    return err;
}

/* A large binary value in pieces (a multiple of 8 bytes, so no word is split). */
static cp_err_t value_stream(xc_t *x, const el_t *e, bool implicit, cp_errinfo_t *ei)
{
    bool odd = e->len % 2 != 0;
    cp_err_t err = put_header(x, e->tag, e->vr, e->len + odd, ei);
    uint8_t *buf = cp_xmalloc(CHUNK);
    size_t word = word_of(x, e);
    for (uint32_t left = e->len; err == CP_OK && left > 0;) {
        size_t n = left < CHUNK ? left : CHUNK;
        if ((err = take(&x->in, buf, n, ei)) != CP_OK)
            break;
        if (x->big && !implicit)
            swap(buf, n, word);
        err = put(x, buf, n, ei);
        left -= (uint32_t)n;
    }
    free(buf);
    if (err == CP_OK && odd) {
        err = put(x, "", 1, ei);
        if (x->rep->odd_lengths++ == 0)
            x->rep->odd_tag = e->tag;
    }
    return err;
}

/* Encapsulated pixel data: the offset table and fragments as they are (PS3.5 A.4). */
static cp_err_t fragments(xc_t *x, const el_t *e, cp_errinfo_t *ei)
{
    cp_err_t err = put_header(x, e->tag, "OB", UNDEF, ei);
    if (e->tag == T_PIXEL_DATA)
        x->rep->encapsulated = true;
    uint8_t *buf = cp_xmalloc(CHUNK);
    while (err == CP_OK) {
        el_t f;
        if ((err = read_el(x, false, &f, ei)) != CP_OK)
            break;
        if (f.tag == T_SEQ_END) {
            err = put_header(x, T_SEQ_END, NULL, 0, ei);
            break;
        }
        if (f.tag != T_ITEM || f.len == UNDEF) {
            err = cp_fail(ei, CP_EPARSE, 0, "a fragment of (%04X,%04X) is malformed",
                          e->tag >> 16, e->tag & 0xFFFF);
            break;
        }
        err = put_header(x, T_ITEM, NULL, f.len, ei);
        for (uint32_t left = f.len; err == CP_OK && left > 0;) {
            size_t n = left < CHUNK ? left : CHUNK;
            if ((err = take(&x->in, buf, n, ei)) == CP_OK)
                err = put(x, buf, n, ei);
            left -= (uint32_t)n;
        }
    }
    free(buf);
    return err;
}

static cp_err_t level(xc_t *x, bool implicit, uint64_t end, bool top, int depth,
                      cp_errinfo_t *ei);

static cp_err_t sequence(xc_t *x, bool implicit, const el_t *e, int depth, cp_errinfo_t *ei)
{
    if (depth >= MAX_DEPTH)
        return cp_fail(ei, CP_ETOOBIG, 0, "sequences nested over %d levels", MAX_DEPTH);
    uint64_t end = e->len == UNDEF ? NO_END : x->in.off + e->len;
    cp_err_t err = put_header(x, e->tag, "SQ", UNDEF, ei);
    while (err == CP_OK && (end == NO_END || x->in.off < end)) {
        el_t it;
        if ((err = read_el(x, implicit, &it, ei)) != CP_OK)
            return err;
        if (it.tag == T_SEQ_END && end == NO_END)
            break;
        if (it.tag != T_ITEM)
            return cp_fail(ei, CP_EPARSE, 0, "(%04X,%04X) holds something other than items",
                           e->tag >> 16, e->tag & 0xFFFF);
        if ((err = put_header(x, T_ITEM, NULL, UNDEF, ei)) != CP_OK)
            return err;
        uint64_t item_end = it.len == UNDEF ? NO_END : x->in.off + it.len;
        if ((err = level(x, implicit, item_end, false, depth + 1, ei)) != CP_OK)
            return err;
        err = put_header(x, T_ITEM_END, NULL, 0, ei);
    }
    if (err == CP_OK && end != NO_END && x->in.off != end)
        return cp_fail(ei, CP_EPARSE, 0, "an item overruns sequence (%04X,%04X)",
                       e->tag >> 16, e->tag & 0xFFFF);
    if (err == CP_OK && depth == 0 && x->append != NULL && x->append->tag == e->tag) {
        err = put(x, x->append->value, x->append->len, ei);
        x->append = NULL;
    }
    return err == CP_OK ? put_header(x, T_SEQ_END, NULL, 0, ei) : err;
}

static cp_err_t element(xc_t *x, bool implicit, const el_t *e, int depth, cp_errinfo_t *ei)
{
    bool un_seq = memcmp(e->vr, "UN", 2) == 0 && e->len == UNDEF;
    if (memcmp(e->vr, "SQ", 2) == 0 || un_seq)
        return sequence(x, implicit || un_seq, e, depth, ei);
    if (e->len == UNDEF) {
        if (memcmp(e->vr, "OB", 2) != 0 && memcmp(e->vr, "OW", 2) != 0)
            return cp_fail(ei, CP_EPARSE, 0, "(%04X,%04X) has undefined length",
                           e->tag >> 16, e->tag & 0xFFFF);
        return fragments(x, e, ei);
    }
    bool whole = codec_vr_text(e->vr) || memcmp(e->vr, "UI", 2) == 0 ? e->len <= MAX_WHOLE
                                                                      : e->len <= MAX_SMALL;
    if (!whole && (codec_vr_text(e->vr) || memcmp(e->vr, "UI", 2) == 0))
        return cp_fail(ei, CP_ETOOBIG, 0, "text value (%04X,%04X) over 16 MiB", e->tag >> 16,
                       e->tag & 0xFFFF);
    return whole ? value_whole(x, e, implicit, depth == 0, ei) : value_stream(x, e, implicit, ei);
}

/* ---- levels and edits ---- */

static cp_err_t put_edit(xc_t *x, const codec_edit_t *d, cp_errinfo_t *ei)
{
    if (d->value == NULL)
        return CP_OK;
    bool sq = memcmp(d->vr, "SQ", 2) == 0, odd = !sq && d->len % 2 != 0;
    cp_err_t err = put_header(x, d->tag, d->vr, sq ? UNDEF : (uint32_t)(d->len + odd), ei);
    if (err == CP_OK)
        err = put(x, d->value, d->len, ei);
    if (err == CP_OK && odd) /* text pads with a space, UI with NUL (PS3.5 6.2) */
        err = put(x, memcmp(d->vr, "UI", 2) == 0 ? "" : " ", 1, ei);
    if (err == CP_OK && sq)
        err = put_header(x, T_SEQ_END, NULL, 0, ei);
    return err;
}

/* Writes the edits for tags below tag; true in *replaced if one is for tag itself (an
 * appending edit for a sequence there is kept for sequence() instead). */
static cp_err_t edits_before(xc_t *x, uint32_t tag, bool *replaced, cp_errinfo_t *ei)
{
    *replaced = false;
    while (x->next_edit < x->o->n_edits) {
        const codec_edit_t *d = &x->o->edits[x->next_edit];
        if (d->tag > tag)
            break;
        x->next_edit++;
        if (d->tag == tag && d->append && x->in_sq) {
            x->append = d; /* sequence() adds its items after the element's own */
            continue;
        }
        cp_err_t err = put_edit(x, d, ei);
        if (err != CP_OK)
            return err;
        if (d->tag == tag)
            *replaced = true;
    }
    return CP_OK;
}

/* Group lengths (all but the file meta's, which is not here) and Length to End are
 * dropped: they would be wrong once anything changes and are retired. */
static bool dropped(xc_t *x, uint32_t tag)
{
    if ((tag & 0xFFFF) == 0 || tag == TAG(0x0008, 0x0001)) {
        x->rep->group_lengths++;
        return true;
    }
    return false;
}

/* An item's own Specific Character Set (PS3.5 6.1.2.5.4) governs the rest of the item;
 * decoded, the item says ISO_IR 192 like the data set. */
static cp_err_t item_charset(xc_t *x, const el_t *e, cp_errinfo_t *ei)
{
    if (e->len > sizeof x->charset - 1)
        return cp_fail(ei, CP_EPARSE, 0, "Specific Character Set in an item is too long");
    char v[sizeof x->charset];
    cp_err_t err = take(&x->in, v, e->len, ei);
    if (err != CP_OK)
        return err;
    size_t n = e->len;
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\0'))
        n--;
    v[n] = '\0';
    memcpy(x->charset, v, n + 1);
    if ((err = put_header(x, e->tag, "CS", 10, ei)) != CP_OK)
        return err;
    return put(x, "ISO_IR 192", 10, ei);
}

static cp_err_t level_elements(xc_t *x, bool implicit, uint64_t end, bool top, int depth,
                               cp_errinfo_t *ei)
{
    cp_err_t err = CP_OK;
    for (;;) {
        if (end != NO_END && x->in.off >= end)
            break;
        if (top) {
            bool done;
            if ((err = at_end(&x->in, &done, ei)) != CP_OK || done)
                break;
        }
        el_t e;
        if ((err = read_el(x, implicit, &e, ei)) != CP_OK)
            return err;
        if (e.tag == T_ITEM_END && end == NO_END && !top)
            return CP_OK;
        if (e.tag >> 16 == 0xFFFE)
            return cp_fail(ei, CP_EPARSE, 0, "item tag (FFFE,%04X) out of place", e.tag & 0xFFFF);
        bool replaced = false;
        x->in_sq = memcmp(e.vr, "SQ", 2) == 0 || (memcmp(e.vr, "UN", 2) == 0 && e.len == UNDEF);
        if (top && (err = edits_before(x, e.tag, &replaced, ei)) != CP_OK)
            return err;
        if (top && e.tag == T_PIXEL_DATA) {
            x->rep->pixel_data = true;
            if (x->o->header_only)
                return CP_OK;
        }
        bool mute = replaced || dropped(x, e.tag) ||
                    (top && x->o->drop_offset_tables &&
                     (e.tag == TAG(0x7FE0, 0x0001) || e.tag == TAG(0x7FE0, 0x0002)));
        x->mute += mute;
        if (!top && e.tag == TAG(0x0008, 0x0005) && x->o->charset != NULL && e.len != UNDEF)
            err = item_charset(x, &e, ei);
        else
            err = element(x, implicit, &e, depth, ei);
        x->mute -= mute;
        if (err != CP_OK)
            return err;
    }
    if (err == CP_OK && end != NO_END && x->in.off != end)
        return cp_fail(ei, CP_EPARSE, 0, "an element overruns its item");
    if (err == CP_OK && top)
        err = edits_before(x, UINT32_MAX, &(bool){false}, ei);
    return err;
}

/* A data set or an item; an item's character set ends with it. */
static cp_err_t level(xc_t *x, bool implicit, uint64_t end, bool top, int depth,
                      cp_errinfo_t *ei)
{
    char outer[sizeof x->charset];
    memcpy(outer, x->charset, sizeof outer);
    cp_err_t err = level_elements(x, implicit, end, top, depth, ei);
    memcpy(x->charset, outer, sizeof outer);
    return err;
}

cp_err_t codec_xcode(const codec_xcode_opts_t *o, codec_read_fn rd, void *rud, codec_write_fn wr,
                     void *wud, codec_xcode_report_t *rep, cp_errinfo_t *ei)
{
    memset(rep, 0, sizeof *rep);
    xc_t x = {.o = o, .big = o->in == CODEC_ENC_EXPLICIT_BE, .wr = wr, .wud = wud, .rep = rep};
    if (o->charset != NULL)
        snprintf(x.charset, sizeof x.charset, "%s", o->charset);
    x.in.rd = rd;
    x.in.ud = rud;
    x.in.buf = cp_xmalloc(CHUNK);
    x.out = cp_xmalloc(CHUNK);
    cp_err_t err = CP_OK;
    if (o->in == CODEC_ENC_DEFLATED_LE) {
        x.in.deflated = true;
        x.in.raw = cp_xmalloc(CHUNK);
        if (inflateInit2(&x.in.z, -MAX_WBITS) != Z_OK)
            err = cp_fail(ei, CP_ENOMEM, 0, "cannot start inflating");
        x.in.z_ready = err == CP_OK;
    }
    if (err == CP_OK)
        err = level(&x, o->in == CODEC_ENC_IMPLICIT_LE, NO_END, true, 0, ei);
    if (err == CP_OK)
        err = flush(&x, ei);
    if (x.in.z_ready)
        inflateEnd(&x.in.z);
    free(x.in.raw);
    free(x.in.buf);
    free(x.out);
    return err;
}
