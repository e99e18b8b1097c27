/*
 * genrpc/embedded.h - the embedded genrpc client: C99, no malloc, no
 * threads, no libev, no OpenSSL. It speaks the same wire protocol as the
 * full runtime (docs/protocol.md, version 1) to full genrpc nodes: the
 * authenticated handshake, blocking calls with a timeout, and casts.
 *
 * Ownership: the caller allocates everything (the client struct, its
 * receive and transmit buffers, the transport's context) and keeps it alive
 * while the client is used. The library never allocates and never prints.
 *
 * Buffers: a request's frame (header + payload) must fit tx_cap, a reply's
 * frame must fit rx_cap; see docs/embedded.md ("Buffer sizing") and
 * GENRPC_EMB_FRAME_OVERHEAD. A reply larger than rx_cap fails the call with
 * GENRPC_E_TOO_BIG and closes the connection; nothing is ever written past
 * a buffer.
 *
 * Errors are the full runtime's (genrpc/error.h: one X-macro list, same
 * values and names). Functions return GENRPC_OK (0) or a genrpc_err.
 *
 * Threads: none. A client is used by one thread (or task) at a time.
 */
#ifndef GENRPC_EMBEDDED_H
#define GENRPC_EMBEDDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genrpc/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) || !defined(__GNUC__)
#define GENRPC_EMB_API
#else
#define GENRPC_EMB_API __attribute__((visibility("default")))
#endif

/* The protocol version this client speaks (it offers [1, 1] in HELLO). */
#define GENRPC_EMB_PROTO_VERSION 1

/* Sizes on the wire. */
#define GENRPC_EMB_MAC_LEN 32
#define GENRPC_EMB_NONCE_LEN 32
#define GENRPC_EMB_NAME_MAX 255       /* node, module and function names */
#define GENRPC_EMB_ERROR_MSG_MAX 1024 /* an ERROR frame's message */

/* Bytes a CALL/CAST frame adds to its payload: length prefix, kind,
 * req_id, version and the two name lengths; add the module's and the
 * function's name lengths. A REPLY frame adds GENRPC_EMB_REPLY_OVERHEAD. */
#define GENRPC_EMB_FRAME_OVERHEAD (4 + 1 + 8 + 4 + 1 + 1)
#define GENRPC_EMB_REPLY_OVERHEAD (4 + 1 + 8)

/* The smallest buffers init accepts. The handshake needs more when the
 * node names are long: tx_cap >= 75 + len(node_name) + len(server_name),
 * rx_cap >= 39 + len(server_name) (init checks both). */
#define GENRPC_EMB_RX_MIN 64
#define GENRPC_EMB_TX_MIN 96

/* ---- transport ------------------------------------------------------------
 * A byte stream to one server node (a TCP socket, a UART bridged to TCP,
 * ...), filled in by the device. All functions get `ctx`. Timeouts are in
 * milliseconds; the client computes them from each call's deadline. */

/* Return values of the transport's functions besides byte counts. */
#define GENRPC_EMB_IO_ERROR (-1)  /* failed; the client closes */
#define GENRPC_EMB_IO_CLOSED (-2) /* the peer closed the stream (end of file) */

typedef struct genrpc_emb_transport {
    void *ctx;
    /* Opens the stream to the server (connect). Returns 0, or a negative
     * GENRPC_EMB_IO_* value (the call fails with GENRPC_E_CONNECT). May be
     * a no-op returning 0 (a UART). Called again after close. */
    int (*open)(void *ctx, uint32_t timeout_ms);
    /* Reads up to `cap` bytes (cap >= 1), waiting at most timeout_ms for
     * the first. Returns the bytes read (> 0), 0 on timeout, or a negative
     * GENRPC_EMB_IO_* value. */
    int (*read)(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms);
    /* Writes all `len` bytes within timeout_ms. Returns 0 when all are
     * written, 1 on timeout (the call fails with GENRPC_E_SEND_TIMEOUT and
     * the client closes), or a negative GENRPC_EMB_IO_* value. */
    int (*write)(void *ctx, const uint8_t *buf, size_t len, uint32_t timeout_ms);
    /* Closes the stream; the next call opens it again. Never fails. */
    void (*close)(void *ctx);
    /* A monotonic clock in milliseconds; may wrap (differences are taken
     * modulo 2^32, so one call's timeout must stay below 2^31 ms). */
    uint32_t (*now_ms)(void *ctx);
} genrpc_emb_transport;

/* ---- crypto hooks ---------------------------------------------------------
 * HMAC-SHA256(key, msg) into out[32]. Returns 0, or nonzero on failure
 * (the handshake then fails with GENRPC_E_AUTH). mbedTLS's is
 * genrpc_emb_hmac_sha256_mbedtls (src/hmac_mbedtls.c, in its own file so
 * that a device with a hardware SHA engine can leave it out and pass its
 * own; the core never names it). */
typedef int (*genrpc_emb_hmac_fn)(void *ctx, const uint8_t *key, size_t key_len,
                                  const uint8_t *msg, size_t msg_len,
                                  uint8_t out[GENRPC_EMB_MAC_LEN]);

/* Fills buf with len bytes from a cryptographically secure source (a TRNG,
 * getrandom). Returns 0, or nonzero on failure (GENRPC_E_AUTH). Used for
 * the 32-byte client nonce of every handshake. */
typedef int (*genrpc_emb_random_fn)(void *ctx, uint8_t *buf, size_t len);

/* mbedTLS's HMAC-SHA256 (mbedtls_md_hmac); ctx is unused. */
GENRPC_EMB_API int genrpc_emb_hmac_sha256_mbedtls(void *ctx, const uint8_t *key,
                                                  size_t key_len, const uint8_t *msg,
                                                  size_t msg_len,
                                                  uint8_t out[GENRPC_EMB_MAC_LEN]);

/* ---- configuration -------------------------------------------------------- */
typedef struct genrpc_emb_config {
    const char *node_name;   /* this device's node name (HELLO's from), 1-255 bytes */
    const char *server_name; /* the node dialled (HELLO's to; CHALLENGE must name it) */
    const char *cookie;      /* the shared secret, NUL-terminated, non-empty */
    genrpc_emb_transport transport;
    genrpc_emb_hmac_fn hmac; /* required: e.g. genrpc_emb_hmac_sha256_mbedtls */
    void *hmac_ctx;
    genrpc_emb_random_fn random; /* required */
    void *random_ctx;
    uint8_t *rx_buf; /* receive buffer: the largest frame this client accepts */
    size_t rx_cap;
    uint8_t *tx_buf; /* transmit buffer: the largest frame this client sends */
    size_t tx_cap;
} genrpc_emb_config;

#define GENRPC_EMB_CONFIG_INIT {NULL, NULL, NULL, {NULL, NULL, NULL, NULL, NULL, NULL}, \
                                NULL, NULL, NULL, NULL, NULL, 0, NULL, 0}

/* ---- the client ------------------------------------------------------------
 * Caller-allocated. Its fields are private (read them through the
 * functions below); they are here only so that it can be allocated
 * statically or on the stack. */
typedef struct genrpc_emb_client {
    genrpc_emb_config cfg;
    size_t node_len, server_len, cookie_len;
    bool connected;       /* handshake done, stream in sync */
    uint64_t next_req_id; /* never reused on one connection */
    uint32_t deadline;    /* the current call's, in now_ms() time */
    /* The last call's outcome details (GENRPC_E_HANDLER and other ERROR
     * frames): valid until the next call on this client. */
    int32_t handler_code;
    const char *err_msg; /* points into rx_buf; not NUL-terminated */
    size_t err_msg_len;
    uint8_t reject_reason; /* last REJECT's reason (GENRPC_E_AUTH etc.), 0 if none */
} genrpc_emb_client;

/* Checks `cfg` and prepares `c` (no I/O: the first call connects). `cfg`
 * is copied; the buffers, names, cookie and contexts it points to stay the
 * caller's and must outlive the client. Returns GENRPC_OK, or
 * GENRPC_E_INVAL (a missing function, a bad name or cookie, a buffer below
 * the minimum for the handshake). */
GENRPC_EMB_API int genrpc_emb_init(genrpc_emb_client *c, const genrpc_emb_config *cfg);

/* Writes a request's payload into buf[0..cap) and sets *len. Returns
 * GENRPC_OK, GENRPC_E_TOO_BIG if it does not fit, or another genrpc_err
 * (GENRPC_E_INVAL: could not encode). Generated stubs pass nanopb's
 * pb_encode here; the payload is written straight into tx_buf. */
typedef int (*genrpc_emb_encode_fn)(const void *arg, uint8_t *buf, size_t cap, size_t *len);

/* A blocking call of `module`.`function` at `version` (0: any), done or
 * failed within timeout_ms (1 .. 2^31-1) from now, including connecting
 * and the handshake if the client is not connected. `encode(arg, ...)`
 * writes the request payload (encode NULL: empty payload).
 *
 * On GENRPC_OK, *reply / *reply_len are the reply's payload, pointing into
 * rx_buf and valid until the next call on this client. On GENRPC_E_HANDLER
 * (and any other ERROR from the server) genrpc_emb_handler_code and
 * genrpc_emb_error_message give the details. Errors: the remote ones
 * (UNDEF, INCOMPATIBLE, UNAUTHORIZED, HANDLER, BADARGS, OVERLOAD), TIMEOUT,
 * CONNECT, CLOSED, SEND_TIMEOUT, AUTH, PROTOCOL, IO, TOO_BIG (the request
 * does not fit tx_buf, or the reply does not fit rx_buf: the connection is
 * closed), INVAL. After a transport failure the client is disconnected and
 * the next call reconnects. */
GENRPC_EMB_API int genrpc_emb_call(genrpc_emb_client *c, const char *module, uint32_t version,
                                   const char *function, genrpc_emb_encode_fn encode,
                                   const void *arg, uint32_t timeout_ms,
                                   const uint8_t **reply, size_t *reply_len);

/* A cast: sends the request and returns once it is written (no answer is
 * ever sent; the server runs one connection's casts in order). Connecting,
 * the handshake and the write are bounded by timeout_ms. Same errors as
 * genrpc_emb_call, minus the remote ones. */
GENRPC_EMB_API int genrpc_emb_cast(genrpc_emb_client *c, const char *module, uint32_t version,
                                   const char *function, genrpc_emb_encode_fn encode,
                                   const void *arg, uint32_t timeout_ms);

/* The same with a ready payload of `len` bytes (copied into tx_buf). */
GENRPC_EMB_API int genrpc_emb_call_bytes(genrpc_emb_client *c, const char *module,
                                         uint32_t version, const char *function,
                                         const uint8_t *payload, size_t len,
                                         uint32_t timeout_ms, const uint8_t **reply,
                                         size_t *reply_len);
GENRPC_EMB_API int genrpc_emb_cast_bytes(genrpc_emb_client *c, const char *module,
                                         uint32_t version, const char *function,
                                         const uint8_t *payload, size_t len,
                                         uint32_t timeout_ms);

/* Connects and authenticates now if not connected (calls do it on
 * demand). Returns GENRPC_OK or the handshake's error. */
GENRPC_EMB_API int genrpc_emb_connect(genrpc_emb_client *c, uint32_t timeout_ms);

/* True once the handshake has completed and until a failure or close. */
GENRPC_EMB_API bool genrpc_emb_connected(const genrpc_emb_client *c);

/* Closes the connection (transport close); the client stays usable. */
GENRPC_EMB_API void genrpc_emb_close(genrpc_emb_client *c);

/* The last ERROR frame's handler code (GENRPC_E_HANDLER: the handler's
 * code; otherwise as the server sent it). */
GENRPC_EMB_API int32_t genrpc_emb_handler_code(const genrpc_emb_client *c);

/* The reason of the REJECT that failed the last handshake (docs/protocol.md:
 * 1 invalid cookie, 2 no common version, 3 HELLO addressed to another
 * node, 4 malformed handshake), or 0. */
GENRPC_EMB_API uint8_t genrpc_emb_reject_reason(const genrpc_emb_client *c);

/* The last ERROR frame's message (UTF-8, not NUL-terminated, *len bytes;
 * may be truncated to what fit rx_buf), or a REJECT's text. Points into
 * rx_buf; valid until the next call. *len = 0 and "" when none. */
GENRPC_EMB_API const char *genrpc_emb_error_message(const genrpc_emb_client *c, size_t *len);

/* genrpc_strerror / genrpc_err_name for the embedded build, from the same
 * GENRPC_ERR_MAP: "call timed out", "TIMEOUT"; "unknown error" /
 * "UNKNOWN" outside the list. Static storage. */
GENRPC_EMB_API const char *genrpc_emb_strerror(int err);
GENRPC_EMB_API const char *genrpc_emb_err_name(int err);

/* ---- POSIX transport (src/posix.c; hosts and tests) ------------------------
 * TCP to host:port with TCP_NODELAY and keepalive; random from getrandom. */
typedef struct genrpc_emb_posix {
    const char *host; /* numeric address or name */
    uint16_t port;
    int fd;           /* -1 when closed */
} genrpc_emb_posix;

/* Fills `t` with the POSIX ops over `p` (host and port set by the caller;
 * fd is set to -1 here). */
GENRPC_EMB_API void genrpc_emb_posix_transport(genrpc_emb_posix *p, genrpc_emb_transport *t);

/* getrandom(2); ctx is unused. */
GENRPC_EMB_API int genrpc_emb_posix_random(void *ctx, uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* GENRPC_EMBEDDED_H */
