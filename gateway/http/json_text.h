/* gateway/http/json_text.h -- the API's answers as text.
 *
 * jansson builds and checks the values; its json_dumps is slow for a page of 50 cases
 * (about 110 us of the 190 us a case list spends on JSON: it guards every container
 * against cycles with a formatted pointer in a hash table). gw_json_text writes the same
 * bytes as json_dumps(j, JSON_COMPACT) in one pass into one growing buffer; the unit
 * tests and fuzz.json hold it to jansson's output. */
#ifndef CP_JSON_TEXT_H
#define CP_JSON_TEXT_H

#include <jansson.h>
#include <stddef.h>

/* The text (malloc'ed, NUL-terminated; its length in *len when len is not NULL), or NULL
 * when memory runs out. j must hold no cycle (the API's values are built fresh). */
char *gw_json_text(const json_t *j, size_t *len);

#endif
