/* base/cp_utf8.h -- UTF-8 validity (RFC 3629: no overlong forms, no surrogates, nothing
 * past U+10FFFF), for the index's text and for declaring a data set ISO_IR 192. */
#ifndef CASEPORT_CP_UTF8_H
#define CASEPORT_CP_UTF8_H
#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at p (1-4) within avail bytes, or 0. A NUL byte
 * never continues a sequence, so NUL-terminated text may pass avail 4. */
size_t cp_utf8_seq(const unsigned char *p, size_t avail);
/* Whether the n bytes at p are all valid UTF-8. */
bool cp_utf8_valid(const void *p, size_t n);
#endif
