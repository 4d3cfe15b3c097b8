/*
 * Inbound observation point. The link wraps lwIP's transport entry points
 * (-Wl,--wrap=tcp_input,--wrap=udp_input,--wrap=icmp_input), so a packet is
 * seen exactly when the IP layer hands it to TCP, UDP or ICMPv4 — the same
 * place the NetX Duo module wraps nx_ip_{tcp,udp,icmp}_packet_receive. ICMPv6
 * goes to icmp6_input, which is not wrapped: inbound ICMPv6 is not observed,
 * as on the real module.
 *
 * The observer gets a contiguous copy: the IP header as received (IPv4), or an
 * IPv6 header whose next header is the transport protocol and whose payload
 * length is the transport length (lwIP has already consumed the extension
 * headers; the byte count the module derives is the same), then the start of
 * the transport header.
 */
#include <string.h>
#include "ethif.h"
#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"

void __real_tcp_input(struct pbuf *p, struct netif *inp);
err_t __real_ip4_frag(struct pbuf *p, struct netif *netif, const ip4_addr_t *dest);
err_t __real_ip6_frag(struct pbuf *p, struct netif *netif, const ip6_addr_t *dest);
void __real_udp_input(struct pbuf *p, struct netif *inp);
void __real_icmp_input(struct pbuf *p, struct netif *inp);

__attribute__((weak)) void net_observe_in(const uint8_t *ip, size_t len, int is_v6)
{
    (void)ip;
    (void)len;
    (void)is_v6;
}

static void observe(struct pbuf *p, u8_t proto)
{
    uint8_t buf[128];
    size_t hl;
    int v6 = ip_current_is_v6();
    if (v6) {
        const struct ip6_hdr *h = ip6_current_header();
        memcpy(buf, h, IP6_HLEN);
        struct ip6_hdr *c = (struct ip6_hdr *)buf;
        IP6H_NEXTH_SET(c, proto);
        IP6H_PLEN_SET(c, p->tot_len);
        hl = IP6_HLEN;
    } else {
        const struct ip_hdr *h = ip4_current_header();
        hl = (size_t)IPH_HL_BYTES(h);
        if (hl > 60) {
            return;
        }
        memcpy(buf, h, hl);
    }
    size_t n = pbuf_copy_partial(p, buf + hl, (u16_t)(sizeof buf - hl), 0);
    net_observe_in(buf, hl + n, v6);
}

void __wrap_tcp_input(struct pbuf *p, struct netif *inp)
{
    observe(p, IP_PROTO_TCP);
    __real_tcp_input(p, inp);
}

void __wrap_udp_input(struct pbuf *p, struct netif *inp)
{
    observe(p, IP_PROTO_UDP);
    __real_udp_input(p, inp);
}

void __wrap_icmp_input(struct pbuf *p, struct netif *inp)
{
    observe(p, IP_PROTO_ICMP);
    __real_icmp_input(p, inp);
}

/*
 * Outbound datagrams larger than the MTU: NetX Duo's filter sees the whole
 * datagram before fragmentation, so observe it here (the link also wraps
 * ip4_frag/ip6_frag) and let ethif.c skip the fragments.
 */
err_t __wrap_ip4_frag(struct pbuf *p, struct netif *netif, const ip4_addr_t *dest)
{
    uint8_t head[128];
    net_observe_out(head, pbuf_copy_partial(p, head, sizeof head, 0), 0);
    return __real_ip4_frag(p, netif, dest);
}

err_t __wrap_ip6_frag(struct pbuf *p, struct netif *netif, const ip6_addr_t *dest)
{
    uint8_t head[128];
    net_observe_out(head, pbuf_copy_partial(p, head, sizeof head, 0), 1);
    return __real_ip6_frag(p, netif, dest);
}
