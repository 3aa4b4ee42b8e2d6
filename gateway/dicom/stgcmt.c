/* gateway/dicom/stgcmt.c -- Storage Commitment Push Model SCP (PS3.4 J).
 * N-ACTION-RQ is answered at once; the check runs on the thread pool (an instance is
 * committed when its current row exists: rows are written only after the blob is durable,
 * DESIGN.md rule 1); the N-EVENT-REPORT then goes on the requesting association if it is
 * open and idle (and its [peer] does not ask for commitment_report = new), else on a new
 * association to the [peer]'s destination, where caseport proposes the SCP role. Every
 * request ends in a `commitments` row saying how it was delivered. */
#include "stgcmt.h"

#include <stdlib.h>
#include <string.h>

#include "codec_ds.h"
#include "cp_log.h"
#include "cp_mem.h"
#include "store_commit.h"

#define MAX_REFS 100000

struct gw_sc {
    gw__assoc_t *a;   /* the requesting association while it lives */
    gw_sc_t *next;    /* its other requests, oldest first (a->sc is the head) */
    gw__assoc_t *out; /* the association the report goes on, when it is a new one */
    gw_dicom_server_t *srv;
    store_pg_t *pg;
    uv_work_t work;
    bool busy;
    cp_err_t err;
    char why[160];
    uint8_t pc_id; /* on the requesting association */
    codec_enc_t enc;
    char transaction[65], calling[17], peer_addr[64];
    const conf_peer_t *peer;
    double requested_at;
    store_commit_ref_t *refs;
    int n_refs, n_failed;
    uint16_t report_msg_id;
    bool awaiting_rsp;
    bool ready; /* checked, waiting for its association to be idle */
    const char *delivery;
};

bool gw_sc_class(const char *uid)
{
    return strcmp(uid, GW_SC_CLASS) == 0;
}

static void unlink_sc(gw_sc_t *c)
{
    if (c->a == NULL)
        return;
    for (gw_sc_t **p = &c->a->sc; *p != NULL; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    c->next = NULL;
    c->a = NULL;
}

static void sc_free(gw_sc_t *c)
{
    free(c->refs);
    free(c);
}

/* ---- the record, written off the loop ---- */

typedef struct record_job {
    uv_work_t work;
    gw_sc_t *c;
    char outcome[96];
} record_job_t;

static void run_record(uv_work_t *w)
{
    record_job_t *j = container_of(w, record_job_t, work);
    gw_sc_t *c = j->c;
    store_commit_row_t row = {.transaction_uid = c->transaction, .calling_ae = c->calling,
                              .peer_name = c->peer ? c->peer->name : NULL,
                              .peer_address = c->peer_addr, .requested_at = c->requested_at,
                              .references_n = c->n_refs, .failed_n = c->n_failed,
                              .delivery = c->delivery, .outcome = j->outcome};
    cp_errinfo_t ei = {0};
    cp_err_t err = store_commit_record(c->pg, &row, &ei);
    if (err != CP_OK)
        CP_LOG(CP_LOG_ERROR, "dicom.commit", "event=commitment_not_recorded error=%s why=\"%s\"",
               cp_err_name(err), cp_errinfo_msg(&ei, err));
}

static void after_record(uv_work_t *w, int status)
{
    (void)status;
    record_job_t *j = container_of(w, record_job_t, work);
    sc_free(j->c);
    free(j);
}

static void done(gw_sc_t *c, const char *delivery, const char *outcome)
{
    c->delivery = delivery;
    CP_LOG(c->n_failed ? CP_LOG_WARN : CP_LOG_INFO, "dicom.commit",
           "event=commitment_reported calling_ae=\"%s\" references=%d failed=%d delivery=\"%s\" "
           "outcome=\"%s\"",
           c->calling, c->n_refs, c->n_failed, delivery, outcome);
    gw__assoc_t *a = c->a;
    unlink_sc(c);
    record_job_t *j = cp_xcalloc(1, sizeof *j);
    j->c = c;
    snprintf(j->outcome, sizeof j->outcome, "%s", outcome);
    uv_queue_work(c->srv->loop, &j->work, run_record, after_record);
    if (a != NULL)
        gw_sc_kick(a); /* the next report of that association may go now */
}

/* ---- the N-ACTION ---- */

static void send_action_rsp(gw__assoc_t *a, uint8_t pc_id, uint16_t status, const char *comment)
{
    gw_dimse_cmd_t rsp = {0};
    rsp.command_field = GW_N_ACTION_RSP;
    rsp.message_id_rsp = a->rq.message_id;
    rsp.status = status;
    snprintf(rsp.sop_class, sizeof rsp.sop_class, "%s", GW_SC_CLASS);
    snprintf(rsp.sop_instance, sizeof rsp.sop_instance, "%s", GW_SC_INSTANCE);
    if (status == GW_STATUS_SUCCESS) {
        rsp.has_action_type = true;
        rsp.action_type = 1;
    }
    if (comment != NULL)
        snprintf(rsp.error_comment, sizeof rsp.error_comment, "%s", comment);
    gw__send_command(a, pc_id, &rsp);
}

/* One item of the Referenced SOP Sequence. */
static bool take_ref(gw_sc_t *c, codec_ds_iter_t *item)
{
    codec_elem_t e;
    store_commit_ref_t r = {0};
    while (codec_ds_next(item, &e, NULL) == CP_OK) {
        if (e.tag == CODEC_TAG(0x0008, 0x1150))
            codec_elem_text(&e, r.sop_class, sizeof r.sop_class);
        else if (e.tag == CODEC_TAG(0x0008, 0x1155))
            codec_elem_text(&e, r.sop_instance, sizeof r.sop_instance);
    }
    if (r.sop_class[0] == '\0' || r.sop_instance[0] == '\0' || c->n_refs == MAX_REFS)
        return false;
    c->refs[c->n_refs++] = r;
    return true;
}

/* Reads the Transaction UID and the references; NULL or why the request is refused. */
static const char *parse_request(gw_sc_t *c, const uint8_t *data, size_t len)
{
    codec_ds_iter_t it, seq, item;
    codec_elem_t e;
    cp_err_t err;
    bool have_seq = false;
    codec_ds_iter_init(&it, c->enc, data, len);
    while ((err = codec_ds_next(&it, &e, NULL)) == CP_OK) {
        if (e.tag == CODEC_TAG(0x0008, 0x1195)) {
            codec_elem_text(&e, c->transaction, sizeof c->transaction);
        } else if (e.tag == CODEC_TAG(0x0008, 0x1199) && strcmp(e.vr, "SQ") == 0) {
            if (have_seq)
                return "referenced sop sequence (0008,1199) given twice";
            have_seq = true;
            codec_ds_seq_init(&seq, &it, &e);
            size_t cap = 64;
            c->refs = cp_xmalloc(cap * sizeof *c->refs);
            while ((err = codec_ds_item_next(&seq, &item, NULL)) == CP_OK) {
                if ((size_t)c->n_refs == cap) {
                    cap *= 2;
                    c->refs = cp_xrealloc(c->refs, cap * sizeof *c->refs);
                }
                if (!take_ref(c, &item))
                    return "a referenced sop item lacks its class or instance uid, or too many";
            }
            if (err != CP_EOF)
                return "referenced sop sequence cannot be parsed";
        }
    }
    if (err != CP_EOF)
        return "request cannot be parsed";
    if (c->transaction[0] == '\0')
        return "transaction uid (0008,1195) missing";
    if (!have_seq || c->n_refs == 0)
        return "referenced sop sequence (0008,1199) missing or empty";
    return NULL;
}

static void run_check(uv_work_t *w)
{
    gw_sc_t *c = container_of(w, gw_sc_t, work);
    cp_errinfo_t ei = {0};
    c->err = store_commit_check(c->pg, c->refs, c->n_refs, &ei);
    if (c->err != CP_OK)
        snprintf(c->why, sizeof c->why, "%s", cp_errinfo_msg(&ei, c->err));
}

static void deliver(gw_sc_t *c);

static void after_check(uv_work_t *w, int status)
{
    (void)status;
    gw_sc_t *c = container_of(w, gw_sc_t, work);
    c->busy = false;
    for (int i = 0; i < c->n_refs; i++) {
        if (c->err != CP_OK) /* nothing could be checked: the SCU may ask again */
            c->refs[i].failure = 0x0110;
        c->n_failed += c->refs[i].failure != 0;
    }
    if (c->err != CP_OK)
        CP_LOG(CP_LOG_WARN, "dicom.commit", "event=commitment_check_failed error=%s why=\"%s\"",
               cp_err_name(c->err), c->why);
    deliver(c);
}

void gw_sc_action(gw__assoc_t *a, uint8_t pc_id)
{
    gw_sc_t *c = cp_xcalloc(1, sizeof *c);
    c->a = a;
    c->srv = a->srv;
    c->pg = a->srv->ctx.pg;
    c->pc_id = pc_id;
    c->enc = a->pc[pc_id].ts->enc;
    snprintf(c->calling, sizeof c->calling, "%s", a->calling_ae);
    snprintf(c->peer_addr, sizeof c->peer_addr, "%s", a->peer);
    c->peer = a->peer_idx >= 0 ? &a->srv->ctx.conf->peers[a->peer_idx] : NULL;
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    c->requested_at = (double)tv.tv_sec + tv.tv_usec / 1e6;
    const gw_dimse_cmd_t *rq = &a->rq;
    uint16_t status = GW_STATUS_SUCCESS;
    const char *why = NULL;
    if (!gw_sc_class(rq->requested_class))
        status = 0x0118, why = "requested sop class is not storage commitment";
    else if (strcmp(rq->requested_instance, GW_SC_INSTANCE) != 0)
        status = 0x0117, why = "requested sop instance is not the well-known one";
    else if (rq->action_type != 1)
        status = GW_STATUS_NO_SUCH_ACTION, why = "action type id is not 1";
    else if ((why = parse_request(c, a->ident, a->ident_len)) != NULL)
        status = GW_STATUS_INVALID_ARGUMENT;
    free(a->ident);
    a->ident = NULL;
    a->ident_len = 0;
    send_action_rsp(a, pc_id, status, why);
    if (status != GW_STATUS_SUCCESS) {
        CP_LOG(CP_LOG_WARN, "dicom.commit", "event=commitment_refused assoc=%u status=0x%04x why=\"%s\"",
               a->id, status, why);
        sc_free(c);
        return;
    }
    CP_LOG(CP_LOG_INFO, "dicom.commit", "event=commitment_requested assoc=%u references=%d", a->id,
           c->n_refs);
    gw_sc_t **tail = &a->sc; /* reports go out on this association in request order */
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = c;
    c->busy = true;
    uv_queue_work(a->srv->loop, &c->work, run_check, after_check);
    gw_sc_kick(a); /* an earlier report that became ready meanwhile */
}

/* ---- the N-EVENT-REPORT ---- */

static void build_report(const gw_sc_t *c, codec_ds_buf_t *b)
{
    codec_ds_put_text(b, CODEC_TAG(0x0008, 0x0054), c->srv->ctx.conf->dicom.ae_title);
    codec_ds_put_text(b, CODEC_TAG(0x0008, 0x1195), c->transaction);
    for (int pass = 0; pass < 2; pass++) { /* (0008,1198) failed, then (0008,1199) ok */
        bool failed = pass == 0;
        if ((failed && c->n_failed == 0) || (!failed && c->n_failed == c->n_refs))
            continue;
        codec_ds_seq_begin(b, CODEC_TAG(0x0008, failed ? 0x1198 : 0x1199));
        for (int i = 0; i < c->n_refs; i++) {
            const store_commit_ref_t *r = &c->refs[i];
            if ((r->failure != 0) != failed)
                continue;
            codec_ds_item_begin(b);
            codec_ds_put_text(b, CODEC_TAG(0x0008, 0x1150), r->sop_class);
            codec_ds_put_text(b, CODEC_TAG(0x0008, 0x1155), r->sop_instance);
            if (failed)
                codec_ds_put_us(b, CODEC_TAG(0x0008, 0x1197), r->failure);
            codec_ds_item_end(b);
        }
        codec_ds_seq_end(b);
    }
}

static void send_report(gw_sc_t *c, gw__assoc_t *to, uint8_t pc_id)
{
    gw_dimse_cmd_t rq = {0};
    rq.command_field = GW_N_EVENT_REPORT_RQ;
    rq.message_id = c->report_msg_id = ++to->next_msg_id;
    rq.data_set_type = GW_DATA_SET_PRESENT;
    rq.has_event_type = true;
    rq.event_type = c->n_failed == 0 ? 1 : 2;
    snprintf(rq.sop_class, sizeof rq.sop_class, "%s", GW_SC_CLASS);
    snprintf(rq.sop_instance, sizeof rq.sop_instance, "%s", GW_SC_INSTANCE);
    codec_ds_buf_t b;
    codec_ds_buf_init(&b, to->pc[pc_id].ts->enc);
    build_report(c, &b);
    gw__send_command(to, pc_id, &rq);
    gw__send_data(to, pc_id, b.data, b.len, true);
    codec_ds_buf_free(&b);
    c->awaiting_rsp = true;
}

static bool idle(const gw__assoc_t *a)
{
    return a->state == GW_STA6 && !a->closing && a->qr == NULL && a->store == NULL &&
           !a->awaiting_data;
}

/* A new association to the peer's destination; its SCU is the requestor of the commit. */
static void report_on_new(gw_sc_t *c)
{
    const conf_t *conf = c->srv->ctx.conf;
    gw_ul_assoc_rq_t *rq = cp_xcalloc(1, sizeof *rq);
    snprintf(rq->calling_ae, sizeof rq->calling_ae, "%s", conf->dicom.ae_title);
    snprintf(rq->called_ae, sizeof rq->called_ae, "%s", c->calling);
    rq->max_length = conf->dicom.max_pdu;
    snprintf(rq->impl_class_uid, sizeof rq->impl_class_uid, "%s", CODEC_IMPL_CLASS_UID);
    snprintf(rq->impl_version, sizeof rq->impl_version, "%s", CODEC_IMPL_VERSION);
    rq->n_pc = 1;
    rq->pc[0].id = 1;
    snprintf(rq->pc[0].abstract_syntax, sizeof rq->pc[0].abstract_syntax, "%s", GW_SC_CLASS);
    snprintf(rq->pc[0].ts[0], sizeof rq->pc[0].ts[0], "1.2.840.10008.1.2.1");
    snprintf(rq->pc[0].ts[1], sizeof rq->pc[0].ts[1], "1.2.840.10008.1.2");
    rq->pc[0].n_ts = 2;
    rq->n_roles = 1; /* PS3.4 J.3.3: the reporting side is the SCP of the SOP class */
    snprintf(rq->roles[0].sop_class, sizeof rq->roles[0].sop_class, "%s", GW_SC_CLASS);
    rq->roles[0].scu = 0;
    rq->roles[0].scp = 1;
    c->out = gw__assoc_connect(c->srv, c->peer->dest_host, c->peer->dest_port, rq, NULL);
    c->out->reporter = c;
    free(rq);
}

static void deliver(gw_sc_t *c)
{
    bool want_new = c->peer != NULL && c->peer->report_on_new;
    if (c->a != NULL && !want_new && c->a->sc == c && idle(c->a)) {
        c->delivery = "same association";
        c->ready = false;
        send_report(c, c->a, c->pc_id);
        return;
    }
    if (c->a != NULL && !want_new && c->a->state == GW_STA6 && !c->a->closing) {
        c->ready = true; /* busy with another operation: gw_sc_kick sends it after */
        return;
    }
    unlink_sc(c);
    if (c->peer != NULL && c->peer->dest_port != 0 && !c->srv->closing) {
        c->delivery = "new association";
        report_on_new(c);
        return;
    }
    done(c, "undelivered", "the requesting association ended and its peer has no destination");
}

/* The oldest request's report goes first; one awaits its response at a time. */
void gw_sc_kick(gw__assoc_t *a)
{
    gw_sc_t *c = a->sc;
    if (c != NULL && c->ready && !c->awaiting_rsp && idle(a))
        deliver(c);
}

bool gw_sc_on_rsp(gw__assoc_t *a, const gw_dimse_cmd_t *rsp)
{
    gw_sc_t *c = a->reporter != NULL ? a->reporter : a->sc; /* the head awaits, if any */
    if (c == NULL || !c->awaiting_rsp || rsp->command_field != GW_N_EVENT_REPORT_RSP ||
        rsp->message_id_rsp != c->report_msg_id)
        return false;
    c->awaiting_rsp = false;
    char outcome[64];
    snprintf(outcome, sizeof outcome, "reported, peer status 0x%04x", rsp->status);
    if (a->reporter == c) { /* our own association: let it go */
        a->reporter = NULL;
        c->out = NULL;
        gw__assoc_release(a);
    }
    done(c, c->delivery, outcome);
    return true;
}

void gw_sc_report_ready(gw__assoc_t *out)
{
    gw_sc_t *c = out->reporter;
    for (int id = 1; id < 256; id += 2)
        if (out->pc[id].accepted && gw_sc_class(out->pc[id].abstract_syntax)) {
            send_report(c, out, (uint8_t)id);
            return;
        }
    out->reporter = NULL;
    c->out = NULL;
    gw__local_abort(out, "storage commitment context not accepted");
    done(c, "undelivered", "the destination refused the storage commitment context");
}

void gw_sc_report_lost(gw__assoc_t *out, gw_sc_t *c, const char *why)
{
    (void)out;
    c->out = NULL;
    char outcome[96];
    snprintf(outcome, sizeof outcome, "report not delivered: %s", why);
    done(c, "undelivered", outcome);
}

/* Reports that were meant for a closing association go the other way, or nowhere. */
void gw_sc_assoc_gone(gw__assoc_t *a)
{
    while (a->sc != NULL) {
        gw_sc_t *c = a->sc;
        bool pending = c->awaiting_rsp || c->ready;
        unlink_sc(c);
        if (c->busy || !pending)
            continue; /* after_check delivers it elsewhere */
        c->awaiting_rsp = c->ready = false;
        if (c->peer != NULL && c->peer->dest_port != 0 && !c->srv->closing) {
            c->delivery = "new association";
            report_on_new(c);
        } else {
            done(c, "undelivered", "the association ended before the report was acknowledged");
        }
    }
}
