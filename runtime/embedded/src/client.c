/*
 * client.c - the embedded client: connection, handshake, blocking calls
 * and casts over the device's transport ops. C99, no allocation, no
 * POSIX: everything lives in the caller's genrpc_emb_client and buffers.
 *
 * Every wait is bounded by the current call's deadline. The stream is kept
 * only while it is in sync (between frames): any failure in the middle of
 * a frame, any protocol violation and any transport error closes it, and
 * the next call opens a new connection.
 */
#include "genrpc/embedded.h"

#include <string.h>

#include "wire.h"

/* ---- small helpers ------------------------------------------------------- */

/* strlen bounded to max + 1 (C99 has no strnlen). */
static size_t
bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n] != '\0')
        n++;
    return n;
}

static bool
name_ok(const char *s, size_t *len)
{
    if (s == NULL)
        return false;
    *len = bounded_len(s, GENRPC_EMB_NAME_MAX);
    return *len >= 1 && *len <= GENRPC_EMB_NAME_MAX;
}

/* Milliseconds left before the deadline; 0 once it has passed. */
static uint32_t
remaining(const genrpc_emb_client *c)
{
    uint32_t now = c->cfg.transport.now_ms(c->cfg.transport.ctx);
    int32_t left = (int32_t)(c->deadline - now);
    return left > 0 ? (uint32_t)left : 0;
}

static bool
equal_ct(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

static void
wipe(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--)
        *v++ = 0;
}

/* Closes the stream and returns err, for `return fail(c, ...)`. */
static int
fail(genrpc_emb_client *c, int err)
{
    genrpc_emb_close(c);
    return err;
}

static int
io_err(int rc)
{
    return rc == GENRPC_EMB_IO_CLOSED ? GENRPC_E_CLOSED : GENRPC_E_IO;
}

/* ---- reading and writing ------------------------------------------------- */

/* Reads exactly n bytes before the deadline. With `clean` non-NULL, a
 * timeout before the first byte leaves the stream in sync: *clean is set
 * and the stream stays open; any other failure closes it. */
static int
read_exact(genrpc_emb_client *c, uint8_t *buf, size_t n, bool *clean)
{
    size_t got = 0;
    while (got < n) {
        uint32_t left = remaining(c);
        int rc = left == 0 ? 0 : c->cfg.transport.read(c->cfg.transport.ctx, buf + got,
                                                          n - got, left);
        if (rc == 0) {
            if (got == 0 && clean != NULL) {
                *clean = true;
                return GENRPC_E_TIMEOUT;
            }
            return fail(c, GENRPC_E_TIMEOUT);
        }
        if (rc < 0)
            return fail(c, io_err(rc));
        if ((size_t)rc > n - got)
            return fail(c, GENRPC_E_IO); /* a transport reading past cap */
        got += (size_t)rc;
    }
    return GENRPC_OK;
}

/* Reads and throws away n bytes, through scratch[0..cap). */
static int
drain(genrpc_emb_client *c, size_t n, uint8_t *scratch, size_t cap)
{
    while (n > 0) {
        size_t chunk = n < cap ? n : cap;
        int rc = read_exact(c, scratch, chunk, NULL);
        if (rc != GENRPC_OK)
            return rc;
        n -= chunk;
    }
    return GENRPC_OK;
}

static int
write_all(genrpc_emb_client *c, const uint8_t *buf, size_t len)
{
    uint32_t left = remaining(c);
    if (left == 0)
        return fail(c, GENRPC_E_TIMEOUT);
    int rc = c->cfg.transport.write(c->cfg.transport.ctx, buf, len, left);
    if (rc == 0)
        return GENRPC_OK;
    return fail(c, rc > 0 ? GENRPC_E_SEND_TIMEOUT : io_err(rc));
}

static int frame_body(genrpc_emb_client *c, const uint8_t *prefix, size_t limit, size_t *len,
                      size_t *avail);

/* Reads one frame's length prefix and as much of its body as fits rx_buf
 * (*avail bytes of *len). A length of 0 or above `limit` is a protocol
 * violation. *clean as in read_exact. */
static int
read_frame(genrpc_emb_client *c, size_t limit, size_t *len, size_t *avail, bool *clean)
{
    uint8_t prefix[GENRPC__LEN_PREFIX];
    int rc = read_exact(c, prefix, sizeof prefix, clean);
    return rc != GENRPC_OK ? rc : frame_body(c, prefix, limit, len, avail);
}

/* After a frame's length prefix: as much of its body as fits rx_buf. */
static int
frame_body(genrpc_emb_client *c, const uint8_t *prefix, size_t limit, size_t *len,
           size_t *avail)
{
    uint32_t n = genrpc__get_u32(prefix);
    if (n == 0 || n > limit)
        return fail(c, GENRPC_E_PROTOCOL);
    *len = n;
    *avail = n < c->cfg.rx_cap ? n : c->cfg.rx_cap;
    return read_exact(c, c->cfg.rx_buf, *avail, NULL);
}

/* ---- handshake (docs/protocol.md) ---------------------------------------- */

static void
set_message(genrpc_emb_client *c, const char *msg, size_t len)
{
    c->err_msg = msg;
    c->err_msg_len = len;
}

/* A REJECT (whole or its head): the server closes after it. */
static int
rejected(genrpc_emb_client *c, size_t len, size_t avail)
{
    uint8_t reason;
    const char *text;
    size_t text_len;
    if (!genrpc_emb__get_reject(c->cfg.rx_buf, avail, len, &reason, &text, &text_len))
        return fail(c, GENRPC_E_PROTOCOL);
    c->reject_reason = reason;
    set_message(c, text, text_len);
    genrpc_emb_close(c);
    return reason == GENRPC__REJ_COOKIE || reason == GENRPC__REJ_WRONG_NODE ? GENRPC_E_AUTH
           : reason == GENRPC__REJ_CERT                                     ? GENRPC_E_TLS
                                                                            : GENRPC_E_PROTOCOL;
}

/* Reads the handshake frame that must come next: CHALLENGE or AUTH_OK,
 * or a REJECT. */
static int
handshake_read(genrpc_emb_client *c, uint8_t kind, size_t *len)
{
    size_t avail;
    int rc = read_frame(c, GENRPC__PREAUTH_MAX, len, &avail, NULL);
    if (rc != GENRPC_OK)
        return rc;
    if (c->cfg.rx_buf[0] == GENRPC__K_REJECT)
        return rejected(c, *len, avail);
    if (c->cfg.rx_buf[0] != kind || avail < *len)
        return fail(c, GENRPC_E_PROTOCOL);
    return GENRPC_OK;
}

/* Both proofs over the transcript, built in tx_buf. */
static int
proofs(genrpc_emb_client *c, const uint8_t *cn, const uint8_t *sn, uint8_t mac_c[32],
       uint8_t mac_s[32])
{
    size_t n = genrpc_emb__put_transcript(c->cfg.tx_buf, c->cfg.tx_cap, 'C', cn, sn,
                                          c->cfg.node_name, c->node_len, c->cfg.server_name,
                                          c->server_len);
    const uint8_t *key = (const uint8_t *)c->cfg.cookie;
    if (n == 0 || c->cfg.hmac(c->cfg.hmac_ctx, key, c->cookie_len, c->cfg.tx_buf, n, mac_c) != 0)
        return GENRPC_E_AUTH;
    c->cfg.tx_buf[0] = 'S';
    if (c->cfg.hmac(c->cfg.hmac_ctx, key, c->cookie_len, c->cfg.tx_buf, n, mac_s) != 0)
        return GENRPC_E_AUTH;
    return GENRPC_OK;
}

/* After HELLO: CHALLENGE, AUTH, AUTH_OK. */
static int
authenticate(genrpc_emb_client *c, const uint8_t *client_nonce)
{
    uint8_t server_nonce[GENRPC__NONCE_LEN], mac_c[GENRPC__MAC_LEN], mac_s[GENRPC__MAC_LEN];
    size_t len, name_len;
    uint8_t version;
    const uint8_t *nonce, *mac;
    const char *name;
    int rc = handshake_read(c, GENRPC__K_CHALLENGE, &len);
    if (rc != GENRPC_OK)
        return rc;
    if (!genrpc_emb__get_challenge(c->cfg.rx_buf, len, &version, &nonce, &name, &name_len) ||
        version != GENRPC_EMB_PROTO_VERSION)
        return fail(c, GENRPC_E_PROTOCOL);
    if (name_len != c->server_len || memcmp(name, c->cfg.server_name, name_len) != 0)
        return fail(c, GENRPC_E_AUTH); /* reached another node */
    memcpy(server_nonce, nonce, sizeof server_nonce);
    rc = proofs(c, client_nonce, server_nonce, mac_c, mac_s);
    if (rc == GENRPC_OK) {
        size_t n = genrpc_emb__put_auth(c->cfg.tx_buf, c->cfg.tx_cap, mac_c);
        rc = write_all(c, c->cfg.tx_buf, n);
    }
    if (rc == GENRPC_OK)
        rc = handshake_read(c, GENRPC__K_AUTH_OK, &len);
    if (rc == GENRPC_OK &&
        (!genrpc_emb__get_auth_ok(c->cfg.rx_buf, len, &mac) ||
         !equal_ct(mac, mac_s, GENRPC__MAC_LEN)))
        rc = GENRPC_E_AUTH; /* the server could not prove the cookie */
    wipe(mac_c, sizeof mac_c);
    wipe(mac_s, sizeof mac_s);
    return rc == GENRPC_OK ? rc : fail(c, rc);
}

static int
handshake(genrpc_emb_client *c)
{
    uint8_t nonce[GENRPC__NONCE_LEN];
    uint32_t left = remaining(c);
    if (left == 0)
        return GENRPC_E_TIMEOUT;
    if (c->cfg.transport.open(c->cfg.transport.ctx, left) != 0)
        return fail(c, remaining(c) == 0 ? GENRPC_E_TIMEOUT : GENRPC_E_CONNECT);
    if (c->cfg.random(c->cfg.random_ctx, nonce, sizeof nonce) != 0)
        return fail(c, GENRPC_E_AUTH);
    size_t n = genrpc_emb__put_hello(c->cfg.tx_buf, c->cfg.tx_cap, nonce, c->cfg.node_name,
                                     c->node_len, c->cfg.server_name, c->server_len);
    int rc = write_all(c, c->cfg.tx_buf, n);
    if (rc == GENRPC_OK)
        rc = authenticate(c, nonce);
    if (rc == GENRPC_OK)
        c->connected = true;
    return rc;
}

/* ---- calls ----------------------------------------------------------------- */

/* Frames that arrived while no call waited (replies to calls that timed
 * out) and the peer's close are noticed before a request is sent: a
 * connection the server has closed is reopened before anything is lost. */
static int skip_frame(genrpc_emb_client *c, size_t len, size_t avail);

static void
flush_stale(genrpc_emb_client *c)
{
    while (c->connected) {
        uint8_t prefix[GENRPC__LEN_PREFIX];
        size_t len, avail;
        int got = c->cfg.transport.read(c->cfg.transport.ctx, prefix, 1, 0); /* poll */
        if (got <= 0 || got > 1) {
            if (got != 0)
                genrpc_emb_close(c); /* the server went away meanwhile */
            return;
        }
        /* A frame has started: the rest of it within the call's time. */
        if (read_exact(c, prefix + 1, sizeof prefix - 1, NULL) != GENRPC_OK ||
            frame_body(c, prefix, 0xFFFFFFFFu, &len, &avail) != GENRPC_OK ||
            skip_frame(c, len, avail) != GENRPC_OK)
            return;
    }
}

/* A REPLY or ERROR that is not the current call's: dropped (its rest
 * drained if it did not fit). Anything else closes the connection. */
static int
skip_frame(genrpc_emb_client *c, size_t len, size_t avail)
{
    uint8_t kind = c->cfg.rx_buf[0];
    if (kind != GENRPC__K_REPLY && kind != GENRPC__K_ERROR)
        return fail(c, GENRPC_E_PROTOCOL);
    return drain(c, len - avail, c->cfg.tx_buf, c->cfg.tx_cap);
}

/* Checks arguments, sets the deadline, connects if needed, writes the
 * request header and payload into tx_buf and sends them. */
static int
send_request(genrpc_emb_client *c, uint8_t kind, const char *module, uint32_t version,
             const char *function, genrpc_emb_encode_fn encode, const void *arg,
             uint32_t timeout_ms, uint64_t *req_id)
{
    size_t module_len, function_len, payload_len = 0;
    c->handler_code = 0;
    c->reject_reason = 0;
    set_message(c, "", 0);
    if (!name_ok(module, &module_len) || !name_ok(function, &function_len) ||
        timeout_ms == 0 || timeout_ms > 0x7FFFFFFFu)
        return GENRPC_E_INVAL;
    size_t hdr = GENRPC_EMB_FRAME_OVERHEAD + module_len + function_len;
    if (hdr > c->cfg.tx_cap)
        return GENRPC_E_TOO_BIG;
    c->deadline = c->cfg.transport.now_ms(c->cfg.transport.ctx) + timeout_ms;
    flush_stale(c);
    if (!c->connected) {
        int rc = handshake(c);
        if (rc != GENRPC_OK)
            return rc;
    }
    if (encode != NULL) {
        int rc = encode(arg, c->cfg.tx_buf + hdr, c->cfg.tx_cap - hdr, &payload_len);
        if (rc != GENRPC_OK)
            return rc; /* nothing sent: the connection stays */
        if (payload_len > c->cfg.tx_cap - hdr)
            return GENRPC_E_INVAL; /* an encoder claiming more than it had */
    }
    *req_id = c->next_req_id++;
    genrpc_emb__put_request_hdr(c->cfg.tx_buf, hdr, kind, *req_id, version, module, module_len,
                                function, function_len, payload_len);
    return write_all(c, c->cfg.tx_buf, hdr + payload_len);
}

/* An ERROR for the current call: its details, and its err. */
static int
remote_error(genrpc_emb_client *c, const genrpc_emb__error *e, size_t len, size_t avail)
{
    c->handler_code = e->handler_code;
    set_message(c, e->msg, e->msg_len);
    /* The rest of a message that did not fit: drained through tx_buf (the
     * request is sent), keeping the head in rx_buf. */
    if (avail < len && drain(c, len - avail, c->cfg.tx_buf, c->cfg.tx_cap) != GENRPC_OK)
        genrpc_emb_close(c);
    return e->err;
}

/* Waits for the REPLY or ERROR of req_id. */
static int
await_reply(genrpc_emb_client *c, uint64_t req_id, const uint8_t **reply, size_t *reply_len)
{
    for (;;) {
        size_t len, avail;
        bool clean = false;
        int rc = read_frame(c, 0xFFFFFFFFu, &len, &avail, &clean);
        if (rc != GENRPC_OK)
            return rc; /* a clean timeout keeps the connection: a late reply is dropped */
        const uint8_t *body = c->cfg.rx_buf;
        uint64_t id;
        genrpc_emb__error e;
        if (body[0] == GENRPC__K_REPLY && len < GENRPC_EMB_REPLY_HDR_SIZE)
            return fail(c, GENRPC_E_PROTOCOL);
        if (body[0] == GENRPC__K_REPLY && genrpc__get_u64(body + 1) == req_id) {
            if (avail < len)
                return fail(c, GENRPC_E_TOO_BIG); /* never an overflow: the rest is not read */
            genrpc_emb__get_reply(body, len, &id, reply, reply_len);
            return GENRPC_OK;
        }
        if (body[0] == GENRPC__K_ERROR) {
            if (!genrpc_emb__get_error(body, avail, len, &e) || !genrpc_emb__remote_err(e.err))
                return fail(c, GENRPC_E_PROTOCOL);
            if (e.req_id == req_id)
                return remote_error(c, &e, len, avail);
        }
        rc = skip_frame(c, len, avail);
        if (rc != GENRPC_OK)
            return rc;
    }
}

/* ---- public API ------------------------------------------------------------ */

int
genrpc_emb_init(genrpc_emb_client *c, const genrpc_emb_config *cfg)
{
    const genrpc_emb_transport *t = &cfg->transport;
    if (c == NULL || cfg == NULL)
        return GENRPC_E_INVAL;
    memset(c, 0, sizeof *c);
    if (t->open == NULL || t->read == NULL || t->write == NULL || t->close == NULL ||
        t->now_ms == NULL || cfg->hmac == NULL || cfg->random == NULL ||
        cfg->rx_buf == NULL || cfg->tx_buf == NULL || cfg->cookie == NULL ||
        !name_ok(cfg->node_name, &c->node_len) || !name_ok(cfg->server_name, &c->server_len))
        return GENRPC_E_INVAL;
    c->cookie_len = bounded_len(cfg->cookie, 0xFFFF);
    if (c->cookie_len == 0 || c->cookie_len > 0xFFFF)
        return GENRPC_E_INVAL;
    /* HELLO and the transcript are built in tx_buf, CHALLENGE read into rx_buf. */
    if (cfg->tx_cap < GENRPC_EMB_TX_MIN || cfg->tx_cap < 75 + c->node_len + c->server_len ||
        cfg->rx_cap < GENRPC_EMB_RX_MIN || cfg->rx_cap < 39 + c->server_len)
        return GENRPC_E_INVAL;
    c->cfg = *cfg;
    c->next_req_id = 1;
    set_message(c, "", 0);
    return GENRPC_OK;
}

int
genrpc_emb_connect(genrpc_emb_client *c, uint32_t timeout_ms)
{
    if (timeout_ms == 0 || timeout_ms > 0x7FFFFFFFu)
        return GENRPC_E_INVAL;
    c->reject_reason = 0;
    set_message(c, "", 0);
    c->deadline = c->cfg.transport.now_ms(c->cfg.transport.ctx) + timeout_ms;
    flush_stale(c);
    return c->connected ? GENRPC_OK : handshake(c);
}

int
genrpc_emb_call(genrpc_emb_client *c, const char *module, uint32_t version,
                const char *function, genrpc_emb_encode_fn encode, const void *arg,
                uint32_t timeout_ms, const uint8_t **reply, size_t *reply_len)
{
    uint64_t req_id;
    if (reply == NULL || reply_len == NULL)
        return GENRPC_E_INVAL;
    *reply = NULL;
    *reply_len = 0;
    int rc = send_request(c, GENRPC__K_CALL, module, version, function, encode, arg,
                          timeout_ms, &req_id);
    return rc != GENRPC_OK ? rc : await_reply(c, req_id, reply, reply_len);
}

int
genrpc_emb_cast(genrpc_emb_client *c, const char *module, uint32_t version,
                const char *function, genrpc_emb_encode_fn encode, const void *arg,
                uint32_t timeout_ms)
{
    uint64_t req_id;
    return send_request(c, GENRPC__K_CAST, module, version, function, encode, arg, timeout_ms,
                        &req_id);
}

typedef struct bytes_arg {
    const uint8_t *p;
    size_t len;
} bytes_arg;

static int
encode_bytes(const void *arg, uint8_t *buf, size_t cap, size_t *len)
{
    const bytes_arg *b = (const bytes_arg *)arg;
    if (b->len > cap)
        return GENRPC_E_TOO_BIG;
    if (b->len > 0)
        memcpy(buf, b->p, b->len);
    *len = b->len;
    return GENRPC_OK;
}

int
genrpc_emb_call_bytes(genrpc_emb_client *c, const char *module, uint32_t version,
                      const char *function, const uint8_t *payload, size_t len,
                      uint32_t timeout_ms, const uint8_t **reply, size_t *reply_len)
{
    bytes_arg b = {payload, len};
    if (payload == NULL && len > 0)
        return GENRPC_E_INVAL;
    return genrpc_emb_call(c, module, version, function, encode_bytes, &b, timeout_ms, reply,
                           reply_len);
}

int
genrpc_emb_cast_bytes(genrpc_emb_client *c, const char *module, uint32_t version,
                      const char *function, const uint8_t *payload, size_t len,
                      uint32_t timeout_ms)
{
    bytes_arg b = {payload, len};
    if (payload == NULL && len > 0)
        return GENRPC_E_INVAL;
    return genrpc_emb_cast(c, module, version, function, encode_bytes, &b, timeout_ms);
}

bool
genrpc_emb_connected(const genrpc_emb_client *c)
{
    return c->connected;
}

void
genrpc_emb_close(genrpc_emb_client *c)
{
    c->connected = false;
    c->cfg.transport.close(c->cfg.transport.ctx);
}

int32_t
genrpc_emb_handler_code(const genrpc_emb_client *c)
{
    return c->handler_code;
}

uint8_t
genrpc_emb_reject_reason(const genrpc_emb_client *c)
{
    return c->reject_reason;
}

const char *
genrpc_emb_error_message(const genrpc_emb_client *c, size_t *len)
{
    if (len != NULL)
        *len = c->err_msg_len;
    return c->err_msg != NULL ? c->err_msg : "";
}
