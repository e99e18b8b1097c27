/*
 * hello_server - a node serving the hello.Greeter module.
 *
 *   hello_server --name server@127.0.0.1 --port 5369 --cookie secret
 *
 * Runs until SIGINT/SIGTERM (or --seconds N), then drains: callers are
 * told to go elsewhere, greetings already sent are answered, then the node
 * stops (at most 5 s; docs/calls.md, "Drain").
 */
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hello.genrpc.h"

static atomic_ulong greetings;
static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* The handler: runs on a worker thread of the node. Memory the reply points
 * to comes from the call's arena and is freed once the reply is sent. */
static int
greet(const Hello__GreetRequest *req, Hello__GreetReply *reply, genrpc_ctx *ctx)
{
    if (!req->name[0])
        return genrpc_fail(ctx, 400, "tell me your name");
    size_t n = strlen(req->name) + 16;
    char *text = genrpc_ctx_alloc(ctx, n);
    if (!text)
        return genrpc_fail(ctx, 500, "out of memory");
    snprintf(text, n, "Hello, %s!", req->name);
    reply->greeting = text;
    reply->count = atomic_fetch_add(&greetings, 1) + 1;
    reply->served_by = (char *)genrpc_node_name(genrpc_ctx_node(ctx));
    return 0;
}

static const Hello__Greeter__Impl greeter = {.greet = greet};

static void
usage(FILE *out)
{
    fprintf(out, "usage: hello_server [--name NODE] [--port N] [--cookie SECRET] [--seconds N]\n"
                 "  --name     this node's name, name@host (default server@127.0.0.1)\n"
                 "  --port     TCP port to listen on (default 5369; 0 = any free port)\n"
                 "  --cookie   shared secret of the cluster (default genrpc-hello)\n"
                 "  --seconds  stop after N seconds (default: run until SIGINT/SIGTERM)\n");
}

int
main(int argc, char **argv)
{
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "server@127.0.0.1";
    cfg.cookie = "genrpc-hello";
    int seconds = -1;
    static const struct option opts[] = {{"name", required_argument, 0, 'n'},
                                         {"port", required_argument, 0, 'p'},
                                         {"cookie", required_argument, 0, 'c'},
                                         {"seconds", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'n': cfg.name = optarg; break;
        case 'p': cfg.tcp_server_port = atoi(optarg); break;
        case 'c': cfg.cookie = optarg; break;
        case 's': seconds = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }

    genrpc_node *node;
    genrpc_status st;
    if (genrpc_node_start(&cfg, &node, &st) != GENRPC_OK) {
        fprintf(stderr, "hello_server: cannot start: %s\n", st.message);
        return 1;
    }
    int rc = hello__greeter__register(node, &greeter, NULL);
    if (rc != GENRPC_OK) {
        fprintf(stderr, "hello_server: cannot register: %s\n", genrpc_strerror(rc));
        genrpc_node_stop(node);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("hello_server: node %s serving %s v%u on port %d\n", genrpc_node_name(node),
           HELLO__GREETER__MODULE_NAME, HELLO__GREETER__VERSION, genrpc_node_tcp_port(node));
    fflush(stdout);
    for (int waited = 0; !stop_requested && (seconds < 0 || waited < seconds * 10); waited++)
        usleep(100 * 1000);
    int drained = genrpc_node_drain(node, 5000);
    printf("hello_server: drained (%s) and stopped after %lu greetings\n",
           drained == GENRPC_OK ? "everything answered" : genrpc_err_name(drained),
           (unsigned long)atomic_load(&greetings));
    return 0;
}
