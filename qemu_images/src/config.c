#include <stdlib.h>
#include <string.h>
#include "board.h"
#include "config.h"
#include "console.h"
#include "rand.h"

device_config_t g_config;

static const char MAGIC[] = "RTLCFG1\n";

static void defaults(void)
{
    memset(&g_config, 0, sizeof g_config);
    strcpy(g_config.device_id, "refdev");
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    memcpy(g_config.mac, mac, 6);
    strcpy(g_config.ipv4_mode, "dhcp");
    strcpy(g_config.ipv6_mode, "slaac");
    strcpy(g_config.hub_host, "hub.lab");
    g_config.hub_port = 1883;
    strcpy(g_config.hub_transport, "mqtt");
    strcpy(g_config.api_version, "2021-04-12");
    g_config.telemetry_interval = 5;
    g_config.secmod_autostart = 1;
    g_config.sas_ttl = 3600;
    g_config.keepalive = 240;
    g_config.tls_verify = 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_hex(const char *s, uint8_t *out, int n, char sep)
{
    for (int i = 0; i < n; i++) {
        int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
        if (lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (sep && i < n - 1) {
            if (*s != sep) return -1;
            s++;
        }
    }
    return *s == 0 ? 0 : -1;
}

#define STR_KEY(name, field) {name, g_config.field, sizeof g_config.field}
static const struct {
    const char *key;
    char *dst;
    unsigned size;
} str_keys[] = {
    STR_KEY("device_id", device_id), STR_KEY("ipv4", ipv4_mode),     STR_KEY("ipv4_addr", ipv4_addr),
    STR_KEY("ipv4_mask", ipv4_mask), STR_KEY("ipv4_gw", ipv4_gw),     STR_KEY("dns", dns),
    STR_KEY("ipv6", ipv6_mode),      STR_KEY("ipv6_addr", ipv6_addr), STR_KEY("hub_host", hub_host),
    STR_KEY("hub_addr", hub_addr),   STR_KEY("transport", hub_transport), STR_KEY("api_version", api_version),
    STR_KEY("password", password),   STR_KEY("device_key", device_key), STR_KEY("ntp", ntp),
    STR_KEY("sas_resource", sas_resource),
};

static void apply(const char *key, const char *val)
{
    for (unsigned i = 0; i < sizeof str_keys / sizeof str_keys[0]; i++) {
        if (strcmp(key, str_keys[i].key) == 0) {
            strncpy(str_keys[i].dst, val, str_keys[i].size - 1);
            str_keys[i].dst[str_keys[i].size - 1] = 0;
            return;
        }
    }
    if (strcmp(key, "mac") == 0) {
        uint8_t mac[6];
        if (parse_hex(val, mac, 6, ':') == 0) memcpy(g_config.mac, mac, 6);
        else con_printf("config: bad mac '%s' ignored\n", val);
    } else if (strcmp(key, "hub_port") == 0) {
        g_config.hub_port = (uint16_t)strtoul(val, NULL, 10);
    } else if (strcmp(key, "time_hint_ms") == 0) {
        g_config.time_hint_ms = strtoull(val, NULL, 10);
    } else if (strcmp(key, "telemetry_interval") == 0) {
        g_config.telemetry_interval = (uint32_t)strtoul(val, NULL, 10);
    } else if (strcmp(key, "secmod_autostart") == 0) {
        g_config.secmod_autostart = atoi(val);
    } else if (strcmp(key, "sas_ttl") == 0) {
        g_config.sas_ttl = (uint32_t)strtoul(val, NULL, 10);
    } else if (strcmp(key, "sas_expiry") == 0) {
        g_config.sas_expiry = (uint32_t)strtoul(val, NULL, 10);
    } else if (strcmp(key, "username_nul") == 0) {
        g_config.username_nul = atoi(val);
    } else if (strcmp(key, "keepalive") == 0) {
        g_config.keepalive = (uint16_t)strtoul(val, NULL, 10);
    } else if (strcmp(key, "tls_verify") == 0) {
        g_config.tls_verify = atoi(val);
    } else if (strcmp(key, "seed") == 0) {
        g_config.seed_present = parse_hex(val, g_config.seed, 32, 0) == 0;
        if (!g_config.seed_present) con_printf("config: bad seed ignored\n");
    } else {
        con_printf("config: unknown key '%s' ignored\n", key);
    }
}

void config_load(void)
{
    defaults();
    const char *blk = (const char *)BOARD_CONFIG_BLOCK;
    if (memcmp(blk, MAGIC, sizeof MAGIC - 1) != 0) {
        con_printf("config: no config block at 0x%08x, using defaults\n", (unsigned)BOARD_CONFIG_BLOCK);
        return;
    }
    const char *p = blk + sizeof MAGIC - 1, *end = blk + BOARD_CONFIG_BLOCK_SIZE;
    char line[200];
    while (p < end && *p) {
        unsigned n = 0;
        while (p < end && *p && *p != '\n') {
            if (n < sizeof line - 1) line[n++] = *p;
            p++;
        }
        line[n] = 0;
        if (p < end && *p == '\n') p++;
        char *eq = strchr(line, '=');
        if (eq && line[0] != '#') {
            *eq = 0;
            apply(line, eq + 1);
        }
    }
    g_config.present = 1;
}

void config_print(void)
{
    const uint8_t *m = g_config.mac;
    con_printf("config: %s\n", g_config.present ? "from config block" : "defaults (no block)");
    con_printf("  device_id=%s\n", g_config.device_id);
    con_printf("  mac=%02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1], m[2], m[3], m[4], m[5]);
    con_printf("  ipv4=%s addr=%s mask=%s gw=%s dns=%s\n", g_config.ipv4_mode, g_config.ipv4_addr,
               g_config.ipv4_mask, g_config.ipv4_gw, g_config.dns);
    con_printf("  ipv6=%s addr=%s\n", g_config.ipv6_mode, g_config.ipv6_addr);
    con_printf("  hub_host=%s hub_addr=%s hub_port=%u transport=%s api_version=%s\n", g_config.hub_host,
               g_config.hub_addr, g_config.hub_port, g_config.hub_transport, g_config.api_version);
    con_printf("  password=%s device_key=%s sas_ttl=%lu sas_expiry=%lu sas_resource=%s\n",
               g_config.password[0] ? "(set)" : "(none)", g_config.device_key[0] ? "(set)" : "(none)",
               (unsigned long)g_config.sas_ttl, (unsigned long)g_config.sas_expiry, g_config.sas_resource);
    con_printf("  keepalive=%u username_nul=%d tls_verify=%d\n", g_config.keepalive, g_config.username_nul,
               g_config.tls_verify);
    con_printf("  ntp=%s telemetry_interval=%lu secmod_autostart=%d seed=%s boot=%lu\n", g_config.ntp,
               (unsigned long)g_config.telemetry_interval, g_config.secmod_autostart,
               g_config.seed_present ? "(set)" : "(none)", (unsigned long)rand_boot_count());
}
