/*
 * stats.c - the node's statistics (rpc/stats.h says where each count is
 * kept): what is remembered of each peer, the snapshot tree of
 * genrpc/stats.h, and the built-in module genrpc.Stats that sends the same
 * tree (IDL: idl/genrpc/stats.proto; docs/stats.md).
 *
 * A snapshot only reads: relaxed loads of the counters, and for a moment
 * each of the locks that guard what is not a counter (stats.mu for the
 * peers, conns_mu to take references to the connections, then, with
 * conns_mu released, a client's pend_mu and a connection's out_mu), never
 * two at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genrpc/stats.genrpc.h"
#include "genrpc/stats.h"
#include "rpc/client.h"
#include "rpc/node.h"
#include "rpc/registry.h"
#include "rpc/server.h"
#include "rpc/stats.h"

/* ---- peers --------------------------------------------------------------- */

void
genrpc__stats_init(genrpc__stats *s)
{
    s->ticks0 = genrpc__ticks();
    s->ns0 = genrpc__now_ns();
    pthread_mutex_init(&s->mu, NULL);
    s->peers = NULL;
    s->n_peers = s->cap_peers = 0;
}

void
genrpc__stats_destroy(genrpc__stats *s)
{
    free(s->peers);
    pthread_mutex_destroy(&s->mu);
}

static bool
peer_gone(const genrpc__peer_stats *p)
{
    return p->connects[0] == p->disconnects[0] && p->connects[1] == p->disconnects[1];
}

/* The entry of `name`, added if new; NULL without memory, or when the
 * table is full of peers still connected. A full table forgets its oldest
 * peer with no connection left (a `genrpc` command names itself after its
 * pid: each run is a new peer). Under s->mu. */
static genrpc__peer_stats *
peer_entry(genrpc__stats *s, const char *name)
{
    for (size_t i = 0; i < s->n_peers; i++)
        if (strcmp(s->peers[i].name, name) == 0)
            return &s->peers[i];
    if (s->n_peers == GENRPC__STATS_PEERS_MAX) {
        size_t i = 0;
        while (i < s->n_peers && !peer_gone(&s->peers[i]))
            i++;
        if (i == s->n_peers)
            return NULL;
        memmove(&s->peers[i], &s->peers[i + 1], (s->n_peers - i - 1) * sizeof *s->peers);
        s->n_peers--;
    }
    if (s->n_peers == s->cap_peers) {
        size_t cap = s->cap_peers ? 2 * s->cap_peers : 8;
        genrpc__peer_stats *v = realloc(s->peers, cap * sizeof *v);
        if (!v)
            return NULL;
        s->peers = v;
        s->cap_peers = cap;
    }
    genrpc__peer_stats *p = &s->peers[s->n_peers++];
    memset(p, 0, sizeof *p);
    strcpy(p->name, name);
    return p;
}

void
genrpc__stats_conn_up(genrpc__conn *c)
{
    genrpc__stats *s = &genrpc__node_of(c)->stats;
    pthread_mutex_lock(&s->mu);
    genrpc__peer_stats *p = peer_entry(s, c->peer);
    if (p)
        p->connects[c->kind]++;
    pthread_mutex_unlock(&s->mu);
}

void
genrpc__stats_conn_down(genrpc__conn *c)
{
    genrpc__stats *s = &genrpc__node_of(c)->stats;
    pthread_mutex_lock(&s->mu);
    genrpc__peer_stats *p = peer_entry(s, c->peer);
    if (p)
        p->disconnects[c->kind]++;
    pthread_mutex_unlock(&s->mu);
}

/* ---- the tree ------------------------------------------------------------ */

struct genrpc_stat {
    genrpc_stat *child, *last_child, *next;
    char *name;
    const char *desc; /* static text */
    genrpc_stat_kind type;
    genrpc_stat_unit_kind unit;
    uint64_t value;
    char *text;
};

/* Building a tree: any allocation failing sets nomem, and everything added
 * to a NULL parent is skipped, so a builder checks once at the end. */
typedef struct builder {
    bool nomem;
} builder;

static genrpc_stat *
add(builder *b, genrpc_stat *parent, const char *name, genrpc_stat_kind type,
    genrpc_stat_unit_kind unit, uint64_t value, const char *desc)
{
    if (!parent && b->nomem)
        return NULL;
    genrpc_stat *st = calloc(1, sizeof *st);
    if (st && !(st->name = strdup(name))) {
        free(st);
        st = NULL;
    }
    if (!st) {
        b->nomem = true;
        return NULL;
    }
    st->type = type;
    st->unit = unit;
    st->value = value;
    st->desc = desc ? desc : "";
    if (parent) {
        if (parent->last_child)
            parent->last_child->next = st;
        else
            parent->child = st;
        parent->last_child = st;
    }
    return st;
}

static genrpc_stat *
scope(builder *b, genrpc_stat *parent, const char *name, const char *desc)
{
    return parent ? add(b, parent, name, GENRPC_STAT_SCOPE, GENRPC_STAT_UNIT_NONE, 0, desc) : NULL;
}

static void
counter(builder *b, genrpc_stat *parent, const char *name, genrpc_stat_unit_kind unit, uint64_t v,
        const char *desc)
{
    if (parent)
        add(b, parent, name, GENRPC_STAT_COUNTER, unit, v, desc);
}

static void
level(builder *b, genrpc_stat *parent, const char *name, genrpc_stat_unit_kind unit, uint64_t v,
      const char *desc)
{
    if (parent)
        add(b, parent, name, GENRPC_STAT_LEVEL, unit, v, desc);
}

static genrpc_stat *
child_named(const genrpc_stat *st, const char *name, size_t len)
{
    for (genrpc_stat *c = st ? st->child : NULL; c; c = c->next)
        if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
            return c;
    return NULL;
}

#define U64(x) ((uint64_t)atomic_load_explicit(&(x), memory_order_relaxed))

/* Nanoseconds per tick, measured since the node started (genrpc__ticks
 * counts at a fixed rate; this is its rate against CLOCK_MONOTONIC). */
static double
ns_per_tick(const genrpc__stats *s)
{
    int64_t ns = genrpc__now_ns() - s->ns0;
    uint64_t ticks = genrpc__ticks() - s->ticks0;
    return ns > 0 && ticks > 0 ? (double)ns / (double)ticks : 1.0;
}

static void
node_counters(builder *b, genrpc_node *node, genrpc_stat *root)
{
    genrpc_stat *n = scope(b, root, "node", "the node's own counters");
    const genrpc_stat_unit_kind M = GENRPC_STAT_UNIT_MESSAGES, E = GENRPC_STAT_UNIT_EVENTS;
    counter(b, n, "calls_served", M, U64(node->calls_served), "requests whose handler ran");
    counter(b, n, "casts_dropped", M, U64(node->casts_dropped), "casts that could not run");
    counter(b, n, "late_replies", M, U64(node->late_replies),
            "replies that came after their call gave up");
    counter(b, n, "expired_requests", M, U64(node->expired_requests),
            "requests whose deadline passed before they ran");
    counter(b, n, "cancelled_requests", M, U64(node->cancelled_requests),
            "requests their caller cancelled before they ran");
    counter(b, n, "retried_calls", M, U64(node->retried_calls),
            "calls sent again after a GOAWAY said they did not run");
    counter(b, n, "broadcasts_dropped", M, U64(node->broadcasts_dropped),
            "broadcasts with no handler or undecodable");
    counter(b, n, "reads_paused", E, U64(node->reads_paused),
            "times a connection stopped being read (backlog full)");
    counter(b, n, "auth_failures", E, U64(node->net.auth_failures), "failed handshakes");
    counter(b, n, "protocol_errors", E, U64(node->net.protocol_errors),
            "connections closed for a protocol violation");
    level(b, n, "clients", GENRPC_STAT_UNIT_NONE,
          (uint64_t)atomic_load(&node->net.n_clients), "client connections open");
    level(b, n, "acceptors", GENRPC_STAT_UNIT_NONE,
          (uint64_t)atomic_load(&node->net.n_acceptors), "accepted connections open");
}

/* The peers' scope: what is remembered of each (under stats.mu). */
static void
peer_counters(builder *b, genrpc_node *node, genrpc_stat *peers)
{
    genrpc__stats *s = &node->stats;
    const genrpc_stat_unit_kind E = GENRPC_STAT_UNIT_EVENTS;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_peers && peers; i++) {
        const genrpc__peer_stats *p = &s->peers[i];
        genrpc_stat *ps = scope(b, peers, p->name, "");
        uint64_t cc = p->connects[GENRPC__CLIENT];
        counter(b, ps, "connects", E, cc, "client connections to it that became ready");
        counter(b, ps, "reconnects", E, cc ? cc - 1 : 0, "connects after the first");
        counter(b, ps, "disconnects", E, p->disconnects[GENRPC__CLIENT],
                "client connections to it that closed after they were ready");
        counter(b, ps, "accepts", E, p->connects[GENRPC__ACCEPTOR],
                "connections from it that became ready");
        counter(b, ps, "accepts_closed", E, p->disconnects[GENRPC__ACCEPTOR],
                "connections from it that closed after they were ready");
    }
    pthread_mutex_unlock(&s->mu);
}

/* References to the ready connections of one list, under conns_mu. */
static genrpc__conn **
ready_conns(genrpc__net *net, genrpc__list *list, size_t *n)
{
    genrpc__conn **v = NULL;
    size_t cap = 0;
    *n = 0;
    pthread_mutex_lock(&net->conns_mu);
    GENRPC__LIST_FOREACH(l, list) {
        genrpc__conn *c = GENRPC__CONTAINER_OF(l, genrpc__conn, list_link);
        if (atomic_load(&c->state) != GENRPC__READY)
            continue;
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            genrpc__conn **nv = realloc(v, ncap * sizeof *nv);
            if (!nv)
                break; /* fewer connections shown */
            v = nv;
            cap = ncap;
        }
        genrpc__conn_ref(c);
        v[(*n)++] = c;
    }
    pthread_mutex_unlock(&net->conns_mu);
    return v;
}

/* One connection, under its peer's scope (made if the peer has none). */
static void
conn_counters(builder *b, genrpc__conn *c, genrpc_stat *peers, unsigned ordinal, double rate)
{
    genrpc_stat *ps = child_named(peers, c->peer, strlen(c->peer));
    if (!ps)
        ps = scope(b, peers, c->peer, "");
    bool client = c->kind == GENRPC__CLIENT;
    char name[32];
    snprintf(name, sizeof name, "%s-%u", client ? "client" : "acceptor", ordinal);
    genrpc_stat *cs = scope(b, ps, name, client ? "a connection to it" : "a connection from it");
    const genrpc_stat_unit_kind B = GENRPC_STAT_UNIT_BYTES, M = GENRPC_STAT_UNIT_MESSAGES;
    level(b, cs, "protocol", GENRPC_STAT_UNIT_NONE, c->proto, "wire protocol version");
    counter(b, cs, "bytes_in", B, U64(c->bytes_in), "bytes read");
    counter(b, cs, "bytes_out", B, U64(c->bytes_out), "bytes written");
    counter(b, cs, "frames_in", M, U64(c->frames_in), "frames read");
    counter(b, cs, "frames_out", M, U64(c->frames_out), "frames queued to write");
    level(b, cs, "queued_bytes", B, genrpc__conn_queued_bytes(c), "bytes waiting to be written");
    if (client) {
        genrpc__client *cl = genrpc__client_of(c);
        pthread_mutex_lock(&cl->pend_mu);
        size_t inflight = genrpc__idmap_count(&cl->pending);
        pthread_mutex_unlock(&cl->pend_mu);
        level(b, cs, "calls_in_flight", M, inflight, "calls sent and not answered");
        genrpc__hist_copy h;
        genrpc__hist_read(&cl->round_trips, &h);
        counter(b, cs, "calls", M, h.n, "calls answered (a reply or an error)");
        counter(b, cs, "errors", GENRPC_STAT_UNIT_EVENTS, U64(cl->errors),
                "calls answered with an error");
        level(b, cs, "p50_ns", GENRPC_STAT_UNIT_NANOS,
              (uint64_t)((double)genrpc__hist_quantile(&h, 0.50) * rate),
              "median round trip: call sent to answer read");
        level(b, cs, "p99_ns", GENRPC_STAT_UNIT_NANOS,
              (uint64_t)((double)genrpc__hist_quantile(&h, 0.99) * rate),
              "99th percentile of the same");
    } else {
        genrpc__acceptor *ac = genrpc__acceptor_of(c);
        level(b, cs, "queued_requests", M, (uint64_t)atomic_load(&ac->backlog),
              "requests read and not yet started");
        counter(b, cs, "errors", GENRPC_STAT_UNIT_EVENTS, U64(ac->errors),
                "requests answered with an error");
    }
}

static void
conns_of(builder *b, genrpc_node *node, genrpc_stat *peers, genrpc__list *list)
{
    size_t n;
    genrpc__conn **v = ready_conns(&node->net, list, &n);
    for (size_t i = 0; i < n; i++) {
        unsigned ordinal = 0; /* how many of this peer's came before */
        for (size_t j = 0; j < i; j++)
            ordinal += strcmp(v[j]->peer, v[i]->peer) == 0;
        conn_counters(b, v[i], peers, ordinal, ns_per_tick(&node->stats));
        genrpc__conn_unref(v[i]);
    }
    free(v);
}

static void
function_counters(builder *b, genrpc_stat *ms, const genrpc_function_desc *f,
                  genrpc__fn_stats *fs, double ns_per_tick)
{
    genrpc_stat *s = scope(b, ms, f->name, "");
    const genrpc_stat_unit_kind M = GENRPC_STAT_UNIT_MESSAGES, NS = GENRPC_STAT_UNIT_NANOS;
    genrpc__hist_copy h;
    genrpc__hist_read(&fs->latency, &h);
    counter(b, s, "calls", M, h.n + U64(fs->not_run), "requests for it, run or not");
    uint64_t errors = 0;
    for (int e = 0; e < GENRPC__STATS_ERR_MAX; e++)
        errors += U64(fs->errors[e]);
    counter(b, s, "errors", M, errors, "requests that ended in an error");
    genrpc_stat *by = scope(b, s, "errors_by_code", "errors by genrpc error name");
    for (int e = 0; e < GENRPC__STATS_ERR_MAX; e++) {
        uint64_t v = U64(fs->errors[e]);
        if (v)
            counter(b, by, genrpc_err_name(e), M, v, "");
    }
    counter(b, s, "ran", M, h.n, "requests whose handler ran (in the latencies)");
    level(b, s, "p50_ns", NS, (uint64_t)((double)genrpc__hist_quantile(&h, 0.50) * ns_per_tick),
          "median time from handler start to reply sent");
    level(b, s, "p99_ns", NS, (uint64_t)((double)genrpc__hist_quantile(&h, 0.99) * ns_per_tick),
          "99th percentile of the same");
}

static void
module_counters(builder *b, genrpc_node *node, genrpc_stat *functions)
{
    size_t n;
    double rate = ns_per_tick(&node->stats);
    genrpc__regentry **v = genrpc__registry_snapshot(&node->modules, &n);
    for (size_t i = 0; i < n; i++) {
        genrpc__reg *r = GENRPC__CONTAINER_OF(v[i], genrpc__reg, e);
        genrpc_stat *ms = scope(b, functions, r->desc->name, "");
        level(b, ms, "version", GENRPC_STAT_UNIT_NONE, r->desc->version, "module version");
        for (size_t f = 0; f < r->desc->n_functions; f++)
            function_counters(b, ms, &r->desc->functions[f], &r->fn_stats[f], rate);
        genrpc__reg_unref(node, r);
    }
    free(v);
}

int
genrpc_stats_get(genrpc_node *node, genrpc_stat **out)
{
    if (!out)
        return GENRPC_E_INVAL;
    *out = NULL;
    if (!node)
        return GENRPC_E_INVAL;
    builder b = {false};
    genrpc_stat *root = add(&b, NULL, node->cfg.name, GENRPC_STAT_SCOPE, GENRPC_STAT_UNIT_NONE, 0,
                            "a genrpc node");
    node_counters(&b, node, root);
    genrpc_stat *peers = scope(&b, root, "peers", "remote nodes and the connections to them");
    peer_counters(&b, node, peers);
    conns_of(&b, node, peers, &node->net.clients);
    conns_of(&b, node, peers, &node->net.acceptors);
    module_counters(&b, node, scope(&b, root, "functions", "served functions, by module"));
    if (b.nomem) {
        genrpc_stats_free(root);
        return GENRPC_E_NOMEM;
    }
    *out = root;
    return GENRPC_OK;
}

void
genrpc_stats_free(genrpc_stat *st)
{
    while (st) {
        genrpc_stat *next = st->next;
        genrpc_stats_free(st->child);
        free(st->name);
        free(st->text);
        free(st);
        st = next;
    }
}

const genrpc_stat *
genrpc_stat_child(const genrpc_stat *st)
{
    return st ? st->child : NULL;
}

const genrpc_stat *
genrpc_stat_next(const genrpc_stat *st)
{
    return st ? st->next : NULL;
}

const genrpc_stat *
genrpc_stat_find(const genrpc_stat *st, const char *path)
{
    if (!path)
        return NULL;
    while (st && *path) {
        size_t len = strcspn(path, "/");
        st = child_named(st, path, len);
        path += len + (path[len] == '/');
    }
    return st;
}

const char *
genrpc_stat_name(const genrpc_stat *st)
{
    return st ? st->name : "";
}

const char *
genrpc_stat_desc(const genrpc_stat *st)
{
    return st ? st->desc : "";
}

genrpc_stat_kind
genrpc_stat_type(const genrpc_stat *st)
{
    return st ? st->type : GENRPC_STAT_SCOPE;
}

genrpc_stat_unit_kind
genrpc_stat_unit(const genrpc_stat *st)
{
    return st ? st->unit : GENRPC_STAT_UNIT_NONE;
}

uint64_t
genrpc_stat_value(const genrpc_stat *st)
{
    return st ? st->value : 0;
}

const char *
genrpc_stat_string(const genrpc_stat *st)
{
    return st && st->text ? st->text : "";
}

/* ---- genrpc.Stats --------------------------------------------------------- */

#define STATS_NOMEM 12 /* handler failure code, like ENOMEM */

static char *
arena_str(genrpc_ctx *ctx, const char *s)
{
    size_t len = strlen(s);
    char *p = genrpc_ctx_alloc(ctx, len + 1);
    if (p)
        memcpy(p, s, len + 1);
    return p;
}

/* The protobuf form of st and its children, in the call's arena (the
 * snapshot is freed before the reply is encoded). NULL: no memory. */
static Genrpc__Stat *
to_message(genrpc_ctx *ctx, const genrpc_stat *st)
{
    Genrpc__Stat *m = genrpc_ctx_alloc(ctx, sizeof *m);
    if (!m)
        return NULL;
    genrpc__stat__init(m);
    m->name = arena_str(ctx, st->name);
    m->desc = arena_str(ctx, st->desc);
    m->text = arena_str(ctx, st->text ? st->text : "");
    if (!m->name || !m->desc || !m->text)
        return NULL;
    m->type = (Genrpc__Stat__Type)st->type;
    m->unit = (Genrpc__Stat__Unit)st->unit;
    m->value = st->value;
    size_t n = 0;
    for (const genrpc_stat *c = st->child; c; c = c->next)
        n++;
    if (n && !(m->children = genrpc_ctx_alloc(ctx, n * sizeof *m->children)))
        return NULL;
    for (const genrpc_stat *c = st->child; c; c = c->next)
        if (!(m->children[m->n_children++] = to_message(ctx, c)))
            return NULL;
    return m;
}

static int
stats_get(const Genrpc__StatsRequest *req, Genrpc__StatsReply *reply, genrpc_ctx *ctx)
{
    (void)req;
    genrpc_stat *root;
    if (genrpc_stats_get(genrpc_ctx_node(ctx), &root) != GENRPC_OK)
        return genrpc_fail(ctx, STATS_NOMEM, "no memory for the statistics");
    reply->root = to_message(ctx, root);
    genrpc_stats_free(root);
    if (!reply->root)
        return genrpc_fail(ctx, STATS_NOMEM, "no memory for the statistics");
    return 0;
}

static const Genrpc__Stats__Impl stats_impl = {
    .get = stats_get,
};

int
genrpc__stats_serve(genrpc_node *node)
{
    return genrpc__stats__register(node, &stats_impl, NULL);
}
