#ifndef REFDEV_TLS_H
#define REFDEV_TLS_H
#include <stddef.h>
#include <stdint.h>

struct altcp_tls_config;
struct altcp_pcb;

/*
 * TLS and IoT Hub credentials of the reference device (tls.c): mbedTLS from
 * Debian's source package through lwIP's altcp_tls_mbedtls port.
 *
 * Trust anchors come from the CA block (target file memory.ca_block), loaded
 * by the harness with a second "-device loader": "RTLCA01\n", then entries
 * {u32 type, u32 len, data padded to 4} (little-endian), ended by type 0.
 * Type 1: trusted CA certificate (DER); 2: this device's certificate (DER);
 * 3: its private key (DER) — types 2 and 3 make the device present an X.509
 * client certificate (IoT Hub's X.509 authentication).
 */
void tls_init(void);
int tls_ca_count(void);
int tls_has_client_cert(void);
/* the client configuration (created once); NULL when TLS cannot verify the hub */
struct altcp_tls_config *tls_client_config(void);
/* SNI and the host name the server certificate must carry */
int tls_set_hostname(struct altcp_pcb *conn, const char *host);

/* IoT Hub SAS token for resource URI `resource` (not encoded), key in base64, expiry in unix seconds:
 * "SharedAccessSignature sr={enc(resource)}&sig={enc(base64(HMAC-SHA256(key, enc(resource)\n{expiry})))}&se={expiry}".
 * Returns the token length, or -1 (bad key, buffer too small). */
int sas_token(char *out, size_t cap, const char *resource, const char *key_b64, uint32_t expiry);
/* percent-encode everything but A-Z a-z 0-9 - . _ ~ ; returns the length or -1 */
int url_encode(char *out, size_t cap, const char *in);
#endif
