/*
 * client.c - the client role: the local end of a connection to one remote
 * node (or one {node, key} shard), the client map, and the replies that
 * complete calls in flight (their table is pending.c; dialing is
 * net/dialer.c).
 *
 * A client is created on first use under the node's conns_mu, so
 * concurrent first uses create exactly one; the connect itself runs on the
 * loop, so an unreachable node delays nobody but its own callers.
 */
#include <stdlib.h>
#include <string.h>

#include "net/dialer.h"
#include "rpc/node.h"
#include "rpc/client.h"
#include "rpc/events.h"
#include "rpc/fanout.h"
#include "rpc/pending.h"

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
    GENRPC__ASSERT_HELD(&node->net.conns_mu);
    GENRPC__LIST_FOREACH(l, &node->net.clients) {
        genrpc__conn *c = GENRPC__CONTAINER_OF(l, genrpc__conn, list_link);
        const genrpc__client *cl = genrpc__client_of(c);
        if (cl->has_key == has_key && cl->key_hash == hash && strcmp(c->peer, name) == 0 &&
            atomic_load(&c->state) != GENRPC__CLOSED)
            return c;
    }
    return NULL;
}

int
genrpc__client_get(genrpc_node *node, genrpc_target t, genrpc__conn **out, genrpc_status *st)
{
    *out = NULL;
    if (atomic_load(&node->net.stopping))
        return genrpc__fail(st, GENRPC_E_STOPPED, "node %s is stopping", node->cfg.name);
    if (!genrpc__target_ok(&t) || strlen(t.node) > GENRPC__NAME_MAX)
        return genrpc__fail(st, GENRPC_E_INVAL, "bad target");
    bool has_key = t.key != NULL;
    uint64_t hash = has_key ? key_hash(t.key, t.key_len) : 0;

    pthread_mutex_lock(&node->net.conns_mu);
    genrpc__conn *c = find_client(node, t.node, has_key, hash);
    if (c)
        genrpc__conn_ref(c);
    pthread_mutex_unlock(&node->net.conns_mu);
    if (c) {
        *out = c;
        return GENRPC_OK;
    }

    genrpc__dial_addr addr;
    int rc = genrpc__dial_resolve(&node->net, t.node, &addr, st);
    if (rc != GENRPC_OK)
        return rc;

    pthread_mutex_lock(&node->net.conns_mu);
    c = find_client(node, t.node, has_key, hash); /* another thread was quicker */
    if (c) {
        genrpc__conn_ref(c);
        pthread_mutex_unlock(&node->net.conns_mu);
        *out = c;
        return GENRPC_OK;
    }
    /* its reference is the caller's */
    c = genrpc__conn_new(&node->net, GENRPC__CLIENT, -1, &genrpc__client_role, GENRPC__CLIENT_SIZE);
    if (!c) {
        pthread_mutex_unlock(&node->net.conns_mu);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a client");
    }
    genrpc__client *cl = genrpc__client_of(c);
    strcpy(c->peer, t.node);
    cl->has_key = has_key;
    cl->key_hash = hash;
    /* link under the lock we hold: same as genrpc__conns_link */
    genrpc__list_push_front(&node->net.clients, &c->list_link);
    genrpc__conn_ref(c); /* the map's */
    pthread_mutex_unlock(&node->net.conns_mu);

    genrpc__dial_start(c, &addr);
    *out = c;
    return GENRPC_OK;
}

/* fn runs under conns_mu: its only callers (fanout.c) collect names, and
 * no user code runs here (no user callback under a runtime lock). */
void
genrpc__clients_each_ready(genrpc_node *node, void (*fn)(const char *peer, void *arg), void *arg)
{
    pthread_mutex_lock(&node->net.conns_mu);
    GENRPC__LIST_FOREACH(l, &node->net.clients) {
        genrpc__conn *c = GENRPC__CONTAINER_OF(l, genrpc__conn, list_link);
        if (atomic_load(&c->state) == GENRPC__READY)
            fn(c->peer, arg);
    }
    pthread_mutex_unlock(&node->net.conns_mu);
}

/* ---- replies ------------------------------------------------------------- */

/* Only these may come back in an ERROR frame; anything else is a protocol
 * violation by the peer. */
static bool
remote_error_ok(const genrpc__conn *c, int err)
{
    if (err == GENRPC_E_TIMEOUT || err == GENRPC_E_UNAVAILABLE) /* version 2 only */
        return c->proto >= 2;
    return genrpc_err_class_of(err) == GENRPC_CLASS_BADRPC && err != GENRPC_E_DISCOVERY;
}

/* Statistics: p was answered; its round trip (loop only: one writer). */
static void
count_answer(genrpc__conn *c, const genrpc__pending *p)
{
    genrpc__hist_add1w(&genrpc__client_of(c)->round_trips, genrpc__ticks() - p->sent_ticks);
}

/* The answer's trailers, for a caller that asked (no memory: none). */
static void
take_trailers(genrpc__pending *p, genrpc__str md)
{
    if (p->trailers && md.len && genrpc__md_assign(p->trailers, md) != GENRPC_OK)
        genrpc_metadata_clear(p->trailers);
}

static void
on_reply(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len)
{
    genrpc__reply_body r;
    genrpc__chunk *plain = NULL; /* a COMPRESSED payload, decompressed */
    size_t plain_len = 0;
    if (!genrpc__decode_reply(c->proto, body, len, &r) ||
        ((r.flags & GENRPC__F_COMPRESSED) &&
         (!c->zstd || !genrpc__decompress(r.payload, r.payload_len, c->net->cfg->max_frame_size,
                                          NULL, 0, &plain, &plain_len)))) {
        atomic_fetch_add(&c->net->protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed REPLY");
        return;
    }
    genrpc__pending *p = genrpc__pending_take(c, r.req_id);
    if (!p) {
        genrpc__chunk_unref(plain);
        atomic_fetch_add(&genrpc__node_of(c)->late_replies, 1);
        return;
    }
    count_answer(c, p);
    take_trailers(p, r.metadata);
    if (plain) {
        p->reply.chunk = plain;
        p->reply.data = plain->data;
        p->reply.len = plain_len;
    } else {
        genrpc__chunk_ref(chunk);
        p->reply.chunk = chunk;
        p->reply.data = r.payload;
        p->reply.len = r.payload_len;
    }
    genrpc__ok(&p->status);
    genrpc__pending_complete(p);
}

static void
on_error(genrpc__conn *c, const uint8_t *body, size_t len)
{
    genrpc__error_body e;
    if (!genrpc__decode_error(c->proto, body, len, &e) || !remote_error_ok(c, e.err)) {
        atomic_fetch_add(&c->net->protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed ERROR");
        return;
    }
    genrpc__count1w(&genrpc__client_of(c)->errors, 1);
    genrpc__pending *p = genrpc__pending_take(c, e.req_id);
    if (!p) {
        atomic_fetch_add(&genrpc__node_of(c)->late_replies, 1);
        return;
    }
    count_answer(c, p);
    take_trailers(p, e.metadata);
    genrpc__fail(&p->status, e.err, "%.*s", (int)e.message.len, e.message.p);
    p->status.handler_code = e.handler_code;
    genrpc__pending_complete(p);
}

/* v2: the server wants nothing new on this connection. It leaves the
 * client map (the next call dials a fresh one) and takes no more calls;
 * what the server read is still answered here; what it never read fails
 * with UNAVAILABLE (it did not run). The server closes the connection
 * once it has answered everything. */
static void
on_goaway(genrpc__conn *c, const uint8_t *body, size_t len)
{
    genrpc__goaway g;
    if (c->proto < 2 || !genrpc__decode_goaway(body, len, &g)) {
        atomic_fetch_add(&c->net->protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed GOAWAY");
        return;
    }
    genrpc__log(c->net->cfg, GENRPC_LOG_DEBUG, "%s goes away (reason %d: %.*s)%s", c->peer,
                g.reason, (int)g.text.len, g.text.p,
                g.last_req_id == GENRPC__GOAWAY_ALL ? "" : ": closing");
    /* out of the map first: the calls failed next may be sent again at
     * once (a blocking call's retry), and must find a fresh connection */
    genrpc__conns_unlink(c->net, c);
    genrpc__pending_goaway(c, g.last_req_id);
}

static void
client_frame(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    switch (body[0]) {
    case GENRPC__K_REPLY:
        on_reply(c, chunk, body, len);
        break;
    case GENRPC__K_ERROR:
        on_error(c, body, len);
        break;
    case GENRPC__K_GOAWAY:
        on_goaway(c, body, len);
        break;
    default:
        atomic_fetch_add(&c->net->protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "unexpected frame kind 0x%02x", body[0]);
    }
}

/* ---- the role ------------------------------------------------------------ */

static void
client_init(genrpc__conn *c)
{
    genrpc__client *cl = genrpc__client_of(c);
    pthread_mutex_init(&cl->pend_mu, NULL);
    genrpc__idmap_init(&cl->pending, 1); /* request ids start at 1 */
}

/* conn_close took c out of the map already (no new call finds it): what
 * was in flight fails with the reason it closed. */
static void
client_closed(genrpc__conn *c, int err, bool was_ready)
{
    genrpc__pending_fail_all(c, err, c->close_msg);
    if (was_ready)
        genrpc__events_conn_down(c);
}

static void
client_destroy(genrpc__conn *c)
{
    genrpc__client *cl = genrpc__client_of(c);
    genrpc__idmap_free(&cl->pending);
    pthread_mutex_destroy(&cl->pend_mu);
}

const genrpc__conn_role genrpc__client_role = {
    .init = client_init,
    .frame = client_frame,
    .ready = genrpc__events_conn_up, /* node-up accounting */
    .closed = client_closed,
    .busy = genrpc__pending_busy,
    .unsent = genrpc__pending_fail_unsent,
    .destroy = client_destroy,
};
