/* Collection schedule and message building (spec §1.2, §1.5). */
#include "secmod_collect.h"

#include "secmod_config.h"
#include "secmod_netact.h"
#include "secmod_platform.h"
#include "secmod_serializer.h"
#include "secmod_uuid.h"

#if (SECMOD_MAX_IPV4_RECORDS) < 0 || (SECMOD_MAX_IPV4_RECORDS) > 65000 ||                      \
    (SECMOD_MAX_IPV6_RECORDS) < 0 || (SECMOD_MAX_IPV6_RECORDS) > 65000
#error "SECMOD_MAX_IPV4_RECORDS / SECMOD_MAX_IPV6_RECORDS out of range"
#endif

enum { COL_NETWORK, COL_SYSINFO, COL_HEARTBEAT, COL_COUNT };

typedef struct {
    uint8_t payload_type;
    uint8_t stale; /* never collected since (re)start: due at the next cycle */
    uint32_t interval;
    uint32_t last_collected;
} collector_t;

/* Registration order = event order (all priorities are ordered HIGH first). */
static collector_t collectors[COL_COUNT] = {
    {SECMOD_PAYLOAD_NETWORK_ACTIVITY, 1, SECMOD_HIGH_PRIORITY_INTERVAL, 0},
    {SECMOD_PAYLOAD_SYSTEM_INFORMATION, 1, SECMOD_LOW_PRIORITY_INTERVAL, 0},
    {SECMOD_PAYLOAD_HEARTBEAT, 1, SECMOD_LOW_PRIORITY_INTERVAL, 0},
};

#define MAX_WINDOW                                                                              \
    ((SECMOD_MAX_IPV4_RECORDS) > (SECMOD_MAX_IPV6_RECORDS) ? (SECMOD_MAX_IPV4_RECORDS)          \
                                                           : (SECMOD_MAX_IPV6_RECORDS))

/* The one emitter page: at most one message exists at any time. */
static union {
    uint64_t align;
    uint8_t bytes[((SECMOD_PAGE_SIZE) + 7u) & ~7u];
} page;
static secmod_fb_ref_t refs[MAX_WINDOW + COL_COUNT];

static uint32_t deadline;
static int32_t first_offset;

static int due(const collector_t *c, uint32_t now)
{
    return c->stale || (int32_t)(now - c->last_collected) >= (int32_t)c->interval;
}

static void mark_all_stale(void)
{
    unsigned i;
    for (i = 0; i < COL_COUNT; i++)
        collectors[i].stale = 1;
}

void secmod_collect_start(uint32_t now)
{
#ifdef SECMOD_FIRST_FORCE_COLLECTION_INTERVAL
    first_offset = (SECMOD_FIRST_FORCE_COLLECTION_INTERVAL) < 0
                       ? 0
                       : (int32_t)(SECMOD_FIRST_FORCE_COLLECTION_INTERVAL);
#else
    first_offset = (int32_t)(secmod_platform_random() % (2u * (SECMOD_FIRST_COLLECTION_INTERVAL)) +
                             (SECMOD_FIRST_COLLECTION_INTERVAL));
#endif
    mark_all_stale();
    deadline = now + (uint32_t)first_offset;
}

void secmod_collect_resume(uint32_t now)
{
    /*
     * The last-collected stamps are older than PENDING_TIME, so every collector
     * is due; marking them stale gives the same result in any profile.
     */
    mark_all_stale();
    deadline = now + 1u;
}

uint32_t secmod_collect_deadline(void)
{
    return deadline;
}

int32_t secmod_collect_first_offset(void)
{
    return first_offset;
}

static void next_deadline(uint32_t now)
{
    unsigned i;
    int32_t best = INT32_MAX;
    for (i = 0; i < COL_COUNT; i++) {
        int32_t left = (int32_t)(collectors[i].last_collected + collectors[i].interval - now);
        if (left < best)
            best = left;
    }
    if (best < 1)
        best = 1;
    deadline = now + (uint32_t)best;
}

static void new_event(secmod_event_t *ev, const collector_t *c, uint32_t now)
{
    secmod_uuid_next(ev->id);
    ev->time = now;
    ev->collection_interval = c->interval;
    ev->payload_type = c->payload_type;
    ev->ipv4 = NULL;
    ev->ipv6 = NULL;
    ev->os_info = NULL;
}

int secmod_collect_cycle(uint32_t now, const uint8_t **msg, size_t *len)
{
    secmod_event_t events[COL_COUNT];
    size_t n = 0;
    unsigned i;
    int rc = SECMOD_CYCLE_EMPTY;
    int network_taken = 0;

    for (i = 0; i < COL_COUNT; i++) {
        collector_t *c = &collectors[i];
        if (!due(c, now))
            continue;
        c->stale = 0;
        c->last_collected = now;
        switch (c->payload_type) {
        case SECMOD_PAYLOAD_NETWORK_ACTIVITY: {
            const secmod_flowtab_t *v4, *v6;
            network_taken = 1;
            /* an empty window adds no event (SEND_EMPTY_EVENTS is off) */
            if (secmod_netact_collect_begin(&v4, &v6) == 0)
                break;
            new_event(&events[n], c, now);
            events[n].ipv4 = v4;
            events[n].ipv6 = v6;
            n++;
            break;
        }
        case SECMOD_PAYLOAD_SYSTEM_INFORMATION:
            new_event(&events[n], c, now);
            events[n].os_info = SECMOD_OS_INFO;
            n++;
            break;
        default:
            new_event(&events[n], c, now);
            n++;
            break;
        }
    }

    if (n > 0) {
        secmod_serbuf_t buf;
        int ser;
        buf.page = page.bytes;
        buf.page_size = sizeof(page.bytes);
        buf.refs = refs;
        buf.max_refs = sizeof(refs) / sizeof(refs[0]);
        ser = secmod_serialize(&buf, SECMOD_SECURITY_MODULE_ID, SECMOD_VERSION_WORD, events, n,
                               msg, len);
        rc = ser == SECMOD_SER_OK ? SECMOD_CYCLE_MESSAGE : SECMOD_CYCLE_TOO_BIG;
    }
    if (network_taken)
        secmod_netact_collect_end();
    next_deadline(now);
    return rc;
}
