/* gateway/main.c -- the caseport binary: `caseport <command> [options]`.
 * Exit codes: 0 success, 1 failure at run time, 2 wrong call or bad configuration. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"serve", cli_serve, "run the DICOM listener in the foreground"},
    {"migrate", cli_migrate, "apply the database schema migrations"},
    {"keygen", cli_keygen, "create the key-encryption key file"},
    {"ls", cli_ls, "list patients, studies, series and instances received"},
    {"export", cli_export, "write a stored instance as a DICOM Part 10 file"},
    {"verify", cli_verify, "re-read and authenticate every stored blob"},
    {"tag", cli_tag, "print one value of a stored instance by tag path"},
    {"jobs", cli_jobs, "list the job queue, or retry a dead job"},
    {"grant", cli_grant, "grant a Query/Retrieve peer a study, revoke it, list grants"},
    {"user", cli_user, "add an account (patient, navigator, specialist, administrator)"},
    {"case", cli_case, "open, list, show, move, pause, resume and assign cases"},
    {"request", cli_request, "ask a provider for a case's records"},
    {"triage", cli_triage, "list the triage queue, attach or reject its studies"},
    {"opinion", cli_opinion, "write a case's opinion; send it to the patient's doctor"},
    {"audit", cli_audit, "verify the audit trail's hash chain"},
    {"passwd", cli_passwd, "print the argon2id hash of a password read from stdin"},
    {"config-sample", cli_config_sample, "print every configuration option with its default"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: caseport <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`caseport <command> --help` describes a command's options.\n");
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    /* Over a file size limit, a write should fail (EFBIG: the store refuses that one
     * instance with 0xA700) rather than kill the process. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        fprintf(stderr, "caseport: missing command (try caseport --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "caseport: unknown command \"%s\" (try caseport --help)\n", argv[1]);
    return 2;
}
