/* codecs/codec_ds.h -- small data sets held whole in memory: C-FIND/C-GET identifiers,
 * their responses, Storage Commitment requests and reports. Layer: codecs.
 * An iterator walks one level of elements (a sequence's value is handed back as a span
 * its items can be walked from); a writer appends elements in the order given (the caller
 * keeps ascending tag order, PS3.5 7.1). Implicit VR takes its VRs from the standard's
 * data dictionary (codec_dict_vr); anything else reads as UN. Pixel data sets go
 * through the streaming parser (codec_dicom.h), never through this. */
#ifndef CASEPORT_CODEC_DS_H
#define CASEPORT_CODEC_DS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec_dicom.h"

#define CODEC_TAG(g, e) ((uint32_t)(g) << 16 | (uint32_t)(e))

typedef struct codec_elem {
    uint32_t tag;
    char vr[3];
    const uint8_t *value; /* for SQ: the items, without a sequence delimiter */
    uint32_t len;
} codec_elem_t;

typedef struct codec_ds_iter {
    const uint8_t *p;
    size_t len, off;
    codec_enc_t enc; /* IMPLICIT_LE, EXPLICIT_LE or EXPLICIT_BE (not deflated) */
    int depth;
} codec_ds_iter_t;

/* The VR the dictionary knows for tag (group lengths are UL), or NULL. */
const char *codec_ds_vr(uint32_t tag);

void codec_ds_iter_init(codec_ds_iter_t *it, codec_enc_t enc, const void *data, size_t len);
/* Next element of this level: CP_OK, CP_EOF at the end, CP_EPARSE for malformed input
 * (overrunning lengths, nesting over 16 levels, an unterminated undefined length). */
cp_err_t codec_ds_next(codec_ds_iter_t *it, codec_elem_t *e, cp_errinfo_t *ei);
/* The next item of a sequence element e (walk its value with seq, initialised from e by
 * codec_ds_seq_init): *item iterates the item's elements. CP_EOF after the last item. */
void codec_ds_seq_init(codec_ds_iter_t *seq, const codec_ds_iter_t *parent,
                       const codec_elem_t *e);
cp_err_t codec_ds_item_next(codec_ds_iter_t *seq, codec_ds_iter_t *item, cp_errinfo_t *ei);

/* The element at path in a whole data set held in memory: "GGGG,EEEE" at top level,
 * "GGGG,EEEE[i].GGGG,EEEE" into item i (0-based) of a sequence, and so on.
 * CP_ENOENT if it is not there, CP_EINVAL for a malformed path. */
cp_err_t codec_ds_find(codec_enc_t enc, const void *data, size_t len, const char *path,
                       codec_elem_t *out, cp_errinfo_t *ei);

/* The value as text: trailing spaces and NULs (and a leading space for padding-tolerant
 * peers) removed, cut to cap-1 bytes. Returns false if it had to be cut. */
bool codec_elem_text(const codec_elem_t *e, char *out, size_t cap);
/* A US value (2 bytes) in the iterator's byte order; false if the length is not 2. */
bool codec_elem_us(const codec_ds_iter_t *it, const codec_elem_t *e, uint16_t *out);

typedef struct codec_ds_buf {
    uint8_t *data;
    size_t len, cap;
    codec_enc_t enc; /* IMPLICIT_LE or EXPLICIT_LE */
} codec_ds_buf_t;

void codec_ds_buf_init(codec_ds_buf_t *b, codec_enc_t enc);
void codec_ds_buf_free(codec_ds_buf_t *b);
/* Appends one element with the dictionary's VR (UN if unknown); text values are padded
 * to even length (space, NUL for UI), binary with a zero byte. */
void codec_ds_put(codec_ds_buf_t *b, uint32_t tag, const void *value, size_t len);
void codec_ds_put_text(codec_ds_buf_t *b, uint32_t tag, const char *text);
void codec_ds_put_us(codec_ds_buf_t *b, uint32_t tag, uint16_t v);
/* A sequence of undefined length; items likewise, each closed before the next. */
void codec_ds_seq_begin(codec_ds_buf_t *b, uint32_t tag);
void codec_ds_item_begin(codec_ds_buf_t *b);
void codec_ds_item_end(codec_ds_buf_t *b);
void codec_ds_seq_end(codec_ds_buf_t *b);
#endif
