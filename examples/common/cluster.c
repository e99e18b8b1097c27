/* cluster.c - see cluster.h. */
#include "cluster.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "membership.genrpc.h"

#ifdef GENRPC_HAVE_CLUSTER
#include <genrpc/cluster.h>
#endif

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

/* Starts cfg's node knowing where the list's nodes listen (none with etcd). */
static genrpc_node *
start_node(const char *prog, const cluster *c, genrpc_node_config *cfg, int *exit_code)
{
    cfg->node_addrs = c->addrs;
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
    return start_node(prog, c, cfg, exit_code);
}

#ifdef GENRPC_HAVE_CLUSTER
genrpc_node *
cluster_etcd_start(const char *prog, const char *urls, const char *prefix, int port, int ttl_s,
                   bool observe, cluster *c, genrpc_node_config *cfg, int *exit_code)
{
    memset(c, 0, sizeof *c);
    char copy[1024];
    const char *endpoints[8];
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", urls);
    for (char *save = NULL, *u = strtok_r(copy, ",", &save); u && n < 8;
         u = strtok_r(NULL, ",", &save))
        endpoints[n++] = u;
    if (!cfg->name || n == 0) {
        fprintf(stderr, "%s: --name and --etcd URL[,URL...] are needed\n", prog);
        *exit_code = 2;
        return NULL;
    }
    cfg->tcp_server_port = port;
    genrpc_node *node = start_node(prog, c, cfg, exit_code);
    if (!node)
        return NULL;
    genrpc_status st;
    genrpc_cluster_config cc = GENRPC_CLUSTER_CONFIG_INIT;
    cc.endpoints = endpoints;
    cc.n_endpoints = n;
    cc.prefix = prefix;
    cc.lease_ttl_s = ttl_s;
    cc.observe_only = observe;
    if (genrpc_cluster_join(node, &cc, &c->etcd, &st) != GENRPC_OK) {
        fprintf(stderr, "%s: cannot join the cluster in etcd: %s\n", prog, st.message);
        genrpc_node_stop(node);
        *exit_code = 1;
        return NULL;
    }
    return node;
}

void
cluster_leave(cluster *c)
{
    genrpc_cluster_leave(c->etcd);
    c->etcd = NULL;
}

void
cluster_refresh(cluster *c)
{
    if (!c->etcd)
        return;
    genrpc_cluster_member *m;
    size_t n;
    c->n = 0;
    if (genrpc_cluster_members(c->etcd, &m, &n, NULL) != GENRPC_OK)
        return;
    for (size_t i = 0; i < n && c->n < CLUSTER_MAX; i++)
        snprintf(c->names[c->n++], RING_NAME_MAX, "%s", m[i].name);
    free(m);
}
#else
genrpc_node *
cluster_etcd_start(const char *prog, const char *urls, const char *prefix, int port, int ttl_s,
                   bool observe, cluster *c, genrpc_node_config *cfg, int *exit_code)
{
    (void)urls, (void)prefix, (void)port, (void)ttl_s, (void)observe, (void)c, (void)cfg;
    fprintf(stderr, "%s: --etcd: this genrpc was built without etcd support "
                    "(libcurl and jansson, docs/install.md)\n", prog);
    *exit_code = 2;
    return NULL;
}

void
cluster_leave(cluster *c)
{
    (void)c;
}

void
cluster_refresh(cluster *c)
{
    (void)c;
}
#endif

bool
cluster_option(cluster_args *a, int ch, const char *arg)
{
    switch (ch) {
    case 'C': a->spec = arg; return true;
    case 'E': a->etcd = arg; return true;
    case 'P': a->port = atoi(arg); return true;
    case 'T': a->ttl_s = atoi(arg); return true;
    default: return false;
    }
}

genrpc_node *
cluster_start(const char *prog, const cluster_args *a, const char *prefix, bool client,
              cluster *c, genrpc_node_config *cfg, int *exit_code)
{
    if (!a->spec == !a->etcd) {
        fprintf(stderr, "%s: give --cluster or --etcd\n", prog);
        *exit_code = 2;
        return NULL;
    }
    if (a->etcd)
        return cluster_etcd_start(prog, a->etcd, prefix, client ? 0 : a->port, a->ttl_s, client,
                                  c, cfg, exit_code);
    if (!client)
        return cluster_node_start(prog, a->spec, c, cfg, exit_code);
    *exit_code = 2;
    if (!cluster_parse(c, a->spec))
        return NULL;
    return start_node(prog, c, cfg, exit_code);
}

void
cluster_stop(cluster *c, genrpc_node *node)
{
    cluster_leave(c);
    genrpc_node_stop(node);
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

#ifdef GENRPC_HAVE_CLUSTER
/* Member events, on the cluster's thread: registered members are in. */
static void
on_member_event(genrpc_cluster *c, const genrpc_cluster_member *member, genrpc_cluster_event ev,
                void *user)
{
    (void)c;
    membership *m = user;
    char me[RING_NAME_MAX], other[RING_NAME_MAX];
    bool joined = ev == GENRPC_MEMBER_JOINED;
    if (joined ? ring_add(m->ring, member->name) : ring_remove(m->ring, member->name)) {
        printf("[%s] member %s %s: ring has %zu nodes\n",
               short_name(genrpc_node_name(m->node), me), short_name(member->name, other),
               joined ? "up (registered in etcd), joins the ring"
                      : "down (gone from etcd), leaves the ring",
               ring_size(m->ring));
        fflush(stdout);
    }
}

static bool
watch_members(membership *m)
{
    return genrpc_cluster_subscribe(m->cluster->etcd, on_member_event, m, NULL) == GENRPC_OK;
}

static void
unwatch_members(membership *m)
{
    genrpc_cluster_unsubscribe(m->cluster->etcd, on_member_event, m);
}
#else
static bool
watch_members(membership *m)
{
    (void)m;
    return false;
}

static void
unwatch_members(membership *m)
{
    (void)m;
}
#endif

bool
membership_start(membership *m, genrpc_node *node, const cluster *c, ring *r)
{
    *m = (membership){node, c, r};
    ring_add(r, genrpc_node_name(node));
    genrpc_status st;
    if (membership__membership__register(node, &membership_impl, NULL) != GENRPC_OK ||
        (c->etcd ? !watch_members(m)
                 : genrpc_node_monitor(node, on_node_event, m, &st) != GENRPC_OK)) {
        fprintf(stderr, "cannot start membership\n");
        return false;
    }
    return true;
}

void
membership_join(membership *m)
{
    if (m->cluster->etcd)
        return; /* etcd tells who is in */
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
    if (m->cluster->etcd)
        unwatch_members(m);
    else
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
