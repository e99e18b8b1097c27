/*
 * pending.c - a client connection's table of calls in flight, by request
 * id: a base/idmap (which assigns the ids) under conn->pend_mu.
 */
#include <stdlib.h>

#include "base/idmap.h"
#include "internal.h"

int
genrpc__pending_insert(genrpc__conn *c, genrpc__pending *p)
{
    pthread_mutex_lock(&c->pend_mu);
    if (c->pend_closed) {
        pthread_mutex_unlock(&c->pend_mu);
        return GENRPC_E_CLOSED;
    }
    bool ok = genrpc__idmap_insert(&c->pending, p, &p->req_id);
    pthread_mutex_unlock(&c->pend_mu);
    return ok ? GENRPC_OK : GENRPC_E_NOMEM;
}

genrpc__pending *
genrpc__pending_take(genrpc__conn *c, uint64_t req_id)
{
    pthread_mutex_lock(&c->pend_mu);
    genrpc__pending *p = genrpc__idmap_take(&c->pending, req_id);
    pthread_mutex_unlock(&c->pend_mu);
    return p;
}

bool
genrpc__pending_remove(genrpc__conn *c, genrpc__pending *p)
{
    pthread_mutex_lock(&c->pend_mu);
    bool removed = genrpc__idmap_remove(&c->pending, p->req_id, p);
    pthread_mutex_unlock(&c->pend_mu);
    return removed;
}

void
genrpc__pending_fail_all(genrpc__conn *c, int err, const char *msg)
{
    genrpc__idmap all;
    pthread_mutex_lock(&c->pend_mu);
    c->pend_closed = true;
    genrpc__idmap_drain(&c->pending, &all);
    pthread_mutex_unlock(&c->pend_mu);
    genrpc__pending *p;
    for (size_t pos = 0; (p = genrpc__idmap_next(&all, &pos));) {
        genrpc__fail(&p->status, err, "%s: %s", c->peer, msg);
        genrpc__pending_complete(p);
    }
    genrpc__idmap_free(&all);
}
