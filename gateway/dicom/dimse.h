/* gateway/dicom/dimse.h -- DIMSE command sets (PS3.7 9.3, E.1): group 0000 elements,
 * always Implicit VR Little Endian. Pure functions. */
#ifndef CASEPORT_DIMSE_H
#define CASEPORT_DIMSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_err.h"

enum {
    GW_C_STORE_RQ = 0x0001,
    GW_C_STORE_RSP = 0x8001,
    GW_C_ECHO_RQ = 0x0030,
    GW_C_ECHO_RSP = 0x8030,
    GW_DATA_SET_NONE = 0x0101,
};

enum {
    GW_STATUS_SUCCESS = 0x0000,
    GW_STATUS_OUT_OF_RESOURCES = 0xA700,
    GW_STATUS_SOP_CLASS_MISMATCH = 0xA900,
    GW_STATUS_CANNOT_UNDERSTAND = 0xC000,
    GW_STATUS_UID_MISMATCH = 0xC001, /* in the C000-CFFF range: our code for a UID mismatch */
    GW_STATUS_UNRECOGNIZED_OP = 0x0211,
    GW_STATUS_SOP_CLASS_NOT_SUPPORTED = 0x0122,
};

typedef struct gw_dimse_cmd {
    uint16_t command_field;
    uint16_t message_id;         /* (0000,0110) */
    uint16_t message_id_rsp;     /* (0000,0120) */
    uint16_t data_set_type;      /* (0000,0800) */
    uint16_t priority;           /* (0000,0700) */
    uint16_t status;             /* (0000,0900) */
    char sop_class[65];          /* (0000,0002) Affected SOP Class UID */
    char sop_instance[65];       /* (0000,1000) Affected SOP Instance UID */
    char move_originator_ae[17]; /* (0000,1030) */
    uint16_t move_originator_id; /* (0000,1031) */
    char error_comment[65];      /* (0000,0902), responses only */
    bool has_command_field, has_message_id, has_data_set_type;
} gw_dimse_cmd_t;

/* CP_EPARSE for a malformed command set (lengths, missing command field). */
cp_err_t gw_dimse_parse(const uint8_t *buf, size_t len, gw_dimse_cmd_t *cmd, cp_errinfo_t *ei);
/* Encodes a response (command_field, message_id_rsp, status, sop_class, sop_instance if
 * non-empty, error_comment if non-empty) with its group length. Returns the length;
 * out must hold GW_DIMSE_RSP_MAX bytes. */
#define GW_DIMSE_RSP_MAX 512
size_t gw_dimse_build_rsp(const gw_dimse_cmd_t *rsp, uint8_t *out);
#endif
