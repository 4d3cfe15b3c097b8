/*
 * Flow records of one IP version: a fixed object pool shared by hash-table
 * "windows" (spec §1.4). Storage is provided by the caller (static arrays);
 * handles are 1-based indexes into the pool, 0 = none.
 */
#ifndef SECMOD_FLOWTAB_H
#define SECMOD_FLOWTAB_H

#include <stddef.h>
#include <stdint.h>

typedef uint16_t secmod_flow_h;

typedef struct {
    uint32_t bytes_in;
    uint32_t bytes_out;
    uint16_t local_port;
    uint16_t remote_port;
    secmod_flow_h hash_next; /* bucket chain */
    secmod_flow_h list_next; /* window list (insertion order) or free list */
    uint8_t protocol;
} secmod_flow_t;

typedef struct {
    secmod_flow_t *recs; /* capacity entries */
    uint8_t *addrs;      /* capacity * 2 * alen bytes: local then remote, network order */
    uint16_t capacity;
    uint8_t alen; /* 4 or 16 */
    secmod_flow_h free_head;
    uint16_t free_count;
} secmod_flowpool_t;

typedef struct {
    secmod_flowpool_t *pool;
    secmod_flow_h *buckets;
    uint16_t nbuckets;
    secmod_flow_h head, tail;
    uint16_t count;
} secmod_flowtab_t;

/* Buckets for a pool of n objects: 10*n/7 as in the real module (at least 1). */
#define SECMOD_FLOW_BUCKETS(n) ((10u * (unsigned)(n)) / 7u > 0u ? (10u * (unsigned)(n)) / 7u : 1u)

typedef struct {
    const uint8_t *local;  /* alen network-order bytes */
    const uint8_t *remote;
    uint16_t local_port;
    uint16_t remote_port;
    uint8_t protocol;
} secmod_flowkey_t;

enum {
    SECMOD_FLOW_DROPPED = 0, /* pool exhausted: nothing recorded */
    SECMOD_FLOW_NEW = 1,
    SECMOD_FLOW_MERGED = 2,
};

void secmod_flowpool_init(secmod_flowpool_t *pool, secmod_flow_t *recs, uint8_t *addrs,
                          uint16_t capacity, uint8_t alen);
secmod_flow_h secmod_flowpool_alloc(secmod_flowpool_t *pool);
void secmod_flowpool_free(secmod_flowpool_t *pool, secmod_flow_h h);

void secmod_flowtab_init(secmod_flowtab_t *tab, secmod_flowpool_t *pool, secmod_flow_h *buckets,
                         uint16_t nbuckets);
/*
 * Record bytes for a key. As in the real collector the object is taken from the
 * pool BEFORE the lookup: with an empty pool nothing is recorded, not even for
 * a key already in the table.
 */
int secmod_flowtab_add(secmod_flowtab_t *tab, const secmod_flowkey_t *key, uint32_t bytes_in,
                       uint32_t bytes_out);
/* Return every record of the window to the pool. */
void secmod_flowtab_clear(secmod_flowtab_t *tab);

/* Iteration in insertion order. */
secmod_flow_h secmod_flowtab_first(const secmod_flowtab_t *tab);
secmod_flow_h secmod_flowtab_next(const secmod_flowtab_t *tab, secmod_flow_h h);
const secmod_flow_t *secmod_flow_get(const secmod_flowpool_t *pool, secmod_flow_h h);
const uint8_t *secmod_flow_local(const secmod_flowpool_t *pool, secmod_flow_h h);
const uint8_t *secmod_flow_remote(const secmod_flowpool_t *pool, secmod_flow_h h);

#endif
