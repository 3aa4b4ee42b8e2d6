/* gateway/transcode.c -- the Pixel Data element of a normalized object in another transfer
 * syntax: frames come decoded (gw_jobs_frames) and go out native (Explicit VR LE) or
 * encoded losslessly (JPEG-LS, JPEG 2000), one fragment per frame after an empty Basic
 * Offset Table (PS3.5 A.4). */
#include "transcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_xcode.h"
#include "cp_mem.h"

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
