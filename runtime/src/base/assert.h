/*
 * assert.h - the runtime's debug-build checks (base layer, header only).
 *
 * Active when NDEBUG is not defined (Debug builds, such as scripts/test.sh's
 * ASan build) or when GENRPC_CHECKS is defined; compiled out otherwise, so
 * a release build pays nothing. A failed check prints where and aborts.
 *
 *   GENRPC__ASSERT(cond)           any invariant
 *   GENRPC__ASSERT_HELD(mu)        the calling thread holds pthread mutex mu
 *   GENRPC__ASSERT_ON_LOOP(loop)   the calling thread runs that genrpc__loop
 *                                  (defined in loop/loop.h)
 *
 * Lock ownership: glibc records the owner's thread id in every mutex it
 * locks (mu->__data.__owner, whatever the mutex type), so "held by me" is
 * one load and a gettid(): exact, no wrapper around lock/unlock, and no
 * unlock-relock trick that would open the critical section to another
 * thread. Elsewhere than glibc the ownership check is skipped.
 */
#ifndef GENRPC_BASE_ASSERT_H
#define GENRPC_BASE_ASSERT_H

#if !defined(NDEBUG) || defined(GENRPC_CHECKS)
#define GENRPC__CHECKED 1
#else
#define GENRPC__CHECKED 0
#endif

#if GENRPC__CHECKED

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline void
genrpc__assert_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "genrpc: check failed: %s (%s:%d)\n", what, file, line);
    abort();
}

/* The calling thread holds mu (true where that cannot be told). */
static inline bool
genrpc__mutex_held(const pthread_mutex_t *mu)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
    static __thread int tid; /* this thread's kernel id, asked once */
    if (!tid)
        tid = (int)syscall(SYS_gettid);
    return __atomic_load_n(&mu->__data.__owner, __ATOMIC_RELAXED) == tid;
#else
    (void)mu;
    return true;
#endif
}

#define GENRPC__ASSERT(cond) \
    ((cond) ? (void)0 : genrpc__assert_fail(#cond, __FILE__, __LINE__))
#define GENRPC__ASSERT_HELD(mu) \
    (genrpc__mutex_held(mu) ? (void)0 : genrpc__assert_fail(#mu " held", __FILE__, __LINE__))

#else

#define GENRPC__ASSERT(cond) ((void)sizeof(cond))
#define GENRPC__ASSERT_HELD(mu) ((void)(mu))

#endif

#endif /* GENRPC_BASE_ASSERT_H */
