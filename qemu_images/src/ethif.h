#ifndef ETHIF_H
#define ETHIF_H
#include "lwip/netif.h"
err_t ethif_init(struct netif *netif);
int ethif_poll(struct netif *netif); /* returns nonzero if frames were handled */
/* Packet observation points (the security module hooks these; weak no-ops otherwise).
 * `ip` is the start of an IP datagram, `len` the bytes available there. */
void net_observe_out(const uint8_t *ip, size_t len, int is_v6);
void net_observe_in(const uint8_t *ip, size_t len, int is_v6);
#endif
