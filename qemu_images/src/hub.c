/*
 * IoT Hub connection of the reference device, in IoT Hub's MQTT dialect:
 * client id = device id, username "{hub host}/{device id}/?api-version=...",
 * telemetry to devices/{id}/messages/events/{property bag} at QoS 1, C2D
 * messages from devices/{id}/messages/devicebound/#. Reconnects with
 * exponential back-off (1 s doubling to 8 s, with jitter) when the hub goes away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "config.h"
#include "console.h"
#include "lwip/apps/mqtt.h"
#include "lwip/dns.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "net.h"
#include "rand.h"
#include "shell.h"

#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 8000u

typedef enum { HUB_IDLE, HUB_RESOLVING, HUB_CONNECTING, HUB_CONNECTED, HUB_WAIT } hub_state_t;
static const char *const state_names[] = {"idle", "resolving", "connecting", "connected", "backoff"};

static mqtt_client_t *client;
static hub_state_t state = HUB_IDLE;
static ip_addr_t hub_ip;
static uint64_t retry_at_ms, next_telemetry_ms;
static uint32_t backoff_ms = BACKOFF_MIN_MS;
static char username[192], topic_events[96], topic_c2d[96], incoming_topic[128];
static struct {
    uint32_t connects, refusals, disconnects, published, acked, failed, c2d;
    int last_refusal;
} stats;

int hub_connected(void) { return state == HUB_CONNECTED && client && mqtt_client_is_connected(client); }

static void schedule_retry(void)
{
    state = HUB_WAIT;
    uint32_t jitter = rand_u32() % (backoff_ms / 4u + 1u);
    retry_at_ms = clock_ms() + backoff_ms + jitter;
    backoff_ms = backoff_ms * 2u > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2u;
}

static void incoming_publish(void *arg, const char *topic, u32_t tot_len)
{
    (void)arg;
    strncpy(incoming_topic, topic, sizeof incoming_topic - 1);
    incoming_topic[sizeof incoming_topic - 1] = 0;
    stats.c2d++;
    shell_log("hub: message on %s (%lu bytes)", incoming_topic, (unsigned long)tot_len);
}

static void incoming_data(void *arg, const u8_t *data, u16_t len, u8_t flags)
{
    (void)arg;
    (void)flags;
    char text[81];
    u16_t n = len < 80 ? len : 80;
    memcpy(text, data, n);
    text[n] = 0;
    shell_log("hub: data: %s", text);
}

static void connection_cb(mqtt_client_t *c, void *arg, mqtt_connection_status_t status)
{
    (void)c;
    (void)arg;
    if (status == MQTT_CONNECT_ACCEPTED) {
        state = HUB_CONNECTED;
        stats.connects++;
        backoff_ms = BACKOFF_MIN_MS;
        next_telemetry_ms = clock_ms() + 1000u;
        shell_log("hub: connected to %s:%u as %s", g_config.hub_host, g_config.hub_port, g_config.device_id);
        mqtt_subscribe(client, topic_c2d, 1, NULL, NULL);
        return;
    }
    if (state == HUB_CONNECTED) {
        stats.disconnects++;
        shell_log("hub: disconnected (%d)", (int)status);
    } else {
        stats.refusals++;
        stats.last_refusal = (int)status;
        shell_log("hub: connection failed (%d)", (int)status);
    }
    schedule_retry();
}

static void connect_now(void)
{
    static struct mqtt_connect_client_info_t ci;
    memset(&ci, 0, sizeof ci);
    ci.client_id = g_config.device_id;
    ci.client_user = username;
    ci.client_pass = g_config.password[0] ? g_config.password : NULL;
    ci.keep_alive = 60;
    state = HUB_CONNECTING;
    err_t err = mqtt_client_connect(client, &hub_ip, g_config.hub_port, connection_cb, NULL, &ci);
    if (err != ERR_OK) {
        shell_log("hub: connect error %d", err);
        schedule_retry();
    }
}

static void resolved(const char *name, const ip_addr_t *addr, void *arg)
{
    (void)arg;
    if (state != HUB_RESOLVING) {
        return;
    }
    if (!addr) {
        shell_log("hub: cannot resolve %s", name);
        schedule_retry();
        return;
    }
    ip_addr_copy(hub_ip, *addr);
    connect_now();
}

static int have_address(void)
{
    if (!ip4_addr_isany(netif_ip4_addr(&g_netif))) {
        return 1;
    }
    for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
        if (ip6_addr_ispreferred(netif_ip6_addr_state(&g_netif, i)) &&
            !ip6_addr_islinklocal(netif_ip6_addr(&g_netif, i))) {
            return 1;
        }
    }
    return 0;
}

static void start_connect(void)
{
    if (g_config.hub_addr[0]) {
        if (!ipaddr_aton(g_config.hub_addr, &hub_ip)) {
            shell_log("hub: bad hub_addr '%s'", g_config.hub_addr);
            schedule_retry();
            return;
        }
        connect_now();
        return;
    }
    state = HUB_RESOLVING;
    err_t err = dns_gethostbyname(g_config.hub_host, &hub_ip, resolved, NULL);
    if (err == ERR_OK) {
        connect_now();
    } else if (err != ERR_INPROGRESS) {
        shell_log("hub: cannot resolve %s (%d)", g_config.hub_host, err);
        schedule_retry();
    }
}

static void published(void *arg, err_t result)
{
    (void)arg;
    if (result == ERR_OK) {
        stats.acked++;
    } else {
        stats.failed++;
    }
}

int hub_publish(const char *topic, const void *payload, size_t len, int qos)
{
    if (!hub_connected() || len > 0xFFFFu) {
        return -1;
    }
    err_t err = mqtt_publish(client, topic, payload, (u16_t)len, (u8_t)qos, 0, published, NULL);
    if (err != ERR_OK) {
        stats.failed++;
        return -1;
    }
    stats.published++;
    return 0;
}

static void send_telemetry(void)
{
    static uint32_t seq;
    char topic[160], body[96];
    snprintf(topic, sizeof topic, "%s$.ct=application%%2Fjson&$.ce=utf-8", topic_events);
    int n = snprintf(body, sizeof body, "{\"seq\":%lu,\"uptime_ms\":%lu}", (unsigned long)++seq,
                     (unsigned long)clock_ms());
    hub_publish(topic, body, (size_t)n, 1);
}

int hub_poll(void)
{
    uint64_t now = clock_ms();
    switch (state) {
    case HUB_IDLE:
        if (have_address()) {
            start_connect();
        }
        break;
    case HUB_WAIT:
        if (now >= retry_at_ms) {
            start_connect();
        }
        break;
    case HUB_CONNECTED:
        if (!mqtt_client_is_connected(client)) {
            stats.disconnects++;
            schedule_retry();
        } else if (g_config.telemetry_interval && now >= next_telemetry_ms) {
            next_telemetry_ms = now + g_config.telemetry_interval * 1000u;
            send_telemetry();
        }
        break;
    default:
        break;
    }
    return 0;
}

static int cmd_hub(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "publish") == 0) {
        /* hub publish TOPIC TEXT: any topic, e.g. to check the hub refuses a foreign device id */
        int rc = hub_publish(argv[2], argv[3], strlen(argv[3]), 1);
        con_printf("hub: publish %s\n", rc == 0 ? "queued" : "failed");
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "disconnect") == 0) {
        if (client && mqtt_client_is_connected(client)) {
            mqtt_disconnect(client);
        }
        schedule_retry();
        return 0;
    }
    con_printf("hub: state %s host %s port %u user %s\n", state_names[state], g_config.hub_host, g_config.hub_port,
               username);
    con_printf("hub: connects %lu refusals %lu (last %d) disconnects %lu published %lu acked %lu failed %lu "
               "received %lu\n",
               (unsigned long)stats.connects, (unsigned long)stats.refusals, stats.last_refusal,
               (unsigned long)stats.disconnects, (unsigned long)stats.published, (unsigned long)stats.acked,
               (unsigned long)stats.failed, (unsigned long)stats.c2d);
    return 0;
}

static const shell_cmd_t cmds[] = {
    {"hub", "hub [publish TOPIC TEXT|disconnect]", "IoT Hub MQTT connection state and counters", cmd_hub},
};

void hub_init(void)
{
    snprintf(username, sizeof username, "%s/%s/?api-version=%s", g_config.hub_host, g_config.device_id,
             g_config.api_version);
    snprintf(topic_events, sizeof topic_events, "devices/%s/messages/events/", g_config.device_id);
    snprintf(topic_c2d, sizeof topic_c2d, "devices/%s/messages/devicebound/#", g_config.device_id);
    client = mqtt_client_new();
    mqtt_set_inpub_callback(client, incoming_publish, incoming_data, NULL);
    shell_register(cmds, sizeof cmds / sizeof cmds[0]);
}
