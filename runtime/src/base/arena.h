/*
 * arena.h - per-call memory: everything decoded for one message and
 * everything its handler or callback allocates lives here and is freed in
 * one go. No per-field frees, no leaks on any path.
 */
#ifndef GENRPC_ARENA_H
#define GENRPC_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

typedef struct genrpc__arena_block {
    struct genrpc__arena_block *next;
    size_t cap, used;
    max_align_t data[];
} genrpc__arena_block;

typedef struct arena {
    genrpc__arena_block *blocks;
    size_t inline_used;
    max_align_t inline_buf[256]; /* 4 KiB: small requests never malloc */
} genrpc__arena;

#define GENRPC__ARENA_INIT(a) ((a)->blocks = NULL, (a)->inline_used = 0)

/* protobuf-c allocator callbacks over an arena (allocator_data = arena). */
void *genrpc__arena_alloc(void *arena, size_t size);
void genrpc__arena_free_nothing(void *arena, void *ptr);
/* An allocator over `a`, for protobuf-c and genrpc__decode_inplace. */
static inline ProtobufCAllocator
genrpc__arena_allocator(genrpc__arena *a)
{
    ProtobufCAllocator al = {genrpc__arena_alloc, genrpc__arena_free_nothing, a};
    return al;
}
/* Frees a list of heap blocks (also as a `release` callback). */
void genrpc__arena_free_blocks(void *blocks);
void genrpc__arena_release(genrpc__arena *a);
/* Whether [p, p + len) lies in one of the arena's heap blocks (never the
 * inline buffer, which lives on the stack of the thread using the arena). */
bool genrpc__arena_owns(const genrpc__arena *a, const void *p, size_t len);

#endif /* GENRPC_ARENA_H */
