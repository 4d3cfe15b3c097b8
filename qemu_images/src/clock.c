/* SysTick at 100 Hz: the time base for uptime, lwIP timers and unix time. */
#include "board.h"
#include "clock.h"
#include "cm.h"

static volatile uint64_t ticks;
static uint64_t unix_offset_ms; /* unix ms at boot; 0 = unknown */
static int unix_source;

void SysTick_Handler(void) { ticks++; }

void clock_init(void)
{
    SYST_RVR = BOARD_CLOCK_HZ / CLOCK_TICK_HZ - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
}

uint64_t clock_ms(void)
{
    uint64_t t1, t2;
    do { /* 64-bit read is not atomic on M3 */
        t1 = ticks;
        t2 = ticks;
    } while (t1 != t2);
    return t1 * (1000u / CLOCK_TICK_HZ);
}

uint64_t clock_unix_ms(void) { return unix_offset_ms ? unix_offset_ms + clock_ms() : 0; }
uint32_t clock_unix(void) { return (uint32_t)(clock_unix_ms() / 1000u); }
void clock_set_unix_ms(uint64_t unix_ms) { unix_offset_ms = unix_ms - clock_ms(); }
int clock_unix_source(void) { return unix_source; }
void clock_set_unix_source(int src) { unix_source = src; }
