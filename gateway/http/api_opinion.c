/* gateway/http/api_opinion.c -- the API's review side: the specialists a case may be
 * given, its opinion (text and PDF) as written and read, the patient's request to send it
 * to their doctor, and an administrator's break-glass read (api_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "caselist.h"
#include "cp_mem.h"

#define BREAK_GLASS_MINUTES 60

static bool load_json(void *ud, const store_specialist_load_t *l)
{
    json_array_append_new(ud, json_pack("{s:s,s:s,s:I}", "username", l->username, "name",
                                        l->display_name, "open_cases",
                                        (json_int_t)l->open_cases));
    return true;
}

/* The specialists of the case's subspecialty, least loaded first (navigators). */
void api_suggestions(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r))
        return;
    if (c->role != CASE_ROLE_NAVIGATOR) {
        api_error(c, 403, "forbidden", "navigators assign specialists");
        return;
    }
    json_t *items = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_suggest(c->ctx->pg, r.id, load_json, items, &ei) != CP_OK) {
        json_decref(items);
        api_unavailable(c);
        return;
    }
    api_reply(c, 200, json_pack("{s:o}", "specialists", items));
}

/* The case's navigator assigns its specialist (one of the case's subspecialty). */
void api_assign_specialist(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r))
        return;
    if (c->role != CASE_ROLE_NAVIGATOR) {
        api_audit(c, r.id, "case", "case.assign specialist", "denied");
        api_error(c, 403, "forbidden", "the case's navigator assigns its specialist");
        return;
    }
    json_t *in = api_body(c, "send {\"username\": SPECIALIST}");
    if (in == NULL)
        return;
    const char *user = NULL;
    store_account_t a = {0};
    cp_errinfo_t ei = {0};
    cp_err_t err = json_unpack(in, "{s:s}", "username", &user) == 0
                       ? store_cases_account_get(c->ctx->pg, user, &a, &ei)
                       : CP_EINVAL;
    /* one of the case's subspecialty: among the suggestions */
    json_t *fit = json_array();
    if (err == CP_OK)
        err = store_cases_suggest(c->ctx->pg, r.id, load_json, fit, &ei);
    bool qualified = false;
    for (size_t i = 0; err == CP_OK && i < json_array_size(fit); i++)
        qualified |= strcmp(json_string_value(json_object_get(json_array_get(fit, i),
                                                              "username")),
                            a.username) == 0;
    json_decref(fit);
    store_actor_t by = api_actor(c);
    if (err == CP_OK && qualified)
        err = store_cases_assign(c->ctx->pg, r.id, "specialist", a.id, &by, &ei);
    if (err == CP_EINVAL || err == CP_ENOENT || (err == CP_OK && !qualified))
        api_error(c, 400, "bad_request", "not an active specialist of the case's subspecialty");
    else if (err != CP_OK)
        api_unavailable(c);
    else
        api_reply(c, 200, json_pack("{s:s,s:s}", "token", r.token, "specialist", a.username));
    json_decref(in);
}

static bool published(const store_case_row_t *r)
{
    return strcmp(r->state, "opinion_published") == 0 || strcmp(r->state, "closed") == 0;
}

/* Once published (or the case withdrawn) the opinion stays as the patient was shown it;
 * answered 409 when it is so. */
static bool still_open(call_t *c, const store_case_row_t *r)
{
    if (!published(r) && strcmp(r->state, "withdrawn") != 0)
        return true;
    api_error(c, 409, "settled", "the opinion is published (or the case withdrawn): it no "
                                 "longer changes");
    return false;
}

/* The case named, if the caller is its specialist: else answered (and the refusal of
 * action audited). */
static bool as_specialist(call_t *c, const char *token, store_case_row_t *r,
                          const char *action, const char *why)
{
    if (!api_find_case(c, token, r))
        return false;
    if (c->role == CASE_ROLE_SPECIALIST)
        return true;
    api_audit(c, r->id, "opinion", action, "denied");
    api_error(c, 403, "forbidden", why);
    return false;
}

/* {"text": ...} with some text: the body (to release once text is used), or NULL when
 * answered 400. */
static json_t *text_body(call_t *c, const char **text)
{
    static const char usage[] = "send {\"text\": ...} with some text";
    json_t *in = api_body(c, usage);
    if (in == NULL)
        return NULL;
    if (json_unpack(in, "{s:s}", "text", text) == 0 && (*text)[strspn(*text, " \t\r\n")])
        return in;
    json_decref(in);
    api_error(c, 400, "bad_request", usage);
    return NULL;
}

/* The case's specialist writes (or rewrites) the opinion's text. */
void api_write_opinion(call_t *c, const char *token)
{
    store_case_row_t r;
    const char *text = NULL;
    json_t *in;
    if (!as_specialist(c, token, &r, "opinion.write",
                       "the case's specialist writes the opinion") ||
        !still_open(c, &r) || (in = text_body(c, &text)) == NULL)
        return;
    store_actor_t by = api_actor(c);
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_opinion_put(c->ctx->pg, r.id, text, NULL, 0, NULL, &by, &ei);
    json_decref(in);
    if (err != CP_OK)
        api_unavailable(c);
    else
        api_reply(c, 200, json_pack("{s:s,s:b}", "token", r.token, "opinion", 1));
}

/* The opinion of a case the caller may read it in: the patient only once published. */
static bool readable_opinion(call_t *c, const store_case_row_t *r, store_opinion_t *o)
{
    cp_errinfo_t ei = {0};
    cp_err_t err = c->role == CASE_ROLE_PATIENT && !published(r)
                       ? CP_ENOENT
                       : store_cases_opinion_get(c->ctx->pg, r->id, o, &ei);
    if (err == CP_ENOENT)
        api_error(c, 404, "no_opinion", c->role == CASE_ROLE_PATIENT
                                            ? "the opinion is not published yet"
                                            : "no opinion is written yet");
    else if (err != CP_OK)
        api_unavailable(c);
    return err == CP_OK;
}

static bool addendum_json(void *ud, const store_addendum_row_t *a)
{
    json_array_append_new(ud, json_pack("{s:s,s:s,s:s}", "text", a->text, "written_by",
                                        a->written_by, "at", a->created_at));
    return true;
}

void api_get_opinion(call_t *c, const char *token)
{
    store_case_row_t r;
    store_opinion_t o;
    if (!api_find_case(c, token, &r) || !readable_opinion(c, &r, &o))
        return;
    json_t *addenda = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_addenda(c->ctx->pg, r.id, addendum_json, addenda, &ei) != CP_OK) {
        json_decref(addenda);
        store_opinion_free(&o);
        api_unavailable(c);
        return;
    }
    api_audit_read(c, r.id, "opinion", "opinion.read");
    api_reply(c, 200, json_pack("{s:s,s:b,s:I,s:s,s:s,s:b,s:o}", "text", o.text, "pdf",
                                o.has_pdf, "pdf_size", (json_int_t)o.pdf_size, "written_by",
                                o.written_by, "updated_at", o.updated_at, "published",
                                published(&r), "addenda", addenda));
    store_opinion_free(&o);
}

/* The case's specialist adds to the opinion once it is published: the opinion the patient
 * was shown stays, the addendum is kept beside it, dated. */
void api_add_addendum(call_t *c, const char *token)
{
    store_case_row_t r;
    const char *text = NULL;
    json_t *in;
    if (!as_specialist(c, token, &r, "opinion.addendum",
                       "the case's specialist adds to the opinion") ||
        (in = text_body(c, &text)) == NULL)
        return;
    store_actor_t by = api_actor(c);
    cp_errinfo_t ei = {0};
    cp_err_t err = store_cases_addendum_add(c->ctx->pg, r.id, text, &by, &ei);
    json_decref(in);
    if (err == CP_ENOENT)
        api_error(c, 409, "not_published", "an addendum follows a published opinion; until then, "
                                           "change the opinion itself");
    else if (err != CP_OK)
        api_unavailable(c);
    else
        api_reply(c, 201, json_pack("{s:s}", "token", r.token));
}

/* The PDF as stored, read whole: it is at most [http] max_upload_mb. */
static char *read_blob(call_t *c, const store_addr_t *addr, size_t *len)
{
    store_blob_reader_t *rd = NULL;
    cp_errinfo_t ei = {0};
    if (store_blob_reader_open(c->ctx->blobs, addr, &rd, &ei) != CP_OK)
        return NULL;
    size_t cap = (size_t)store_blob_reader_size(rd), got = 0, n = 1;
    char *buf = cp_xmalloc(cap + 1);
    cp_err_t err = CP_OK;
    while (err == CP_OK && n > 0 && got <= cap) {
        err = store_blob_reader_read(rd, buf + got, cap + 1 - got, &n, &ei);
        got += n;
    }
    store_blob_reader_close(rd);
    if (err != CP_OK || got != cap) {
        free(buf);
        return NULL;
    }
    *len = got;
    return buf;
}

void api_get_pdf(call_t *c, const char *token)
{
    store_case_row_t r;
    store_opinion_t o;
    if (!api_find_case(c, token, &r) || !readable_opinion(c, &r, &o))
        return;
    size_t len = 0;
    char *pdf = o.has_pdf ? read_blob(c, &o.pdf, &len) : NULL;
    if (!o.has_pdf)
        api_error(c, 404, "no_pdf", "the opinion has no PDF");
    else if (pdf == NULL)
        api_error(c, 500, "unreadable", "the PDF cannot be read; see the server's log");
    else if (!api_audit(c, r.id, "opinion", "opinion.read pdf", "allowed")) {
        free(pdf);
        api_error(c, 503, "unavailable", "the audit trail cannot be written");
    } else {
        c->rs->status = 200;
        c->rs->body = pdf;
        c->rs->body_len = len;
        c->rs->content_type = "application/pdf";
    }
    store_opinion_free(&o);
}

/* The case's specialist attaches the signed PDF to the opinion's text. */
void api_put_pdf(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r) ||
        !api_role_is(c, CASE_ROLE_SPECIALIST, r.id, "opinion", "opinion.pdf",
                     "the case's specialist attaches the opinion's PDF") ||
        !still_open(c, &r))
        return;
    store_addr_t addr;
    uint64_t size = 0;
    char key_id[32];
    cp_errinfo_t ei = {0};
    cp_err_t err = case_pdf_store(c->ctx->blobs, c->rq->body, c->rq->body_len, &addr, &size,
                                  key_id, &ei);
    store_actor_t by = api_actor(c);
    if (err == CP_OK)
        err = store_cases_opinion_pdf(c->ctx->pg, r.id, &addr, size, key_id, &by, &ei);
    if (err == CP_EINVAL)
        api_error(c, 415, "not_pdf", "send the PDF itself as the body (it begins with %PDF-)");
    else if (err == CP_ENOENT)
        api_error(c, 409, "no_opinion", "write the opinion's text first");
    else if (err != CP_OK)
        api_error(c, 503, "unavailable", "the PDF could not be stored");
    else
        api_reply(c, 200, json_pack("{s:s,s:b,s:I}", "token", r.token, "pdf", 1, "size",
                                    (json_int_t)size));
}

/* A fax number: digits with + ( ) - and spaces; an e-mail address: one @, no spaces. */
static bool fax_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 32 && strspn(s, "0123456789+()- ") == n && strpbrk(s, "0123456789");
}

static bool email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    size_t n = strlen(s);
    return at && at != s && at[1] && !strchr(at + 1, '@') && n <= 254 &&
           strcspn(s, " \t\r\n<>,;\"") == n;
}

/* The patient asks for the published opinion to be sent to their own doctor. */
void api_send_opinion(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r) ||
        !api_role_is(c, CASE_ROLE_PATIENT, r.id, "opinion", "opinion.send_request",
                     "the patient asks for the opinion to be sent"))
        return;
    static const char usage[] = "send {\"recipient\": NAME, \"fax\": NUMBER and/or \"email\": "
                                "ADDRESS}";
    json_t *in = api_body(c, usage);
    if (in == NULL)
        return;
    const char *to = NULL, *fax = "", *email = "";
    bool ok = json_unpack(in, "{s:s,s?s,s?s}", "recipient", &to, "fax", &fax, "email",
                          &email) == 0 &&
              to[strspn(to, " ")] && strlen(to) <= 200 && (fax[0] || email[0]) &&
              (!fax[0] || fax_ok(fax)) && (!email[0] || email_ok(email));
    int64_t id = 0;
    cp_errinfo_t ei = {0};
    store_actor_t by = api_actor(c);
    cp_err_t err = CP_OK;
    if (ok && published(&r))
        err = store_cases_outbound_add(c->ctx->pg, r.id, to, fax, email, &by, &id, &ei);
    json_decref(in);
    if (!ok)
        api_error(c, 400, "bad_request", usage);
    else if (!published(&r))
        api_error(c, 409, "not_published", "the opinion is not published yet");
    else if (err != CP_OK)
        api_unavailable(c);
    else
        api_reply(c, 201, json_pack("{s:I,s:s}", "request", (json_int_t)id, "state", "queued"));
}

static bool outbound_json(void *ud, const store_outbound_row_t *o)
{
    json_array_append_new(ud, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "request", (json_int_t)o->id,
                                        "recipient", o->recipient, "fax", o->fax, "email",
                                        o->email, "state", o->state, "created_at",
                                        o->created_at));
    return true;
}

/* What was asked to be sent, to whom, and whether it went: the case's patient and
 * navigator. */
void api_list_outbound(call_t *c, const char *token)
{
    store_case_row_t r;
    if (!api_find_case(c, token, &r))
        return;
    if (c->role != CASE_ROLE_PATIENT && c->role != CASE_ROLE_NAVIGATOR) {
        api_audit(c, r.id, "opinion", "opinion.send_list", "denied");
        api_error(c, 403, "forbidden", "the patient and the navigator see where it was sent");
        return;
    }
    json_t *items = json_array();
    cp_errinfo_t ei = {0};
    if (store_cases_outbound_list(c->ctx->pg, r.id, outbound_json, items, &ei) != CP_OK) {
        json_decref(items);
        api_unavailable(c);
        return;
    }
    api_audit_read(c, r.id, "opinion", "opinion.send_list");
    api_reply(c, 200, json_pack("{s:o}", "requests", items));
}

/* An administrator asks to read one case, saying why: granted for an hour, audited; the
 * reads that follow are audited as any other. Nobody else needs it. */
void api_break_glass(call_t *c, const char *token)
{
    if (c->role != CASE_ROLE_ADMINISTRATOR) {
        api_audit(c, 0, "case", "case.break_glass", "denied");
        api_error(c, 403, "forbidden", "break-glass is for administrators");
        return;
    }
    json_t *in = api_body(c, "send {\"reason\": ...}");
    if (in == NULL)
        return;
    const char *why = NULL;
    char t[CASE_TOKEN_LEN + 1];
    store_case_row_t r = {0};
    cp_errinfo_t ei = {0};
    bool ok = json_unpack(in, "{s:s}", "reason", &why) == 0 && why[strspn(why, " ")] &&
              strlen(why) <= 1000;
    cp_err_t err = !ok                          ? CP_EINVAL
                   : case_token_parse(token, t) ? store_cases_get(c->ctx->pg, t, &r, &ei)
                                                : CP_ENOENT;
    store_actor_t by = api_actor(c);
    if (err == CP_OK)
        err = store_cases_break_glass(c->ctx->pg, r.id, why, BREAK_GLASS_MINUTES, &by, &ei);
    json_decref(in);
    if (err == CP_EINVAL)
        api_error(c, 400, "bad_request", "send {\"reason\": ...} saying why");
    else if (err == CP_ENOENT)
        api_error(c, 404, "not_found", "no such case");
    else if (err != CP_OK)
        api_unavailable(c);
    else
        api_reply(c, 201, json_pack("{s:s,s:i}", "token", r.token, "expires_in",
                                    BREAK_GLASS_MINUTES * 60));
}
