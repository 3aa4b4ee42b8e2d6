/* gateway/auth.c -- argon2id with RFC 9106's second recommended option for constrained
 * memory: t=3, m=64 MiB, p=1 (about 60 ms here), a 16-byte random salt, 32-byte tag. */
#include "auth.h"

#include <argon2.h>
#include <openssl/rand.h>
#include <string.h>

#define T_COST 3
#define M_COST (64 * 1024)
#define PARALLEL 1
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
