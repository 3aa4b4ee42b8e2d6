/* gateway/cli_jobs.c -- `caseport jobs`: what the durable job queue holds, and a dead
 * job sent back to work. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_int.h"
#include "conf.h"
#include "store_jobs.h"

static bool print_job(void *ud, const store_job_row_t *r)
{
    (void)ud;
    printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r->id, r->kind, r->instance_id, r->state, r->attempts,
           r->run_after, r->last_error);
    return true;
}

int cli_jobs(int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *state = NULL, *retry = NULL, *limit = "100";
    bool reindex = false, all = false;
    const cli_opt_t opts[] = {
        {"config", &config, NULL, "configuration file"},
        {"state", &state, NULL, "only jobs in this state: queued, running, done or dead"},
        {"limit", &limit, NULL, "at most this many, newest first (default 100)"},
        {"retry", &retry, NULL, "queue the dead job with this id again"},
        {"reindex", NULL, &reindex,
         "queue reindex jobs for the instances whose indexed text holds U+FFFD"},
        {"all", NULL, &all, "with --reindex: every current instance"},
        {0}};
    int rc = cli_parse(argc, argv,
                       "List the job queue (id, kind, instance, state, attempts, due, last "
                       "error), retry a dead job, or queue reindex jobs (the workers of "
                       "caseport serve run them).",
                       opts);
    if (rc >= 0)
        return rc;
    static const char *const states[] = {"queued", "running", "done", "dead"};
    bool known = state == NULL;
    for (size_t i = 0; i < 4 && !known; i++)
        known = strcmp(state, states[i]) == 0;
    char *end_n, *end_id = NULL;
    long n = strtol(limit, &end_n, 10);
    long long id = retry ? strtoll(retry, &end_id, 10) : 0;
    if (!known || n < 1 || *end_n != '\0' || (retry && (*end_id != '\0' || id < 1))) {
        fprintf(stderr, "caseport jobs: --state is queued, running, done or dead; --limit and "
                        "--retry take positive numbers\n");
        return 2;
    }
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_open(argv[0], config, &conf, &pg)) != 0)
        return rc;
    cp_errinfo_t ei = {0};
    int queued = 0;
    cp_err_t err = retry     ? store_jobs_retry(pg, id, &ei)
                   : reindex ? store_jobs_queue_reindex(pg, all, &queued, &ei)
                             : store_jobs_list(pg, state, (int)n, print_job, NULL, &ei);
    store_pg_close(pg);
    if (err != CP_OK) {
        fprintf(stderr, "caseport jobs: %s\n", cp_errinfo_msg(&ei, err));
        return 1;
    }
    if (retry)
        printf("job %lld queued again\n", id);
    if (reindex)
        printf("queued %d reindex job(s)\n", queued);
    return 0;
}
