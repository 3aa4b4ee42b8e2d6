/* codecs/codec_pixels.h -- compressed pixel data decoded frame by frame: JPEG 2000 with
 * OpenJPEG (j2k.c), JPEG baseline/extended/lossless, JPEG-LS and RLE through the one C++
 * adapter over DCMTK (dcmtk/adapter.cc). Layer: codecs (pure; the caller reads). */
#ifndef CASEPORT_CODEC_PIXELS_H
#define CASEPORT_CODEC_PIXELS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec_xcode.h"

/* Exactly n bytes from rd; CP_EPARSE ("<what> ends early") if it ends before. */
cp_err_t codec_read_exact(codec_read_fn rd, void *ud, void *out, size_t n, const char *what,
                          cp_errinfo_t *ei);

typedef struct codec_image {
    uint16_t rows, columns, bits_allocated, bits_stored, samples, pixel_representation;
    uint16_t planar; /* Planar Configuration as stored */
    char photometric[17];
    uint32_t frames;
    /* The Extended Offset Table (7FE0,0001), if the data set has one entry per frame:
     * where each frame's first fragment item starts, from the first fragment's item. */
    const uint64_t *frame_offsets;
    uint32_t n_frame_offsets;
} codec_image_t;

/* One frame at most, decoded or compressed: a bigger one is refused (CP_ETOOBIG), never
 * allocated (the sizes come from the sender). */
#define CODEC_MAX_FRAME_BYTES ((size_t)256 << 20)
/* Frames of one object at most (Number of Frames comes from the sender). */
#define CODEC_MAX_FRAMES 100000

/* Bytes of one decoded frame: rows x columns x samples values of bits_allocated / 8
 * bytes (1 for 1-bit data is not supported); 0 if the image attributes are unusable or
 * the frame is over CODEC_MAX_FRAME_BYTES. */
size_t codec_frame_size(const codec_image_t *img);
/* Whether a header's native Pixel Data are shorter than Rows x Columns x Samples x Bits
 * Allocated x Number of Frames say (1-bit packed, YBR_FULL_422 two samples a pixel, as
 * stored): no decoder could read the image (pydicom's MR_truncated.dcm). False when
 * encapsulated or the image attributes are missing. */
bool codec_native_pixels_short(const codec_dshdr_fields_t *f);

/* Whether ts_uid is a compressed syntax this build decodes. */
bool codec_pixels_decodable(const char *ts_uid);

/* Decodes one frame (its fragments' bytes, joined) into out (codec_frame_size bytes):
 * little-endian values, samples interleaved. *photometric gets the photometric
 * interpretation of what was decoded (e.g. RGB for a YBR_FULL_422 JPEG or a YBR_RCT
 * JPEG 2000). CP_EPARSE for a corrupt or mismatched codestream, CP_EUNSUPPORTED for a
 * syntax or layout it does not decode. */
cp_err_t codec_decode_frame(const char *ts_uid, const codec_image_t *img, const uint8_t *data,
                            size_t len, uint8_t *out, char photometric[17], cp_errinfo_t *ei);

/* Each decoded frame in order; false stops (the call then returns CP_OK). */
typedef bool (*codec_frame_cb)(void *ud, uint32_t index, const uint8_t *frame, size_t len,
                               const char *photometric);
/* Reads encapsulated pixel data from rd, positioned just after the Pixel Data element's
 * header (its Basic Offset Table item first, PS3.5 A.4), splits it into frames (the offset
 * table, one fragment per frame, or all fragments for one frame) and decodes them one at
 * a time. Memory: one frame compressed and decoded. */
cp_err_t codec_decode_frames(const char *ts_uid, const codec_image_t *img, codec_read_fn rd,
                             void *rud, codec_frame_cb cb, void *ud, cp_errinfo_t *ei);

/* The C++ adapter over DCMTK (JPEG family, JPEG-LS, RLE); same contract as
 * codec_decode_frame. */
cp_err_t codec_dcmtk_decode_frame(const char *ts_uid, const codec_image_t *img,
                                  const uint8_t *data, size_t len, uint8_t *out,
                                  char photometric[17], char *why, size_t why_cap);
/* Encodes one decoded frame (codec_frame_size bytes, as codec_decode_frame gives them)
 * losslessly in transfer syntax ts_uid: JPEG 2000 lossless-only (.90, OpenJPEG,
 * reversible wavelet, no colour transform) or JPEG-LS lossless (.80, DCMTK). *out is
 * malloc'ed (free it). CP_EUNSUPPORTED for another syntax or an image it cannot take. */
cp_err_t codec_encode_frame(const char *ts_uid, const codec_image_t *img, const uint8_t *frame,
                            uint8_t **out, size_t *out_len, cp_errinfo_t *ei);
cp_err_t codec_j2k_encode_frame(const codec_image_t *img, const uint8_t *frame, uint8_t **out,
                                size_t *out_len, cp_errinfo_t *ei);
cp_err_t codec_dcmtk_encode_frame(const char *ts_uid, const codec_image_t *img,
                                  const uint8_t *frame, uint8_t **out, size_t *out_len,
                                  char *why, size_t why_cap);

/* JPEG 2000 with OpenJPEG (j2k.c); same contract. */
cp_err_t codec_j2k_decode_frame(const codec_image_t *img, const uint8_t *data, size_t len,
                                uint8_t *out, char photometric[17], cp_errinfo_t *ei);
#endif
