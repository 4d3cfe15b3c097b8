/* Parsing rules of spec §1.3 and robustness against short or malformed packets. */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "minitest.h"
#include "secmod_netparse.h"

static uint8_t buf[2048];

static void test_parse_ipv4_tcp_directions(void)
{
    secmod_pkt_t p;
    size_t n = mk_ipv4(buf, 6, PEER4, ME4, 443, 50000, 100); /* peer -> me */
    REQUIRE(secmod_parse_ipv4(SECMOD_DIR_IN, buf, n, &p));
    CHECK_EQ(p.protocol, SECMOD_PROTO_TCP);
    CHECK_MEM(p.local, ME4, 4); /* inbound: local = destination */
    CHECK_MEM(p.remote, PEER4, 4);
    CHECK_EQ(p.local_port, 50000);
    CHECK_EQ(p.remote_port, 443);
    CHECK_EQ(p.bytes, 120); /* 20 TCP header + 100 payload */

    n = mk_ipv4(buf, 6, ME4, PEER4, 50000, 443, 7); /* me -> peer */
    REQUIRE(secmod_parse_ipv4(SECMOD_DIR_OUT, buf, n, &p));
    CHECK_MEM(p.local, ME4, 4); /* outbound: local = source */
    CHECK_MEM(p.remote, PEER4, 4);
    CHECK_EQ(p.local_port, 50000);
    CHECK_EQ(p.remote_port, 443);
    CHECK_EQ(p.bytes, 27);
}

static void test_parse_ipv4_udp_icmp_other(void)
{
    secmod_pkt_t p;
    size_t n = mk_ipv4(buf, 17, ME4, PEER4, 68, 67, 300);
    REQUIRE(secmod_parse_ipv4(SECMOD_DIR_OUT, buf, n, &p));
    CHECK_EQ(p.protocol, SECMOD_PROTO_UDP);
    CHECK_EQ(p.local_port, 68);
    CHECK_EQ(p.remote_port, 67);
    CHECK_EQ(p.bytes, 308);

    n = mk_ipv4(buf, 1, PEER4, ME4, 0, 0, 56);
    REQUIRE(secmod_parse_ipv4(SECMOD_DIR_IN, buf, n, &p));
    CHECK_EQ(p.protocol, SECMOD_PROTO_ICMP);
    CHECK_EQ(p.local_port, 0); /* type/code are not recorded */
    CHECK_EQ(p.remote_port, 0);
    CHECK_EQ(p.bytes, 64);

    n = mk_ipv4(buf, 2, ME4, PEER4, 0, 0, 8); /* IGMP */
    CHECK(!secmod_parse_ipv4(SECMOD_DIR_OUT, buf, n, &p));
    buf[9] = 47; /* GRE */
    CHECK(!secmod_parse_ipv4(SECMOD_DIR_OUT, buf, n, &p));
    buf[9] = 58; /* ICMPv6 number inside IPv4: not ICMP */
    CHECK(!secmod_parse_ipv4(SECMOD_DIR_OUT, buf, n, &p));
}

static void test_parse_ipv4_options_and_fragments(void)
{
    secmod_pkt_t p;
    uint8_t opt[2048];
    size_t n = mk_ipv4(buf, 17, ME4, PEER4, 1000, 53, 10);
    /* insert 4 bytes of options: IHL 6 */
    memcpy(opt, buf, 20);
    memset(opt + 20, 1, 4); /* NOPs */
    memcpy(opt + 24, buf + 20, n - 20);
    opt[0] = 0x46;
    opt[2] = (uint8_t)((n + 4) >> 8);
    opt[3] = (uint8_t)(n + 4);
    REQUIRE(secmod_parse_ipv4(SECMOD_DIR_OUT, opt, n + 4, &p));
    CHECK_EQ(p.local_port, 1000);
    CHECK_EQ(p.remote_port, 53);
    CHECK_EQ(p.bytes, 18);

    /* first fragment (MF, offset 0) counts; later fragments carry no ports */
    buf[6] = 0x20;
    CHECK(secmod_parse_ipv4(SECMOD_DIR_OUT, buf, n, &p));
    buf[6] = 0x20;
    buf[7] = 0x10;
    CHECK(!secmod_parse_ipv4(SECMOD_DIR_OUT, buf, n, &p));
}

static void test_parse_ipv4_malformed(void)
{
    secmod_pkt_t p;
    size_t n = mk_ipv4(buf, 6, ME4, PEER4, 1, 2, 0);
    CHECK(!secmod_parse_ipv4(SECMOD_DIR_OUT, buf, 19, &p));     /* short header */
    CHECK(!secmod_parse_ipv4(SECMOD_DIR_OUT, buf, 23, &p));     /* ports cut */
    CHECK(secmod_parse_ipv4(SECMOD_DIR_OUT, buf, 24, &p));      /* first word enough */
    CHECK(!secmod_parse_ipv4(SECMOD_DIR_OUT, NULL, n, &p));
    buf[0] = 0x44; /* IHL 4 < 5 */
    CHECK(!secmod_parse_ipv4(SECMOD_DIR_OUT, buf, n, &p));
    buf[0] = 0x4F; /* IHL 15 = 60 bytes > len */
    CHECK(!secmod_parse_ipv4(SECMOD_DIR_OUT, buf, n, &p));
    buf[0] = 0x65; /* version 6 */
    CHECK(!secmod_parse_ipv4(SECMOD_DIR_OUT, buf, n, &p));
    buf[0] = 0x45;
    buf[2] = 0;
    buf[3] = 10; /* total length < header length */
    CHECK(!secmod_parse_ipv4(SECMOD_DIR_OUT, buf, n, &p));
}

static void test_parse_ipv4_bytes_16bit(void)
{
    secmod_pkt_t p;
    static uint8_t big[65535];
    size_t n = mk_ipv4(big, 17, ME4, PEER4, 1, 2, 65535 - 28);
    REQUIRE_EQ(n, 65535);
    REQUIRE(secmod_parse_ipv4(SECMOD_DIR_OUT, big, n, &p));
    CHECK_EQ(p.bytes, 65515);
    /* the count comes from the header, not from how much of it the caller passed */
    REQUIRE(secmod_parse_ipv4(SECMOD_DIR_OUT, big, 28, &p));
    CHECK_EQ(p.bytes, 65515);
}

static void test_parse_ipv6_basic(void)
{
    secmod_pkt_t p;
    size_t n = mk_ipv6(buf, 6, PEER6, ME6, 443, 51000, 50, NULL, 0);
    REQUIRE(secmod_parse_ipv6(SECMOD_DIR_IN, buf, n, &p));
    CHECK_EQ(p.protocol, SECMOD_PROTO_TCP);
    CHECK_MEM(p.local, ME6, 16);
    CHECK_MEM(p.remote, PEER6, 16);
    CHECK_EQ(p.local_port, 51000);
    CHECK_EQ(p.remote_port, 443);
    CHECK_EQ(p.bytes, 70);

    n = mk_ipv6(buf, 17, ME6, PEER6, 546, 547, 12, NULL, 0);
    REQUIRE(secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p));
    CHECK_EQ(p.protocol, SECMOD_PROTO_UDP);
    CHECK_EQ(p.local_port, 546);
    CHECK_EQ(p.bytes, 20);

    n = mk_ipv6(buf, 58, ME6, PEER6, 0, 0, 24, NULL, 0); /* e.g. Neighbor Solicitation */
    REQUIRE(secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p));
    CHECK_EQ(p.protocol, SECMOD_PROTO_ICMP);
    CHECK_EQ(p.local_port, 0);
    CHECK_EQ(p.remote_port, 0);
    CHECK_EQ(p.bytes, 32);

    n = mk_ipv6(buf, 1, ME6, PEER6, 0, 0, 8, NULL, 0); /* protocol 1 inside IPv6 */
    CHECK(!secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p));
}

static void test_parse_ipv6_extension_walk(void)
{
    secmod_pkt_t p;
    static const uint8_t chain[] = {0, 43, 44, 60, 51}; /* 16 + 8 + 8 + 16 + 16 = 64 */
    static const uint8_t esp[] = {0, 50};
    static const uint8_t none[] = {60, 59};
    size_t n = mk_ipv6(buf, 17, ME6, PEER6, 5000, 5001, 10, chain, sizeof(chain));
    REQUIRE(secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p));
    CHECK_EQ(p.protocol, SECMOD_PROTO_UDP);
    CHECK_EQ(p.local_port, 5000);
    CHECK_EQ(p.remote_port, 5001);
    CHECK_EQ(p.bytes, 18); /* payload length minus the 64 extension bytes */

    n = mk_ipv6(buf, 6, ME6, PEER6, 1, 2, 0, esp, sizeof(esp));
    CHECK(!secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p)); /* ESP: ignored */
    n = mk_ipv6(buf, 6, ME6, PEER6, 1, 2, 0, none, sizeof(none));
    CHECK(!secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p)); /* no next header */
    n = mk_ipv6(buf, 135, ME6, PEER6, 1, 2, 0, NULL, 0); /* mobility: unknown */
    CHECK(!secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p));
}

static void test_parse_ipv6_chain_past_len(void)
{
    secmod_pkt_t p;
    static const uint8_t hbh[] = {0};
    static const uint8_t frag[] = {44};
    size_t n = mk_ipv6(buf, 6, ME6, PEER6, 1, 2, 0, hbh, 1);
    /* Hop-by-Hop claims 8 * (200 + 1) bytes: runs past the data */
    buf[40 + 1] = 200;
    CHECK(!secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p));
    /* a chain cut in the middle of an extension header */
    n = mk_ipv6(buf, 6, ME6, PEER6, 1, 2, 0, hbh, 1);
    CHECK(!secmod_parse_ipv6(SECMOD_DIR_OUT, buf, 44, &p));
    CHECK(!secmod_parse_ipv6(SECMOD_DIR_OUT, buf, 40 + 16 + 3, &p)); /* ports cut */
    CHECK(secmod_parse_ipv6(SECMOD_DIR_OUT, buf, 40 + 16 + 4, &p));
    /* extension headers longer than the payload length */
    buf[4] = 0;
    buf[5] = 8;
    CHECK(!secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p));
    /* non-initial fragment */
    n = mk_ipv6(buf, 17, ME6, PEER6, 1, 2, 0, frag, 1);
    CHECK(secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p));
    buf[40 + 3] = 0x08; /* offset 1 */
    CHECK(!secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p));
    /* short fixed header, wrong version */
    CHECK(!secmod_parse_ipv6(SECMOD_DIR_OUT, buf, 39, &p));
    buf[0] = 0x40;
    CHECK(!secmod_parse_ipv6(SECMOD_DIR_OUT, buf, n, &p));
}

/* Every truncation and random corruption of valid packets, in exact-size heap blocks. */
static void test_parse_never_out_of_bounds(void)
{
    static const uint8_t chain[] = {0, 43, 44, 60, 51};
    uint8_t pk[512];
    secmod_pkt_t p;
    unsigned seed = 12345, k, len, round;
    size_t n;

    for (round = 0; round < 6; round++) {
        int v6 = round >= 3;
        uint8_t proto = round % 3 == 0 ? 6 : round % 3 == 1 ? 17 : (v6 ? 58 : 1);
        n = v6 ? mk_ipv6(pk, proto, ME6, PEER6, 1, 2, 20, chain, sizeof(chain))
               : mk_ipv4(pk, proto, ME4, PEER4, 1, 2, 20);
        for (k = 0; k < 3000; k++) {
            uint8_t *m;
            unsigned flips, f;
            len = k < n + 1 ? k : (unsigned)(n);
            m = malloc(len ? len : 1);
            REQUIRE(m != NULL);
            memcpy(m, pk, len);
            flips = k < n + 1 ? 0u : 1u + (seed % 4u);
            for (f = 0; f < flips && len > 0; f++) {
                seed = seed * 1103515245u + 12345u;
                m[(seed >> 8) % len] = (uint8_t)(seed >> 20);
            }
            if (v6)
                (void)secmod_parse_ipv6((secmod_dir_t)(k & 1), m, len, &p);
            else
                (void)secmod_parse_ipv4((secmod_dir_t)(k & 1), m, len, &p);
            free(m);
        }
    }
    CHECK(1); /* reaching here under ASan is the assertion */
}

void suite_netparse(void)
{
    RUN_TEST(test_parse_ipv4_tcp_directions);
    RUN_TEST(test_parse_ipv4_udp_icmp_other);
    RUN_TEST(test_parse_ipv4_options_and_fragments);
    RUN_TEST(test_parse_ipv4_malformed);
    RUN_TEST(test_parse_ipv4_bytes_16bit);
    RUN_TEST(test_parse_ipv6_basic);
    RUN_TEST(test_parse_ipv6_extension_walk);
    RUN_TEST(test_parse_ipv6_chain_past_len);
    RUN_TEST(test_parse_never_out_of_bounds);
}
