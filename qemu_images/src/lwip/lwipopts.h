/* lwIP configuration of the reference device: NO_SYS (one main loop), IPv4 and
 * IPv6, DHCP, SLAAC, DNS, SNTP, TCP/UDP/ICMP, the MQTT client, TLS (altcp over
 * mbedTLS, src/tls/). */
#ifndef LWIPOPTS_H
#define LWIPOPTS_H
#include <stdint.h>

#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_TIMERS 1

#define MEM_ALIGNMENT 4
#define MEM_SIZE (48 * 1024)
#define MEMP_NUM_PBUF 32
#define PBUF_POOL_SIZE 48
#define PBUF_POOL_BUFSIZE 1536
#define MEMP_NUM_TCP_PCB 24
#define MEMP_NUM_TCP_PCB_LISTEN 6
#define MEMP_NUM_TCP_SEG 64
#define MEMP_NUM_UDP_PCB 12
#define MEMP_NUM_RAW_PCB 4
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 8)
#define MEMP_NUM_ARP_QUEUE 16
#define ARP_QUEUEING 1 /* keep every packet sent while ARP resolves, not just the last one */

#define LWIP_IPV4 1
#define LWIP_IPV6 1
#define LWIP_ARP 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define LWIP_ICMP 1
#define LWIP_RAW 1
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 1
#define LWIP_DHCP_DOES_ACD_CHECK 0
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_AUTOIP 0
#define LWIP_DNS 1
#define DNS_MAX_SERVERS 2
#define LWIP_IGMP 0
#define LWIP_IPV6_AUTOCONFIG 1
#define LWIP_IPV6_MLD 1
#define LWIP_IPV6_DHCP6 0
#define LWIP_IPV6_NUM_ADDRESSES 3
#define LWIP_ND6_NUM_NEIGHBORS 16
#define LWIP_ND6_NUM_DESTINATIONS 16
#define LWIP_ND6_ALLOW_RA_UPDATES 1
#define LWIP_ICMP6 1
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define LWIP_IPV6_FRAG 1
#define LWIP_IPV6_REASS 1

#define TCP_MSS 1460
#define TCP_WND (4 * TCP_MSS)
#define TCP_SND_BUF (8 * TCP_MSS)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
#define LWIP_TCP_KEEPALIVE 1
#define TCP_LISTEN_BACKLOG 1

#define LWIP_NETIF_HOSTNAME 1
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1
#define LWIP_NETIF_API 0
#define LWIP_STATS 1
#define LWIP_STATS_DISPLAY 0
#define LWIP_CHECKSUM_ON_COPY 0
#define CHECKSUM_CHECK_IP 1

#define LWIP_ALTCP 1
#define LWIP_ALTCP_TLS 1
#define LWIP_ALTCP_TLS_MBEDTLS 1

/* TCP initial sequence numbers from the seeded generator (lwIP's default is a counter:
 * every boot would reuse the same ISNs) */
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) (rand_u32())

/* SNTP: the module needs unix time (nx_azure_iot_create fails without it) */
#define SNTP_SERVER_DNS 0
#define SNTP_MAX_SERVERS 2
#define SNTP_GET_SERVERS_FROM_DHCP 1
#define SNTP_STARTUP_DELAY 0
#define SNTP_UPDATE_DELAY (15 * 60 * 1000)
#define SNTP_RETRY_TIMEOUT 2000
#define SNTP_RETRY_TIMEOUT_MAX 8000
#define SNTP_RETRY_TIMEOUT_EXP 1
#define SNTP_COMP_ROUNDTRIP 0
#define SNTP_RECV_TIMEOUT 3000
void net_sntp_set_time(uint32_t unix_sec, uint32_t us);
#define SNTP_SET_SYSTEM_TIME_US(sec, us) net_sntp_set_time((sec), (us))
#define LWIP_DHCP_GET_NTP_SRV 1

/* MQTT: a full security message (64+64 records, ~6.6 KB) must fit the output buffer */
#define MQTT_OUTPUT_RINGBUF_SIZE 12288
#define MQTT_VAR_HEADER_BUFFER_LEN 512
#define MQTT_REQ_MAX_IN_FLIGHT 8
#define MQTT_CONNECT_TIMOUT 10

#define LWIP_DEBUG 0
#endif
