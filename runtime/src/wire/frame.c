/*
 * frame.c - encoders and bounds-checked decoders for the wire format.
 * docs/protocol.md is the prose version of this file.
 */
#include "wire/frame.h"

#include <string.h>

/* A cursor over an input; every read checks what remains. */
typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static bool
rd_u8(reader *r, uint8_t *v)
{
    if (r->left < 1)
        return false;
    *v = r->p[0];
    r->p++;
    r->left--;
    return true;
}

static bool
rd_bytes(reader *r, size_t n, const uint8_t **v)
{
    if (r->left < n)
        return false;
    *v = r->p;
    r->p += n;
    r->left -= n;
    return true;
}

static bool
rd_u16(reader *r, uint16_t *v)
{
    const uint8_t *b;
    if (!rd_bytes(r, 2, &b))
        return false;
    *v = genrpc__get_u16(b);
    return true;
}

static bool
rd_u32(reader *r, uint32_t *v)
{
    const uint8_t *b;
    if (!rd_bytes(r, 4, &b))
        return false;
    *v = genrpc__get_u32(b);
    return true;
}

static bool
rd_u64(reader *r, uint64_t *v)
{
    const uint8_t *b;
    if (!rd_bytes(r, 8, &b))
        return false;
    *v = genrpc__get_u64(b);
    return true;
}

/* u8 length + bytes; names must be non-empty. */
static bool
rd_str(reader *r, genrpc__str *s, bool allow_empty)
{
    uint8_t n;
    const uint8_t *b;
    if (!rd_u8(r, &n) || (n == 0 && !allow_empty) || !rd_bytes(r, n, &b))
        return false;
    s->p = (const char *)b;
    s->len = n;
    return true;
}

static bool
rd_kind(reader *r, genrpc__kind kind)
{
    uint8_t k;
    return rd_u8(r, &k) && k == kind;
}

/* ---- writer -------------------------------------------------------------- */

typedef struct writer {
    uint8_t *p;
    size_t left;
    bool ok;
} writer;

static void
wr_bytes(writer *w, const void *b, size_t n)
{
    if (!w->ok || w->left < n) {
        w->ok = false;
        return;
    }
    memcpy(w->p, b, n);
    w->p += n;
    w->left -= n;
}

static void
wr_u8(writer *w, uint8_t v)
{
    wr_bytes(w, &v, 1);
}

static void
wr_u16(writer *w, uint16_t v)
{
    uint8_t b[2];
    genrpc__put_u16(b, v);
    wr_bytes(w, b, 2);
}

static void
wr_u32(writer *w, uint32_t v)
{
    uint8_t b[4];
    genrpc__put_u32(b, v);
    wr_bytes(w, b, 4);
}

static void
wr_u64(writer *w, uint64_t v)
{
    uint8_t b[8];
    genrpc__put_u64(b, v);
    wr_bytes(w, b, 8);
}

static void
wr_str(writer *w, const char *p, size_t len)
{
    if (len > GENRPC__NAME_MAX) {
        w->ok = false;
        return;
    }
    wr_u8(w, (uint8_t)len);
    wr_bytes(w, p, len);
}

/* v2: the flags byte (METADATA set when there is a block). */
static void
wr_flags(writer *w, uint8_t flags, genrpc__str md)
{
    wr_u8(w, (uint8_t)(md.len ? flags | GENRPC__F_METADATA : flags & ~GENRPC__F_METADATA));
}

/* v2: the metadata block with its length, if any. */
static void
wr_md(writer *w, genrpc__str md)
{
    if (!md.len)
        return;
    if (md.len > GENRPC__MD_MAX_BYTES) {
        w->ok = false;
        return;
    }
    wr_u16(w, (uint16_t)md.len);
    wr_bytes(w, md.p, md.len);
}

/* Starts a frame: reserves the length prefix, writes the kind. */
static writer
wr_begin(uint8_t *buf, size_t cap, genrpc__kind kind)
{
    writer w = {buf, cap, true};
    wr_u32(&w, 0);
    wr_u8(&w, (uint8_t)kind);
    return w;
}

/* Fills in the length prefix for a frame whose body (incl. payload_extra
 * bytes the caller writes later) ends at w->p + payload_extra. */
static size_t
wr_end(writer *w, uint8_t *buf, size_t payload_extra)
{
    if (!w->ok)
        return 0;
    size_t written = (size_t)(w->p - buf);
    size_t body = written - GENRPC__LEN_PREFIX + payload_extra;
    if (body > UINT32_MAX)
        return 0;
    genrpc__put_u32(buf, (uint32_t)body);
    return written;
}

size_t
genrpc__encode_hello(uint8_t *buf, size_t cap, const genrpc__hello *h)
{
    writer w = wr_begin(buf, cap, GENRPC__K_HELLO);
    wr_u32(&w, GENRPC__MAGIC);
    wr_u8(&w, h->min_version);
    wr_u8(&w, h->max_version);
    wr_bytes(&w, h->nonce, GENRPC__NONCE_LEN);
    wr_str(&w, h->from.p, h->from.len);
    wr_str(&w, h->to.p, h->to.len);
    return wr_end(&w, buf, 0);
}

size_t
genrpc__encode_challenge(uint8_t *buf, size_t cap, const genrpc__challenge *c)
{
    writer w = wr_begin(buf, cap, GENRPC__K_CHALLENGE);
    wr_u8(&w, c->version);
    wr_bytes(&w, c->nonce, GENRPC__NONCE_LEN);
    wr_str(&w, c->name.p, c->name.len);
    return wr_end(&w, buf, 0);
}

size_t
genrpc__encode_mac(uint8_t *buf, size_t cap, genrpc__kind kind, const uint8_t *mac)
{
    writer w = wr_begin(buf, cap, kind);
    wr_bytes(&w, mac, GENRPC__MAC_LEN);
    return wr_end(&w, buf, 0);
}

size_t
genrpc__encode_auth(uint8_t *buf, size_t cap, genrpc__kind kind, const genrpc__auth_body *a)
{
    writer w = wr_begin(buf, cap, kind);
    if (a->n_settings > GENRPC__SETTINGS_MAX)
        return 0;
    wr_bytes(&w, a->mac, GENRPC__MAC_LEN);
    wr_u8(&w, (uint8_t)a->n_settings);
    for (size_t i = 0; i < a->n_settings; i++) {
        wr_u8(&w, a->settings[i].id);
        wr_u32(&w, a->settings[i].value);
    }
    return wr_end(&w, buf, 0);
}

size_t
genrpc__encode_cancel(uint8_t *buf, size_t cap, uint64_t req_id)
{
    writer w = wr_begin(buf, cap, GENRPC__K_CANCEL);
    wr_u64(&w, req_id);
    return wr_end(&w, buf, 0);
}

size_t
genrpc__encode_goaway(uint8_t *buf, size_t cap, const genrpc__goaway *g)
{
    writer w = wr_begin(buf, cap, GENRPC__K_GOAWAY);
    wr_u64(&w, g->last_req_id);
    wr_u8(&w, g->reason);
    wr_str(&w, g->text.p, g->text.len > GENRPC__NAME_MAX ? GENRPC__NAME_MAX : g->text.len);
    return wr_end(&w, buf, 0);
}

size_t
genrpc__encode_reject(uint8_t *buf, size_t cap, uint8_t reason, const char *text)
{
    writer w = wr_begin(buf, cap, GENRPC__K_REJECT);
    size_t n = strlen(text);
    wr_u8(&w, reason);
    wr_str(&w, text, n > GENRPC__NAME_MAX ? GENRPC__NAME_MAX : n);
    return wr_end(&w, buf, 0);
}

size_t
genrpc__encode_error(uint8_t *buf, size_t cap, const genrpc__error_body *e)
{
    writer w = wr_begin(buf, cap, GENRPC__K_ERROR);
    size_t n = e->message.len > GENRPC__ERROR_MSG_MAX ? GENRPC__ERROR_MSG_MAX : e->message.len;
    wr_u64(&w, e->req_id);
    wr_u16(&w, e->err);
    wr_u32(&w, (uint32_t)e->handler_code);
    if (e->proto >= 2)
        wr_flags(&w, e->flags, e->metadata);
    wr_u16(&w, (uint16_t)n);
    wr_bytes(&w, e->message.p, n);
    if (e->proto >= 2)
        wr_md(&w, e->metadata);
    return wr_end(&w, buf, 0);
}

size_t
genrpc__encode_request_hdr(uint8_t *buf, size_t cap, genrpc__kind kind,
                           const genrpc__request_hdr *h)
{
    /* Every call's path: one bounds check, then the fields in place (the
     * generic writer checks each field; measured, it cost a call 100
     * instructions). */
    size_t md = h->proto >= 2 ? h->metadata.len : 0;
    size_t hdr = genrpc__request_hdr_size(h->proto, h->module.len, h->function.len, md);
    if (h->module.len > GENRPC__NAME_MAX || h->function.len > GENRPC__NAME_MAX ||
        md > GENRPC__MD_MAX_BYTES || cap < GENRPC__LEN_PREFIX + hdr ||
        h->payload_len > UINT32_MAX - hdr)
        return 0;
    uint8_t *p = buf;
    genrpc__put_u32(p, (uint32_t)(hdr + h->payload_len));
    p[4] = (uint8_t)kind;
    genrpc__put_u64(p + 5, h->req_id);
    genrpc__put_u32(p + 13, h->version);
    p += 17;
    if (h->proto >= 2) {
        genrpc__put_u32(p, h->timeout_ms);
        p[4] = (uint8_t)(md ? h->flags | GENRPC__F_METADATA : h->flags & ~GENRPC__F_METADATA);
        p += 5;
    }
    *p++ = (uint8_t)h->module.len;
    memcpy(p, h->module.p, h->module.len);
    p += h->module.len;
    *p++ = (uint8_t)h->function.len;
    memcpy(p, h->function.p, h->function.len);
    p += h->function.len;
    if (md) {
        genrpc__put_u16(p, (uint16_t)md);
        memcpy(p + 2, h->metadata.p, md);
        p += 2 + md;
    }
    return (size_t)(p - buf);
}

size_t
genrpc__encode_bcast_hdr(uint8_t *buf, size_t cap, genrpc__kind kind, const genrpc__bcast_hdr *h)
{
    if (kind != GENRPC__K_ABCAST && kind != GENRPC__K_SBCAST)
        return 0;
    writer w = wr_begin(buf, cap, kind);
    wr_u64(&w, h->req_id);
    if (h->proto >= 2) {
        wr_u32(&w, h->timeout_ms);
        wr_flags(&w, h->flags, h->metadata);
    }
    wr_str(&w, h->name.p, h->name.len);
    wr_str(&w, h->type.p, h->type.len);
    if (h->proto >= 2)
        wr_md(&w, h->metadata);
    return wr_end(&w, buf, h->payload_len);
}

size_t
genrpc__encode_reply_hdr(uint8_t *buf, size_t cap, const genrpc__reply_body *r)
{
    size_t md = r->proto >= 2 ? r->metadata.len : 0;
    size_t hdr = genrpc__reply_hdr_size(r->proto, md);
    if (md > GENRPC__MD_MAX_BYTES || cap < GENRPC__LEN_PREFIX + hdr ||
        r->payload_len > UINT32_MAX - hdr)
        return 0;
    genrpc__put_u32(buf, (uint32_t)(hdr + r->payload_len));
    buf[4] = GENRPC__K_REPLY;
    genrpc__put_u64(buf + 5, r->req_id);
    if (r->proto >= 2) {
        buf[13] = (uint8_t)(md ? r->flags | GENRPC__F_METADATA : r->flags & ~GENRPC__F_METADATA);
        if (md) {
            genrpc__put_u16(buf + 14, (uint16_t)md);
            memcpy(buf + 16, r->metadata.p, md);
        }
    }
    return GENRPC__LEN_PREFIX + hdr;
}

/* ---- decoders ------------------------------------------------------------ */

bool
genrpc__decode_hello(const uint8_t *body, size_t len, genrpc__hello *h)
{
    reader r = {body, len};
    uint32_t magic;
    return rd_kind(&r, GENRPC__K_HELLO) && rd_u32(&r, &magic) && magic == GENRPC__MAGIC &&
           rd_u8(&r, &h->min_version) && rd_u8(&r, &h->max_version) &&
           h->min_version <= h->max_version && rd_bytes(&r, GENRPC__NONCE_LEN, &h->nonce) &&
           rd_str(&r, &h->from, false) && rd_str(&r, &h->to, false) && r.left == 0;
}

bool
genrpc__decode_challenge(const uint8_t *body, size_t len, genrpc__challenge *c)
{
    reader r = {body, len};
    return rd_kind(&r, GENRPC__K_CHALLENGE) && rd_u8(&r, &c->version) &&
           rd_bytes(&r, GENRPC__NONCE_LEN, &c->nonce) && rd_str(&r, &c->name, false) &&
           r.left == 0;
}

bool
genrpc__decode_mac(const uint8_t *body, size_t len, genrpc__kind kind, const uint8_t **mac)
{
    reader r = {body, len};
    return rd_kind(&r, kind) && rd_bytes(&r, GENRPC__MAC_LEN, mac) && r.left == 0;
}

bool
genrpc__decode_auth(const uint8_t *body, size_t len, genrpc__kind kind, genrpc__auth_body *a)
{
    reader r = {body, len};
    uint8_t n;
    if (!rd_kind(&r, kind) || !rd_bytes(&r, GENRPC__MAC_LEN, &a->mac) || !rd_u8(&r, &n) ||
        n > GENRPC__SETTINGS_MAX)
        return false;
    a->n_settings = n;
    for (size_t i = 0; i < n; i++)
        if (!rd_u8(&r, &a->settings[i].id) || !rd_u32(&r, &a->settings[i].value))
            return false;
    return r.left == 0;
}

bool
genrpc__decode_cancel(const uint8_t *body, size_t len, uint64_t *req_id)
{
    reader r = {body, len};
    return rd_kind(&r, GENRPC__K_CANCEL) && rd_u64(&r, req_id) && r.left == 0;
}

bool
genrpc__decode_goaway(const uint8_t *body, size_t len, genrpc__goaway *g)
{
    reader r = {body, len};
    return rd_kind(&r, GENRPC__K_GOAWAY) && rd_u64(&r, &g->last_req_id) && rd_u8(&r, &g->reason) &&
           rd_str(&r, &g->text, true) && r.left == 0;
}

/* ---- metadata -------------------------------------------------------------- */

static bool
md_key_ok(genrpc__str k)
{
    if (k.len == 0 || k.len > GENRPC__MD_KEY_MAX)
        return false;
    for (size_t i = 0; i < k.len; i++) {
        char ch = k.p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
              ch == '.'))
            return false;
    }
    return true;
}

static bool
md_entry(reader *r, genrpc__md_entry *e)
{
    uint16_t n;
    return rd_str(r, &e->key, false) && md_key_ok(e->key) && rd_u16(r, &n) &&
           rd_bytes(r, n, &e->value) && ((e->value_len = n), true);
}

bool
genrpc__md_check(const uint8_t *p, size_t len)
{
    if (len == 0 || len > GENRPC__MD_MAX_BYTES)
        return false;
    reader r = {p, len};
    genrpc__md_entry e;
    for (int n = 0; r.left > 0; n++)
        if (n == GENRPC__MD_MAX_ENTRIES || !md_entry(&r, &e))
            return false;
    return true;
}

bool
genrpc__md_next(genrpc__str block, size_t *pos, genrpc__md_entry *e)
{
    if (*pos >= block.len)
        return false;
    reader r = {(const uint8_t *)block.p + *pos, block.len - *pos};
    if (!md_entry(&r, e))
        return false;
    *pos = block.len - r.left;
    return true;
}

/* v2: flags (known bits only) and, when METADATA is set, a checked block. */
static bool
rd_flags(reader *r, uint8_t *flags)
{
    return rd_u8(r, flags) && (*flags & ~GENRPC__F_KNOWN) == 0;
}

static bool
rd_md(reader *r, uint8_t flags, genrpc__str *md)
{
    md->p = NULL;
    md->len = 0;
    if (!(flags & GENRPC__F_METADATA))
        return true;
    uint16_t n;
    const uint8_t *b;
    if (!rd_u16(r, &n) || !rd_bytes(r, n, &b) || !genrpc__md_check(b, n))
        return false;
    md->p = (const char *)b;
    md->len = n;
    return true;
}

/* v2 request-like headers: timeout and flags. */
static bool
rd_v2_request(reader *r, uint8_t proto, uint32_t *timeout_ms, uint8_t *flags)
{
    *timeout_ms = 0;
    *flags = 0;
    return proto < 2 || (rd_u32(r, timeout_ms) && rd_flags(r, flags));
}

bool
genrpc__decode_reject(const uint8_t *body, size_t len, uint8_t *reason, genrpc__str *text)
{
    reader r = {body, len};
    return rd_kind(&r, GENRPC__K_REJECT) && rd_u8(&r, reason) && rd_str(&r, text, true) &&
           r.left == 0;
}

bool
genrpc__decode_request(uint8_t proto, const uint8_t *body, size_t len, genrpc__request_hdr *h)
{
    /* Every request's path: the fixed part checked once and read in
     * place, the rest with the bounds-checked reader. */
    size_t fixed = 1 + 8 + 4 + (proto >= 2 ? 5 : 0);
    if (len < fixed || (body[0] != GENRPC__K_CALL && body[0] != GENRPC__K_CAST))
        return false;
    h->proto = proto;
    h->req_id = genrpc__get_u64(body + 1);
    h->version = genrpc__get_u32(body + 9);
    h->timeout_ms = 0;
    h->flags = 0;
    if (proto >= 2) {
        h->timeout_ms = genrpc__get_u32(body + 13);
        h->flags = body[17];
        if (h->flags & ~GENRPC__F_KNOWN)
            return false;
    }
    reader r = {body + fixed, len - fixed};
    if (!rd_str(&r, &h->module, false) || !rd_str(&r, &h->function, false) ||
        !rd_md(&r, h->flags, &h->metadata))
        return false;
    h->payload = r.p;
    h->payload_len = r.left;
    return true;
}

bool
genrpc__decode_bcast(uint8_t proto, const uint8_t *body, size_t len, genrpc__bcast_hdr *h)
{
    reader r = {body, len};
    uint8_t kind;
    if (!rd_u8(&r, &kind) || (kind != GENRPC__K_ABCAST && kind != GENRPC__K_SBCAST))
        return false;
    h->proto = proto;
    if (!rd_u64(&r, &h->req_id) || !rd_v2_request(&r, proto, &h->timeout_ms, &h->flags) ||
        !rd_str(&r, &h->name, false) || !rd_str(&r, &h->type, false) ||
        !rd_md(&r, h->flags, &h->metadata))
        return false;
    h->payload = r.p;
    h->payload_len = r.left;
    return true;
}

bool
genrpc__decode_reply(uint8_t proto, const uint8_t *body, size_t len, genrpc__reply_body *b)
{
    size_t fixed = 1 + 8 + (proto >= 2 ? 1 : 0);
    if (len < fixed || body[0] != GENRPC__K_REPLY)
        return false;
    b->proto = proto;
    b->req_id = genrpc__get_u64(body + 1);
    b->flags = proto >= 2 ? body[9] : 0;
    if (b->flags & ~GENRPC__F_KNOWN)
        return false;
    reader r = {body + fixed, len - fixed};
    if (!rd_md(&r, b->flags, &b->metadata))
        return false;
    b->payload = r.p;
    b->payload_len = r.left;
    return true;
}

bool
genrpc__decode_error(uint8_t proto, const uint8_t *body, size_t len, genrpc__error_body *e)
{
    reader r = {body, len};
    uint32_t code;
    uint16_t n;
    const uint8_t *msg;
    e->proto = proto;
    e->flags = 0;
    if (!rd_kind(&r, GENRPC__K_ERROR) || !rd_u64(&r, &e->req_id) || !rd_u16(&r, &e->err) ||
        !rd_u32(&r, &code) || (proto >= 2 && !rd_flags(&r, &e->flags)) || !rd_u16(&r, &n) ||
        n > GENRPC__ERROR_MSG_MAX || !rd_bytes(&r, n, &msg) ||
        !rd_md(&r, e->flags, &e->metadata) || r.left != 0)
        return false;
    e->handler_code = (int32_t)code;
    e->message.p = (const char *)msg;
    e->message.len = n;
    return true;
}

int
genrpc__frame_peek(const uint8_t *buf, size_t avail, size_t *body_len)
{
    if (avail < GENRPC__LEN_PREFIX)
        return 0;
    *body_len = genrpc__get_u32(buf);
    return 1;
}
