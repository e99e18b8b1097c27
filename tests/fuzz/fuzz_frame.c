/*
 * fuzz_frame - every frame decoder of runtime/src/frame.c, and frame_peek,
 * on arbitrary bytes. Whatever decodes must re-encode to the same bytes
 * (the decoders accept exactly what the encoders write), and every pointer
 * a decoder returns must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    genrpc__request_hdr r;
    if (genrpc__decode_request(body, size, &r)) {
        inside(r.module.p, r.module.len);
        inside(r.function.p, r.function.len);
        inside(r.payload, r.payload_len);
        CHECK(r.module.len >= 1 && r.function.len >= 1);
        CHECK(r.payload + r.payload_len == g_hi);
        CHECK(genrpc__request_hdr_size(r.module.len, r.function.len) + r.payload_len == size);
        size_t n = genrpc__encode_request_hdr(out, sizeof out, (genrpc__kind)body[0], &r);
        CHECK(n == GENRPC__LEN_PREFIX + size - r.payload_len);
        CHECK(genrpc__get_u32(out) == size);
        CHECK(memcmp(out + GENRPC__LEN_PREFIX, body, size - r.payload_len) == 0);
    }
    uint64_t id;
    const uint8_t *payload;
    size_t plen;
    if (genrpc__decode_reply(body, size, &id, &payload, &plen)) {
        inside(payload, plen);
        CHECK(plen + GENRPC__REPLY_HDR_SIZE == size);
        size_t n = genrpc__encode_reply_hdr(out, sizeof out, id, plen);
        CHECK(n == GENRPC__LEN_PREFIX + GENRPC__REPLY_HDR_SIZE);
        CHECK(memcmp(out + GENRPC__LEN_PREFIX, body, GENRPC__REPLY_HDR_SIZE) == 0);
    }
    genrpc__error_body e;
    if (genrpc__decode_error(body, size, &e)) {
        inside(e.message.p, e.message.len);
        CHECK(e.message.len <= 1024);
        same(out, genrpc__encode_error(out, sizeof out, &e), body, size);
    }
    free(body);
    return 0;
}
