/* Vector table and reset: copy .data, clear .bss, run main. */
#include <stdint.h>
#include "board.h"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
extern int main(void);
void Reset_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void);
void uart0_rx_irq_handler(void);
void nic_irq_handler(void);

static void Default_Handler(void)
{
    /* an unexpected exception is a fault too: report it like one */
    HardFault_Handler();
}

/* weak so a build without networking still links */
void __attribute__((weak)) nic_irq_handler(void) { Default_Handler(); }

#define N_IRQ 48
typedef void (*vector_t)(void);

__attribute__((section(".vectors"), used)) static const vector_t vectors[16 + N_IRQ] = {
    [0] = (vector_t)&__stack_top,
    [1] = Reset_Handler,
    [2] = Default_Handler,   /* NMI */
    [3] = HardFault_Handler,
    [4] = HardFault_Handler, /* MemManage */
    [5] = HardFault_Handler, /* BusFault */
    [6] = HardFault_Handler, /* UsageFault */
    [11] = Default_Handler,  /* SVC */
    [12] = Default_Handler,  /* DebugMon */
    [14] = Default_Handler,  /* PendSV */
    [15] = SysTick_Handler,
    [16 + BOARD_UART0_RX_IRQ] = uart0_rx_irq_handler,
    [16 + BOARD_NIC_IRQ] = nic_irq_handler,
};

void Reset_Handler(void)
{
    uint32_t *src = &__data_load, *dst = &__data_start;
    while (dst < &__data_end) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start; dst < &__bss_end; dst++) {
        *dst = 0;
    }
    main();
    for (;;) {
    }
}
