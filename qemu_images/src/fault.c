/* HardFault (and every other fault) handler: prints a banner the harness
 * recognises, with everything needed to find the faulting line (PC, LR, the
 * stacked frame and the fault status/address registers), then halts quietly. */
#include <stdint.h>
#include "cm.h"
#include "uart.h"

static void put_str(const char *s)
{
    while (*s) {
        if (*s == '\n') uart_putc('\r');
        uart_putc(*s++);
    }
}

static void put_hex(const char *name, uint32_t v)
{
    static const char hex[] = "0123456789abcdef";
    char buf[11] = {'0', 'x'};
    for (int i = 0; i < 8; i++) {
        buf[2 + i] = hex[(v >> (28 - 4 * i)) & 0xFu];
    }
    buf[10] = 0;
    put_str(name);
    put_str("=");
    put_str(buf);
    put_str(" ");
}

void fault_report(uint32_t *frame, uint32_t exc_return) __attribute__((used, noreturn));
void fault_report(uint32_t *frame, uint32_t exc_return)
{
    SYST_CSR = 0;
    for (int i = 0; i < 8; i++) {
        NVIC_ICER(i) = 0xFFFFFFFFu;
    }
    put_str("\n*** HARDFAULT ***\n");
    put_hex("PC", frame[6]);
    put_hex("LR", frame[5]);
    put_hex("xPSR", frame[7]);
    put_str("\n");
    put_hex("R0", frame[0]);
    put_hex("R1", frame[1]);
    put_hex("R2", frame[2]);
    put_hex("R3", frame[3]);
    put_hex("R12", frame[4]);
    put_str("\n");
    put_hex("CFSR", SCB_CFSR);
    put_hex("HFSR", SCB_HFSR);
    put_hex("MMFAR", SCB_MMFAR);
    put_hex("BFAR", SCB_BFAR);
    put_str("\n");
    put_hex("EXC_RETURN", exc_return);
    put_hex("SP", (uint32_t)(uintptr_t)frame);
    put_hex("ICSR", SCB_ICSR);
    put_str("\n*** END HARDFAULT ***\n");
    for (;;) {
        cpu_wfi();
    }
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "mov r1, lr\n"
        "b fault_report\n");
}
