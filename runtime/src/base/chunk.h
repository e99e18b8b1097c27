/*
 * chunk.h - read chunks: refcounted buffers that frames are parsed from
 * (base layer). Requests and replies keep a reference to the chunk they
 * were read into, so a frame's payload is never copied before it is
 * decoded.
 */
#ifndef GENRPC_BASE_CHUNK_H
#define GENRPC_BASE_CHUNK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct genrpc__chunk {
    atomic_int refs;
    size_t cap;
    uint8_t data[];
} genrpc__chunk;

/* Reads grow their chunks up to this size; chunks of exactly this size are
 * recycled rather than freed. */
#define GENRPC__CHUNK_BULK (1024 * 1024)

genrpc__chunk *genrpc__chunk_new(size_t cap);
void genrpc__chunk_ref(genrpc__chunk *c);
void genrpc__chunk_unref(genrpc__chunk *c); /* NULL: nothing */

/* A frame's bytes inside a chunk. */
typedef struct genrpc__slice {
    genrpc__chunk *chunk; /* one reference owned by whoever holds the slice */
    const uint8_t *data;
    size_t len;
} genrpc__slice;

void genrpc__slice_release(genrpc__slice *s);

#endif /* GENRPC_BASE_CHUNK_H */
