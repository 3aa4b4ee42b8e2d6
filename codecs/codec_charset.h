/* codecs/codec_charset.h -- text in a DICOM Specific Character Set (0008,0005) to UTF-8.
 * Layer: codecs. Pure (glibc iconv underneath). */
#ifndef CASEPORT_CODEC_CHARSET_H
#define CASEPORT_CODEC_CHARSET_H
#include <stdbool.h>
#include <stddef.h>

#include "cp_err.h"

/* Decodes value (len bytes as received) under charset, the raw (0008,0005) value
 * ("ISO_IR 100", "\ISO 2022 IR 87", "ISO 2022 IR 13\ISO 2022 IR 87", "ISO_IR 192",
 * "GB18030", "" for the default repertoire), into out as NUL-terminated UTF-8.
 * pn: a Person Name, whose '^' and '=' also return to the initial sets (PS3.5 6.1.2.5.3).
 * Supported: ISO-IR 6, 13, 14, 100, 101, 109, 110, 126, 127, 138, 144, 148, 166, 203,
 * 192, and with ISO 2022 code extensions 87, 159 (Japanese), 149 (Korean), 58 (Chinese);
 * GB18030, GBK. CP_EUNSUPPORTED for another set, CP_EPARSE for bytes invalid in it,
 * CP_ETOOBIG if out (cap bytes) is too small. */
cp_err_t codec_charset_to_utf8(const char *charset, const void *value, size_t len, bool pn,
                               char *out, size_t cap, cp_errinfo_t *ei);
#endif
