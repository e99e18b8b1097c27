/*
 * hello_client - greets the hello_server node once (see README.md here).
 *
 *   hello_client PORT [NAME]
 *
 * Prints the greeting; exits 1 with the error on stderr if the call fails.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hello.genrpc.h"

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: hello_client PORT [NAME]\n");
        return 2;
    }
    const char *server = "server@127.0.0.1";
    genrpc_node_addr addr = {server, GENRPC_DRIVER_TCP, atoi(argv[1])};
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "client@127.0.0.1";
    cfg.cookie = "standalone-cookie";
    cfg.tcp_server_port = GENRPC_PORT_DISABLED; /* serves nothing */
    cfg.node_addrs = &addr;
    cfg.n_node_addrs = 1;

    genrpc_node *node;
    genrpc_status st;
    if (genrpc_node_start(&cfg, &node, &st) != GENRPC_OK) {
        fprintf(stderr, "hello_client: cannot start: %s\n", st.message);
        return 1;
    }
    Hello__GreetRequest req = HELLO__GREET_REQUEST__INIT;
    req.name = argc > 2 ? argv[2] : "world";
    genrpc_call_opts opts = {.timeout_ms = 5000, .version = HELLO__GREETER__VERSION};
    Hello__GreetReply *reply = NULL;
    int rc = hello__greeter__greet_call(node, genrpc_node_target(server), &req, &reply, &opts, &st);
    if (rc == GENRPC_OK) {
        printf("%s says: %s\n", reply->served_by, reply->greeting);
        hello__greet_reply__free_unpacked(reply, NULL);
    } else {
        fprintf(stderr, "hello_client: call failed: %s [%s] %s\n", genrpc_strerror(rc),
                genrpc_err_name(rc), st.message);
    }
    genrpc_node_stop(node);
    return rc == GENRPC_OK ? 0 : 1;
}
