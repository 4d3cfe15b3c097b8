/* Controllable fake of secmod_platform.h for the host tests. */
#ifndef FAKE_PLATFORM_H
#define FAKE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#define FAKE_MAX_SENT 256
#define FAKE_MAX_MSG 16384

typedef struct {
    uint32_t time;       /* unix time of the send */
    size_t len;
    uint8_t data[FAKE_MAX_MSG];
    char property_bag[160];
} fake_sent_t;

extern uint32_t fake_now;
extern int fake_connected;
extern int fake_send_result;   /* returned by send_telemetry (0 = queued) */
extern uint32_t fake_send_calls; /* attempts, including refused ones */
extern size_t fake_nsent;      /* accepted messages captured in fake_sent[] */
extern fake_sent_t fake_sent[FAKE_MAX_SENT];

/* Reset everything (module must be disabled by the caller); random seeded with seed. */
void fake_reset(uint32_t seed);
/* Make the next random values come from this list, then continue the generator. */
void fake_random_queue(const uint32_t *vals, size_t n);
/* Advance the clock one second at a time, calling secmod_tick() several times per second. */
void fake_advance(uint32_t seconds);
/* Advance until a new message has been accepted or `limit` seconds passed; returns 1 if one was. */
int fake_advance_until_sent(uint32_t limit);

#endif
