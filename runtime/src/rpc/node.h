/*
 * node.h - struct genrpc_node: the node as the composition of its layers'
 * structs. Defined here, at the top of the layers that need to see it (the
 * rpc layer reaches the runner, the loop and its own state through it);
 * node.c composes it, owns the configuration, and says in which order the
 * parts start and stop.
 *
 * Each member names the file that owns it: only that file (or, for a
 * lower layer's struct, that layer) touches its insides; others go
 * through its functions.
 */
#ifndef GENRPC_RPC_NODE_H
#define GENRPC_RPC_NODE_H

#include <pthread.h>
#include <stdatomic.h>

#include "genrpc/genrpc.h"
#include "base/clock.h"
#include "base/list.h"
#include "base/registry.h"
#include "loop/loop.h"
#include "loop/runner.h"
#include "net/conn.h"
#include "net/net.h"
#include "wire/compress.h"
#include "wire/frame.h"
#include "rpc/health.h"
#include "rpc/stats.h"
#include "rpc/intercept.h"

/* node.c: its own copies of every string and array of the configuration
 * (cfg's pointers lead to them). */
typedef struct genrpc__node_copies {
    char *name;
    char *cookie;
    char *listen_host;
    char **module_list;
    genrpc_node_addr *node_addrs;
    char *tls_files[4];
} genrpc__node_copies;

struct genrpc_node {
    genrpc_node_config cfg;      /* node.c: read-only once started */
    genrpc__node_copies copies;  /* node.c */
    genrpc__cmd shutdown_cmd;    /* node.c: genrpc_node_stop has the loop close everything */
    genrpc__cmd drain_cmd;       /* node.c: genrpc_node_drain has the loop start drain_timer */
    ev_timer drain_timer;        /* node.c: the drain's tick (loop) */

    genrpc__loop loop;           /* loop/loop.c: node->loop.ev is every watcher's libev loop */
    genrpc__runner runner;       /* loop/runner.c: who runs the loop; workers; mailboxes */
    genrpc__net net;             /* net/: listeners, TLS, connection lists, counters */

    genrpc__registry modules;    /* rpc/modules.c: genrpc__reg.e, name + version */
    genrpc__registry handlers;   /* rpc/handlers.c: genrpc__handler.e, name only */
    genrpc__list expiring;       /* rpc/promise.c: completed promises with an expiry timer (loop) */

    /* rpc/events.c: subscribers under mon_mu (not held while delivering:
     * mon_cond tells unmonitor a delivery has ended); peers_up is loop only */
    pthread_mutex_t mon_mu;
    pthread_cond_t mon_cond;
    genrpc__list monitors; /* struct genrpc__monitor.link */
    struct genrpc__peer_up *peers_up;
    size_t n_peers_up, cap_peers_up;

    genrpc__health health;       /* rpc/health.c: statuses the application set; every
                                    known one reads NOT_SERVING while net.draining */

    genrpc__stats stats;         /* rpc/stats.c: what is kept of each peer */
    /* rpc/intercept.c: the interceptor chains (set before calls run) */
    genrpc__icpt_chain client_icpt, server_icpt;

    /* rpc/: counters (relaxed atomics; net's own are in net) */
    atomic_uint_least64_t calls_served, casts_dropped, late_replies, reads_paused,
        broadcasts_dropped, expired_requests, cancelled_requests, retried_calls;
};

/* The node a connection belongs to (node.c sets net.up to the node). */
static inline genrpc_node *
genrpc__node_of(const genrpc__conn *c)
{
    return (genrpc_node *)c->net->up;
}

/* The wire protocol version this node encodes requests in before it knows
 * the connection's (a version-1 connection re-encodes them: net/conn.c). */
static inline uint8_t
genrpc__node_proto(const genrpc_node *node)
{
    int v = node->cfg.max_protocol_version;
    return v >= GENRPC__PROTO_MIN && v < GENRPC__PROTO_MAX ? (uint8_t)v : GENRPC__PROTO_MAX;
}

/* The frame to send on c in place of o (given up): compressed when c is
 * ready with zstd agreed and o's payload is big enough (a frame queued
 * before its connection is ready goes as it is). Inline: every call and
 * reply asks, and without compression the answer is one load. */
static inline genrpc__out *
genrpc__maybe_compress(genrpc__conn *c, genrpc__out *o)
{
    if (__builtin_expect(!c->zstd, 1) || atomic_load(&c->state) != GENRPC__READY ||
        o->total < c->net->cfg->compression_min_bytes)
        return o;
    genrpc__out *z = genrpc__out_compress(o, c->net->cfg->compression_min_bytes);
    if (!z)
        return o;
    genrpc__out_free(o);
    return z;
}

/* The start every typed call shares (call.c, promise.c, callback.c): the
 * caller's trailers cleared, and the client interceptors run when there
 * are any (on GENRPC_OK *opts may then point at `copy`, with the merged
 * headers, and *ic is the record to end). Inline: without interceptors it
 * is two tests. */
static inline int
genrpc__call_start(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
                   const genrpc_function_desc *fn, bool is_cast, int64_t timeout_ms,
                   const genrpc_call_opts **opts, genrpc_call_opts *copy,
                   genrpc__icpt_call **ic, genrpc_status *st)
{
    *ic = NULL;
    if (*opts && (*opts)->trailers && !is_cast)
        genrpc_metadata_clear((*opts)->trailers);
    if (!node || !GENRPC__ICPT_ON(node, client_icpt))
        return GENRPC_OK;
    return genrpc__icpt_client_fn(node, target, module, fn, is_cast, timeout_ms, opts, copy, ic,
                                  st);
}

/* handler.c: the deadline (coarse monotonic ms) of the request whose
 * handler this thread is running; 0 outside a handler, or none. Calls made
 * from a handler inherit it. initial-exec: one load, no __tls_get_addr,
 * on every call's path. */
extern __thread int64_t genrpc__tl_deadline_ms __attribute__((tls_model("initial-exec")));

/* A timeout (ms, GENRPC_INFINITY = none) shortened to what is left of the
 * running handler's deadline, if any: never lengthened. At least 1 ms. */
static inline int64_t
genrpc__inherit_timeout(int64_t ms)
{
    int64_t d = genrpc__tl_deadline_ms;
    if (!d)
        return ms;
    int64_t left = d - genrpc__coarse_ms();
    if (left < 1)
        left = 1;
    return ms < 0 || left < ms ? left : ms;
}

/* A call's timeout: opts->timeout_ms, else the node's call_receive_timeout,
 * shortened to an enclosing handler's deadline (call.c, fanout.c). Inline:
 * it is on every call's path. */
static inline int64_t
genrpc__call_timeout_ms(const genrpc_node *node, const genrpc_call_opts *opts)
{
    return genrpc__inherit_timeout(opts && opts->timeout_ms ? opts->timeout_ms
                                                            : node->cfg.call_receive_timeout_ms);
}

/* A cast's deadline: none unless the caller gave one or runs in a handler
 * that has one. */
static inline int64_t
genrpc__cast_timeout_ms(const genrpc_call_opts *opts)
{
    return genrpc__inherit_timeout(opts && opts->timeout_ms > 0 ? opts->timeout_ms
                                                                : GENRPC_INFINITY);
}

/* A timeout as the wire carries it (u32 ms; 0: no deadline). */
static inline uint32_t
genrpc__wire_timeout(int64_t ms)
{
    return ms <= 0 ? 0 : ms >= (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

#endif /* GENRPC_RPC_NODE_H */
