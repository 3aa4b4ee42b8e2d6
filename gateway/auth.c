/* gateway/auth.c -- argon2id with OWASP's parameters (Password Storage Cheat Sheet): t=2,
 * m=19 MiB, p=1, a 16-byte random salt, 32-byte tag. RFC 9106's second option (t=3,
 * m=64 MiB), used before, took 188 ms a sign-in on this 2-core machine against 35 ms,
 * and 64 MiB of memory each: a sign-in under 100 ms, and many at once in bounded memory.
 * A hash made with other parameters is made again at the next successful sign-in. */
#include "auth.h"

#include <argon2.h>
#include <openssl/rand.h>
#include <string.h>

#define T_COST 2
#define M_COST 19456 /* KiB */
#define PARALLEL 1
#define PARAMS "$argon2id$v=19$m=19456,t=2,p=1$" /* how gw_auth_hash's hashes begin */
#define SALT_LEN 16
#define HASH_LEN 32

cp_err_t gw_auth_hash(const char *password, char *out, size_t cap, cp_errinfo_t *ei)
{
    uint8_t salt[SALT_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return cp_fail(ei, CP_EIO, 0, "no random bytes for a salt");
    int rc = argon2id_hash_encoded(T_COST, M_COST, PARALLEL, password, strlen(password), salt,
                                   sizeof salt, HASH_LEN, out, cap);
    if (rc != ARGON2_OK)
        return cp_fail(ei, CP_EINVAL, 0, "argon2id: %s", argon2_error_message(rc));
    return CP_OK;
}

bool gw_auth_verify(const char *encoded, const char *password, size_t len)
{
    return argon2id_verify(encoded, password, len) == ARGON2_OK;
}

bool gw_auth_outdated(const char *encoded)
{
    return strncmp(encoded, PARAMS, sizeof PARAMS - 1) != 0;
}
