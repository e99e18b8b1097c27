/*
 * dialer.c - reaching a remote node: its address (discovery callback, the
 * per-node map, the defaults), the asynchronous connect on the loop and
 * its timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "net/conn.h"
#include "net/dialer.h"
#include "net/handshake.h"

/* driver and port for `name`: discovery callback, then the per-node map,
 * then the defaults (checked by check_addr). */
static int
lookup_port(genrpc__net *net, const char *name, int *port, genrpc_driver *drv,
            genrpc_status *st)
{
    genrpc_driver driver = net->cfg->default_client_driver;
    bool found = false;
    if (net->cfg->discovery) {
        if (net->cfg->discovery(name, &driver, port, net->cfg->discovery_arg) != 0)
            return genrpc__fail(st, GENRPC_E_DISCOVERY, "discovery failed for node %s", name);
        found = true;
    }
    for (size_t i = 0; !found && i < net->cfg->n_node_addrs; i++) {
        if (strcmp(net->cfg->node_addrs[i].node, name) == 0) {
            driver = net->cfg->node_addrs[i].driver;
            *port = net->cfg->node_addrs[i].port;
            found = true;
        }
    }
    if (!found)
        *port = driver == GENRPC_DRIVER_TCP ? net->cfg->tcp_client_port
                                            : net->cfg->ssl_client_port;
    *drv = driver;
    return GENRPC_OK;
}

/* Whatever the source said: a transport this node has, a real port. */
static int
check_addr(genrpc__net *net, const char *name, genrpc_driver driver, int port, genrpc_status *st)
{
    if (driver != GENRPC_DRIVER_TCP && driver != GENRPC_DRIVER_TLS)
        return genrpc__fail(st, GENRPC_E_DISCOVERY, "node %s: unknown driver %d", name, driver);
    if (driver == GENRPC_DRIVER_TLS && !net->tls_ctx)
        return genrpc__fail(st, GENRPC_E_TLS,
                            "node %s is reached by TLS but node %s has no TLS configuration",
                            name, net->cfg->name);
    if (port <= 0 || port > 65535)
        return genrpc__fail(st, GENRPC_E_DISCOVERY, "node %s: bad port %d", name, port);
    return GENRPC_OK;
}

bool
genrpc__dial_set_resolver(genrpc__net *net, const genrpc__resolver *r)
{
    pthread_rwlock_wrlock(&net->resolver_mu);
    bool ok = !r || !net->resolver.resolve;
    if (ok)
        net->resolver = r ? *r : (genrpc__resolver){0};
    pthread_rwlock_unlock(&net->resolver_mu);
    return ok;
}

/* The installed resolver's answer: GENRPC_OK (host, port and driver set),
 * an error, or 1 when no resolver is installed. */
static int
ask_resolver(genrpc__net *net, const char *name, char *host, size_t hostlen, int *port,
             genrpc_driver *drv, genrpc_status *st)
{
    int rc = 1;
    pthread_rwlock_rdlock(&net->resolver_mu);
    if (net->resolver.resolve)
        rc = net->resolver.resolve(net->resolver.arg, name, host, hostlen, drv, port, st);
    pthread_rwlock_unlock(&net->resolver_mu);
    return rc;
}

int
genrpc__dial_resolve(genrpc__net *net, const char *name, genrpc__dial_addr *to,
                     genrpc_status *st)
{
    const char *at = strchr(name, '@');
    if (!at || at == name || !at[1])
        return genrpc__fail(st, GENRPC_E_INVAL, "node name '%s' is not name@host", name);
    char host[256];
    int port, rc = ask_resolver(net, name, host, sizeof host, &port, &to->driver, st);
    if (rc == 1) {
        snprintf(host, sizeof host, "%s", at + 1);
        rc = lookup_port(net, name, &port, &to->driver, st);
    }
    if (rc == GENRPC_OK)
        rc = check_addr(net, name, to->driver, port, st);
    if (rc != GENRPC_OK)
        return rc;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    /* A host name (not an address) blocks this thread in the resolver. */
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0)
        return genrpc__fail(st, GENRPC_E_CONNECT, "cannot resolve host of %s: %s", name,
                            gai_strerror(rc));
    memcpy(&to->ss, res->ai_addr, res->ai_addrlen);
    to->len = res->ai_addrlen;
    freeaddrinfo(res);
    return GENRPC_OK;
}

/* On the loop: opens c's socket and starts the connect. */
static void
connect_cmd(genrpc__cmd *cmd)
{
    genrpc__conn *c = GENRPC__CONTAINER_OF(cmd, genrpc__conn, connect_cmd);
    genrpc__net *net = c->net;
    GENRPC__ASSERT_ON_LOOP(net->loop);
    if (atomic_load(&c->state) == GENRPC__CLOSED) {
        genrpc__conn_unref(c);
        return;
    }
    if (atomic_load(&net->stopping) || !net->loop->ev) {
        genrpc__conn_close(c, GENRPC_E_STOPPED, "node stopping");
        genrpc__conn_unref(c);
        return;
    }
    int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        genrpc__conn_close(c, GENRPC_E_CONNECT, "socket: %s", strerror(errno));
        genrpc__conn_unref(c);
        return;
    }
    c->fd = fd; /* the command's reference is now the loop's */
    genrpc__sockopts(net, fd);
    if (connect(fd, (struct sockaddr *)&c->addr, c->addr_len) != 0 && errno != EINPROGRESS) {
        genrpc__conn_close(c, GENRPC_E_CONNECT, "connect: %s", strerror(errno));
        return;
    }
    /* Writable means connected (or failed): conn.c's write_cb calls
     * genrpc__dial_connected while the state is CONNECTING. */
    ev_io_set(&c->ww, fd, EV_WRITE);
    ev_io_start(net->loop->ev, &c->ww);
    genrpc__conn_timer_start(c, net->cfg->connect_timeout_ms);
}

void
genrpc__dial_start(genrpc__conn *c, const genrpc__dial_addr *to)
{
    if (to->driver == GENRPC_DRIVER_TLS)
        c->tp = &genrpc__tls_transport;
    memcpy(&c->addr, &to->ss, to->len);
    c->addr_len = to->len;
    genrpc__cmd_init(&c->connect_cmd, connect_cmd);
    genrpc__conn_ref(c); /* the connect command's; becomes the loop's */
    genrpc__loop_post(c->net->loop, &c->connect_cmd); /* posted once per conn */
}

void
genrpc__dial_connected(genrpc__conn *c)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    int err = 0;
    socklen_t len = sizeof err;
    ev_io_stop(c->net->loop->ev, &c->ww);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        genrpc__conn_close(c, GENRPC_E_CONNECT, "connect: %s", strerror(err));
        return;
    }
    genrpc__conn_up(c);
}

