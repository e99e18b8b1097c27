/*
 * posix.c - the embedded client's transport for hosts and tests: TCP over
 * POSIX sockets (poll for every timeout), random bytes from getrandom.
 * Not part of the core: a device fills genrpc_emb_transport itself.
 */
#define _GNU_SOURCE
#include "genrpc/embedded.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint32_t
posix_now_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* Waits for `events` on fd for at most timeout_ms: 1 ready, 0 timeout, -1 error. */
static int
wait_fd(int fd, short events, uint32_t timeout_ms)
{
    struct pollfd pfd = {fd, events, 0};
    uint32_t start = posix_now_ms(NULL);
    for (;;) {
        uint32_t spent = posix_now_ms(NULL) - start;
        int left = spent >= timeout_ms ? 0 : (int)(timeout_ms - spent);
        int rc = poll(&pfd, 1, left);
        if (rc >= 0)
            return rc > 0 ? 1 : 0;
        if (errno != EINTR)
            return -1;
    }
}

static void
posix_close(void *ctx)
{
    genrpc_emb_posix *p = ctx;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

/* Non-blocking connect to one address, bounded by timeout_ms. */
static int
connect_one(const struct addrinfo *ai, uint32_t timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
    if (fd < 0)
        return -1;
    int one = 1, err = 0;
    socklen_t len = sizeof err;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
        (errno != EINPROGRESS || wait_fd(fd, POLLOUT, timeout_ms) != 1 ||
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A numeric IPv4/IPv6 address without getaddrinfo (which allocates). */
static bool
numeric_addr(const genrpc_emb_posix *p, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, p->host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(p->port);
        *len = sizeof *in4;
        return true;
    }
    if (inet_pton(AF_INET6, p->host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(p->port);
        *len = sizeof *in6;
        return true;
    }
    return false;
}

static int
posix_open(void *ctx, uint32_t timeout_ms)
{
    genrpc_emb_posix *p = ctx;
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t ss_len;
    char port[8];
    posix_close(p);
    if (p->host != NULL && numeric_addr(p, &ss, &ss_len)) {
        struct addrinfo ai;
        memset(&ai, 0, sizeof ai);
        ai.ai_family = ss.ss_family;
        ai.ai_socktype = SOCK_STREAM;
        ai.ai_addr = (struct sockaddr *)&ss;
        ai.ai_addrlen = ss_len;
        p->fd = connect_one(&ai, timeout_ms);
        return p->fd >= 0 ? 0 : GENRPC_EMB_IO_ERROR;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%u", (unsigned)p->port);
    if (p->host == NULL || getaddrinfo(p->host, port, &hints, &res) != 0)
        return GENRPC_EMB_IO_ERROR;
    for (const struct addrinfo *ai = res; ai != NULL && p->fd < 0; ai = ai->ai_next)
        p->fd = connect_one(ai, timeout_ms);
    freeaddrinfo(res);
    return p->fd >= 0 ? 0 : GENRPC_EMB_IO_ERROR;
}

static int
posix_read(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    genrpc_emb_posix *p = ctx;
    if (cap > 0x7FFFFFFF)
        cap = 0x7FFFFFFF;
    for (;;) {
        ssize_t n = recv(p->fd, buf, cap, 0);
        if (n > 0)
            return (int)n;
        if (n == 0)
            return GENRPC_EMB_IO_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno == ECONNRESET)
            return GENRPC_EMB_IO_CLOSED;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return GENRPC_EMB_IO_ERROR;
        int rc = wait_fd(p->fd, POLLIN, timeout_ms);
        if (rc <= 0)
            return rc == 0 ? 0 : GENRPC_EMB_IO_ERROR;
        timeout_ms = 0; /* readable now; a spurious wake-up reads as a timeout */
    }
}

static int
posix_write(void *ctx, const uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    genrpc_emb_posix *p = ctx;
    uint32_t start = posix_now_ms(NULL);
    while (len > 0) {
        ssize_t n = send(p->fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return GENRPC_EMB_IO_CLOSED;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            return GENRPC_EMB_IO_ERROR;
        uint32_t spent = posix_now_ms(NULL) - start;
        if (spent >= timeout_ms)
            return 1;
        int rc = wait_fd(p->fd, POLLOUT, timeout_ms - spent);
        if (rc < 0)
            return GENRPC_EMB_IO_ERROR;
    }
    return 0;
}

void
genrpc_emb_posix_transport(genrpc_emb_posix *p, genrpc_emb_transport *t)
{
    p->fd = -1;
    t->ctx = p;
    t->open = posix_open;
    t->read = posix_read;
    t->write = posix_write;
    t->close = posix_close;
    t->now_ms = posix_now_ms;
}

int
genrpc_emb_posix_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}
