/*
 * fuzz_node - a real in-process node fed fuzzed bytes through a socketpair:
 * the read path (conn.c: reserve/parse), the handshake state machine of
 * both roles (handshake.c), and the request path (server.c: decode,
 * resolve, decode the payload, run a handler, encode the reply) or the
 * client's reply path (client.c), with the node's event loop and workers
 * running as in production.
 *
 * Input: mode byte, then the bytes to send.
 *   mode & 1   0: we are a client and the node accepts (acceptor side);
 *              1: the node is the client and we play its server.
 *   mode & 2   complete the handshake correctly first (HMAC with the
 *              cookie), so that what follows is read as post-auth frames.
 *   mode & 4   the bytes are [u16 len][body]... units, each sent as one
 *              frame with a correct 4-byte prefix (lets mutations reach
 *              the bodies instead of breaking lengths); else sent raw.
 *   mode & 8   the handshake (mode & 2) agrees on protocol version 2 and
 *              on zstd, so the frames that follow are read in its layouts
 *              (flags, metadata, COMPRESSED payloads, CANCEL, GOAWAY);
 *              else version 1.
 * After the bytes, we shut our side's writing down and read until the node
 * closes: a node that never closes within 10 s is reported as a hang.
 *
 * The node is the one the runtime builds for an accepted socket
 * (loop.c accept_cb) or a dialled one; only the runtime's own entry points
 * are used, on the loop thread (a command posted with genrpc__loop_post).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wire/auth.h"
#include "net/handshake.h"
#include "rpc/client.h"
#include "rpc/node.h"
#include "rpc/server.h"
#include "test.genrpc.h"

#define NODE_NAME "fuzz@127.0.0.1"
#define PEER_NAME "peer@127.0.0.1"
#define COOKIE "fuzz-cookie"
#define IO_TIMEOUT_MS 10000

static genrpc_node *g_node;

/* ---- the modules it serves: test.proto's, with handlers that finish fast -- */

static int
t_ping(const Test__PingRequest *req, Test__PingReply *reply, genrpc_ctx *ctx)
{
    (void)ctx;
    reply->text = req->text;
    return 0;
}

static int
t_echo(const Test__EchoRequest *req, Test__EchoReply *reply, genrpc_ctx *ctx)
{
    if (req->payload.len == 0)
        return 0;
    uint8_t *d = genrpc_ctx_alloc(ctx, req->payload.len);
    if (!d)
        return genrpc_fail(ctx, 12, "out of memory");
    memcpy(d, req->payload.data, req->payload.len);
    reply->payload.data = d;
    reply->payload.len = req->payload.len;
    return 0;
}

static int
t_sleep(const Test__SleepRequest *req, Test__SleepReply *reply, genrpc_ctx *ctx)
{
    (void)ctx;
    reply->value = req->value; /* no sleeping: a fuzzer must not stall workers */
    return 0;
}

static int
t_fail(const Test__FailRequest *req, Test__Empty *reply, genrpc_ctx *ctx)
{
    (void)reply;
    return genrpc_fail(ctx, req->code, "%s", req->message);
}

static int
t_app_error(const Test__AppErrorRequest *req, Test__AppErrorReply *reply, genrpc_ctx *ctx)
{
    (void)ctx;
    reply->error = req->error;
    return 0;
}

static int
t_stub(const Test__Empty *req, Test__StubReply *reply, genrpc_ctx *ctx)
{
    (void)req;
    (void)ctx;
    reply->name = (char *)"stub_function";
    return 0;
}

static int
t_timestamp(const Test__Empty *req, Test__TimestampReply *reply, genrpc_ctx *ctx)
{
    (void)req;
    (void)ctx;
    reply->unix_us = 1;
    return 0;
}

static int
t_count(const Test__CountRequest *req, Test__Empty *reply, genrpc_ctx *ctx)
{
    (void)req;
    (void)reply;
    (void)ctx;
    return 0;
}

static int
t_read_count(const Test__Empty *req, Test__CountReply *reply, genrpc_ctx *ctx)
{
    (void)req;
    reply->count = 3;
    reply->n_seqs = 3;
    reply->seqs = genrpc_ctx_alloc(ctx, 3 * sizeof(uint64_t));
    if (!reply->seqs)
        return genrpc_fail(ctx, 12, "out of memory");
    for (int i = 0; i < 3; i++)
        reply->seqs[i] = (uint64_t)i;
    return 0;
}

static int
t_secret(const Test__Empty *req, Test__Empty *reply, genrpc_ctx *ctx)
{
    (void)req;
    (void)reply;
    (void)ctx;
    __builtin_trap(); /* internal: must never run for a remote caller */
}

static const Test__Test__Impl test_impl = {
    .ping = t_ping,
    .echo = t_echo,
    .sleep = t_sleep,
    .fail = t_fail,
    .app_error = t_app_error,
    .stub = t_stub,
    .timestamp = t_timestamp,
    .count = t_count,
    .read_count = t_read_count,
    .unimplemented = NULL,
    .secret = t_secret,
};

static int
v1_which(const Test__Empty *req, Test__VersionReply *reply, genrpc_ctx *ctx)
{
    (void)req;
    (void)ctx;
    reply->version = 1;
    return 0;
}

static int
v2_which(const Test__Empty *req, Test__VersionReply *reply, genrpc_ctx *ctx)
{
    (void)req;
    (void)ctx;
    reply->version = 2;
    return 0;
}

static const Test__VersionedV1__Impl v1_impl = {.which = v1_which};
static const Test__VersionedV2__Impl v2_impl = {.which = v2_which};

/* ---- the node -------------------------------------------------------------- */

static void
die(const char *what)
{
    fprintf(stderr, "fuzz_node: %s\n", what);
    abort();
}

static void
start_node(void)
{
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = NODE_NAME;
    cfg.cookie = COOKIE;
    cfg.tcp_server_port = GENRPC_PORT_DISABLED; /* connections come from socketpairs */
    cfg.worker_threads = 2;
    cfg.max_frame_size = 256 * 1024;
    cfg.compression = GENRPC_COMPRESSION_ZSTD; /* mode & 8: compressed frames both ways */
    cfg.compression_min_bytes = 64;
    cfg.authentication_timeout_ms = 5000;
    cfg.send_timeout_ms = 5000;
    genrpc_status st;
    if (genrpc_node_start(&cfg, &g_node, &st) != GENRPC_OK)
        die(st.message);
    if (test__test__register(g_node, &test_impl, NULL) != GENRPC_OK ||
        test__versioned_v1__register(g_node, &v1_impl, NULL) != GENRPC_OK ||
        test__versioned_v2__register(g_node, &v2_impl, NULL) != GENRPC_OK)
        die("register");
}

typedef struct attach {
    genrpc__cmd cmd; /* posted to the loop; we wait until it ran */
    genrpc_node *node;
    int fd;
    bool client;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
} attach;

/* On the loop: what accept_cb does for an accepted socket, or what the
 * client map does once a dialled socket has connected. */
static void
attach_cmd(genrpc__cmd *cmd)
{
    attach *a = GENRPC__CONTAINER_OF(cmd, attach, cmd);
    genrpc_node *node = a->node;
    genrpc__conn *c =
        a->client ? genrpc__conn_new(&node->net, GENRPC__CLIENT, a->fd, &genrpc__client_role,
                                     GENRPC__CLIENT_SIZE)
                  : genrpc__conn_new(&node->net, GENRPC__ACCEPTOR, a->fd, &genrpc__acceptor_role,
                                     GENRPC__ACCEPTOR_SIZE);
    if (!c)
        die("conn_new");
    if (a->client) {
        strcpy(c->peer, PEER_NAME);
        genrpc__conn_start_io(c);
        genrpc__handshake_start_client(c);
    } else {
        genrpc__conns_link(&node->net, &node->net.acceptors, c);
        genrpc__conn_start_io(c);
        genrpc__handshake_start_acceptor(c);
    }
    pthread_mutex_lock(&a->mu);
    a->done = true;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->mu);
}

/* ---- our end of the socket ------------------------------------------------------ */

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct peer {
    int fd;
    uint8_t buf[1 << 16];
    size_t have;
    bool eof;
} peer;

/* Reads what is there (waiting up to ms); returns false on EOF/error. */
static bool
pump(peer *p, int ms, bool keep)
{
    struct pollfd pf = {p->fd, POLLIN, 0};
    if (poll(&pf, 1, ms) <= 0)
        return !p->eof;
    uint8_t tmp[1 << 16];
    size_t room = keep ? sizeof p->buf - p->have : sizeof tmp;
    ssize_t n = recv(p->fd, keep ? p->buf + p->have : tmp, room ? room : 1, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        p->eof = true;
        return false;
    }
    if (n > 0 && keep)
        p->have += (size_t)n;
    return true;
}

/* The next frame's body (pointer into p->buf; consumed by the next call). */
static bool
read_frame(peer *p, const uint8_t **body, size_t *len)
{
    static uint8_t last[1 << 16];
    int64_t deadline = now_ms() + IO_TIMEOUT_MS;
    for (;;) {
        size_t blen;
        if (genrpc__frame_peek(p->buf, p->have, &blen) && blen < sizeof last &&
            p->have >= GENRPC__LEN_PREFIX + blen) {
            memcpy(last, p->buf + GENRPC__LEN_PREFIX, blen);
            memmove(p->buf, p->buf + GENRPC__LEN_PREFIX + blen, p->have - GENRPC__LEN_PREFIX - blen);
            p->have -= GENRPC__LEN_PREFIX + blen;
            *body = last;
            *len = blen;
            return true;
        }
        if (now_ms() > deadline)
            die("no handshake frame from the node within 10 s");
        if (!pump(p, 50, true))
            return false;
    }
}

/* Writes everything while draining what the node sends (both socket
 * buffers can fill up: the node answers while we write). */
static bool
send_all(peer *p, const uint8_t *b, size_t n)
{
    int64_t deadline = now_ms() + IO_TIMEOUT_MS;
    while (n > 0) {
        ssize_t w = send(p->fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return false; /* the node closed: fine */
        if (now_ms() > deadline)
            die("the node stopped reading for 10 s");
        struct pollfd pf = {p->fd, POLLIN | POLLOUT, 0};
        poll(&pf, 1, 50);
        if (pf.revents & POLLIN)
            pump(p, 0, false);
    }
    return true;
}

static bool
send_frame(peer *p, const uint8_t *body, size_t len)
{
    uint8_t pre[GENRPC__LEN_PREFIX];
    genrpc__put_u32(pre, (uint32_t)len);
    return send_all(p, pre, sizeof pre) && send_all(p, body, len);
}

/* The protocol version the fuzzer's side of the handshake asks for. */
static uint8_t g_proto = 1;

/* AUTH or AUTH_OK in g_proto's layout. */
static size_t
encode_proof(uint8_t *f, size_t cap, genrpc__kind kind, const uint8_t *mac)
{
    /* version 2 also agrees on zstd (setting 1), so COMPRESSED payloads
     * reach the decompressor */
    genrpc__auth_body a = {.mac = mac, .n_settings = 1, .settings = {{1, 1}}};
    return g_proto >= 2 ? genrpc__encode_auth(f, cap, kind, &a) : genrpc__encode_mac(f, cap, kind, mac);
}

static bool
decode_proof(const uint8_t *body, size_t len, genrpc__kind kind)
{
    genrpc__auth_body a;
    const uint8_t *mac;
    return g_proto >= 2 ? genrpc__decode_auth(body, len, kind, &a)
                        : genrpc__decode_mac(body, len, kind, &mac);
}

/* We are the client: HELLO, CHALLENGE, AUTH, AUTH_OK. */
static bool
auth_as_client(peer *p)
{
    uint8_t cn[GENRPC__NONCE_LEN], sn[GENRPC__NONCE_LEN], mac[GENRPC__MAC_LEN], f[600];
    memset(cn, 7, sizeof cn);
    genrpc__hello h = {g_proto, g_proto, cn, {PEER_NAME, strlen(PEER_NAME)},
                       {NODE_NAME, strlen(NODE_NAME)}};
    if (!send_all(p, f, genrpc__encode_hello(f, sizeof f, &h)))
        return false;
    const uint8_t *body;
    size_t len;
    genrpc__challenge ch;
    if (!read_frame(p, &body, &len) || !genrpc__decode_challenge(body, len, &ch))
        die("no CHALLENGE");
    memcpy(sn, ch.nonce, sizeof sn);
    genrpc__auth_mac(COOKIE, strlen(COOKIE), GENRPC__AUTH_CLIENT, cn, sn, PEER_NAME,
                     strlen(PEER_NAME), NODE_NAME, strlen(NODE_NAME), mac);
    if (!send_all(p, f, encode_proof(f, sizeof f, GENRPC__K_AUTH, mac)))
        return false;
    if (!read_frame(p, &body, &len) || !decode_proof(body, len, GENRPC__K_AUTH_OK))
        die("no AUTH_OK");
    return true;
}

/* The node is the client: we answer its HELLO as its server. */
static bool
auth_as_server(peer *p)
{
    uint8_t cn[GENRPC__NONCE_LEN], sn[GENRPC__NONCE_LEN], mac[GENRPC__MAC_LEN], f[600];
    const uint8_t *body;
    size_t len;
    genrpc__hello h;
    if (!read_frame(p, &body, &len) || !genrpc__decode_hello(body, len, &h))
        die("no HELLO");
    memcpy(cn, h.nonce, sizeof cn);
    memset(sn, 9, sizeof sn);
    genrpc__challenge ch = {g_proto, sn, {PEER_NAME, strlen(PEER_NAME)}};
    if (!send_all(p, f, genrpc__encode_challenge(f, sizeof f, &ch)))
        return false;
    if (!read_frame(p, &body, &len) || !decode_proof(body, len, GENRPC__K_AUTH))
        die("no AUTH");
    genrpc__auth_mac(COOKIE, strlen(COOKIE), GENRPC__AUTH_SERVER, cn, sn, NODE_NAME,
                     strlen(NODE_NAME), PEER_NAME, strlen(PEER_NAME), mac);
    return send_all(p, f, encode_proof(f, sizeof f, GENRPC__K_AUTH_OK, mac));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!g_node)
        start_node();
    uint8_t mode = data[0];
    data++;
    size--;
    g_proto = (mode & 8) ? 2 : 1;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair");
    attach a = {{0}, g_node, sv[1], (mode & 1) != 0, PTHREAD_MUTEX_INITIALIZER,
                PTHREAD_COND_INITIALIZER, false};
    genrpc__cmd_init(&a.cmd, attach_cmd);
    genrpc__loop_post(&g_node->loop, &a.cmd); /* cannot fail */
    pthread_mutex_lock(&a.mu);
    while (!a.done)
        pthread_cond_wait(&a.cond, &a.mu);
    pthread_mutex_unlock(&a.mu);

    static peer p;
    p.fd = sv[0];
    p.have = 0;
    p.eof = false;
    bool ok = true;
    if (mode & 2)
        ok = (mode & 1) ? auth_as_server(&p) : auth_as_client(&p);
    if (ok && (mode & 4)) {
        while (size >= 2 && ok) {
            size_t n = (size_t)data[0] << 8 | data[1];
            data += 2;
            size -= 2;
            if (n > size)
                n = size;
            ok = send_frame(&p, data, n);
            data += n;
            size -= n;
        }
    } else if (ok) {
        send_all(&p, data, size);
    }
    shutdown(sv[0], SHUT_WR);
    /* The node must close: on our EOF, on bad input, or by its timer. */
    int64_t deadline = now_ms() + IO_TIMEOUT_MS;
    while (!p.eof) {
        if (now_ms() > deadline)
            die("the node did not close the connection within 10 s of our EOF");
        pump(&p, 50, false);
    }
    close(sv[0]);
    return 0;
}
