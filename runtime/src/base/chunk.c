/*
 * chunk.c - refcounted read buffers, and a small process-wide pool of
 * bulk-sized ones.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/chunk.h"

/* Chunks of the bulk size are recycled, process-wide: glibc gives the
 * pages of a freed 1 MiB block back to the kernel, so a fresh one is
 * faulted in page by page (8 % of a server's CPU at 500 KB requests). A
 * few spare chunks cover what is in flight between reads and releases. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GENRPC__ASAN 1
#endif
#endif
#define POOL_SLOTS 8
#if defined(__SANITIZE_ADDRESS__) || defined(GENRPC__ASAN)
#define POOL_KEEP 0 /* recycling would hide a use after free from ASan */
#else
#define POOL_KEEP POOL_SLOTS
#endif
static struct {
    pthread_mutex_t mu;
    int n;
    genrpc__chunk *spare[POOL_SLOTS];
} chunk_pool = {PTHREAD_MUTEX_INITIALIZER, 0, {NULL}};

static genrpc__chunk *
pool_take(void)
{
    pthread_mutex_lock(&chunk_pool.mu);
    genrpc__chunk *c = chunk_pool.n ? chunk_pool.spare[--chunk_pool.n] : NULL;
    pthread_mutex_unlock(&chunk_pool.mu);
    return c;
}

static bool
pool_give(genrpc__chunk *c)
{
    pthread_mutex_lock(&chunk_pool.mu);
    bool kept = chunk_pool.n < POOL_KEEP;
    if (kept)
        chunk_pool.spare[chunk_pool.n++] = c;
    pthread_mutex_unlock(&chunk_pool.mu);
    return kept;
}

__attribute__((destructor)) static void
pool_drain(void)
{
    genrpc__chunk *c;
    while ((c = pool_take()))
        free(c);
}

genrpc__chunk *
genrpc__chunk_new(size_t cap)
{
    genrpc__chunk *c = cap == GENRPC__CHUNK_BULK ? pool_take() : NULL;
    if (!c && !(c = malloc(sizeof *c + cap)))
        return NULL;
    atomic_init(&c->refs, 1);
    c->cap = cap;
    return c;
}

void
genrpc__chunk_ref(genrpc__chunk *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void
genrpc__chunk_unref(genrpc__chunk *c)
{
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1 &&
        !(c->cap == GENRPC__CHUNK_BULK && pool_give(c)))
        free(c);
}

void
genrpc__slice_release(genrpc__slice *s)
{
    genrpc__chunk_unref(s->chunk);
    s->chunk = NULL;
    s->data = NULL;
    s->len = 0;
}
