/*
 * call.h - the caller's side (rpc layer): what the fan-outs (fanout.c,
 * broadcast.c) and the node's shutdown need of call.c.
 */
#ifndef GENRPC_RPC_CALL_H
#define GENRPC_RPC_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "genrpc/genrpc.h"
#include "wire/out.h"

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
int genrpc__call_async_frame(genrpc_node *node, genrpc_target target,
                             const genrpc_function_desc *fn, genrpc__out *o, int64_t timeout_ms,
                             bool claimed, genrpc_promise **out, genrpc_status *st);

/* Loop (the node's shutdown): drops the expiry timers of completed
 * promises. */
void genrpc__promises_stop(genrpc_node *node);

#endif /* GENRPC_RPC_CALL_H */
