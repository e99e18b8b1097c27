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

/* Protocol versions this runtime speaks (docs/protocol.md): 1, and 2 with
 * deadlines, flags and metadata on requests and answers, CANCEL and GOAWAY. */
#define GENRPC__PROTO_MIN 1
#define GENRPC__PROTO_MAX 2
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

/* Version 2: a request's or answer's flags byte. */
#define GENRPC__F_METADATA 0x01u   /* a metadata block follows the header */
#define GENRPC__F_COMPRESSED 0x02u /* the payload is zstd (only where negotiated) */
#define GENRPC__F_KNOWN (GENRPC__F_METADATA | GENRPC__F_COMPRESSED)
/* Version 2: limits of a metadata block (docs/protocol.md, "Metadata"). */
#define GENRPC__MD_MAX_BYTES 8192
#define GENRPC__MD_MAX_ENTRIES 64
#define GENRPC__MD_KEY_MAX 64
/* Version 2: AUTH and AUTH_OK carry at most this many settings. */
#define GENRPC__SETTINGS_MAX 16
/* GOAWAY's last_req_id when the sender still serves everything it gets
 * until the client closes (drain, idle close). */
#define GENRPC__GOAWAY_ALL UINT64_MAX

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
    GENRPC__K_CANCEL = 0x14, /* v2, C->S: the caller gave up on req_id */
    GENRPC__K_GOAWAY = 0x15, /* v2, S->C: no new requests on this connection */
    GENRPC__K_ABCAST = 0x20, /* C->S: to a named handler, no answer */
    GENRPC__K_SBCAST = 0x21, /* C->S: to a named handler, answered by REPLY or ERROR */
} genrpc__kind;

typedef enum genrpc__reject_reason {
    GENRPC__REJ_COOKIE = 1,   /* authentication failed */
    GENRPC__REJ_VERSION = 2,  /* no common protocol version */
    GENRPC__REJ_WRONG_NODE = 3, /* HELLO addressed another node name */
    GENRPC__REJ_PROTOCOL = 4, /* malformed handshake */
    GENRPC__REJ_CERT = 5,     /* TLS: the client's certificate does not name it */
    GENRPC__REJ_DRAINING = 6, /* the node is draining: no new connections */
} genrpc__reject_reason;

typedef enum genrpc__goaway_reason {
    GENRPC__GOAWAY_DRAINING = 1, /* genrpc_node_drain */
    GENRPC__GOAWAY_IDLE = 2,     /* server_inactivity_timeout */
    GENRPC__GOAWAY_STOPPING = 3, /* genrpc_node_stop, or a drain out of time */
} genrpc__goaway_reason;

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

/* Every frame struct below has `proto`, the layout it is in: 0 or 1 for
 * version 1, 2 for version 2. Version 2 adds the fields marked "v2"; in
 * version 1 they are zero (encoders ignore them). `metadata` is a whole
 * metadata block (entries only, without its u16 length), checked by the
 * decoder; empty: none. */

typedef struct genrpc__request_hdr {
    uint8_t proto;
    uint64_t req_id;
    uint32_t version; /* 0: any */
    uint32_t timeout_ms; /* v2: the caller's time left; 0: no deadline */
    uint8_t flags;       /* v2: GENRPC__F_* */
    genrpc__str module;
    genrpc__str function;
    genrpc__str metadata; /* v2 */
    const uint8_t *payload;
    size_t payload_len;
} genrpc__request_hdr;

/* ABCAST / SBCAST: a message for the handler registered under `name`. */
typedef struct genrpc__bcast_hdr {
    uint8_t proto;
    uint64_t req_id;   /* SBCAST: matched by the REPLY/ERROR; ABCAST: informative */
    uint32_t timeout_ms; /* v2 */
    uint8_t flags;       /* v2 */
    genrpc__str name;  /* the handler's name */
    genrpc__str type;  /* the message's protobuf full name ("pkg.Msg") */
    genrpc__str metadata; /* v2 */
    const uint8_t *payload;
    size_t payload_len;
} genrpc__bcast_hdr;

typedef struct genrpc__reply_body {
    uint8_t proto;
    uint64_t req_id;
    uint8_t flags;        /* v2 */
    genrpc__str metadata; /* v2: trailers */
    const uint8_t *payload;
    size_t payload_len;
} genrpc__reply_body;

typedef struct genrpc__error_body {
    uint8_t proto;
    uint64_t req_id;
    uint16_t err;
    int32_t handler_code;
    genrpc__str message;
    uint8_t flags;        /* v2 */
    genrpc__str metadata; /* v2: trailers */
} genrpc__error_body;

/* GOAWAY: requests with ids above last_req_id were not read and will not
 * run (GENRPC__GOAWAY_ALL: everything sent is still served). */
typedef struct genrpc__goaway {
    uint64_t last_req_id;
    uint8_t reason; /* genrpc__goaway_reason */
    genrpc__str text;
} genrpc__goaway;

/* v2 AUTH / AUTH_OK: the proof and the sender's settings. */
typedef struct genrpc__setting {
    uint8_t id;
    uint32_t value;
} genrpc__setting;

typedef struct genrpc__auth_body {
    const uint8_t *mac; /* GENRPC__MAC_LEN */
    size_t n_settings;
    genrpc__setting settings[GENRPC__SETTINGS_MAX];
} genrpc__auth_body;

/* One metadata entry, as genrpc__md_next walks a checked block. */
typedef struct genrpc__md_entry {
    genrpc__str key;
    const uint8_t *value;
    size_t value_len;
} genrpc__md_entry;

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

/* What version 2 adds to a header: timeout (requests only), flags, and
 * the metadata block with its u16 length when there is one. */
static inline size_t genrpc__v2_extra(uint8_t proto, bool timeout, size_t metadata_len) {
    if (proto < 2)
        return 0;
    return (timeout ? 4 : 0) + 1 + (metadata_len ? 2 + metadata_len : 0);
}

/* v1: kind + req_id + version + u8 + module + u8 + function
 * v2: ... + timeout after version, flags after it, metadata after function */
static inline size_t genrpc__request_hdr_size(uint8_t proto, size_t module_len,
                                              size_t function_len, size_t metadata_len) {
    return 1 + 8 + 4 + 1 + module_len + 1 + function_len +
           genrpc__v2_extra(proto, true, metadata_len);
}
/* Where the request id and (v2) the timeout sit in an encoded request,
 * counted from the frame's start (length prefix included). */
#define GENRPC__REQ_ID_OFFSET (GENRPC__LEN_PREFIX + 1)
#define GENRPC__REQ_TIMEOUT_OFFSET (GENRPC__LEN_PREFIX + 1 + 8 + 4)
/* kind + req_id (+ v2 flags, metadata) */
static inline size_t genrpc__reply_hdr_size(uint8_t proto, size_t metadata_len) {
    return 1 + 8 + genrpc__v2_extra(proto, false, metadata_len);
}
/* kind + req_id (+ v2 timeout, flags) + u8 + name + u8 + type (+ v2 metadata) */
static inline size_t genrpc__bcast_hdr_size(uint8_t proto, size_t name_len, size_t type_len,
                                            size_t metadata_len) {
    return 1 + 8 + 1 + name_len + 1 + type_len + genrpc__v2_extra(proto, true, metadata_len);
}

/* The whole ERROR frame (length prefix included) for a message of
 * message_len bytes: prefix + kind + req_id + err + handler code + u16 +
 * message (cut at GENRPC__ERROR_MSG_MAX) (+ v2 flags and metadata). */
static inline size_t genrpc__error_frame_size(uint8_t proto, size_t message_len,
                                              size_t metadata_len) {
    if (message_len > GENRPC__ERROR_MSG_MAX)
        message_len = GENRPC__ERROR_MSG_MAX;
    return GENRPC__LEN_PREFIX + 1 + 8 + 2 + 4 + 2 + message_len +
           genrpc__v2_extra(proto, false, metadata_len);
}
#define GENRPC__CANCEL_FRAME_SIZE (GENRPC__LEN_PREFIX + 1 + 8)
#define GENRPC__GOAWAY_FRAME_MAX (GENRPC__LEN_PREFIX + 1 + 8 + 1 + 1 + GENRPC__NAME_MAX)

/* ---- encoders: write a whole frame, length prefix included ---------------
 * Each returns the number of bytes written, or 0 if `cap` is too small or a
 * field is out of range. `genrpc__frame_len_*` give the size to allocate. */
size_t genrpc__encode_hello(uint8_t *buf, size_t cap, const genrpc__hello *h);
size_t genrpc__encode_challenge(uint8_t *buf, size_t cap, const genrpc__challenge *c);
size_t genrpc__encode_mac(uint8_t *buf, size_t cap, genrpc__kind kind, const uint8_t *mac);
/* v2 AUTH / AUTH_OK: proof and settings. */
size_t genrpc__encode_auth(uint8_t *buf, size_t cap, genrpc__kind kind, const genrpc__auth_body *a);
size_t genrpc__encode_cancel(uint8_t *buf, size_t cap, uint64_t req_id);
size_t genrpc__encode_goaway(uint8_t *buf, size_t cap, const genrpc__goaway *g);
size_t genrpc__encode_reject(uint8_t *buf, size_t cap, uint8_t reason, const char *text);
size_t genrpc__encode_error(uint8_t *buf, size_t cap, const genrpc__error_body *e);
/* Writes prefix + request header; the caller packs payload_len bytes of
 * payload right after. Returns the header bytes written (payload excluded). */
size_t genrpc__encode_request_hdr(uint8_t *buf, size_t cap, genrpc__kind kind,
                                  const genrpc__request_hdr *h);
/* kind is GENRPC__K_ABCAST or GENRPC__K_SBCAST; as encode_request_hdr. */
size_t genrpc__encode_bcast_hdr(uint8_t *buf, size_t cap, genrpc__kind kind,
                                const genrpc__bcast_hdr *h);
/* Writes prefix + reply header for r->payload_len bytes of payload. */
size_t genrpc__encode_reply_hdr(uint8_t *buf, size_t cap, const genrpc__reply_body *r);

/* ---- decoders: parse a frame body (after the length prefix) ---------------
 * All return false on any malformed or out-of-range input and never read
 * outside [body, body + len). Pointers in the results point into body. */
bool genrpc__decode_hello(const uint8_t *body, size_t len, genrpc__hello *h);
bool genrpc__decode_challenge(const uint8_t *body, size_t len, genrpc__challenge *c);
bool genrpc__decode_mac(const uint8_t *body, size_t len, genrpc__kind kind, const uint8_t **mac);
/* v2 AUTH / AUTH_OK (settings beyond GENRPC__SETTINGS_MAX: malformed). */
bool genrpc__decode_auth(const uint8_t *body, size_t len, genrpc__kind kind, genrpc__auth_body *a);
bool genrpc__decode_reject(const uint8_t *body, size_t len, uint8_t *reason, genrpc__str *text);
/* The frames of a READY connection take the connection's version. */
bool genrpc__decode_request(uint8_t proto, const uint8_t *body, size_t len, genrpc__request_hdr *h);
/* ABCAST or SBCAST (the kind is body[0]). */
bool genrpc__decode_bcast(uint8_t proto, const uint8_t *body, size_t len, genrpc__bcast_hdr *h);
bool genrpc__decode_reply(uint8_t proto, const uint8_t *body, size_t len, genrpc__reply_body *r);
bool genrpc__decode_error(uint8_t proto, const uint8_t *body, size_t len, genrpc__error_body *e);
bool genrpc__decode_cancel(const uint8_t *body, size_t len, uint64_t *req_id);
bool genrpc__decode_goaway(const uint8_t *body, size_t len, genrpc__goaway *g);

/* Metadata blocks: is [p, p + len) a well-formed block within the limits
 * (entries of key:str8 (lower-case [a-z0-9._-]) value_len:u16 value)?
 * genrpc__md_next walks a checked one: start with *pos = 0. */
bool genrpc__md_check(const uint8_t *p, size_t len);
bool genrpc__md_next(genrpc__str block, size_t *pos, genrpc__md_entry *e);

/* Frame splitting: given the bytes buffered so far, the body length of the
 * first frame if its prefix is complete. Returns 1 and sets *body_len when
 * known, 0 when fewer than 4 bytes are buffered. */
int genrpc__frame_peek(const uint8_t *buf, size_t avail, size_t *body_len);

#endif /* GENRPC_FRAME_H */
