/*
 * hello_server - a node serving hello.Greeter, built against an installed
 * genrpc (see README.md here).
 *
 *   hello_server [PORT]      (default 0: any free port)
 *
 * Prints "listening on port N" once it serves, and runs until SIGINT or
 * SIGTERM, or for 30 s at most.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hello.genrpc.h"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int
greet(const Hello__GreetRequest *req, Hello__GreetReply *reply, genrpc_ctx *ctx)
{
    if (!req->name[0])
        return genrpc_fail(ctx, 400, "tell me your name");
    size_t n = strlen(req->name) + 16;
    char *text = genrpc_ctx_alloc(ctx, n); /* freed once the reply is sent */
    if (!text)
        return genrpc_fail(ctx, 500, "out of memory");
    snprintf(text, n, "Hello, %s!", req->name);
    reply->greeting = text;
    reply->served_by = (char *)genrpc_node_name(genrpc_ctx_node(ctx));
    return 0;
}

static const Hello__Greeter__Impl greeter = {.greet = greet};

int
main(int argc, char **argv)
{
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "server@127.0.0.1";
    cfg.cookie = "standalone-cookie";
    cfg.tcp_server_port = argc > 1 ? atoi(argv[1]) : 0;

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
    printf("listening on port %d\n", genrpc_node_tcp_port(node));
    fflush(stdout);
    for (int waited = 0; !stop_requested && waited < 300; waited++)
        usleep(100 * 1000);
    genrpc_node_stop(node);
    return 0;
}
