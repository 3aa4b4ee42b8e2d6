/* codecs/j2k.c -- JPEG 2000 frames decoded and (losslessly) encoded with OpenJPEG
 * (codec_pixels.h). A DICOM
 * fragment holds a raw codestream (PS3.5 A.4.4), some senders wrap it in a JP2 file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openjpeg.h>

#include "codec_pixels.h"
#include "cp_mem.h"

typedef struct membuf {
    const uint8_t *p;
    size_t len, off;
} membuf_t;

static OPJ_SIZE_T mem_read(void *buf, OPJ_SIZE_T n, void *ud)
{
    membuf_t *m = ud;
    if (m->off >= m->len)
        return (OPJ_SIZE_T)-1;
    size_t k = m->len - m->off < n ? m->len - m->off : n;
    memcpy(buf, m->p + m->off, k);
    m->off += k;
    return k;
}

static OPJ_OFF_T mem_skip(OPJ_OFF_T n, void *ud)
{
    membuf_t *m = ud;
    if (n < 0 || (size_t)n > m->len - m->off)
        return -1;
    m->off += (size_t)n;
    return n;
}

static OPJ_BOOL mem_seek(OPJ_OFF_T to, void *ud)
{
    membuf_t *m = ud;
    if (to < 0 || (size_t)to > m->len)
        return OPJ_FALSE;
    m->off = (size_t)to;
    return OPJ_TRUE;
}

/* OpenJPEG reports through callbacks; the last error is kept for the reason. */
static void on_error(const char *msg, void *ud)
{
    snprintf(ud, 160, "%s", msg);
    char *nl = strchr(ud, '\n');
    if (nl != NULL)
        *nl = '\0';
}

static void on_quiet(const char *msg, void *ud)
{
    (void)msg;
    (void)ud;
}

/* The decoded components, interleaved as little-endian values of bits_allocated. */
static cp_err_t interleave(const opj_image_t *im, const codec_image_t *img, uint8_t *out,
                           cp_errinfo_t *ei)
{
    size_t bytes = img->bits_allocated / 8, n = (size_t)img->rows * img->columns;
    if (im->numcomps != img->samples)
        return cp_fail(ei, CP_EPARSE, 0, "the codestream has %u components, not %u",
                       im->numcomps, img->samples);
    for (unsigned c = 0; c < im->numcomps; c++) {
        const opj_image_comp_t *k = &im->comps[c];
        if (k->w != img->columns || k->h != img->rows || k->data == NULL)
            return cp_fail(ei, CP_EPARSE, 0, "the codestream is %ux%u, not %ux%u", k->w, k->h,
                           img->columns, img->rows);
        if (k->prec > img->bits_allocated)
            return cp_fail(ei, CP_EPARSE, 0, "%u-bit samples in %u bits allocated", k->prec,
                           img->bits_allocated);
        /* Signed pixels (Pixel Representation 1) that an encoder wrote as unsigned
         * samples of the same precision: the top bit is the sign (as pydicom reads them) */
        bool extend = img->pixel_representation == 1 && !k->sgnd && k->prec > 0 && k->prec < 32;
        int32_t half = extend ? (int32_t)1 << (k->prec - 1) : 0;
        for (size_t i = 0; i < n; i++) {
            int32_t x = extend ? (k->data[i] ^ half) - half : k->data[i];
            uint32_t v = (uint32_t)x; /* signed samples keep two's complement */
            uint8_t *o = out + (i * img->samples + c) * bytes;
            for (size_t b = 0; b < bytes; b++)
                o[b] = (uint8_t)(v >> (8 * b));
        }
    }
    return CP_OK;
}

cp_err_t codec_j2k_decode_frame(const codec_image_t *img, const uint8_t *data, size_t len,
                                uint8_t *out, char photometric[17], cp_errinfo_t *ei)
{
    static const uint8_t jp2_magic[] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' '};
    bool jp2 = len >= sizeof jp2_magic && memcmp(data, jp2_magic, sizeof jp2_magic) == 0;
    opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    char why[160] = "not a JPEG 2000 codestream";
    if (codec != NULL) {
        opj_set_error_handler(codec, on_error, why);
        opj_set_warning_handler(codec, on_quiet, NULL);
        opj_set_info_handler(codec, on_quiet, NULL);
    }
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    membuf_t m = {data, len, 0};
    opj_stream_t *s = opj_stream_create(64 * 1024, OPJ_TRUE);
    if (s != NULL)
        opj_stream_set_user_data(s, &m, NULL);
    if (s != NULL) {
        opj_stream_set_user_data_length(s, len);
        opj_stream_set_read_function(s, mem_read);
        opj_stream_set_skip_function(s, mem_skip);
        opj_stream_set_seek_function(s, mem_seek);
    }
    opj_image_t *im = NULL;
    cp_err_t err = CP_OK;
    if (codec == NULL || s == NULL)
        err = cp_fail(ei, CP_ENOMEM, 0, "JPEG 2000: cannot start the decoder");
    else if (!opj_setup_decoder(codec, &params) || !opj_read_header(s, codec, &im))
        err = cp_fail(ei, CP_EPARSE, 0, "JPEG 2000: %s", why);
    /* the codestream's own size, before OpenJPEG allocates for it: a small codestream
     * must not make it allocate a huge image */
    else if (im->x1 - im->x0 != img->columns || im->y1 - im->y0 != img->rows ||
             im->numcomps != img->samples)
        err = cp_fail(ei, CP_EPARSE, 0, "JPEG 2000: the codestream is %ux%u with %u components, "
                                        "the image %ux%u with %u samples",
                      im->x1 - im->x0, im->y1 - im->y0, im->numcomps, img->columns, img->rows,
                      img->samples);
    else if (!opj_decode(codec, s, im) || !opj_end_decompress(codec, s))
        err = cp_fail(ei, CP_EPARSE, 0, "JPEG 2000: %s", why);
    if (err == CP_OK)
        err = interleave(im, img, out, ei);
    if (err == CP_OK) {
        /* the reversible and irreversible colour transforms are undone by the decoder */
        bool ybr = strncmp(img->photometric, "YBR_RCT", 7) == 0 ||
                   strncmp(img->photometric, "YBR_ICT", 7) == 0;
        snprintf(photometric, 17, "%s", ybr ? "RGB" : img->photometric);
    }
    opj_image_destroy(im);
    opj_stream_destroy(s);
    opj_destroy_codec(codec);
    return err;
}

/* ---- encoding: lossless (reversible 5/3 wavelet, no colour transform) ---- */

typedef struct outbuf {
    uint8_t *p;
    size_t len, cap, off;
} outbuf_t;

static OPJ_SIZE_T out_write(void *buf, OPJ_SIZE_T n, void *ud)
{
    outbuf_t *o = ud;
    if (o->off + n > o->cap) {
        o->cap = (o->off + n) * 2;
        o->p = cp_xrealloc(o->p, o->cap);
    }
    memcpy(o->p + o->off, buf, n);
    o->off += n;
    if (o->off > o->len)
        o->len = o->off;
    return n;
}

static OPJ_OFF_T out_skip(OPJ_OFF_T n, void *ud)
{
    outbuf_t *o = ud;
    if (n < 0 || o->off + (size_t)n > o->cap) {
        size_t want = o->off + (size_t)(n < 0 ? 0 : n);
        o->cap = want * 2 + 16;
        o->p = cp_xrealloc(o->p, o->cap);
    }
    o->off += (size_t)n;
    if (o->off > o->len)
        o->len = o->off;
    return n;
}

static OPJ_BOOL out_seek(OPJ_OFF_T to, void *ud)
{
    outbuf_t *o = ud;
    if (to < 0 || (size_t)to > o->len)
        return OPJ_FALSE;
    o->off = (size_t)to;
    return OPJ_TRUE;
}

/* The frame's values into the image's components (sign-extended from Bits Stored). */
static void fill_components(opj_image_t *im, const codec_image_t *img, const uint8_t *frame)
{
    size_t bytes = img->bits_allocated / 8, n = (size_t)img->rows * img->columns;
    unsigned stored = img->bits_stored ? img->bits_stored : img->bits_allocated;
    for (unsigned c = 0; c < im->numcomps; c++)
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = frame + (i * img->samples + c) * bytes;
            uint32_t v = 0;
            for (size_t b = 0; b < bytes; b++)
                v |= (uint32_t)p[b] << (8 * b);
            int32_t x;
            if (img->pixel_representation == 1 && stored < 32) {
                uint32_t m = (uint32_t)1 << (stored - 1);
                v &= (m << 1) - 1;
                x = (int32_t)(v ^ m) - (int32_t)m;
            } else {
                x = (int32_t)(stored < 32 ? v & (((uint32_t)1 << stored) - 1) : v);
            }
            im->comps[c].data[i] = x;
        }
}

cp_err_t codec_j2k_encode_frame(const codec_image_t *img, const uint8_t *frame, uint8_t **out,
                                size_t *out_len, cp_errinfo_t *ei)
{
    unsigned stored = img->bits_stored ? img->bits_stored : img->bits_allocated;
    if (codec_frame_size(img) == 0 || stored > 24 || img->samples > 4)
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "JPEG 2000: %u-bit, %u-sample images are not encoded",
                       stored, img->samples);
    opj_image_cmptparm_t cp[4];
    memset(cp, 0, sizeof cp);
    for (unsigned c = 0; c < img->samples; c++) {
        cp[c].dx = cp[c].dy = 1;
        cp[c].w = img->columns;
        cp[c].h = img->rows;
        cp[c].prec = stored;
        cp[c].sgnd = img->pixel_representation == 1;
    }
    opj_image_t *im = opj_image_create(img->samples, cp, img->samples == 1 ? OPJ_CLRSPC_GRAY
                                                                            : OPJ_CLRSPC_SRGB);
    if (im == NULL)
        return cp_fail(ei, CP_ENOMEM, 0, "JPEG 2000: cannot allocate the image");
    im->x0 = im->y0 = 0;
    im->x1 = img->columns;
    im->y1 = img->rows;
    fill_components(im, img, frame);
    opj_cparameters_t p;
    opj_set_default_encoder_parameters(&p);
    p.tcp_numlayers = 1;
    p.tcp_rates[0] = 0; /* lossless */
    p.cp_disto_alloc = 1;
    p.irreversible = 0;
    p.tcp_mct = 0; /* no colour transform: the photometric interpretation stays */
    unsigned small = img->rows < img->columns ? img->rows : img->columns;
    p.numresolution = 1;
    while (p.numresolution < 6 && (1u << p.numresolution) <= small)
        p.numresolution++;
    opj_codec_t *codec = opj_create_compress(OPJ_CODEC_J2K);
    char why[160] = "the encoder failed";
    opj_set_error_handler(codec, on_error, why);
    opj_set_warning_handler(codec, on_quiet, NULL);
    opj_set_info_handler(codec, on_quiet, NULL);
    outbuf_t o = {0};
    opj_stream_t *s = opj_stream_create(1 << 20, OPJ_FALSE);
    opj_stream_set_user_data(s, &o, NULL);
    opj_stream_set_write_function(s, out_write);
    opj_stream_set_skip_function(s, out_skip);
    opj_stream_set_seek_function(s, out_seek);
    cp_err_t err = CP_OK;
    if (!opj_setup_encoder(codec, &p, im) || !opj_start_compress(codec, im, s) ||
        !opj_encode(codec, s) || !opj_end_compress(codec, s))
        err = cp_fail(ei, CP_EIO, 0, "JPEG 2000: %s", why);
    opj_stream_destroy(s);
    opj_destroy_codec(codec);
    opj_image_destroy(im);
    if (err != CP_OK) {
        free(o.p);
        return err;
    }
    *out = o.p;
    *out_len = o.len;
    return CP_OK;
}
