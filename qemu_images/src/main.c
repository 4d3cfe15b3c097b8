/* Reference device: boot banner, shell, networking, security module; sleeps (wfi) when idle. */
#include "app.h"
#include "board.h"
#include "clock.h"
#include "cm.h"
#include "config.h"
#include "console.h"
#include "shell.h"
#include "uart.h"
#include "version.h"

int main(void)
{
    uart_init();
    clock_init();
    con_printf("\n%s boot: board=%s cpu=%s version=%s build=%s profile=%s secmod=%s\n", FW_NAME, BOARD_NAME,
               BOARD_CPU, FW_VERSION, FW_BUILD_ID, FW_PROFILE, FW_SECMOD);
    config_load();
    con_printf("device: id=%s\n", g_config.device_id);
    shell_init();
    sys_cmds_init();
    net_init();
#ifdef WITH_SECMOD
    secmod_glue_init();
#endif
    shell_prompt();
    for (;;) {
        int busy = 0;
        shell_poll();
        busy |= net_poll();
#ifdef WITH_SECMOD
        secmod_glue_poll();
#endif
        /* sleep until the next interrupt (SysTick, UART RX, NIC); a pending
         * interrupt still wakes wfi with interrupts masked, so nothing is missed */
        irq_disable();
        if (!busy && !uart_rx_available()) {
            cpu_wfi();
        }
        irq_enable();
    }
}
