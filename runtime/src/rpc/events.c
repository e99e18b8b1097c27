/*
 * events.c - node-up/node-down events and their subscribers.
 *
 * The loop counts, per remote node, the authenticated connections in either
 * direction (clients and acceptors); UP fires when the count leaves 0, DOWN
 * when it returns to 0. Subscribers are called on the loop under mon_mu, so
 * unmonitor returning means "no more calls".
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct genrpc__monitor {
    genrpc__list link; /* node->monitors (mon_mu) */
    genrpc_node_event_cb cb;
    void *user;
    bool primed; /* has received the UPs of nodes up when it subscribed */
};

#define MONITOR_OF(l) GENRPC__CONTAINER_OF(l, struct genrpc__monitor, link)

struct genrpc__peer_up {
    char name[GENRPC__NAME_MAX + 1];
    int conns; /* authenticated connections with it */
};

/* mon_mu held, on the loop. */
static void
deliver(genrpc_node *node, const char *peer, genrpc_node_event ev)
{
    GENRPC__LIST_FOREACH(l, &node->monitors) {
        struct genrpc__monitor *m = MONITOR_OF(l);
        if (m->primed)
            m->cb(node, peer, ev, m->user);
    }
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
        genrpc__log(&node->cfg, GENRPC_LOG_INFO, "node %s down", name);
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
    GENRPC__LIST_FOREACH(l, &node->monitors) {
        struct genrpc__monitor *m = MONITOR_OF(l);
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
    genrpc__list_push_front(&node->monitors, &m->link);
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
    GENRPC__LIST_FOREACH(l, &node->monitors) {
        struct genrpc__monitor *m = MONITOR_OF(l);
        if (m->cb == cb && m->user == user) {
            genrpc__list_remove(l);
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
    for (genrpc__list *l; (l = genrpc__list_pop_front(&node->monitors));)
        free(MONITOR_OF(l));
    free(node->peers_up);
    node->peers_up = NULL;
    node->n_peers_up = node->cap_peers_up = 0;
    pthread_mutex_destroy(&node->mon_mu);
}

