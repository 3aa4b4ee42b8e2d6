/* gateway/jobs.c -- job workers: claim, run, finish or fail, sleep when there is nothing.
 * Job kinds:
 *   reindex     the index's text (names, accession, descriptions) rewritten from the stored
 *               data set's header, decoded from its Specific Character Set.
 *   pixel_hash  the decoded-pixel hash of native (uncompressed) pixel data, and the link to
 *               the earliest instance with the same pixels under another SOP Instance UID
 *               (de-duplication level 3); compressed pixel data are decoded frame by
 *               frame (codec_pixels.h), so the same image hashes the same compressed.
 *   normalize   a normalized copy of the instance when it needs one (normalize.c).
 *   route       a new study attached to its case, or put in the triage queue;
 *   compare     a new version of a SOP Instance UID found the same content re-encoded
 *               (compare.c). */
#include "jobs.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "codec_dicom.h"
#include "conf.h"
#include "codec_pixels.h"
#include "cp_bytes.h"
#include "cp_log.h"
#include "cp_mem.h"
#include "index_text.h"
#include "jobs_int.h"
#include "store_cases.h"
#include "store_jobs.h"
#include <openssl/evp.h>

#define LEASE_SECONDS 300
#define IDLE_MS 500
/* Jobs claimed at once: one claim and one "done" statement for all of them (a batch of
 * 8 cost 0.25 ms of PostgreSQL time per job for the claim alone). What a batch has not
 * started when half the lease is gone goes back to the queue. */
#define CLAIM_BATCH 32
/* How often a worker looks for expired leases (not in every claim: that scan covers the
 * whole backlog, and a burst of ingest makes the backlog long). */
#define REAP_SECONDS 30
/* After a batch smaller than CLAIM_BATCH: the wait for more to arrive. A claim and a
 * "done" cost PostgreSQL about 0.4 ms whatever the batch; at 250 CT instances a second,
 * 50 rather than 20 ms made the jobs' share of PostgreSQL's time per instance about
 * 0.2 ms smaller (tools/bench, ct300 on 4 associations), for 30 ms more lag at most. */
#define GATHER_MS 50

struct gw_jobs {
    gw_ctx_t ctx;
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
};

typedef cp_err_t (*job_fn)(const gw_ctx_t *ctx, const store_job_t *job, cp_errinfo_t *ei);

cp_err_t gw_jobs_read_header(const gw_ctx_t *ctx, const store_job_t *job, codec_dshdr_fields_t *f,
                             store_addr_t *addr_out, const codec_ts_t **ts_out, cp_errinfo_t *ei)
{
    store_addr_t addr = job->addr;
    char ts_uid[65];
    snprintf(ts_uid, sizeof ts_uid, "%s", job->ts);
    if (!job->has_instance) { /* claimed without its instance row: look again */
        cp_err_t err = store_jobs_instance_blob(ctx->pg, job->instance_id, &addr, ts_uid, ei);
        if (err != CP_OK)
            return err;
    }
    const codec_ts_t *ts = codec_ts_find(ts_uid);
    if (addr_out != NULL)
        *addr_out = addr;
    if (ts_out != NULL)
        *ts_out = ts;
    if (ts == NULL)
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "stored transfer syntax %s unknown", ts_uid);
    return gw_jobs_blob_header(ctx, &addr, ts->enc, f, ei);
}

cp_err_t gw_jobs_blob_header(const gw_ctx_t *ctx, const store_addr_t *addr, codec_enc_t enc,
                             codec_dshdr_fields_t *f, cp_errinfo_t *ei)
{
    store_blob_reader_t *r;
    cp_err_t err = store_blob_reader_open(ctx->blobs, addr, &r, ei);
    if (err != CP_OK)
        return err;
    codec_dshdr_t *p;
    if ((err = codec_dshdr_new(enc, NULL, &p, ei)) != CP_OK) {
        store_blob_reader_close(r);
        return err;
    }
    uint8_t *buf = cp_xmalloc(64 * 1024);
    size_t n;
    while ((err = store_blob_reader_read(r, buf, 64 * 1024, &n, ei)) == CP_OK && n > 0) {
        if ((err = codec_dshdr_feed(p, buf, n, ei)) != CP_OK)
            break;
        codec_dshdr_fields_t peek;
        if (codec_dshdr_finish(p, &peek, NULL) == CP_OK && peek.has_pixel_data)
            break; /* the header is all this needs: the pixels stay unread */
    }
    if (err == CP_OK)
        err = codec_dshdr_finish(p, f, ei);
    free(buf);
    codec_dshdr_free(p);
    store_blob_reader_close(r);
    return err;
}

cp_err_t gw_xcode_blob(store_blob_t *blobs, const store_addr_t *addr, const codec_xcode_opts_t *o,
                       codec_write_fn wr, void *wud, codec_xcode_report_t *rep, cp_errinfo_t *ei)
{
    store_blob_reader_t *r;
    cp_err_t err = store_blob_reader_open(blobs, addr, &r, ei);
    if (err != CP_OK)
        return err;
    err = codec_xcode(o, store_blob_read_fn, r, wr, wud, rep, ei);
    store_blob_reader_close(r);
    return err;
}

#define MAX_MEMORY_HEADER (64u << 20)

static cp_err_t to_memory(void *ud, const void *data, size_t len, cp_errinfo_t *ei)
{
    gw_membuf_t *m = ud;
    if (len > MAX_MEMORY_HEADER - m->len)
        return cp_fail(ei, CP_ETOOBIG, 0, "the header is over %u MiB", MAX_MEMORY_HEADER >> 20);
    if (m->cap - m->len < len) {
        m->cap = (m->len + len) * 2; /* at most twice the cap above */
        m->p = cp_xrealloc(m->p, m->cap);
    }
    memcpy(m->p + m->len, data, len);
    m->len += len;
    return CP_OK;
}

cp_err_t gw_xcode_header_to_memory(store_blob_t *blobs, const store_addr_t *addr,
                                   const codec_xcode_opts_t *o, gw_membuf_t *m, cp_errinfo_t *ei)
{
    codec_xcode_opts_t head = *o;
    head.header_only = true;
    codec_xcode_report_t rep;
    return gw_xcode_blob(blobs, addr, &head, to_memory, m, &rep, ei);
}

static cp_err_t run_reindex(const gw_ctx_t *ctx, const store_job_t *job, cp_errinfo_t *ei)
{
    codec_dshdr_fields_t f;
    cp_err_t err = gw_jobs_read_header(ctx, job, &f, NULL, NULL, ei);
    if (err != CP_OK)
        return err;
    gw_index_text_t u;
    gw_index_text(&f, &u);
    return store_jobs_reindex_text(ctx->pg, job->instance_id, u.patient_name, u.accession,
                                   u.study_desc, u.series_desc, ei);
}

/* A blob read from a given offset on (the blob reader reads from the start only), through
 * inflate for a Deflated data set, whose offsets are those of the inflated data set. */
typedef struct from {
    store_blob_reader_t *r;
    uint64_t skip;
    uint8_t *scratch;
    bool deflated, z_eof;
    z_stream z;
    uint8_t *zin;
} from_t;

static cp_err_t from_open(const gw_ctx_t *ctx, const store_addr_t *addr, codec_enc_t enc,
                          uint64_t skip, from_t *s, cp_errinfo_t *ei)
{
    memset(s, 0, sizeof *s);
    s->skip = skip;
    cp_err_t err = store_blob_reader_open(ctx->blobs, addr, &s->r, ei);
    if (err != CP_OK)
        return err;
    s->scratch = cp_xmalloc(64 * 1024);
    if (enc == CODEC_ENC_DEFLATED_LE) {
        s->zin = cp_xmalloc(64 * 1024);
        if (inflateInit2(&s->z, -MAX_WBITS) != Z_OK)
            return cp_fail(ei, CP_ENOMEM, 0, "cannot start inflating");
        s->deflated = true;
    }
    return CP_OK;
}

static void from_close(from_t *s)
{
    if (s->deflated)
        inflateEnd(&s->z);
    free(s->zin);
    free(s->scratch);
    store_blob_reader_close(s->r);
}

/* Up to cap bytes of the (inflated) data set; *n 0 at its end. */
static cp_err_t raw_read(from_t *s, uint8_t *buf, size_t cap, size_t *n, cp_errinfo_t *ei)
{
    if (!s->deflated)
        return store_blob_read_fn(s->r, buf, cap, n, ei);
    s->z.next_out = buf;
    s->z.avail_out = (uInt)cap;
    while (s->z.avail_out == cap && !s->z_eof) {
        if (s->z.avail_in == 0) {
            size_t got;
            cp_err_t err = store_blob_reader_read(s->r, s->zin, 64 * 1024, &got, ei);
            if (err != CP_OK)
                return err;
            if (got == 0) {
                s->z_eof = true;
                break;
            }
            s->z.next_in = s->zin;
            s->z.avail_in = (uInt)got;
        }
        int rc = inflate(&s->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END)
            s->z_eof = true;
        else if (rc != Z_OK)
            return cp_fail(ei, CP_EPARSE, 0, "the deflated data set is corrupt");
    }
    *n = cap - s->z.avail_out;
    return CP_OK;
}

static cp_err_t read_from(void *ud, void *buf, size_t cap, size_t *n, cp_errinfo_t *ei)
{
    from_t *s = ud;
    while (s->skip > 0) {
        size_t want = s->skip < 64 * 1024 ? (size_t)s->skip : 64 * 1024, got;
        cp_err_t err = raw_read(s, s->scratch, want, &got, ei);
        if (err != CP_OK)
            return err;
        if (got == 0)
            return cp_fail(ei, CP_EPARSE, 0, "the pixel data start past the end of the data set");
        s->skip -= got;
    }
    return raw_read(s, buf, cap, n, ei);
}

/* What a native image's frames take: the bytes stored per frame, and decoded. */
static bool native_layout(const codec_dshdr_fields_t *f, uint64_t *frames, size_t *stored,
                          size_t *full, bool *sub422)
{
    codec_image_t img = {.rows = f->rows, .columns = f->columns,
                         .bits_allocated = f->bits_allocated, .samples = f->samples_per_pixel};
    *frames = f->number_of_frames[0] ? strtoull(f->number_of_frames, NULL, 10) : 1;
    /* YBR_FULL_422 stores two samples a pixel (Y Y Cb Cr for each pair, PS3.3 C.7.6.3.1.2) */
    *sub422 = strcmp(f->photometric, "YBR_FULL_422") == 0 && f->samples_per_pixel == 3 &&
              f->columns % 2 == 0 && f->bits_allocated == 8;
    *full = codec_frame_size(&img);
    if (f->bits_allocated == 1) { /* packed across frames: one piece */
        *stored = *full = (size_t)(((uint64_t)f->rows * f->columns * f->samples_per_pixel * *frames + 7) / 8);
        *frames = 1;
    } else {
        *stored = *sub422 ? *full / 3 * 2 : *full;
    }
    return *stored > 0 && *stored <= CODEC_MAX_FRAME_BYTES && *frames > 0 &&
           *frames <= f->pixel_data_length / *stored;
}

/* Native pixel data frame by frame, as a decoder would give them: little-endian words
 * (Explicit VR Big Endian swapped per Bits Allocated), samples interleaved (Planar
 * Configuration 1 reordered, YBR_FULL_422 given its full chroma), padding after the last
 * frame left out. 1-bit data come as one packed piece. */
typedef struct pair_carry {
    bool ow_be;     /* the bytes come swapped in pairs */
    bool have;      /* a pair was split: its second byte (in order) is next */
    uint8_t next;
} pair_carry_t;

/* One frame's len bytes in order: as stored, or, for 8-bit pixels in a Big Endian OW
 * value, each pair swapped back, one byte carried to the next frame when len is odd. */
static cp_err_t read_frame(from_t *s, pair_carry_t *c, uint8_t *out, size_t len,
                           cp_errinfo_t *ei)
{
    if (!c->ow_be)
        return codec_read_exact(read_from, s, out, len, "the pixel data", ei);
    size_t at = 0;
    if (c->have && len > 0) {
        out[at++] = c->next;
        c->have = false;
    }
    size_t whole = (len - at) & ~(size_t)1;
    cp_err_t err = codec_read_exact(read_from, s, out + at, whole, "the pixel data", ei);
    for (size_t i = at; err == CP_OK && i + 1 < at + whole; i += 2) {
        uint8_t t = out[i];
        out[i] = out[i + 1];
        out[i + 1] = t;
    }
    at += whole;
    uint8_t pair[2];
    if (err == CP_OK && at < len &&
        (err = codec_read_exact(read_from, s, pair, 2, "the pixel data", ei)) == CP_OK) {
        out[at] = pair[1];
        c->next = pair[0];
        c->have = true;
    }
    return err;
}

cp_err_t gw_jobs_native_frames(const gw_ctx_t *ctx, const store_addr_t *addr,
                               const codec_dshdr_fields_t *f, codec_enc_t enc, codec_frame_cb cb,
                               void *ud, cp_errinfo_t *ei)
{
    bool big = enc == CODEC_ENC_EXPLICIT_BE;
    uint64_t frames;
    size_t frame, full;
    bool sub422;
    if (!native_layout(f, &frames, &frame, &full, &sub422))
        return cp_fail(ei, CP_EPARSE, 0, "the pixel data (%u bytes) do not hold the image they "
                                         "describe, or a frame is over 256 MiB",
                       f->pixel_data_length);
    from_t s;
    cp_err_t err = from_open(ctx, addr, enc, f->pixel_data_offset + f->pixel_data_header, &s, ei);
    if (err != CP_OK) {
        from_close(&s);
        return err;
    }
    uint8_t *buf = cp_xmalloc(frame), *tmp = NULL;
    size_t word = big && f->bits_allocated > 8 ? f->bits_allocated / 8 : 1;
    /* 8-bit pixels in an OW value (as DCMTK writes them) come swapped in pairs in Big
     * Endian, a pair across two frames when a frame's size is odd */
    pair_carry_t carry = {.ow_be = big && f->bits_allocated <= 8 && f->pixel_data_ow};
    size_t bytes = f->bits_allocated / 8, samples = f->samples_per_pixel;
    bool planar = f->planar_configuration == 1 && samples > 1 && bytes > 0 && !sub422;
    if (planar || sub422)
        tmp = cp_xmalloc(full);
    for (uint64_t k = 0; k < frames && err == CP_OK; k++) {
        if ((err = read_frame(&s, &carry, buf, frame, ei)) != CP_OK)
            break;
        for (size_t i = 0; word > 1 && i + word <= frame; i += word)
            for (size_t j = 0; j < word / 2; j++) {
                uint8_t t = buf[i + j];
                buf[i + j] = buf[i + word - 1 - j];
                buf[i + word - 1 - j] = t;
            }
        if (planar) {
            size_t pixels = (size_t)f->rows * f->columns;
            for (size_t c = 0; c < samples; c++)
                for (size_t i = 0; i < pixels; i++)
                    memcpy(tmp + (i * samples + c) * bytes, buf + (c * pixels + i) * bytes, bytes);
        }
        if (sub422)
            for (size_t i = 0; i + 4 <= frame; i += 4) {
                uint8_t *o = tmp + i / 4 * 6;
                o[0] = buf[i], o[1] = buf[i + 2], o[2] = buf[i + 3];
                o[3] = buf[i + 1], o[4] = buf[i + 2], o[5] = buf[i + 3];
            }
        /* full chroma is YBR_FULL (PS3.3 C.7.6.3.1.2) */
        const char *pi = sub422 ? "YBR_FULL" : f->photometric;
        bool go = planar || sub422 ? cb(ud, (uint32_t)k, tmp, full, pi)
                                   : cb(ud, (uint32_t)k, buf, frame, pi);
        if (!go)
            break;
    }
    free(tmp);
    free(buf);
    from_close(&s);
    return err;
}

bool gw_jobs_pixels_as_stored(const codec_dshdr_fields_t *f, codec_enc_t enc, uint64_t *start,
                              uint64_t *len)
{
    if (gw_jobs_pixel_note(f, NULL) != NULL || f->pixel_data_length == 0xFFFFFFFFu ||
        (enc != CODEC_ENC_IMPLICIT_LE && enc != CODEC_ENC_EXPLICIT_LE))
        return false;
    uint64_t frames;
    size_t stored, full;
    bool sub422;
    if (!native_layout(f, &frames, &stored, &full, &sub422) || sub422)
        return false;
    if (f->planar_configuration == 1 && f->samples_per_pixel > 1 && f->bits_allocated >= 8)
        return false; /* reordered to interleaved samples */
    *start = f->pixel_data_offset + f->pixel_data_header;
    *len = frames * stored;
    return true;
}

const char *gw_jobs_pixel_note(const codec_dshdr_fields_t *f, const codec_ts_t *ts)
{
    bool compressed = f->pixel_data_length == 0xFFFFFFFFu;
    return !f->has_pixel_data ? "no pixel data"
           : compressed && (ts == NULL || !codec_pixels_decodable(ts->uid))
               ? "compressed: no decoder for its transfer syntax"
           : f->rows == 0 || f->columns == 0 ? "no rows or columns"
                                             : NULL;
}

/* Encapsulated pixel data without a decoder: the fragments as stored, to the end of the
 * data set (what the normalize job compares when it cannot decode). */
static cp_err_t hash_raw(const gw_ctx_t *ctx, const store_addr_t *addr,
                         const codec_dshdr_fields_t *f, EVP_MD_CTX *md, cp_errinfo_t *ei)
{
    from_t s;
    cp_err_t err = from_open(ctx, addr, CODEC_ENC_EXPLICIT_LE,
                             f->pixel_data_offset + f->pixel_data_header, &s, ei);
    uint8_t *buf = cp_xmalloc(64 * 1024);
    size_t n = 0;
    while (err == CP_OK && (err = read_from(&s, buf, 64 * 1024, &n, ei)) == CP_OK && n > 0)
        EVP_DigestUpdate(md, buf, n);
    free(buf);
    from_close(&s);
    return err;
}

void gw_jobs_hash_attrs(EVP_MD_CTX *md, const codec_dshdr_fields_t *f, const char *photometric)
{
    char attrs[160];
    int alen = snprintf(attrs, sizeof attrs, "rows=%u columns=%u bits=%u samples=%u "
                        "photometric=%s frames=%s\n", f->rows, f->columns, f->bits_allocated,
                        f->samples_per_pixel, photometric,
                        f->number_of_frames[0] ? f->number_of_frames : "1");
    EVP_DigestUpdate(md, attrs, (size_t)alen);
}

typedef struct frame_hash {
    EVP_MD_CTX *md;
    const codec_dshdr_fields_t *f;
} frame_hash_t;

static bool hash_frame(void *ud, uint32_t index, const uint8_t *frame, size_t len,
                       const char *photometric)
{
    frame_hash_t *h = ud;
    if (index == 0) /* what the pixels are once decoded, e.g. RGB for a YBR JPEG */
        gw_jobs_hash_attrs(h->md, h->f, photometric);
    EVP_DigestUpdate(h->md, frame, len);
    return true;
}

/* The Extended Offset Table as 64-bit offsets, when it has one per frame (*out NULL when
 * there is none or it does not fit the frames: the fragments are then split without). */
static cp_err_t read_eot(const gw_ctx_t *ctx, const store_addr_t *addr,
                         const codec_dshdr_fields_t *f, const codec_ts_t *ts, uint32_t frames,
                         uint64_t **out, cp_errinfo_t *ei)
{
    *out = NULL;
    if (f->eot_length == 0 || f->eot_length != (uint64_t)frames * 8 ||
        frames > CODEC_MAX_FRAMES)
        return CP_OK;
    from_t s;
    cp_err_t err = from_open(ctx, addr, ts->enc, f->eot_offset, &s, ei);
    uint8_t *raw = cp_xmalloc(f->eot_length);
    if (err == CP_OK)
        err = codec_read_exact(read_from, &s, raw, f->eot_length, "the Extended Offset Table", ei);
    from_close(&s);
    if (err == CP_OK) {
        *out = cp_xmalloc((size_t)frames * sizeof **out);
        for (uint32_t i = 0; i < frames; i++) /* OV, little endian (encapsulated syntaxes) */
            (*out)[i] = (uint64_t)cp_get_le32(raw + 8 * i + 4) << 32 | cp_get_le32(raw + 8 * i);
    }
    free(raw);
    return err;
}

cp_err_t gw_jobs_frames(const gw_ctx_t *ctx, const store_addr_t *addr,
                        const codec_dshdr_fields_t *f, const codec_ts_t *ts, codec_frame_cb cb,
                        void *ud, cp_errinfo_t *ei)
{
    if (f->pixel_data_length != 0xFFFFFFFFu)
        return gw_jobs_native_frames(ctx, addr, f, ts->enc, cb, ud, ei);
    codec_image_t img = {.rows = f->rows, .columns = f->columns,
                         .bits_allocated = f->bits_allocated, .bits_stored = f->bits_stored,
                         .samples = f->samples_per_pixel,
                         .pixel_representation = f->pixel_representation,
                         .planar = f->planar_configuration,
                         .frames = f->number_of_frames[0]
                                       ? (uint32_t)strtoul(f->number_of_frames, NULL, 10) : 1};
    snprintf(img.photometric, sizeof img.photometric, "%s", f->photometric);
    uint64_t *eot = NULL;
    cp_err_t err = read_eot(ctx, addr, f, ts, img.frames, &eot, ei);
    img.frame_offsets = eot;
    img.n_frame_offsets = eot != NULL ? img.frames : 0;
    from_t s = {0};
    if (err == CP_OK)
        err = from_open(ctx, addr, ts->enc, f->pixel_data_offset + f->pixel_data_header, &s, ei);
    if (err == CP_OK)
        err = codec_decode_frames(ts->uid, &img, read_from, &s, cb, ud, ei);
    from_close(&s);
    free(eot);
    return err;
}

cp_err_t gw_jobs_pixel_digest(const gw_ctx_t *ctx, const store_addr_t *addr,
                              const codec_dshdr_fields_t *f, const codec_ts_t *ts,
                              uint8_t out[32], bool *decoded, cp_errinfo_t *ei)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    bool encapsulated = f->pixel_data_length == 0xFFFFFFFFu;
    *decoded = !encapsulated || codec_pixels_decodable(ts->uid);
    cp_err_t err;
    if (encapsulated && !*decoded) {
        gw_jobs_hash_attrs(md, f, f->photometric);
        err = hash_raw(ctx, addr, f, md, ei);
    } else {
        frame_hash_t h = {md, f};
        err = gw_jobs_frames(ctx, addr, f, ts, hash_frame, &h, ei);
    }
    unsigned hlen = 0;
    EVP_DigestFinal_ex(md, out, &hlen);
    EVP_MD_CTX_free(md);
    return err;
}

static cp_err_t run_pixel_hash(const gw_ctx_t *ctx, const store_job_t *job, cp_errinfo_t *ei)
{
    codec_dshdr_fields_t f;
    store_addr_t addr;
    const codec_ts_t *ts = NULL;
    cp_err_t err = gw_jobs_read_header(ctx, job, &f, &addr, &ts, ei);
    if (err != CP_OK)
        return err;
    const char *note = gw_jobs_pixel_note(&f, ts);
    if (note != NULL)
        return store_jobs_set_pixel_hash(ctx->pg, job->instance_id, NULL, note, NULL, ei);
    uint8_t hash[32];
    bool decoded;
    err = gw_jobs_pixel_digest(ctx, &addr, &f, ts, hash, &decoded, ei);
    if (err == CP_EPARSE || err == CP_EUNSUPPORTED) {
        /* pixels that cannot be decoded (a corrupt code stream) have no hash: said, not a
         * dead job another attempt would only repeat */
        char why[200];
        snprintf(why, sizeof why, "the pixels cannot be decoded: %s", cp_errinfo_msg(ei, err));
        return store_jobs_set_pixel_hash(ctx->pg, job->instance_id, NULL, why, NULL, ei);
    }
    if (err != CP_OK)
        return err;
    int64_t rep = 0;
    err = store_jobs_set_pixel_hash(ctx->pg, job->instance_id, hash, NULL, &rep, ei);
    if (err == CP_OK && rep != 0)
        CP_LOG(CP_LOG_INFO, "jobs", "event=duplicate_pixels instance=%lld representative=%lld",
               (long long)job->instance_id, (long long)rep);
    return err;
}

/* A new study to its case, or to the triage queue (store_cases_route). */
static cp_err_t run_route(const gw_ctx_t *ctx, const store_job_t *job, cp_errinfo_t *ei)
{
    char how[16];
    cp_err_t err = store_cases_route(ctx->pg, job->study_id, how, ei);
    if (err == CP_OK)
        CP_LOG(CP_LOG_INFO, "jobs", "event=routed study=%lld how=%s", (long long)job->study_id,
               how);
    return err;
}

static const struct kind {
    const char *name;
    job_fn run;
} kinds[] = {{"reindex", run_reindex}, {"pixel_hash", run_pixel_hash},
             {"normalize", gw_normalize}, {"route", run_route}, {"compare", gw_compare}};

static const char *const kind_names[] = {"reindex", "pixel_hash", "normalize", "route",
                                         "compare", NULL};

static job_fn lookup(const char *name)
{
    for (size_t i = 0; i < CP_ARRAY_LEN(kinds); i++)
        if (strcmp(kinds[i].name, name) == 0)
            return kinds[i].run;
    return NULL;
}

/* Failures that another attempt cannot mend: the object is malformed or too big, or
 * nothing here handles it (caseport jobs --retry once a newer caseport does). Those that
 * pass by themselves (the disk full, the database away) are retried for hours; the rest
 * a few times. */
static store_fail_t how_failed(cp_err_t err)
{
    if (err == CP_EPARSE || err == CP_EUNSUPPORTED || err == CP_ETOOBIG)
        return STORE_FAIL_PERMANENT;
    return cp_err_is_transient(err) ? STORE_FAIL_TRANSIENT : STORE_FAIL_RETRY;
}

/* Runs one job; true when it is done (to be marked so with its batch), false when it
 * failed (marked so at once, with the reason). */
static bool run_one(gw_jobs_t *j, const char *worker, const store_job_t *job)
{
    cp_errinfo_t ei = {0};
    job_fn fn = lookup(job->kind);
    cp_err_t err = fn != NULL ? fn(&j->ctx, job, &ei)
                              : cp_fail(&ei, CP_EUNSUPPORTED, 0, "no worker for this kind");
    /* two calls, not " error=" passed as a %s: the logger escapes every argument, so an
     * argument can no longer add a field */
    if (err == CP_OK) {
        CP_LOG(CP_LOG_DEBUG, "jobs", "event=done job=%lld kind=%s instance=%lld attempt=%d",
               (long long)job->id, job->kind, (long long)job->instance_id, job->attempts);
        return true;
    }
    CP_LOG(CP_LOG_WARN, "jobs", "event=failed job=%lld kind=%s instance=%lld attempt=%d error=%s",
           (long long)job->id, job->kind, (long long)job->instance_id, job->attempts,
           cp_err_name(err));
    cp_errinfo_t ei2 = {0};
    cp_err_t fin = store_jobs_fail(j->ctx.pg, job->id, worker, cp_errinfo_msg(&ei, err),
                                   how_failed(err), j->ctx.conf->jobs.patience_hours * 3600,
                                   &ei2);
    if (fin != CP_OK)
        CP_LOG(CP_LOG_WARN, "jobs", "event=job_not_finished job=%lld error=%s why=\"%s\"",
               (long long)job->id, cp_err_name(fin), cp_errinfo_msg(&ei2, fin));
    return false;
}

static bool stopping(gw_jobs_t *j)
{
    pthread_mutex_lock(&j->mu);
    bool stop = j->stopping;
    pthread_mutex_unlock(&j->mu);
    return stop;
}

/* Runs a claimed batch and marks what succeeded done in one statement. Asked to stop
 * midway, or with half the lease gone, it hands the jobs it has not started back. */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The jobs of the batch that are done, with their results held back and sent together
 * with their completion (store_jobs_hold_results): two round trips an instance fewer.
 * If that one transaction fails, which one job's result can cause, the same jobs run
 * again with their results sent one by one, so that only a failing job fails. */
static cp_err_t finish_held(gw_jobs_t *j, const char *worker, const store_job_t *jobs, int n,
                            int64_t *done, int *n_done, int *finished, cp_errinfo_t *ei)
{
    bool held = store_jobs_held_count() > 0;
    cp_err_t err = store_jobs_done_batch(j->ctx.pg, done, *n_done, worker, finished, ei);
    int64_t inst, rep;
    for (int i = 0; err == CP_OK && store_jobs_held_duplicate(i, &inst, &rep); i++)
        CP_LOG(CP_LOG_INFO, "jobs", "event=duplicate_pixels instance=%lld representative=%lld",
               (long long)inst, (long long)rep);
    store_jobs_hold_results(false);
    if (err == CP_OK || !held)
        return err;
    CP_LOG(CP_LOG_WARN, "jobs",
           "event=batch_not_finished count=%d error=%s why=\"%s\" action=one_by_one", *n_done,
           cp_err_name(err), cp_errinfo_msg(ei, err));
    int again = 0;
    for (int i = 0; i < *n_done; i++)
        for (int k = 0; k < n; k++)
            if (jobs[k].id == done[i] && run_one(j, worker, &jobs[k]))
                done[again++] = done[i];
    *n_done = again;
    return store_jobs_done_batch(j->ctx.pg, done, again, worker, finished, ei);
}

static void run_batch(gw_jobs_t *j, const char *worker, const store_job_t *jobs, int n)
{
    int64_t done[CLAIM_BATCH], left[CLAIM_BATCH];
    int n_done = 0, n_left = 0;
    double start = now_s();
    store_jobs_hold_results(true);
    for (int i = 0; i < n; i++) {
        if (i > 0 && (stopping(j) || n_left > 0 || now_s() - start > LEASE_SECONDS / 2))
            left[n_left++] = jobs[i].id;
        else if (run_one(j, worker, &jobs[i]))
            done[n_done++] = jobs[i].id;
    }
    cp_errinfo_t ei = {0};
    int finished = 0;
    cp_err_t err = finish_held(j, worker, jobs, n, done, &n_done, &finished, &ei);
    if (err == CP_OK && finished < n_done)
        CP_LOG(CP_LOG_WARN, "jobs", "event=jobs_not_finished count=%d why=\"lease lost\"",
               n_done - finished);
    if (err == CP_OK)
        err = store_jobs_release(j->ctx.pg, left, n_left, worker, &ei);
    if (err != CP_OK) /* they run again when their lease expires */
        CP_LOG(CP_LOG_WARN, "jobs", "event=jobs_not_finished count=%d error=%s why=\"%s\"",
               n_done + n_left, cp_err_name(err), cp_errinfo_msg(&ei, err));
}

static void deadline_in(struct timespec *until, int ms)
{
    clock_gettime(CLOCK_REALTIME, until);
    until->tv_sec += ms / 1000;
    until->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
}

/* Sleeps ms, woken early only to stop (not by new jobs); true if it should go on. */
static bool pause_ms(gw_jobs_t *j, int ms)
{
    struct timespec until;
    deadline_in(&until, ms);
    pthread_mutex_lock(&j->mu);
    while (!j->stopping && pthread_cond_timedwait(&j->cv, &j->mu, &until) == 0)
        ;
    bool go = !j->stopping;
    pthread_mutex_unlock(&j->mu);
    return go;
}

/* Sleeps up to ms unless asked to stop; true if it should go on. */
static bool idle(gw_jobs_t *j, int ms)
{
    struct timespec until;
    deadline_in(&until, ms);
    pthread_mutex_lock(&j->mu);
    if (!j->stopping)
        pthread_cond_timedwait(&j->cv, &j->mu, &until);
    bool go = !j->stopping;
    pthread_mutex_unlock(&j->mu);
    return go;
}

/* "host:", the start of the names of this machine's workers (host:pid:index). */
static void this_host(char *out, size_t cap)
{
    char host[32] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(out, cap, "%s:", host);
}

typedef struct gone {
    const char *prefix;
    char *names[65]; /* NULL-terminated */
    int n;
} gone_t;

/* A worker of this machine whose process is no longer there: a previous life of this
 * node (killed, or the machine restarted). Another live process's workers are left to
 * their leases; so is a pid now reused by another program (kill says it exists). */
static void note_if_gone(void *ud, const char *worker)
{
    gone_t *g = ud;
    char *end;
    long pid = strtol(worker + strlen(g->prefix), &end, 10);
    if (*end != ':' || pid <= 0 || pid == (long)getpid() || g->n == 64)
        return;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
        return;
    g->names[g->n++] = cp_xstrdup(worker);
}

/* The jobs this node was running when it stopped, back to the queue now rather than when
 * their leases expire (minutes during which studies would not reach their cases). */
static void reclaim_previous_life(gw_jobs_t *j)
{
    char prefix[40];
    this_host(prefix, sizeof prefix);
    gone_t g = {.prefix = prefix};
    cp_errinfo_t ei = {0};
    int queued = 0, died = 0;
    cp_err_t err = store_jobs_running_workers(j->ctx.pg, prefix, note_if_gone, &g, &ei);
    if (err == CP_OK && g.n > 0) {
        g.names[g.n] = NULL;
        err = store_jobs_reclaim(j->ctx.pg, (const char *const *)g.names, &queued, &died, &ei);
    }
    if (err != CP_OK)
        CP_LOG(CP_LOG_WARN, "jobs", "event=reclaim_failed error=%s why=\"%s\"",
               cp_err_name(err), cp_errinfo_msg(&ei, err));
    else if (g.n > 0)
        CP_LOG(CP_LOG_INFO, "jobs", "event=reclaimed workers=%d requeued=%d dead=%d", g.n,
               queued, died);
    for (int i = 0; i < g.n; i++)
        free(g.names[i]);
}

typedef struct worker_arg {
    gw_jobs_t *j;
    int index;
} worker_arg_t;

/* Jobs of workers that died, back to the queue (or dead after max_attempts crashes). */
static void reap(gw_jobs_t *j)
{
    cp_errinfo_t ei = {0};
    int queued = 0, died = 0;
    cp_err_t err = store_jobs_reap(j->ctx.pg, kind_names, &queued, &died, &ei);
    if (err != CP_OK)
        CP_LOG(CP_LOG_WARN, "jobs", "event=reap_failed error=%s why=\"%s\"", cp_err_name(err),
               cp_errinfo_msg(&ei, err));
    else if (queued + died > 0)
        CP_LOG(CP_LOG_WARN, "jobs", "event=leases_expired requeued=%d dead=%d", queued, died);
}

static void *worker_main(void *arg)
{
    worker_arg_t *w = arg;
    gw_jobs_t *j = w->j;
    /* Linux nices threads one by one: receiving comes first. Nice 5 (a third of a nice-0
     * thread's share) is enough for the jobs to keep pace with a 4-association CT ingest
     * on 2 busy cores (tools/bench --phases lag: the lag stays at 0.02 s; at nice 10 it
     * grew from 0.05 to 0.2 s over the series), without slowing the ingest. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5);
    char name[64], host[40];
    this_host(host, sizeof host);
    snprintf(name, sizeof name, "%s%d:%d", host, (int)getpid(), w->index);
    free(w);
    store_job_t *batch = cp_xcalloc(CLAIM_BATCH, sizeof *batch);
    double reaped = -1e9; /* at once when starting: a previous run may have died */
    while (!stopping(j)) {
        int n = 0;
        cp_errinfo_t ei = {0};
        if (now_s() - reaped > REAP_SECONDS) {
            reap(j);
            reaped = now_s();
        }
        cp_err_t err = store_jobs_claim_batch(j->ctx.pg, kind_names, name, LEASE_SECONDS,
                                              CLAIM_BATCH, batch, &n, &ei);
        if (err == CP_OK && n > 0) {
            run_batch(j, name, batch, n);
            /* The queue ran dry: let a few more arrive rather than claim each alone (a
             * claim costs about as much as a small instance's jobs). */
            if (n < CLAIM_BATCH && !pause_ms(j, GATHER_MS))
                break;
            continue;
        }
        if (err != CP_OK) /* the database is away: try again after a pause */
            CP_LOG(CP_LOG_WARN, "jobs", "event=claim_failed error=%s why=\"%s\"", cp_err_name(err),
                   cp_errinfo_msg(&ei, err));
        if (!idle(j, err == CP_OK ? IDLE_MS : 5 * IDLE_MS))
            break;
    }
    free(batch);
    return NULL;
}

/* The running workers, for gw_jobs_wake (one set per process). */
static pthread_mutex_t active_mu = PTHREAD_MUTEX_INITIALIZER;
static gw_jobs_t *active;

void gw_jobs_wake(void)
{
    pthread_mutex_lock(&active_mu);
    if (active != NULL) {
        pthread_mutex_lock(&active->mu);
        pthread_cond_signal(&active->cv);
        pthread_mutex_unlock(&active->mu);
    }
    pthread_mutex_unlock(&active_mu);
}

gw_jobs_t *gw_jobs_start(const gw_ctx_t *ctx, int n)
{
    if (n <= 0)
        return NULL;
    /* The workers' own connections, one each: they never wait for a pool slot that a
     * C-STORE needs, and their commits skip the WAL flush (a result lost in a crash is
     * made again: its job is still leased, and runs again when the lease expires). */
    char conninfo[4096];
    cp_errinfo_t ei = {0};
    store_pg_t *pg = NULL;
    cp_err_t err = conf_pg_conninfo(ctx->conf, conninfo, sizeof conninfo, &ei);
    if (err == CP_OK)
        err = store_pg_open_async(conninfo, n, &pg, &ei);
    if (err != CP_OK) {
        CP_LOG(CP_LOG_ERROR, "jobs", "event=workers_not_started error=%s why=\"%s\"",
               cp_err_name(err), cp_errinfo_msg(&ei, err));
        return NULL;
    }
    gw_jobs_t *j = cp_xcalloc(1, sizeof *j);
    j->ctx = *ctx;
    j->ctx.pg = pg;
    reclaim_previous_life(j);
    j->threads = cp_xcalloc((size_t)n, sizeof *j->threads);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    for (int i = 0; i < n; i++) {
        worker_arg_t *w = cp_xmalloc(sizeof *w);
        w->j = j;
        w->index = i;
        if (pthread_create(&j->threads[i], NULL, worker_main, w) != 0) {
            free(w);
            break;
        }
        j->n++;
    }
    CP_LOG(CP_LOG_INFO, "jobs", "event=workers_started count=%d", j->n);
    pthread_mutex_lock(&active_mu);
    active = j;
    pthread_mutex_unlock(&active_mu);
    return j;
}

void gw_jobs_stop(gw_jobs_t *j)
{
    if (j == NULL)
        return;
    pthread_mutex_lock(&active_mu);
    if (active == j)
        active = NULL;
    pthread_mutex_unlock(&active_mu);
    pthread_mutex_lock(&j->mu);
    j->stopping = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    for (int i = 0; i < j->n; i++)
        pthread_join(j->threads[i], NULL);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j->threads);
    store_pg_close(j->ctx.pg);
    free(j);
}
