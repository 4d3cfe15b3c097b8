/* Text description -> module records/events -> secmod_serialize(). See secmod_text.h. */
#include "secmod_text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "secmod_netparse.h"

#define TAB_BUCKETS 1024u

static secmod_flow_t v4_recs[SECMOD_TEXT_MAX_RECORDS];
static uint8_t v4_addrs[SECMOD_TEXT_MAX_RECORDS * 8];
static secmod_flow_t v6_recs[SECMOD_TEXT_MAX_RECORDS];
static uint8_t v6_addrs[SECMOD_TEXT_MAX_RECORDS * 32];
static secmod_flowpool_t pool4, pool6;
static secmod_flowtab_t tabs4[SECMOD_TEXT_MAX_EVENTS], tabs6[SECMOD_TEXT_MAX_EVENTS];
static secmod_flow_h buckets4[SECMOD_TEXT_MAX_EVENTS][TAB_BUCKETS];
static secmod_flow_h buckets6[SECMOD_TEXT_MAX_EVENTS][TAB_BUCKETS];

static union {
    uint64_t align;
    uint8_t bytes[4u * 1024u * 1024u];
} page;
static secmod_fb_ref_t refs[SECMOD_TEXT_MAX_RECORDS + SECMOD_TEXT_MAX_EVENTS];

/* ---- small parsers ---- */

static int parse_uint(const char *s, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (*s == 0)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10u + (uint64_t)(*s - '0');
        if (v > max)
            return 0;
    }
    *out = (uint32_t)v;
    return 1;
}

int secmod_text_parse_ipv4(const char *s, uint8_t out[4])
{
    unsigned i;
    for (i = 0; i < 4; i++) {
        unsigned v = 0, digits = 0;
        while (*s >= '0' && *s <= '9') {
            if (digits == 3 || (digits == 1 && v == 0))
                return 0; /* too long, or a leading zero */
            v = v * 10u + (unsigned)(*s - '0');
            digits++;
            s++;
        }
        if (digits == 0 || v > 255)
            return 0;
        out[i] = (uint8_t)v;
        if (i < 3 && *s++ != '.')
            return 0;
    }
    return *s == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Groups of one side of "::" into g[]; a dotted IPv4 tail is allowed as the
 * last item of the address when `tail_ok`. Returns the number of 16-bit
 * groups, -1 on error.
 */
static int ipv6_groups(const char *s, size_t n, int tail_ok, uint16_t *g)
{
    int count = 0;
    size_t i = 0;
    if (n == 0)
        return 0;
    for (;;) {
        size_t j = i;
        unsigned v = 0;
        while (j < n && s[j] != ':')
            j++;
        if (j == i)
            return -1; /* empty group */
        if (memchr(s + i, '.', j - i) != NULL) {
            char buf[16];
            uint8_t a[4];
            if (!tail_ok || j != n || j - i >= sizeof(buf) || count > 6)
                return -1;
            memcpy(buf, s + i, j - i);
            buf[j - i] = 0;
            if (!secmod_text_parse_ipv4(buf, a))
                return -1;
            g[count++] = (uint16_t)((a[0] << 8) | a[1]);
            g[count++] = (uint16_t)((a[2] << 8) | a[3]);
            return count;
        }
        if (j - i > 4 || count >= 8)
            return -1;
        for (; i < j; i++) {
            int h = hexval(s[i]);
            if (h < 0)
                return -1;
            v = v * 16u + (unsigned)h;
        }
        g[count++] = (uint16_t)v;
        if (j == n)
            return count;
        i = j + 1;
        if (i == n)
            return -1; /* trailing ':' */
    }
}

int secmod_text_parse_ipv6(const char *s, uint8_t out[16])
{
    uint16_t left[8], right[8], all[8];
    const char *dc = strstr(s, "::");
    size_t len = strlen(s);
    int nl, nr, i;

    if (len == 0 || len > 45)
        return 0;
    if (dc != NULL) {
        if (strstr(dc + 1, "::") != NULL)
            return 0; /* "::" at most once */
        nl = ipv6_groups(s, (size_t)(dc - s), 0, left);
        nr = ipv6_groups(dc + 2, len - (size_t)(dc - s) - 2u, 1, right);
        if (nl < 0 || nr < 0 || nl + nr > 7)
            return 0;
        memset(all, 0, sizeof(all));
        for (i = 0; i < nl; i++)
            all[i] = left[i];
        for (i = 0; i < nr; i++)
            all[8 - nr + i] = right[i];
    } else {
        nl = ipv6_groups(s, len, 1, all);
        if (nl != 8)
            return 0;
    }
    for (i = 0; i < 8; i++) {
        out[2 * i] = (uint8_t)(all[i] >> 8);
        out[2 * i + 1] = (uint8_t)all[i];
    }
    return 1;
}

/* ---- line tokenizer ---- */

#define MAX_KV 12

typedef struct {
    char key[16];
    char val[SECMOD_TEXT_MAX_STRING + 1];
    int quoted;
    int used;
} kv_t;

typedef struct {
    char kind[16];
    kv_t kv[MAX_KV];
    int n;
} line_t;

static char *errbuf;
static size_t errcap;
static unsigned lineno;

static int error(const char *fmt, ...)
{
    va_list ap;
    int k = snprintf(errbuf, errcap, "line %u: ", lineno);
    if (k < 0 || (size_t)k >= errcap)
        return -1;
    va_start(ap, fmt);
    vsnprintf(errbuf + k, errcap - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static int tokenize(const char *s, size_t n, line_t *ln)
{
    size_t i = 0, k;
    memset(ln, 0, sizeof(*ln));
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    for (k = 0; i < n && !isspace((unsigned char)s[i]); i++) {
        if (k + 1 >= sizeof(ln->kind))
            return error("unknown line kind");
        ln->kind[k++] = s[i];
    }
    for (;;) {
        kv_t *kv;
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i >= n)
            return 0;
        if (ln->n >= MAX_KV)
            return error("too many fields");
        kv = &ln->kv[ln->n];
        for (k = 0; i < n && s[i] != '=' && !isspace((unsigned char)s[i]); i++) {
            if (k + 1 >= sizeof(kv->key))
                return error("field name too long");
            kv->key[k++] = s[i];
        }
        if (k == 0 || i >= n || s[i] != '=')
            return error("expected key=value, got \"%.*s\"", (int)(k < 20 ? k : 20),
                         s + i - k);
        i++;
        k = 0;
        if (i < n && s[i] == '"') {
            kv->quoted = 1;
            for (i++; i < n && s[i] != '"'; i++) {
                if (k >= SECMOD_TEXT_MAX_STRING)
                    return error("string of %s longer than %u bytes", kv->key,
                                 SECMOD_TEXT_MAX_STRING);
                kv->val[k++] = s[i];
            }
            if (i >= n)
                return error("unterminated string in %s", kv->key);
            i++;
            if (i < n && !isspace((unsigned char)s[i]))
                return error("text after the closing quote of %s", kv->key);
        } else {
            for (; i < n && !isspace((unsigned char)s[i]); i++) {
                if (s[i] == '"')
                    return error("unexpected quote in %s", kv->key);
                if (k >= SECMOD_TEXT_MAX_STRING)
                    return error("value of %s too long", kv->key);
                kv->val[k++] = s[i];
            }
            if (k == 0)
                return error("empty value for %s", kv->key);
        }
        kv->val[k] = 0;
        for (k = 0; k < (size_t)ln->n; k++)
            if (strcmp(ln->kv[k].key, kv->key) == 0)
                return error("duplicate field %s", kv->key);
        ln->n++;
    }
}

static kv_t *get(line_t *ln, const char *key, int required)
{
    int i;
    for (i = 0; i < ln->n; i++) {
        if (strcmp(ln->kv[i].key, key) == 0) {
            ln->kv[i].used = 1;
            return &ln->kv[i];
        }
    }
    if (required)
        error("%s line needs %s=", ln->kind, key);
    return NULL;
}

static int check_unused(const line_t *ln)
{
    int i;
    for (i = 0; i < ln->n; i++)
        if (!ln->kv[i].used)
            return error("unknown field %s for a %s line", ln->kv[i].key, ln->kind);
    return 0;
}

static int get_uint(line_t *ln, const char *key, uint32_t max, uint32_t *out)
{
    kv_t *kv = get(ln, key, 1);
    if (kv == NULL)
        return -1;
    if (kv->quoted || !parse_uint(kv->val, max, out))
        return error("%s=%s is not an integer in 0..%lu", key, kv->val, (unsigned long)max);
    return 0;
}

/* ---- line handlers ---- */

static int do_message(line_t *ln, secmod_text_msg_t *msg)
{
    kv_t *id = get(ln, "id", 1), *ver;
    uint32_t parts[3];
    char *p, *q;
    int i;

    if (id == NULL)
        return -1;
    if (!id->quoted)
        return error("id must be a double-quoted string");
    ver = get(ln, "version", 1);
    if (ver == NULL)
        return -1;
    p = ver->val;
    for (i = 0; i < 3; i++) {
        char part[12];
        size_t k;
        q = strchr(p, i < 2 ? '.' : '\0');
        if (q == NULL || q == p || (size_t)(q - p) >= sizeof(part))
            return error("version=%s is not major.minor.patch", ver->val);
        k = (size_t)(q - p);
        memcpy(part, p, k);
        part[k] = 0;
        if (!parse_uint(part, i < 2 ? 255u : 65535u, &parts[i]))
            return error("version=%s is not major.minor.patch (0-255.0-255.0-65535)", ver->val);
        p = q + 1;
    }
    if (check_unused(ln))
        return -1;
    snprintf(msg->module_id, sizeof(msg->module_id), "%s", id->val);
    msg->version = (parts[0] << 24) | (parts[1] << 16) | parts[2];
    return 0;
}

static int do_event(line_t *ln, secmod_text_msg_t *msg)
{
    secmod_event_t *ev;
    kv_t *uuid, *type, *os;
    size_t i;

    if (msg->n_events >= SECMOD_TEXT_MAX_EVENTS)
        return error("more than %u events", SECMOD_TEXT_MAX_EVENTS);
    ev = &msg->events[msg->n_events];
    memset(ev, 0, sizeof(*ev));
    uuid = get(ln, "uuid", 1);
    if (uuid == NULL)
        return -1;
    if (strlen(uuid->val) != 32)
        return error("uuid must be 32 hex digits");
    for (i = 0; i < 16; i++) {
        int hi = hexval(uuid->val[2 * i]), lo = hexval(uuid->val[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return error("uuid must be 32 hex digits");
        ev->id[i] = (uint8_t)(hi * 16 + lo);
    }
    if (get_uint(ln, "time", 0xFFFFFFFFu, &ev->time) ||
        get_uint(ln, "interval", 0xFFFFFFFFu, &ev->collection_interval))
        return -1;
    type = get(ln, "type", 1);
    if (type == NULL)
        return -1;
    if (strcmp(type->val, "network") == 0) {
        size_t e = msg->n_events;
        ev->payload_type = SECMOD_PAYLOAD_NETWORK_ACTIVITY;
        secmod_flowtab_init(&tabs4[e], &pool4, buckets4[e], TAB_BUCKETS);
        secmod_flowtab_init(&tabs6[e], &pool6, buckets6[e], TAB_BUCKETS);
        ev->ipv4 = &tabs4[e];
        ev->ipv6 = &tabs6[e];
    } else if (strcmp(type->val, "sysinfo") == 0) {
        ev->payload_type = SECMOD_PAYLOAD_SYSTEM_INFORMATION;
        os = get(ln, "os", 0);
        if (os != NULL) {
            if (!os->quoted)
                return error("os must be a double-quoted string");
            snprintf(msg->os_info[msg->n_events], sizeof(msg->os_info[0]), "%s", os->val);
            ev->os_info = msg->os_info[msg->n_events];
        }
    } else if (strcmp(type->val, "heartbeat") == 0) {
        ev->payload_type = SECMOD_PAYLOAD_HEARTBEAT;
    } else {
        return error("type=%s: expected network, sysinfo or heartbeat", type->val);
    }
    if (check_unused(ln))
        return -1;
    msg->n_events++;
    return 0;
}

static int do_record(line_t *ln, secmod_text_msg_t *msg, int v6)
{
    secmod_event_t *ev;
    uint8_t local[16], remote[16];
    secmod_flowkey_t key;
    uint32_t lport, rport, in, out;
    kv_t *l, *r, *proto;
    int rc;

    if (msg->n_events == 0 ||
        msg->events[msg->n_events - 1].payload_type != SECMOD_PAYLOAD_NETWORK_ACTIVITY)
        return error("%s line outside a network event", ln->kind);
    ev = &msg->events[msg->n_events - 1];
    l = get(ln, "local", 1);
    if (l == NULL)
        return -1;
    if (!(v6 ? secmod_text_parse_ipv6(l->val, local) : secmod_text_parse_ipv4(l->val, local)))
        return error("local=%s is not an IPv%c address", l->val, v6 ? '6' : '4');
    r = get(ln, "remote", 1);
    if (r == NULL)
        return -1;
    if (!(v6 ? secmod_text_parse_ipv6(r->val, remote) : secmod_text_parse_ipv4(r->val, remote)))
        return error("remote=%s is not an IPv%c address", r->val, v6 ? '6' : '4');
    if (get_uint(ln, "lport", 65535u, &lport) || get_uint(ln, "rport", 65535u, &rport) ||
        get_uint(ln, "in", 0xFFFFFFFFu, &in) || get_uint(ln, "out", 0xFFFFFFFFu, &out))
        return -1;
    proto = get(ln, "proto", 1);
    if (proto == NULL)
        return -1;
    if (strcmp(proto->val, "tcp") == 0)
        key.protocol = SECMOD_PROTO_TCP;
    else if (strcmp(proto->val, "udp") == 0)
        key.protocol = SECMOD_PROTO_UDP;
    else if (strcmp(proto->val, "icmp") == 0)
        key.protocol = SECMOD_PROTO_ICMP;
    else
        return error("proto=%s: expected tcp, udp or icmp", proto->val);
    if (check_unused(ln))
        return -1;
    key.local = local;
    key.remote = remote;
    key.local_port = (uint16_t)lport;
    key.remote_port = (uint16_t)rport;
    rc = secmod_flowtab_add((secmod_flowtab_t *)(v6 ? ev->ipv6 : ev->ipv4), &key, in, out);
    if (rc == SECMOD_FLOW_DROPPED)
        return error("more than %u IPv%c records in the message", SECMOD_TEXT_MAX_RECORDS,
                     v6 ? '6' : '4');
    if (rc == SECMOD_FLOW_MERGED)
        return error("duplicate 5-tuple in this event (the module keeps one record per flow)");
    return 0;
}

int secmod_text_parse(const char *text, size_t len, secmod_text_msg_t *msg, char *err,
                      size_t errlen)
{
    static line_t ln;
    size_t pos = 0;
    int have_message = 0;
    static char dummy[8];

    errbuf = err != NULL && errlen > 0 ? err : dummy;
    errcap = err != NULL && errlen > 0 ? errlen : sizeof(dummy);
    errbuf[0] = 0;
    lineno = 0;
    memset(msg, 0, sizeof(*msg));
    secmod_flowpool_init(&pool4, v4_recs, v4_addrs, SECMOD_TEXT_MAX_RECORDS, 4);
    secmod_flowpool_init(&pool6, v6_recs, v6_addrs, SECMOD_TEXT_MAX_RECORDS, 16);

    while (pos < len) {
        size_t end = pos, n, i;
        while (end < len && text[end] != '\n')
            end++;
        n = end - pos;
        lineno++;
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        for (i = 0; i < n; i++)
            if (text[pos + i] == 0)
                return error("NUL byte in the input");
        i = 0;
        while (i < n && isspace((unsigned char)text[pos + i]))
            i++;
        if (i < n && text[pos + i] != '#') {
            if (tokenize(text + pos, n, &ln))
                return -1;
            if (strcmp(ln.kind, "message") == 0) {
                if (have_message)
                    return error("second message line");
                if (do_message(&ln, msg))
                    return -1;
                have_message = 1;
            } else if (!have_message) {
                return error("the first line must be a message line");
            } else if (strcmp(ln.kind, "event") == 0) {
                if (do_event(&ln, msg))
                    return -1;
            } else if (strcmp(ln.kind, "v4") == 0 || strcmp(ln.kind, "v6") == 0) {
                if (do_record(&ln, msg, ln.kind[1] == '6'))
                    return -1;
            } else {
                return error("unknown line kind \"%s\" (message, event, v4, v6)", ln.kind);
            }
        }
        pos = end + 1;
    }
    lineno++;
    if (!have_message)
        return error("no message line");
    if (msg->n_events == 0)
        return error("the message has no events (the module never sends one)");
    return 0;
}

int secmod_text_encode(const secmod_text_msg_t *msg, const uint8_t **out, size_t *len)
{
    secmod_serbuf_t buf;
    buf.page = page.bytes;
    buf.page_size = sizeof(page.bytes);
    buf.refs = refs;
    buf.max_refs = sizeof(refs) / sizeof(refs[0]);
    return secmod_serialize(&buf, msg->module_id, msg->version, msg->events, msg->n_events, out,
                            len);
}
