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
    GW_C_GET_RQ = 0x0010,
    GW_C_GET_RSP = 0x8010,
    GW_C_FIND_RQ = 0x0020,
    GW_C_FIND_RSP = 0x8020,
    GW_C_MOVE_RQ = 0x0021,
    GW_C_MOVE_RSP = 0x8021,
    GW_C_ECHO_RQ = 0x0030,
    GW_C_ECHO_RSP = 0x8030,
    GW_N_EVENT_REPORT_RQ = 0x0100,
    GW_N_EVENT_REPORT_RSP = 0x8100,
    GW_N_ACTION_RQ = 0x0130,
    GW_N_ACTION_RSP = 0x8130,
    GW_C_CANCEL_RQ = 0x0FFF,
    GW_DATA_SET_NONE = 0x0101,
    GW_DATA_SET_PRESENT = 0x0102, /* any other value says a data set follows */
};

enum {
    GW_STATUS_SUCCESS = 0x0000,
    GW_STATUS_OUT_OF_RESOURCES = 0xA700,
    GW_STATUS_SOP_CLASS_MISMATCH = 0xA900,
    GW_STATUS_CANNOT_UNDERSTAND = 0xC000,
    GW_STATUS_UID_MISMATCH = 0xC001, /* in the C000-CFFF range: our code for a UID mismatch */
    GW_STATUS_UNRECOGNIZED_OP = 0x0211,
    GW_STATUS_SOP_CLASS_NOT_SUPPORTED = 0x0122,
    GW_STATUS_NO_SUCH_ACTION = 0x0123,
    GW_STATUS_PENDING = 0xFF00,
    GW_STATUS_CANCEL = 0xFE00,
    GW_STATUS_WARNING_SUBOPS = 0xB000,       /* C-GET/C-MOVE: some sub-operations failed */
    GW_STATUS_UNABLE_SUBOPS = 0xA702,        /* C-GET/C-MOVE: all sub-operations failed */
    GW_STATUS_MOVE_DEST_UNKNOWN = 0xA801,
    GW_STATUS_IDENTIFIER_MISMATCH = 0xA900,  /* C-FIND/C-GET/C-MOVE */
    GW_STATUS_UNABLE_TO_PROCESS = 0xC001,    /* C-FIND/C-GET/C-MOVE failure (C001-CFFF) */
    GW_STATUS_INVALID_ARGUMENT = 0x0115,     /* N-ACTION */
    GW_STATUS_PROCESSING_FAILURE = 0x0110,
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
    char requested_class[65];    /* (0000,0003) Requested SOP Class UID */
    char requested_instance[65]; /* (0000,1001) Requested SOP Instance UID */
    char move_destination[17];   /* (0000,0600) */
    uint16_t event_type;         /* (0000,1002) */
    uint16_t action_type;        /* (0000,1008) */
    uint16_t remaining, completed, failed, warning; /* (0000,1020)-(0000,1023) */
    bool has_command_field, has_message_id, has_data_set_type;
    bool has_event_type, has_action_type, has_counts, has_remaining;
} gw_dimse_cmd_t;

/* CP_EPARSE for a malformed command set (lengths, missing command field). */
cp_err_t gw_dimse_parse(const uint8_t *buf, size_t len, gw_dimse_cmd_t *cmd, cp_errinfo_t *ei);
/* Encodes a command set with its group length: a request (command field without the
 * 0x8000 bit) carries message_id and, for C-STORE/C-FIND/C-GET/C-MOVE, priority; a
 * response message_id_rsp and status. String fields are written when non-empty, event and
 * action type and the sub-operation counts when flagged (remaining only with
 * has_remaining). data_set_type 0 means none (0x0101). Returns the length; out must hold
 * GW_DIMSE_RSP_MAX bytes. */
#define GW_DIMSE_RSP_MAX 768
size_t gw_dimse_build(const gw_dimse_cmd_t *cmd, uint8_t *out);
#define gw_dimse_build_rsp gw_dimse_build
#endif
