/* The streaming header parser against pydicom's corpus of real files (values checked
 * against pydicom's own reading of each file) and against hand-made malformed input. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "codec_dicom.h"
#include "codec_ds.h"

typedef struct file {
    uint8_t *data;
    size_t len;
    size_t ds_off; /* where the data set starts */
    codec_enc_t enc;
    bool has_meta;
} file_t;

static bool read_file(const char *path, file_t *f)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return false;
    fseek(fp, 0, SEEK_END);
    f->len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->data = malloc(f->len ? f->len : 1);
    size_t got = fread(f->data, 1, f->len, fp);
    fclose(fp);
    return got == f->len;
}

/* Walks the group 0002 elements (always Explicit VR LE) to find the data set and its
 * transfer syntax; files without meta are taken as Implicit VR LE from offset 0. */
static void load(const char *name, file_t *f)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CP_PYDICOM_DATA, name);
    memset(f, 0, sizeof *f);
    assert_true(read_file(path, f));
    f->enc = CODEC_ENC_IMPLICIT_LE;
    if (f->len < 132 || memcmp(f->data + 128, "DICM", 4) != 0)
        return;
    f->has_meta = true;
    size_t off = 132;
    char ts[65] = "";
    while (off + 8 <= f->len && f->data[off] == 2 && f->data[off + 1] == 0) {
        uint16_t elem = (uint16_t)(f->data[off + 2] | f->data[off + 3] << 8);
        const uint8_t *vr = f->data + off + 4;
        size_t n, head;
        if (memcmp(vr, "OB", 2) == 0 || memcmp(vr, "UN", 2) == 0) {
            n = (size_t)f->data[off + 8] | (size_t)f->data[off + 9] << 8 |
                (size_t)f->data[off + 10] << 16 | (size_t)f->data[off + 11] << 24;
            head = 12;
        } else {
            n = (size_t)(f->data[off + 6] | f->data[off + 7] << 8);
            head = 8;
        }
        if (elem == 0x0010 && n < sizeof ts) {
            size_t k = n;
            memcpy(ts, f->data + off + head, k);
            ts[k] = '\0';
            while (k > 0 && (ts[k - 1] == '\0' || ts[k - 1] == ' '))
                ts[--k] = '\0';
        }
        off += head + n;
    }
    f->ds_off = off;
    const codec_ts_t *t = codec_ts_find(ts);
    if (t != NULL)
        f->enc = t->enc;
}

static cp_err_t parse_chunks(const file_t *f, size_t step, codec_dshdr_fields_t *out,
                             cp_errinfo_t *ei)
{
    codec_dshdr_t *p;
    assert_int_equal(codec_dshdr_new(f->enc, NULL, &p, ei), CP_OK);
    cp_err_t err = CP_OK;
    for (size_t off = f->ds_off; off < f->len && err == CP_OK; off += step) {
        size_t n = f->len - off < step ? f->len - off : step;
        err = codec_dshdr_feed(p, f->data + off, n, ei);
    }
    if (err == CP_OK)
        err = codec_dshdr_finish(p, out, ei);
    codec_dshdr_free(p);
    return err;
}

static void parse_ok(const char *name, codec_dshdr_fields_t *out)
{
    file_t f;
    load(name, &f);
    cp_errinfo_t ei = {0};
    memset(out, 0, sizeof *out);
    cp_err_t err = parse_chunks(&f, f.len, out, &ei);
    if (err != CP_OK)
        fail_msg("%s: %s", name, ei.msg);
    free(f.data);
}

void tables_storage_classes_unique_and_found(void **state)
{
    (void)state;
    assert_true(codec_storage_sop_class_count > 150);
    for (size_t i = 0; i < codec_storage_sop_class_count; i++)
        for (size_t j = i + 1; j < codec_storage_sop_class_count; j++)
            assert_string_not_equal(codec_storage_sop_classes[i].uid,
                                    codec_storage_sop_classes[j].uid);
    assert_string_equal(codec_storage_sop_class_find("1.2.840.10008.5.1.4.1.1.2")->name,
                        "CT Image Storage");
    assert_non_null(codec_storage_sop_class_find("1.2.840.10008.5.1.4.1.1.104.1")); /* PDF */
    assert_non_null(codec_storage_sop_class_find("1.2.840.10008.5.1.4.1.1.77.1.6")); /* WSI */
    assert_non_null(codec_storage_sop_class_find("1.2.840.10008.5.1.4.1.1.5")); /* retired NM */
    assert_null(codec_storage_sop_class_find("1.2.840.10008.1.1"));             /* Verification */
    assert_null(codec_storage_sop_class_find("1.2.840.10008.5.1.4.1.2.2.1"));   /* Q/R FIND */
    assert_null(codec_storage_sop_class_find("1.2.840.10008.5.1.4.1.1.2.9"));
}

void tables_transfer_syntaxes(void **state)
{
    (void)state;
    assert_int_equal(codec_transfer_syntax_count, 13);
    assert_int_equal(codec_ts_find("1.2.840.10008.1.2")->enc, CODEC_ENC_IMPLICIT_LE);
    assert_int_equal(codec_ts_find("1.2.840.10008.1.2.2")->enc, CODEC_ENC_EXPLICIT_BE);
    assert_int_equal(codec_ts_find("1.2.840.10008.1.2.1.99")->enc, CODEC_ENC_DEFLATED_LE);
    assert_true(codec_ts_find("1.2.840.10008.1.2.4.91")->lossy);
    assert_false(codec_ts_find("1.2.840.10008.1.2.4.90")->lossy);
    assert_true(codec_ts_find("1.2.840.10008.1.2.5")->encapsulated);
    assert_null(codec_ts_find("1.2.840.10008.1.2.4.100")); /* MPEG2: not stored yet */
    assert_null(codec_ts_find("1.2.840.10008.1.2.1 "));
}

void header_explicit_le_ct(void **state)
{
    (void)state;
    codec_dshdr_fields_t f;
    parse_ok("CT_small.dcm", &f);
    assert_string_equal(f.sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
    assert_string_equal(f.sop_instance_uid, "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322");
    assert_string_equal(f.study_uid, "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322");
    assert_string_equal(f.patient_id, "1CT1");
    assert_string_equal(f.patient_name, "CompressedSamples^CT1");
    assert_string_equal(f.modality, "CT");
    assert_true(f.has_pixel_data);
}

static void expect_mr(const char *name)
{
    codec_dshdr_fields_t f;
    parse_ok(name, &f);
    assert_string_equal(f.sop_instance_uid, "1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457");
    assert_string_equal(f.study_uid, "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457");
    assert_string_equal(f.patient_id, "4MR1");
    assert_string_equal(f.modality, "MR");
    assert_string_equal(f.sop_class_uid, "1.2.840.10008.5.1.4.1.1.4");
    assert_true(f.has_pixel_data);
    /* the image attributes, as pydicom reads them, in every byte order */
    assert_int_equal(f.rows, 64);
    assert_int_equal(f.columns, 64);
    assert_int_equal(f.bits_allocated, 16);
    assert_int_equal(f.samples_per_pixel, 1);
    assert_string_equal(f.photometric, "MONOCHROME2");
    bool native = strstr(name, "RLE") == NULL && strstr(name, "jp") == NULL;
    assert_int_equal(f.pixel_data_length, native ? 64 * 64 * 2 : 0xFFFFFFFFu); /* fragments */
    assert_int_equal(f.pixel_data_header, strstr(name, "implicit") ? 8 : 12);
}

void header_implicit_le_mr(void **state)
{
    (void)state;
    expect_mr("MR_small_implicit.dcm");
}

void header_explicit_be_mr(void **state)
{
    (void)state;
    expect_mr("MR_small_bigendian.dcm");
}

void header_deflated(void **state)
{
    (void)state;
    codec_dshdr_fields_t f;
    parse_ok("image_dfl.dcm", &f);
    assert_string_equal(f.sop_instance_uid, "1.3.6.1.4.1.5962.1.1.0.0.0.977067309.6001.0");
    assert_string_equal(f.study_uid, "1.3.6.1.4.1.5962.1.2.0.977067310.6001.0");
    assert_string_equal(f.modality, "OT");
    assert_true(f.has_pixel_data);
}

void header_encapsulated_jpeg_family_and_rle(void **state)
{
    (void)state;
    codec_dshdr_fields_t f;
    parse_ok("JPEG2000.dcm", &f);
    assert_string_equal(f.sop_instance_uid, "1.3.6.1.4.1.5962.1.1.8.1.3.20040826185059.5457");
    assert_string_equal(f.patient_id, "8NM1");
    assert_true(f.has_pixel_data);
    expect_mr("MR_small_RLE.dcm");            /* RLE Lossless */
    expect_mr("MR_small_jpeg_ls_lossless.dcm"); /* JPEG-LS lossless */
    expect_mr("MR_small_jp2klossless.dcm");   /* JPEG 2000 lossless */
    parse_ok("JPGExtended.dcm", &f);          /* JPEG Extended */
    assert_string_equal(f.sop_instance_uid, "1.3.6.1.4.1.5962.1.1.8.1.5.20040826185059.5457");
    assert_true(f.has_pixel_data);
    parse_ok("SC_rgb_jpeg_dcmtk.dcm", &f); /* JPEG Baseline */
    assert_string_equal(f.sop_instance_uid,
                        "1.2.276.0.7230010.3.1.4.8323329.15150.1506363677.126194");
    assert_string_equal(f.modality, "OT");
    assert_true(f.has_pixel_data);
}

void header_sequences_without_pixel_data(void **state)
{
    (void)state;
    codec_dshdr_fields_t f;
    parse_ok("rtplan.dcm", &f); /* implicit VR, nested sequences */
    assert_string_equal(f.sop_instance_uid, "1.2.777.777.77.7.7777.7777.20030903150023");
    assert_string_equal(f.study_uid, "1.22.333.4.555555.6.7777777777777777777777777777");
    assert_string_equal(f.patient_id, "id00001");
    assert_string_equal(f.patient_name, "Last^First^mid^pre");
    assert_false(f.has_pixel_data);
    parse_ok("reportsi.dcm", &f); /* SR content tree: undefined-length sequences */
    assert_string_equal(f.sop_instance_uid,
                        "1.2.276.0.7230010.3.1.4.1787205428.166.1117461927.10");
    assert_string_equal(f.modality, "SR");
    parse_ok("test-SR.dcm", &f);
    assert_string_equal(f.sop_instance_uid, "1.2.276.0.7230010.3.1.4.2139363186.7819.982086466.4");
    parse_ok("nested_priv_SQ.dcm", &f); /* no meta, private nested sequences */
    assert_string_equal(f.sop_instance_uid, "");
}

/* Fed one byte at a time, every corpus file gives exactly what one big chunk gives:
 * the same fields, or the same refusal. */
void header_bytewise_equals_whole_for_corpus(void **state)
{
    (void)state;
    DIR *d = opendir(CP_PYDICOM_DATA);
    assert_non_null(d);
    struct dirent *e;
    int files = 0, ok = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".dcm") != 0)
            continue;
        file_t f;
        load(e->d_name, &f);
        codec_dshdr_fields_t whole, bytes;
        memset(&whole, 0, sizeof whole);
        memset(&bytes, 0, sizeof bytes);
        cp_errinfo_t e1 = {0}, e2 = {0};
        cp_err_t a = parse_chunks(&f, f.len, &whole, &e1);
        cp_err_t b = parse_chunks(&f, 1, &bytes, &e2);
        assert_int_equal(a, b);
        if (a == CP_OK) {
            assert_memory_equal(&whole, &bytes, sizeof whole);
            ok++;
        } else {
            assert_string_equal(e1.msg, e2.msg);
        }
        files++;
        free(f.data);
    }
    closedir(d);
    assert_true(files >= 60);
    assert_true(ok >= 55);
}

void header_truncated_refused(void **state)
{
    (void)state;
    file_t f;
    load("rtplan_truncated.dcm", &f); /* cut inside an element, no pixel data */
    codec_dshdr_fields_t out;
    cp_errinfo_t ei = {0};
    assert_int_equal(parse_chunks(&f, 4096, &out, &ei), CP_EPARSE);
    assert_non_null(strstr(ei.msg, "ends inside"));
    free(f.data);
    /* MR_truncated.dcm is cut inside Pixel Data: the header is complete, which is all
     * this parser vouches for (the pixel length is checked by the codecs' decoders). */
    load("MR_truncated.dcm", &f);
    assert_int_equal(parse_chunks(&f, 4096, &out, &ei), CP_OK);
    assert_true(out.has_pixel_data);
    free(f.data);
}

static cp_err_t parse_bytes(codec_enc_t enc, const uint8_t *b, size_t n,
                            const codec_dshdr_limits_t *lim, cp_errinfo_t *ei)
{
    codec_dshdr_t *p;
    assert_int_equal(codec_dshdr_new(enc, lim, &p, NULL), CP_OK);
    codec_dshdr_fields_t out;
    cp_err_t err = codec_dshdr_feed(p, b, n, ei);
    if (err == CP_OK)
        err = codec_dshdr_finish(p, &out, ei);
    codec_dshdr_free(p);
    return err;
}

void header_item_tag_at_top_level(void **state)
{
    (void)state;
    uint8_t b[] = {0x08, 0x00, 0x60, 0x00, 2, 0, 0, 0, 'C', 'T',
                   0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF};
    cp_errinfo_t ei = {0};
    assert_int_equal(parse_bytes(CODEC_ENC_IMPLICIT_LE, b, sizeof b, NULL, &ei), CP_EPARSE);
    assert_string_equal(ei.msg, "item tag (fffe,e000) at top level at offset 10");
}

void header_garbage_refused(void **state)
{
    (void)state;
    uint8_t b[64];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)(i * 37 + 11);
    cp_errinfo_t ei = {0};
    assert_int_equal(parse_bytes(CODEC_ENC_EXPLICIT_LE, b, sizeof b, NULL, &ei), CP_EPARSE);
    /* a corrupt deflate stream */
    assert_int_equal(parse_bytes(CODEC_ENC_DEFLATED_LE, (const uint8_t *)"\xff\xff\xff\xff", 4,
                                 NULL, &ei),
                     CP_EPARSE);
    assert_non_null(strstr(ei.msg, "deflate"));
}

void header_depth_limit(void **state)
{
    (void)state;
    /* 40 nested undefined-length sequences, each with an undefined-length item. */
    uint8_t b[40 * 16 + 64];
    size_t n = 0;
    for (int i = 0; i < 40; i++) {
        const uint8_t sq[] = {0x09, 0x00, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF,
                              0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF};
        memcpy(b + n, sq, sizeof sq);
        n += sizeof sq;
    }
    cp_errinfo_t ei = {0};
    codec_dshdr_limits_t lim = {.max_depth = 8};
    assert_int_equal(parse_bytes(CODEC_ENC_IMPLICIT_LE, b, n, &lim, &ei), CP_EPARSE);
    assert_non_null(strstr(ei.msg, "nested deeper than 8"));
    assert_int_equal(parse_bytes(CODEC_ENC_IMPLICIT_LE, b, n, NULL, &ei), CP_EPARSE);
    assert_non_null(strstr(ei.msg, "nested deeper than 16"));
}

/* Sequences of defined length, nested `depth` deep in Explicit VR LE, each with one item
 * of defined length, the innermost item holding one short element. Returns its size. */
static size_t nest_defined(uint8_t *b, int depth)
{
    static const uint8_t leaf[] = {0x10, 0x00, 0x20, 0x00, 'L', 'O', 2, 0, 'X', ' '};
    size_t len = sizeof leaf;
    uint8_t *at = b + (size_t)depth * 20; /* 12 bytes of SQ header, 8 of item header */
    memcpy(at, leaf, sizeof leaf);
    for (int i = depth - 1; i >= 0; i--) {
        uint8_t *h = b + (size_t)i * 20;
        uint32_t item = (uint32_t)len, seq = (uint32_t)len + 8;
        const uint8_t sq[12] = {0x09, 0x00, 0x10, 0x10, 'S', 'Q', 0, 0,
                                (uint8_t)seq, (uint8_t)(seq >> 8), (uint8_t)(seq >> 16), 0};
        const uint8_t it[8] = {0xFE, 0xFF, 0x00, 0xE0,
                               (uint8_t)item, (uint8_t)(item >> 8), (uint8_t)(item >> 16), 0};
        memcpy(h, sq, sizeof sq);
        memcpy(h + 12, it, sizeof it);
        len += 20;
    }
    return len;
}

/* One nesting limit for every parser (CODEC_MAX_DEPTH): sequences of defined length are
 * read into and counted too (a 10 000-deep one used to be skipped whole and acknowledged,
 * then killed every later stage); 16 deep passes the intake's parser and the data set
 * walker alike, 17 deep is refused; a length that runs past its item is refused. */
void header_defined_length_nesting(void **state)
{
    (void)state;
    static uint8_t b[10000 * 20 + 64];
    cp_errinfo_t ei = {0};
    size_t n = nest_defined(b, CODEC_MAX_DEPTH);
    assert_int_equal(parse_bytes(CODEC_ENC_EXPLICIT_LE, b, n, NULL, &ei), CP_OK);
    codec_elem_t e;
    char path[16 * 16 + 16];
    size_t at = 0;
    for (int i = 0; i < CODEC_MAX_DEPTH; i++)
        at += (size_t)snprintf(path + at, sizeof path - at, "0009,1010[0].");
    snprintf(path + at, sizeof path - at, "0010,0020");
    cp_err_t found = codec_ds_find(CODEC_ENC_EXPLICIT_LE, b, n, path, &e, &ei);
    if (found != CP_OK)
        fail_msg("the walker: %s", ei.msg);
    n = nest_defined(b, CODEC_MAX_DEPTH + 1);
    assert_int_equal(parse_bytes(CODEC_ENC_EXPLICIT_LE, b, n, NULL, &ei), CP_EPARSE);
    assert_non_null(strstr(ei.msg, "nested deeper than 16"));
    n = nest_defined(b, 10000);
    assert_int_equal(parse_bytes(CODEC_ENC_EXPLICIT_LE, b, n, NULL, &ei), CP_EPARSE);
    assert_non_null(strstr(ei.msg, "nested deeper than 16"));
    n = nest_defined(b, 2);
    b[20 + 20 + 6] = 200; /* the innermost element's length runs past its item */
    assert_int_equal(parse_bytes(CODEC_ENC_EXPLICIT_LE, b, n, NULL, &ei), CP_EPARSE);
    assert_non_null(strstr(ei.msg, "runs past its sequence or item"));
}

void header_size_limit(void **state)
{
    (void)state;
    file_t f;
    load("CT_small.dcm", &f);
    codec_dshdr_t *p;
    codec_dshdr_limits_t lim = {.max_header_bytes = 200};
    assert_int_equal(codec_dshdr_new(f.enc, &lim, &p, NULL), CP_OK);
    cp_errinfo_t ei = {0};
    assert_int_equal(codec_dshdr_feed(p, f.data + f.ds_off, f.len - f.ds_off, &ei), CP_EPARSE);
    assert_non_null(strstr(ei.msg, "limit"));
    /* dead parsers stay dead */
    assert_int_equal(codec_dshdr_feed(p, f.data, 1, &ei), CP_EPARSE);
    codec_dshdr_free(p);
    free(f.data);
}

void header_empty_refused(void **state)
{
    (void)state;
    cp_errinfo_t ei = {0};
    assert_int_equal(parse_bytes(CODEC_ENC_EXPLICIT_LE, (const uint8_t *)"", 0, NULL, &ei),
                     CP_EPARSE);
    assert_string_equal(ei.msg, "empty data set");
}

void meta_group_is_well_formed(void **state)
{
    (void)state;
    uint8_t out[1024];
    size_t len;
    assert_int_equal(codec_part10_meta("1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.5", "1.2.840.10008.1.2",
                                       "MODALITY1", out, sizeof out, &len, NULL),
                     CP_OK);
    assert_memory_equal(out + 128, "DICM", 4);
    assert_int_equal(out[0], 0);
    uint32_t gl = (uint32_t)out[140] | (uint32_t)out[141] << 8;
    assert_int_equal(132 + 12 + gl, len);
    assert_int_equal(len % 2, 0);
    /* small buffers and long UIDs are refused, never overrun */
    assert_int_equal(codec_part10_meta("1.2", "1.2", "1.2", "", out, 100, &len, NULL),
                     CP_ETOOBIG);
    char long_uid[80];
    memset(long_uid, '1', sizeof long_uid - 1);
    long_uid[79] = '\0';
    assert_int_equal(codec_part10_meta("1.2", long_uid, "1.2", "", out, sizeof out, &len, NULL),
                     CP_EINVAL);
}

void meta_with_data_set_reads_in_dcmdump(void **state)
{
    (void)state;
    file_t f;
    load("CT_small.dcm", &f);
    uint8_t meta[1024];
    size_t len;
    assert_int_equal(codec_part10_meta("1.2.840.10008.5.1.4.1.1.2",
                                       "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322",
                                       "1.2.840.10008.1.2.1", "SENDER", meta, sizeof meta, &len,
                                       NULL),
                     CP_OK);
    char path[] = "/tmp/cp-meta-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, meta, len), (ssize_t)len);
    assert_int_equal(write(fd, f.data + f.ds_off, f.len - f.ds_off), (ssize_t)(f.len - f.ds_off));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "dcmdump -q +P 0002,0016 +P 0002,0013 +P 0010,0020 %s | grep -c -e SENDER -e "
             "CASEPORT_010 -e 1CT1 | grep -qx 3",
             path);
    int rc = system(cmd);
    unlink(path);
    free(f.data);
    assert_int_equal(rc, 0);
}

/* A deflated data set without Pixel Data whose inflated size lands just past the parser's
 * inflate buffer: with all input consumed in one feed, zlib still holds the end of the last
 * match, and the parser must ask for it rather than wait for input that never comes. */
void header_deflated_drains_inflate_at_end(void **state)
{
    (void)state;
    static uint8_t ds[40000], z[4096];
    const uint8_t head[] = {0x08, 0x00, 0x16, 0x00, 'U', 'I', 0x08, 0x00, '1', '.', '2', '.',
                            '3', '.', '4', 0x00, 0x42, 0x00, 0x11, 0x00, 'O', 'B', 0x00, 0x00};
    for (uint32_t n = 16000; n < 17000; n += 2) {
        memset(ds, 0, sizeof ds);
        memcpy(ds, head, sizeof head);
        for (int i = 0; i < 4; i++)
            ds[sizeof head + i] = (uint8_t)(n >> (8 * i));
        size_t len = sizeof head + 4 + n;
        z_stream s = {0};
        assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
        s.next_in = ds;
        s.avail_in = (uInt)len;
        s.next_out = z;
        s.avail_out = sizeof z;
        assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
        size_t zlen = sizeof z - s.avail_out;
        deflateEnd(&s);
        cp_errinfo_t ei = {0};
        cp_err_t err = parse_bytes(CODEC_ENC_DEFLATED_LE, z, zlen, NULL, &ei);
        if (err != CP_OK)
            fail_msg("value of %u bytes: %s", n, ei.msg);
    }
}
