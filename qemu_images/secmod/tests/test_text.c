/* The secmod_encode text format: parsing, errors, and identity with the module's own output. */
#include <string.h>

#include "helpers.h"
#include "minitest.h"
#include "secmod_text.h"

static secmod_text_msg_t tmsg;
static char text[65536];

static int parse(const char *t, char *err, size_t errlen)
{
    return secmod_text_parse(t, strlen(t), &tmsg, err, errlen);
}

static void test_text_ipv6_forms(void)
{
    uint8_t a[16];
    static const uint8_t loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
    static const uint8_t full[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                     0, 0, 0, 0, 0, 0, 0xab, 0xcd};
    static const uint8_t ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff,
                                   0xfe, 0x33, 0x44, 0x55};
    static const uint8_t zero[16] = {0};
    char out[46];

    CHECK(secmod_text_parse_ipv6("::", a) && memcmp(a, zero, 16) == 0);
    CHECK(secmod_text_parse_ipv6("::1", a) && memcmp(a, loop, 16) == 0);
    CHECK(secmod_text_parse_ipv6("::ffff:192.0.2.1", a) && memcmp(a, mapped, 16) == 0);
    CHECK(secmod_text_parse_ipv6("2001:db8::abcd", a) && memcmp(a, full, 16) == 0);
    CHECK(secmod_text_parse_ipv6("2001:0DB8:0:0:0:0:0:ABCD", a) && memcmp(a, full, 16) == 0);
    CHECK(secmod_text_parse_ipv6("fe80::211:22ff:fe33:4455", a) && memcmp(a, ll, 16) == 0);
    CHECK(secmod_text_parse_ipv6("2001:db8::", a));
    CHECK(secmod_text_parse_ipv6("1:2:3:4:5:6:7::", a));
    CHECK(secmod_text_parse_ipv6("::2:3:4:5:6:7:8", a));
    CHECK(!secmod_text_parse_ipv6("1:2:3:4:5:6:7:8:9", a));
    CHECK(!secmod_text_parse_ipv6("1::2::3", a));
    CHECK(!secmod_text_parse_ipv6(":::", a));
    CHECK(!secmod_text_parse_ipv6("12345::", a));
    CHECK(!secmod_text_parse_ipv6("1:2:3:4:5:6:7", a));
    CHECK(!secmod_text_parse_ipv6("g::1", a));
    CHECK(!secmod_text_parse_ipv6("1:", a));
    CHECK(!secmod_text_parse_ipv6(":1", a));
    CHECK(!secmod_text_parse_ipv6("1.2.3.4::", a));
    CHECK(!secmod_text_parse_ipv6("", a));
    CHECK(!secmod_text_parse_ipv6("1::2:3:4:5:6:7:8", a));

    CHECK(secmod_text_parse_ipv4("10.0.0.1", a) && a[0] == 10 && a[3] == 1);
    CHECK(secmod_text_parse_ipv4("255.255.255.255", a));
    CHECK(!secmod_text_parse_ipv4("256.0.0.1", a));
    CHECK(!secmod_text_parse_ipv4("1.2.3", a));
    CHECK(!secmod_text_parse_ipv4("1.2.3.4.5", a));
    CHECK(!secmod_text_parse_ipv4("01.2.3.4", a));
    CHECK(!secmod_text_parse_ipv4("1.2.3.4 ", a));

    rd_format_ipv6(full, out);
    CHECK_STR(out, "2001:db8::abcd");
    rd_format_ipv6(zero, out);
    CHECK_STR(out, "::");
    rd_format_ipv6(loop, out);
    CHECK_STR(out, "::1");
}

static const char *sample =
    "# comment\n"
    "message id=\"defender-iot-micro-agent\" version=3.5.4\n"
    "\n"
    "event uuid=000102030405060708090a0b0c0d0e0f time=1700000040 interval=10 type=network\r\n"
    "v4 local=10.0.0.1 remote=192.0.2.10 lport=50000 rport=8883 in=1200 out=3400 proto=tcp\n"
    "v4 local=10.0.0.1 remote=10.0.0.255 lport=68 rport=67 in=0 out=300 proto=udp\n"
    "v6 local=fe80::1 remote=ff02::2 lport=0 rport=0 in=0 out=16 proto=icmp\n"
    "  event   uuid=101112131415161718191a1b1c1d1e1f time=1700000040 interval=60 type=sysinfo os=\"Azure RTOS 6.2\"\n"
    "event uuid=202122232425262728292a2b2c2d2e2f time=1700000040 interval=60 type=heartbeat\n";

static void test_text_round_trip(void)
{
    const uint8_t *out;
    size_t len, n;
    char err[200];
    static const char *canon =
        "message id=\"defender-iot-micro-agent\" version=3.5.4\n"
        "event uuid=000102030405060708090a0b0c0d0e0f time=1700000040 interval=10 type=network\n"
        "v4 local=10.0.0.1 remote=192.0.2.10 lport=50000 rport=8883 in=1200 out=3400 proto=tcp\n"
        "v4 local=10.0.0.1 remote=10.0.0.255 lport=68 rport=67 in=0 out=300 proto=udp\n"
        "v6 local=fe80::1 remote=ff02::2 lport=0 rport=0 in=0 out=16 proto=icmp\n"
        "event uuid=101112131415161718191a1b1c1d1e1f time=1700000040 interval=60 type=sysinfo os=\"Azure RTOS 6.2\"\n"
        "event uuid=202122232425262728292a2b2c2d2e2f time=1700000040 interval=60 type=heartbeat\n";

    REQUIRE(parse(sample, err, sizeof(err)) == 0);
    REQUIRE_EQ(secmod_text_encode(&tmsg, &out, &len), SECMOD_SER_OK);
    REQUIRE(rd_decode(out, len, &msg_a, err, sizeof(err)) == 0);
    CHECK_EQ(msg_a.version, 0x03050004u);
    n = rd_to_text(&msg_a, text, sizeof(text));
    REQUIRE(n < sizeof(text));
    CHECK_STR(text, canon);
}

/* The tool and the firmware produce the same bytes for the same content. */
static void test_text_identical_to_module_output(void)
{
    const uint8_t *out;
    size_t len, k;
    char err[200];
    unsigned i;

    mod_reset(51);
    REQUIRE(secmod_enable() == SECMOD_OK);
    for (i = 0; i < 5; i++) {
        send_v4(17, ME4, PEER4, (uint16_t)(1000 + i), 53, (uint16_t)(10 * i));
        recv_v4(6, ME4, HUB4, 50000, 8883, (uint16_t)i);
        send_v6(6, ME6, PEER6, (uint16_t)(2000 + i), 443, 5);
        send_v6(58, ME6, PEER6, 0, 0, 24);
    }
    REQUIRE(fake_advance_until_sent(100));
    for (k = 0; k < fake_nsent; k++) {
        REQUIRE(decode_sent(k, &msg_b) == 0);
        REQUIRE(rd_to_text(&msg_b, text, sizeof(text)) < sizeof(text));
        if (parse(text, err, sizeof(err)) != 0) {
            mt_fail(__FILE__, __LINE__, "parse of the module's own message: %s", err);
            return;
        }
        REQUIRE_EQ(secmod_text_encode(&tmsg, &out, &len), SECMOD_SER_OK);
        REQUIRE_EQ(len, fake_sent[k].len);
        CHECK_MEM(out, fake_sent[k].data, len);
    }
    CHECK_EQ(msg_b.n_events, 3);
}

static void expect_error(const char *t, const char *needle)
{
    char err[200];
    if (parse(t, err, sizeof(err)) == 0) {
        mt_fail(__FILE__, __LINE__, "accepted: %s", t);
        return;
    }
    if (strstr(err, needle) == NULL)
        mt_fail(__FILE__, __LINE__, "error \"%s\" lacks \"%s\"", err, needle);
}

#define HDR "message id=\"x\" version=3.5.4\n"
#define NET "event uuid=000102030405060708090a0b0c0d0e0f time=1 interval=10 type=network\n"

static void test_text_errors(void)
{
    expect_error("", "no message line");
    expect_error("event uuid=00 time=1 interval=1 type=heartbeat\n", "line 1: the first line must be a message");
    expect_error(HDR, "no events");
    expect_error(HDR HDR, "line 2: second message line");
    expect_error("message id=x version=3.5.4\n", "line 1: id must be a double-quoted string");
    expect_error("message id=\"x\" version=3.5\n", "line 1: version=3.5");
    expect_error("message id=\"x\" version=3.256.4\n", "line 1: version");
    expect_error("message id=\"x\"\n", "line 1: message line needs version=");
    expect_error("message id=\"x version=3.5.4\n", "line 1: unterminated string");
    expect_error(HDR "event uuid=0001 time=1 interval=10 type=network\n", "line 2: uuid must be 32 hex");
    expect_error(HDR "event uuid=000102030405060708090a0b0c0d0e0g time=1 interval=10 type=network\n", "line 2: uuid");
    expect_error(HDR "event uuid=000102030405060708090a0b0c0d0e0f time=-1 interval=10 type=network\n", "line 2: time=-1");
    expect_error(HDR "event uuid=000102030405060708090a0b0c0d0e0f time=4294967296 interval=10 type=network\n", "line 2: time=");
    expect_error(HDR "event uuid=000102030405060708090a0b0c0d0e0f time=1 interval=10 type=process\n", "line 2: type=process");
    expect_error(HDR "event uuid=000102030405060708090a0b0c0d0e0f time=1 interval=10 type=network os=\"x\"\n", "line 2: unknown field os");
    expect_error(HDR "event uuid=000102030405060708090a0b0c0d0e0f time=1 time=2 interval=10 type=heartbeat\n", "line 2: duplicate field time");
    expect_error(HDR "v4 local=1.2.3.4 remote=1.2.3.5 lport=1 rport=2 in=3 out=4 proto=tcp\n", "line 2: v4 line outside a network event");
    expect_error(HDR NET "v4 local=1.2.3 remote=1.2.3.5 lport=1 rport=2 in=3 out=4 proto=tcp\n", "line 3: local=1.2.3 is not an IPv4");
    expect_error(HDR NET "v6 local=::1 remote=1.2.3.5 lport=1 rport=2 in=3 out=4 proto=tcp\n", "line 3: remote=1.2.3.5 is not an IPv6");
    expect_error(HDR NET "v4 local=1.2.3.4 remote=1.2.3.5 lport=65536 rport=2 in=3 out=4 proto=tcp\n", "line 3: lport=65536");
    expect_error(HDR NET "v4 local=1.2.3.4 remote=1.2.3.5 lport=1 rport=2 in=3 out=4 proto=sctp\n", "line 3: proto=sctp");
    expect_error(HDR NET "v4 local=1.2.3.4 remote=1.2.3.5 lport=1 rport=2 in=3 proto=tcp\n", "line 3: v4 line needs out=");
    expect_error(HDR NET "v4 local=1.2.3.4 remote=1.2.3.5 lport=1 rport=2 in=3 out=4 proto=tcp\n"
                         "v4 local=1.2.3.4 remote=1.2.3.5 lport=1 rport=2 in=5 out=6 proto=tcp\n", "line 4: duplicate 5-tuple");
    expect_error(HDR NET "v5 local=1.2.3.4\n", "line 3: unknown line kind");
    expect_error(HDR NET "v4 local\n", "line 3: expected key=value");
    expect_error(HDR NET "v4 local=\n", "line 3: empty value");
    expect_error(HDR "event uuid=000102030405060708090a0b0c0d0e0f time=1 interval=60 type=sysinfo os=\"a\"b\n", "line 2: text after the closing quote");
}

static void test_text_limits(void)
{
    size_t n = 0;
    unsigned i;
    char err[200];
    const uint8_t *out;
    size_t len;

    /* more records than the module could hold are still encodable by the tool */
    n += (size_t)snprintf(text + n, sizeof(text) - n, HDR NET);
    for (i = 0; i < 300; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n,
                              "v4 local=10.0.%u.%u remote=192.0.2.1 lport=1 rport=2 in=3 out=4 proto=udp\n",
                              i / 256, i % 256);
    REQUIRE(n < sizeof(text));
    REQUIRE(parse(text, err, sizeof(err)) == 0);
    REQUIRE_EQ(secmod_text_encode(&tmsg, &out, &len), SECMOD_SER_OK);
    CHECK(len > 300u * 40u);
}

void suite_text(void)
{
    RUN_TEST(test_text_ipv6_forms);
    RUN_TEST(test_text_round_trip);
    RUN_TEST(test_text_identical_to_module_output);
    RUN_TEST(test_text_errors);
    RUN_TEST(test_text_limits);
}
