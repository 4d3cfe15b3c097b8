/* FlatBuffers builder basics. */
#include <stdlib.h>
#include <string.h>

#include "fb_builder.h"
#include "fbr.h"
#include "helpers.h"
#include "minitest.h"

static uint8_t page[4096];

static void test_fb_empty_table_bytes(void)
{
    secmod_fb_builder_t b;
    const uint8_t *buf;
    size_t len;
    secmod_fb_ref_t t;
    static const uint8_t expect[] = {8, 0, 0, 0, 4, 0, 4, 0, 4, 0, 0, 0};

    secmod_fb_init(&b, page, sizeof(page));
    secmod_fb_table_start(&b);
    t = secmod_fb_table_end(&b);
    REQUIRE_EQ(secmod_fb_finish(&b, t, &buf, &len), SECMOD_FB_OK);
    REQUIRE_EQ(len, sizeof(expect));
    CHECK_MEM(buf, expect, sizeof(expect));
    CHECK(buf + len == page + sizeof(page)); /* built at the end of the page */
}

static void test_fb_scalars_le_and_defaults(void)
{
    secmod_fb_builder_t b;
    fbr_t r;
    fbr_table_t t;
    const uint8_t *buf;
    size_t len;
    secmod_fb_ref_t root;
    uint16_t off;

    secmod_fb_init(&b, page, sizeof(page));
    secmod_fb_table_start(&b);
    secmod_fb_table_add_u8(&b, 0, 7, 0);
    secmod_fb_table_add_u32(&b, 1, 0x01020304u, 0);
    secmod_fb_table_add_u16(&b, 2, 0, 0);         /* default: omitted */
    secmod_fb_table_add_u16(&b, 3, 0xBEEF, 0);
    secmod_fb_table_add_i8(&b, 4, 0, 0);          /* default: omitted */
    secmod_fb_table_add_u32(&b, 5, 42, 42);       /* non-zero default: omitted */
    root = secmod_fb_table_end(&b);
    REQUIRE_EQ(secmod_fb_finish(&b, root, &buf, &len), SECMOD_FB_OK);
    CHECK_EQ(len % 4, 0);

    fbr_init(&r, buf, len);
    REQUIRE(fbr_root(&r, &t));
    CHECK_EQ(fbr_nslots(&t), 4); /* trailing absent slots are not in the vtable */
    CHECK_EQ(fbr_uint(&t, 0, 1, 0), 7);
    CHECK_EQ(fbr_uint(&t, 1, 4, 0), 0x01020304u);
    CHECK_EQ(fbr_field(&t, 2), 0);
    CHECK_EQ(fbr_uint(&t, 3, 2, 0), 0xBEEF);
    CHECK_EQ(fbr_field(&t, 4), 0);
    CHECK_EQ(fbr_field(&t, 5), 0);
    off = fbr_field(&t, 1);
    REQUIRE(off != 0);
    /* little-endian whatever the host */
    CHECK_EQ(buf[t.pos + off], 0x04);
    CHECK_EQ(buf[t.pos + off + 3], 0x01);
    CHECK(!r.err);
}

static void test_fb_string_vector_struct(void)
{
    secmod_fb_builder_t b;
    fbr_t r;
    fbr_table_t root, e;
    fbr_vec_t v;
    const uint8_t *buf, *st;
    const char *s;
    uint32_t slen, i;
    size_t len;
    secmod_fb_ref_t elems[3], str, vec, rt;
    static const uint8_t sbytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};

    secmod_fb_init(&b, page, sizeof(page));
    for (i = 0; i < 3; i++) {
        secmod_fb_table_start(&b);
        secmod_fb_table_add_u8(&b, 0, 1, 0);             /* misalign on purpose */
        secmod_fb_table_add_struct(&b, 1, sbytes, 8, 4); /* must land 4-aligned */
        secmod_fb_table_add_u16(&b, 2, (uint16_t)(100 + i), 0);
        elems[i] = secmod_fb_table_end(&b);
    }
    vec = secmod_fb_create_offset_vector(&b, elems, 3);
    str = secmod_fb_create_string(&b, "hello", 5);
    secmod_fb_table_start(&b);
    secmod_fb_table_add_offset(&b, 0, str);
    secmod_fb_table_add_offset(&b, 1, vec);
    secmod_fb_table_add_offset(&b, 2, 0); /* none: absent */
    rt = secmod_fb_table_end(&b);
    REQUIRE_EQ(secmod_fb_finish(&b, rt, &buf, &len), SECMOD_FB_OK);

    fbr_init(&r, buf, len);
    REQUIRE(fbr_root(&r, &root));
    s = fbr_string(&root, 0, &slen);
    REQUIRE(s != NULL);
    CHECK_EQ(slen, 5);
    CHECK_STR(s, "hello");
    CHECK_EQ(fbr_field(&root, 2), 0);
    REQUIRE(fbr_vector(&root, 1, &v));
    REQUIRE_EQ(v.n, 3);
    for (i = 0; i < 3; i++) {
        REQUIRE(fbr_vector_table(&v, i, &e));
        CHECK_EQ(fbr_uint(&e, 2, 2, 0), 100 + i); /* element order kept */
        st = fbr_struct(&e, 1, 8, 4);
        REQUIRE(st != NULL);
        CHECK_MEM(st, sbytes, 8);
        /* equal layouts share one vtable (element 0 started at another alignment) */
        if (i == 2) {
            fbr_table_t e1;
            REQUIRE(fbr_vector_table(&v, 1, &e1));
            CHECK_EQ(e.vt, e1.vt);
        }
    }
    CHECK(!r.err);
    if (r.err)
        fprintf(stderr, "  reader: %s\n", r.why);
}

static void test_fb_empty_string_and_vector(void)
{
    secmod_fb_builder_t b;
    fbr_t r;
    fbr_table_t root;
    fbr_vec_t v;
    const uint8_t *buf;
    const char *s;
    uint32_t slen = 99;
    size_t len;
    secmod_fb_ref_t str, vec, rt;

    secmod_fb_init(&b, page, sizeof(page));
    vec = secmod_fb_create_offset_vector(&b, NULL, 0);
    str = secmod_fb_create_string(&b, "", 0);
    secmod_fb_table_start(&b);
    secmod_fb_table_add_offset(&b, 0, str);
    secmod_fb_table_add_offset(&b, 1, vec);
    rt = secmod_fb_table_end(&b);
    REQUIRE_EQ(secmod_fb_finish(&b, rt, &buf, &len), SECMOD_FB_OK);
    fbr_init(&r, buf, len);
    REQUIRE(fbr_root(&r, &root));
    s = fbr_string(&root, 0, &slen);
    REQUIRE(s != NULL);
    CHECK_EQ(slen, 0);
    REQUIRE(fbr_vector(&root, 1, &v));
    CHECK_EQ(v.n, 0);
    CHECK(!r.err);
}

/* Build a fixed small message into a page of `cap` bytes. */
static int build_sample(uint8_t *pg, size_t cap, size_t *len)
{
    secmod_fb_builder_t b;
    const uint8_t *buf;
    secmod_fb_ref_t t[4], s, v, rt;
    unsigned i;
    static const uint8_t id[16] = {1};

    secmod_fb_init(&b, pg, cap);
    for (i = 0; i < 4; i++) {
        secmod_fb_table_start(&b);
        secmod_fb_table_add_struct(&b, 0, id, 16, 1);
        secmod_fb_table_add_u32(&b, 1, 1000 + i, 0);
        secmod_fb_table_add_u8(&b, 3, (uint8_t)(i + 1), 0);
        t[i] = secmod_fb_table_end(&b);
    }
    v = secmod_fb_create_offset_vector(&b, t, 4);
    s = secmod_fb_create_string(&b, "defender-iot-micro-agent", 24);
    secmod_fb_table_start(&b);
    secmod_fb_table_add_offset(&b, 3, v);
    secmod_fb_table_add_u32(&b, 1, 0x03050004u, 0);
    secmod_fb_table_add_offset(&b, 0, s);
    rt = secmod_fb_table_end(&b);
    return secmod_fb_finish(&b, rt, &buf, len);
}

static void test_fb_overflow_every_size(void)
{
    size_t need = 0, cap, len;
    uint8_t *mem;

    REQUIRE_EQ(build_sample(page, sizeof(page), &need), SECMOD_FB_OK);
    for (cap = 0; cap <= need; cap++) {
        /* exact-size heap block with guard bytes: ASan and the guards catch any stray write */
        mem = malloc(cap + 16);
        REQUIRE(mem != NULL);
        memset(mem, 0xCC, cap + 16);
        if (cap < need)
            CHECK_EQ(build_sample(mem + 8, cap, &len), SECMOD_FB_ERR_OVERFLOW);
        else
            CHECK_EQ(build_sample(mem + 8, cap, &len), SECMOD_FB_OK);
        CHECK_EQ(mem[0], 0xCC);
        CHECK_EQ(mem[7], 0xCC);
        CHECK_EQ(mem[cap + 8], 0xCC);
        CHECK_EQ(mem[cap + 15], 0xCC);
        free(mem);
    }
}

static void test_fb_usage_errors(void)
{
    secmod_fb_builder_t b;
    const uint8_t *buf;
    size_t len;
    secmod_fb_ref_t t;

    secmod_fb_init(&b, page, sizeof(page));
    secmod_fb_table_start(&b);
    secmod_fb_table_start(&b); /* nested */
    CHECK_EQ(secmod_fb_error(&b), SECMOD_FB_ERR_USAGE);

    secmod_fb_init(&b, page, sizeof(page));
    secmod_fb_table_start(&b);
    secmod_fb_table_add_u8(&b, 1, 1, 0);
    secmod_fb_table_add_u8(&b, 1, 2, 0); /* same slot twice */
    CHECK_EQ(secmod_fb_error(&b), SECMOD_FB_ERR_USAGE);

    secmod_fb_init(&b, page, sizeof(page));
    secmod_fb_table_start(&b);
    secmod_fb_table_add_u8(&b, SECMOD_FB_MAX_FIELDS, 1, 0); /* slot out of range */
    CHECK_EQ(secmod_fb_error(&b), SECMOD_FB_ERR_USAGE);

    secmod_fb_init(&b, page, sizeof(page));
    secmod_fb_table_start(&b);
    secmod_fb_table_add_offset(&b, 0, 4000); /* reference to nothing */
    t = secmod_fb_table_end(&b);
    CHECK_EQ(secmod_fb_finish(&b, t, &buf, &len), SECMOD_FB_ERR_USAGE);

    secmod_fb_init(&b, page, sizeof(page));
    secmod_fb_table_start(&b);
    (void)secmod_fb_create_string(&b, "x", 1); /* string inside an open table */
    CHECK_EQ(secmod_fb_error(&b), SECMOD_FB_ERR_USAGE);

    secmod_fb_init(&b, NULL, 100);
    CHECK_EQ(secmod_fb_finish(&b, 0, &buf, &len), SECMOD_FB_ERR_USAGE);
}

static void test_fb_negative_soffset_shared_vtable(void)
{
    /* a vtable written earlier (higher address) is reused: soffset < 0 */
    secmod_fb_builder_t b;
    fbr_t r;
    fbr_table_t root, child;
    const uint8_t *buf;
    size_t len;
    secmod_fb_ref_t c, rt;

    secmod_fb_init(&b, page, sizeof(page));
    secmod_fb_table_start(&b);
    secmod_fb_table_add_u32(&b, 0, 5, 0);
    secmod_fb_table_add_offset(&b, 1, 0);
    c = secmod_fb_table_end(&b);
    secmod_fb_table_start(&b);
    secmod_fb_table_add_u32(&b, 0, 9, 0);
    secmod_fb_table_add_u32(&b, 1, 0, 0);
    rt = secmod_fb_table_end(&b); /* same vtable shape as c: shared */
    (void)c;
    REQUIRE_EQ(secmod_fb_finish(&b, rt, &buf, &len), SECMOD_FB_OK);
    fbr_init(&r, buf, len);
    REQUIRE(fbr_root(&r, &root));
    CHECK_EQ(fbr_uint(&root, 0, 4, 0), 9);
    CHECK(root.vt > root.pos); /* shared with the child: negative soffset */
    CHECK_EQ(len, 28); /* offset 4 + root 8 + pad 2 + one shared 6-byte vtable + child 8 */
    (void)child;
    CHECK(!r.err);
}

void suite_fb_builder(void)
{
    RUN_TEST(test_fb_empty_table_bytes);
    RUN_TEST(test_fb_scalars_le_and_defaults);
    RUN_TEST(test_fb_string_vector_struct);
    RUN_TEST(test_fb_empty_string_and_vector);
    RUN_TEST(test_fb_overflow_every_size);
    RUN_TEST(test_fb_usage_errors);
    RUN_TEST(test_fb_negative_soffset_shared_vtable);
}
