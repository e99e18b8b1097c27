/*
 * net.h - the node's network layer (net/): what every connection of a node
 * shares. The node embeds one (node.c) and wires it to the loop, the runner
 * and the role that accepted connections take (rpc's acceptor role); net
 * knows nothing above it but that role table.
 *
 * Owners: listener.c (the listeners), tls.c (tls_ctx), net.c (the
 * connection lists); the counters are bumped by any file of net/; the
 * rest is set once by node.c before the node starts, read-only afterwards.
 */
#ifndef GENRPC_NET_NET_H
#define GENRPC_NET_NET_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/list.h"
#include "base/status.h"
#include "loop/loop.h"
#include "loop/runner.h"

typedef struct genrpc__conn_role genrpc__conn_role;

/* An address source installed while the node runs (cluster/: etcd), asked
 * before the discovery callback and the per-node map (dialer.c). resolve
 * fills host (hostlen bytes, NUL-terminated), *driver and *port for `name`
 * and returns GENRPC_OK, or fills st (GENRPC_E_DISCOVERY: no such node).
 * Called on callers' threads with net->resolver_mu read-held: it must not
 * block for long and takes only its own leaf lock. */
typedef struct genrpc__resolver {
    int (*resolve)(void *arg, const char *name, char *host, size_t hostlen,
                   genrpc_driver *driver, int *port, genrpc_status *st);
    void *arg;
} genrpc__resolver;

typedef struct genrpc__net {
    /* set by node.c, read-only afterwards */
    const genrpc_node_config *cfg; /* the node's copy: name, cookie, timeouts, addresses */
    size_t cookie_len;
    genrpc__loop *loop;
    genrpc__runner *runner;
    const genrpc__conn_role *acceptor_role; /* what an accepted connection becomes */
    size_t acceptor_size;                   /* ... and the size of its struct */
    void *up; /* the layer above's state (rpc/), for its roles: opaque here */
    atomic_bool stopping; /* genrpc_node_stop has begun: no new connections */
    atomic_bool draining; /* genrpc_node_drain has begun: a HELLO gets REJECT draining */

    /* listener.c */
    int listen_fd;
    int port;
    ev_io listen_w;
    int tls_listen_fd; /* the TLS listener (ssl_server_port), or -1 */
    int tls_port;
    ev_io tls_listen_w;

    /* tls.c: SSL_CTX, NULL without a TLS configuration */
    void *tls_ctx;

    /* net.c: every connection is on one list (conns_mu), which holds a
     * reference to it */
    pthread_mutex_t conns_mu;
    genrpc__list clients;   /* genrpc__conn.list_link: the client map (few remote nodes) */
    genrpc__list acceptors; /* genrpc__conn.list_link */

    /* dialer.c: the installed resolver (resolve NULL: none) */
    pthread_rwlock_t resolver_mu;
    genrpc__resolver resolver;

    /* counters (any file of net/, relaxed atomics) */
    atomic_int n_clients, n_clients_ready, n_acceptors;
    atomic_uint_least64_t auth_failures, protocol_errors;
} genrpc__net;

/* node.c: before the node starts / after it stopped (net.c). */
void genrpc__net_init(genrpc__net *net);
void genrpc__net_destroy(genrpc__net *net);

/* listener.c: the TCP listener and the TLS one (either may be off); the
 * socket options every connection gets. */
int genrpc__listen(genrpc__net *net, genrpc_status *st);
void genrpc__listen_close(genrpc__net *net);
void genrpc__sockopts(const genrpc__net *net, int fd);

/* tls.c: the node's TLS configuration (an SSL_CTX shared by its client and
 * acceptor connections). GENRPC_OK or fills st. */
int genrpc__tls_init(genrpc__net *net, genrpc_status *st);
void genrpc__tls_free(genrpc__net *net);

#endif /* GENRPC_NET_NET_H */
