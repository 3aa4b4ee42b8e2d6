/* gateway/cli.c -- operator commands: option parsing and the offline commands
 * (migrate, keygen, ls, export, verify). `serve` lives in serve.c. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "cli_int.h"
#include <openssl/crypto.h>
#include "codec_dicom.h"
#include "conf.h"
#include "store_audit.h"
#include "store_blob.h"
#include "store_pg.h"
#include "store_sweep.h"

/* ---- option parsing ---- */

static void print_help(const char *cmd, const char *summary, const cli_opt_t *opts)
{
    printf("usage: caseport %s [options]\n%s\n\noptions:\n", cmd, summary);
    for (const cli_opt_t *o = opts; o->name != NULL; o++) {
        char left[48];
        snprintf(left, sizeof left, "--%s%s", o->name, o->value ? " VALUE" : "");
        printf("  %-22s %s\n", left, o->help);
    }
    printf("  %-22s %s\n", "--help", "show this help");
}

/* Returns -1 to go on, else the exit code (0 after --help, 2 for a wrong call). */
const char *cli_default_config(void)
{
    const char *env = getenv("CASEPORT_CONFIG");
    return env != NULL && env[0] != '\0' ? env : "config/caseport.conf";
}

int cli_parse(int argc, char **argv, const char *summary, const cli_opt_t *opts)
{
    const char *cmd = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(cmd, summary, opts);
            return 0;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "caseport %s: unexpected argument \"%s\"\n", cmd, arg);
            return 2;
        }
        const char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        const cli_opt_t *o = opts;
        while (o->name && !(strlen(o->name) == nlen && strncmp(o->name, arg + 2, nlen) == 0))
            o++;
        if (o->name == NULL) {
            fprintf(stderr, "caseport %s: unknown option \"%.*s\"\n", cmd, (int)nlen + 2, arg);
            return 2;
        }
        if (o->value == NULL) {
            if (eq) {
                fprintf(stderr, "caseport %s: --%s takes no value\n", cmd, o->name);
                return 2;
            }
            *o->flag = true;
            continue;
        }
        if (eq)
            *o->value = eq + 1;
        else if (i + 1 < argc)
            *o->value = argv[++i];
        else {
            fprintf(stderr, "caseport %s: --%s needs a value\n", cmd, o->name);
            return 2;
        }
    }
    return -1;
}

int cli_load_conf(const char *cmd, const char *path, conf_t *conf)
{
    cp_errinfo_t ei = {0};
    cp_err_t err = conf_load(path, conf, &ei);
    if (err != CP_OK) {
        fprintf(stderr, "caseport %s: %s\n", cmd, cp_errinfo_msg(&ei, err));
        return 2;
    }
    cp_log_setup(conf->log.level, conf->log.format);
    return 0;
}

int cli_open_pg(const char *cmd, const conf_t *conf, store_pg_t **pg)
{
    cp_errinfo_t ei = {0};
    char conninfo[4096];
    cp_err_t err = conf_pg_conninfo(conf, conninfo, sizeof conninfo, &ei);
    if (err == CP_OK)
        err = store_pg_open(conninfo, 1, pg, &ei);
    if (err != CP_OK) {
        fprintf(stderr, "caseport %s: %s\n", cmd, cp_errinfo_msg(&ei, err));
        return 1;
    }
    return 0;
}

static int fail(const char *cmd, cp_err_t err, const cp_errinfo_t *ei)
{
    fprintf(stderr, "caseport %s: %s\n", cmd, cp_errinfo_msg(ei, err));
    return 1;
}

int cli_open(const char *cmd, const char *config, conf_t *conf, store_pg_t **pg)
{
    int rc = cli_load_conf(cmd, config, conf);
    return rc != 0 ? rc : cli_open_pg(cmd, conf, pg);
}

int cli_open_audited(const char *cmd, const char *config, conf_t *conf, store_pg_t **pg)
{
    int rc = cli_open(cmd, config, conf, pg);
    if (rc != 0)
        return rc;
    cp_errinfo_t ei = {0};
    cp_err_t err = store_audit_load_key(*pg, conf->storage.key_file, &ei);
    if (err == CP_OK)
        return 0;
    store_pg_close(*pg);
    *pg = NULL;
    fprintf(stderr, "caseport %s: the audit trail's key: %s\n", cmd, cp_errinfo_msg(&ei, err));
    return 1;
}

/* For commands whose only option is --config: parse, load the configuration, open the
 * database. Returns -1 to go on, else the exit code. */
static int cli_begin(int argc, char **argv, const char *summary, conf_t *conf, store_pg_t **pg)
{
    const char *config = CLI_DEFAULT_CONFIG;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"}, {0}};
    int rc = cli_parse(argc, argv, summary, opts);
    if (rc >= 0 || (rc = cli_open(argv[0], config, conf, pg)) != 0)
        return rc;
    return -1;
}

/* ---- migrate ---- */

int cli_migrate(int argc, char **argv)
{
    conf_t conf;
    store_pg_t *pg = NULL;
    int rc = cli_begin(argc, argv, "Apply the database schema migrations.", &conf, &pg);
    if (rc >= 0)
        return rc;
    cp_errinfo_t ei = {0};
    int applied = 0;
    cp_err_t err = store_pg_migrate(pg, &applied, &ei);
    store_pg_close(pg);
    if (err != CP_OK)
        return fail(argv[0], err, &ei);
    printf("applied %d migration(s); schema at version %d\n", applied,
           store_migrations[store_migration_count - 1].version);
    return 0;
}

/* ---- keygen ---- */

int cli_keygen(int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *out = NULL;
    const cli_opt_t opts[] = {
        {"config", &config, NULL, "configuration file (its [storage] key_file is written)"},
        {"out", &out, NULL, "write the key here instead"},
        {0}};
    int rc = cli_parse(argc, argv, "Create a new 256-bit key-encryption key (mode 0600).", opts);
    if (rc >= 0)
        return rc;
    conf_t conf;
    if (out == NULL) {
        if ((rc = cli_load_conf(argv[0], config, &conf)) != 0)
            return rc;
        out = conf.storage.key_file;
    }
    cp_errinfo_t ei = {0};
    cp_err_t err = store_blob_keygen(out, &ei);
    if (err != CP_OK)
        return fail(argv[0], err, &ei);
    printf("wrote a new key to %s\n", out);
    return 0;
}

/* ---- ls ---- */

typedef struct ls_state {
    char patient[200], study[70], series[70];
    long count;
} ls_state_t;

static void ls_row(void *ud, const store_ls_row_t *r)
{
    ls_state_t *st = ud;
    char pkey[200];
    snprintf(pkey, sizeof pkey, "%s|%s", r->patient_id, r->issuer);
    if (strcmp(pkey, st->patient) != 0) {
        snprintf(st->patient, sizeof st->patient, "%s", pkey);
        st->study[0] = '\0';
        printf("patient %s%s%s name=\"%s\" birth_date=%s sex=%s\n",
               r->patient_id[0] ? r->patient_id : "(none)", r->issuer[0] ? " issuer=" : "",
               r->issuer, r->patient_name, r->birth_date, r->sex);
    }
    if (strcmp(r->study_uid, st->study) != 0) {
        snprintf(st->study, sizeof st->study, "%s", r->study_uid);
        st->series[0] = '\0';
        printf("  study %s date=%s accession=%s description=\"%s\"\n",
               r->study_uid[0] ? r->study_uid : "(none)", r->study_date, r->accession,
               r->study_desc);
    }
    if (strcmp(r->series_uid, st->series) != 0) {
        snprintf(st->series, sizeof st->series, "%s", r->series_uid);
        printf("    series %s modality=%s number=%s description=\"%s\"\n",
               r->series_uid[0] ? r->series_uid : "(none)", r->modality, r->series_number,
               r->series_desc);
    }
    printf("      instance %s version=%d number=%s class=%s ts=%s size=%lld receipts=%d "
           "from=%s received=%s%s%s%s%s%s%s%s%s%s%s\n",
           r->sop_instance_uid, r->version, r->instance_number, r->sop_class_uid,
           r->transfer_syntax, (long long)r->size, r->receipt_count, r->calling_ae,
           r->received_at, r->encodings[0] ? " also-as-ts=" : "", r->encodings,
           r->flagged ? " FLAGGED" : "", r->identity_note[0] ? " IDENTITY-DIFFERS=\"" : "",
           r->identity_note, r->identity_note[0] ? "\"" : "",
           r->duplicate_of[0] ? " same-pixels-as=" : "", r->duplicate_of,
           r->duplicates[0] ? " also-received-as=" : "", r->duplicates);
    st->count++;
}

int cli_ls(int argc, char **argv)
{
    conf_t conf;
    store_pg_t *pg = NULL;
    const char *config = CLI_DEFAULT_CONFIG;
    bool all = false;
    const cli_opt_t opts[] = {
        {"config", &config, NULL, "configuration file"},
        {"all", NULL, &all, "also list duplicates (the same decoded pixels under other UIDs)"},
        {0}};
    int rc = cli_parse(argc, argv,
                       "List every patient, study, series and instance received, as a tree. An\n"
                       "instance whose decoded pixels an earlier one of the same patient has is\n"
                       "named on that one's line (also-received-as=) instead of its own; the same\n"
                       "pixels under another patient are listed, marked same-pixels-as=.",
                       opts);
    if (rc >= 0 || (rc = cli_open(argv[0], config, &conf, &pg)) != 0)
        return rc;
    ls_state_t st = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = store_pg_list(pg, all, ls_row, &st, &ei);
    store_pg_close(pg);
    if (err != CP_OK)
        return fail(argv[0], err, &ei);
    printf("%ld instance(s)\n", st.count);
    return 0;
}

/* ---- export ---- */

static cp_err_t write_all(int fd, const void *p, size_t n, cp_errinfo_t *ei)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return cp_fail(ei, cp_err_from_errno(errno), errno, "writing the output file");
        c += w;
        n -= (size_t)w;
    }
    return CP_OK;
}

static cp_err_t copy_blob(store_blob_t *blobs, const store_instance_info_t *inst, int fd,
                          cp_errinfo_t *ei)
{
    uint8_t meta[1024];
    size_t mlen;
    cp_err_t err = codec_part10_meta(inst->sop_class_uid, inst->sop_instance_uid,
                                     inst->transfer_syntax, inst->calling_ae, meta, sizeof meta,
                                     &mlen, ei);
    if (err == CP_OK)
        err = write_all(fd, meta, mlen, ei);
    store_blob_reader_t *r = NULL;
    if (err == CP_OK)
        err = store_blob_reader_open(blobs, &inst->addr, &r, ei);
    static uint8_t buf[256 * 1024];
    size_t n = 0;
    while (err == CP_OK && (err = store_blob_reader_read(r, buf, sizeof buf, &n, ei)) == CP_OK &&
           n > 0)
        err = write_all(fd, buf, n, ei);
    store_blob_reader_close(r);
    if (err == CP_OK && fsync(fd) != 0)
        err = cp_fail(ei, cp_err_from_errno(errno), errno, "syncing the output file");
    return err;
}

int cli_export(int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *sop = NULL, *out = NULL, *version = "0";
    bool normalized = false, last = false;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"},
                              {"sop", &sop, NULL, "SOP Instance UID to export (required)"},
                              {"version", &version, NULL, "version to export (default newest)"},
                              {"out", &out, NULL, "output file (required)"},
                              {"normalized", NULL, &normalized,
                               "the normalized data set instead (the original when it needed no change)"},
                              {"last-receipt", NULL, &last,
                               "the bytes received last under that UID (an instance may come "
                               "again in another encoding)"},
                              {0}};
    int rc = cli_parse(argc, argv,
                       "Write a stored instance as a DICOM Part 10 file: File Meta Information "
                       "followed by the data set exactly as it was received (or as normalized).",
                       opts);
    if (rc >= 0)
        return rc;
    char *end;
    long ver = strtol(version, &end, 10);
    if (sop == NULL || out == NULL || *end != '\0' || ver < 0 || ver > 1000000) {
        fprintf(stderr, "caseport export: %s\n",
                sop == NULL ? "--sop is required" : out == NULL ? "--out is required"
                                                                : "--version must be a number");
        return 2;
    }
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_open(argv[0], config, &conf, &pg)) != 0)
        return rc;
    cp_errinfo_t ei = {0};
    store_instance_info_t inst;
    store_blob_t *blobs = NULL;
    cp_err_t err = normalized ? store_pg_find_normalized(pg, sop, (int)ver, &inst, &ei)
                   : last     ? store_pg_find_last_receipt(pg, sop, (int)ver, &inst, &ei)
                              : store_pg_find_instance(pg, sop, (int)ver, &inst, &ei);
    if (err == CP_OK)
        err = store_blob_open_shared(conf.storage.blob_dir, conf.storage.key_file, &blobs, &ei);
    if (err == CP_OK)
        store_blob_set_locator(blobs, store_pg_blob_locate, pg);
    if (err != CP_OK) {
        store_pg_close(pg);
        store_blob_close(blobs);
        return fail(argv[0], err, &ei);
    }
    /* Written beside the target and renamed, so a failure leaves no partial file. */
    char tmp[CONF_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.part", out);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        err = cp_fail(&ei, cp_err_from_errno(errno), errno, "cannot create %s", tmp);
    else {
        err = copy_blob(blobs, &inst, fd, &ei);
        close(fd);
        if (err == CP_OK && rename(tmp, out) != 0)
            err = cp_fail(&ei, cp_err_from_errno(errno), errno, "cannot rename to %s", out);
        if (err != CP_OK)
            unlink(tmp);
    }
    store_blob_close(blobs);
    store_pg_close(pg);
    if (err != CP_OK)
        return fail(argv[0], err, &ei);
    fprintf(stderr, "exported version %d (%llu bytes of data set) to %s\n", inst.version,
            (unsigned long long)inst.size, out);
    return 0;
}

/* ---- verify ---- */

typedef struct verify_state {
    store_blob_t *blobs;
    long ok, bad;
} verify_state_t;

static bool verify_one(void *ud, const store_blob_row_t *row)
{
    verify_state_t *st = ud;
    cp_errinfo_t ei = {0};
    uint64_t size = 0;
    char hex[STORE_ADDR_HEX_LEN + 1];
    store_addr_to_hex(&row->addr, hex);
    cp_err_t err = store_blob_verify(st->blobs, &row->addr, &size, &ei);
    if (err == CP_OK && size != row->size)
        err = cp_fail(&ei, CP_ETAMPER, 0, "size %llu differs from the index's %llu",
                      (unsigned long long)size, (unsigned long long)row->size);
    if (err == CP_OK && strcmp(row->key_id, store_blob_key_id(st->blobs)) != 0)
        err = cp_fail(&ei, CP_EKEY, 0, "blob indexed under key %s, not the configured key",
                      row->key_id);
    if (err == CP_OK) {
        st->ok++;
    } else {
        st->bad++;
        printf("FAILED %s: %s\n", hex, cp_errinfo_msg(&ei, err));
    }
    return true;
}

static void print_sweep(const store_sweep_report_t *r, bool reclaimed)
{
    printf("unreferenced: %llu blob file(s) of %llu (%llu bytes) %s; %llu younger than %d "
           "minutes left for their writers\n",
           (unsigned long long)r->orphans, (unsigned long long)r->files,
           (unsigned long long)r->orphan_bytes, reclaimed ? "removed" : "to remove",
           (unsigned long long)r->young, STORE_SWEEP_MIN_AGE / 60);
    printf("pack tails: %llu of %llu pack(s), %llu bytes past their last indexed blob %s\n",
           (unsigned long long)r->tails, (unsigned long long)r->packs,
           (unsigned long long)r->tail_bytes, reclaimed ? "cut" : "to cut");
}

/* --orphans: only the sweep, and what it finds is given back (serve does so at start). */
static int verify_orphans(const char *cmd, const conf_t *conf, store_pg_t *pg)
{
    store_blob_t *blobs = NULL;
    cp_errinfo_t ei = {0};
    store_sweep_report_t rep;
    cp_err_t err = store_blob_open_shared(conf->storage.blob_dir, conf->storage.key_file, &blobs,
                                          &ei);
    if (err == CP_OK)
        err = store_sweep(pg, blobs, STORE_SWEEP_MIN_AGE, true, &rep, &ei);
    store_pg_close(pg);
    store_blob_close(blobs);
    if (err != CP_OK)
        return fail(cmd, err, &ei);
    print_sweep(&rep, true);
    return 0;
}

int cli_verify(int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG;
    bool orphans = false;
    const cli_opt_t opts[] = {{"config", &config, NULL, "configuration file"},
                              {"orphans", NULL, &orphans,
                               "only look for blob files and pack tails nothing refers to (a "
                               "crash's leftovers), and remove them"},
                              {0}};
    int rc = cli_parse(argc, argv,
                       "Re-read every blob the index references, authenticating every segment "
                       "and the content address, and count what nothing references. Exit code "
                       "1 if any blob fails.",
                       opts);
    conf_t conf;
    store_pg_t *pg = NULL;
    if (rc >= 0 || (rc = cli_open(argv[0], config, &conf, &pg)) != 0)
        return rc;
    if (orphans)
        return verify_orphans(argv[0], &conf, pg);
    verify_state_t st = {0};
    cp_errinfo_t ei = {0};
    store_sweep_report_t rep;
    cp_err_t err = store_blob_open_shared(conf.storage.blob_dir, conf.storage.key_file, &st.blobs, &ei);
    if (err == CP_OK)
        store_blob_set_locator(st.blobs, store_pg_blob_locate, pg);
    if (err == CP_OK)
        err = store_pg_list_blobs(pg, verify_one, &st, &ei);
    if (err == CP_OK)
        err = store_sweep(pg, st.blobs, STORE_SWEEP_MIN_AGE, false, &rep, &ei);
    store_pg_close(pg);
    store_blob_close(st.blobs);
    if (err != CP_OK)
        return fail(argv[0], err, &ei);
    printf("verified %ld blob(s): %ld ok, %ld failed\n", st.ok + st.bad, st.ok, st.bad);
    print_sweep(&rep, false);
    return st.bad == 0 ? 0 : 1;
}

/* ---- passwd ---- */

int cli_passwd(int argc, char **argv)
{
    const cli_opt_t opts[] = {{0}};
    int rc = cli_parse(argc, argv,
                       "Read a password from the first line of standard input and print its "
                       "argon2id hash, for a [peer] section's password_hash.",
                       opts);
    if (rc >= 0)
        return rc;
    char pw[256];
    if (fgets(pw, sizeof pw, stdin) == NULL) {
        fprintf(stderr, "caseport passwd: no password on standard input\n");
        return 2;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    if (pw[0] == '\0' || strlen(pw) > 128) {
        fprintf(stderr, "caseport passwd: the password must be 1-128 characters\n");
        return 2;
    }
    char hash[160];
    cp_errinfo_t ei = {0};
    cp_err_t err = gw_auth_hash(pw, hash, sizeof hash, &ei);
    OPENSSL_cleanse(pw, sizeof pw);
    if (err != CP_OK)
        return fail(argv[0], err, &ei);
    printf("%s\n", hash);
    return 0;
}

int cli_config_sample(int argc, char **argv)
{
    const cli_opt_t opts[] = {{0}};
    int rc = cli_parse(argc, argv, "Print every configuration option with its default.", opts);
    if (rc >= 0)
        return rc;
    conf_write_sample(stdout);
    return 0;
}
