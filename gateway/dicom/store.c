/* gateway/dicom/store.c -- C-STORE data set pipeline, acknowledged only when durable:
 * push -> (chunk full) uv_queue_work(run_chunk: parse, encrypt, write)
 *      -> finish -> run_chunk(last: commit blob, index row) -> after_chunk -> on_done */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_text.h"
#include "cp_mem.h"
#include "jobs.h"
#include "jobs_int.h"
#include "dimse.h"

/* Bytes handed to a worker at once. Each hand-over is two thread wake-ups; 256 KiB rather
 * than 128 measured 3-14% more 512 KB CT instances a second on one association here. */
#define CHUNK (256 * 1024)

/* Buffers of finished instances, kept for the next ones (loop thread only). A fresh
 * buffer for every instance was first touched page by page while data were copied in:
 * that copy was 14% of caseport's CPU (tools/bench, ct300 on 4 associations). */
#define SPARE_MAX 8
typedef struct spare {
    uint8_t *p;
    size_t cap;
} spare_t;
static _Thread_local spare_t spares[SPARE_MAX];
static _Thread_local int n_spares;

static void buf_give(uint8_t *p, size_t cap)
{
    /* Only buffers of the usual size (a chunk plus at most one PDV, doubled once): one
     * grown for a large max_pdu is not kept for the life of the process. */
    if (p != NULL && n_spares < SPARE_MAX && cap <= 2 * (CHUNK + 16 * 1024))
        spares[n_spares++] = (spare_t){p, cap};
    else
        free(p);
}

/* A spare buffer into an empty slot (*p NULL), if there is one. */
static void buf_take(uint8_t **p, size_t *cap)
{
    if (*p == NULL && n_spares > 0) {
        spare_t sp = spares[--n_spares];
        *p = sp.p;
        *cap = sp.cap;
    }
}

struct gw_store {
    uv_work_t work;
    uv_loop_t *loop;
    gw_ctx_t ctx;
    gw_store_cbs_t cbs;
    void *ud;
    gw_store_meta_t meta;
    char sop_class[65], sop_instance[65], calling_ae[17], called_ae[17], peer[64];
    char authority[65];
    char abstract_syntax[65]; /* of the presentation context it came on */

    /* loop side */
    uint8_t *pending;
    size_t pending_len, pending_cap;
    bool finishing;  /* gw_store_finish called */
    bool in_flight;  /* a worker holds `chunk` */
    bool cancelled;
    bool push_failed; /* bytes were lost on the loop side: the object must not commit */

    /* worker side: touched only inside run_chunk, or on the loop while !in_flight */
    uint8_t *chunk;
    size_t chunk_len, chunk_cap;
    bool chunk_last;
    bool chunk_drop;     /* cancelled: only release the sinks */
    bool chunk_poisoned; /* push_failed when this chunk was handed over */
    store_blob_writer_t *writer;
    codec_dshdr_t *hdr;
    uint64_t total;
    /* The pixel hash (0006), when the pixels hash as stored: data bytes [ph_start, ph_end)
     * go to ph as they pass (see hash_pixels). */
    EVP_MD_CTX *ph;
    bool ph_decided;
    uint64_t ph_start, ph_end;
    bool keeps; /* the normalize job's dry run over the first chunk (settle_keeps) */
    cp_errinfo_t ei;
    gw_store_outcome_t out;
};

gw_store_t *gw_store_new(uv_loop_t *loop, const gw_ctx_t *ctx, const gw_store_meta_t *meta,
                         const gw_store_cbs_t *cbs, void *ud)
{
    gw_store_t *s = cp_xcalloc(1, sizeof *s);
    s->loop = loop;
    s->ctx = *ctx;
    s->cbs = *cbs;
    s->ud = ud;
    s->meta = *meta;
    snprintf(s->sop_class, sizeof s->sop_class, "%s", meta->sop_class);
    snprintf(s->sop_instance, sizeof s->sop_instance, "%s", meta->sop_instance);
    snprintf(s->calling_ae, sizeof s->calling_ae, "%s", meta->calling_ae);
    snprintf(s->called_ae, sizeof s->called_ae, "%s", meta->called_ae);
    snprintf(s->peer, sizeof s->peer, "%s", meta->peer);
    snprintf(s->abstract_syntax, sizeof s->abstract_syntax, "%s",
             meta->abstract_syntax != NULL ? meta->abstract_syntax : meta->sop_class);
    snprintf(s->authority, sizeof s->authority, "%s",
             meta->authority != NULL ? meta->authority : meta->calling_ae);
    s->out.err = CP_OK;
    return s;
}

static void give_buffers(gw_store_t *s)
{
    buf_give(s->pending, s->pending_cap);
    buf_give(s->chunk, s->chunk_cap);
    s->pending = s->chunk = NULL;
    s->pending_cap = s->chunk_cap = 0;
}

static void store_free(gw_store_t *s)
{
    give_buffers(s);
    free(s);
}

static void fail(gw_store_t *s, cp_err_t err)
{
    if (s->out.err == CP_OK)
        s->out.err = err;
}

/* Worker: opening the writer and parser is file I/O, so it happens here too. */
static void open_sinks(gw_store_t *s)
{
    cp_err_t err = store_blob_writer_new_packed(s->ctx.blobs, &s->writer, &s->ei);
    if (err == CP_OK)
        err = codec_dshdr_new(s->meta.ts->enc, NULL, &s->hdr, &s->ei);
    fail(s, err);
}

static void close_sinks(gw_store_t *s)
{
    EVP_MD_CTX_free(s->ph);
    s->ph = NULL;
    store_blob_writer_free(s->writer); /* removes an uncommitted temp file */
    s->writer = NULL;
    codec_dshdr_free(s->hdr);
    s->hdr = NULL;
}

/* Whether the command's identifiers are the ones in error: its SOP class is not even its
 * presentation context's, where the data set's is. DCMTK's dcmsend writes "31" in the
 * command for a SOP Class and Instance UID encoded UN in the file (the first value of
 * their hex dump; pydicom's rtdose_rle.dcm): the data set, which agrees with the
 * negotiation, is then believed, and stored under its own UIDs. */
static bool command_astray(const gw_store_t *s, const codec_dshdr_fields_t *f)
{
    return strcmp(s->sop_class, s->abstract_syntax) != 0 &&
           strcmp(f->sop_class_uid, s->abstract_syntax) == 0;
}

static cp_err_t check_fields(gw_store_t *s, const codec_dshdr_fields_t *f)
{
    if (f->sop_instance_uid[0] == '\0' || f->sop_class_uid[0] == '\0')
        return cp_fail(&s->ei, CP_EPARSE, 0, "data set lacks sop class or instance uid");
    if (codec_native_pixels_short(f))
        return cp_fail(&s->ei, CP_EPARSE, 0, "pixel data shorter than the image they describe");
    /* the header parser stops at Pixel Data: that its value came whole is seen here (not
     * in a deflated data set, whose offsets are the inflated ones) */
    if (f->has_pixel_data && f->pixel_data_length != 0xFFFFFFFFu &&
        s->meta.ts->enc != CODEC_ENC_DEFLATED_LE &&
        s->total < f->pixel_data_offset + f->pixel_data_header + f->pixel_data_length)
        return cp_fail(&s->ei, CP_EPARSE, 0, "the data set ends inside its pixel data");
    if (command_astray(s, f))
        return CP_OK;
    if (strcmp(f->sop_class_uid, s->sop_class) != 0) {
        s->out.status = GW_STATUS_SOP_CLASS_MISMATCH;
        return cp_fail(&s->ei, CP_EINVAL, 0, "sop class uid differs from the command's");
    }
    if (strcmp(f->sop_instance_uid, s->sop_instance) != 0) {
        s->out.status = GW_STATUS_UID_MISMATCH;
        return cp_fail(&s->ei, CP_EINVAL, 0, "sop instance uid differs from the command's");
    }
    return CP_OK;
}

static void fill_row(const gw_store_t *s, const codec_dshdr_fields_t *f, const gw_index_text_t *u,
                     const store_addr_t *addr, uint64_t size, store_instance_in_t *in)
{
    *in = (store_instance_in_t){
        .sop_class_uid = f->sop_class_uid, .sop_instance_uid = f->sop_instance_uid,
        .study_uid = f->study_uid, .series_uid = f->series_uid, .patient_id = u->patient_id,
        .issuer = u->issuer, .patient_name = u->patient_name, .birth_date = f->birth_date,
        .sex = f->sex, .charset = f->charset, .study_date = f->study_date,
        .study_time = f->study_time, .accession = u->accession, .study_desc = u->study_desc,
        .series_desc = u->series_desc, .modality = f->modality,
        .series_number = f->series_number, .instance_number = f->instance_number,
        .transfer_syntax = s->meta.ts->uid, .calling_ae = s->calling_ae,
        .called_ae = s->called_ae, .peer_address = s->peer, .authority = s->authority, .addr = *addr, .size = size,
        .key_id = store_blob_key_id(s->ctx.blobs)};
    store_blob_writer_location(s->writer, &in->loc);
}

/* Hashes the pixel bytes in data, which begin at offset at of the data set. Once the
 * parser has reached Pixel Data (its header's fields are then final) this decides whether
 * the pixels hash as stored; if not, the pixel_hash job reads them back later. Hashing
 * here costs the same SHA-256 the job would, without its read and decryption of the blob
 * and without its job row and UPDATE in the index. */
static void hash_pixels(gw_store_t *s, const uint8_t *data, size_t len, uint64_t at)
{
    if (!s->ph_decided) {
        codec_dshdr_fields_t f;
        if (codec_dshdr_finish(s->hdr, &f, NULL) != CP_OK || !f.has_pixel_data)
            return; /* not there yet */
        s->ph_decided = true;
        uint64_t n;
        if (!gw_jobs_pixels_as_stored(&f, s->meta.ts->enc, &s->ph_start, &n) ||
            s->ph_start < at) /* some of them have gone by already */
            return;
        s->ph_end = s->ph_start + n;
        s->ph = EVP_MD_CTX_new();
        if (s->ph == NULL || EVP_DigestInit_ex(s->ph, EVP_sha256(), NULL) != 1) {
            EVP_MD_CTX_free(s->ph);
            s->ph = NULL;
            return;
        }
        gw_jobs_hash_attrs(s->ph, &f, f.photometric);
    }
    if (s->ph == NULL)
        return;
    uint64_t from = at > s->ph_start ? at : s->ph_start, to = at + len < s->ph_end ? at + len
                                                                                  : s->ph_end;
    if (from < to && EVP_DigestUpdate(s->ph, data + (from - at), (size_t)(to - from)) != 1) {
        EVP_MD_CTX_free(s->ph); /* the job will hash it */
        s->ph = NULL;
    }
}

/* The normalize job's dry run over the header, while the first chunk holds it: the data
 * set up to its Pixel Data, or all of one without. A header that goes on past the first
 * chunk (rare: the first is CHUNK bytes or more) is left to the job, which reads the blob. */
static void settle_keeps(gw_store_t *s)
{
    codec_dshdr_fields_t f;
    if (codec_dshdr_finish(s->hdr, &f, NULL) != CP_OK)
        return;
    uint64_t end = f.pixel_data_offset + f.pixel_data_header;
    if (!f.has_pixel_data || end > s->chunk_len) {
        if (!s->chunk_last)
            return;
        end = s->chunk_len;
    }
    s->keeps = gw_normalize_header_keeps(s->ctx.conf, &f, s->meta.ts, s->chunk, (size_t)end);
}

/* The pixel hash for the index row, if the intake has it whole; else its note. */
static void pixel_hash_result(gw_store_t *s, const codec_dshdr_fields_t *f, uint8_t out[32],
                              store_instance_in_t *in)
{
    in->pixel_hash_note = gw_jobs_pixel_note(f, s->meta.ts);
    if (in->pixel_hash_note != NULL)
        return;
    unsigned n = 0;
    if (s->ph != NULL && s->total >= s->ph_end && EVP_DigestFinal_ex(s->ph, out, &n) == 1 &&
        n == 32)
        in->pixel_hash = out;
}

/* The index held this content already (a resend, or the same bytes under another UID):
 * the copy just written is not needed, unless the indexed one is damaged or lost, when
 * the index is pointed at the new copy instead. The check reads the whole stored copy,
 * which only a duplicate pays for: a resend is how a damaged blob gets repaired. */
static void settle_duplicate(gw_store_t *s, const store_instance_in_t *in)
{
    cp_errinfo_t ei = {0};
    cp_err_t err = store_blob_verify(s->ctx.blobs, &in->addr, NULL, &ei);
    if (err == CP_ETAMPER || err == CP_ENOENT) {
        if (store_pg_blob_relocate(s->ctx.pg, &in->addr, &in->loc, &ei) == CP_OK) {
            store_blob_remember(s->ctx.blobs, &in->addr, &in->loc);
            return; /* keep the new copy */
        }
    }
    store_blob_writer_discard(s->writer);
}

/* Rule 1 with the two waits overlapped: the index row is sent (in an open transaction)
 * as soon as the address is known, the blob's fsyncs run meanwhile, and the transaction
 * commits only once the blob is durable, so no one ever sees a row without its blob. */
static cp_err_t commit(gw_store_t *s)
{
    codec_dshdr_fields_t f;
    cp_err_t err = codec_dshdr_finish(s->hdr, &f, &s->ei);
    if (err == CP_OK)
        err = check_fields(s, &f);
    store_addr_t addr;
    uint64_t size = 0;
    if (err == CP_OK)
        err = store_blob_writer_seal(s->writer, &addr, &size, &s->ei);
    if (err != CP_OK)
        return err;
    store_instance_in_t in;
    gw_index_text_t u;
    gw_index_text(&f, &u);
    fill_row(s, &f, &u, &addr, size, &in);
    uint8_t pixel_hash[32];
    pixel_hash_result(s, &f, pixel_hash, &in);
    in.keeps = s->keeps;
    store_pg_txn_t *txn;
    err = store_pg_ingest_start(s->ctx.pg, &in, &txn, &s->ei);
    if (err != CP_OK)
        return err;
    err = store_blob_writer_commit(s->writer, &addr, &size, &s->ei);
    cp_errinfo_t pg_ei = {0};
    cp_err_t pg_err = store_pg_ingest_finish(txn, err == CP_OK, &s->out.res, &pg_ei);
    if (err == CP_OK && pg_err != CP_OK) {
        s->ei = pg_ei;
        err = pg_err;
    }
    if (err == CP_OK && !s->out.res.blob_new)
        settle_duplicate(s, &in);
    if (err == CP_OK && s->out.res.queued)
        gw_jobs_wake();
    return err;
}

static void run_chunk(uv_work_t *w)
{
    gw_store_t *s = container_of(w, gw_store_t, work);
    if (s->chunk_drop) {
        close_sinks(s);
        return;
    }
    if (s->chunk_poisoned)
        fail(s, cp_fail(&s->ei, CP_ENOMEM, 0, "out of memory while receiving the data set"));
    if (s->writer == NULL && s->out.err == CP_OK)
        open_sinks(s);
    if (s->out.err == CP_OK) {
        s->total += s->chunk_len;
        if (s->total > s->ctx.conf->dicom.max_instance_bytes)
            fail(s, cp_fail(&s->ei, CP_ETOOBIG, 0, "data set larger than max_instance_bytes"));
    }
    /* After a failure the rest of the data set is still received (the peer sends it),
     * but dropped. */
    if (s->out.err == CP_OK)
        fail(s, codec_dshdr_feed(s->hdr, s->chunk, s->chunk_len, &s->ei));
    if (s->out.err == CP_OK && s->total == s->chunk_len)
        settle_keeps(s);
    if (s->out.err == CP_OK)
        hash_pixels(s, s->chunk, s->chunk_len, s->total - s->chunk_len);
    if (s->out.err == CP_OK)
        fail(s, store_blob_writer_write(s->writer, s->chunk, s->chunk_len, &s->ei));
    if (s->chunk_last) {
        if (s->out.err == CP_OK)
            fail(s, commit(s));
        close_sinks(s);
    }
    s->out.bytes = s->total;
}

static void schedule(gw_store_t *s);

/* Failures that are about the data set the peer sent: it is told what is wrong. */
static bool about_the_data(cp_err_t err)
{
    return err == CP_EPARSE || err == CP_EUNSUPPORTED || err == CP_ETOOBIG ||
           err == CP_EINVAL || err == CP_EPROTO;
}

static void deliver(gw_store_t *s)
{
    gw_store_outcome_t *o = &s->out;
    if (o->err == CP_OK) {
        o->status = GW_STATUS_SUCCESS;
    } else {
        if (o->status == 0)
            o->status = cp_err_dicom_status(o->err);
        snprintf(o->why, sizeof o->why, "%s", cp_errinfo_msg(&s->ei, o->err));
        /* Error comments are at most 64 characters (LO); our messages carry no PHI. Of a
         * fault on our side (disk, database, key) the peer hears only its kind: file
         * names and content addresses stay in the log. */
        snprintf(o->comment, sizeof o->comment, "%s",
                 about_the_data(o->err) ? o->why : cp_strerror(o->err));
    }
    s->cbs.on_done(s->ud, o);
}

static void after_chunk(uv_work_t *w, int status)
{
    gw_store_t *s = container_of(w, gw_store_t, work);
    (void)status; /* work is never cancelled: uv_cancel is not used */
    bool backlogged = gw_store_backlogged(s); /* as the association last saw it */
    s->in_flight = false;
    bool was_last = s->chunk_last;
    if (s->cancelled) {
        if (s->writer == NULL && s->hdr == NULL) {
            store_free(s);
        } else {
            schedule(s); /* one more run to drop the temp file */
        }
        return;
    }
    if (was_last) {
        give_buffers(s); /* before on_done, which may start the next instance */
        deliver(s);
        store_free(s);
        return;
    }
    schedule(s);
    if (backlogged && !gw_store_backlogged(s))
        s->cbs.on_drain(s->ud);
}

/* Hands whatever is pending to a worker as soon as none is busy with this store: the
 * worker keeps pace with the network, so when the last PDV arrives little is left to
 * encrypt before the fsyncs; while it is busy, data accumulates into the next chunk. */
static void schedule(gw_store_t *s)
{
    if (s->in_flight)
        return;
    if (!s->cancelled && s->pending_len == 0 && !s->finishing)
        return;
    uint8_t *b = s->chunk;
    size_t cap = s->chunk_cap;
    s->chunk = s->pending;
    s->chunk_cap = s->pending_cap;
    s->chunk_len = s->pending_len;
    s->chunk_last = s->finishing && !s->cancelled;
    s->chunk_drop = s->cancelled;
    s->chunk_poisoned = s->push_failed;
    s->pending = b;
    s->pending_cap = cap;
    s->pending_len = 0;
    s->in_flight = true;
    uv_queue_work(s->loop, &s->work, run_chunk, after_chunk);
}

void gw_store_push(gw_store_t *s, const uint8_t *data, size_t len)
{
    buf_take(&s->pending, &s->pending_cap);
    if (s->pending_len + len > s->pending_cap) {
        size_t cap = s->pending_cap ? s->pending_cap : CHUNK + 16 * 1024;
        while (cap < s->pending_len + len)
            cap *= 2;
        uint8_t *p = realloc(s->pending, cap);
        if (p == NULL) {
            /* Dropping bytes would corrupt the object: fail it instead. */
            s->push_failed = true;
            s->pending_len = 0;
            return;
        }
        s->pending = p;
        s->pending_cap = cap;
    }
    memcpy(s->pending + s->pending_len, data, len);
    s->pending_len += len;
    /* Less than a chunk waits for more or for the end: an instance that arrives whole
     * (most do: a few kilobytes to a few hundred) costs one trip to a worker thread and
     * back, not two. */
    if (s->pending_len >= CHUNK)
        schedule(s);
}

bool gw_store_backlogged(const gw_store_t *s)
{
    return s->in_flight && s->pending_len >= CHUNK;
}

void gw_store_finish(gw_store_t *s)
{
    s->finishing = true;
    schedule(s);
}

void gw_store_cancel(gw_store_t *s)
{
    s->cancelled = true;
    if (!s->in_flight) {
        if (s->writer == NULL && s->hdr == NULL) {
            store_free(s);
        } else {
            schedule(s);
        }
    }
}
