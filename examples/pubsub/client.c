/*
 * pubsub_client - asks one node of the pubsub cluster to publish.
 *
 *   pubsub_client --cluster n1@127.0.0.1:7201,n2@127.0.0.1:7202,n3@127.0.0.1:7203 \
 *       --via n1@127.0.0.1 --topic news --text "hello" [--confirm]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "pubsub.genrpc.h"

static void
usage(FILE *out)
{
    fprintf(out, "usage: pubsub_client --cluster LIST --via NODE --topic TOPIC --text TEXT\n"
                 "                     [--confirm] [--cookie SECRET]\n"
                 "  --cluster  every node with its port: n1@127.0.0.1:7201,...\n"
                 "  --via      the node that publishes (any node will do)\n"
                 "  --topic    the topic\n"
                 "  --text     the publication\n"
                 "  --confirm  sbcast instead of abcast: report which nodes received it\n"
                 "  --cookie   shared secret of the cluster (default genrpc-examples)\n");
}

int
main(int argc, char **argv)
{
    const char *cluster_spec = NULL, *via = NULL;
    Pubsub__PublishRequest req = PUBSUB__PUBLISH_REQUEST__INIT;
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "pubsub-client@127.0.0.1";
    cfg.cookie = "genrpc-examples";
    cfg.tcp_server_port = 0; /* serves nothing; any port will do */
    static const struct option opts[] = {
        {"cluster", required_argument, 0, 'C'}, {"via", required_argument, 0, 'v'},
        {"topic", required_argument, 0, 't'},   {"text", required_argument, 0, 'x'},
        {"confirm", no_argument, 0, 'y'},       {"cookie", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'C': cluster_spec = optarg; break;
        case 'v': via = optarg; break;
        case 't': req.topic = optarg; break;
        case 'x': req.text = optarg; break;
        case 'y': req.confirm = true; break;
        case 'c': cfg.cookie = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    cluster c;
    if (!cluster_spec || !via || !req.topic[0] || !cluster_parse(&c, cluster_spec)) {
        usage(stderr);
        return 2;
    }
    cfg.node_addrs = c.addrs;
    cfg.n_node_addrs = c.n;

    genrpc_node *node;
    genrpc_status st;
    if (genrpc_node_start(&cfg, &node, &st) != GENRPC_OK) {
        fprintf(stderr, "pubsub_client: cannot start: %s\n", st.message);
        return 1;
    }
    Pubsub__PublishReply *reply = NULL;
    genrpc_call_opts copts = {.timeout_ms = 5000, .version = PUBSUB__BROKER__VERSION};
    int rc = pubsub__broker__publish_call(node, genrpc_node_target(via), &req, &reply, &copts, &st);
    genrpc_node_stop(node);
    char v[RING_NAME_MAX], n[RING_NAME_MAX];
    if (rc != GENRPC_OK) {
        printf("  %s: publish failed: %s %s\n", short_name(via, v), genrpc_err_name(rc),
               st.message);
        return 1;
    }
    if (!req.confirm) {
        printf("  %s abcast %s to %u nodes (no answer expected)\n", short_name(via, v), req.topic,
               reply->sent_to);
    } else {
        printf("  %s sbcast %s to %u nodes: received by", short_name(via, v), req.topic,
               reply->sent_to);
        for (size_t i = 0; i < reply->n_received_by; i++)
            printf(" %s", short_name(reply->received_by[i], n));
        printf("%s; not by", reply->n_received_by ? "" : " none");
        for (size_t i = 0; i < reply->n_missed_by; i++) { /* "n3@127.0.0.1 (CONNECT)" */
            const char *m = reply->missed_by[i];
            printf(" %s%s", short_name(m, n), m + strcspn(m, " "));
        }
        printf("%s\n", reply->n_missed_by ? "" : " none");
    }
    pubsub__publish_reply__free_unpacked(reply, NULL);
    return 0;
}
