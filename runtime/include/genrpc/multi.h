/*
 * genrpc/multi.h - many nodes at once: the connected-node list, multicall
 * (the same call on many targets in parallel, one deadline for all) and
 * eval everywhere (the same cast on many targets).
 *
 * Generated stubs (`kv__store__get_multicall`, `kv__store__get_eval_everywhere`)
 * are typed wrappers over these; use the stubs. docs/multinode.md has the
 * semantics in full.
 *
 * Rules shared with genrpc/call.h: the return value is a genrpc_err; `st`,
 * when not NULL, is filled on every return; the caller keeps the request
 * (it is encoded before the function returns) and the targets array.
 */
#ifndef GENRPC_MULTI_H
#define GENRPC_MULTI_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>
#include "genrpc/call.h"
#include "genrpc/error.h"
#include "genrpc/export.h"
#include "genrpc/module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- which nodes -------------------------------------------------------- */

/* The remote nodes this node is connected to (gen_rpc's nodes()): every
 * node with at least one authenticated client connection from this node,
 * each listed once however many {node, key} connections it has, this node
 * itself left out even when it calls itself through its own listener.
 * Nodes that merely connected *to* this node are not listed.
 * On GENRPC_OK *names is a NULL-terminated array of *n names (*n may be 0)
 * that the caller owns and frees with genrpc_nodes_free; on error *names is
 * NULL and *n is 0. */
GENRPC_API int genrpc_nodes(genrpc_node *node, char ***names, size_t *n, genrpc_status *st);

/* Frees what genrpc_nodes returned (names and array). NULL is a no-op. */
GENRPC_API void genrpc_nodes_free(char **names);

/* The targets of gen_rpc's node-less multicall / eval_everywhere: this node
 * first, then every node of genrpc_nodes(), all keyless. On GENRPC_OK
 * *targets is an array of *n targets (*n >= 1) that the caller owns, node
 * names included, and frees with genrpc_targets_free; on error *targets is
 * NULL and *n is 0. The list is a snapshot: pass it to genrpc_multicall,
 * and results[i] belongs to (*targets)[i]. */
GENRPC_API int genrpc_cluster_targets(genrpc_node *node, genrpc_target **targets, size_t *n,
                                      genrpc_status *st);

/* Frees what genrpc_cluster_targets returned. NULL is a no-op. */
GENRPC_API void genrpc_targets_free(genrpc_target *targets);

/* ---- multicall ---------------------------------------------------------- */

/* One target's outcome. */
typedef struct genrpc_multicall_result {
    genrpc_status status;   /* status.err == GENRPC_OK: the function ran and replied */
    ProtobufCMessage *reply; /* type fn->output; owned by the caller; NULL unless OK */
} genrpc_multicall_result;

/* Calls function `fn` of `module` with `request` on every target in
 * parallel and waits for all of them, or for one deadline: the call's
 * timeout (opts->timeout_ms, 0 = call_receive_timeout) counted once from
 * the start of the whole fan-out, not once per target. A target that has
 * not answered by then gets GENRPC_E_TIMEOUT.
 *
 * results[i] (caller-allocated, n entries) is the outcome for targets[i],
 * exactly as given: a node, or a {node, key} shard; a target listed twice
 * runs twice. An unreachable target gets its transport error (e.g.
 * GENRPC_E_CONNECT) and delays nobody; an application error a function
 * returns in its reply is GENRPC_OK + reply like any reply.
 *
 * Returns GENRPC_OK once every target has an outcome (whatever those are),
 * or an error for bad arguments (GENRPC_E_INVAL: NULL node, module, fn or
 * request, a request of the wrong type, a target without a node name, or
 * a call from the node's event loop; GENRPC_E_NOMEM) - then nothing was
 * sent and results are untouched. n == 0 is GENRPC_OK and does nothing.
 *
 * On GENRPC_OK the caller owns every non-NULL results[i].reply: free them
 * with genrpc_multicall_free_replies (or one by one with
 * protobuf_c_message_free_unpacked). Blocks the calling thread; must not
 * be called from a callback on the node's loop. */
GENRPC_API int genrpc_multicall(genrpc_node *node, const genrpc_target *targets, size_t n,
                                const genrpc_module_desc *module, const genrpc_function_desc *fn,
                                const ProtobufCMessage *request, const genrpc_call_opts *opts,
                                genrpc_multicall_result *results, genrpc_status *st);

/* Frees results[0..n)'s replies and sets them to NULL; statuses stay. */
GENRPC_API void genrpc_multicall_free_replies(genrpc_multicall_result *results, size_t n);

/* For generated code: genrpc_multicall writing into a caller's typed
 * result array. `store(results, i, status, reply)` is called once per
 * target, on the calling thread, before genrpc_multicall_typed returns;
 * it receives ownership of `reply` (NULL unless status->err == GENRPC_OK)
 * and keeps it in entry i of `results`. */
typedef void (*genrpc_multicall_store_fn)(void *results, size_t i, const genrpc_status *status,
                                          ProtobufCMessage *reply);

GENRPC_API int genrpc_multicall_typed(genrpc_node *node, const genrpc_target *targets, size_t n,
                                      const genrpc_module_desc *module,
                                      const genrpc_function_desc *fn,
                                      const ProtobufCMessage *request, const genrpc_call_opts *opts,
                                      void *results, genrpc_multicall_store_fn store,
                                      genrpc_status *st);

/* ---- eval everywhere ---------------------------------------------------- */

/* Casts `request` to function `fn` of `module` on every target (duplicates
 * twice) and returns at once: nothing waits for a connect or a reply, and
 * an unreachable or failing target neither fails nor delays the others.
 * Each target's casts keep their order on that target's connection.
 * Returns GENRPC_OK once every cast is queued, or an error for bad
 * arguments (as genrpc_multicall; nothing is sent then). Errors of single
 * targets (unreachable, discovery, node stopping) are not reported. */
GENRPC_API int genrpc_eval_everywhere(genrpc_node *node, const genrpc_target *targets, size_t n,
                                      const genrpc_module_desc *module,
                                      const genrpc_function_desc *fn,
                                      const ProtobufCMessage *request, const genrpc_call_opts *opts,
                                      genrpc_status *st);

#ifdef __cplusplus
}
#endif
#endif /* GENRPC_MULTI_H */
