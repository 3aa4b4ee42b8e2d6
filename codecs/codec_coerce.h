/* codecs/codec_coerce.h -- patient identity coercion (PS3.3 C.12.1.1.9): a data set's
 * patient attributes made those of the patient it belongs to, the values it was sent
 * with kept in an Original Attributes Sequence item. Layer: codecs (pure). */
#ifndef CASEPORT_CODEC_COERCE_H
#define CASEPORT_CODEC_COERCE_H
#include <stddef.h>

#include "codec_ds.h"
#include "codec_xcode.h"

/* Patient ID, Issuer of Patient ID, Patient's Name, Birth Date, Sex, as UTF-8 text
 * (NULL or "": none). */
typedef struct codec_identity {
    const char *patient_id, *issuer, *name, *birth_date, *sex;
} codec_identity_t;

#define CODEC_COERCE_MAX_EDITS 6

typedef struct codec_coercion {
    codec_edit_t edits[CODEC_COERCE_MAX_EDITS]; /* ascending tags, for codec_xcode */
    int n_edits;
    int n_changed;      /* attributes coerced */
    char what[96];      /* their names, comma separated, for the job's record */
    codec_ds_buf_t oas; /* the Original Attributes Sequence item the edits point into */
} codec_coercion_t;

/* Compares sent with target and, for every attribute the target has that differs, an
 * edit replacing it, plus one appending an item to Original Attributes Sequence
 * (0400,0561) with Modified Attributes Sequence (0400,0550) holding the values sent,
 * Attribute Modification DateTime (now, a DT), Modifying System, Source of Previous
 * Values (source, e.g. the sender's AE title) and Reason "COERCE". n_changed 0: nothing
 * to do. Free with codec_coerce_free. */
void codec_coerce_identity(const codec_identity_t *sent, const codec_identity_t *target,
                           const char *now, const char *source, codec_coercion_t *out);
void codec_coerce_free(codec_coercion_t *c);
#endif
