/* NetworkActivity aggregation through the public API: keys, merging, windows, capacity. */
#include <string.h>

#include "helpers.h"
#include "minitest.h"
#include "secmod_config.h"
#include "secmod_netact.h"
#include "secmod_netparse.h"

/* Enable and consume the first (SystemInformation + Heartbeat) message. */
static int start(uint32_t seed)
{
    mod_reset(seed);
    return mod_enable_to_first() >= 0 ? 0 : -1;
}

/* Run to the next published message and decode it into m. */
static int next_msg(rd_message_t *m)
{
    if (!fake_advance_until_sent(70)) {
        mt_fail(__FILE__, __LINE__, "no message within 70 s");
        return -1;
    }
    return decode_sent(fake_nsent - 1, m);
}

static void test_na_both_directions_one_record(void)
{
    rd_message_t *m = &msg_a;
    const rd_record_t *r;
    int i;

    REQUIRE(start(1) == 0);
    send_v4(6, ME4, HUB4, 50000, 8883, 100); /* 120 L4 bytes out */
    recv_v4(6, ME4, HUB4, 50000, 8883, 40);  /* 60 in */
    send_v4(6, ME4, HUB4, 50000, 8883, 0);   /* 20 out */
    recv_v4(6, ME4, HUB4, 50000, 8883, 0);   /* 20 in */
    REQUIRE(next_msg(m) == 0);
    REQUIRE_EQ(m->n_events, 1);
    i = find_event(m, 1);
    REQUIRE(i == 0);
    CHECK_EQ(m->ev[0].collection_interval, 10);
    REQUIRE_EQ(m->ev[0].n4, 1);
    CHECK_EQ(m->ev[0].n6, 0);
    CHECK(!m->ev[0].has_v6);
    r = &m->ev[0].v4[0];
    CHECK_MEM(r->local, ME4, 4);
    CHECK_MEM(r->remote, HUB4, 4);
    CHECK_EQ(r->local_port, 50000);
    CHECK_EQ(r->remote_port, 8883);
    CHECK_EQ(r->bytes_in, 80);
    CHECK_EQ(r->bytes_out, 140);
    CHECK_EQ(r->protocol, 0);
}

static void test_na_keys_separate(void)
{
    rd_message_t *m = &msg_a;
    const rd_event_t *e;

    REQUIRE(start(2) == 0);
    send_v4(6, ME4, HUB4, 50000, 8883, 1);
    send_v4(17, ME4, HUB4, 50000, 8883, 1);  /* other protocol */
    send_v4(6, ME4, HUB4, 50001, 8883, 1);   /* other local port */
    send_v4(6, ME4, PEER4, 50000, 8883, 1);  /* other remote */
    send_v4(1, ME4, PEER4, 0, 0, 56);        /* ICMP */
    recv_v4(1, ME4, PEER4, 0, 0, 56);        /* ICMP reply: same record */
    send_v6(6, ME6, PEER6, 50000, 8883, 1);  /* IPv6: its own list */
    send_v6(58, ME6, PEER6, 0, 0, 24);       /* outbound ICMPv6 */
    REQUIRE(next_msg(m) == 0);
    REQUIRE_EQ(m->n_events, 1);
    e = &m->ev[0];
    CHECK_EQ(e->n4, MIN_U(5, SECMOD_MAX_IPV4_RECORDS));
    CHECK_EQ(e->n6, MIN_U(2, SECMOD_MAX_IPV6_RECORDS));
    if (SECMOD_MAX_IPV4_RECORDS < 5 || SECMOD_MAX_IPV6_RECORDS < 2)
        return; /* small pools: the rest is covered by the capacity tests */
    REQUIRE(find_v4(e, 0, 0, 2) != NULL);
    CHECK_EQ(find_v4(e, 0, 0, 2)->bytes_in, 64);
    CHECK_EQ(find_v4(e, 0, 0, 2)->bytes_out, 64);
    REQUIRE(find_v6(e, 0, 0, 2) != NULL);
    CHECK_EQ(find_v6(e, 0, 0, 2)->bytes_out, 32);
    CHECK_EQ(find_v6(e, 0, 0, 2)->bytes_in, 0);
    REQUIRE(find_v6(e, 50000, 8883, 0) != NULL);
    CHECK_MEM(find_v6(e, 50000, 8883, 0)->local, ME6, 16);
}

static void test_na_byte_sums_32bit(void)
{
    rd_message_t *m = &msg_a;
    unsigned i;

    REQUIRE(start(3) == 0);
    /* 70,000 max-size packets would not fit a 10-s test; 3 x 65515 shows 16-bit per packet, 32-bit sums */
    for (i = 0; i < 3; i++)
        send_v4(17, ME4, PEER4, 9, 9, 65535 - 28);
    REQUIRE(next_msg(m) == 0);
    REQUIRE_EQ(m->ev[0].n4, 1);
    CHECK_EQ(m->ev[0].v4[0].bytes_out, 3u * 65515u);
}

static void test_na_window_and_no_spill(void)
{
    rd_message_t *m = &msg_a;

    REQUIRE(start(4) == 0);
    send_v4(6, ME4, HUB4, 50000, 8883, 10);
    REQUIRE(next_msg(m) == 0);
    CHECK_EQ(m->ev[0].n4, 1);
    /* a flow seen in the next window only appears once, in the next message */
    send_v4(17, ME4, PEER4, 1, 2, 10);
    REQUIRE(next_msg(m) == 0);
    REQUIRE_EQ(m->ev[0].n4, 1);
    CHECK_EQ(m->ev[0].v4[0].protocol, 1);
}

static void capacity(int v6)
{
    rd_message_t *m = &msg_a;
    unsigned cap = v6 ? SECMOD_MAX_IPV6_RECORDS : SECMOD_MAX_IPV4_RECORDS;
    unsigned other_cap = v6 ? SECMOD_MAX_IPV4_RECORDS : SECMOD_MAX_IPV6_RECORDS;
    unsigned i;
    const rd_record_t *first;
    uint32_t dropped;

    REQUIRE(start(5) == 0);
    for (i = 0; i < cap; i++) {
        if (v6)
            send_v6(17, ME6, PEER6, (uint16_t)(10000 + i), 53, 10);
        else
            send_v4(17, ME4, PEER4, (uint16_t)(10000 + i), 53, 10);
    }
    CHECK_EQ(secmod_stats()->records_dropped, 0);
    CHECK_EQ(v6 ? secmod_netact_free_ipv6() : secmod_netact_free_ipv4(), 0);
    /* a new flow is dropped */
    if (v6)
        send_v6(17, ME6, PEER6, 9999, 53, 10);
    else
        send_v4(17, ME4, PEER4, 9999, 53, 10);
    CHECK_EQ(secmod_stats()->records_dropped, 1);
    /* and an existing flow stops accumulating */
    if (v6) {
        send_v6(17, ME6, PEER6, 10000, 53, 10);
        recv_v6(17, ME6, PEER6, 10000, 53, 10);
    } else {
        send_v4(17, ME4, PEER4, 10000, 53, 10);
        recv_v4(17, ME4, PEER4, 10000, 53, 10);
    }
    dropped = secmod_stats()->records_dropped;
    CHECK_EQ(dropped, 3);
    /* the other IP version has its own pool (dropped only if that pool has size 0) */
    if (v6)
        send_v4(17, ME4, PEER4, 1, 2, 10);
    else
        send_v6(17, ME6, PEER6, 1, 2, 10);
    dropped = 3u + (other_cap == 0 ? 1u : 0u);
    CHECK_EQ(secmod_stats()->records_dropped, dropped);

    REQUIRE(next_msg(m) == 0);
    REQUIRE_EQ(m->n_events, 1);
    CHECK_EQ(v6 ? m->ev[0].n6 : m->ev[0].n4, cap);
    CHECK_EQ(v6 ? m->ev[0].n4 : m->ev[0].n6, MIN_U(1, other_cap));
    first = v6 ? find_v6(&m->ev[0], 10000, 53, 1) : find_v4(&m->ev[0], 10000, 53, 1);
    REQUIRE(first != NULL);
    CHECK_EQ(first->bytes_out, 18); /* frozen at its first packet */
    CHECK_EQ(first->bytes_in, 0);
    CHECK(v6 ? find_v6(&m->ev[0], 9999, 53, 1) == NULL : find_v4(&m->ev[0], 9999, 53, 1) == NULL);

    /* the collection freed the pool; dropped flows do not spill into the next window */
    CHECK_EQ(v6 ? secmod_netact_free_ipv6() : secmod_netact_free_ipv4(), cap);
    if (v6)
        send_v6(17, ME6, PEER6, 7777, 53, 10);
    else
        send_v4(17, ME4, PEER4, 7777, 53, 10);
    REQUIRE(next_msg(m) == 0);
    CHECK_EQ(v6 ? m->ev[0].n6 : m->ev[0].n4, 1);
    CHECK_EQ(v6 ? m->ev[0].n4 : m->ev[0].n6, 0);
    CHECK(v6 ? find_v6(&m->ev[0], 7777, 53, 1) != NULL : find_v4(&m->ev[0], 7777, 53, 1) != NULL);
    CHECK_EQ(secmod_stats()->records_dropped, dropped);
}

static void test_na_capacity_ipv4(void)
{
    capacity(0);
}

#if SECMOD_MAX_IPV6_RECORDS > 0
static void test_na_capacity_ipv6(void)
{
    capacity(1);
}
#endif

#ifndef SECMOD_QUIRK_LEAKY_STOP
static void test_na_ignored_when_disabled(void)
{
    REQUIRE(start(6) == 0);
    secmod_disable();
    send_v4(6, ME4, HUB4, 1, 2, 3);
    CHECK_EQ(secmod_netact_free_ipv4(), SECMOD_MAX_IPV4_RECORDS);
}
#endif

void suite_netact(void)
{
    RUN_TEST(test_na_both_directions_one_record);
    RUN_TEST(test_na_keys_separate);
    RUN_TEST(test_na_byte_sums_32bit);
    RUN_TEST(test_na_window_and_no_spill);
    RUN_TEST(test_na_capacity_ipv4);
#if SECMOD_MAX_IPV6_RECORDS > 0
    RUN_TEST(test_na_capacity_ipv6);
#endif
#ifndef SECMOD_QUIRK_LEAKY_STOP
    RUN_TEST(test_na_ignored_when_disabled);
#endif
}
