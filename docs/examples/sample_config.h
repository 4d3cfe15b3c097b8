/*
 * Example: the values a NetX Duo Azure IoT device sample needs to connect to the lab's hub,
 * filled in from `harness lab-info --device-id my-device` (docs/bring-your-own-image.md).
 * The macro names are the ones the Azure RTOS samples' sample_config.h uses; adapt them to
 * your application. Never commit a real key.
 */
#ifndef SAMPLE_CONFIG_H
#define SAMPLE_CONFIG_H

/* "hub host name" from lab-info: resolves in the lab DNS only (the lab's DHCP gives the DNS server) */
#define HOST_NAME "hub.lab"
/* "device id" and "device key" from lab-info (SAS: the key is derived per device id, the same every run) */
#define DEVICE_ID "my-device"
#define DEVICE_SYMMETRIC_KEY "<device key printed by harness lab-info>"

/* Trust the lab CA: compile the C array lab-info names ("CA (C array)", lab_ca.c, with lab_ca.h)
 * into the image and load it as the trusted certificate of the TLS session instead of the
 * public Azure roots:
 *     nx_secure_x509_certificate_initialize(&root_ca_cert, (UCHAR *)lab_ca_der, (USHORT)lab_ca_der_len,
 *                                           NX_NULL, 0, NULL, 0, NX_SECURE_X509_KEY_TYPE_NONE);
 */
#include "lab_ca.h"

/* time: the lab's DHCP names its SNTP server (also 192.0.2.1); TLS needs unix time for certificates */
#define SAMPLE_SNTP_SERVER_NAME "192.0.2.1"

#endif
