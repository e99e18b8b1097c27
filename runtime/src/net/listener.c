/*
 * listener.c - the node's listeners (TCP and TLS), accepting connections,
 * and the socket options every connection gets.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/conn.h"
#include "net/net.h"

void
genrpc__sockopts(const genrpc__net *net, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    /* gen_rpc set these at SOL_SOCKET by mistake (CONFORMANCE S12). */
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &net->cfg->socket_keepalive_idle_s, sizeof(int));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &net->cfg->socket_keepalive_interval_s,
               sizeof(int));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &net->cfg->socket_keepalive_count, sizeof(int));
    /* Keepalive probes only an idle connection. One with unacknowledged
     * data (calls in flight to a host that vanished) would be retried by
     * the kernel for many minutes; give up on it after the same time
     * keepalive would: idle + interval x count. */
    long ms = ((long)net->cfg->socket_keepalive_idle_s +
               (long)net->cfg->socket_keepalive_interval_s * net->cfg->socket_keepalive_count) *
              1000;
    if (ms > 0 && ms <= UINT32_MAX) {
        unsigned int user_timeout = (unsigned int)ms;
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
    }
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    genrpc__net *net = w->data;
    bool tls = w == &net->tls_listen_w;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                genrpc__log(net->cfg, GENRPC_LOG_WARN, "accept: %s", strerror(errno));
            return;
        }
        genrpc__sockopts(net, fd);
        genrpc__conn *c =
            genrpc__conn_new(net, GENRPC__ACCEPTOR, fd, net->acceptor_role, net->acceptor_size);
        if (!c) {
            close(fd);
            continue;
        }
        if (tls)
            c->tp = &genrpc__tls_transport;
        /* conn_new's reference is the loop's; the list takes its own. */
        genrpc__conns_link(net, &net->acceptors, c);
        genrpc__conn_up(c);
    }
}

/* One listener (TCP or TLS) on `cfg_port`; fills *fd_out, *port_out, w. */
static int
listen_on(genrpc__net *net, int cfg_port, int *fd_out, int *port_out, ev_io *w,
          genrpc_status *st)
{
    *fd_out = -1;
    *port_out = GENRPC_PORT_DISABLED;
    if (cfg_port == GENRPC_PORT_DISABLED)
        return genrpc__ok(st);

    struct addrinfo hints = {0}, *res = NULL;
    char port[16];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(port, sizeof port, "%d", cfg_port);
    int rc = getaddrinfo(net->cfg->listen_host, port, &hints, &res);
    if (rc != 0)
        return genrpc__fail(st, GENRPC_E_INVAL, "cannot resolve listen host '%s': %s",
                            net->cfg->listen_host, gai_strerror(rc));
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        freeaddrinfo(res);
        if (fd >= 0)
            close(fd);
        return genrpc__fail(st, GENRPC_E_SYSTEM, "cannot listen on %s:%s: %s", net->cfg->listen_host,
                            port, strerror(e));
    }
    freeaddrinfo(res);

    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    ev_io_init(w, accept_cb, fd, EV_READ);
    w->data = net;
    ev_io_start(net->loop->ev, w);
    return genrpc__ok(st);
}

/* The TCP listener and the TLS one; either may be off. */
int
genrpc__listen(genrpc__net *net, genrpc_status *st)
{
    int rc = listen_on(net, net->cfg->tcp_server_port, &net->listen_fd, &net->port,
                       &net->listen_w, st);
    if (rc != GENRPC_OK)
        return rc;
    rc = listen_on(net, net->cfg->ssl_server_port, &net->tls_listen_fd, &net->tls_port,
                   &net->tls_listen_w, st);
    if (rc != GENRPC_OK && net->listen_fd >= 0) {
        ev_io_stop(net->loop->ev, &net->listen_w);
        close(net->listen_fd);
        net->listen_fd = -1;
    }
    return rc;
}

/* Loop only (the node's shutdown): no more connections. */
void
genrpc__listen_close(genrpc__net *net)
{
    GENRPC__ASSERT_ON_LOOP(net->loop);
    if (net->listen_fd >= 0) {
        ev_io_stop(net->loop->ev, &net->listen_w);
        close(net->listen_fd);
        net->listen_fd = -1;
    }
    if (net->tls_listen_fd >= 0) {
        ev_io_stop(net->loop->ev, &net->tls_listen_w);
        close(net->tls_listen_fd);
        net->tls_listen_fd = -1;
    }
}
