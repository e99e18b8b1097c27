/*
 * ratelimiter_client - sends Check(ip) requests to one node of the
 * ratelimiter cluster and prints each answer.
 *
 *   ratelimiter_client --cluster n1@127.0.0.1:7101,n2@127.0.0.1:7102,n3@127.0.0.1:7103 \
 *       --via n2@127.0.0.1 --ip 10.0.0.1 [--count 3]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cluster.h"
#include "ratelimiter.genrpc.h"

static void
usage(FILE *out)
{
    fprintf(out, "usage: ratelimiter_client (--cluster LIST | --etcd URLS) --via NODE --ip IP [--count N]\n"
                 "                          [--cookie SECRET]\n"
                 "  --cluster  every node with its port: n1@127.0.0.1:7101,...\n"
                 "  --etcd     or: etcd's URLs; the members are those registered there\n"
                 "  --via      the node to send the requests to (any node will do)\n"
                 "  --ip       the client IP being rate limited\n"
                 "  --count    how many requests (default 1)\n"
                 "  --cookie   shared secret of the cluster (default genrpc-examples)\n");
}

int
main(int argc, char **argv)
{
    cluster_args ca = {0};
    const char *via = NULL, *ip = NULL;
    int count = 1;
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "ratelimiter-client@127.0.0.1";
    cfg.cookie = "genrpc-examples";
    cfg.tcp_server_port = 0; /* serves nothing; any port will do */
    static const struct option opts[] = {CLUSTER_LONG_OPTIONS,
                                         {"via", required_argument, 0, 'v'},
                                         {"ip", required_argument, 0, 'i'},
                                         {"count", required_argument, 0, 'k'},
                                         {"cookie", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'v': via = optarg; break;
        case 'i': ip = optarg; break;
        case 'k': count = atoi(optarg); break;
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
    int exit_code = 2;
    genrpc_node *node = via && ip ? cluster_start("ratelimiter_client", &ca,
                                                  "/genrpc/examples/ratelimiter/", true, &c, &cfg,
                                                  &exit_code)
                                  : NULL;
    if (!node) {
        if (exit_code == 2)
            usage(stderr);
        return exit_code;
    }
    genrpc_status st;
    int failed = 0;
    char v[RING_NAME_MAX], on[RING_NAME_MAX];
    for (int i = 0; i < count; i++) {
        Ratelimiter__CheckRequest req = RATELIMITER__CHECK_REQUEST__INIT;
        req.ip = (char *)ip;
        Ratelimiter__CheckReply *reply = NULL;
        genrpc_call_opts copts = {.timeout_ms = 3000, .version = RATELIMITER__LIMITER__VERSION};
        if (ratelimiter__limiter__check_call(node, genrpc_node_target(via), &req, &reply, &copts,
                                             &st) != GENRPC_OK) {
            printf("  via %s: %-9s call failed: %s\n", short_name(via, v), ip,
                   genrpc_err_name(st.err));
            failed = 1;
            continue;
        }
        printf("  via %s: %-9s %-7s %2u/%u used, counted on %s%s\n", short_name(via, v), ip,
               reply->allowed ? "allowed" : "DENIED", reply->used, reply->limit,
               short_name(reply->counted_on, on),
               reply->fallback ? " (owner unreachable: local fallback)" : "");
        ratelimiter__check_reply__free_unpacked(reply, NULL);
    }
    cluster_stop(&c, node);
    return failed;
}
