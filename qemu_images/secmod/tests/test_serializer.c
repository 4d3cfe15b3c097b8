/* Encoding of every payload kind, defaults omitted, sizes, overflow. */
#include <string.h>

#include "helpers.h"
#include "minitest.h"
#include "secmod_config.h"
#include "secmod_netparse.h"
#include "secmod_serializer.h"

#define TCAP 160

static secmod_flow_t recs4[TCAP], recs6[TCAP];
static uint8_t addrs4[TCAP * 8], addrs6[TCAP * 32];
static secmod_flowpool_t pool4, pool6;
static secmod_flowtab_t tab4, tab6;
static secmod_flow_h bk4[SECMOD_FLOW_BUCKETS(TCAP)], bk6[SECMOD_FLOW_BUCKETS(TCAP)];
static union {
    uint64_t a;
    uint8_t b[16384u > SECMOD_PAGE_SIZE ? 16384u : ((SECMOD_PAGE_SIZE + 7u) & ~7u)];
} page;
static secmod_fb_ref_t refs[TCAP + 8];

static void tabs_reset(void)
{
    secmod_flowpool_init(&pool4, recs4, addrs4, TCAP, 4);
    secmod_flowpool_init(&pool6, recs6, addrs6, TCAP, 16);
    secmod_flowtab_init(&tab4, &pool4, bk4, SECMOD_FLOW_BUCKETS(TCAP));
    secmod_flowtab_init(&tab6, &pool6, bk6, SECMOD_FLOW_BUCKETS(TCAP));
}

static void add4(const uint8_t l[4], const uint8_t r[4], uint16_t lp, uint16_t rp, uint8_t proto,
                 uint32_t in, uint32_t out)
{
    secmod_flowkey_t k;
    k.local = l;
    k.remote = r;
    k.local_port = lp;
    k.remote_port = rp;
    k.protocol = proto;
    CHECK_EQ(secmod_flowtab_add(&tab4, &k, in, out), SECMOD_FLOW_NEW);
}

static void add6(const uint8_t l[16], const uint8_t r[16], uint16_t lp, uint16_t rp,
                 uint8_t proto, uint32_t in, uint32_t out)
{
    secmod_flowkey_t k;
    k.local = l;
    k.remote = r;
    k.local_port = lp;
    k.remote_port = rp;
    k.protocol = proto;
    CHECK_EQ(secmod_flowtab_add(&tab6, &k, in, out), SECMOD_FLOW_NEW);
}

static void ev_init(secmod_event_t *e, uint8_t type, uint8_t idbyte, uint32_t t, uint32_t iv)
{
    memset(e, 0, sizeof(*e));
    memset(e->id, idbyte, 16);
    e->id[15] = (uint8_t)(idbyte + 1);
    e->time = t;
    e->collection_interval = iv;
    e->payload_type = type;
}

static int ser(const secmod_event_t *ev, size_t n, size_t page_size, const uint8_t **out,
               size_t *len)
{
    secmod_serbuf_t sb;
    sb.page = page.b;
    sb.page_size = page_size;
    sb.refs = refs;
    sb.max_refs = sizeof(refs) / sizeof(refs[0]);
    return secmod_serialize(&sb, SECMOD_SECURITY_MODULE_ID, SECMOD_VERSION_WORD, ev, n, out, len);
}

static int ser_decode(const secmod_event_t *ev, size_t n, rd_message_t *m, size_t *len)
{
    const uint8_t *out;
    char err[160];
    if (ser(ev, n, sizeof(page.b), &out, len) != SECMOD_SER_OK) {
        mt_fail(__FILE__, __LINE__, "serialize failed");
        return -1;
    }
    if (rd_decode(out, *len, m, err, sizeof(err)) != 0) {
        mt_fail(__FILE__, __LINE__, "decode failed: %s", err);
        return -1;
    }
    return 0;
}

static void test_ser_envelope_heartbeat_sysinfo(void)
{
    secmod_event_t ev[3];
    size_t len;
    rd_message_t *m = &msg_a;

    ev_init(&ev[0], SECMOD_PAYLOAD_SYSTEM_INFORMATION, 0x10, 1700000060u, 60);
    ev[0].os_info = SECMOD_OS_INFO;
    ev_init(&ev[1], SECMOD_PAYLOAD_HEARTBEAT, 0x20, 1700000060u, 60);
    ev_init(&ev[2], SECMOD_PAYLOAD_SYSTEM_INFORMATION, 0x30, 0, 0); /* all defaults */
    REQUIRE(ser_decode(ev, 3, m, &len) == 0);
    CHECK_STR(m->module_id, "defender-iot-micro-agent");
    CHECK(m->has_version);
    CHECK_EQ(m->version, 0x03050004u);
    CHECK(!m->has_timezone);
    REQUIRE_EQ(m->n_events, 3);
    CHECK_EQ(m->ev[0].payload_type, 2);
    CHECK(m->ev[0].has_os_info);
    CHECK_STR(m->ev[0].os_info, "Azure RTOS 6.2");
    CHECK(!m->ev[0].has_kernel_info);
    CHECK(!m->ev[0].has_hw_info);
    CHECK_EQ(m->ev[0].time, 1700000060u);
    CHECK_EQ(m->ev[0].collection_interval, 60);
    CHECK_MEM(m->ev[0].id, ev[0].id, 16);
    CHECK_EQ(m->ev[1].payload_type, 4);
    CHECK_EQ(m->ev[1].payload_slots, 0); /* empty table */
    CHECK_MEM(m->ev[1].id, ev[1].id, 16);
    /* zero time/interval are defaults: not written; no os_info: absent */
    CHECK(!m->ev[2].has_time);
    CHECK(!m->ev[2].has_interval);
    CHECK(!m->ev[2].has_os_info);
    CHECK_EQ(m->ev[2].payload_slots, 0);
}

static void test_ser_network_records(void)
{
    secmod_event_t ev;
    size_t len;
    rd_message_t *m = &msg_a;
    const rd_record_t *r;
    static const uint8_t l4[4] = {10, 0, 0, 1}, r4[4] = {192, 168, 1, 200};

    tabs_reset();
    add4(l4, r4, 50000, 8883, SECMOD_PROTO_TCP, 1200, 3400);
    add4(l4, r4, 68, 67, SECMOD_PROTO_UDP, 0, 300);
    add4(l4, r4, 0, 0, SECMOD_PROTO_ICMP, 84, 84);
    add6(ME6, PEER6, 0, 0, SECMOD_PROTO_ICMP, 0, 72);
    add6(ME6, PEER6, 443, 51000, SECMOD_PROTO_TCP, 9, 0);
    ev_init(&ev, SECMOD_PAYLOAD_NETWORK_ACTIVITY, 0x40, 1700000010u, 10);
    ev.ipv4 = &tab4;
    ev.ipv6 = &tab6;
    REQUIRE(ser_decode(&ev, 1, m, &len) == 0);
    REQUIRE_EQ(m->n_events, 1);
    REQUIRE_EQ(m->ev[0].n4, 3);
    REQUIRE_EQ(m->ev[0].n6, 2);

    r = &m->ev[0].v4[0]; /* insertion order */
    CHECK_MEM(r->local, l4, 4);
    CHECK_MEM(r->remote, r4, 4);
    CHECK_EQ(r->local_port, 50000);
    CHECK_EQ(r->remote_port, 8883);
    CHECK_EQ(r->bytes_in, 1200);
    CHECK_EQ(r->bytes_out, 3400);
    CHECK_EQ(r->protocol, 0);
    CHECK(!r->has_protocol); /* TCP = default: omitted */
    CHECK_EQ(r->common_slots, 4);

    r = &m->ev[0].v4[1];
    CHECK_EQ(r->protocol, 1);
    CHECK(r->has_protocol);
    CHECK(!r->has_bytes_in); /* 0 = default */
    CHECK_EQ(r->bytes_out, 300);

    r = &m->ev[0].v4[2];
    CHECK_EQ(r->protocol, 2);
    CHECK(!r->has_local_port); /* ICMP: ports 0, omitted */
    CHECK(!r->has_remote_port);

    r = &m->ev[0].v6[0];
    CHECK_MEM(r->local, ME6, 16);
    CHECK_MEM(r->remote, PEER6, 16);
    CHECK_EQ(r->protocol, 2);
    CHECK_EQ(r->bytes_out, 72);
    r = &m->ev[0].v6[1];
    CHECK_EQ(r->local_port, 443);
    CHECK(!r->has_bytes_out);
}

static void test_ser_address_bytes_on_wire(void)
{
    /* the buffer holds the on-wire address bytes: 10.0.0.1 -> 0A 00 00 01 */
    secmod_event_t ev;
    const uint8_t *out;
    size_t len, i;
    int found = 0;
    static const uint8_t l4[4] = {10, 0, 0, 1}, r4[4] = {172, 16, 5, 9};
    static const uint8_t both[8] = {10, 0, 0, 1, 172, 16, 5, 9};

    tabs_reset();
    add4(l4, r4, 1, 2, SECMOD_PROTO_UDP, 3, 4);
    ev_init(&ev, SECMOD_PAYLOAD_NETWORK_ACTIVITY, 1, 1, 10);
    ev.ipv4 = &tab4;
    REQUIRE_EQ(ser(&ev, 1, sizeof(page.b), &out, &len), SECMOD_SER_OK);
    for (i = 0; i + 8 <= len; i++)
        if (memcmp(out + i, both, 8) == 0 && i % 4 == 0)
            found = 1;
    CHECK(found);
}

static void test_ser_empty_windows(void)
{
    secmod_event_t ev;
    size_t len;
    rd_message_t *m = &msg_a;

    tabs_reset();
    add4(ME4, PEER4, 1, 2, SECMOD_PROTO_TCP, 3, 4);
    ev_init(&ev, SECMOD_PAYLOAD_NETWORK_ACTIVITY, 1, 1, 10);
    ev.ipv4 = &tab4;
    ev.ipv6 = &tab6; /* empty: vector absent */
    REQUIRE(ser_decode(&ev, 1, m, &len) == 0);
    CHECK(m->ev[0].has_v4);
    CHECK(!m->ev[0].has_v6);

    tabs_reset();
    ev.ipv4 = &tab4;
    ev.ipv6 = NULL;
    REQUIRE(ser_decode(&ev, 1, m, &len) == 0);
    CHECK(!m->ev[0].has_v4);
    CHECK(!m->ev[0].has_v6);
    CHECK_EQ(m->ev[0].payload_slots, 0);
}

static size_t size_with(uint8_t proto, int v6, unsigned n)
{
    secmod_event_t ev;
    const uint8_t *out;
    size_t len = 0;
    unsigned i;
    tabs_reset();
    for (i = 0; i < n; i++) {
        uint8_t a[16];
        memcpy(a, ME6, 16);
        a[3] = (uint8_t)i;
        if (v6)
            add6(a, PEER6, proto == SECMOD_PROTO_ICMP ? 0 : (uint16_t)(1000 + i),
                 proto == SECMOD_PROTO_ICMP ? 0 : 443, proto, 100, 200);
        else
            add4(a, PEER4, proto == SECMOD_PROTO_ICMP ? 0 : (uint16_t)(1000 + i),
                 proto == SECMOD_PROTO_ICMP ? 0 : 443, proto, 100, 200);
    }
    ev_init(&ev, SECMOD_PAYLOAD_NETWORK_ACTIVITY, 1, 1, 10);
    ev.ipv4 = &tab4;
    ev.ipv6 = &tab6;
    if (ser(&ev, 1, sizeof(page.b), &out, &len) != SECMOD_SER_OK)
        return 0;
    return len;
}

static void test_ser_bytes_per_record(void)
{
    /* marginal wire cost of one more record (its vtables already shared) */
    CHECK_EQ(size_with(SECMOD_PROTO_TCP, 0, 3) - size_with(SECMOD_PROTO_TCP, 0, 2), 36);
    CHECK_EQ(size_with(SECMOD_PROTO_UDP, 0, 3) - size_with(SECMOD_PROTO_UDP, 0, 2), 40);
    CHECK_EQ(size_with(SECMOD_PROTO_ICMP, 0, 3) - size_with(SECMOD_PROTO_ICMP, 0, 2), 36);
    CHECK_EQ(size_with(SECMOD_PROTO_TCP, 1, 3) - size_with(SECMOD_PROTO_TCP, 1, 2), 60);
    CHECK_EQ(size_with(SECMOD_PROTO_UDP, 1, 3) - size_with(SECMOD_PROTO_UDP, 1, 2), 64);
    printf("# wire bytes per record: IPv4 TCP %u UDP %u, IPv6 TCP %u UDP %u; 64 IPv4 UDP records: %u-byte message\n",
           (unsigned)(size_with(SECMOD_PROTO_TCP, 0, 3) - size_with(SECMOD_PROTO_TCP, 0, 2)),
           (unsigned)(size_with(SECMOD_PROTO_UDP, 0, 3) - size_with(SECMOD_PROTO_UDP, 0, 2)),
           (unsigned)(size_with(SECMOD_PROTO_TCP, 1, 3) - size_with(SECMOD_PROTO_TCP, 1, 2)),
           (unsigned)(size_with(SECMOD_PROTO_UDP, 1, 3) - size_with(SECMOD_PROTO_UDP, 1, 2)),
           (unsigned)size_with(SECMOD_PROTO_UDP, 0, 64));
}

static void test_ser_worst_case_fits_default_page(void)
{
    /* both pools full, largest records, every common-table shape, plus SI and HB */
    secmod_event_t ev[3];
    const uint8_t *out;
    size_t len;
    unsigned i, n4 = SECMOD_MAX_IPV4_RECORDS, n6 = SECMOD_MAX_IPV6_RECORDS;

    tabs_reset();
    for (i = 0; i < n4; i++) {
        uint8_t a[4] = {10, 1, 0, 0};
        a[3] = (uint8_t)i;
        /* vary which fields are non-default to produce many vtable shapes */
        add4(a, PEER4, (i & 1) ? 0 : 40000, (i & 2) ? 0 : 443, (uint8_t)(1 + (i & 1)),
             (i & 4) ? 0 : 0xFFFFFFFFu, (i & 8) ? 0 : 0xFFFFFFFFu);
    }
    for (i = 0; i < n6; i++) {
        uint8_t a[16];
        memcpy(a, ME6, 16);
        a[15] = (uint8_t)i;
        add6(a, PEER6, (i & 1) ? 0 : 40000, (i & 2) ? 0 : 443, (uint8_t)(i % 3),
             (i & 4) ? 0 : 7, (i & 8) ? 0 : 9);
    }
    ev_init(&ev[0], SECMOD_PAYLOAD_NETWORK_ACTIVITY, 1, 0xFFFFFFFFu, 10);
    ev[0].ipv4 = &tab4;
    ev[0].ipv6 = &tab6;
    ev_init(&ev[1], SECMOD_PAYLOAD_SYSTEM_INFORMATION, 2, 0xFFFFFFFFu, 60);
    ev[1].os_info = SECMOD_OS_INFO;
    ev_init(&ev[2], SECMOD_PAYLOAD_HEARTBEAT, 3, 0xFFFFFFFFu, 60);
    CHECK_EQ(ser(ev, 3, SECMOD_PAGE_SIZE, &out, &len), SECMOD_SER_OK);
    printf("# largest message: %u bytes (page %u)\n", (unsigned)len, (unsigned)SECMOD_PAGE_SIZE);
    CHECK(len <= SECMOD_PAGE_SIZE);
}

static void test_ser_too_big_and_invalid(void)
{
    secmod_event_t ev;
    const uint8_t *out = NULL;
    size_t len = 0;
    secmod_serbuf_t sb;

    tabs_reset();
    add4(ME4, PEER4, 1, 2, SECMOD_PROTO_TCP, 3, 4);
    ev_init(&ev, SECMOD_PAYLOAD_NETWORK_ACTIVITY, 1, 1, 10);
    ev.ipv4 = &tab4;
    CHECK_EQ(ser(&ev, 1, 64, &out, &len), SECMOD_SER_TOO_BIG);
    ev.payload_type = 3; /* ListeningPorts: never emitted */
    CHECK_EQ(ser(&ev, 1, sizeof(page.b), &out, &len), SECMOD_SER_INVALID);
    ev.payload_type = SECMOD_PAYLOAD_NETWORK_ACTIVITY;
    sb.page = page.b;
    sb.page_size = sizeof(page.b);
    sb.refs = refs;
    sb.max_refs = 1; /* one record + one event need 2 */
    CHECK_EQ(secmod_serialize(&sb, "x", 1, &ev, 1, &out, &len), SECMOD_SER_INVALID);
}

static void test_ser_deterministic(void)
{
    secmod_event_t ev;
    const uint8_t *out;
    size_t len1, len2;
    static uint8_t copy[4096];

    tabs_reset();
    add4(ME4, PEER4, 1, 2, SECMOD_PROTO_UDP, 3, 4);
    ev_init(&ev, SECMOD_PAYLOAD_NETWORK_ACTIVITY, 1, 1, 10);
    ev.ipv4 = &tab4;
    REQUIRE_EQ(ser(&ev, 1, sizeof(page.b), &out, &len1), SECMOD_SER_OK);
    REQUIRE(len1 <= sizeof(copy));
    memcpy(copy, out, len1);
    REQUIRE_EQ(ser(&ev, 1, sizeof(page.b), &out, &len2), SECMOD_SER_OK);
    CHECK_EQ(len1, len2);
    CHECK_MEM(copy, out, len1);
}

void suite_serializer(void)
{
    RUN_TEST(test_ser_envelope_heartbeat_sysinfo);
    RUN_TEST(test_ser_network_records);
    RUN_TEST(test_ser_address_bytes_on_wire);
    RUN_TEST(test_ser_empty_windows);
    RUN_TEST(test_ser_bytes_per_record);
    RUN_TEST(test_ser_worst_case_fits_default_page);
    RUN_TEST(test_ser_too_big_and_invalid);
    RUN_TEST(test_ser_deterministic);
}
