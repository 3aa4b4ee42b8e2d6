/* gateway/cases/caselist.c -- cases as the database holds them (caselist.h). */
#include "caselist.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cp_mem.h"

void case_row_sla(const store_case_row_t *r, const conf_t *conf, int64_t now, case_sla_t *out)
{
    case_clock_t k = {.registered_at = r->registered_at, .collecting_at = r->collecting_at,
                      .records_done_at = r->records_done_at, .published_at = r->published_at,
                      .paused_at = r->paused_at, .paused_seconds = r->paused_seconds,
                      .state = CASE_REGISTERED, .records_days = conf->cases.records_days,
                      .opinion_days = conf->cases.opinion_days};
    case_state_parse(r->state, &k.state);
    case_sla(&k, now, out);
}

bool case_row_own(const store_case_row_t *r, case_role_t role, int64_t account_id)
{
    return (role == CASE_ROLE_PATIENT && r->patient_account_id == account_id) ||
           (role == CASE_ROLE_NAVIGATOR && r->navigator_id == account_id) ||
           (role == CASE_ROLE_SPECIALIST && r->specialist_id == account_id);
}

typedef struct collect {
    const conf_t *conf;
    int64_t now;
    case_keep_fn keep;
    void *ud;
    case_listed_t *v;
    size_t n, cap;
} collect_t;

static bool collect_row(void *ud, const store_case_row_t *r)
{
    collect_t *c = ud;
    if (c->keep != NULL && !c->keep(c->ud, r))
        return true;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 32;
        c->v = cp_xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n].row = *r;
    case_row_sla(r, c->conf, c->now, &c->v[c->n].sla);
    c->n++;
    return true;
}

static int by_urgency(const void *a, const void *b)
{
    const case_listed_t *x = a, *y = b;
    int c = case_sla_urgency_cmp(&x->sla, &y->sla);
    return c != 0 ? c : x->row.id < y->row.id ? -1 : 1;
}

cp_err_t case_worklist(store_pg_t *pg, const conf_t *conf, int64_t now,
                       store_case_scope_t scope, int64_t account_id, case_keep_fn keep,
                       void *ud, case_listed_t **out, size_t *n, cp_errinfo_t *ei)
{
    collect_t c = {conf, now, keep, ud, NULL, 0, 0};
    cp_err_t err = store_cases_list(pg, scope, account_id, collect_row, &c, ei);
    if (err != CP_OK) {
        free(c.v);
        c.v = NULL;
        c.n = 0;
    }
    if (c.n > 1)
        qsort(c.v, c.n, sizeof *c.v, by_urgency);
    *out = c.v;
    *n = c.n;
    return err;
}

cp_err_t case_open(store_pg_t *pg, store_case_new_t *n, const store_actor_t *by,
                   char token[CASE_TOKEN_LEN + 1], int64_t *id, cp_errinfo_t *ei)
{
    /* 25 random bits a token: a collision is likely only with thousands of open cases,
     * and then a second draw settles it */
    for (int tries = 0; tries < 20; tries++) {
        uint32_t rnd;
        if (RAND_bytes((unsigned char *)&rnd, sizeof rnd) != 1)
            return cp_fail(ei, CP_EIO, 0, "no random bytes for a case token");
        case_token_make(rnd, token);
        n->token = token;
        cp_err_t err = store_cases_create(pg, n, by, id, ei);
        if (err != CP_EEXIST)
            return err;
    }
    return cp_fail(ei, CP_EIO, 0, "no free case token after 20 draws");
}

cp_err_t case_pdf_store(store_blob_t *blobs, const void *pdf, size_t len, store_addr_t *addr,
                        uint64_t *size, char key_id[32], cp_errinfo_t *ei)
{
    if (len <= 5 || memcmp(pdf, "%PDF-", 5) != 0)
        return cp_fail(ei, CP_EINVAL, 0, "not a PDF (it does not begin with %%PDF-)");
    store_blob_writer_t *w = NULL;
    cp_err_t err = store_blob_writer_new(blobs, &w, ei);
    if (err == CP_OK)
        err = store_blob_writer_write(w, pdf, len, ei);
    if (err == CP_OK)
        err = store_blob_writer_commit(w, addr, size, ei);
    if (err == CP_OK)
        snprintf(key_id, 32, "%s", store_blob_key_id(blobs));
    store_blob_writer_free(w);
    return err;
}

bool case_password_ok(const char *password)
{
    size_t n = password ? strlen(password) : 0;
    return n >= 12 && n <= 128;
}

cp_err_t case_account_add(store_pg_t *pg, const case_account_new_t *a, const store_actor_t *by,
                          int64_t *id, cp_errinfo_t *ei)
{
    case_role_t r;
    bool subs = a->subspecialties && a->subspecialties[0];
    if (a->username == NULL || a->role == NULL || !case_role_parse(a->role, &r))
        return cp_fail(ei, CP_EINVAL, 0, "a username and a role (patient, navigator, "
                                         "specialist or administrator) are required");
    if (subs != (r == CASE_ROLE_SPECIALIST))
        return cp_fail(ei, CP_EINVAL, 0, "subspecialties are a specialist's, and only theirs");
    if (!case_password_ok(a->password))
        return cp_fail(ei, CP_EINVAL, 0, "the password must be 12 to 128 characters");
    /* "neuro-oncology, dementia": the codes without the spaces around them */
    char list[512], codes[512] = "";
    snprintf(list, sizeof list, "%s", subs ? a->subspecialties : "");
    cp_err_t err = CP_OK;
    for (char *save = NULL, *s = strtok_r(list, ",", &save); s && err == CP_OK;
         s = strtok_r(NULL, ",", &save)) {
        s += strspn(s, " \t");
        s[strcspn(s, " \t")] = '\0';
        if (*s == '\0')
            continue;
        size_t used = strlen(codes);
        snprintf(codes + used, sizeof codes - used, "%s%s", used ? "," : "", s);
        bool known = false;
        err = store_cases_subspecialty_known(pg, s, &known, ei);
        if (err == CP_OK && !known)
            err = cp_fail(ei, CP_EINVAL, 0, "unknown subspecialty %s", s);
    }
    store_account_t n = {0};
    snprintf(n.username, sizeof n.username, "%s", a->username);
    snprintf(n.display_name, sizeof n.display_name, "%s", a->name ? a->name : "");
    snprintf(n.role, sizeof n.role, "%s", a->role);
    if (err == CP_OK)
        err = gw_auth_hash(a->password, n.password_hash, sizeof n.password_hash, ei);
    if (err == CP_OK)
        err = store_cases_account_add(pg, &n, subs ? codes : NULL, by, id, ei);
    return err;
}
