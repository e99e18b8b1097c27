/*
 * kv_client - talks to the kv cluster.
 *
 *   kv_client --cluster LIST --via n1@127.0.0.1 put KEY VALUE
 *   kv_client --cluster LIST --via n2@127.0.0.1 get KEY
 *   kv_client --cluster LIST count     (one multicall of Count on every node)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "kv.genrpc.h"

static void
usage(FILE *out)
{
    fprintf(out, "usage: kv_client (--cluster LIST | --etcd URLS) [--via NODE] [--cookie SECRET] COMMAND\n"
                 "  put KEY VALUE  store VALUE under KEY (sent to --via, stored on KEY's owner)\n"
                 "  get KEY        read KEY (sent to --via, read from KEY's owner)\n"
                 "  count          keys on each node and in all, with one multicall\n"
                 "  --cluster  every node with its port: n1@127.0.0.1:7301,...\n"
                 "  --etcd     or: etcd's URLs; the members are those registered there\n"
                 "  --via      the node to send put/get to (any node will do)\n"
                 "  --cookie   shared secret of the cluster (default genrpc-examples)\n");
}

static int
put(genrpc_node *node, const char *via, const char *key, const char *value)
{
    Kv__PutRequest req = KV__PUT_REQUEST__INIT;
    req.key = (char *)key;
    req.value = (char *)value;
    Kv__PutReply *reply = NULL;
    genrpc_call_opts opts = {.timeout_ms = 3000, .version = KV__STORE__VERSION};
    genrpc_status st;
    char v[RING_NAME_MAX], on[RING_NAME_MAX];
    if (kv__store__put_call(node, genrpc_node_target(via), &req, &reply, &opts, &st) != GENRPC_OK) {
        printf("  put %-8s via %s: failed: %s %s\n", key, short_name(via, v),
               genrpc_err_name(st.err), st.message);
        return 1;
    }
    printf("  put %-8s via %s: stored on %s\n", key, short_name(via, v),
           short_name(reply->stored_on, on));
    kv__put_reply__free_unpacked(reply, NULL);
    return 0;
}

static int
get(genrpc_node *node, const char *via, const char *key)
{
    Kv__GetRequest req = KV__GET_REQUEST__INIT;
    req.key = (char *)key;
    Kv__GetReply *reply = NULL;
    genrpc_call_opts opts = {.timeout_ms = 3000, .version = KV__STORE__VERSION};
    genrpc_status st;
    char v[RING_NAME_MAX], on[RING_NAME_MAX];
    if (kv__store__get_call(node, genrpc_node_target(via), &req, &reply, &opts, &st) != GENRPC_OK) {
        printf("  get %-8s via %s: failed: %s %s\n", key, short_name(via, v),
               genrpc_err_name(st.err), st.message);
        return 1;
    }
    if (reply->found)
        printf("  get %-8s via %s: \"%s\" from %s\n", key, short_name(via, v), reply->value,
               short_name(reply->stored_on, on));
    else
        printf("  get %-8s via %s: not found on %s\n", key, short_name(via, v),
               short_name(reply->stored_on, on));
    kv__get_reply__free_unpacked(reply, NULL);
    return 0;
}

/* Count on every node at once: one multicall, one deadline for all. */
static int
count(genrpc_node *node, cluster *c)
{
    genrpc_target targets[CLUSTER_MAX];
    cluster_refresh(c); /* with --etcd: who is registered now */
    cluster_targets(c, targets);
    Kv__Store__CountResult results[CLUSTER_MAX];
    Kv__CountRequest req = KV__COUNT_REQUEST__INIT;
    genrpc_call_opts opts = {.timeout_ms = 2000, .version = KV__STORE__VERSION};
    genrpc_status st;
    if (kv__store__count_multicall(node, targets, c->n, &req, &opts, results, &st) != GENRPC_OK) {
        printf("  count: %s\n", st.message);
        return 1;
    }
    unsigned long long total = 0;
    char name[RING_NAME_MAX];
    printf("  count:");
    for (size_t i = 0; i < c->n; i++) { /* results[i] is targets[i]'s outcome */
        if (results[i].status.err == GENRPC_OK) {
            printf(" %s=%llu", short_name(c->names[i], name),
                   (unsigned long long)results[i].reply->keys);
            total += results[i].reply->keys;
        } else {
            printf(" %s=%s", short_name(c->names[i], name), genrpc_err_name(results[i].status.err));
        }
    }
    printf("  -> %llu keys in the cluster\n", total);
    kv__store__count_multicall_free(results, c->n);
    return 0;
}

int
main(int argc, char **argv)
{
    cluster_args ca = {0};
    const char *via = NULL;
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "kv-client@127.0.0.1";
    cfg.cookie = "genrpc-examples";
    cfg.tcp_server_port = 0; /* serves nothing; any port will do */
    static const struct option opts[] = {CLUSTER_LONG_OPTIONS,
                                         {"via", required_argument, 0, 'v'},
                                         {"cookie", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'v': via = optarg; break;
        case 'c': cfg.cookie = optarg; break;
        case 'h': usage(stdout); return 0;
        default:
            if (!cluster_option(&ca, ch, optarg)) {
                usage(stderr);
                return 2;
            }
        }
    }
    cluster c;
    const char *cmd = optind < argc ? argv[optind] : "";
    int args = argc - optind - 1;
    bool ok = strcmp(cmd, "count") == 0 ? args == 0
              : strcmp(cmd, "put") == 0 ? args == 2 && via
              : strcmp(cmd, "get") == 0 ? args == 1 && via
                                        : false;
    int exit_code = 2;
    genrpc_node *node =
        ok ? cluster_start("kv_client", &ca, "/genrpc/examples/kv/", true, &c, &cfg, &exit_code)
           : NULL;
    if (!node) {
        if (exit_code == 2)
            usage(stderr);
        return exit_code;
    }
    int rc = cmd[0] == 'c'   ? count(node, &c)
             : cmd[0] == 'p' ? put(node, via, argv[optind + 1], argv[optind + 2])
                             : get(node, via, argv[optind + 1]);
    cluster_stop(&c, node);
    return rc;
}
