/*
 * genrpc/module.h - what the generator emits for each module (dispatch tables)
 * and what a handler sees while it runs (genrpc_ctx).
 *
 * Users rarely touch the descriptor types directly: `protoc --genrpc_out`
 * fills them in `<file>.genrpc.c`. Handler authors use genrpc_ctx_*.
 */
#ifndef GENRPC_MODULE_H
#define GENRPC_MODULE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>
#include "genrpc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct genrpc_node genrpc_node;

/* The per-call context a handler receives. Valid only until the handler
 * returns; it belongs to the runtime. */
typedef struct genrpc_ctx genrpc_ctx;

/* Generated thunk: casts `impl` to the module's implementation struct and
 * calls the function's handler with typed request/reply. Returns what the
 * handler returned: 0 on success, non-zero on failure.
 *
 * Lifetimes a handler can rely on: the request and everything it points to
 * (its byte fields point straight into the connection's receive buffer)
 * are valid until the handler returns: copy what you keep. The reply is
 * zero-initialised; what it points to must stay valid until the handler
 * returns and is then encoded — allocate it with genrpc_ctx_alloc, point
 * it into the request, or at static data. */
typedef int (*genrpc_invoke_fn)(const void *impl, const ProtobufCMessage *request,
                                ProtobufCMessage *reply, genrpc_ctx *ctx);

/* One function of a module (an IDL `rpc`). */
typedef struct genrpc_function_desc {
    const char *name;                          /* as in the IDL: "Get" */
    const ProtobufCMessageDescriptor *input;   /* request message type */
    const ProtobufCMessageDescriptor *output;  /* reply message type */
    bool remote;                               /* false: (genrpc.internal); never run for a peer */
    size_t impl_offset;                        /* offset of the handler pointer in the impl struct */
    genrpc_invoke_fn invoke;
} genrpc_function_desc;

/* One .proto file as protoc parsed it: a serialized
 * google.protobuf.FileDescriptorProto (its source locations left out).
 * Reflection (docs/reflection.md) hands these to tools such as `genrpc`
 * so that they can encode and decode calls without the .proto. */
typedef struct genrpc_proto_file {
    const char *name;     /* as imported: "kv/store.proto" */
    const uint8_t *data;  /* FileDescriptorProto bytes */
    size_t len;
} genrpc_proto_file;

/* One module (an IDL `service`) at one version. */
typedef struct genrpc_module_desc {
    const char *name;     /* wire name: "<package>.<Service>" or (genrpc.module) */
    uint32_t version;     /* (genrpc.version): 1 .. GENRPC_ANY_VERSION - 1 */
    bool remote;          /* false: (genrpc.internal_module) */
    size_t n_functions;
    const genrpc_function_desc *functions;
    /* The IDL's full service name ("kv.Store"; the wire name differs when
     * (genrpc.module) is set). NULL in a hand-written descriptor. */
    const char *service;
    /* The file declaring the service and every file it imports,
     * transitively, in dependency order (imports first, the service's own
     * file last): enough to build a descriptor pool. 0 / NULL in a
     * hand-written descriptor (reflection then lists the module without
     * its types). */
    size_t n_proto_files;
    const genrpc_proto_file *proto_files;
    /* Room for fields added later (docs/install.md, "ABI"); zero. */
    const void *reserved[4];
} genrpc_module_desc;

/* Reply-less message a named handler receives (abcast/sbcast, later). */

/* ---- inside a handler ------------------------------------------------- */

/* Records a failure with the handler's own code and message (printf-style,
 * truncated to GENRPC_MESSAGE_MAX - 1 bytes) and returns the value the
 * handler should return. The caller receives GENRPC_E_HANDLER with exactly
 * this code and message:
 *     return genrpc_fail(ctx, 404, "no key %s", req->key);
 * `code` must be non-zero. */
GENRPC_API int genrpc_fail(genrpc_ctx *ctx, int32_t code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Allocates `size` bytes that live until the reply has been encoded (the
 * call's arena). Use it for anything the reply points to. NULL on OOM. */
GENRPC_API void *genrpc_ctx_alloc(genrpc_ctx *ctx, size_t size);

/* The `user` pointer given at registration. */
GENRPC_API void *genrpc_ctx_user(const genrpc_ctx *ctx);

/* The node running the handler (handlers may call other nodes with it). */
GENRPC_API genrpc_node *genrpc_ctx_node(const genrpc_ctx *ctx);

/* Name of the node that sent the request ("a@10.0.0.5"). Valid while the
 * handler runs. */
GENRPC_API const char *genrpc_ctx_caller(const genrpc_ctx *ctx);

/* true when the request is a cast (its reply is discarded). */
GENRPC_API bool genrpc_ctx_is_cast(const genrpc_ctx *ctx);

/* ---- deadlines and cancellation (protocol version 2; docs/calls.md) -------
 * A caller's time left travels with its request (timeout_ms of the call,
 * or what is left of the deadline of the handler it calls from); the
 * handler's node counts it from the request's arrival. A request from a
 * version-1 peer, or a cast sent without a timeout, has no deadline. */

/* genrpc_ctx_deadline for a request without one. */
#define GENRPC_NO_DEADLINE INT64_MAX

/* The request's deadline as CLOCK_MONOTONIC milliseconds (comparable to
 * clock_gettime(CLOCK_MONOTONIC) / 1e6 on this host), or GENRPC_NO_DEADLINE. */
GENRPC_API int64_t genrpc_ctx_deadline(const genrpc_ctx *ctx);

/* Milliseconds left until the deadline: 0 once it has passed,
 * GENRPC_INFINITY without one. Calls the handler makes get at most this
 * as their timeout (shorter if they ask; never longer). */
GENRPC_API int64_t genrpc_ctx_remaining_ms(const genrpc_ctx *ctx);

/* true once the deadline has passed: the caller has stopped waiting (it got
 * GENRPC_E_TIMEOUT) and whatever the handler returns is dropped. */
GENRPC_API bool genrpc_ctx_deadline_passed(const genrpc_ctx *ctx);

/* true when the work is no longer wanted: the deadline passed, the caller
 * cancelled the call (a CANCEL frame), the caller's connection is gone, or
 * the node is stopping. A long handler polls it between steps and returns
 * early (any return value: nobody reads it). gen_rpc's handlers run on
 * until done; this is how a C handler learns to stop. */
GENRPC_API bool genrpc_ctx_cancelled(const genrpc_ctx *ctx);

/* ---- metadata (protocol version 2; docs/calls.md, "Metadata") -------------
 * genrpc_metadata and its functions are in call.h. */
typedef struct genrpc_metadata genrpc_metadata;

/* The request's headers: read-only, never NULL (empty when it had none or
 * came over a version-1 connection). Valid while the handler runs. */
GENRPC_API const genrpc_metadata *genrpc_ctx_headers(const genrpc_ctx *ctx);

/* Adds a trailer to the answer (a REPLY or an ERROR; a cast's are
 * dropped), as genrpc_metadata_add: GENRPC_E_INVAL for a bad key,
 * GENRPC_E_TOO_BIG past the limits (the trailers added before stay). */
GENRPC_API int genrpc_ctx_add_trailer(genrpc_ctx *ctx, const char *key, const void *value,
                                      size_t len);

/* ---- registration ------------------------------------------------------ */

/* Installs `impl` (the generated implementation struct of `module`, every
 * NULL handler answering GENRPC_E_UNDEF) as module->name at
 * module->version. The node borrows `module`, `impl` and `user` until
 * genrpc_node_unregister or genrpc_node_stop returns. Several versions of
 * one module may be registered at once. Returns GENRPC_E_EXISTS when that
 * name and version is already registered, GENRPC_E_INVAL on bad
 * arguments (a version of 0 or GENRPC_ANY_VERSION included). */
GENRPC_API int genrpc_node_register(genrpc_node *node, const genrpc_module_desc *module,
                                    const void *impl, void *user);

/* Removes module `name` at `version`; calls already running finish first
 * (this waits for them). GENRPC_E_NOT_FOUND if it is not registered. */
GENRPC_API int genrpc_node_unregister(genrpc_node *node, const char *name, uint32_t version);

#ifdef __cplusplus
}
#endif
#endif /* GENRPC_MODULE_H */
