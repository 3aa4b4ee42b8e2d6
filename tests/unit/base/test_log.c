/* One line per event, logfmt or JSON, to stderr: captured through a pipe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cp_log.h"

/* Runs emit() with stderr going to a pipe and returns what it wrote. */
static void capture(void (*emit)(void), char *out, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    emit();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, cap - 1);
    close(fds[0]);
    out[n > 0 ? n : 0] = '\0';
}

static void emit_store(void)
{
    CP_LOG(CP_LOG_INFO, "dicom.store", "event=stored assoc=%u why=\"%s\"", 7u, "a \"b\" c");
}

void log_logfmt_and_json_lines(void **state)
{
    (void)state;
    char buf[2048];
    cp_log_setup(CP_LOG_INFO, CP_LOG_LOGFMT);
    capture(emit_store, buf, sizeof buf);
    assert_non_null(strstr(buf, " level=info comp=dicom.store event=stored assoc=7 why="));
    assert_int_equal(strncmp(buf, "ts=", 3), 0);
    assert_int_equal(buf[strlen(buf) - 1], '\n');
    assert_ptr_equal(strchr(buf, '\n'), buf + strlen(buf) - 1); /* exactly one line */

    cp_log_setup(CP_LOG_INFO, CP_LOG_JSON);
    capture(emit_store, buf, sizeof buf);
    assert_int_equal(buf[0], '{');
    assert_non_null(strstr(buf, "\"level\":\"info\",\"comp\":\"dicom.store\""));
    assert_non_null(strstr(buf, "\"event\":\"stored\",\"assoc\":\"7\",\"why\":\"a \""));
    assert_non_null(strstr(buf, "}\n"));
    cp_log_setup(CP_LOG_INFO, CP_LOG_LOGFMT);
}

static int evaluated;
static int side_effect(void)
{
    return ++evaluated;
}

static void emit_debug(void)
{
    CP_LOG(CP_LOG_DEBUG, "t", "event=x n=%d", side_effect());
}

void log_level_filters_before_formatting(void **state)
{
    (void)state;
    char buf[256];
    cp_log_setup(CP_LOG_INFO, CP_LOG_LOGFMT);
    evaluated = 0;
    capture(emit_debug, buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_int_equal(evaluated, 0); /* arguments are not evaluated below the level */
    cp_log_level_t lv;
    assert_true(cp_log_level_parse("warn", &lv));
    assert_int_equal(lv, CP_LOG_WARN);
    assert_false(cp_log_level_parse("loud", &lv));
}
