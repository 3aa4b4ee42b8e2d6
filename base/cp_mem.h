/* base/cp_mem.h -- allocation. cp_x* abort on out-of-memory and are for fixed, small
 * allocations only; anything sized by a peer goes through a capped buffer instead. */
#ifndef CASEPORT_CP_MEM_H
#define CASEPORT_CP_MEM_H
#include <stddef.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define CP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Logs "out of memory" and aborts: for allocations that the x functions do not make. */
void cp_die_oom(size_t n);
void *cp_xmalloc(size_t n);
void *cp_xcalloc(size_t count, size_t n);
void *cp_xrealloc(void *p, size_t n);
char *cp_xstrdup(const char *s);
#endif
