/* libFuzzer target: whatever JSON jansson reads (any value, NULs in strings allowed), the
 * API's writer (gateway/http/json_text.c) gives back exactly json_dumps(JSON_COMPACT). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (j == NULL)
        return 0;
    char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = 0;
    char *got = gw_json_text(j, &len);
    if (want == NULL || got == NULL || len != strlen(want) || memcmp(got, want, len + 1) != 0)
        abort();
    free(want);
    free(got);
    json_decref(j);
    return 0;
}
