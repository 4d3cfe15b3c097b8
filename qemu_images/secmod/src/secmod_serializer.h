/*
 * Serializer of the root Message (schema 2.3, harness/secmsg/security_message.fbs).
 * The firmware's collector and the host tool secmod_encode both build the
 * event list below and call secmod_serialize().
 *
 * Bytes on the wire per NetworkActivity record (vtables shared, both byte
 * counters non-zero): IPv4 36 (TCP, ICMP) / 40 (UDP); IPv6 60 (TCP, ICMP) /
 * 64 (UDP). Fields equal to their default (TCP protocol, zero ports or
 * counters) are omitted.
 */
#ifndef SECMOD_SERIALIZER_H
#define SECMOD_SERIALIZER_H

#include <stddef.h>
#include <stdint.h>

#include "fb_builder.h"
#include "secmod_flowtab.h"

/* Union Payload type values. */
enum {
    SECMOD_PAYLOAD_NETWORK_ACTIVITY = 1,
    SECMOD_PAYLOAD_SYSTEM_INFORMATION = 2,
    SECMOD_PAYLOAD_HEARTBEAT = 4,
};

typedef struct {
    uint8_t id[16];
    uint32_t time;                /* unix seconds */
    uint32_t collection_interval; /* seconds */
    uint8_t payload_type;         /* SECMOD_PAYLOAD_* */
    /* NetworkActivity: the finished windows; NULL or empty leaves a vector absent */
    const secmod_flowtab_t *ipv4;
    const secmod_flowtab_t *ipv6;
    /* SystemInformation: NULL leaves os_info absent */
    const char *os_info;
} secmod_event_t;

typedef struct {
    uint8_t *page; /* back-to-front build area; the message ends at page + page_size */
    size_t page_size;
    secmod_fb_ref_t *refs; /* scratch: at least (records in the largest window + events) entries */
    size_t max_refs;
} secmod_serbuf_t;

enum {
    SECMOD_SER_OK = 0,
    SECMOD_SER_TOO_BIG = -1, /* page overflow: the message is dropped */
    SECMOD_SER_INVALID = -2,
};

int secmod_serialize(const secmod_serbuf_t *buf, const char *module_id, uint32_t version,
                     const secmod_event_t *events, size_t n_events, const uint8_t **out,
                     size_t *out_len);

#endif
