/* gateway/http/throttle.h -- failed sign-ins counted per key over a window; past a number
 * of free failures a key must wait before each further attempt, longer after each
 * failure, and an attempt made sooner is answered 429 without its password being checked.
 * It slows guessing down rather than lock anyone out: the keys (api.c) are an account from
 * one address, one address, and an account from everywhere with a short wait, so nobody
 * elsewhere can keep an account's owner from signing in. Thread-safe.
 * Layer: gateway (private to http/). */
#ifndef CASEPORT_THROTTLE_H
#define CASEPORT_THROTTLE_H
#include <stdbool.h>

#define GW_LOGIN_WINDOW_SECONDS (15 * 60)

/* After free failures within the window, each further attempt waits base seconds after
 * the last failure, doubling with each failure, at most cap. */
typedef struct gw_throttle_rule {
    int free, base, cap;
} gw_throttle_rule_t;

typedef struct gw_throttle gw_throttle_t;

gw_throttle_t *gw_throttle_new(void);
void gw_throttle_free(gw_throttle_t *t); /* NULL: no-op */
/* Seconds key must still wait before its next attempt under rule; 0: it may try now. */
int gw_throttle_wait(gw_throttle_t *t, const char *key, gw_throttle_rule_t rule);
void gw_throttle_failed(gw_throttle_t *t, const char *key);
void gw_throttle_reset(gw_throttle_t *t, const char *key);
#endif
