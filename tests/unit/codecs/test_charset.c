/* Specific Character Set decoding: the byte strings of pydicom's charset_files/FileInfo.txt
 * (written out here) to the UTF-8 that pydicom decodes them to; refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec_charset.h"

static void expect(const char *cs, const char *raw, bool pn, const char *want)
{
    char out[512];
    assert_int_equal(codec_charset_to_utf8(cs, raw, strlen(raw), pn, out, sizeof out, NULL), CP_OK);
    assert_string_equal(out, want);
}

void charset_single_byte_sets(void **state)
{
    (void)state;
    expect("ISO_IR 100", "\xc4neas^R\xfc" "diger", true, "Äneas^Rüdiger");
    expect("ISO_IR 144", "\xbb\xee\xda" "ce\xdc\xd1" "yp\xd3", true, "Люкceмбypг");
    expect("ISO_IR 126", "\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2", true, "Διονυσιος");
    expect("ISO_IR 138", "\xf9\xf8\xe5\xef^\xe3\xe1\xe5\xf8\xe4", true, "שרון^דבורה");
    expect("ISO_IR 127", "\xe2\xc8\xc7\xe6\xea^\xe4\xe6\xd2\xc7\xd1", true, "قباني^لنزار");
    expect("", "DOE^JOHN", true, "DOE^JOHN");
    expect("ISO_IR 6", "plain", false, "plain");
}

void charset_iso2022_japanese_korean(void **state)
{
    (void)state;
    expect("\\ISO 2022 IR 87",
           "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
           true, "Yamada^Tarou=山田^太郎=やまだ^たろう");
    expect("ISO 2022 IR 13\\ISO 2022 IR 87",
           "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\x1b$B$d$^$@\x1b(J^"
           "\x1b$B$?$m$&\x1b(J",
           true, "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう");
    /* kanji whose first byte is '=' (0x3D) or '^' (0x5E): not delimiters in a two-byte set */
    expect("\\ISO 2022 IR 87", "A^\x1b$B=!^!\x1b(B=B", true, "A^宗沺=B");
    expect("\\ISO 2022 IR 149",
           "Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf",
           true, "Hong^Gildong=洪^吉洞=홍^길동");
}

void charset_utf8_and_gb18030(void **state)
{
    (void)state;
    expect("ISO_IR 192", "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=", true,
           "Wang^XiaoDong=王^小東=");
    expect("GB18030", "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", true, "Wang^XiaoDong=王^小东=");
}

void charset_refusals(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(codec_charset_to_utf8("ISO_IR 999", "x", 1, false, out, sizeof out, NULL),
                     CP_EUNSUPPORTED);
    assert_int_equal(codec_charset_to_utf8("\\ISO 2022 IR 999", "x", 1, false, out, sizeof out,
                                           NULL),
                     CP_EUNSUPPORTED);
    /* invalid UTF-8, a high byte without a G1 set, an unknown escape, a cut double byte */
    assert_int_equal(codec_charset_to_utf8("ISO_IR 192", "\xff", 1, false, out, sizeof out, NULL),
                     CP_EPARSE);
    assert_int_equal(codec_charset_to_utf8("", "\xe9", 1, false, out, sizeof out, NULL), CP_EPARSE);
    assert_int_equal(codec_charset_to_utf8("\\ISO 2022 IR 87", "\x1b$Z", 3, false, out, sizeof out,
                                           NULL),
                     CP_EPARSE);
    assert_int_equal(codec_charset_to_utf8("\\ISO 2022 IR 87", "\x1b$B;", 4, false, out,
                                           sizeof out, NULL),
                     CP_EPARSE);
    /* too long for out: refused, not cut */
    assert_int_equal(codec_charset_to_utf8("ISO_IR 100", "\xc4\xc4\xc4\xc4\xc4", 5, false, out,
                                           sizeof out, NULL),
                     CP_ETOOBIG);
}
