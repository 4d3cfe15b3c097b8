/* Networking of the reference device: lwIP (NO_SYS) over the LAN9118, IPv4
 * (DHCP or static) and IPv6 (SLAAC or static), DNS, SNTP, link monitoring,
 * and the shell commands net / dns. */
#include <stdio.h>
#include <string.h>
#include "app.h"
#include "board.h"
#include "clock.h"
#include "config.h"
#include "console.h"
#include "ethif.h"
#include "lan9118.h"
#include "lwip/apps/sntp.h"
#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/nd6.h"
#include "lwip/netif.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "net.h"
#include "rand.h"
#include "shell.h"

struct netif g_netif;
static uint64_t next_link_check_ms;
static int ip4_reported, sntp_started;
static int ip6_reported[LWIP_IPV6_NUM_ADDRESSES];

u32_t sys_now(void) { return (u32_t)clock_ms(); }

void net_sntp_set_time(uint32_t unix_sec, uint32_t us)
{
    int first = clock_unix_source() != 2;
    clock_set_unix_ms((uint64_t)unix_sec * 1000u + us / 1000u);
    clock_set_unix_source(2);
    if (first) {
        shell_log("net: time set by sntp: unix=%lu", (unsigned long)unix_sec);
    }
}

/* before DHCP starts: the DHCP client hands NTP servers to SNTP only if asked beforehand */
static void configure_sntp(void)
{
    ip_addr_t server;
    sntp_setoperatingmode(SNTP_OPMODE_POLL);
    if (g_config.ntp[0] && ipaddr_aton(g_config.ntp, &server)) {
        sntp_setserver(0, &server);
    } else if (strcmp(g_config.ipv4_mode, "dhcp") == 0) {
        sntp_servermode_dhcp(1);
    } else if (g_config.hub_addr[0] && ipaddr_aton(g_config.hub_addr, &server)) {
        sntp_setserver(0, &server);
    }
}

static void start_sntp(void)
{
    if (!sntp_started) {
        sntp_init();
        sntp_started = 1;
    }
}

static void report_addresses(struct netif *netif)
{
    if (!ip4_reported && !ip4_addr_isany(netif_ip4_addr(netif))) {
        char a[16], m[16], g[16];
        ip4addr_ntoa_r(netif_ip4_addr(netif), a, sizeof a);
        ip4addr_ntoa_r(netif_ip4_netmask(netif), m, sizeof m);
        ip4addr_ntoa_r(netif_ip4_gw(netif), g, sizeof g);
        shell_log("net: ipv4 %s %s mask %s gw %s", strcmp(g_config.ipv4_mode, "dhcp") == 0 ? "dhcp bound" : "static",
                  a, m, g);
        ip4_reported = 1;
        start_sntp();
    }
    for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
        int valid = ip6_addr_isvalid(netif_ip6_addr_state(netif, i));
        if (valid && !ip6_reported[i]) {
            char a[48];
            ip6addr_ntoa_r(netif_ip6_addr(netif, i), a, sizeof a);
            shell_log("net: ipv6 %s %s", ip6_addr_islinklocal(netif_ip6_addr(netif, i)) ? "link-local" :
                      (strcmp(g_config.ipv6_mode, "static") == 0 ? "static" : "slaac"), a);
        }
        ip6_reported[i] = valid;
    }
}

static void status_cb(struct netif *netif) { report_addresses(netif); }

static void link_cb(struct netif *netif)
{
    shell_log("net: link %s", netif_is_link_up(netif) ? "up" : "down");
}

static void setup_ipv4(void)
{
    ip4_addr_t addr, mask, gw;
    if (strcmp(g_config.ipv4_mode, "static") == 0 && ip4addr_aton(g_config.ipv4_addr, &addr) &&
        ip4addr_aton(g_config.ipv4_mask, &mask)) {
        if (!ip4addr_aton(g_config.ipv4_gw, &gw)) {
            ip4_addr_set_zero(&gw);
        }
        netif_set_addr(&g_netif, &addr, &mask, &gw);
        ip_addr_t dns;
        if (g_config.dns[0] && ipaddr_aton(g_config.dns, &dns)) {
            dns_setserver(0, &dns);
        }
    } else if (strcmp(g_config.ipv4_mode, "dhcp") == 0) {
        dhcp_start(&g_netif);
    }
}

static void setup_ipv6(void)
{
    if (strcmp(g_config.ipv6_mode, "off") == 0) {
        return;
    }
    netif_create_ip6_linklocal_address(&g_netif, 1);
    if (strcmp(g_config.ipv6_mode, "static") == 0) {
        ip6_addr_t a;
        s8_t idx;
        if (ip6addr_aton(g_config.ipv6_addr, &a) && netif_add_ip6_address(&g_netif, &a, &idx) == ERR_OK) {
            netif_ip6_addr_set_state(&g_netif, idx, IP6_ADDR_PREFERRED);
        }
    } else {
        g_netif.ip6_autoconfig_enabled = 1; /* netif_set_ip6_autoconfig_enabled() trips -Waddress */
    }
}

void net_init(void)
{
    rand_seed(g_config.seed, g_config.seed_present);
    if (!clock_unix_source() && g_config.time_hint_ms) {
        /* fallback until SNTP answers (the unprivileged lab has no SNTP server) */
        clock_set_unix_ms(g_config.time_hint_ms);
        clock_set_unix_source(1);
    }
    lwip_init();
    if (!netif_add(&g_netif, NULL, NULL, NULL, NULL, ethif_init, netif_input)) {
        con_printf("net: no LAN9118 at 0x%08x: networking off\n", (unsigned)BOARD_NIC_BASE);
        return;
    }
    netif_set_hostname(&g_netif, g_config.device_id);
    netif_set_status_callback(&g_netif, status_cb);
    netif_set_link_callback(&g_netif, link_cb);
    netif_set_default(&g_netif);
    netif_set_up(&g_netif);
    if (lan9118_link_up()) {
        netif_set_link_up(&g_netif);
    }
    configure_sntp();
    setup_ipv6();
    setup_ipv4();
    if (strcmp(g_config.ipv4_mode, "static") == 0 || strcmp(g_config.ipv4_mode, "off") == 0) {
        start_sntp();
    }
    hub_init();
    services_init();
    net_cmds_init();
}

int net_poll(void)
{
    if (!netif_is_up(&g_netif)) {
        return 0;
    }
    int busy = ethif_poll(&g_netif);
    uint64_t now = clock_ms();
    if (now >= next_link_check_ms) {
        next_link_check_ms = now + 250;
        int up = lan9118_link_up();
        if (up && !netif_is_link_up(&g_netif)) {
            netif_set_link_up(&g_netif);
        } else if (!up && netif_is_link_up(&g_netif)) {
            netif_set_link_down(&g_netif);
        }
        report_addresses(&g_netif);
    }
    sys_check_timeouts();
    busy |= hub_poll();
    return busy;
}

/* ---- shell: net, dns ------------------------------------------------------ */

static int cmd_net(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const uint8_t *m = g_netif.hwaddr;
    con_printf("link: %s mac %02x:%02x:%02x:%02x:%02x:%02x\n", netif_is_link_up(&g_netif) ? "up" : "down", m[0], m[1],
               m[2], m[3], m[4], m[5]);
    char a[48], b[16], c[16];
    ip4addr_ntoa_r(netif_ip4_addr(&g_netif), a, sizeof a);
    ip4addr_ntoa_r(netif_ip4_netmask(&g_netif), b, sizeof b);
    ip4addr_ntoa_r(netif_ip4_gw(&g_netif), c, sizeof c);
    con_printf("ipv4: %s addr %s mask %s gw %s\n", g_config.ipv4_mode, a, b, c);
    for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
        u8_t st = netif_ip6_addr_state(&g_netif, i);
        if (!ip6_addr_isinvalid(st)) {
            ip6addr_ntoa_r(netif_ip6_addr(&g_netif, i), a, sizeof a);
            con_printf("ipv6: %s %s\n", a, ip6_addr_ispreferred(st) ? "preferred" :
                                           ip6_addr_istentative(st) ? "tentative" : "valid");
        }
    }
    for (int i = 0; i < DNS_MAX_SERVERS; i++) {
        const ip_addr_t *d = dns_getserver(i);
        if (!ip_addr_isany(d)) {
            con_printf("dns: %s\n", ipaddr_ntoa_r(d, a, sizeof a));
        }
    }
    for (int i = 0; i < SNTP_MAX_SERVERS; i++) {
        const ip_addr_t *s = sntp_getserver(i);
        if (s && !ip_addr_isany(s)) {
            con_printf("sntp: %s\n", ipaddr_ntoa_r(s, a, sizeof a));
        }
    }
    con_printf("nic: rx %lu tx %lu dropped %lu irqs %lu\n", (unsigned long)lan9118_stats.rx_frames,
               (unsigned long)lan9118_stats.tx_frames, (unsigned long)lan9118_stats.rx_dropped,
               (unsigned long)lan9118_stats.irqs);
    return 0;
}

static void dns_done(const char *name, const ip_addr_t *addr, void *arg)
{
    (void)arg;
    char a[48];
    if (addr) {
        shell_log("dns: %s is %s", name, ipaddr_ntoa_r(addr, a, sizeof a));
    } else {
        shell_log("dns: %s not found", name);
    }
}

static int cmd_dns(int argc, char **argv)
{
    if (argc < 2) {
        return 1;
    }
    ip_addr_t addr;
    err_t err = dns_gethostbyname(argv[1], &addr, dns_done, NULL);
    if (err == ERR_OK) {
        dns_done(argv[1], &addr, NULL);
    } else if (err != ERR_INPROGRESS) {
        con_printf("dns: lookup of %s failed (%d)\n", argv[1], err);
    }
    return 0;
}

static const shell_cmd_t cmds[] = {
    {"net", "net", "link, addresses, DNS and SNTP servers, NIC counters", cmd_net},
    {"dns", "dns NAME", "resolve a host name", cmd_dns},
};

void net_cmds_init(void)
{
    shell_register(cmds, sizeof cmds / sizeof cmds[0]);
    ping_init();
}
