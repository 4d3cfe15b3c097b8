/* ping / ping6: ICMP echo over lwIP raw PCBs; one reply line per answer. */
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "console.h"
#include "lwip/icmp.h"
#include "lwip/icmp6.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip_addr.h"
#include "lwip/prot/icmp6.h"
#include "lwip/raw.h"
#include "lwip/timeouts.h"
#include "net.h"
#include "shell.h"

#define PING_ID 0xAFAF
#define PING_DATA 32

static struct raw_pcb *pcb4, *pcb6;
static u16_t seq_sent, seq_left;
static ip_addr_t target;
static uint64_t sent_at;
static unsigned replies;

static u8_t recv_cb(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
    (void)arg;
    (void)pcb;
    int v6 = IP_IS_V6(addr);
    u16_t hdr = v6 ? IP6_HLEN : (u16_t)IPH_HL_BYTES((struct ip_hdr *)p->payload);
    struct icmp_echo_hdr echo;
    if (p->tot_len < hdr + sizeof echo || pbuf_copy_partial(p, &echo, sizeof echo, hdr) != sizeof echo) {
        return 0;
    }
    u8_t want = v6 ? ICMP6_TYPE_EREP : ICMP_ER;
    if (echo.type != want || echo.id != PP_HTONS(PING_ID)) {
        return 0; /* not ours: let others see it */
    }
    char a[48];
    replies++;
    shell_log("ping: reply from %s seq=%u time=%lu ms", ipaddr_ntoa_r(addr, a, sizeof a), lwip_ntohs(echo.seqno),
              (unsigned long)(clock_ms() - sent_at));
    /* not eaten: the reply continues to icmp_input, where the security module
     * observes inbound ICMPv4 like NetX's nx_ip_icmp_packet_receive */
    return 0;
}

static void send_one(void *arg)
{
    (void)arg;
    int v6 = IP_IS_V6(&target);
    struct pbuf *p = pbuf_alloc(PBUF_IP, sizeof(struct icmp_echo_hdr) + PING_DATA, PBUF_RAM);
    if (!p) {
        return;
    }
    struct icmp_echo_hdr *e = p->payload;
    e->type = v6 ? ICMP6_TYPE_EREQ : ICMP_ECHO;
    e->code = 0;
    e->chksum = 0;
    e->id = PP_HTONS(PING_ID);
    e->seqno = lwip_htons(++seq_sent);
    memset((u8_t *)e + sizeof *e, 'x', PING_DATA);
    if (!v6) {
        e->chksum = inet_chksum(e, p->len); /* ICMPv6's checksum is filled in by the raw PCB */
    }
    sent_at = clock_ms();
    raw_sendto(v6 ? pcb6 : pcb4, p, &target);
    pbuf_free(p);
    if (--seq_left) {
        sys_timeout(1000, send_one, NULL);
    }
}

static int start(int argc, char **argv, int want_v6)
{
    if (argc < 2 || !ipaddr_aton(argv[1], &target) || (IP_IS_V6(&target) != want_v6)) {
        return 1;
    }
    sys_untimeout(send_one, NULL);
    seq_left = (u16_t)(argc > 2 ? atoi(argv[2]) : 3);
    if (seq_left == 0 || seq_left > 1000) {
        return 1;
    }
    replies = 0;
    seq_sent = 0;
    con_printf("ping: %s, %u echo requests\n", argv[1], seq_left);
    send_one(NULL);
    return 0;
}

static int cmd_ping(int argc, char **argv) { return start(argc, argv, 0); }
static int cmd_ping6(int argc, char **argv) { return start(argc, argv, 1); }

static const shell_cmd_t cmds[] = {
    {"ping", "ping ADDR [COUNT]", "ICMP echo to an IPv4 address (one per second)", cmd_ping},
    {"ping6", "ping6 ADDR [COUNT]", "ICMPv6 echo to an IPv6 address", cmd_ping6},
};

void ping_init(void)
{
    pcb4 = raw_new(IP_PROTO_ICMP);
    raw_recv(pcb4, recv_cb, NULL);
    raw_bind(pcb4, IP4_ADDR_ANY);
    pcb6 = raw_new_ip6(IP6_NEXTH_ICMP6);
    raw_recv(pcb6, recv_cb, NULL);
    raw_bind(pcb6, IP6_ADDR_ANY);
    pcb6->chksum_reqd = 1;
    pcb6->chksum_offset = 2;
    shell_register(cmds, sizeof cmds / sizeof cmds[0]);
}
