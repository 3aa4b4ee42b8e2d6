/* libFuzzer target: the streaming data set header parser. The first byte picks the
 * encoding (and the chunk size), the rest is the data set, fed in pieces. */
#include <stddef.h>
#include <stdint.h>

#include "codec_dicom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    codec_enc_t enc = (codec_enc_t)(data[0] & 3);
    size_t step = (size_t)(data[0] >> 2) + 1;
    data++;
    size--;
    codec_dshdr_limits_t lim = {.max_depth = 8, .max_header_bytes = 1 << 20};
    codec_dshdr_t *p;
    if (codec_dshdr_new(enc, &lim, &p, NULL) != CP_OK)
        return 0;
    cp_err_t err = CP_OK;
    for (size_t off = 0; off < size && err == CP_OK; off += step) {
        size_t n = size - off < step ? size - off : step;
        err = codec_dshdr_feed(p, data + off, n, NULL);
    }
    codec_dshdr_fields_t f;
    if (err == CP_OK)
        codec_dshdr_finish(p, &f, NULL);
    codec_dshdr_free(p);
    return 0;
}
