/* codecs/meta.c -- the File Meta Information of a Part 10 file (PS3.10 7.1). */
#include <string.h>

#include "codec_dicom.h"

typedef struct out {
    uint8_t *p;
    size_t cap, len;
    bool overflow;
} out_t;

static void put(out_t *o, const void *d, size_t n)
{
    if (o->len + n > o->cap) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->len, d, n);
    o->len += n;
}

/* Explicit VR LE element of group 0002; OB has the long form. */
static void elem(out_t *o, uint16_t e, const char *vr, const void *v, size_t n, uint8_t pad)
{
    size_t padded = n + (n & 1);
    uint8_t h[12] = {0x02, 0x00, (uint8_t)e, (uint8_t)(e >> 8), (uint8_t)vr[0], (uint8_t)vr[1]};
    if (strcmp(vr, "OB") == 0) {
        h[8] = (uint8_t)padded;
        h[9] = (uint8_t)(padded >> 8);
        put(o, h, 12);
    } else {
        h[6] = (uint8_t)padded;
        h[7] = (uint8_t)(padded >> 8);
        put(o, h, 8);
    }
    put(o, v, n);
    if (n & 1)
        put(o, &pad, 1);
}

cp_err_t codec_part10_meta(const char *sop_class_uid, const char *sop_instance_uid,
                           const char *ts_uid, const char *source_ae, uint8_t *out, size_t cap,
                           size_t *len, cp_errinfo_t *ei)
{
    const char *uids[] = {sop_class_uid, sop_instance_uid, ts_uid};
    for (size_t i = 0; i < 3; i++)
        if (strlen(uids[i]) > CODEC_UID_MAX || uids[i][0] == '\0')
            return cp_fail(ei, CP_EINVAL, 0, "uid \"%.70s\" is empty or over 64 characters",
                           uids[i]);
    size_t ae = source_ae ? strlen(source_ae) : 0;
    if (ae > 16)
        return cp_fail(ei, CP_EINVAL, 0, "source ae title over 16 characters");
    out_t o = {.p = out, .cap = cap};
    static const uint8_t preamble[128];
    put(&o, preamble, sizeof preamble);
    put(&o, "DICM", 4);
    size_t gl_at = o.len;
    uint8_t zero4[4] = {0};
    elem(&o, 0x0000, "UL", zero4, 4, 0);
    size_t group_start = o.len;
    elem(&o, 0x0001, "OB", "\x00\x01", 2, 0);
    elem(&o, 0x0002, "UI", sop_class_uid, strlen(sop_class_uid), 0);
    elem(&o, 0x0003, "UI", sop_instance_uid, strlen(sop_instance_uid), 0);
    elem(&o, 0x0010, "UI", ts_uid, strlen(ts_uid), 0);
    elem(&o, 0x0012, "UI", CODEC_IMPL_CLASS_UID, strlen(CODEC_IMPL_CLASS_UID), 0);
    elem(&o, 0x0013, "SH", CODEC_IMPL_VERSION, strlen(CODEC_IMPL_VERSION), ' ');
    if (ae > 0)
        elem(&o, 0x0016, "AE", source_ae, ae, ' ');
    if (o.overflow)
        return cp_fail(ei, CP_ETOOBIG, 0, "file meta information needs more than %zu bytes", cap);
    uint32_t gl = (uint32_t)(o.len - group_start);
    uint8_t *g = out + gl_at + 8;
    g[0] = (uint8_t)gl;
    g[1] = (uint8_t)(gl >> 8);
    g[2] = (uint8_t)(gl >> 16);
    g[3] = (uint8_t)(gl >> 24);
    *len = o.len;
    return CP_OK;
}
