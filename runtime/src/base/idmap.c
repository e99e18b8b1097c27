/*
 * idmap.c - u64 id -> pointer, ids assigned in sequence (idmap.h): the
 * table's growth, removal's backward shift, draining and walking.
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

bool
genrpc__idmap_grow_(genrpc__idmap *m)
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
            m->slots[genrpc__idmap_find_(m, old.slots[i].id)] = old.slots[i];
    free(old.slots);
    return true;
}

void
genrpc__idmap_erase_(genrpc__idmap *m, size_t i)
{
    size_t mask = m->cap - 1;
    for (size_t j = (i + 1) & mask; m->slots[j].ptr; j = (j + 1) & mask) {
        size_t k = genrpc__idmap_home_(m, m->slots[j].id);
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
