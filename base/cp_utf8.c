/* base/cp_utf8.c -- UTF-8 validity (cp_utf8.h). */
#include "cp_utf8.h"

size_t cp_utf8_seq(const unsigned char *p, size_t avail)
{
    if (avail == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || n > avail || (n == 2 && p[0] > 0xDF) || (n == 3 && p[0] > 0xEF))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((n == 3 && p[0] == 0xE0 && p[1] < 0xA0) || (n == 3 && p[0] == 0xED && p[1] > 0x9F) ||
        (n == 4 && p[0] == 0xF0 && p[1] < 0x90) || (n == 4 && p[0] == 0xF4 && p[1] > 0x8F))
        return 0;
    return n;
}

bool cp_utf8_valid(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0, k; i < n; i += k)
        if ((k = cp_utf8_seq(c + i, n - i)) == 0)
            return false;
    return true;
}
