#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "cp_err.h"

void err_table_maps_statuses(void **state)
{
    (void)state;
    assert_int_equal(cp_err_dicom_status(CP_OK), 0x0000);
    assert_int_equal(cp_err_dicom_status(CP_EDB), 0xA700);
    assert_int_equal(cp_err_dicom_status(CP_EPARSE), 0xC000);
    assert_true(cp_err_is_transient(CP_EDISKFULL));
    assert_false(cp_err_is_transient(CP_ETAMPER));
    assert_string_equal(cp_err_name(CP_ETAMPER), "CP_ETAMPER");
    assert_int_equal(cp_err_from_errno(ENOSPC), CP_EDISKFULL);
}

void err_fail_formats_message(void **state)
{
    (void)state;
    cp_errinfo_t ei = {0};
    assert_int_equal(cp_fail(&ei, CP_EIO, ENOENT, "open %s", "x"), CP_EIO);
    assert_string_equal(ei.msg, "open x: No such file or directory");
    assert_string_equal(cp_errinfo_msg(&ei, CP_EIO), ei.msg);
    assert_string_equal(cp_errinfo_msg(NULL, CP_EDB), "database unavailable");
    assert_int_equal(cp_fail(NULL, CP_EDB, 0, "x"), CP_EDB);
}
