/*
 * pending.c - a client connection's table of calls in flight, by request
 * id: a base/idmap (which assigns the ids) under the client's pend_mu.
 */
#include <stdlib.h>

#include "base/idmap.h"
#include "rpc/call.h"
#include "rpc/client.h"
#include "rpc/pending.h"

int
genrpc__pending_insert(genrpc__conn *conn, genrpc__pending *p)
{
    genrpc__client *c = genrpc__client_of(conn);
    p->sent_ticks = genrpc__ticks();
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
genrpc__pending_take(genrpc__conn *conn, uint64_t req_id)
{
    genrpc__client *c = genrpc__client_of(conn);
    pthread_mutex_lock(&c->pend_mu);
    genrpc__pending *p = genrpc__idmap_take(&c->pending, req_id);
    pthread_mutex_unlock(&c->pend_mu);
    if (p)
        genrpc__cancel_detach(p);
    return p;
}

bool
genrpc__pending_withdraw(genrpc__conn *conn, genrpc__pending *p)
{
    genrpc__client *c = genrpc__client_of(conn);
    pthread_mutex_lock(&c->pend_mu);
    bool removed = genrpc__idmap_remove(&c->pending, p->req_id, p);
    pthread_mutex_unlock(&c->pend_mu);
    return removed;
}

bool
genrpc__pending_remove(genrpc__conn *conn, genrpc__pending *p)
{
    bool removed = genrpc__pending_withdraw(conn, p);
    if (removed)
        genrpc__cancel_detach(p);
    return removed;
}

void
genrpc__pending_fail_all(genrpc__conn *conn, int err, const char *msg)
{
    genrpc__client *c = genrpc__client_of(conn);
    genrpc__idmap all;
    pthread_mutex_lock(&c->pend_mu);
    c->pend_closed = true;
    genrpc__idmap_drain(&c->pending, &all);
    pthread_mutex_unlock(&c->pend_mu);
    genrpc__pending *p;
    for (size_t pos = 0; (p = genrpc__idmap_next(&all, &pos));) {
        genrpc__cancel_detach(p);
        genrpc__fail(&p->status, err, "%s: %s", conn->peer, msg);
        genrpc__pending_complete(p);
    }
    genrpc__idmap_free(&all);
}

void
genrpc__pending_goaway(genrpc__conn *conn, uint64_t last_req_id)
{
    genrpc__client *c = genrpc__client_of(conn);
    pthread_mutex_lock(&c->pend_mu);
    c->pend_closed = true;
    size_t n = 0, cap = genrpc__idmap_count(&c->pending);
    genrpc__pending **unread = cap ? malloc(cap * sizeof *unread) : NULL;
    genrpc__pending *p;
    for (size_t pos = 0; unread && (p = genrpc__idmap_next(&c->pending, &pos));)
        if (p->req_id > last_req_id)
            unread[n++] = p;
    for (size_t i = 0; i < n; i++)
        genrpc__idmap_remove(&c->pending, unread[i]->req_id, unread[i]);
    pthread_mutex_unlock(&c->pend_mu);
    for (size_t i = 0; i < n; i++) {
        p = unread[i];
        genrpc__cancel_detach(p);
        genrpc__fail(&p->status, GENRPC_E_UNAVAILABLE,
                     "%s went away before reading this call: it did not run", conn->peer);
        genrpc__pending_complete(p);
    }
    free(unread);
}

void
genrpc__pending_fail_unsent(genrpc__conn *conn, const uint64_t *req_ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        genrpc__pending *p = genrpc__pending_take(conn, req_ids[i]);
        if (!p)
            continue;
        genrpc__fail(&p->status, GENRPC_E_UNAVAILABLE,
                     "%s: the connection closed before the call was sent: it did not run",
                     conn->peer);
        genrpc__pending_complete(p);
    }
}

bool
genrpc__pending_busy(genrpc__conn *conn)
{
    genrpc__client *c = genrpc__client_of(conn);
    pthread_mutex_lock(&c->pend_mu);
    bool calls = genrpc__idmap_count(&c->pending) > 0;
    if (!calls)
        c->pend_closed = true;
    pthread_mutex_unlock(&c->pend_mu);
    return calls;
}

/* One record, three completions: a blocked caller, a promise, a callback. */
void
genrpc__pending_complete(genrpc__pending *p)
{
    switch (p->mode) {
    case GENRPC__WAITER:
        pthread_mutex_lock(&p->waiter->mu);
        p->done = true;
        pthread_cond_signal(&p->waiter->cond);
        pthread_mutex_unlock(&p->waiter->mu);
        break;
    case GENRPC__PROMISE:
        genrpc__promise_complete(p->promise);
        break;
    case GENRPC__CALLBACK:
        genrpc__callback_complete(p);
        break;
    }
}
