#include <stdio.h>
#include <string.h>
#include "console.h"
#include "uart.h"

int con_vprintf(const char *fmt, va_list ap)
{
    char buf[256];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n > 0) {
        uart_write(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    }
    return n;
}

int con_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = con_vprintf(fmt, ap);
    va_end(ap);
    return n;
}

void con_puts(const char *s) { uart_write(s, strlen(s)); }
