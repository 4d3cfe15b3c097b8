#ifndef RAND_H
#define RAND_H
#include <stdint.h>
/*
 * xorshift128+, seeded from the config block's per-run seed mixed with a boot
 * counter that survives resets (a real NetX port seeds nothing, so without a
 * seed every boot repeats the same sequence: same ephemeral ports, ISNs and TLS
 * randomness). The same seed gives the same sequence on a fresh QEMU (boot 0);
 * a reset or reboot of the same instance (boot 1, 2, ...) gives a new one.
 * Used for lwIP's LWIP_RAND (ephemeral ports, DNS ids), TCP ISNs
 * (LWIP_HOOK_TCP_ISN), event ids, back-off jitter; TLS entropy is derived
 * from the same seed (tls.c).
 */
void rand_seed(const uint8_t seed[32], int present);
uint32_t rand_u32(void);
uint32_t rand_boot_count(void); /* 0 on the first boot of a QEMU instance */
#endif
