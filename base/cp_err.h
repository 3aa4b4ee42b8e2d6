/* base/cp_err.h -- the one error table every layer shares.
 * Each row: name, number, DICOM status, LMTP reply, HTTP status, transient, message.
 * Numbers are in ranges per layer: base 1-99, config 100-199, codecs 200-399,
 * storage 400-499, gateway 500-699. Transient errors tell a sender to retry. */
#ifndef CASEPORT_CP_ERR_H
#define CASEPORT_CP_ERR_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#define CP_ERR_MAP(XX)                                                                             \
    XX(OK, 0, 0x0000, 250, 200, 0, "success")                                                      \
    XX(ENOMEM, 1, 0xA700, 452, 503, 1, "out of memory")                                            \
    XX(EIO, 2, 0xA700, 451, 500, 1, "input/output error")                                          \
    XX(EINVAL, 3, 0xA900, 501, 400, 0, "invalid argument")                                         \
    XX(ETOOBIG, 4, 0xA700, 552, 413, 0, "too big")                                                 \
    XX(EOF, 5, 0xA700, 451, 500, 0, "end of data")                                                 \
    XX(EEXIST, 6, 0xA700, 451, 409, 0, "already exists")                                           \
    XX(ENOENT, 7, 0xA700, 451, 404, 0, "not found")                                                \
    XX(ECONFIG, 100, 0xA700, 451, 500, 0, "bad configuration")                                     \
    XX(EPARSE, 200, 0xC000, 554, 400, 0, "cannot understand data set")                             \
    XX(EUNSUPPORTED, 201, 0xC000, 554, 415, 0, "unsupported encoding")                             \
    XX(ETAMPER, 400, 0xA700, 451, 500, 0, "blob authentication failed")                            \
    XX(EKEY, 401, 0xA700, 451, 500, 0, "key unusable")                                             \
    XX(EDISKFULL, 402, 0xA700, 452, 507, 1, "storage is full")                                     \
    XX(EDB, 403, 0xA700, 451, 503, 1, "database unavailable")                                      \
    XX(EDBSCHEMA, 404, 0xA700, 451, 500, 0, "database schema mismatch")                            \
    XX(EPROTO, 500, 0xA700, 554, 400, 0, "protocol violation")                                     \
    XX(ECLOSED, 501, 0xA700, 451, 503, 1, "connection closed")                                     \
    XX(ETIMEDOUT, 502, 0xA700, 451, 504, 1, "timed out")                                           \
    XX(EUSAGE, 600, 0xA700, 451, 400, 0, "wrong usage")

typedef enum cp_err {
#define XX(name, num, dicom, lmtp, http, transient, msg) CP_##name = num,
    CP_ERR_MAP(XX)
#undef XX
} cp_err_t;

/* Filled only on failure, by the function that failed; the error path never allocates. */
typedef struct cp_errinfo {
    cp_err_t code;
    int sys_errno;
    char msg[256];
} cp_errinfo_t;

const char *cp_strerror(cp_err_t e);
const char *cp_err_name(cp_err_t e);
uint16_t cp_err_dicom_status(cp_err_t e);
int cp_err_lmtp_reply(cp_err_t e);
int cp_err_http_status(cp_err_t e);
bool cp_err_is_transient(cp_err_t e);

/* Sets ei (may be NULL) and returns code, so callers can `return cp_fail(...)`. */
cp_err_t cp_fail(cp_errinfo_t *ei, cp_err_t code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The message of ei if one was set, else the table's message for code. */
const char *cp_errinfo_msg(const cp_errinfo_t *ei, cp_err_t code);
/* Maps an errno value (ENOSPC, EDQUOT -> CP_EDISKFULL, ENOMEM, ...) to a code. */
cp_err_t cp_err_from_errno(int err);
#endif
