/* gateway/transcode.h -- a normalized object's Pixel Data in another transfer syntax
 * (transcode.c). Called from the normalize job's worker thread. */
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
#endif
