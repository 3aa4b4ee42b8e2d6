/* codecs/codec_xcode.h -- re-encodes a whole data set, streaming, as Explicit VR Little
 * Endian: every VR, defined and undefined lengths, nested sequences and items (an
 * undefined-length UN read as the Implicit VR sequence it is, PS3.5 6.2.2), encapsulated
 * pixel data (offset table and fragments copied), Implicit LE, Explicit LE and BE, and
 * Deflated input. On the way it can decode text to UTF-8, repair what is commonly wrong,
 * and put in, replace or take out top-level elements. Memory: one value at a time up to
 * 16 MiB (text and ordinary attributes), larger values (pixel data) in 64 KiB pieces.
 * Layer: codecs (pure; the caller supplies reading and writing). */
#ifndef CASEPORT_CODEC_XCODE_H
#define CASEPORT_CODEC_XCODE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec_dicom.h"

/* Reads up to cap bytes; *n = 0 at the end. */
typedef cp_err_t (*codec_read_fn)(void *ud, void *buf, size_t cap, size_t *n, cp_errinfo_t *ei);
typedef cp_err_t (*codec_write_fn)(void *ud, const void *data, size_t len, cp_errinfo_t *ei);

/* Bytes in memory as a source for a codec_read_fn: codec_mem_read with &src (pixels.c). */
typedef struct codec_mem_src {
    const uint8_t *p;
    size_t len, off;
} codec_mem_src_t;
cp_err_t codec_mem_read(void *ud, void *buf, size_t cap, size_t *n, cp_errinfo_t *ei);

/* Tag, VR and value length in Explicit VR Little Endian into h (12 bytes at most); item
 * and delimiter tags (FFFE,E000), (FFFE,E00D) and (FFFE,E0DD) have no VR; a short-form VR
 * whose length outgrew 16 bits is written as UN (PS3.5 6.2.2). Returns the bytes written:
 * 8 or 12. */
size_t codec_elem_header(uint8_t h[12], uint32_t tag, const char *vr, uint32_t len);

/* A top-level element to put in (or replace) with value, already in Explicit VR LE
 * (for SQ: its items, each of undefined length, without the sequence delimiter), or to
 * take out (value NULL). append (SQ only): the items are added after those of the
 * sequence already there, if there is one. */
typedef struct codec_edit {
    uint32_t tag;
    char vr[3];
    const void *value;
    size_t len;
    bool append;
} codec_edit_t;

typedef struct codec_xcode_opts {
    codec_enc_t in;
    /* Non-NULL: text of the VRs that a Specific Character Set governs (SH, LO, UC, ST, LT,
     * UT, PN) is decoded from this (0008,0005) value to UTF-8. "" is the default
     * repertoire, where non-ASCII bytes are a defect: read as UTF-8 when they are valid
     * UTF-8, else as ISO 8859-1 (the commonest), and reported. The caller sets
     * (0008,0005) to ISO_IR 192 with an edit. */
    const char *charset;
    const codec_edit_t *edits; /* ascending tags */
    int n_edits;
    bool header_only; /* stop at top-level Pixel Data (a dry run to see what would change) */
    /* the pixel data are written anew: the Extended Offset Table (7FE0,0001) and its
     * lengths (7FE0,0002), which describe the old fragments, are left out */
    bool drop_offset_tables;
} codec_xcode_opts_t;

/* What was found and changed, as counts and the first tag of each kind. */
typedef struct codec_xcode_report {
    unsigned odd_lengths;      /* values of odd length, padded */
    unsigned padding;          /* UI padded with space, or text with NUL: padding fixed */
    unsigned non_ascii;        /* text values with bytes over 0x7F */
    unsigned guessed;          /* ... of them without a Specific Character Set */
    unsigned group_lengths;    /* group length elements dropped (they would be wrong) */
    uint32_t odd_tag, padding_tag, guessed_tag;
    bool pixel_data;           /* top-level Pixel Data seen */
    bool encapsulated;         /* ... in fragments */
} codec_xcode_report_t;

/* CP_EPARSE for malformed input (the reason names the tag), CP_EUNSUPPORTED for text that
 * does not decode in its character set, CP_ETOOBIG for a text value over 16 MiB, or
 * nesting over 16 levels; errors of rd and wr are passed on. */
cp_err_t codec_xcode(const codec_xcode_opts_t *o, codec_read_fn rd, void *rud, codec_write_fn wr,
                     void *wud, codec_xcode_report_t *rep, cp_errinfo_t *ei);
#endif
