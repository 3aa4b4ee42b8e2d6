/* gateway/dicom/blobsend.h -- a stored blob read back chunk by chunk for sending (C-GET and
 * C-MOVE sub-operations). Each chunk is read and authenticated on the thread pool; the
 * loop asks for the next one only when the previous is on its way, so memory per sender
 * is one chunk whatever the instance's size. Loop thread. */
#ifndef CASEPORT_GW_BLOBSEND_H
#define CASEPORT_GW_BLOBSEND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "gw.h"

#define GW_BLOBSEND_CHUNK (256 * 1024)

typedef struct gw_blobsend gw_blobsend_t;

/* A chunk (data valid until the next call to gw_blobsend_next or cancel), last when it is
 * the end of the blob and the whole blob authenticated; or err != CP_OK (missing blob,
 * tampered segment, I/O). */
typedef void (*gw_blobsend_cb)(void *ud, const uint8_t *data, size_t len, bool last,
                               cp_err_t err, const char *why);

/* Opens the blob and reads its first chunk; cb fires once per gw_blobsend_next. */
gw_blobsend_t *gw_blobsend_open(uv_loop_t *loop, store_blob_t *blobs, const store_addr_t *addr,
                                gw_blobsend_cb cb, void *ud);
void gw_blobsend_next(gw_blobsend_t *s);
/* Where the next callbacks go (a prefetched blob handed to its sender). */
void gw_blobsend_set_cb(gw_blobsend_t *s, gw_blobsend_cb cb, void *ud);
/* No callback fires after this; the sender frees itself once its worker is done. */
void gw_blobsend_close(gw_blobsend_t *s);
#endif
