/*
 * genrpc_peer_cost - what a node pays per peer connection (docs/scaling.md).
 *
 *   genrpc_peer_cost [CONNECTIONS] [PAYLOAD_BYTES] [ETCD_URL]   (default 1000, 64)
 *
 * Starts a serving node S and a calling node C in this process; C opens
 * CONNECTIONS connections to S ({S, key} shards: one TCP connection each,
 * exactly what CONNECTIONS distinct peers would cost) and makes one echo
 * call on each, so that every connection has been used once (buffers
 * allocated). Prints the process's resident memory, file descriptors and
 * threads before and after, and per connection (each connection counted
 * with both of its ends, a client in C and an acceptor in S: a full-mesh
 * node has one of each per peer), and the kernel's TCP buffer memory
 * (/proc/net/sockstat). With ETCD_URL, also what joining an etcd cluster
 * adds to a node (genrpc/cluster.h). Linux only (/proc).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <genrpc/genrpc.h>
#ifdef GENRPC_HAVE_CLUSTER
#include <genrpc/cluster.h>
#endif

#include "echo.genrpc.h"

static int
echo(const Bench__EchoRequest *req, Bench__EchoReply *reply, genrpc_ctx *ctx)
{
    (void)ctx;
    reply->payload = req->payload;
    return 0;
}

static const Bench__Echo__Impl impl = {.echo = echo};

static long
count_dir(const char *path)
{
    DIR *d = opendir(path);
    long n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Resident set in KiB (VmRSS). */
static long
rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

/* Pages of kernel memory held by TCP sockets (the whole machine's). */
static long
tcp_mem_pages(void)
{
    FILE *f = fopen("/proc/net/sockstat", "r");
    char line[256];
    long pages = -1;
    while (f && fgets(line, sizeof line, f)) {
        char *m = strncmp(line, "TCP:", 4) == 0 ? strstr(line, " mem ") : NULL;
        if (m)
            pages = atol(m + 5);
    }
    if (f)
        fclose(f);
    return pages;
}

typedef struct sample {
    long rss_kib, fds, threads, tcp_pages;
} sample;

static sample
take(void)
{
    return (sample){rss_kib(), count_dir("/proc/self/fd"), count_dir("/proc/self/task"),
                    tcp_mem_pages()};
}

/* What joining an etcd cluster adds to the serving node. */
static void
cluster_cost(genrpc_node *node, const char *url)
{
#ifdef GENRPC_HAVE_CLUSTER
    sample a = take();
    genrpc_cluster_config cc = GENRPC_CLUSTER_CONFIG_INIT;
    cc.endpoints = &url;
    cc.n_endpoints = 1;
    cc.prefix = "/genrpc/peer-cost/";
    genrpc_cluster *c;
    genrpc_status st;
    if (genrpc_cluster_join(node, &cc, &c, &st) != GENRPC_OK) {
        fprintf(stderr, "genrpc_peer_cost: join: %s\n", st.message);
        return;
    }
    sample b = take();
    printf("joining etcd at %s: +%ld KiB rss, +%ld fds, +%ld threads\n", url,
           b.rss_kib - a.rss_kib, b.fds - a.fds, b.threads - a.threads);
    genrpc_cluster_leave(c);
#else
    (void)node;
    fprintf(stderr, "genrpc_peer_cost: built without etcd support: %s ignored\n", url);
#endif
}

/* A node listening on `port` (GENRPC_PORT_DISABLED: none) that dials
 * other nodes on `dial_port`. */
static genrpc_node *
start(const char *name, int port, int dial_port)
{
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = name;
    cfg.cookie = "peer-cost";
    cfg.tcp_server_port = port;
    cfg.tcp_client_port = dial_port;
    genrpc_node *node;
    genrpc_status st;
    if (genrpc_node_start(&cfg, &node, &st) != GENRPC_OK) {
        fprintf(stderr, "genrpc_peer_cost: %s: %s\n", name, st.message);
        exit(1);
    }
    return node;
}

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    size_t payload = argc > 2 ? (size_t)atol(argv[2]) : 64;
    if (n <= 0 || n > 100000) {
        fprintf(stderr, "usage: genrpc_peer_cost [CONNECTIONS (1..100000)] [PAYLOAD_BYTES]\n");
        return 2;
    }
    sample s0 = take();
    genrpc_node *server = start("s@127.0.0.1", 0, 5369);
    if (bench__echo__register(server, &impl, NULL) != GENRPC_OK)
        return 1;
    genrpc_node *caller = start("c@127.0.0.1", GENRPC_PORT_DISABLED, genrpc_node_tcp_port(server));
    const char *sname = "s@127.0.0.1";
    genrpc_status st;
    sample s1 = take();

    char *data = calloc(1, payload + 1);
    memset(data, 'x', payload);
    Bench__EchoRequest req = BENCH__ECHO_REQUEST__INIT;
    req.payload = (ProtobufCBinaryData){payload, (uint8_t *)data};
    genrpc_call_opts opts = {.timeout_ms = 10000};
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char key[16];
        int len = snprintf(key, sizeof key, "k%d", i);
        Bench__EchoReply *reply = NULL;
        if (bench__echo__echo_call(caller, genrpc_key_target(sname, key, (size_t)len), &req,
                                   &reply, &opts, &st) != GENRPC_OK)
            failed++;
        if (reply)
            bench__echo_reply__free_unpacked(reply, NULL);
    }
    genrpc_node_info ci, si;
    genrpc_node_get_info(caller, &ci);
    genrpc_node_get_info(server, &si);
    sample s2 = take();
    printf("two nodes, idle:         rss %ld KiB, fds %ld, threads %ld (process before: rss %ld "
           "KiB, fds %ld, threads %ld)\n",
           s1.rss_kib, s1.fds, s1.threads, s0.rss_kib, s0.fds, s0.threads);
    printf("%d connections (%d clients, %d acceptors), %zu-byte echo on each, %d failed:\n", n,
           ci.clients_ready, si.acceptors, payload, failed);
    printf("                         rss %ld KiB, fds %ld, threads %ld\n", s2.rss_kib, s2.fds,
           s2.threads);
    printf("per connection (both ends): %.1f KiB, %.2f fds, %.3f threads; kernel TCP memory "
           "%.2f KiB\n",
           (double)(s2.rss_kib - s1.rss_kib) / n, (double)(s2.fds - s1.fds) / n,
           (double)(s2.threads - s1.threads) / n,
           (double)(s2.tcp_pages - s1.tcp_pages) * 4 / n);
    if (argc > 3)
        cluster_cost(server, argv[3]);
    genrpc_node_stop(caller);
    genrpc_node_stop(server);
    free(data);
    return failed != 0;
}
