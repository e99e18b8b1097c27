/*
 * clock.h - monotonic time (base layer: no node, no loop, no threads).
 */
#ifndef GENRPC_BASE_CLOCK_H
#define GENRPC_BASE_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define GENRPC__NEVER INT64_MAX

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t genrpc__now_ns(void);
/* now + ms, GENRPC__NEVER for a negative ms (GENRPC_INFINITY). */
int64_t genrpc__deadline_after_ms(int64_t ms);
void genrpc__abstime(int64_t deadline_ns, struct timespec *ts);
/* A condition variable whose timed waits use CLOCK_MONOTONIC (deadlines
 * from genrpc__now_ns, immune to wall-clock jumps). */
void genrpc__cond_init_monotonic(pthread_cond_t *cond);
/* Coarse monotonic milliseconds (a few ns to read, a few ms of resolution:
 * it lags CLOCK_MONOTONIC by up to one kernel tick, at most
 * GENRPC__COARSE_LAG_MS at HZ=100). */
#define GENRPC__COARSE_LAG_MS 10
int64_t genrpc__coarse_ms(void);
/* A cycle counter, for timing short things where a clock read would cost
 * more than the thing counted (the statistics' latencies): one instruction
 * on x86-64 (the TSC, constant-rate on every CPU of this century) and
 * AArch64 (the virtual counter); CLOCK_MONOTONIC ns elsewhere. Only
 * differences mean anything; their rate against genrpc__now_ns is measured
 * by whoever converts them (rpc/stats.c). */
static inline uint64_t
genrpc__ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    return (uint64_t)genrpc__now_ns();
#endif
}
/* The time left until `deadline` as a call timeout: rounded up, at least
 * 1 ms (0 would mean "the default"); -1 (GENRPC_INFINITY) for NEVER. */
int64_t genrpc__ms_until(int64_t deadline);

#endif /* GENRPC_BASE_CLOCK_H */
