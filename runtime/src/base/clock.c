/*
 * clock.c - monotonic time: deadlines in nanoseconds, a coarse millisecond
 * clock for activity stamps, and condition variables that wait on it.
 */
#include <pthread.h>
#include <time.h>

#include "base/clock.h"

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
genrpc__cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}


int64_t
genrpc__coarse_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
genrpc__ms_until(int64_t deadline)
{
    if (deadline == GENRPC__NEVER)
        return -1; /* GENRPC_INFINITY */
    int64_t left = (deadline - genrpc__now_ns() + 999999) / 1000000;
    return left > 0 ? left : 1;
}
