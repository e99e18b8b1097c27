/*
 * genrpc/cluster.h - clusters that find themselves: etcd as the discovery
 * and membership source of a running node (docs/naming.md, "etcd";
 * docs/multinode.md, "Membership").
 *
 * A node joins a cluster: it registers itself in etcd under the cluster's
 * prefix (its name -> driver, host, port) with a lease it keeps alive, and
 * from then on the node resolves the names it calls from the cluster's
 * member list (kept current by an etcd watch) instead of its discovery
 * callback and per-node map. genrpc_cluster_members lists every registered
 * node, connected or not; member joined/left events go to subscribers
 * (distinct from the connection-level node up/down events of node.h).
 *
 * Optional part of libgenrpc: built (and this header installed) where
 * libcurl and jansson were found (CMake option GENRPC_CLUSTER, on by
 * default; docs/install.md).
 * etcd is reached through its v3 JSON gateway (etcd 3.4 or later) from a
 * thread of the cluster's own; nothing here runs on the node's event loop.
 */
#ifndef GENRPC_CLUSTER_H
#define GENRPC_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "genrpc/call.h"
#include "genrpc/error.h"
#include "genrpc/export.h"
#include "genrpc/node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct genrpc_cluster genrpc_cluster;

/* 10 s: a node killed with -9 leaves every member list within 10 s plus the
 * time its peers' watch takes to hear (milliseconds); keepalives go every
 * TTL/3, so two lost in a row (an etcd leader election, a slow disk, an
 * etcd member restarting) do not drop a live node. */
#define GENRPC_CLUSTER_TTL_S 10

typedef struct genrpc_cluster_config {
    /* required: etcd client URLs, "http://10.0.0.1:2379" or "https://...";
     * tried in turn, the next one after a failure */
    const char *const *endpoints;
    size_t n_endpoints;
    const char *prefix;          /* NULL: "/genrpc/default/": the cluster's keys */
    int lease_ttl_s;             /* 0: GENRPC_CLUSTER_TTL_S; [2, 3600] */

    /* what peers read to reach this node */
    const char *advertise_host;  /* NULL: the host part of the node's name */
    int advertise_port;          /* 0: the node's TCP port (TLS port for the TLS driver) */
    genrpc_driver advertise_driver; /* GENRPC_DRIVER_TCP */

    /* etcd's own security (docs/naming.md, "etcd with TLS and a password") */
    const char *username;        /* NULL: no etcd authentication */
    const char *password;
    const char *ca_file;         /* NULL: the system's CAs (https endpoints) */
    const char *cert_file;       /* NULL: no client certificate */
    const char *key_file;

    int64_t request_timeout_ms;  /* 0: 2000: one request to etcd */
    int64_t retry_min_ms;        /* 0: 100: first back-off after a failure */
    int64_t retry_max_ms;        /* 0: 2000: back-off doubles up to this */
    /* 0: 5000. genrpc_cluster_join waits this long for the node to be
     * registered and the member list read; GENRPC_CLUSTER_NO_WAIT: it
     * returns at once and the cluster keeps trying in the background. */
    int64_t join_timeout_ms;
    /* false: register this node (a member). true: only read and watch the
     * member list and resolve names from it, registering nothing (a client
     * program; it needs no listener and is in nobody's list). */
    bool observe_only;

    /* Room to grow (docs/install.md, "ABI"): leave it zero. */
    uint64_t reserved[8];
} genrpc_cluster_config;

#define GENRPC_CLUSTER_NO_WAIT (-1)
/* Every field zero: the defaults. */
#define GENRPC_CLUSTER_CONFIG_INIT                                                      \
    {                                                                                   \
        NULL, 0, NULL, 0, NULL, 0, GENRPC_DRIVER_TCP, NULL, NULL, NULL, NULL, NULL, 0, 0, \
            0, 0, false, {0}                                                            \
    }

/* Joins `node` (started, and running until genrpc_cluster_leave returns) to
 * the cluster cfg describes: registers it (unless observe_only), reads the
 * member list and starts watching it. The cluster copies what it needs from cfg. On GENRPC_OK
 * *out is a cluster the caller owns and ends with genrpc_cluster_leave;
 * from now on the node resolves every name it dials from the member list,
 * and a name that is not there fails with GENRPC_E_DISCOVERY. On failure
 * *out is NULL and st says why: GENRPC_E_INVAL (bad config, or the node
 * already joined one), GENRPC_E_CONNECT (etcd not reached or refused us
 * within join_timeout_ms: the last error is in the message). */
GENRPC_API int genrpc_cluster_join(genrpc_node *node, const genrpc_cluster_config *cfg,
                                   genrpc_cluster **out, genrpc_status *st);

/* Leaves: revokes the lease (the node leaves every member list at once),
 * stops the watch and the thread, gives the node back its own discovery
 * and frees the cluster. Waits at most request_timeout_ms for etcd. Call it
 * before genrpc_node_stop, never from a member event callback. */
GENRPC_API int genrpc_cluster_leave(genrpc_cluster *cluster);

/* One registered node. */
typedef struct genrpc_cluster_member {
    const char *name;        /* "name@host" */
    const char *host;        /* where it listens */
    int port;
    genrpc_driver driver;
} genrpc_cluster_member;

/* Every node registered in the cluster (this one included), connected or
 * not, sorted by name: the cached list, served while etcd is unreachable.
 * On GENRPC_OK *members is an array of *n members (strings included) that
 * the caller owns and frees with free(); on error it is NULL and *n 0. */
GENRPC_API int genrpc_cluster_members(genrpc_cluster *cluster, genrpc_cluster_member **members,
                                      size_t *n, genrpc_status *st);

/* The same list as keyless targets for genrpc_multicall and friends
 * ("all nodes" by membership rather than by connection), this node first
 * (an observe_only node is not in the list).
 * Free it with genrpc_targets_free (multi.h). */
GENRPC_API int genrpc_cluster_member_targets(genrpc_cluster *cluster, genrpc_target **targets,
                                             size_t *n, genrpc_status *st);

/* true while the cluster is registered and its watch runs; false while
 * etcd is unreachable (the cached list is still served), or for NULL. */
GENRPC_API bool genrpc_cluster_connected(genrpc_cluster *cluster);

typedef enum genrpc_cluster_event {
    GENRPC_MEMBER_JOINED = 1, /* registered: its key appeared */
    GENRPC_MEMBER_LEFT = 2,   /* its key went: it left, or its lease expired */
} genrpc_cluster_event;

/* Called on the cluster's thread, one call at a time, in etcd's order, with
 * no runtime lock held. `m` is valid during the call. It may call and cast
 * (also blocking calls: they delay later events, nothing else); it must
 * not call genrpc_cluster_leave or genrpc_cluster_unsubscribe. */
typedef void (*genrpc_cluster_event_cb)(genrpc_cluster *cluster, const genrpc_cluster_member *m,
                                        genrpc_cluster_event event, void *user);

/* Subscribes cb(user). Soon after, cb receives JOINED for every current
 * member (this node included), before any later event. GENRPC_E_INVAL for
 * a NULL cb or from an event callback. */
GENRPC_API int genrpc_cluster_subscribe(genrpc_cluster *cluster, genrpc_cluster_event_cb cb,
                                        void *user, genrpc_status *st);

/* Removes (cb, user); once it returns cb is not running and will not be
 * called again. GENRPC_E_INVAL if there was no such subscription or from
 * an event callback. */
GENRPC_API int genrpc_cluster_unsubscribe(genrpc_cluster *cluster, genrpc_cluster_event_cb cb,
                                          void *user);

#ifdef __cplusplus
}
#endif
#endif /* GENRPC_CLUSTER_H */
