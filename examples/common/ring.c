/* ring.c - see ring.h. */
#include "ring.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct point {
    uint64_t hash;
    int node; /* index into names */
} point;

struct ring {
    pthread_mutex_t lock;
    char names[RING_MAX_NODES][RING_NAME_MAX];
    int n_names;
    point points[RING_MAX_NODES * RING_VNODES]; /* sorted by hash */
    int n_points;
};

/* FNV-1a, then a mixing step (MurmurHash3's finaliser) so that similar
 * strings ("10.0.0.1", "10.0.0.2") land far apart. */
static uint64_t
hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static int
cmp_point(const void *a, const void *b)
{
    const point *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* Rebuilds the sorted point list from names (called with the lock held). */
static void
rebuild(ring *r)
{
    r->n_points = 0;
    for (int i = 0; i < r->n_names; i++) {
        for (int v = 0; v < RING_VNODES; v++) {
            char label[RING_NAME_MAX + 16];
            snprintf(label, sizeof label, "%s#%d", r->names[i], v);
            r->points[r->n_points++] = (point){hash_str(label), i};
        }
    }
    qsort(r->points, r->n_points, sizeof(point), cmp_point);
}

static int
find(const ring *r, const char *node)
{
    for (int i = 0; i < r->n_names; i++)
        if (strcmp(r->names[i], node) == 0)
            return i;
    return -1;
}

ring *
ring_new(void)
{
    ring *r = calloc(1, sizeof *r);
    if (r)
        pthread_mutex_init(&r->lock, NULL);
    return r;
}

void
ring_free(ring *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

bool
ring_add(ring *r, const char *node)
{
    bool added = false;
    pthread_mutex_lock(&r->lock);
    if (find(r, node) < 0 && r->n_names < RING_MAX_NODES && strlen(node) < RING_NAME_MAX) {
        strcpy(r->names[r->n_names++], node);
        rebuild(r);
        added = true;
    }
    pthread_mutex_unlock(&r->lock);
    return added;
}

bool
ring_remove(ring *r, const char *node)
{
    bool removed = false;
    pthread_mutex_lock(&r->lock);
    int i = find(r, node);
    if (i >= 0) {
        /* keep the other names in place: move the last one into the hole */
        r->n_names--;
        if (i != r->n_names)
            memcpy(r->names[i], r->names[r->n_names], RING_NAME_MAX);
        rebuild(r);
        removed = true;
    }
    pthread_mutex_unlock(&r->lock);
    return removed;
}

bool
ring_has(ring *r, const char *node)
{
    pthread_mutex_lock(&r->lock);
    bool has = find(r, node) >= 0;
    pthread_mutex_unlock(&r->lock);
    return has;
}

size_t
ring_size(ring *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = (size_t)r->n_names;
    pthread_mutex_unlock(&r->lock);
    return n;
}

bool
ring_owner(ring *r, const char *key, char out[RING_NAME_MAX])
{
    uint64_t h = hash_str(key);
    pthread_mutex_lock(&r->lock);
    bool found = r->n_points > 0;
    if (found) {
        /* binary search for the first point >= h; past the end wraps to 0 */
        int lo = 0, hi = r->n_points;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (r->points[mid].hash < h)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == r->n_points)
            lo = 0;
        memcpy(out, r->names[r->points[lo].node], RING_NAME_MAX);
    }
    pthread_mutex_unlock(&r->lock);
    return found;
}
