/* gateway/dicom/qr.c -- Query/Retrieve SCP: C-FIND and C-GET with C-CANCEL.
 * One operation per association at a time (the asynchronous window is 1/1). The query
 * runs on the thread pool (store_qr.c); results come back to the loop and are sent while
 * the peer keeps reading (gw__wait_writable), so a slow reader holds at most about
 * GW_SEND_HIGH of our memory, and a peer that stops reading is dropped after
 * send_timeout. C-GET and C-MOVE send each instance as a C-STORE sub-operation on a
 * presentation context for its SOP class on which the peer takes the SCP role: in the
 * syntax it is stored in when the peer accepted that, else in Explicit VR Little Endian
 * with native pixels, a delivery copy made once on the thread pool (gw_delivery_copy);
 * with neither, that sub-operation fails and the final response says why. */
#include "qr.h"

#include <stdlib.h>
#include <string.h>

#include "blobsend.h"
#include "codec_charset.h"
#include "codec_ds.h"
#include "cp_log.h"
#include "cp_mem.h"
#include "store_qr.h"
#include "transcode.h"

#define MAX_KEYS 64
#define EXPLICIT_LE "1.2.840.10008.1.2.1"
#define MAX_FAILED_LIST 0xFF00 /* bytes of Failed SOP Instance UID List (a 16-bit VR) */

static const struct model {
    const char *uid;
    const char *name;
    bool patient_root;
    uint16_t command; /* the request it serves */
} models[] = {
    {"1.2.840.10008.5.1.4.1.2.1.1", "patient root", true, GW_C_FIND_RQ},
    {"1.2.840.10008.5.1.4.1.2.1.3", "patient root", true, GW_C_GET_RQ},
    {"1.2.840.10008.5.1.4.1.2.1.2", "patient root", true, GW_C_MOVE_RQ},
    {"1.2.840.10008.5.1.4.1.2.2.1", "study root", false, GW_C_FIND_RQ},
    {"1.2.840.10008.5.1.4.1.2.2.3", "study root", false, GW_C_GET_RQ},
    {"1.2.840.10008.5.1.4.1.2.2.2", "study root", false, GW_C_MOVE_RQ},
};

typedef struct sub {
    char sop_class[65], sop_instance[65], ts[65];
    store_addr_t addr;
} sub_t;

typedef struct gw_qr {
    gw__assoc_t *a; /* NULL once the association is gone */
    const struct model *model;
    gw_dimse_cmd_t rq;
    uint8_t pc_id;
    codec_enc_t enc;
    store_qr_level_t level;
    char level_text[17];
    int n_keys;
    store_qr_key_t keys[MAX_KEYS];
    bool unsupported; /* some keys are neither matched nor returned: pending is 0xFF01 */
    store_qr_access_t access;
    bool show_duplicates;
    bool send_originals;
    char peer_name[48];
    const char *ae_title;
    int limit;
    store_pg_t *pg; /* for the worker: the association may be gone by then */
    uv_loop_t *loop;
    /* who asked, copied at the start: the audit row is written also after the
     * association is gone */
    uint32_t assoc_id;
    char calling[17], username[65], peer_addr[64];
    /* the worker */
    uv_work_t work;
    bool busy;
    cp_err_t err;
    char why[160];
    /* C-FIND */
    codec_ds_buf_t *results;
    int n_results, cap_results, sent;
    bool truncated;
    /* C-GET */
    sub_t *subs;
    int n_subs, cap_subs, next;
    uint32_t completed, failed, warning; /* clamped to 16 bits only in responses */
    codec_ds_buf_t failed_uids; /* the UIDs, backslash-separated */
    gw_blobsend_t *send;
    bool first_chunk, awaiting_rsp;
    /* the next instance's first chunk, read while the peer answers the current one */
    gw_blobsend_t *pre;
    int pre_index;
    bool pre_ready, pre_last;
    const uint8_t *pre_data;
    size_t pre_len;
    cp_err_t pre_err;
    char pre_why[160];
    uint16_t sub_msg_id;
    uint8_t sub_pc;
    const sub_t *cur;
    store_addr_t send_addr; /* what goes out for cur: its blob, or its delivery copy */
    char fail_comment[65];  /* the first failed sub-operation's reason, for the final response */
    /* the delivery copy being found or made, off the loop: its own work request, as the
     * query's may be queued meanwhile (a lost destination) */
    uv_work_t xwork;
    const gw_ctx_t *ctx; /* the server's, which outlives every operation */
    bool xbusy;
    cp_err_t xerr;
    char xwhy[160];
    /* the operation ended while xwork ran: freed (and audited) once it is back */
    bool free_pending;
    int free_status;
    char free_outcome[96];
    bool cancelled;
    /* C-MOVE */
    const conf_peer_t *dest;
    gw__assoc_t *out; /* the association to the destination, once requested */
    bool lost;        /* it ended before we let it go */
    bool lost_sub;    /* with a sub-operation under way */
    char lost_why[96];
} gw_qr_t;

static void next_sub(gw_qr_t *q);
static void noop(uv_work_t *w);
static void unanswerable_sub(gw_qr_t *q);

bool gw_qr_class(const char *uid)
{
    for (size_t i = 0; i < CP_ARRAY_LEN(models); i++)
        if (strcmp(models[i].uid, uid) == 0)
            return true;
    return false;
}

bool gw_qr_request(uint16_t field)
{
    return field == GW_C_FIND_RQ || field == GW_C_GET_RQ || field == GW_C_MOVE_RQ;
}

static const char *op_name(const gw_qr_t *q)
{
    return q->rq.command_field == GW_C_FIND_RQ  ? "C-FIND"
           : q->rq.command_field == GW_C_GET_RQ ? "C-GET"
                                                : "C-MOVE";
}

/* Where the sub-operations go: the requestor itself (C-GET) or the destination. */
static gw__assoc_t *dst(const gw_qr_t *q)
{
    return q->rq.command_field == GW_C_MOVE_RQ ? q->out : q->a;
}

static gw_qr_t *op_of(gw__assoc_t *a)
{
    return a->mover != NULL ? a->mover : a->qr;
}

/* Lets the destination association go: released when it is healthy, else aborted. */
static void let_go(gw_qr_t *q, bool release)
{
    gw__assoc_t *out = q->out;
    if (out == NULL)
        return;
    q->out = NULL;
    out->mover = NULL;
    out->on_writable = NULL;
    if (release && out->state == GW_STA6)
        gw__assoc_release(out);
    else
        gw__local_abort(out, "c-move ended");
}

static void qr_free(gw_qr_t *q)
{
    for (int i = 0; i < q->n_keys; i++)
        free((char *)q->keys[i].value);
    for (int i = 0; i < q->n_results; i++)
        codec_ds_buf_free(&q->results[i]);
    free(q->results);
    free(q->subs);
    codec_ds_buf_free(&q->failed_uids);
    gw_blobsend_close(q->send);
    gw_blobsend_close(q->pre);
    free(q);
}

/* ---- the audit row, written off the loop after the final response ---- */

typedef struct audit_job {
    uv_work_t work;
    store_pg_t *pg;
    gw_qr_t *q; /* owned: freed after the row is written */
    store_qr_audit_t row;
    char calling[17], username[65], peer[64], outcome[96];
    uint32_t assoc_id;
} audit_job_t;

static void run_audit(uv_work_t *w)
{
    audit_job_t *j = container_of(w, audit_job_t, work);
    cp_errinfo_t ei = {0};
    cp_err_t err = store_qr_audit(j->pg, &j->row, &ei);
    if (err != CP_OK)
        CP_LOG(CP_LOG_ERROR, "dicom.qr", "event=audit_failed assoc=%u error=%s why=\"%s\"",
               j->assoc_id, cp_err_name(err), cp_errinfo_msg(&ei, err));
}

static void after_audit(uv_work_t *w, int status)
{
    (void)status;
    audit_job_t *j = container_of(w, audit_job_t, work);
    qr_free(j->q);
    free(j);
}

/* Hands the operation, detached from any association, to the audit writer, which frees
 * it. status -1: it ended without a final response (aborted, association lost). */
static void audit_and_free(gw_qr_t *q, int status, const char *outcome)
{
    if (q->xbusy) { /* a delivery copy is being made: after_copy comes back here */
        q->free_pending = true;
        q->free_status = status;
        snprintf(q->free_outcome, sizeof q->free_outcome, "%s", outcome);
        return;
    }
    audit_job_t *j = cp_xcalloc(1, sizeof *j);
    j->pg = q->pg;
    j->q = q;
    j->assoc_id = q->assoc_id;
    snprintf(j->calling, sizeof j->calling, "%s", q->calling);
    snprintf(j->username, sizeof j->username, "%s", q->username);
    snprintf(j->peer, sizeof j->peer, "%s", q->peer_addr);
    snprintf(j->outcome, sizeof j->outcome, "%s", outcome);
    j->row = (store_qr_audit_t){
        .operation = op_name(q), .model = q->model ? q->model->name : "?",
        .level = q->level_text, .calling_ae = j->calling, .peer_name = q->peer_name,
        .username = j->username, .peer_address = j->peer, .access = q->access,
        .destination_ae = q->rq.move_destination,
        .keys = q->keys, .n_keys = q->n_keys,
        .matches = q->rq.command_field == GW_C_FIND_RQ ? q->n_results : q->n_subs,
        .completed = (int)q->completed, .failed = (int)q->failed, .warning = (int)q->warning,
        .status = status, .outcome = j->outcome};
    /* qr_level, not level: a second `level` key, holding the peer's text, would override
     * the line's own log level in JSON */
    CP_LOG(status < 0 ? CP_LOG_WARN : CP_LOG_INFO, "dicom.qr",
           "event=%s assoc=%u msg_id=%u qr_level=%s keys=%d matches=%d completed=%u failed=%u "
           "warning=%u status=%d outcome=\"%s\"",
           q->rq.command_field == GW_C_FIND_RQ  ? "find"
           : q->rq.command_field == GW_C_GET_RQ ? "get"
                                                : "move",
           q->assoc_id, q->rq.message_id, q->level_text, q->n_keys, j->row.matches,
           q->completed, q->failed, q->warning, status, outcome);
    gw_blobsend_close(q->send);
    q->send = NULL;
    gw_blobsend_close(q->pre);
    q->pre = NULL;
    uv_queue_work(q->loop, &j->work, run_audit, after_audit);
}

/* After the final response: the operation leaves its association, audited. */
static void finish(gw_qr_t *q, uint16_t status, const char *outcome)
{
    gw__assoc_t *a = q->a;
    let_go(q, true);
    q->a = NULL;
    a->qr = NULL;
    audit_and_free(q, status, outcome);
    gw__op_done(a);
}

/* ---- responses ---- */

static uint16_t clamp16(uint32_t v)
{
    return v > 0xFFFF ? 0xFFFF : (uint16_t)v;
}

static void send_rsp(gw_qr_t *q, uint16_t status, const codec_ds_buf_t *ds, const char *comment,
                     bool counts)
{
    gw_dimse_cmd_t rsp = {0};
    rsp.command_field = (uint16_t)(q->rq.command_field | 0x8000);
    rsp.message_id_rsp = q->rq.message_id;
    rsp.status = status;
    rsp.data_set_type = ds != NULL ? GW_DATA_SET_PRESENT : GW_DATA_SET_NONE;
    snprintf(rsp.sop_class, sizeof rsp.sop_class, "%s", q->rq.sop_class);
    if (comment != NULL)
        snprintf(rsp.error_comment, sizeof rsp.error_comment, "%s", comment);
    if (counts) {
        rsp.has_counts = true;
        rsp.completed = clamp16(q->completed);
        rsp.failed = clamp16(q->failed);
        rsp.warning = clamp16(q->warning);
        /* remaining: in pending and cancel responses only (PS3.7 C.4.3.1.3.1) */
        rsp.has_remaining = status == GW_STATUS_PENDING || status == GW_STATUS_CANCEL;
        rsp.remaining = clamp16((uint32_t)(q->n_subs - q->next));
    }
    gw__send_command(q->a, q->pc_id, &rsp);
    if (ds != NULL)
        gw__send_data(q->a, q->pc_id, ds->data, ds->len, true);
}

/* A failure before any match was sent. */
static void fail(gw_qr_t *q, uint16_t status, const char *comment)
{
    send_rsp(q, status, NULL, comment, q->rq.command_field != GW_C_FIND_RQ);
    finish(q, status, comment);
}

/* ---- the identifier ---- */

static const struct level_name {
    const char *text;
    store_qr_level_t level;
    uint32_t unique; /* the level's unique key */
} levels[] = {
    {"PATIENT", STORE_QR_PATIENT, CODEC_TAG(0x0010, 0x0020)},
    {"STUDY", STORE_QR_STUDY, CODEC_TAG(0x0020, 0x000D)},
    {"SERIES", STORE_QR_SERIES, CODEC_TAG(0x0020, 0x000E)},
    {"IMAGE", STORE_QR_IMAGE, CODEC_TAG(0x0008, 0x0018)},
};

#define TAG_CHARSET CODEC_TAG(0x0008, 0x0005)
#define TAG_LEVEL CODEC_TAG(0x0008, 0x0052)
#define TAG_RETRIEVE_AE CODEC_TAG(0x0008, 0x0054)
#define TAG_AVAILABILITY CODEC_TAG(0x0008, 0x0056)

static bool special(uint32_t tag)
{
    return tag == TAG_CHARSET || tag == TAG_LEVEL || tag == TAG_RETRIEVE_AE ||
           tag == TAG_AVAILABILITY;
}

static const char *key_value(const gw_qr_t *q, uint32_t tag)
{
    for (int i = 0; i < q->n_keys; i++)
        if (q->keys[i].tag == tag)
            return q->keys[i].value;
    return NULL;
}

/* The index is UTF-8: text keys in the identifier's own Specific Character Set are
 * decoded before they are matched (a key that does not decode is matched as received). */
static void decode_keys(gw_qr_t *q)
{
    const char *cs = key_value(q, TAG_CHARSET);
    if (cs == NULL || cs[0] == '\0')
        return;
    for (int i = 0; i < q->n_keys; i++) {
        const char *vr = codec_ds_vr(q->keys[i].tag);
        bool pn = vr != NULL && strcmp(vr, "PN") == 0;
        if (vr == NULL || !(pn || strcmp(vr, "LO") == 0 || strcmp(vr, "SH") == 0))
            continue;
        size_t cap = 4 * strlen(q->keys[i].value) + 1;
        char *u = cp_xmalloc(cap);
        if (codec_charset_to_utf8(cs, q->keys[i].value, strlen(q->keys[i].value), pn, u, cap,
                                  NULL) == CP_OK) {
            free((char *)q->keys[i].value);
            q->keys[i].value = u;
        } else {
            free(u);
        }
    }
}

/* Reads the identifier into keys; returns a failure comment, or NULL. */
static const char *parse_ident(gw_qr_t *q, const uint8_t *data, size_t len)
{
    codec_ds_iter_t it;
    codec_elem_t e;
    cp_err_t err;
    codec_ds_iter_init(&it, q->enc, data, len);
    while ((err = codec_ds_next(&it, &e, NULL)) == CP_OK) {
        if ((e.tag & 0xFFFF) == 0)
            continue; /* group length */
        if (strcmp(e.vr, "SQ") == 0 || q->n_keys == MAX_KEYS) {
            q->unsupported = true; /* sequence matching is not offered */
            continue;
        }
        char *v = cp_xmalloc(e.len + 1u);
        codec_elem_text(&e, v, e.len + 1u);
        q->keys[q->n_keys++] = (store_qr_key_t){.tag = e.tag, .value = v};
    }
    if (err != CP_EOF)
        return "identifier cannot be parsed";
    decode_keys(q);
    const char *lv = key_value(q, TAG_LEVEL);
    if (lv == NULL)
        return "identifier has no query/retrieve level (0008,0052)";
    snprintf(q->level_text, sizeof q->level_text, "%s", lv);
    for (size_t i = 0; i < CP_ARRAY_LEN(levels); i++) {
        if (strcmp(lv, levels[i].text) != 0)
            continue;
        if (levels[i].level == STORE_QR_PATIENT && !q->model->patient_root)
            return "PATIENT level is not in the study root model";
        q->level = levels[i].level;
        for (int k = 0; k < q->n_keys; k++)
            if (!special(q->keys[k].tag) && !store_qr_key_known(q->keys[k].tag, q->level))
                q->unsupported = true;
        const char *uid = key_value(q, levels[i].unique);
        if (q->rq.command_field != GW_C_FIND_RQ && (uid == NULL || uid[0] == '\0'))
            return "retrieval without the unique key of its level";
        return NULL;
    }
    return "unknown query/retrieve level";
}

/* ---- C-FIND ---- */

static bool non_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

/* One match as a response identifier: the requested keys the index holds, in the order
 * asked (ascending), the specials filled in. Values in the index are UTF-8. */
static bool on_match(void *ud, const char *const *values, const char *charset)
{
    (void)charset;
    gw_qr_t *q = ud;
    if (q->n_results >= q->limit) {
        q->truncated = true;
        return false;
    }
    if (q->n_results == q->cap_results) {
        q->cap_results = q->cap_results ? 2 * q->cap_results : 16;
        q->results = cp_xrealloc(q->results, (size_t)q->cap_results * sizeof *q->results);
    }
    bool utf8 = false;
    for (int i = 0; i < q->n_keys; i++)
        utf8 |= values[i] != NULL && non_ascii(values[i]);
    codec_ds_buf_t *b = &q->results[q->n_results++];
    codec_ds_buf_init(b, q->enc);
    if (utf8 && key_value(q, TAG_CHARSET) == NULL)
        codec_ds_put_text(b, TAG_CHARSET, "ISO_IR 192");
    for (int i = 0; i < q->n_keys; i++) {
        uint32_t tag = q->keys[i].tag;
        if (tag == TAG_CHARSET)
            codec_ds_put_text(b, tag, utf8 ? "ISO_IR 192" : "");
        else if (tag == TAG_LEVEL)
            codec_ds_put_text(b, tag, q->level_text);
        else if (tag == TAG_RETRIEVE_AE)
            codec_ds_put_text(b, tag, q->ae_title);
        else if (tag == TAG_AVAILABILITY)
            codec_ds_put_text(b, tag, "ONLINE");
        else if (store_qr_key_known(tag, q->level))
            codec_ds_put_text(b, tag, values[i] != NULL ? values[i] : "");
    }
    return true;
}


static void send_matches(gw__assoc_t *a);

static void find_final(gw_qr_t *q)
{
    if (q->cancelled) {
        send_rsp(q, GW_STATUS_CANCEL, NULL, NULL, false);
        finish(q, GW_STATUS_CANCEL, "cancelled");
    } else if (q->truncated) {
        char why[65];
        snprintf(why, sizeof why, "more than %d matches: narrow the query", q->limit);
        send_rsp(q, GW_STATUS_OUT_OF_RESOURCES, NULL, why, false);
        finish(q, GW_STATUS_OUT_OF_RESOURCES, "too many matches");
    } else {
        send_rsp(q, GW_STATUS_SUCCESS, NULL, NULL, false);
        finish(q, GW_STATUS_SUCCESS, "success");
    }
}

static void yield_noop(uv_work_t *w)
{
    (void)w;
}

static void after_yield(uv_work_t *w, int status)
{
    (void)status;
    gw_qr_t *q = container_of(w, gw_qr_t, work);
    q->busy = false;
    if (q->a == NULL)
        audit_and_free(q, -1, "association ended during the query");
    else
        send_matches(q->a);
}

/* Pending responses while the peer reads them, FIND_BATCH at a time with a loop turn
 * between batches, so that a C-CANCEL sent after the first ones is read and stops them. */
#define FIND_BATCH 8
static void send_matches(gw__assoc_t *a)
{
    gw_qr_t *q = a->qr;
    for (int batch = 0; q->sent < q->n_results && !q->cancelled; batch++) {
        if (gw__backlog(a) > GW_SEND_HIGH) {
            gw__wait_writable(a, send_matches);
            return;
        }
        if (batch == FIND_BATCH) {
            q->busy = true;
            uv_queue_work(q->loop, &q->work, yield_noop, after_yield);
            return;
        }
        uint16_t pending = q->unsupported ? 0xFF01 : GW_STATUS_PENDING;
        send_rsp(q, pending, &q->results[q->sent], NULL, false);
        codec_ds_buf_free(&q->results[q->sent]);
        q->sent++;
        if (a->closing)
            return;
    }
    find_final(q);
}

/* ---- C-GET ---- */

static bool on_instance(void *ud, const store_qr_instance_t *in)
{
    gw_qr_t *q = ud;
    if (q->n_subs >= q->limit) {
        q->truncated = true;
        return false;
    }
    if (q->n_subs == q->cap_subs) {
        q->cap_subs = q->cap_subs ? 2 * q->cap_subs : 64;
        q->subs = cp_xrealloc(q->subs, (size_t)q->cap_subs * sizeof *q->subs);
    }
    sub_t *s = &q->subs[q->n_subs++];
    snprintf(s->sop_class, sizeof s->sop_class, "%s", in->sop_class);
    snprintf(s->sop_instance, sizeof s->sop_instance, "%s", in->sop_instance);
    snprintf(s->ts, sizeof s->ts, "%s", in->transfer_syntax);
    s->addr = in->addr;
    return true;
}

/* The query on the thread pool: matches for C-FIND, instances for C-GET/C-MOVE. */
static void run_query(uv_work_t *w)
{
    gw_qr_t *q = container_of(w, gw_qr_t, work);
    store_qr_query_t sq = {.level = q->level, .keys = q->keys, .n_keys = q->n_keys,
                           .access = q->access, .peer = q->peer_name, .limit = q->limit,
                           .show_duplicates = q->show_duplicates,
                           .originals = q->send_originals};
    cp_errinfo_t ei = {0};
    q->err = q->rq.command_field == GW_C_FIND_RQ
                 ? store_qr_find(q->pg, &sq, on_match, q, &ei)
                 : store_qr_instances(q->pg, &sq, on_instance, q, &ei);
    if (q->err != CP_OK)
        snprintf(q->why, sizeof q->why, "%s", cp_errinfo_msg(&ei, q->err));
}

static void add_failed(gw_qr_t *q, const sub_t *s)
{
    q->failed++;
    if (q->fail_comment[0] == '\0')
        snprintf(q->fail_comment, sizeof q->fail_comment, "%s",
                 "a sub-operation failed; see the Failed SOP Instance UID List");
    codec_ds_buf_t *b = &q->failed_uids;
    size_t n = strlen(s->sop_instance);
    if (b->len + n + 1 > MAX_FAILED_LIST)
        return; /* the count stays right; the list names the first ones */
    if (b->cap - b->len < n + 1) {
        b->cap = b->cap ? 2 * b->cap + n : 1024;
        b->data = cp_xrealloc(b->data, b->cap);
    }
    if (b->len > 0)
        b->data[b->len++] = '\\';
    memcpy(b->data + b->len, s->sop_instance, n);
    b->len += n;
}

static void get_final(gw_qr_t *q)
{
    uint16_t status = q->cancelled                        ? GW_STATUS_CANCEL
                      : q->failed == 0 && q->warning == 0 ? GW_STATUS_SUCCESS
                      : q->completed == 0 && q->warning == 0 ? GW_STATUS_UNABLE_SUBOPS
                                                             : GW_STATUS_WARNING_SUBOPS;
    codec_ds_buf_t ds;
    codec_ds_buf_init(&ds, q->enc);
    if (q->failed > 0)
        codec_ds_put(&ds, CODEC_TAG(0x0008, 0x0058), q->failed_uids.data, q->failed_uids.len);
    send_rsp(q, status, q->failed > 0 ? &ds : NULL, q->failed > 0 && q->fail_comment[0] ?
             q->fail_comment : NULL, true);
    codec_ds_buf_free(&ds);
    finish(q, status, q->cancelled ? "cancelled" : status == GW_STATUS_SUCCESS ? "success"
                      : status == GW_STATUS_UNABLE_SUBOPS ? "all sub-operations failed"
                                                          : "some sub-operations failed");
}

/* An accepted presentation context for the SOP class in transfer syntax ts, the peer in
 * the SCP role; 0 if none. */
static uint8_t pc_for(const gw__assoc_t *a, const char *sop_class, const char *ts)
{
    for (int id = 1; id < 256; id += 2) {
        const pc_t *pc = &a->pc[id];
        if (pc->accepted && pc->peer_scp && strcmp(pc->abstract_syntax, sop_class) == 0 &&
            strcmp(pc->ts->uid, ts) == 0)
            return (uint8_t)id;
    }
    return 0;
}

/* The presentation context a sub-operation goes on: its stored transfer syntax, else
 * Explicit VR LE (*copy: a delivery copy is sent). 0 if neither was accepted. */
static uint8_t sub_pc(const gw__assoc_t *a, const sub_t *s, bool *copy)
{
    uint8_t id = pc_for(a, s->sop_class, s->ts);
    *copy = id == 0;
    return id != 0 ? id : pc_for(a, s->sop_class, EXPLICIT_LE);
}

static void fail_sub(gw_qr_t *q, const sub_t *s, const char *why)
{
    CP_LOG(CP_LOG_WARN, "dicom.qr",
           "event=sub_operation_failed assoc=%u sop=%s sop_class=%s transfer_syntax=%s why=\"%s\"",
           q->a->id, s->sop_instance, s->sop_class, s->ts, why);
    bool first = q->failed == 0;
    add_failed(q, s);
    if (first)
        snprintf(q->fail_comment, sizeof q->fail_comment, "%s", why);
}

static void run_copy(uv_work_t *w)
{
    gw_qr_t *q = container_of(w, gw_qr_t, xwork);
    const codec_ts_t *ts = codec_ts_find(q->cur->ts);
    cp_errinfo_t ei = {0};
    q->xerr = ts == NULL ? cp_fail(&ei, CP_EUNSUPPORTED, 0, "unknown stored transfer syntax")
                         : gw_delivery_copy(q->ctx, &q->cur->addr, ts, &q->send_addr, &ei);
    if (q->xerr != CP_OK)
        snprintf(q->xwhy, sizeof q->xwhy, "%s", cp_errinfo_msg(&ei, q->xerr));
}

static void after_copy(uv_work_t *w, int status);

static void on_chunk(void *ud, const uint8_t *data, size_t len, bool last, cp_err_t err,
                     const char *why);

static void resume_get(gw__assoc_t *a)
{
    gw_blobsend_next(op_of(a)->send);
}

static void pending_get(gw_qr_t *q)
{
    send_rsp(q, GW_STATUS_PENDING, NULL, NULL, true);
}

static void next_sub(gw_qr_t *q)
{
    gw__assoc_t *a = q->a;
    while (!q->cancelled && q->next < q->n_subs && !a->closing) {
        const sub_t *s = &q->subs[q->next++];
        bool copy;
        uint8_t pc = sub_pc(dst(q), s, &copy);
        if (pc == 0) {
            fail_sub(q, s, "the peer accepted neither its syntax nor Explicit VR LE");
            pending_get(q);
            continue;
        }
        q->cur = s;
        q->sub_pc = pc;
        q->first_chunk = true;
        q->send_addr = s->addr;
        if (copy) { /* made or found off the loop; after_copy sends it */
            q->xbusy = true;
            uv_queue_work(q->loop, &q->xwork, run_copy, after_copy);
            return;
        }
        if (q->pre != NULL && q->pre_index == q->next - 1) {
            q->send = q->pre;
            q->pre = NULL;
            gw_blobsend_set_cb(q->send, on_chunk, q);
            if (q->pre_ready) {
                q->pre_ready = false;
                on_chunk(q, q->pre_data, q->pre_len, q->pre_last, q->pre_err, q->pre_why);
            }
            return;
        }
        gw_blobsend_close(q->pre); /* prefetched something else: not expected, but safe */
        q->pre = NULL;
        q->pre_ready = false;
        q->send = gw_blobsend_open(q->loop, a->srv->ctx.blobs, &s->addr, on_chunk, q);
        return;
    }
    if (!a->closing)
        get_final(q);
}

static void after_copy(uv_work_t *w, int status)
{
    (void)status;
    gw_qr_t *q = container_of(w, gw_qr_t, xwork);
    q->xbusy = false;
    if (q->free_pending) {
        audit_and_free(q, q->free_status, q->free_outcome);
        return;
    }
    if (q->a == NULL || dst(q) == NULL || q->lost)
        return; /* aborted, or the destination lost: their paths settle the rest */
    if (q->cancelled) { /* not sent: it stays among the remaining */
        q->next--;
        next_sub(q);
        return;
    }
    if (q->xerr != CP_OK) {
        fail_sub(q, q->cur, q->xerr == CP_EUNSUPPORTED ? "cannot be decoded for the peer's syntax"
                                                        : "its delivery copy could not be made");
        CP_LOG(CP_LOG_WARN, "dicom.qr", "event=delivery_copy_failed assoc=%u sop=%s error=%s why=\"%s\"",
               q->a->id, q->cur->sop_instance, cp_err_name(q->xerr), q->xwhy);
        pending_get(q);
        next_sub(q);
        return;
    }
    q->send = gw_blobsend_open(q->loop, dst(q)->srv->ctx.blobs, &q->send_addr, on_chunk, q);
}

static void on_pre_chunk(void *ud, const uint8_t *data, size_t len, bool last, cp_err_t err,
                         const char *why)
{
    gw_qr_t *q = ud;
    q->pre_ready = true;
    q->pre_data = data;
    q->pre_len = len;
    q->pre_last = last;
    q->pre_err = err;
    snprintf(q->pre_why, sizeof q->pre_why, "%s", why ? why : "");
}

/* While the peer stores the instance just sent, the next one's first chunk is read. */
static void prefetch(gw_qr_t *q)
{
    bool copy = false;
    if (q->pre != NULL || q->cancelled || q->next >= q->n_subs ||
        sub_pc(dst(q), &q->subs[q->next], &copy) == 0 || copy)
        return;
    q->pre_index = q->next;
    q->pre_ready = false;
    q->pre = gw_blobsend_open(q->loop, dst(q)->srv->ctx.blobs, &q->subs[q->next].addr,
                              on_pre_chunk, q);
}

static void send_store_rq(gw_qr_t *q)
{
    gw__assoc_t *a = dst(q);
    gw_dimse_cmd_t rq = {0};
    rq.command_field = GW_C_STORE_RQ;
    rq.message_id = q->sub_msg_id = ++a->next_msg_id;
    rq.priority = 0;
    rq.data_set_type = GW_DATA_SET_PRESENT;
    snprintf(rq.sop_class, sizeof rq.sop_class, "%s", q->cur->sop_class);
    snprintf(rq.sop_instance, sizeof rq.sop_instance, "%s", q->cur->sop_instance);
    if (q->rq.command_field == GW_C_MOVE_RQ) { /* PS3.7 9.1.1.1: who asked, and which message */
        snprintf(rq.move_originator_ae, sizeof rq.move_originator_ae, "%s", q->a->calling_ae);
        rq.move_originator_id = q->rq.message_id;
    }
    gw__send_command(a, q->sub_pc, &rq);
}

static void on_chunk(void *ud, const uint8_t *data, size_t len, bool last, cp_err_t err,
                     const char *why)
{
    gw_qr_t *q = ud;
    gw__assoc_t *a = dst(q);
    if (a == NULL) /* the destination is gone: after_lost settles the rest */
        return;
    if (err != CP_OK || (q->first_chunk && len == 0)) {
        char hex[STORE_ADDR_HEX_LEN + 1];
        store_addr_to_hex(&q->send_addr, hex);
        CP_LOG(CP_LOG_ERROR, "dicom.qr", "event=blob_unreadable assoc=%u blob=%s error=%s why=\"%s\"",
               a->id, hex, cp_err_name(err), err != CP_OK ? why : "empty");
        gw_blobsend_close(q->send);
        q->send = NULL;
        if (!q->first_chunk) { /* part of it is on the wire: only an abort can stop it */
            gw__local_abort(a, "stored instance unreadable while being sent");
            return;
        }
        add_failed(q, q->cur);
        pending_get(q);
        next_sub(q);
        return;
    }
    if (q->first_chunk)
        send_store_rq(q);
    q->first_chunk = false;
    gw__send_data(a, q->sub_pc, data, len, last);
    if (last) {
        gw_blobsend_close(q->send);
        q->send = NULL;
        q->awaiting_rsp = true;
        if (q->rq.command_field == GW_C_GET_RQ && a->state == GW_STA8) {
            unanswerable_sub(q); /* the requestor asked to release meanwhile */
            return;
        }
        prefetch(q);
        return;
    }
    if (gw__backlog(a) > GW_SEND_HIGH)
        gw__wait_writable(a, resume_get);
    else
        gw_blobsend_next(q->send);
}

bool gw_qr_on_rsp(gw__assoc_t *a, const gw_dimse_cmd_t *rsp)
{
    gw_qr_t *q = op_of(a);
    if (q == NULL || dst(q) != a || !q->awaiting_rsp || rsp->command_field != GW_C_STORE_RSP ||
        rsp->message_id_rsp != q->sub_msg_id)
        return false;
    q->awaiting_rsp = false;
    if (rsp->status == GW_STATUS_SUCCESS)
        q->completed++;
    else if ((rsp->status & 0xF000) == 0xB000)
        q->warning++;
    else
        add_failed(q, q->cur);
    if (q->next < q->n_subs && !q->cancelled)
        pending_get(q);
    next_sub(q);
    return true;
}

/* ---- starting, cancelling, aborting ---- */

/* Proposes (sop_class, ts) unless it is proposed already or the contexts are full. */
static void propose(gw_ul_assoc_rq_t *rq, const char *sop_class, const char *ts)
{
    for (int j = 0; j < rq->n_pc; j++)
        if (strcmp(rq->pc[j].abstract_syntax, sop_class) == 0 && strcmp(rq->pc[j].ts[0], ts) == 0)
            return;
    if (rq->n_pc == 128 || rq->n_pc == GW_UL_MAX_PC)
        return;
    gw_ul_pc_rq_t *pc = &rq->pc[rq->n_pc];
    pc->id = (uint8_t)(2 * rq->n_pc + 1);
    snprintf(pc->abstract_syntax, sizeof pc->abstract_syntax, "%s", sop_class);
    snprintf(pc->ts[0], sizeof pc->ts[0], "%s", ts);
    pc->n_ts = 1;
    rq->n_pc++;
}

/* Per SOP class, a presentation context for each stored transfer syntax the move needs,
 * so that data sets go as they were received where the destination takes them, and one
 * for Explicit VR LE, the delivery copies' syntax, where it takes no other. Each context
 * holds one syntax, so the destination answers each alone. Instances past the 128
 * contexts fail. */
static void start_move(gw_qr_t *q)
{
    const conf_t *conf = q->a->srv->ctx.conf;
    gw_ul_assoc_rq_t *rq = cp_xcalloc(1, sizeof *rq);
    snprintf(rq->calling_ae, sizeof rq->calling_ae, "%s", conf->dicom.ae_title);
    snprintf(rq->called_ae, sizeof rq->called_ae, "%s", q->dest->ae_title);
    rq->max_length = conf->dicom.max_pdu;
    snprintf(rq->impl_class_uid, sizeof rq->impl_class_uid, "%s", CODEC_IMPL_CLASS_UID);
    snprintf(rq->impl_version, sizeof rq->impl_version, "%s", CODEC_IMPL_VERSION);
    for (int i = 0; i < q->n_subs; i++) {
        propose(rq, q->subs[i].sop_class, q->subs[i].ts);
        propose(rq, q->subs[i].sop_class, EXPLICIT_LE);
    }
    q->out = gw__assoc_connect(q->a->srv, q->dest->dest_host, q->dest->dest_port, rq, q);
    free(rq);
}

static void after_query(uv_work_t *w, int status)
{
    (void)status;
    gw_qr_t *q = container_of(w, gw_qr_t, work);
    q->busy = false;
    if (q->a == NULL) { /* the association went away meanwhile */
        audit_and_free(q, -1, "association ended during the query");
        return;
    }
    if (q->err != CP_OK) {
        CP_LOG(CP_LOG_WARN, "dicom.qr", "event=query_failed assoc=%u error=%s why=\"%s\"",
               q->a->id, cp_err_name(q->err), q->why);
        fail(q, GW_STATUS_UNABLE_TO_PROCESS, "the index could not be queried");
        return;
    }
    if (q->rq.command_field == GW_C_FIND_RQ) {
        send_matches(q->a);
    } else if (q->truncated) {
        char why[65];
        snprintf(why, sizeof why, "more than %d instances: narrow the retrieval", q->limit);
        q->n_subs = q->next = 0;
        fail(q, 0xA701, why);
    } else if (q->rq.command_field == GW_C_MOVE_RQ && q->n_subs > 0 && !q->cancelled) {
        start_move(q);
    } else {
        next_sub(q);
    }
}

static const struct model *model_for(const gw_dimse_cmd_t *rq, const char *abstract)
{
    for (size_t i = 0; i < CP_ARRAY_LEN(models); i++)
        if (strcmp(models[i].uid, abstract) == 0 && models[i].command == rq->command_field &&
            strcmp(rq->sop_class, abstract) == 0)
            return &models[i];
    return NULL;
}

void gw_qr_start(gw__assoc_t *a, uint8_t pc_id)
{
    const conf_t *conf = a->srv->ctx.conf;
    gw_qr_t *q = cp_xcalloc(1, sizeof *q);
    q->a = a;
    a->qr = q;
    q->rq = a->rq;
    q->pc_id = pc_id;
    q->enc = a->pc[pc_id].ts->enc;
    q->pg = a->srv->ctx.pg;
    q->ctx = &a->srv->ctx;
    q->loop = a->srv->loop;
    q->assoc_id = a->id;
    snprintf(q->calling, sizeof q->calling, "%s", a->calling_ae);
    snprintf(q->username, sizeof q->username, "%s", a->username);
    snprintf(q->peer_addr, sizeof q->peer_addr, "%s", a->peer);
    q->ae_title = conf->dicom.ae_title;
    q->model = model_for(&a->rq, a->pc[pc_id].abstract_syntax);
    codec_ds_buf_init(&q->failed_uids, q->enc);
    q->limit = q->rq.command_field == GW_C_FIND_RQ ? conf->dicom.max_find_results
                                                   : conf->dicom.max_retrieve_instances;
    if (a->peer_idx >= 0) {
        const conf_peer_t *p = &conf->peers[a->peer_idx];
        q->access = (store_qr_access_t)p->access; /* CONF_ACCESS_* has the same order */
        q->show_duplicates = p->show_duplicates;
        q->send_originals = p->send_originals;
        snprintf(q->peer_name, sizeof q->peer_name, "%s", p->name);
    }
    snprintf(q->level_text, sizeof q->level_text, "?");
    uint8_t *ident = a->ident;
    size_t ident_len = a->ident_len;
    a->ident = NULL;
    a->ident_len = 0;
    const char *bad = q->model == NULL ? "sop class does not match the presentation context"
                                       : parse_ident(q, ident, ident_len);
    free(ident);
    if (bad != NULL) {
        fail(q, GW_STATUS_IDENTIFIER_MISMATCH, bad);
        return;
    }
    if (q->rq.command_field == GW_C_MOVE_RQ) {
        for (int i = 0; i < conf->n_peers && q->dest == NULL; i++)
            if (conf->peers[i].dest_port != 0 &&
                strcmp(conf->peers[i].ae_title, q->rq.move_destination) == 0)
                q->dest = &conf->peers[i];
        if (q->dest == NULL) {
            fail(q, GW_STATUS_MOVE_DEST_UNKNOWN, "move destination not configured");
            return;
        }
    }
    q->busy = true;
    uv_queue_work(q->loop, &q->work, run_query, after_query);
}

void gw_qr_cancel(gw__assoc_t *a, uint16_t message_id)
{
    gw_qr_t *q = a->qr;
    if (q == NULL || message_id != q->rq.message_id)
        return; /* too late or not ours: PS3.7 9.3.2.3 asks nothing more */
    q->cancelled = true;
}

/* A C-GET sub-operation sent to a requestor that asked to release: its C-STORE-RSP
 * cannot come (PS3.8: no P-DATA from it in Sta7), so it is counted as failed, and the
 * operation goes on to its final response. */
static void unanswerable_sub(gw_qr_t *q)
{
    q->awaiting_rsp = false;
    add_failed(q, q->cur);
    next_sub(q);
}

static void after_release(uv_work_t *w, int status)
{
    (void)status;
    gw_qr_t *q = container_of(w, gw_qr_t, work);
    q->busy = false;
    if (q->a == NULL)
        audit_and_free(q, -1, "association ended before the final response");
    else if (q->awaiting_rsp)
        unanswerable_sub(q);
}

void gw_qr_release(gw__assoc_t *a)
{
    gw_qr_t *q = a->qr;
    q->cancelled = true;
    /* a response awaited from the requestor: settled on a later loop turn, out of the
     * state machine's call that indicated the release */
    if (q->rq.command_field == GW_C_GET_RQ && q->awaiting_rsp && !q->busy) {
        q->busy = true;
        uv_queue_work(q->loop, &q->work, noop, after_release);
    }
}

void gw_qr_abort(gw__assoc_t *a)
{
    gw_qr_t *q = a->qr;
    if (q == NULL)
        return;
    a->qr = NULL;
    q->a = NULL;
    if (!a->write_failed) { /* a sender parked for this operation must not wake up */
        a->on_writable = NULL;
        uv_timer_stop(&a->send_timer);
    }
    gw_blobsend_close(q->send);
    q->send = NULL;
    gw_blobsend_close(q->pre);
    q->pre = NULL;
    let_go(q, false);
    if (!q->busy)
        audit_and_free(q, -1, "association ended before the final response");
}

bool gw_qr_waiting_on_peer(const gw__assoc_t *a)
{
    const gw_qr_t *q = a->mover != NULL ? a->mover : a->qr;
    return q != NULL && dst(q) == a && q->awaiting_rsp;
}

void gw_qr_move_ready(gw__assoc_t *out)
{
    gw_qr_t *q = out->mover;
    next_sub(q);
}

/* Runs on the loop after the call stack that lost the destination has unwound. */
static void noop(uv_work_t *w)
{
    (void)w;
}

static void after_lost(uv_work_t *w, int status)
{
    (void)status;
    gw_qr_t *q = container_of(w, gw_qr_t, work);
    q->busy = false;
    if (q->a == NULL) {
        audit_and_free(q, -1, "association ended; move destination lost");
        return;
    }
    CP_LOG(CP_LOG_WARN, "dicom.qr", "event=move_destination_lost assoc=%u why=\"%s\"",
           q->a->id, q->lost_why);
    if (q->lost_sub) /* the sub-operation that was under way */
        add_failed(q, q->cur);
    while (q->next < q->n_subs)
        add_failed(q, &q->subs[q->next++]);
    get_final(q);
}

void gw_qr_move_lost(gw__assoc_t *out, struct gw_qr *q, const char *why)
{
    (void)out;
    q->out = NULL;
    q->lost = true;
    /* nothing more may reach the destination: reads stop now, the rest on a later turn */
    q->lost_sub = q->awaiting_rsp || q->send != NULL || q->xbusy;
    q->awaiting_rsp = false;
    gw_blobsend_close(q->send);
    q->send = NULL;
    gw_blobsend_close(q->pre);
    q->pre = NULL;
    snprintf(q->lost_why, sizeof q->lost_why, "%s", why);
    q->busy = true;
    uv_queue_work(q->loop, &q->work, noop, after_lost);
}
