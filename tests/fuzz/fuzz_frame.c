/*
 * fuzz_frame - every frame decoder of runtime/src/frame.c, and frame_peek,
 * on arbitrary bytes. Whatever decodes must re-encode to the same bytes
 * (the decoders accept exactly what the encoders write), and every pointer
 * a decoder returns must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/compress.h"
#include "wire/frame.h"

#define CHECK(x)                                                                               \
    do {                                                                                       \
        if (!(x))                                                                              \
            __builtin_trap();                                                                  \
    } while (0)

static const uint8_t *g_lo, *g_hi;

static void
inside(const void *p, size_t n)
{
    const uint8_t *b = p;
    CHECK(b >= g_lo && b + n <= g_hi && b + n >= b);
}

/* Compares a re-encoded frame (prefix + body) with the input body. */
static void
same(const uint8_t *frame, size_t n, const uint8_t *body, size_t len)
{
    CHECK(n == GENRPC__LEN_PREFIX + len);
    CHECK(genrpc__get_u32(frame) == len);
    CHECK(memcmp(frame + GENRPC__LEN_PREFIX, body, len) == 0);
}

/* A COMPRESSED payload decompresses within the bound or not at all; an
 * uncompressed one survives compression: out_compress's frame decodes
 * again (flag set, same header) and decompresses to the same bytes. */
#define FUZZ_MAX_PLAIN (1u << 20)

static void
compressed(uint8_t proto, const uint8_t *body, size_t size, const genrpc__request_hdr *r)
{
    genrpc__chunk *ch;
    size_t n;
    if (r->flags & GENRPC__F_COMPRESSED) {
        if (genrpc__decompress(r->payload, r->payload_len, FUZZ_MAX_PLAIN,
                               (const uint8_t *)r->metadata.p, r->metadata.len, &ch, &n)) {
            CHECK(n <= FUZZ_MAX_PLAIN && ch->cap >= r->metadata.len + n);
            CHECK(!r->metadata.len || memcmp(ch->data, r->metadata.p, r->metadata.len) == 0);
            genrpc__chunk_unref(ch);
        }
        return;
    }
    if (proto < 2)
        return;
    genrpc__out *o = genrpc__out_new(GENRPC__LEN_PREFIX + size);
    if (!o)
        return;
    genrpc__put_u32(o->data, (uint32_t)size);
    memcpy(o->data + GENRPC__LEN_PREFIX, body, size);
    genrpc__out *z = genrpc__out_compress(o, 0);
    if (z) {
        genrpc__request_hdr zr;
        CHECK(genrpc__decode_request(2, z->data + GENRPC__LEN_PREFIX, z->total - GENRPC__LEN_PREFIX,
                                     &zr));
        CHECK(zr.flags == (r->flags | GENRPC__F_COMPRESSED) && zr.req_id == r->req_id);
        CHECK(zr.payload_len < r->payload_len);
        CHECK(genrpc__decompress(zr.payload, zr.payload_len, r->payload_len, NULL, 0, &ch, &n));
        CHECK(n == r->payload_len && (!n || memcmp(ch->data, r->payload, n) == 0));
        genrpc__chunk_unref(ch);
        genrpc__out_free(z);
    }
    genrpc__out_free(o);
}

/* The frames of a READY connection, in version `proto`: whatever decodes
 * stays inside the input and encodes back to the same bytes. */
static void
versioned(uint8_t proto, const uint8_t *body, size_t size, uint8_t *out)
{
    genrpc__request_hdr r;
    if (genrpc__decode_request(proto, body, size, &r)) {
        inside(r.module.p, r.module.len);
        inside(r.function.p, r.function.len);
        if (r.payload_len)
            inside(r.payload, r.payload_len);
        if (r.metadata.len) {
            inside(r.metadata.p, r.metadata.len);
            CHECK(r.metadata.len <= GENRPC__MD_MAX_BYTES);
        }
        CHECK(r.module.len >= 1 && r.function.len >= 1 && (r.flags & ~GENRPC__F_KNOWN) == 0);
        CHECK(r.payload + r.payload_len == g_hi);
        CHECK(genrpc__request_hdr_size(proto, r.module.len, r.function.len, r.metadata.len) +
                  r.payload_len == size);
        size_t n = genrpc__encode_request_hdr(out, GENRPC__LEN_PREFIX + 70000, (genrpc__kind)body[0], &r);
        CHECK(n == GENRPC__LEN_PREFIX + size - r.payload_len);
        CHECK(genrpc__get_u32(out) == size);
        CHECK(memcmp(out + GENRPC__LEN_PREFIX, body, size - r.payload_len) == 0);
        compressed(proto, body, size, &r);
    }
    genrpc__bcast_hdr b;
    if (genrpc__decode_bcast(proto, body, size, &b)) {
        inside(b.name.p, b.name.len);
        inside(b.type.p, b.type.len);
        CHECK(b.payload + b.payload_len == g_hi);
        size_t n = genrpc__encode_bcast_hdr(out, GENRPC__LEN_PREFIX + 70000, (genrpc__kind)body[0], &b);
        CHECK(n == GENRPC__LEN_PREFIX + size - b.payload_len);
        CHECK(memcmp(out + GENRPC__LEN_PREFIX, body, size - b.payload_len) == 0);
    }
    genrpc__reply_body rp;
    if (genrpc__decode_reply(proto, body, size, &rp)) {
        if (rp.payload_len)
            inside(rp.payload, rp.payload_len);
        size_t hdr = genrpc__reply_hdr_size(proto, rp.metadata.len);
        CHECK(rp.payload_len + hdr == size);
        size_t n = genrpc__encode_reply_hdr(out, GENRPC__LEN_PREFIX + 70000, &rp);
        CHECK(n == GENRPC__LEN_PREFIX + hdr);
        CHECK(memcmp(out + GENRPC__LEN_PREFIX, body, hdr) == 0);
    }
    genrpc__error_body e;
    if (genrpc__decode_error(proto, body, size, &e)) {
        if (e.message.len)
            inside(e.message.p, e.message.len);
        CHECK(e.message.len <= GENRPC__ERROR_MSG_MAX);
        same(out, genrpc__encode_error(out, GENRPC__LEN_PREFIX + 70000, &e), body, size);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, so ASan sees any read past the end. */
    uint8_t *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    g_lo = body;
    g_hi = body + size;
    static uint8_t out[GENRPC__LEN_PREFIX + 70000];

    size_t blen;
    if (genrpc__frame_peek(body, size, &blen))
        CHECK(size >= GENRPC__LEN_PREFIX && blen <= UINT32_MAX);
    else
        CHECK(size < GENRPC__LEN_PREFIX);

    genrpc__hello h;
    if (genrpc__decode_hello(body, size, &h)) {
        inside(h.nonce, GENRPC__NONCE_LEN);
        inside(h.from.p, h.from.len);
        inside(h.to.p, h.to.len);
        CHECK(h.from.len >= 1 && h.to.len >= 1 && h.min_version <= h.max_version);
        CHECK(size <= GENRPC__PREAUTH_MAX); /* a HELLO always fits the pre-auth limit */
        same(out, genrpc__encode_hello(out, sizeof out, &h), body, size);
    }
    genrpc__challenge c;
    if (genrpc__decode_challenge(body, size, &c)) {
        inside(c.nonce, GENRPC__NONCE_LEN);
        inside(c.name.p, c.name.len);
        CHECK(size <= GENRPC__PREAUTH_MAX);
        same(out, genrpc__encode_challenge(out, sizeof out, &c), body, size);
    }
    const uint8_t *mac;
    if (genrpc__decode_mac(body, size, GENRPC__K_AUTH, &mac)) {
        inside(mac, GENRPC__MAC_LEN);
        same(out, genrpc__encode_mac(out, sizeof out, GENRPC__K_AUTH, mac), body, size);
    }
    if (genrpc__decode_mac(body, size, GENRPC__K_AUTH_OK, &mac)) {
        inside(mac, GENRPC__MAC_LEN);
        same(out, genrpc__encode_mac(out, sizeof out, GENRPC__K_AUTH_OK, mac), body, size);
    }
    uint8_t reason;
    genrpc__str text;
    if (genrpc__decode_reject(body, size, &reason, &text)) {
        if (text.len)
            inside(text.p, text.len);
        /* the encoder takes a C string: only round-trip texts without NUL */
        char z[GENRPC__NAME_MAX + 1];
        memcpy(z, text.p, text.len);
        z[text.len] = '\0';
        if (strlen(z) == text.len)
            same(out, genrpc__encode_reject(out, sizeof out, reason, z), body, size);
    }
    for (uint8_t proto = 1; proto <= GENRPC__PROTO_MAX; proto++)
        versioned(proto, body, size, out);
    uint64_t id;
    if (genrpc__decode_cancel(body, size, &id)) {
        CHECK(size == GENRPC__CANCEL_FRAME_SIZE - GENRPC__LEN_PREFIX);
        same(out, genrpc__encode_cancel(out, sizeof out, id), body, size);
    }
    genrpc__goaway g;
    if (genrpc__decode_goaway(body, size, &g)) {
        if (g.text.len)
            inside(g.text.p, g.text.len);
        same(out, genrpc__encode_goaway(out, sizeof out, &g), body, size);
    }
    genrpc__auth_body a;
    for (int k = GENRPC__K_AUTH; k <= GENRPC__K_AUTH_OK; k++) {
        if (!genrpc__decode_auth(body, size, (genrpc__kind)k, &a))
            continue;
        inside(a.mac, GENRPC__MAC_LEN);
        CHECK(a.n_settings <= GENRPC__SETTINGS_MAX);
        same(out, genrpc__encode_auth(out, sizeof out, (genrpc__kind)k, &a), body, size);
    }
    if (genrpc__md_check(body, size)) {
        genrpc__str block = {(const char *)body, size};
        genrpc__md_entry e;
        size_t pos = 0, n = 0;
        while (genrpc__md_next(block, &pos, &e)) {
            inside(e.key.p, e.key.len);
            if (e.value_len)
                inside(e.value, e.value_len);
            n++;
        }
        CHECK(pos == size && n >= 1 && n <= GENRPC__MD_MAX_ENTRIES);
    }
    free(body);
    return 0;
}
