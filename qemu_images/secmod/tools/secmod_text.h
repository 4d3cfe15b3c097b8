/*
 * Parser of the line-based message description read by secmod_encode, and its
 * encoding with the module's own serializer (same records, same event list,
 * same secmod_serialize() as the firmware).
 *
 *   message id="defender-iot-micro-agent" version=3.5.4
 *   event uuid=<32 hex> time=<uint> interval=<uint> type=network
 *   v4 local=<dotted> remote=<dotted> lport=<u16> rport=<u16> in=<u32> out=<u32> proto=tcp|udp|icmp
 *   v6 local=<ipv6> remote=<ipv6> lport=.. rport=.. in=.. out=.. proto=..
 *   event uuid=.. time=.. interval=60 type=sysinfo os="Azure RTOS 6.2"
 *   event uuid=.. time=.. interval=60 type=heartbeat
 *
 * Blank lines and lines starting with '#' are ignored. v4/v6 lines belong to
 * the preceding network event. Storage is static: one message at a time.
 */
#ifndef SECMOD_TEXT_H
#define SECMOD_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "secmod_serializer.h"

#define SECMOD_TEXT_MAX_EVENTS 64
#define SECMOD_TEXT_MAX_RECORDS 4096 /* per IP version, whole message */
#define SECMOD_TEXT_MAX_STRING 255

typedef struct {
    char module_id[SECMOD_TEXT_MAX_STRING + 1];
    uint32_t version;
    size_t n_events;
    secmod_event_t events[SECMOD_TEXT_MAX_EVENTS];
    char os_info[SECMOD_TEXT_MAX_EVENTS][SECMOD_TEXT_MAX_STRING + 1];
} secmod_text_msg_t;

/* 0 on success; otherwise -1 and "line N: reason" in err. */
int secmod_text_parse(const char *text, size_t len, secmod_text_msg_t *msg, char *err,
                      size_t errlen);
/* Encode with secmod_serialize(); the result stays valid until the next call. */
int secmod_text_encode(const secmod_text_msg_t *msg, const uint8_t **out, size_t *len);

/* Address parsers (exposed for tests): 1 on success. */
int secmod_text_parse_ipv4(const char *s, uint8_t out[4]);
int secmod_text_parse_ipv6(const char *s, uint8_t out[16]);

#endif
