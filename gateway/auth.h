/* gateway/auth.h -- passwords as argon2id hashes (RFC 9106, libargon2). Verifying costs
 * tens of milliseconds of CPU on purpose: call it from the thread pool, never the loop. */
#ifndef CASEPORT_GW_AUTH_H
#define CASEPORT_GW_AUTH_H
#include <stdbool.h>
#include <stddef.h>

#include "cp_err.h"

/* Writes the encoded hash ("$argon2id$v=19$m=...") of password into out. */
cp_err_t gw_auth_hash(const char *password, char *out, size_t cap, cp_errinfo_t *ei);
/* True if password matches the encoded hash (constant time in the hash comparison). */
bool gw_auth_verify(const char *encoded, const char *password, size_t len);
/* True if the hash was made with other parameters than gw_auth_hash uses now. */
bool gw_auth_outdated(const char *encoded);
#endif
