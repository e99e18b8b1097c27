/*
 * genrpc_test_node - a real node process for the multi-process tests.
 *
 * Registers the modules of tests/proto/test.proto, prints exactly
 * "PORT <tcp> SSL <tls>\n" on stdout once it serves (-1: that listener is
 * off), and stops cleanly (genrpc_node_stop,
 * exit 0) when stdin reaches EOF or on SIGTERM. Nothing else goes to stdout;
 * diagnostics go to stderr.
 *
 * Lines on stdin are control commands (tests/lifetime_test.cc), run in order:
 *   drain MS           genrpc_node_drain(node, MS), print "DRAINED <err>", exit 0
 *   drop [PEER [MAX]]  close up to MAX (0/none: all) acceptors for PEER
 *                      ("*" or none: any), newest first
 *                      (genrpc_node_debug_close_acceptors)
 *   ping NODE [KEY]    call test.Test.Ping on NODE (or the {NODE, KEY} shard),
 *                      2 s timeout; a failure is reported on stderr
 * Unknown lines are reported on stderr and ignored.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "genrpc/genrpc.h"
#include "test_impl.h"
#include "test.genrpc.h"
#include "test.pb-c.h"

#define MAX_LIST 32
#define MAX_NODES 32

typedef struct options {
    const char *name;
    const char *cookie;
    int port;
    genrpc_module_control control;
    char *modules[MAX_LIST];
    size_t n_modules;
    int workers;
    genrpc_node_addr nodes[MAX_NODES];
    size_t n_nodes;
    int64_t auth_timeout_ms;
    int64_t client_idle_ms, server_idle_ms;
    int verbose;
    int ssl_port;
    const char *tls_ca, *tls_cert, *tls_key;
    genrpc_driver driver; /* --default-driver */
    const char *handlers[MAX_LIST]; /* --handler: named handlers for test.Note */
    size_t n_handlers;
    int max_protocol; /* --max-protocol; 0: the newest */
    int compression;  /* --compression */
    const char *token; /* --require-token */
    int trace;        /* --trace */
} options;

static volatile sig_atomic_t g_stop;

static void on_sigterm(int sig) {
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *out) {
    fputs("usage: genrpc_test_node [options]\n"
          "  --name NAME            node name (default helper@127.0.0.1)\n"
          "  --cookie COOKIE        shared secret (default genrpc-test-cookie)\n"
          "  --port N               TCP port, 0 = ephemeral, -1 = off (default 0)\n"
          "  --ssl-port N           TLS port, 0 = ephemeral, -1 = off (default -1)\n"
          "  --tls-ca FILE          CA certificate(s) (PEM)\n"
          "  --tls-cert FILE        this node's certificate (PEM)\n"
          "  --tls-key FILE         its private key (PEM)\n"
          "  --default-driver tcp|tls  driver for nodes not given with --node\n"
          "  --whitelist m1,m2      only these modules are callable\n"
          "  --blacklist m1,m2      these modules are not callable\n"
          "  --workers N            worker threads (default: runtime's)\n"
          "  --node NAME=[tls:]PORT where to reach another node (repeatable)\n"
          "  --auth-timeout-ms N    authentication timeout (default 5000)\n"
          "  --client-inactivity-ms N  client_inactivity_timeout (default infinity)\n"
          "  --server-inactivity-ms N  server_inactivity_timeout (default infinity)\n"
          "  --handler NAME         named handler for test.Note broadcasts (repeatable;\n"
          "                         what it gets is read with test.NodeInfo.Notes)\n"
          "  --max-protocol N       highest wire protocol version (default: newest)\n"
          "  --compression          zstd payloads (compression = ZSTD, 1024 B threshold)\n"
          "  --require-token T      refuse requests without authorization: Bearer T\n"
          "  --trace                pass a request's trace-id on to its nested calls\n"
          "  --verbose              runtime log on stderr\n"
          "  --help                 this text\n"
          "Prints \"PORT <n>\" on stdout once serving; stops on stdin EOF or SIGTERM.\n"
          "stdin lines: \"drop [PEER [MAX]]\", \"ping NODE [KEY]\" (see the source).\n",
          out);
}

static int parse_int(const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_list(char *s, options *o) {
    for (char *tok = strtok(s, ","); tok != NULL; tok = strtok(NULL, ",")) {
        if (o->n_modules == MAX_LIST)
            return -1;
        o->modules[o->n_modules++] = tok;
    }
    return 0;
}

static int parse_node(char *s, options *o) {
    char *eq = strrchr(s, '=');
    long port;
    if (eq == NULL || o->n_nodes == MAX_NODES ||
        parse_int(eq + 1 + (strncmp(eq + 1, "tls:", 4) == 0 ? 4 : 0), 1, 65535, &port) != 0)
        return -1;
    *eq = '\0';
    genrpc_node_addr *a = &o->nodes[o->n_nodes++];
    a->node = s;
    a->driver = strncmp(eq + 1, "tls:", 4) == 0 ? GENRPC_DRIVER_TLS : GENRPC_DRIVER_TCP;
    a->port = (int)port;
    return 0;
}

/* Returns 0 to run, 1 to exit 0 (--help), -1 on a usage error. */
static int parse_args(int argc, char **argv, options *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (strcmp(a, "--help") == 0)
            return 1;
        if (strcmp(a, "--verbose") == 0) {
            o->verbose = 1;
            continue;
        }
        if (strcmp(a, "--compression") == 0 || strcmp(a, "--trace") == 0) {
            *(a[2] == 'c' ? &o->compression : &o->trace) = 1;
            continue;
        }
        if (v == NULL)
            return -1;
        i++;
        if (strcmp(a, "--name") == 0)
            o->name = v;
        else if (strcmp(a, "--cookie") == 0)
            o->cookie = v;
        else if (strcmp(a, "--port") == 0 && parse_int(v, -1, 65535, &n) == 0)
            o->port = (int)n;
        else if (strcmp(a, "--ssl-port") == 0 && parse_int(v, -1, 65535, &n) == 0)
            o->ssl_port = (int)n;
        else if (strcmp(a, "--tls-ca") == 0)
            o->tls_ca = v;
        else if (strcmp(a, "--tls-cert") == 0)
            o->tls_cert = v;
        else if (strcmp(a, "--tls-key") == 0)
            o->tls_key = v;
        else if (strcmp(a, "--default-driver") == 0 &&
                 (strcmp(v, "tcp") == 0 || strcmp(v, "tls") == 0))
            o->driver = strcmp(v, "tls") == 0 ? GENRPC_DRIVER_TLS : GENRPC_DRIVER_TCP;
        else if (strcmp(a, "--whitelist") == 0 && o->control == GENRPC_CONTROL_DISABLED) {
            o->control = GENRPC_CONTROL_WHITELIST;
            if (parse_list(v, o) != 0)
                return -1;
        } else if (strcmp(a, "--blacklist") == 0 && o->control == GENRPC_CONTROL_DISABLED) {
            o->control = GENRPC_CONTROL_BLACKLIST;
            if (parse_list(v, o) != 0)
                return -1;
        } else if (strcmp(a, "--max-protocol") == 0 && parse_int(v, 1, 255, &n) == 0)
            o->max_protocol = (int)n;
        else if (strcmp(a, "--workers") == 0 && parse_int(v, 1, 1024, &n) == 0)
            o->workers = (int)n;
        else if (strcmp(a, "--node") == 0 && parse_node(v, o) == 0)
            continue;
        else if (strcmp(a, "--auth-timeout-ms") == 0 && parse_int(v, 1, 3600000, &n) == 0)
            o->auth_timeout_ms = n;
        else if (strcmp(a, "--client-inactivity-ms") == 0 && parse_int(v, 1, 3600000, &n) == 0)
            o->client_idle_ms = n;
        else if (strcmp(a, "--server-inactivity-ms") == 0 && parse_int(v, 1, 3600000, &n) == 0)
            o->server_idle_ms = n;
        else if (strcmp(a, "--require-token") == 0 && v)
            o->token = v;
        else if (strcmp(a, "--handler") == 0 && o->n_handlers < MAX_LIST)
            o->handlers[o->n_handlers++] = v;
        else
            return -1;
    }
    return 0;
}

static void log_to_stderr(genrpc_log_level level, const char *msg, void *arg) {
    static const char *const names[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "[%s %s] %s\n", (const char *)arg,
            level <= GENRPC_LOG_DEBUG ? names[level] : "?", msg);
}

/* One control line (see the top of this file). Returns 1 when the node is
 * gone (drained). */
static int run_command(genrpc_node *node, char *line) {
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r", &save);
    char *a1 = cmd ? strtok_r(NULL, " \t\r", &save) : NULL;
    char *a2 = a1 ? strtok_r(NULL, " \t\r", &save) : NULL;
    if (!cmd)
        return 0;
    if (strcmp(cmd, "drain") == 0 && a1) {
        int err = genrpc_node_drain(node, atoll(a1));
        printf("DRAINED %s\n", genrpc_err_name(err));
        fflush(stdout);
        return 1;
    }
    if (strcmp(cmd, "drop") == 0) {
        const char *peer = a1 && strcmp(a1, "*") != 0 ? a1 : NULL;
        int max = a2 ? atoi(a2) : 0;
        int n = genrpc_node_debug_close_acceptors(node, peer, max);
        fprintf(stderr, "genrpc_test_node: dropped %d acceptor(s)\n", n);
    } else if (strcmp(cmd, "ping") == 0 && a1) {
        Test__PingRequest req = TEST__PING_REQUEST__INIT;
        req.text = (char *)"ping";
        Test__PingReply *reply = NULL;
        genrpc_status st;
        memset(&st, 0, sizeof st);
        genrpc_call_opts opts = GENRPC_CALL_OPTS_INIT;
        opts.timeout_ms = 2000;
        genrpc_target t = a2 ? genrpc_key_target(a1, a2, strlen(a2)) : genrpc_node_target(a1);
        int err = test__test__ping_call(node, t, &req, &reply, &opts, &st);
        if (err != GENRPC_OK)
            fprintf(stderr, "genrpc_test_node: ping %s: %s (%s)\n", a1, genrpc_err_name(err),
                    st.message);
        if (reply)
            test__ping_reply__free_unpacked(reply, NULL);
    } else {
        fprintf(stderr, "genrpc_test_node: unknown command '%s'\n", cmd);
    }
    return 0;
}

/* Runs stdin's control lines until stdin is at EOF (or fails) or SIGTERM
 * arrived; returns 1 if a command ended the node itself (drain). */
static int wait_for_stop(genrpc_node *node) {
    char buf[1024];
    size_t have = 0;
    while (!g_stop) {
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        int r = poll(&p, 1, 100);
        if (r < 0 && errno != EINTR)
            return 0;
        if (r > 0) {
            ssize_t n = read(STDIN_FILENO, buf + have, sizeof buf - 1 - have);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                return 0;
            if (n < 0)
                continue;
            have += (size_t)n;
            char *nl;
            while ((nl = memchr(buf, '\n', have)) != NULL) {
                *nl = '\0';
                if (run_command(node, buf))
                    return 1;
                size_t used = (size_t)(nl + 1 - buf);
                memmove(buf, nl + 1, have - used);
                have -= used;
            }
            if (have == sizeof buf - 1)
                have = 0; /* an overlong line: dropped */
        }
    }
    return 0;
}

int
main(int argc, char **argv) {
    options o;
    memset(&o, 0, sizeof o);
    o.name = "helper@127.0.0.1";
    o.cookie = "genrpc-test-cookie";
    o.ssl_port = GENRPC_PORT_DISABLED;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigterm;
    sigaction(SIGTERM, &sa, NULL);

    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = o.name;
    cfg.cookie = o.cookie;
    cfg.tcp_server_port = o.port;
    cfg.ssl_server_port = o.ssl_port;
    cfg.tls_ca_file = o.tls_ca;
    cfg.tls_cert_file = o.tls_cert;
    cfg.tls_key_file = o.tls_key;
    cfg.default_client_driver = o.driver;
    cfg.module_control = o.control;
    cfg.module_list = (const char *const *)o.modules;
    cfg.n_module_list = o.n_modules;
    cfg.node_addrs = o.nodes;
    cfg.n_node_addrs = o.n_nodes;
    cfg.connect_timeout_ms = 500;
    cfg.send_timeout_ms = 500;
    cfg.max_protocol_version = o.max_protocol;
    if (o.compression)
        cfg.compression = GENRPC_COMPRESSION_ZSTD;
    if (o.workers > 0)
        cfg.worker_threads = o.workers;
    if (o.auth_timeout_ms > 0)
        cfg.authentication_timeout_ms = o.auth_timeout_ms;
    if (o.client_idle_ms > 0)
        cfg.client_inactivity_timeout_ms = o.client_idle_ms;
    if (o.server_idle_ms > 0)
        cfg.server_inactivity_timeout_ms = o.server_idle_ms;
    if (o.verbose || getenv("GENRPC_TEST_LOG") != NULL) {
        cfg.log_cb = log_to_stderr;
        cfg.log_arg = (void *)o.name;
        cfg.log_level = GENRPC_LOG_DEBUG;
    }

    genrpc_test_state state;
    if (genrpc_test_state_init(&state) != 0) {
        fprintf(stderr, "genrpc_test_node: out of memory\n");
        return 1;
    }
    genrpc_node *node = NULL;
    genrpc_status st;
    memset(&st, 0, sizeof st);
    int err = genrpc_node_start(&cfg, &node, &st);
    if (err != GENRPC_OK) {
        fprintf(stderr, "genrpc_test_node: start: %s (%s)\n", genrpc_err_name(err), st.message);
        genrpc_test_state_destroy(&state);
        return 1;
    }
    err = genrpc_test_register_all(node, &state);
    if (err == GENRPC_OK && o.token)
        err = genrpc_test_add_token_check(node, o.token);
    if (err == GENRPC_OK && o.trace)
        err = genrpc_test_add_tracing(node);
    for (size_t i = 0; err == GENRPC_OK && i < o.n_handlers; i++)
        err = genrpc_test_register_handler(node, o.handlers[i], &state);
    if (err != GENRPC_OK) {
        fprintf(stderr, "genrpc_test_node: register: %s\n", genrpc_err_name(err));
        genrpc_node_stop(node);
        genrpc_test_state_destroy(&state);
        return 1;
    }

    printf("PORT %d SSL %d\n", genrpc_node_tcp_port(node), genrpc_node_ssl_port(node));
    fflush(stdout);

    err = wait_for_stop(node) ? GENRPC_OK : genrpc_node_stop(node);
    genrpc_test_state_destroy(&state);
    if (err != GENRPC_OK) {
        fprintf(stderr, "genrpc_test_node: stop: %s\n", genrpc_err_name(err));
        return 1;
    }
    return 0;
}
