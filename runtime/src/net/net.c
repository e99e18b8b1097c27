/*
 * net.c - what a node's connections share (net.h): the lists every
 * connection is on, closing them all or some, and the layer's set-up and
 * teardown.
 */
#include <string.h>
#include <unistd.h>

#include "net/conn.h"
#include "net/net.h"

void
genrpc__conns_link(genrpc__net *net, genrpc__list *list, genrpc__conn *c)
{
    pthread_mutex_lock(&net->conns_mu);
    genrpc__list_push_front(list, &c->list_link); /* newest first */
    genrpc__conn_ref(c);
    pthread_mutex_unlock(&net->conns_mu);
}

void
genrpc__conns_unlink(genrpc__net *net, genrpc__conn *c)
{
    pthread_mutex_lock(&net->conns_mu);
    bool linked = genrpc__list_linked(&c->list_link);
    if (linked)
        genrpc__list_remove(&c->list_link);
    pthread_mutex_unlock(&net->conns_mu);
    if (linked)
        genrpc__conn_unref(c);
}

void
genrpc__net_init(genrpc__net *net)
{
    net->listen_fd = net->tls_listen_fd = -1;
    pthread_mutex_init(&net->conns_mu, NULL);
    pthread_rwlock_init(&net->resolver_mu, NULL);
    genrpc__list_init(&net->clients);
    genrpc__list_init(&net->acceptors);
}

void
genrpc__net_destroy(genrpc__net *net)
{
    /* The listeners still open if the node failed to start (the loop never
     * ran, or is gone: nothing to stop watching). */
    if (net->listen_fd >= 0)
        close(net->listen_fd);
    if (net->tls_listen_fd >= 0)
        close(net->tls_listen_fd);
    genrpc__tls_free(net);
    pthread_mutex_destroy(&net->conns_mu);
    pthread_rwlock_destroy(&net->resolver_mu);
}

/* Loop only (the node's shutdown): closes every connection with err. */
void
genrpc__conns_close_all(genrpc__net *net, int err, const char *why)
{
    GENRPC__ASSERT_ON_LOOP(net->loop);
    for (;;) {
        pthread_mutex_lock(&net->conns_mu);
        genrpc__list *l = genrpc__list_first(&net->clients);
        if (!l)
            l = genrpc__list_first(&net->acceptors);
        genrpc__conn *c = l ? GENRPC__CONTAINER_OF(l, genrpc__conn, list_link) : NULL;
        if (c)
            genrpc__conn_ref(c);
        pthread_mutex_unlock(&net->conns_mu);
        if (!c)
            break;
        genrpc__conn_close(c, err, "%s", why);
        genrpc__conn_unref(c);
    }
}

/* Loop only: closes up to max (<= 0: all) acceptors, newest first, of
 * `peer` (NULL: any); returns how many. */
int
genrpc__conns_close_acceptors(genrpc__net *net, const char *peer, int max, int err,
                              const char *why)
{
    GENRPC__ASSERT_ON_LOOP(net->loop);
    int closed = 0;
    while (max <= 0 || closed < max) {
        pthread_mutex_lock(&net->conns_mu);
        genrpc__conn *c = NULL; /* newest first: conns_link prepends */
        GENRPC__LIST_FOREACH(l, &net->acceptors) {
            genrpc__conn *a = GENRPC__CONTAINER_OF(l, genrpc__conn, list_link);
            if (atomic_load(&a->state) != GENRPC__CLOSED && (!peer || strcmp(a->peer, peer) == 0)) {
                c = a;
                genrpc__conn_ref(c);
                break;
            }
        }
        pthread_mutex_unlock(&net->conns_mu);
        if (!c)
            break;
        genrpc__conn_close(c, err, "%s", why);
        genrpc__conn_unref(c);
        closed++;
    }
    return closed;
}
