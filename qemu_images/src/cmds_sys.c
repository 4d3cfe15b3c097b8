/* System shell commands: version, uptime, config, reboot, fault, exit. */
#include <stdlib.h>
#include "app.h"
#include "clock.h"
#include "cm.h"
#include "config.h"
#include "console.h"
#include "board.h"
#include "semihost.h"
#include "shell.h"
#include "version.h"

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    con_printf("%s %s build %s board %s cpu %s profile %s secmod %s\n", FW_NAME, FW_VERSION, FW_BUILD_ID,
               BOARD_NAME, BOARD_CPU, FW_PROFILE, FW_SECMOD);
    return 0;
}

static int cmd_uptime(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    uint64_t ms = clock_ms();
    con_printf("uptime: %lu.%03lu s\n", (unsigned long)(ms / 1000u), (unsigned long)(ms % 1000u));
    return 0;
}

static int cmd_time(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static const char *src[] = {"none", "config-hint", "sntp"};
    uint64_t ms = clock_unix_ms();
    con_printf("time: unix=%lu.%03lu source=%s\n", (unsigned long)(ms / 1000u), (unsigned long)(ms % 1000u),
               src[clock_unix_source() % 3]);
    return 0;
}

static int cmd_config(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    config_print();
    return 0;
}

static int cmd_reboot(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    con_puts("rebooting\n");
    system_reset();
    return 0;
}

/* A named function so a fault's PC resolves to this line with addr2line. */
__attribute__((noinline)) static void fault_trigger_undefined_instruction(void)
{
    __asm volatile("udf #0");
}

__attribute__((noinline)) static void fault_trigger_bad_write(void)
{
    /* nothing is mapped at 0xF0000000 on MPS2: a precise BusFault, escalated to HardFault */
    *(volatile unsigned *)0xF0000000u = 0xDEADBEEFu;
}

static int cmd_fault(int argc, char **argv)
{
    con_puts("triggering a fault on purpose\n");
    if (argc > 1 && argv[1][0] == 'b') {
        fault_trigger_bad_write();
    }
    fault_trigger_undefined_instruction();
    return 0;
}

static int cmd_exit(int argc, char **argv)
{
    int code = argc > 1 ? atoi(argv[1]) : 0;
    con_printf("exit %d\n", code);
    semihost_exit(code);
}

static const shell_cmd_t cmds[] = {
    {"version", "version", "firmware name, version, build id, board", cmd_version},
    {"uptime", "uptime", "seconds since boot", cmd_uptime},
    {"time", "time", "unix time and its source", cmd_time},
    {"config", "config", "per-instance settings from the config block", cmd_config},
    {"reboot", "reboot", "reset the device (SYSRESETREQ)", cmd_reboot},
    {"fault", "fault [undef|bus]", "trigger a HardFault on purpose", cmd_fault},
    {"exit", "exit N", "end QEMU with exit code N (semihosting)", cmd_exit},
};

void sys_cmds_init(void) { shell_register(cmds, sizeof cmds / sizeof cmds[0]); }
