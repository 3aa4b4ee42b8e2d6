/* libFuzzer target: the upper-layer framer, A-ASSOCIATE-RQ and -AC parsers, PDV iteration and the
 * DIMSE command parser, fed the stream in chunks whose sizes come from the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dimse.h"
#include "ul_pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_pdu(const gw_ul_reader_t *r)
{
    if (r->type == GW_PDU_ASSOC_RQ) {
        static gw_ul_assoc_rq_t rq;
        gw_ul_parse_assoc_rq(r->body, r->len, &rq, NULL);
    } else if (r->type == GW_PDU_ASSOC_AC) { /* what a C-MOVE destination answers */
        static gw_ul_assoc_ac_t ac;
        gw_ul_parse_assoc_ac(r->body, r->len, &ac, NULL);
    } else if (r->type == GW_PDU_P_DATA) {
        size_t off = 0;
        gw_ul_pdv_t v;
        while (gw_ul_next_pdv(r->body, r->len, &off, &v, NULL) == CP_OK) {
            gw_dimse_cmd_t c;
            if (v.command)
                gw_dimse_parse(v.data, v.len, &c, NULL);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 64 + 1; /* read boundaries vary with the input */
    data++;
    size--;
    gw_ul_reader_t r;
    gw_ul_reader_init(&r, 65536, 65536);
    for (size_t off = 0; off < size;) {
        size_t n = size - off < step ? size - off : step;
        size_t used;
        bool complete;
        if (gw_ul_reader_feed(&r, data + off, n, &used, &complete, NULL) != CP_OK)
            break;
        off += used;
        if (complete)
            on_pdu(&r);
    }
    gw_ul_reader_free(&r);
    return 0;
}
