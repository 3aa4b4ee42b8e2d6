/* config/conf.h -- caseport.conf: one declarative table of options (conf.c), INI syntax
 * read with inih. Layer: config. A file is validated completely before a conf_t is
 * returned; an unknown section or key, or a bad value, is refused as "file:line: what". */
#ifndef CASEPORT_CONF_H
#define CASEPORT_CONF_H
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
    int artim_timeout;           /* seconds: A-ASSOCIATE-RQ wait, release/abort linger */
    int idle_timeout;            /* seconds without a PDU on an established association */
    uint64_t max_instance_bytes; /* larger data sets are refused with 0xA700 */
} conf_dicom_t;

typedef struct conf_storage {
    char blob_dir[CONF_PATH_MAX];
    char key_file[CONF_PATH_MAX];
} conf_storage_t;

typedef struct conf_database {
    char conninfo[1024];
    char socket_dir[CONF_PATH_MAX]; /* empty: libpq's default (PGHOST) */
    int port;                       /* 0: libpq's default (PGPORT) */
    int pool_size;
} conf_database_t;

typedef struct conf_log {
    cp_log_level_t level;
    cp_log_format_t format;
} conf_log_t;

typedef struct conf {
    conf_dicom_t dicom;
    conf_storage_t storage;
    conf_database_t database;
    conf_log_t log;
} conf_t;

void conf_defaults(conf_t *c);
/* Loads path over the defaults. On failure ei->msg is "path:line: reason". */
cp_err_t conf_load(const char *path, conf_t *out, cp_errinfo_t *ei);
/* Writes every option with its default and help text, INI format (docs/caseport.conf.sample). */
void conf_write_sample(FILE *f);
/* The libpq connection string: host and port from socket_dir (made absolute against the
 * working directory) and port when set, then conninfo, whose keywords win. */
cp_err_t conf_pg_conninfo(const conf_t *c, char *out, size_t cap, cp_errinfo_t *ei);
#endif
