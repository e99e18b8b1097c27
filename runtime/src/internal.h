/*
 * internal.h - the runtime's private structures. Prefix: genrpc__.
 *
 * Threads (see docs/RATIONALE.md for the whole call path):
 *   - one event-loop thread per node ("the loop"): owns every socket, every
 *     libev watcher and the listener; reads and parses frames; completes
 *     pending calls; flushes deferred output once per loop iteration;
 *   - worker threads: decode requests, run handlers, encode replies;
 *   - caller threads (the user's): encode requests and write them straight
 *     to the socket when nothing is queued ahead of them.
 * Other threads talk to the loop through commands embedded in their
 * objects (loop/loop.h), posted to node->loop.
 *
 * Ownership is by reference count on conns, chunks, registrations and
 * promises; each field comment says which lock guards it.
 */
#ifndef GENRPC_INTERNAL_H
#define GENRPC_INTERNAL_H

#include <ev.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "genrpc/genrpc.h"
#include "base/chunk.h"
#include "base/clock.h"
#include "base/idmap.h"
#include "base/registry.h"
#include "base/list.h"
#include "base/status.h"
#include "loop/loop.h"
#include "loop/runner.h"
#include "net/transport.h"
#include "rpc/policy.h"
#include "wire/frame.h"
#include "wire/out.h"
#include "net/conn.h"
#include "net/dialer.h"
#include "net/handshake.h"
#include "rpc/pending.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "rpc/events.h"

typedef struct genrpc__conn genrpc__conn;
typedef struct genrpc__server_job genrpc__server_job;

/* ---- module registry ----------------------------------------------------- */

typedef struct genrpc__reg {
    genrpc__regentry e; /* name + version in node->modules; refs: 1 + 1 per job */
    const genrpc_module_desc *desc;
    const void *impl;
    void *user;
} genrpc__reg;

void genrpc__reg_unref(genrpc_node *node, genrpc__reg *r);

/* Policy, then module/version, then function. On success *reg holds a
 * reference. On failure fills st with the error for the caller. */
int genrpc__resolve(genrpc_node *node, const genrpc__request_hdr *h, genrpc__reg **reg,
                    const genrpc_function_desc **fn, genrpc_status *st);

/* ---- named handlers (broadcast.c) ----------------------------------------- */

typedef struct genrpc__handler {
    genrpc__regentry e; /* name in node->handlers; refs: 1 + 1 per job */
    char name[GENRPC__NAME_MAX + 1];
    const ProtobufCMessageDescriptor *type;
    genrpc_handler_thunk thunk; /* NULL: cb is a genrpc_handler_fn */
    genrpc_generic_fn cb;
    void *user;
} genrpc__handler;

/* The handler registered under `name`, with a reference; NULL if none. */
genrpc__handler *genrpc__handler_find(genrpc_node *node, genrpc__str name);
void genrpc__handler_unref(genrpc_node *node, genrpc__handler *h);
void genrpc__handler_invoke(genrpc__handler *h, genrpc_node *node, const char *from,
                            const ProtobufCMessage *msg);

/* genrpc_call_async for the runtime's own fan-outs (multi.c): a `claimed`
 * promise is collected by the runtime itself, so its result never expires
 * (async_call_inactivity_timeout is for results nobody claims). */
int genrpc__call_async(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
                       const genrpc_function_desc *fn, const ProtobufCMessage *request,
                       const genrpc_call_opts *opts, bool claimed, genrpc_promise **out,
                       genrpc_status *st);

/* The same for a frame already encoded (the request id is stamped at its
 * offset 5, after prefix and kind): sends `o` (consumed) as a call whose
 * answer is REPLY or ERROR. fn NULL: the REPLY's payload is not decoded
 * (sbcast). timeout_ms as genrpc_call_opts.timeout_ms. */
int genrpc__call_async_frame(genrpc_node *node, genrpc_target target,
                             const genrpc_function_desc *fn, genrpc__out *o, int64_t timeout_ms,
                             bool claimed, genrpc_promise **out, genrpc_status *st);

/* ---- connections: net/conn.h, the client and acceptor roles ----------- */

/* ---- the node ------------------------------------------------------------ */

struct genrpc_node {
    genrpc_node_config cfg; /* strings below are the node's own copies */
    char *name;
    char *cookie;
    size_t cookie_len;
    char *listen_host;
    char **module_list;
    genrpc_node_addr *node_addrs;
    atomic_bool stopping;

    /* loop: node->loop.ev is the libev loop every watcher starts on */
    genrpc__loop loop;
    genrpc__cmd shutdown_cmd; /* genrpc_node_stop: the loop closes everything */
    int listen_fd;
    int port;
    ev_io listen_w;
    int tls_listen_fd; /* the TLS listener (ssl_server_port), or -1 */
    int tls_port;
    ev_io tls_listen_w;
    void *tls_ctx;     /* SSL_CTX (tls.c), NULL without a TLS configuration */
    char *tls_files[4]; /* copies of the tls_* strings of cfg */
    genrpc__list expiring; /* genrpc_promise: completed, with an expiry timer (loop) */

    /* the role of accepted connections (node.c hands rpc's down to net) */
    const genrpc__conn_role *acceptor_role;
    size_t acceptor_size;

    /* connections (conns_mu) */
    pthread_mutex_t conns_mu;
    genrpc__list clients;   /* genrpc__conn.list_link: the client map (few remote nodes) */
    genrpc__list acceptors; /* genrpc__conn.list_link */

    /* registries (each under its own lock) */
    genrpc__registry modules;  /* genrpc__reg.e: name + version */
    genrpc__registry handlers; /* genrpc__handler.e: named handlers, name only */

    /* who runs the loop; workers and the per-peer mailboxes */
    genrpc__runner runner;

    /* node events (rpc/events.c): subscribers under mon_mu (not held while
     * delivering: mon_cond tells unmonitor a delivery has ended); peers_up
     * is loop only */
    pthread_mutex_t mon_mu;
    pthread_cond_t mon_cond;
    genrpc__list monitors; /* struct genrpc__monitor.link */
    struct genrpc__peer_up *peers_up;
    size_t n_peers_up, cap_peers_up;

    /* counters */
    atomic_int n_clients, n_clients_ready, n_acceptors;
    atomic_uint_least64_t calls_served, casts_dropped, late_replies, auth_failures,
        protocol_errors, reads_paused;
    atomic_uint_least64_t broadcasts_dropped;
};

/* A call's timeout: opts->timeout_ms, else the node's call_receive_timeout
 * (call.c, fanout.c). Inline: it is on every call's path. */
static inline int64_t
genrpc__call_timeout_ms(const genrpc_node *node, const genrpc_call_opts *opts)
{
    return opts && opts->timeout_ms ? opts->timeout_ms : node->cfg.call_receive_timeout_ms;
}

void genrpc__client_sockopts(genrpc_node *node, int fd);
void genrpc__promises_stop(genrpc_node *node); /* loop: drop expiry timers */
int genrpc__listen(genrpc_node *node, genrpc_status *st);
void genrpc__conns_link(genrpc_node *node, genrpc__list *list, genrpc__conn *c);
void genrpc__conns_unlink(genrpc_node *node, genrpc__conn *c);

#endif /* GENRPC_INTERNAL_H */
