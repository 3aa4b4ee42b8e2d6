/* gateway/cli.h -- the subcommands; each takes argv from its own name on and returns the
 * process exit code (0 ok, 1 failed, 2 wrong call). */
#ifndef CASEPORT_CLI_H
#define CASEPORT_CLI_H
int cli_serve(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_keygen(int argc, char **argv);
int cli_ls(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_tag(int argc, char **argv);
int cli_config_sample(int argc, char **argv);
int cli_passwd(int argc, char **argv);
int cli_grant(int argc, char **argv);
int cli_jobs(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_case(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_request(int argc, char **argv);
int cli_triage(int argc, char **argv);
int cli_opinion(int argc, char **argv);
#endif
