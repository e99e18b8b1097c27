/*
 * events.c - node-up/node-down events and their subscribers.
 *
 * The loop counts, per remote node, the authenticated connections in either
 * direction (clients and acceptors); UP fires when the count leaves 0, DOWN
 * when it returns to 0. Subscribers are called on the loop with no lock
 * held. A monitor being called is marked busy (a count, under mon_mu);
 * unmonitor takes it off the list only once it is not busy (waiting on
 * mon_cond), so unmonitor returning still means "no more calls".
 * Unmonitor is refused on the loop (GENRPC_E_INVAL), so a callback never
 * waits for itself.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc/node.h"
#include "rpc/events.h"

struct genrpc__monitor {
    genrpc__list link; /* node->monitors (mon_mu) */
    genrpc_node_event_cb cb;
    void *user;
    genrpc_node *node;
    bool primed;  /* has received the UPs of nodes up when it subscribed (mon_mu) */
    bool removed; /* unmonitored: no more calls (mon_mu) */
    int busy;     /* calls running now, on the loop (mon_mu) */
    /* the loop primes it: queued from genrpc_node_monitor until it runs;
     * while queued the command owns the record (prime_queued, mon_mu) */
    genrpc__cmd prime_cmd;
    bool prime_queued;
};

#define MONITOR_OF(l) GENRPC__CONTAINER_OF(l, struct genrpc__monitor, link)

struct genrpc__peer_up {
    char name[GENRPC__NAME_MAX + 1];
    int conns; /* authenticated connections with it */
};

/* On the loop: m (busy, so still linked) is called with mon_mu released.
 * Returns with mon_mu held again and m no longer busy. */
static void
call_unlocked(genrpc_node *node, struct genrpc__monitor *m, const char *peer,
              genrpc_node_event ev)
{
    GENRPC__ASSERT_HELD(&node->mon_mu);
    m->busy++;
    pthread_mutex_unlock(&node->mon_mu);
    m->cb(node, peer, ev, m->user);
    pthread_mutex_lock(&node->mon_mu);
    if (--m->busy == 0 && m->removed)
        pthread_cond_broadcast(&node->mon_cond); /* its unmonitor may return */
}

/* On the loop: calls every primed subscriber, no lock held during a call.
 * A busy monitor stays linked, so its link is valid when the call
 * returns (unmonitor unlinks only monitors that are not busy). */
static void
deliver(genrpc_node *node, const char *peer, genrpc_node_event ev)
{
    GENRPC__ASSERT_ON_LOOP(&node->loop);
    pthread_mutex_lock(&node->mon_mu);
    GENRPC__LIST_FOREACH(l, &node->monitors) {
        struct genrpc__monitor *m = MONITOR_OF(l);
        if (m->primed && !m->removed)
            call_unlocked(node, m, peer, ev);
    }
    pthread_mutex_unlock(&node->mon_mu);
}

static bool
counts(const genrpc__conn *c)
{
    return c->peer[0] && strcmp(c->peer, genrpc__node_of(c)->cfg.name) != 0;
}

void
genrpc__events_conn_up(genrpc__conn *c)
{
    genrpc_node *node = genrpc__node_of(c);
    GENRPC__ASSERT_ON_LOOP(&node->loop);
    genrpc__stats_conn_up(c);
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
            genrpc__log(&node->cfg, GENRPC_LOG_ERROR, "no memory to track node %s: no UP event",
                        c->peer);
            return;
        }
        node->peers_up = np;
        node->cap_peers_up = ncap;
    }
    struct genrpc__peer_up *p = &node->peers_up[node->n_peers_up++];
    strcpy(p->name, c->peer);
    p->conns = 1;
    genrpc__log(&node->cfg, GENRPC_LOG_INFO, "node %s up", c->peer);
    deliver(node, c->peer, GENRPC_NODE_UP);
}

void
genrpc__events_conn_down(genrpc__conn *c)
{
    genrpc_node *node = genrpc__node_of(c);
    GENRPC__ASSERT_ON_LOOP(&node->loop);
    genrpc__stats_conn_down(c);
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
        genrpc__log(&node->cfg, GENRPC_LOG_INFO, "node %s down", name);
        deliver(node, name, GENRPC_NODE_DOWN);
        return;
    }
}

/* On the loop: the new subscriber learns which nodes are up, then gets
 * every later event. Unmonitored before this ran: the record is freed here. */
static void
prime_cmd(genrpc__cmd *cmd)
{
    struct genrpc__monitor *m = GENRPC__CONTAINER_OF(cmd, struct genrpc__monitor, prime_cmd);
    genrpc_node *node = m->node;
    GENRPC__ASSERT_ON_LOOP(&node->loop);
    pthread_mutex_lock(&node->mon_mu);
    m->prime_queued = false;
    if (m->removed) { /* unlinked by unmonitor, left for us to free */
        pthread_mutex_unlock(&node->mon_mu);
        free(m);
        return;
    }
    m->primed = true;
    for (size_t i = 0; i < node->n_peers_up && !atomic_load(&node->net.stopping) && !m->removed;
         i++) {
        char name[GENRPC__NAME_MAX + 1]; /* peers_up may change during the call */
        strcpy(name, node->peers_up[i].name);
        call_unlocked(node, m, name, GENRPC_NODE_UP);
    }
    pthread_mutex_unlock(&node->mon_mu);
}

int
genrpc_node_monitor(genrpc_node *node, genrpc_node_event_cb cb, void *user, genrpc_status *st)
{
    if (!node || !cb)
        return genrpc__fail(st, GENRPC_E_INVAL, "node and callback are required");
    if (genrpc__on_loop(&node->loop))
        return genrpc__fail(st, GENRPC_E_INVAL, "cannot subscribe from the node's event loop");
    if (atomic_load(&node->net.stopping))
        return genrpc__fail(st, GENRPC_E_STOPPED, "node %s is stopping", node->cfg.name);
    struct genrpc__monitor *m = calloc(1, sizeof *m);
    if (!m)
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a subscription");
    m->cb = cb;
    m->user = user;
    m->node = node;
    genrpc__cmd_init(&m->prime_cmd, prime_cmd);
    pthread_mutex_lock(&node->mon_mu);
    genrpc__list_push_front(&node->monitors, &m->link);
    m->prime_queued = true;
    pthread_mutex_unlock(&node->mon_mu);
    genrpc__loop_post(&node->loop, &m->prime_cmd);
    return genrpc__ok(st);
}

int
genrpc_node_unmonitor(genrpc_node *node, genrpc_node_event_cb cb, void *user)
{
    if (!node || genrpc__on_loop(&node->loop))
        return GENRPC_E_INVAL;
    pthread_mutex_lock(&node->mon_mu);
    struct genrpc__monitor *m = NULL;
    GENRPC__LIST_FOREACH(l, &node->monitors) {
        struct genrpc__monitor *it = MONITOR_OF(l);
        if (!it->removed && it->cb == cb && it->user == user) {
            m = it;
            break;
        }
    }
    if (!m) {
        pthread_mutex_unlock(&node->mon_mu);
        return GENRPC_E_INVAL;
    }
    m->removed = true; /* no new calls */
    while (m->busy > 0) /* a call running on the loop: wait for it to return */
        pthread_cond_wait(&node->mon_cond, &node->mon_mu);
    genrpc__list_remove(&m->link);
    bool queued = m->prime_queued; /* then prime_cmd frees it */
    pthread_mutex_unlock(&node->mon_mu);
    if (!queued)
        free(m);
    return GENRPC_OK;
}

void
genrpc__events_free(genrpc_node *node)
{
    for (genrpc__list *l; (l = genrpc__list_pop_front(&node->monitors));)
        free(MONITOR_OF(l));
    free(node->peers_up);
    node->peers_up = NULL;
    node->n_peers_up = node->cap_peers_up = 0;
    pthread_mutex_destroy(&node->mon_mu);
    pthread_cond_destroy(&node->mon_cond);
}

