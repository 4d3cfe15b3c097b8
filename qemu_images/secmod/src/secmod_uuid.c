/* Counter-based event ids (spec §2.3, quirk §6.6). */
#include "secmod_uuid.h"

#include "secmod_platform.h"

static uint64_t ctr_a, ctr_b;
static uint8_t seeded;

static uint64_t rand64(void)
{
    uint64_t hi = secmod_platform_random();
    return (hi << 32) | secmod_platform_random();
}

static void put64(uint8_t *p, uint64_t v)
{
    unsigned i;
    for (i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8u * i));
}

void secmod_uuid_next(uint8_t id[16])
{
    if (!seeded) {
        ctr_a = rand64();
        ctr_b = rand64();
        seeded = 1;
    }
    put64(id, ctr_a);
    put64(id + 8, ctr_b);
    ctr_a++;
    ctr_b++;
}
