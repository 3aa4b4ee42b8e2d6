/* gateway/cases/caselist.h -- what the CLI and the HTTP API share about cases as the
 * database holds them: their clocks, whose they are, the worklist order, and opening one
 * under a fresh token, storing an opinion's PDF. Layer: gateway (cases). Blocking: worker threads or the CLI. */
#ifndef CASEPORT_CASELIST_H
#define CASEPORT_CASELIST_H
#include <stdbool.h>
#include <stdint.h>

#include "case.h"
#include "conf.h"
#include "store_cases.h"

/* The case's clocks at time now, with the promises of [cases]. */
void case_row_sla(const store_case_row_t *r, const conf_t *conf, int64_t now, case_sla_t *out);
/* Whether an account in a role is one of the case's own: its patient, its navigator or its
 * specialist (the administrator never is). */
bool case_row_own(const store_case_row_t *r, case_role_t role, int64_t account_id);

typedef struct case_listed {
    store_case_row_t row;
    case_sla_t sla;
} case_listed_t;
typedef bool (*case_keep_fn)(void *ud, const store_case_row_t *r);
/* The cases in scope (store_cases_list) that keep accepts (NULL: all), most urgent first
 * (case_sla_urgency_cmp, then the oldest); *out is malloc'ed (free it), NULL when *n is 0. */
cp_err_t case_worklist(store_pg_t *pg, const conf_t *conf, int64_t now,
                       store_case_scope_t scope, int64_t account_id, case_keep_fn keep,
                       void *ud, case_listed_t **out, size_t *n, cp_errinfo_t *ei);

/* Opens a case under a random token, drawn again while one is taken; n->token is set. */
cp_err_t case_open(store_pg_t *pg, store_case_new_t *n, const store_actor_t *by,
                   char token[CASE_TOKEN_LEN + 1], int64_t *id, cp_errinfo_t *ei);

/* A new account as the CLI (user add) and the API (POST /accounts) take it. */
typedef struct case_account_new {
    const char *username, *name, *role;
    const char *subspecialties; /* comma-separated: a specialist's, and only theirs */
    const char *password;       /* 12 to 128 characters; kept as an argon2id hash */
} case_account_new_t;
/* Checks (CP_EINVAL with the reason) and adds it; CP_EEXIST: the username is taken. */
/* The password rule: 12 to 128 characters */
bool case_password_ok(const char *password);
cp_err_t case_account_add(store_pg_t *pg, const case_account_new_t *a, const store_actor_t *by,
                          int64_t *id, cp_errinfo_t *ei);

/* Stores an opinion's PDF as an encrypted blob (durable on return); CP_EINVAL when the
 * bytes are not a PDF. key_id: the blob's key id (store_blob_key_id). */
cp_err_t case_pdf_store(store_blob_t *blobs, const void *pdf, size_t len, store_addr_t *addr,
                        uint64_t *size, char key_id[32], cp_errinfo_t *ei);
#endif
