/* codecs/pixels.c -- compressed frames: which decoder, and how encapsulated pixel data
 * splits into frames (codec_pixels.h). */
#include "codec_pixels.h"

#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"
#include "cp_bytes.h"

#define MAX_FRAME_BYTES CODEC_MAX_FRAME_BYTES

static bool is_j2k(const char *ts)
{
    return strcmp(ts, "1.2.840.10008.1.2.4.90") == 0 || strcmp(ts, "1.2.840.10008.1.2.4.91") == 0;
}

static bool is_dcmtk(const char *ts)
{
    static const char *const t[] = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
                                    "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
                                    "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
                                    "1.2.840.10008.1.2.5"};
    for (size_t i = 0; i < CP_ARRAY_LEN(t); i++)
        if (strcmp(ts, t[i]) == 0)
            return true;
    return false;
}

bool codec_pixels_decodable(const char *ts_uid)
{
    return is_j2k(ts_uid) || is_dcmtk(ts_uid);
}

size_t codec_frame_size(const codec_image_t *img)
{
    if (img->rows == 0 || img->columns == 0 || img->samples == 0 || img->samples > 4 ||
        (img->bits_allocated != 8 && img->bits_allocated != 16 && img->bits_allocated != 32))
        return 0;
    size_t n = (size_t)img->rows * img->columns * img->samples * (img->bits_allocated / 8);
    return n <= MAX_FRAME_BYTES ? n : 0;
}

static bool is_jpeg(const char *ts)
{
    return strcmp(ts, "1.2.840.10008.1.2.4.50") == 0 || strcmp(ts, "1.2.840.10008.1.2.4.51") == 0 ||
           strcmp(ts, "1.2.840.10008.1.2.4.57") == 0 || strcmp(ts, "1.2.840.10008.1.2.4.70") == 0;
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* DCMTK 3.6.7 finds a JPEG stream's bit depth by walking its markers
 * (DJCodecDecoder::scanJpegDataForBitDepth), and a TEM marker (FF01) met before the frame
 * header makes that walk stand still for ever: found by tests/fuzz/fuzz_decode.c. This
 * walks the same way, with the same steps, and tells whether it would get there. */
static bool jpeg_stalls_dcmtk(const uint8_t *d, size_t n)
{
    size_t off = 0;
    while (off + 4 < n) {
        unsigned m = be16(d + off);
        if (m == 0xFF01)
            return true;
        bool sof = m >= 0xFFC0 && m <= 0xFFCF && m != 0xFFC4 && m != 0xFFC8 && m != 0xFFCC;
        if (sof)
            return false;
        if (m == 0xFFFF)
            off += 1; /* a fill byte */
        else if ((m >= 0xFFD0 && m <= 0xFFD9) || (m >= 0xFF03 && m <= 0xFFBF))
            off += 2; /* RSTn, SOI, EOI; reserved markers */
        else if (m == 0xFFC4 || m == 0xFFC8 || m == 0xFFCC || (m >= 0xFFDA && m <= 0xFFFE))
            off += be16(d + off + 2) + 2; /* a segment with its length */
        else
            return false; /* DCMTK stops: not a marker */
    }
    return false;
}

cp_err_t codec_decode_frame(const char *ts_uid, const codec_image_t *img, const uint8_t *data,
                            size_t len, uint8_t *out, char photometric[17], cp_errinfo_t *ei)
{
    if (codec_frame_size(img) == 0)
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "image attributes %ux%u, %u samples, %u bits "
                                               "allocated are not decodable",
                       img->rows, img->columns, img->samples, img->bits_allocated);
    if (is_j2k(ts_uid))
        return codec_j2k_decode_frame(img, data, len, out, photometric, ei);
    if (!is_dcmtk(ts_uid))
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "no decoder for transfer syntax %s", ts_uid);
    if (is_jpeg(ts_uid) && jpeg_stalls_dcmtk(data, len))
        return cp_fail(ei, CP_EPARSE, 0, "the JPEG stream has a TEM marker before its frame "
                                         "header (refused: DCMTK's decoder would not return)");
    char why[200] = "";
    cp_err_t err = codec_dcmtk_decode_frame(ts_uid, img, data, len, out, photometric, why,
                                            sizeof why);
    return err == CP_OK ? CP_OK : cp_fail(ei, err, 0, "%s", why);
}

cp_err_t codec_encode_frame(const char *ts_uid, const codec_image_t *img, const uint8_t *frame,
                            uint8_t **out, size_t *out_len, cp_errinfo_t *ei)
{
    if (strcmp(ts_uid, "1.2.840.10008.1.2.4.90") == 0)
        return codec_j2k_encode_frame(img, frame, out, out_len, ei);
    if (strcmp(ts_uid, "1.2.840.10008.1.2.4.80") != 0)
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "no lossless encoder for transfer syntax %s", ts_uid);
    char why[200] = "";
    cp_err_t err = codec_dcmtk_encode_frame(ts_uid, img, frame, out, out_len, why, sizeof why);
    return err == CP_OK ? CP_OK : cp_fail(ei, err, 0, "%s", why);
}

/* ---- frames from the encapsulated value ---- */

cp_err_t codec_mem_read(void *ud, void *buf, size_t cap, size_t *n, cp_errinfo_t *ei)
{
    (void)ei;
    codec_mem_src_t *m = ud;
    *n = m->len - m->off < cap ? m->len - m->off : cap;
    if (*n > 0)
        memcpy(buf, m->p + m->off, *n);
    m->off += *n;
    return CP_OK;
}

cp_err_t codec_read_exact(codec_read_fn rd, void *ud, void *out, size_t n, const char *what,
                          cp_errinfo_t *ei)
{
    uint8_t *o = out;
    while (n > 0) {
        size_t got;
        cp_err_t err = rd(ud, o, n, &got, ei);
        if (err != CP_OK)
            return err;
        if (got == 0)
            return cp_fail(ei, CP_EPARSE, 0, "%s ends early", what);
        o += got;
        n -= got;
    }
    return CP_OK;
}


typedef struct reader {
    codec_read_fn rd;
    void *ud;
} reader_t;

static cp_err_t take(reader_t *r, void *out, size_t n, cp_errinfo_t *ei)
{
    return codec_read_exact(r->rd, r->ud, out, n, "the encapsulated pixel data", ei);
}

/* The next item: *len its length, *end true at the sequence delimiter. */
static cp_err_t next_item(reader_t *r, uint32_t *len, bool *end, cp_errinfo_t *ei)
{
    uint8_t h[8];
    cp_err_t err = take(r, h, 8, ei);
    if (err != CP_OK)
        return err;
    uint32_t tag = (uint32_t)(h[0] | h[1] << 8) << 16 | (uint32_t)(h[2] | h[3] << 8);
    *len = cp_get_le32(h + 4);
    *end = tag == 0xFFFEE0DDu;
    if (!*end && (tag != 0xFFFEE000u || *len == 0xFFFFFFFFu))
        return cp_fail(ei, CP_EPARSE, 0, "encapsulated pixel data hold something not an item");
    return CP_OK;
}

typedef struct frames {
    const char *ts;
    const codec_image_t *img;
    uint64_t *offsets; /* the Basic or Extended Offset Table, if one entry per frame */
    uint32_t n_offsets;
    uint8_t *buf, *out;
    size_t len, cap;
    uint32_t index;
    codec_frame_cb cb;
    void *ud;
    bool stop;
} frames_t;

static cp_err_t flush_frame(frames_t *f, cp_errinfo_t *ei)
{
    if (f->index >= f->img->frames)
        return cp_fail(ei, CP_EPARSE, 0, "more frames than Number of Frames says");
    char photometric[17] = "";
    cp_err_t err = codec_decode_frame(f->ts, f->img, f->buf, f->len, f->out, photometric, ei);
    if (err == CP_OK && !f->cb(f->ud, f->index, f->out, codec_frame_size(f->img), photometric))
        f->stop = true;
    f->index++;
    f->len = 0;
    return err;
}

static cp_err_t read_offsets(reader_t *r, frames_t *f, cp_errinfo_t *ei)
{
    uint32_t len;
    bool end;
    cp_err_t err = next_item(r, &len, &end, ei);
    if (err == CP_OK && end)
        err = cp_fail(ei, CP_EPARSE, 0, "encapsulated pixel data without fragments");
    if (err == CP_OK && (len % 4 != 0 || len / 4 > CODEC_MAX_FRAMES))
        err = cp_fail(ei, CP_EPARSE, 0, "the Basic Offset Table is malformed");
    if (err != CP_OK)
        return err;
    uint8_t *raw = cp_xmalloc(len + 1);
    if ((err = take(r, raw, len, ei)) == CP_OK && len / 4 == f->img->frames && len > 0) {
        f->n_offsets = len / 4;
        f->offsets = cp_xmalloc((size_t)f->n_offsets * sizeof *f->offsets);
        for (uint32_t i = 0; i < f->n_offsets; i++)
            f->offsets[i] = cp_get_le32(raw + 4 * i);
    } else if (err == CP_OK && len == 0 && f->img->n_frame_offsets == f->img->frames) {
        /* an empty Basic Offset Table: the Extended one, when there is one (PS3.5 A.4) */
        f->n_offsets = f->img->n_frame_offsets;
        f->offsets = cp_xmalloc((size_t)f->n_offsets * sizeof *f->offsets);
        memcpy(f->offsets, f->img->frame_offsets, (size_t)f->n_offsets * sizeof *f->offsets);
    }
    free(raw);
    return err;
}

/* Whether the fragment at offset (from the first fragment's item) starts a new frame. */
static bool starts_frame(const frames_t *f, uint64_t offset, uint32_t fragment)
{
    if (f->img->frames == 1)
        return fragment == 0;
    if (f->n_offsets > 0) /* the next frame's offset: frames are in order (PS3.5 A.4) */
        return f->index + 1 < f->n_offsets && f->offsets[f->index + 1] == offset;
    return true; /* without an offset table: one fragment per frame */
}

/* Appends a fragment to the frame being gathered, the buffer growing with what arrives
 * (never by what a length claims: a bogus length must not allocate a gigabyte). */
static cp_err_t take_fragment(reader_t *r, frames_t *f, uint32_t len, cp_errinfo_t *ei)
{
    while (len > 0) {
        size_t piece = len < (1u << 20) ? len : (1u << 20);
        if (f->len + piece > f->cap) {
            f->cap = f->cap * 2 > f->len + piece ? f->cap * 2 : f->len + piece;
            f->buf = cp_xrealloc(f->buf, f->cap);
        }
        cp_err_t err = take(r, f->buf + f->len, piece, ei);
        if (err != CP_OK)
            return err;
        f->len += piece;
        len -= (uint32_t)piece;
    }
    return CP_OK;
}

static cp_err_t read_fragments(reader_t *r, frames_t *f, cp_errinfo_t *ei)
{
    uint64_t offset = 0;
    for (uint32_t fragment = 0; !f->stop; fragment++) {
        uint32_t len;
        bool end;
        cp_err_t err = next_item(r, &len, &end, ei);
        if (err != CP_OK)
            return err;
        if (end)
            break;
        if (starts_frame(f, offset, fragment) && fragment > 0 && (err = flush_frame(f, ei)) != CP_OK)
            return err;
        if (len > MAX_FRAME_BYTES - f->len)
            return cp_fail(ei, CP_ETOOBIG, 0, "a compressed frame over 256 MiB");
        if ((err = take_fragment(r, f, len, ei)) != CP_OK)
            return err;
        offset += 8 + (uint64_t)len;
    }
    cp_err_t err = f->stop ? CP_OK : f->len > 0 ? flush_frame(f, ei) : CP_OK;
    if (err == CP_OK && !f->stop && f->index != f->img->frames)
        err = cp_fail(ei, CP_EPARSE, 0, "%u frames found, Number of Frames says %u", f->index,
                      f->img->frames);
    return err;
}

cp_err_t codec_decode_frames(const char *ts_uid, const codec_image_t *img, codec_read_fn rd,
                             void *rud, codec_frame_cb cb, void *ud, cp_errinfo_t *ei)
{
    size_t size = codec_frame_size(img);
    if (size == 0 || img->frames == 0 || img->frames > CODEC_MAX_FRAMES)
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "image attributes %ux%u, %u samples, %u bits "
                                               "allocated, %u frames are not decodable",
                       img->rows, img->columns, img->samples, img->bits_allocated, img->frames);
    if (!codec_pixels_decodable(ts_uid))
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "no decoder for transfer syntax %s", ts_uid);
    reader_t r = {rd, rud};
    frames_t f = {.ts = ts_uid, .img = img, .cb = cb, .ud = ud};
    f.out = cp_xmalloc(size);
    cp_err_t err = read_offsets(&r, &f, ei);
    if (err == CP_OK)
        err = read_fragments(&r, &f, ei);
    free(f.offsets);
    free(f.buf);
    free(f.out);
    return err;
}

bool codec_native_pixels_short(const codec_dshdr_fields_t *f)
{
    if (!f->has_pixel_data || f->pixel_data_length == 0xFFFFFFFFu || f->rows == 0 ||
        f->columns == 0 || f->samples_per_pixel == 0 || f->bits_allocated == 0)
        return false; /* encapsulated, or no image attributes to hold them to */
    uint64_t frames = f->number_of_frames[0] ? strtoull(f->number_of_frames, NULL, 10) : 1;
    uint64_t samples = (uint64_t)f->rows * f->columns * f->samples_per_pixel * (frames ? frames : 1);
    uint64_t bytes = f->bits_allocated == 1 ? (samples + 7) / 8
                                            : samples * ((f->bits_allocated + 7u) / 8);
    if (strcmp(f->photometric, "YBR_FULL_422") == 0 && f->samples_per_pixel == 3 &&
        f->columns % 2 == 0 && f->bits_allocated == 8)
        bytes = bytes / 3 * 2; /* two samples a pixel stored (PS3.3 C.7.6.3.1.2) */
    return bytes > f->pixel_data_length;
}
