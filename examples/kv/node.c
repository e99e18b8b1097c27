/*
 * kv_node - one node of a small sharded key-value store.
 *
 *   kv_node --name n1@127.0.0.1 \
 *       --cluster n1@127.0.0.1:7301,n2@127.0.0.1:7302,n3@127.0.0.1:7303
 *
 * Each key lives on one node: its owner on the consistent hash ring of the
 * cluster's nodes (kept current by node events, or by etcd's member events
 * with --etcd: see ../common/cluster.c).
 * Put and Get may be sent to any node; a node that does not own the key
 * forwards the request to the owner. Count answers how many keys this node
 * holds; kv_client sums it over the cluster with one multicall. There is no
 * replication: the keys of a node that dies are gone, and the ring gives
 * them a new (empty) owner.
 *
 * Run the whole demo (3 nodes, puts, gets, counts, a node killed):
 *   examples/kv/run.sh [BUILD_DIR]
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "kv.genrpc.h"

/* ---- this node's shard: a small locked table ---------------------------- */

#define MAX_KEYS 1024

typedef struct store {
    ring *ring;
    pthread_mutex_t lock;
    char *keys[MAX_KEYS], *values[MAX_KEYS];
    size_t n;
} store;

static char *
ctx_strdup(genrpc_ctx *ctx, const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = genrpc_ctx_alloc(ctx, n); /* lives until the reply is sent */
    return copy ? memcpy(copy, s, n) : NULL;
}

/* The node that should handle `key`, or NULL for this one. */
static const char *
route(store *s, genrpc_ctx *ctx, const char *key, bool forwarded, char owner[RING_NAME_MAX])
{
    const char *self = genrpc_node_name(genrpc_ctx_node(ctx));
    if (forwarded || !ring_owner(s->ring, key, owner) || strcmp(owner, self) == 0)
        return NULL;
    return owner;
}

static int
put(const Kv__PutRequest *req, Kv__PutReply *reply, genrpc_ctx *ctx)
{
    store *s = genrpc_ctx_user(ctx);
    genrpc_node *node = genrpc_ctx_node(ctx);
    char owner[RING_NAME_MAX];
    if (route(s, ctx, req->key, req->forwarded, owner)) {
        Kv__PutRequest fwd = *req;
        fwd.forwarded = true;
        Kv__PutReply *answer = NULL;
        genrpc_call_opts opts = {.timeout_ms = 1000, .version = KV__STORE__VERSION};
        genrpc_status st;
        if (kv__store__put_call(node, genrpc_node_target(owner), &fwd, &answer, &opts, &st) !=
            GENRPC_OK)
            return genrpc_fail(ctx, 503, "owner %s: %s", owner, genrpc_err_name(st.err));
        reply->stored_on = ctx_strdup(ctx, answer->stored_on);
        kv__put_reply__free_unpacked(answer, NULL);
        return reply->stored_on ? 0 : genrpc_fail(ctx, 500, "out of memory");
    }

    pthread_mutex_lock(&s->lock);
    size_t i = 0;
    while (i < s->n && strcmp(s->keys[i], req->key) != 0)
        i++;
    int full = i == MAX_KEYS;
    if (!full) {
        char *value = strdup(req->value);
        if (i == s->n)
            s->keys[s->n++] = strdup(req->key);
        else
            free(s->values[i]);
        s->values[i] = value;
    }
    pthread_mutex_unlock(&s->lock);
    if (full)
        return genrpc_fail(ctx, 507, "this node holds %d keys already", MAX_KEYS);
    reply->stored_on = (char *)genrpc_node_name(node);
    return 0;
}

static int
get(const Kv__GetRequest *req, Kv__GetReply *reply, genrpc_ctx *ctx)
{
    store *s = genrpc_ctx_user(ctx);
    genrpc_node *node = genrpc_ctx_node(ctx);
    char owner[RING_NAME_MAX];
    if (route(s, ctx, req->key, req->forwarded, owner)) {
        Kv__GetRequest fwd = *req;
        fwd.forwarded = true;
        Kv__GetReply *answer = NULL;
        genrpc_call_opts opts = {.timeout_ms = 1000, .version = KV__STORE__VERSION};
        genrpc_status st;
        if (kv__store__get_call(node, genrpc_node_target(owner), &fwd, &answer, &opts, &st) !=
            GENRPC_OK)
            return genrpc_fail(ctx, 503, "owner %s: %s", owner, genrpc_err_name(st.err));
        reply->found = answer->found;
        reply->value = ctx_strdup(ctx, answer->value);
        reply->stored_on = ctx_strdup(ctx, answer->stored_on);
        kv__get_reply__free_unpacked(answer, NULL);
        return reply->value && reply->stored_on ? 0 : genrpc_fail(ctx, 500, "out of memory");
    }

    reply->stored_on = (char *)genrpc_node_name(node);
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n && !reply->found; i++) {
        if (strcmp(s->keys[i], req->key) == 0) {
            reply->found = true;
            reply->value = ctx_strdup(ctx, s->values[i]);
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (reply->found && !reply->value)
        return genrpc_fail(ctx, 500, "out of memory");
    return 0;
}

static int
count(const Kv__CountRequest *req, Kv__CountReply *reply, genrpc_ctx *ctx)
{
    (void)req;
    store *s = genrpc_ctx_user(ctx);
    pthread_mutex_lock(&s->lock);
    reply->keys = s->n;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static const Kv__Store__Impl store_impl = {.put = put, .get = get, .count = count};

/* ---- main ------------------------------------------------------------------ */

static void
usage(FILE *out)
{
    fprintf(out, "usage: kv_node --name NODE (--cluster LIST | --etcd URLS [--port N] [--ttl S])\n"
                 "               [--cookie SECRET] [--seconds N]\n"
                 "  --name     this node's name, one of the cluster's (e.g. n1@127.0.0.1)\n"
                 CLUSTER_USAGE
                 "  --cookie   shared secret of the cluster (default genrpc-examples)\n"
                 "  --seconds  stop after N seconds (default: run until SIGINT/SIGTERM)\n");
}

int
main(int argc, char **argv)
{
    static store s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    cluster c;
    cluster_args ca = {0};
    int seconds = -1;
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.cookie = "genrpc-examples";
    static const struct option opts[] = {
        {"name", required_argument, 0, 'n'},   CLUSTER_LONG_OPTIONS,
        {"cookie", required_argument, 0, 'c'}, {"seconds", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'n': cfg.name = optarg; break;
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
    genrpc_node *node =
        cluster_start("kv_node", &ca, "/genrpc/examples/kv/", false, &c, &cfg, &exit_code);
    if (!node) {
        if (exit_code == 2)
            usage(stderr);
        return exit_code;
    }
    s.ring = ring_new();
    membership m;
    if (!s.ring || !membership_start(&m, node, &c, s.ring) ||
        kv__store__register(node, &store_impl, &s) != GENRPC_OK) {
        fprintf(stderr, "kv_node: cannot set up\n");
        cluster_stop(&c, node);
        ring_free(s.ring);
        return 1;
    }
    example_catch_signals();
    printf("kv_node: %s on port %d\n", cfg.name, genrpc_node_tcp_port(node));
    fflush(stdout);

    for (int ticks = 0; !example_stopping() && (seconds < 0 || ticks < seconds * 5); ticks++) {
        membership_join(&m);
        usleep(200 * 1000);
    }
    membership_stop(&m);
    cluster_stop(&c, node);
    ring_free(s.ring);
    for (size_t i = 0; i < s.n; i++) {
        free(s.keys[i]);
        free(s.values[i]);
    }
    return 0;
}
