/*
 * Parse one IP datagram into what the NetworkActivity collector records
 * (spec §1.3): protocol, local/remote address and port, L4 byte count.
 * Pure functions; never read outside [ip, ip+len).
 */
#ifndef SECMOD_NETPARSE_H
#define SECMOD_NETPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "secmod.h"

/* Values of the schema's Protocol enum. */
enum {
    SECMOD_PROTO_TCP = 0,
    SECMOD_PROTO_UDP = 1,
    SECMOD_PROTO_ICMP = 2,
};

typedef struct {
    uint8_t local[16];  /* network-order bytes; 4 used for IPv4 */
    uint8_t remote[16];
    uint16_t local_port; /* host order; 0 for ICMP */
    uint16_t remote_port;
    uint16_t bytes;      /* transport header + payload of this packet */
    uint8_t protocol;    /* SECMOD_PROTO_* */
} secmod_pkt_t;

/* 1 when the packet is to be recorded (fills *out), 0 when it is ignored. */
int secmod_parse_ipv4(secmod_dir_t dir, const uint8_t *ip, size_t len, secmod_pkt_t *out);
int secmod_parse_ipv6(secmod_dir_t dir, const uint8_t *ip, size_t len, secmod_pkt_t *out);

#endif
