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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

typedef enum {
    T_STRING, T_PATH, T_INT, T_SIZE, T_AE, T_LOGLEVEL, T_LOGFORMAT, T_POLICY, T_POLICY_BOOL,
    T_DELIVERY
} opt_type_t;

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
const char *const conf_delivery_names[] = {"as-received", "explicit-le", "jpeg-ls-lossless",
                                           "j2k-lossless", NULL};

static const opt_t options[] = {
    {"dicom", "ae_title", T_AE, F(dicom.ae_title), 0, 0, "CASEPORT",
     "our AE title; associations calling another one are rejected"},
    {"dicom", "bind", T_STRING, F(dicom.bind), 0, 0, "0.0.0.0", "address to listen on"},
    {"dicom", "port", T_INT, F(dicom.port), 0, 65535, "11112", "TCP port (0: any free port)"},
    {"dicom", "max_pdu", T_SIZE, F(dicom.max_pdu), 4096, 4194304, "262144",
     "largest P-DATA-TF we accept (maximum length we announce)"},
    {"dicom", "max_associations", T_INT, F(dicom.max_associations), 1, 4096, "64",
     "concurrent associations; more are rejected (transient, local limit)"},
    {"dicom", "max_pending", T_INT, F(dicom.max_pending), 1, 4096, "64",
     "connections that have not yet sent a whole A-ASSOCIATE-RQ (they do not count against "
     "max_associations); past it the oldest of them is closed"},
    {"dicom", "max_pending_per_address", T_INT, F(dicom.max_pending_per_address), 1, 4096,
     "16", "of those, from one IPv4 address or IPv6 /64; past it that address's oldest is "
     "closed"},
    {"dicom", "negotiation_timeout", T_INT, F(dicom.negotiation_timeout), 1, 3600, "5",
     "seconds from connecting (and the TLS handshake) to a whole A-ASSOCIATE-RQ"},
    {"dicom", "artim_timeout", T_INT, F(dicom.artim_timeout), 1, 3600, "30",
     "seconds to wait for the peer to close after release"},
    {"dicom", "idle_timeout", T_INT, F(dicom.idle_timeout), 1, 86400, "300",
     "seconds an established association may stay silent"},
    {"dicom", "unknown_peers", T_POLICY, F(dicom.reject_unknown_peers), 0, 0, "accept",
     "accept or reject a calling AE title that no [peer NAME] section names"},
    {"dicom", "tls_port", T_INT, F(dicom.tls_port), -1, 65535, "-1",
     "DICOM TLS port (PS3.15 B.9; 2762 is customary); -1: no TLS listener"},
    {"dicom", "tls_cert", T_PATH, F(dicom.tls_cert), 0, 0, "",
     "server certificate chain, PEM (needed with tls_port)"},
    {"dicom", "tls_key", T_PATH, F(dicom.tls_key), 0, 0, "", "server private key, PEM"},
    {"dicom", "tls_ca", T_PATH, F(dicom.tls_ca), 0, 0, "",
     "CA certificates that client certificates are verified against (empty: none asked)"},
    {"dicom", "tls_require_client_cert", T_POLICY_BOOL, F(dicom.tls_require_client_cert), 0, 0,
     "no", "yes: a TLS client without a certificate verified by tls_ca is refused"},
    {"dicom", "max_instance_bytes", T_SIZE, F(dicom.max_instance_bytes), 1024,
     INT64_C(1) << 40, "4G", "largest data set accepted in one C-STORE"},
    {"dicom", "max_find_results", T_INT, F(dicom.max_find_results), 1, 1000000, "1000",
     "C-FIND matches returned per query; past it the query ends with 0xA700 (narrow it)"},
    {"dicom", "max_retrieve_instances", T_INT, F(dicom.max_retrieve_instances), 1, 10000000,
     "100000", "instances one C-GET or C-MOVE may send"},
    {"dicom", "send_timeout", T_INT, F(dicom.send_timeout), 1, 86400, "60",
     "seconds a peer may leave what we send unread before the association is aborted"},
    {"storage", "blob_dir", T_STRING, F(storage.blob_dir), 0, 0, "var/blobs",
     "encrypted blob store directory (relative: to the working directory)"},
    {"storage", "key_file", T_STRING, F(storage.key_file), 0, 0, "var/keys/kek",
     "256-bit key-encryption key, mode 0600 (caseport keygen); the audit trail's key is "
     "derived from it too"},
    {"audit", "anchor_file", T_STRING, F(audit.anchor_file), 0, 0, "var/audit/anchors",
     "append-only file where serve anchors the audit trail's head (also sent to syslog, "
     "authpriv); keep it where the database's users cannot write (relative: to the working "
     "directory)"},
    {"audit", "anchor_interval", T_INT, F(audit.anchor_interval), 1, 86400, "60",
     "seconds between anchors of the audit trail's head, when it moved; rows appended after "
     "the last anchor can be cut off unseen by a database superuser"},
    {"database", "conninfo", T_STRING, F(database.conninfo), 0, 0, "dbname=caseport",
     "libpq connection string; PGHOST/PGPORT/PGUSER fill what it omits"},
    {"database", "socket_dir", T_PATH, F(database.socket_dir), 0, 0, "",
     "directory of PostgreSQL's Unix socket (relative: to the working directory)"},
    {"database", "port", T_INT, F(database.port), 0, 65535, "0",
     "PostgreSQL port (0: PGPORT or 5432)"},
    {"database", "pool_size", T_INT, F(database.pool_size), 1, 256, "4",
     "PostgreSQL connections shared by the ingest and API workers (3n + 4 workers)"},
    {"jobs", "patience_hours", T_INT, F(jobs.patience_hours), 1, 720, "24",
     "hours a job failing for a passing reason (the disk full, the database away) is retried, "
     "every minute at most, before it is given up"},
    {"jobs", "workers", T_INT, F(jobs.workers), 0, 64, "1",
     "threads of caseport serve that run the durable job queue (caseport jobs); 0: none"},
    {"jobs", "delivery", T_DELIVERY, F(jobs.delivery), 0, 0, "as-received",
     "transfer syntax of normalized objects: as-received (kept when viewers decode it, else "
     "Explicit VR LE), explicit-le, jpeg-ls-lossless or j2k-lossless (lossy stays as sent)"},
    {"http", "bind", T_STRING, F(http.bind), 0, 0, "127.0.0.1",
     "address the HTTP JSON API listens on"},
    {"http", "port", T_INT, F(http.port), -1, 65535, "-1",
     "its TCP port (0: any free port; -1, the default: no HTTP API)"},
    {"http", "max_connections", T_INT, F(http.max_connections), 1, 4096, "256",
     "concurrent HTTP connections; past it the oldest pending one makes room, else the new "
     "one is closed at once"},
    {"http", "max_pending", T_INT, F(http.max_pending), 1, 4096, "128",
     "connections without a whole request head yet (new, or kept alive between requests); "
     "past it the oldest of them is closed"},
    {"http", "max_pending_per_address", T_INT, F(http.max_pending_per_address), 1, 4096, "32",
     "of those, from one IPv4 address or IPv6 /64; past it that address's oldest is closed"},
    {"http", "header_timeout", T_INT, F(http.header_timeout), 1, 3600, "10",
     "seconds a client has to send a request's head (from connecting or the last answer)"},
    {"http", "tls_cert", T_PATH, F(http.tls_cert), 0, 0, "",
     "with tls_key: the API and console speak HTTPS only (TLS 1.2+, BCP 195 suites); PEM"},
    {"http", "tls_key", T_PATH, F(http.tls_key), 0, 0, "", "the HTTPS private key, PEM"},
    {"http", "request_timeout", T_INT, F(http.request_timeout), 1, 3600, "60",
     "seconds a client has to send a whole request, body included, from its head"},
    {"http", "max_upload_mb", T_INT, F(http.max_upload_mb), 1, 256, "16",
     "largest upload (an opinion's PDF), in MiB; other request bodies stop at 64 KiB"},
    {"http", "session_hours", T_INT, F(http.session_hours), 1, 168, "8",
     "how long a login session lasts"},
    {"http", "console_dir", T_PATH, F(http.static_dir), 0, 0, "",
     "the web console's files (web/ in the source tree), served at /; empty: no console"},
    {"cases", "records_days", T_INT, F(cases.records_days), 1, 365, "5",
     "days from the start of collecting records to when they are due (the SLA clock)"},
    {"cases", "opinion_days", T_INT, F(cases.opinion_days), 1, 365, "14",
     "days from a case's registration to when its opinion is due"},
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

static bool is_peer_section(const char *section)
{
    return strncmp(section, "peer ", 5) == 0 && section[5] != '\0';
}

static bool known_section(const char *section)
{
    if (is_peer_section(section))
        return true;
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (strcmp(options[i].section, section) == 0)
            return true;
    return false;
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

/* "123", "64K", "4M", "2G" (binary multiples): a number with an optional suffix. */
static bool parse_size(const char *s, int64_t *out)
{
    char num[32];
    size_t n = strlen(s);
    int shift = 0;
    if (n > 0 && strchr("KkMmGg", s[n - 1]) != NULL) {
        char u = (char)(s[n - 1] | 0x20);
        shift = u == 'k' ? 10 : u == 'm' ? 20 : 30;
        n--;
    }
    if (n == 0 || n >= sizeof num)
        return false;
    memcpy(num, s, n);
    num[n] = '\0';
    int64_t v;
    if (!parse_int(num, &v) || v < 0 || v > (INT64_MAX >> shift))
        return false;
    *out = v << shift;
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
    case T_DELIVERY:
        for (int i = 0; conf_delivery_names[i] != NULL; i++)
            if (strcmp(value, conf_delivery_names[i]) == 0) {
                *(int *)(void *)field = i;
                return NULL;
            }
        return snprintf(why, cap, "%s must be as-received, explicit-le, jpeg-ls-lossless or "
                                  "j2k-lossless", o->name), why;
    case T_POLICY_BOOL:
        if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
            return snprintf(why, cap, "%s must be yes or no", o->name), why;
        *(int *)(void *)field = strcmp(value, "yes") == 0;
        return NULL;
    case T_POLICY:
        if (strcmp(value, "accept") != 0 && strcmp(value, "reject") != 0)
            return snprintf(why, cap, "%s must be accept or reject", o->name), why;
        *(int *)(void *)field = strcmp(value, "reject") == 0;
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

bool conf_parse_net(const char *s, conf_net_t *out)
{
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return false;
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, buf, out->addr) == 1)
        out->family = AF_INET6;
    else
        return false;
    int max = out->family == AF_INET ? 32 : 128;
    out->prefix = max;
    if (slash) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || v < 0 || v > max)
            return false;
        out->prefix = (int)v;
    }
    return true;
}

static bool net_match(const conf_net_t *n, int family, const uint8_t *addr)
{
    if (n->family != family)
        return false;
    int full = n->prefix / 8, rest = n->prefix % 8;
    if (memcmp(n->addr, addr, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (n->addr[full] & mask) == (addr[full] & mask);
}

bool conf_peer_allows(const conf_peer_t *p, const void *sockaddr)
{
    if (p->n_nets == 0)
        return true;
    const struct sockaddr *sa = sockaddr;
    int family = sa->sa_family;
    const uint8_t *addr;
    if (family == AF_INET) {
        addr = (const uint8_t *)&((const struct sockaddr_in *)sockaddr)->sin_addr;
    } else {
        addr = (const uint8_t *)&((const struct sockaddr_in6 *)sockaddr)->sin6_addr;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (memcmp(addr, v4mapped, 12) == 0) {
            family = AF_INET;
            addr += 12;
        }
    }
    for (int i = 0; i < p->n_nets; i++)
        if (net_match(&p->nets[i], family, addr))
            return true;
    return false;
}

const conf_peer_t *conf_find_peer(const conf_t *c, const char *calling_ae)
{
    for (int i = 0; i < c->n_peers; i++)
        if (strcmp(c->peers[i].ae_title, calling_ae) == 0)
            return &c->peers[i];
    return NULL;
}

static conf_peer_t *peer_named(load_state_t *st, const char *name)
{
    conf_t *c = st->conf;
    for (int i = 0; i < c->n_peers; i++)
        if (strcmp(c->peers[i].name, name) == 0)
            return &c->peers[i];
    if (c->n_peers == CONF_MAX_PEERS || strlen(name) >= sizeof c->peers[0].name)
        return NULL;
    conf_peer_t *p = &c->peers[c->n_peers++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    return p;
}

static int set_hosts(load_state_t *st, conf_peer_t *p, const char *value)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", value);
    p->n_nets = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok != NULL;
         tok = strtok_r(NULL, ", ", &save)) {
        char why[160];
        if (p->n_nets == CONF_MAX_NETS) {
            snprintf(why, sizeof why, "hosts: more than %d networks", CONF_MAX_NETS);
            return fail_at(st, why), 0;
        }
        if (!conf_parse_net(tok, &p->nets[p->n_nets])) {
            snprintf(why, sizeof why, "hosts: \"%s\" is not an address or network (a.b.c.d/n)", tok);
            return fail_at(st, why), 0;
        }
        p->n_nets++;
    }
    return 1;
}

/* "AB:CD:..." or "abcd..." (SHA-256 of the certificate's DER) into 32 bytes. */
static bool parse_fingerprint(const char *s, uint8_t out[32])
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ':')
            continue;
        int v = isdigit((unsigned char)*p) ? *p - '0'
                : isxdigit((unsigned char)*p) ? (tolower((unsigned char)*p) - 'a' + 10)
                                              : -1;
        if (v < 0 || n >= 64)
            return false;
        if (n % 2 == 0)
            out[n / 2] = (uint8_t)(v << 4);
        else
            out[n / 2] |= (uint8_t)v;
        n++;
    }
    return n == 64;
}

/* destination = host:port ([v6]:port): where C-MOVE sends to this AE title. */
static int set_destination(load_state_t *st, conf_peer_t *p, const char *value)
{
    const char *colon = strrchr(value, ':');
    int64_t port;
    const char *host = value;
    size_t n = colon ? (size_t)(colon - value) : 0;
    if (n > 1 && value[0] == '[' && value[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (colon == NULL || n == 0 || n >= sizeof p->dest_host || !parse_int(colon + 1, &port) ||
        port < 1 || port > 65535)
        return fail_at(st, "destination must be host:port (as [v6]:port for IPv6)"), 0;
    memcpy(p->dest_host, host, n);
    p->dest_host[n] = '\0';
    p->dest_port = (int)port;
    return 1;
}

/* Keys of a [peer NAME] section: ae_title (required), hosts, max_associations, max_bytes,
 * username, password_hash, cert_sha256, access, duplicates, send, destination,
 * commitment_report, issuer. */
static int on_peer_value(load_state_t *st, const char *peer, const char *name, const char *value)
{
    char why[200];
    conf_peer_t *p = peer_named(st, peer);
    int64_t v;
    if (p == NULL) {
        snprintf(why, sizeof why, "too many [peer] sections or name too long (max %d)",
                 CONF_MAX_PEERS);
        return fail_at(st, why), 0;
    }
    if (strcmp(name, "ae_title") == 0) {
        if (!valid_ae(value))
            return fail_at(st, "ae_title must be 1-16 printable characters, no backslash"), 0;
        snprintf(p->ae_title, sizeof p->ae_title, "%s", value);
        return 1;
    }
    if (strcmp(name, "issuer") == 0) {
        if (value[0] == '\0' || strlen(value) >= sizeof p->issuer || strchr(value, '\\'))
            return fail_at(st, "issuer must be 1-64 characters, no backslash"), 0;
        snprintf(p->issuer, sizeof p->issuer, "%s", value);
        return 1;
    }
    if (strcmp(name, "hosts") == 0)
        return set_hosts(st, p, value);
    if (strcmp(name, "cert_sha256") == 0) {
        if (!parse_fingerprint(value, p->cert_sha256))
            return fail_at(st, "cert_sha256 must be 32 hex bytes (colons allowed), as "
                               "openssl x509 -fingerprint -sha256 prints them"),
                   0;
        p->has_cert = true;
        return 1;
    }
    if (strcmp(name, "username") == 0 || strcmp(name, "password_hash") == 0) {
        bool user = name[0] == 'u';
        char *dst = user ? p->username : p->password_hash;
        size_t cap = user ? sizeof p->username : sizeof p->password_hash;
        if (value[0] == '\0' || strlen(value) >= cap)
            return fail_at(st, user ? "username must be 1-64 characters"
                                    : "password_hash must be an encoded argon2id hash"),
                   0;
        if (!user && strncmp(value, "$argon2id$", 10) != 0)
            return fail_at(st, "password_hash must be an encoded argon2id hash (caseport passwd)"), 0;
        snprintf(dst, cap, "%s", value);
        return 1;
    }
    if (strcmp(name, "access") == 0) {
        static const char *const names[] = {"none", "granted", "all"};
        for (int i = 0; i < 3; i++)
            if (strcmp(value, names[i]) == 0) {
                p->access = i;
                return 1;
            }
        return fail_at(st, "access must be none, granted or all"), 0;
    }
    if (strcmp(name, "destination") == 0)
        return set_destination(st, p, value);
    if (strcmp(name, "commitment_report") == 0) {
        if (strcmp(value, "same") != 0 && strcmp(value, "new") != 0)
            return fail_at(st, "commitment_report must be same or new"), 0;
        p->report_on_new = value[0] == 'n';
        return 1;
    }
    if (strcmp(name, "send") == 0) {
        if (strcmp(value, "normalized") != 0 && strcmp(value, "original") != 0)
            return fail_at(st, "send must be normalized or original"), 0;
        p->send_originals = value[0] == 'o';
        return 1;
    }
    if (strcmp(name, "duplicates") == 0) {
        if (strcmp(value, "hide") != 0 && strcmp(value, "show") != 0)
            return fail_at(st, "duplicates must be hide or show"), 0;
        p->show_duplicates = value[0] == 's';
        return 1;
    }
    if (strcmp(name, "max_associations") == 0) {
        if (!parse_int(value, &v) || v < 0 || v > 4096)
            return fail_at(st, "max_associations must be between 0 and 4096"), 0;
        p->max_associations = (int)v;
        return 1;
    }
    if (strcmp(name, "max_bytes") == 0) {
        if (!parse_size(value, &v))
            return fail_at(st, "max_bytes: not a size (like 64K, 4M, 2G)"), 0;
        p->max_bytes = (uint64_t)v;
        return 1;
    }
    snprintf(why, sizeof why, "unknown key \"%s\" in [peer %s]", name, peer);
    return fail_at(st, why), 0;
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
    if (is_peer_section(section))
        return on_peer_value(st, section + 5, name, value);
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
    for (int i = 0; i < c.n_peers; i++) {
        for (int j = 0; j < i && c.peers[i].ae_title[0]; j++)
            if (strcmp(c.peers[i].ae_title, c.peers[j].ae_title) == 0)
                return cp_fail(ei, CP_ECONFIG, 0, "%s: [peer %s] and [peer %s] share ae_title %s",
                               path, c.peers[j].name, c.peers[i].name, c.peers[i].ae_title);
        if (c.peers[i].ae_title[0] == '\0')
            return cp_fail(ei, CP_ECONFIG, 0, "%s: [peer %s] has no ae_title", path,
                           c.peers[i].name);
        if (c.peers[i].password_hash[0] && !c.peers[i].username[0])
            return cp_fail(ei, CP_ECONFIG, 0, "%s: [peer %s] has a password_hash but no username",
                           path, c.peers[i].name);
    }
    if (!c.http.tls_cert[0] != !c.http.tls_key[0])
        return cp_fail(ei, CP_ECONFIG, 0, "%s: [http] tls_cert and tls_key go together", path);
    if (c.dicom.tls_port >= 0 && (!c.dicom.tls_cert[0] || !c.dicom.tls_key[0]))
        return cp_fail(ei, CP_ECONFIG, 0, "%s: tls_port needs tls_cert and tls_key", path);
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
    fprintf(f, "\n# Known senders, one section each (none by default). With unknown_peers =\n"
               "# reject, only these may associate. hosts: addresses or networks, comma\n"
               "# separated (empty: any); max_associations: concurrent (0: only the global\n"
               "# limit); max_bytes: per association (0: no limit).\n"
               "# [peer MAIN-PACS]\n# ae_title = MAINPACS\n# hosts = 10.20.0.0/16, 192.168.7.12\n"
               "# max_associations = 4\n# max_bytes = 20G\n"
               "# issuer = MAIN-HOSPITAL   (who assigned a Patient ID it sends without Issuer of\n"
               "#   Patient ID; default: the section's name. Two senders' MRN100 are two patients)\n"
               "# username = mainpacs      (user identity required, PS3.7 D.3.3.7)\n"
               "# password_hash = $argon2id$...   (from `caseport passwd`)\n"
               "# cert_sha256 = AB:CD:...   (TLS client certificate, openssl x509 -fingerprint -sha256)\n"
               "# access = none   (Query/Retrieve: none, granted (caseport grant) or all)\n"
               "# duplicates = hide   (Query/Retrieve: an instance whose decoded pixels another\n"
               "#   visible one already has is left out; show: list it too)\n"
               "# send = normalized   (C-GET/C-MOVE: the normalized data set where one was made\n"
               "#   (UTF-8, Explicit VR LE, repaired); original: always the bytes received)\n"
               "# destination = 10.20.0.9:104   (where C-MOVE sends to this AE title)\n"
               "# commitment_report = same   (Storage Commitment N-EVENT-REPORT: on the same\n"
               "#   association while it is open, else a new one to destination; new: always)\n");
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
