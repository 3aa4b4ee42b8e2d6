/* gateway/dicom/dimse.c -- command set codec. */
#include "dimse.h"

#include <string.h>

#include "cp_bytes.h"

static void text(const uint8_t *v, uint32_t n, char *out, size_t cap)
{
    while (n > 0 && (v[n - 1] == '\0' || v[n - 1] == ' '))
        n--;
    if (n >= cap)
        n = (uint32_t)(cap - 1);
    memcpy(out, v, n);
    out[n] = '\0';
}

static cp_err_t us(const uint8_t *v, uint32_t n, uint16_t *out, uint16_t tag, cp_errinfo_t *ei)
{
    if (n != 2)
        return cp_fail(ei, CP_EPARSE, 0, "command element (0000,%04x) has length %u, not 2", tag,
                       n);
    *out = cp_get_le16(v);
    return CP_OK;
}

static cp_err_t take(gw_dimse_cmd_t *c, uint16_t elem, const uint8_t *v, uint32_t n,
                     cp_errinfo_t *ei)
{
    switch (elem) {
    case 0x0002:
        text(v, n, c->sop_class, sizeof c->sop_class);
        return CP_OK;
    case 0x0100:
        c->has_command_field = true;
        return us(v, n, &c->command_field, elem, ei);
    case 0x0110:
        c->has_message_id = true;
        return us(v, n, &c->message_id, elem, ei);
    case 0x0120:
        return us(v, n, &c->message_id_rsp, elem, ei);
    case 0x0700:
        return us(v, n, &c->priority, elem, ei);
    case 0x0800:
        c->has_data_set_type = true;
        return us(v, n, &c->data_set_type, elem, ei);
    case 0x0900:
        return us(v, n, &c->status, elem, ei);
    case 0x1000:
        text(v, n, c->sop_instance, sizeof c->sop_instance);
        return CP_OK;
    case 0x0003:
        text(v, n, c->requested_class, sizeof c->requested_class);
        return CP_OK;
    case 0x0600:
        text(v, n, c->move_destination, sizeof c->move_destination);
        return CP_OK;
    case 0x1001:
        text(v, n, c->requested_instance, sizeof c->requested_instance);
        return CP_OK;
    case 0x1002:
        c->has_event_type = true;
        return us(v, n, &c->event_type, elem, ei);
    case 0x1008:
        c->has_action_type = true;
        return us(v, n, &c->action_type, elem, ei);
    case 0x1020:
        c->has_remaining = true;
        return us(v, n, &c->remaining, elem, ei);
    case 0x1021:
        c->has_counts = true;
        return us(v, n, &c->completed, elem, ei);
    case 0x1022:
        return us(v, n, &c->failed, elem, ei);
    case 0x1023:
        return us(v, n, &c->warning, elem, ei);
    case 0x1030:
        text(v, n, c->move_originator_ae, sizeof c->move_originator_ae);
        return CP_OK;
    case 0x1031:
        return us(v, n, &c->move_originator_id, elem, ei);
    default:
        return CP_OK; /* other command elements concern no service we provide */
    }
}

cp_err_t gw_dimse_parse(const uint8_t *buf, size_t len, gw_dimse_cmd_t *cmd, cp_errinfo_t *ei)
{
    memset(cmd, 0, sizeof *cmd);
    for (size_t off = 0; off < len;) {
        if (len - off < 8)
            return cp_fail(ei, CP_EPARSE, 0, "truncated command element at offset %zu", off);
        uint16_t group = cp_get_le16(buf + off), elem = cp_get_le16(buf + off + 2);
        uint32_t n = cp_get_le32(buf + off + 4);
        if (group != 0x0000)
            return cp_fail(ei, CP_EPARSE, 0, "element (%04x,%04x) in a command set", group,
                           elem);
        if (n > len - off - 8)
            return cp_fail(ei, CP_EPARSE, 0, "command element (0000,%04x) overruns the set",
                           elem);
        cp_err_t err = take(cmd, elem, buf + off + 8, n, ei);
        if (err != CP_OK)
            return err;
        off += 8 + n;
    }
    if (!cmd->has_command_field)
        return cp_fail(ei, CP_EPARSE, 0, "command set without command field (0000,0100)");
    return CP_OK;
}

static size_t put_elem(uint8_t *p, uint16_t elem, const void *v, uint32_t n, uint8_t pad)
{
    uint32_t padded = n + (n & 1);
    p[0] = 0;
    p[1] = 0;
    p[2] = (uint8_t)elem;
    p[3] = (uint8_t)(elem >> 8);
    p[4] = (uint8_t)padded;
    p[5] = (uint8_t)(padded >> 8);
    p[6] = (uint8_t)(padded >> 16);
    p[7] = (uint8_t)(padded >> 24);
    memcpy(p + 8, v, n);
    if (n & 1)
        p[8 + n] = pad;
    return 8 + padded;
}

static size_t put_us(uint8_t *p, uint16_t elem, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return put_elem(p, elem, b, 2, 0);
}

static size_t put_str(uint8_t *p, uint16_t elem, const char *v, uint8_t pad)
{
    return v[0] ? put_elem(p, elem, v, (uint32_t)strlen(v), pad) : 0;
}

static bool has_priority(uint16_t field)
{
    return field == GW_C_STORE_RQ || field == GW_C_FIND_RQ || field == GW_C_GET_RQ ||
           field == GW_C_MOVE_RQ;
}

size_t gw_dimse_build(const gw_dimse_cmd_t *c, uint8_t *out)
{
    bool rsp = (c->command_field & 0x8000) != 0;
    size_t off = 12; /* group length element first, filled in below */
    off += put_str(out + off, 0x0002, c->sop_class, 0);
    off += put_str(out + off, 0x0003, c->requested_class, 0);
    off += put_us(out + off, 0x0100, c->command_field);
    if (!rsp)
        off += put_us(out + off, 0x0110, c->message_id);
    else
        off += put_us(out + off, 0x0120, c->message_id_rsp);
    off += put_str(out + off, 0x0600, c->move_destination, ' ');
    if (!rsp && has_priority(c->command_field))
        off += put_us(out + off, 0x0700, c->priority);
    off += put_us(out + off, 0x0800, c->data_set_type ? c->data_set_type : GW_DATA_SET_NONE);
    if (rsp)
        off += put_us(out + off, 0x0900, c->status);
    off += put_str(out + off, 0x0902, c->error_comment, ' ');
    off += put_str(out + off, 0x1000, c->sop_instance, 0);
    off += put_str(out + off, 0x1001, c->requested_instance, 0);
    if (c->has_event_type)
        off += put_us(out + off, 0x1002, c->event_type);
    if (c->has_action_type)
        off += put_us(out + off, 0x1008, c->action_type);
    if (c->has_remaining)
        off += put_us(out + off, 0x1020, c->remaining);
    if (c->has_counts) {
        off += put_us(out + off, 0x1021, c->completed);
        off += put_us(out + off, 0x1022, c->failed);
        off += put_us(out + off, 0x1023, c->warning);
    }
    off += put_str(out + off, 0x1030, c->move_originator_ae, ' ');
    if (c->move_originator_ae[0])
        off += put_us(out + off, 0x1031, c->move_originator_id);
    uint32_t group_len = (uint32_t)(off - 12);
    uint8_t gl[4] = {(uint8_t)group_len, (uint8_t)(group_len >> 8), (uint8_t)(group_len >> 16),
                     (uint8_t)(group_len >> 24)};
    put_elem(out, 0x0000, gl, 4, 0);
    return off;
}
