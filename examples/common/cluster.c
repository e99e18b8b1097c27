/* cluster.c - see cluster.h. */
#include "cluster.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "membership.genrpc.h"

bool
cluster_parse(cluster *c, const char *spec)
{
    memset(c, 0, sizeof *c);
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (c->n == CLUSTER_MAX || !colon || colon == p || len >= RING_NAME_MAX ||
            !memchr(p, '@', (size_t)(colon - p))) {
            fprintf(stderr, "bad --cluster entry \"%.*s\" (want name@host:port, at most %d)\n",
                    (int)len, p, CLUSTER_MAX);
            return false;
        }
        int port = atoi(colon + 1);
        if (port <= 0 || port > 65535) {
            fprintf(stderr, "bad port in --cluster entry \"%.*s\"\n", (int)len, p);
            return false;
        }
        memcpy(c->names[c->n], p, (size_t)(colon - p));
        c->addrs[c->n] = (genrpc_node_addr){c->names[c->n], GENRPC_DRIVER_TCP, port};
        c->n++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (c->n == 0) {
        fprintf(stderr, "--cluster is empty\n");
        return false;
    }
    return true;
}

int
cluster_port(const cluster *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->names[i], name) == 0)
            return c->addrs[i].port;
    return -1;
}

genrpc_node *
cluster_node_start(const char *prog, const char *spec, cluster *c, genrpc_node_config *cfg,
                   int *exit_code)
{
    if (!cfg->name || !spec || !cluster_parse(c, spec) || cluster_port(c, cfg->name) < 0) {
        fprintf(stderr, "%s: --name must be one of the --cluster nodes\n", prog);
        *exit_code = 2;
        return NULL;
    }
    cfg->tcp_server_port = cluster_port(c, cfg->name);
    cfg->node_addrs = c->addrs; /* where the other nodes listen */
    cfg->n_node_addrs = c->n;
    genrpc_node *node;
    genrpc_status st;
    if (genrpc_node_start(cfg, &node, &st) != GENRPC_OK) {
        fprintf(stderr, "%s: cannot start: %s\n", prog, st.message);
        *exit_code = 1;
        return NULL;
    }
    return node;
}

void
cluster_targets(const cluster *c, genrpc_target out[CLUSTER_MAX])
{
    for (size_t i = 0; i < c->n; i++)
        out[i] = genrpc_node_target(c->names[i]);
}

const char *
short_name(const char *node, char out[RING_NAME_MAX])
{
    snprintf(out, RING_NAME_MAX, "%.*s", (int)strcspn(node, "@"), node);
    return out;
}

/* ---- membership --------------------------------------------------------- */

static int
ping(const Membership__PingRequest *req, Membership__PingReply *reply, genrpc_ctx *ctx)
{
    (void)req;
    reply->node = (char *)genrpc_node_name(genrpc_ctx_node(ctx));
    return 0;
}

static const Membership__Membership__Impl membership_impl = {.ping = ping};

/* Runs on the node's event loop: must not block (printing is fine). */
static void
on_node_event(genrpc_node *node, const char *peer, genrpc_node_event ev, void *user)
{
    membership *m = user;
    char me[RING_NAME_MAX], other[RING_NAME_MAX];
    if (cluster_port(m->cluster, peer) < 0)
        return; /* a client program, not a cluster member: not in the ring */
    bool changed = ev == GENRPC_NODE_UP ? ring_add(m->ring, peer) : ring_remove(m->ring, peer);
    if (changed) {
        printf("[%s] node %s %s: ring has %zu nodes\n", short_name(genrpc_node_name(node), me),
               short_name(peer, other),
               ev == GENRPC_NODE_UP ? "up, joins the ring" : "down, leaves the ring",
               ring_size(m->ring));
        fflush(stdout);
    }
}

bool
membership_start(membership *m, genrpc_node *node, const cluster *c, ring *r)
{
    *m = (membership){node, c, r};
    ring_add(r, genrpc_node_name(node));
    genrpc_status st;
    if (membership__membership__register(node, &membership_impl, NULL) != GENRPC_OK ||
        genrpc_node_monitor(node, on_node_event, m, &st) != GENRPC_OK) {
        fprintf(stderr, "cannot start membership\n");
        return false;
    }
    return true;
}

void
membership_join(membership *m)
{
    for (size_t i = 0; i < m->cluster->n; i++) {
        const char *peer = m->cluster->names[i];
        if (ring_has(m->ring, peer))
            continue;
        Membership__PingRequest req = MEMBERSHIP__PING_REQUEST__INIT;
        Membership__PingReply *reply = NULL;
        genrpc_call_opts opts = {.timeout_ms = 300};
        if (membership__membership__ping_call(m->node, genrpc_node_target(peer), &req, &reply,
                                              &opts, NULL) == GENRPC_OK)
            membership__ping_reply__free_unpacked(reply, NULL);
    }
}

void
membership_stop(membership *m)
{
    genrpc_node_unmonitor(m->node, on_node_event, m);
    membership__membership__unregister(m->node);
}

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void
example_catch_signals(void)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
}

bool
example_stopping(void)
{
    return stop_requested;
}
