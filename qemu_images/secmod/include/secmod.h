/*
 * Security module of the reference firmware: the observable behaviour of the
 * Azure RTOS / NetX Duo IoT security module 3.5.4 (shared/spec/security-module.md).
 * Portable C: the firmware and the host unit tests build the same sources.
 */
#ifndef SECMOD_H
#define SECMOD_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SECMOD_STATE_NOT_INITIALIZED = 0,
    SECMOD_STATE_PENDING = 1,
    SECMOD_STATE_ACTIVE = 2,
    SECMOD_STATE_SUSPENDED = 3,
} secmod_state_t;

typedef enum {
    SECMOD_DIR_IN = 0,  /* inbound: IP handed it to TCP/UDP/ICMPv4 */
    SECMOD_DIR_OUT = 1, /* outbound: every IP datagram the stack sends */
} secmod_dir_t;

enum {
    SECMOD_OK = 0,
    SECMOD_ERR_INVALID = -1,
    SECMOD_ERR_TIME = -2, /* no unix time available: enable fails, as in the real module */
};

typedef struct {
    uint32_t messages_built;      /* collection cycles that produced a message */
    uint32_t messages_sent;       /* handed to MQTT (QoS 1 queued) */
    uint32_t messages_discarded;  /* unsent, replaced by the next collection (or suspension) */
    uint32_t send_failures;       /* publish attempts the platform refused */
    uint32_t records_dropped;     /* packets not recorded because the pool was full */
    uint32_t last_message_size;   /* bytes of the last built message */
    /* added by the secmod owner (appended, existing fields unchanged): */
    uint32_t messages_too_big;    /* cycles whose message did not fit the page (dropped) */
} secmod_stats_t;

int secmod_enable(void);
int secmod_disable(void);
/* Call often (at least once a second); all module work happens here, on unix-second deadlines. */
void secmod_tick(void);
secmod_state_t secmod_state(void);
const char *secmod_state_name(secmod_state_t state);
const secmod_stats_t *secmod_stats(void);

/*
 * Packet observation. `ip` points at the IPv4/IPv6 header in network byte order;
 * `len` bytes are readable from there (at least IP header(s) + first 4 bytes of
 * the transport header when the packet has them).
 */
void secmod_observe_ipv4(secmod_dir_t dir, const uint8_t *ip, size_t len);
void secmod_observe_ipv6(secmod_dir_t dir, const uint8_t *ip, size_t len);

#endif
