/* Encoding of the security Message (spec §2.3) with secmod_fb_builder. */
#include "secmod_serializer.h"

#include <string.h>

/* vtable slots */
enum { MSG_ID = 0, MSG_VERSION = 1, MSG_TIMEZONE = 2, MSG_EVENTS = 3 };
enum { EV_ID = 0, EV_TIME = 1, EV_INTERVAL = 2, EV_PAYLOAD_TYPE = 3, EV_PAYLOAD = 4 };
enum { NA_IPV4 = 0, NA_IPV6 = 1 };
enum { REC_ADDRESSES = 0, REC_COMMON = 1 };
enum { CO_LOCAL_PORT = 0, CO_REMOTE_PORT = 1, CO_BYTES_IN = 2, CO_BYTES_OUT = 3, CO_PROTOCOL = 4 };
enum { SI_OS_INFO = 0 };

static secmod_fb_ref_t common_table(secmod_fb_builder_t *b, const secmod_flow_t *f)
{
    secmod_fb_table_start(b);
    secmod_fb_table_add_u32(b, CO_BYTES_IN, f->bytes_in, 0);
    secmod_fb_table_add_u32(b, CO_BYTES_OUT, f->bytes_out, 0);
    secmod_fb_table_add_u16(b, CO_LOCAL_PORT, f->local_port, 0);
    secmod_fb_table_add_u16(b, CO_REMOTE_PORT, f->remote_port, 0);
    secmod_fb_table_add_i8(b, CO_PROTOCOL, (int8_t)f->protocol, 0 /* TCP */);
    return secmod_fb_table_end(b);
}

/* Vector of NetworkActivityV4/V6 tables, or 0 when the window is empty. */
static secmod_fb_ref_t activity_vector(secmod_fb_builder_t *b, const secmod_serbuf_t *buf,
                                const secmod_flowtab_t *tab)
{
    const secmod_flowpool_t *pool;
    uint8_t addrs[32];
    size_t n = 0;
    secmod_flow_h h;

    if (tab == NULL || tab->count == 0)
        return 0;
    pool = tab->pool;
    for (h = secmod_flowtab_first(tab); h != 0; h = secmod_flowtab_next(tab, h)) {
        secmod_fb_ref_t common;
        if (n >= buf->max_refs)
            return 0; /* caller checked; keeps the scratch in bounds */
        common = common_table(b, secmod_flow_get(pool, h));
        /* IPv4Addresses/IPv6Addresses: raw network-order bytes, local then remote */
        memcpy(addrs, secmod_flow_local(pool, h), pool->alen);
        memcpy(addrs + pool->alen, secmod_flow_remote(pool, h), pool->alen);
        secmod_fb_table_start(b);
        secmod_fb_table_add_offset(b, REC_COMMON, common);
        secmod_fb_table_add_struct(b, REC_ADDRESSES, addrs, 2u * pool->alen, 4);
        buf->refs[n++] = secmod_fb_table_end(b);
    }
    return secmod_fb_create_offset_vector(b, buf->refs, n);
}

static secmod_fb_ref_t payload_table(secmod_fb_builder_t *b, const secmod_serbuf_t *buf,
                              const secmod_event_t *ev)
{
    secmod_fb_ref_t v4, v6, s = 0;

    switch (ev->payload_type) {
    case SECMOD_PAYLOAD_NETWORK_ACTIVITY:
        v4 = activity_vector(b, buf, ev->ipv4);
        v6 = activity_vector(b, buf, ev->ipv6);
        secmod_fb_table_start(b);
        secmod_fb_table_add_offset(b, NA_IPV4, v4);
        secmod_fb_table_add_offset(b, NA_IPV6, v6);
        return secmod_fb_table_end(b);
    case SECMOD_PAYLOAD_SYSTEM_INFORMATION:
        if (ev->os_info != NULL)
            s = secmod_fb_create_string(b, ev->os_info, strlen(ev->os_info));
        secmod_fb_table_start(b);
        secmod_fb_table_add_offset(b, SI_OS_INFO, s);
        return secmod_fb_table_end(b);
    case SECMOD_PAYLOAD_HEARTBEAT:
        secmod_fb_table_start(b);
        return secmod_fb_table_end(b);
    default:
        return 0;
    }
}

static size_t window_count(const secmod_flowtab_t *tab)
{
    return tab == NULL ? 0u : tab->count;
}

int secmod_serialize(const secmod_serbuf_t *buf, const char *module_id, uint32_t version,
                     const secmod_event_t *events, size_t n_events, const uint8_t **out,
                     size_t *out_len)
{
    secmod_fb_builder_t b;
    secmod_fb_ref_t id, evvec, root;
    size_t i;
    int rc;

    if (buf == NULL || buf->page == NULL || buf->refs == NULL || module_id == NULL ||
        (events == NULL && n_events != 0) || n_events > buf->max_refs)
        return SECMOD_SER_INVALID;
    for (i = 0; i < n_events; i++) {
        const secmod_event_t *ev = &events[i];
        if (ev->payload_type != SECMOD_PAYLOAD_NETWORK_ACTIVITY &&
            ev->payload_type != SECMOD_PAYLOAD_SYSTEM_INFORMATION &&
            ev->payload_type != SECMOD_PAYLOAD_HEARTBEAT)
            return SECMOD_SER_INVALID;
        /* record refs use the start of the scratch, event refs its end */
        if (window_count(ev->ipv4) + n_events > buf->max_refs ||
            window_count(ev->ipv6) + n_events > buf->max_refs)
            return SECMOD_SER_INVALID;
    }

    secmod_fb_init(&b, buf->page, buf->page_size);
    /* Payloads and events first: children are finished before their parents. */
    for (i = 0; i < n_events; i++) {
        const secmod_event_t *ev = &events[i];
        secmod_fb_ref_t payload = payload_table(&b, buf, ev);
        secmod_fb_ref_t evref;
        secmod_fb_table_start(&b);
        secmod_fb_table_add_offset(&b, EV_PAYLOAD, payload);
        secmod_fb_table_add_u32(&b, EV_TIME, ev->time, 0);
        secmod_fb_table_add_u32(&b, EV_INTERVAL, ev->collection_interval, 0);
        secmod_fb_table_add_struct(&b, EV_ID, ev->id, 16, 1);
        secmod_fb_table_add_u8(&b, EV_PAYLOAD_TYPE, ev->payload_type, 0);
        evref = secmod_fb_table_end(&b);
        /* event refs live at the end of the scratch, record refs at its start */
        buf->refs[buf->max_refs - n_events + i] = evref;
    }
    evvec = secmod_fb_create_offset_vector(&b, buf->refs + (buf->max_refs - n_events), n_events);
    id = secmod_fb_create_string(&b, module_id, strlen(module_id));

    secmod_fb_table_start(&b);
    secmod_fb_table_add_offset(&b, MSG_EVENTS, evvec);
    secmod_fb_table_add_u32(&b, MSG_VERSION, version, 0);
    secmod_fb_table_add_offset(&b, MSG_ID, id);
    /* MSG_TIMEZONE is never written (FIXME in the real serializer) */
    root = secmod_fb_table_end(&b);

    rc = secmod_fb_finish(&b, root, out, out_len);
    if (rc == SECMOD_FB_ERR_OVERFLOW)
        return SECMOD_SER_TOO_BIG;
    return rc == SECMOD_FB_OK ? SECMOD_SER_OK : SECMOD_SER_INVALID;
}
