/* libFuzzer target: the data set re-encoder. The first byte picks the input encoding,
 * whether text is decoded (and from which set) and the read size; the rest is the data
 * set. The output is written nowhere but checked to be a whole Explicit VR LE data set by
 * re-encoding it again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec_xcode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct mem {
    const uint8_t *p;
    size_t len, off, step;
} mem_t;

static cp_err_t rd(void *ud, void *buf, size_t cap, size_t *n, cp_errinfo_t *ei)
{
    (void)ei;
    mem_t *m = ud;
    size_t k = m->len - m->off;
    if (k > cap)
        k = cap;
    if (k > m->step)
        k = m->step;
    if (k > 0)
        memcpy(buf, m->p + m->off, k);
    m->off += k;
    *n = k;
    return CP_OK;
}

typedef struct out {
    uint8_t *p;
    size_t len;
} out_t;

static cp_err_t wr(void *ud, const void *data, size_t len, cp_errinfo_t *ei)
{
    (void)ei;
    out_t *o = ud;
    o->p = realloc(o->p, o->len + len);
    memcpy(o->p + o->len, data, len);
    o->len += len;
    return CP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 20))
        return 0;
    static const char *const sets[] = {"", "ISO_IR 100", "\\ISO 2022 IR 87", "ISO_IR 192"};
    codec_xcode_opts_t o = {.in = (codec_enc_t)(data[0] & 3)};
    if (data[0] & 4)
        o.charset = sets[(data[0] >> 3) & 3];
    mem_t m = {data + 1, size - 1, 0, (size_t)(data[0] >> 5) * 9 + 1};
    out_t out = {0};
    codec_xcode_report_t rep;
    if (codec_xcode(&o, rd, &m, wr, &out, &rep, NULL) == CP_OK) {
        codec_xcode_opts_t again = {.in = CODEC_ENC_EXPLICIT_LE};
        mem_t m2 = {out.p, out.len, 0, 4096};
        if (codec_xcode(&again, rd, &m2, NULL, NULL, &rep, NULL) != CP_OK)
            abort(); /* what it writes it must read back */
    }
    free(out.p);
    return 0;
}
