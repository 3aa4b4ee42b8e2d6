/* gateway/dicom/stgcmt.h -- Storage Commitment Push Model SCP (PS3.4 J). Loop thread. */
#ifndef CASEPORT_GW_STGCMT_H
#define CASEPORT_GW_STGCMT_H
#include <stdbool.h>
#include <stdint.h>

#include "assoc_int.h"

#define GW_SC_CLASS "1.2.840.10008.1.20.1"
#define GW_SC_INSTANCE "1.2.840.10008.1.20.1.1"
#define GW_SC_MAX_REQUEST (8 * 1024 * 1024) /* an N-ACTION naming ~70000 instances */

typedef struct gw_sc gw_sc_t;

bool gw_sc_class(const char *abstract_syntax);
/* The N-ACTION-RQ in a->rq with its data set in a->ident (taken). */
void gw_sc_action(gw__assoc_t *a, uint8_t pc_id);
/* An N-EVENT-REPORT-RSP to one of our reports; false if none was expected. */
bool gw_sc_on_rsp(gw__assoc_t *a, const gw_dimse_cmd_t *rsp);
/* The association finished an operation: a report waiting for it may go now. */
void gw_sc_kick(gw__assoc_t *a);
/* The association a report was meant for is ending. */
void gw_sc_assoc_gone(gw__assoc_t *a);
/* Our own association for a report: accepted / ended first. */
void gw_sc_report_ready(gw__assoc_t *out);
void gw_sc_report_lost(gw__assoc_t *out, gw_sc_t *c, const char *why);
#endif
