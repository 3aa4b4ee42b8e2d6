/* base/cp_err.c -- lookups generated from CP_ERR_MAP; each switch has no default so
 * a missing case is a compile error. */
#include "cp_err.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *cp_strerror(cp_err_t e)
{
    switch (e) {
#define XX(name, num, dicom, lmtp, http, transient, msg)                                           \
    case CP_##name:                                                                                \
        return msg;
        CP_ERR_MAP(XX)
#undef XX
    }
    return "unknown error";
}

const char *cp_err_name(cp_err_t e)
{
    switch (e) {
#define XX(name, num, dicom, lmtp, http, transient, msg)                                           \
    case CP_##name:                                                                                \
        return "CP_" #name;
        CP_ERR_MAP(XX)
#undef XX
    }
    return "CP_UNKNOWN";
}

uint16_t cp_err_dicom_status(cp_err_t e)
{
    switch (e) {
#define XX(name, num, dicom, lmtp, http, transient, msg)                                           \
    case CP_##name:                                                                                \
        return dicom;
        CP_ERR_MAP(XX)
#undef XX
    }
    return 0xA700;
}

int cp_err_lmtp_reply(cp_err_t e)
{
    switch (e) {
#define XX(name, num, dicom, lmtp, http, transient, msg)                                           \
    case CP_##name:                                                                                \
        return lmtp;
        CP_ERR_MAP(XX)
#undef XX
    }
    return 451;
}

int cp_err_http_status(cp_err_t e)
{
    switch (e) {
#define XX(name, num, dicom, lmtp, http, transient, msg)                                           \
    case CP_##name:                                                                                \
        return http;
        CP_ERR_MAP(XX)
#undef XX
    }
    return 500;
}

bool cp_err_is_transient(cp_err_t e)
{
    switch (e) {
#define XX(name, num, dicom, lmtp, http, transient, msg)                                           \
    case CP_##name:                                                                                \
        return transient;
        CP_ERR_MAP(XX)
#undef XX
    }
    return false;
}

cp_err_t cp_fail(cp_errinfo_t *ei, cp_err_t code, int sys_errno, const char *fmt, ...)
{
    if (ei == NULL)
        return code;
    ei->code = code;
    ei->sys_errno = sys_errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ei->msg, sizeof ei->msg, fmt, ap);
    va_end(ap);
    if (sys_errno != 0 && n >= 0 && (size_t)n < sizeof ei->msg) {
        char buf[128];
        if (strerror_r(sys_errno, buf, sizeof buf) != 0) /* XSI variant under _POSIX_C_SOURCE */
            snprintf(buf, sizeof buf, "errno %d", sys_errno);
        snprintf(ei->msg + n, sizeof ei->msg - (size_t)n, ": %s", buf);
    }
    return code;
}

const char *cp_errinfo_msg(const cp_errinfo_t *ei, cp_err_t code)
{
    if (ei != NULL && ei->code == code && ei->msg[0] != '\0')
        return ei->msg;
    return cp_strerror(code);
}

cp_err_t cp_err_from_errno(int err)
{
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        return CP_EDISKFULL;
    case ENOMEM:
        return CP_ENOMEM;
    case ENOENT:
        return CP_ENOENT;
    case EEXIST:
        return CP_EEXIST;
    case EINVAL:
        return CP_EINVAL;
    default:
        return CP_EIO;
    }
}
