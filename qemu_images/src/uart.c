/* CMSDK APB UART0: polled transmit, interrupt-driven receive into a ring buffer
 * (the receive interrupt also wakes the idle loop from wfi). */
#include <stdint.h>
#include "board.h"
#include "cm.h"
#include "uart.h"

#define UART_DATA REG32(BOARD_UART0_BASE + 0x00u)
#define UART_STATE REG32(BOARD_UART0_BASE + 0x04u)
#define UART_CTRL REG32(BOARD_UART0_BASE + 0x08u)
#define UART_INTSTATUS REG32(BOARD_UART0_BASE + 0x0Cu)
#define UART_BAUDDIV REG32(BOARD_UART0_BASE + 0x10u)

#define STATE_TXFULL 1u
#define STATE_RXFULL 2u
#define CTRL_TX_EN 1u
#define CTRL_RX_EN 2u
#define CTRL_RX_IRQ_EN 8u
#define INT_RX 2u

static volatile uint8_t rx_ring[512];
static volatile uint32_t rx_head, rx_tail;

void uart_init(void)
{
    UART_BAUDDIV = BOARD_CLOCK_HZ / 115200u;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_IRQ_EN;
    nvic_enable(BOARD_UART0_RX_IRQ);
}

void uart_putc(char c)
{
    while (UART_STATE & STATE_TXFULL) {
    }
    UART_DATA = (uint8_t)c;
}

void uart_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') {
            uart_putc('\r');
        }
        uart_putc(s[i]);
    }
}

void uart0_rx_irq_handler(void)
{
    /* acknowledge first, then drain: a byte that lands after the drain raises
     * the interrupt again instead of being stranded (QEMU delivers the next
     * byte from its I/O thread as soon as DATA is read) */
    UART_INTSTATUS = INT_RX;
    while (UART_STATE & STATE_RXFULL) {
        uint8_t c = (uint8_t)UART_DATA;
        uint32_t next = (rx_head + 1u) % sizeof rx_ring;
        if (next != rx_tail) { /* drop on overflow */
            rx_ring[rx_head] = c;
            rx_head = next;
        }
    }
}

int uart_getc(void)
{
    if (rx_tail == rx_head) {
        return -1;
    }
    int c = rx_ring[rx_tail];
    rx_tail = (rx_tail + 1u) % sizeof rx_ring;
    return c;
}

int uart_rx_available(void) { return rx_tail != rx_head; }
