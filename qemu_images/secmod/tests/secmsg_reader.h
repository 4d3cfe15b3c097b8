/* Decoder of security messages for the tests, on top of fbr (schema 2.3). */
#ifndef SECMSG_READER_H
#define SECMSG_READER_H

#include <stddef.h>
#include <stdint.h>

#include "fbr.h"

#define RD_MAX_EVENTS 8
#define RD_MAX_RECORDS 160

typedef struct {
    uint8_t local[16], remote[16]; /* bytes as in the buffer */
    uint16_t local_port, remote_port;
    uint32_t bytes_in, bytes_out;
    uint8_t protocol;
    /* presence of each common field on the wire (defaults omitted) */
    uint8_t has_local_port, has_remote_port, has_bytes_in, has_bytes_out, has_protocol;
    unsigned common_slots; /* vtable slots of the common table */
} rd_record_t;

typedef struct {
    uint8_t id[16];
    uint32_t time, collection_interval;
    uint8_t payload_type;
    int has_time, has_interval;
    /* NetworkActivity */
    int has_v4, has_v6; /* vector present */
    uint32_t n4, n6;
    rd_record_t v4[RD_MAX_RECORDS], v6[RD_MAX_RECORDS];
    /* SystemInformation */
    int has_os_info, has_kernel_info, has_hw_info;
    char os_info[128];
    unsigned payload_slots;
} rd_event_t;

typedef struct {
    char module_id[128];
    uint32_t version;
    int has_version, has_timezone;
    uint32_t n_events;
    rd_event_t ev[RD_MAX_EVENTS];
} rd_message_t;

/* 0 on success; on failure a reason in err. */
int rd_decode(const uint8_t *buf, size_t len, rd_message_t *m, char *err, size_t errlen);
/* Text form of the message in the secmod_encode input format (IPv6 in RFC 5952 form). */
size_t rd_to_text(const rd_message_t *m, char *out, size_t cap);
void rd_format_ipv6(const uint8_t a[16], char out[46]);

#endif
