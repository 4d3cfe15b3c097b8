/* Test decoder of security messages (schema 2.3); see secmsg_reader.h. */
#include "secmsg_reader.h"

#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *why, const fbr_t *r)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s%s%s", why, r && r->err ? ": " : "", r && r->err ? r->why : "");
    return -1;
}

static int record(const fbr_table_t *t, unsigned alen, rd_record_t *rec)
{
    fbr_table_t c;
    const uint8_t *a = fbr_struct(t, 0, 2u * alen, 4);
    memset(rec, 0, sizeof(*rec));
    if (a == NULL || !fbr_subtable(t, 1, &c))
        return 0;
    memcpy(rec->local, a, alen);
    memcpy(rec->remote, a + alen, alen);
    rec->has_local_port = fbr_field(&c, 0) != 0;
    rec->has_remote_port = fbr_field(&c, 1) != 0;
    rec->has_bytes_in = fbr_field(&c, 2) != 0;
    rec->has_bytes_out = fbr_field(&c, 3) != 0;
    rec->has_protocol = fbr_field(&c, 4) != 0;
    rec->local_port = (uint16_t)fbr_uint(&c, 0, 2, 0);
    rec->remote_port = (uint16_t)fbr_uint(&c, 1, 2, 0);
    rec->bytes_in = (uint32_t)fbr_uint(&c, 2, 4, 0);
    rec->bytes_out = (uint32_t)fbr_uint(&c, 3, 4, 0);
    rec->protocol = (uint8_t)fbr_uint(&c, 4, 1, 0);
    rec->common_slots = fbr_nslots(&c);
    return 1;
}

static int records(const fbr_table_t *na, unsigned slot, unsigned alen, rd_record_t *out,
                   uint32_t *n, int *present)
{
    fbr_vec_t v;
    uint32_t i;
    *present = fbr_vector(na, slot, &v);
    *n = 0;
    if (!*present)
        return 1;
    if (v.n > RD_MAX_RECORDS)
        return 0;
    for (i = 0; i < v.n; i++) {
        fbr_table_t t;
        if (!fbr_vector_table(&v, i, &t) || !record(&t, alen, &out[i]))
            return 0;
    }
    *n = v.n;
    return 1;
}

int rd_decode(const uint8_t *buf, size_t len, rd_message_t *m, char *err, size_t errlen)
{
    fbr_t r;
    fbr_table_t root;
    fbr_vec_t evs;
    const char *s;
    uint32_t i, slen;

    memset(m, 0, sizeof(*m));
    fbr_init(&r, buf, len);
    if (!fbr_root(&r, &root))
        return fail(err, errlen, "no root table", &r);
    s = fbr_string(&root, 0, &slen);
    if (s == NULL || slen >= sizeof(m->module_id))
        return fail(err, errlen, "security_module_id missing", &r);
    memcpy(m->module_id, s, slen + 1);
    m->has_version = fbr_field(&root, 1) != 0;
    m->version = (uint32_t)fbr_uint(&root, 1, 4, 0);
    m->has_timezone = fbr_field(&root, 2) != 0;
    if (!fbr_vector(&root, 3, &evs))
        return fail(err, errlen, "events missing", &r);
    if (evs.n > RD_MAX_EVENTS)
        return fail(err, errlen, "too many events", &r);
    for (i = 0; i < evs.n; i++) {
        rd_event_t *e = &m->ev[i];
        fbr_table_t et, pt;
        const uint8_t *id;
        if (!fbr_vector_table(&evs, i, &et))
            return fail(err, errlen, "bad event", &r);
        id = fbr_struct(&et, 0, 16, 1);
        if (id == NULL)
            return fail(err, errlen, "event id missing", &r);
        memcpy(e->id, id, 16);
        e->has_time = fbr_field(&et, 1) != 0;
        e->time = (uint32_t)fbr_uint(&et, 1, 4, 0);
        e->has_interval = fbr_field(&et, 2) != 0;
        e->collection_interval = (uint32_t)fbr_uint(&et, 2, 4, 0);
        e->payload_type = (uint8_t)fbr_uint(&et, 3, 1, 0);
        if (!fbr_subtable(&et, 4, &pt))
            return fail(err, errlen, "payload missing", &r);
        e->payload_slots = fbr_nslots(&pt);
        switch (e->payload_type) {
        case 1:
            if (!records(&pt, 0, 4, e->v4, &e->n4, &e->has_v4) ||
                !records(&pt, 1, 16, e->v6, &e->n6, &e->has_v6))
                return fail(err, errlen, "bad network activity", &r);
            break;
        case 2:
            s = fbr_string(&pt, 0, &slen);
            e->has_os_info = s != NULL;
            if (s != NULL) {
                if (slen >= sizeof(e->os_info))
                    return fail(err, errlen, "os_info too long", &r);
                memcpy(e->os_info, s, slen + 1);
            }
            e->has_kernel_info = fbr_field(&pt, 1) != 0;
            e->has_hw_info = fbr_field(&pt, 2) != 0;
            break;
        case 4:
            break;
        default:
            return fail(err, errlen, "unexpected payload type", &r);
        }
        if (r.err)
            return fail(err, errlen, "malformed", &r);
    }
    m->n_events = evs.n;
    if (r.err)
        return fail(err, errlen, "malformed", &r);
    return 0;
}

void rd_format_ipv6(const uint8_t a[16], char out[46])
{
    unsigned g[8], i, best = 0, bestlen = 0;
    char *p = out;
    for (i = 0; i < 8; i++)
        g[i] = ((unsigned)a[2 * i] << 8) | a[2 * i + 1];
    /* longest run (>= 2) of zero groups, first one on a tie (RFC 5952 4.2) */
    for (i = 0; i < 8;) {
        unsigned j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > bestlen && j - i >= 2) {
            best = i;
            bestlen = j - i;
        }
        i = j > i ? j : i + 1;
    }
    for (i = 0; i < 8; i++) {
        if (bestlen && i == best) {
            p += sprintf(p, "::");
            i += bestlen - 1;
            continue;
        }
        if (p != out && p[-1] != ':')
            *p++ = ':';
        p += sprintf(p, "%x", g[i]);
    }
    *p = 0;
}

static const char *proto_name(uint8_t p)
{
    return p == 0 ? "tcp" : p == 1 ? "udp" : p == 2 ? "icmp" : "?";
}

size_t rd_to_text(const rd_message_t *m, char *out, size_t cap)
{
    size_t n = 0;
    uint32_t i, j;
#define EMIT(...)                                                                               \
    do {                                                                                        \
        int k_ = snprintf(out + n, n < cap ? cap - n : 0, __VA_ARGS__);                         \
        if (k_ > 0)                                                                             \
            n += (size_t)k_;                                                                    \
    } while (0)
    EMIT("message id=\"%s\" version=%u.%u.%u\n", m->module_id, (unsigned)(m->version >> 24),
         (unsigned)((m->version >> 16) & 0xFFu), (unsigned)(m->version & 0xFFFFu));
    for (i = 0; i < m->n_events; i++) {
        const rd_event_t *e = &m->ev[i];
        EMIT("event uuid=");
        for (j = 0; j < 16; j++)
            EMIT("%02x", e->id[j]);
        EMIT(" time=%u interval=%u type=%s", (unsigned)e->time, (unsigned)e->collection_interval,
             e->payload_type == 1 ? "network" : e->payload_type == 2 ? "sysinfo" : "heartbeat");
        if (e->payload_type == 2 && e->has_os_info)
            EMIT(" os=\"%s\"", e->os_info);
        EMIT("\n");
        for (j = 0; j < e->n4; j++) {
            const rd_record_t *r = &e->v4[j];
            EMIT("v4 local=%u.%u.%u.%u remote=%u.%u.%u.%u lport=%u rport=%u in=%u out=%u proto=%s\n",
                 r->local[0], r->local[1], r->local[2], r->local[3], r->remote[0], r->remote[1],
                 r->remote[2], r->remote[3], r->local_port, r->remote_port,
                 (unsigned)r->bytes_in, (unsigned)r->bytes_out, proto_name(r->protocol));
        }
        for (j = 0; j < e->n6; j++) {
            const rd_record_t *r = &e->v6[j];
            char l[46], rm[46];
            rd_format_ipv6(r->local, l);
            rd_format_ipv6(r->remote, rm);
            EMIT("v6 local=%s remote=%s lport=%u rport=%u in=%u out=%u proto=%s\n", l, rm,
                 r->local_port, r->remote_port, (unsigned)r->bytes_in, (unsigned)r->bytes_out,
                 proto_name(r->protocol));
        }
    }
#undef EMIT
    return n;
}
