/*
 * metadata.h - genrpc_metadata (rpc layer): a set of key/value pairs kept
 * as a version-2 metadata block (docs/protocol.md), so that sending it is a
 * copy and receiving it is a pointer into the frame.
 */
#ifndef GENRPC_RPC_METADATA_H
#define GENRPC_RPC_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genrpc/genrpc.h"
#include "base/str.h"

/* buf[0, len) is a well-formed block (empty: none). cap 0 with buf set: a
 * read-only view of a received block (a handler's headers). */
struct genrpc_metadata {
    uint8_t *buf;
    size_t len, cap;
};

static inline genrpc__str
genrpc__md_block(const genrpc_metadata *md)
{
    genrpc__str s = {md ? (const char *)md->buf : NULL, md ? md->len : 0};
    return s;
}

/* A read-only view of a checked block. */
static inline genrpc_metadata
genrpc__md_view(genrpc__str block)
{
    genrpc_metadata m = {(uint8_t *)block.p, block.len, 0};
    return m;
}

/* *md (owned) becomes a copy of the checked block (cleared first). */
int genrpc__md_assign(genrpc_metadata *md, genrpc__str block);
/* Frees an owned set's bytes (the struct itself is the caller's). */
void genrpc__md_release(genrpc_metadata *md);

#endif /* GENRPC_RPC_METADATA_H */
