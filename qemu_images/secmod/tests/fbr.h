/*
 * A small, strict FlatBuffers reader for the tests (written for this project).
 * Every access is bounds-checked, and the alignment rules of the format are
 * verified (tables and uoffsets 4, vtables 2, scalars their size, vector and
 * string length prefixes 4). A violation sets r->err and the access yields
 * the default / nothing.
 */
#ifndef FBR_H
#define FBR_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *buf;
    size_t len;
    int err;
    char why[96];
} fbr_t;

typedef struct {
    fbr_t *r;
    uint32_t pos;   /* table start */
    uint32_t vt;    /* vtable start */
    uint16_t vtlen; /* vtable bytes */
    uint16_t objlen;
} fbr_table_t;

typedef struct {
    fbr_t *r;
    uint32_t pos; /* first element */
    uint32_t n;
} fbr_vec_t;

void fbr_init(fbr_t *r, const uint8_t *buf, size_t len);
int fbr_root(fbr_t *r, fbr_table_t *t);
/* Offset of the field from the table start, 0 when absent. */
uint16_t fbr_field(const fbr_table_t *t, unsigned slot);
/* Number of slots in the vtable. */
unsigned fbr_nslots(const fbr_table_t *t);
uint64_t fbr_uint(const fbr_table_t *t, unsigned slot, unsigned size, uint64_t def);
const uint8_t *fbr_struct(const fbr_table_t *t, unsigned slot, unsigned size, unsigned align);
int fbr_subtable(const fbr_table_t *t, unsigned slot, fbr_table_t *out);
/* String field: pointer to NUL-terminated bytes, or NULL when absent. */
const char *fbr_string(const fbr_table_t *t, unsigned slot, uint32_t *len);
int fbr_vector(const fbr_table_t *t, unsigned slot, fbr_vec_t *v);
int fbr_vector_table(const fbr_vec_t *v, uint32_t i, fbr_table_t *out);

#endif
