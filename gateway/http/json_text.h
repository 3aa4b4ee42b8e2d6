/* gateway/http/json_text.h -- the API's answers as text.
 *
 * jansson builds and checks the values; its json_dumps is slow for a page of 50 cases
 * (about 110 us of the 190 us a case list spent on JSON: it guards every container
 * against cycles with a formatted pointer in a hash table). gw_json_text writes the same
 * bytes as json_dumps(j, JSON_COMPACT) in one pass into one growing buffer; the unit
 * tests and fuzz.json hold it to jansson's output.
 *
 * The answers read most (the case list, a case page) skip the values too: a value a
 * field cost jansson an allocation or three and a hash-table entry, more than the rest of
 * the request. The writer below puts each member straight into the text. */
#ifndef CP_JSON_TEXT_H
#define CP_JSON_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The text (malloc'ed, NUL-terminated; its length in *len when len is not NULL), or NULL
 * when memory runs out. j must hold no cycle (the API's values are built fresh). */
char *gw_json_text(const json_t *j, size_t *len);

/* A writer: start from {0}; key is the member's name inside an object, NULL for an
 * array's element or the top value. Strings are written as JSON strings, any byte that is
 * not part of valid UTF-8 as U+FFFD. */
typedef struct gw_json_out {
    char *p;
    size_t len, cap;
    bool failed, comma;
} gw_json_out_t;
void gw_json_object(gw_json_out_t *o, const char *key);
void gw_json_end_object(gw_json_out_t *o);
void gw_json_array(gw_json_out_t *o, const char *key);
void gw_json_end_array(gw_json_out_t *o);
void gw_json_str(gw_json_out_t *o, const char *key, const char *v);
void gw_json_int(gw_json_out_t *o, const char *key, int64_t v);
void gw_json_bool(gw_json_out_t *o, const char *key, bool v);
/* The text written (as gw_json_text returns it; NULL when memory ran out); o is reset. */
char *gw_json_finish(gw_json_out_t *o, size_t *len);

#endif
