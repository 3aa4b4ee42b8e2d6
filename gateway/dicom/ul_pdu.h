/* gateway/dicom/ul_pdu.h -- DICOM Upper Layer PDUs (PS3.8 9.3): an incremental framer,
 * parsers and builders. Pure functions: no sockets, no libuv; every length read from the
 * wire is checked before use. Used by one association at a time. */
#ifndef CASEPORT_UL_PDU_H
#define CASEPORT_UL_PDU_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_err.h"

enum {
    GW_PDU_ASSOC_RQ = 0x01,
    GW_PDU_ASSOC_AC = 0x02,
    GW_PDU_ASSOC_RJ = 0x03,
    GW_PDU_P_DATA = 0x04,
    GW_PDU_RELEASE_RQ = 0x05,
    GW_PDU_RELEASE_RP = 0x06,
    GW_PDU_ABORT = 0x07,
};

#define GW_UL_MAX_PC 128   /* ids are odd 1..255 */
#define GW_UL_MAX_TS 32    /* transfer syntaxes kept per context; more are ignored */
/* Role selection items kept, one per SOP class: as many as the presentation contexts can
 * name twice over (getscu's default proposal carries 120). */
#define GW_UL_MAX_ROLES 256
#define GW_UL_APP_CONTEXT "1.2.840.10008.3.1.1.1"
#define GW_UL_HEADER 6

/* Framer: splits a byte stream into PDUs whatever the read boundaries. */
typedef struct gw_ul_reader {
    uint8_t hdr[GW_UL_HEADER];
    size_t hdr_len;
    uint8_t type;
    uint32_t len;     /* of the body */
    uint8_t *body;    /* owned; valid until the next feed after a complete PDU */
    size_t body_len;
    size_t body_cap;
    uint32_t max_pdata; /* largest P-DATA-TF body accepted (our maximum length) */
    uint32_t max_other; /* largest body of any other PDU */
} gw_ul_reader_t;

void gw_ul_reader_init(gw_ul_reader_t *r, uint32_t max_pdata, uint32_t max_other);
void gw_ul_reader_free(gw_ul_reader_t *r);
/* Consumes bytes until a PDU is complete (*complete true: r->type, r->body, r->len are
 * the PDU until the next call) or data runs out. CP_EPROTO for an unknown PDU type;
 * CP_ETOOBIG for a length over the limit (checked from the header, before any body byte
 * is buffered). */
cp_err_t gw_ul_reader_feed(gw_ul_reader_t *r, const uint8_t *data, size_t len, size_t *used,
                           bool *complete, cp_errinfo_t *ei);

typedef struct gw_ul_pc_rq {
    uint8_t id;
    char abstract_syntax[65];
    uint8_t n_ts;
    char ts[GW_UL_MAX_TS][65];
} gw_ul_pc_rq_t;

typedef struct gw_ul_role {
    char sop_class[65];
    uint8_t scu, scp;
} gw_ul_role_t;

typedef struct gw_ul_assoc_rq {
    uint16_t protocol_version;
    char called_ae[17], calling_ae[17]; /* trailing spaces removed */
    char app_context[65];
    uint16_t n_pc;
    gw_ul_pc_rq_t pc[GW_UL_MAX_PC];
    uint32_t max_length; /* 0: unlimited */
    char impl_class_uid[65];
    char impl_version[17];
    bool has_async;
    uint16_t async_invoked, async_performed;
    uint16_t n_roles;
    gw_ul_role_t roles[GW_UL_MAX_ROLES];
    bool has_user_identity; /* PS3.7 D.3.3.7 */
    uint8_t uid_type;        /* 1 username, 2 username and passcode, 3.. others */
    bool uid_positive;       /* positive response requested */
    char uid_primary[129];   /* cut at 128 bytes: uid_too_long */
    char uid_secondary[129];
    bool uid_too_long;
} gw_ul_assoc_rq_t;

/* CP_EPROTO with a message naming the item and offset for anything malformed. */
cp_err_t gw_ul_parse_assoc_rq(const uint8_t *body, size_t len, gw_ul_assoc_rq_t *rq,
                              cp_errinfo_t *ei);

enum {
    GW_PC_ACCEPT = 0,
    GW_PC_USER_REJECT = 1,
    GW_PC_NO_REASON = 2,
    GW_PC_ABSTRACT_NOT_SUPPORTED = 3,
    GW_PC_TS_NOT_SUPPORTED = 4,
};

typedef struct gw_ul_pc_ac {
    uint8_t id;
    uint8_t result;
    char ts[65]; /* the accepted one; ignored unless result is accept */
} gw_ul_pc_ac_t;

typedef struct gw_ul_assoc_ac {
    char called_ae[17], calling_ae[17];
    uint16_t n_pc;
    gw_ul_pc_ac_t pc[GW_UL_MAX_PC];
    uint32_t max_length;
    const char *impl_class_uid;
    const char *impl_version;
    bool has_async; /* answer the asynchronous operations window (PS3.7 D.3.3.3) */
    uint16_t async_invoked, async_performed;
    bool uid_response; /* user identity accepted and a positive response requested */
    uint16_t n_roles; /* answers to role selection (PS3.7 D.3.3.4) */
    gw_ul_role_t roles[GW_UL_MAX_ROLES];
} gw_ul_assoc_ac_t;

/* Returns a whole A-ASSOCIATE-AC PDU, cp_xmalloc'd; *len its size. */
uint8_t *gw_ul_build_assoc_ac(const gw_ul_assoc_ac_t *ac, size_t *len);
/* Returns a whole A-ASSOCIATE-RQ PDU (the requestor side: C-MOVE sub-operations),
 * cp_xmalloc'd: AE titles, application context, presentation contexts with their
 * transfer syntaxes, maximum length, implementation class UID and version, roles. */
uint8_t *gw_ul_build_assoc_rq(const gw_ul_assoc_rq_t *rq, size_t *len);
/* Reads an A-ASSOCIATE-AC body into ac (impl_class_uid/impl_version are left NULL). */
cp_err_t gw_ul_parse_assoc_ac(const uint8_t *body, size_t len, gw_ul_assoc_ac_t *ac,
                              cp_errinfo_t *ei);
/* A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT are 10 bytes. */
void gw_ul_build_assoc_rj(uint8_t out[10], uint8_t result, uint8_t source, uint8_t reason);
void gw_ul_build_release(uint8_t out[10], uint8_t type);
void gw_ul_build_abort(uint8_t out[10], uint8_t source, uint8_t reason);

/* One PDV of a P-DATA-TF. data points into the PDU body. */
typedef struct gw_ul_pdv {
    uint8_t pc_id;
    bool command; /* message control header bit 0 */
    bool last;    /* bit 1 */
    const uint8_t *data;
    size_t len;
} gw_ul_pdv_t;

/* Iterates the PDVs of a P-DATA-TF body: *off starts at 0; CP_EOF after the last one. */
cp_err_t gw_ul_next_pdv(const uint8_t *body, size_t len, size_t *off, gw_ul_pdv_t *pdv,
                        cp_errinfo_t *ei);
/* Writes a P-DATA-TF holding one PDV into out (cap >= 12 + n); returns bytes written. */
size_t gw_ul_build_pdata(uint8_t *out, uint8_t pc_id, bool command, bool last,
                         const uint8_t *data, size_t n);
#endif
