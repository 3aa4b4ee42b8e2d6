/* codecs/dict_int.h -- the generated data dictionary tables (dict_gen.c, from
 * gen_dict.awk); read through codec_dict_vr(). */
#ifndef CASEPORT_DICT_INT_H
#define CASEPORT_DICT_INT_H
#include <stddef.h>
#include <stdint.h>

typedef struct codec_dict_entry {
    uint32_t tag;
    char vr[3];
} codec_dict_entry_t;

typedef struct codec_dict_range {
    uint16_t group_lo, group_hi, elem_lo, elem_hi;
    char vr[3];
} codec_dict_range_t;

extern const codec_dict_entry_t codec_dict_exact[]; /* ascending tags */
extern const size_t codec_dict_exact_count;
extern const codec_dict_range_t codec_dict_ranges[];
extern const size_t codec_dict_range_count;
#endif
