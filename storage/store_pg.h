/* storage/store_pg.h -- placeholder, replaced by the PostgreSQL layer. */
#ifndef CASEPORT_STORE_PG_H
#define CASEPORT_STORE_PG_H
#include <stddef.h>
typedef struct store_migration { int version; const char *name; const char *sql; } store_migration_t;
extern const store_migration_t store_migrations[];
extern const size_t store_migration_count;
#endif
