/* codecs/dict.c -- the value representation of a tag from the standard's data dictionary
 * (PS3.6, generated at build time; see gen_dict.awk). */
#include <stdbool.h>

#include "codec_dicom.h"
#include "dict_int.h"

const char *codec_dict_vr(uint32_t tag)
{
    uint16_t g = (uint16_t)(tag >> 16), e = (uint16_t)tag;
    if (e == 0x0000)
        return "UL"; /* group length */
    if ((g & 1) != 0)
        return e >= 0x0010 && e <= 0x00FF ? "LO" : NULL; /* private creator, else unknown */
    size_t lo = 0, hi = codec_dict_exact_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (codec_dict_exact[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < codec_dict_exact_count && codec_dict_exact[lo].tag == tag)
        return codec_dict_exact[lo].vr;
    for (size_t i = 0; i < codec_dict_range_count; i++) {
        const codec_dict_range_t *r = &codec_dict_ranges[i];
        if (g >= r->group_lo && g <= r->group_hi && e >= r->elem_lo && e <= r->elem_hi)
            return r->vr;
    }
    return NULL;
}
