/*
 * genrpc_cluster_node - a node process that finds its cluster through etcd
 * (tests/cluster_test.cc, tests/cluster_netns_test.cc).
 *
 * Starts a node with the test modules, joins the etcd cluster given by
 * --etcd (it knows no other node's address), keeps a hash ring of the
 * members (examples/common/ring.c) from member events, and prints
 * "READY <tcp port>" once registered. Then answers control lines on stdin,
 * one line on stdout each:
 *   members                 MEMBERS <n> <name>...      (genrpc_cluster_members)
 *   multicall <timeout_ms>  MULTICALL <n> <ok> <bad> <ms> [<failed node>=<error>...]
 *                           (Ping on every member, this node included)
 *   call <node> <timeout_ms> CALL <error name> <ms>    (Ping on one node)
 *   connected               CONNECTED <0|1>
 *   events                  EVENTS <joined> <left>     (seen so far)
 *   owner <key>             OWNER <node>               (the ring's owner of key)
 * EOF on stdin or SIGTERM: leaves the cluster, stops the node, exit 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "genrpc/cluster.h"
#include "genrpc/genrpc.h"
#include "ring.h"
#include "test.genrpc.h"
#include "test.pb-c.h"
#include "test_impl.h"

#define MAX_ETCD 8

static volatile sig_atomic_t g_stop;
static atomic_int g_joined, g_left;

static void on_sigterm(int sig) {
    (void)sig;
    g_stop = 1;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_to_stderr(genrpc_log_level level, const char *msg, void *arg) {
    static const char *const names[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "[%s %s] %s\n", (const char *)arg, names[level], msg);
}

static void on_member(genrpc_cluster *c, const genrpc_cluster_member *m, genrpc_cluster_event ev,
                      void *user) {
    (void)c;
    if (ev == GENRPC_MEMBER_JOINED) {
        ring_add(user, m->name);
        atomic_fetch_add(&g_joined, 1);
    } else {
        ring_remove(user, m->name);
        atomic_fetch_add(&g_left, 1);
    }
}

static int ping(genrpc_node *node, const char *to, int64_t timeout_ms) {
    Test__PingRequest req = TEST__PING_REQUEST__INIT;
    req.text = (char *)"ping";
    Test__PingReply *reply = NULL;
    genrpc_call_opts opts = GENRPC_CALL_OPTS_INIT;
    opts.timeout_ms = timeout_ms;
    int err = test__test__ping_call(node, genrpc_node_target(to), &req, &reply, &opts, NULL);
    if (reply)
        test__ping_reply__free_unpacked(reply, NULL);
    return err;
}

static void multicall(genrpc_node *node, genrpc_cluster *c, int64_t timeout_ms) {
    genrpc_target *targets = NULL;
    size_t n = 0, ok = 0;
    char failed[2048] = "";
    size_t used = 0;
    int64_t t0 = now_ms();
    if (genrpc_cluster_member_targets(c, &targets, &n, NULL) == GENRPC_OK && n > 0) {
        Test__Test__PingResult *res = calloc(n, sizeof *res);
        Test__PingRequest req = TEST__PING_REQUEST__INIT;
        req.text = (char *)"all";
        genrpc_call_opts opts = GENRPC_CALL_OPTS_INIT;
        opts.timeout_ms = timeout_ms;
        if (res && test__test__ping_multicall(node, targets, n, &req, &opts, res, NULL) ==
                       GENRPC_OK) {
            for (size_t i = 0; i < n; i++) {
                ok += res[i].status.err == GENRPC_OK;
                if (res[i].status.err != GENRPC_OK && used < sizeof failed - 1)
                    used += (size_t)snprintf(failed + used, sizeof failed - used, " %s=%s",
                                             targets[i].node, genrpc_err_name(res[i].status.err));
            }
            test__test__ping_multicall_free(res, n);
        }
        free(res);
    }
    genrpc_targets_free(targets);
    printf("MULTICALL %zu %zu %zu %lld%s\n", n, ok, n - ok, (long long)(now_ms() - t0), failed);
}

static void members(genrpc_cluster *c) {
    genrpc_cluster_member *m = NULL;
    size_t n = 0;
    genrpc_cluster_members(c, &m, &n, NULL);
    printf("MEMBERS %zu", n);
    for (size_t i = 0; i < n; i++)
        printf(" %s", m[i].name);
    printf("\n");
    free(m);
}

static void run_command(genrpc_node *node, genrpc_cluster *c, ring *r, char *line) {
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r", &save);
    char *a1 = cmd ? strtok_r(NULL, " \t\r", &save) : NULL;
    char *a2 = a1 ? strtok_r(NULL, " \t\r", &save) : NULL;
    if (!cmd)
        return;
    if (strcmp(cmd, "members") == 0) {
        members(c);
    } else if (strcmp(cmd, "multicall") == 0 && a1) {
        multicall(node, c, atoll(a1));
    } else if (strcmp(cmd, "call") == 0 && a1 && a2) {
        int64_t t0 = now_ms();
        int err = ping(node, a1, atoll(a2));
        printf("CALL %s %lld\n", genrpc_err_name(err), (long long)(now_ms() - t0));
    } else if (strcmp(cmd, "connected") == 0) {
        printf("CONNECTED %d\n", genrpc_cluster_connected(c) ? 1 : 0);
    } else if (strcmp(cmd, "events") == 0) {
        printf("EVENTS %d %d\n", atomic_load(&g_joined), atomic_load(&g_left));
    } else if (strcmp(cmd, "owner") == 0 && a1) {
        char owner[RING_NAME_MAX] = "-";
        ring_owner(r, a1, owner);
        printf("OWNER %s\n", owner);
    } else {
        printf("ERROR unknown command '%s'\n", cmd);
    }
    fflush(stdout);
}

static void serve(genrpc_node *node, genrpc_cluster *c, ring *r) {
    char buf[1024];
    size_t have = 0;
    while (!g_stop) {
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        int rc = poll(&p, 1, 100);
        if (rc < 0 && errno != EINTR)
            return;
        if (rc <= 0)
            continue;
        ssize_t n = read(STDIN_FILENO, buf + have, sizeof buf - 1 - have);
        if (n == 0 || (n < 0 && errno != EINTR))
            return;
        if (n < 0)
            continue;
        have += (size_t)n;
        char *nl;
        while ((nl = memchr(buf, '\n', have)) != NULL) {
            *nl = '\0';
            run_command(node, c, r, buf);
            size_t used = (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have - used);
            have -= used;
        }
        if (have == sizeof buf - 1)
            have = 0;
    }
}

int main(int argc, char **argv) {
    const char *name = "cnode@127.0.0.1", *etcd[MAX_ETCD];
    genrpc_cluster_config cc = GENRPC_CLUSTER_CONFIG_INIT;
    int port = 0;
    bool verbose = getenv("GENRPC_TEST_LOG") != NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else if (!v)
            goto usage;
        else if (strcmp(argv[i], "--name") == 0)
            name = v;
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(v);
        else if (strcmp(argv[i], "--etcd") == 0 && cc.n_endpoints < MAX_ETCD)
            etcd[cc.n_endpoints++] = v;
        else if (strcmp(argv[i], "--prefix") == 0)
            cc.prefix = v;
        else if (strcmp(argv[i], "--ttl") == 0)
            cc.lease_ttl_s = atoi(v);
        else if (strcmp(argv[i], "--request-timeout-ms") == 0)
            cc.request_timeout_ms = atoll(v);
        else
            goto usage;
        i += strcmp(argv[i], "--verbose") != 0;
    }
    cc.endpoints = etcd;
    cc.join_timeout_ms = 20000;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigterm;
    sigaction(SIGTERM, &sa, NULL);

    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = name;
    cfg.cookie = "genrpc-test-cookie";
    cfg.tcp_server_port = port;
    cfg.connect_timeout_ms = 1000;
    cfg.send_timeout_ms = 1000;
    cfg.socket_keepalive_idle_s = 1;
    cfg.socket_keepalive_interval_s = 1;
    if (verbose) {
        cfg.log_cb = log_to_stderr;
        cfg.log_arg = (void *)name;
        cfg.log_level = GENRPC_LOG_INFO;
    }
    genrpc_test_state state;
    ring *r = ring_new();
    if (!r || genrpc_test_state_init(&state) != 0) {
        fprintf(stderr, "genrpc_cluster_node: out of memory\n");
        return 1;
    }
    genrpc_node *node = NULL;
    genrpc_cluster *c = NULL;
    genrpc_status st;
    memset(&st, 0, sizeof st);
    int err = genrpc_node_start(&cfg, &node, &st);
    if (err == GENRPC_OK)
        err = genrpc_test_register_all(node, &state);
    if (err == GENRPC_OK)
        err = genrpc_cluster_join(node, &cc, &c, &st);
    if (err == GENRPC_OK)
        err = genrpc_cluster_subscribe(c, on_member, r, &st);
    if (err != GENRPC_OK) {
        fprintf(stderr, "genrpc_cluster_node %s: %s (%s)\n", name, genrpc_err_name(err),
                st.message);
        genrpc_cluster_leave(c);
        if (node)
            genrpc_node_stop(node);
        genrpc_test_state_destroy(&state);
        ring_free(r);
        return 1;
    }
    printf("READY %d\n", genrpc_node_tcp_port(node));
    fflush(stdout);
    serve(node, c, r);
    genrpc_cluster_unsubscribe(c, on_member, r);
    genrpc_cluster_leave(c);
    genrpc_node_stop(node);
    genrpc_test_state_destroy(&state);
    ring_free(r);
    return 0;

usage:
    fprintf(stderr, "usage: genrpc_cluster_node [--name N] [--port P] --etcd URL... [--prefix P]\n"
                    "       [--ttl S] [--request-timeout-ms MS] [--verbose]\n");
    return 2;
}
