/* gateway/dicom/qr.h -- Query/Retrieve SCP (PS3.4 C.4): C-FIND, C-GET (C-STORE
 * sub-operations on the same association), C-MOVE (on an association to the destination
 * AE's [peer] destination) and C-CANCEL, for the Patient Root and Study
 * Root information models, over the index as the calling peer may see it
 * ([peer] access, caseport grant), every operation audited in qr_audit. Loop thread. */
#ifndef CASEPORT_GW_QR_H
#define CASEPORT_GW_QR_H
#include <stdbool.h>
#include <stdint.h>

#include "assoc_int.h"

#define GW_QR_MAX_IDENT (64 * 1024) /* an identifier is a few hundred bytes */

bool gw_qr_class(const char *abstract_syntax);      /* a FIND/GET/MOVE model we serve */
bool gw_qr_request(uint16_t command_field);         /* C-FIND/C-GET/C-MOVE-RQ */
/* The request in a->rq with its identifier in a->ident (taken: a->ident becomes NULL). */
void gw_qr_start(gw__assoc_t *a, uint8_t pc_id);
/* A response to one of our sub-operations; false if none was expected (a protocol error). */
bool gw_qr_on_rsp(gw__assoc_t *a, const gw_dimse_cmd_t *rsp);
void gw_qr_cancel(gw__assoc_t *a, uint16_t message_id);
/* The requestor asked to release the association while its operation runs: it is
 * cancelled, and ends with its final response (Cancel), after which the association's
 * A-RELEASE-RP goes (gw__op_done). A C-GET sub-operation the requestor can no longer
 * answer (it sends no more data once it asked to release) counts as failed. */
void gw_qr_release(gw__assoc_t *a);
/* C-MOVE: the association to the destination was accepted / ended before the move let it
 * go (refused, unreachable, aborted, closed). */
void gw_qr_move_ready(gw__assoc_t *out);
void gw_qr_move_lost(gw__assoc_t *out, struct gw_qr *q, const char *why);
/* Whether the association's operation waits for the peer (a sub-operation's response):
 * only then may the idle timeout end it; otherwise we are the ones working. */
bool gw_qr_waiting_on_peer(const gw__assoc_t *a);
/* The association is going away: no more sends; everything is freed (workers finish on
 * their own). */
void gw_qr_abort(gw__assoc_t *a);
#endif
