/*
 * cluster.h - helpers shared by the examples:
 *
 *  - the cluster list given on the command line,
 *      --cluster n1@127.0.0.1:7101,n2@127.0.0.1:7102,n3@127.0.0.1:7103
 *    turned into a genrpc node_addrs map (several nodes on one host, each
 *    with its own port: docs/naming.md);
 *  - membership: a hash ring holding this node plus every cluster member
 *    that is up, kept current by node events (genrpc_node_monitor), and a
 *    join step that pings the members not yet connected;
 *  - SIGINT/SIGTERM handling for the node programs.
 */
#ifndef EXAMPLES_CLUSTER_H
#define EXAMPLES_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include <genrpc/genrpc.h>

#include "ring.h"

#define CLUSTER_MAX RING_MAX_NODES

typedef struct cluster {
    genrpc_node_addr addrs[CLUSTER_MAX]; /* for genrpc_node_config.node_addrs */
    char names[CLUSTER_MAX][RING_NAME_MAX];
    size_t n;
} cluster;

/* Parses "name@host:port,name@host:port,..."; prints what is wrong to
 * stderr and returns false on a bad list. */
bool cluster_parse(cluster *c, const char *spec);

/* The port of `name` in the list, or -1 if it is not a member. */
int cluster_port(const cluster *c, const char *name);

/* Starts cfg->name, a member of the cluster list `spec` (parsed into *c):
 * it listens on its own port and knows where the others listen. On failure
 * prints why (prefixed with `prog`), sets *exit_code (2: bad arguments, the
 * caller shows its usage; 1: the node did not start) and returns NULL. */
genrpc_node *cluster_node_start(const char *prog, const char *spec, cluster *c,
                                genrpc_node_config *cfg, int *exit_code);

/* Every member as a keyless target (for multicall, abcast, sbcast). */
void cluster_targets(const cluster *c, genrpc_target out[CLUSTER_MAX]);

/* "n1" for "n1@127.0.0.1": short names for printing. */
const char *short_name(const char *node, char out[RING_NAME_MAX]);

typedef struct membership {
    genrpc_node *node;
    const cluster *cluster;
    ring *ring;
} membership;

/* Puts this node in the ring, serves Ping and subscribes to node events:
 * a cluster member going up joins the ring, going down leaves it. */
bool membership_start(membership *m, genrpc_node *node, const cluster *c, ring *r);

/* Pings every member not in the ring (blocking, 300 ms each at most), so
 * that a connection, and with it a node-up event, exists. Call it often
 * from the main thread. */
void membership_join(membership *m);

void membership_stop(membership *m);

/* SIGINT/SIGTERM set a flag; example_stopping() reads it. */
void example_catch_signals(void);
bool example_stopping(void);

#endif
