/*
 * wire.c - the embedded client's frame codecs (see wire.h).
 */
#include "wire.h"

#include <string.h>

#include "genrpc/embedded.h"
#include "genrpc/error.h"

#define TRANSCRIPT_TAG "genrpc/1"
#define TRANSCRIPT_TAG_LEN 8

/* Name lengths on the wire: 1..255. */
static bool
name_ok(size_t len)
{
    return len >= 1 && len <= GENRPC__NAME_MAX;
}

static uint8_t *
put_name(uint8_t *p, const char *s, size_t len)
{
    *p++ = (uint8_t)len;
    memcpy(p, s, len);
    return p + len;
}

size_t
genrpc_emb__put_hello(uint8_t *buf, size_t cap, const uint8_t *nonce, const char *from,
                      size_t from_len, const char *to, size_t to_len)
{
    size_t body = 1 + 4 + 1 + 1 + GENRPC__NONCE_LEN + 1 + from_len + 1 + to_len;
    if (!name_ok(from_len) || !name_ok(to_len) || body > GENRPC__PREAUTH_MAX ||
        cap < GENRPC__LEN_PREFIX + body)
        return 0;
    uint8_t *p = buf;
    genrpc__put_u32(p, (uint32_t)body);
    p[4] = GENRPC__K_HELLO;
    genrpc__put_u32(p + 5, GENRPC__MAGIC);
    p[9] = GENRPC_EMB_PROTO_VERSION; /* min_version */
    p[10] = GENRPC_EMB_PROTO_VERSION; /* max_version */
    memcpy(p + 11, nonce, GENRPC__NONCE_LEN);
    p += 11 + GENRPC__NONCE_LEN;
    p = put_name(p, from, from_len);
    p = put_name(p, to, to_len);
    return (size_t)(p - buf);
}

size_t
genrpc_emb__put_auth(uint8_t *buf, size_t cap, const uint8_t *mac)
{
    if (cap < GENRPC__LEN_PREFIX + 1 + GENRPC__MAC_LEN)
        return 0;
    genrpc__put_u32(buf, 1 + GENRPC__MAC_LEN);
    buf[4] = GENRPC__K_AUTH;
    memcpy(buf + 5, mac, GENRPC__MAC_LEN);
    return GENRPC__LEN_PREFIX + 1 + GENRPC__MAC_LEN;
}

size_t
genrpc_emb__put_request_hdr(uint8_t *buf, size_t cap, uint8_t kind, uint64_t req_id,
                            uint32_t version, const char *module, size_t module_len,
                            const char *function, size_t function_len, size_t payload_len)
{
    size_t hdr = genrpc__request_hdr_size(GENRPC_EMB_PROTO_VERSION, module_len, function_len, 0);
    if (!name_ok(module_len) || !name_ok(function_len) || cap < GENRPC__LEN_PREFIX + hdr ||
        payload_len > 0xFFFFFFFFu - hdr)
        return 0;
    uint8_t *p = buf;
    genrpc__put_u32(p, (uint32_t)(hdr + payload_len));
    p[4] = kind;
    genrpc__put_u64(p + 5, req_id);
    genrpc__put_u32(p + 13, version);
    p += 17;
    p = put_name(p, module, module_len);
    p = put_name(p, function, function_len);
    return (size_t)(p - buf);
}

size_t
genrpc_emb__put_transcript(uint8_t *buf, size_t cap, uint8_t role, const uint8_t *client_nonce,
                           const uint8_t *server_nonce, const char *client, size_t client_len,
                           const char *server, size_t server_len)
{
    size_t n = 1 + TRANSCRIPT_TAG_LEN + 2 * GENRPC__NONCE_LEN + 1 + client_len + 1 + server_len;
    if (!name_ok(client_len) || !name_ok(server_len) || cap < n)
        return 0;
    uint8_t *p = buf;
    *p++ = role;
    memcpy(p, TRANSCRIPT_TAG, TRANSCRIPT_TAG_LEN);
    p += TRANSCRIPT_TAG_LEN;
    memcpy(p, client_nonce, GENRPC__NONCE_LEN);
    p += GENRPC__NONCE_LEN;
    memcpy(p, server_nonce, GENRPC__NONCE_LEN);
    p += GENRPC__NONCE_LEN;
    p = put_name(p, client, client_len);
    p = put_name(p, server, server_len);
    return (size_t)(p - buf);
}

bool
genrpc_emb__get_challenge(const uint8_t *body, size_t len, uint8_t *version,
                          const uint8_t **nonce, const char **name, size_t *name_len)
{
    /* kind, version, nonce, u8 name length, name */
    if (len < 3 + GENRPC__NONCE_LEN || body[0] != GENRPC__K_CHALLENGE)
        return false;
    size_t n = body[2 + GENRPC__NONCE_LEN];
    if (n == 0 || len != 3 + GENRPC__NONCE_LEN + n)
        return false;
    *version = body[1];
    *nonce = body + 2;
    *name = (const char *)body + 3 + GENRPC__NONCE_LEN;
    *name_len = n;
    return true;
}

bool
genrpc_emb__get_auth_ok(const uint8_t *body, size_t len, const uint8_t **mac)
{
    if (len != 1 + GENRPC__MAC_LEN || body[0] != GENRPC__K_AUTH_OK)
        return false;
    *mac = body + 1;
    return true;
}

bool
genrpc_emb__get_reject(const uint8_t *body, size_t avail, size_t len, uint8_t *reason,
                       const char **text, size_t *text_len)
{
    if (avail > len || avail < 3 || body[0] != GENRPC__K_REJECT || len != 3 + (size_t)body[2])
        return false;
    *reason = body[1];
    *text = (const char *)body + 3;
    *text_len = avail - 3;
    return true;
}

bool
genrpc_emb__get_reply(const uint8_t *body, size_t len, uint64_t *req_id,
                      const uint8_t **payload, size_t *payload_len)
{
    if (len < GENRPC_EMB_REPLY_HDR_SIZE || body[0] != GENRPC__K_REPLY)
        return false;
    *req_id = genrpc__get_u64(body + 1);
    *payload = body + GENRPC_EMB_REPLY_HDR_SIZE;
    *payload_len = len - GENRPC_EMB_REPLY_HDR_SIZE;
    return true;
}

bool
genrpc_emb__get_error(const uint8_t *body, size_t avail, size_t len, genrpc_emb__error *e)
{
    if (avail > len || avail < GENRPC_EMB__ERROR_FIXED || body[0] != GENRPC__K_ERROR)
        return false;
    size_t msg_len = genrpc__get_u16(body + 15);
    if (msg_len > 1024 || len != GENRPC_EMB__ERROR_FIXED + msg_len)
        return false;
    e->req_id = genrpc__get_u64(body + 1);
    e->err = genrpc__get_u16(body + 9);
    e->handler_code = (int32_t)genrpc__get_u32(body + 11);
    e->msg = (const char *)body + GENRPC_EMB__ERROR_FIXED;
    e->msg_len = avail - GENRPC_EMB__ERROR_FIXED;
    return true;
}

bool
genrpc_emb__remote_err(uint16_t err)
{
    switch (err) {
    case GENRPC_E_UNDEF:
    case GENRPC_E_INCOMPATIBLE:
    case GENRPC_E_UNAUTHORIZED:
    case GENRPC_E_HANDLER:
    case GENRPC_E_BADARGS:
    case GENRPC_E_OVERLOAD:
        return true;
    default:
        return false;
    }
}
