#include <string.h>
#include "rand.h"

static uint64_t s0 = 0x9E3779B97F4A7C15ull, s1 = 0xBF58476D1CE4E5B9ull; /* until rand_seed */

/* RAM keeps its contents across a system reset: count boots in a section startup code never clears */
#define BOOT_MAGIC 0x52424F54u /* "RBOT" */
static struct {
    uint32_t magic, boots, check;
} boot_state __attribute__((section(".noinit")));

static uint32_t count_boot(void)
{
    if (boot_state.magic == BOOT_MAGIC && boot_state.check == ~boot_state.boots) {
        boot_state.boots++;
    } else {
        boot_state.magic = BOOT_MAGIC;
        boot_state.boots = 0;
    }
    boot_state.check = ~boot_state.boots;
    return boot_state.boots;
}

static uint32_t boots;

uint32_t rand_boot_count(void) { return boots; }

/* SplitMix64's finalizer: every input bit affects every output bit */
static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rand_seed(const uint8_t seed[32], int present)
{
    boots = count_boot();
    uint64_t acc = 0x243F6A8885A308D3ull;
    if (present) {
        for (int i = 0; i < 4; i++) {
            uint64_t w;
            memcpy(&w, seed + 8 * i, 8);
            acc = mix64(acc ^ w);
        }
    }
    acc = mix64(acc ^ boots); /* a new sequence per boot of the same instance */
    s0 = mix64(acc + 1u);
    s1 = mix64(acc + 2u);
    if (!s0 && !s1) {
        s1 = 1;
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
