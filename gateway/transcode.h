/* gateway/transcode.h -- a stored data set written anew in another transfer syntax
 * (transcode.c): for the normalize job, and for a C-GET or C-MOVE peer that takes no
 * syntax it is stored in. Worker threads only. */
#ifndef CASEPORT_GW_TRANSCODE_H
#define CASEPORT_GW_TRANSCODE_H
#include "jobs_int.h"

/* Writes the Pixel Data element, Explicit VR LE, of the image whose original is the blob
 * at orig (header f, transfer syntax ts) to w, in transfer syntax target: native
 * (Explicit VR LE: OW or OB of every frame) or encoded losslessly, frame by frame. The
 * frames are what a decoder gives: samples interleaved (Planar Configuration 0), in the
 * decoded photometric interpretation; the caller's header says so. */
cp_err_t gw_write_pixels(const gw_ctx_t *ctx, const store_addr_t *orig,
                         const codec_dshdr_fields_t *f, const codec_ts_t *ts, const char *target,
                         store_blob_writer_t *w, cp_errinfo_t *ei);

/* Pixel attributes that change with the frames' new encoding: the decoded photometric
 * interpretation, Planar Configuration 0. Returns how many edits it added to out; *err
 * says whether the frames could be read. */
int gw_pixel_edits(const gw_ctx_t *ctx, const store_addr_t *orig, const codec_dshdr_fields_t *f,
                   const codec_ts_t *ts, char photometric[17], codec_edit_t *out,
                   cp_errinfo_t *ei, cp_err_t *err);
/* qsort's order for edits: ascending tags, as codec_xcode takes them. */
int gw_edits_by_tag(const void *a, const void *b);

/* Writes the data set of the blob at orig (transfer syntax ts) to a new blob and checks it
 * against the original's pixel data (*how says how): re-encoded whole by o, or, when its
 * pixel data change syntax (pixels non-NULL: the original's header), the elements before
 * Pixel Data re-encoded and the pixel data written by gw_write_pixels in out_ts. */
cp_err_t gw_rewrite(const gw_ctx_t *ctx, const store_addr_t *orig, const codec_ts_t *ts,
                    const codec_xcode_opts_t *o, const codec_dshdr_fields_t *pixels,
                    const codec_ts_t *out_ts, store_addr_t *addr, uint64_t *size,
                    const char **how, cp_errinfo_t *ei);

/* The blob at orig in Explicit VR Little Endian with native pixels, nothing else changed;
 * a lossy original's decoded pixels say Lossy Image Compression 01. For a peer that takes
 * neither the stored syntax nor a compressed one (C-GET, C-MOVE). CP_EUNSUPPORTED when the
 * stored pixels cannot be decoded here. */
cp_err_t gw_rewrite_native(const gw_ctx_t *ctx, const store_addr_t *orig, const codec_ts_t *ts,
                           store_addr_t *addr, uint64_t *size, cp_errinfo_t *ei);
/* The blob to send for the blob at orig to a peer that takes it only in Explicit VR Little
 * Endian: the copy made before (migration 0023), else one made now by gw_rewrite_native
 * and recorded. */
cp_err_t gw_delivery_copy(const gw_ctx_t *ctx, const store_addr_t *orig, const codec_ts_t *ts,
                          store_addr_t *copy, cp_errinfo_t *ei);
#endif
