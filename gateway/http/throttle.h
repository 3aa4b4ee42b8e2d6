/* gateway/http/throttle.h -- failed sign-ins counted per key ("u:" username, "a:" client
 * address) over a window; a key that failed too often is refused (429) without its
 * password being checked, until the window ends. Against guessing one account's password
 * (per username) and trying many accounts from one place (per address). Thread-safe.
 * Layer: gateway (private to http/). */
#ifndef CASEPORT_THROTTLE_H
#define CASEPORT_THROTTLE_H
#include <stdbool.h>

#define GW_LOGIN_WINDOW_SECONDS (15 * 60)
#define GW_LOGIN_MAX_PER_USER 5
#define GW_LOGIN_MAX_PER_ADDRESS 20

typedef struct gw_throttle gw_throttle_t;

gw_throttle_t *gw_throttle_new(void);
void gw_throttle_free(gw_throttle_t *t); /* NULL: no-op */
/* key has failed max times or more within the window */
bool gw_throttle_blocked(gw_throttle_t *t, const char *key, int max);
void gw_throttle_failed(gw_throttle_t *t, const char *key);
void gw_throttle_reset(gw_throttle_t *t, const char *key);
#endif
