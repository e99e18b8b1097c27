/*
 * lifetime.c - how long connections live and what watchers learn of it:
 * the client/server inactivity timeouts, node-up/node-down events, and a
 * test hook that drops acceptors.
 *
 * Inactivity (libev's "be smart about timeouts"): a frame in or out only
 * stores a coarse timestamp in its conn (genrpc__conn_active, a relaxed
 * store); one non-repeating ev_timer per conn wakes when the timeout would
 * expire, and re-arms itself for the time left when something happened
 * meanwhile. The hot path never touches the timer. A conn with work in
 * flight (a client with calls waiting for replies, an acceptor with
 * requests queued or running, or unsent output) is not idle.
 *
 * Node events: the loop counts, per remote node, the authenticated
 * connections in either direction (clients and acceptors); UP fires when
 * the count leaves 0, DOWN when it returns to 0. Subscribers are called on
 * the loop under mon_mu, so unmonitor returning means "no more calls".
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

int64_t
genrpc__coarse_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- inactivity timeouts ------------------------------------------------- */

static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents);

void
genrpc__idle_init(genrpc__conn *c)
{
    int64_t ms = c->role == GENRPC__CLIENT ? c->node->cfg.client_inactivity_timeout_ms
                                           : c->node->cfg.server_inactivity_timeout_ms;
    c->idle_ms = ms > 0 ? ms : 0; /* GENRPC_INFINITY (or 0): none */
    ev_init(&c->idle_timer, idle_cb);
    c->idle_timer.data = c;
}

static void
idle_arm(genrpc__conn *c, int64_t ms)
{
    /* +1 ms: the coarse clock may lag the loop's by up to its resolution */
    ev_timer_set(&c->idle_timer, (double)(ms + 1) / 1000.0, 0.);
    ev_timer_start(c->node->loop, &c->idle_timer);
}

void
genrpc__idle_start(genrpc__conn *c)
{
    if (!c->idle_ms || atomic_load(&c->state) == GENRPC__CLOSED)
        return;
    atomic_store_explicit(&c->last_active_ms, genrpc__coarse_ms(), memory_order_relaxed);
    idle_arm(c, c->idle_ms);
}

/* Loop only. True when c has work in flight. For an idle client this also
 * closes its pending table, so that a call racing with the close fails
 * over to a fresh connection (call.c retries a stale one) instead of being
 * lost on this one. */
static bool
busy(genrpc__conn *c)
{
    pthread_mutex_lock(&c->out_mu);
    bool out = c->out_head != NULL || c->held_head != NULL;
    pthread_mutex_unlock(&c->out_mu);
    if (out)
        return true;
    if (c->role == GENRPC__CLIENT) {
        pthread_mutex_lock(&c->pend_mu);
        bool calls = c->ptab_n > 0;
        if (!calls)
            c->pend_closed = true;
        pthread_mutex_unlock(&c->pend_mu);
        return calls;
    }
    /* An acceptor is referenced by the loop and the acceptor list; every
     * queued or running request holds one more (so do transient users such
     * as the deferred-flush list: at worst the close waits one more round). */
    return atomic_load(&c->refs) > 2;
}

static void
idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    genrpc__conn *c = w->data;
    if (atomic_load(&c->state) != GENRPC__READY)
        return;
    int64_t last = atomic_load_explicit(&c->last_active_ms, memory_order_relaxed);
    int64_t left = last + c->idle_ms - genrpc__coarse_ms();
    if (left > 0) {
        idle_arm(c, left);
        return;
    }
    if (busy(c)) {
        genrpc__conn_active(c);
        idle_arm(c, c->idle_ms);
        return;
    }
    genrpc__conn_close(c, GENRPC_E_CLOSED, "idle for %lld ms (%s_inactivity_timeout)",
                       (long long)c->idle_ms, c->role == GENRPC__CLIENT ? "client" : "server");
}

/* ---- node events --------------------------------------------------------- */

struct genrpc__monitor {
    struct genrpc__monitor *next;
    genrpc_node_event_cb cb;
    void *user;
    bool primed; /* has received the UPs of nodes up when it subscribed */
};

struct genrpc__peer_up {
    char name[GENRPC__NAME_MAX + 1];
    int conns; /* authenticated connections with it */
};

/* mon_mu held, on the loop. */
static void
deliver(genrpc_node *node, const char *peer, genrpc_node_event ev)
{
    for (struct genrpc__monitor *m = node->monitors; m; m = m->next)
        if (m->primed)
            m->cb(node, peer, ev, m->user);
}

static bool
counts(const genrpc__conn *c)
{
    return c->peer[0] && strcmp(c->peer, c->node->name) != 0;
}

void
genrpc__events_conn_up(genrpc__conn *c)
{
    genrpc_node *node = c->node;
    if (!counts(c))
        return;
    for (size_t i = 0; i < node->n_peers_up; i++) {
        if (strcmp(node->peers_up[i].name, c->peer) == 0) {
            node->peers_up[i].conns++;
            return;
        }
    }
    if (node->n_peers_up == node->cap_peers_up) {
        size_t ncap = node->cap_peers_up ? node->cap_peers_up * 2 : 8;
        struct genrpc__peer_up *np = realloc(node->peers_up, ncap * sizeof *np);
        if (!np) {
            genrpc__log(node, GENRPC_LOG_ERROR, "no memory to track node %s: no UP event",
                        c->peer);
            return;
        }
        node->peers_up = np;
        node->cap_peers_up = ncap;
    }
    struct genrpc__peer_up *p = &node->peers_up[node->n_peers_up++];
    strcpy(p->name, c->peer);
    p->conns = 1;
    genrpc__log(node, GENRPC_LOG_INFO, "node %s up", c->peer);
    pthread_mutex_lock(&node->mon_mu);
    deliver(node, c->peer, GENRPC_NODE_UP);
    pthread_mutex_unlock(&node->mon_mu);
}

void
genrpc__events_conn_down(genrpc__conn *c)
{
    genrpc_node *node = c->node;
    if (!counts(c))
        return;
    for (size_t i = 0; i < node->n_peers_up; i++) {
        struct genrpc__peer_up *p = &node->peers_up[i];
        if (strcmp(p->name, c->peer) != 0)
            continue;
        if (--p->conns > 0)
            return;
        char name[GENRPC__NAME_MAX + 1];
        strcpy(name, p->name);
        node->peers_up[i] = node->peers_up[--node->n_peers_up];
        genrpc__log(node, GENRPC_LOG_INFO, "node %s down", name);
        pthread_mutex_lock(&node->mon_mu);
        deliver(node, name, GENRPC_NODE_DOWN);
        pthread_mutex_unlock(&node->mon_mu);
        return;
    }
}

typedef struct prime_arg {
    genrpc_node_event_cb cb;
    void *user;
} prime_arg;

/* On the loop: the new subscriber learns which nodes are up, then gets
 * every later event. */
static void
prime_cmd(genrpc_node *node, void *arg)
{
    prime_arg *a = arg;
    pthread_mutex_lock(&node->mon_mu);
    for (struct genrpc__monitor *m = node->monitors; m; m = m->next) {
        if (m->cb == a->cb && m->user == a->user && !m->primed) {
            m->primed = true;
            for (size_t i = 0; i < node->n_peers_up && !atomic_load(&node->stopping); i++)
                m->cb(node, node->peers_up[i].name, GENRPC_NODE_UP, m->user);
            break;
        }
    }
    pthread_mutex_unlock(&node->mon_mu);
    free(a);
}

int
genrpc_node_monitor(genrpc_node *node, genrpc_node_event_cb cb, void *user, genrpc_status *st)
{
    if (!node || !cb)
        return genrpc__fail(st, GENRPC_E_INVAL, "node and callback are required");
    if (genrpc__on_loop(node))
        return genrpc__fail(st, GENRPC_E_INVAL, "cannot subscribe from the node's event loop");
    if (atomic_load(&node->stopping))
        return genrpc__fail(st, GENRPC_E_STOPPED, "node %s is stopping", node->name);
    struct genrpc__monitor *m = calloc(1, sizeof *m);
    prime_arg *a = malloc(sizeof *a);
    if (!m || !a) {
        free(m);
        free(a);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a subscription");
    }
    m->cb = a->cb = cb;
    m->user = a->user = user;
    pthread_mutex_lock(&node->mon_mu);
    m->next = node->monitors;
    node->monitors = m;
    pthread_mutex_unlock(&node->mon_mu);
    if (genrpc__loop_post(node, prime_cmd, a) != GENRPC_OK) {
        free(a);
        genrpc_node_unmonitor(node, cb, user);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a subscription");
    }
    return genrpc__ok(st);
}

int
genrpc_node_unmonitor(genrpc_node *node, genrpc_node_event_cb cb, void *user)
{
    if (!node || genrpc__on_loop(node))
        return GENRPC_E_INVAL;
    pthread_mutex_lock(&node->mon_mu);
    for (struct genrpc__monitor **pp = &node->monitors; *pp; pp = &(*pp)->next) {
        struct genrpc__monitor *m = *pp;
        if (m->cb == cb && m->user == user) {
            *pp = m->next;
            pthread_mutex_unlock(&node->mon_mu);
            free(m);
            return GENRPC_OK;
        }
    }
    pthread_mutex_unlock(&node->mon_mu);
    return GENRPC_E_INVAL;
}

void
genrpc__events_free(genrpc_node *node)
{
    while (node->monitors) {
        struct genrpc__monitor *m = node->monitors;
        node->monitors = m->next;
        free(m);
    }
    free(node->peers_up);
    node->peers_up = NULL;
    node->n_peers_up = node->cap_peers_up = 0;
    pthread_mutex_destroy(&node->mon_mu);
}

/* ---- test hook: drop acceptors ------------------------------------------- */

typedef struct drop_arg {
    const char *peer;
    int max;
    int closed;
    bool done;
    pthread_mutex_t mu;
    pthread_cond_t cond;
} drop_arg;

static int
drop_acceptors(genrpc_node *node, const char *peer, int max)
{
    int closed = 0;
    while (max <= 0 || closed < max) {
        pthread_mutex_lock(&node->conns_mu);
        genrpc__conn *c = node->acceptors; /* newest first: conns_link prepends */
        while (c && (atomic_load(&c->state) == GENRPC__CLOSED ||
                     (peer && strcmp(c->peer, peer) != 0)))
            c = c->list_next;
        if (c)
            genrpc__conn_ref(c);
        pthread_mutex_unlock(&node->conns_mu);
        if (!c)
            break;
        genrpc__conn_close(c, GENRPC_E_CLOSED, "closed by genrpc_node_debug_close_acceptors");
        genrpc__conn_unref(c);
        closed++;
    }
    return closed;
}

static void
drop_cmd(genrpc_node *node, void *arg)
{
    drop_arg *a = arg;
    int n = drop_acceptors(node, a->peer, a->max);
    pthread_mutex_lock(&a->mu);
    a->closed = n;
    a->done = true;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->mu);
}

int
genrpc_node_debug_close_acceptors(genrpc_node *node, const char *peer, int max)
{
    if (!node)
        return -GENRPC_E_INVAL;
    if (genrpc__on_loop(node))
        return drop_acceptors(node, peer, max);
    if (atomic_load(&node->stopping))
        return -GENRPC_E_STOPPED;
    drop_arg a = {.peer = peer, .max = max};
    pthread_mutex_init(&a.mu, NULL);
    pthread_cond_init(&a.cond, NULL);
    int rc = genrpc__loop_post(node, drop_cmd, &a);
    if (rc == GENRPC_OK) {
        genrpc__worker_blocking(); /* drop_cmd runs on the loop */
        pthread_mutex_lock(&a.mu);
        while (!a.done)
            pthread_cond_wait(&a.cond, &a.mu);
        pthread_mutex_unlock(&a.mu);
    }
    pthread_mutex_destroy(&a.mu);
    pthread_cond_destroy(&a.cond);
    return rc == GENRPC_OK ? a.closed : -rc;
}
