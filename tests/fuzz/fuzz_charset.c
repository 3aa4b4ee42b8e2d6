/* libFuzzer target: Specific Character Set decoding. The first byte picks the character
 * set (and PN rules), the rest is the value. */
#include <stddef.h>
#include <stdint.h>

#include "codec_charset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const sets[] = {"",
                                       "ISO_IR 100",
                                       "ISO_IR 192",
                                       "GB18030",
                                       "\\ISO 2022 IR 87",
                                       "ISO 2022 IR 13\\ISO 2022 IR 87",
                                       "\\ISO 2022 IR 149",
                                       "\\ISO 2022 IR 58",
                                       "ISO 2022 IR 6\\ISO 2022 IR 159",
                                       "ISO_IR 166"};
    if (size < 1)
        return 0;
    char out[256];
    codec_charset_to_utf8(sets[data[0] % 10], data + 1, size - 1, data[0] & 0x80, out, sizeof out,
                          NULL);
    return 0;
}
