/* gateway/index_text.c -- header fields to the index's UTF-8 text. */
#include "index_text.h"

#include <stdio.h>
#include <string.h>

#include "codec_charset.h"

static void decode(const char *charset, const char *raw, bool pn, char *out, size_t cap)
{
    if (codec_charset_to_utf8(charset, raw, strlen(raw), pn, out, cap, NULL) != CP_OK)
        snprintf(out, cap, "%s", raw);
}

void gw_index_text(const codec_dshdr_fields_t *f, gw_index_text_t *u)
{
    decode(f->charset, f->patient_id, false, u->patient_id, sizeof u->patient_id);
    decode(f->charset, f->issuer, false, u->issuer, sizeof u->issuer);
    decode(f->charset, f->patient_name, true, u->patient_name, sizeof u->patient_name);
    decode(f->charset, f->accession, false, u->accession, sizeof u->accession);
    decode(f->charset, f->study_desc, false, u->study_desc, sizeof u->study_desc);
    decode(f->charset, f->series_desc, false, u->series_desc, sizeof u->series_desc);
}
