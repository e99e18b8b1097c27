/*
 * stats.h - the counters and latency histograms the statistics are kept in
 * (base layer: plain data, no node). Every field is a relaxed atomic, so
 * that any thread may read a snapshot while others count; none of them is
 * a lock or a fence. docs/stats.md.
 */
#ifndef GENRPC_BASE_STATS_H
#define GENRPC_BASE_STATS_H

#include <stdatomic.h>
#include <stdint.h>

typedef atomic_uint_least64_t genrpc__counter;

/* Adds n to a counter that only one thread at a time writes (the loop, or
 * whoever holds the lock that guards the counted thing): a load and a
 * store, no locked instruction. */
static inline void
genrpc__count1w(genrpc__counter *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Adds n to a counter many threads write. */
static inline void
genrpc__count(genrpc__counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t
genrpc__counter_get(const genrpc__counter *c)
{
    return atomic_load_explicit((genrpc__counter *)c, memory_order_relaxed);
}

/* A latency histogram with power-of-two buckets of nanoseconds: bucket 0
 * holds 0 ns, bucket b (1..) holds [2^(b-1), 2^b), the last one everything
 * above 2^(GENRPC__HIST_BUCKETS-2) ns (about 2.3 minutes). */
#define GENRPC__HIST_BUCKETS 39

typedef struct genrpc__hist {
    genrpc__counter b[GENRPC__HIST_BUCKETS];
} genrpc__hist;

static inline void
genrpc__hist_add(genrpc__hist *h, int64_t ns)
{
    unsigned b = ns <= 0 ? 0 : 64u - (unsigned)__builtin_clzll((uint64_t)ns);
    if (b >= GENRPC__HIST_BUCKETS)
        b = GENRPC__HIST_BUCKETS - 1;
    genrpc__count(&h->b[b], 1);
}

/* A copy of a histogram, taken bucket by bucket (stats.c). */
typedef struct genrpc__hist_copy {
    uint64_t b[GENRPC__HIST_BUCKETS];
    uint64_t n; /* their sum */
} genrpc__hist_copy;

void genrpc__hist_read(const genrpc__hist *h, genrpc__hist_copy *out);
/* The q-th quantile (0 < q <= 1) in ns, interpolated linearly inside its
 * bucket; 0 when the histogram is empty. */
uint64_t genrpc__hist_quantile(const genrpc__hist_copy *h, double q);

#endif /* GENRPC_BASE_STATS_H */
