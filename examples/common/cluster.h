/*
 * cluster.h - helpers shared by the examples:
 *
 *  - where the cluster comes from, one of:
 *      --cluster n1@127.0.0.1:7101,n2@127.0.0.1:7102,n3@127.0.0.1:7103
 *    a list turned into a genrpc node_addrs map (several nodes on one host,
 *    each with its own port: docs/naming.md), or
 *      --etcd http://127.0.0.1:2379[,...] [--port 7101]
 *    etcd (genrpc/cluster.h): each node registers itself and learns the
 *    others from etcd, knowing nothing but etcd's address;
 *  - membership: a hash ring holding this node plus every cluster member,
 *    kept current by node events (genrpc_node_monitor) with a list (a
 *    member is in while it is connected; a join step pings the members not
 *    yet connected), or by member events with etcd (a member is in while
 *    it is registered);
 *  - SIGINT/SIGTERM handling for the node programs.
 */
#ifndef EXAMPLES_CLUSTER_H
#define EXAMPLES_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include <genrpc/genrpc.h>

#include "ring.h"

#define CLUSTER_MAX RING_MAX_NODES

struct genrpc_cluster;

typedef struct cluster {
    genrpc_node_addr addrs[CLUSTER_MAX]; /* for genrpc_node_config.node_addrs */
    char names[CLUSTER_MAX][RING_NAME_MAX];
    size_t n;                            /* the list's (with etcd: the last members read) */
    struct genrpc_cluster *etcd;         /* with --etcd: the node's membership */
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

/* With --etcd instead of a list: starts cfg->name listening on `port` (0:
 * any) and joins the cluster registered in etcd under `prefix` (a client
 * program: observe, registering nothing). `urls` is "http://h:p,...". On
 * failure prints why, sets *exit_code and returns NULL. Leave with
 * cluster_leave before genrpc_node_stop. */
genrpc_node *cluster_etcd_start(const char *prog, const char *urls, const char *prefix, int port,
                                int ttl_s, bool observe, cluster *c, genrpc_node_config *cfg,
                                int *exit_code);
void cluster_leave(cluster *c);

/* With --etcd: the members of the moment (at most CLUSTER_MAX) into
 * c->names and c->n; nothing with a list. */
void cluster_refresh(cluster *c);

/* The command line of a cluster program: --cluster, or --etcd (with
 * --port, --ttl). CLUSTER_LONG_OPTIONS goes into its getopt_long table,
 * cluster_option handles those options (false: not one of them) and
 * CLUSTER_USAGE describes them. */
typedef struct cluster_args {
    const char *spec;   /* --cluster LIST */
    const char *etcd;   /* --etcd URL[,URL...] */
    int port;           /* --port N: where a node listens with --etcd (0: any) */
    int ttl_s;          /* --ttl S: its etcd lease (0: genrpc's default, 10 s) */
} cluster_args;

#define CLUSTER_LONG_OPTIONS                                                                 \
    {"cluster", required_argument, 0, 'C'}, {"etcd", required_argument, 0, 'E'},             \
        {"port", required_argument, 0, 'P'}, {"ttl", required_argument, 0, 'T'}
#define CLUSTER_USAGE                                                                        \
    "  --cluster  every node with its port: n1@127.0.0.1:7101,n2@127.0.0.1:7102,...\n"     \
    "  --etcd     or: etcd's URLs (http://127.0.0.1:2379,...): the members are those\n"    \
    "             registered there (docs/multinode.md, \"Membership\")\n"                  \
    "  --port     with --etcd: the port a node listens on (default: any)\n"                \
    "  --ttl      with --etcd: a node's lease in seconds (default 10)\n"

bool cluster_option(cluster_args *a, int ch, const char *arg);

/* Starts the program's node from its arguments: a member (listening, in
 * the ring), or with `client` a program that only calls members. *c is
 * the list, or the etcd membership; prefix: the cluster's etcd prefix. On
 * failure prints why (prefixed with prog), sets *exit_code (2: bad
 * arguments, show the usage; 1: it did not start) and returns NULL. End it
 * with cluster_stop. */
genrpc_node *cluster_start(const char *prog, const cluster_args *a, const char *prefix,
                           bool client, cluster *c, genrpc_node_config *cfg, int *exit_code);
void cluster_stop(cluster *c, genrpc_node *node);

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
 * a cluster member going up joins the ring, going down leaves it (with
 * etcd: to member events, a member registering joins, leaving leaves). */
bool membership_start(membership *m, genrpc_node *node, const cluster *c, ring *r);

/* Pings every member not in the ring (blocking, 300 ms each at most), so
 * that a connection, and with it a node-up event, exists. Call it often
 * from the main thread (with etcd it has nothing to do). */
void membership_join(membership *m);

void membership_stop(membership *m);

/* SIGINT/SIGTERM set a flag; example_stopping() reads it. */
void example_catch_signals(void);
bool example_stopping(void);

#endif
