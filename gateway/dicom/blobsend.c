/* gateway/dicom/blobsend.c -- blob chunks from the thread pool to the loop. */
#include "blobsend.h"

#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"

struct gw_blobsend {
    uv_work_t work;
    uv_loop_t *loop;
    store_blob_t *blobs;
    store_addr_t addr;
    store_blob_reader_t *reader;
    gw_blobsend_cb cb;
    void *ud;
    bool busy, closed, done;
    size_t len;    /* bytes in buf */
    bool last;     /* the blob ended and authenticated after buf */
    cp_err_t err;
    char why[160];
    bool has_peek; /* one byte read past the last chunk, to learn whether it was the end */
    uint8_t peek;
    uint8_t buf[GW_BLOBSEND_CHUNK];
};

/* Fills buf and learns whether the blob ends with it: a full buffer is followed by a
 * one-byte read (the reader holds the decrypted segment, so it costs nothing), carried to
 * the next chunk, so the last chunk is never empty -- the last PDV carries data. */
static void run_read(uv_work_t *w)
{
    gw_blobsend_t *s = container_of(w, gw_blobsend_t, work);
    cp_errinfo_t ei = {0};
    s->len = 0;
    if (s->has_peek) {
        s->buf[0] = s->peek;
        s->len = 1;
        s->has_peek = false;
    }
    s->last = false;
    s->err = CP_OK;
    if (s->reader == NULL) {
        s->err = store_blob_reader_open(s->blobs, &s->addr, &s->reader, &ei);
        if (s->err != CP_OK)
            goto fail;
    }
    while (s->len < sizeof s->buf) {
        size_t n = 0;
        s->err = store_blob_reader_read(s->reader, s->buf + s->len, sizeof s->buf - s->len, &n,
                                        &ei);
        if (s->err != CP_OK)
            goto fail;
        if (n == 0) {
            s->last = true;
            return;
        }
        s->len += n;
    }
    size_t n = 0;
    s->err = store_blob_reader_read(s->reader, &s->peek, 1, &n, &ei);
    if (s->err != CP_OK)
        goto fail;
    s->has_peek = n == 1;
    s->last = n == 0;
    return;
fail:
    snprintf(s->why, sizeof s->why, "%s", cp_errinfo_msg(&ei, s->err));
}

static void after_read(uv_work_t *w, int status)
{
    (void)status;
    gw_blobsend_t *s = container_of(w, gw_blobsend_t, work);
    s->busy = false;
    if (s->closed) {
        store_blob_reader_close(s->reader);
        free(s);
        return;
    }
    if (s->last || s->err != CP_OK)
        s->done = true;
    s->cb(s->ud, s->buf, s->len, s->last, s->err, s->why);
}

static void queue(gw_blobsend_t *s)
{
    s->busy = true;
    uv_queue_work(s->loop, &s->work, run_read, after_read);
}

gw_blobsend_t *gw_blobsend_open(uv_loop_t *loop, store_blob_t *blobs, const store_addr_t *addr,
                                gw_blobsend_cb cb, void *ud)
{
    gw_blobsend_t *s = cp_xcalloc(1, sizeof *s);
    s->loop = loop;
    s->blobs = blobs;
    s->addr = *addr;
    s->cb = cb;
    s->ud = ud;
    queue(s);
    return s;
}

void gw_blobsend_next(gw_blobsend_t *s)
{
    if (!s->busy && !s->done && !s->closed)
        queue(s);
}

void gw_blobsend_set_cb(gw_blobsend_t *s, gw_blobsend_cb cb, void *ud)
{
    s->cb = cb;
    s->ud = ud;
}

void gw_blobsend_close(gw_blobsend_t *s)
{
    if (s == NULL)
        return;
    s->closed = true;
    if (s->busy)
        return; /* after_read frees it */
    store_blob_reader_close(s->reader);
    free(s);
}
