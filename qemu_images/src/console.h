#ifndef CONSOLE_H
#define CONSOLE_H
#include <stdarg.h>
/* printf to UART0 ('\n' becomes "\r\n"). */
int con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int con_vprintf(const char *fmt, va_list ap);
void con_puts(const char *s);
#endif
