/* gateway/tls.h -- TLS for the DICOM listener (PS3.15 B.9, BCP 195) and the HTTP API
 * over libuv streams: OpenSSL runs on memory BIOs, so the same connection code reads and
 * writes through it. Loop thread. */
#ifndef CASEPORT_GW_TLS_H
#define CASEPORT_GW_TLS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_err.h"

typedef struct gw_tls_ctx gw_tls_ctx_t; /* the server's certificate and policy */
typedef struct gw_tls gw_tls_t;         /* one connection */

/* A listener's certificate and policy, as its configuration section names them. */
typedef struct gw_tls_conf {
    const char *cert, *key; /* PEM: the certificate chain, its private key */
    const char *ca;         /* "" or NULL: client certificates are not asked for */
    bool require_client_cert;
} gw_tls_conf_t;

/* TLS 1.2 or newer, BCP 195 cipher suites (ECDHE with AES-GCM or ChaCha20), the server
 * certificate and key; with a ca, client certificates are verified against it, and
 * required with require_client_cert. */
cp_err_t gw_tls_ctx_new(const gw_tls_conf_t *tc, gw_tls_ctx_t **out, cp_errinfo_t *ei);
void gw_tls_ctx_free(gw_tls_ctx_t *ctx); /* NULL: no-op */

gw_tls_t *gw_tls_new(gw_tls_ctx_t *ctx);
void gw_tls_free(gw_tls_t *t); /* NULL: no-op */

typedef void (*gw_tls_plain_cb)(void *ud, const uint8_t *data, size_t len);
/* Ciphertext read from the socket: runs the handshake, then hands each piece of
 * plaintext to cb. CP_EPROTO (message in ei) when the handshake or a record fails. */
cp_err_t gw_tls_feed(gw_tls_t *t, const uint8_t *in, size_t n, gw_tls_plain_cb cb, void *ud,
                     cp_errinfo_t *ei);
/* Plaintext to send: encrypted into the outgoing buffer. */
cp_err_t gw_tls_write(gw_tls_t *t, const uint8_t *data, size_t n, cp_errinfo_t *ei);
/* Ciphertext waiting for the socket (handshake messages, records); take moves up to cap
 * bytes of it into buf and returns how many. */
size_t gw_tls_pending(gw_tls_t *t);
size_t gw_tls_take(gw_tls_t *t, uint8_t *buf, size_t cap);
/* After the handshake: the negotiated protocol ("TLSv1.3"), cipher, and whether the peer
 * presented a verified certificate. */
const char *gw_tls_version(const gw_tls_t *t);
const char *gw_tls_cipher(const gw_tls_t *t);
bool gw_tls_peer_verified(const gw_tls_t *t);
/* SHA-256 of the peer certificate's DER encoding; false if it presented none. */
bool gw_tls_peer_sha256(const gw_tls_t *t, uint8_t out[32]);
#endif
