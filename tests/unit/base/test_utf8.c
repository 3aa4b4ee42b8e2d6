/* UTF-8 validity as RFC 3629 has it: what the index stores and what a normalized data set
 * declares ISO_IR 192. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cp_utf8.h"

static bool ok(const char *s)
{
    return cp_utf8_valid(s, strlen(s));
}

void utf8_valid_and_invalid(void **state)
{
    (void)state;
    assert_true(ok("M\xC3\xBCller^\xE5\xB1\xB1\xE7\x94\xB0 \xF0\x9F\x98\x80"));
    assert_false(ok("G\xE9rard"));            /* Latin-1 */
    assert_false(ok("\xC0\xAF"));             /* overlong '/' */
    assert_false(ok("\xE0\x80\xAF"));         /* overlong, three bytes */
    assert_false(ok("\xED\xA0\x80"));         /* a surrogate */
    assert_false(ok("\xF4\x90\x80\x80"));     /* past U+10FFFF */
    assert_false(ok("\xF5\x80\x80\x80"));
    assert_false(cp_utf8_valid("\xE5\xB1", 2)); /* cut short */
    assert_int_equal(cp_utf8_seq((const unsigned char *)"\xE5\xB1\xB1", 2), 0);
    assert_int_equal(cp_utf8_seq((const unsigned char *)"\xE5\xB1\xB1", 3), 3);
}
