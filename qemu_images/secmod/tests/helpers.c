/* Shared helpers of the host tests. */
#include "helpers.h"

#include <string.h>

#include "minitest.h"
#include "secmod_netact.h"

rd_message_t msg_a, msg_b;

const uint8_t ME4[4] = {10, 0, 0, 1};
const uint8_t HUB4[4] = {192, 0, 2, 10};
const uint8_t PEER4[4] = {203, 0, 113, 66};
const uint8_t ME6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const uint8_t PEER6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd};

void mod_reset(uint32_t seed)
{
    secmod_disable();
    secmod_netact_reboot();
    fake_reset(seed);
}

int mod_enable_to_first(void)
{
    if (secmod_enable() != SECMOD_OK)
        return -1;
    if (!fake_advance_until_sent(100))
        return -1;
    return (int)fake_nsent - 1;
}

int decode_sent(size_t i, rd_message_t *m)
{
    char err[160];
    if (i >= fake_nsent) {
        mt_fail(__FILE__, __LINE__, "no captured message %u", (unsigned)i);
        return -1;
    }
    if (rd_decode(fake_sent[i].data, fake_sent[i].len, m, err, sizeof(err)) != 0) {
        mt_fail(__FILE__, __LINE__, "decode of message %u failed: %s", (unsigned)i, err);
        return -1;
    }
    return 0;
}

int find_event(const rd_message_t *m, uint8_t type)
{
    uint32_t i;
    for (i = 0; i < m->n_events; i++)
        if (m->ev[i].payload_type == type)
            return (int)i;
    return -1;
}

static const rd_record_t *find_rec(const rd_record_t *recs, uint32_t n, uint16_t lport,
                                   uint16_t rport, uint8_t proto)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (recs[i].local_port == lport && recs[i].remote_port == rport &&
            recs[i].protocol == proto)
            return &recs[i];
    return NULL;
}

const rd_record_t *find_v4(const rd_event_t *e, uint16_t lport, uint16_t rport, uint8_t proto)
{
    return find_rec(e->v4, e->n4, lport, rport, proto);
}

const rd_record_t *find_v6(const rd_event_t *e, uint16_t lport, uint16_t rport, uint8_t proto)
{
    return find_rec(e->v6, e->n6, lport, rport, proto);
}

static size_t l4_header(uint8_t *p, uint8_t proto, uint16_t sport, uint16_t dport)
{
    size_t n = proto == 6 ? 20u : 8u;
    memset(p, 0, n);
    if (proto == 6 || proto == 17) {
        p[0] = (uint8_t)(sport >> 8);
        p[1] = (uint8_t)sport;
        p[2] = (uint8_t)(dport >> 8);
        p[3] = (uint8_t)dport;
    } else {
        p[0] = 8; /* echo request type; ports must not come from here */
        p[1] = 0;
        p[2] = 0x12;
        p[3] = 0x34;
    }
    if (proto == 6)
        p[12] = 5u << 4;
    return n;
}

size_t mk_ipv4(uint8_t *buf, uint8_t proto, const uint8_t src[4], const uint8_t dst[4],
               uint16_t sport, uint16_t dport, uint16_t l4_payload)
{
    size_t l4 = l4_header(buf + 20, proto, sport, dport);
    size_t total = 20u + l4 + l4_payload;
    memset(buf, 0, 20);
    buf[0] = 0x45;
    buf[2] = (uint8_t)(total >> 8);
    buf[3] = (uint8_t)total;
    buf[8] = 64;
    buf[9] = proto;
    memcpy(buf + 12, src, 4);
    memcpy(buf + 16, dst, 4);
    memset(buf + 20 + l4, 0xA5, l4_payload);
    return total;
}

size_t mk_ipv6(uint8_t *buf, uint8_t proto, const uint8_t src[16], const uint8_t dst[16],
               uint16_t sport, uint16_t dport, uint16_t l4_payload, const uint8_t *ext,
               size_t n_ext)
{
    size_t off = 40, i, l4, payload;
    uint8_t *nh = buf + 6;
    memset(buf, 0, 40);
    buf[0] = 0x60;
    buf[7] = 64;
    memcpy(buf + 8, src, 16);
    memcpy(buf + 24, dst, 16);
    for (i = 0; i < n_ext; i++) {
        size_t hl = 8;
        *nh = ext[i];
        memset(buf + off, 0, 16);
        if (ext[i] == 51) {
            buf[off + 1] = 2; /* AH: (2 + 2) * 4 = 16 bytes */
            hl = 16;
        } else if (ext[i] == 0 || ext[i] == 60) {
            buf[off + 1] = 1; /* 16 bytes */
            hl = 16;
        } else {
            buf[off + 1] = 0; /* routing 8 bytes; fragment always 8 */
        }
        nh = buf + off;
        off += hl;
    }
    *nh = proto;
    l4 = l4_header(buf + off, proto, sport, dport);
    memset(buf + off + l4, 0x5A, l4_payload);
    payload = off - 40 + l4 + l4_payload;
    buf[4] = (uint8_t)(payload >> 8);
    buf[5] = (uint8_t)payload;
    return 40 + payload;
}

static uint8_t pkt[70000];

void send_v4(uint8_t proto, const uint8_t me[4], const uint8_t peer[4], uint16_t myport,
             uint16_t peerport, uint16_t payload)
{
    size_t n = mk_ipv4(pkt, proto, me, peer, myport, peerport, payload);
    secmod_observe_ipv4(SECMOD_DIR_OUT, pkt, n);
}

void recv_v4(uint8_t proto, const uint8_t me[4], const uint8_t peer[4], uint16_t myport,
             uint16_t peerport, uint16_t payload)
{
    size_t n = mk_ipv4(pkt, proto, peer, me, peerport, myport, payload);
    secmod_observe_ipv4(SECMOD_DIR_IN, pkt, n);
}

void send_v6(uint8_t proto, const uint8_t me[16], const uint8_t peer[16], uint16_t myport,
             uint16_t peerport, uint16_t payload)
{
    size_t n = mk_ipv6(pkt, proto, me, peer, myport, peerport, payload, NULL, 0);
    secmod_observe_ipv6(SECMOD_DIR_OUT, pkt, n);
}

void recv_v6(uint8_t proto, const uint8_t me[16], const uint8_t peer[16], uint16_t myport,
             uint16_t peerport, uint16_t payload)
{
    size_t n = mk_ipv6(pkt, proto, peer, me, peerport, myport, payload, NULL, 0);
    secmod_observe_ipv6(SECMOD_DIR_IN, pkt, n);
}

uint32_t first_collect_time(void)
{
    static rd_message_t m;
    if (fake_nsent == 0 || decode_sent(0, &m) != 0 || m.n_events == 0)
        return 0;
    return m.ev[0].time;
}

void advance_to(uint32_t t)
{
    if ((int32_t)(t - fake_now) > 0)
        fake_advance(t - fake_now);
}
