#ifndef UART_H
#define UART_H
#include <stddef.h>
void uart_init(void);
void uart_putc(char c);
void uart_write(const char *s, size_t n);
int uart_getc(void); /* -1 when nothing received */
int uart_rx_available(void);
#endif
