/*
 * IoT Hub connection of the reference device, in IoT Hub's MQTT dialect:
 * client id = device id, username "{hub host}/{device id}/?api-version=...",
 * telemetry to devices/{id}/messages/events/{property bag} at QoS 1, C2D
 * messages from devices/{id}/messages/devicebound/#. Reconnects with
 * exponential back-off (1 s doubling to 8 s, with jitter) when the hub goes away.
 *
 * Transport (config block): "mqtt" (plain, usually 1883) or "mqtts" (TLS 1.2 to
 * 8883 through lwIP's altcp_tls_mbedtls, the hub's certificate checked against
 * the lab CA and the host name, tls/tls.c). With a device key the password is a
 * SAS token computed at every connect (expiry now + sas_ttl, from SNTP time), as
 * NetX Duo's IoT client does; the device waits for unix time before it connects
 * with TLS or SAS. Optionally the username ends in a NUL byte (username_nul=1),
 * as it does with NetX Duo's default build settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "config.h"
#include "console.h"
#include "lwip/apps/mqtt.h"
#include "lwip/apps/mqtt_priv.h"
#include "lwip/dns.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "net.h"
#include "rand.h"
#include "shell.h"
#include "tls/tls.h"

#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 8000u

typedef enum { HUB_IDLE, HUB_RESOLVING, HUB_CONNECTING, HUB_CONNECTED, HUB_WAIT } hub_state_t;
static const char *const state_names[] = {"idle", "resolving", "connecting", "connected", "backoff"};

static mqtt_client_t *client;
static hub_state_t state = HUB_IDLE;
static ip_addr_t hub_ip;
static uint64_t retry_at_ms, next_telemetry_ms, connect_started_ms;
static uint32_t backoff_ms = BACKOFF_MIN_MS;
static char username[192], topic_events[96], topic_c2d[96], incoming_topic[128], sas_resource[160];
static char password[400];
static int use_tls, waiting_for_time_logged;
static struct {
    uint32_t connects, refusals, disconnects, published, acked, failed, c2d;
    int last_refusal;
    uint32_t last_connect_ms; /* connect start to CONNACK (TCP, TLS handshake, MQTT CONNECT) */
} stats;

/*
 * lwIP's MQTT client measures strings with strlen; its mqtt.c is compiled with
 * -Dstrlen=fw_mqtt_strlen (qemu_images/Makefile) so the username can carry
 * NetX Duo's trailing NUL when username_nul=1.
 */
size_t fw_mqtt_strlen(const char *s);
size_t fw_mqtt_strlen(const char *s)
{
    size_t n = strlen(s);
    return (s == username && g_config.username_nul) ? n + 1u : n;
}

int hub_connected(void) { return state == HUB_CONNECTED && client && mqtt_client_is_connected(client); }

static void schedule_retry(void)
{
    state = HUB_WAIT;
    uint32_t jitter = rand_u32() % (backoff_ms / 4u + 1u);
    retry_at_ms = clock_ms() + backoff_ms + jitter;
    backoff_ms = backoff_ms * 2u > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2u;
}

/* ---- device-facing IoT Hub features: C2D, direct methods, twin ------------------ */

static char inbuf[512];
static u16_t inlen;
static u32_t intotal;
static uint32_t twin_rid, reported_version;

/* "...?$rid=12&$version=3": the value of `key` in the last topic level, or "" */
static const char *topic_param(const char *topic, const char *key, char *out, size_t cap)
{
    const char *q = strrchr(topic, '/');
    size_t klen = strlen(key);
    out[0] = 0;
    for (const char *p = q ? q + 1 : topic; p && *p;) {
        if (*p == '?' || *p == '&') {
            p++;
        }
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            p += klen + 1;
            size_t n = strcspn(p, "&");
            n = n < cap - 1 ? n : cap - 1;
            memcpy(out, p, n);
            out[n] = 0;
            return out;
        }
        p = strchr(p, '&');
    }
    return out;
}

static void publish_text(const char *topic, const char *body)
{
    if (hub_publish(topic, body, strlen(body), 0) != 0) {
        shell_log("hub: cannot publish on %s", topic);
    }
}

static void report_properties(void)
{
    char topic[64], body[160];
    snprintf(topic, sizeof topic, "$iothub/twin/PATCH/properties/reported/?$rid=%lu", (unsigned long)++twin_rid);
    snprintf(body, sizeof body, "{\"firmware\":\"refdev 1.0.0\",\"telemetry_interval\":%lu,\"transport\":\"%s\"}",
             (unsigned long)g_config.telemetry_interval, use_tls ? "mqtts" : "mqtt");
    publish_text(topic, body);
}

static void request_twin(void)
{
    char topic[48];
    snprintf(topic, sizeof topic, "$iothub/twin/GET/?$rid=%lu", (unsigned long)++twin_rid);
    publish_text(topic, "");
}

/* a "telemetry_interval": N in a desired-properties document or patch */
static void apply_desired(const char *json)
{
    const char *p = strstr(json, "\"telemetry_interval\"");
    if (p && (p = strchr(p, ':')) != NULL) {
        unsigned long v = strtoul(p + 1, NULL, 10);
        if (v != g_config.telemetry_interval) {
            g_config.telemetry_interval = (uint32_t)v;
            shell_log("hub: telemetry interval set to %lu s by the twin", v);
            report_properties();
        }
    }
}

/* direct methods of the reference device (unknown ones: 404, as the SDK samples answer) */
static void direct_method(const char *name, const char *rid, const char *payload)
{
    char topic[64], body[sizeof inbuf + 64];
    int status = 200;
    if (strcmp(name, "echo") == 0) {
        snprintf(body, sizeof body, "%s", payload[0] ? payload : "null");
    } else if (strcmp(name, "status") == 0) {
        snprintf(body, sizeof body, "{\"uptime_ms\":%lu,\"connects\":%lu,\"published\":%lu,\"transport\":\"%s\"}",
                 (unsigned long)clock_ms(), (unsigned long)stats.connects, (unsigned long)stats.published,
                 use_tls ? "mqtts" : "mqtt");
    } else if (strcmp(name, "set_telemetry_interval") == 0) {
        g_config.telemetry_interval = (uint32_t)strtoul(payload, NULL, 10);
        snprintf(body, sizeof body, "{\"telemetry_interval\":%lu}", (unsigned long)g_config.telemetry_interval);
    } else {
        status = 404;
        snprintf(body, sizeof body, "{\"message\":\"unknown method %s\"}", name);
    }
    snprintf(topic, sizeof topic, "$iothub/methods/res/%d/?$rid=%s", status, rid);
    shell_log("hub: method %s (rid %s) -> %d", name, rid, status);
    publish_text(topic, body);
}

static void incoming_message(const char *topic, const char *payload, u32_t total)
{
    char rid[24], version[16];
    if (strncmp(topic, "$iothub/methods/POST/", 21) == 0) {
        char name[48];
        size_t n = strcspn(topic + 21, "/");
        n = n < sizeof name - 1 ? n : sizeof name - 1;
        memcpy(name, topic + 21, n);
        name[n] = 0;
        direct_method(name, topic_param(topic, "$rid", rid, sizeof rid), payload);
    } else if (strncmp(topic, "$iothub/twin/res/", 17) == 0) {
        int status = atoi(topic + 17);
        topic_param(topic, "$version", version, sizeof version);
        if (version[0]) {
            reported_version = (uint32_t)strtoul(version, NULL, 10);
        }
        shell_log("hub: twin response %d rid %s%s%s (%lu bytes)", status, topic_param(topic, "$rid", rid, sizeof rid),
                  version[0] ? " version " : "", version, (unsigned long)total);
        if (status == 200) {
            const char *desired = strstr(payload, "\"desired\"");
            if (desired) {
                apply_desired(desired);
            }
        }
    } else if (strncmp(topic, "$iothub/twin/PATCH/properties/desired/", 38) == 0) {
        shell_log("hub: desired properties version %s: %.80s", topic_param(topic, "$version", version, sizeof version),
                  payload);
        apply_desired(payload);
    } else {
        stats.c2d++;
        shell_log("hub: c2d message on %.100s (%lu bytes): %.80s", topic, (unsigned long)total, payload);
    }
}

static void incoming_publish(void *arg, const char *topic, u32_t tot_len)
{
    (void)arg;
    strncpy(incoming_topic, topic, sizeof incoming_topic - 1);
    incoming_topic[sizeof incoming_topic - 1] = 0;
    inlen = 0;
    intotal = tot_len;
}

static void incoming_data(void *arg, const u8_t *data, u16_t len, u8_t flags)
{
    (void)arg;
    u16_t room = (u16_t)(sizeof inbuf - 1u - inlen);
    u16_t n = len < room ? len : room;
    if (n) {
        memcpy(inbuf + inlen, data, n);
        inlen = (u16_t)(inlen + n);
    }
    if (flags & MQTT_DATA_FLAG_LAST) {
        inbuf[inlen] = 0;
        incoming_message(incoming_topic, inbuf, intotal);
    }
}

static void connection_cb(mqtt_client_t *c, void *arg, mqtt_connection_status_t status)
{
    (void)c;
    (void)arg;
    if (status == MQTT_CONNECT_ACCEPTED) {
        state = HUB_CONNECTED;
        stats.connects++;
        stats.last_connect_ms = (uint32_t)(clock_ms() - connect_started_ms);
        backoff_ms = BACKOFF_MIN_MS;
        next_telemetry_ms = clock_ms() + 1000u;
        shell_log("hub: connected to %s:%u as %s (%s%s, %lu ms)", g_config.hub_host, g_config.hub_port,
                  g_config.device_id, use_tls ? "mqtts" : "mqtt", g_config.device_key[0] ? ", sas" : "",
                  (unsigned long)stats.last_connect_ms);
        /* what an Azure IoT device subscribes to: C2D, direct methods, twin responses and desired patches */
        mqtt_subscribe(client, topic_c2d, 1, NULL, NULL);
        mqtt_subscribe(client, "$iothub/methods/POST/#", 0, NULL, NULL);
        mqtt_subscribe(client, "$iothub/twin/res/#", 0, NULL, NULL);
        mqtt_subscribe(client, "$iothub/twin/PATCH/properties/desired/#", 0, NULL, NULL);
        request_twin();
        report_properties();
        return;
    }
    if (state == HUB_CONNECTED) {
        stats.disconnects++;
        shell_log("hub: disconnected (%d)", (int)status);
    } else {
        stats.refusals++;
        stats.last_refusal = (int)status;
        shell_log("hub: connection failed (%d)%s", (int)status,
                  use_tls && status == MQTT_CONNECT_DISCONNECTED ? " (TLS handshake or connection closed)" : "");
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
    ci.keep_alive = g_config.keepalive;
    if (g_config.device_key[0]) {
        uint32_t expiry = g_config.sas_expiry ? g_config.sas_expiry : clock_unix() + g_config.sas_ttl;
        if (sas_token(password, sizeof password, sas_resource, g_config.device_key, expiry) < 0) {
            shell_log("hub: cannot compute a SAS token (device_key is not base64?)");
            schedule_retry();
            return;
        }
        ci.client_pass = password;
    }
    if (use_tls) {
        ci.tls_config = tls_client_config();
        if (!ci.tls_config) {
            schedule_retry();
            return;
        }
    }
    state = HUB_CONNECTING;
    connect_started_ms = clock_ms();
    err_t err = mqtt_client_connect(client, &hub_ip, g_config.hub_port, connection_cb, NULL, &ci);
    if (err == ERR_OK) {
        /* mqtt_client_connect wipes the client, its incoming-publish callbacks included */
        mqtt_set_inpub_callback(client, incoming_publish, incoming_data, NULL);
        if (use_tls && tls_set_hostname(client->conn, g_config.hub_host) != 0) {
            shell_log("hub: cannot set the TLS host name %s", g_config.hub_host);
        }
    }
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

/* certificate validity and SAS expiry need unix time (NetX Duo's IoT client needs it too) */
static int time_ready(void)
{
    if (!use_tls && !g_config.device_key[0]) {
        return 1;
    }
    if (clock_unix() != 0) {
        return 1;
    }
    if (!waiting_for_time_logged) {
        waiting_for_time_logged = 1;
        shell_log("hub: waiting for unix time (SNTP) before connecting");
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
        if (have_address() && time_ready()) {
            start_connect();
        }
        break;
    case HUB_WAIT:
        if (now >= retry_at_ms && time_ready()) {
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
    if (argc >= 2 && strcmp(argv[1], "twin") == 0) {
        request_twin();
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "report") == 0) {
        /* hub report JSON: a reported-properties patch */
        char topic[64];
        snprintf(topic, sizeof topic, "$iothub/twin/PATCH/properties/reported/?$rid=%lu", (unsigned long)++twin_rid);
        publish_text(topic, argv[2]);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "disconnect") == 0) {
        if (client && mqtt_client_is_connected(client)) {
            mqtt_disconnect(client);
        }
        schedule_retry();
        return 0;
    }
    con_printf("hub: state %s host %s port %u transport %s%s user %s\n", state_names[state], g_config.hub_host,
               g_config.hub_port, use_tls ? "mqtts" : "mqtt", g_config.device_key[0] ? " sas" : "", username);
    con_printf("hub: last connect %lu ms, reported properties version %lu\n", (unsigned long)stats.last_connect_ms,
               (unsigned long)reported_version);
    con_printf("hub: connects %lu refusals %lu (last %d) disconnects %lu published %lu acked %lu failed %lu "
               "received %lu\n",
               (unsigned long)stats.connects, (unsigned long)stats.refusals, stats.last_refusal,
               (unsigned long)stats.disconnects, (unsigned long)stats.published, (unsigned long)stats.acked,
               (unsigned long)stats.failed, (unsigned long)stats.c2d);
    return 0;
}

static const shell_cmd_t cmds[] = {
    {"hub", "hub [publish TOPIC TEXT|twin|report JSON|disconnect]", "IoT Hub MQTT connection state and counters",
     cmd_hub},
};

void hub_init(void)
{
    snprintf(username, sizeof username, "%s/%s/?api-version=%s", g_config.hub_host, g_config.device_id,
             g_config.api_version);
    snprintf(topic_events, sizeof topic_events, "devices/%s/messages/events/", g_config.device_id);
    snprintf(topic_c2d, sizeof topic_c2d, "devices/%s/messages/devicebound/#", g_config.device_id);
    if (g_config.sas_resource[0]) {
        snprintf(sas_resource, sizeof sas_resource, "%s", g_config.sas_resource);
    } else {
        snprintf(sas_resource, sizeof sas_resource, "%s/devices/%s", g_config.hub_host, g_config.device_id);
    }
    use_tls = strcmp(g_config.hub_transport, "mqtts") == 0;
    if (use_tls || g_config.device_key[0]) {
        tls_init();
    }
    client = mqtt_client_new();
    mqtt_set_inpub_callback(client, incoming_publish, incoming_data, NULL);
    shell_register(cmds, sizeof cmds / sizeof cmds[0]);
}
