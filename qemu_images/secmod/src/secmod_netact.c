/* NetworkActivity collector: observation hooks, windows and pools (spec §1.3, §1.4). */
#include "secmod_netact.h"

#include "secmod.h"
#include "secmod_config.h"
#include "secmod_netparse.h"
#include "secmod_platform.h"

#define V4_CAP ((unsigned)(SECMOD_MAX_IPV4_RECORDS))
#define V6_CAP ((unsigned)(SECMOD_MAX_IPV6_RECORDS))
#define V4_STORE (V4_CAP > 0u ? V4_CAP : 1u)
#define V6_STORE (V6_CAP > 0u ? V6_CAP : 1u)
#define V4_BUCKETS SECMOD_FLOW_BUCKETS(SECMOD_MAX_IPV4_RECORDS)
#define V6_BUCKETS SECMOD_FLOW_BUCKETS(SECMOD_MAX_IPV6_RECORDS)

typedef struct {
    secmod_flowpool_t pool;
    secmod_flowtab_t tab[2];
    uint8_t current; /* window receiving packets */
} family_t;

static secmod_flow_t v4_recs[V4_STORE];
static uint8_t v4_addrs[V4_STORE * 2u * 4u];
static secmod_flow_h v4_buckets[2][V4_BUCKETS];
static secmod_flow_t v6_recs[V6_STORE];
static uint8_t v6_addrs[V6_STORE * 2u * 16u];
static secmod_flow_h v6_buckets[2][V6_BUCKETS];

static family_t fam4, fam6;
static uint8_t pools_ready;
static volatile uint8_t observing;
static uint8_t collecting;
static uint32_t dropped;
static uint8_t warned_full;

static void family_setup(family_t *f, secmod_flow_h *b0, secmod_flow_h *b1, uint16_t nb)
{
    secmod_flowtab_init(&f->tab[0], &f->pool, b0, nb);
    secmod_flowtab_init(&f->tab[1], &f->pool, b1, nb);
    f->current = 0;
}

static void family_clear(family_t *f)
{
    secmod_flowtab_clear(&f->tab[0]);
    secmod_flowtab_clear(&f->tab[1]);
    f->current = 0;
}

void secmod_netact_start(void)
{
    SECMOD_LOCK();
#ifdef SECMOD_QUIRK_LEAKY_STOP
    /* Leaked objects stay leaked for the rest of the boot (spec §6.1). */
    if (!pools_ready) {
#endif
        secmod_flowpool_init(&fam4.pool, v4_recs, v4_addrs, (uint16_t)V4_CAP, 4);
        secmod_flowpool_init(&fam6.pool, v6_recs, v6_addrs, (uint16_t)V6_CAP, 16);
        family_setup(&fam4, v4_buckets[0], v4_buckets[1], (uint16_t)V4_BUCKETS);
        family_setup(&fam6, v6_buckets[0], v6_buckets[1], (uint16_t)V6_BUCKETS);
        pools_ready = 1;
#ifdef SECMOD_QUIRK_LEAKY_STOP
    } else {
        family_clear(&fam4);
        family_clear(&fam6);
    }
#endif
    warned_full = 0;
    collecting = 0;
    observing = 1;
    SECMOD_UNLOCK();
}

void secmod_netact_stop(void)
{
    SECMOD_LOCK();
    observing = 0;
    collecting = 0;
    if (pools_ready) {
        family_clear(&fam4);
        family_clear(&fam6);
    }
    SECMOD_UNLOCK();
}

unsigned secmod_netact_collect_begin(const secmod_flowtab_t **v4, const secmod_flowtab_t **v6)
{
    unsigned n;
    SECMOD_LOCK();
    if (!pools_ready || !observing) {
        *v4 = NULL;
        *v6 = NULL;
        SECMOD_UNLOCK();
        return 0;
    }
    *v4 = &fam4.tab[fam4.current];
    *v6 = &fam6.tab[fam6.current];
    fam4.current ^= 1u;
    fam6.current ^= 1u;
    collecting = 1;
    warned_full = 0;
    n = (unsigned)(*v4)->count + (*v6)->count;
    SECMOD_UNLOCK();
    return n;
}

void secmod_netact_collect_end(void)
{
    SECMOD_LOCK();
    if (collecting) {
        /* the finished windows are the ones not receiving packets */
        secmod_flowtab_clear(&fam4.tab[fam4.current ^ 1u]);
        secmod_flowtab_clear(&fam6.tab[fam6.current ^ 1u]);
        collecting = 0;
    }
    SECMOD_UNLOCK();
}

void secmod_netact_reboot(void)
{
    SECMOD_LOCK();
    observing = 0;
    collecting = 0;
    pools_ready = 0;
    dropped = 0;
    SECMOD_UNLOCK();
}

uint32_t secmod_netact_records_dropped(void)
{
    return dropped;
}

void secmod_netact_reset_stats(void)
{
    dropped = 0;
}

unsigned secmod_netact_free_ipv4(void)
{
    return pools_ready ? fam4.pool.free_count : V4_CAP;
}

unsigned secmod_netact_free_ipv6(void)
{
    return pools_ready ? fam6.pool.free_count : V6_CAP;
}

static void record(family_t *f, secmod_dir_t dir, const secmod_pkt_t *pkt)
{
    secmod_flowkey_t key;
    int rc;

    key.local = pkt->local;
    key.remote = pkt->remote;
    key.local_port = pkt->local_port;
    key.remote_port = pkt->remote_port;
    key.protocol = pkt->protocol;

    SECMOD_LOCK();
    if (!observing) {
#ifdef SECMOD_QUIRK_LEAKY_STOP
        /*
         * Quirk §6.1: the outbound hook survives the stop; the object is taken
         * from the pool, the insert into the (gone) table fails and the object
         * is never returned.
         */
        if (pools_ready && dir == SECMOD_DIR_OUT)
            (void)secmod_flowpool_alloc(&f->pool);
#endif
        SECMOD_UNLOCK();
        return;
    }
    rc = secmod_flowtab_add(&f->tab[f->current], &key, dir == SECMOD_DIR_IN ? pkt->bytes : 0u,
                            dir == SECMOD_DIR_OUT ? pkt->bytes : 0u);
    if (rc == SECMOD_FLOW_DROPPED) {
        dropped++;
        if (!warned_full) {
            warned_full = 1;
            SECMOD_LOG("IPv%c record pool full (%u), dropping until the next collection",
                       f == &fam4 ? '4' : '6', (unsigned)f->pool.capacity);
        }
    }
    SECMOD_UNLOCK();
}

void secmod_observe_ipv4(secmod_dir_t dir, const uint8_t *ip, size_t len)
{
    secmod_pkt_t pkt;
#ifndef SECMOD_QUIRK_LEAKY_STOP
    if (!observing)
        return;
#endif
    if ((dir != SECMOD_DIR_IN && dir != SECMOD_DIR_OUT) || !secmod_parse_ipv4(dir, ip, len, &pkt))
        return;
    record(&fam4, dir, &pkt);
}

void secmod_observe_ipv6(secmod_dir_t dir, const uint8_t *ip, size_t len)
{
    secmod_pkt_t pkt;
#ifndef SECMOD_QUIRK_LEAKY_STOP
    if (!observing)
        return;
#endif
    if ((dir != SECMOD_DIR_IN && dir != SECMOD_DIR_OUT) || !secmod_parse_ipv6(dir, ip, len, &pkt))
        return;
    record(&fam6, dir, &pkt);
}
