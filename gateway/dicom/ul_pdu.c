/* gateway/dicom/ul_pdu.c -- PS3.8 9.3 encoding. Big endian on the wire. */
#include "ul_pdu.h"

#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void gw_ul_reader_init(gw_ul_reader_t *r, uint32_t max_pdata, uint32_t max_other)
{
    memset(r, 0, sizeof *r);
    r->max_pdata = max_pdata;
    r->max_other = max_other;
}

void gw_ul_reader_free(gw_ul_reader_t *r)
{
    free(r->body);
    r->body = NULL;
    r->body_cap = 0;
}

static cp_err_t start_body(gw_ul_reader_t *r, cp_errinfo_t *ei)
{
    r->type = r->hdr[0];
    r->len = be32(r->hdr + 2);
    if (r->type < GW_PDU_ASSOC_RQ || r->type > GW_PDU_ABORT)
        return cp_fail(ei, CP_EPROTO, 0, "unknown pdu type 0x%02x", r->type);
    uint32_t max = r->type == GW_PDU_P_DATA ? r->max_pdata : r->max_other;
    if (r->len > max)
        return cp_fail(ei, CP_ETOOBIG, 0, "pdu type 0x%02x length %u exceeds the limit %u",
                       r->type, r->len, max);
    if (r->len > r->body_cap) {
        uint8_t *b = realloc(r->body, r->len);
        if (b == NULL)
            return cp_fail(ei, CP_ENOMEM, 0, "no memory for a pdu of %u bytes", r->len);
        r->body = b;
        r->body_cap = r->len;
    }
    r->body_len = 0;
    return CP_OK;
}

cp_err_t gw_ul_reader_feed(gw_ul_reader_t *r, const uint8_t *data, size_t len, size_t *used,
                           bool *complete, cp_errinfo_t *ei)
{
    size_t off = 0;
    *complete = false;
    if (r->hdr_len == GW_UL_HEADER && r->body_len == r->len)
        r->hdr_len = 0; /* the previous call returned a complete PDU */
    while (off < len && r->hdr_len < GW_UL_HEADER) {
        r->hdr[r->hdr_len++] = data[off++];
        if (r->hdr_len == GW_UL_HEADER) {
            cp_err_t err = start_body(r, ei);
            if (err != CP_OK) {
                *used = off;
                return err;
            }
        }
    }
    if (r->hdr_len == GW_UL_HEADER) {
        size_t want = r->len - r->body_len;
        size_t n = len - off < want ? len - off : want;
        if (n > 0)
            memcpy(r->body + r->body_len, data + off, n);
        r->body_len += n;
        off += n;
        *complete = r->body_len == r->len;
    }
    *used = off;
    return CP_OK;
}

/* Copies an item's text value (a UID or name), dropping trailing NUL/space padding. */
static cp_err_t take_text(const uint8_t *p, size_t n, char *out, size_t cap, const char *what,
                          cp_errinfo_t *ei)
{
    while (n > 0 && (p[n - 1] == '\0' || p[n - 1] == ' '))
        n--;
    if (n >= cap)
        return cp_fail(ei, CP_EPROTO, 0, "%s is %zu bytes, more than %zu", what, n, cap - 1);
    memcpy(out, p, n);
    out[n] = '\0';
    return CP_OK;
}

static void take_ae(const uint8_t *p, char out[17])
{
    size_t start = 0, n = 16;
    while (start < n && p[start] == ' ')
        start++; /* leading spaces are insignificant in AE titles */
    while (n > start && (p[n - 1] == ' ' || p[n - 1] == '\0'))
        n--;
    memcpy(out, p + start, n - start);
    out[n - start] = '\0';
}

static cp_err_t parse_pc(const uint8_t *p, size_t n, size_t at, gw_ul_assoc_rq_t *rq,
                         cp_errinfo_t *ei)
{
    if (n < 4)
        return cp_fail(ei, CP_EPROTO, 0, "presentation context item at offset %zu too short", at);
    if (rq->n_pc >= GW_UL_MAX_PC)
        return cp_fail(ei, CP_EPROTO, 0, "more than %d presentation contexts", GW_UL_MAX_PC);
    gw_ul_pc_rq_t *pc = &rq->pc[rq->n_pc];
    memset(pc, 0, sizeof *pc);
    pc->id = p[0];
    bool have_abstract = false;
    for (size_t off = 4; off < n;) {
        if (n - off < 4)
            return cp_fail(ei, CP_EPROTO, 0, "truncated sub-item at offset %zu", at + off);
        uint8_t type = p[off];
        size_t len = be16(p + off + 2);
        if (len > n - off - 4)
            return cp_fail(ei, CP_EPROTO, 0, "sub-item 0x%02x at offset %zu overruns its item",
                           type, at + off);
        const uint8_t *v = p + off + 4;
        cp_err_t err = CP_OK;
        if (type == 0x30 && !have_abstract) {
            err = take_text(v, len, pc->abstract_syntax, sizeof pc->abstract_syntax,
                            "abstract syntax", ei);
            have_abstract = true;
        } else if (type == 0x40 && pc->n_ts < GW_UL_MAX_TS) {
            err = take_text(v, len, pc->ts[pc->n_ts], sizeof pc->ts[0], "transfer syntax", ei);
            pc->n_ts++;
        } else if (type != 0x40) {
            return cp_fail(ei, CP_EPROTO, 0, "unexpected sub-item 0x%02x at offset %zu", type,
                           at + off);
        }
        if (err != CP_OK)
            return err;
        off += 4 + len;
    }
    if (!have_abstract || pc->n_ts == 0)
        return cp_fail(ei, CP_EPROTO, 0, "presentation context %u lacks %s", pc->id,
                       have_abstract ? "a transfer syntax" : "an abstract syntax");
    rq->n_pc++;
    return CP_OK;
}

static cp_err_t parse_role(const uint8_t *v, size_t len, gw_ul_assoc_rq_t *rq, cp_errinfo_t *ei)
{
    if (len < 4 || (size_t)be16(v) + 4 != len)
        return cp_fail(ei, CP_EPROTO, 0, "malformed role selection sub-item");
    if (rq->n_roles >= GW_UL_MAX_ROLES)
        return CP_OK; /* more classes than contexts can name: the rest get default roles */
    gw_ul_role_t *r = &rq->roles[rq->n_roles];
    cp_err_t err = take_text(v + 2, be16(v), r->sop_class, sizeof r->sop_class, "role sop class",
                             ei);
    if (err != CP_OK)
        return err;
    /* one item per SOP class (PS3.7 D.3.3.4): a repeat is ignored, the first stands */
    for (int i = 0; i < rq->n_roles; i++)
        if (strcmp(rq->roles[i].sop_class, r->sop_class) == 0)
            return CP_OK;
    r->scu = v[len - 2];
    r->scp = v[len - 1];
    rq->n_roles++;
    return CP_OK;
}

/* The fields are byte strings that may hold any value (a passcode): copied verbatim,
 * NUL-terminated; longer than the field -> uid_too_long (refused by policy, not here). */
static void take_field(const uint8_t *v, size_t n, char *out, size_t cap, bool *too_long)
{
    if (n >= cap) {
        *too_long = true;
        n = cap - 1;
    }
    memcpy(out, v, n);
    out[n] = '\0';
}

static cp_err_t parse_user_identity(const uint8_t *v, size_t len, gw_ul_assoc_rq_t *rq,
                                    cp_errinfo_t *ei)
{
    if (len < 4 || (size_t)be16(v + 2) + 4 > len)
        return cp_fail(ei, CP_EPROTO, 0, "malformed user identity sub-item");
    size_t n1 = be16(v + 2), off = 4 + n1;
    if (off + 2 > len || off + 2 + be16(v + off) != len)
        return cp_fail(ei, CP_EPROTO, 0, "malformed user identity sub-item");
    rq->has_user_identity = true;
    rq->uid_type = v[0];
    rq->uid_positive = v[1] == 1;
    take_field(v + 4, n1, rq->uid_primary, sizeof rq->uid_primary, &rq->uid_too_long);
    take_field(v + off + 2, be16(v + off), rq->uid_secondary, sizeof rq->uid_secondary,
               &rq->uid_too_long);
    return CP_OK;
}

static cp_err_t parse_user_info(const uint8_t *p, size_t n, size_t at, gw_ul_assoc_rq_t *rq,
                                cp_errinfo_t *ei)
{
    for (size_t off = 0; off < n;) {
        if (n - off < 4)
            return cp_fail(ei, CP_EPROTO, 0, "truncated user information at offset %zu", at + off);
        uint8_t type = p[off];
        size_t len = be16(p + off + 2);
        if (len > n - off - 4)
            return cp_fail(ei, CP_EPROTO, 0, "user sub-item 0x%02x at offset %zu overruns", type,
                           at + off);
        const uint8_t *v = p + off + 4;
        cp_err_t err = CP_OK;
        switch (type) {
        case 0x51:
            if (len != 4)
                return cp_fail(ei, CP_EPROTO, 0, "maximum length sub-item of %zu bytes", len);
            rq->max_length = be32(v);
            break;
        case 0x52:
            err = take_text(v, len, rq->impl_class_uid, sizeof rq->impl_class_uid,
                            "implementation class uid", ei);
            break;
        case 0x55:
            err = take_text(v, len, rq->impl_version, sizeof rq->impl_version,
                            "implementation version name", ei);
            break;
        case 0x53:
            if (len != 4)
                return cp_fail(ei, CP_EPROTO, 0, "asynchronous operations sub-item of %zu bytes",
                               len);
            rq->has_async = true;
            rq->async_invoked = be16(v);
            rq->async_performed = be16(v + 2);
            break;
        case 0x54:
            err = parse_role(v, len, rq, ei);
            break;
        case 0x58:
            err = parse_user_identity(v, len, rq, ei);
            break;
        default: /* extended negotiation and unknown items: skipped (PS3.7 D.3.3.5) */
            break;
        }
        if (err != CP_OK)
            return err;
        off += 4 + len;
    }
    return CP_OK;
}

cp_err_t gw_ul_parse_assoc_rq(const uint8_t *body, size_t len, gw_ul_assoc_rq_t *rq,
                              cp_errinfo_t *ei)
{
    memset(rq, 0, sizeof *rq);
    if (len < 68)
        return cp_fail(ei, CP_EPROTO, 0, "a-associate-rq of %zu bytes is too short", len);
    rq->protocol_version = be16(body);
    take_ae(body + 4, rq->called_ae);
    take_ae(body + 20, rq->calling_ae);
    bool have_ctx = false, have_user = false;
    for (size_t off = 68; off < len;) {
        if (len - off < 4)
            return cp_fail(ei, CP_EPROTO, 0, "truncated item at offset %zu", off);
        uint8_t type = body[off];
        size_t n = be16(body + off + 2);
        if (n > len - off - 4)
            return cp_fail(ei, CP_EPROTO, 0, "item 0x%02x at offset %zu overruns the pdu", type,
                           off);
        const uint8_t *v = body + off + 4;
        cp_err_t err = CP_OK;
        if (type == 0x10 && !have_ctx) {
            err = take_text(v, n, rq->app_context, sizeof rq->app_context,
                            "application context name", ei);
            have_ctx = true;
        } else if (type == 0x20) {
            err = parse_pc(v, n, off + 4, rq, ei);
        } else if (type == 0x50 && !have_user) {
            err = parse_user_info(v, n, off + 4, rq, ei);
            have_user = true;
        } else {
            return cp_fail(ei, CP_EPROTO, 0, "unexpected item 0x%02x at offset %zu", type, off);
        }
        if (err != CP_OK)
            return err;
        off += 4 + n;
    }
    if (!have_ctx)
        return cp_fail(ei, CP_EPROTO, 0, "a-associate-rq without application context");
    if (rq->n_pc == 0)
        return cp_fail(ei, CP_EPROTO, 0, "a-associate-rq without presentation contexts");
    if (!have_user) /* PS3.8 9.3.2: exactly one user information item */
        return cp_fail(ei, CP_EPROTO, 0, "a-associate-rq without user information");
    return CP_OK;
}

static size_t put_item(uint8_t *p, uint8_t type, const char *text)
{
    size_t n = strlen(text);
    p[0] = type;
    p[1] = 0;
    put16(p + 2, (uint16_t)n);
    memcpy(p + 4, text, n);
    return 4 + n;
}

static void put_ae(uint8_t *p, const char *ae)
{
    size_t n = strlen(ae);
    memset(p, ' ', 16);
    memcpy(p, ae, n > 16 ? 16 : n);
}

/* User information sub-items both A-ASSOCIATE PDUs carry: maximum length (0x51) and
 * implementation class UID (0x52); SCP/SCU role selection (0x54, PS3.7 D.3.3.4). */
static size_t put_max_and_class(uint8_t *p, uint32_t max_length, const char *impl_class)
{
    p[0] = 0x51;
    put16(p + 2, 4);
    put32(p + 4, max_length);
    return 8 + put_item(p + 8, 0x52, impl_class);
}

static size_t put_roles(uint8_t *p, const gw_ul_role_t *roles, uint16_t n_roles)
{
    size_t u = 0;
    for (uint16_t i = 0; i < n_roles; i++) {
        const gw_ul_role_t *r = &roles[i];
        size_t n = strlen(r->sop_class);
        p[u] = 0x54;
        put16(p + u + 2, (uint16_t)(n + 4));
        put16(p + u + 4, (uint16_t)n);
        memcpy(p + u + 6, r->sop_class, n);
        p[u + 6 + n] = r->scu;
        p[u + 7 + n] = r->scp;
        u += 8 + n;
    }
    return u;
}

uint8_t *gw_ul_build_assoc_ac(const gw_ul_assoc_ac_t *ac, size_t *len)
{
    size_t cap = 6 + 68 + 4 + 64 + (size_t)ac->n_pc * (8 + 4 + 64) + 4 + 8 + 4 + 64 + 4 + 16 +
                 8 + (size_t)ac->n_roles * (4 + 2 + 64 + 2) + 6;
    uint8_t *b = cp_xcalloc(1, cap);
    b[0] = GW_PDU_ASSOC_AC;
    uint8_t *p = b + 6;
    put16(p, 1);
    put_ae(p + 4, ac->called_ae);
    put_ae(p + 20, ac->calling_ae);
    size_t off = 68;
    off += put_item(p + off, 0x10, GW_UL_APP_CONTEXT);
    for (uint16_t i = 0; i < ac->n_pc; i++) {
        const gw_ul_pc_ac_t *pc = &ac->pc[i];
        /* A rejected context still carries a transfer syntax sub-item, ignored by the
         * peer (PS3.8 9.3.3.2); DCMTK sends the first proposed, we send the default. */
        const char *ts = pc->result == GW_PC_ACCEPT ? pc->ts : "1.2.840.10008.1.2";
        uint8_t *item = p + off;
        item[0] = 0x21;
        item[4] = pc->id;
        item[6] = pc->result;
        size_t n = 4 + put_item(item + 8, 0x40, ts);
        put16(item + 2, (uint16_t)n);
        off += 4 + n;
    }
    uint8_t *ui = p + off;
    ui[0] = 0x50;
    size_t u = 4 + put_max_and_class(ui + 4, ac->max_length, ac->impl_class_uid);
    if (ac->has_async) {
        ui[u] = 0x53;
        put16(ui + u + 2, 4);
        put16(ui + u + 4, ac->async_invoked);
        put16(ui + u + 6, ac->async_performed);
        u += 8;
    }
    u += put_roles(ui + u, ac->roles, ac->n_roles);
    u += put_item(ui + u, 0x55, ac->impl_version);
    if (ac->uid_response) { /* username (and passcode): an empty server response */
        ui[u] = 0x59;
        put16(ui + u + 2, 2);
        put16(ui + u + 4, 0);
        u += 6;
    }
    put16(ui + 2, (uint16_t)(u - 4));
    off += u;
    put32(b + 2, (uint32_t)off);
    *len = 6 + off;
    return b;
}

uint8_t *gw_ul_build_assoc_rq(const gw_ul_assoc_rq_t *rq, size_t *len)
{
    size_t cap = 6 + 68 + 4 + 64 + 4 + 8 + 4 + 64 + 4 + 16 + (size_t)rq->n_roles * 72;
    for (uint16_t i = 0; i < rq->n_pc; i++)
        cap += 8 + 4 + 64 + (size_t)rq->pc[i].n_ts * (4 + 64);
    uint8_t *b = cp_xcalloc(1, cap);
    b[0] = GW_PDU_ASSOC_RQ;
    uint8_t *p = b + 6;
    put16(p, 1);
    put_ae(p + 4, rq->called_ae);
    put_ae(p + 20, rq->calling_ae);
    size_t off = 68;
    off += put_item(p + off, 0x10, GW_UL_APP_CONTEXT);
    for (uint16_t i = 0; i < rq->n_pc; i++) {
        const gw_ul_pc_rq_t *pc = &rq->pc[i];
        uint8_t *item = p + off;
        item[0] = 0x20;
        item[4] = pc->id;
        size_t n = 4 + put_item(item + 8, 0x30, pc->abstract_syntax);
        for (uint8_t t = 0; t < pc->n_ts; t++)
            n += put_item(item + 4 + n, 0x40, pc->ts[t]);
        put16(item + 2, (uint16_t)n);
        off += 4 + n;
    }
    uint8_t *ui = p + off;
    ui[0] = 0x50;
    size_t u = 4 + put_max_and_class(ui + 4, rq->max_length, rq->impl_class_uid);
    u += put_roles(ui + u, rq->roles, rq->n_roles);
    u += put_item(ui + u, 0x55, rq->impl_version);
    put16(ui + 2, (uint16_t)(u - 4));
    off += u;
    put32(b + 2, (uint32_t)off);
    *len = 6 + off;
    return b;
}

static cp_err_t parse_pc_ac(const uint8_t *v, size_t n, gw_ul_assoc_ac_t *ac, cp_errinfo_t *ei)
{
    if (n < 4)
        return cp_fail(ei, CP_EPROTO, 0, "presentation context answer too short");
    if (ac->n_pc >= GW_UL_MAX_PC)
        return cp_fail(ei, CP_EPROTO, 0, "more than %d presentation contexts", GW_UL_MAX_PC);
    gw_ul_pc_ac_t *pc = &ac->pc[ac->n_pc++];
    memset(pc, 0, sizeof *pc);
    pc->id = v[0];
    pc->result = v[2];
    for (size_t off = 4; off < n;) {
        if (n - off < 4 || (size_t)be16(v + off + 2) > n - off - 4)
            return cp_fail(ei, CP_EPROTO, 0, "malformed presentation context answer");
        size_t len = be16(v + off + 2);
        if (v[off] == 0x40) {
            cp_err_t err = take_text(v + off + 4, len, pc->ts, sizeof pc->ts, "transfer syntax", ei);
            if (err != CP_OK)
                return err;
        }
        off += 4 + len;
    }
    if (pc->result == GW_PC_ACCEPT && pc->ts[0] == '\0')
        return cp_fail(ei, CP_EPROTO, 0, "accepted presentation context %u without a transfer "
                                         "syntax", pc->id);
    return CP_OK;
}

cp_err_t gw_ul_parse_assoc_ac(const uint8_t *body, size_t len, gw_ul_assoc_ac_t *ac,
                              cp_errinfo_t *ei)
{
    memset(ac, 0, sizeof *ac);
    if (len < 68)
        return cp_fail(ei, CP_EPROTO, 0, "a-associate-ac of %zu bytes is too short", len);
    take_ae(body + 4, ac->called_ae);
    take_ae(body + 20, ac->calling_ae);
    for (size_t off = 68; off < len;) {
        if (len - off < 4 || (size_t)be16(body + off + 2) > len - off - 4)
            return cp_fail(ei, CP_EPROTO, 0, "malformed item at offset %zu", off);
        uint8_t type = body[off];
        size_t n = be16(body + off + 2);
        const uint8_t *v = body + off + 4;
        cp_err_t err = CP_OK;
        if (type == 0x21) {
            err = parse_pc_ac(v, n, ac, ei);
        } else if (type == 0x50) {
            gw_ul_assoc_rq_t *tmp = cp_xcalloc(1, sizeof *tmp);
            err = parse_user_info(v, n, off + 4, tmp, ei);
            ac->max_length = tmp->max_length;
            ac->n_roles = tmp->n_roles;
            memcpy(ac->roles, tmp->roles, sizeof ac->roles);
            free(tmp);
        }
        if (err != CP_OK)
            return err;
        off += 4 + n;
    }
    return CP_OK;
}

void gw_ul_build_assoc_rj(uint8_t out[10], uint8_t result, uint8_t source, uint8_t reason)
{
    memset(out, 0, 10);
    out[0] = GW_PDU_ASSOC_RJ;
    put32(out + 2, 4);
    out[7] = result;
    out[8] = source;
    out[9] = reason;
}

void gw_ul_build_release(uint8_t out[10], uint8_t type)
{
    memset(out, 0, 10);
    out[0] = type;
    put32(out + 2, 4);
}

void gw_ul_build_abort(uint8_t out[10], uint8_t source, uint8_t reason)
{
    memset(out, 0, 10);
    out[0] = GW_PDU_ABORT;
    put32(out + 2, 4);
    out[8] = source;
    out[9] = reason;
}

cp_err_t gw_ul_next_pdv(const uint8_t *body, size_t len, size_t *off, gw_ul_pdv_t *pdv,
                        cp_errinfo_t *ei)
{
    size_t o = *off;
    if (o >= len)
        return CP_EOF;
    if (len - o < 6)
        return cp_fail(ei, CP_EPROTO, 0, "truncated pdv item at offset %zu", o);
    uint32_t n = be32(body + o);
    if (n < 2 || n > len - o - 4)
        return cp_fail(ei, CP_EPROTO, 0, "pdv item length %u at offset %zu is invalid", n, o);
    pdv->pc_id = body[o + 4];
    uint8_t mch = body[o + 5];
    if (mch & 0xFC)
        return cp_fail(ei, CP_EPROTO, 0, "reserved bits set in message control header 0x%02x",
                       mch);
    pdv->command = mch & 1;
    pdv->last = (mch >> 1) & 1;
    pdv->data = body + o + 6;
    pdv->len = n - 2;
    *off = o + 4 + n;
    return CP_OK;
}

size_t gw_ul_build_pdata(uint8_t *out, uint8_t pc_id, bool command, bool last,
                         const uint8_t *data, size_t n)
{
    out[0] = GW_PDU_P_DATA;
    out[1] = 0;
    put32(out + 2, (uint32_t)(n + 6));
    put32(out + 6, (uint32_t)(n + 2));
    out[10] = pc_id;
    out[11] = (uint8_t)((command ? 1 : 0) | (last ? 2 : 0));
    memcpy(out + 12, data, n);
    return 12 + n;
}
