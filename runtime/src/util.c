/*
 * util.c - small shared pieces: clocks, logging, status filling, read
 * chunks and the per-thread waiter.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

int64_t
genrpc__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
genrpc__deadline_after_ms(int64_t ms)
{
    if (ms < 0)
        return GENRPC__NEVER;
    return genrpc__now_ns() + ms * 1000000;
}

void
genrpc__abstime(int64_t deadline_ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(deadline_ns / 1000000000);
    ts->tv_nsec = (long)(deadline_ns % 1000000000);
}

void
genrpc__log(genrpc_node *node, genrpc_log_level level, const char *fmt, ...)
{
    if (!GENRPC__LOG_ON(node, level))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    node->cfg.log_cb(level, msg, node->cfg.log_arg);
}

static int
vfail(genrpc_status *st, int err, const char *fmt, va_list ap)
{
    if (st) {
        st->err = err;
        st->handler_code = 0;
        vsnprintf(st->message, sizeof st->message, fmt, ap);
    }
    return err;
}

int
genrpc__fail(genrpc_status *st, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(st, err, fmt, ap);
    va_end(ap);
    return err;
}

int
genrpc__ok(genrpc_status *st)
{
    if (st) {
        st->err = GENRPC_OK;
        st->handler_code = 0;
        st->message[0] = '\0';
    }
    return GENRPC_OK;
}

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

/* One waiter per thread, made on first use. The mutex and condition
 * variable live as long as the thread; a condition variable on
 * CLOCK_MONOTONIC makes timeouts immune to wall-clock jumps. */
static __thread genrpc__waiter tls_waiter;
static __thread bool tls_waiter_ready;

void
genrpc__cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}

genrpc__waiter *
genrpc__thread_waiter(void)
{
    if (!tls_waiter_ready) {
        genrpc__cond_init_monotonic(&tls_waiter.cond);
        pthread_mutex_init(&tls_waiter.mu, NULL);
        tls_waiter_ready = true;
    }
    return &tls_waiter;
}
