/*
 * pubsub_node - one node of a publish/subscribe cluster.
 *
 *   pubsub_node --name n1@127.0.0.1 \
 *       --cluster n1@127.0.0.1:7201,n2@127.0.0.1:7202,n3@127.0.0.1:7203 \
 *       --subscribe news,weather
 *
 * Subscribing to a topic is registering a named handler, "topic:news", for
 * the Publication message. Publish(topic, text), sent to any node, makes
 * that node broadcast the Publication to the name "topic:<topic>" on every
 * node of the cluster:
 *   - abcast: fire and forget; nodes without the name drop it (and count it);
 *   - sbcast (confirm = true): waits for every node and tells which ones
 *     have the name (the subscribers, who received it) and which do not
 *     (UNDEF) or could not be reached (CONNECT, TIMEOUT, ...).
 *
 * Run the whole demo (3 nodes, publish, confirm, a node killed):
 *   examples/pubsub/run.sh [BUILD_DIR]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "pubsub.genrpc.h"

#define MAX_TOPICS 16

/* A subscriber: runs on a worker thread for each publication on its topic. */
static void
on_publication(genrpc_node *node, const char *from, const Pubsub__Publication *msg, void *user)
{
    (void)from;
    (void)user;
    char me[RING_NAME_MAX], pub[RING_NAME_MAX];
    printf("[%s] got %s: \"%s\" (published by %s)\n", short_name(genrpc_node_name(node), me),
           msg->topic, msg->text, short_name(msg->publisher, pub));
    fflush(stdout);
}

static int
publish(const Pubsub__PublishRequest *req, Pubsub__PublishReply *reply, genrpc_ctx *ctx)
{
    const cluster *c = genrpc_ctx_user(ctx);
    genrpc_node *node = genrpc_ctx_node(ctx);
    char name[300];
    snprintf(name, sizeof name, "topic:%s", req->topic);

    Pubsub__Publication msg = PUBSUB__PUBLICATION__INIT;
    msg.topic = req->topic;
    msg.text = req->text;
    msg.publisher = (char *)genrpc_node_name(node);
    genrpc_target targets[CLUSTER_MAX]; /* every node, this one included */
    cluster_targets(c, targets);
    genrpc_status st;

    if (!req->confirm) {
        if (pubsub__publication__abcast(node, targets, c->n, name, &msg, &st) != GENRPC_OK)
            return genrpc_fail(ctx, 500, "abcast: %s", st.message);
        reply->sent_to = (uint32_t)c->n;
        return 0;
    }

    genrpc_sbcast_result results[CLUSTER_MAX];
    if (pubsub__publication__sbcast(node, targets, c->n, name, &msg, results, &st) != GENRPC_OK)
        return genrpc_fail(ctx, 500, "sbcast: %s", st.message);
    reply->sent_to = (uint32_t)c->n;
    /* The reply's arrays and strings live in the call's arena. */
    reply->received_by = genrpc_ctx_alloc(ctx, c->n * sizeof(char *));
    reply->missed_by = genrpc_ctx_alloc(ctx, c->n * sizeof(char *));
    if (!reply->received_by || !reply->missed_by)
        return genrpc_fail(ctx, 500, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        char *line = genrpc_ctx_alloc(ctx, RING_NAME_MAX + 32);
        if (!line)
            return genrpc_fail(ctx, 500, "out of memory");
        if (results[i].status.err == GENRPC_OK) {
            snprintf(line, RING_NAME_MAX + 32, "%s", c->names[i]);
            reply->received_by[reply->n_received_by++] = line;
        } else {
            snprintf(line, RING_NAME_MAX + 32, "%s (%s)", c->names[i],
                     genrpc_err_name(results[i].status.err));
            reply->missed_by[reply->n_missed_by++] = line;
        }
    }
    return 0;
}

static const Pubsub__Broker__Impl broker = {.publish = publish};

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: pubsub_node --name NODE --cluster LIST [--subscribe TOPIC,TOPIC...]\n"
            "                   [--cookie SECRET] [--seconds N]\n"
            "  --name       this node's name, one of the cluster's (e.g. n1@127.0.0.1)\n"
            "  --cluster    every node with its port: n1@127.0.0.1:7201,n2@127.0.0.1:7202,...\n"
            "  --subscribe  topics this node prints publications of (default: none)\n"
            "  --cookie     shared secret of the cluster (default genrpc-examples)\n"
            "  --seconds    stop after N seconds (default: run until SIGINT/SIGTERM)\n");
}

int
main(int argc, char **argv)
{
    static cluster c;
    const char *cluster_spec = NULL;
    char topics[512] = "";
    int seconds = -1;
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.cookie = "genrpc-examples";
    cfg.sbcast_receive_timeout_ms = 2000; /* sbcast waits at most this long */
    static const struct option opts[] = {{"name", required_argument, 0, 'n'},
                                         {"cluster", required_argument, 0, 'C'},
                                         {"subscribe", required_argument, 0, 't'},
                                         {"cookie", required_argument, 0, 'c'},
                                         {"seconds", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'n': cfg.name = optarg; break;
        case 'C': cluster_spec = optarg; break;
        case 't': snprintf(topics, sizeof topics, "%s", optarg); break;
        case 'c': cfg.cookie = optarg; break;
        case 's': seconds = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    int exit_code;
    genrpc_node *node = cluster_node_start("pubsub_node", cluster_spec, &c, &cfg, &exit_code);
    if (!node) {
        if (exit_code == 2)
            usage(stderr);
        return exit_code;
    }
    if (pubsub__broker__register(node, &broker, &c) != GENRPC_OK) {
        fprintf(stderr, "pubsub_node: cannot register the broker\n");
        genrpc_node_stop(node);
        return 1;
    }
    /* Subscribe: one named handler per topic. */
    char names[MAX_TOPICS][300];
    int n_topics = 0;
    for (char *save = NULL, *t = strtok_r(topics, ",", &save); t && n_topics < MAX_TOPICS;
         t = strtok_r(NULL, ",", &save)) {
        snprintf(names[n_topics], sizeof names[0], "topic:%s", t);
        if (pubsub__publication__register_handler(node, names[n_topics], on_publication, NULL) !=
            GENRPC_OK) {
            fprintf(stderr, "pubsub_node: cannot subscribe to %s\n", t);
            genrpc_node_stop(node);
            return 1;
        }
        n_topics++;
    }
    example_catch_signals();
    printf("pubsub_node: %s on port %d, handlers:", cfg.name, genrpc_node_tcp_port(node));
    for (int i = 0; i < n_topics; i++)
        printf(" %s", names[i]);
    printf("%s\n", n_topics ? "" : " none");
    fflush(stdout);

    for (int ticks = 0; !example_stopping() && (seconds < 0 || ticks < seconds * 10); ticks++)
        usleep(100 * 1000);
    for (int i = 0; i < n_topics; i++)
        genrpc_handler_unregister(node, names[i]);
    genrpc_node_stop(node);
    return 0;
}
