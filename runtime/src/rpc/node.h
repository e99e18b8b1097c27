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
#include "base/list.h"
#include "base/registry.h"
#include "loop/loop.h"
#include "loop/runner.h"
#include "net/conn.h"
#include "net/net.h"
#include "rpc/health.h"

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

    genrpc__health health;       /* rpc/health.c: statuses the application set */
    /* Set while the node drains (node.c's genrpc_node_drain); read by
     * rpc/health.c: every known status then reads NOT_SERVING. */
    atomic_bool draining;

    /* rpc/: counters (relaxed atomics; net's own are in net) */
    atomic_uint_least64_t calls_served, casts_dropped, late_replies, reads_paused,
        broadcasts_dropped;
};

/* The node a connection belongs to (node.c sets net.up to the node). */
static inline genrpc_node *
genrpc__node_of(const genrpc__conn *c)
{
    return (genrpc_node *)c->net->up;
}

/* A call's timeout: opts->timeout_ms, else the node's call_receive_timeout
 * (call.c, fanout.c). Inline: it is on every call's path. */
static inline int64_t
genrpc__call_timeout_ms(const genrpc_node *node, const genrpc_call_opts *opts)
{
    return opts && opts->timeout_ms ? opts->timeout_ms : node->cfg.call_receive_timeout_ms;
}

#endif /* GENRPC_RPC_NODE_H */
