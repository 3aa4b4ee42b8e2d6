/* gateway/cli_qr.c -- `caseport grant`: which studies a Query/Retrieve peer with
 * access = granted may see and retrieve. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_int.h"
#include "conf.h"
#include "store_qr.h"

static bool print_grant(void *ud, const char *peer, const char *study_uid, const char *at)
{
    (void)ud;
    printf("%s\t%s\t%s\n", peer, study_uid, at);
    return true;
}

static int usage(const char *why)
{
    fprintf(stderr, "caseport grant: %s\n", why);
    return 2;
}

int cli_grant(int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *peer = NULL, *study = NULL;
    bool revoke = false, list = false;
    const cli_opt_t opts[] = {
        {"config", &config, NULL, "configuration file"},
        {"peer", &peer, NULL, "the [peer NAME] section to grant to"},
        {"study", &study, NULL, "Study Instance UID"},
        {"revoke", NULL, &revoke, "take the grant back"},
        {"list", NULL, &list, "list every grant (peer, study, since)"},
        {0}};
    int rc = cli_parse(argc, argv,
                       "Grant a Query/Retrieve peer (access = granted) one study, revoke it, "
                       "or list the grants.",
                       opts);
    if (rc >= 0)
        return rc;
    if (!list && (peer == NULL || study == NULL))
        return usage("--peer and --study are required (or --list)");
    if (study != NULL && (strlen(study) == 0 || strlen(study) > 64 ||
                          strspn(study, "0123456789.") != strlen(study)))
        return usage("--study must be a UID (digits and dots, at most 64)");
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_load_conf(argv[0], config, &conf)) != 0)
        return rc;
    const conf_peer_t *p = NULL;
    for (int i = 0; peer != NULL && i < conf.n_peers; i++)
        if (strcmp(conf.peers[i].name, peer) == 0)
            p = &conf.peers[i];
    if (!list && p == NULL)
        return usage("no such [peer NAME] section in the configuration");
    if ((rc = cli_open_pg(argv[0], &conf, &pg)) != 0)
        return rc;
    cp_errinfo_t ei = {0};
    cp_err_t err = list ? store_qr_list_grants(pg, print_grant, NULL, &ei)
                        : store_qr_grant(pg, peer, study, revoke, &ei);
    store_pg_close(pg);
    if (err != CP_OK) {
        fprintf(stderr, "caseport grant: %s\n", cp_errinfo_msg(&ei, err));
        return 1;
    }
    if (!list && p->access != CONF_ACCESS_GRANTED)
        fprintf(stderr, "caseport grant: note: [peer %s] has access = %s, so grants do not "
                        "change what it sees\n",
                peer, p->access == CONF_ACCESS_ALL ? "all" : "none");
    return 0;
}
