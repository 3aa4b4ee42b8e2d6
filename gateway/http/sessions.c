/* gateway/http/sessions.c -- recently looked-up sessions (sessions.h): a small table
 * indexed by the token hash's first bytes (the hash is SHA-256 of 256 random bits, so
 * they spread evenly); a collision replaces the older entry. */
#include "sessions.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_mem.h"

#define SLOTS 1024

typedef struct entry {
    uint8_t hash[32];
    store_account_t account;
    uint64_t at_ms; /* 0: empty */
} entry_t;

struct gw_sessions {
    pthread_mutex_t m;
    entry_t slot[SLOTS];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

static entry_t *slot_of(gw_sessions_t *s, const uint8_t hash[32])
{
    return &s->slot[(hash[0] | (unsigned)hash[1] << 8) % SLOTS];
}

gw_sessions_t *gw_sessions_new(void)
{
    gw_sessions_t *s = cp_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->m, NULL);
    return s;
}

void gw_sessions_free(gw_sessions_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->m);
    free(s);
}

bool gw_sessions_get(gw_sessions_t *s, const uint8_t hash[32], store_account_t *out)
{
    uint64_t now = now_ms();
    pthread_mutex_lock(&s->m);
    entry_t *e = slot_of(s, hash);
    bool hit = e->at_ms != 0 && now - e->at_ms < GW_SESSION_CACHE_MS &&
               memcmp(e->hash, hash, 32) == 0;
    if (hit)
        *out = e->account;
    pthread_mutex_unlock(&s->m);
    return hit;
}

void gw_sessions_put(gw_sessions_t *s, const uint8_t hash[32], const store_account_t *a)
{
    pthread_mutex_lock(&s->m);
    entry_t *e = slot_of(s, hash);
    memcpy(e->hash, hash, 32);
    e->account = *a;
    e->account.password_hash[0] = '\0';
    e->at_ms = now_ms();
    pthread_mutex_unlock(&s->m);
}

void gw_sessions_drop(gw_sessions_t *s, const uint8_t hash[32])
{
    pthread_mutex_lock(&s->m);
    entry_t *e = slot_of(s, hash);
    if (memcmp(e->hash, hash, 32) == 0)
        e->at_ms = 0;
    pthread_mutex_unlock(&s->m);
}

void gw_sessions_clear(gw_sessions_t *s)
{
    pthread_mutex_lock(&s->m);
    for (size_t i = 0; i < SLOTS; i++)
        s->slot[i].at_ms = 0;
    pthread_mutex_unlock(&s->m);
}
