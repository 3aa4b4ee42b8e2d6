/* libFuzzer target: the pixel decoders (OpenJPEG for JPEG 2000, DCMTK for the JPEG family,
 * JPEG-LS and RLE) and the frame splitting of encapsulated pixel data. The first bytes
 * pick the transfer syntax and the image attributes; the rest is the encapsulated value
 * (offset table item, fragments, delimiter) that codec_decode_frames reads. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codec_pixels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink; /* volatile: the reads below are not optimised away */

static bool frame(void *ud, uint32_t index, const uint8_t *f, size_t len, const char *pi)
{
    (void)ud;
    (void)index;
    (void)pi;
    for (size_t i = 0; i < len; i += 97)
        sink ^= f[i]; /* the decoded frame is readable to its end */
    if (len > 0)
        sink ^= f[len - 1];
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ts[] = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
                                     "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
                                     "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
                                     "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
                                     "1.2.840.10008.1.2.5"};
    static const char *const pi[] = {"MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422"};
    if (size < 6 || size > (1 << 20))
        return 0;
    codec_image_t img = {.rows = (uint16_t)(data[1] % 64 + 1), .columns = (uint16_t)(data[2] % 64 + 1),
                         .bits_allocated = data[3] & 1 ? 16 : 8, .samples = data[3] & 2 ? 3 : 1,
                         .pixel_representation = (data[3] >> 2) & 1,
                         .frames = (uint32_t)(data[4] % 3 + 1)};
    img.bits_stored = img.bits_allocated == 16 ? 12 + (data[3] >> 3) % 5 : 8;
    snprintf(img.photometric, sizeof img.photometric, "%s", img.samples == 3 ? pi[1 + data[5] % 3] : pi[0]);
    codec_mem_src_t m = {data + 6, size - 6, 0};
    codec_decode_frames(ts[data[0] % 9], &img, codec_mem_read, &m, frame, NULL, NULL);
    return 0;
}
