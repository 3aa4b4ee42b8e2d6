/* gateway/normalize.c -- the normalize job: a new, linked data set for an instance whose
 * original a reviewing workstation may not read right (DESIGN.md rule 2: the original
 * stays byte for byte). What it changes:
 *   - transfer syntax ([jobs] delivery): as-received keeps native little endian and the
 *     compressed syntaxes and makes Explicit VR Big Endian and Deflated Explicit VR LE;
 *     explicit-le, jpeg-ls-lossless and j2k-lossless transcode every lossless original,
 *     frame by frame (transcode.c); lossy originals are never re-encoded. Implicit VR LE
 *     becomes Explicit when the data set is rewritten anyway;
 *   - character set: text decoded to UTF-8, (0008,0005) ISO_IR 192; 8-bit text without a
 *     Specific Character Set is read as UTF-8 when valid, else as ISO 8859-1;
 *   - repairs: odd-length values padded, UI padded with NUL and text with space;
 *   - patient identity: coerced to the patient the instance is filed under, the values
 *     sent kept in Original Attributes Sequence (codec_coerce.h).
 * A dry run over the header decides whether anything changes; if so, the data set is
 * re-encoded into a new blob whose pixel data is checked against the original's before
 * the result is recorded. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec_coerce.h"
#include "codec_ds.h"
#include "codec_xcode.h"
#include "cp_log.h"
#include "index_text.h"
#include "jobs_int.h"
#include "transcode.h"

#define EXPLICIT_LE "1.2.840.10008.1.2.1"
#define MAX_CHANGES 8

typedef struct changes {
    char text[MAX_CHANGES][160];
    const char *list[MAX_CHANGES];
    int n;
} changes_t;

static void change(changes_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void change(changes_t *c, const char *fmt, ...)
{
    if (c->n >= MAX_CHANGES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->text[c->n], sizeof c->text[c->n], fmt, ap);
    va_end(ap);
    c->list[c->n] = c->text[c->n];
    c->n++;
}

#define TAGF(t) (unsigned)((t) >> 16), (unsigned)((t)&0xFFFF)

/* What the dry run found, as the changes the rewrite makes. */
static void describe(const codec_ts_t *ts, const char *out_ts, const char *charset,
                     const codec_xcode_report_t *rep, changes_t *c)
{
    if (strcmp(ts->uid, out_ts) != 0)
        change(c, "transfer syntax %s -> %s", ts->uid, out_ts);
    if (rep->non_ascii > rep->guessed && strcmp(charset, "ISO_IR 192") != 0)
        change(c, "character set %s -> ISO_IR 192 (%u values)", charset,
               rep->non_ascii - rep->guessed);
    if (rep->guessed > 0)
        change(c, "no Specific Character Set for 8-bit text: %u values read as UTF-8 or "
                  "ISO 8859-1, first (%04X,%04X); ISO_IR 192 declared",
               rep->guessed, TAGF(rep->guessed_tag));
    if (rep->odd_lengths > 0)
        change(c, "odd-length values padded: %u, first (%04X,%04X)", rep->odd_lengths,
               TAGF(rep->odd_tag));
    if (rep->padding > 0)
        change(c, "padding fixed (UI with NUL, text with space): %u, first (%04X,%04X)",
               rep->padding, TAGF(rep->padding_tag));
}

/* The transfer syntax to deliver in ([jobs] delivery). Lossy originals stay as they are
 * (never decoded and re-encoded lossily); Big Endian and Deflated never stay. */
static const codec_ts_t *delivery_ts(int delivery, const codec_ts_t *ts)
{
    static const char *const uids[] = {
        [CONF_DELIVERY_EXPLICIT_LE] = EXPLICIT_LE,
        [CONF_DELIVERY_JPEG_LS] = "1.2.840.10008.1.2.4.80",
        [CONF_DELIVERY_J2K] = "1.2.840.10008.1.2.4.90",
    };
    if (ts->lossy)
        return ts;
    if (delivery == CONF_DELIVERY_AS_RECEIVED)
        return ts->enc == CODEC_ENC_EXPLICIT_BE || ts->enc == CODEC_ENC_DEFLATED_LE
                   ? codec_ts_find(EXPLICIT_LE) : ts;
    return codec_ts_find(uids[delivery]);
}

/* Text that the rewrite decodes to UTF-8: non-ASCII values not declared ISO_IR 192, or
 * 8-bit text sent without a Specific Character Set. */
static bool text_to_utf8(const codec_dshdr_fields_t *f, const codec_xcode_report_t *rep)
{
    return rep->non_ascii > 0 && (strcmp(f->charset, "ISO_IR 192") != 0 || rep->guessed > 0);
}

/* The transfer syntax a rewrite writes, and whether its pixels are re-encoded. */
static const codec_ts_t *output_ts(const conf_t *conf, const codec_dshdr_fields_t *f,
                                   const codec_ts_t *ts, bool *pixels)
{
    const codec_ts_t *out = delivery_ts(conf->jobs.delivery, ts);
    *pixels = f->has_pixel_data && out != ts && (ts->encapsulated || out->encapsulated);
    if (*pixels && ts->encapsulated && !codec_pixels_decodable(ts->uid))
        out = ts, *pixels = false; /* no decoder: the fragments stay as they are */
    if (*pixels && !ts->encapsulated && f->bits_allocated != 8 && f->bits_allocated != 16)
        out = codec_ts_find(EXPLICIT_LE), *pixels = false; /* encoders take 8 or 16 bits */
    return out;
}

/* Whether the header (f, and rep: the dry run's report) asks for no rewrite, leaving the
 * patient identity aside. Big Endian and Deflated data sets are always written anew:
 * output_ts never keeps their syntax. */
static bool header_keeps(const conf_t *conf, const codec_dshdr_fields_t *f, const codec_ts_t *ts,
                         const codec_xcode_report_t *rep)
{
    bool pixels;
    return !text_to_utf8(f, rep) && rep->odd_lengths == 0 && rep->padding == 0 &&
           output_ts(conf, f, ts, &pixels) == ts;
}

bool gw_normalize_header_keeps(const conf_t *conf, const codec_dshdr_fields_t *f,
                               const codec_ts_t *ts, const uint8_t *data, size_t len)
{
    if (ts->enc == CODEC_ENC_EXPLICIT_BE || ts->enc == CODEC_ENC_DEFLATED_LE)
        return false; /* rewritten whatever the header holds */
    codec_xcode_opts_t o = {.in = ts->enc, .charset = f->charset, .header_only = true};
    codec_xcode_report_t rep;
    codec_mem_src_t m = {data, len, 0};
    cp_errinfo_t ei = {0};
    /* a data set the dry run cannot read is the job's, which reports why */
    return codec_xcode(&o, codec_mem_read, &m, NULL, NULL, &rep, &ei) == CP_OK &&
           header_keeps(conf, f, ts, &rep);
}

/* The identity the instance is coerced to (store_jobs_patient_identity): its case's
 * patient, or the patient record it is filed under (a later instance sent with another
 * name or birth date for the same patient ID gets the record's); what the sender wrote
 * is kept in Original Attributes Sequence. */
static void coercion_for(const store_job_t *job, const codec_dshdr_fields_t *f,
                         const store_patient_identity_t *p, codec_coercion_t *co)
{
    gw_index_text_t u;
    gw_index_text(f, &u);
    /* decoded as the index holds them, so that equal values compare equal */
    codec_identity_t sent = {u.patient_id, u.issuer, u.patient_name, f->birth_date, f->sex};
    codec_identity_t target = {p->patient_id, p->issuer, p->name, p->birth_date, p->sex};
    /* The modification is dated when the job was made, not when it ran: a job run again
     * (its worker killed before the result was recorded) writes the same bytes, so the
     * blob the first run left is the one recorded, not an orphan beside it. */
    char now[32];
    time_t t = (time_t)job->queued_at;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y%m%d%H%M%S+0000", &tm);
    codec_coerce_identity(&sent, &target, now, p->calling_ae, co);
}

/* The edits: (0008,0005) when the text becomes UTF-8, then the coercion's. */
static int edits_for(bool utf8, const codec_coercion_t *co, codec_edit_t *out)
{
    int n = 0;
    if (utf8)
        out[n++] = (codec_edit_t){CODEC_TAG(0x0008, 0x0005), "CS", "ISO_IR 192", 10, false};
    for (int i = 0; i < co->n_edits; i++)
        out[n++] = co->edits[i];
    return n;
}

static bool non_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

cp_err_t gw_normalize(const gw_ctx_t *ctx, const store_job_t *job, cp_errinfo_t *ei)
{
    codec_dshdr_fields_t f;
    store_addr_t orig;
    const codec_ts_t *ts = NULL;
    store_patient_identity_t who;
    cp_err_t err = gw_jobs_read_header(ctx, job, &f, &orig, &ts, ei);
    if (err == CP_OK && job->has_instance)
        who = job->patient;
    else if (err == CP_OK)
        err = store_jobs_patient_identity(ctx->pg, job->instance_id, &who, ei);
    if (err != CP_OK)
        return err;
    /* the header parser keeps (0008,0005) raw: a multi-valued one keeps its backslashes */
    codec_xcode_opts_t o = {.in = ts->enc, .charset = f.charset, .header_only = true};
    codec_xcode_report_t rep;
    if ((err = gw_xcode_blob(ctx->blobs, &orig, &o, NULL, NULL, &rep, ei)) != CP_OK)
        return err;
    codec_coercion_t co;
    coercion_for(job, &f, &who, &co);
    bool utf8 = text_to_utf8(&f, &rep) ||
                (co.n_changed > 0 && strcmp(f.charset, "ISO_IR 192") != 0 &&
                 (non_ascii(who.name) || non_ascii(f.patient_name)));
    bool pixels;
    const codec_ts_t *out = output_ts(ctx->conf, &f, ts, &pixels);
    bool rewrite_needed = utf8 || co.n_changed > 0 || !header_keeps(ctx->conf, &f, ts, &rep);
    if (!rewrite_needed) {
        codec_coerce_free(&co);
        return store_jobs_set_normalized(ctx->pg, job->instance_id, job->id, NULL, 0, NULL, NULL,
                                         NULL, 0, "the original needs no change", ei);
    }
    if (!out->encapsulated && !ts->encapsulated)
        out = codec_ts_find(EXPLICIT_LE); /* a rewritten native data set is Explicit VR LE */
    const char *out_ts = out->uid;
    changes_t c = {0};
    describe(ts, out_ts, f.charset, &rep, &c);
    if (co.n_changed > 0)
        change(&c, "patient identity coerced to %s (%s); the values sent are in Original "
                   "Attributes Sequence",
               strcmp(who.issuer, "CASEPORT") == 0 ? "the case's patient" : "the patient record",
               co.what);
    codec_edit_t edits[CODEC_COERCE_MAX_EDITS + 3];
    o.header_only = false;
    o.n_edits = edits_for(utf8, &co, edits);
    char photometric[17];
    if (pixels) {
        o.n_edits += gw_pixel_edits(ctx, &orig, &f, ts, photometric, edits + o.n_edits, ei, &err);
        if (err != CP_OK) {
            codec_coerce_free(&co);
            return err;
        }
        qsort(edits, (size_t)o.n_edits, sizeof edits[0], gw_edits_by_tag);
    }
    o.edits = edits;
    o.drop_offset_tables = pixels;
    /* the charset option decodes text only when the result is declared UTF-8 */
    if (!utf8)
        o.charset = NULL;
    store_addr_t addr;
    uint64_t size = 0;
    const char *how = "";
    err = gw_rewrite(ctx, &orig, ts, &o, pixels ? &f : NULL, out, &addr, &size, &how, ei);
    codec_coerce_free(&co);
    if (err != CP_OK)
        return err;
    err = store_jobs_set_normalized(ctx->pg, job->instance_id, job->id, &addr, size,
                                    store_blob_key_id(ctx->blobs), out_ts, c.list, c.n, how, ei);
    if (err == CP_OK)
        CP_LOG(CP_LOG_INFO, "jobs",
               "event=normalized instance=%lld changes=%d transfer_syntax=%s size=%llu",
               (long long)job->instance_id, c.n, out_ts, (unsigned long long)size);
    return err;
}
