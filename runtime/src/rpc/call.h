/*
 * call.h - the caller's side (rpc layer): what call.c, promise.c and
 * callback.c share, and what the fan-outs (fanout.c, broadcast.c), the
 * pending table and the node's shutdown need of them.
 */
#ifndef GENRPC_RPC_CALL_H
#define GENRPC_RPC_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "genrpc/genrpc.h"
#include "wire/frame.h"
#include "wire/out.h"
#include "rpc/pending.h"

/* How long a request's frame may point into the request's own memory. */
typedef enum genrpc__borrow_mode {
    GENRPC__BORROW_NOTHING,
    /* the frame is handed to genrpc__conn_send before the caller returns:
     * large byte fields stay where they are, conn_send writes them from
     * there at once or copies them (call.c: worth it from 256 KiB) */
    GENRPC__BORROW_WHILE_SENDING,
    /* GENRPC_CALL_LEND_REQUEST: until the frame is released (out->release) */
    GENRPC__BORROW_UNTIL_RELEASED,
} genrpc__borrow_mode;

/* Encodes the request into its frame, with timeout_ms (GENRPC_INFINITY:
 * none) as its deadline, borrowing large byte fields as `borrow` allows
 * (call.c). */
int genrpc__encode_request(genrpc_node *node, genrpc__kind kind, const genrpc_module_desc *module,
                           const genrpc_function_desc *fn, const ProtobufCMessage *req,
                           const genrpc_call_opts *opts, int64_t timeout_ms,
                           genrpc__borrow_mode borrow, genrpc__out **out, genrpc_status *st);
/* Registers p on the target's connection and stamps its id into the frame.
 * On success *conn holds a reference. A cached connection that closed
 * after serving calls is stale: one retry opens a fresh one. A fresh one
 * that closed already (connect refused, authentication failed) fails the
 * call with the reason it closed (call.c). */
int genrpc__register_call(genrpc_node *node, genrpc_target target, genrpc__pending *p,
                          genrpc__out *o, genrpc__conn **conn, genrpc_status *st);
/* After register_call: p joins its cancellation token. GENRPC_E_CANCELLED
 * (p withdrawn, status set) if the token had fired. */
int genrpc__register_cancel(genrpc__pending *p, const genrpc_call_opts *opts, genrpc_status *st);
/* Turns a completed pending into the caller's result: decodes the reply
 * (the caller owns it) or copies the error. Releases the reply bytes
 * (call.c). */
int genrpc__call_finish(genrpc__pending *p, ProtobufCMessage **reply, genrpc_status *st);

/* The completions of a promise (promise.c) and a callback call
 * (callback.c); genrpc__pending_complete dispatches to them. */
void genrpc__promise_complete(genrpc_promise *pr);
void genrpc__callback_complete(genrpc__pending *p);

/* genrpc_call_async for the runtime's own fan-outs (fanout.c): a `claimed`
 * promise is collected by the runtime itself, so its result never expires
 * (async_call_inactivity_timeout is for results nobody claims). */
int genrpc__call_async(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
                       const genrpc_function_desc *fn, const ProtobufCMessage *request,
                       const genrpc_call_opts *opts, bool claimed, genrpc_promise **out,
                       genrpc_status *st);

/* The same for a frame already encoded (the request id is stamped at its
 * offset 5, after prefix and kind): sends `o` (consumed) as a call whose
 * answer is REPLY or ERROR. fn NULL: the REPLY's payload is not decoded
 * (sbcast). timeout_ms as genrpc_call_opts.timeout_ms. */
/* What a promise call may carry besides (NULL: nothing): where its
 * trailers go, and its client interceptors' record (given up). */
typedef struct genrpc__call_extra {
    genrpc_metadata *trailers;
    struct genrpc__icpt_call *icpt;
} genrpc__call_extra;
int genrpc__call_async_frame(genrpc_node *node, genrpc_target target,
                             const genrpc_function_desc *fn, genrpc__out *o, int64_t timeout_ms,
                             genrpc_cancel_token *cancel, bool claimed,
                             const genrpc__call_extra *x, genrpc_promise **out,
                             genrpc_status *st);

/* Loop (the node's shutdown): drops the expiry timers of completed
 * promises. */
void genrpc__promises_stop(genrpc_node *node);

#endif /* GENRPC_RPC_CALL_H */
