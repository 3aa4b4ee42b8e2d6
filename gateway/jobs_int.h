/* gateway/jobs_int.h -- shared by the job kinds (jobs.c, normalize.c). */
#ifndef CASEPORT_GW_JOBS_INT_H
#define CASEPORT_GW_JOBS_INT_H
#include <stdbool.h>
#include <stdint.h>

#include "codec_dicom.h"
#include "gw.h"
#include "store_jobs.h"

/* Reads the header of the instance's stored data set (it stops at Pixel Data); also gives
 * the blob's address and transfer syntax (either may be NULL). */
cp_err_t gw_jobs_read_header(const gw_ctx_t *ctx, int64_t instance_id, codec_dshdr_fields_t *f,
                             store_addr_t *addr, const codec_ts_t **ts, cp_errinfo_t *ei);
/* The header of the data set in the blob at addr, encoded as enc. */
cp_err_t gw_jobs_blob_header(const gw_ctx_t *ctx, const store_addr_t *addr, codec_enc_t enc,
                             codec_dshdr_fields_t *f, cp_errinfo_t *ei);
/* SHA-256 over the image attributes and the pixel data of the blob at addr whose header
 * is f: native pixels as little-endian words (big: stored big endian), encapsulated ones
 * as their fragments to the end of the data set. Not for deflated data sets. */
cp_err_t gw_jobs_pixel_digest(const gw_ctx_t *ctx, const store_addr_t *addr,
                              const codec_dshdr_fields_t *f, bool big, uint8_t out[32],
                              cp_errinfo_t *ei);
/* The normalize job (normalize.c). */
cp_err_t gw_normalize(const gw_ctx_t *ctx, const store_job_t *job, cp_errinfo_t *ei);
#endif
