/* gateway/index_text.h -- the text the index holds for an instance, in UTF-8: the
 * header's fields decoded from their Specific Character Set (codec_charset.h). Used at
 * ingest and by the reindex job. Any thread. */
#ifndef CASEPORT_GW_INDEX_TEXT_H
#define CASEPORT_GW_INDEX_TEXT_H
#include "codec_dicom.h"

typedef struct gw_index_text {
    char patient_id[200], issuer[200], patient_name[1000], accession[64], study_desc[200],
        series_desc[200];
} gw_index_text_t;

/* A field that does not decode goes in as received (the index shows U+FFFD for the bytes
 * it cannot read). */
void gw_index_text(const codec_dshdr_fields_t *f, gw_index_text_t *u);
#endif
