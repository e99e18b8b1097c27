/*
 * idmap.c - u64 id -> pointer, ids assigned in sequence (idmap.h).
 */
#include <stdlib.h>

#include "base/idmap.h"

#define IDMAP_MIN_CAP 64

void
genrpc__idmap_init(genrpc__idmap *m, uint64_t first_id)
{
    m->slots = NULL;
    m->cap = m->n = 0;
    m->shift = 64;
    m->next_id = first_id;
}

void
genrpc__idmap_free(genrpc__idmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
    m->shift = 64;
}

static inline size_t
home(const genrpc__idmap *m, uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> m->shift); /* cap > 0 */
}

/* The slot holding id, or the free slot ending its probe sequence. */
static size_t
find(const genrpc__idmap *m, uint64_t id)
{
    size_t i = home(m, id);
    while (m->slots[i].ptr && m->slots[i].id != id)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static bool
grow(genrpc__idmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : IDMAP_MIN_CAP;
    genrpc__idmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return false;
    genrpc__idmap old = *m;
    m->slots = ns;
    m->cap = ncap;
    m->shift = 64;
    for (size_t c = ncap; c > 1; c >>= 1)
        m->shift--;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].ptr)
            m->slots[find(m, old.slots[i].id)] = old.slots[i];
    free(old.slots);
    return true;
}

bool
genrpc__idmap_insert(genrpc__idmap *m, void *ptr, uint64_t *id)
{
    if ((m->n + 1) * 2 > m->cap && !grow(m))
        return false;
    uint64_t nid = m->next_id;
    size_t i = find(m, nid);
    /* After 2^64 ids, skip any still in use (never, in practice). */
    while (m->slots[i].ptr) {
        nid++;
        i = find(m, nid);
    }
    m->next_id = nid + 1;
    m->slots[i].id = nid;
    m->slots[i].ptr = ptr;
    m->n++;
    *id = nid;
    return true;
}

/* Empties slot i, moving later entries of its probe run back (so lookups
 * need no tombstones). */
static void
erase(genrpc__idmap *m, size_t i)
{
    size_t mask = m->cap - 1;
    for (size_t j = (i + 1) & mask; m->slots[j].ptr; j = (j + 1) & mask) {
        size_t k = home(m, m->slots[j].id);
        /* j's entry stays if its home lies cyclically in (i, j] */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].ptr = NULL;
    m->n--;
}

void *
genrpc__idmap_take(genrpc__idmap *m, uint64_t id)
{
    if (!m->n)
        return NULL;
    size_t i = find(m, id);
    void *p = m->slots[i].ptr;
    if (p)
        erase(m, i);
    return p;
}

bool
genrpc__idmap_remove(genrpc__idmap *m, uint64_t id, const void *ptr)
{
    if (!m->n)
        return false;
    size_t i = find(m, id);
    if (!m->slots[i].ptr || m->slots[i].ptr != ptr)
        return false;
    erase(m, i);
    return true;
}

void
genrpc__idmap_drain(genrpc__idmap *m, genrpc__idmap *all)
{
    *all = *m;
    m->slots = NULL;
    m->cap = m->n = 0;
    m->shift = 64;
}

void *
genrpc__idmap_next(const genrpc__idmap *m, size_t *pos)
{
    for (size_t i = *pos; i < m->cap; i++) {
        if (m->slots[i].ptr) {
            *pos = i + 1;
            return m->slots[i].ptr;
        }
    }
    *pos = m->cap;
    return NULL;
}
