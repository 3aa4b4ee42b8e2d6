/* tests/unit/runner.c -- one runner per layer, compiled with -DLIST=<layer>/list.h.
 * `runner NAME` runs one test (one process per test, registered by CMake from list.h);
 * `runner` alone runs them all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define X(name) void name(void **state);
#include LIST
#undef X

static const struct CMUnitTest all[] = {
#define X(name) cmocka_unit_test(name),
#include LIST
#undef X
};

int main(int argc, char **argv)
{
    if (argc < 2)
        return cmocka_run_group_tests(all, NULL, NULL);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(all[i].name, argv[1]) == 0) {
            const struct CMUnitTest one[1] = {all[i]};
            return cmocka_run_group_tests_name(argv[1], one, NULL, NULL);
        }
    }
    fprintf(stderr, "no test named %s\n", argv[1]);
    return 2;
}
