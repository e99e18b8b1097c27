/*
 * idmap.h - a map from u64 ids to pointers that assigns the ids itself
 * (base layer): a connection's calls in flight by request id.
 *
 * Ids are handed out in sequence from the first one given to init. The
 * table is open addressing with linear probing, kept at most half full,
 * indexed by a Fibonacci hash of the id (its top bits after a multiply):
 * sequential ids land scattered, so probe runs stay short. (Indexing by
 * the id's low bits would put the calls in flight in one contiguous run,
 * which every removal would scan to its end: measured, 1,270 instructions
 * per call with 64 in flight.) Ids looked up (take, remove) may come from
 * the network: any value is safe, an unknown one just misses. Pointers
 * must not be NULL. Nothing here locks: the owner does.
 */
#ifndef GENRPC_BASE_IDMAP_H
#define GENRPC_BASE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct genrpc__idmap_slot {
    uint64_t id;
    void *ptr; /* NULL: free */
} genrpc__idmap_slot;

typedef struct genrpc__idmap {
    genrpc__idmap_slot *slots;
    size_t cap;     /* 0 or a power of two */
    unsigned shift; /* 64 - log2(cap): the hash's top bits index the table */
    size_t n;
    uint64_t next_id;
} genrpc__idmap;

/* An empty map whose first id will be first_id. Allocates nothing. */
void genrpc__idmap_init(genrpc__idmap *m, uint64_t first_id);
/* Frees the table (not what the pointers point to); m is empty after. */
void genrpc__idmap_free(genrpc__idmap *m);
/* Moves every entry into *all (a map of its own, to walk with
 * genrpc__idmap_next and free, e.g. after dropping the lock); m is left
 * empty, ids continue from where they were. */
void genrpc__idmap_drain(genrpc__idmap *m, genrpc__idmap *all);
/* Walks the entries: start with *pos = 0; returns the next pointer (and
 * advances *pos), NULL at the end. The map must not change meanwhile. */
void *genrpc__idmap_next(const genrpc__idmap *m, size_t *pos);

/* idmap.c, for the inline functions below: doubles the table. */
bool genrpc__idmap_grow_(genrpc__idmap *m);
/* idmap.c: empties slot i (backward shift: lookups need no tombstones). */
void genrpc__idmap_erase_(genrpc__idmap *m, size_t i);

/* Insert, take and remove are on every call's path: inline. */

static inline size_t
genrpc__idmap_home_(const genrpc__idmap *m, uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> m->shift); /* cap > 0 */
}

/* The slot holding id, or the free slot ending its probe run. cap > 0. */
static inline size_t
genrpc__idmap_find_(const genrpc__idmap *m, uint64_t id)
{
    size_t i = genrpc__idmap_home_(m, id);
    while (m->slots[i].ptr && m->slots[i].id != id)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Adds ptr (not NULL) under the next id, stored in *id. False: no memory
 * (nothing added, no id used). Ids are never reused: a u64 does not wrap
 * (584 years at a billion calls a second). */
static inline bool
genrpc__idmap_insert(genrpc__idmap *m, void *ptr, uint64_t *id)
{
    if (m->n * 2 + 2 > m->cap && !genrpc__idmap_grow_(m))
        return false;
    uint64_t nid = m->next_id++;
    size_t i = genrpc__idmap_home_(m, nid);
    while (m->slots[i].ptr) /* a new id: the first free slot is its own */
        i = (i + 1) & (m->cap - 1);
    m->slots[i].id = nid;
    m->slots[i].ptr = ptr;
    m->n++;
    *id = nid;
    return true;
}

/* Empties slot i; the usual case (the next slot is free: nothing to
 * shift back) without a call. */
static inline void
genrpc__idmap_erase_at_(genrpc__idmap *m, size_t i)
{
    if (m->slots[(i + 1) & (m->cap - 1)].ptr) {
        genrpc__idmap_erase_(m, i);
        return;
    }
    m->slots[i].ptr = NULL;
    m->n--;
}

/* Removes and returns the pointer under id; NULL if none. */
static inline void *
genrpc__idmap_take(genrpc__idmap *m, uint64_t id)
{
    if (!m->n)
        return NULL;
    size_t i = genrpc__idmap_find_(m, id);
    void *p = m->slots[i].ptr;
    if (p)
        genrpc__idmap_erase_at_(m, i);
    return p;
}

/* Removes id's entry only if it is ptr. True if it did. */
static inline bool
genrpc__idmap_remove(genrpc__idmap *m, uint64_t id, const void *ptr)
{
    if (!m->n)
        return false;
    size_t i = genrpc__idmap_find_(m, id);
    if (!m->slots[i].ptr || m->slots[i].ptr != ptr)
        return false;
    genrpc__idmap_erase_at_(m, i);
    return true;
}

static inline size_t
genrpc__idmap_count(const genrpc__idmap *m)
{
    return m->n;
}

#endif /* GENRPC_BASE_IDMAP_H */
