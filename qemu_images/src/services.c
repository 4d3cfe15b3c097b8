/*
 * Small services so inbound traffic gets real answers, and shell commands
 * that make the device itself open connections (a "compromised" device
 * talking to a C2 host in the lab):
 *   TCP echo on 7, UDP echo on 7, a telnet-like login on 23 that always refuses;
 *   tcp connect ADDR PORT | tcp send ID TEXT | tcp close ID | tcp list
 *   udp send ADDR PORT TEXT [COUNT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "console.h"
#include "lwip/ip_addr.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "net.h"
#include "shell.h"

#define MAX_CONNS 8
#define ECHO_PORT 7
#define TELNET_PORT 23

typedef struct {
    struct tcp_pcb *pcb;
    int used, connected;
    ip_addr_t peer;
    u16_t port;
    uint32_t sent, received;
} conn_t;

static conn_t conns[MAX_CONNS];
static struct udp_pcb *udp_echo, *udp_out;
static struct {
    uint32_t echo_tcp, echo_udp, telnet_logins;
} svc;

/* ---- TCP echo and telnet-like login ------------------------------------- */

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    (void)err;
    if (!p) {
        tcp_close(pcb);
        return ERR_OK;
    }
    for (struct pbuf *q = p; q; q = q->next) {
        tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY);
    }
    tcp_recved(pcb, p->tot_len);
    tcp_output(pcb);
    pbuf_free(p);
    return ERR_OK;
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb) {
        return ERR_VAL;
    }
    svc.echo_tcp++;
    tcp_recv(pcb, echo_recv);
    return ERR_OK;
}

static err_t telnet_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)err;
    if (!p) {
        tcp_close(pcb);
        return ERR_OK;
    }
    /* every line is a login attempt; the answer is always no */
    int lines = 0;
    for (struct pbuf *q = p; q; q = q->next) {
        for (u16_t i = 0; i < q->len; i++) {
            lines += ((const char *)q->payload)[i] == '\n';
        }
    }
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    uintptr_t state = (uintptr_t)arg;
    for (int i = 0; i < lines; i++) {
        if (state++ % 2 == 0) {
            tcp_write(pcb, "Password: ", 10, 0);
        } else {
            svc.telnet_logins++;
            tcp_write(pcb, "Login incorrect\r\nlogin: ", 24, 0);
        }
    }
    tcp_arg(pcb, (void *)state);
    tcp_output(pcb);
    return ERR_OK;
}

static err_t telnet_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb) {
        return ERR_VAL;
    }
    tcp_arg(pcb, (void *)0);
    tcp_recv(pcb, telnet_recv);
    tcp_write(pcb, "refdev login: ", 14, 0);
    tcp_output(pcb);
    return ERR_OK;
}

static void listen_on(u16_t port, tcp_accept_fn fn)
{
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
    if (pcb && tcp_bind(pcb, IP_ANY_TYPE, port) == ERR_OK) {
        pcb = tcp_listen(pcb);
        tcp_accept(pcb, fn);
    }
}

static void udp_echo_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
    (void)arg;
    svc.echo_udp++;
    udp_sendto(pcb, p, addr, port);
    pbuf_free(p);
}

/* ---- outbound TCP connections ------------------------------------------- */

static conn_t *conn_get(const char *id)
{
    int i = atoi(id);
    return (i >= 0 && i < MAX_CONNS && conns[i].used) ? &conns[i] : NULL;
}

static void conn_release(conn_t *c) { memset(c, 0, sizeof *c); }

static err_t out_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)err;
    conn_t *c = arg;
    if (!p) {
        shell_log("tcp: %d closed by peer", (int)(c - conns));
        tcp_close(pcb);
        conn_release(c);
        return ERR_OK;
    }
    c->received += p->tot_len;
    shell_log("tcp: %d received %u bytes", (int)(c - conns), p->tot_len);
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static void out_err(void *arg, err_t err)
{
    conn_t *c = arg;
    shell_log("tcp: %d error %d (%s)", (int)(c - conns), err, c->connected ? "reset" : "connect failed");
    conn_release(c); /* lwIP already freed the pcb */
}

static err_t out_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)pcb;
    conn_t *c = arg;
    c->connected = 1;
    char a[48];
    shell_log("tcp: %d connected to %s port %u (%d)", (int)(c - conns), ipaddr_ntoa_r(&c->peer, a, sizeof a), c->port,
              err);
    return ERR_OK;
}

static int cmd_tcp(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "connect") == 0) {
        conn_t *c = NULL;
        for (int i = 0; i < MAX_CONNS && !c; i++) {
            c = conns[i].used ? NULL : &conns[i];
        }
        ip_addr_t addr;
        if (!c || !ipaddr_aton(argv[2], &addr)) {
            con_printf("tcp: %s\n", c ? "bad address" : "no free connection slot");
            return 0;
        }
        c->used = 1;
        c->peer = addr;
        c->port = (u16_t)atoi(argv[3]);
        c->pcb = tcp_new_ip_type(IP_GET_TYPE(&addr));
        tcp_arg(c->pcb, c);
        tcp_recv(c->pcb, out_recv);
        tcp_err(c->pcb, out_err);
        con_printf("tcp: %d connecting\n", (int)(c - conns));
        if (tcp_connect(c->pcb, &addr, c->port, out_connected) != ERR_OK) {
            tcp_abort(c->pcb);
        }
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "send") == 0) {
        conn_t *c = conn_get(argv[2]);
        if (!c || !c->connected) {
            con_printf("tcp: no connected connection %s\n", argv[2]);
            return 0;
        }
        size_t n = strlen(argv[3]);
        if (tcp_write(c->pcb, argv[3], (u16_t)n, TCP_WRITE_FLAG_COPY) == ERR_OK && tcp_output(c->pcb) == ERR_OK) {
            c->sent += n;
            con_printf("tcp: %s sent %u bytes\n", argv[2], (unsigned)n);
        } else {
            con_printf("tcp: send failed\n");
        }
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "close") == 0) {
        conn_t *c = conn_get(argv[2]);
        if (c) {
            tcp_arg(c->pcb, NULL);
            tcp_err(c->pcb, NULL);
            tcp_recv(c->pcb, NULL);
            if (tcp_close(c->pcb) != ERR_OK) {
                tcp_abort(c->pcb);
            }
            conn_release(c);
            con_printf("tcp: %s closed\n", argv[2]);
        }
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        char a[48];
        for (int i = 0; i < MAX_CONNS; i++) {
            if (conns[i].used) {
                con_printf("tcp: %d %s port %u %s sent %lu received %lu\n", i, ipaddr_ntoa_r(&conns[i].peer, a, sizeof a),
                           conns[i].port, conns[i].connected ? "connected" : "connecting",
                           (unsigned long)conns[i].sent, (unsigned long)conns[i].received);
            }
        }
        con_printf("services: tcp-echo %lu udp-echo %lu telnet-refusals %lu\n", (unsigned long)svc.echo_tcp,
                   (unsigned long)svc.echo_udp, (unsigned long)svc.telnet_logins);
        return 0;
    }
    return 1;
}

static int cmd_udp(int argc, char **argv)
{
    ip_addr_t addr;
    if (argc < 5 || strcmp(argv[1], "send") != 0 || !ipaddr_aton(argv[2], &addr)) {
        return 1;
    }
    u16_t port = (u16_t)atoi(argv[3]);
    int count = argc > 5 ? atoi(argv[5]) : 1;
    size_t n = strlen(argv[4]);
    int sent = 0;
    for (int i = 0; i < count && i < 1000; i++) {
        struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)n, PBUF_RAM);
        if (!p) {
            break;
        }
        memcpy(p->payload, argv[4], n);
        sent += udp_sendto(udp_out, p, &addr, port) == ERR_OK;
        pbuf_free(p);
    }
    con_printf("udp: sent %d datagram(s) of %u bytes to %s port %u\n", sent, (unsigned)n, argv[2], port);
    return 0;
}

static void udp_out_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
    (void)arg;
    (void)pcb;
    char a[48];
    shell_log("udp: reply from %s port %u (%u bytes)", ipaddr_ntoa_r(addr, a, sizeof a), port, p->tot_len);
    pbuf_free(p);
}

static const shell_cmd_t cmds[] = {
    {"tcp", "tcp connect ADDR PORT|send ID TEXT|close ID|list", "outbound TCP connections", cmd_tcp},
    {"udp", "udp send ADDR PORT TEXT [COUNT]", "send UDP datagrams", cmd_udp},
};

void services_init(void)
{
    listen_on(ECHO_PORT, echo_accept);
    listen_on(TELNET_PORT, telnet_accept);
    udp_echo = udp_new_ip_type(IPADDR_TYPE_ANY);
    udp_bind(udp_echo, IP_ANY_TYPE, ECHO_PORT);
    udp_recv(udp_echo, udp_echo_recv, NULL);
    udp_out = udp_new_ip_type(IPADDR_TYPE_ANY);
    udp_bind(udp_out, IP_ANY_TYPE, 0);
    udp_recv(udp_out, udp_out_recv, NULL);
    shell_register(cmds, sizeof cmds / sizeof cmds[0]);
}
