/* base/cp_bytes.h -- little-endian integers in byte buffers (DICOM's Little Endian
 * transfer syntaxes, PDU lengths aside, which are big endian), and hex digits. */
#ifndef CASEPORT_CP_BYTES_H
#define CASEPORT_CP_BYTES_H
#include <stdint.h>

static inline void cp_put_le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void cp_put_le32(uint8_t *p, uint32_t v)
{
    cp_put_le16(p, v & 0xFFFF);
    cp_put_le16(p + 2, v >> 16);
}

static inline uint16_t cp_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t cp_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The value of a hexadecimal digit (either case), or -1 */
static inline int cp_hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}
#endif
