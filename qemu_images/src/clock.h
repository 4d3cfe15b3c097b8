#ifndef CLOCK_H
#define CLOCK_H
#include <stdint.h>
#define CLOCK_TICK_HZ 100u
void clock_init(void);
uint64_t clock_ms(void);       /* milliseconds since boot */
uint32_t clock_unix(void);     /* unix seconds, 0 until set (SNTP or the config block) */
uint64_t clock_unix_ms(void);  /* unix milliseconds, 0 until set */
void clock_set_unix_ms(uint64_t unix_ms);
int clock_unix_source(void);   /* 0 none, 1 config hint, 2 SNTP */
void clock_set_unix_source(int src);
#endif
