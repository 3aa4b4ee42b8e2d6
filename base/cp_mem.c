#include "cp_mem.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cp_die_oom(size_t n)
{
    fprintf(stderr, "level=fatal comp=mem msg=\"out of memory\" bytes=%zu\n", n);
    abort();
}

void *cp_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        cp_die_oom(n);
    return p;
}

void *cp_xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (p == NULL)
        cp_die_oom(count * n);
    return p;
}

void *cp_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        cp_die_oom(n);
    return q;
}

char *cp_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = cp_xmalloc(n);
    memcpy(p, s, n);
    return p;
}
