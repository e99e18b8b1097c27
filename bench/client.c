/*
 * genrpc_bench_client - the client of the echo contract
 * (../shared/baselines/README.md), built on genrpc's generated stubs.
 *
 *   genrpc_bench_client --host H --port P --payload B --concurrency N
 *                       --seconds S --warmup W [--verify]
 *
 * prints ONE line:  calls_per_s=<f> p50_us=<f> p99_us=<f> mb_per_s=<f>
 * (bench_util.h's definitions) and exits non-zero if any call failed or
 * returned other bytes than it sent. As the baselines do, only --verify
 * compares every byte of every reply (a 64 KB memcmp is ~10 % of the
 * client's CPU); without it a reply must have the request's length and carry
 * its call's stamp (first and last 8 bytes), which the baselines, checking
 * the length only, do not.
 *
 * How concurrency N is produced: N calls outstanding through the async
 * callback stub bench__echo__echo_async_cb. Callbacks run on the client
 * node's event-loop thread, and each completion issues that slot's next call
 * from inside the callback (closed loop, like the baselines). This is what a
 * user writing a high-throughput client would write: no thread per
 * outstanding call, and calls issued from a callback are batched into one
 * write per loop iteration by the runtime. Each slot's payload buffer stays
 * untouched until its reply, so the calls lend it (GENRPC_CALL_LEND_REQUEST:
 * large payloads are written from it, not copied). Each slot stamps a
 * sequence number into both ends of its payload, so a reply carrying another
 * call's bytes is caught.
 *
 * Extra modes (same server):
 *   --mode cast       cast Echo(payload) as fast as one thread can for S
 *                     seconds (after W of warm-up); the server counts the casts
 *                     it ran, read back with the Count rpc. Prints
 *                     casts_per_s=… (delivered, counted at the server)
 *                     client_peak_rss_mb=… and how many were sent and how long
 *                     the server took to drain them. --cast-window C caps the
 *                     casts sent but not yet counted by the server (0 = no cap).
 *   --mode fanin      fork --clients K client node processes (bench_client<i>),
 *                     all starting at the same instant, each running the echo
 *                     loop (default 64 B x 64); prints the total calls/s and
 *                     each client's share.
 *   --mode isolation  a quiet node (1 call at a time, 64 B) runs alone for W+S
 *                     seconds, then a second node process floods the server at
 *                     --flood-concurrency (default 128) for W+S seconds; prints
 *                     the quiet node's p50/p99 without and with the flood.
 *   --calls N         (echo mode) exactly N calls, no warm-up: for
 *                     bench/instructions (instruction counts per call).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef BENCH_HAVE_SHARED_UTIL
#include "bench_util.h" /* ../shared/baselines/src: the very same definitions */
#else
#include "bench_util_fallback.h"
#endif
#include "echo.genrpc.h"

#define MAX_WIN 2
#define STAMP sizeof(uint64_t) /* a slot's call sequence number, at each end of its payload */
#define NS 1000000000ull

/* ---- options --------------------------------------------------------------- */

typedef struct opts {
    const char *host, *mode, *name, *server;
    int port, concurrency, clients, flood_concurrency, busy_poll_us;
    size_t payload;
    double seconds, warmup;
    uint64_t calls, cast_window;
    bool verify;
    bool tls;         /* --tls: dial the server over TLS (certificates: tls_file) */
    bool compression; /* --compression: zstd payloads (protocol v2, setting 1) */
} opts;

/* $GENRPC_BENCH_TLS_DIR/<name>: ca.pem, client.pem/.key, server.pem/.key,
 * made by bench/v2cells (CN = the node names). */
static const char *
tls_file(char *buf, size_t cap, const char *name)
{
    const char *dir = getenv("GENRPC_BENCH_TLS_DIR");
    snprintf(buf, cap, "%s/%s", dir ? dir : ".", name);
    return buf;
}

static char server_name_buf[300];

/* ---- the closed-loop echo engine ---------------------------------------------- */

typedef struct run run;

typedef struct slot {
    run *r;
    uint64_t t_issue, seq;
    uint8_t *buf;
} slot;

struct run {
    genrpc_node *node;
    const char *server;
    size_t payload;
    bool verify; /* compare every byte, not only the length and the stamp */
    int conc;
    uint64_t t_stop; /* no call is issued at or after this instant */
    uint64_t max_calls; /* 0: unlimited (time-bounded) */
    int nwin;
    uint64_t win_lo[MAX_WIN], win_hi[MAX_WIN], calls_in[MAX_WIN];
    lat_vec lat[MAX_WIN];
    atomic_uint_fast64_t issued;
    atomic_int outstanding, failed, bad;
    slot *slots;
};

static void on_reply(int err, const genrpc_status *st, const Bench__EchoReply *reply, void *arg);

/* Issues slot s's next call; from the main thread for the first call of each
 * slot, from on_reply (loop thread) afterwards. */
static void
issue(slot *s)
{
    run *r = s->r;
    s->seq++;
    memcpy(s->buf, &s->seq, r->payload < STAMP ? r->payload : STAMP);
    if (r->payload >= 2 * STAMP) /* both ends: see reply_matches */
        memcpy(s->buf + r->payload - STAMP, &s->seq, STAMP);
    Bench__EchoRequest req = BENCH__ECHO_REQUEST__INIT;
    req.payload.len = r->payload;
    req.payload.data = s->buf;
    atomic_fetch_add_explicit(&r->issued, 1, memory_order_relaxed);
    s->t_issue = now_ns();
    /* The slot's buffer stays as it is until on_reply: lend it, no copy. */
    static const genrpc_call_opts lend = {.flags = GENRPC_CALL_LEND_REQUEST};
    int rc = bench__echo__echo_async_cb(r->node, genrpc_node_target(r->server), &req, &lend,
                                        on_reply, s);
    if (rc != GENRPC_OK) {
        if (atomic_fetch_add(&r->failed, 1) == 0)
            fprintf(stderr, "genrpc_bench_client: call not started: %s\n", genrpc_strerror(rc));
        atomic_fetch_sub(&r->outstanding, 1);
    }
}

/* The reply's bytes are the request's: its length, and every byte with
 * --verify, else the call's stamp at both ends. */
static bool
reply_matches(const run *r, const slot *s, const ProtobufCBinaryData *got)
{
    size_t n = r->payload;
    if (got->len != n)
        return false;
    if (r->verify || n < 2 * STAMP)
        return n == 0 || memcmp(got->data, s->buf, n) == 0;
    return memcmp(got->data, s->buf, STAMP) == 0 &&
           memcmp(got->data + n - STAMP, s->buf + n - STAMP, STAMP) == 0;
}

static void
on_reply(int err, const genrpc_status *st, const Bench__EchoReply *reply, void *arg)
{
    slot *s = arg;
    run *r = s->r;
    uint64_t now = now_ns();
    if (err != GENRPC_OK) {
        if (atomic_fetch_add(&r->failed, 1) == 0)
            fprintf(stderr, "genrpc_bench_client: call failed: %s (%s)\n", genrpc_strerror(err),
                    st ? st->message : "");
        atomic_fetch_sub(&r->outstanding, 1);
        return;
    }
    if (!reply_matches(r, s, &reply->payload)) {
        if (atomic_fetch_add(&r->bad, 1) == 0)
            fprintf(stderr, "genrpc_bench_client: reply bytes differ from the request's\n");
        atomic_fetch_sub(&r->outstanding, 1);
        return;
    }
    for (int w = 0; w < r->nwin; w++)
        if (now >= r->win_lo[w] && now < r->win_hi[w]) {
            r->calls_in[w]++;
            lat_push(&r->lat[w], now - s->t_issue);
        }
    if (now >= r->t_stop ||
        (r->max_calls && atomic_load_explicit(&r->issued, memory_order_relaxed) >= r->max_calls)) {
        atomic_fetch_sub(&r->outstanding, 1);
        return;
    }
    issue(s);
}

static void
sleep_until(uint64_t t)
{
    for (uint64_t now; (now = now_ns()) < t;) {
        uint64_t d = t - now;
        struct timespec ts = {(time_t)(d / NS), (long)(d % NS)};
        nanosleep(&ts, NULL);
    }
}

/* Starts a client node called `name` (tcp_server_port 0, the server's port
 * from node_addrs) and makes one blocking Count call so that the
 * connection is up before anything is measured (retried for up to 5 s). */
static genrpc_node *
start_node(const opts *o, const char *name, genrpc_node_addr *addr)
{
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = name;
    cfg.cookie = "genrpc-bench";
    cfg.tcp_server_port = 0;
    cfg.busy_poll_us = o->busy_poll_us;
    if (o->compression)
        cfg.compression = GENRPC_COMPRESSION_ZSTD;
    static char ca[512], cert[512], key[512];
    if (o->tls) {
        cfg.tls_ca_file = tls_file(ca, sizeof ca, "ca.pem");
        cfg.tls_cert_file = tls_file(cert, sizeof cert, "client.pem");
        cfg.tls_key_file = tls_file(key, sizeof key, "client.key");
    }
    addr->node = o->server;
    addr->driver = o->tls ? GENRPC_DRIVER_TLS : GENRPC_DRIVER_TCP;
    addr->port = o->port;
    cfg.node_addrs = addr;
    cfg.n_node_addrs = 1;
    genrpc_node *node;
    genrpc_status st;
    if (genrpc_node_start(&cfg, &node, &st) != GENRPC_OK) {
        fprintf(stderr, "genrpc_bench_client: cannot start node %s: %s\n", name, st.message);
        return NULL;
    }
    uint64_t give_up = now_ns() + 5 * NS;
    for (;;) {
        Bench__CountRequest req = BENCH__COUNT_REQUEST__INIT;
        Bench__CountReply *reply = NULL;
        genrpc_call_opts copts = {.timeout_ms = 5000, .version = BENCH__ECHO__VERSION};
        int rc = bench__echo__count_call(node, genrpc_node_target(o->server), &req, &reply,
                                         &copts, &st);
        if (rc == GENRPC_OK) {
            bench__count_reply__free_unpacked(reply, NULL);
            return node;
        }
        if (now_ns() > give_up) {
            fprintf(stderr, "genrpc_bench_client: %s unreachable: %s (%s)\n", o->server,
                    genrpc_strerror(rc), st.message);
            genrpc_node_stop(node);
            return NULL;
        }
        usleep(100 * 1000);
    }
}

static int
count_call(genrpc_node *node, const char *server, uint64_t *casts)
{
    Bench__CountRequest req = BENCH__COUNT_REQUEST__INIT;
    Bench__CountReply *reply = NULL;
    genrpc_status st;
    genrpc_call_opts copts = {.timeout_ms = 30000, .version = BENCH__ECHO__VERSION};
    int rc = bench__echo__count_call(node, genrpc_node_target(server), &req, &reply, &copts, &st);
    if (rc != GENRPC_OK) {
        fprintf(stderr, "genrpc_bench_client: Count failed: %s (%s)\n", genrpc_strerror(rc),
                st.message);
        return rc;
    }
    *casts = reply->casts;
    bench__count_reply__free_unpacked(reply, NULL);
    return GENRPC_OK;
}

/* Runs the closed loop on an already started node from t_begin to r->t_stop
 * (or for r->max_calls calls) and waits (bounded) for the last replies.
 * Returns 0 when every call succeeded with the right bytes. */
static int
run_echo(run *r, uint64_t t_begin)
{
    r->slots = calloc((size_t)r->conc, sizeof *r->slots);
    if (!r->slots)
        return 1;
    for (int i = 0; i < r->conc; i++) {
        r->slots[i].r = r;
        r->slots[i].buf = malloc(r->payload ? r->payload : 1);
        if (!r->slots[i].buf)
            return 1;
        for (size_t j = 0; j < r->payload; j++)
            r->slots[i].buf[j] = (uint8_t)(i * 31 + j * 7 + 1);
        r->slots[i].seq = (uint64_t)i << 40;
    }
    sleep_until(t_begin);
    atomic_store(&r->outstanding, r->conc);
    for (int i = 0; i < r->conc; i++)
        issue(&r->slots[i]);
    /* Bounded wait: the stop instant plus the call timeout and some. */
    uint64_t limit = r->max_calls ? now_ns() + 3600 * NS : r->t_stop + 20 * NS;
    while (atomic_load(&r->outstanding) > 0 && now_ns() < limit)
        usleep(1000);
    if (atomic_load(&r->outstanding) > 0) {
        fprintf(stderr, "genrpc_bench_client: %d calls never completed\n",
                atomic_load(&r->outstanding));
        return 1;
    }
    return atomic_load(&r->failed) || atomic_load(&r->bad);
}

/* The contract's mode (and one fan-in client): prints the result line. */
static int
mode_echo(const opts *o, const char *name, uint64_t t_begin)
{
    genrpc_node_addr addr;
    genrpc_node *node = start_node(o, name, &addr);
    if (!node)
        return 1;
    static run r; /* callbacks may outlive a stack frame only if we bail out early */
    r.node = node;
    r.server = o->server;
    r.payload = o->payload;
    r.verify = o->verify;
    r.conc = o->concurrency;
    r.nwin = 1;
    uint64_t t0 = t_begin ? t_begin : now_ns();
    if (o->calls) {
        r.max_calls = o->calls;
        r.win_lo[0] = 0;
        r.win_hi[0] = UINT64_MAX;
        r.t_stop = UINT64_MAX;
    } else {
        r.win_lo[0] = t0 + (uint64_t)(o->warmup * 1e9);
        r.win_hi[0] = r.win_lo[0] + (uint64_t)(o->seconds * 1e9);
        r.t_stop = r.win_hi[0];
    }
    int rc = run_echo(&r, t0);
    double window = (double)(r.win_hi[0] - r.win_lo[0]) / 1e9;
    if (o->calls)
        window = (double)(now_ns() - t0) / 1e9;
    if (rc == 0 && r.calls_in[0] == 0) {
        fprintf(stderr, "genrpc_bench_client: no call completed in the measured window\n");
        rc = 1;
    }
    if (rc == 0)
        print_result(r.calls_in[0], window, &r.lat[0], o->payload);
    genrpc_node_stop(node);
    return rc;
}

/* ---- --mode cast ------------------------------------------------------------ */

static int
mode_cast(const opts *o)
{
    genrpc_node_addr addr;
    genrpc_node *node = start_node(o, o->name, &addr);
    if (!node)
        return 1;
    genrpc_target target = genrpc_node_target(o->server);
    uint8_t *buf = malloc(o->payload ? o->payload : 1);
    for (size_t j = 0; j < o->payload; j++)
        buf[j] = (uint8_t)(j * 7 + 1);
    Bench__EchoRequest req = BENCH__ECHO_REQUEST__INIT;
    req.payload.len = o->payload;
    req.payload.data = buf;

    uint64_t base = 0, counted = 0, c0 = 0, c1 = 0, sent = 0;
    int rc = count_call(node, o->server, &base);
    uint64_t t_begin = now_ns();
    uint64_t t0 = t_begin + (uint64_t)(o->warmup * 1e9);
    uint64_t t1 = t0 + (uint64_t)(o->seconds * 1e9);
    uint64_t m0 = 0, m1 = 0;
    bool in_window = false;
    counted = base;
    while (rc == GENRPC_OK) {
        for (int i = 0; i < 256; i++) {
            if ((rc = bench__echo__echo_cast(node, target, &req, NULL, NULL)) != GENRPC_OK)
                break;
            sent++;
        }
        uint64_t now = now_ns();
        if (!in_window && now >= t0) {
            if ((rc = count_call(node, o->server, &c0)) != GENRPC_OK)
                break;
            m0 = now_ns();
            in_window = true;
        }
        if (now >= t1)
            break;
        /* Client-side cap on casts in flight (sent, not yet run at the server). */
        while (rc == GENRPC_OK && o->cast_window && sent - (counted - base) > o->cast_window) {
            rc = count_call(node, o->server, &counted);
            if (now_ns() >= t1)
                break;
        }
    }
    if (rc == GENRPC_OK)
        rc = count_call(node, o->server, &c1);
    m1 = now_ns();
    /* Wait (bounded) until the server has run every cast sent. */
    uint64_t drained = c1;
    uint64_t give_up = m1 + 60 * NS;
    while (rc == GENRPC_OK && drained - base < sent && now_ns() < give_up) {
        usleep(10 * 1000);
        rc = count_call(node, o->server, &drained);
    }
    uint64_t m2 = now_ns();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    genrpc_node_stop(node);
    free(buf);
    if (rc != GENRPC_OK)
        return 1;
    double win = (double)(m1 - m0) / 1e9;
    printf("casts_per_s=%.1f client_peak_rss_mb=%.1f casts_sent=%llu sent_per_s=%.1f "
           "delivered=%llu drain_ms=%.0f cast_window=%llu\n",
           win > 0 ? (double)(c1 - c0) / win : 0.0, ru.ru_maxrss / 1024.0,
           (unsigned long long)sent, (double)sent / ((double)(m1 - t_begin) / 1e9),
           (unsigned long long)(drained - base), (double)(m2 - m1) / 1e6,
           (unsigned long long)o->cast_window);
    fflush(stdout);
    if (drained - base != sent) {
        fprintf(stderr, "genrpc_bench_client: %llu casts sent, %llu run by the server\n",
                (unsigned long long)sent, (unsigned long long)(drained - base));
        return 1;
    }
    return 0;
}

/* ---- child processes (fan-in, isolation) --------------------------------------- */

typedef struct child {
    pid_t pid;
    int fd;
    char line[512];
} child;

/* Forks a process running mode_echo(o, name, t_begin) with its stdout
 * going to a pipe. Called before this process starts any node (no threads). */
static int
spawn(child *c, const opts *o, const char *name, uint64_t t_begin)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], STDOUT_FILENO);
        close(p[1]);
        _exit(mode_echo(o, name, t_begin));
    }
    close(p[1]);
    c->pid = pid;
    c->fd = p[0];
    c->line[0] = 0;
    return 0;
}

/* Reads the child's line and reaps it, killing it (by PID) after `limit`. */
static int
collect(child *c, uint64_t limit)
{
    size_t n = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (now >= limit)
            break;
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int ms = (int)((limit - now) / 1000000) + 1;
        if (poll(&pfd, 1, ms) <= 0)
            break;
        ssize_t k = read(c->fd, c->line + n, sizeof c->line - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    c->line[n] = 0;
    char *nl = strchr(c->line, '\n');
    if (nl)
        *nl = 0;
    close(c->fd);
    int status = 0;
    if (waitpid(c->pid, &status, WNOHANG) == 0) {
        usleep(200 * 1000);
        if (waitpid(c->pid, &status, WNOHANG) == 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &status, 0);
            fprintf(stderr, "genrpc_bench_client: child %d killed (no result in time)\n",
                    (int)c->pid);
            return 1;
        }
    }
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0 && c->line[0]);
}

static double
field(const char *line, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "%s=", key);
    const char *p = strstr(line, k);
    return p ? atof(p + strlen(k)) : -1.0;
}

static int
mode_fanin(const opts *o)
{
    int k = o->clients;
    child *cs = calloc((size_t)k, sizeof *cs);
    uint64_t t_begin = now_ns() + 2 * NS; /* time for every node to connect */
    for (int i = 0; i < k; i++) {
        char name[64];
        snprintf(name, sizeof name, "bench_client%d@127.0.0.1", i + 1);
        if (spawn(&cs[i], o, name, t_begin) != 0) {
            perror("fork");
            return 1;
        }
    }
    uint64_t limit = t_begin + (uint64_t)((o->warmup + o->seconds) * 1e9) + 30 * NS;
    int bad = 0;
    double total = 0, lo = 1e300, hi = 0;
    for (int i = 0; i < k; i++) {
        bad |= collect(&cs[i], limit);
        double c = field(cs[i].line, "calls_per_s");
        fprintf(stderr, "  fanin client %d: %s\n", i + 1, cs[i].line[0] ? cs[i].line : "FAILED");
        total += c > 0 ? c : 0;
        lo = c < lo ? c : lo;
        hi = c > hi ? c : hi;
    }
    if (bad) {
        fprintf(stderr, "genrpc_bench_client: a fan-in client failed\n");
        return 1;
    }
    printf("fanin_clients=%d total_calls_per_s=%.1f slowest_calls_per_s=%.1f "
           "fastest_calls_per_s=%.1f slowest_over_fastest=%.3f shares=",
           k, total, lo, hi, hi > 0 ? lo / hi : 0.0);
    for (int i = 0; i < k; i++)
        printf("%s%.1f%%", i ? "," : "", 100.0 * field(cs[i].line, "calls_per_s") / total);
    printf("\n");
    fflush(stdout);
    free(cs);
    return 0;
}

static int
mode_isolation(const opts *o)
{
    uint64_t w = (uint64_t)(o->warmup * 1e9), s = (uint64_t)(o->seconds * 1e9);
    uint64_t T = now_ns() + 2 * NS;
    /* The flood: its own node process, starting when the quiet node's first
     * window ends; its warm-up covers the gap, its window is the second one. */
    opts fo = *o;
    fo.concurrency = o->flood_concurrency;
    child flood;
    if (spawn(&flood, &fo, "bench_flood@127.0.0.1", T + w + s) != 0) {
        perror("fork");
        return 1;
    }
    genrpc_node_addr addr;
    genrpc_node *node = start_node(o, "bench_quiet@127.0.0.1", &addr);
    if (!node) {
        kill(flood.pid, SIGKILL);
        waitpid(flood.pid, NULL, 0);
        return 1;
    }
    static run r;
    r.node = node;
    r.server = o->server;
    r.payload = o->payload;
    r.verify = o->verify;
    r.conc = 1;
    r.nwin = 2;
    r.win_lo[0] = T + w;
    r.win_hi[0] = T + w + s;
    r.win_lo[1] = T + 2 * w + s;
    r.win_hi[1] = T + 2 * w + 2 * s;
    r.t_stop = r.win_hi[1];
    int rc = run_echo(&r, T);
    genrpc_node_stop(node);
    int frc = collect(&flood, r.t_stop + 30 * NS);
    fprintf(stderr, "  isolation flood node (%d outstanding): %s\n", fo.concurrency,
            flood.line[0] ? flood.line : "FAILED");
    if (rc || frc || !r.calls_in[0] || !r.calls_in[1]) {
        fprintf(stderr, "genrpc_bench_client: isolation run failed\n");
        return 1;
    }
    qsort(r.lat[0].v, r.lat[0].n, sizeof r.lat[0].v[0], lat_cmp_u32_);
    qsort(r.lat[1].v, r.lat[1].n, sizeof r.lat[1].v[0], lat_cmp_u32_);
    double p99a = lat_pct_us(&r.lat[0], 99), p99b = lat_pct_us(&r.lat[1], 99);
    printf("quiet_p50_us=%.2f quiet_p99_us=%.2f flood_p50_us=%.2f flood_p99_us=%.2f "
           "p99_ratio=%.2f quiet_calls_per_s=%.1f quiet_calls_per_s_in_flood=%.1f "
           "flood_calls_per_s=%.1f\n",
           lat_pct_us(&r.lat[0], 50), p99a, lat_pct_us(&r.lat[1], 50), p99b,
           p99a > 0 ? p99b / p99a : 0.0, (double)r.calls_in[0] / o->seconds,
           (double)r.calls_in[1] / o->seconds, field(flood.line, "calls_per_s"));
    fflush(stdout);
    return 0;
}

/* ---- main ------------------------------------------------------------------- */

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: genrpc_bench_client [--host H] [--port P] [--payload B] [--concurrency N]\n"
            "         [--seconds S] [--warmup W] [--verify] [--calls N]\n"
            "         [--mode echo|cast|fanin|isolation] [--clients K] [--cast-window C]\n"
            "         [--flood-concurrency N] [--name NODE] [--server NODE]\n"
            "         [--busy-poll-us U]  (the nodes' busy_poll_us; default:\n"
            "                              $GENRPC_BENCH_BUSY_POLL_US or 0)\n"
            "         [--tls]  (dial --port over TLS; certificates in $GENRPC_BENCH_TLS_DIR)\n"
            "         [--compression]  (zstd payloads where the server agrees)\n");
}

int
main(int argc, char **argv)
{
    opts o = {.host = "127.0.0.1",
              .mode = "echo",
              .name = "bench_client@127.0.0.1",
              .server = NULL,
              .port = 5369,
              .concurrency = 1,
              .clients = 4,
              .flood_concurrency = 128,
              .payload = 64,
              .seconds = 5,
              .warmup = 1};
    const char *busy_env = getenv("GENRPC_BENCH_BUSY_POLL_US");
    o.busy_poll_us = busy_env ? atoi(busy_env) : 0;
    static const struct option lo[] = {{"host", required_argument, 0, 'H'},
                                       {"port", required_argument, 0, 'p'},
                                       {"payload", required_argument, 0, 'b'},
                                       {"concurrency", required_argument, 0, 'c'},
                                       {"seconds", required_argument, 0, 's'},
                                       {"warmup", required_argument, 0, 'w'},
                                       {"verify", no_argument, 0, 'v'},
                                       {"calls", required_argument, 0, 'n'},
                                       {"mode", required_argument, 0, 'm'},
                                       {"clients", required_argument, 0, 'k'},
                                       {"cast-window", required_argument, 0, 'W'},
                                       {"flood-concurrency", required_argument, 0, 'f'},
                                       {"name", required_argument, 0, 'N'},
                                       {"server", required_argument, 0, 'S'},
                                       {"busy-poll-us", required_argument, 0, 'B'},
                                       {"tls", no_argument, 0, 'T'},
                                       {"compression", no_argument, 0, 'Z'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
        switch (ch) {
        case 'H': o.host = optarg; break;
        case 'p': o.port = atoi(optarg); break;
        case 'b': o.payload = strtoul(optarg, NULL, 10); break;
        case 'c': o.concurrency = atoi(optarg); break;
        case 's': o.seconds = atof(optarg); break;
        case 'w': o.warmup = atof(optarg); break;
        case 'v':
            o.verify = true;
            break;
        case 'n': o.calls = strtoull(optarg, NULL, 10); break;
        case 'm': o.mode = optarg; break;
        case 'k': o.clients = atoi(optarg); break;
        case 'W': o.cast_window = strtoull(optarg, NULL, 10); break;
        case 'f': o.flood_concurrency = atoi(optarg); break;
        case 'N': o.name = optarg; break;
        case 'S': o.server = optarg; break;
        case 'B': o.busy_poll_us = atoi(optarg); break;
        case 'T': o.tls = true; break;
        case 'Z': o.compression = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || o.concurrency < 1 || o.clients < 1 || o.flood_concurrency < 1 ||
        o.seconds <= 0 || o.warmup < 0) {
        usage(stderr);
        return 2;
    }
    if (!o.server) {
        snprintf(server_name_buf, sizeof server_name_buf, "bench_server@%s", o.host);
        o.server = server_name_buf;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(o.mode, "echo"))
        return mode_echo(&o, o.name, 0);
    if (!strcmp(o.mode, "cast"))
        return mode_cast(&o);
    if (!strcmp(o.mode, "fanin"))
        return mode_fanin(&o);
    if (!strcmp(o.mode, "isolation"))
        return mode_isolation(&o);
    usage(stderr);
    return 2;
}
