/*
 * stats.h - the counters and latency histograms the statistics are kept in
 * (base layer: plain data, no node). Every field is a relaxed atomic, so
 * that any thread may read a snapshot while others count; none of them is
 * a lock or a fence. docs/stats.md.
 */
#ifndef GENRPC_BASE_STATS_H
#define GENRPC_BASE_STATS_H

#include <stdint.h>

/* C++ (the unit test, which includes <atomic> first, then this inside
 * extern "C") sees std::atomic<uint64_t>: lock-free, the same size and
 * layout as C11's atomic_uint_least64_t. */
#ifdef __cplusplus
typedef std::atomic<uint64_t> genrpc__counter;
#define GENRPC__LOAD(c) (c)->load(std::memory_order_relaxed)
#define GENRPC__STORE(c, v) (c)->store((v), std::memory_order_relaxed)
#define GENRPC__ADD(c, v) (c)->fetch_add((v), std::memory_order_relaxed)
#else
#include <stdatomic.h>
typedef atomic_uint_least64_t genrpc__counter;
#define GENRPC__LOAD(c) atomic_load_explicit((c), memory_order_relaxed)
#define GENRPC__STORE(c, v) atomic_store_explicit((c), (v), memory_order_relaxed)
#define GENRPC__ADD(c, v) atomic_fetch_add_explicit((c), (v), memory_order_relaxed)
#endif

/* Adds n to a counter that only one thread at a time writes (the loop, or
 * whoever holds the lock that guards the counted thing): a load and a
 * store, no locked instruction. */
static inline void
genrpc__count1w(genrpc__counter *c, uint64_t n)
{
    GENRPC__STORE(c, GENRPC__LOAD(c) + n);
}

/* Adds n to a counter many threads write. */
static inline void
genrpc__count(genrpc__counter *c, uint64_t n)
{
    GENRPC__ADD(c, n);
}

static inline uint64_t
genrpc__counter_get(const genrpc__counter *c)
{
    return GENRPC__LOAD((genrpc__counter *)c);
}

/* A latency histogram with power-of-two buckets of some unit (the stats
 * use ticks, base/clock.h): bucket 0 holds [0, 2), bucket b (1..63)
 * [2^b, 2^(b+1)). One per bit: every value has its bucket, no bounds
 * check on the way. */
#define GENRPC__HIST_BUCKETS 64

typedef struct genrpc__hist {
    genrpc__counter b[GENRPC__HIST_BUCKETS];
} genrpc__hist;

static inline void
genrpc__hist_add(genrpc__hist *h, uint64_t v)
{
    genrpc__count(&h->b[63 - __builtin_clzll(v | 1)], 1);
}

/* The same, for a histogram only one thread at a time writes. */
static inline void
genrpc__hist_add1w(genrpc__hist *h, uint64_t v)
{
    genrpc__count1w(&h->b[63 - __builtin_clzll(v | 1)], 1);
}

/* A copy of a histogram, taken bucket by bucket (stats.c). */
typedef struct genrpc__hist_copy {
    uint64_t b[GENRPC__HIST_BUCKETS];
    uint64_t n; /* their sum */
} genrpc__hist_copy;

void genrpc__hist_read(const genrpc__hist *h, genrpc__hist_copy *out);
/* The q-th quantile (0 < q <= 1), interpolated linearly inside its
 * bucket (so within a factor of two of the truth); 0 when the histogram
 * is empty. */
uint64_t genrpc__hist_quantile(const genrpc__hist_copy *h, double q);

#endif /* GENRPC_BASE_STATS_H */
