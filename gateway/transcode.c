/* gateway/transcode.c -- the Pixel Data element of a normalized object in another transfer
 * syntax: frames come decoded (gw_jobs_frames) and go out native (Explicit VR LE) or
 * encoded losslessly (JPEG-LS, JPEG 2000), one fragment per frame after an empty Basic
 * Offset Table (PS3.5 A.4). */
#include "transcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_ds.h"
#include "codec_xcode.h"
#include "cp_mem.h"
#include "store_qr.h"

#define EXPLICIT_LE "1.2.840.10008.1.2.1"
#define PIXEL_DATA 0x7FE00010u
#define ITEM 0xFFFEE000u
#define SEQ_END 0xFFFEE0DDu

typedef struct px_out {
    store_blob_writer_t *w;
    const char *target;
    bool native;
    codec_image_t img;
    cp_err_t err;
    cp_errinfo_t *ei;
} px_out_t;

static cp_err_t put_element(store_blob_writer_t *w, uint32_t tag, const char *vr, uint32_t len,
                            cp_errinfo_t *ei)
{
    uint8_t h[12];
    return store_blob_writer_write(w, h, codec_elem_header(h, tag, vr, len), ei);
}

static bool put_frame(void *ud, uint32_t index, const uint8_t *frame, size_t len,
                      const char *photometric)
{
    (void)index;
    (void)photometric; /* the encoders code samples as they are: no colour transform */
    px_out_t *o = ud;
    if (o->native) {
        o->err = store_blob_writer_write(o->w, frame, len, o->ei);
        return o->err == CP_OK;
    }
    uint8_t *enc = NULL;
    size_t n = 0;
    o->err = codec_encode_frame(o->target, &o->img, frame, &enc, &n, o->ei);
    if (o->err == CP_OK && n > 0xFFFFFFF0u)
        o->err = cp_fail(o->ei, CP_ETOOBIG, 0, "an encoded frame over 4 GiB");
    bool odd = n % 2 != 0; /* fragments are even; JPEG-LS and JPEG 2000 pad with 0 */
    if (o->err == CP_OK)
        o->err = put_element(o->w, ITEM, NULL, (uint32_t)(n + odd), o->ei);
    if (o->err == CP_OK)
        o->err = store_blob_writer_write(o->w, enc, n, o->ei);
    if (o->err == CP_OK && odd)
        o->err = store_blob_writer_write(o->w, "", 1, o->ei);
    free(enc);
    return o->err == CP_OK;
}

cp_err_t gw_write_pixels(const gw_ctx_t *ctx, const store_addr_t *orig,
                         const codec_dshdr_fields_t *f, const codec_ts_t *ts, const char *target,
                         store_blob_writer_t *w, cp_errinfo_t *ei)
{
    px_out_t o = {.w = w, .target = target, .ei = ei,
                  .native = codec_ts_find(target) != NULL && !codec_ts_find(target)->encapsulated};
    o.img = (codec_image_t){.rows = f->rows, .columns = f->columns,
                            .bits_allocated = f->bits_allocated, .bits_stored = f->bits_stored,
                            .samples = f->samples_per_pixel,
                            .pixel_representation = f->pixel_representation,
                            .frames = f->number_of_frames[0]
                                          ? (uint32_t)strtoul(f->number_of_frames, NULL, 10) : 1};
    size_t frame = codec_frame_size(&o.img);
    uint64_t total = (uint64_t)frame * o.img.frames;
    if (frame == 0 || (o.native && total > 0xFFFFFFF0u))
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "the image (%ux%u, %u bits, %u frames) cannot be "
                                               "written in %s", f->rows, f->columns,
                       f->bits_allocated, o.img.frames, target);
    bool odd = total % 2 != 0;
    cp_err_t err = o.native ? put_element(w, PIXEL_DATA, f->bits_allocated > 8 ? "OW" : "OB",
                                          (uint32_t)(total + odd), ei)
                            : put_element(w, PIXEL_DATA, "OB", 0xFFFFFFFFu, ei);
    if (err == CP_OK && !o.native)
        err = put_element(w, ITEM, NULL, 0, ei); /* an empty Basic Offset Table */
    if (err == CP_OK)
        err = gw_jobs_frames(ctx, orig, f, ts, put_frame, &o, ei);
    if (err == CP_OK)
        err = o.err;
    if (err == CP_OK && o.native && odd)
        err = store_blob_writer_write(w, "", 1, ei);
    if (err == CP_OK && !o.native)
        err = put_element(w, SEQ_END, NULL, 0, ei);
    return err;
}

/* The photometric interpretation of the frames as decoded (e.g. RGB from YBR_RCT). */
static bool first_photometric(void *ud, uint32_t index, const uint8_t *frame, size_t len,
                              const char *photometric)
{
    (void)index;
    (void)frame;
    (void)len;
    snprintf(ud, 17, "%s", photometric);
    return false;
}

int gw_pixel_edits(const gw_ctx_t *ctx, const store_addr_t *orig, const codec_dshdr_fields_t *f,
                       const codec_ts_t *ts, char photometric[17], codec_edit_t *out,
                       cp_errinfo_t *ei, cp_err_t *err)
{
    static const uint8_t zero[2] = {0, 0};
    int n = 0;
    photometric[0] = '\0';
    *err = gw_jobs_frames(ctx, orig, f, ts, first_photometric, photometric, ei);
    if (*err == CP_OK && strcmp(photometric, f->photometric) != 0)
        out[n++] = (codec_edit_t){CODEC_TAG(0x0028, 0x0004), "CS", photometric,
                                  strlen(photometric), false};
    if (*err == CP_OK && f->samples_per_pixel > 1)
        out[n++] = (codec_edit_t){CODEC_TAG(0x0028, 0x0006), "US", zero, 2, false};
    return n;
}

int gw_edits_by_tag(const void *a, const void *b)
{
    uint32_t x = ((const codec_edit_t *)a)->tag, y = ((const codec_edit_t *)b)->tag;
    return x < y ? -1 : x > y;
}

static cp_err_t blob_write(void *ud, const void *data, size_t len, cp_errinfo_t *ei)
{
    return store_blob_writer_write(ud, data, len, ei);
}

/* The result's pixel data against the original's: the same digest, or the job fails. */
static cp_err_t verify(const gw_ctx_t *ctx, const store_addr_t *orig, const codec_ts_t *ts,
                       const store_addr_t *result, const codec_ts_t *out_ts, const char **how,
                       cp_errinfo_t *ei)
{
    codec_dshdr_fields_t fo, fr;
    cp_err_t err = gw_jobs_blob_header(ctx, result, CODEC_ENC_EXPLICIT_LE, &fr, ei);
    if (err != CP_OK)
        return err;
    if ((err = gw_jobs_blob_header(ctx, orig, ts->enc, &fo, ei)) != CP_OK)
        return err;
    if (fo.has_pixel_data != fr.has_pixel_data)
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "the normalized data set %s pixel data",
                       fr.has_pixel_data ? "gained" : "lost its");
    if (!fr.has_pixel_data) {
        *how = "no pixel data";
        return CP_OK;
    }
    uint8_t a[32], b[32];
    bool decoded_a, decoded_b;
    if ((err = gw_jobs_pixel_digest(ctx, orig, &fo, ts, a, &decoded_a, ei)) != CP_OK ||
        (err = gw_jobs_pixel_digest(ctx, result, &fr, out_ts, b, &decoded_b, ei)) != CP_OK)
        return err;
    if (memcmp(a, b, sizeof a) != 0) /* deterministic: another attempt would only repeat it */
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "the normalized pixel data differ from the original's");
    *how = decoded_a && decoded_b ? "decoded pixels equal the original's"
                                  : "pixel data fragments equal the original's (no decoder)";
    return CP_OK;
}

cp_err_t gw_rewrite(const gw_ctx_t *ctx, const store_addr_t *orig, const codec_ts_t *ts,
                        const codec_xcode_opts_t *o, const codec_dshdr_fields_t *pixels,
                        const codec_ts_t *out_ts, store_addr_t *addr, uint64_t *size,
                        const char **how, cp_errinfo_t *ei)
{
    store_blob_writer_t *w;
    cp_err_t err = store_blob_writer_new(ctx->blobs, &w, ei);
    if (err != CP_OK)
        return err;
    codec_xcode_report_t rep;
    codec_xcode_opts_t head = *o;
    head.header_only = pixels != NULL;
    err = gw_xcode_blob(ctx->blobs, orig, &head, blob_write, w, &rep, ei);
    if (err == CP_OK && pixels != NULL)
        err = gw_write_pixels(ctx, orig, pixels, ts, out_ts->uid, w, ei);
    if (err == CP_OK)
        err = store_blob_writer_commit(w, addr, size, ei);
    store_blob_writer_free(w);
    if (err == CP_OK)
        err = verify(ctx, orig, ts, addr, out_ts, how, ei);
    return err;
}


/* Lossy Image Compression (0028,2110): a lossy original's decoded pixels say so. */
static const char lossy_yes[] = "01";

cp_err_t gw_rewrite_native(const gw_ctx_t *ctx, const store_addr_t *orig, const codec_ts_t *ts,
                           store_addr_t *addr, uint64_t *size, cp_errinfo_t *ei)
{
    codec_dshdr_fields_t f;
    cp_err_t err = gw_jobs_blob_header(ctx, orig, ts->enc, &f, ei);
    if (err != CP_OK)
        return err;
    bool pixels = f.has_pixel_data && ts->encapsulated;
    if (pixels && !codec_pixels_decodable(ts->uid))
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "no decoder for the stored transfer syntax %s",
                       ts->uid);
    codec_edit_t edits[3];
    codec_xcode_opts_t o = {.in = ts->enc, .edits = edits, .drop_offset_tables = pixels};
    char photometric[17];
    if (pixels) {
        o.n_edits = gw_pixel_edits(ctx, orig, &f, ts, photometric, edits, ei, &err);
        if (err != CP_OK)
            return err;
        if (ts->lossy)
            edits[o.n_edits++] = (codec_edit_t){CODEC_TAG(0x0028, 0x2110), "CS", lossy_yes, 2,
                                                false};
        qsort(edits, (size_t)o.n_edits, sizeof edits[0], gw_edits_by_tag);
    }
    const char *how = "";
    return gw_rewrite(ctx, orig, ts, &o, pixels ? &f : NULL, codec_ts_find(EXPLICIT_LE), addr,
                      size, &how, ei);
}

cp_err_t gw_delivery_copy(const gw_ctx_t *ctx, const store_addr_t *orig, const codec_ts_t *ts,
                          store_addr_t *copy, cp_errinfo_t *ei)
{
    bool found = false;
    cp_err_t err = store_qr_delivery_find(ctx->pg, orig, EXPLICIT_LE, copy, &found, ei);
    if (err != CP_OK || found)
        return err;
    uint64_t size = 0;
    if ((err = gw_rewrite_native(ctx, orig, ts, copy, &size, ei)) != CP_OK)
        return err;
    return store_qr_delivery_add(ctx->pg, orig, EXPLICIT_LE, copy, size,
                                 store_blob_key_id(ctx->blobs), ei);
}
