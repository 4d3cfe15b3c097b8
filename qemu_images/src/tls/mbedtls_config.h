/*
 * mbedTLS 2.28 configuration of the reference device (MBEDTLS_CONFIG_FILE).
 *
 * A TLS 1.2 client that offers what a NetX Duo 6.3 IoT client offers —
 * TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 with the secp384r1 group — verifies
 * an RSA server certificate chain against the lab CA (X.509 DER from the CA
 * block, host name checked, validity checked against unix time from SNTP),
 * and computes IoT Hub SAS tokens (HMAC-SHA256, base64). Nothing else is
 * compiled in. Randomness: CTR_DRBG seeded from the per-run seed in the
 * config block (mbedtls_hardware_poll in tls.c); time: newlib's time(), which
 * the firmware's _gettimeofday answers from its clock.
 */
#ifndef REFDEV_MBEDTLS_CONFIG_H
#define REFDEV_MBEDTLS_CONFIG_H

/* system */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_ENTROPY_FORCE_SHA256

/* the one key exchange and cipher suite (NetX Duo 6.3) */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_SSL_CIPHERSUITES MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_PKCS1_V15

/* TLS */
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH /* lets lwIP's altcp port cap writes to one record */
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096
#define MBEDTLS_SSL_MAX_CONTENT_LEN 16384

/* crypto */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_MD_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_RSA_C
#define MBEDTLS_SHA256_C

/* certificates */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CHECK_KEY_USAGE
#define MBEDTLS_X509_CHECK_EXTENDED_KEY_USAGE

/* sizes for a small device */
#define MBEDTLS_MPI_MAX_SIZE 512          /* RSA up to 4096 bits */
#define MBEDTLS_MPI_WINDOW_SIZE 2
#define MBEDTLS_ECP_MAX_BITS 384
#define MBEDTLS_ECP_WINDOW_SIZE 4
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 1
#define MBEDTLS_ENTROPY_MAX_SOURCES 2

#include "mbedtls/check_config.h"
#endif
