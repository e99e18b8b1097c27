/*
 * wire.h - the embedded client's encoders and bounds-checked decoders for
 * the frames it sends and receives (docs/protocol.md, version 1). The
 * constants and byte helpers are the full runtime's (frame.h); these are
 * the client's few codecs, pure and allocation-free, fuzzed by
 * tests/fuzz/fuzz_embedded.c.
 */
#ifndef GENRPC_EMB_WIRE_H
#define GENRPC_EMB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/frame.h"

/* The embedded client speaks protocol version 1 (GENRPC_EMB_PROTO_VERSION
 * in genrpc/embedded.h): a REPLY is its kind and request id, then the
 * payload. */
#define GENRPC_EMB_REPLY_HDR_SIZE (1 + 8)
/* An ERROR frame's fixed part: kind, req_id, err, handler_code, msg_len. */
#define GENRPC_EMB__ERROR_FIXED (1 + 8 + 2 + 4 + 2)

typedef struct genrpc_emb__error {
    uint64_t req_id;
    uint16_t err;
    int32_t handler_code;
    const char *msg; /* into the body */
    size_t msg_len;  /* what is available of it (may be truncated) */
} genrpc_emb__error;

/* ---- encoders: whole frames, length prefix included; 0 if cap is short
 * or a field is out of range. */
size_t genrpc_emb__put_hello(uint8_t *buf, size_t cap, const uint8_t *nonce, const char *from,
                             size_t from_len, const char *to, size_t to_len);
size_t genrpc_emb__put_auth(uint8_t *buf, size_t cap, const uint8_t *mac);
/* Prefix + CALL/CAST header for payload_len bytes of payload that the
 * caller has put right after it; returns the header's size. */
size_t genrpc_emb__put_request_hdr(uint8_t *buf, size_t cap, uint8_t kind, uint64_t req_id,
                                   uint32_t version, const char *module, size_t module_len,
                                   const char *function, size_t function_len,
                                   size_t payload_len);
/* The proof's input: role || "genrpc/1" || nonces || names (auth.h). */
size_t genrpc_emb__put_transcript(uint8_t *buf, size_t cap, uint8_t role,
                                  const uint8_t *client_nonce, const uint8_t *server_nonce,
                                  const char *client, size_t client_len, const char *server,
                                  size_t server_len);

/* ---- decoders of a frame body (after the length prefix); false on any
 * malformed input, never reading outside [body, body + len). */
bool genrpc_emb__get_challenge(const uint8_t *body, size_t len, uint8_t *version,
                               const uint8_t **nonce, const char **name, size_t *name_len);
bool genrpc_emb__get_auth_ok(const uint8_t *body, size_t len, const uint8_t **mac);
/* REJECT; `avail` <= `len` bytes of a `len`-byte body are at hand (the
 * text is then truncated to what is). */
bool genrpc_emb__get_reject(const uint8_t *body, size_t avail, size_t len, uint8_t *reason,
                            const char **text, size_t *text_len);
bool genrpc_emb__get_reply(const uint8_t *body, size_t len, uint64_t *req_id,
                           const uint8_t **payload, size_t *payload_len);
/* ERROR; as get_reject for `avail` <= `len`. Checks msg_len <= 1024 and
 * that it matches `len` exactly. */
bool genrpc_emb__get_error(const uint8_t *body, size_t avail, size_t len,
                           genrpc_emb__error *e);
/* The err values that may travel in an ERROR frame. */
bool genrpc_emb__remote_err(uint16_t err);

#endif /* GENRPC_EMB_WIRE_H */
