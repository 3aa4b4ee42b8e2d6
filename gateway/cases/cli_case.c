/* gateway/cases/cli_case.c -- `caseport user`, `caseport case` and `caseport audit`: an
 * operator runs the case workflow from the command line. What a person does through the
 * CLI is done in their name (--as USERNAME) and under their role's rules; what the
 * operator does alone (accounts, opening a case) is audited as the operator's. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "case.h"
#include "caselist.h"
#include "cli.h"
#include "cli_int.h"
#include "conf.h"
#include "store_audit.h"
#include "store_cases.h"

static const store_actor_t operator_ = {0, "operator", "cli"};

static int fail(const char *cmd, cp_err_t err, const cp_errinfo_t *ei)
{
    fprintf(stderr, "caseport %s: %s\n", cmd, cp_errinfo_msg(ei, err));
    return err == CP_EINVAL || err == CP_EUSAGE ? 2 : 1;
}

static int usage(const char *cmd, const char *why)
{
    fprintf(stderr, "caseport %s: %s (try --help)\n", cmd, why);
    return 2;
}

/* Runs sub-action argv[1] of a command as its own command "cmd action". */
typedef int (*action_fn)(const char *cmd, int argc, char **argv);
typedef struct action {
    const char *name;
    action_fn run;
    const char *help;
} action_t;

static int dispatch(const char *cmd, int argc, char **argv, const action_t *actions)
{
    if (argc < 2 || strncmp(argv[1], "-", 1) == 0) {
        bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
        FILE *out = help ? stdout : stderr;
        fprintf(out, "usage: caseport %s ACTION [options]; actions:\n", cmd);
        for (const action_t *a = actions; a->name; a++)
            fprintf(out, "  %-8s %s\n", a->name, a->help);
        fprintf(out, "caseport %s ACTION --help shows an action's options\n", cmd);
        return help ? 0 : 2;
    }
    for (const action_t *a = actions; a->name; a++)
        if (strcmp(a->name, argv[1]) == 0) {
            char name[64];
            snprintf(name, sizeof name, "%s %s", cmd, a->name);
            argv[1] = name;
            return a->run(name, argc - 1, argv + 1);
        }
    fprintf(stderr, "caseport %s: unknown action \"%s\" (try --help)\n", cmd, argv[1]);
    return 2;
}

/* ---- caseport user ---- */

static int user_add(const char *cmd, int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *username = NULL, *role = NULL, *name = "";
    const char *subs = NULL;
    const cli_opt_t opts[] = {
        {"config", &config, NULL, "configuration file"},
        {"username", &username, NULL, "login name: a-z, 0-9, '.', '_', '-' (2-64)"},
        {"role", &role, NULL, "patient, navigator, specialist or administrator"},
        {"name", &name, NULL, "the name shown to others"},
        {"subspecialties", &subs, NULL, "a specialist's, comma-separated (e.g. neuro-oncology)"},
        {0}};
    int rc = cli_parse(argc, argv,
                       "Add an account. Its password is the first line of standard input (12 "
                       "to 128 characters), kept as an argon2id hash.",
                       opts);
    if (rc >= 0)
        return rc;
    char pw[256];
    if (fgets(pw, sizeof pw, stdin) == NULL)
        return usage(cmd, "no password on standard input");
    pw[strcspn(pw, "\r\n")] = '\0';
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_open_audited(cmd, config, &conf, &pg)) != 0) {
        OPENSSL_cleanse(pw, sizeof pw);
        return rc;
    }
    case_account_new_t a = {username, name, role, subs, pw};
    cp_errinfo_t ei = {0};
    int64_t id = 0;
    cp_err_t err = case_account_add(pg, &a, &operator_, &id, &ei);
    OPENSSL_cleanse(pw, sizeof pw);
    store_pg_close(pg);
    if (err == CP_EINVAL)
        return usage(cmd, cp_errinfo_msg(&ei, err));
    if (err != CP_OK)
        return fail(cmd, err, &ei);
    printf("account %s (%s) added\n", username, role);
    return 0;
}

int cli_user(int argc, char **argv)
{
    static const action_t actions[] = {{"add", user_add, "add an account"}, {0}};
    return dispatch("user", argc, argv, actions);
}

/* ---- caseport case ---- */

/* The whole file, NUL-terminated (*len its length; may be NULL); NULL if unreadable or
 * over max bytes. */
static char *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

static bool take_subspecialty(void *ud, const store_condition_t *d)
{
    snprintf(ud, 64, "%s", d->subspecialty);
    return true;
}

/* The subspecialty of condition code, unless one was named: CP_ENOENT for an unknown
 * code, as the API answers it. */
static cp_err_t condition_subspecialty(store_pg_t *pg, const char *code, const char **sub,
                                       char buf[64], cp_errinfo_t *ei)
{
    if (code == NULL)
        return CP_OK;
    buf[0] = '\0';
    cp_err_t err = store_cases_conditions(pg, code, take_subspecialty, buf, ei);
    if (err == CP_ENOENT || (err == CP_OK && buf[0] == '\0'))
        return cp_fail(ei, CP_EINVAL, 0, "no condition %s (the API's GET /api/v1/conditions "
                                         "lists them)", code);
    if (err == CP_OK && *sub == NULL)
        *sub = buf;
    return err;
}

static int case_new(const char *cmd, int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *patient = NULL, *birth = "", *sex = "";
    const char *condition = NULL, *sub = NULL, *opinion = NULL, *opinion_file = NULL;
    const char *condition_code = NULL;
    const char *navigator = NULL, *account = NULL;
    const cli_opt_t opts[] = {
        {"config", &config, NULL, "configuration file"},
        {"patient", &account, NULL, "the patient's own account (username), if they have one"},
        {"patient-name", &patient, NULL, "the patient's name, as DICOM writes it (Family^Given)"},
        {"birth-date", &birth, NULL, "YYYYMMDD"},
        {"sex", &sex, NULL, "M, F or O"},
        {"condition", &condition, NULL, "what the second opinion is about"},
        {"condition-code", &condition_code, NULL,
         "a seeded condition (glioma, dementia, ...): its subspecialty and questionnaire"},
        {"subspecialty", &sub, NULL, "e.g. neuro-oncology, multiple-sclerosis, dementia"},
        {"first-opinion", &opinion, NULL, "the first opinion's summary (a case needs one)"},
        {"first-opinion-file", &opinion_file, NULL, "... read from a text file"},
        {"navigator", &navigator, NULL, "the nurse navigator's username"},
        {0}};
    int rc = cli_parse(argc, argv, "Open a case; prints its token, e.g. CP-7K3M-9Q.", opts);
    if (rc >= 0)
        return rc;
    if (patient == NULL || condition == NULL || (sub == NULL && condition_code == NULL) ||
        (opinion == NULL) == (opinion_file == NULL))
        return usage(cmd, "--patient-name, --condition, --subspecialty or --condition-code, "
                          "and one of --first-opinion and --first-opinion-file are required");
    if (birth[0] && (strlen(birth) != 8 || strspn(birth, "0123456789") != 8))
        return usage(cmd, "--birth-date is YYYYMMDD");
    if (sex[0] && strcmp(sex, "M") && strcmp(sex, "F") && strcmp(sex, "O"))
        return usage(cmd, "--sex is M, F or O");
    char *text = opinion_file ? read_file(opinion_file, 1 << 20, NULL) : NULL;
    if (opinion_file && text == NULL)
        return usage(cmd, "cannot read --first-opinion-file (at most 1 MiB)");
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_open_audited(cmd, config, &conf, &pg)) != 0) {
        free(text);
        return rc;
    }
    cp_errinfo_t ei = {0};
    bool known = false;
    char sub_buf[64];
    cp_err_t err = condition_subspecialty(pg, condition_code, &sub, sub_buf, &ei);
    if (err == CP_OK)
        err = store_cases_subspecialty_known(pg, sub, &known, &ei);
    if (err == CP_OK && !known)
        err = cp_fail(&ei, CP_EINVAL, 0, "unknown subspecialty %s", sub);
    store_account_t nav = {0};
    if (err == CP_OK && navigator != NULL) {
        err = store_cases_account_get(pg, navigator, &nav, &ei);
        if (err == CP_OK && strcmp(nav.role, "navigator") != 0)
            err = cp_fail(&ei, CP_EINVAL, 0, "%s is not a navigator", navigator);
    }
    store_account_t pat = {0};
    if (err == CP_OK && account != NULL) {
        err = store_cases_account_get(pg, account, &pat, &ei);
        if (err == CP_OK && strcmp(pat.role, "patient") != 0)
            err = cp_fail(&ei, CP_EINVAL, 0, "%s is not a patient account", account);
    }
    store_case_new_t n = {.patient_name = patient, .birth_date = birth, .sex = sex,
                          .condition = condition, .subspecialty = sub,
                          .condition_code = condition_code,
                          .first_opinion = text ? text : opinion, .navigator_id = nav.id,
                          .patient_account_id = pat.id};
    char token[CASE_TOKEN_LEN + 1];
    int64_t id = 0;
    if (err == CP_OK)
        err = case_open(pg, &n, &operator_, token, &id, &ei);
    free(text);
    store_pg_close(pg);
    if (err != CP_OK)
        return fail(cmd, err, &ei);
    printf("%s\n", token);
    return 0;
}

static void when(int64_t t, char out[32])
{
    if (t == 0) {
        snprintf(out, 32, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%MZ", &tm);
}

static bool open_only(void *ud, const store_case_row_t *r)
{
    (void)ud;
    return strcmp(r->state, "closed") != 0 && strcmp(r->state, "withdrawn") != 0;
}

static int case_list(const char *cmd, int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG;
    bool all = false;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"},
                              {"all", NULL, &all, "closed and withdrawn cases too"},
                              {0}};
    int rc = cli_parse(argc, argv,
                       "List the open cases, most urgent first (overdue, then at risk, then "
                       "the nearest due time): token, state, records and opinion clocks, due "
                       "times, navigator, specialist.",
                       opts);
    if (rc >= 0)
        return rc;
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_open(cmd, config, &conf, &pg)) != 0)
        return rc;
    case_listed_t *v;
    size_t n;
    cp_errinfo_t ei = {0};
    cp_err_t err = case_worklist(pg, &conf, (int64_t)time(NULL), STORE_CASES_ALL, 0,
                                 all ? NULL : open_only, NULL,
                                 &v, &n, &ei);
    store_pg_close(pg);
    if (err != CP_OK)
        return fail(cmd, err, &ei);
    for (size_t i = 0; i < n; i++) {
        const store_case_row_t *r = &v[i].row;
        const case_sla_t *s = &v[i].sla;
        char rd[32], od[32];
        when(s->records_due, rd);
        when(s->opinion_due, od);
        printf("%s\t%s%s\trecords=%s due=%s\topinion=%s due=%s\tnavigator=%s\tspecialist=%s\n",
               r->token, r->state, s->paused ? " (waiting on the patient)" : "",
               case_sla_name(s->records), rd, case_sla_name(s->opinion), od,
               r->navigator[0] ? r->navigator : "-", r->specialist[0] ? r->specialist : "-");
    }
    free(v);
    return 0;
}

static bool print_event(void *ud, const store_case_event_t *e)
{
    (void)ud;
    printf("  %s  %s -> %s  by %s (%s)%s%s\n", e->at, e->from[0] ? e->from : "(new)", e->to,
           e->actor, e->role, e->reason[0] ? ": " : "", e->reason);
    return true;
}

static bool print_record(void *ud, const store_case_record_t *r)
{
    (void)ud;
    printf("  study %s  %s  matched by %s (confidence %.2f): %s  at %s\n", r->study_uid,
           r->modality_count, r->matched_by, r->confidence, r->detail, r->at);
    return true;
}

/* --token as typed, into the canonical form. */
static int parse_token(const char *cmd, const char *in, char out[CASE_TOKEN_LEN + 1])
{
    if (in == NULL)
        return usage(cmd, "--token is required");
    if (!case_token_parse(in, out))
        return usage(cmd, "that is not a case token like CP-7K3M-9Q, or it is mistyped");
    return 0;
}

/* What an action on one case starts with: the configuration, the database, and the case
 * its --token names. */
typedef struct on_case {
    conf_t conf;
    store_pg_t *pg;
    store_case_row_t c;
    char t[CASE_TOKEN_LEN + 1];
} on_case_t;

/* Reads --token, opens the database and finds the case: 0, or the exit code (said why). */
static int open_case(const char *cmd, const char *config, const char *token, on_case_t *o)
{
    memset(o, 0, sizeof *o);
    int rc = parse_token(cmd, token, o->t);
    if (rc == 0)
        rc = cli_open_audited(cmd, config, &o->conf, &o->pg);
    if (rc != 0)
        return rc;
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_get(o->pg, o->t, &o->c, &ei);
    if (err != CP_OK) {
        store_pg_close(o->pg);
        o->pg = NULL;
        return fail(cmd, err, &ei);
    }
    return 0;
}

static void print_case(const store_case_row_t *c, const conf_t *conf)
{
    case_sla_t s;
    case_row_sla(c, conf, (int64_t)time(NULL), &s);
    char rd[32], od[32];
    when(s.records_due, rd);
    when(s.opinion_due, od);
    printf("case %s\nstate: %s%s\npatient: %s, born %s, sex %s\ncondition: %s\n"
           "subspecialty: %s\nnavigator: %s\nspecialist: %s\n"
           "records: %s (due %s)\nopinion: %s (due %s)\ntimeline:\n",
           c->token, c->state, s.paused ? " (waiting on the patient)" : "", c->patient_name,
           c->birth_date[0] ? c->birth_date : "-", c->sex[0] ? c->sex : "-", c->condition,
           c->subspecialty, c->navigator[0] ? c->navigator : "-",
           c->specialist[0] ? c->specialist : "-", case_sla_name(s.records), rd,
           case_sla_name(s.opinion), od);
}

static int case_show(const char *cmd, int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *token = NULL;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"},
                              {"token", &token, NULL, "the case token"},
                              {0}};
    int rc = cli_parse(argc, argv, "Show a case: who, what, its clocks and its timeline.", opts);
    if (rc >= 0)
        return rc;
    on_case_t o;
    if ((rc = open_case(cmd, config, token, &o)) != 0)
        return rc;
    store_pg_t *pg = o.pg;
    const store_case_row_t *c = &o.c;
    /* the read is audited before anything of the case is shown */
    store_audit_row_t a = {c->id, "case", "case.read", "allowed"};
    cp_errinfo_t ei = {0};
    cp_err_t err = store_audit_append(pg, &a, &operator_, &ei);
    if (err == CP_OK) {
        print_case(c, &o.conf);
        err = store_cases_events(pg, c->id, print_event, NULL, &ei);
    }
    if (err == CP_OK) {
        printf("records:\n");
        err = store_cases_records(pg, c->id, print_record, NULL, &ei);
    }
    store_pg_close(pg);
    return err == CP_OK ? 0 : fail(cmd, err, &ei);
}

/* The acting account, and whether it is this case's own in its role. */
static cp_err_t actor_for(store_pg_t *pg, const char *username, const store_case_row_t *c,
                          store_account_t *a, case_role_t *role, bool *own, cp_errinfo_t *ei)
{
    cp_err_t err = store_cases_account_get(pg, username, a, ei);
    if (err != CP_OK)
        return err;
    if (a->disabled || !case_role_parse(a->role, role))
        return cp_fail(ei, CP_EINVAL, 0, "account %s cannot act", username);
    *own = case_row_own(c, *role, a->id);
    return CP_OK;
}

static int case_act(const char *cmd, int argc, char **argv, bool pausing)
{
    const char *config = CLI_DEFAULT_CONFIG, *token = NULL, *to = NULL, *as = NULL;
    const char *reason = "";
    const cli_opt_t move_opts[] = {{"config", &config, NULL, "configuration file"},
                                   {"token", &token, NULL, "the case token"},
                                   {"to", &to, NULL, "the new state"},
                                   {"as", &as, NULL, "the username of who moves it"},
                                   {"reason", &reason, NULL, "why (kept in the timeline)"},
                                   {0}};
    const cli_opt_t pause_opts[] = {{"config", &config, NULL, "configuration file"},
                                    {"token", &token, NULL, "the case token"},
                                    {"as", &as, NULL, "the navigator's username"},
                                    {"reason", &reason, NULL, "why (kept in the timeline)"},
                                    {0}};
    bool resume = strstr(cmd, "resume") != NULL;
    int rc = cli_parse(argc, argv,
                       pausing ? "Mark a case as waiting on the patient (pause: its clocks "
                                 "stand still) or no longer (resume)."
                               : "Move a case to another state, in the name of one of the "
                                 "case's own people and under their role's rules.",
                       pausing ? pause_opts : move_opts);
    if (rc >= 0)
        return rc;
    case_state_t want = CASE_REGISTERED;
    if (as == NULL || (!pausing && (to == NULL || !case_state_parse(to, &want))))
        return usage(cmd, pausing ? "--as is required" : "--to STATE and --as are required");
    on_case_t o;
    if ((rc = open_case(cmd, config, token, &o)) != 0)
        return rc;
    store_pg_t *pg = o.pg;
    store_case_row_t c = o.c;
    const char *t = o.t;
    store_account_t a = {0};
    case_role_t role = CASE_ROLE_PATIENT;
    bool own = false;
    cp_errinfo_t ei = {0};
    cp_err_t err = actor_for(pg, as, &c, &a, &role, &own, &ei);
    case_state_t from = CASE_REGISTERED;
    if (err == CP_OK && !case_state_parse(c.state, &from))
        err = cp_fail(&ei, CP_EIO, 0, "the case is in an unknown state %s", c.state);
    bool allowed = own && (pausing ? role == CASE_ROLE_NAVIGATOR
                                   : case_transition_allowed(from, want, role));
    store_actor_t by = {a.id, a.role, "cli"};
    bool written = true;
    if (err == CP_OK && allowed && !pausing &&
        (want == CASE_OPINION_DRAFTED || want == CASE_OPINION_PUBLISHED))
        err = store_cases_opinion_exists(pg, c.id, &written, NULL, &ei);
    if (err == CP_OK && !written)
        err = cp_fail(&ei, CP_EINVAL, 0, "no opinion is written yet (caseport opinion write)");
    if (err == CP_OK && !allowed) {
        char action[96];
        snprintf(action, sizeof action, pausing ? "case.%s" : "case.move %s -> %s",
                 pausing ? (resume ? "resume" : "pause") : c.state, to ? to : "");
        store_audit_row_t d = {c.id, "case", action, "denied"};
        err = store_audit_append(pg, &d, &by, &ei);
        if (err == CP_OK)
            err = cp_fail(&ei, CP_EINVAL, 0, "%s (%s) may not %s this case%s", as, a.role,
                          pausing ? (resume ? "resume" : "pause") : "move",
                          own ? " that way" : ": it is not theirs");
    }
    if (err == CP_OK)
        err = pausing ? store_cases_pause(pg, c.id, !resume, reason, &by, &ei)
                      : store_cases_move(pg, c.id, c.state, to, reason, &by, &ei);
    store_pg_close(pg);
    if (err != CP_OK) { /* refused or failed: not a wrong call */
        fprintf(stderr, "caseport %s: %s\n", cmd, cp_errinfo_msg(&ei, err));
        return 1;
    }
    if (pausing)
        printf("%s %s\n", t, resume ? "resumed" : "waiting on the patient");
    else
        printf("%s %s -> %s\n", t, c.state, to);
    return 0;
}

static int case_move(const char *cmd, int argc, char **argv)
{
    return case_act(cmd, argc, argv, false);
}

static int case_pause(const char *cmd, int argc, char **argv)
{
    return case_act(cmd, argc, argv, true);
}

static int case_assign(const char *cmd, int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *token = NULL, *nav = NULL, *spec = NULL;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"},
                              {"token", &token, NULL, "the case token"},
                              {"navigator", &nav, NULL, "the navigator's username"},
                              {"specialist", &spec, NULL, "the specialist's username"},
                              {0}};
    int rc = cli_parse(argc, argv, "Assign a case's navigator or specialist.", opts);
    if (rc >= 0)
        return rc;
    if ((nav == NULL) == (spec == NULL))
        return usage(cmd, "one of --navigator and --specialist is required");
    on_case_t o;
    if ((rc = open_case(cmd, config, token, &o)) != 0)
        return rc;
    store_pg_t *pg = o.pg;
    const char *t = o.t;
    store_account_t a;
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_account_get(pg, nav ? nav : spec, &a, &ei);
    if (err == CP_OK)
        err = store_cases_assign(pg, o.c.id, nav ? "navigator" : "specialist", a.id, &operator_,
                                 &ei);
    store_pg_close(pg);
    if (err != CP_OK)
        return fail(cmd, err, &ei);
    printf("%s %s: %s\n", t, nav ? "navigator" : "specialist", nav ? nav : spec);
    return 0;
}

static bool print_load(void *ud, const store_specialist_load_t *s)
{
    int *n = ud;
    printf("%s\t%s\t%lld open case(s)%s\n", s->username, s->display_name[0] ? s->display_name : "-",
           (long long)s->open_cases, (*n)++ == 0 ? "\tsuggested" : "");
    return true;
}

static int case_suggest(const char *cmd, int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *token = NULL;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"},
                              {"token", &token, NULL, "the case token"},
                              {0}};
    int rc = cli_parse(argc, argv,
                       "The specialists of the case's subspecialty, least loaded first (open "
                       "cases assigned to them); the first is suggested. Assign with case "
                       "assign --specialist.",
                       opts);
    if (rc >= 0)
        return rc;
    on_case_t o;
    if ((rc = open_case(cmd, config, token, &o)) != 0)
        return rc;
    cp_errinfo_t ei = {0};
    int n = 0;
    cp_err_t err = store_cases_suggest(o.pg, o.c.id, print_load, &n, &ei);
    store_pg_close(o.pg);
    if (err == CP_OK && n == 0)
        err = cp_fail(&ei, CP_ENOENT, 0, "no active specialist of %s", o.c.subspecialty);
    return err == CP_OK ? 0 : fail(cmd, err, &ei);
}

int cli_case(int argc, char **argv)
{
    static const action_t actions[] = {
        {"new", case_new, "open a case"},
        {"list", case_list, "the open cases, most urgent first"},
        {"show", case_show, "one case: who, what, clocks, timeline"},
        {"move", case_move, "move a case to another state"},
        {"pause", case_pause, "the case waits on the patient: its clocks stand still"},
        {"resume", case_pause, "the case no longer waits on the patient"},
        {"assign", case_assign, "assign the navigator or the specialist"},
        {"suggest", case_suggest, "the specialists to assign, least loaded first"},
        {0}};
    return dispatch("case", argc, argv, actions);
}

/* ---- caseport opinion ---- */

/* The case and the acting account, which must be the case's own in role want. */
static cp_err_t own_case(store_pg_t *pg, const char *token, const char *as, case_role_t want,
                         store_case_row_t *c, store_account_t *a, cp_errinfo_t *ei)
{
    case_role_t role;
    bool own = false;
    cp_err_t err = store_cases_get(pg, token, c, ei);
    if (err == CP_OK)
        err = actor_for(pg, as, c, a, &role, &own, ei);
    if (err == CP_OK && (role != want || !own)) {
        store_actor_t by = {a->id, a->role, "cli"};
        store_audit_row_t d = {c->id, "opinion", "opinion", "denied"};
        err = store_audit_append(pg, &d, &by, ei);
        if (err == CP_OK)
            err = cp_fail(ei, CP_EINVAL, 0, "%s is not this case's %s", as, case_role_name(want));
    }
    return err;
}

/* Stores a PDF (checked to be one, at most 50 MiB) as an encrypted blob. */
static cp_err_t store_pdf(const conf_t *conf, const char *path, store_addr_t *addr,
                          uint64_t *size, char key_id[32], cp_errinfo_t *ei)
{
    size_t len = 0;
    char *pdf = read_file(path, 50u << 20, &len);
    if (pdf == NULL)
        return cp_fail(ei, CP_EINVAL, 0, "cannot read %s (at most 50 MiB)", path);
    store_blob_t *blobs = NULL;
    cp_err_t err = store_blob_open_writer(conf->storage.blob_dir, conf->storage.key_file,
                                          &blobs, ei);
    if (err == CP_OK)
        err = case_pdf_store(blobs, pdf, len, addr, size, key_id, ei);
    store_blob_close(blobs);
    free(pdf);
    return err;
}

static int opinion_write(const char *cmd, int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *token = NULL, *as = NULL, *text_file = NULL;
    const char *pdf = NULL;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"},
                              {"token", &token, NULL, "the case token"},
                              {"as", &as, NULL, "the case's specialist (username)"},
                              {"text-file", &text_file, NULL, "the opinion, as UTF-8 text"},
                              {"pdf", &pdf, NULL, "the signed opinion as a PDF (optional)"},
                              {0}};
    int rc = cli_parse(argc, argv,
                       "Write or rewrite a case's opinion (text, and a PDF kept encrypted); "
                       "publish it with case move --to opinion_published.",
                       opts);
    if (rc >= 0)
        return rc;
    char t[CASE_TOKEN_LEN + 1];
    if ((rc = parse_token(cmd, token, t)) != 0)
        return rc;
    if (as == NULL || text_file == NULL)
        return usage(cmd, "--as and --text-file are required");
    char *text = read_file(text_file, 1 << 20, NULL);
    if (text == NULL || text[strspn(text, " \t\r\n")] == '\0') {
        free(text);
        return usage(cmd, "--text-file is unreadable, empty or over 1 MiB");
    }
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_open_audited(cmd, config, &conf, &pg)) != 0) {
        free(text);
        return rc;
    }
    store_case_row_t c = {0};
    store_account_t a = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = own_case(pg, t, as, CASE_ROLE_SPECIALIST, &c, &a, &ei);
    store_addr_t addr;
    uint64_t size = 0;
    char key_id[32] = "";
    if (err == CP_OK && pdf != NULL)
        err = store_pdf(&conf, pdf, &addr, &size, key_id, &ei);
    store_actor_t by = {a.id, "specialist", "cli"};
    if (err == CP_OK)
        err = store_cases_opinion_put(pg, c.id, text, pdf ? &addr : NULL, size, key_id, &by, &ei);
    store_pg_close(pg);
    free(text);
    if (err != CP_OK)
        return fail(cmd, err, &ei);
    printf("opinion written for %s%s\n", t, pdf ? " (with its PDF)" : "");
    return 0;
}

static int opinion_send(const char *cmd, int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *token = NULL, *as = NULL, *to = NULL;
    const char *fax = NULL, *email = NULL;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"},
                              {"token", &token, NULL, "the case token"},
                              {"as", &as, NULL, "the case's patient (username)"},
                              {"to", &to, NULL, "the doctor's name"},
                              {"fax", &fax, NULL, "the doctor's fax number"},
                              {"email", &email, NULL, "the doctor's e-mail address"},
                              {0}};
    int rc = cli_parse(argc, argv,
                       "The patient asks for the published opinion to be sent to their own "
                       "doctor; recorded as an outbound request.",
                       opts);
    if (rc >= 0)
        return rc;
    char t[CASE_TOKEN_LEN + 1];
    if ((rc = parse_token(cmd, token, t)) != 0)
        return rc;
    if (as == NULL || to == NULL || (fax == NULL && email == NULL))
        return usage(cmd, "--as, --to and --fax or --email are required");
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_open_audited(cmd, config, &conf, &pg)) != 0)
        return rc;
    store_case_row_t c = {0};
    store_account_t a = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = own_case(pg, t, as, CASE_ROLE_PATIENT, &c, &a, &ei);
    if (err == CP_OK && strcmp(c.state, "opinion_published") != 0 &&
        strcmp(c.state, "closed") != 0)
        err = cp_fail(&ei, CP_EINVAL, 0, "the opinion is not published yet");
    store_actor_t by = {a.id, "patient", "cli"};
    int64_t id = 0;
    if (err == CP_OK)
        err = store_cases_outbound_add(pg, c.id, to, fax, email, &by, &id, &ei);
    store_pg_close(pg);
    if (err != CP_OK)
        return fail(cmd, err, &ei);
    printf("request %lld: the opinion of %s to be sent to %s\n", (long long)id, t, to);
    return 0;
}

int cli_opinion(int argc, char **argv)
{
    static const action_t actions[] = {{"write", opinion_write, "write the opinion (specialist)"},
                                       {"send", opinion_send, "send it to the patient's doctor"},
                                       {0}};
    return dispatch("opinion", argc, argv, actions);
}

/* ---- caseport request, caseport triage ---- */

/* The acting account by username, which must have role want (a navigator, here). */
static cp_err_t navigator_named(store_pg_t *pg, const char *as, store_account_t *a,
                                cp_errinfo_t *ei)
{
    cp_err_t err = store_cases_account_get(pg, as, a, ei);
    if (err == CP_OK && (a->disabled || strcmp(a->role, "navigator") != 0))
        err = cp_fail(ei, CP_EINVAL, 0, "%s is not an active navigator", as);
    return err;
}

static int request_add(const char *cmd, int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *token = NULL, *as = NULL;
    store_request_new_t r = {0};
    const cli_opt_t opts[] = {
        {"config", &config, NULL, "configuration file"},
        {"token", &token, NULL, "the case token"},
        {"as", &as, NULL, "the case's navigator (username)"},
        {"provider", &r.provider, NULL, "who holds the records (hospital, clinic)"},
        {"ae-title", &r.ae_title, NULL, "its PACS's calling AE title (none: any sender)"},
        {"fax", &r.fax, NULL, "its fax number"},
        {"email", &r.email, NULL, "its e-mail address"},
        {"patient-id", &r.patient_id, NULL, "the patient's MRN there"},
        {"issuer", &r.issuer, NULL, "the MRN's issuer (Issuer of Patient ID)"},
        {"patient-name", &r.patient_name, NULL, "the patient's name there (Family^Given)"},
        {"birth-date", &r.birth_date, NULL, "YYYYMMDD"},
        {0}};
    int rc = cli_parse(argc, argv,
                       "Ask a provider for a case's records. What arrives from it for that "
                       "patient (the MRN with its issuer, or the name with the birth date) is "
                       "attached to the case.",
                       opts);
    if (rc >= 0)
        return rc;
    if (as == NULL || r.provider == NULL ||
        (r.patient_id == NULL && (r.patient_name == NULL || r.birth_date == NULL)))
        return usage(cmd, "--as, --provider, and --patient-id or --patient-name with "
                          "--birth-date are required");
    on_case_t o;
    if ((rc = open_case(cmd, config, token, &o)) != 0)
        return rc;
    store_pg_t *pg = o.pg;
    const store_case_row_t c = o.c;
    const char *t = o.t;
    store_account_t a = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = navigator_named(pg, as, &a, &ei);
    if (err == CP_OK && c.navigator_id != a.id)
        err = cp_fail(&ei, CP_EINVAL, 0, "%s is not this case's navigator", as);
    store_actor_t by = {a.id, "navigator", "cli"};
    int64_t id = 0;
    if (err == CP_OK)
        err = store_cases_request_add(pg, c.id, &r, &by, &id, &ei);
    store_pg_close(pg);
    if (err != CP_OK)
        return fail(cmd, err, &ei);
    printf("request %lld open for %s\n", (long long)id, t);
    return 0;
}

int cli_request(int argc, char **argv)
{
    static const action_t actions[] = {{"add", request_add, "ask a provider for records"},
                                       {0}};
    return dispatch("request", argc, argv, actions);
}

static bool print_triage(void *ud, const store_triage_item_t *t)
{
    (void)ud;
    printf("%lld\tstudy %s\t%lld instance(s)\tfrom %s to %s\t%s\t%s%s%s\n", (long long)t->id,
           t->study_uid, (long long)t->instances, t->calling_ae, t->called_ae, t->received_at,
           t->reason, t->candidates[0] ? "; candidates " : "", t->candidates);
    return true;
}

static int triage_list(const char *cmd, int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"}, {0}};
    int rc = cli_parse(argc, argv,
                       "The open triage items, oldest first: studies no case token or records "
                       "request matched, or that several cases could claim.",
                       opts);
    if (rc >= 0)
        return rc;
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_open(cmd, config, &conf, &pg)) != 0)
        return rc;
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_triage_list(pg, print_triage, NULL, &ei);
    store_pg_close(pg);
    return err == CP_OK ? 0 : fail(cmd, err, &ei);
}

static int triage_decide(const char *cmd, int argc, char **argv, bool attach)
{
    const char *config = CLI_DEFAULT_CONFIG, *item = NULL, *token = NULL, *as = NULL;
    const char *reason = NULL;
    const cli_opt_t attach_opts[] = {{"config", &config, NULL, "configuration file"},
                                     {"item", &item, NULL, "the triage item's number"},
                                     {"token", &token, NULL, "the case to attach it to"},
                                     {"as", &as, NULL, "the navigator deciding"},
                                     {"reason", &reason, NULL, "why (kept)"},
                                     {0}};
    const cli_opt_t reject_opts[] = {{"config", &config, NULL, "configuration file"},
                                     {"item", &item, NULL, "the triage item's number"},
                                     {"as", &as, NULL, "the navigator deciding"},
                                     {"reason", &reason, NULL, "why (kept)"},
                                     {0}};
    int rc = cli_parse(argc, argv,
                       attach ? "Attach a triage item's study to a case."
                              : "Reject a triage item (it belongs to no case).",
                       attach ? attach_opts : reject_opts);
    if (rc >= 0)
        return rc;
    char *end = NULL;
    long long n = item ? strtoll(item, &end, 10) : 0;
    if (n < 1 || *end != '\0' || as == NULL || reason == NULL)
        return usage(cmd, "--item N, --as and --reason are required");
    char t[CASE_TOKEN_LEN + 1];
    if (attach && (rc = parse_token(cmd, token, t)) != 0)
        return rc;
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_open_audited(cmd, config, &conf, &pg)) != 0)
        return rc;
    store_case_row_t c = {0};
    store_account_t a = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = navigator_named(pg, as, &a, &ei);
    if (err == CP_OK && attach)
        err = store_cases_get(pg, t, &c, &ei);
    store_actor_t by = {a.id, "navigator", "cli"};
    if (err == CP_OK)
        err = store_cases_triage_decide(pg, n, attach ? c.id : 0, reason, &by, &ei);
    store_pg_close(pg);
    if (err != CP_OK)
        return fail(cmd, err, &ei);
    printf("triage item %lld %s\n", n, attach ? "attached" : "rejected");
    return 0;
}

static int triage_attach(const char *cmd, int argc, char **argv)
{
    return triage_decide(cmd, argc, argv, true);
}

static int triage_reject(const char *cmd, int argc, char **argv)
{
    return triage_decide(cmd, argc, argv, false);
}

int cli_triage(int argc, char **argv)
{
    static const action_t actions[] = {{"list", triage_list, "the open items, oldest first"},
                                       {"attach", triage_attach, "attach an item to a case"},
                                       {"reject", triage_reject, "reject an item"},
                                       {0}};
    return dispatch("triage", argc, argv, actions);
}

/* ---- caseport audit ---- */

/* One line per finding: which row, what kind, why. */
static void print_findings(const char *cmd, const store_audit_report_t *rep)
{
    int64_t kept = rep->findings < STORE_AUDIT_FINDINGS_MAX ? rep->findings
                                                            : STORE_AUDIT_FINDINGS_MAX;
    for (int64_t i = 0; i < kept; i++) {
        const store_audit_finding_t *f = &rep->finding[i];
        fprintf(stderr, "caseport %s: row %lld: %s: %s\n", cmd, (long long)f->seq,
                store_audit_kind_name(f->kind), f->why);
    }
    if (rep->findings > kept)
        fprintf(stderr, "caseport %s: and %lld finding(s) more\n", cmd,
                (long long)(rep->findings - kept));
}

static int audit_verify(const char *cmd, int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"}, {0}};
    int rc = cli_parse(argc, argv,
                       "Check the audit trail from its first row: every row's keyed hash and "
                       "link, and every anchor in [audit] anchor_file. Exit 0 if intact, 1 "
                       "naming each row edited, re-hashed, removed, downgraded or cut off.",
                       opts);
    if (rc >= 0)
        return rc;
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_open_audited(cmd, config, &conf, &pg)) != 0)
        return rc;
    store_audit_report_t rep;
    cp_errinfo_t ei = {0};
    cp_err_t err = store_audit_verify(pg, conf.audit.anchor_file, &rep, &ei);
    store_pg_close(pg);
    if (rep.bad_lines > 0)
        fprintf(stderr, "caseport %s: %lld line(s) of %s are not anchors: ignored\n", cmd,
                (long long)rep.bad_lines, conf.audit.anchor_file);
    if (err == CP_ETAMPER) {
        print_findings(cmd, &rep);
        fprintf(stderr,
                "caseport %s: audit trail NOT intact: %lld finding(s) in %lld row(s) checked "
                "against %lld anchor(s)\n",
                cmd, (long long)rep.findings, (long long)rep.rows, (long long)rep.anchors);
        return 1;
    }
    if (err != CP_OK)
        return fail(cmd, err, &ei);
    printf("audit trail intact: %lld row(s) (%lld keyed) checked against %lld anchor(s)\n",
           (long long)rep.rows, (long long)rep.keyed, (long long)rep.anchors);
    return 0;
}

int cli_audit(int argc, char **argv)
{
    static const action_t actions[] = {
        {"verify", audit_verify, "check the hash chain and its anchors"}, {0}};
    return dispatch("audit", argc, argv, actions);
}
