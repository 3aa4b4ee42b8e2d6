/* storage/store_audit_int.h -- what the audit trail's files (store_audit*.c) share: the
 * text a row's hash is computed over, the keyed hash, and the anchor file's lines. */
#ifndef CASEPORT_STORE_AUDIT_INT_H
#define CASEPORT_STORE_AUDIT_INT_H
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_audit.h"

/* The hashed fields in their order: time (YYYY-MM-DDTHH:MM:SS.ffffffZ), actor id, role,
 * case id, object, action, outcome, source. */
#define STORE__AUDIT_TEXT_FIELDS 8
/* "caseport-audit-v<version>|<seq>|<prev hex>|" then each field as <octets>:<value>
 * (NULL as empty), as cp_audit_text (0010) writes version 1. malloc'd; *len its length. */
char *store__audit_text(int version, int64_t seq, const char *prev_hex,
                        const char *const f[STORE__AUDIT_TEXT_FIELDS], size_t *len);
/* An HMAC-SHA-256 context for store__audit_mac; NULL if openssl failed. */
EVP_MAC_CTX *store__audit_mac_new(void);
bool store__audit_mac(EVP_MAC_CTX *m, const uint8_t key[32], const char *text, size_t len,
                      uint8_t out[32]);
void store__audit_hex(const uint8_t b[32], char out[65]);

/* Calls cb for each whole line of the anchor file at path (lineno from 1): a with the
 * anchor, or NULL when the line is not one. A last line without its newline (a write cut
 * short by a crash) is no line. A missing file has no lines. */
typedef void (*store__anchor_fn)(void *ud, int64_t lineno, const store_audit_anchor_t *a);
cp_err_t store__audit_anchors_read(const char *path, store__anchor_fn cb, void *ud,
                                   cp_errinfo_t *ei);
#endif
