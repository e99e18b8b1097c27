/*
 * arena.c - per-call memory (see arena.h).
 */
#include "base/arena.h"

#include <stdlib.h>

void *
genrpc__arena_alloc(void *data, size_t size)
{
    genrpc__arena *a = data;
    size_t need = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (need < size)
        return NULL;
    if (sizeof a->inline_buf - a->inline_used >= need) {
        void *p = (char *)a->inline_buf + a->inline_used;
        a->inline_used += need;
        return p;
    }
    genrpc__arena_block *b = a->blocks;
    if (!b || b->cap - b->used < need) {
        size_t cap = need > 8192 ? need : 8192;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->blocks;
        a->blocks = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += need;
    return p;
}

void
genrpc__arena_free_nothing(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

void
genrpc__arena_free_blocks(void *blocks)
{
    for (genrpc__arena_block *b = blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
}

void
genrpc__arena_release(genrpc__arena *a)
{
    genrpc__arena_free_blocks(a->blocks);
    a->blocks = NULL;
}

bool
genrpc__arena_owns(const genrpc__arena *a, const void *p, size_t len)
{
    const char *c = p;
    for (const genrpc__arena_block *b = a->blocks; b; b = b->next) {
        const char *start = (const char *)b->data;
        if (c >= start && c + len <= start + b->used)
            return true;
    }
    return false;
}

