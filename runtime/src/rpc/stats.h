/*
 * stats.h - the node's statistics (rpc layer): what is counted where, and
 * the snapshot (genrpc/stats.h) and built-in module genrpc.Stats that read
 * it (stats.c). docs/stats.md.
 *
 * Where the counts live, each bumped with relaxed atomics and no lock:
 *   per node        node->calls_served... (rpc/node.h), net->auth_failures...
 *   per connection  genrpc__conn: bytes and frames in and out (net/conn.c);
 *                   genrpc__client.errors, genrpc__acceptor.errors (ERROR
 *                   frames received / sent); genrpc__client.round_trips
 *                   (client.c, from genrpc__pending.sent_ticks); calls in
 *                   flight and the backlog are read from where they are kept
 *   per peer        genrpc__stats below: connects and disconnects, which outlive
 *                   the connections (stats.mu, a leaf; never on a call's path)
 *   per function    genrpc__fn_stats, one per function of a registered
 *                   module (genrpc__reg.fn_stats), bumped by handler.c
 */
#ifndef GENRPC_RPC_STATS_H
#define GENRPC_RPC_STATS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "genrpc/genrpc.h"
#include "base/stats.h"
#include "wire/frame.h"

typedef struct genrpc__conn genrpc__conn;

/* Errors are counted by genrpc error code, below this bound. */
#define GENRPC__STATS_ERR_MAX 64

/* One served function's counts. Its calls are latency's count plus
 * not_run: one counter bumped per call, not two. */
typedef struct genrpc__fn_stats {
    genrpc__hist latency;    /* ticks from handler start to reply sent, per request run */
    genrpc__counter not_run; /* requests dropped before their handler (deadline, cancel) */
    genrpc__counter errors[GENRPC__STATS_ERR_MAX]; /* by genrpc error code */
} genrpc__fn_stats;

/* A request of a function ended with err (GENRPC_OK: answered); `ticks`
 * (genrpc__ticks) it ran for, if it ran. Any thread. */
static inline void
genrpc__fn_stats_record(genrpc__fn_stats *s, int err, bool ran, uint64_t ticks)
{
    if (ran)
        genrpc__hist_add(&s->latency, ticks);
    else
        genrpc__count(&s->not_run, 1);
    if (err != GENRPC_OK)
        genrpc__count(&s->errors[(unsigned)err < GENRPC__STATS_ERR_MAX ? err : 0], 1);
}

/* What is kept of a peer (a remote node's name) across its connections. */
typedef struct genrpc__peer_stats {
    char name[GENRPC__NAME_MAX + 1];
    uint64_t connects[2]; /* [GENRPC__CLIENT], [GENRPC__ACCEPTOR]: became READY */
    uint64_t disconnects[2]; /* ... and later closed (for any reason) */
} genrpc__peer_stats;

/* The most peers remembered (stats.c, peer_entry). */
#define GENRPC__STATS_PEERS_MAX 256

typedef struct genrpc__stats {
    /* set at init: the ticks (genrpc__ticks) and ns (genrpc__now_ns) then,
     * to convert ticks into ns by the rate measured since */
    uint64_t ticks0;
    int64_t ns0;
    pthread_mutex_t mu; /* a leaf */
    genrpc__peer_stats *peers;
    size_t n_peers, cap_peers;
} genrpc__stats;

void genrpc__stats_init(genrpc__stats *s);
void genrpc__stats_destroy(genrpc__stats *s);

/* c became READY / closed after it had been (rpc/events.c, on the loop). */
void genrpc__stats_conn_up(genrpc__conn *c);
void genrpc__stats_conn_down(genrpc__conn *c);

/* Registers genrpc.Stats on `node` (node.c, at start, unless the
 * configuration switches it off). A genrpc error. */
int genrpc__stats_serve(genrpc_node *node);

#endif /* GENRPC_RPC_STATS_H */
