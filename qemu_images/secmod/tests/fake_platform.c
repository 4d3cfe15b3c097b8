/* Fake platform for the host tests: time, random, hub connection and send capture. */
#include "fake_platform.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secmod.h"
#include "secmod_platform.h"

uint32_t fake_now;
int fake_connected;
int fake_send_result;
uint32_t fake_send_calls;
size_t fake_nsent;
fake_sent_t fake_sent[FAKE_MAX_SENT];

static uint32_t rng_state;
static uint32_t queue[16];
static size_t queue_len, queue_pos;

void fake_reset(uint32_t seed)
{
    fake_now = 1700000000u;
    fake_connected = 1;
    fake_send_result = 0;
    fake_send_calls = 0;
    fake_nsent = 0;
    rng_state = seed ? seed : 1u;
    queue_len = queue_pos = 0;
}

void fake_random_queue(const uint32_t *vals, size_t n)
{
    if (n > sizeof(queue) / sizeof(queue[0]))
        n = sizeof(queue) / sizeof(queue[0]);
    memcpy(queue, vals, n * sizeof(uint32_t));
    queue_len = n;
    queue_pos = 0;
}

void fake_advance(uint32_t seconds)
{
    uint32_t i;
    for (i = 0; i < seconds; i++) {
        fake_now++;
        secmod_tick();
        secmod_tick();
        secmod_tick();
    }
}

int fake_advance_until_sent(uint32_t limit)
{
    size_t before = fake_nsent;
    uint32_t i;
    for (i = 0; i < limit; i++) {
        fake_advance(1);
        if (fake_nsent != before)
            return 1;
    }
    return 0;
}

uint32_t secmod_platform_unix_time(void)
{
    return fake_now;
}

uint32_t secmod_platform_random(void)
{
    if (queue_pos < queue_len)
        return queue[queue_pos++];
    /* xorshift32 */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

int secmod_platform_hub_connected(void)
{
    return fake_connected;
}

int secmod_platform_send_telemetry(const char *property_bag, const uint8_t *payload, size_t len)
{
    fake_sent_t *s;
    fake_send_calls++;
    if (fake_send_result != 0)
        return fake_send_result;
    if (fake_nsent >= FAKE_MAX_SENT || len > FAKE_MAX_MSG) {
        fprintf(stderr, "fake platform: capture full\n");
        abort();
    }
    s = &fake_sent[fake_nsent++];
    s->time = fake_now;
    s->len = len;
    memcpy(s->data, payload, len);
    snprintf(s->property_bag, sizeof(s->property_bag), "%s", property_bag);
    return 0;
}

void secmod_platform_log(const char *fmt, ...)
{
    va_list ap;
    if (getenv("SECMOD_TEST_VERBOSE") == NULL)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "[%u] ", (unsigned)fake_now);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
