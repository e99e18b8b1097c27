/*
 * client.c - the local end of a connection to one remote node (or one
 * {node, key} shard): the client map, address discovery, the asynchronous
 * connect, the table of calls in flight and the replies that complete them.
 *
 * A client is created on first use under the node's conns_mu, so
 * concurrent first uses create exactly one; the connect itself runs on the
 * loop, so an unreachable node delays nobody but its own callers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* FNV-1a: stable across processes and releases, so a key always maps to
 * the same shard. */
static uint64_t
key_hash(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* conns_mu held */
static genrpc__conn *
find_client(genrpc_node *node, const char *name, bool has_key, uint64_t hash)
{
    for (genrpc__conn *c = node->clients; c; c = c->list_next)
        if (c->has_key == has_key && c->key_hash == hash && strcmp(c->peer, name) == 0 &&
            atomic_load(&c->state) != GENRPC__CLOSED)
            return c;
    return NULL;
}

/* driver and port for `name`: discovery callback, then the per-node map,
 * then the defaults. */
static int
lookup_port(genrpc_node *node, const char *name, int *port, genrpc_driver *drv,
            genrpc_status *st)
{
    genrpc_driver driver = node->cfg.default_client_driver;
    bool found = false;
    if (node->cfg.discovery) {
        if (node->cfg.discovery(name, &driver, port, node->cfg.discovery_arg) != 0)
            return genrpc__fail(st, GENRPC_E_DISCOVERY, "discovery failed for node %s", name);
        found = true;
    }
    for (size_t i = 0; !found && i < node->cfg.n_node_addrs; i++) {
        if (strcmp(node->node_addrs[i].node, name) == 0) {
            driver = node->node_addrs[i].driver;
            *port = node->node_addrs[i].port;
            found = true;
        }
    }
    if (!found)
        *port = driver == GENRPC_DRIVER_TCP ? node->cfg.tcp_client_port
                                            : node->cfg.ssl_client_port;
    if (driver != GENRPC_DRIVER_TCP && driver != GENRPC_DRIVER_TLS)
        return genrpc__fail(st, GENRPC_E_DISCOVERY, "node %s: unknown driver %d", name, driver);
    if (driver == GENRPC_DRIVER_TLS && !node->tls_ctx)
        return genrpc__fail(st, GENRPC_E_TLS,
                            "node %s is reached by TLS but node %s has no TLS configuration",
                            name, node->name);
    *drv = driver;
    if (*port <= 0 || *port > 65535)
        return genrpc__fail(st, GENRPC_E_DISCOVERY, "node %s: bad port %d", name, *port);
    return GENRPC_OK;
}

static int
resolve(genrpc_node *node, const char *name, struct sockaddr_storage *ss, socklen_t *len,
        genrpc_driver *driver, genrpc_status *st)
{
    const char *at = strchr(name, '@');
    if (!at || at == name || !at[1])
        return genrpc__fail(st, GENRPC_E_INVAL, "node name '%s' is not name@host", name);
    int port, rc = lookup_port(node, name, &port, driver, st);
    if (rc != GENRPC_OK)
        return rc;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    /* A host name (not an address) blocks this thread in the resolver. */
    rc = getaddrinfo(at + 1, portstr, &hints, &res);
    if (rc != 0)
        return genrpc__fail(st, GENRPC_E_CONNECT, "cannot resolve host of %s: %s", name,
                            gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return GENRPC_OK;
}

static void connect_cmd(genrpc_node *node, void *arg);

int
genrpc__client_get(genrpc_node *node, genrpc_target t, genrpc__conn **out, genrpc_status *st)
{
    *out = NULL;
    if (atomic_load(&node->stopping))
        return genrpc__fail(st, GENRPC_E_STOPPED, "node %s is stopping", node->name);
    if (!t.node || !t.node[0] || strlen(t.node) > GENRPC__NAME_MAX || (t.key_len && !t.key))
        return genrpc__fail(st, GENRPC_E_INVAL, "bad target");
    bool has_key = t.key != NULL;
    uint64_t hash = has_key ? key_hash(t.key, t.key_len) : 0;

    pthread_mutex_lock(&node->conns_mu);
    genrpc__conn *c = find_client(node, t.node, has_key, hash);
    if (c)
        genrpc__conn_ref(c);
    pthread_mutex_unlock(&node->conns_mu);
    if (c) {
        *out = c;
        return GENRPC_OK;
    }

    struct sockaddr_storage ss;
    socklen_t len = 0;
    genrpc_driver driver = GENRPC_DRIVER_TCP;
    int rc = resolve(node, t.node, &ss, &len, &driver, st);
    if (rc != GENRPC_OK)
        return rc;

    pthread_mutex_lock(&node->conns_mu);
    c = find_client(node, t.node, has_key, hash); /* another thread was quicker */
    if (c) {
        genrpc__conn_ref(c);
        pthread_mutex_unlock(&node->conns_mu);
        *out = c;
        return GENRPC_OK;
    }
    c = genrpc__conn_new(node, GENRPC__CLIENT, -1); /* its reference is the caller's */
    if (!c) {
        pthread_mutex_unlock(&node->conns_mu);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a client");
    }
    strcpy(c->peer, t.node);
    if (driver == GENRPC_DRIVER_TLS)
        c->tp = &genrpc__tls_transport;
    c->has_key = has_key;
    c->key_hash = hash;
    memcpy(&c->addr, &ss, len);
    c->addr_len = len;
    /* link under the lock we hold: same as genrpc__conns_link */
    c->list_next = node->clients;
    if (node->clients)
        node->clients->list_prev = c;
    node->clients = c;
    genrpc__conn_ref(c); /* the map's */
    pthread_mutex_unlock(&node->conns_mu);

    genrpc__conn_ref(c); /* the connect command's; becomes the loop's */
    if (genrpc__loop_post(node, connect_cmd, c) != GENRPC_OK) {
        genrpc__conn_unref(c);
        genrpc__client_forget(c);
        genrpc__conn_unref(c);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory to connect");
    }
    *out = c;
    return GENRPC_OK;
}

void
genrpc__client_forget(genrpc__conn *c)
{
    genrpc__conns_unlink(c->node, &c->node->clients, c);
}

void
genrpc__clients_each_ready(genrpc_node *node, void (*fn)(const char *peer, void *arg), void *arg)
{
    pthread_mutex_lock(&node->conns_mu);
    for (genrpc__conn *c = node->clients; c; c = c->list_next)
        if (atomic_load(&c->state) == GENRPC__READY)
            fn(c->peer, arg);
    pthread_mutex_unlock(&node->conns_mu);
}

static void
connect_cmd(genrpc_node *node, void *arg)
{
    genrpc__conn *c = arg;
    if (atomic_load(&c->state) == GENRPC__CLOSED) {
        genrpc__conn_unref(c);
        return;
    }
    if (atomic_load(&node->stopping) || !node->loop) {
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
    genrpc__client_sockopts(node, fd);
    if (connect(fd, (struct sockaddr *)&c->addr, c->addr_len) != 0 && errno != EINPROGRESS) {
        genrpc__conn_close(c, GENRPC_E_CONNECT, "connect: %s", strerror(errno));
        return;
    }
    /* Writable means connected (or failed): conn.c's write_cb calls
     * genrpc__client_connected while the state is CONNECTING. */
    ev_io_set(&c->ww, fd, EV_WRITE);
    ev_io_start(node->loop, &c->ww);
    genrpc__conn_timer_start(c, node->cfg.connect_timeout_ms);
}

void
genrpc__client_connected(genrpc__conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    ev_io_stop(c->node->loop, &c->ww);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        genrpc__conn_close(c, GENRPC_E_CONNECT, "connect: %s", strerror(err));
        return;
    }
    genrpc__conn_up(c);
}

/* ---- pending table ------------------------------------------------------- */

static size_t
slot(const genrpc__conn *c, uint64_t id)
{
    return (size_t)(id * 0x9E3779B97F4A7C15ull >> 32) & (c->ptab_cap - 1);
}

static bool
grow(genrpc__conn *c)
{
    size_t ncap = c->ptab_cap ? c->ptab_cap * 2 : 64;
    genrpc__pending **nt = calloc(ncap, sizeof *nt);
    if (!nt)
        return false;
    genrpc__pending **old = c->ptab;
    size_t ocap = c->ptab_cap;
    c->ptab = nt;
    c->ptab_cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        for (genrpc__pending *p = old[i], *next; p; p = next) {
            next = p->hnext;
            size_t s = slot(c, p->req_id);
            p->hnext = nt[s];
            nt[s] = p;
        }
    }
    free(old);
    return true;
}

int
genrpc__pending_insert(genrpc__conn *c, genrpc__pending *p)
{
    pthread_mutex_lock(&c->pend_mu);
    if (c->pend_closed) {
        pthread_mutex_unlock(&c->pend_mu);
        return GENRPC_E_CLOSED;
    }
    if (c->ptab_n * 2 >= c->ptab_cap && !grow(c)) {
        pthread_mutex_unlock(&c->pend_mu);
        return GENRPC_E_NOMEM;
    }
    p->req_id = c->next_req_id++;
    size_t s = slot(c, p->req_id);
    p->hnext = c->ptab[s];
    c->ptab[s] = p;
    c->ptab_n++;
    pthread_mutex_unlock(&c->pend_mu);
    return GENRPC_OK;
}

/* pend_mu held */
static genrpc__pending *
unlink_id(genrpc__conn *c, uint64_t id, const genrpc__pending *only)
{
    if (!c->ptab_cap)
        return NULL;
    for (genrpc__pending **pp = &c->ptab[slot(c, id)]; *pp; pp = &(*pp)->hnext) {
        genrpc__pending *p = *pp;
        if (p->req_id == id && (!only || p == only)) {
            *pp = p->hnext;
            c->ptab_n--;
            return p;
        }
    }
    return NULL;
}

genrpc__pending *
genrpc__pending_take(genrpc__conn *c, uint64_t req_id)
{
    pthread_mutex_lock(&c->pend_mu);
    genrpc__pending *p = unlink_id(c, req_id, NULL);
    pthread_mutex_unlock(&c->pend_mu);
    return p;
}

bool
genrpc__pending_remove(genrpc__conn *c, genrpc__pending *p)
{
    pthread_mutex_lock(&c->pend_mu);
    bool removed = unlink_id(c, p->req_id, p) != NULL;
    pthread_mutex_unlock(&c->pend_mu);
    return removed;
}

void
genrpc__pending_fail_all(genrpc__conn *c, int err, const char *msg)
{
    pthread_mutex_lock(&c->pend_mu);
    c->pend_closed = true;
    genrpc__pending *all = NULL;
    for (size_t i = 0; i < c->ptab_cap; i++) {
        for (genrpc__pending *p = c->ptab[i], *next; p; p = next) {
            next = p->hnext;
            p->hnext = all;
            all = p;
        }
        c->ptab[i] = NULL;
    }
    c->ptab_n = 0;
    pthread_mutex_unlock(&c->pend_mu);
    while (all) {
        genrpc__pending *next = all->hnext;
        genrpc__fail(&all->status, err, "%s: %s", c->peer, msg);
        genrpc__pending_complete(all);
        all = next;
    }
}

/* ---- replies ------------------------------------------------------------- */

/* Only these may come back in an ERROR frame; anything else is a protocol
 * violation by the peer. */
static bool
remote_error_ok(int err)
{
    return genrpc_err_class_of(err) == GENRPC_CLASS_BADRPC && err != GENRPC_E_TIMEOUT &&
           err != GENRPC_E_DISCOVERY;
}

static void
on_reply(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len)
{
    uint64_t id;
    const uint8_t *payload;
    size_t plen;
    if (!genrpc__decode_reply(body, len, &id, &payload, &plen)) {
        atomic_fetch_add(&c->node->protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed REPLY");
        return;
    }
    genrpc__pending *p = genrpc__pending_take(c, id);
    if (!p) {
        atomic_fetch_add(&c->node->late_replies, 1);
        return;
    }
    genrpc__chunk_ref(chunk);
    p->reply.chunk = chunk;
    p->reply.data = payload;
    p->reply.len = plen;
    genrpc__ok(&p->status);
    genrpc__pending_complete(p);
}

static void
on_error(genrpc__conn *c, const uint8_t *body, size_t len)
{
    genrpc__error_body e;
    if (!genrpc__decode_error(body, len, &e) || !remote_error_ok(e.err)) {
        atomic_fetch_add(&c->node->protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed ERROR");
        return;
    }
    genrpc__pending *p = genrpc__pending_take(c, e.req_id);
    if (!p) {
        atomic_fetch_add(&c->node->late_replies, 1);
        return;
    }
    genrpc__fail(&p->status, e.err, "%.*s", (int)e.message.len, e.message.p);
    p->status.handler_code = e.handler_code;
    genrpc__pending_complete(p);
}

void
genrpc__client_frame(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len)
{
    switch (body[0]) {
    case GENRPC__K_REPLY:
        on_reply(c, chunk, body, len);
        break;
    case GENRPC__K_ERROR:
        on_error(c, body, len);
        break;
    default:
        atomic_fetch_add(&c->node->protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "unexpected frame kind 0x%02x", body[0]);
    }
}
