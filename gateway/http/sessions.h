/* gateway/http/sessions.h -- the API's sessions as recently looked up: every request
 * names its session, and asking PostgreSQL each time was a quarter of a case page's
 * statements. An entry is trusted for GW_SESSION_CACHE_MS only, so that a session ended
 * elsewhere (another caseport process, an expired or disabled account) stops working
 * within that time; one ended here (sign-out) is dropped at once. Thread-safe. Layer:
 * gateway (private to http/). */
#ifndef CASEPORT_SESSIONS_H
#define CASEPORT_SESSIONS_H
#include <stdbool.h>
#include <stdint.h>

#include "store_cases.h"

#define GW_SESSION_CACHE_MS 2000

typedef struct gw_sessions gw_sessions_t;

gw_sessions_t *gw_sessions_new(void);
void gw_sessions_free(gw_sessions_t *s); /* NULL: no-op */
/* The account of the session with this token hash, if looked up less than
 * GW_SESSION_CACHE_MS ago (out->password_hash is left empty). */
bool gw_sessions_get(gw_sessions_t *s, const uint8_t hash[32], store_account_t *out);
void gw_sessions_put(gw_sessions_t *s, const uint8_t hash[32], const store_account_t *a);
void gw_sessions_drop(gw_sessions_t *s, const uint8_t hash[32]);
/* Forgets every session (an account was disabled or its password reset). */
void gw_sessions_clear(gw_sessions_t *s);
#endif
