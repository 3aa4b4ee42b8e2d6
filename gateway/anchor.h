/* gateway/anchor.h -- the audit trail's head anchored outside the database. `caseport
 * serve` appends it (seq, hash, time) to [audit] anchor_file and sends the same line to
 * syslog (authpriv, info) when it starts, every [audit] anchor_interval seconds when the
 * head moved, and when it stops cleanly; `caseport audit verify` then finds a tail cut off
 * behind an anchor (docs/cases.md, "Audit trail"). Loop thread unless stated. */
#ifndef CASEPORT_GW_ANCHOR_H
#define CASEPORT_GW_ANCHOR_H
#include <uv.h>

#include "cp_err.h"
#include "gw.h"

typedef struct gw_anchor gw_anchor_t;

/* Anchors the head once, now (blocking: call before the loop runs), then on loop every
 * interval. Fails if the head cannot be read or the anchor file written. */
cp_err_t gw_anchor_start(uv_loop_t *loop, const gw_ctx_t *ctx, gw_anchor_t **out,
                         cp_errinfo_t *ei);
/* Stops the timer and closes it; an anchor being written finishes on its own. */
void gw_anchor_stop(gw_anchor_t *a);
/* After the loop has ended (every handle closed, every work request done): anchors the
 * head once more if it moved, and frees a. NULL: no-op. */
void gw_anchor_finish(gw_anchor_t *a);
#endif
