/*
 * hello_client - a node that greets the hello server: one blocking call,
 * then one async call collected through its promise.
 *
 *   hello_client --server server@127.0.0.1 --port 5369 --cookie secret --who world
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "hello.genrpc.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: hello_client [--name NODE] [--server NODE] [--port N] [--cookie SECRET] "
            "[--who NAME]\n"
            "  --name    this node's name (default client@127.0.0.1)\n"
            "  --server  the server node's name (default server@127.0.0.1)\n"
            "  --port    the server node's TCP port (default 5369)\n"
            "  --cookie  shared secret of the cluster (default genrpc-hello)\n"
            "  --who     whom to greet (default world)\n");
}

static int
report(const char *what, int rc, const genrpc_status *st)
{
    fprintf(stderr, "hello_client: %s failed: %s [%s, %s] %s\n", what, genrpc_strerror(rc),
            genrpc_err_name(rc), genrpc_err_class_name(genrpc_err_class_of(rc)), st->message);
    return 1;
}

int
main(int argc, char **argv)
{
    const char *server = "server@127.0.0.1", *who = "world";
    int port = 5369;
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "client@127.0.0.1";
    cfg.cookie = "genrpc-hello";
    cfg.tcp_server_port = 0; /* this node serves nothing; any port will do */
    static const struct option opts[] = {
        {"name", required_argument, 0, 'n'},   {"server", required_argument, 0, 's'},
        {"port", required_argument, 0, 'p'},   {"cookie", required_argument, 0, 'c'},
        {"who", required_argument, 0, 'w'},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'n': cfg.name = optarg; break;
        case 's': server = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': cfg.cookie = optarg; break;
        case 'w': who = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    genrpc_node_addr addr = {server, GENRPC_DRIVER_TCP, port};
    cfg.node_addrs = &addr;
    cfg.n_node_addrs = 1;

    genrpc_node *node;
    genrpc_status st;
    if (genrpc_node_start(&cfg, &node, &st) != GENRPC_OK) {
        fprintf(stderr, "hello_client: cannot start: %s\n", st.message);
        return 1;
    }

    /* A blocking call with a 5 s timeout, requiring version 1 of the module. */
    Hello__GreetRequest req = HELLO__GREET_REQUEST__INIT;
    req.name = (char *)who;
    genrpc_call_opts copts = {.timeout_ms = 5000, .version = HELLO__GREETER__VERSION};
    Hello__GreetReply *reply = NULL;
    int rc = hello__greeter__greet_call(node, genrpc_node_target(server), &req, &reply, &copts, &st);
    if (rc != GENRPC_OK) {
        genrpc_node_stop(node);
        return report("call", rc, &st);
    }
    printf("%s says: %s (greeting #%llu)\n", reply->served_by, reply->greeting,
           (unsigned long long)reply->count);
    hello__greet_reply__free_unpacked(reply, NULL);

    /* The same as an async call: send now, collect later. */
    genrpc_promise *promise;
    req.name = "async world";
    rc = hello__greeter__greet_async(node, genrpc_node_target(server), &req, NULL, &promise, &st);
    if (rc == GENRPC_OK) {
        rc = hello__greeter__greet_yield(promise, &reply, &st);
        genrpc_promise_free(promise);
    }
    if (rc != GENRPC_OK) {
        genrpc_node_stop(node);
        return report("async call", rc, &st);
    }
    printf("%s says: %s (greeting #%llu)\n", reply->served_by, reply->greeting,
           (unsigned long long)reply->count);
    hello__greet_reply__free_unpacked(reply, NULL);
    genrpc_node_stop(node);
    return 0;
}
