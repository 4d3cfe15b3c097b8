#ifndef NET_H
#define NET_H
#include "lwip/netif.h"
extern struct netif g_netif;
void net_cmds_init(void);
void ping_init(void);
/* IoT Hub MQTT client (hub.c) */
void hub_init(void);
int hub_poll(void);
int hub_connected(void);
int hub_publish(const char *topic, const void *payload, size_t len, int qos);
/* small services and traffic commands (services.c) */
void services_init(void);
#endif
