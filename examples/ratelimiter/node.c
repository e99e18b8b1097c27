/*
 * ratelimiter_node - one node of a distributed rate limiter.
 *
 *   ratelimiter_node --name n1@127.0.0.1 \
 *       --cluster n1@127.0.0.1:7101,n2@127.0.0.1:7102,n3@127.0.0.1:7103 \
 *       [--limit 10] [--window 60]
 *   ratelimiter_node --name n1@127.0.0.1 --etcd http://127.0.0.1:2379 [--port 7101] ...
 *
 * Every node serves the same module, ratelimiter.Limiter. Check(ip) may be
 * sent to any node: the node looks up the IP's owner on a consistent hash
 * ring of the cluster's nodes (kept current by node events, or by etcd's
 * member events, see ../common/cluster.c) and forwards the check there, so each IP has one
 * counter in the whole cluster. If the owner cannot be reached in 500 ms the
 * node checks locally instead (a degraded answer beats none).
 *
 * Run the whole demo (3 nodes, a node frozen, then killed):
 *   examples/ratelimiter/run.sh [BUILD_DIR]
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "ratelimiter.genrpc.h"

/* ---- the local limiter: a fixed window counter per IP --------------------- */

#define MAX_IPS 1024

typedef struct counter {
    char ip[64];
    time_t window_start;
    unsigned used;
} counter;

typedef struct app {
    ring *ring;
    unsigned limit;
    int window_s;
    pthread_mutex_t lock; /* handlers run on several worker threads */
    counter counters[MAX_IPS];
    int n_counters;
} app;

static time_t
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Counts one request for `ip` on this node; fills allowed/used/limit. */
static void
check_locally(app *a, const char *ip, Ratelimiter__CheckReply *reply)
{
    time_t now = now_s();
    pthread_mutex_lock(&a->lock);
    counter *c = NULL;
    for (int i = 0; i < a->n_counters && !c; i++)
        if (strcmp(a->counters[i].ip, ip) == 0)
            c = &a->counters[i];
    if (!c && a->n_counters < MAX_IPS) {
        c = &a->counters[a->n_counters++];
        snprintf(c->ip, sizeof c->ip, "%s", ip);
        c->window_start = now;
    }
    if (c && now - c->window_start >= a->window_s) { /* a new window */
        c->window_start = now;
        c->used = 0;
    }
    reply->allowed = c && c->used < a->limit;
    if (reply->allowed)
        c->used++;
    reply->used = c ? c->used : a->limit;
    reply->limit = a->limit;
    pthread_mutex_unlock(&a->lock);
}

/* ---- the handler ---------------------------------------------------------- */

static int
check(const Ratelimiter__CheckRequest *req, Ratelimiter__CheckReply *reply, genrpc_ctx *ctx)
{
    app *a = genrpc_ctx_user(ctx);
    genrpc_node *node = genrpc_ctx_node(ctx);
    const char *self = genrpc_node_name(node);
    char owner[RING_NAME_MAX];

    if (!req->forwarded && ring_owner(a->ring, req->ip, owner) && strcmp(owner, self) != 0) {
        /* Another node owns this IP: ask it (handlers may make calls). */
        Ratelimiter__CheckRequest fwd = *req;
        fwd.forwarded = true;
        Ratelimiter__CheckReply *answer = NULL;
        genrpc_call_opts opts = {.timeout_ms = 500, .version = RATELIMITER__LIMITER__VERSION};
        genrpc_status st;
        if (ratelimiter__limiter__check_call(node, genrpc_node_target(owner), &fwd, &answer, &opts,
                                             &st) == GENRPC_OK) {
            reply->allowed = answer->allowed;
            reply->used = answer->used;
            reply->limit = answer->limit;
            size_t n = strlen(answer->counted_on) + 1;
            reply->counted_on = genrpc_ctx_alloc(ctx, n); /* lives until the reply is sent */
            if (reply->counted_on)
                memcpy(reply->counted_on, answer->counted_on, n);
            ratelimiter__check_reply__free_unpacked(answer, NULL);
            return reply->counted_on ? 0 : genrpc_fail(ctx, 500, "out of memory");
        }
        char me[RING_NAME_MAX], other[RING_NAME_MAX];
        printf("[%s] owner %s of %s failed (%s): checking locally\n", short_name(self, me),
               short_name(owner, other), req->ip, genrpc_err_name(st.err));
        fflush(stdout);
        reply->fallback = true;
    }
    check_locally(a, req->ip, reply);
    reply->counted_on = (char *)self;
    return 0;
}

static const Ratelimiter__Limiter__Impl limiter = {.check = check};

/* ---- main ------------------------------------------------------------------ */

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: ratelimiter_node --name NODE (--cluster LIST | --etcd URLS [--port N] [--ttl S])\n"
            "                        [--limit N] [--window SECONDS] [--cookie SECRET] [--seconds N]\n"
            "  --name     this node's name, one of the cluster's (e.g. n1@127.0.0.1)\n"
            CLUSTER_USAGE
            "  --limit    requests allowed per IP and window (default 10)\n"
            "  --window   window length in seconds (default 60)\n"
            "  --cookie   shared secret of the cluster (default genrpc-examples)\n"
            "  --seconds  stop after N seconds (default: run until SIGINT/SIGTERM)\n");
}

int
main(int argc, char **argv)
{
    static app a = {.limit = 10, .window_s = 60, .lock = PTHREAD_MUTEX_INITIALIZER};
    cluster c;
    cluster_args ca = {0};
    int seconds = -1;
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.cookie = "genrpc-examples";
    static const struct option opts[] = {
        {"name", required_argument, 0, 'n'},   CLUSTER_LONG_OPTIONS,
        {"limit", required_argument, 0, 'l'},  {"window", required_argument, 0, 'w'},
        {"cookie", required_argument, 0, 'c'}, {"seconds", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'n': cfg.name = optarg; break;
        case 'l': a.limit = (unsigned)atoi(optarg); break;
        case 'w': a.window_s = atoi(optarg); break;
        case 'c': cfg.cookie = optarg; break;
        case 's': seconds = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default:
            if (!cluster_option(&ca, ch, optarg)) {
                usage(stderr);
                return 2;
            }
        }
    }
    int exit_code;
    genrpc_node *node = cluster_start("ratelimiter_node", &ca, "/genrpc/examples/ratelimiter/",
                                      false, &c, &cfg, &exit_code);
    if (!node) {
        if (exit_code == 2)
            usage(stderr);
        return exit_code;
    }
    a.ring = ring_new();
    membership m;
    if (!a.ring || !membership_start(&m, node, &c, a.ring) ||
        ratelimiter__limiter__register(node, &limiter, &a) != GENRPC_OK) {
        fprintf(stderr, "ratelimiter_node: cannot set up\n");
        cluster_stop(&c, node);
        ring_free(a.ring);
        return 1;
    }
    example_catch_signals();
    printf("ratelimiter_node: %s on port %d, %u requests per %d s per IP\n", cfg.name,
           genrpc_node_tcp_port(node), a.limit, a.window_s);
    fflush(stdout);

    /* The main thread keeps trying to reach the members that are not up. */
    for (int ticks = 0; !example_stopping() && (seconds < 0 || ticks < seconds * 5); ticks++) {
        membership_join(&m);
        usleep(200 * 1000);
    }
    membership_stop(&m);
    cluster_stop(&c, node);
    ring_free(a.ring);
    return 0;
}
