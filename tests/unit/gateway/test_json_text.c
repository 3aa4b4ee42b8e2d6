/* The API's JSON text (gateway/http/json_text.c) is byte for byte what jansson's
 * json_dumps(j, JSON_COMPACT) writes: every byte a string may hold, NULs inside strings
 * and keys, the integer extremes, nesting and empty containers, and a page of cases as
 * the API builds it. Reals are written in the fewest digits that read back the same. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_text.h"

static void same_as_jansson(json_t *j)
{
    assert_non_null(j);
    char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = 0;
    char *got = gw_json_text(j, &len);
    assert_non_null(want);
    assert_non_null(got);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(got, want, len + 1);
    free(want);
    free(got);
    json_decref(j);
}

void json_text_strings_as_jansson_writes_them(void **state)
{
    (void)state;
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    /* jansson refuses invalid UTF-8, so the bytes above 0x7f go in as a valid sequence */
    same_as_jansson(json_stringn(all, 128));
    same_as_jansson(json_string("Müller^Zoë \xe6\x9d\x8e \xf0\x9f\x98\x80 a/b </script>"));
    same_as_jansson(json_string(""));
    json_t *o = json_object();
    json_object_setn_new(o, "k\0ey", 4, json_stringn("v\0al\"ue\\", 8));
    json_object_set_new(o, "\x01\x1f\x7f", json_string("\t\r\n\b\f"));
    same_as_jansson(o);
}

void json_text_numbers_and_literals(void **state)
{
    (void)state;
    same_as_jansson(json_integer(0));
    same_as_jansson(json_integer(-1));
    same_as_jansson(json_integer(INT64_MAX));
    same_as_jansson(json_integer(INT64_MIN));
    same_as_jansson(json_integer(1793813604));
    same_as_jansson(json_true());
    same_as_jansson(json_false());
    same_as_jansson(json_null());
}

static void real_written(double v, const char *want)
{
    json_t *j = json_real(v);
    size_t len = 0;
    char *got = gw_json_text(j, &len);
    assert_non_null(got);
    assert_string_equal(got, want);
    json_t *back = json_loads(got, JSON_DECODE_ANY, NULL);
    assert_non_null(back);
    assert_true(json_is_real(back) && json_real_value(back) == v);
    json_decref(back);
    free(got);
    json_decref(j);
}

/* A match's confidence 0.95 is written 0.95, not 0.94999999999999996; what is written
 * reads back as the same double, and a real stays a real. */
void json_text_reals_shortest(void **state)
{
    (void)state;
    real_written(0.95, "0.95");
    real_written(0.1, "0.1");
    real_written(-2.5e-300, "-2.5e-300");
    real_written(3.0, "3.0");
    real_written(1.0 / 3.0, "0.3333333333333333");
    real_written(1e22, "1e+22");
}

void json_text_containers_nested(void **state)
{
    (void)state;
    same_as_jansson(json_object());
    same_as_jansson(json_array());
    same_as_jansson(json_loads("[[],{},[[{}]],{\"a\":[1,{\"b\":null}]}]", 0, NULL));
    json_t *deep = json_array();
    for (int i = 0; i < 500; i++)
        deep = json_pack("{s:o,s:i}", "in", deep, "depth", i);
    same_as_jansson(deep);
    json_t *page = json_array();
    for (int i = 0; i < 50; i++)
        json_array_append_new(page, json_pack("{s:s,s:s,s:s,s:{s:s,s:I,s:b}}", "token",
                                              "CP-7BNN-AT", "state", "collecting_records",
                                              "patient_name", "Bench^Patient", "clocks",
                                              "records", "overdue", "records_due",
                                              (json_int_t)1793813604 + i, "paused", i & 1));
    same_as_jansson(json_pack("{s:o,s:I,s:I,s:I}", "cases", page, "total", (json_int_t)200,
                              "offset", (json_int_t)0, "limit", (json_int_t)50));
}

/* The writer's text is what jansson writes for the same values; a database column that is
 * not UTF-8 comes out as JSON with U+FFFD for each byte that is not. */
void json_text_writer_as_jansson_writes_it(void **state)
{
    (void)state;
    gw_json_out_t o = {0};
    gw_json_object(&o, NULL);
    gw_json_str(&o, "name", "M\xc3\xbcller^Zo\xc3\xab \"x\"\n");
    gw_json_array(&o, "list");
    gw_json_int(&o, NULL, INT64_MIN);
    gw_json_object(&o, NULL);
    gw_json_end_object(&o);
    gw_json_array(&o, NULL);
    gw_json_end_array(&o);
    gw_json_bool(&o, NULL, false);
    gw_json_end_array(&o);
    gw_json_object(&o, "clocks");
    gw_json_int(&o, "due", 1793813604);
    gw_json_bool(&o, "paused", true);
    gw_json_end_object(&o);
    gw_json_end_object(&o);
    size_t len;
    char *got = gw_json_finish(&o, &len);
    json_t *j = json_pack("{s:s,s:[I,{},[],b],s:{s:I,s:b}}", "name",
                          "M\xc3\xbcller^Zo\xc3\xab \"x\"\n", "list", (json_int_t)INT64_MIN, 0,
                          "clocks", "due", (json_int_t)1793813604, "paused", 1);
    char *want = json_dumps(j, JSON_COMPACT);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(got);
    free(want);
    json_decref(j);

    gw_json_str(&o, NULL, "a\xff" "b\xc3(\xe2\x82\xac\xed\xa0\x80");
    got = gw_json_finish(&o, NULL);
    assert_string_equal(got, "\"a\\uFFFDb\\uFFFD(\xe2\x82\xac\\uFFFD\\uFFFD\\uFFFD\"");
    free(got);
}
