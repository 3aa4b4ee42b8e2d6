/* gateway/jobs_int.h -- shared by the job kinds (jobs.c, normalize.c). */
#ifndef CASEPORT_GW_JOBS_INT_H
#define CASEPORT_GW_JOBS_INT_H
#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "codec_dicom.h"
#include "codec_pixels.h"
#include "codec_xcode.h"
#include "gw.h"
#include "store_jobs.h"

/* Reads the header of the job's instance's stored data set (it stops at Pixel Data); also
 * gives the blob's address and transfer syntax (either may be NULL). */
cp_err_t gw_jobs_read_header(const gw_ctx_t *ctx, const store_job_t *job, codec_dshdr_fields_t *f,
                             store_addr_t *addr, const codec_ts_t **ts, cp_errinfo_t *ei);
/* The re-encoder (codec_xcode) over the data set in the blob at addr, into wr. */
cp_err_t gw_xcode_blob(store_blob_t *blobs, const store_addr_t *addr, const codec_xcode_opts_t *o,
                       codec_write_fn wr, void *wud, codec_xcode_report_t *rep, cp_errinfo_t *ei);
/* Bytes in memory, grown as written (free p). */
typedef struct gw_membuf {
    uint8_t *p;
    size_t len, cap;
} gw_membuf_t;
/* The elements before Pixel Data of the blob at addr re-encoded by o (header_only set)
 * into m: Explicit VR LE, for codec_ds_find and friends. CP_ETOOBIG over 64 MiB. */
cp_err_t gw_xcode_header_to_memory(store_blob_t *blobs, const store_addr_t *addr,
                                   const codec_xcode_opts_t *o, gw_membuf_t *m, cp_errinfo_t *ei);
/* The header of the data set in the blob at addr, encoded as enc. */
cp_err_t gw_jobs_blob_header(const gw_ctx_t *ctx, const store_addr_t *addr, codec_enc_t enc,
                             codec_dshdr_fields_t *f, cp_errinfo_t *ei);
/* SHA-256 over the image attributes and the pixel data of the blob at addr (header f,
 * transfer syntax ts): native pixels as little-endian words, compressed ones decoded
 * frame by frame (*decoded true), or, without a decoder for ts, the fragments as stored
 * to the end of the data set (*decoded false). */
cp_err_t gw_jobs_pixel_digest(const gw_ctx_t *ctx, const store_addr_t *addr,
                              const codec_dshdr_fields_t *f, const codec_ts_t *ts,
                              uint8_t out[32], bool *decoded, cp_errinfo_t *ei);
/* Why an instance has no pixel hash (no pixel data, no decoder for ts, no rows or
 * columns), or NULL when it has one. ts NULL: compressed pixels count as undecodable. */
const char *gw_jobs_pixel_note(const codec_dshdr_fields_t *f, const codec_ts_t *ts);
/* True when the pixel hash is the attributes' line (gw_jobs_hash_attrs with f's
 * photometric interpretation) and then the stored bytes [*start, *start + *len) of the
 * data set as they are: native pixel data, little endian (enc), samples interleaved, no
 * YBR_FULL_422 to expand. The intake then hashes them as they stream in. */
bool gw_jobs_pixels_as_stored(const codec_dshdr_fields_t *f, codec_enc_t enc, uint64_t *start,
                              uint64_t *len);
/* The line of image attributes a pixel hash starts with. */
void gw_jobs_hash_attrs(EVP_MD_CTX *md, const codec_dshdr_fields_t *f, const char *photometric);
/* Native pixel data read frame by frame from the blob at addr (header f, encoded as enc:
 * big endian swapped, deflated inflated) and handed to cb as a decoder would give them: little-endian values, samples
 * interleaved, YBR_FULL_422 with its full chroma; 1-bit data as one packed piece. */
cp_err_t gw_jobs_native_frames(const gw_ctx_t *ctx, const store_addr_t *addr,
                               const codec_dshdr_fields_t *f, codec_enc_t enc, codec_frame_cb cb,
                               void *ud, cp_errinfo_t *ei);
/* Every frame of the blob's pixel data as a decoder gives it: native ones through
 * gw_jobs_native_frames, compressed ones decoded (codec_decode_frames). */
cp_err_t gw_jobs_frames(const gw_ctx_t *ctx, const store_addr_t *addr,
                        const codec_dshdr_fields_t *f, const codec_ts_t *ts, codec_frame_cb cb,
                        void *ud, cp_errinfo_t *ei);
/* The compare job (compare.c): a new version found to be an earlier one re-encoded. */
cp_err_t gw_compare(const gw_ctx_t *ctx, const store_job_t *job, cp_errinfo_t *ei);
/* The normalize job (normalize.c). */
cp_err_t gw_normalize(const gw_ctx_t *ctx, const store_job_t *job, cp_errinfo_t *ei);
/* The normalize job's dry run over data[0, len), a data set's bytes up to and with the
 * header of its top-level Pixel Data, or the whole of one without: true when nothing in
 * them asks for a rewrite (the patient identity aside), as the job would find. */
bool gw_normalize_header_keeps(const conf_t *conf, const codec_dshdr_fields_t *f,
                               const codec_ts_t *ts, const uint8_t *data, size_t len);
#endif
