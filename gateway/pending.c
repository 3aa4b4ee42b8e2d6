/* gateway/pending.c -- the budget of connections not yet negotiated (pending.h). The list
 * is at most max long, so a scan of it per new connection is cheap. */
#include "pending.h"

#include <netinet/in.h>
#include <string.h>

void gw_pending_init(gw_pending_t *p, int max, int max_per_address)
{
    memset(p, 0, sizeof *p);
    p->max = max;
    p->max_per_address = max_per_address;
}

void gw_pending_set_address(gw_pending_entry_t *e, const struct sockaddr_storage *addr)
{
    memset(e->key, 0, sizeof e->key);
    e->key[0] = (uint8_t)addr->ss_family;
    if (addr->ss_family == AF_INET)
        memcpy(e->key + 1, &((const struct sockaddr_in *)addr)->sin_addr, 4);
    else if (addr->ss_family == AF_INET6)
        memcpy(e->key + 1, &((const struct sockaddr_in6 *)addr)->sin6_addr, 8);
}

/* Among the entries of e's address (same_address) or all, the one to close: the oldest that
 * has had GW_PENDING_GRACE_MS to send its request, else the newest. The newest, because
 * then a burst of connections is under way: it displaces its own members, not a client
 * that came before it and whose request is about to be read. *count: how many matched. */
static gw_pending_entry_t *pick(const gw_pending_t *p, const gw_pending_entry_t *e,
                                bool same_address, uint64_t now_ms, int *count)
{
    gw_pending_entry_t *old = NULL, *newest = NULL;
    *count = 0;
    for (gw_pending_entry_t *x = p->oldest; x != NULL; x = x->next) {
        if (x == e || (same_address && memcmp(x->key, e->key, sizeof x->key) != 0))
            continue;
        (*count)++;
        if (old == NULL && now_ms - x->born >= GW_PENDING_GRACE_MS)
            old = x;
        newest = x;
    }
    return old != NULL ? old : newest;
}

gw_pending_entry_t *gw_pending_victim(const gw_pending_t *p, const gw_pending_entry_t *e,
                                      uint64_t now_ms)
{
    int n;
    gw_pending_entry_t *x = pick(p, e, true, now_ms, &n);
    if (n > 0 && n >= p->max_per_address)
        return x;
    x = pick(p, e, false, now_ms, &n);
    return n > 0 && n >= p->max ? x : NULL;
}

void gw_pending_add(gw_pending_t *p, gw_pending_entry_t *e, uint64_t now_ms)
{
    if (e->listed)
        return;
    e->listed = true;
    e->born = now_ms;
    e->next = NULL;
    e->prev = p->newest;
    if (p->newest)
        p->newest->next = e;
    else
        p->oldest = e;
    p->newest = e;
    p->n++;
}

void gw_pending_remove(gw_pending_t *p, gw_pending_entry_t *e)
{
    if (!e->listed)
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        p->oldest = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        p->newest = e->prev;
    e->prev = e->next = NULL;
    e->listed = false;
    p->n--;
}

gw_pending_entry_t *gw_pending_oldest(const gw_pending_t *p)
{
    return p->oldest;
}
