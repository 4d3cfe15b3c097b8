#ifndef RAND_H
#define RAND_H
#include <stdint.h>
/* xorshift128+; seeded from the config block's per-run seed (a real NetX port
 * seeds nothing, so without a seed every boot repeats the same sequence). */
void rand_seed(const uint8_t seed[32], int present);
uint32_t rand_u32(void);
#endif
