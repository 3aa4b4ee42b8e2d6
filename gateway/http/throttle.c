/* gateway/http/throttle.c -- failed sign-ins per key (throttle.h): a fixed table indexed
 * by a hash of the key, each slot holding its key, so that two keys never share a count.
 * A new key takes over a slot whose window has ended or whose key failed once; a slot
 * with another key's live count leaves the new key uncounted. The hash is seeded at
 * random, so nobody can pick a username that lands on a victim's slot to that end; the
 * per-address count applies either way. */
#include "throttle.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "cp_mem.h"

#define SLOTS 4096
#define KEY_MAX 160

typedef struct slot {
    char key[KEY_MAX];
    int failures;
    int64_t since; /* start of the window, monotonic seconds; 0: empty */
    int64_t last;  /* the last failure */
} slot_t;

struct gw_throttle {
    pthread_mutex_t m;
    uint32_t seed; /* random: which keys share a slot cannot be worked out beforehand */
    slot_t slot[SLOTS];
};

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec + 1;
}

static uint32_t fnv1a(uint32_t seed, const char *s)
{
    uint32_t h = 2166136261u ^ seed;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The key's slot, locked; NULL when it has none (and create is false). */
static slot_t *find(gw_throttle_t *t, const char *key, bool create)
{
    slot_t *s = &t->slot[fnv1a(t->seed, key) % SLOTS];
    int64_t now = now_s();
    bool mine = s->since != 0 && strncmp(s->key, key, KEY_MAX - 1) == 0;
    if (mine && now - s->since >= GW_LOGIN_WINDOW_SECONDS) {
        s->since = 0; /* its window ended */
        mine = false;
    }
    if (mine)
        return s;
    if (!create)
        return NULL;
    if (s->since != 0 && now - s->since < GW_LOGIN_WINDOW_SECONDS && s->failures > 1)
        return NULL; /* a live count of another key stays: this one is not counted */
    snprintf(s->key, sizeof s->key, "%s", key);
    s->failures = 0;
    s->since = now;
    return s;
}

gw_throttle_t *gw_throttle_new(void)
{
    gw_throttle_t *t = cp_xcalloc(1, sizeof *t);
    if (RAND_bytes((unsigned char *)&t->seed, sizeof t->seed) != 1)
        t->seed = (uint32_t)now_s() * 2654435761u; /* still not known outside */
    pthread_mutex_init(&t->m, NULL);
    return t;
}

void gw_throttle_free(gw_throttle_t *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->m);
    free(t);
}

int gw_throttle_wait(gw_throttle_t *t, const char *key, gw_throttle_rule_t rule)
{
    pthread_mutex_lock(&t->m);
    slot_t *s = find(t, key, false);
    int64_t wait = 0;
    if (s != NULL && s->failures >= rule.free) {
        int64_t d = rule.base;
        for (int k = rule.free; k < s->failures && d < rule.cap; k++)
            d *= 2;
        wait = s->last + (d < rule.cap ? d : rule.cap) - now_s();
    }
    pthread_mutex_unlock(&t->m);
    return wait > 0 ? (int)wait : 0;
}

void gw_throttle_failed(gw_throttle_t *t, const char *key)
{
    pthread_mutex_lock(&t->m);
    slot_t *s = find(t, key, true);
    if (s != NULL) {
        s->failures++;
        s->last = now_s();
    }
    pthread_mutex_unlock(&t->m);
}

void gw_throttle_reset(gw_throttle_t *t, const char *key)
{
    pthread_mutex_lock(&t->m);
    slot_t *s = find(t, key, false);
    if (s != NULL)
        s->since = 0;
    pthread_mutex_unlock(&t->m);
}
