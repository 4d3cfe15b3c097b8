/* Strict FlatBuffers reader for tests; see fbr.h. */
#include "fbr.h"

#include <stdio.h>
#include <string.h>

static void bad(fbr_t *r, const char *why, uint32_t where)
{
    if (!r->err) {
        r->err = 1;
        snprintf(r->why, sizeof(r->why), "%s at %u", why, (unsigned)where);
    }
}

static int span(fbr_t *r, uint32_t pos, uint32_t n, uint32_t align)
{
    if (pos > r->len || r->len - pos < n) {
        bad(r, "out of bounds", pos);
        return 0;
    }
    if (align > 1 && pos % align != 0) {
        bad(r, "misaligned", pos);
        return 0;
    }
    return 1;
}

static uint64_t rd(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8u * i);
    return v;
}

void fbr_init(fbr_t *r, const uint8_t *buf, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->buf = buf;
    r->len = len;
}

static int table_at(fbr_t *r, uint32_t pos, fbr_table_t *t)
{
    int32_t so;
    int64_t vt;
    memset(t, 0, sizeof(*t));
    t->r = r;
    if (!span(r, pos, 4, 4))
        return 0;
    so = (int32_t)(uint32_t)rd(r->buf + pos, 4);
    vt = (int64_t)pos - so;
    if (vt < 0 || vt > (int64_t)r->len || !span(r, (uint32_t)vt, 4, 2)) {
        bad(r, "bad vtable offset", pos);
        return 0;
    }
    t->pos = pos;
    t->vt = (uint32_t)vt;
    t->vtlen = (uint16_t)rd(r->buf + vt, 2);
    t->objlen = (uint16_t)rd(r->buf + vt + 2, 2);
    if (t->vtlen < 4 || (t->vtlen & 1u) || !span(r, t->vt, t->vtlen, 2) ||
        t->objlen < 4 || !span(r, pos, t->objlen, 1)) {
        bad(r, "bad vtable", t->vt);
        return 0;
    }
    return 1;
}

static int follow(fbr_t *r, uint32_t at, uint32_t *target)
{
    uint32_t off;
    if (!span(r, at, 4, 4))
        return 0;
    off = (uint32_t)rd(r->buf + at, 4);
    if (off == 0 || off > r->len - at) {
        bad(r, "bad uoffset", at);
        return 0;
    }
    *target = at + off;
    return 1;
}

int fbr_root(fbr_t *r, fbr_table_t *t)
{
    uint32_t pos;
    return follow(r, 0, &pos) && table_at(r, pos, t);
}

unsigned fbr_nslots(const fbr_table_t *t)
{
    return t->vtlen >= 4 ? (t->vtlen - 4u) / 2u : 0u;
}

uint16_t fbr_field(const fbr_table_t *t, unsigned slot)
{
    uint16_t off;
    if (t->r == NULL || slot >= fbr_nslots(t))
        return 0;
    off = (uint16_t)rd(t->r->buf + t->vt + 4 + 2 * slot, 2);
    if (off != 0 && (off < 4 || off >= t->objlen)) {
        bad(t->r, "field offset outside table", t->vt);
        return 0;
    }
    return off;
}

uint64_t fbr_uint(const fbr_table_t *t, unsigned slot, unsigned size, uint64_t def)
{
    uint16_t off = fbr_field(t, slot);
    if (off == 0 || off + size > t->objlen || !span(t->r, t->pos + off, size, size))
        return def;
    return rd(t->r->buf + t->pos + off, size);
}

const uint8_t *fbr_struct(const fbr_table_t *t, unsigned slot, unsigned size, unsigned align)
{
    uint16_t off = fbr_field(t, slot);
    if (off == 0 || off + size > t->objlen || !span(t->r, t->pos + off, size, align))
        return NULL;
    return t->r->buf + t->pos + off;
}

static int field_target(const fbr_table_t *t, unsigned slot, uint32_t *target)
{
    uint16_t off = fbr_field(t, slot);
    if (off == 0)
        return 0;
    return follow(t->r, t->pos + off, target);
}

int fbr_subtable(const fbr_table_t *t, unsigned slot, fbr_table_t *out)
{
    uint32_t pos;
    return field_target(t, slot, &pos) && table_at(t->r, pos, out);
}

const char *fbr_string(const fbr_table_t *t, unsigned slot, uint32_t *len)
{
    uint32_t pos, n;
    if (!field_target(t, slot, &pos) || !span(t->r, pos, 4, 4))
        return NULL;
    n = (uint32_t)rd(t->r->buf + pos, 4);
    if (!span(t->r, pos + 4, n + 1u, 1) || t->r->buf[pos + 4 + n] != 0) {
        bad(t->r, "bad string", pos);
        return NULL;
    }
    if (len != NULL)
        *len = n;
    return (const char *)t->r->buf + pos + 4;
}

int fbr_vector(const fbr_table_t *t, unsigned slot, fbr_vec_t *v)
{
    uint32_t pos, n;
    memset(v, 0, sizeof(*v));
    v->r = t->r;
    if (!field_target(t, slot, &pos) || !span(t->r, pos, 4, 4))
        return 0;
    n = (uint32_t)rd(t->r->buf + pos, 4);
    if (n > (t->r->len - pos - 4) / 4u) {
        bad(t->r, "vector too long", pos);
        return 0;
    }
    v->pos = pos + 4;
    v->n = n;
    return 1;
}

int fbr_vector_table(const fbr_vec_t *v, uint32_t i, fbr_table_t *out)
{
    uint32_t pos;
    if (i >= v->n)
        return 0;
    return follow(v->r, v->pos + 4u * i, &pos) && table_at(v->r, pos, out);
}
