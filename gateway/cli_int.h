/* gateway/cli_int.h -- shared by the subcommands. */
#ifndef CASEPORT_CLI_INT_H
#define CASEPORT_CLI_INT_H
#include <stdbool.h>

#include "conf.h"
#include "store_pg.h"

/* --config's default: $CASEPORT_CONFIG when set (as tools/run reads it), else
 * config/caseport.conf. */
const char *cli_default_config(void);
#define CLI_DEFAULT_CONFIG cli_default_config()

typedef struct cli_opt {
    const char *name;
    const char **value; /* options with a value */
    bool *flag;         /* options without */
    const char *help;
} cli_opt_t;

int cli_parse(int argc, char **argv, const char *summary, const cli_opt_t *opts);
int cli_load_conf(const char *cmd, const char *path, conf_t *conf);
int cli_open_pg(const char *cmd, const conf_t *conf, store_pg_t **pg);
/* cli_load_conf then cli_open_pg: 0, or the exit code. */
int cli_open(const char *cmd, const char *config, conf_t *conf, store_pg_t **pg);
/* cli_open with the audit trail's key loaded from [storage] key_file (store_audit.h): for
 * every command that writes audit rows, or checks them. */
int cli_open_audited(const char *cmd, const char *config, conf_t *conf, store_pg_t **pg);
#endif
