/* IPv4/IPv6 header parsing for the NetworkActivity collector (spec §1.3). */
#include "secmod_netparse.h"

#include <string.h>

#include "secmod_config.h"

#define IPV4_HDR_MIN 20u
#define IPV6_HDR_LEN 40u

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

/* Map an IP protocol number to the schema's Protocol; -1 = not recorded. */
static int map_protocol(unsigned ipproto, int v6)
{
    switch (ipproto) {
#ifndef SECMOD_NETWORK_ACTIVITY_TCP_DISABLED
    case 6:
        return SECMOD_PROTO_TCP;
#endif
#ifndef SECMOD_NETWORK_ACTIVITY_UDP_DISABLED
    case 17:
        return SECMOD_PROTO_UDP;
#endif
#ifndef SECMOD_NETWORK_ACTIVITY_ICMP_DISABLED
    case 1:
        return v6 ? -1 : SECMOD_PROTO_ICMP;
    case 58:
        return v6 ? SECMOD_PROTO_ICMP : -1;
#endif
    default:
        return -1;
    }
}

/*
 * Ports from the first 32-bit word of the transport header at `l4`
 * (ICMP: both 0). Returns 0 when that word lies beyond `len`.
 */
static int fill_ports(secmod_dir_t dir, const uint8_t *ip, size_t len, size_t l4,
                      secmod_pkt_t *out)
{
    uint16_t sport, dport;

    if (out->protocol == SECMOD_PROTO_ICMP) {
        out->local_port = 0;
        out->remote_port = 0;
        return 1;
    }
    if (l4 > len || len - l4 < 4u)
        return 0;
    sport = rd16(ip + l4);
    dport = rd16(ip + l4 + 2);
    out->local_port = dir == SECMOD_DIR_IN ? dport : sport;
    out->remote_port = dir == SECMOD_DIR_IN ? sport : dport;
    return 1;
}

static void fill_addrs(secmod_dir_t dir, const uint8_t *src, const uint8_t *dst, size_t alen,
                       secmod_pkt_t *out)
{
    memset(out->local, 0, sizeof(out->local));
    memset(out->remote, 0, sizeof(out->remote));
    memcpy(out->local, dir == SECMOD_DIR_IN ? dst : src, alen);
    memcpy(out->remote, dir == SECMOD_DIR_IN ? src : dst, alen);
}

int secmod_parse_ipv4(secmod_dir_t dir, const uint8_t *ip, size_t len, secmod_pkt_t *out)
{
    size_t hlen;
    uint16_t total, frag;
    int proto;

    if (ip == NULL || out == NULL || len < IPV4_HDR_MIN || (ip[0] >> 4) != 4)
        return 0;
    hlen = (size_t)(ip[0] & 0x0Fu) * 4u;
    total = rd16(ip + 2);
    if (hlen < IPV4_HDR_MIN || hlen > len || total < hlen)
        return 0;
    /* A non-initial fragment carries no transport header (the real hooks see whole datagrams). */
    frag = rd16(ip + 6);
    if ((frag & 0x1FFFu) != 0)
        return 0;
    proto = map_protocol(ip[9], 0);
    if (proto < 0)
        return 0;
    out->protocol = (uint8_t)proto;
    if (!fill_ports(dir, ip, len, hlen, out))
        return 0;
    fill_addrs(dir, ip + 12, ip + 16, 4, out);
#ifdef SECMOD_MUTANT_COUNT_IP_HEADER
    /* a deliberately wrong build for the conformance suite's self-test: counts the IP header too */
    out->bytes = (uint16_t)total;
#else
    out->bytes = (uint16_t)(total - hlen);
#endif
    return 1;
}

int secmod_parse_ipv6(secmod_dir_t dir, const uint8_t *ip, size_t len, secmod_pkt_t *out)
{
    size_t off = IPV6_HDR_LEN;
    size_t ext = 0;
    unsigned nh;
    uint16_t payload;
    int proto = -1;

    if (ip == NULL || out == NULL || len < IPV6_HDR_LEN || (ip[0] >> 4) != 6)
        return 0;
    payload = rd16(ip + 4);
    nh = ip[6];
    /* Each extension header is at least 8 bytes, so the walk ends by `len`. */
    for (;;) {
        size_t hl;
        if (nh == 6 || nh == 17 || nh == 58) {
            proto = map_protocol(nh, 1);
            break;
        }
        if (off > len || len - off < 8u)
            return 0; /* chain runs past the data (or a header is cut short) */
        switch (nh) {
        case 0:  /* Hop-by-Hop options */
        case 43: /* Routing */
        case 60: /* Destination options */
            hl = ((size_t)ip[off + 1] + 1u) * 8u;
            break;
        case 44: /* Fragment */
            if ((rd16(ip + off + 2) & 0xFFF8u) != 0)
                return 0; /* non-initial fragment: no transport header */
            hl = 8u;
            break;
        case 51: /* Authentication Header */
            hl = ((size_t)ip[off + 1] + 2u) * 4u;
            break;
        default: /* ESP (50), no next header (59), anything else */
            return 0;
        }
        nh = ip[off];
        off += hl;
        ext += hl;
    }
    if (proto < 0 || ext > payload || off > len)
        return 0;
    out->protocol = (uint8_t)proto;
    if (!fill_ports(dir, ip, len, off, out))
        return 0;
    fill_addrs(dir, ip + 8, ip + 24, 16, out);
#ifdef SECMOD_MUTANT_COUNT_IP_HEADER
    out->bytes = (uint16_t)(payload + IPV6_HDR_LEN);
#else
    out->bytes = (uint16_t)(payload - ext);
#endif
    return 1;
}
