/* Upper-layer PDU framing, parsing and building, without sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dimse.h"
#include "ul_pdu.h"

/* An A-ASSOCIATE-RQ laid out as DCMTK's echoscu sends it (captured field by field). */
static size_t item(uint8_t *p, uint8_t type, const char *s)
{
    size_t n = strlen(s);
    p[0] = type;
    p[1] = 0;
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    memcpy(p + 4, s, n);
    return 4 + n;
}

static size_t build_rq(uint8_t *b)
{
    memset(b, 0, 2048);
    b[0] = GW_PDU_ASSOC_RQ;
    uint8_t *p = b + 6;
    p[1] = 1; /* protocol version */
    memcpy(p + 4, "CASEPORT        ", 16);
    memcpy(p + 20, "ECHOSCU         ", 16);
    size_t off = 68;
    off += item(p + off, 0x10, GW_UL_APP_CONTEXT);
    uint8_t *pc = p + off;
    pc[0] = 0x20;
    pc[4] = 1; /* id, then 3 reserved bytes */
    size_t n = 8;
    n += item(pc + n, 0x30, "1.2.840.10008.1.1");
    n += item(pc + n, 0x40, "1.2.840.10008.1.2");
    n += item(pc + n, 0x40, "1.2.840.10008.1.2.1");
    pc[2] = (uint8_t)((n - 4) >> 8);
    pc[3] = (uint8_t)(n - 4);
    off += n;
    uint8_t *ui = p + off;
    ui[0] = 0x50;
    size_t u = 4;
    ui[u] = 0x51;
    ui[u + 3] = 4;
    ui[u + 6] = 0x40; /* 16384 */
    u += 8;
    u += item(ui + u, 0x52, "1.2.276.0.7230010.3.0.3.6.7");
    u += item(ui + u, 0x55, "OFFIS_DCMTK_367");
    ui[u] = 0x54; /* role selection for CT: scu 1 scp 0 */
    const char *ct = "1.2.840.10008.5.1.4.1.1.2";
    size_t ctl = strlen(ct);
    ui[u + 3] = (uint8_t)(ctl + 4);
    ui[u + 5] = (uint8_t)ctl;
    memcpy(ui + u + 6, ct, ctl);
    ui[u + 6 + ctl] = 1;
    u += 4 + ctl + 4;
    ui[u] = 0x56; /* extended negotiation: skipped */
    ui[u + 3] = 2;
    u += 6;
    ui[2] = (uint8_t)((u - 4) >> 8);
    ui[3] = (uint8_t)(u - 4);
    off += u;
    b[2] = (uint8_t)(off >> 24);
    b[3] = (uint8_t)(off >> 16);
    b[4] = (uint8_t)(off >> 8);
    b[5] = (uint8_t)off;
    return 6 + off;
}

void pdu_reader_one_byte_at_a_time(void **state)
{
    (void)state;
    uint8_t b[2048];
    size_t len = build_rq(b);
    gw_ul_reader_t r;
    gw_ul_reader_init(&r, 16384, 65536);
    int complete_count = 0;
    for (size_t i = 0; i < len; i++) {
        size_t used;
        bool complete;
        assert_int_equal(gw_ul_reader_feed(&r, b + i, 1, &used, &complete, NULL), CP_OK);
        assert_int_equal(used, 1);
        if (complete) {
            complete_count++;
            assert_int_equal(i, len - 1);
        }
    }
    assert_int_equal(complete_count, 1);
    assert_int_equal(r.type, GW_PDU_ASSOC_RQ);
    assert_int_equal(r.len, len - 6);
    assert_memory_equal(r.body, b + 6, len - 6);
    gw_ul_reader_free(&r);
}

void pdu_reader_two_pdus_in_one_read(void **state)
{
    (void)state;
    uint8_t b[20];
    gw_ul_build_release(b, GW_PDU_RELEASE_RQ);
    gw_ul_build_abort(b + 10, 2, 6);
    gw_ul_reader_t r;
    gw_ul_reader_init(&r, 16384, 65536);
    size_t used;
    bool complete;
    assert_int_equal(gw_ul_reader_feed(&r, b, 20, &used, &complete, NULL), CP_OK);
    assert_true(complete);
    assert_int_equal(used, 10);
    assert_int_equal(r.type, GW_PDU_RELEASE_RQ);
    assert_int_equal(gw_ul_reader_feed(&r, b + 10, 10, &used, &complete, NULL), CP_OK);
    assert_true(complete);
    assert_int_equal(r.type, GW_PDU_ABORT);
    assert_int_equal(r.body[3], 6);
    gw_ul_reader_free(&r);
}

void pdu_reader_rejects_unknown_type(void **state)
{
    (void)state;
    uint8_t b[10] = {0x55, 0, 0, 0, 0, 4, 0, 0, 0, 0};
    gw_ul_reader_t r;
    gw_ul_reader_init(&r, 16384, 65536);
    size_t used;
    bool complete;
    cp_errinfo_t ei = {0};
    assert_int_equal(gw_ul_reader_feed(&r, b, 10, &used, &complete, &ei), CP_EPROTO);
    assert_non_null(strstr(ei.msg, "unknown pdu type 0x55"));
    gw_ul_reader_free(&r);
}

void pdu_reader_rejects_oversized_length_before_body(void **state)
{
    (void)state;
    uint8_t b[6] = {GW_PDU_P_DATA, 0, 0x10, 0, 0, 0}; /* 256 MiB */
    gw_ul_reader_t r;
    gw_ul_reader_init(&r, 16384, 65536);
    size_t used;
    bool complete;
    assert_int_equal(gw_ul_reader_feed(&r, b, 6, &used, &complete, NULL), CP_ETOOBIG);
    assert_null(r.body); /* refused from the header: nothing allocated */
    gw_ul_reader_free(&r);
}

void assoc_rq_parses_dcmtk_style_request(void **state)
{
    (void)state;
    uint8_t b[2048];
    size_t len = build_rq(b);
    gw_ul_assoc_rq_t *rq = malloc(sizeof *rq);
    cp_errinfo_t ei = {0};
    cp_err_t err = gw_ul_parse_assoc_rq(b + 6, len - 6, rq, &ei);
    if (err != CP_OK)
        fail_msg("%s", ei.msg);
    assert_string_equal(rq->called_ae, "CASEPORT");
    assert_string_equal(rq->calling_ae, "ECHOSCU");
    assert_string_equal(rq->app_context, GW_UL_APP_CONTEXT);
    assert_int_equal(rq->n_pc, 1);
    assert_int_equal(rq->pc[0].id, 1);
    assert_string_equal(rq->pc[0].abstract_syntax, "1.2.840.10008.1.1");
    assert_int_equal(rq->pc[0].n_ts, 2);
    assert_string_equal(rq->pc[0].ts[1], "1.2.840.10008.1.2.1");
    assert_int_equal(rq->max_length, 16384);
    assert_string_equal(rq->impl_class_uid, "1.2.276.0.7230010.3.0.3.6.7");
    assert_string_equal(rq->impl_version, "OFFIS_DCMTK_367");
    assert_int_equal(rq->n_roles, 1);
    assert_string_equal(rq->roles[0].sop_class, "1.2.840.10008.5.1.4.1.1.2");
    assert_int_equal(rq->roles[0].scu, 1);
    assert_int_equal(rq->roles[0].scp, 0);
    free(rq);
}

void assoc_rq_rejects_overrunning_item(void **state)
{
    (void)state;
    uint8_t b[2048];
    size_t len = build_rq(b);
    b[6 + 68 + 2] = 0xFF; /* application context length overruns the PDU */
    gw_ul_assoc_rq_t *rq = malloc(sizeof *rq);
    cp_errinfo_t ei = {0};
    assert_int_equal(gw_ul_parse_assoc_rq(b + 6, len - 6, rq, &ei), CP_EPROTO);
    assert_non_null(strstr(ei.msg, "overruns"));
    /* every truncation of a valid request is refused, never read past */
    len = build_rq(b);
    for (size_t cut = 0; cut < len - 6; cut++) {
        cp_err_t err = gw_ul_parse_assoc_rq(b + 6, cut, rq, NULL);
        assert_int_not_equal(err, CP_OK);
    }
    free(rq);
}

void assoc_rq_rejects_truncated_and_empty(void **state)
{
    (void)state;
    uint8_t body[68] = {0, 1};
    gw_ul_assoc_rq_t *rq = malloc(sizeof *rq);
    cp_errinfo_t ei = {0};
    assert_int_equal(gw_ul_parse_assoc_rq(body, 10, rq, &ei), CP_EPROTO);
    assert_int_equal(gw_ul_parse_assoc_rq(body, 68, rq, &ei), CP_EPROTO);
    assert_non_null(strstr(ei.msg, "application context"));
    free(rq);
}

void assoc_ac_round_trip(void **state)
{
    (void)state;
    gw_ul_assoc_ac_t *ac = calloc(1, sizeof *ac);
    snprintf(ac->called_ae, sizeof ac->called_ae, "%s", "CASEPORT");
    snprintf(ac->calling_ae, sizeof ac->calling_ae, "%s", "STORESCU");
    ac->n_pc = 2;
    ac->pc[0] = (gw_ul_pc_ac_t){.id = 1, .result = GW_PC_ACCEPT, .ts = "1.2.840.10008.1.2.1"};
    ac->pc[1] = (gw_ul_pc_ac_t){.id = 3, .result = GW_PC_ABSTRACT_NOT_SUPPORTED};
    ac->max_length = 262144;
    ac->impl_class_uid = "2.25.1";
    ac->impl_version = "CASEPORT_010";
    size_t len;
    uint8_t *pdu = gw_ul_build_assoc_ac(ac, &len);
    assert_int_equal(pdu[0], GW_PDU_ASSOC_AC);
    uint32_t plen = (uint32_t)pdu[2] << 24 | pdu[3] << 16 | pdu[4] << 8 | pdu[5];
    assert_int_equal(plen + 6, len);
    assert_memory_equal(pdu + 6 + 4, "CASEPORT        ", 16);
    /* parse the AC's items back with the RQ parser's rules: the first is 0x10 */
    size_t off = 6 + 68;
    assert_int_equal(pdu[off], 0x10);
    off += 4 + (size_t)(pdu[off + 2] << 8 | pdu[off + 3]);
    assert_int_equal(pdu[off], 0x21);
    assert_int_equal(pdu[off + 4], 1);
    assert_int_equal(pdu[off + 6], GW_PC_ACCEPT);
    assert_int_equal(pdu[off + 8], 0x40);
    assert_memory_equal(pdu + off + 12, "1.2.840.10008.1.2.1", 19);
    off += 4 + (size_t)(pdu[off + 2] << 8 | pdu[off + 3]);
    assert_int_equal(pdu[off], 0x21);
    assert_int_equal(pdu[off + 6], GW_PC_ABSTRACT_NOT_SUPPORTED);
    off += 4 + (size_t)(pdu[off + 2] << 8 | pdu[off + 3]);
    assert_int_equal(pdu[off], 0x50);
    assert_int_equal(pdu[off + 4], 0x51);
    assert_int_equal(pdu[off + 8 + 1], 0x04); /* 262144 = 0x00040000 */
    off += 4 + (size_t)(pdu[off + 2] << 8 | pdu[off + 3]);
    assert_int_equal(off, len);
    free(pdu);
    free(ac);
}

void pdv_iteration_and_fragments(void **state)
{
    (void)state;
    uint8_t pdu[64];
    uint8_t data[5] = {1, 2, 3, 4, 5};
    size_t n = gw_ul_build_pdata(pdu, 3, true, false, data, 5);
    assert_int_equal(n, 17);
    /* append a second PDV by hand: data, last */
    uint8_t body[64];
    memcpy(body, pdu + 6, n - 6);
    size_t blen = n - 6;
    uint8_t second[] = {0, 0, 0, 4, 3, 0x02, 9, 9};
    memcpy(body + blen, second, sizeof second);
    blen += sizeof second;
    size_t off = 0;
    gw_ul_pdv_t v;
    assert_int_equal(gw_ul_next_pdv(body, blen, &off, &v, NULL), CP_OK);
    assert_true(v.command);
    assert_false(v.last);
    assert_int_equal(v.pc_id, 3);
    assert_int_equal(v.len, 5);
    assert_memory_equal(v.data, data, 5);
    assert_int_equal(gw_ul_next_pdv(body, blen, &off, &v, NULL), CP_OK);
    assert_false(v.command);
    assert_true(v.last);
    assert_int_equal(v.len, 2);
    assert_int_equal(gw_ul_next_pdv(body, blen, &off, &v, NULL), CP_EOF);
}

void pdv_rejects_bad_lengths_and_reserved_bits(void **state)
{
    (void)state;
    gw_ul_pdv_t v;
    size_t off = 0;
    uint8_t overrun[] = {0, 0, 0, 20, 1, 0, 1, 2};
    assert_int_equal(gw_ul_next_pdv(overrun, sizeof overrun, &off, &v, NULL), CP_EPROTO);
    off = 0;
    uint8_t too_short[] = {0, 0, 0, 1, 1, 0};
    assert_int_equal(gw_ul_next_pdv(too_short, sizeof too_short, &off, &v, NULL), CP_EPROTO);
    off = 0;
    uint8_t reserved[] = {0, 0, 0, 2, 1, 0x04};
    assert_int_equal(gw_ul_next_pdv(reserved, sizeof reserved, &off, &v, NULL), CP_EPROTO);
    off = 0;
    uint8_t truncated[] = {0, 0, 0};
    assert_int_equal(gw_ul_next_pdv(truncated, sizeof truncated, &off, &v, NULL), CP_EPROTO);
}

void rj_release_abort_layouts(void **state)
{
    (void)state;
    uint8_t b[10];
    gw_ul_build_assoc_rj(b, 1, 1, 7);
    uint8_t rj[10] = {3, 0, 0, 0, 0, 4, 0, 1, 1, 7};
    assert_memory_equal(b, rj, 10);
    gw_ul_build_release(b, GW_PDU_RELEASE_RP);
    uint8_t rp[10] = {6, 0, 0, 0, 0, 4, 0, 0, 0, 0};
    assert_memory_equal(b, rp, 10);
    gw_ul_build_abort(b, 2, 6);
    uint8_t ab[10] = {7, 0, 0, 0, 0, 4, 0, 0, 2, 6};
    assert_memory_equal(b, ab, 10);
}

/* C-STORE-RQ command set as storescu encodes it. */
static size_t put(uint8_t *p, uint16_t elem, const void *v, uint32_t n)
{
    p[0] = 0;
    p[1] = 0;
    p[2] = (uint8_t)elem;
    p[3] = (uint8_t)(elem >> 8);
    p[4] = (uint8_t)n;
    p[5] = (uint8_t)(n >> 8);
    p[6] = 0;
    p[7] = 0;
    memcpy(p + 8, v, n);
    return 8 + n;
}

static size_t store_rq(uint8_t *b)
{
    size_t o = 0;
    uint8_t gl[4] = {0};
    o += put(b + o, 0x0000, gl, 4);
    o += put(b + o, 0x0002, "1.2.840.10008.5.1.4.1.1.2\0", 26);
    o += put(b + o, 0x0100, "\x01\x00", 2);
    o += put(b + o, 0x0110, "\x07\x00", 2);
    o += put(b + o, 0x0700, "\x00\x00", 2);
    o += put(b + o, 0x0800, "\x00\x00", 2);
    o += put(b + o, 0x1000, "1.2.3.4\0", 8);
    return o;
}

void dimse_store_rq_parse(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = store_rq(b);
    gw_dimse_cmd_t c;
    assert_int_equal(gw_dimse_parse(b, n, &c, NULL), CP_OK);
    assert_int_equal(c.command_field, GW_C_STORE_RQ);
    assert_int_equal(c.message_id, 7);
    assert_int_equal(c.data_set_type, 0);
    assert_string_equal(c.sop_class, "1.2.840.10008.5.1.4.1.1.2");
    assert_string_equal(c.sop_instance, "1.2.3.4");
}

void dimse_rejects_malformed(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = store_rq(b);
    gw_dimse_cmd_t c;
    for (size_t cut = 1; cut < n; cut++) {
        cp_err_t err = gw_dimse_parse(b, cut, &c, NULL);
        /* a cut between elements parses (maybe without command field); inside one, never */
        if (err == CP_OK)
            assert_true(c.has_command_field);
    }
    b[0] = 8; /* group 0008 in a command set */
    assert_int_equal(gw_dimse_parse(b, n, &c, NULL), CP_EPARSE);
    n = store_rq(b);
    b[12 + 4] = 0xFF; /* (0000,0002) length overruns */
    assert_int_equal(gw_dimse_parse(b, n, &c, NULL), CP_EPARSE);
    uint8_t only_gl[12] = {0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(gw_dimse_parse(only_gl, 12, &c, NULL), CP_EPARSE);
}

void dimse_rsp_build_parses_back(void **state)
{
    (void)state;
    gw_dimse_cmd_t r = {0};
    r.command_field = GW_C_STORE_RSP;
    r.message_id_rsp = 7;
    r.status = 0xA700;
    snprintf(r.sop_class, sizeof r.sop_class, "%s", "1.2.840.10008.5.1.4.1.1.2");
    snprintf(r.sop_instance, sizeof r.sop_instance, "%s", "1.2.3.45");
    snprintf(r.error_comment, sizeof r.error_comment, "%s", "database unavailable");
    uint8_t b[GW_DIMSE_RSP_MAX];
    size_t n = gw_dimse_build_rsp(&r, b);
    assert_int_equal(n % 2, 0);
    uint32_t gl = (uint32_t)b[8] | (uint32_t)b[9] << 8;
    assert_int_equal(gl, n - 12);
    gw_dimse_cmd_t back;
    assert_int_equal(gw_dimse_parse(b, n, &back, NULL), CP_OK);
    assert_int_equal(back.command_field, GW_C_STORE_RSP);
    assert_int_equal(back.message_id_rsp, 7);
    assert_int_equal(back.status, 0xA700);
    assert_int_equal(back.data_set_type, GW_DATA_SET_NONE);
    assert_string_equal(back.sop_instance, "1.2.3.45");
    assert_string_equal(back.sop_class, "1.2.840.10008.5.1.4.1.1.2");
}

void assoc_ac_answers_async_and_roles(void **state)
{
    (void)state;
    gw_ul_assoc_ac_t *ac = calloc(1, sizeof *ac);
    snprintf(ac->called_ae, sizeof ac->called_ae, "%s", "CASEPORT");
    snprintf(ac->calling_ae, sizeof ac->calling_ae, "%s", "GETSCU");
    ac->n_pc = 1;
    ac->pc[0] = (gw_ul_pc_ac_t){.id = 1, .result = GW_PC_ACCEPT, .ts = "1.2.840.10008.1.2"};
    ac->max_length = 16384;
    ac->impl_class_uid = "2.25.1";
    ac->impl_version = "CASEPORT_010";
    ac->has_async = true;
    ac->async_invoked = ac->async_performed = 1;
    ac->n_roles = 1;
    snprintf(ac->roles[0].sop_class, sizeof ac->roles[0].sop_class, "%s",
             "1.2.840.10008.5.1.4.1.1.2");
    ac->roles[0].scu = 1;
    ac->roles[0].scp = 0;
    size_t len;
    uint8_t *pdu = gw_ul_build_assoc_ac(ac, &len);
    /* find the user information item and walk its sub-items */
    size_t off = 6 + 68;
    while (off < len && pdu[off] != 0x50)
        off += 4 + (size_t)(pdu[off + 2] << 8 | pdu[off + 3]);
    assert_true(off < len);
    size_t end = off + 4 + (size_t)(pdu[off + 2] << 8 | pdu[off + 3]);
    assert_int_equal(end, len);
    bool saw_async = false, saw_role = false;
    for (size_t p = off + 4; p < end; p += 4 + (size_t)(pdu[p + 2] << 8 | pdu[p + 3])) {
        if (pdu[p] == 0x53) {
            uint8_t want[] = {0x53, 0, 0, 4, 0, 1, 0, 1};
            assert_memory_equal(pdu + p, want, sizeof want);
            saw_async = true;
        } else if (pdu[p] == 0x54) {
            size_t n = (size_t)(pdu[p + 4] << 8 | pdu[p + 5]);
            assert_int_equal(n, strlen("1.2.840.10008.5.1.4.1.1.2"));
            assert_memory_equal(pdu + p + 6, "1.2.840.10008.5.1.4.1.1.2", n);
            assert_int_equal(pdu[p + 6 + n], 1);
            assert_int_equal(pdu[p + 7 + n], 0);
            saw_role = true;
        }
    }
    assert_true(saw_async && saw_role);
    free(pdu);
    free(ac);
}

/* PS3.7 D.3.3.7: user identity with username and passcode, positive response requested. */
void assoc_rq_parses_user_identity(void **state)
{
    (void)state;
    uint8_t b[2048];
    size_t len = build_rq(b);
    uint8_t uid[] = {0x58, 0, 0, 17, 2, 1, 0, 5, 'a', 'l', 'i', 'c', 'e',
                     0, 6, 's', 'e', 'c', 'r', 'e', 't'};
    /* append the sub-item to the user information item (the last item) */
    size_t ui = 6 + 68;
    while (b[ui] != 0x50)
        ui += 4 + (size_t)(b[ui + 2] << 8 | b[ui + 3]);
    memcpy(b + len, uid, sizeof uid);
    size_t uilen = (size_t)(b[ui + 2] << 8 | b[ui + 3]) + sizeof uid;
    b[ui + 2] = (uint8_t)(uilen >> 8);
    b[ui + 3] = (uint8_t)uilen;
    len += sizeof uid;
    gw_ul_assoc_rq_t *rq = malloc(sizeof *rq);
    assert_int_equal(gw_ul_parse_assoc_rq(b + 6, len - 6, rq, NULL), CP_OK);
    assert_true(rq->has_user_identity);
    assert_int_equal(rq->uid_type, 2);
    assert_true(rq->uid_positive);
    assert_string_equal(rq->uid_primary, "alice");
    assert_string_equal(rq->uid_secondary, "secret");
    assert_false(rq->uid_too_long);
    /* a secondary length that does not fill the sub-item exactly is refused */
    b[len - 7] = 7;
    assert_int_equal(gw_ul_parse_assoc_rq(b + 6, len - 6, rq, NULL), CP_EPROTO);
    free(rq);
}

/* The requestor side (C-MOVE): what we build, our own acceptor parser reads back. */
void ul_assoc_rq_and_ac_round_trip(void **state)
{
    (void)state;
    gw_ul_assoc_rq_t *rq = calloc(1, sizeof *rq), *back = calloc(1, sizeof *back);
    snprintf(rq->called_ae, sizeof rq->called_ae, "DEST");
    snprintf(rq->calling_ae, sizeof rq->calling_ae, "CASEPORT");
    rq->n_pc = 2;
    rq->pc[0] = (gw_ul_pc_rq_t){.id = 1, .abstract_syntax = "1.2.840.10008.5.1.4.1.1.2", .n_ts = 1};
    snprintf(rq->pc[0].ts[0], sizeof rq->pc[0].ts[0], "1.2.840.10008.1.2.1");
    rq->pc[1] = (gw_ul_pc_rq_t){.id = 3, .abstract_syntax = "1.2.840.10008.5.1.4.1.1.4", .n_ts = 2};
    snprintf(rq->pc[1].ts[0], sizeof rq->pc[1].ts[0], "1.2.840.10008.1.2.4.90");
    snprintf(rq->pc[1].ts[1], sizeof rq->pc[1].ts[1], "1.2.840.10008.1.2");
    rq->max_length = 65536;
    snprintf(rq->impl_class_uid, sizeof rq->impl_class_uid, "1.2.3.4");
    snprintf(rq->impl_version, sizeof rq->impl_version, "CASEPORT_010");
    size_t len;
    uint8_t *pdu = gw_ul_build_assoc_rq(rq, &len);
    assert_int_equal(pdu[0], GW_PDU_ASSOC_RQ);
    assert_int_equal(gw_ul_parse_assoc_rq(pdu + 6, len - 6, back, NULL), CP_OK);
    assert_string_equal(back->called_ae, "DEST");
    assert_string_equal(back->calling_ae, "CASEPORT");
    assert_string_equal(back->app_context, GW_UL_APP_CONTEXT);
    assert_int_equal(back->n_pc, 2);
    assert_int_equal(back->pc[1].id, 3);
    assert_int_equal(back->pc[1].n_ts, 2);
    assert_string_equal(back->pc[1].ts[1], "1.2.840.10008.1.2");
    assert_int_equal(back->max_length, 65536);
    assert_string_equal(back->impl_version, "CASEPORT_010");
    free(pdu);

    gw_ul_assoc_ac_t ac = {0}, got;
    snprintf(ac.called_ae, sizeof ac.called_ae, "DEST");
    snprintf(ac.calling_ae, sizeof ac.calling_ae, "CASEPORT");
    ac.n_pc = 2;
    ac.pc[0] = (gw_ul_pc_ac_t){.id = 1, .result = GW_PC_ACCEPT, .ts = "1.2.840.10008.1.2.1"};
    ac.pc[1] = (gw_ul_pc_ac_t){.id = 3, .result = GW_PC_TS_NOT_SUPPORTED};
    ac.max_length = 16384;
    ac.impl_class_uid = "1.2.3.4";
    ac.impl_version = "X";
    pdu = gw_ul_build_assoc_ac(&ac, &len);
    assert_int_equal(gw_ul_parse_assoc_ac(pdu + 6, len - 6, &got, NULL), CP_OK);
    assert_int_equal(got.n_pc, 2);
    assert_int_equal(got.pc[0].result, GW_PC_ACCEPT);
    assert_string_equal(got.pc[0].ts, "1.2.840.10008.1.2.1");
    assert_int_equal(got.pc[1].result, GW_PC_TS_NOT_SUPPORTED);
    assert_int_equal(got.max_length, 16384);
    /* truncated: refused, not overrun */
    assert_int_equal(gw_ul_parse_assoc_ac(pdu + 6, 70, &got, NULL), CP_EPROTO);
    free(pdu);
    free(rq);
    free(back);
}

/* PS3.7 D.3.3.4: getscu's default proposal carries 120 role items; every SOP class keeps
 * its item (not only the first 64), and a class named twice is kept once, the first
 * item standing, so that the A-ASSOCIATE-AC answers it once. */
void assoc_rq_keeps_every_role_once(void **state)
{
    (void)state;
    gw_ul_assoc_rq_t *rq = calloc(1, sizeof *rq), *back = calloc(1, sizeof *back);
    snprintf(rq->called_ae, sizeof rq->called_ae, "%s", "CASEPORT");
    snprintf(rq->calling_ae, sizeof rq->calling_ae, "%s", "GETSCU");
    snprintf(rq->impl_class_uid, sizeof rq->impl_class_uid, "%s", "2.25.7");
    rq->n_pc = 1;
    rq->pc[0].id = 1;
    snprintf(rq->pc[0].abstract_syntax, sizeof rq->pc[0].abstract_syntax, "%s",
             "1.2.840.10008.5.1.4.1.2.2.3");
    snprintf(rq->pc[0].ts[0], sizeof rq->pc[0].ts[0], "%s", "1.2.840.10008.1.2");
    rq->pc[0].n_ts = 1;
    for (int i = 0; i < 121; i++) { /* the last one repeats the first class, with scp 0 */
        gw_ul_role_t *r = &rq->roles[rq->n_roles++];
        snprintf(r->sop_class, sizeof r->sop_class, "1.2.840.10008.5.1.4.1.1.%d", i % 120);
        r->scu = 0;
        r->scp = i < 120;
    }
    size_t len;
    uint8_t *pdu = gw_ul_build_assoc_rq(rq, &len);
    cp_errinfo_t ei = {0};
    assert_int_equal(gw_ul_parse_assoc_rq(pdu + 6, len - 6, back, &ei), CP_OK);
    assert_int_equal(back->n_roles, 120);
    assert_string_equal(back->roles[119].sop_class, "1.2.840.10008.5.1.4.1.1.119");
    assert_string_equal(back->roles[0].sop_class, "1.2.840.10008.5.1.4.1.1.0");
    assert_int_equal(back->roles[0].scp, 1); /* the first item stands */
    free(pdu);
    free(rq);
    free(back);
}
