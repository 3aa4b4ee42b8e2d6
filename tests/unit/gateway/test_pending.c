/* The pending-connection budget (gateway/pending.c): an address that has its share gives
 * up its own oldest connection, never another address's; a full budget gives up the
 * oldest of all; IPv6 addresses share by /64; a removed entry frees its place; within the
 * grace after joining, a burst gives up its own newest. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pending.h"

/* Entries added at 0 are past their grace by then: the oldest goes first. */
#define LATER (GW_PENDING_GRACE_MS + 1)

static void set_v4(gw_pending_entry_t *e, const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
    memset(e, 0, sizeof *e);
    gw_pending_set_address(e, &ss);
}

static void set_v6(gw_pending_entry_t *e, const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
    in->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, ip, &in->sin6_addr), 1);
    memset(e, 0, sizeof *e);
    gw_pending_set_address(e, &ss);
}

void pending_share_per_address_then_budget(void **state)
{
    (void)state;
    gw_pending_t p;
    gw_pending_init(&p, 4, 2);
    gw_pending_entry_t a1, a2, a3, b1, b2, c1;
    set_v4(&a1, "10.0.0.1");
    set_v4(&a2, "10.0.0.1");
    set_v4(&a3, "10.0.0.1");
    set_v4(&b1, "10.0.0.2");
    set_v4(&b2, "10.0.0.2");
    set_v4(&c1, "10.0.0.3");
    assert_null(gw_pending_victim(&p, &b1, LATER));
    gw_pending_add(&p, &b1, 0);
    gw_pending_add(&p, &a1, 0);
    gw_pending_add(&p, &a2, 0);
    /* 10.0.0.1 has its two: its own oldest goes, not b1, the oldest of all */
    assert_ptr_equal(gw_pending_victim(&p, &a3, LATER), &a1);
    gw_pending_remove(&p, &a1);
    assert_null(gw_pending_victim(&p, &a3, LATER));
    gw_pending_add(&p, &a3, 0);
    gw_pending_add(&p, &b2, 0); /* four: the budget is full */
    assert_int_equal(p.n, 4);
    assert_ptr_equal(gw_pending_victim(&p, &c1, LATER), &b1); /* the oldest of all */
    gw_pending_remove(&p, &b1);
    gw_pending_add(&p, &c1, 0);
    assert_ptr_equal(gw_pending_oldest(&p), &a2);
    assert_ptr_equal(p.newest, &c1);
    /* removing twice, or what was never listed, changes nothing */
    gw_pending_remove(&p, &b1);
    gw_pending_entry_t never;
    set_v4(&never, "10.0.0.9");
    gw_pending_remove(&p, &never);
    assert_int_equal(p.n, 4);
    for (gw_pending_entry_t *e; (e = gw_pending_oldest(&p)) != NULL;)
        gw_pending_remove(&p, e);
    assert_int_equal(p.n, 0);
    assert_null(p.newest);
}

void pending_ipv6_shares_by_prefix(void **state)
{
    (void)state;
    gw_pending_t p;
    gw_pending_init(&p, 100, 1);
    gw_pending_entry_t x, y, z, v4;
    set_v6(&x, "2001:db8:1:2::10");
    set_v6(&y, "2001:db8:1:2:ffff::1"); /* the same /64 */
    set_v6(&z, "2001:db8:1:3::10");     /* the next one */
    set_v4(&v4, "32.1.13.184");         /* 2001:0db8 as IPv4 bytes: another family */
    gw_pending_add(&p, &x, 0);
    assert_ptr_equal(gw_pending_victim(&p, &y, LATER), &x);
    assert_null(gw_pending_victim(&p, &z, LATER));
    assert_null(gw_pending_victim(&p, &v4, LATER));
}

void pending_burst_gives_up_its_newest(void **state)
{
    (void)state;
    gw_pending_t p;
    gw_pending_init(&p, 100, 3);
    gw_pending_entry_t real, b1, b2, b3;
    set_v4(&real, "10.0.0.1");
    set_v4(&b1, "10.0.0.1");
    set_v4(&b2, "10.0.0.1");
    set_v4(&b3, "10.0.0.1");
    gw_pending_add(&p, &real, 1000); /* a client, its request on the way */
    gw_pending_add(&p, &b1, 1100);   /* a burst from the same address */
    gw_pending_add(&p, &b2, 1100);
    /* all within the grace: the burst's newest goes, not the client before it */
    assert_ptr_equal(gw_pending_victim(&p, &b3, 1100), &b2);
    /* once the client has had its grace, it is the oldest and goes first */
    assert_ptr_equal(gw_pending_victim(&p, &b3, 1000 + GW_PENDING_GRACE_MS), &real);
}
