/*
 * frame.h - the wire format (docs/protocol.md): frame kinds, header layouts,
 * their encoders and bounds-checked decoders. Pure functions, no I/O, no
 * allocation: unit-tested and fuzzed on their own.
 *
 * A frame is a 4-byte big-endian length followed by that many bytes of
 * body; the body starts with a one-byte kind.
 */
#ifndef GENRPC_FRAME_H
#define GENRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

#define GENRPC__PROTO_VERSION 1
#define GENRPC__MAGIC 0x474E5250u /* "GNRP" */
#define GENRPC__NONCE_LEN 32
#define GENRPC__MAC_LEN 32
#define GENRPC__NAME_MAX 255
#define GENRPC__LEN_PREFIX 4
/* Longest message an ERROR frame carries: longer ones are cut on encoding
 * and refused on decoding (docs/protocol.md). */
#define GENRPC__ERROR_MSG_MAX 1024
/* Largest frame accepted before a connection has authenticated. */
#define GENRPC__PREAUTH_MAX 600

typedef enum genrpc__kind {
    GENRPC__K_HELLO = 0x01,
    GENRPC__K_CHALLENGE = 0x02,
    GENRPC__K_AUTH = 0x03,
    GENRPC__K_AUTH_OK = 0x04,
    GENRPC__K_REJECT = 0x05,
    GENRPC__K_CALL = 0x10,
    GENRPC__K_CAST = 0x11,
    GENRPC__K_REPLY = 0x12,
    GENRPC__K_ERROR = 0x13,
    GENRPC__K_ABCAST = 0x20, /* C->S: to a named handler, no answer */
    GENRPC__K_SBCAST = 0x21, /* C->S: to a named handler, answered by REPLY or ERROR */
} genrpc__kind;

typedef enum genrpc__reject_reason {
    GENRPC__REJ_COOKIE = 1,   /* authentication failed */
    GENRPC__REJ_VERSION = 2,  /* no common protocol version */
    GENRPC__REJ_WRONG_NODE = 3, /* HELLO addressed another node name */
    GENRPC__REJ_PROTOCOL = 4, /* malformed handshake */
    GENRPC__REJ_CERT = 5,     /* TLS: the client's certificate does not name it */
} genrpc__reject_reason;

/* A name as it appears on the wire: u8 length + bytes (no NUL), as a
 * genrpc__str (base/str.h). */

typedef struct genrpc__hello {
    uint8_t min_version, max_version;
    const uint8_t *nonce; /* GENRPC__NONCE_LEN */
    genrpc__str from;     /* the client's node name */
    genrpc__str to;       /* the node name the client meant to reach */
} genrpc__hello;

typedef struct genrpc__challenge {
    uint8_t version;
    const uint8_t *nonce;
    genrpc__str name; /* the server's node name */
} genrpc__challenge;

typedef struct genrpc__request_hdr {
    uint64_t req_id;
    uint32_t version; /* 0: any */
    genrpc__str module;
    genrpc__str function;
    const uint8_t *payload;
    size_t payload_len;
} genrpc__request_hdr;

/* ABCAST / SBCAST: a message for the handler registered under `name`. */
typedef struct genrpc__bcast_hdr {
    uint64_t req_id;   /* SBCAST: matched by the REPLY/ERROR; ABCAST: informative */
    genrpc__str name;  /* the handler's name */
    genrpc__str type;  /* the message's protobuf full name ("pkg.Msg") */
    const uint8_t *payload;
    size_t payload_len;
} genrpc__bcast_hdr;

typedef struct genrpc__error_body {
    uint64_t req_id;
    uint16_t err;
    int32_t handler_code;
    genrpc__str message;
} genrpc__error_body;

/* ---- big-endian helpers -------------------------------------------------- */
static inline void genrpc__put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void genrpc__put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void genrpc__put_u64(uint8_t *p, uint64_t v) {
    genrpc__put_u32(p, (uint32_t)(v >> 32));
    genrpc__put_u32(p + 4, (uint32_t)v);
}
static inline uint16_t genrpc__get_u16(const uint8_t *p) {
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t genrpc__get_u32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t genrpc__get_u64(const uint8_t *p) {
    return ((uint64_t)genrpc__get_u32(p) << 32) | genrpc__get_u32(p + 4);
}

/* ---- sizes of the fixed parts (after the length prefix) ------------------- */

/* kind + req_id + version + u8 + module + u8 + function */
static inline size_t genrpc__request_hdr_size(size_t module_len, size_t function_len) {
    return 1 + 8 + 4 + 1 + module_len + 1 + function_len;
}
#define GENRPC__REPLY_HDR_SIZE (1 + 8)
/* kind + req_id + u8 + name + u8 + type */
static inline size_t genrpc__bcast_hdr_size(size_t name_len, size_t type_len) {
    return 1 + 8 + 1 + name_len + 1 + type_len;
}

/* The whole ERROR frame (length prefix included) for a message of
 * message_len bytes: prefix + kind + req_id + err + handler code + u16 +
 * message (cut at GENRPC__ERROR_MSG_MAX). */
static inline size_t genrpc__error_frame_size(size_t message_len) {
    if (message_len > GENRPC__ERROR_MSG_MAX)
        message_len = GENRPC__ERROR_MSG_MAX;
    return GENRPC__LEN_PREFIX + 1 + 8 + 2 + 4 + 2 + message_len;
}

/* ---- encoders: write a whole frame, length prefix included ---------------
 * Each returns the number of bytes written, or 0 if `cap` is too small or a
 * field is out of range. `genrpc__frame_len_*` give the size to allocate. */
size_t genrpc__encode_hello(uint8_t *buf, size_t cap, const genrpc__hello *h);
size_t genrpc__encode_challenge(uint8_t *buf, size_t cap, const genrpc__challenge *c);
size_t genrpc__encode_mac(uint8_t *buf, size_t cap, genrpc__kind kind, const uint8_t *mac);
size_t genrpc__encode_reject(uint8_t *buf, size_t cap, uint8_t reason, const char *text);
size_t genrpc__encode_error(uint8_t *buf, size_t cap, const genrpc__error_body *e);
/* Writes prefix + request header; the caller packs payload_len bytes of
 * payload right after. Returns the header bytes written (payload excluded). */
size_t genrpc__encode_request_hdr(uint8_t *buf, size_t cap, genrpc__kind kind,
                                  const genrpc__request_hdr *h);
/* kind is GENRPC__K_ABCAST or GENRPC__K_SBCAST; as encode_request_hdr. */
size_t genrpc__encode_bcast_hdr(uint8_t *buf, size_t cap, genrpc__kind kind,
                                const genrpc__bcast_hdr *h);
/* Writes prefix + reply header for payload_len bytes of payload. */
size_t genrpc__encode_reply_hdr(uint8_t *buf, size_t cap, uint64_t req_id, size_t payload_len);

/* ---- decoders: parse a frame body (after the length prefix) ---------------
 * All return false on any malformed or out-of-range input and never read
 * outside [body, body + len). Pointers in the results point into body. */
bool genrpc__decode_hello(const uint8_t *body, size_t len, genrpc__hello *h);
bool genrpc__decode_challenge(const uint8_t *body, size_t len, genrpc__challenge *c);
bool genrpc__decode_mac(const uint8_t *body, size_t len, genrpc__kind kind, const uint8_t **mac);
bool genrpc__decode_reject(const uint8_t *body, size_t len, uint8_t *reason, genrpc__str *text);
bool genrpc__decode_request(const uint8_t *body, size_t len, genrpc__request_hdr *h);
/* ABCAST or SBCAST (the kind is body[0]). */
bool genrpc__decode_bcast(const uint8_t *body, size_t len, genrpc__bcast_hdr *h);
bool genrpc__decode_reply(const uint8_t *body, size_t len, uint64_t *req_id,
                          const uint8_t **payload, size_t *payload_len);
bool genrpc__decode_error(const uint8_t *body, size_t len, genrpc__error_body *e);

/* Frame splitting: given the bytes buffered so far, the body length of the
 * first frame if its prefix is complete. Returns 1 and sets *body_len when
 * known, 0 when fewer than 4 bytes are buffered. */
int genrpc__frame_peek(const uint8_t *buf, size_t avail, size_t *body_len);

#endif /* GENRPC_FRAME_H */
