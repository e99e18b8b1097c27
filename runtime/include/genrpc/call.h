/*
 * genrpc/call.h - calling functions on other nodes: call, cast, async call
 * (promise or callback), yield and nb_yield.
 *
 * Generated stubs (`kv__store__get_call`, `kv__store__get_cast`,
 * `kv__store__get_async`, ...; docs/idl.md) are thin typed wrappers over
 * these; use the stubs.
 *
 * Rules that hold for every function here:
 *  - The return value is a genrpc_err (GENRPC_OK = 0). When `st` is not
 *    NULL it is filled on every return (st->err equals the return value).
 *  - The caller keeps ownership of the request; it may be freed as soon as
 *    the function returns (it has been encoded).
 *  - Callback rule (libuv's): if a function taking a callback returns an
 *    error, the callback is never called; otherwise it is called exactly
 *    once: on reply, error, timeout, connection loss or node stop.
 */
#ifndef GENRPC_CALL_H
#define GENRPC_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include "genrpc/error.h"
#include "genrpc/export.h"
#include "genrpc/module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "wait forever" for every *_ms parameter and config field. */
#define GENRPC_INFINITY (-1)

/* Longest handler / error message carried back to a caller (with NUL). */
#define GENRPC_MESSAGE_MAX 256

/* Where a call goes: a node, or a {node, key} shard of it. A key (any
 * bytes) is hashed to select a separate connection to that node; calls with
 * equal keys share one. The key never crosses the wire. */
typedef struct genrpc_target {
    const char *node;    /* "name@host" */
    const void *key;     /* NULL: the node's keyless connection */
    size_t key_len;
} genrpc_target;

static inline genrpc_target genrpc_node_target(const char *node) {
    genrpc_target t = {node, NULL, 0};
    return t;
}

static inline genrpc_target genrpc_key_target(const char *node, const void *key, size_t key_len) {
    genrpc_target t = {node, key, key_len};
    return t;
}

/* A cancellation token (genrpc_cancel_token_new): calls started with it in
 * their options are cancelled together by genrpc_cancel. */
typedef struct genrpc_cancel_token genrpc_cancel_token;

/* ---- metadata (docs/calls.md, "Metadata") ---------------------------------
 * Key/value pairs that travel with a call: headers with the request, trailers
 * with its answer (protocol version 2; over a version-1 connection they are
 * dropped without a word). Keys are 1-64 bytes of [a-z0-9._-] (keys
 * starting "genrpc-" are reserved), values any bytes; a set holds at most
 * 64 entries and 8,192 bytes of encoded entries (1 + key + 2 + value each).
 * A key may repeat; genrpc_metadata_get finds the first. The type is
 * declared in module.h (a handler reads headers and adds trailers). */

#define GENRPC_METADATA_MAX_ENTRIES 64
#define GENRPC_METADATA_MAX_BYTES 8192
#define GENRPC_METADATA_KEY_MAX 64

/* A new empty set that the caller owns (genrpc_metadata_free). */
GENRPC_API int genrpc_metadata_new(genrpc_metadata **out);
GENRPC_API void genrpc_metadata_free(genrpc_metadata *md); /* NULL: no-op */
GENRPC_API void genrpc_metadata_clear(genrpc_metadata *md);
/* Appends key = value (len bytes, copied). GENRPC_E_INVAL: a bad or
 * reserved key (or md is a handler's read-only headers);
 * GENRPC_E_TOO_BIG: the set would pass a limit above (md unchanged). */
GENRPC_API int genrpc_metadata_add(genrpc_metadata *md, const char *key, const void *value,
                                   size_t len);
GENRPC_API int genrpc_metadata_add_str(genrpc_metadata *md, const char *key, const char *value);
/* Entries in the set (NULL: 0). */
GENRPC_API size_t genrpc_metadata_count(const genrpc_metadata *md);
/* The first value under key: true and *value, *len (pointing into md,
 * valid until md changes), or false. */
GENRPC_API bool genrpc_metadata_get(const genrpc_metadata *md, const char *key,
                                    const void **value, size_t *len);
/* Entry i (0 <= i < count), in the order added: its key as a C string
 * (copied into key[GENRPC_METADATA_KEY_MAX + 1]) and its value. */
GENRPC_API bool genrpc_metadata_at(const genrpc_metadata *md, size_t i,
                                   char key[GENRPC_METADATA_KEY_MAX + 1], const void **value,
                                   size_t *len);
/* Copies src's entries after dst's (limits as genrpc_metadata_add). */
GENRPC_API int genrpc_metadata_append(genrpc_metadata *dst, const genrpc_metadata *src);

/* Per-call options; NULL means all defaults. Initialise with
 * GENRPC_CALL_OPTS_INIT (or zero it): fields added later take their place
 * from `reserved`, their zero meaning what the library did before. */
typedef struct genrpc_call_opts {
    /* Receive timeout in ms, covering queueing, sending and the remote run.
     * 0 = the node's call_receive_timeout (default 15000);
     * GENRPC_INFINITY = wait forever. Inside a handler, shortened to what
     * is left of that request's deadline (never lengthened). It travels
     * with the request (protocol version 2): the callee drops a request
     * still queued when it runs out (docs/calls.md). A cast has a deadline
     * only when this is > 0 (or it is sent from a handler with one). */
    int64_t timeout_ms;
    /* Module version the callee must serve. A callee without that
     * version answers GENRPC_E_INCOMPATIBLE and runs nothing.
     * GENRPC_ANY_VERSION = any: the highest version the callee serves.
     * 0 = the default: in a generated stub, the stub's own IDL version
     * (a `version = 1` stub never runs a version-2 handler); in a direct
     * genrpc_call, genrpc_cast, ... (no IDL version to default to), any. */
    uint32_t version;
    /* GENRPC_CALL_LEND_REQUEST, or 0; other bits: GENRPC_E_INVAL. */
    uint32_t flags;
    /* NULL: the call cannot be cancelled. Else genrpc_cancel(cancel)
     * cancels it while in flight; the token must outlive the call's start
     * (genrpc_cancel_token_free may come before the call ends). */
    genrpc_cancel_token *cancel;
    /* NULL: none. Headers sent with the request (protocol version 2;
     * dropped over version 1). Read while the call starts: it may be
     * freed or changed once the call function returns. */
    const genrpc_metadata *headers;
    /* NULL: not wanted. Else the answer's trailers are put here (cleared
     * when the call starts; left empty when the answer had none, the call
     * failed before an answer, or the connection is version 1). Blocking
     * calls: read it after the call returns; promises: after the promise
     * completes; callbacks: from the callback on. It must outlive the
     * call. */
    genrpc_metadata *trailers;
    /* Room for options added later (docs/install.md, "ABI"); leave zero. */
    uint64_t reserved[3];
} genrpc_call_opts;

#define GENRPC_CALL_OPTS_INIT {0, 0, 0, NULL, NULL, NULL, {0}}

/* genrpc_call_opts.version: call whichever version of the module the
 * callee serves, the highest if it serves several (no module may register
 * this version). Generated stubs otherwise require their own version. */
#define GENRPC_ANY_VERSION UINT32_MAX

/* What a generated stub of IDL version `stub_version` passes to the
 * functions below: `opts` (NULL: defaults) with version 0 replaced by
 * `stub_version`, and GENRPC_ANY_VERSION by 0 (any, on the wire). */
static inline genrpc_call_opts genrpc_stub_opts(const genrpc_call_opts *opts,
                                                uint32_t stub_version) {
    genrpc_call_opts o = GENRPC_CALL_OPTS_INIT;
    if (opts)
        o = *opts;
    if (o.version == 0)
        o.version = stub_version;
    else if (o.version == GENRPC_ANY_VERSION)
        o.version = 0;
    return o;
}

/* Callback calls (genrpc_call_async_cb and the generated _async_cb stubs)
 * only: the request's large bytes fields (16 KiB and more) are written
 * from where they are instead of being copied into the frame. Their memory
 * must stay valid and unchanged until the callback runs; in return nothing
 * reads it once the callback has started. A call that times out or fails
 * while part of its request is still unsent copies that part first (and,
 * only if there is no memory for the copy, calls back once the write ends
 * or the connection closes). Ignored by other calls. */
#define GENRPC_CALL_LEND_REQUEST 0x1u

/* What went wrong, in detail. */
typedef struct genrpc_status {
    int err;                            /* a genrpc_err; GENRPC_OK on success */
    int32_t handler_code;               /* GENRPC_E_HANDLER: the code the handler gave */
    char message[GENRPC_MESSAGE_MAX];   /* handler message, or what/where failed */
} genrpc_status;

/* Blocking call: sends `request` to function `fn` of `module` on `target`
 * and waits for the reply (or the timeout). On GENRPC_OK, *reply is a new
 * message of type fn->output that the caller owns (free it with
 * protobuf_c_message_free_unpacked(*reply, NULL)); otherwise *reply is
 * NULL. Must not be called from a callback running on the node's event
 * loop (GENRPC_E_INVAL). */
GENRPC_API int genrpc_call(genrpc_node *node, genrpc_target target,
                           const genrpc_module_desc *module, const genrpc_function_desc *fn,
                           const ProtobufCMessage *request, ProtobufCMessage **reply,
                           const genrpc_call_opts *opts, genrpc_status *st);

/* Fire-and-forget: queues `request` and returns at once, also when the node
 * is unreachable (nothing is reported then; see docs/errors.md). Casts on
 * one connection are delivered and run in the order they were sent. */
GENRPC_API int genrpc_cast(genrpc_node *node, genrpc_target target,
                           const genrpc_module_desc *module, const genrpc_function_desc *fn,
                           const ProtobufCMessage *request, const genrpc_call_opts *opts,
                           genrpc_status *st);

/* ---- cancellation (docs/calls.md, "Cancellation") ------------------------
 * A cancelled call completes once, with GENRPC_E_CANCELLED, whatever races
 * with it (its reply arriving, its connection closing, the node stopping:
 * the first to take the call from its table completes it; a reply that
 * arrives later is dropped). Over protocol version 2 the callee is told
 * (a CANCEL frame): a request still queued there is not run, a running
 * handler sees genrpc_ctx_cancelled. Over version 1 the callee runs it
 * anyway and its answer is dropped. */

/* A new token; the caller owns it (genrpc_cancel_token_free). */
GENRPC_API int genrpc_cancel_token_new(genrpc_cancel_token **out);

/* Cancels every call in flight that was started with `token`, and every
 * call started with it from now on (they fail at once with
 * GENRPC_E_CANCELLED). Any thread, including the node's loop (callbacks
 * then run later, from the loop); idempotent. */
GENRPC_API void genrpc_cancel(genrpc_cancel_token *token);

/* Has genrpc_cancel(token) been called? */
GENRPC_API bool genrpc_cancel_token_fired(const genrpc_cancel_token *token);

/* Releases the caller's token. Calls in flight with it keep it until they
 * end, but can no longer be cancelled through it. NULL is a no-op. */
GENRPC_API void genrpc_cancel_token_free(genrpc_cancel_token *token);
/* ---- calls by name, with encoded payloads (tools) ------------------------ */

/* genrpc_call for a program that has no generated code for the module (the
 * `genrpc` command, gateways): calls `function` of `module` (wire names) on
 * `target` with `request`, `len` bytes already encoded as the function's
 * input message (protobuf wire format; the callee decodes and checks it).
 * opts->version 0 means any version here. On GENRPC_OK, *reply is a
 * malloc'ed buffer of *reply_len bytes, the encoded output message, that
 * the caller frees with free() (never NULL, also for an empty message);
 * otherwise *reply is NULL. The request is copied before it returns. */
GENRPC_API int genrpc_call_raw(genrpc_node *node, genrpc_target target, const char *module,
                               const char *function, const void *request, size_t len,
                               void **reply, size_t *reply_len, const genrpc_call_opts *opts,
                               genrpc_status *st);

/* genrpc_cast with an encoded payload, as genrpc_call_raw. */
GENRPC_API int genrpc_cast_raw(genrpc_node *node, genrpc_target target, const char *module,
                               const char *function, const void *request, size_t len,
                               const genrpc_call_opts *opts, genrpc_status *st);

/* ---- async call with a promise ---------------------------------------- */

typedef struct genrpc_promise genrpc_promise;

/* Sends the call and returns at once with a promise (*out) that the caller
 * owns and must release with genrpc_promise_free. */
GENRPC_API int genrpc_call_async(genrpc_node *node, genrpc_target target,
                                 const genrpc_module_desc *module, const genrpc_function_desc *fn,
                                 const ProtobufCMessage *request, const genrpc_call_opts *opts,
                                 genrpc_promise **out, genrpc_status *st);

/* Waits for the promise's result (at most until the call's timeout) and
 * consumes it: on GENRPC_OK *reply is a message the caller owns, as with
 * genrpc_call. A promise yields once; a second yield or nb_yield returns
 * GENRPC_E_CONSUMED at once. */
GENRPC_API int genrpc_promise_yield(genrpc_promise *p, ProtobufCMessage **reply, genrpc_status *st);

/* Like yield, but waits at most `timeout_ms` (GENRPC_INFINITY: same as
 * yield). If the result is not there by then it returns
 * GENRPC_E_NOT_READY and the promise stays valid and unconsumed. */
GENRPC_API int genrpc_promise_nb_yield(genrpc_promise *p, int64_t timeout_ms,
                                       ProtobufCMessage **reply, genrpc_status *st);

/* Cancels the promise's call if it is still in flight: the promise then
 * yields GENRPC_E_CANCELLED (and the callee is told, as genrpc_cancel
 * does). GENRPC_E_NOT_FOUND when the call already has its outcome (yield
 * returns that outcome), GENRPC_E_INVAL for NULL. */
GENRPC_API int genrpc_promise_cancel(genrpc_promise *p);

/* Releases the promise, discarding any unclaimed result; a reply arriving
 * later is dropped. NULL is a no-op. */
GENRPC_API void genrpc_promise_free(genrpc_promise *p);

/* ---- async call with a callback --------------------------------------- */

/* Called once on the node's event-loop thread. `reply` (type fn->output) is
 * borrowed: valid only during the callback, NULL unless err == GENRPC_OK.
 * The callback must not block; it may issue further async calls and casts
 * (they are batched into one write per loop iteration). As libuv promises,
 * the callback never runs before genrpc_call_async_cb has returned, even
 * for a call started on the loop thread itself (from a callback) to a
 * connection already known to be gone: its failure is delivered from the
 * loop afterwards, so the callback may free `arg`. */
typedef void (*genrpc_reply_cb)(int err, const genrpc_status *st, const ProtobufCMessage *reply,
                                void *arg);

GENRPC_API int genrpc_call_async_cb(genrpc_node *node, genrpc_target target,
                                    const genrpc_module_desc *module,
                                    const genrpc_function_desc *fn, const ProtobufCMessage *request,
                                    const genrpc_call_opts *opts, genrpc_reply_cb cb, void *arg);

/* For generated code: the same with a typed user callback. Calling a
 * function through a pointer of another type is undefined in C, so the
 * stub passes its callback as `user_cb` and a generated `thunk` that casts
 * it back to its real type and calls it. */
typedef void (*genrpc_generic_fn)(void);
typedef void (*genrpc_reply_thunk)(genrpc_generic_fn user_cb, int err, const genrpc_status *st,
                                   const ProtobufCMessage *reply, void *arg);

GENRPC_API int genrpc_call_async_typed(genrpc_node *node, genrpc_target target,
                                       const genrpc_module_desc *module,
                                       const genrpc_function_desc *fn,
                                       const ProtobufCMessage *request,
                                       const genrpc_call_opts *opts, genrpc_reply_thunk thunk,
                                       genrpc_generic_fn user_cb, void *arg);

/* ---- interceptors (docs/calls.md, "Interceptors") --------------------------
 * Hooks run around every call a node makes (client chain) and every request
 * it serves (server chain): authentication, tracing, metrics. Each chain
 * runs in registration order before the call and in reverse order after
 * it (the first registered is the outermost). With none registered a call
 * pays one test of a counter. */

/* What an interceptor sees of a call. Valid during the hook only. */
typedef struct genrpc_call_info {
    genrpc_node *node;
    const char *peer;     /* client chain: the target node; server: the caller */
    const char *module;   /* wire name ("kv.Store") */
    uint32_t version;     /* client: the version asked for (0: any); server: the one serving */
    const char *function; /* "Get" */
    bool is_cast;
    bool is_server;       /* which chain */
    /* Client chain: the call's timeout (GENRPC_INFINITY: none); server
     * chain: the request's deadline as genrpc_ctx_deadline gives it
     * (GENRPC_NO_DEADLINE: none). */
    int64_t deadline;
    /* The request's headers: client chain, what the caller passed (NULL:
     * none); server chain, what arrived (never NULL, maybe empty). */
    const genrpc_metadata *headers;
} genrpc_call_info;

typedef struct genrpc_interceptor {
    /* Before the call is sent (client) or the handler runs (server). `md`
     * may be added to: client chain, the request's headers; server chain,
     * the answer's trailers. Return GENRPC_OK to let the call go on, or a
     * genrpc_err to refuse it, with st->message saying why: the client
     * call then fails with it at once (nothing is sent); the server
     * answers it as an ERROR (a cast is dropped) and runs nothing. A server
     * refusal must be a remote error (GENRPC_E_UNAUTHORIZED,
     * GENRPC_E_OVERLOAD, GENRPC_E_UNAVAILABLE, GENRPC_E_BADARGS,
     * GENRPC_E_HANDLER, ...); others are sent as GENRPC_E_UNAUTHORIZED.
     * NULL: nothing to do before. The hooks after it in the chain do not
     * run; the `after` hooks of those before it do. */
    int (*before)(void *arg, const genrpc_call_info *info, genrpc_metadata *md,
                  genrpc_status *st);
    /* After the outcome: st is how it ended (client: what the caller gets;
     * server: what was answered, GENRPC_OK for a reply), latency_ns from
     * the `before` hooks to the end. Client chain: on the thread that
     * completes the call (the caller's, or the node's loop for async
     * calls); a cast ends once it is queued. NULL: nothing. */
    void (*after)(void *arg, const genrpc_call_info *info, const genrpc_status *st,
                  int64_t latency_ns);
    void *arg;
} genrpc_interceptor;

/* At most this many per chain. */
#define GENRPC_INTERCEPTORS_MAX 8

/* Adds an interceptor (copied) to the node's client or server chain.
 * Before genrpc_node_start's first call or request runs: register them
 * right after genrpc_node_start, before calling or being called (the
 * chains are read without a lock). GENRPC_E_INVAL: no hook, or node NULL;
 * GENRPC_E_TOO_BIG: the chain is full. */
GENRPC_API int genrpc_node_add_client_interceptor(genrpc_node *node,
                                                  const genrpc_interceptor *icpt);
GENRPC_API int genrpc_node_add_server_interceptor(genrpc_node *node,
                                                  const genrpc_interceptor *icpt);

#ifdef __cplusplus
}
#endif
#endif /* GENRPC_CALL_H */
