/* storage/store_commit.c -- Storage Commitment queries (store_commit.h). */
#include "store_commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"
#include "store_pg_int.h"

typedef struct check_ctx {
    store_commit_ref_t *refs;
    int n;
} check_ctx_t;

/* Each row: an instance UID we hold and its class; every ref naming it is settled. */
static bool check_row(void *ud, PGresult *r, cp_err_t *err, cp_errinfo_t *ei)
{
    (void)err;
    (void)ei;
    check_ctx_t *c = ud;
    const char *uid = PQgetvalue(r, 0, 0), *cls = PQgetvalue(r, 0, 1);
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->refs[i].sop_instance, uid) == 0)
            c->refs[i].failure = strcmp(c->refs[i].sop_class, cls) == 0 ? 0 : 0x0119;
    return true;
}

cp_err_t store_commit_check(store_pg_t *pg, store_commit_ref_t *refs, int n, cp_errinfo_t *ei)
{
    size_t cap = 1;
    for (int i = 0; i < n; i++) {
        refs[i].failure = 0x0112; /* until found */
        cap += strlen(refs[i].sop_instance) + 1;
    }
    char *list = cp_xmalloc(cap), *p = list;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(refs[i].sop_instance);
        if (i > 0)
            *p++ = '\\';
        memcpy(p, refs[i].sop_instance, k);
        p += k;
    }
    *p = '\0';
    char *clean = store__utf8_clean(list);
    free(list);
    const char *params[] = {clean};
    check_ctx_t c = {refs, n};
    cp_err_t err = store__pg_stream(pg,
                                    "SELECT i.sop_instance_uid, i.sop_class_uid"
                                    " FROM current_instances i JOIN blobs b"
                                    " ON b.address = i.blob_address"
                                    " WHERE i.sop_instance_uid = ANY(string_to_array($1, '\\'))",
                                    1, params, "checking storage commitment", check_row, &c, ei);
    free(clean);
    return err;
}

cp_err_t store_commit_record(store_pg_t *pg, const store_commit_row_t *row, cp_errinfo_t *ei)
{
    char at[32], refs[16], failed[16];
    snprintf(at, sizeof at, "%.6f", row->requested_at);
    snprintf(refs, sizeof refs, "%d", row->references_n);
    snprintf(failed, sizeof failed, "%d", row->failed_n);
    char *v[] = {store__utf8_clean(row->transaction_uid), store__utf8_clean(row->calling_ae),
                 row->peer_name && row->peer_name[0] ? store__utf8_clean(row->peer_name) : NULL,
                 store__utf8_clean(row->peer_address)};
    const char *params[] = {v[0], v[1], v[2], v[3], at, refs, failed, row->delivery,
                            row->outcome};
    cp_err_t err = store__pg_exec(pg,
                                  "INSERT INTO commitments (transaction_uid, calling_ae, peer_name,"
                                  " peer_address, requested_at, references_n, failed_n, delivery,"
                                  " outcome) VALUES ($1, $2, $3, $4, to_timestamp($5::double precision),"
                                  " $6, $7, $8, $9)",
                                  9, params, "recording a storage commitment", ei);
    for (int i = 0; i < 4; i++)
        free(v[i]);
    return err;
}
