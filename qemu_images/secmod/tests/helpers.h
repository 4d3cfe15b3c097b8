/* Shared helpers of the host tests: module driving, packet crafting, decoding. */
#ifndef HELPERS_H
#define HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "fake_platform.h"
#include "secmod.h"
#include "secmod_config.h"
#include "secmsg_reader.h"

/*
 * Seconds from enable to the first collection when the random source gives 0
 * (or the forced offset). The fake clock advances before each tick, so
 * "immediately" (a negative forced offset) is the next second.
 */
#ifdef SECMOD_FIRST_FORCE_COLLECTION_INTERVAL
#define FIRST_DELAY_R0 ((SECMOD_FIRST_FORCE_COLLECTION_INTERVAL) < 1 ? 1 : (SECMOD_FIRST_FORCE_COLLECTION_INTERVAL))
#else
#define FIRST_DELAY_R0 (SECMOD_FIRST_COLLECTION_INTERVAL)
#endif
#define MIN_U(a, b) ((a) < (b) ? (a) : (b))

/* Two decoded messages the tests can use freely (too big for the stack). */
extern rd_message_t msg_a, msg_b;

/* Disable the module and reset the fake platform. */
void mod_reset(uint32_t seed);
/* Enable (hub connected) and run to the first published message; returns its index or -1. */
int mod_enable_to_first(void);
/* Collection time (event time) of the first captured message; 0 if none. */
uint32_t first_collect_time(void);
/* Advance the fake clock (ticking) up to unix time t. */
void advance_to(uint32_t t);
/* Decode captured message i into m; 0 on success (a failure is reported). */
int decode_sent(size_t i, rd_message_t *m);
/* Index of the event with this payload type in m, or -1. */
int find_event(const rd_message_t *m, uint8_t type);
/* Record of an event matching local/remote port and protocol, or NULL. */
const rd_record_t *find_v4(const rd_event_t *e, uint16_t lport, uint16_t rport, uint8_t proto);
const rd_record_t *find_v6(const rd_event_t *e, uint16_t lport, uint16_t rport, uint8_t proto);

/* IPv4 packet: header (20 bytes) + transport header + payload; returns length. */
size_t mk_ipv4(uint8_t *buf, uint8_t proto, const uint8_t src[4], const uint8_t dst[4],
               uint16_t sport, uint16_t dport, uint16_t l4_payload);
/*
 * IPv6 packet with an optional chain of extension headers (`ext` lists next
 * header numbers, each emitted with minimal length), then transport.
 */
size_t mk_ipv6(uint8_t *buf, uint8_t proto, const uint8_t src[16], const uint8_t dst[16],
               uint16_t sport, uint16_t dport, uint16_t l4_payload, const uint8_t *ext,
               size_t n_ext);

/* Observe a packet both as built and, for inbound, in the mirrored direction. */
void send_v4(uint8_t proto, const uint8_t me[4], const uint8_t peer[4], uint16_t myport,
             uint16_t peerport, uint16_t payload);
void recv_v4(uint8_t proto, const uint8_t me[4], const uint8_t peer[4], uint16_t myport,
             uint16_t peerport, uint16_t payload);
void send_v6(uint8_t proto, const uint8_t me[16], const uint8_t peer[16], uint16_t myport,
             uint16_t peerport, uint16_t payload);
void recv_v6(uint8_t proto, const uint8_t me[16], const uint8_t peer[16], uint16_t myport,
             uint16_t peerport, uint16_t payload);

extern const uint8_t ME4[4], HUB4[4], PEER4[4];
extern const uint8_t ME6[16], PEER6[16];

/* Suites */
void suite_fb_builder(void);
void suite_serializer(void);
void suite_netparse(void);
void suite_netact(void);
void suite_schedule(void);
void suite_state(void);
void suite_quirk(void);
void suite_text(void);

#endif
