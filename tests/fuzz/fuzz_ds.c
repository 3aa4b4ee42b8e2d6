/* libFuzzer target: the in-memory data set iterator (Q/R identifiers, Storage Commitment
 * requests). The first byte picks the encoding; every element and item is walked. */
#include <stddef.h>
#include <stdint.h>

#include "codec_ds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(codec_ds_iter_t *it, int depth)
{
    codec_elem_t e;
    while (codec_ds_next(it, &e, NULL) == CP_OK) {
        char t[65];
        codec_elem_text(&e, t, sizeof t);
        if (e.vr[0] != 'S' || e.vr[1] != 'Q' || depth > 20)
            continue;
        codec_ds_iter_t seq, item;
        codec_ds_seq_init(&seq, it, &e);
        while (codec_ds_item_next(&seq, &item, NULL) == CP_OK)
            walk(&item, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const codec_enc_t encs[] = {CODEC_ENC_IMPLICIT_LE, CODEC_ENC_EXPLICIT_LE,
                                       CODEC_ENC_EXPLICIT_BE};
    codec_ds_iter_t it;
    codec_ds_iter_init(&it, encs[data[0] % 3], data + 1, size - 1);
    walk(&it, 0);
    return 0;
}
