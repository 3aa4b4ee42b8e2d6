/* The data set re-encoder on a hand-made Explicit VR Big Endian data set: byte order by
 * VR, Latin-1 text to UTF-8 (an item's own UTF-8 kept), an odd length padded, an edit
 * replacing (0008,0005), a group length dropped; and truncation refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec_coerce.h"
#include "codec_ds.h"
#include "codec_xcode.h"

typedef struct bytes {
    uint8_t p[1024];
    size_t len, off;
} bytes_t;

static void be(bytes_t *b, uint16_t g, uint16_t e, const char *vr, const void *v, uint32_t len)
{
    uint8_t *o = b->p + b->len;
    o[0] = (uint8_t)(g >> 8), o[1] = (uint8_t)g, o[2] = (uint8_t)(e >> 8), o[3] = (uint8_t)e;
    if (g == 0xFFFE) {
        for (int i = 0; i < 4; i++)
            o[4 + i] = (uint8_t)(len >> (24 - 8 * i));
        b->len += 8;
    } else {
        memcpy(o + 4, vr, 2);
        if (strcmp(vr, "SQ") == 0) {
            o[6] = o[7] = 0;
            for (int i = 0; i < 4; i++)
                o[8 + i] = (uint8_t)(len >> (24 - 8 * i));
            b->len += 12;
        } else {
            o[6] = (uint8_t)(len >> 8), o[7] = (uint8_t)len;
            b->len += 8;
        }
    }
    if (v != NULL && len != 0xFFFFFFFFu) {
        memcpy(b->p + b->len, v, len);
        b->len += len;
    }
}

static cp_err_t rd(void *ud, void *buf, size_t cap, size_t *n, cp_errinfo_t *ei)
{
    (void)ei;
    bytes_t *b = ud;
    *n = b->len - b->off < cap ? b->len - b->off : cap;
    if (*n > 3)
        *n = 3; /* small reads: nothing may assume a read holds a whole element */
    memcpy(buf, b->p + b->off, *n);
    b->off += *n;
    return CP_OK;
}

static cp_err_t wr(void *ud, const void *data, size_t len, cp_errinfo_t *ei)
{
    (void)ei;
    bytes_t *b = ud;
    assert_true(b->len + len <= sizeof b->p);
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return CP_OK;
}

/* The offsets where a top-level element of sample() ends: a cut there leaves a shorter
 * but whole data set. */
static size_t sample_ends[8];
static int n_sample_ends;

static void sample(bytes_t *in)
{
    n_sample_ends = 0;
    be(in, 0x0008, 0x0000, "UL", "\0\0\0\x10", 4); /* a group length: dropped */
    sample_ends[n_sample_ends++] = in->len;
    be(in, 0x0008, 0x0005, "CS", "ISO_IR 100", 10);
    sample_ends[n_sample_ends++] = in->len;
    be(in, 0x0010, 0x0010, "PN", "M\xFCller^Ann", 11); /* odd, Latin-1 */
    sample_ends[n_sample_ends++] = in->len;
    be(in, 0x0028, 0x0010, "US", "\x01\x02", 2);
    sample_ends[n_sample_ends++] = in->len;
    be(in, 0x0040, 0x0275, "SQ", NULL, 0xFFFFFFFFu);
    be(in, 0xFFFE, 0xE000, NULL, NULL, 0xFFFFFFFFu);
    be(in, 0x0008, 0x0005, "CS", "ISO_IR 192", 10);
    be(in, 0x0040, 0x0007, "LO", "K\xC3\xA4se ", 6);
    be(in, 0xFFFE, 0xE00D, NULL, NULL, 0);
    be(in, 0xFFFE, 0xE0DD, NULL, NULL, 0);
    sample_ends[n_sample_ends++] = in->len;
}

void xcode_big_endian_latin1_to_utf8_le(void **state)
{
    (void)state;
    bytes_t in = {0}, out = {0};
    sample(&in);
    codec_edit_t cs = {CODEC_TAG(0x0008, 0x0005), "CS", "ISO_IR 192", 10, false};
    codec_xcode_opts_t o = {.in = CODEC_ENC_EXPLICIT_BE, .charset = "ISO_IR 100",
                            .edits = &cs, .n_edits = 1};
    codec_xcode_report_t rep;
    assert_int_equal(codec_xcode(&o, rd, &in, wr, &out, &rep, NULL), CP_OK);
    assert_int_equal(rep.group_lengths, 1);
    assert_int_equal(rep.non_ascii, 2);
    assert_int_equal(rep.guessed, 0);

    codec_ds_iter_t it;
    codec_elem_t e;
    char text[64];
    codec_ds_iter_init(&it, CODEC_ENC_EXPLICIT_LE, out.p, out.len);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    assert_int_equal(e.tag, CODEC_TAG(0x0008, 0x0005));
    codec_elem_text(&e, text, sizeof text);
    assert_string_equal(text, "ISO_IR 192");
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    assert_int_equal(e.tag, CODEC_TAG(0x0010, 0x0010));
    assert_int_equal(e.len % 2, 0);
    codec_elem_text(&e, text, sizeof text);
    assert_string_equal(text, "M\xC3\xBCller^Ann");
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    uint16_t rows;
    assert_true(codec_elem_us(&it, &e, &rows));
    assert_int_equal(rows, 0x0102);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    assert_string_equal(e.vr, "SQ");
    codec_ds_iter_t seq, item;
    codec_ds_seq_init(&seq, &it, &e);
    assert_int_equal(codec_ds_item_next(&seq, &item, NULL), CP_OK);
    assert_int_equal(codec_ds_next(&item, &e, NULL), CP_OK); /* the item's (0008,0005) */
    codec_elem_text(&e, text, sizeof text);
    assert_string_equal(text, "ISO_IR 192");
    assert_int_equal(codec_ds_next(&item, &e, NULL), CP_OK);
    codec_elem_text(&e, text, sizeof text);
    assert_string_equal(text, "K\xC3\xA4se"); /* already UTF-8: decoded as such, not as Latin-1 */
    assert_int_equal(codec_ds_next(&item, &e, NULL), CP_EOF);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_EOF);
}

void xcode_truncated_refused(void **state)
{
    (void)state;
    bytes_t in = {0};
    sample(&in);
    int whole = 0, refused = 0;
    for (size_t cut = 1; cut < in.len; cut++) {
        bytes_t part = in, out = {0};
        part.len = cut;
        codec_xcode_opts_t o = {.in = CODEC_ENC_EXPLICIT_BE};
        codec_xcode_report_t rep;
        cp_err_t err = codec_xcode(&o, rd, &part, wr, &out, &rep, NULL);
        bool boundary = false;
        for (int i = 0; i < n_sample_ends; i++)
            boundary = boundary || sample_ends[i] == cut;
        /* a cut between two top-level elements is a shorter, whole data set; any other
         * cut ends inside an element, item or sequence and is refused */
        assert_int_equal(err, boundary ? CP_OK : CP_EPARSE);
        boundary ? whole++ : refused++;
    }
    assert_int_equal(whole, n_sample_ends - 1);
    assert_true(refused > 50);
}

void xcode_missing_charset_guessed(void **state)
{
    (void)state;
    bytes_t in = {0}, out = {0};
    be(&in, 0x0010, 0x0010, "PN", "G\xE9rard", 6); /* 8-bit, no (0008,0005) */
    codec_xcode_opts_t o = {.in = CODEC_ENC_EXPLICIT_BE, .charset = ""};
    codec_xcode_report_t rep;
    assert_int_equal(codec_xcode(&o, rd, &in, wr, &out, &rep, NULL), CP_OK);
    assert_int_equal(rep.guessed, 1);
    assert_int_equal(rep.guessed_tag, CODEC_TAG(0x0010, 0x0010));
    codec_ds_iter_t it;
    codec_elem_t e;
    char text[32];
    codec_ds_iter_init(&it, CODEC_ENC_EXPLICIT_LE, out.p, out.len);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    codec_elem_text(&e, text, sizeof text);
    assert_string_equal(text, "G\xC3\xA9rard");
}

/* Coercion: the name replaced, an existing Original Attributes Sequence keeps its item and
 * gains one with the name sent; an identity that matches changes nothing. */
void coerce_appends_to_original_attributes(void **state)
{
    (void)state;
    codec_ds_buf_t in;
    codec_ds_buf_init(&in, CODEC_ENC_EXPLICIT_LE);
    codec_ds_put_text(&in, CODEC_TAG(0x0010, 0x0010), "SENT^NAME");
    codec_ds_put_text(&in, CODEC_TAG(0x0010, 0x0020), "PID1");
    codec_ds_seq_begin(&in, CODEC_TAG(0x0400, 0x0561));
    codec_ds_item_begin(&in);
    codec_ds_put_text(&in, CODEC_TAG(0x0400, 0x0565), "CORRECT");
    codec_ds_item_end(&in);
    codec_ds_seq_end(&in);

    codec_identity_t sent = {"PID1", "", "SENT^NAME", "", ""};
    codec_identity_t same = sent;
    codec_coercion_t co;
    codec_coerce_identity(&sent, &same, "20261128120000", "MODALITY", &co);
    assert_int_equal(co.n_changed, 0);
    codec_coerce_free(&co);

    codec_identity_t target = {"PID1", "", "RECORD^NAME", "", ""};
    codec_coerce_identity(&sent, &target, "20261128120000", "MODALITY", &co);
    assert_int_equal(co.n_changed, 1);
    assert_string_equal(co.what, "PatientName");
    bytes_t src = {0}, out = {0};
    memcpy(src.p, in.data, in.len);
    src.len = in.len;
    codec_xcode_opts_t o = {.in = CODEC_ENC_EXPLICIT_LE, .edits = co.edits, .n_edits = co.n_edits};
    codec_xcode_report_t rep;
    assert_int_equal(codec_xcode(&o, rd, &src, wr, &out, &rep, NULL), CP_OK);
    codec_coerce_free(&co);
    codec_ds_buf_free(&in);

    codec_ds_iter_t it, seq, item, mseq, mitem;
    codec_elem_t e;
    char text[64];
    codec_ds_iter_init(&it, CODEC_ENC_EXPLICIT_LE, out.p, out.len);
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    codec_elem_text(&e, text, sizeof text);
    assert_string_equal(text, "RECORD^NAME");
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK); /* PID1 */
    assert_int_equal(codec_ds_next(&it, &e, NULL), CP_OK);
    assert_int_equal(e.tag, CODEC_TAG(0x0400, 0x0561));
    codec_ds_seq_init(&seq, &it, &e);
    assert_int_equal(codec_ds_item_next(&seq, &item, NULL), CP_OK); /* the one there */
    assert_int_equal(codec_ds_item_next(&seq, &item, NULL), CP_OK); /* ours */
    assert_int_equal(codec_ds_next(&item, &e, NULL), CP_OK);
    assert_int_equal(e.tag, CODEC_TAG(0x0400, 0x0550));
    codec_ds_seq_init(&mseq, &item, &e);
    assert_int_equal(codec_ds_item_next(&mseq, &mitem, NULL), CP_OK);
    assert_int_equal(codec_ds_next(&mitem, &e, NULL), CP_OK);
    codec_elem_text(&e, text, sizeof text);
    assert_string_equal(text, "SENT^NAME");
    const char *want[] = {"20261128120000", "caseport", "MODALITY", "COERCE"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(codec_ds_next(&item, &e, NULL), CP_OK);
        codec_elem_text(&e, text, sizeof text);
        assert_string_equal(text, want[i]);
    }
    assert_int_equal(codec_ds_item_next(&seq, &item, NULL), CP_EOF);
}

/* A name of empty components names nobody: it is never written over a name that was sent
 * (rule 7), while the other attributes of the target still are. */
void coerce_never_writes_a_blank_name(void **state)
{
    (void)state;
    codec_identity_t sent = {"PID1", "", "Last Name^First Name", "", ""};
    static const char *const blanks[] = {"^^^^", "^ ^", "==", " "};
    for (size_t i = 0; i < sizeof blanks / sizeof blanks[0]; i++) {
        codec_identity_t target = {"PID2", "", blanks[i], "", ""};
        codec_coercion_t co;
        codec_coerce_identity(&sent, &target, "20261207120000", "MODALITY", &co);
        assert_int_equal(co.n_changed, 1);
        assert_string_equal(co.what, "PatientID");
        codec_coerce_free(&co);
    }
}
