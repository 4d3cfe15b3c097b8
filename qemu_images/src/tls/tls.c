/*
 * TLS and IoT Hub credentials of the reference device: the client side of
 * lwIP's altcp_tls_mbedtls port, configured like a NetX Duo 6.3 IoT client
 * (TLS 1.2, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, secp384r1, server
 * certificate verified against the lab CA and the hub's host name), entropy
 * derived from the per-run seed, and SAS tokens computed from the device key.
 */
#include <stdio.h>
#include <string.h>
#include "board.h"
#include "config.h"
#include "lwip/altcp_tls.h"
#include "mbedtls/base64.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/ecp.h"
#include "mbedtls/md.h"
#include "mbedtls/pk.h"
#include "mbedtls/sha256.h"
#include "mbedtls/ssl.h"
#include "mbedtls/ssl_ciphersuites.h"
#include "mbedtls/x509_crt.h"
#include "rand.h"
#include "shell.h"
#include "tls.h"

#define CA_MAGIC "RTLCA01\n"
enum { CA_END = 0, CA_TRUSTED = 1, CA_CLIENT_CERT = 2, CA_CLIENT_KEY = 3 };

static mbedtls_x509_crt trusted, client_cert;
static mbedtls_pk_context client_key;
static int n_trusted, have_client;
static struct altcp_tls_config *config;

static const int suites[] = {MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, 0};
static const mbedtls_ecp_group_id groups[] = {MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};

/* ---- entropy: the per-run seed, stretched with SHA-256 -------------------- */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
    static uint32_t counter;
    (void)data;
    size_t done = 0;
    while (done < len) {
        unsigned char block[32];
        uint32_t boot = rand_boot_count();
        mbedtls_sha256_context ctx;
        mbedtls_sha256_init(&ctx);
        mbedtls_sha256_starts_ret(&ctx, 0);
        mbedtls_sha256_update_ret(&ctx, (const unsigned char *)"refdev-tls-entropy", 18);
        mbedtls_sha256_update_ret(&ctx, g_config.seed, sizeof g_config.seed);
        mbedtls_sha256_update_ret(&ctx, (const unsigned char *)&boot, sizeof boot);
        mbedtls_sha256_update_ret(&ctx, (const unsigned char *)&counter, sizeof counter);
        mbedtls_sha256_finish_ret(&ctx, block);
        mbedtls_sha256_free(&ctx);
        counter++;
        size_t n = len - done < sizeof block ? len - done : sizeof block;
        memcpy(output + done, block, n);
        done += n;
    }
    *olen = len;
    return 0;
}

/* ---- trust anchors and client credentials from the CA block ----------------- */
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

void tls_init(void)
{
    mbedtls_x509_crt_init(&trusted);
    mbedtls_x509_crt_init(&client_cert);
    mbedtls_pk_init(&client_key);
    if (!BOARD_CA_BLOCK_SIZE) {
        return;
    }
    const uint8_t *blk = (const uint8_t *)BOARD_CA_BLOCK;
    if (memcmp(blk, CA_MAGIC, 8) != 0) {
        shell_log("tls: no CA block at 0x%08x", (unsigned)BOARD_CA_BLOCK);
        return;
    }
    const uint8_t *cert = NULL, *key = NULL;
    uint32_t cert_len = 0, key_len = 0;
    for (uint32_t off = 8; off + 8 <= BOARD_CA_BLOCK_SIZE;) {
        uint32_t type = rd32(blk + off), len = rd32(blk + off + 4);
        if (type == CA_END || len > BOARD_CA_BLOCK_SIZE - off - 8) {
            break;
        }
        const uint8_t *data = blk + off + 8;
        if (type == CA_TRUSTED) {
            int rc = mbedtls_x509_crt_parse_der(&trusted, data, len);
            if (rc == 0) {
                n_trusted++;
            } else {
                shell_log("tls: CA entry not parsed (-0x%04x)", (unsigned)-rc);
            }
        } else if (type == CA_CLIENT_CERT) {
            cert = data, cert_len = len;
        } else if (type == CA_CLIENT_KEY) {
            key = data, key_len = len;
        }
        off += 8 + ((len + 3u) & ~3u);
    }
    if (cert && key) {
        int rc = mbedtls_x509_crt_parse_der(&client_cert, cert, cert_len);
        if (rc == 0) {
            rc = mbedtls_pk_parse_key(&client_key, key, key_len, NULL, 0);
        }
        if (rc == 0) {
            have_client = 1;
        } else {
            shell_log("tls: client certificate or key not parsed (-0x%04x)", (unsigned)-rc);
        }
    }
    shell_log("tls: %d trusted CA(s)%s", n_trusted, have_client ? ", client certificate" : "");
}

int tls_ca_count(void) { return n_trusted; }
int tls_has_client_cert(void) { return have_client; }

static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    (void)ctx;
    if (*flags) {
        char info[192], subject[96];
        mbedtls_x509_dn_gets(subject, sizeof subject, &crt->subject);
        mbedtls_x509_crt_verify_info(info, sizeof info, "", *flags);
        for (char *p = info; *p; p++) {
            if (*p == '\n') {
                *p = (p[1] ? ';' : 0);
            }
        }
        shell_log("tls: certificate %s (depth %d) rejected: %s", subject, depth, info);
    }
    return 0;
}

struct altcp_tls_config *tls_client_config(void)
{
    if (config) {
        return config;
    }
    if (g_config.tls_verify && !n_trusted) {
        shell_log("tls: no trusted CA in the CA block: cannot verify the hub (tls_verify=0 skips verification)");
        return NULL;
    }
    config = altcp_tls_create_config_client(NULL, 0);
    if (!config) {
        shell_log("tls: cannot create the TLS configuration (out of memory?)");
        return NULL;
    }
    /* lwIP's struct altcp_tls_config begins with the mbedtls_ssl_config it wraps */
    mbedtls_ssl_config *conf = (mbedtls_ssl_config *)config;
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_ciphersuites(conf, suites);
    mbedtls_ssl_conf_curves(conf, groups);
    if (g_config.tls_verify) {
        mbedtls_ssl_conf_ca_chain(conf, &trusted, NULL);
        mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_verify(conf, verify_cb, NULL);
    } else {
        mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE);
    }
    if (have_client) {
        mbedtls_ssl_conf_own_cert(conf, &client_cert, &client_key);
    }
    return config;
}

int tls_set_hostname(struct altcp_pcb *conn, const char *host)
{
    mbedtls_ssl_context *ssl = (mbedtls_ssl_context *)altcp_tls_context(conn);
    return ssl ? mbedtls_ssl_set_hostname(ssl, host) : -1;
}

/* ---- SAS tokens ------------------------------------------------------------- */
int url_encode(char *out, size_t cap, const char *in)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *in; in++) {
        unsigned char c = (unsigned char)*in;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~';
        if (n + (plain ? 1 : 3) >= cap) {
            return -1;
        }
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = 0;
    return (int)n;
}

int sas_token(char *out, size_t cap, const char *resource, const char *key_b64, uint32_t expiry)
{
    unsigned char key[64], mac[32], b64[48];
    char sr[256], sig[96], to_sign[280];
    size_t key_len, b64_len;
    if (mbedtls_base64_decode(key, sizeof key, &key_len, (const unsigned char *)key_b64, strlen(key_b64)) != 0 ||
        key_len == 0) {
        return -1;
    }
    if (url_encode(sr, sizeof sr, resource) < 0) {
        return -1;
    }
    int n = snprintf(to_sign, sizeof to_sign, "%s\n%lu", sr, (unsigned long)expiry);
    if (n <= 0 || (size_t)n >= sizeof to_sign) {
        return -1;
    }
    if (mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, key_len, (const unsigned char *)to_sign,
                        (size_t)n, mac) != 0) {
        return -1;
    }
    memset(key, 0, sizeof key);
    if (mbedtls_base64_encode(b64, sizeof b64, &b64_len, mac, sizeof mac) != 0) {
        return -1;
    }
    b64[b64_len] = 0;
    if (url_encode(sig, sizeof sig, (const char *)b64) < 0) {
        return -1;
    }
    n = snprintf(out, cap, "SharedAccessSignature sr=%s&sig=%s&se=%lu", sr, sig, (unsigned long)expiry);
    return n > 0 && (size_t)n < cap ? n : -1;
}
