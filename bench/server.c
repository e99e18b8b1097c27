/*
 * genrpc_bench_server - the server of the echo contract
 * (../shared/baselines/README.md), built on genrpc like a user would.
 *
 *   genrpc_bench_server --port P [--host 127.0.0.1] [--seconds S] [--workers N]
 *
 * Node "bench_server@<host>", cookie "genrpc-bench". Serves module
 * bench.Echo v1: Echo returns the request's bytes (the reply points at the
 * request's payload, which lives in the call's arena: no copy); Count returns
 * how many Echo casts and calls have run (for the client's --mode cast).
 * Runs until SIGTERM/SIGINT or for --seconds S. Nothing on stdout; one line
 * on stderr once listening ("... port N"), which bench/smoke.sh reads when
 * started with --port 0.
 */
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echo.genrpc.h"

static atomic_uint_fast64_t n_casts, n_calls;
static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Runs on a worker thread. The request (and so its payload) lives in the
 * call's arena until the reply has been encoded, so the reply may point at it. */
static int
echo(const Bench__EchoRequest *req, Bench__EchoReply *reply, genrpc_ctx *ctx)
{
    reply->payload = req->payload;
    if (genrpc_ctx_is_cast(ctx))
        atomic_fetch_add_explicit(&n_casts, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&n_calls, 1, memory_order_relaxed);
    return 0;
}

static int
count(const Bench__CountRequest *req, Bench__CountReply *reply, genrpc_ctx *ctx)
{
    (void)req;
    (void)ctx;
    reply->casts = atomic_load(&n_casts);
    reply->calls = atomic_load(&n_calls);
    return 0;
}

static const Bench__Echo__Impl impl = {.echo = echo, .count = count};

static void
usage(FILE *out)
{
    fprintf(out, "usage: genrpc_bench_server --port P [--host H] [--seconds S] [--workers N]\n"
                 "         [--busy-poll-us U] [--ssl-port P] [--compression]\n"
                 "  --ssl-port TLS port too (certificates: $GENRPC_BENCH_TLS_DIR/ca.pem,\n"
                 "             server.pem, server.key; bench/v2cells makes them)\n"
                 "  --compression  zstd payloads with clients that agree (protocol v2)\n"
                 "  --port     TCP port (0 = any free port, printed on stderr)\n"
                 "  --host     address to listen on and node host (default 127.0.0.1)\n"
                 "  --seconds  stop after S seconds (default: until SIGINT/SIGTERM)\n"
                 "  --workers  node worker threads (default: the runtime's default)\n"
                 "  --busy-poll-us  the node's busy_poll_us (default: $GENRPC_BENCH_BUSY_POLL_US or 0)\n");
}

int
main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 5369, workers = 0, ssl_port = GENRPC_PORT_DISABLED, compression = 0;
    const char *busy_env = getenv("GENRPC_BENCH_BUSY_POLL_US");
    int busy_poll_us = busy_env ? atoi(busy_env) : 0;
    double seconds = -1;
    static const struct option opts[] = {{"port", required_argument, 0, 'p'},
                                         {"host", required_argument, 0, 'H'},
                                         {"seconds", required_argument, 0, 's'},
                                         {"workers", required_argument, 0, 'w'},
                                         {"busy-poll-us", required_argument, 0, 'b'},
                                         {"ssl-port", required_argument, 0, 'S'},
                                         {"compression", no_argument, 0, 'Z'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'p': port = atoi(optarg); break;
        case 'H': host = optarg; break;
        case 's': seconds = atof(optarg); break;
        case 'w': workers = atoi(optarg); break;
        case 'b': busy_poll_us = atoi(optarg); break;
        case 'S': ssl_port = atoi(optarg); break;
        case 'Z': compression = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    char name[300];
    snprintf(name, sizeof name, "bench_server@%s", host);
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = name;
    cfg.cookie = "genrpc-bench";
    cfg.listen_host = host;
    cfg.tcp_server_port = port;
    cfg.worker_threads = workers;
    cfg.busy_poll_us = busy_poll_us;
    if (compression)
        cfg.compression = GENRPC_COMPRESSION_ZSTD;
    char ca[512], cert[512], key[512];
    if (ssl_port != GENRPC_PORT_DISABLED) {
        const char *dir = getenv("GENRPC_BENCH_TLS_DIR");
        snprintf(ca, sizeof ca, "%s/ca.pem", dir ? dir : ".");
        snprintf(cert, sizeof cert, "%s/server.pem", dir ? dir : ".");
        snprintf(key, sizeof key, "%s/server.key", dir ? dir : ".");
        cfg.ssl_server_port = ssl_port;
        cfg.tls_ca_file = ca;
        cfg.tls_cert_file = cert;
        cfg.tls_key_file = key;
    }

    genrpc_node *node;
    genrpc_status st;
    if (genrpc_node_start(&cfg, &node, &st) != GENRPC_OK) {
        fprintf(stderr, "genrpc_bench_server: cannot start: %s\n", st.message);
        return 1;
    }
    int rc = bench__echo__register(node, &impl, NULL);
    if (rc != GENRPC_OK) {
        fprintf(stderr, "genrpc_bench_server: cannot register: %s\n", genrpc_strerror(rc));
        genrpc_node_stop(node);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "genrpc_bench_server: node %s listening on port %d\n", name,
            genrpc_node_tcp_port(node));
    for (long waited = 0; !stop_requested && (seconds < 0 || waited < (long)(seconds * 100));
         waited++)
        usleep(10 * 1000);
    genrpc_node_stop(node);
    return 0;
}
