/* gateway/pending.h -- the connections a listener has accepted but that have not yet shown
 * they are a real client: no complete A-ASSOCIATE-RQ (DICOM), no complete request head
 * (HTTP, including a kept-alive connection waiting for its next request). They get a
 * budget of their own, apart from the associations and requests being served, and a
 * share per source address; a connection that would go over either closes the oldest
 * pending one (of its own address first), so that silent or slow sockets, however many,
 * never shut a real sender out. The way nginx and HAProxy defend against slow-loris.
 * A connection younger than GW_PENDING_GRACE_MS is spared while an older one can go: a
 * burst from one address displaces its own newest members, not the client before it.
 * Layer: gateway. */
#ifndef CASEPORT_GW_PENDING_H
#define CASEPORT_GW_PENDING_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Embedded in a connection; the listener finds the connection with container_of. */
typedef struct gw_pending_entry {
    struct gw_pending_entry *prev, *next; /* oldest first */
    uint8_t key[9];                       /* family, then the address or its /64 */
    bool listed;
    uint64_t born; /* when it joined, ms (the loop's clock) */
} gw_pending_entry_t;

#define GW_PENDING_GRACE_MS 250 /* to send a request once connected, in a burst */

typedef struct gw_pending {
    gw_pending_entry_t *oldest, *newest;
    int n;
    int max;             /* pending connections in all */
    int max_per_address; /* of one IPv4 address or IPv6 /64 */
} gw_pending_t;

void gw_pending_init(gw_pending_t *p, int max, int max_per_address);
/* The source address e is counted under: IPv4 whole, IPv6 by its /64 (one host has one). */
void gw_pending_set_address(gw_pending_entry_t *e, const struct sockaddr_storage *addr);
/* The connection to close before e may join: one of e's address when that address has its
 * share, else one of all when the budget is full (the oldest past the grace, else the
 * newest); NULL when there is room. The caller closes it (which must gw_pending_remove
 * it) and asks again. */
gw_pending_entry_t *gw_pending_victim(const gw_pending_t *p, const gw_pending_entry_t *e,
                                      uint64_t now_ms);
void gw_pending_add(gw_pending_t *p, gw_pending_entry_t *e, uint64_t now_ms);
/* Leaves the list (the client proved itself, or closed); nothing when not listed. */
void gw_pending_remove(gw_pending_t *p, gw_pending_entry_t *e);
gw_pending_entry_t *gw_pending_oldest(const gw_pending_t *p);
#endif
