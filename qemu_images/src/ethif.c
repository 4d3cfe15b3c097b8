/* lwIP network interface over the LAN9118, with the outbound observation point:
 * every IP datagram the stack sends passes net_observe_out (as every datagram
 * reaches NetX Duo's IP packet filter in nx_ip_packet_send). */
#include <string.h>
#include "config.h"
#include "ethif.h"
#include "lan9118.h"
#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

static uint8_t frame_buf[1536];

__attribute__((weak)) void net_observe_out(const uint8_t *ip, size_t len, int is_v6)
{
    (void)ip;
    (void)len;
    (void)is_v6;
}

static void observe_out(struct pbuf *p, int is_v6)
{
    uint8_t head[256];
    u16_t n = pbuf_copy_partial(p, head, sizeof head, 0);
    /* fragments were already observed whole, before fragmentation (net_hooks.c) */
    if (!is_v6 && n >= 20 && (((head[6] & 0x3Fu) << 8) | head[7])) {
        return; /* IPv4: MF set or fragment offset nonzero */
    }
    if (is_v6 && n >= 40 && head[6] == 44) {
        return; /* IPv6: fragment header */
    }
    net_observe_out(head, n, is_v6);
}

static err_t output4(struct netif *netif, struct pbuf *p, const ip4_addr_t *ipaddr)
{
    observe_out(p, 0);
    return etharp_output(netif, p, ipaddr);
}

static err_t output6(struct netif *netif, struct pbuf *p, const ip6_addr_t *ipaddr)
{
    observe_out(p, 1);
    return ethip6_output(netif, p, ipaddr);
}

static err_t linkoutput(struct netif *netif, struct pbuf *p)
{
    (void)netif;
    u16_t n = pbuf_copy_partial(p, frame_buf, sizeof frame_buf, 0);
    return lan9118_send(frame_buf, n) == 0 ? ERR_OK : ERR_IF;
}

err_t ethif_init(struct netif *netif)
{
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->hwaddr_len = 6;
    memcpy(netif->hwaddr, g_config.mac, 6);
    netif->mtu = 1500;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_MLD6;
    netif->output = output4;
    netif->output_ip6 = output6;
    netif->linkoutput = linkoutput;
    return lan9118_init(g_config.mac) == 0 ? ERR_OK : ERR_IF;
}

int ethif_poll(struct netif *netif)
{
    int handled = 0;
    if (!lan9118_irq_seen && !lan9118_rx_pending()) {
        return 0;
    }
    lan9118_irq_seen = 0;
    /* bounded batch: the main loop keeps the shell and timers responsive under a flood */
    while (handled < 16 && lan9118_rx_pending()) {
        int n = lan9118_recv(frame_buf, sizeof frame_buf);
        handled++;
        if (n <= 0) {
            continue;
        }
        struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_POOL);
        if (p == NULL) {
            lan9118_stats.rx_dropped++;
            continue;
        }
        pbuf_take(p, frame_buf, (u16_t)n);
        if (netif->input(p, netif) != ERR_OK) {
            pbuf_free(p);
        }
    }
    lan9118_irq_rearm();
    return lan9118_rx_pending() > 0;
}
