/*
 * tcp.c - the plain TCP transport: read() and sendmsg() on the socket,
 * nothing in between, callable from any thread (the loop reads while a
 * caller or worker writes).
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/conn.h"

static ssize_t
tcp_read(genrpc__conn *c, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(c->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? GENRPC__IO_WANT_READ : GENRPC__IO_ERROR;
    }
}

static ssize_t
tcp_writev(genrpc__conn *c, const struct iovec *iov, int iovcnt)
{
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    for (;;) {
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? GENRPC__IO_WANT_WRITE
                                                       : GENRPC__IO_ERROR;
    }
}

const genrpc__transport genrpc__tcp_transport = {
    .name = "tcp",
    .loop_only = false,
    .read = tcp_read,
    .writev = tcp_writev,
};
