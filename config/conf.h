/* config/conf.h -- caseport.conf: one declarative table of options (conf.c), INI syntax
 * read with inih. Layer: config. A file is validated completely before a conf_t is
 * returned; an unknown section or key, or a bad value, is refused as "file:line: what". */
#ifndef CASEPORT_CONF_H
#define CASEPORT_CONF_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cp_err.h"
#include "cp_log.h"

#define CONF_PATH_MAX 1024

typedef struct conf_dicom {
    char ae_title[17];
    char bind[64];
    int port;
    uint32_t max_pdu;            /* maximum P-DATA-TF length we receive */
    int max_associations;
    int max_pending;             /* connections without a complete A-ASSOCIATE-RQ */
    int max_pending_per_address; /* of them, from one address (gateway/pending.h) */
    int negotiation_timeout;     /* seconds from connecting to a complete A-ASSOCIATE-RQ */
    int artim_timeout;           /* seconds: the peer's close after release */
    int idle_timeout;            /* seconds without a PDU on an established association */
    uint64_t max_instance_bytes; /* larger data sets are refused with 0xA700 */
    int reject_unknown_peers;    /* 1: a calling AE title without a [peer] is rejected */
    int tls_port;                /* DICOM TLS listener; -1: none, 0: any free port */
    char tls_cert[CONF_PATH_MAX], tls_key[CONF_PATH_MAX], tls_ca[CONF_PATH_MAX];
    int tls_require_client_cert;
    int max_find_results;        /* C-FIND matches per query; more: final 0xA700 */
    int max_retrieve_instances;  /* instances per C-GET/C-MOVE */
    int send_timeout;            /* seconds a peer may leave our sends unread */
} conf_dicom_t;

/* Sender policy (issue 3): [peer NAME] sections. */
#define CONF_MAX_PEERS 64
#define CONF_MAX_NETS 16

typedef struct conf_net {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network byte order */
    int prefix;       /* bits that must match */
} conf_net_t;

typedef struct conf_peer {
    char name[48];
    char ae_title[17];
    /* The assigning authority of a Patient ID it sends without an Issuer of Patient ID;
     * empty: the section's name (docs/cases.md, identity). */
    char issuer[65];
    int n_nets; /* 0: any source address */
    conf_net_t nets[CONF_MAX_NETS];
    int max_associations; /* concurrent; 0: only the global limit */
    uint64_t max_bytes;   /* per association; 0: no limit */
    char username[65];    /* if set, user identity (PS3.7 D.3.3.7) is required */
    char password_hash[160]; /* argon2id, encoded (caseport passwd); needs username */
    uint8_t cert_sha256[32]; /* if has_cert: the TLS client certificate must be this one */
    bool has_cert;
    int access;              /* what it may query and retrieve: CONF_ACCESS_* */
    char dest_host[256];     /* a C-MOVE destination at dest_host:dest_port, if dest_port */
    int dest_port;
    bool report_on_new;      /* Storage Commitment reports on a new association to it */
    bool show_duplicates;    /* Q/R also lists instances whose pixels another one has */
    bool send_originals;     /* retrieval sends originals, not normalized data sets */
} conf_peer_t;

enum { CONF_ACCESS_NONE, CONF_ACCESS_GRANTED, CONF_ACCESS_ALL };

typedef struct conf_storage {
    char blob_dir[CONF_PATH_MAX];
    char key_file[CONF_PATH_MAX];
} conf_storage_t;

typedef struct conf_audit {
    char anchor_file[CONF_PATH_MAX]; /* the audit trail's head, appended (docs/cases.md) */
    int anchor_interval;             /* seconds between anchors, when the head moved */
} conf_audit_t;

typedef struct conf_database {
    char conninfo[1024];
    char socket_dir[CONF_PATH_MAX]; /* empty: libpq's default (PGHOST) */
    int port;                       /* 0: libpq's default (PGPORT) */
    int pool_size;
} conf_database_t;

/* The transfer syntax normalized objects are delivered in ([jobs] delivery). */
enum { CONF_DELIVERY_AS_RECEIVED, CONF_DELIVERY_EXPLICIT_LE, CONF_DELIVERY_JPEG_LS,
       CONF_DELIVERY_J2K };
extern const char *const conf_delivery_names[]; /* by CONF_DELIVERY_*, NULL-terminated */

typedef struct conf_jobs {
    int workers;  /* threads of `serve` running the job queue; 0: none */
    int patience_hours; /* a job failing transiently is retried this long */
    int delivery; /* CONF_DELIVERY_* */
} conf_jobs_t;

typedef struct conf_http {
    char bind[64];
    int port; /* -1: no HTTP API */
    int max_connections;
    int max_pending;             /* connections without a complete request head */
    int max_pending_per_address; /* of them, from one address */
    int header_timeout;  /* seconds from connecting (or the last answer) to a request head */
    int request_timeout; /* seconds for a whole request */
    char tls_cert[CONF_PATH_MAX], tls_key[CONF_PATH_MAX]; /* both: HTTPS only */
    int max_upload_mb;   /* the body of an upload (an opinion's PDF) */
    int session_hours; /* a login session lasts this long */
    char static_dir[CONF_PATH_MAX]; /* [http] console_dir: the web console; "": none */
} conf_http_t;

typedef struct conf_cases {
    int records_days; /* records due this many days after collecting starts */
    int opinion_days; /* the opinion due this many days after the case is registered */
} conf_cases_t;

typedef struct conf_log {
    cp_log_level_t level;
    cp_log_format_t format;
} conf_log_t;

typedef struct conf {
    conf_dicom_t dicom;
    conf_storage_t storage;
    conf_audit_t audit;
    conf_database_t database;
    conf_jobs_t jobs;
    conf_cases_t cases;
    conf_http_t http;
    conf_log_t log;
    int n_peers;
    conf_peer_t peers[CONF_MAX_PEERS];
} conf_t;

void conf_defaults(conf_t *c);
/* The [peer] whose ae_title is calling_ae, or NULL. */
const conf_peer_t *conf_find_peer(const conf_t *c, const char *calling_ae);
/* Whether addr (a struct sockaddr_in or _in6, v4-mapped v6 included) is in one of the
 * peer's networks; true when it lists none. */
bool conf_peer_allows(const conf_peer_t *p, const void *sockaddr);
/* "10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1": false if malformed. */
bool conf_parse_net(const char *s, conf_net_t *out);
/* Loads path over the defaults. On failure ei->msg is "path:line: reason". */
cp_err_t conf_load(const char *path, conf_t *out, cp_errinfo_t *ei);
/* Writes every option with its default and help text, INI format (docs/caseport.conf.sample). */
void conf_write_sample(FILE *f);
/* The libpq connection string: host and port from socket_dir (made absolute against the
 * working directory) and port when set, then conninfo, whose keywords win. */
cp_err_t conf_pg_conninfo(const conf_t *c, char *out, size_t cap, cp_errinfo_t *ei);
#endif
