/*
 * bench_util_fallback.h - used only when ../shared/baselines/src/bench_util.h
 * is not there (the build must work without ../shared). It is a verbatim copy
 * of that file (same clock, same nearest-rank percentiles, same result line),
 * from the echo-contract baselines; keep the two identical. When the shared
 * file exists, bench/CMakeLists.txt makes the clients include it instead, so
 * the definitions cannot drift.
 */
/*
 * bench_util.h - tiny helpers shared by every benchmark client (C and C++).
 *
 *   now_ns()      monotonic clock in nanoseconds (vDSO, ~20 ns per call)
 *   lat_vec       growable array of per-call latencies (ns, uint32: <= 4.29 s)
 *   print_result  sorts the samples and prints the ONE machine-readable line:
 *                 calls_per_s=<f> p50_us=<f> p99_us=<f> mb_per_s=<f>
 *
 * Definitions (identical for every client, so figures are comparable):
 *   calls_per_s  calls completed inside the measured window / window length
 *   p50/p99_us   nearest-rank percentiles of the per-call latency (issue ->
 *                complete) of the calls completed inside the window
 *   mb_per_s     calls_per_s * payload_bytes / 1e6, i.e. payload megabytes
 *                (10^6 B) echoed per second, counted ONCE (the request
 *                payload; the reply carries the same bytes back again).
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct {
    uint32_t *v;   /* samples in ns */
    size_t n, cap;
} lat_vec;

static inline void lat_push(lat_vec *l, uint64_t ns) {
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : (1u << 16);
        uint32_t *nv = (uint32_t *)realloc(l->v, ncap * sizeof *nv);
        if (!nv) { perror("realloc"); exit(2); }
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = ns > 0xffffffffull ? 0xffffffffu : (uint32_t)ns;
}

/* Append all samples of src to dst (used to merge per-thread vectors). */
static inline void lat_merge(lat_vec *dst, const lat_vec *src) {
    for (size_t i = 0; i < src->n; i++) lat_push(dst, src->v[i]);
}

static int lat_cmp_u32_(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (p in 0..100) of an already sorted vector, in us. */
static inline double lat_pct_us(const lat_vec *l, double p) {
    if (l->n == 0) return 0.0;
    size_t rank = (size_t)((p / 100.0) * (double)l->n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > l->n) rank = l->n;
    return l->v[rank - 1] / 1000.0;
}

static inline void print_result(uint64_t calls, double window_s, lat_vec *l,
                                size_t payload) {
    qsort(l->v, l->n, sizeof l->v[0], lat_cmp_u32_);
    double cps = window_s > 0 ? (double)calls / window_s : 0.0;
    printf("calls_per_s=%.1f p50_us=%.2f p99_us=%.2f mb_per_s=%.2f\n", cps,
           lat_pct_us(l, 50.0), lat_pct_us(l, 99.0),
           cps * (double)payload / 1e6);
    fflush(stdout);
}

#endif /* BENCH_UTIL_H */
