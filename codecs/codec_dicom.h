/* codecs/codec_dicom.h -- DICOM tables and the streaming data set header parser.
 * Layer: codecs. Pure transforms: no sockets, no libuv, no PostgreSQL, no logging.
 * A parser is used by one thread at a time. */
#ifndef CASEPORT_CODEC_DICOM_H
#define CASEPORT_CODEC_DICOM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_err.h"

#define CODEC_UID_MAX 64 /* PS3.5 9.1: a UID is at most 64 characters */

/* How a transfer syntax encodes the data set (pixel compression aside). */
typedef enum codec_enc {
    CODEC_ENC_IMPLICIT_LE,
    CODEC_ENC_EXPLICIT_LE, /* also every encapsulated (compressed) syntax */
    CODEC_ENC_EXPLICIT_BE,
    CODEC_ENC_DEFLATED_LE, /* raw deflate (RFC 1951) of an Explicit VR LE data set */
} codec_enc_t;

typedef struct codec_ts {
    const char *uid;
    const char *name;
    codec_enc_t enc;
    bool encapsulated; /* pixel data in fragments */
    bool lossy;
} codec_ts_t;

/* The transfer syntaxes the storage SCP accepts, in order of preference (PS3.5 Annex A):
 * Implicit VR LE, Explicit VR LE, Explicit VR BE, Deflated Explicit VR LE, JPEG Baseline
 * (Process 1), JPEG Extended (Process 2 & 4), JPEG Lossless SV1 (Process 14 SV1),
 * JPEG Lossless (Process 14), JPEG-LS lossless and near-lossless, JPEG 2000 lossless-only
 * and lossy, RLE Lossless. */
extern const codec_ts_t codec_transfer_syntaxes[];
extern const size_t codec_transfer_syntax_count;
const codec_ts_t *codec_ts_find(const char *uid); /* NULL: not accepted */

typedef struct codec_sop_class {
    const char *uid;
    const char *name;
} codec_sop_class_t;

/* Every Storage SOP Class of PS3.4 Annex B Table B.5-1 (current edition, incl. retired
 * ones still sent by old modalities). */
extern const codec_sop_class_t codec_storage_sop_classes[];
extern const size_t codec_storage_sop_class_count;
const codec_sop_class_t *codec_storage_sop_class_find(const char *uid); /* NULL: not storage */

/* Value representations, given as their two characters: a 4-byte length in Explicit VR
 * (PS3.5 7.1.2), defined by the standard, text padded with a space (UI pads with NUL). */
bool codec_vr_long(const void *vr);
bool codec_vr_known(const void *vr);
bool codec_vr_text(const void *vr);
/* The VR of tag in the standard's data dictionary (PS3.6; repeating groups and element
 * ranges included), "UL" for a group length, "LO" for a private creator; NULL if the
 * dictionary does not know it (other private attributes). Two characters, NUL-ended. */
const char *codec_dict_vr(uint32_t tag);

/* What the intake indexes from a data set header (everything before Pixel Data).
 * Strings are NUL-terminated, trailing spaces/NULs removed, empty if absent; values
 * longer than the field are cut (PN and LO are never longer than their caps in valid
 * data). Only top-level elements are read; sequences are skipped. */
typedef struct codec_dshdr_fields {
    char sop_class_uid[CODEC_UID_MAX + 1];    /* (0008,0016) */
    char sop_instance_uid[CODEC_UID_MAX + 1]; /* (0008,0018) */
    char study_uid[CODEC_UID_MAX + 1];        /* (0020,000D) */
    char series_uid[CODEC_UID_MAX + 1];       /* (0020,000E) */
    char charset[65];                         /* (0008,0005), raw */
    char patient_id[65];                      /* (0010,0020) */
    char issuer[65];                          /* (0010,0021) */
    char patient_name[325];                   /* (0010,0010), raw bytes of the value */
    char birth_date[17];                      /* (0010,0030) */
    char sex[17];                             /* (0010,0040) */
    char study_date[17];                      /* (0008,0020) */
    char study_time[17];                      /* (0008,0030) */
    char accession[17];                       /* (0008,0050) */
    char study_desc[65];                      /* (0008,1030) */
    char series_desc[65];                     /* (0008,103E) */
    char modality[17];                        /* (0008,0060) */
    char series_number[13];                   /* (0020,0011), IS as text */
    char instance_number[13];                 /* (0020,0013), IS as text */
    bool has_pixel_data;                      /* (7FE0,0010) seen at top level */
    uint64_t pixel_data_offset;               /* offset of its tag in the (inflated) data set */
    uint32_t pixel_data_length;               /* its value length; 0xFFFFFFFF: encapsulated */
    uint8_t pixel_data_header;                /* bytes of its tag, VR and length (8 or 12) */
    bool pixel_data_ow;                       /* its VR is OW (explicit VR data sets only):
                                               * in Big Endian its bytes are swapped in pairs
                                               * whatever Bits Allocated says */
    uint16_t rows, columns;                   /* (0028,0010), (0028,0011); 0 if absent */
    uint16_t bits_allocated;                  /* (0028,0100) */
    uint16_t samples_per_pixel;               /* (0028,0002) */
    uint16_t planar_configuration;            /* (0028,0006) */
    uint16_t bits_stored;                     /* (0028,0101) */
    uint16_t pixel_representation;            /* (0028,0103) */
    char photometric[17];                     /* (0028,0004) */
    char number_of_frames[13];                /* (0028,0008), IS as text */
    uint64_t eot_offset;                      /* (7FE0,0001) Extended Offset Table: where */
    uint32_t eot_length;                      /* its value starts and its length (0: none) */
} codec_dshdr_fields_t;

/* Sequences nested deeper than this are refused by every parser (the intake's header
 * parser, the re-encoder, the data set walker), so that what the intake acknowledges the
 * later stages can read. */
#define CODEC_MAX_DEPTH 16

typedef struct codec_dshdr_limits {
    uint32_t max_depth;          /* sequence nesting; 0 means CODEC_MAX_DEPTH */
    uint64_t max_header_bytes;   /* bytes parsed before Pixel Data; 0: no limit (skipped
                                  * values cost no memory; the caller caps the data set) */
} codec_dshdr_limits_t;

typedef struct codec_dshdr codec_dshdr_t; /* opaque incremental parser */

/* lim may be NULL for defaults. Memory is bounded (a few KiB plus the inflate state). */
cp_err_t codec_dshdr_new(codec_enc_t enc, const codec_dshdr_limits_t *lim, codec_dshdr_t **out,
                         cp_errinfo_t *ei);
/* Feeds the next bytes of the data set, split anywhere (one byte at a time works).
 * After Pixel Data is reached at top level the rest is not parsed (it may be huge).
 * CP_EPARSE on malformed data (bad length, item outside a sequence, depth or size over
 * the limits, corrupt deflate stream): the parser is then dead and returns it again. */
cp_err_t codec_dshdr_feed(codec_dshdr_t *p, const void *data, size_t len, cp_errinfo_t *ei);
/* Call at the end of the data set: CP_EPARSE if it ended inside an element, item or
 * undefined-length sequence (unless Pixel Data was reached). Fills *out. */
cp_err_t codec_dshdr_finish(codec_dshdr_t *p, codec_dshdr_fields_t *out, cp_errinfo_t *ei);
void codec_dshdr_free(codec_dshdr_t *p); /* NULL: no-op */

/* Writes a Part 10 preamble (128 zero bytes), "DICM" and the File Meta Information group
 * (PS3.10 7.1, Explicit VR LE, with (0002,0000) group length, (0002,0001) version 00\01,
 * (0002,0002), (0002,0003), (0002,0010), (0002,0012) caseport's implementation class UID,
 * (0002,0013) "CASEPORT_010", (0002,0016) source AE title if non-empty) into out.
 * UIDs are padded to even length with NUL, AE title with a space. CP_ETOOBIG if cap is
 * too small (1024 bytes is always enough); CP_EINVAL for a UID over 64 characters. */
cp_err_t codec_part10_meta(const char *sop_class_uid, const char *sop_instance_uid,
                           const char *ts_uid, const char *source_ae, uint8_t *out, size_t cap,
                           size_t *len, cp_errinfo_t *ei);

#define CODEC_IMPL_CLASS_UID "2.25.167979344528912940844096468921616928892"
#define CODEC_IMPL_VERSION "CASEPORT_010"
#endif
