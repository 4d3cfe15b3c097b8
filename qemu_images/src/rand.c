#include <string.h>
#include "rand.h"

static uint64_t s0 = 0x9E3779B97F4A7C15ull, s1 = 0xBF58476D1CE4E5B9ull;

void rand_seed(const uint8_t seed[32], int present)
{
    if (present) {
        memcpy(&s0, seed, 8);
        memcpy(&s1, seed + 8, 8);
        uint64_t mix[2];
        memcpy(mix, seed + 16, 16);
        s0 ^= mix[0];
        s1 ^= mix[1];
        if (!s0 && !s1) {
            s1 = 1;
        }
    }
}

uint32_t rand_u32(void)
{
    uint64_t x = s0, y = s1;
    s0 = y;
    x ^= x << 23;
    s1 = x ^ y ^ (x >> 17) ^ (y >> 26);
    return (uint32_t)((s1 + y) >> 32);
}
