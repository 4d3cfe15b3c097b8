#ifndef CONFIG_H
#define CONFIG_H
#include <stdint.h>
/*
 * Per-instance settings, loaded by the harness into the board's config block
 * (target file: memory.config_block) with QEMU's "-device loader" before the
 * CPU starts. Format (docs/device-config.md): "RTLCFG1\n" then key=value lines,
 * ended by a NUL. A missing block leaves the defaults.
 */
#define CFG_STR 64

typedef struct {
    int present;                 /* a valid block was found */
    char device_id[CFG_STR];
    uint8_t mac[6];
    char ipv4_mode[8];           /* dhcp | static | off */
    char ipv4_addr[20], ipv4_mask[20], ipv4_gw[20], dns[48];
    char ipv6_mode[8];           /* slaac | static | off */
    char ipv6_addr[48];
    char hub_host[CFG_STR];      /* IoT Hub host name (MQTT username, DNS lookup) */
    char hub_addr[48];           /* optional address literal: skips DNS */
    uint16_t hub_port;
    char hub_transport[8];       /* mqtt | mqtts */
    char api_version[24];
    char password[128];          /* plain hub: sent as MQTT password */
    char device_key[96];         /* base64 device key: SAS tokens are computed from it */
    uint32_t sas_ttl;            /* SAS token lifetime in seconds (expiry = now + ttl) */
    uint32_t sas_expiry;         /* fixed SAS expiry (unix seconds; tests: a token in the past); 0 = now + ttl */
    char sas_resource[160];      /* SAS resource URI; empty = "{hub_host}/devices/{device_id}" (tests: another device) */
    int username_nul;            /* 1: the MQTT username ends in a NUL byte (NetX Duo's default build quirk) */
    uint16_t keepalive;          /* MQTT keep-alive in seconds (NetX Duo's IoT client: 240) */
    int tls_verify;              /* 1: verify the hub's certificate (lab CA, host name, validity) */
    char ntp[48];                /* SNTP server address; empty: DHCP-given or hub address */
    uint64_t time_hint_ms;       /* unix ms when the block was written (no-SNTP fallback) */
    uint32_t telemetry_interval; /* seconds between application telemetry messages; 0 = off */
    uint8_t seed[32];            /* per-run entropy from the harness */
    int seed_present;
    int secmod_autostart;        /* enable the security module once time and hub are up */
} device_config_t;

extern device_config_t g_config;
void config_load(void);
void config_print(void);
#endif
