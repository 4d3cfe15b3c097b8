/* lwIP port for the reference firmware: bare metal, newlib, little-endian Cortex-M. */
#ifndef LWIP_ARCH_CC_H
#define LWIP_ARCH_CC_H
#include <stdint.h>
#include <stdlib.h>
#include "console.h"
#include "rand.h"

#define LWIP_PLATFORM_DIAG(x) do { con_printf x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) do { con_printf("lwip assert: %s (%s:%d)\n", x, __FILE__, __LINE__); abort(); } while (0)
#define LWIP_RAND() (rand_u32())
#define LWIP_NO_UNISTD_H 1
#endif
