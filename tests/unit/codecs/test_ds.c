/* The in-memory data set iterator and writer: what the writer makes reads back the same
 * in both encodings, sequences of defined and undefined length nest, and malformed input
 * is refused rather than overrun. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec_ds.h"

static void write_sample(codec_ds_buf_t *b)
{
    codec_ds_put_text(b, CODEC_TAG(0x0008, 0x0052), "STUDY");
    codec_ds_seq_begin(b, CODEC_TAG(0x0008, 0x1199));
    for (int i = 0; i < 2; i++) {
        codec_ds_item_begin(b);
        codec_ds_put_text(b, CODEC_TAG(0x0008, 0x1150), "1.2.840.10008.5.1.4.1.1.2");
        codec_ds_put_text(b, CODEC_TAG(0x0008, 0x1155), i ? "1.2.3.45" : "1.2.3.4");
        codec_ds_item_end(b);
    }
    codec_ds_seq_end(b);
    codec_ds_put_text(b, CODEC_TAG(0x0010, 0x0010), "DOE^JANE");
    codec_ds_put_us(b, CODEC_TAG(0x0008, 0x1197), 0x0112);
    codec_ds_put(b, CODEC_TAG(0x0009, 0x1010), "odd", 3); /* private, unknown: UN */
}

static void check_sample(codec_enc_t enc, const codec_ds_buf_t *b)
{
    codec_ds_iter_t it, seq, item;
    codec_elem_t e;
    char t[80];
    codec_ds_iter_init(&it, enc, b->data, b->len);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    assert_int_equal(e.tag, CODEC_TAG(0x0008, 0x0052));
    assert_int_equal(e.len, 6); /* "STUDY " */
    assert_true(codec_elem_text(&e, t, sizeof t));
    assert_string_equal(t, "STUDY");
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    assert_string_equal(e.vr, "SQ");
    codec_ds_seq_init(&seq, &it, &e);
    int items = 0;
    while (codec_ds_item_next(&seq, &item, NULL) == CP_OK) {
        codec_elem_t f;
        assert_int_equal(codec_ds_next(&item, &f, NULL), CP_OK);
        assert_int_equal(f.tag, CODEC_TAG(0x0008, 0x1150));
        assert_int_equal(codec_ds_next(&item, &f, NULL), CP_OK);
        codec_elem_text(&f, t, sizeof t);
        assert_string_equal(t, items ? "1.2.3.45" : "1.2.3.4");
        assert_int_equal(f.value[f.len - 1], items ? '5' : 0); /* UI pads with NUL */
        assert_int_equal(codec_ds_next(&item, &f, NULL), CP_EOF);
        items++;
    }
    assert_int_equal(items, 2);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    codec_elem_text(&e, t, sizeof t);
    assert_string_equal(t, "DOE^JANE");
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    uint16_t us;
    assert_true(codec_elem_us(&it, &e, &us));
    assert_int_equal(us, 0x0112);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    assert_string_equal(e.vr, "UN");
    assert_int_equal(e.len, 4);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_EOF);
}

void ds_roundtrip_both_encodings(void **state)
{
    (void)state;
    codec_enc_t encs[] = {CODEC_ENC_IMPLICIT_LE, CODEC_ENC_EXPLICIT_LE};
    for (size_t i = 0; i < 2; i++) {
        codec_ds_buf_t b;
        codec_ds_buf_init(&b, encs[i]);
        write_sample(&b);
        assert_int_equal(b.len % 2, 0);
        check_sample(encs[i], &b);
        codec_ds_buf_free(&b);
    }
}

/* Explicit VR LE with a defined-length sequence and item, as many peers write them. */
void ds_defined_length_sequence(void **state)
{
    (void)state;
    static const uint8_t d[] = {
        0x08, 0x00, 0x99, 0x11, 'S', 'Q', 0, 0, 24, 0, 0, 0,        /* SQ, 24 bytes */
        0xFE, 0xFF, 0x00, 0xE0, 16, 0, 0, 0,                         /* item, 16 bytes */
        0x08, 0x00, 0x55, 0x11, 'U', 'I', 8, 0, '1', '.', '2', '.', '3', '.', '4', 0,
        0x10, 0x00, 0x20, 0x00, 'L', 'O', 2, 0, 'X', ' '};
    codec_ds_iter_t it, seq, item;
    codec_elem_t e;
    codec_ds_iter_init(&it, CODEC_ENC_EXPLICIT_LE, d, sizeof d);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    codec_ds_seq_init(&seq, &it, &e);
    assert_int_equal(codec_ds_item_next(&seq, &item, NULL), CP_OK);
    assert_int_equal(codec_ds_next(&item, &e, NULL), CP_OK);
    char t[65];
    codec_elem_text(&e, t, sizeof t);
    assert_string_equal(t, "1.2.3.4");
    assert_int_equal(codec_ds_item_next(&seq, &item, NULL), CP_EOF);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    assert_int_equal(e.tag, CODEC_TAG(0x0010, 0x0020));
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_EOF);
}

void ds_malformed_refused(void **state)
{
    (void)state;
    codec_ds_iter_t it;
    codec_elem_t e;
    static const uint8_t overrun[] = {0x10, 0x00, 0x10, 0x00, 'P', 'N', 40, 0, 'A', 'B'};
    codec_ds_iter_init(&it, CODEC_ENC_EXPLICIT_LE, overrun, sizeof overrun);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_EPARSE);
    static const uint8_t truncated[] = {0x10, 0x00, 0x10};
    codec_ds_iter_init(&it, CODEC_ENC_IMPLICIT_LE, truncated, sizeof truncated);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_EPARSE);
    static const uint8_t item_top[] = {0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0};
    codec_ds_iter_init(&it, CODEC_ENC_IMPLICIT_LE, item_top, sizeof item_top);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_EPARSE);
    /* an undefined-length sequence that never ends */
    static const uint8_t open_sq[] = {0x08, 0x00, 0x99, 0x11, 0xFF, 0xFF, 0xFF, 0xFF,
                                      0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF};
    codec_ds_iter_init(&it, CODEC_ENC_IMPLICIT_LE, open_sq, sizeof open_sq);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_EPARSE);
    /* undefined length on a string VR */
    static const uint8_t bad_undef[] = {0x10, 0x00, 0x10, 0x00, 'P', 'N', 0xFF, 0xFF};
    codec_ds_iter_init(&it, CODEC_ENC_EXPLICIT_LE, bad_undef, sizeof bad_undef);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_EPARSE);
}

void ds_nesting_limit(void **state)
{
    (void)state;
    codec_ds_buf_t b;
    codec_ds_buf_init(&b, CODEC_ENC_IMPLICIT_LE);
    for (int i = 0; i < 40; i++) {
        codec_ds_seq_begin(&b, CODEC_TAG(0x0008, 0x1199));
        codec_ds_item_begin(&b);
    }
    for (int i = 0; i < 40; i++) {
        codec_ds_item_end(&b);
        codec_ds_seq_end(&b);
    }
    codec_ds_iter_t it;
    codec_elem_t e;
    codec_ds_iter_init(&it, CODEC_ENC_IMPLICIT_LE, b.data, b.len);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_EPARSE);
    codec_ds_buf_free(&b);
}
