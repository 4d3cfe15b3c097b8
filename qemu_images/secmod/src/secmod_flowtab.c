/* Flow record pool and per-window hash tables (spec §1.4). */
#include "secmod_flowtab.h"

#include <string.h>

static secmod_flow_t *rec(const secmod_flowpool_t *pool, secmod_flow_h h)
{
    return &pool->recs[h - 1u];
}

static uint8_t *addr_of(const secmod_flowpool_t *pool, secmod_flow_h h)
{
    return pool->addrs + (size_t)(h - 1u) * 2u * pool->alen;
}

void secmod_flowpool_init(secmod_flowpool_t *pool, secmod_flow_t *recs, uint8_t *addrs,
                          uint16_t capacity, uint8_t alen)
{
    uint16_t i;

    pool->recs = recs;
    pool->addrs = addrs;
    pool->capacity = capacity;
    pool->alen = alen;
    pool->free_head = 0;
    pool->free_count = 0;
    /* Build the free list so that allocation order is 1, 2, 3, ... */
    for (i = capacity; i > 0; i--)
        secmod_flowpool_free(pool, (secmod_flow_h)i);
}

secmod_flow_h secmod_flowpool_alloc(secmod_flowpool_t *pool)
{
    secmod_flow_h h = pool->free_head;
    if (h == 0)
        return 0;
    pool->free_head = rec(pool, h)->list_next;
    pool->free_count--;
    memset(rec(pool, h), 0, sizeof(secmod_flow_t));
    return h;
}

void secmod_flowpool_free(secmod_flowpool_t *pool, secmod_flow_h h)
{
    if (h == 0 || h > pool->capacity)
        return;
    rec(pool, h)->list_next = pool->free_head;
    pool->free_head = h;
    pool->free_count++;
}

void secmod_flowtab_init(secmod_flowtab_t *tab, secmod_flowpool_t *pool, secmod_flow_h *buckets,
                         uint16_t nbuckets)
{
    tab->pool = pool;
    tab->buckets = buckets;
    tab->nbuckets = nbuckets;
    tab->head = 0;
    tab->tail = 0;
    tab->count = 0;
    memset(buckets, 0, (size_t)nbuckets * sizeof(secmod_flow_h));
}

/* FNV-1a over the key fields. */
static uint32_t hash_key(const secmod_flowkey_t *key, uint8_t alen)
{
    uint32_t h = 2166136261u;
    uint8_t tail[5];
    unsigned i;

    for (i = 0; i < alen; i++)
        h = (h ^ key->local[i]) * 16777619u;
    for (i = 0; i < alen; i++)
        h = (h ^ key->remote[i]) * 16777619u;
    tail[0] = (uint8_t)(key->local_port >> 8);
    tail[1] = (uint8_t)key->local_port;
    tail[2] = (uint8_t)(key->remote_port >> 8);
    tail[3] = (uint8_t)key->remote_port;
    tail[4] = key->protocol;
    for (i = 0; i < sizeof(tail); i++)
        h = (h ^ tail[i]) * 16777619u;
    return h;
}

static int same_key(const secmod_flowpool_t *pool, secmod_flow_h h, const secmod_flowkey_t *key)
{
    const secmod_flow_t *r = rec(pool, h);
    const uint8_t *a = addr_of(pool, h);
    return r->local_port == key->local_port && r->remote_port == key->remote_port &&
           r->protocol == key->protocol && memcmp(a, key->local, pool->alen) == 0 &&
           memcmp(a + pool->alen, key->remote, pool->alen) == 0;
}

int secmod_flowtab_add(secmod_flowtab_t *tab, const secmod_flowkey_t *key, uint32_t bytes_in,
                       uint32_t bytes_out)
{
    secmod_flowpool_t *pool = tab->pool;
    secmod_flow_h fresh, h;
    secmod_flow_t *r;
    uint32_t bucket;

    fresh = secmod_flowpool_alloc(pool);
    if (fresh == 0)
        return SECMOD_FLOW_DROPPED;

    bucket = hash_key(key, pool->alen) % tab->nbuckets;
    for (h = tab->buckets[bucket]; h != 0; h = rec(pool, h)->hash_next) {
        if (same_key(pool, h, key)) {
            r = rec(pool, h);
            r->bytes_in += bytes_in;
            r->bytes_out += bytes_out;
            secmod_flowpool_free(pool, fresh);
            return SECMOD_FLOW_MERGED;
        }
    }

    r = rec(pool, fresh);
    r->bytes_in = bytes_in;
    r->bytes_out = bytes_out;
    r->local_port = key->local_port;
    r->remote_port = key->remote_port;
    r->protocol = key->protocol;
    memcpy(addr_of(pool, fresh), key->local, pool->alen);
    memcpy(addr_of(pool, fresh) + pool->alen, key->remote, pool->alen);
    r->hash_next = tab->buckets[bucket];
    tab->buckets[bucket] = fresh;
    r->list_next = 0;
    if (tab->tail != 0)
        rec(pool, tab->tail)->list_next = fresh;
    else
        tab->head = fresh;
    tab->tail = fresh;
    tab->count++;
    return SECMOD_FLOW_NEW;
}

void secmod_flowtab_clear(secmod_flowtab_t *tab)
{
    secmod_flow_h h = tab->head;
    while (h != 0) {
        secmod_flow_h next = rec(tab->pool, h)->list_next;
        secmod_flowpool_free(tab->pool, h);
        h = next;
    }
    tab->head = 0;
    tab->tail = 0;
    tab->count = 0;
    memset(tab->buckets, 0, (size_t)tab->nbuckets * sizeof(secmod_flow_h));
}

secmod_flow_h secmod_flowtab_first(const secmod_flowtab_t *tab)
{
    return tab->head;
}

secmod_flow_h secmod_flowtab_next(const secmod_flowtab_t *tab, secmod_flow_h h)
{
    return h == 0 ? 0 : rec(tab->pool, h)->list_next;
}

const secmod_flow_t *secmod_flow_get(const secmod_flowpool_t *pool, secmod_flow_h h)
{
    return rec(pool, h);
}

const uint8_t *secmod_flow_local(const secmod_flowpool_t *pool, secmod_flow_h h)
{
    return addr_of(pool, h);
}

const uint8_t *secmod_flow_remote(const secmod_flowpool_t *pool, secmod_flow_h h)
{
    return addr_of(pool, h) + pool->alen;
}
