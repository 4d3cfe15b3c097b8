/* State machine (spec §2.4): PENDING / ACTIVE / SUSPENDED / NOT_INITIALIZED. */
#include <string.h>

#include "helpers.h"
#include "minitest.h"
#include "secmod_collect.h"
#include "secmod_config.h"
#include "secmod_netact.h"


/* First PENDING check strictly after PENDING_TIME (checks every 3 s from entry). */
#define SUSPEND_AFTER (((SECMOD_PENDING_TIME) / 3 + 1) * 3)

static void test_state_enable_requires_time(void)
{
    mod_reset(21);
    fake_now = 0;
    CHECK_EQ(secmod_enable(), SECMOD_ERR_TIME);
    CHECK_EQ(secmod_state(), SECMOD_STATE_NOT_INITIALIZED);
    fake_now = 0xFFFFFFFFu;
    CHECK_EQ(secmod_enable(), SECMOD_ERR_TIME);
    CHECK_EQ(secmod_state(), SECMOD_STATE_NOT_INITIALIZED);
    fake_now = 1700000000u;
    fake_advance(200);
    CHECK_EQ(fake_nsent, 0);
    CHECK_EQ(secmod_enable(), SECMOD_OK);
    CHECK_EQ(secmod_state(), SECMOD_STATE_PENDING);
}

static void test_state_enable_twice_is_noop(void)
{
    static const uint32_t rnd[] = {0, 59};
    uint32_t t0;
    mod_reset(22);
    fake_random_queue(rnd, 2);
    t0 = fake_now;
    REQUIRE_EQ(secmod_enable(), SECMOD_OK);
    fake_advance(1);
    CHECK_EQ(secmod_enable(), SECMOD_OK);
    CHECK_EQ(secmod_state(), SECMOD_STATE_PENDING);
    REQUIRE(fake_advance_until_sent(100));
    REQUIRE(decode_sent(0, &msg_a) == 0);
    CHECK_EQ(msg_a.ev[0].time - t0, FIRST_DELAY_R0);
}

static void test_state_pending_to_active_after_3s(void)
{
    mod_reset(23);
    REQUIRE_EQ(secmod_enable(), SECMOD_OK);
    fake_advance(2);
    CHECK_EQ(secmod_state(), SECMOD_STATE_PENDING);
    fake_advance(1);
    CHECK_EQ(secmod_state(), SECMOD_STATE_ACTIVE);
    CHECK_STR(secmod_state_name(SECMOD_STATE_NOT_INITIALIZED), "NOT_INITIALIZED");
    CHECK_STR(secmod_state_name(SECMOD_STATE_PENDING), "PENDING");
    CHECK_STR(secmod_state_name(SECMOD_STATE_ACTIVE), "ACTIVE");
    CHECK_STR(secmod_state_name(SECMOD_STATE_SUSPENDED), "SUSPENDED");
}

/* Enable without a hub, with the first collection at a known offset. */
static uint32_t enable_disconnected(uint32_t seed)
{
    static const uint32_t rnd[] = {0};
    mod_reset(seed);
    fake_connected = 0;
    fake_random_queue(rnd, 1);
    secmod_enable();
    return fake_now;
}

static void test_state_pending_builds_and_discards(void)
{
    const secmod_stats_t *st = secmod_stats();
    uint32_t fc;

    mod_reset(24);
    REQUIRE(mod_enable_to_first() == 0);
    fc = first_collect_time();
    advance_to(fc + 5);
    fake_connected = 0;
    send_v4(6, ME4, HUB4, 1, 2, 3);
    advance_to(fc + 10); /* built; no hub: PENDING, held */
    CHECK_EQ(secmod_state(), SECMOD_STATE_PENDING);
    CHECK_EQ(st->messages_built, 2);
    CHECK_EQ(st->messages_discarded, 0);
    send_v4(6, ME4, HUB4, 1, 2, 3);
    advance_to(fc + 20); /* the next cycle discards the unsent message, builds a new one */
    CHECK_EQ(st->messages_built, 3);
    CHECK_EQ(st->messages_discarded, 1);
    advance_to(fc + 30); /* empty cycle: still discards */
    CHECK_EQ(st->messages_built, 3);
    CHECK_EQ(st->messages_discarded, 2);
    CHECK_EQ(secmod_state(), SECMOD_STATE_PENDING);
    CHECK_EQ(fake_nsent, 1);
}

static void test_state_pending_time_suspends(void)
{
    uint32_t t0 = enable_disconnected(30);
    const secmod_stats_t *st = secmod_stats();

    advance_to(t0 + FIRST_DELAY_R0);
    CHECK_EQ(st->messages_built, 1);
    advance_to(t0 + SUSPEND_AFTER - 1);
    CHECK_EQ(secmod_state(), SECMOD_STATE_PENDING);
    fake_advance(1);
    CHECK_EQ(secmod_state(), SECMOD_STATE_SUSPENDED);
    CHECK_EQ(fake_send_calls, 0);
    /* the held message does not survive the suspension */
    CHECK_EQ(st->messages_discarded, st->messages_built);
}

static void test_state_suspended_then_resume(void)
{
    uint32_t t0 = enable_disconnected(25), built, t_conn;
    const secmod_stats_t *st = secmod_stats();
    int sent_traffic = 0;
    const rd_event_t *na;

    advance_to(t0 + SUSPEND_AFTER);
    REQUIRE_EQ(secmod_state(), SECMOD_STATE_SUSPENDED);
    built = st->messages_built;
    /* collectors stopped: nothing built, traffic ignored */
    send_v4(6, ME4, HUB4, 1111, 8883, 10);
    fake_advance(200);
    send_v4(6, ME4, HUB4, 1111, 8883, 10);
    CHECK_EQ(st->messages_built, built);
#ifndef SECMOD_QUIRK_LEAKY_STOP
    CHECK_EQ(secmod_netact_free_ipv4(), SECMOD_MAX_IPV4_RECORDS);
#else
    CHECK_EQ(secmod_netact_free_ipv4(), SECMOD_MAX_IPV4_RECORDS - 2); /* leaked */
#endif
    CHECK_EQ(secmod_state(), SECMOD_STATE_SUSPENDED);

    /* hub back: ACTIVE at the next 3-s check, collection about 1 s later */
    fake_advance(1);
    fake_connected = 1;
    t_conn = fake_now;
    while (fake_nsent == 0 && fake_now - t_conn < 10) {
        fake_advance(1);
        if (secmod_state() == SECMOD_STATE_ACTIVE && !sent_traffic) {
            send_v4(6, ME4, HUB4, 2222, 8883, 10);
            sent_traffic = 1;
        }
    }
    REQUIRE_EQ(fake_nsent, 1);
    CHECK(fake_sent[0].time - t_conn <= 4);
    REQUIRE(decode_sent(0, &msg_a) == 0);
    REQUIRE_EQ(msg_a.n_events, 3);
    CHECK_EQ(msg_a.ev[0].payload_type, 1);
    CHECK_EQ(msg_a.ev[1].payload_type, 2);
    CHECK_EQ(msg_a.ev[2].payload_type, 4);
    na = &msg_a.ev[0];
    CHECK_EQ(na->n4, 1);
    CHECK(find_v4(na, 2222, 8883, 0) != NULL);
    CHECK(find_v4(na, 1111, 8883, 0) == NULL);

    /* and the usual cadence afterwards */
    send_v4(6, ME4, HUB4, 2222, 8883, 10);
    fake_advance(10);
    CHECK_EQ(fake_nsent, 2);
    CHECK_EQ(fake_sent[1].time - fake_sent[0].time, 10);
}

static void test_state_active_to_pending_and_back(void)
{
    uint32_t t_collect;
    mod_reset(26);
    REQUIRE(mod_enable_to_first() == 0);
    advance_to(first_collect_time() + 5);
    fake_connected = 0;
    send_v4(6, ME4, HUB4, 1, 2, 3);
    advance_to(first_collect_time() + 10); /* message ready, no hub: PENDING */
    t_collect = fake_now;
    CHECK_EQ(secmod_state(), SECMOD_STATE_PENDING);
    CHECK_EQ(fake_nsent, 1);
    fake_advance(1);
    fake_connected = 1;
    fake_advance(2); /* the 3-s check after entering PENDING */
    CHECK_EQ(secmod_state(), SECMOD_STATE_ACTIVE);
    REQUIRE_EQ(fake_nsent, 2); /* the held message is sent at once */
    CHECK_EQ(fake_sent[1].time, t_collect + 3);
    REQUIRE(decode_sent(1, &msg_a) == 0);
    CHECK_EQ(msg_a.ev[0].time, t_collect);
    CHECK_EQ(msg_a.ev[0].n4, 1);
}

static void test_state_no_backlog(void)
{
    uint32_t i, t_last = 0;
    const secmod_stats_t *st = secmod_stats();
    mod_reset(27);
    REQUIRE(mod_enable_to_first() == 0);
    advance_to(first_collect_time() + 1);
    fake_connected = 0;
    for (i = 0; fake_now < first_collect_time() + 26; i++) {
        send_v4(17, ME4, PEER4, (uint16_t)(100 + i), 53, 1);
        fake_advance(1);
    }
    /* collections at +10 (-> PENDING, held) and +20 (discards it, holds a new one) */
    CHECK_EQ(secmod_state(), SECMOD_STATE_PENDING);
    CHECK_EQ(fake_nsent, 1);
    CHECK_EQ(st->messages_discarded, 1);
    t_last = first_collect_time() + 20;
    fake_connected = 1;
    fake_advance(3); /* PENDING checks at +13, +16, ... +28 */
    REQUIRE_EQ(fake_nsent, 2);
    REQUIRE(decode_sent(1, &msg_a) == 0);
    CHECK_EQ(msg_a.ev[0].time, t_last); /* only the latest collection */
    CHECK_EQ(msg_a.ev[0].n4, MIN_U(10, SECMOD_MAX_IPV4_RECORDS));
}

static void test_state_send_failure_retry(void)
{
    uint32_t t_collect, calls;
    const secmod_stats_t *st = secmod_stats();
    mod_reset(28);
    REQUIRE(mod_enable_to_first() == 0);
    advance_to(first_collect_time() + 1);
    send_v4(6, ME4, HUB4, 1, 2, 3);
    fake_send_result = -1;
    advance_to(first_collect_time() + 10);
    t_collect = fake_now;
    CHECK_EQ(st->send_failures, 1);
    calls = fake_send_calls;
    fake_advance(2);
    CHECK_EQ(fake_send_calls, calls);
    fake_advance(1); /* retry after 3 s */
    CHECK_EQ(fake_send_calls, calls + 1);
    fake_advance(3);
    CHECK_EQ(fake_send_calls, calls + 2);
    CHECK_EQ(secmod_state(), SECMOD_STATE_ACTIVE);
    fake_send_result = 0;
    fake_advance(3);
    REQUIRE_EQ(fake_nsent, 2);
    CHECK_EQ(fake_sent[1].time, t_collect + 9);
    REQUIRE(decode_sent(1, &msg_a) == 0);
    CHECK_EQ(msg_a.ev[0].time, t_collect);
    fake_advance(5);
    CHECK_EQ(fake_nsent, 2); /* sent once: retries stop */

    /* failing past the next collection: the message is replaced */
    send_v4(6, ME4, HUB4, 1, 2, 3); /* now t_collect + 14 */
    fake_send_result = -1;
    advance_to(t_collect + 20);
    send_v4(6, ME4, HUB4, 1, 2, 3);
    CHECK_EQ(st->messages_discarded, 0);
    advance_to(t_collect + 30);
    CHECK_EQ(st->messages_discarded, 1);
    fake_send_result = 0;
    fake_advance(3);
    REQUIRE_EQ(fake_nsent, 3);
    REQUIRE(decode_sent(2, &msg_a) == 0);
    CHECK_EQ(msg_a.ev[0].time, t_collect + 30);
}

static void test_state_disable_stops_publishing(void)
{
    uint32_t t_en;
    mod_reset(29);
    REQUIRE(mod_enable_to_first() == 0);
    CHECK_EQ(secmod_disable(), SECMOD_OK);
    CHECK_EQ(secmod_state(), SECMOD_STATE_NOT_INITIALIZED);
    send_v4(6, ME4, HUB4, 1, 2, 3);
    fake_advance(200);
    CHECK_EQ(fake_nsent, 1);
    CHECK_EQ(secmod_disable(), SECMOD_OK); /* not running: success */
    /* enable again: a fresh PENDING with a new first collection */
    t_en = fake_now;
    REQUIRE_EQ(secmod_enable(), SECMOD_OK);
    CHECK_EQ(secmod_state(), SECMOD_STATE_PENDING);
    REQUIRE(fake_advance_until_sent(100));
    REQUIRE(decode_sent(1, &msg_a) == 0);
    CHECK_EQ(msg_a.n_events, 2);
    /* (an immediate first collection happens at the next tick: +1 s) */
    CHECK_EQ(msg_a.ev[0].time - t_en,
             secmod_collect_first_offset() < 1 ? 1u : (uint32_t)secmod_collect_first_offset());
}

void suite_state(void)
{
    RUN_TEST(test_state_enable_requires_time);
    RUN_TEST(test_state_enable_twice_is_noop);
    RUN_TEST(test_state_pending_to_active_after_3s);
    RUN_TEST(test_state_pending_builds_and_discards);
    RUN_TEST(test_state_pending_time_suspends);
    RUN_TEST(test_state_suspended_then_resume);
    RUN_TEST(test_state_active_to_pending_and_back);
    RUN_TEST(test_state_no_backlog);
    RUN_TEST(test_state_send_failure_retry);
    RUN_TEST(test_state_disable_stops_publishing);
}
