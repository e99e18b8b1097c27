/*
 * pending.c - a client connection's table of calls in flight, by request id.
 */
#include <stdlib.h>

#include "internal.h"
#include "rpc/client.h"
#include "rpc/pending.h"

/* ---- pending table ------------------------------------------------------- */

static size_t
slot(const genrpc__client *c, uint64_t id)
{
    return (size_t)(id * 0x9E3779B97F4A7C15ull >> 32) & (c->ptab_cap - 1);
}

static bool
grow(genrpc__client *c)
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
genrpc__pending_insert(genrpc__conn *conn, genrpc__pending *p)
{
    genrpc__client *c = genrpc__client_of(conn);
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
unlink_id(genrpc__client *c, uint64_t id, const genrpc__pending *only)
{
    GENRPC__ASSERT_HELD(&c->pend_mu);
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
genrpc__pending_take(genrpc__conn *conn, uint64_t req_id)
{
    genrpc__client *c = genrpc__client_of(conn);
    pthread_mutex_lock(&c->pend_mu);
    genrpc__pending *p = unlink_id(c, req_id, NULL);
    pthread_mutex_unlock(&c->pend_mu);
    return p;
}

bool
genrpc__pending_remove(genrpc__conn *conn, genrpc__pending *p)
{
    genrpc__client *c = genrpc__client_of(conn);
    pthread_mutex_lock(&c->pend_mu);
    bool removed = unlink_id(c, p->req_id, p) != NULL;
    pthread_mutex_unlock(&c->pend_mu);
    return removed;
}

void
genrpc__pending_fail_all(genrpc__conn *conn, int err, const char *msg)
{
    genrpc__client *c = genrpc__client_of(conn);
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
        genrpc__fail(&all->status, err, "%s: %s", conn->peer, msg);
        genrpc__pending_complete(all);
        all = next;
    }
}


bool
genrpc__pending_busy(genrpc__conn *conn)
{
    genrpc__client *c = genrpc__client_of(conn);
    pthread_mutex_lock(&c->pend_mu);
    bool calls = c->ptab_n > 0;
    if (!calls)
        c->pend_closed = true;
    pthread_mutex_unlock(&c->pend_mu);
    return calls;
}
