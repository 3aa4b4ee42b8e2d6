/* gateway/tls.c -- OpenSSL with a pair of memory BIOs per connection: the socket's bytes go
 * into rbio, what OpenSSL wants to send comes out of wbio and is written by libuv. */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "cp_mem.h"

struct gw_tls_ctx {
    SSL_CTX *ctx;
};

struct gw_tls {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
};

static cp_err_t ssl_fail(cp_errinfo_t *ei, const char *what)
{
    char buf[160] = "";
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return cp_fail(ei, CP_ECONFIG, 0, "%s: %s", what, buf[0] ? buf : "failed");
}

/* BCP 195 / PS3.15 B.9: TLS 1.2 with ECDHE and AEAD suites; TLS 1.3's suites as OpenSSL
 * ships them (all AEAD). */
static const char bcp195_tls12[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

cp_err_t gw_tls_ctx_new(const gw_tls_conf_t *tc, gw_tls_ctx_t **out, cp_errinfo_t *ei)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return ssl_fail(ei, "tls context");
    cp_err_t err = CP_OK;
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_set_cipher_list(ctx, bcp195_tls12))
        err = ssl_fail(ei, "tls protocol settings");
    else if (SSL_CTX_use_certificate_chain_file(ctx, tc->cert) != 1)
        err = ssl_fail(ei, "tls_cert");
    else if (SSL_CTX_use_PrivateKey_file(ctx, tc->key, SSL_FILETYPE_PEM) != 1 ||
             SSL_CTX_check_private_key(ctx) != 1)
        err = ssl_fail(ei, "tls_key");
    else if (tc->ca && tc->ca[0] && SSL_CTX_load_verify_locations(ctx, tc->ca, NULL) != 1)
        err = ssl_fail(ei, "tls_ca");
    if (err != CP_OK) {
        SSL_CTX_free(ctx);
        return err;
    }
    int mode = SSL_VERIFY_NONE;
    if (tc->ca && tc->ca[0])
        mode = SSL_VERIFY_PEER | (tc->require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(ctx, mode, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    *out = cp_xcalloc(1, sizeof **out);
    (*out)->ctx = ctx;
    return CP_OK;
}

void gw_tls_ctx_free(gw_tls_ctx_t *c)
{
    if (c == NULL)
        return;
    SSL_CTX_free(c->ctx);
    free(c);
}

gw_tls_t *gw_tls_new(gw_tls_ctx_t *c)
{
    gw_tls_t *t = cp_xcalloc(1, sizeof *t);
    t->ssl = SSL_new(c->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        fprintf(stderr, "level=fatal comp=tls msg=\"out of memory\"\n");
        abort(); /* fixed-size allocations: the cp_xmalloc policy */
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    return t;
}

void gw_tls_free(gw_tls_t *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl); /* frees both BIOs */
    free(t);
}

cp_err_t gw_tls_feed(gw_tls_t *t, const uint8_t *in, size_t n, gw_tls_plain_cb cb, void *ud,
                     cp_errinfo_t *ei)
{
    if (n > 0 && BIO_write(t->rbio, in, (int)n) != (int)n)
        return cp_fail(ei, CP_ENOMEM, 0, "tls input buffer");
    uint8_t buf[16 * 1024];
    for (;;) {
        int r = SSL_read(t->ssl, buf, sizeof buf);
        if (r > 0) {
            cb(ud, buf, (size_t)r);
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return CP_OK; /* needs more ciphertext; handshake output waits in wbio */
        if (e == SSL_ERROR_ZERO_RETURN)
            return cp_fail(ei, CP_ECLOSED, 0, "tls close_notify from the peer");
        char msg[160] = "";
        unsigned long le = ERR_get_error();
        if (le)
            ERR_error_string_n(le, msg, sizeof msg);
        ERR_clear_error();
        return cp_fail(ei, CP_EPROTO, 0, "tls: %s", msg[0] ? msg : "protocol error");
    }
}

cp_err_t gw_tls_write(gw_tls_t *t, const uint8_t *data, size_t n, cp_errinfo_t *ei)
{
    while (n > 0) {
        int w = SSL_write(t->ssl, data, n > INT32_MAX ? INT32_MAX : (int)n);
        if (w <= 0) {
            ERR_clear_error();
            return cp_fail(ei, CP_EPROTO, 0, "tls write before or after the session");
        }
        data += w;
        n -= (size_t)w;
    }
    return CP_OK;
}

size_t gw_tls_pending(gw_tls_t *t)
{
    return BIO_ctrl_pending(t->wbio);
}

size_t gw_tls_take(gw_tls_t *t, uint8_t *buf, size_t cap)
{
    int r = BIO_read(t->wbio, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
    return r > 0 ? (size_t)r : 0;
}

const char *gw_tls_version(const gw_tls_t *t)
{
    return SSL_get_version(t->ssl);
}

const char *gw_tls_cipher(const gw_tls_t *t)
{
    return SSL_get_cipher_name(t->ssl);
}

bool gw_tls_peer_sha256(const gw_tls_t *t, uint8_t out[32])
{
    X509 *cert = SSL_get1_peer_certificate(t->ssl);
    unsigned int n = 0;
    bool ok = cert != NULL && X509_digest(cert, EVP_sha256(), out, &n) == 1 && n == 32;
    X509_free(cert);
    return ok;
}

bool gw_tls_peer_verified(const gw_tls_t *t)
{
    X509 *cert = SSL_get1_peer_certificate(t->ssl);
    bool ok = cert != NULL && SSL_get_verify_result(t->ssl) == X509_V_OK;
    X509_free(cert);
    return ok;
}
