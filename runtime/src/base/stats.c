/*
 * stats.c - reading a latency histogram (base/stats.h).
 */
#include "base/stats.h"

void
genrpc__hist_read(const genrpc__hist *h, genrpc__hist_copy *out)
{
    out->n = 0;
    for (int i = 0; i < GENRPC__HIST_BUCKETS; i++)
        out->n += out->b[i] = genrpc__counter_get(&h->b[i]);
}

uint64_t
genrpc__hist_quantile(const genrpc__hist_copy *h, double q)
{
    if (h->n == 0)
        return 0;
    /* the rank of the sample wanted, 1-based: ceil(q * n) */
    double want = q * (double)h->n;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want || rank == 0)
        rank++;
    uint64_t seen = 0;
    for (int b = 0; b < GENRPC__HIST_BUCKETS; b++) {
        if (!h->b[b] || seen + h->b[b] < rank) {
            seen += h->b[b];
            continue;
        }
        uint64_t lo = b ? 1ull << b : 0, width = b ? lo : 2; /* [lo, lo + width) */
        /* the samples spread evenly over the bucket, each in the middle
         * of its share: a lone sample reads as the bucket's middle */
        double frac = ((double)(rank - seen) - 0.5) / (double)h->b[b];
        return lo + (uint64_t)(frac * (double)(width - 1));
    }
    return 0; /* not reached: the buckets hold n */
}
