/*
 * What the security module needs from its platform. The firmware implements
 * these over lwIP/MQTT; the host unit tests implement them as controllable fakes.
 */
#ifndef SECMOD_PLATFORM_H
#define SECMOD_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Current unix time in seconds, or 0 when the device has no time yet. */
uint32_t secmod_platform_unix_time(void);
/* Pseudo-random number (NX_RAND equivalent). */
uint32_t secmod_platform_random(void);
/* Nonzero when the device's IoT Hub MQTT connection is up. */
int secmod_platform_hub_connected(void);
/*
 * Queue a QoS-1 device-to-cloud telemetry message on the existing hub
 * connection, topic devices/{device id}/messages/events/{property_bag}.
 * `property_bag` is already URL-encoded. Returns 0 when queued.
 */
int secmod_platform_send_telemetry(const char *property_bag, const uint8_t *payload, size_t len);
/* Optional diagnostics line (no newline in fmt). */
void secmod_platform_log(const char *fmt, ...);

#endif
