/*
 * intercept.h - interceptor chains (rpc layer; call.h has the API): a
 * record per intercepted call, made only when a chain is not empty, that
 * carries what the `after` hooks need to the call's end.
 */
#ifndef GENRPC_RPC_INTERCEPT_H
#define GENRPC_RPC_INTERCEPT_H

#include <stdbool.h>
#include <stdint.h>

#include "genrpc/genrpc.h"
#include "rpc/metadata.h"

typedef struct genrpc__icpt_chain {
    int n;
    genrpc_interceptor v[GENRPC_INTERCEPTORS_MAX];
} genrpc__icpt_chain;

/* Is a chain of node's not empty? What a call pays without interceptors. */
#define GENRPC__ICPT_ON(node, chain) \
    __builtin_expect(__atomic_load_n(&(node)->chain.n, __ATOMIC_RELAXED) != 0, 0)

/* One intercepted call: its info (names copied for the client chain),
 * how many `before` hooks ran (their `after` hooks run, in reverse), its
 * start, and (client) the headers the caller gave plus what hooks added. */
typedef struct genrpc__icpt_call {
    const genrpc__icpt_chain *chain;
    genrpc_call_info info;
    int ran;
    int64_t start_ns;
    genrpc_metadata headers;
    char names[];
} genrpc__icpt_call;

/* Client chain (not empty): runs the `before` hooks for a call to
 * `peer`; on GENRPC_OK *ic is the record (end it with genrpc__icpt_end)
 * and *opts points at `copy`, the caller's options with the merged
 * headers; otherwise the call is refused (st filled, the hooks that ran
 * told) and *ic is NULL. */
int genrpc__icpt_client_start(genrpc_node *node, const char *peer, const char *module,
                              const char *function, bool is_cast, int64_t timeout_ms,
                              const genrpc_call_opts **opts, genrpc_call_opts *copy,
                              genrpc__icpt_call **ic, genrpc_status *st);
/* The same for a call of fn of module (NULL: nothing to intercept: the
 * call reports the bad argument). */
int genrpc__icpt_client_fn(genrpc_node *node, genrpc_target target,
                           const genrpc_module_desc *module, const genrpc_function_desc *fn,
                           bool is_cast, int64_t timeout_ms, const genrpc_call_opts **opts,
                           genrpc_call_opts *copy, genrpc__icpt_call **ic, genrpc_status *st);
/* Runs the `after` hooks (reverse order) with the outcome and frees the
 * record. NULL: nothing. */
void genrpc__icpt_end(genrpc__icpt_call *ic, const genrpc_status *st);
/* The same on *icp, which becomes NULL (a record ends once). */
static inline void
genrpc__icpt_finish(genrpc__icpt_call **icp, const genrpc_status *st)
{
    if (*icp) {
        genrpc__icpt_end(*icp, st);
        *icp = NULL;
    }
}

/* Server chain: `ic` (the caller's, on its stack) with info filled;
 * runs the `before` hooks, which may add to `trailers`. GENRPC_OK: run
 * the handler; else st says why not (an error a remote caller may get). */
int genrpc__icpt_server_before(genrpc__icpt_call *ic, genrpc_metadata *trailers,
                               genrpc_status *st);
/* Server chain: the `after` hooks (ic is not freed). */
void genrpc__icpt_server_after(genrpc__icpt_call *ic, const genrpc_status *st);

#endif /* GENRPC_RPC_INTERCEPT_H */
