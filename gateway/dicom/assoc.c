/* gateway/dicom/assoc.c -- one DICOM association per TCP connection, on the loop.
 * Transport events, PDUs, timers and local decisions are events of the PS3.8 9.2 state
 * machine (ul_fsm.c); ul_event() carries out what Table 9-10 says, nothing else does.
 * read -> framer -> PDU -> (P-DATA) PDVs -> DIMSE command or data-set bytes -> store.c.
 * An association is freed only in the last close_cb; a C-STORE still on a worker when
 * the association dies is cancelled and frees itself. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "assoc_int.h"
#include "case.h"
#include "codec_dicom.h"
#include "cp_log.h"
#include "auth.h"
#include "tls.h"
#include "cp_mem.h"
#include <openssl/crypto.h>
#include "dimse.h"
#include "server.h"
#include "store.h"
#include "ul_fsm.h"
#include "ul_pdu.h"
#include "qr.h"
#include "stgcmt.h"

typedef struct wreq {
    uv_write_t req;
    gw__assoc_t *a;
    bool close_after;
    size_t len;
    uint8_t data[];
} wreq_t;

static void assoc_close(gw__assoc_t *a);
static void ul_event(gw__assoc_t *a, gw_ul_event_t e);
static void accept_assoc(gw__assoc_t *a, const gw_ul_assoc_rq_t *rq);
static void verify_then_accept(gw__assoc_t *a, gw_ul_assoc_rq_t *rq);
static void assoc_free(gw__assoc_t *a);
static gw__assoc_t *assoc_new(gw_dicom_server_t *srv);
static void arm_timer(gw__assoc_t *a, int seconds);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ---- sending ---- */

static void after_write(uv_write_t *req, int status)
{
    wreq_t *w = container_of(req, wreq_t, req);
    gw__assoc_t *a = w->a;
    bool close_after = w->close_after;
    free(w);
    if (status == 0 && !a->closing && a->on_writable != NULL) {
        if (uv_is_active((uv_handle_t *)&a->send_timer)) /* the peer reads: progress */
            uv_timer_again(&a->send_timer);
        if (gw__backlog(a) < GW_SEND_HIGH / 4) {
            void (*fn)(gw__assoc_t *) = a->on_writable;
            a->on_writable = NULL;
            uv_timer_stop(&a->send_timer);
            fn(a);
        }
    }
    if (status < 0 && status != UV_ECANCELED) {
        CP_LOG(CP_LOG_WARN, "dicom.ul", "event=write_failed assoc=%u error=%s", a->id,
               uv_err_name(status));
        assoc_close(a);
    } else if (close_after) {
        assoc_close(a);
    }
}

static void write_raw(gw__assoc_t *a, const uint8_t *data, size_t len, bool close_after);

/* Ciphertext the TLS layer produced (handshake messages, records) goes to the socket. */
static void flush_tls(gw__assoc_t *a, bool close_after)
{
    size_t n;
    while (!a->closing && (n = gw_tls_pending(a->tls)) > 0) {
        uint8_t buf[16 * 1024];
        size_t got = gw_tls_take(a->tls, buf, n < sizeof buf ? n : sizeof buf);
        if (got == 0)
            break;
        write_raw(a, buf, got, close_after && got == n);
        if (close_after && got == n)
            return;
    }
    if (close_after)
        assoc_close(a);
}

static void on_write_failed(uv_timer_t *t)
{
    assoc_close(container_of(t, gw__assoc_t, send_timer));
}

/* A send that cannot be made closes the connection on the next loop turn, never inside
 * the caller: the services send in the middle of their own state changes. */
static void write_failed(gw__assoc_t *a)
{
    if (a->write_failed || a->closing)
        return;
    a->write_failed = true;
    a->on_writable = NULL;
    if (a->outcome[0] == '\0' || a->accepted)
        snprintf(a->outcome, sizeof a->outcome, "write failed");
    uv_timer_start(&a->send_timer, on_write_failed, 0, 0);
}

static void send_bytes(gw__assoc_t *a, const uint8_t *data, size_t len, bool close_after)
{
    if (a->closing || a->write_failed)
        return;
    if (a->tls != NULL) {
        cp_errinfo_t ei = {0};
        if (gw_tls_write(a->tls, data, len, &ei) != CP_OK) {
            write_failed(a);
            return;
        }
        flush_tls(a, close_after);
        return;
    }
    write_raw(a, data, len, close_after);
}

static void write_raw(gw__assoc_t *a, const uint8_t *data, size_t len, bool close_after)
{
    wreq_t *w = cp_xmalloc(sizeof *w + len);
    w->a = a;
    w->close_after = close_after;
    w->len = len;
    memcpy(w->data, data, len);
    uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&a->tcp, &buf, 1, after_write);
    if (rc < 0) {
        free(w);
        write_failed(a);
    }
}

/* Something invalid inside a PDU: Evt19, whose action is an A-ABORT (AA-1/AA-8/AA-7). */
static void protocol_error(gw__assoc_t *a, uint8_t reason, const char *why)
{
    a->abort_reason = reason;
    a->why = why;
    ul_event(a, GW_EVT19);
}

void gw__protocol_error(gw__assoc_t *a, uint8_t reason, const char *why)
{
    protocol_error(a, reason, why);
}

/* A local A-ABORT request (AA-1 to the peer, then Sta13 until it closes). */
void gw__local_abort(gw__assoc_t *a, const char *why)
{
    a->abort_reason = 0;
    a->why = why;
    ul_event(a, GW_EVT15);
}

/* Command or data-set bytes as P-DATA-TF PDUs within the peer's maximum length (64 KiB
 * fragments when it set none). */
static void send_pdvs(gw__assoc_t *a, uint8_t pc_id, bool command, const uint8_t *data,
                      size_t len, bool last)
{
    /* One write per PDU. Batching a 256 KiB chunk's PDUs into one write was measured
     * three times slower against getscu (1.44 s against 0.5 s for 300 CT instances). */
    size_t frag = a->peer_max ? a->peer_max - 6 : 64 * 1024;
    if (frag == 0)
        frag = 1;
    uint8_t small[12 + GW_DIMSE_RSP_MAX];
    uint8_t *pdu = 12 + (len < frag ? len : frag) <= sizeof small
                       ? small
                       : cp_xmalloc(12 + (len < frag ? len : frag));
    for (size_t off = 0; off < len || len == 0;) {
        size_t n = len - off < frag ? len - off : frag;
        a->out_len = gw_ul_build_pdata(pdu, pc_id, command, last && off + n == len, data + off, n);
        a->out = pdu;
        ul_event(a, GW_EVT9); /* DT-1 in Sta6, AR-7 in Sta8, nothing once aborted */
        off += n;
        if (len == 0 || a->closing)
            break;
    }
    if (pdu != small)
        free(pdu);
}

static void send_command(gw__assoc_t *a, uint8_t pc_id, const uint8_t *cmd, size_t len)
{
    send_pdvs(a, pc_id, true, cmd, len, true);
}

void gw__send_command(gw__assoc_t *a, uint8_t pc_id, const gw_dimse_cmd_t *cmd)
{
    uint8_t buf[GW_DIMSE_RSP_MAX];
    size_t n = gw_dimse_build(cmd, buf);
    send_command(a, pc_id, buf, n);
}

void gw__send_data(gw__assoc_t *a, uint8_t pc_id, const uint8_t *data, size_t len, bool last)
{
    send_pdvs(a, pc_id, false, data, len, last);
}

size_t gw__backlog(const gw__assoc_t *a)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&a->tcp);
}

static void on_send_timeout(uv_timer_t *t)
{
    gw__assoc_t *a = container_of(t, gw__assoc_t, send_timer);
    CP_LOG(CP_LOG_WARN, "dicom.ul", "event=send_timeout assoc=%u backlog=%zu", a->id,
           gw__backlog(a));
    a->on_writable = NULL;
    gw__local_abort(a, "peer stopped reading");
    /* the A-ABORT queues behind what the peer does not read: do not wait for it */
    assoc_close(a);
}

void gw__wait_writable(gw__assoc_t *a, void (*fn)(gw__assoc_t *a))
{
    if (a->closing || a->write_failed)
        return;
    a->on_writable = fn;
    uint64_t ms = (uint64_t)a->srv->ctx.conf->dicom.send_timeout * 1000;
    uv_timer_start(&a->send_timer, on_send_timeout, ms, ms);
}

static void release_response(gw__assoc_t *a);

void gw__op_done(gw__assoc_t *a)
{
    if (a->state == GW_STA8 && a->store == NULL && !a->awaiting_data) {
        release_response(a); /* the release waited for this operation's final response */
        return;
    }
    gw_sc_kick(a); /* a commitment report waiting for the association to be idle */
}

/* ---- timers ---- */

static void on_timer(uv_timer_t *t)
{
    gw__assoc_t *a = container_of(t, gw__assoc_t, timer);
    CP_LOG(CP_LOG_INFO, "dicom.ul", "event=timeout assoc=%u state=Sta%d", a->id, a->state);
    if (a->state == GW_STA2 || a->state == GW_STA13) {
        ul_event(a, GW_EVT18); /* ARTIM */
    } else if ((a->qr != NULL || a->mover != NULL) && !gw_qr_waiting_on_peer(a)) {
        /* we are the ones working (a long C-MOVE, a large sub-operation): the peer's
         * silence is expected; send_timeout watches a peer that stops reading */
        arm_timer(a, a->srv->ctx.conf->dicom.idle_timeout);
    } else { /* the DIMSE idle timeout: a local A-ABORT request */
        a->abort_reason = 0;
        a->why = "idle timeout";
        ul_event(a, GW_EVT15);
    }
}

static void arm_timer(gw__assoc_t *a, int seconds)
{
    if (!a->closing)
        uv_timer_start(&a->timer, on_timer, (uint64_t)seconds * 1000, 0);
}

/* ---- association negotiation ---- */

static void reject(gw__assoc_t *a, uint8_t result, uint8_t source, uint8_t reason, const char *why)
{
    CP_LOG(CP_LOG_INFO, "dicom.ul",
           "event=assoc_rejected assoc=%u calling_ae=\"%s\" called_ae=\"%s\" result=%u source=%u "
           "reason=%u why=\"%s\"",
           a->id, a->calling_ae, a->called_ae, result, source, reason, why);
    snprintf(a->outcome, sizeof a->outcome, "rejected: %s", why);
    gw_ul_build_assoc_rj(a->rj, result, source, reason);
    ul_event(a, GW_EVT8);
}

static bool abstract_supported(const char *uid)
{
    return strcmp(uid, VERIFICATION) == 0 || codec_storage_sop_class_find(uid) != NULL ||
           gw_qr_class(uid) || gw_sc_class(uid);
}

/* The first proposed transfer syntax we accept: the proposer lists its preferred first,
 * and taking it keeps the sender's own encoding (DESIGN.md rule 2). Q/R identifiers we
 * read and write in little endian only. */
static const codec_ts_t *choose_ts(const gw_ul_pc_rq_t *p, bool peer_scp)
{
    bool qr = gw_qr_class(p->abstract_syntax) || gw_sc_class(p->abstract_syntax);
    /* A context the requestor will receive C-GET sub-operations on: we are the sender,
     * and Explicit VR LE is what most instances are stored in. */
    for (int i = 0; peer_scp && i < p->n_ts; i++)
        if (strcmp(p->ts[i], "1.2.840.10008.1.2.1") == 0)
            return codec_ts_find(p->ts[i]);
    for (int i = 0; i < p->n_ts; i++) {
        const codec_ts_t *ts = codec_ts_find(p->ts[i]);
        if (ts != NULL && (!qr || ts->enc == CODEC_ENC_IMPLICIT_LE ||
                           (ts->enc == CODEC_ENC_EXPLICIT_LE && !ts->encapsulated)))
            return ts;
    }
    return NULL;
}

static bool wants_scp_role(const gw_ul_assoc_rq_t *rq, const char *abstract)
{
    for (int i = 0; i < rq->n_roles; i++)
        if (rq->roles[i].scp && strcmp(rq->roles[i].sop_class, abstract) == 0)
            return codec_storage_sop_class_find(abstract) != NULL;
    return false;
}

static int negotiate(gw__assoc_t *a, const gw_ul_assoc_rq_t *rq, gw_ul_assoc_ac_t *ac)
{
    int accepted = 0;
    memset(a->pc, 0, sizeof a->pc);
    ac->n_pc = rq->n_pc;
    for (int i = 0; i < rq->n_pc; i++) {
        const gw_ul_pc_rq_t *p = &rq->pc[i];
        gw_ul_pc_ac_t *r = &ac->pc[i];
        r->id = p->id;
        const codec_ts_t *ts = NULL;
        if (!abstract_supported(p->abstract_syntax))
            r->result = GW_PC_ABSTRACT_NOT_SUPPORTED;
        else if ((ts = choose_ts(p, wants_scp_role(rq, p->abstract_syntax))) == NULL)
            r->result = GW_PC_TS_NOT_SUPPORTED;
        else
            r->result = GW_PC_ACCEPT;
        if (r->result != GW_PC_ACCEPT)
            continue;
        snprintf(r->ts, sizeof r->ts, "%s", ts->uid);
        pc_t *pc = &a->pc[p->id];
        pc->accepted = true;
        pc->ts = ts;
        snprintf(pc->abstract_syntax, sizeof pc->abstract_syntax, "%s", p->abstract_syntax);
        accepted++;
    }
    return accepted;
}

/* The sender policy: the calling AE title's [peer] section, its source networks and its
 * own association limit. Rejects (and returns false) when the peer may not associate. */
typedef enum { POLICY_OK, POLICY_REJECTED, POLICY_VERIFY } policy_t;

/* User identity (PS3.7 D.3.3.7) for a peer with a username: it must come, name that user,
 * and, with a password_hash, carry a passcode (checked on a worker: POLICY_VERIFY). A
 * refusal is permanent, service user, no reason given, as D.3.3.7 asks. */
static policy_t identity_policy(gw__assoc_t *a, const conf_peer_t *p,
                                const gw_ul_assoc_rq_t *rq)
{
    if (!p->username[0])
        return POLICY_OK;
    bool named = rq->has_user_identity && !rq->uid_too_long &&
                 (rq->uid_type == 1 || rq->uid_type == 2) &&
                 strcmp(rq->uid_primary, p->username) == 0;
    if (!named || (p->password_hash[0] && rq->uid_type != 2)) {
        reject(a, 1, 1, 1, rq->has_user_identity ? "user identity not accepted"
                                                 : "user identity required");
        return POLICY_REJECTED;
    }
    return p->password_hash[0] ? POLICY_VERIFY : POLICY_OK;
}

static policy_t peer_policy(gw__assoc_t *a, const gw_ul_assoc_rq_t *rq)
{
    const conf_t *conf = a->srv->ctx.conf;
    const conf_peer_t *p = conf_find_peer(conf, a->calling_ae);
    if (p == NULL) {
        if (conf->dicom.reject_unknown_peers) {
            reject(a, 1, 1, 3, "calling ae title not configured");
            return POLICY_REJECTED;
        }
        return POLICY_OK;
    }
    int idx = (int)(p - conf->peers);
    if (!conf_peer_allows(p, &a->peer_addr)) {
        reject(a, 1, 1, 3, "source address not allowed for this ae title");
        return POLICY_REJECTED;
    }
    if (p->has_cert) { /* this peer must come over TLS with exactly this certificate */
        uint8_t fp[32];
        if (a->tls == NULL || !gw_tls_peer_sha256(a->tls, fp) ||
            memcmp(fp, p->cert_sha256, sizeof fp) != 0) {
            reject(a, 1, 1, 3, "client certificate does not match this ae title");
            return POLICY_REJECTED;
        }
    }
    if (p->max_associations && a->srv->peer_active[idx] >= p->max_associations) {
        reject(a, 2, 3, 2, "peer association limit reached");
        return POLICY_REJECTED;
    }
    a->peer_idx = idx; /* counted in peer_active once accepted */
    return identity_policy(a, p, rq);
}

/* Asynchronous operations: one at a time each way (PS3.7 D.3.3.3), said explicitly when
 * asked. Roles (D.3.3.4): the requestor may be SCU of the classes we accepted, and SCP of
 * the storage classes (to receive C-GET's sub-operations); never SCP of the others. */
static void answer_extended(gw__assoc_t *a, const gw_ul_assoc_rq_t *rq, gw_ul_assoc_ac_t *ac)
{
    if (rq->has_async) {
        ac->has_async = true;
        ac->async_invoked = ac->async_performed = 1;
    }
    for (int i = 0; i < rq->n_roles; i++) {
        bool accepted = false;
        for (int id = 1; id < 256 && !accepted; id += 2)
            accepted = a->pc[id].accepted &&
                       strcmp(a->pc[id].abstract_syntax, rq->roles[i].sop_class) == 0;
        if (!accepted)
            continue;
        gw_ul_role_t *r = &ac->roles[ac->n_roles++];
        *r = rq->roles[i];
        if (codec_storage_sop_class_find(r->sop_class) == NULL)
            r->scp = 0;
        for (int id = 1; id < 256 && r->scp; id += 2)
            if (a->pc[id].accepted && strcmp(a->pc[id].abstract_syntax, r->sop_class) == 0)
                a->pc[id].peer_scp = true;
    }
}

/* A case's own AE title: its token (CP-7K3M-9Q), to which a referring department sends
 * that case's studies; the route job attaches them (whether the case exists is the
 * database's to say, not the loop's). */
static bool is_case_ae(const char *called)
{
    char t[CASE_TOKEN_LEN + 1];
    return case_token_parse(called, t) && strcmp(t, called) == 0;
}

/* What max_associations limits: associations negotiated or being served. Connections
 * still pending, our own (C-MOVE) and those closing or lingering after release are not. */
static int active_associations(const gw_dicom_server_t *srv, const gw__assoc_t *self)
{
    int n = 0;
    for (const gw__assoc_t *x = srv->head; x != NULL; x = x->next)
        n += x != self && !x->requestor && !x->closing && !x->pend.listed &&
             x->state != GW_STA13;
    return n;
}

static void on_assoc_rq(gw__assoc_t *a)
{
    const conf_dicom_t *dc = &a->srv->ctx.conf->dicom;
    gw_ul_assoc_rq_t *rq = cp_xmalloc(sizeof *rq);
    cp_errinfo_t ei = {0};
    cp_err_t err = gw_ul_parse_assoc_rq(a->rd.body, a->rd.len, rq, &ei);
    if (err != CP_OK) {
        protocol_error(a, 6, cp_errinfo_msg(&ei, err)); /* invalid PDU parameter value */
        free(rq);
        return;
    }
    snprintf(a->calling_ae, sizeof a->calling_ae, "%s", rq->calling_ae);
    snprintf(a->called_ae, sizeof a->called_ae, "%s", rq->called_ae);
    snprintf(a->impl_class, sizeof a->impl_class, "%s", rq->impl_class_uid);
    snprintf(a->impl_version, sizeof a->impl_version, "%s", rq->impl_version);
    a->rq_seen = true;
    if (!(rq->protocol_version & 1))
        reject(a, 1, 2, 2, "protocol version not supported");
    else if (strcmp(rq->app_context, GW_UL_APP_CONTEXT) != 0)
        reject(a, 1, 1, 2, "application context not supported");
    else if (strcmp(rq->called_ae, dc->ae_title) != 0 && !is_case_ae(rq->called_ae))
        reject(a, 1, 1, 7, "called ae title not recognized");
    else if (rq->calling_ae[0] == '\0')
        reject(a, 1, 1, 3, "calling ae title empty");
    else if (active_associations(a->srv, a) >= dc->max_associations)
        reject(a, 2, 3, 2, "max_associations reached");
    else {
        policy_t pol = peer_policy(a, rq);
        if (pol == POLICY_VERIFY) {
            verify_then_accept(a, rq); /* takes rq */
            return;
        }
        if (pol == POLICY_OK)
            accept_assoc(a, rq);
    }
    OPENSSL_cleanse(rq->uid_secondary, sizeof rq->uid_secondary);
    free(rq);
}

static void accept_assoc(gw__assoc_t *a, const gw_ul_assoc_rq_t *rq)
{
    const conf_dicom_t *dc = &a->srv->ctx.conf->dicom;
    if (a->peer_idx >= 0)
        a->srv->peer_active[a->peer_idx]++;
    {
        gw_ul_assoc_ac_t *ac = cp_xcalloc(1, sizeof *ac);
        snprintf(ac->called_ae, sizeof ac->called_ae, "%s", rq->called_ae);
        snprintf(ac->calling_ae, sizeof ac->calling_ae, "%s", rq->calling_ae);
        ac->max_length = dc->max_pdu;
        ac->impl_class_uid = CODEC_IMPL_CLASS_UID;
        ac->impl_version = CODEC_IMPL_VERSION;
        int accepted = negotiate(a, rq, ac);
        answer_extended(a, rq, ac);
        bool named = a->peer_idx >= 0 && a->srv->ctx.conf->peers[a->peer_idx].username[0];
        ac->uid_response = named && rq->uid_positive;
        if (named) /* checked by identity_policy: the audit may name the user */
            snprintf(a->username, sizeof a->username, "%s", rq->uid_primary);
        a->peer_max = rq->max_length;
        if (a->peer_max != 0 && a->peer_max < 64)
            a->peer_max = 64; /* below any sane value; keeps fragmentation finite */
        a->accepted = true;
        snprintf(a->outcome, sizeof a->outcome, "connection lost");
        a->ac = gw_ul_build_assoc_ac(ac, &a->ac_len);
        free(ac);
        ul_event(a, GW_EVT7);
        free(a->ac);
        a->ac = NULL;
        if (a->tls != NULL)
            CP_LOG(CP_LOG_INFO, "dicom.tls",
                   "event=tls_session assoc=%u version=%s cipher=%s client_cert=%s", a->id,
                   gw_tls_version(a->tls), gw_tls_cipher(a->tls),
                   gw_tls_peer_verified(a->tls) ? "verified" : "none");
        CP_LOG(CP_LOG_INFO, "dicom.ul",
               "event=assoc_accepted assoc=%u calling_ae=\"%s\" called_ae=\"%s\" contexts=%u "
               "accepted=%d peer_max=%u impl_class=%s impl_version=\"%s\"",
               a->id, a->calling_ae, a->called_ae, rq->n_pc, accepted, rq->max_length,
               rq->impl_class_uid, rq->impl_version);
    }
}

typedef struct verify {
    uv_work_t work;
    gw__assoc_t *a;
    char hash[160];
    bool ok;
} verify_t;

static void run_verify(uv_work_t *w)
{
    verify_t *v = container_of(w, verify_t, work);
    const char *pw = v->a->pending_rq->uid_secondary; /* not touched by the loop meanwhile */
    v->ok = gw_auth_verify(v->hash, pw, strlen(pw));
}

static void after_verify(uv_work_t *w, int status)
{
    (void)status;
    verify_t *v = container_of(w, verify_t, work);
    gw__assoc_t *a = v->a;
    gw_ul_assoc_rq_t *rq = a->pending_rq;
    a->pending_rq = NULL;
    a->verifying = false;
    if (a->open_handles == 0) { /* the connection went away while checking */
        assoc_free(a);
    } else if (!a->closing && a->state == GW_STA3) { /* else aborted meanwhile */
        if (v->ok)
            accept_assoc(a, rq);
        else
            reject(a, 1, 1, 1, "user identity not accepted");
    }
    OPENSSL_cleanse(rq->uid_secondary, sizeof rq->uid_secondary);
    free(rq);
    free(v);
}

/* The password check costs tens of milliseconds: it runs on the thread pool while the
 * association waits in Sta3 for this "local A-ASSOCIATE response". */
static void verify_then_accept(gw__assoc_t *a, gw_ul_assoc_rq_t *rq)
{
    verify_t *v = cp_xcalloc(1, sizeof *v);
    v->a = a;
    snprintf(v->hash, sizeof v->hash, "%s", a->srv->ctx.conf->peers[a->peer_idx].password_hash);
    a->pending_rq = rq;
    a->verifying = true;
    uv_queue_work(a->srv->loop, &v->work, run_verify, after_verify);
}

/* ---- DIMSE ---- */

static void send_rsp(gw__assoc_t *a, uint16_t field, uint16_t status, const char *comment,
                     bool with_instance)
{
    gw_dimse_cmd_t rsp = {0};
    rsp.command_field = field;
    rsp.message_id_rsp = a->rq.message_id;
    rsp.status = status;
    snprintf(rsp.sop_class, sizeof rsp.sop_class, "%s", a->rq.sop_class);
    if (with_instance)
        snprintf(rsp.sop_instance, sizeof rsp.sop_instance, "%s", a->rq.sop_instance);
    if (comment != NULL)
        snprintf(rsp.error_comment, sizeof rsp.error_comment, "%s", comment);
    uint8_t buf[GW_DIMSE_RSP_MAX];
    size_t n = gw_dimse_build_rsp(&rsp, buf);
    send_command(a, a->rq_pc, buf, n);
}

/* The local A-RELEASE response (Evt14): AR-4 sends A-RELEASE-RP, then Sta13 until the
 * requestor closes the connection (PS3.8 7.2). */
static void release_response(gw__assoc_t *a)
{
    CP_LOG(CP_LOG_INFO, "dicom.ul", "event=assoc_released assoc=%u stored=%u failed=%u", a->id,
           a->n_stored, a->n_failed);
    snprintf(a->outcome, sizeof a->outcome, "released");
    ul_event(a, GW_EVT14);
}

static const char *kind_name(store_ingest_kind_t k)
{
    switch (k) {
    case STORE_INGEST_NEW:
        return "new";
    case STORE_INGEST_REPEAT:
        return "repeat";
    case STORE_INGEST_NEW_VERSION:
        return "new_version";
    }
    return "?";
}

static void store_drained(void *ud)
{
    gw__assoc_t *a = ud;
    if (a->closing || a->reading || a->state == GW_STA13)
        return;
    if (a->store != NULL && gw_store_backlogged(a->store))
        return;
    a->reading = true;
    uv_read_start((uv_stream_t *)&a->tcp, on_alloc, on_read);
}

static void store_done(void *ud, const gw_store_outcome_t *o)
{
    gw__assoc_t *a = ud;
    a->store = NULL;
    uint64_t now = uv_hrtime();
    unsigned long long recv_us = (a->t_data - a->t_start) / 1000, commit_us = (now - a->t_data) / 1000;
    if (o->err == CP_OK) {
        a->n_stored++;
        CP_LOG(CP_LOG_INFO, "dicom.store",
               "event=stored assoc=%u msg_id=%u instance=%lld kind=%s version=%d receipts=%d "
               "bytes=%llu receive_us=%llu durable_us=%llu",
               a->id, a->rq.message_id, (long long)o->res.instance_id, kind_name(o->res.kind),
               o->res.version, o->res.receipt_count, (unsigned long long)o->bytes, recv_us,
               commit_us);
        if (o->res.duplicate_of != 0) /* as the pixel_hash job logs it */
            CP_LOG(CP_LOG_INFO, "jobs", "event=duplicate_pixels instance=%lld representative=%lld",
                   (long long)o->res.instance_id, (long long)o->res.duplicate_of);
    } else {
        a->n_failed++;
        CP_LOG(CP_LOG_WARN, "dicom.store",
               "event=store_failed assoc=%u msg_id=%u status=0x%04x error=%s why=\"%s\"", a->id,
               a->rq.message_id, o->status, cp_err_name(o->err), o->why);
    }
    send_rsp(a, GW_C_STORE_RSP, o->status, o->err == CP_OK ? NULL : o->comment, true);
    if (a->state == GW_STA8) { /* the release waited for this response */
        release_response(a);
    } else {
        store_drained(a);
        gw_sc_kick(a);
    }
}

/* Who assigned the Patient IDs this sender sends without an issuer (rule 7): the [peer]'s
 * issuer, else its section's name, else the calling AE title. */
static const char *sender_authority(const gw__assoc_t *a)
{
    if (a->peer_idx < 0)
        return a->calling_ae;
    const conf_peer_t *p = &a->srv->ctx.conf->peers[a->peer_idx];
    return p->issuer[0] ? p->issuer : p->name;
}

static void start_store(gw__assoc_t *a)
{
    const pc_t *pc = &a->pc[a->rq_pc];
    gw_store_meta_t meta = {.ts = pc->ts, .sop_class = a->rq.sop_class,
                            .sop_instance = a->rq.sop_instance, .calling_ae = a->calling_ae,
                            .called_ae = a->called_ae, .peer = a->peer,
                            .abstract_syntax = pc->abstract_syntax,
                            .authority = sender_authority(a)};
    gw_store_cbs_t cbs = {.on_drain = store_drained, .on_done = store_done};
    a->store = gw_store_new(a->srv->loop, &a->srv->ctx, &meta, &cbs, a);
    a->t_start = uv_hrtime();
}

static void on_command(gw__assoc_t *a, uint8_t pc_id)
{
    cp_errinfo_t ei = {0};
    gw_dimse_cmd_t c;
    cp_err_t err = gw_dimse_parse(a->cmd, a->cmd_len, &c, &ei);
    a->cmd_len = 0;
    if (err != CP_OK) {
        protocol_error(a, 0, cp_errinfo_msg(&ei, err));
        return;
    }
    if (c.command_field & 0x8000) { /* a response: only ever to our sub-operations */
        if (!gw_qr_on_rsp(a, &c) && !gw_sc_on_rsp(a, &c))
            protocol_error(a, 0, "dimse response to nothing we asked");
        return;
    }
    if (a->requestor) { /* on an association we asked for, the peer only answers */
        protocol_error(a, 0, "request from the acceptor of our association");
        return;
    }
    if (c.command_field == GW_C_CANCEL_RQ) {
        gw_qr_cancel(a, c.message_id_rsp);
        return;
    }
    if (a->qr != NULL) {
        protocol_error(a, 0, "a second operation outside the asynchronous window of 1");
        return;
    }
    a->rq = c;
    a->rq_pc = pc_id;
    bool has_data = a->rq.data_set_type != GW_DATA_SET_NONE;
    switch (a->rq.command_field) {
    case GW_C_ECHO_RQ:
        if (has_data)
            break;
        CP_LOG(CP_LOG_DEBUG, "dicom.dimse", "event=echo assoc=%u msg_id=%u", a->id,
               a->rq.message_id);
        send_rsp(a, GW_C_ECHO_RSP, GW_STATUS_SUCCESS, NULL, false);
        return;
    case GW_C_STORE_RQ:
        if (!has_data)
            break;
        a->awaiting_data = true;
        start_store(a);
        return;
    default:
        if (!(gw_qr_request(c.command_field) || c.command_field == GW_N_ACTION_RQ) || !has_data)
            break;
        a->awaiting_data = true; /* the identifier */
        a->ident_len = 0;
        return;
    }
    protocol_error(a, 0, "unsupported dimse command or data set type");
}

static bool on_pdv(gw__assoc_t *a, const gw_ul_pdv_t *v)
{
    if (!a->pc[v->pc_id].accepted) {
        protocol_error(a, 6, "pdv on a presentation context not accepted");
        return false;
    }
    if (v->command) {
        if (a->awaiting_data || a->store != NULL) {
            protocol_error(a, 0, "command while a data set is outstanding");
            return false;
        }
        if (v->len > CMD_MAX - a->cmd_len) {
            protocol_error(a, 6, "command set too large");
            return false;
        }
        memcpy(a->cmd + a->cmd_len, v->data, v->len);
        a->cmd_len += v->len;
        if (v->last)
            on_command(a, v->pc_id);
        return !a->closing && (a->state == GW_STA6 || a->state == GW_STA8);
    }
    if (!a->awaiting_data || v->pc_id != a->rq_pc) {
        protocol_error(a, 6, "data set pdv without a matching command");
        return false;
    }
    if (a->store == NULL) { /* an identifier or N-ACTION request, kept whole: small */
        bool action = a->rq.command_field == GW_N_ACTION_RQ;
        size_t max = action ? GW_SC_MAX_REQUEST : GW_QR_MAX_IDENT;
        if (v->len > max - a->ident_len) {
            protocol_error(a, 6, "request data set too large");
            return false;
        }
        if (a->ident_len + v->len > a->ident_cap) {
            size_t cap = a->ident_cap ? a->ident_cap : 16 * 1024;
            while (cap < a->ident_len + v->len)
                cap *= 2;
            a->ident = cp_xrealloc(a->ident, cap < max ? cap : max);
            a->ident_cap = cap < max ? cap : max;
        }
        memcpy(a->ident + a->ident_len, v->data, v->len);
        a->ident_len += v->len;
        if (v->last) {
            a->awaiting_data = false;
            if (action)
                gw_sc_action(a, a->rq_pc);
            else
                gw_qr_start(a, a->rq_pc);
            a->ident_cap = a->ident != NULL ? a->ident_cap : 0;
        }
        return !a->closing;
    }
    gw_store_push(a->store, v->data, v->len);
    if (v->last) {
        a->awaiting_data = false;
        a->t_data = uv_hrtime();
        gw_store_finish(a->store);
    }
    return true;
}

static void on_pdata(gw__assoc_t *a)
{
    size_t off = 0;
    gw_ul_pdv_t v;
    cp_errinfo_t ei = {0};
    cp_err_t err;
    while ((err = gw_ul_next_pdv(a->rd.body, a->rd.len, &off, &v, &ei)) == CP_OK)
        if (!on_pdv(a, &v))
            return;
    if (err != CP_EOF)
        protocol_error(a, 6, cp_errinfo_msg(&ei, err));
}

static const gw_ul_event_t pdu_event[] = {
    [GW_PDU_ASSOC_RQ] = GW_EVT6,   [GW_PDU_ASSOC_AC] = GW_EVT3,   [GW_PDU_ASSOC_RJ] = GW_EVT4,
    [GW_PDU_P_DATA] = GW_EVT10,    [GW_PDU_RELEASE_RQ] = GW_EVT12, [GW_PDU_RELEASE_RP] = GW_EVT13,
    [GW_PDU_ABORT] = GW_EVT16,
};

/* A peer's max_bytes: past it, the association is aborted (a local A-ABORT request). */
static bool over_peer_bytes(gw__assoc_t *a)
{
    if (a->rd.type != GW_PDU_P_DATA)
        return false;
    a->bytes_in += a->rd.len;
    if (a->peer_idx < 0)
        return false;
    uint64_t max = a->srv->ctx.conf->peers[a->peer_idx].max_bytes;
    if (max == 0 || a->bytes_in <= max)
        return false;
    a->abort_reason = 0;
    a->why = "peer max_bytes exceeded";
    ul_event(a, GW_EVT15);
    return true;
}

/* ---- associations we request (C-MOVE) ---- */

static void on_connect(uv_connect_t *req, int status)
{
    gw__assoc_t *a = container_of(req, gw__assoc_t, connect_req);
    if (a->closing)
        return;
    if (status < 0) {
        CP_LOG(CP_LOG_WARN, "dicom.ul", "event=connect_failed assoc=%u error=%s", a->id,
               uv_err_name(status));
        snprintf(a->outcome, sizeof a->outcome, "connect failed: %s", uv_err_name(status));
        ul_event(a, GW_EVT17); /* AA-4 in Sta4: gone */
        return;
    }
    uv_tcp_nodelay(&a->tcp, 1);
    ul_event(a, GW_EVT2); /* AE-2: send the A-ASSOCIATE-RQ */
    a->reading = true;
    uv_read_start((uv_stream_t *)&a->tcp, on_alloc, on_read);
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
    gw__assoc_t *a = container_of(g, gw__assoc_t, gai);
    a->open_handles--; /* the resolution held the association alive */
    if (a->closing) {
        uv_freeaddrinfo(res);
        if (a->open_handles == 0)
            assoc_free(a);
        return;
    }
    if (status < 0 || res == NULL) {
        CP_LOG(CP_LOG_WARN, "dicom.ul", "event=resolve_failed assoc=%u error=%s", a->id,
               uv_err_name(status));
        snprintf(a->outcome, sizeof a->outcome, "host not resolved");
        uv_freeaddrinfo(res);
        ul_event(a, GW_EVT17);
        return;
    }
    memcpy(&a->peer_addr, res->ai_addr, res->ai_addrlen);
    int rc = uv_tcp_connect(&a->connect_req, &a->tcp, res->ai_addr, on_connect);
    uv_freeaddrinfo(res);
    if (rc < 0)
        on_connect(&a->connect_req, rc);
}

static void start_connect(gw__assoc_t *a)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(a->srv->loop, &a->gai, on_resolved, a->peer, a->dest_port, &hints);
    if (rc < 0) { /* never inside gw__assoc_connect: its caller has not kept it yet */
        CP_LOG(CP_LOG_WARN, "dicom.ul", "event=resolve_failed assoc=%u error=%s", a->id,
               uv_err_name(rc));
        snprintf(a->outcome, sizeof a->outcome, "host not resolved");
        write_failed(a);
        return;
    }
    a->open_handles++; /* the resolution holds the association until on_resolved */
}

static bool proposed_ts(const gw_ul_pc_rq_t *p, const char *ts)
{
    for (int i = 0; i < p->n_ts; i++)
        if (strcmp(p->ts[i], ts) == 0)
            return true;
    return false;
}

/* A role we asked for (the SCP role of a commitment report, PS3.7 D.3.3.4) must be
 * granted in the answer; without a role item we are the SCU, the default. */
static bool role_granted(const gw_ul_assoc_rq_t *rq, const gw_ul_assoc_ac_t *ac,
                         const char *abstract)
{
    for (int i = 0; i < rq->n_roles; i++) {
        if (strcmp(rq->roles[i].sop_class, abstract) != 0 || !rq->roles[i].scp)
            continue;
        for (int k = 0; k < ac->n_roles; k++)
            if (strcmp(ac->roles[k].sop_class, abstract) == 0)
                return ac->roles[k].scp == 1;
        return false;
    }
    return true;
}

/* AE-3: the destination accepted; its presentation contexts become ours to send on. */
static void on_accepted(gw__assoc_t *a)
{
    gw_ul_assoc_ac_t *ac = cp_xmalloc(sizeof *ac);
    gw_ul_assoc_rq_t *rq = cp_xmalloc(sizeof *rq);
    cp_errinfo_t ei = {0};
    if (gw_ul_parse_assoc_ac(a->rd.body, a->rd.len, ac, &ei) != CP_OK ||
        gw_ul_parse_assoc_rq(a->rq_pdu + 6, a->rq_pdu_len - 6, rq, NULL) != CP_OK) {
        free(ac);
        free(rq);
        gw__local_abort(a, "malformed a-associate-ac");
        return;
    }
    for (int i = 0; i < ac->n_pc; i++) {
        const gw_ul_pc_ac_t *r = &ac->pc[i];
        const codec_ts_t *ts = codec_ts_find(r->ts);
        for (int j = 0; j < rq->n_pc && r->result == GW_PC_ACCEPT && ts != NULL; j++) {
            if (rq->pc[j].id != r->id || r->id % 2 == 0 || !proposed_ts(&rq->pc[j], r->ts) ||
                !role_granted(rq, ac, rq->pc[j].abstract_syntax))
                continue;
            pc_t *pc = &a->pc[r->id];
            pc->accepted = pc->peer_scp = true; /* default roles: it is the storage SCP */
            pc->ts = ts;
            snprintf(pc->abstract_syntax, sizeof pc->abstract_syntax, "%s",
                     rq->pc[j].abstract_syntax);
        }
    }
    a->peer_max = ac->max_length;
    if (a->peer_max != 0 && a->peer_max < 64)
        a->peer_max = 64;
    a->accepted = true;
    snprintf(a->outcome, sizeof a->outcome, "connection lost");
    free(ac);
    free(rq);
    uv_timer_stop(&a->timer);
    arm_timer(a, a->srv->ctx.conf->dicom.idle_timeout);
    CP_LOG(CP_LOG_INFO, "dicom.ul", "event=assoc_established assoc=%u called_ae=\"%s\" peer_max=%u",
           a->id, a->called_ae, a->peer_max);
    if (a->mover != NULL)
        gw_qr_move_ready(a);
    else if (a->reporter != NULL)
        gw_sc_report_ready(a);
}

static void on_confirm(gw__assoc_t *a, gw_ul_event_t e)
{
    if (e == GW_EVT3) {
        on_accepted(a);
    } else if (e == GW_EVT4) {
        uint8_t result = a->rd.len >= 4 ? a->rd.body[1] : 0;
        uint8_t source = a->rd.len >= 4 ? a->rd.body[2] : 0;
        uint8_t reason = a->rd.len >= 4 ? a->rd.body[3] : 0;
        CP_LOG(CP_LOG_WARN, "dicom.ul",
               "event=assoc_rejected_by_peer assoc=%u called_ae=\"%s\" result=%u source=%u reason=%u",
               a->id, a->called_ae, result, source, reason);
        snprintf(a->outcome, sizeof a->outcome, "rejected by peer: %u/%u/%u", result, source,
                 reason);
    } else {
        snprintf(a->outcome, sizeof a->outcome, "released");
    }
}

gw__assoc_t *gw__assoc_connect(gw_dicom_server_t *srv, const char *host, int port,
                               const gw_ul_assoc_rq_t *rq, struct gw_qr *mover)
{
    gw__assoc_t *a = assoc_new(srv);
    a->requestor = true;
    a->mover = mover;
    a->rq_seen = true;
    snprintf(a->peer, sizeof a->peer, "%s", host);
    snprintf(a->dest_port, sizeof a->dest_port, "%d", port);
    snprintf(a->calling_ae, sizeof a->calling_ae, "%s", rq->calling_ae);
    snprintf(a->called_ae, sizeof a->called_ae, "%s", rq->called_ae);
    a->rq_pdu = gw_ul_build_assoc_rq(rq, &a->rq_pdu_len);
    CP_LOG(CP_LOG_INFO, "dicom.ul", "event=connecting assoc=%u called_ae=\"%s\" contexts=%u",
           a->id, a->called_ae, rq->n_pc);
    a->state = GW_STA1;
    ul_event(a, GW_EVT1); /* AE-1: Sta4, connect */
    return a;
}

void gw__assoc_release(gw__assoc_t *a)
{
    ul_event(a, GW_EVT11);
}

static void on_pdu(gw__assoc_t *a)
{
    if (over_peer_bytes(a))
        return;
    if (a->state == GW_STA6)
        arm_timer(a, a->srv->ctx.conf->dicom.idle_timeout);
    a->abort_reason = 2; /* should an A-ABORT follow, it is for an unexpected PDU */
    a->why = "unexpected pdu";
    ul_event(a, pdu_event[a->rd.type]); /* the framer admits types 1..7 only */
}

/* ---- the state machine's effects ---- */

static void send_control(gw__assoc_t *a, const gw_ul_effects_t *fx)
{
    uint8_t pdu[10];
    if (fx->send_assoc_ac) {
        send_bytes(a, a->ac, a->ac_len, false);
        arm_timer(a, a->srv->ctx.conf->dicom.idle_timeout);
    }
    /* After an A-ASSOCIATE-RJ or A-ABORT there is nothing left to say: the connection
     * closes once it is written, not after ARTIM, so refused and broken peers do not
     * hold a place (ARTIM still bounds a write the peer does not read). */
    if (fx->send_assoc_rj)
        send_bytes(a, a->rj, sizeof a->rj, true);
    if (fx->send_assoc_rq) {
        send_bytes(a, a->rq_pdu, a->rq_pdu_len, false);
        arm_timer(a, a->srv->ctx.conf->dicom.artim_timeout); /* the request's answer */
    }
    if (fx->send_release_rq) {
        gw_ul_build_release(pdu, GW_PDU_RELEASE_RQ);
        send_bytes(a, pdu, sizeof pdu, false);
        arm_timer(a, a->srv->ctx.conf->dicom.artim_timeout);
    }
    if (fx->send_pdata)
        send_bytes(a, a->out, a->out_len, false);
    if (fx->send_release_rp) {
        gw_ul_build_release(pdu, GW_PDU_RELEASE_RP);
        send_bytes(a, pdu, sizeof pdu, false);
    }
    if (fx->send_abort) {
        uint8_t source = fx->abort_from_user ? 0 : 2; /* service user / provider */
        CP_LOG(CP_LOG_WARN, "dicom.ul",
               "event=abort_sent assoc=%u action=%s source=%u reason=%u why=\"%s\"", a->id,
               gw_ul_action_name(fx->action), source, a->abort_reason,
               a->why ? a->why : "protocol");
        gw_ul_build_abort(pdu, source, source == 0 ? 0 : a->abort_reason);
        if (a->accepted || a->outcome[0] == '\0')
            snprintf(a->outcome, sizeof a->outcome, "aborted: %s", a->why ? a->why : "protocol");
        send_bytes(a, pdu, sizeof pdu, true);
    }
}

/* Runs one event through PS3.8 Table 9-10 and carries out the action's effects in the
 * order the action text gives them. Indications may raise further events (the local
 * response to an A-ASSOCIATE-RQ, a C-STORE-RSP); the state is updated before they run. */
static void ul_event(gw__assoc_t *a, gw_ul_event_t e)
{
    if (a->closing)
        return;
    gw_ul_state_t from = a->state;
    gw_ul_effects_t fx;
    a->state = gw_ul_step(from, e, a->requestor, &fx);
    if (fx.action == GW_ACT_NONE) {
        /* no cell: e.g. our C-STORE-RSP after the association was aborted */
        CP_LOG(CP_LOG_DEBUG, "dicom.fsm", "event=ignored assoc=%u state=Sta%d evt=Evt%d", a->id,
               from, e);
        return;
    }
    CP_LOG(CP_LOG_DEBUG, "dicom.fsm", "assoc=%u from=Sta%d evt=Evt%d action=%s to=Sta%d", a->id,
           from, e, gw_ul_action_name(fx.action), a->state);
    if (fx.stop_artim)
        uv_timer_stop(&a->timer);
    send_control(a, &fx);
    if (e == GW_EVT16) {
        CP_LOG(CP_LOG_INFO, "dicom.ul", "event=abort_received assoc=%u", a->id);
        snprintf(a->outcome, sizeof a->outcome, "aborted by peer");
    }
    if (fx.indicate_abort && a->store != NULL) {
        gw_store_cancel(a->store); /* no response will be sent: nothing was acknowledged */
        a->store = NULL;
    }
    if (fx.indicate_abort || fx.close_transport)
        gw_qr_abort(a);
    if (fx.start_artim) /* in Sta2 ARTIM is the deadline of a connection still pending */
        arm_timer(a, a->state == GW_STA2 ? a->srv->ctx.conf->dicom.negotiation_timeout
                                         : a->srv->ctx.conf->dicom.artim_timeout);
    if (fx.connect)
        start_connect(a);
    if (fx.confirm)
        on_confirm(a, e);
    if (fx.indicate_assoc) {
        gw_pending_remove(&a->srv->pending, &a->pend); /* a whole request: a real peer */
        on_assoc_rq(a);
    }
    if (fx.indicate_pdata)
        on_pdata(a);
    if (fx.indicate_release && a->qr != NULL)
        gw_qr_release(a); /* cancelled; its final response, then the A-RELEASE-RP */
    if (fx.indicate_release && a->store == NULL && !a->awaiting_data && a->qr == NULL)
        release_response(a); /* else the C-STORE-RSP goes first (AR-7), then store_done */
    if (fx.close_transport || a->state == GW_STA1)
        assoc_close(a);
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    gw__assoc_t *a = container_of((uv_tcp_t *)h, gw__assoc_t, tcp);
    (void)suggested;
    *buf = uv_buf_init((char *)a->readbuf, sizeof a->readbuf);
}

/* Senders that leave Nagle on wait for our delayed ACK before the last segment of each
 * message; re-arming quick ACK on every read keeps them from stalling ~40 ms a message. */
static void quickack(gw__assoc_t *a)
{
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno((uv_handle_t *)&a->tcp, &fd) == 0)
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static void feed(gw__assoc_t *a, const uint8_t *p, size_t n)
{
    while (n > 0 && !a->closing && !a->discard_input) {
        size_t used;
        bool complete;
        cp_errinfo_t ei = {0};
        cp_err_t err = gw_ul_reader_feed(&a->rd, p, n, &used, &complete, &ei);
        if (err != CP_OK) {
            /* the stream cannot be framed any more: whatever follows is ignored */
            a->discard_input = true;
            protocol_error(a, err == CP_ETOOBIG ? 6 : 1, cp_errinfo_msg(&ei, err));
            return;
        }
        p += used;
        n -= used;
        if (complete)
            on_pdu(a);
    }
}

static void on_plain(void *ud, const uint8_t *data, size_t len)
{
    feed(ud, data, len);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    gw__assoc_t *a = container_of((uv_tcp_t *)s, gw__assoc_t, tcp);
    if (nread < 0) {
        bool expected = nread == UV_EOF && (a->state == GW_STA13 || a->state == GW_STA2);
        CP_LOG(expected ? CP_LOG_DEBUG : CP_LOG_WARN, "dicom.ul",
               "event=connection_closed assoc=%u state=Sta%d error=%s", a->id, a->state,
               uv_err_name((int)nread));
        ul_event(a, GW_EVT17);
        return;
    }
    quickack(a);
    if (a->tls != NULL) {
        cp_errinfo_t ei = {0};
        cp_err_t err = gw_tls_feed(a->tls, (const uint8_t *)buf->base, (size_t)nread, on_plain, a,
                                   &ei);
        if (!a->closing)
            flush_tls(a, false);
        if (err != CP_OK && !a->closing) {
            /* no DICOM PDU can be exchanged any more: the transport is gone (Evt17) */
            CP_LOG(a->state == GW_STA2 ? CP_LOG_INFO : CP_LOG_WARN, "dicom.tls",
                   "event=tls_closed assoc=%u state=Sta%d why=\"%s\"", a->id, a->state,
                   cp_errinfo_msg(&ei, err));
            ul_event(a, GW_EVT17);
            return;
        }
    } else {
        feed(a, (const uint8_t *)buf->base, (size_t)nread);
    }
    if (!a->closing && a->store != NULL && gw_store_backlogged(a->store) && a->reading) {
        uv_read_stop(s); /* resumed by store_drained */
        a->reading = false;
    }
}

/* ---- life cycle ---- */

typedef struct record {
    uv_work_t work;
    store_pg_t *pg;
    uint32_t id;
    store_assoc_row_t row;
    char calling[17], called[17], peer[64], peer_name[48], impl_class[65], impl_version[17];
    char outcome[96];
} record_t;

static void run_record(uv_work_t *w)
{
    record_t *r = container_of(w, record_t, work);
    cp_errinfo_t ei = {0};
    cp_err_t err = store_pg_record_association(r->pg, &r->row, &ei);
    if (err != CP_OK) /* the log is the fallback record: no PHI in it */
        CP_LOG(CP_LOG_WARN, "dicom.ul", "event=association_not_recorded assoc=%u error=%s why=\"%s\"",
               r->id, cp_err_name(err), cp_errinfo_msg(&ei, err));
}

static void after_record(uv_work_t *w, int status)
{
    (void)status;
    free(container_of(w, record_t, work));
}

/* Every association a peer asked for gets a row in `associations`, written off the loop. */
static void record_association(gw__assoc_t *a)
{
    if (!a->rq_seen)
        return;
    record_t *r = cp_xcalloc(1, sizeof *r);
    r->pg = a->srv->ctx.pg;
    r->id = a->id;
    snprintf(r->calling, sizeof r->calling, "%s", a->calling_ae);
    snprintf(r->called, sizeof r->called, "%s", a->called_ae);
    snprintf(r->peer, sizeof r->peer, "%s", a->peer);
    snprintf(r->peer_name, sizeof r->peer_name, "%s",
             a->peer_idx >= 0 ? a->srv->ctx.conf->peers[a->peer_idx].name : "");
    snprintf(r->impl_class, sizeof r->impl_class, "%s", a->impl_class);
    snprintf(r->impl_version, sizeof r->impl_version, "%s", a->impl_version);
    snprintf(r->outcome, sizeof r->outcome, "%s", a->outcome[0] ? a->outcome : "unknown");
    r->row = (store_assoc_row_t){.started_at = a->started_at, .calling_ae = r->calling,
                                 .called_ae = r->called, .peer_address = r->peer,
                                 .peer_name = r->peer_name, .impl_class_uid = r->impl_class,
                                 .impl_version = r->impl_version, .outcome = r->outcome,
                                 .accepted = a->accepted, .stored = (int)a->n_stored,
                                 .failed = (int)a->n_failed, .bytes_in = a->bytes_in};
    uv_queue_work(a->srv->loop, &r->work, run_record, after_record);
}

static void on_close(uv_handle_t *h)
{
    gw__assoc_t *a = h->data;
    if (--a->open_handles > 0 || a->verifying) /* after_verify frees it then */
        return;
    assoc_free(a);
}

static void assoc_free(gw__assoc_t *a)
{
    gw_dicom_server_t *srv = a->srv;
    if (a->prev)
        a->prev->next = a->next;
    else
        srv->head = a->next;
    if (a->next)
        a->next->prev = a->prev;
    srv->n_assoc--;
    if (a->peer_idx >= 0)
        srv->peer_active[a->peer_idx]--;
    CP_LOG(CP_LOG_DEBUG, "dicom.ul", "event=closed assoc=%u", a->id);
    record_association(a);
    gw_tls_free(a->tls);
    gw_ul_reader_free(&a->rd);
    free(a->ident);
    free(a->rq_pdu);
    free(a);
    if (srv->closing && srv->n_assoc == 0)
        gw__server_close_listener(srv);
}

static void assoc_close(gw__assoc_t *a)
{
    if (a->closing)
        return;
    a->closing = true;
    gw_pending_remove(&a->srv->pending, &a->pend);
    if (a->store != NULL) {
        gw_store_cancel(a->store); /* nothing acknowledged is lost: no RSP was sent */
        a->store = NULL;
    }
    gw_qr_abort(a);
    if (a->mover != NULL) {
        struct gw_qr *m = a->mover;
        a->mover = NULL;
        gw_qr_move_lost(a, m, a->outcome[0] ? a->outcome : "association ended");
    }
    if (a->reporter != NULL) {
        struct gw_sc *r = a->reporter;
        a->reporter = NULL;
        gw_sc_report_lost(a, r, a->outcome[0] ? a->outcome : "association ended");
    }
    gw_sc_assoc_gone(a);
    a->on_writable = NULL;
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, on_close);
    uv_close((uv_handle_t *)&a->send_timer, on_close);
    uv_close((uv_handle_t *)&a->tcp, on_close);
}

static void peer_name(uv_tcp_t *t, struct sockaddr_storage *ss_out, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    char ip[64] = "?";
    int port = 0;
    if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    snprintf(out, cap, "%s:%d", ip, port);
    *ss_out = ss;
}

static gw__assoc_t *assoc_new(gw_dicom_server_t *srv)
{
    const conf_dicom_t *dc = &srv->ctx.conf->dicom;
    gw__assoc_t *a = cp_xcalloc(1, sizeof *a);
    a->srv = srv;
    a->id = ++srv->next_id;
    a->peer_idx = -1;
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    a->started_at = (double)tv.tv_sec + tv.tv_usec / 1e6;
    uv_tcp_init(srv->loop, &a->tcp);
    uv_timer_init(srv->loop, &a->timer);
    uv_timer_init(srv->loop, &a->send_timer);
    a->tcp.data = a;
    a->timer.data = a;
    a->send_timer.data = a;
    a->open_handles = 3;
    a->next = srv->head;
    if (srv->head)
        srv->head->prev = a;
    srv->head = a;
    srv->n_assoc++;
    gw_ul_reader_init(&a->rd, dc->max_pdu, MAX_RQ_PDU);
    return a;
}

/* A new connection joins the pending ones; the oldest of its address, or of all, is
 * closed when it has no room (pending.h): a real sender always gets its turn. */
static void make_room(gw_dicom_server_t *srv, gw__assoc_t *a)
{
    gw_pending_set_address(&a->pend, &a->peer_addr);
    gw_pending_entry_t *e;
    uint64_t now = uv_now(srv->loop);
    while ((e = gw_pending_victim(&srv->pending, &a->pend, now)) != NULL) {
        gw__assoc_t *old = container_of(e, gw__assoc_t, pend);
        gw_pending_remove(&srv->pending, e);
        CP_LOG(CP_LOG_WARN, "dicom.ul", "event=pending_dropped assoc=%u peer=%s pending=%d",
               old->id, old->peer, srv->pending.n);
        snprintf(old->outcome, sizeof old->outcome, "closed: too many pending connections");
        assoc_close(old);
    }
    gw_pending_add(&srv->pending, &a->pend, now);
}

void gw__assoc_accept(gw_dicom_server_t *srv, bool tls)
{
    gw__assoc_t *a = assoc_new(srv);
    if (tls)
        a->tls = gw_tls_new(srv->tls_ctx);
    uv_stream_t *l = (uv_stream_t *)(tls ? &srv->tls_listener : &srv->listener);
    if (uv_accept(l, (uv_stream_t *)&a->tcp) != 0) {
        assoc_close(a);
        return;
    }
    uv_tcp_nodelay(&a->tcp, 1);
    peer_name(&a->tcp, &a->peer_addr, a->peer, sizeof a->peer);
    make_room(srv, a);
    CP_LOG(CP_LOG_INFO, "dicom.ul", "event=connection assoc=%u peer=%s tls=%s", a->id, a->peer,
           tls ? "yes" : "no");
    a->state = GW_STA1;
    ul_event(a, GW_EVT5); /* AE-5: Sta2, ARTIM started */
    a->reading = true;
    uv_read_start((uv_stream_t *)&a->tcp, on_alloc, on_read);
}

void gw__assoc_abort_all(gw_dicom_server_t *srv)
{
    for (gw__assoc_t *a = srv->head; a != NULL; a = a->next) {
        if (a->closing)
            continue;
        a->abort_reason = 0;
        a->why = "server shutting down";
        if (a->state == GW_STA2 || a->state == GW_STA13)
            assoc_close(a); /* no association to abort */
        else
            ul_event(a, GW_EVT15);
    }
}
