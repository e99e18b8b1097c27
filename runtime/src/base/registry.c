/*
 * registry.c - name[+version] -> reference-counted entry (registry.h).
 * A small array under a rwlock: registrations are few and change rarely,
 * lookups (one per request) only read.
 */
#include <stdlib.h>
#include <string.h>

#include "genrpc/error.h"
#include "base/registry.h"

void
genrpc__registry_init(genrpc__registry *r)
{
    pthread_rwlock_init(&r->lock, NULL);
    r->v = NULL;
    r->n = r->cap = 0;
    pthread_mutex_init(&r->wait_mu, NULL);
    pthread_cond_init(&r->wait_cond, NULL);
}

void
genrpc__registry_destroy(genrpc__registry *r)
{
    for (size_t i = 0; i < r->n; i++)
        r->v[i]->free(r->v[i]);
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
    pthread_rwlock_destroy(&r->lock);
    pthread_mutex_destroy(&r->wait_mu);
    pthread_cond_destroy(&r->wait_cond);
}

int
genrpc__registry_add(genrpc__registry *r, genrpc__regentry *e)
{
    atomic_init(&e->refs, 1);
    e->name_len = strlen(e->name);
    int rc = GENRPC_OK;
    pthread_rwlock_wrlock(&r->lock);
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i]->version == e->version && strcmp(r->v[i]->name, e->name) == 0)
            rc = GENRPC_E_EXISTS;
    if (rc == GENRPC_OK && r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 8;
        genrpc__regentry **nv = realloc(r->v, ncap * sizeof *nv);
        if (nv) {
            r->v = nv;
            r->cap = ncap;
        } else {
            rc = GENRPC_E_NOMEM;
        }
    }
    if (rc == GENRPC_OK)
        r->v[r->n++] = e;
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

genrpc__regentry *
genrpc__registry_lookup(genrpc__registry *r, genrpc__str name, uint32_t version)
{
    genrpc__regentry *best = NULL;
    pthread_rwlock_rdlock(&r->lock);
    for (size_t i = 0; i < r->n; i++) {
        genrpc__regentry *e = r->v[i];
        /* lengths first: every request looks its module up here, and most
         * entries (the built-in modules too) differ in length */
        if (e->name_len != name.len || memcmp(e->name, name.p, name.len) != 0)
            continue;
        if (version ? e->version == version : !best || e->version > best->version)
            best = e;
        if (version && best)
            break;
    }
    if (best)
        atomic_fetch_add(&best->refs, 1);
    pthread_rwlock_unlock(&r->lock);
    return best;
}

genrpc__regentry **
genrpc__registry_snapshot(genrpc__registry *r, size_t *n)
{
    pthread_rwlock_rdlock(&r->lock);
    genrpc__regentry **v = r->n ? malloc(r->n * sizeof *v) : NULL;
    *n = v ? r->n : 0;
    for (size_t i = 0; i < *n; i++) {
        v[i] = r->v[i];
        atomic_fetch_add(&v[i]->refs, 1);
    }
    pthread_rwlock_unlock(&r->lock);
    return v;
}

void
genrpc__registry_unref(genrpc__registry *r, genrpc__regentry *e)
{
    int before = atomic_fetch_sub(&e->refs, 1);
    if (before == 1) {
        e->free(e); /* removed without waiting: the last user frees it */
    } else if (before == 2) {
        /* maybe only the removing thread is left: wake it */
        pthread_mutex_lock(&r->wait_mu);
        pthread_cond_broadcast(&r->wait_cond);
        pthread_mutex_unlock(&r->wait_mu);
    }
}

int
genrpc__registry_remove(genrpc__registry *r, const char *name, uint32_t version, bool wait)
{
    genrpc__regentry *e = NULL;
    pthread_rwlock_wrlock(&r->lock);
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i]->version == version && strcmp(r->v[i]->name, name) == 0) {
            e = r->v[i];
            r->v[i] = r->v[--r->n];
            break;
        }
    }
    pthread_rwlock_unlock(&r->lock);
    if (!e)
        return GENRPC_E_NOT_FOUND;
    if (!wait) {
        genrpc__registry_unref(r, e); /* users still running keep it alive */
        return GENRPC_OK;
    }
    pthread_mutex_lock(&r->wait_mu);
    while (atomic_load(&e->refs) > 1)
        pthread_cond_wait(&r->wait_cond, &r->wait_mu);
    pthread_mutex_unlock(&r->wait_mu);
    e->free(e);
    return GENRPC_OK;
}
