/*
 * Public API, once-a-second periodic work and the state machine (spec §2.4):
 *
 *   NOT_INITIALIZED --enable--> PENDING
 *   PENDING   --every 3 s: hub connected--> ACTIVE (send the held message now)
 *   PENDING   --every 3 s: no hub and > PENDING_TIME in PENDING--> SUSPENDED
 *   ACTIVE    --message ready, no hub--> PENDING
 *   ACTIVE    --send refused--> retry every 3 s until sent or replaced
 *   SUSPENDED --every 3 s: hub connected--> ACTIVE, collectors restarted
 *   any       --disable--> NOT_INITIALIZED
 *
 * Quirk §6.1 (outbound hook left installed by the stop path) is not modelled
 * unless SECMOD_QUIRK_LEAKY_STOP is defined (see secmod_netact.c).
 */
#include "secmod.h"

#include <string.h>

#include "secmod_collect.h"
#include "secmod_config.h"
#include "secmod_netact.h"
#include "secmod_platform.h"

static secmod_state_t state = SECMOD_STATE_NOT_INITIALIZED;
static secmod_stats_t stats;

static uint32_t last_periodic; /* unix second of the last periodic run */
static uint8_t periodic_ran;

static uint8_t collect_armed;
static uint8_t sm_armed;
static uint32_t sm_deadline;
static uint32_t pending_since;

/* The one outstanding message (lives in the collector's page). */
static const uint8_t *msg_buf;
static size_t msg_len;
static uint8_t msg_held;

static int expired(uint32_t now, uint32_t at)
{
    return (int32_t)(now - at) >= 0;
}

static void set_state(secmod_state_t s)
{
    if (s != state)
        SECMOD_LOG("state %s -> %s", secmod_state_name(state), secmod_state_name(s));
    state = s;
}

static void drop_message(int count_discard)
{
    if (msg_held && count_discard)
        stats.messages_discarded++;
    msg_held = 0;
    msg_buf = NULL;
    msg_len = 0;
}

static void arm_sm(uint32_t now)
{
    sm_armed = 1;
    sm_deadline = now + (uint32_t)(SECMOD_SEND_MESSAGE_RETRY_TIME);
}

static void enter_pending(uint32_t now)
{
    set_state(SECMOD_STATE_PENDING);
    pending_since = now;
    arm_sm(now);
}

static void enter_suspended(uint32_t now)
{
    set_state(SECMOD_STATE_SUSPENDED);
    collect_armed = 0;
    secmod_netact_stop();
    drop_message(1);
    arm_sm(now);
}

/* ACTIVE with a message ready: send it, or fall back to PENDING / retry. */
static void try_send(uint32_t now)
{
    if (!msg_held) {
        sm_armed = 0;
        return;
    }
    if (!secmod_platform_hub_connected()) {
        enter_pending(now);
        return;
    }
    if (secmod_platform_send_telemetry(SECMOD_PROPERTY_BAG, msg_buf, msg_len) == 0) {
        stats.messages_sent++;
        SECMOD_DEBUG("security message sent (%u bytes)", (unsigned)msg_len);
        drop_message(0);
        sm_armed = 0;
    } else {
        stats.send_failures++;
        arm_sm(now);
    }
}

static void sm_timer(uint32_t now)
{
    sm_armed = 0;
    switch (state) {
    case SECMOD_STATE_PENDING:
        if (secmod_platform_hub_connected()) {
            set_state(SECMOD_STATE_ACTIVE);
            try_send(now);
        } else if ((int32_t)(now - pending_since) > (int32_t)(SECMOD_PENDING_TIME)) {
            enter_suspended(now);
        } else {
            arm_sm(now);
        }
        break;
    case SECMOD_STATE_ACTIVE:
        try_send(now);
        break;
    case SECMOD_STATE_SUSPENDED:
        if (secmod_platform_hub_connected()) {
            set_state(SECMOD_STATE_ACTIVE);
            secmod_netact_start();
            secmod_collect_resume(now);
            collect_armed = 1;
        } else {
            arm_sm(now);
        }
        break;
    default:
        break;
    }
}

static void collect_timer(uint32_t now)
{
    const uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    /* each cycle starts by discarding the unsent previous message */
    drop_message(1);
    rc = secmod_collect_cycle(now, &buf, &len);
    if (rc == SECMOD_CYCLE_MESSAGE) {
        stats.messages_built++;
        stats.last_message_size = (uint32_t)len;
        msg_buf = buf;
        msg_len = len;
        msg_held = 1;
    } else if (rc == SECMOD_CYCLE_TOO_BIG) {
        stats.messages_too_big++;
        SECMOD_LOG("message too big, dropped");
    }
    if (state == SECMOD_STATE_ACTIVE && msg_held)
        try_send(now);
}

static void periodic(uint32_t now)
{
    unsigned guard;
    /* run expired timers in deadline order (state machine first on a tie) */
    for (guard = 0; guard < 8u; guard++) {
        int c = collect_armed && expired(now, secmod_collect_deadline());
        int s = sm_armed && expired(now, sm_deadline);
        if (!c && !s)
            break;
        if (s && (!c || (int32_t)(secmod_collect_deadline() - sm_deadline) >= 0))
            sm_timer(now);
        else
            collect_timer(now);
        if (state == SECMOD_STATE_NOT_INITIALIZED)
            break;
    }
}

int secmod_enable(void)
{
    uint32_t now;

    if (state != SECMOD_STATE_NOT_INITIALIZED)
        return SECMOD_OK; /* enabling again is a no-op */
    now = secmod_platform_unix_time();
    if (now == 0u || now == 0xFFFFFFFFu)
        return SECMOD_ERR_TIME;
    memset(&stats, 0, sizeof(stats));
    secmod_netact_reset_stats();
    drop_message(0);
    periodic_ran = 0;
    secmod_netact_start();
    secmod_collect_start(now);
    collect_armed = 1;
    state = SECMOD_STATE_NOT_INITIALIZED;
    enter_pending(now);
    SECMOD_LOG("enabled, first collection in %ld s", (long)secmod_collect_first_offset());
    return SECMOD_OK;
}

int secmod_disable(void)
{
    if (state == SECMOD_STATE_NOT_INITIALIZED)
        return SECMOD_OK;
    collect_armed = 0;
    sm_armed = 0;
    drop_message(0);
    secmod_netact_stop();
    set_state(SECMOD_STATE_NOT_INITIALIZED);
    return SECMOD_OK;
}

void secmod_tick(void)
{
    uint32_t now;

    if (state == SECMOD_STATE_NOT_INITIALIZED)
        return;
    now = secmod_platform_unix_time();
    if (now == 0u || now == 0xFFFFFFFFu)
        return;
    /* the periodic work runs at most once per unix second (nx_cloud's 1-s event) */
    if (periodic_ran && now == last_periodic)
        return;
    periodic_ran = 1;
    last_periodic = now;
    periodic(now);
}

secmod_state_t secmod_state(void)
{
    return state;
}

const char *secmod_state_name(secmod_state_t s)
{
    switch (s) {
    case SECMOD_STATE_NOT_INITIALIZED:
        return "NOT_INITIALIZED";
    case SECMOD_STATE_PENDING:
        return "PENDING";
    case SECMOD_STATE_ACTIVE:
        return "ACTIVE";
    case SECMOD_STATE_SUSPENDED:
        return "SUSPENDED";
    default:
        return "UNKNOWN";
    }
}

const secmod_stats_t *secmod_stats(void)
{
    stats.records_dropped = secmod_netact_records_dropped();
    return &stats;
}
