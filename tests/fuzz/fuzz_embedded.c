/*
 * fuzz_embedded.c - the embedded client's frame and reply decoding
 * (runtime/embedded/src/wire.c, client.c).
 *
 * Input: byte 0 picks the receive buffer size and the read chunk size, the
 * rest is what "the server" sends. The decoders run on it directly, then a
 * whole client runs over an in-memory transport: handshake (the HMAC hook
 * returns a fixed proof, so inputs can reach the call path), two calls and
 * a cast. A fake clock advances on every read, so every wait ends.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "genrpc/embedded.h"
#include "wire.h"

typedef struct mem {
    const uint8_t *p;
    size_t left, chunk;
    uint32_t now;
} mem;

static int
m_open(void *ctx, uint32_t timeout_ms)
{
    (void)ctx;
    (void)timeout_ms;
    return 0;
}

static int
m_read(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    mem *m = ctx;
    m->now += 1 + timeout_ms / 4; /* time passes, so every deadline comes */
    if (m->left == 0)
        return timeout_ms % 3 == 0 ? GENRPC_EMB_IO_CLOSED : 0;
    size_t n = cap < m->chunk ? cap : m->chunk;
    if (n > m->left)
        n = m->left;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    return (int)n;
}

static int
m_write(void *ctx, const uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    (void)ctx;
    (void)buf;
    (void)len;
    (void)timeout_ms;
    return 0;
}

static void
m_close(void *ctx)
{
    (void)ctx;
}

static uint32_t
m_now(void *ctx)
{
    return ((mem *)ctx)->now;
}

static int
fixed_hmac(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
           uint8_t out[GENRPC_EMB_MAC_LEN])
{
    (void)ctx;
    (void)key;
    (void)key_len;
    (void)msg;
    (void)msg_len;
    memset(out, 0, GENRPC_EMB_MAC_LEN);
    return 0;
}

static int
fixed_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0x5a, len);
    return 0;
}

static void
decoders(const uint8_t *d, size_t n)
{
    uint8_t version, reason;
    const uint8_t *nonce, *mac, *payload;
    const char *name, *text;
    size_t name_len, text_len, payload_len;
    uint64_t id;
    genrpc_emb__error e;
    (void)genrpc_emb__get_challenge(d, n, &version, &nonce, &name, &name_len);
    (void)genrpc_emb__get_auth_ok(d, n, &mac);
    (void)genrpc_emb__get_reject(d, n, n, &reason, &text, &text_len);
    (void)genrpc_emb__get_reply(d, n, &id, &payload, &payload_len);
    if (genrpc_emb__get_error(d, n, n, &e))
        (void)genrpc_emb__remote_err(e.err);
    /* A truncated view, as the client has of a frame larger than rx_buf. */
    if (n > 20 && genrpc_emb__get_error(d, n / 2, n, &e) && e.msg_len > n)
        __builtin_trap();
    (void)genrpc_emb__get_reject(d, n / 2, n, &reason, &text, &text_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t rx[64 + 1024], tx[1024];
    if (size < 1)
        return 0;
    decoders(data + 1, size - 1);

    mem m = {data + 1, size - 1, (size_t)(data[0] & 0x0f) + 1, 0};
    genrpc_emb_config cfg = GENRPC_EMB_CONFIG_INIT;
    genrpc_emb_client c;
    cfg.transport = (genrpc_emb_transport){&m, m_open, m_read, m_write, m_close, m_now};
    cfg.node_name = "d";
    cfg.server_name = "s";
    cfg.cookie = "k";
    cfg.hmac = fixed_hmac;
    cfg.random = fixed_random;
    cfg.rx_buf = rx;
    cfg.rx_cap = 64 + (size_t)(data[0] >> 4) * 64; /* 64 .. 1024 */
    cfg.tx_buf = tx;
    cfg.tx_cap = sizeof tx;
    if (genrpc_emb_init(&c, &cfg) != GENRPC_OK)
        __builtin_trap();
    const uint8_t *reply;
    size_t reply_len;
    for (int i = 0; i < 2; i++) {
        int rc = genrpc_emb_call_bytes(&c, "m.M", 0, "F", (const uint8_t *)"x", 1, 1000, &reply,
                                       &reply_len);
        if (rc == GENRPC_OK && (reply < rx || reply + reply_len > rx + cfg.rx_cap))
            __builtin_trap(); /* a reply outside the receive buffer */
        size_t len;
        const char *msg = genrpc_emb_error_message(&c, &len);
        if (len > 0 && ((const uint8_t *)msg < rx || (const uint8_t *)msg + len > rx + cfg.rx_cap))
            __builtin_trap();
    }
    (void)genrpc_emb_cast_bytes(&c, "m.M", 0, "F", NULL, 0, 1000);
    genrpc_emb_close(&c);
    return 0;
}
