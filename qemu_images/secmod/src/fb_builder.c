/* Minimal FlatBuffers builder; see fb_builder.h. Written for this project. */
#include "fb_builder.h"

#include <string.h>

#define SECMOD_FB_MAX_CAP 0x7FFFFFF0u

static void fail(secmod_fb_builder_t *b, int err)
{
    if (b->error == SECMOD_FB_OK)
        b->error = err;
}

void secmod_fb_init(secmod_fb_builder_t *b, uint8_t *page, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->page = page;
    b->cap = (uint32_t)(cap > SECMOD_FB_MAX_CAP ? SECMOD_FB_MAX_CAP : cap);
    b->minalign = 1;
    if (page == NULL)
        b->error = SECMOD_FB_ERR_USAGE;
}

int secmod_fb_error(const secmod_fb_builder_t *b)
{
    return b->error;
}

/* Address of the object that starts `ref` bytes before the page end. */
static uint8_t *at(const secmod_fb_builder_t *b, uint32_t ref)
{
    return b->page + (b->cap - ref);
}

/* Grow downwards by n bytes; returns the new lowest address or NULL on overflow. */
static uint8_t *reserve(secmod_fb_builder_t *b, uint32_t n)
{
    if (b->error != SECMOD_FB_OK)
        return NULL;
    if (b->cap - b->size < n) {
        fail(b, SECMOD_FB_ERR_OVERFLOW);
        return NULL;
    }
    b->size += n;
    return at(b, b->size);
}

/* Zero-pad so that after `extra` more bytes the size is a multiple of align (power of 2). */
static void prep(secmod_fb_builder_t *b, uint32_t align, uint32_t extra)
{
    uint32_t pad;
    uint8_t *p;

    if (b->error != SECMOD_FB_OK)
        return;
    if (align > b->minalign)
        b->minalign = align;
    pad = (0u - (b->size + extra)) & (align - 1u);
    if (pad == 0)
        return;
    p = reserve(b, pad);
    if (p != NULL)
        memset(p, 0, pad);
}

static void put_le(uint8_t *p, uint32_t v, unsigned n)
{
    unsigned i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8u * i));
}

static void push_scalar(secmod_fb_builder_t *b, uint32_t v, unsigned n)
{
    uint8_t *p;
    prep(b, n, n);
    p = reserve(b, n);
    if (p != NULL)
        put_le(p, v, n);
}

/* uoffset pointing from its own location to an object made earlier (lower ref). */
static void push_uoffset(secmod_fb_builder_t *b, secmod_fb_ref_t target)
{
    uint8_t *p;
    prep(b, 4, 4);
    if (b->error != SECMOD_FB_OK)
        return;
    if (target == 0 || target > b->size) {
        fail(b, SECMOD_FB_ERR_USAGE);
        return;
    }
    p = reserve(b, 4);
    if (p != NULL)
        put_le(p, b->size - target, 4);
}

secmod_fb_ref_t secmod_fb_create_string(secmod_fb_builder_t *b, const char *s, size_t len)
{
    uint8_t *p;

    if (b->in_table || (s == NULL && len != 0) || len > SECMOD_FB_MAX_CAP) {
        fail(b, SECMOD_FB_ERR_USAGE);
        return 0;
    }
    prep(b, 4, (uint32_t)len + 1u);
    p = reserve(b, (uint32_t)len + 1u);
    if (p == NULL)
        return 0;
    if (len != 0)
        memcpy(p, s, len);
    p[len] = 0;
    push_scalar(b, (uint32_t)len, 4);
    return b->error == SECMOD_FB_OK ? b->size : 0;
}

secmod_fb_ref_t secmod_fb_create_offset_vector(secmod_fb_builder_t *b, const secmod_fb_ref_t *elems,
                                               size_t n)
{
    size_t i;

    if (b->in_table || (elems == NULL && n != 0) || n > SECMOD_FB_MAX_CAP / 4u) {
        fail(b, SECMOD_FB_ERR_USAGE);
        return 0;
    }
    prep(b, 4, (uint32_t)n * 4u);
    for (i = n; i > 0; i--)
        push_uoffset(b, elems[i - 1]);
    push_scalar(b, (uint32_t)n, 4);
    return b->error == SECMOD_FB_OK ? b->size : 0;
}

void secmod_fb_table_start(secmod_fb_builder_t *b)
{
    if (b->in_table) {
        fail(b, SECMOD_FB_ERR_USAGE);
        return;
    }
    b->in_table = 1;
    b->table_start = UINT32_MAX; /* set by the first field, or by the soffset */
    b->nslots = 0;
    memset(b->field_ref, 0, sizeof(b->field_ref));
}

static int slot_ok(secmod_fb_builder_t *b, unsigned slot)
{
    if (!b->in_table || slot >= SECMOD_FB_MAX_FIELDS || b->field_ref[slot] != 0) {
        fail(b, SECMOD_FB_ERR_USAGE);
        return 0;
    }
    return b->error == SECMOD_FB_OK;
}

/*
 * The object of a table starts (at its high end) where its first field begins;
 * alignment padding above that is not part of it, so that equal layouts give
 * equal vtables wherever they start.
 */
static void mark_table_end(secmod_fb_builder_t *b)
{
    if (b->table_start == UINT32_MAX)
        b->table_start = b->size;
}

static void record_field(secmod_fb_builder_t *b, unsigned slot)
{
    if (b->error != SECMOD_FB_OK)
        return;
    b->field_ref[slot] = b->size;
    if (slot + 1u > b->nslots)
        b->nslots = (uint16_t)(slot + 1u);
}

static void add_scalar(secmod_fb_builder_t *b, unsigned slot, uint32_t v, unsigned n)
{
    if (!slot_ok(b, slot))
        return;
    prep(b, n, n);
    mark_table_end(b);
    push_scalar(b, v, n);
    record_field(b, slot);
}

void secmod_fb_table_add_u8(secmod_fb_builder_t *b, unsigned slot, uint8_t v, uint8_t def)
{
    if (v != def)
        add_scalar(b, slot, v, 1);
}

void secmod_fb_table_add_i8(secmod_fb_builder_t *b, unsigned slot, int8_t v, int8_t def)
{
    if (v != def)
        add_scalar(b, slot, (uint8_t)v, 1);
}

void secmod_fb_table_add_u16(secmod_fb_builder_t *b, unsigned slot, uint16_t v, uint16_t def)
{
    if (v != def)
        add_scalar(b, slot, v, 2);
}

void secmod_fb_table_add_u32(secmod_fb_builder_t *b, unsigned slot, uint32_t v, uint32_t def)
{
    if (v != def)
        add_scalar(b, slot, v, 4);
}

void secmod_fb_table_add_struct(secmod_fb_builder_t *b, unsigned slot, const void *bytes,
                                size_t size, size_t align)
{
    uint8_t *p;

    if (!slot_ok(b, slot))
        return;
    if (bytes == NULL || size == 0 || size > 0xFFFFu || align == 0 || align > 16 ||
        (align & (align - 1u)) != 0) {
        fail(b, SECMOD_FB_ERR_USAGE);
        return;
    }
    prep(b, (uint32_t)align, (uint32_t)size);
    mark_table_end(b);
    p = reserve(b, (uint32_t)size);
    if (p == NULL)
        return;
    memcpy(p, bytes, size);
    record_field(b, slot);
}

void secmod_fb_table_add_offset(secmod_fb_builder_t *b, unsigned slot, secmod_fb_ref_t ref)
{
    if (ref == 0 || !slot_ok(b, slot))
        return;
    prep(b, 4, 4);
    mark_table_end(b);
    push_uoffset(b, ref);
    record_field(b, slot);
}

/* An earlier vtable with exactly these bytes, or 0. */
static uint32_t find_vtable(const secmod_fb_builder_t *b, const uint8_t *vt, uint32_t vtsize)
{
    uint16_t i;
    for (i = 0; i < b->vt_count; i++) {
        const uint8_t *c = at(b, b->vt_cache[i]);
        if (b->vt_cache[i] >= vtsize && c[0] == vt[0] && c[1] == vt[1] &&
            memcmp(c, vt, vtsize) == 0)
            return b->vt_cache[i];
    }
    return 0;
}

secmod_fb_ref_t secmod_fb_table_end(secmod_fb_builder_t *b)
{
    uint8_t vt[4 + 2 * SECMOD_FB_MAX_FIELDS];
    uint32_t vtsize, table_ref, vt_ref, objsize;
    unsigned i;
    uint8_t *p;

    if (!b->in_table) {
        fail(b, SECMOD_FB_ERR_USAGE);
        return 0;
    }
    b->in_table = 0;
    /* soffset_t to the vtable, patched below */
    prep(b, 4, 4);
    mark_table_end(b);
    push_scalar(b, 0, 4);
    if (b->error != SECMOD_FB_OK)
        return 0;
    table_ref = b->size;
    objsize = table_ref - b->table_start;
    if (objsize > 0xFFFFu) {
        fail(b, SECMOD_FB_ERR_USAGE);
        return 0;
    }
    vtsize = 4u + 2u * b->nslots;
    put_le(vt, vtsize, 2);
    put_le(vt + 2, objsize, 2);
    for (i = 0; i < b->nslots; i++)
        put_le(vt + 4 + 2 * i, b->field_ref[i] ? table_ref - b->field_ref[i] : 0u, 2);

    vt_ref = find_vtable(b, vt, vtsize);
    if (vt_ref == 0) {
        prep(b, 2, vtsize);
        p = reserve(b, vtsize);
        if (p == NULL)
            return 0;
        memcpy(p, vt, vtsize);
        vt_ref = b->size;
        if (b->vt_count < SECMOD_FB_VTABLE_CACHE)
            b->vt_cache[b->vt_count++] = vt_ref;
    }
    /* vtable address = table address - soffset */
    put_le(at(b, table_ref), (uint32_t)((int32_t)vt_ref - (int32_t)table_ref), 4);
    return table_ref;
}

int secmod_fb_finish(secmod_fb_builder_t *b, secmod_fb_ref_t root, const uint8_t **buf, size_t *len)
{
    if (b->in_table)
        fail(b, SECMOD_FB_ERR_USAGE);
    prep(b, b->minalign > 4 ? b->minalign : 4, 4);
    push_uoffset(b, root);
    if (b->error != SECMOD_FB_OK)
        return b->error;
    if (buf != NULL)
        *buf = at(b, b->size);
    if (len != NULL)
        *len = b->size;
    return SECMOD_FB_OK;
}
