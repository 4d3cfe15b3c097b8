/*
 * The security module's platform on the reference device: unix time from
 * SNTP, randomness from the seeded PRNG, the hub MQTT connection, and the
 * packet observation points of ethif.c / net_hooks.c. The module is enabled
 * automatically once the device has unix time (the real module is enabled by
 * nx_azure_iot_create, which needs a working unix-time source).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "config.h"
#include "console.h"
#include "ethif.h"
#include "net.h"
#include "rand.h"
#include "secmod.h"
#include "secmod_platform.h"
#include "shell.h"

static int autostart_done;

uint32_t secmod_platform_unix_time(void) { return clock_unix(); }
uint32_t secmod_platform_random(void) { return rand_u32(); }
int secmod_platform_hub_connected(void) { return hub_connected(); }

int secmod_platform_send_telemetry(const char *property_bag, const uint8_t *payload, size_t len)
{
    char topic[200];
    int n = snprintf(topic, sizeof topic, "devices/%s/messages/events/%s", g_config.device_id, property_bag);
    if (n <= 0 || (size_t)n >= sizeof topic) {
        return -1;
    }
    return hub_publish(topic, payload, len, 1);
}

void secmod_platform_log(const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    shell_log("secmod: %s", buf);
}

void net_observe_out(const uint8_t *ip, size_t len, int is_v6)
{
    if (is_v6) {
        secmod_observe_ipv6(SECMOD_DIR_OUT, ip, len);
    } else {
        secmod_observe_ipv4(SECMOD_DIR_OUT, ip, len);
    }
}

void net_observe_in(const uint8_t *ip, size_t len, int is_v6)
{
    if (is_v6) {
        secmod_observe_ipv6(SECMOD_DIR_IN, ip, len);
    } else {
        secmod_observe_ipv4(SECMOD_DIR_IN, ip, len);
    }
}

void secmod_glue_poll(void)
{
    if (!autostart_done && g_config.secmod_autostart && clock_unix() != 0) {
        autostart_done = 1;
        int rc = secmod_enable();
        shell_log("secmod: enabled automatically (%s)", rc == SECMOD_OK ? "ok" : "failed");
    }
    secmod_tick();
}

static int cmd_secmod(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "enable") == 0) {
        int rc = secmod_enable();
        autostart_done = 1;
        con_printf("secmod: enable %s (%d)\n", rc == SECMOD_OK ? "ok" : "failed", rc);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "disable") == 0) {
        int rc = secmod_disable();
        autostart_done = 1;
        con_printf("secmod: disable %s (%d)\n", rc == SECMOD_OK ? "ok" : "failed", rc);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "status") != 0) {
        return 1;
    }
    const secmod_stats_t *s = secmod_stats();
    con_printf("secmod: state %s\n", secmod_state_name(secmod_state()));
    con_printf("secmod: built %lu sent %lu discarded %lu send-failures %lu records-dropped %lu last-size %lu\n",
               (unsigned long)s->messages_built, (unsigned long)s->messages_sent, (unsigned long)s->messages_discarded,
               (unsigned long)s->send_failures, (unsigned long)s->records_dropped,
               (unsigned long)s->last_message_size);
    return 0;
}

static const shell_cmd_t cmds[] = {
    {"secmod", "secmod [status|enable|disable]", "the IoT security module", cmd_secmod},
};

void secmod_glue_init(void) { shell_register(cmds, sizeof cmds / sizeof cmds[0]); }
