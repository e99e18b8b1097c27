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
#include "rpc/fanout.h"

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
    GENRPC__LIST_FOREACH(l, &node->clients) {
        genrpc__conn *c = GENRPC__CONTAINER_OF(l, genrpc__conn, list_link);
        if (c->has_key == has_key && c->key_hash == hash && strcmp(c->peer, name) == 0 &&
            atomic_load(&c->state) != GENRPC__CLOSED)
            return c;
    }
    return NULL;
}

int
genrpc__client_get(genrpc_node *node, genrpc_target t, genrpc__conn **out, genrpc_status *st)
{
    *out = NULL;
    if (atomic_load(&node->stopping))
        return genrpc__fail(st, GENRPC_E_STOPPED, "node %s is stopping", node->name);
    if (!genrpc__target_ok(&t) || strlen(t.node) > GENRPC__NAME_MAX)
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
    int rc = genrpc__dial_resolve(node, t.node, &ss, &len, &driver, st);
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
    genrpc__list_push_front(&node->clients, &c->list_link);
    genrpc__conn_ref(c); /* the map's */
    pthread_mutex_unlock(&node->conns_mu);

    genrpc__conn_ref(c); /* the connect command's; becomes the loop's */
    if (genrpc__loop_post(node, genrpc__dial_connect_cmd, c) != GENRPC_OK) {
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
    genrpc__conns_unlink(c->node, c);
}

void
genrpc__clients_each_ready(genrpc_node *node, void (*fn)(const char *peer, void *arg), void *arg)
{
    pthread_mutex_lock(&node->conns_mu);
    GENRPC__LIST_FOREACH(l, &node->clients) {
        genrpc__conn *c = GENRPC__CONTAINER_OF(l, genrpc__conn, list_link);
        if (atomic_load(&c->state) == GENRPC__READY)
            fn(c->peer, arg);
    }
    pthread_mutex_unlock(&node->conns_mu);
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
