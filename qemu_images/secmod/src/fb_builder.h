/*
 * Minimal FlatBuffers builder (written for this project).
 *
 * The buffer is built back to front in a caller-provided page: every object is
 * pushed below the previous one and referred to by its distance from the end of
 * the page (secmod_fb_ref_t). Output is little-endian on any host, aligned as the
 * FlatBuffers format requires, with no file identifier. Scalars equal to their
 * default are not written. Equal vtables are shared (a small cache).
 *
 * Children must be finished before the table that refers to them; only one
 * table can be open at a time. Errors are sticky: after the first overflow or
 * misuse every call is a no-op and secmod_fb_finish() reports the error.
 */
#ifndef SECMOD_FB_BUILDER_H
#define SECMOD_FB_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#ifndef SECMOD_FB_MAX_FIELDS
#define SECMOD_FB_MAX_FIELDS 12 /* highest vtable slot id + 1 a table may use */
#endif
#ifndef SECMOD_FB_VTABLE_CACHE
#define SECMOD_FB_VTABLE_CACHE 40 /* vtables remembered for sharing */
#endif

typedef uint32_t secmod_fb_ref_t; /* distance of an object's start from the page end; 0 = none */

enum {
    SECMOD_FB_OK = 0,
    SECMOD_FB_ERR_OVERFLOW = -1, /* the page is too small: "message too big" */
    SECMOD_FB_ERR_USAGE = -2,    /* API misuse (nested table, bad slot, bad reference) */
};

typedef struct {
    uint8_t *page;
    uint32_t cap;
    uint32_t size;     /* bytes used at the end of the page */
    uint32_t minalign; /* largest alignment seen */
    int error;
    int in_table;
    uint32_t table_start;
    uint16_t nslots;
    uint32_t field_ref[SECMOD_FB_MAX_FIELDS];
    uint32_t vt_cache[SECMOD_FB_VTABLE_CACHE];
    uint16_t vt_count;
} secmod_fb_builder_t;

void secmod_fb_init(secmod_fb_builder_t *b, uint8_t *page, size_t cap);
int secmod_fb_error(const secmod_fb_builder_t *b);

secmod_fb_ref_t secmod_fb_create_string(secmod_fb_builder_t *b, const char *s, size_t len);
/* Vector of offsets; elems[0] becomes element 0. */
secmod_fb_ref_t secmod_fb_create_offset_vector(secmod_fb_builder_t *b, const secmod_fb_ref_t *elems,
                                               size_t n);

void secmod_fb_table_start(secmod_fb_builder_t *b);
void secmod_fb_table_add_u8(secmod_fb_builder_t *b, unsigned slot, uint8_t v, uint8_t def);
void secmod_fb_table_add_i8(secmod_fb_builder_t *b, unsigned slot, int8_t v, int8_t def);
void secmod_fb_table_add_u16(secmod_fb_builder_t *b, unsigned slot, uint16_t v, uint16_t def);
void secmod_fb_table_add_u32(secmod_fb_builder_t *b, unsigned slot, uint32_t v, uint32_t def);
/* Struct stored inline; `bytes` is its little-endian wire image. */
void secmod_fb_table_add_struct(secmod_fb_builder_t *b, unsigned slot, const void *bytes,
                                size_t size, size_t align);
/* Offset to a string/vector/table made earlier; ref 0 leaves the field absent. */
void secmod_fb_table_add_offset(secmod_fb_builder_t *b, unsigned slot, secmod_fb_ref_t ref);
secmod_fb_ref_t secmod_fb_table_end(secmod_fb_builder_t *b);

/* Writes the root offset; on success *buf and *len give the finished buffer inside the page. */
int secmod_fb_finish(secmod_fb_builder_t *b, secmod_fb_ref_t root, const uint8_t **buf,
                     size_t *len);

#endif
