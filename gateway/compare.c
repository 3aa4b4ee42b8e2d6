/* gateway/compare.c -- the compare job (migration 0024): a new version of a SOP Instance
 * UID against the versions before it. Two data sets hold the same content when their
 * canonical fingerprints are equal: every attribute before Pixel Data re-encoded as
 * Explicit VR LE with its text in UTF-8 (codec_xcode) and hashed without its VR, less the
 * attributes that belong to the encoding -- Specific Character Set, Photometric
 * Interpretation and Planar Configuration, which a decoder or a character set conversion
 * changes -- and then the
 * pixels as decoded (gw_jobs_pixel_digest, whose line of image attributes holds the
 * decoded photometric interpretation). Equal: the new row is a receipt of that version
 * in another encoding. Different: it stays a new version, flagged. */
#include <stdlib.h>
#include <string.h>

#include "codec_ds.h"
#include "cp_log.h"
#include "cp_mem.h"
#include "jobs_int.h"

#define MAX_VERSIONS 16

static cp_err_t digest_write(void *ud, const void *data, size_t len, cp_errinfo_t *ei)
{
    if (EVP_DigestUpdate(ud, data, len) != 1)
        return cp_fail(ei, CP_ENOMEM, 0, "hashing a data set");
    return CP_OK;
}

/* Tags, lengths and values, items marked, VRs left out: a VR the dictionary gives an
 * implicit data set (US for Smallest Image Pixel Value) may differ from the one an
 * explicit sender wrote (SS) for the same bytes. */
static cp_err_t hash_level(EVP_MD_CTX *md, codec_ds_iter_t *it, cp_errinfo_t *ei)
{
    codec_elem_t e;
    cp_err_t err;
    while ((err = codec_ds_next(it, &e, ei)) == CP_OK) {
        uint32_t head[2] = {e.tag, e.len};
        if (strcmp(e.vr, "SQ") != 0) {
            EVP_DigestUpdate(md, head, sizeof head);
            EVP_DigestUpdate(md, e.value, e.len);
            continue;
        }
        EVP_DigestUpdate(md, head, sizeof head[0]);
        codec_ds_iter_t seq, item;
        codec_ds_seq_init(&seq, it, &e);
        while ((err = codec_ds_item_next(&seq, &item, ei)) == CP_OK) {
            EVP_DigestUpdate(md, "I", 1);
            if ((err = hash_level(md, &item, ei)) != CP_OK)
                return err;
            EVP_DigestUpdate(md, "E", 1);
        }
        if (err != CP_EOF)
            return err;
        EVP_DigestUpdate(md, "Q", 1);
    }
    return err == CP_EOF ? CP_OK : err;
}

/* Taken out before hashing (value NULL), in ascending order as codec_xcode wants them. */
static const codec_edit_t encoding_attrs[] = {
    {CODEC_TAG(0x0008, 0x0005), "CS", NULL, 0, false}, /* Specific Character Set */
    {CODEC_TAG(0x0028, 0x0004), "CS", NULL, 0, false}, /* Photometric Interpretation */
    {CODEC_TAG(0x0028, 0x0006), "US", NULL, 0, false}, /* Planar Configuration */
};

static cp_err_t fingerprint(const gw_ctx_t *ctx, const store_addr_t *addr, const char *ts_uid,
                            uint8_t out[32], cp_errinfo_t *ei)
{
    const codec_ts_t *ts = codec_ts_find(ts_uid);
    if (ts == NULL)
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "unknown transfer syntax %s", ts_uid);
    codec_dshdr_fields_t f;
    cp_err_t err = gw_jobs_blob_header(ctx, addr, ts->enc, &f, ei);
    if (err != CP_OK)
        return err;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return cp_fail(ei, CP_ENOMEM, 0, "hashing a data set");
    }
    codec_xcode_opts_t o = {.in = ts->enc, .charset = f.charset, .edits = encoding_attrs,
                            .n_edits = (int)CP_ARRAY_LEN(encoding_attrs)};
    gw_membuf_t head = {0};
    err = gw_xcode_header_to_memory(ctx->blobs, addr, &o, &head, ei);
    codec_ds_iter_t it;
    codec_ds_iter_init(&it, CODEC_ENC_EXPLICIT_LE, head.p, head.len);
    if (err == CP_OK)
        err = hash_level(md, &it, ei);
    free(head.p);
    uint8_t pixels[32];
    bool decoded;
    if (err == CP_OK && f.has_pixel_data &&
        (err = gw_jobs_pixel_digest(ctx, addr, &f, ts, pixels, &decoded, ei)) == CP_OK)
        err = digest_write(md, pixels, sizeof pixels, ei);
    if (err == CP_OK && EVP_DigestFinal_ex(md, out, NULL) != 1)
        err = cp_fail(ei, CP_ENOMEM, 0, "hashing a data set");
    EVP_MD_CTX_free(md);
    return err;
}

/* A data set that cannot be read canonically (a malformed one, text in a character set
 * not decoded here) is compared with nothing: it stays a new version. */
static bool incomparable(cp_err_t err)
{
    return err == CP_EPARSE || err == CP_EUNSUPPORTED || err == CP_ETOOBIG;
}

cp_err_t gw_compare(const gw_ctx_t *ctx, const store_job_t *job, cp_errinfo_t *ei)
{
    store_version_t earlier[MAX_VERSIONS];
    int n = 0;
    cp_err_t err = store_jobs_earlier_versions(ctx->pg, job->instance_id, earlier,
                                               MAX_VERSIONS, &n, ei);
    if (err != CP_OK || n == 0 || !job->has_instance)
        return err;
    uint8_t mine[32], theirs[32];
    if ((err = fingerprint(ctx, &job->addr, job->ts, mine, ei)) != CP_OK)
        return incomparable(err) ? CP_OK : err;
    for (int i = 0; i < n; i++) {
        err = fingerprint(ctx, &earlier[i].addr, earlier[i].ts, theirs, ei);
        if (incomparable(err))
            continue;
        if (err != CP_OK)
            return err;
        if (memcmp(mine, theirs, sizeof mine) != 0)
            continue;
        bool done = false;
        err = store_jobs_set_encoding(ctx->pg, job->instance_id, earlier[i].id, &done, ei);
        if (err == CP_OK && done)
            CP_LOG(CP_LOG_INFO, "jobs", "event=same_content instance=%lld version=%d transfer_syntax=%s",
                   (long long)job->instance_id, earlier[i].version, job->ts);
        return err;
    }
    CP_LOG(CP_LOG_INFO, "jobs", "event=new_content instance=%lld", (long long)job->instance_id);
    return CP_OK;
}
