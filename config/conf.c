/* config/conf.c -- the option table, its parser and validators (Redis' static_configs). */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { T_STRING, T_PATH, T_INT, T_SIZE, T_AE, T_LOGLEVEL, T_LOGFORMAT } opt_type_t;

typedef struct opt {
    const char *section;
    const char *name;
    opt_type_t type;
    size_t offset; /* into conf_t */
    size_t size;   /* of the field, for strings */
    int64_t min, max;
    const char *def;
    const char *help;
} opt_t;

#define F(field) offsetof(conf_t, field), sizeof(((conf_t *)0)->field)
static const opt_t options[] = {
    {"dicom", "ae_title", T_AE, F(dicom.ae_title), 0, 0, "CASEPORT",
     "our AE title; associations calling another one are rejected"},
    {"dicom", "bind", T_STRING, F(dicom.bind), 0, 0, "0.0.0.0", "address to listen on"},
    {"dicom", "port", T_INT, F(dicom.port), 0, 65535, "11112", "TCP port (0: any free port)"},
    {"dicom", "max_pdu", T_SIZE, F(dicom.max_pdu), 4096, 4194304, "262144",
     "largest P-DATA-TF we accept (maximum length we announce)"},
    {"dicom", "max_associations", T_INT, F(dicom.max_associations), 1, 4096, "64",
     "concurrent associations; more are rejected (transient, local limit)"},
    {"dicom", "artim_timeout", T_INT, F(dicom.artim_timeout), 1, 3600, "30",
     "seconds to wait for A-ASSOCIATE-RQ and for the peer to close after release"},
    {"dicom", "idle_timeout", T_INT, F(dicom.idle_timeout), 1, 86400, "300",
     "seconds an established association may stay silent"},
    {"dicom", "max_instance_bytes", T_SIZE, F(dicom.max_instance_bytes), 1024,
     INT64_C(1) << 40, "4G", "largest data set accepted in one C-STORE"},
    {"storage", "blob_dir", T_STRING, F(storage.blob_dir), 0, 0, "var/blobs",
     "encrypted blob store directory (relative: to the working directory)"},
    {"storage", "key_file", T_STRING, F(storage.key_file), 0, 0, "var/keys/kek",
     "256-bit key-encryption key, mode 0600 (caseport keygen)"},
    {"database", "conninfo", T_STRING, F(database.conninfo), 0, 0, "dbname=caseport",
     "libpq connection string; PGHOST/PGPORT/PGUSER fill what it omits"},
    {"database", "socket_dir", T_PATH, F(database.socket_dir), 0, 0, "",
     "directory of PostgreSQL's Unix socket (relative: to the working directory)"},
    {"database", "port", T_INT, F(database.port), 0, 65535, "0",
     "PostgreSQL port (0: PGPORT or 5432)"},
    {"database", "pool_size", T_INT, F(database.pool_size), 1, 256, "4",
     "PostgreSQL connections shared by the ingest workers"},
    {"log", "level", T_LOGLEVEL, F(log.level), 0, 0, "info", "debug, info, warn, error or off"},
    {"log", "format", T_LOGFORMAT, F(log.format), 0, 0, "logfmt", "logfmt or json"},
};
#undef F

static const opt_t *find_opt(const char *section, const char *name)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (strcmp(options[i].section, section) == 0 && strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

static bool known_section(const char *section)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (strcmp(options[i].section, section) == 0)
            return true;
    return false;
}

/* "123", "64K", "4M", "2G" (binary multiples). */
static bool parse_size(const char *s, int64_t *out)
{
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || v < 0)
        return false;
    int shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift != 0)
        end++;
    if (*end != '\0' || v > (INT64_MAX >> shift))
        return false;
    *out = (int64_t)v << shift;
    return true;
}

static bool parse_int(const char *s, int64_t *out)
{
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* PS3.5 Table 6.2-1: AE is 1-16 characters of the default repertoire, no backslash or
 * control characters, not all spaces. */
static bool valid_ae(const char *s)
{
    size_t n = strlen(s);
    bool blank = true;
    if (n == 0 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '\\')
            return false;
        if (c != ' ')
            blank = false;
    }
    return !blank;
}

static void store_int(const opt_t *o, conf_t *c, int64_t v)
{
    char *field = (char *)c + o->offset;
    if (o->size == sizeof(int))
        *(int *)(void *)field = (int)v;
    else if (o->size == sizeof(uint32_t))
        *(uint32_t *)(void *)field = (uint32_t)v;
    else
        *(uint64_t *)(void *)field = (uint64_t)v;
}

/* Returns NULL on success, else what is wrong. */
static const char *apply(const opt_t *o, conf_t *c, const char *value, char *why, size_t cap)
{
    char *field = (char *)c + o->offset;
    int64_t v;
    switch (o->type) {
    case T_PATH: /* may be empty */
        if (strlen(value) >= o->size)
            return snprintf(why, cap, "%s is longer than %zu characters", o->name, o->size - 1),
                   why;
        memcpy(field, value, strlen(value) + 1);
        return NULL;
    case T_STRING:
    case T_AE:
        if (strlen(value) >= o->size)
            return snprintf(why, cap, "%s is longer than %zu characters", o->name, o->size - 1),
                   why;
        if (o->type == T_AE && !valid_ae(value))
            return snprintf(why, cap, "%s must be 1-16 printable characters, no backslash",
                            o->name),
                   why;
        if (o->type == T_STRING && value[0] == '\0')
            return snprintf(why, cap, "%s must not be empty", o->name), why;
        memcpy(field, value, strlen(value) + 1);
        return NULL;
    case T_INT:
    case T_SIZE:
        if (!(o->type == T_INT ? parse_int(value, &v) : parse_size(value, &v)))
            return snprintf(why, cap, "%s: \"%s\" is not a %s", o->name, value,
                            o->type == T_INT ? "number" : "size (like 64K, 4M, 2G)"),
                   why;
        if (v < o->min || v > o->max)
            return snprintf(why, cap, "%s must be between %lld and %lld", o->name,
                            (long long)o->min, (long long)o->max),
                   why;
        store_int(o, c, v);
        return NULL;
    case T_LOGLEVEL:
        if (!cp_log_level_parse(value, (cp_log_level_t *)(void *)field))
            return snprintf(why, cap, "%s must be debug, info, warn, error or off", o->name), why;
        return NULL;
    case T_LOGFORMAT:
        if (!cp_log_format_parse(value, (cp_log_format_t *)(void *)field))
            return snprintf(why, cap, "%s must be logfmt or json", o->name), why;
        return NULL;
    }
    return "unknown option type";
}

void conf_defaults(conf_t *c)
{
    memset(c, 0, sizeof *c);
    char why[160];
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        const char *err = apply(&options[i], c, options[i].def, why, sizeof why);
        (void)err; /* the defaults are valid: conf.default_values_apply tests it */
    }
}

typedef struct load_state {
    const char *path;
    FILE *f;
    int line;
    conf_t *conf;
    cp_errinfo_t *ei;
    bool failed;
} load_state_t;

static void fail_at(load_state_t *st, const char *what)
{
    if (!st->failed)
        cp_fail(st->ei, CP_ECONFIG, 0, "%s:%d: %s", st->path, st->line, what);
    st->failed = true;
}

/* inih's stream reader: counts lines so errors can name them, and checks section headers
 * here because inih reports an empty section to no handler. */
static char *read_line(char *buf, int size, void *stream)
{
    load_state_t *st = stream;
    char *s = fgets(buf, size, st->f);
    if (s == NULL)
        return NULL;
    st->line++;
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '[') {
        char name[64];
        size_t n = 0;
        p++;
        while (*p && *p != ']' && n + 1 < sizeof name)
            name[n++] = *p++;
        name[n] = '\0';
        if (*p == ']' && !known_section(name)) {
            char why[128];
            snprintf(why, sizeof why, "unknown section [%s]", name);
            fail_at(st, why);
        }
    }
    return s;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
    load_state_t *st = user;
    char why[200];
    if (st->failed)
        return 0;
    if (!known_section(section)) {
        snprintf(why, sizeof why, "unknown section [%s]", section);
        fail_at(st, why);
        return 0;
    }
    const opt_t *o = find_opt(section, name);
    if (o == NULL) {
        snprintf(why, sizeof why, "unknown key \"%s\" in [%s]", name, section);
        fail_at(st, why);
        return 0;
    }
    const char *err = apply(o, st->conf, value, why, sizeof why);
    if (err != NULL) {
        fail_at(st, err);
        return 0;
    }
    return 1;
}

cp_err_t conf_load(const char *path, conf_t *out, cp_errinfo_t *ei)
{
    conf_t c;
    conf_defaults(&c);
    load_state_t st = {.path = path, .conf = &c, .ei = ei};
    st.f = fopen(path, "r");
    if (st.f == NULL)
        return cp_fail(ei, CP_ECONFIG, errno, "%s:0: cannot open", path);
    int rc = ini_parse_stream(read_line, &st, on_value, &st);
    fclose(st.f);
    if (st.failed)
        return CP_ECONFIG;
    if (rc != 0) {
        st.line = rc > 0 ? rc : st.line;
        fail_at(&st, "syntax error (expected [section] or key = value)");
        return CP_ECONFIG;
    }
    *out = c; /* check-then-assign: a bad file leaves *out untouched */
    return CP_OK;
}

void conf_write_sample(FILE *f)
{
    const char *section = "";
    fprintf(f, "# caseport.conf -- every option with its default (generated by "
               "`caseport config-sample`)\n");
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        const opt_t *o = &options[i];
        if (strcmp(section, o->section) != 0) {
            fprintf(f, "\n[%s]\n", o->section);
            section = o->section;
        }
        fprintf(f, "# %s\n%s = %s\n", o->help, o->name, o->def);
    }
}

cp_err_t conf_pg_conninfo(const conf_t *c, char *out, size_t cap, cp_errinfo_t *ei)
{
    const conf_database_t *d = &c->database;
    char host[CONF_PATH_MAX * 2] = "";
    if (d->socket_dir[0] == '/') {
        snprintf(host, sizeof host, "%s", d->socket_dir);
    } else if (d->socket_dir[0] != '\0') {
        char cwd[CONF_PATH_MAX];
        if (getcwd(cwd, sizeof cwd) == NULL)
            return cp_fail(ei, CP_ECONFIG, errno, "cannot resolve socket_dir");
        snprintf(host, sizeof host, "%s/%s", cwd, d->socket_dir);
    }
    if (strchr(host, '\'') != NULL || strchr(host, '\\') != NULL)
        return cp_fail(ei, CP_ECONFIG, 0, "socket_dir must not contain quotes or backslashes");
    int n = snprintf(out, cap, "%s%s%s", host[0] ? "host='" : "", host, host[0] ? "' " : "");
    if (d->port != 0 && n >= 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, "port=%d ", d->port);
    if (n >= 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, "%s", d->conninfo);
    if (n < 0 || (size_t)n >= cap)
        return cp_fail(ei, CP_ECONFIG, 0, "database connection string too long");
    return CP_OK;
}
