/*
 * genrpc/broadcast.h - named handlers (the C counterpart of an Erlang
 * registered process) and broadcasts to them: abcast (send and return at
 * once) and sbcast (send and learn, per target, whether the name exists
 * there).
 *
 * Generated helpers (`<pkg>__<msg>__register_handler`, `__abcast`,
 * `__sbcast`, for messages marked `option (genrpc.broadcast) = true;`) are
 * typed wrappers over these. docs/multinode.md has the semantics in full.
 *
 * Rules shared with genrpc/call.h: the return value is a genrpc_err; `st`,
 * when not NULL, is filled on every return; the caller keeps the message
 * (it is encoded before the function returns) and the targets array.
 */
#ifndef GENRPC_BROADCAST_H
#define GENRPC_BROADCAST_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>
#include "genrpc/call.h"
#include "genrpc/error.h"
#include "genrpc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The policy entry broadcasts are checked against: a node whose module
 * whitelist lacks it, or whose blacklist has it, refuses every broadcast
 * (gen_rpc checks them against module `erlang`). */
#define GENRPC_BROADCAST_MODULE "genrpc.broadcast"

/* ---- named handlers ----------------------------------------------------- */

/* Runs on a worker thread for each message sent to the handler's name.
 * `msg` (of the registered type) is borrowed: valid only during the call.
 * `from` is the sending node's name. Messages arriving over one
 * connection run one at a time, in the order sent, together with that
 * connection's casts. The callback may call other nodes. */
typedef void (*genrpc_handler_fn)(genrpc_node *node, const char *from,
                                  const ProtobufCMessage *msg, void *user);

/* Registers `cb` under `name` (1-255 bytes) for messages of type
 * `msg_type`. A message sent to `name` with another type is refused and
 * counted (broadcasts_dropped). Returns GENRPC_OK, GENRPC_E_EXISTS (the
 * name is taken), GENRPC_E_INVAL or GENRPC_E_NOMEM. */
GENRPC_API int genrpc_handler_register(genrpc_node *node, const char *name,
                                       const ProtobufCMessageDescriptor *msg_type,
                                       genrpc_handler_fn cb, void *user);

/* For generated code: the same with a typed callback called through
 * `thunk` (see genrpc_reply_thunk in call.h). */
typedef void (*genrpc_handler_thunk)(genrpc_generic_fn cb, genrpc_node *node, const char *from,
                                     const ProtobufCMessage *msg, void *user);
GENRPC_API int genrpc_handler_register_typed(genrpc_node *node, const char *name,
                                             const ProtobufCMessageDescriptor *msg_type,
                                             genrpc_handler_thunk thunk, genrpc_generic_fn cb,
                                             void *user);

/* Removes the handler registered under `name`; messages that arrive later
 * are dropped and counted. Called from any thread but a worker, it waits
 * for the callbacks already running on it, so `user` may be freed
 * afterwards; called from a worker (a handler), it does not wait.
 * Returns GENRPC_OK, GENRPC_E_NOT_FOUND or GENRPC_E_INVAL. */
GENRPC_API int genrpc_handler_unregister(genrpc_node *node, const char *name);

/* ---- abcast ------------------------------------------------------------- */

/* Sends `msg` to the handler named `name` on every target (a node or a
 * {node, key} shard; duplicates twice) and returns at once: nothing waits
 * for a connect or an answer, and an unreachable target neither fails nor
 * delays the others. A target without that name (or whose policy refuses
 * broadcasts, or whose handler takes another type) drops the message and
 * counts it; its connection stays up. Returns GENRPC_OK once every message
 * is queued, or an error for bad arguments (GENRPC_E_INVAL: NULL node,
 * name or msg, a name of 0 or more than 255 bytes, a target without a node
 * name; GENRPC_E_TOO_BIG, GENRPC_E_NOMEM) - then nothing was sent. */
GENRPC_API int genrpc_abcast(genrpc_node *node, const genrpc_target *targets, size_t n,
                             const char *name, const ProtobufCMessage *msg, genrpc_status *st);

/* ---- sbcast ------------------------------------------------------------- */

/* One target's outcome: status.err == GENRPC_OK means the target has a
 * handler under that name, of the message's type, and took the message
 * ("good"); anything else is "bad": GENRPC_E_UNDEF (no such name),
 * GENRPC_E_BADARGS (the handler takes another type), GENRPC_E_UNAUTHORIZED
 * (the target's policy refuses broadcasts), GENRPC_E_TIMEOUT (no answer
 * within sbcast_receive_timeout), or a transport error (GENRPC_E_CONNECT,
 * ...) for an unreachable target. */
typedef struct genrpc_sbcast_result {
    genrpc_status status;
} genrpc_sbcast_result;

/* Sends `msg` to the handler named `name` on every target in parallel and
 * waits for every answer, or for one deadline: the node's
 * sbcast_receive_timeout counted once from the start. results[i]
 * (caller-allocated, n entries) is the outcome for targets[i] exactly as
 * given. Returns GENRPC_OK once every target has an outcome, or an error
 * for bad arguments as genrpc_abcast (then nothing was sent and results
 * are untouched; also GENRPC_E_INVAL when called from the node's event
 * loop). n == 0 is GENRPC_OK. */
GENRPC_API int genrpc_sbcast(genrpc_node *node, const genrpc_target *targets, size_t n,
                             const char *name, const ProtobufCMessage *msg,
                             genrpc_sbcast_result *results, genrpc_status *st);

#ifdef __cplusplus
}
#endif
#endif /* GENRPC_BROADCAST_H */
