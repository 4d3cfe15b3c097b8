/*
 * Quirk §6.1 (stop path leaves the outbound hook installed). By default the
 * module resumes cleanly; with SECMOD_QUIRK_LEAKY_STOP every outbound packet
 * seen while suspended or disabled leaks a pool object for the rest of the boot.
 */
#include "helpers.h"
#include "minitest.h"
#include "secmod_config.h"
#include "secmod_netact.h"

#define SUSPEND_AFTER (((SECMOD_PENDING_TIME) / 3 + 1) * 3)

/* Suspend, push outbound flows while suspended, resume; returns the first message index. */
static int suspend_flood_resume(unsigned flows)
{
    unsigned i;
    uint32_t t0;
    mod_reset(41);
    fake_connected = 0;
    t0 = fake_now;
    if (secmod_enable() != SECMOD_OK)
        return -1;
    advance_to(t0 + SUSPEND_AFTER);
    if (secmod_state() != SECMOD_STATE_SUSPENDED)
        return -1;
    for (i = 0; i < flows; i++) {
        send_v4(17, ME4, PEER4, (uint16_t)(20000 + i), 53, 1);
        recv_v4(17, ME4, PEER4, (uint16_t)(20000 + i), 53, 1);
    }
    fake_connected = 1;
    while (secmod_state() != SECMOD_STATE_ACTIVE)
        fake_advance(1);
    send_v4(6, ME4, HUB4, 3333, 8883, 10);
    send_v6(6, ME6, PEER6, 4444, 443, 10);
    if (!fake_advance_until_sent(5))
        return -1;
    return (int)fake_nsent - 1;
}

static void test_quirk_resume_after_outbound_while_suspended(void)
{
    int idx = suspend_flood_resume(70);
    REQUIRE(idx >= 0);
    REQUIRE(decode_sent((size_t)idx, &msg_a) == 0);
    REQUIRE(msg_a.n_events == 3);
    REQUIRE_EQ(msg_a.ev[0].payload_type, 1);
#ifdef SECMOD_QUIRK_LEAKY_STOP
    /* the IPv4 pool was exhausted by the leaked hook: IPv4 stays empty, IPv6 works */
    CHECK_EQ(msg_a.ev[0].n4, 0);
    CHECK_EQ(msg_a.ev[0].n6, 1);
    CHECK_EQ(secmod_netact_free_ipv4(), 0);
    CHECK(secmod_stats()->records_dropped >= 1);
    /* for the rest of the boot, also across disable/enable */
    secmod_disable();
    REQUIRE_EQ(secmod_enable(), SECMOD_OK);
    CHECK_EQ(secmod_netact_free_ipv4(), 0);
#else
    /* clean stop: nothing leaked, the post-resume flows are reported */
    CHECK_EQ(msg_a.ev[0].n4, 1);
    CHECK(find_v4(&msg_a.ev[0], 3333, 8883, 0) != NULL);
    CHECK_EQ(msg_a.ev[0].n6, MIN_U(1, SECMOD_MAX_IPV6_RECORDS));
    CHECK_EQ(secmod_netact_free_ipv4(), SECMOD_MAX_IPV4_RECORDS);
    CHECK_EQ(secmod_stats()->records_dropped, SECMOD_MAX_IPV6_RECORDS > 0 ? 0 : 1);
#endif
}

static void test_quirk_disable_then_outbound(void)
{
    unsigned i;
    mod_reset(42);
    REQUIRE(mod_enable_to_first() >= 0);
    secmod_disable();
    for (i = 0; i < 10; i++)
        send_v4(17, ME4, PEER4, (uint16_t)(30000 + i), 53, 1);
#ifdef SECMOD_QUIRK_LEAKY_STOP
    CHECK_EQ(secmod_netact_free_ipv4(), SECMOD_MAX_IPV4_RECORDS - 10);
#else
    CHECK_EQ(secmod_netact_free_ipv4(), SECMOD_MAX_IPV4_RECORDS);
#endif
}

void suite_quirk(void)
{
    RUN_TEST(test_quirk_resume_after_outbound_while_suspended);
    RUN_TEST(test_quirk_disable_then_outbound);
}
