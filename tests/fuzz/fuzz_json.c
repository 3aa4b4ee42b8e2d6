/* libFuzzer target: the API's JSON text (gateway/http/json_text.c).
 * - Whatever JSON jansson reads (any value, NULs in strings allowed), gw_json_text writes
 *   as JSON that jansson reads back as an equal value (reals in their fewest digits, so
 *   not always json_dumps's text), and exactly json_dumps(JSON_COMPACT) when it holds no
 *   real.
 * - The input as a database column's text (up to its first NUL), written by the writer
 *   inside an object and an array, is JSON that jansson reads back: the same text when it
 *   was valid UTF-8, else with U+FFFD in place of each byte that was not. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_utf8.h"
#include "json_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_real(const json_t *j)
{
    const char *key;
    size_t i;
    json_t *v;
    if (json_is_real(j))
        return true;
    if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            if (has_real(v))
                return true;
        }
    }
    if (json_is_object(j)) {
        json_object_foreach((json_t *)j, key, v) {
            if (has_real(v))
                return true;
        }
    }
    return false;
}

static void dumps_as_jansson(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (j == NULL)
        return;
    char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = 0;
    char *got = gw_json_text(j, &len);
    if (want == NULL || got == NULL)
        abort();
    json_t *back = json_loadb(got, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (back == NULL || !json_equal(back, j))
        abort();
    if (!has_real(j) && (len != strlen(want) || memcmp(got, want, len + 1) != 0))
        abort();
    json_decref(back);
    free(want);
    free(got);
    json_decref(j);
}

static void writes_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    gw_json_out_t o = {0};
    gw_json_object(&o, NULL);
    gw_json_array(&o, "a");
    gw_json_str(&o, NULL, s);
    gw_json_int(&o, NULL, (int64_t)size);
    gw_json_end_array(&o);
    gw_json_bool(&o, "b", true);
    gw_json_end_object(&o);
    size_t len;
    char *text = gw_json_finish(&o, &len);
    json_t *j = text ? json_loadb(text, len, 0, NULL) : NULL;
    const char *back = json_string_value(json_array_get(json_object_get(j, "a"), 0));
    if (back == NULL || json_integer_value(json_array_get(json_object_get(j, "a"), 1)) !=
                            (json_int_t)size || !json_is_true(json_object_get(j, "b")))
        abort();
    if (cp_utf8_valid(s, strlen(s)) ? strcmp(back, s) != 0 : strstr(back, "\xEF\xBF\xBD") == NULL)
        abort();
    json_decref(j);
    free(text);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dumps_as_jansson(data, size);
    writes_text(data, size);
    return 0;
}
