/*
 * decode.h - protobuf decoding that leaves `bytes` fields in the buffer
 * (see decode.c). Pure; unit-tested against protobuf-c.
 */
#ifndef GENRPC_DECODE_H
#define GENRPC_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "base/arena.h"

enum {
    GENRPC__DECODE_OK = 0,
    GENRPC__DECODE_MALFORMED,   /* not a valid encoding of desc */
    GENRPC__DECODE_UNSUPPORTED, /* valid maybe, but use protobuf_c_message_unpack */
    GENRPC__DECODE_NOMEM,
};

/* Decodes data[0, len) as a `desc` message. Memory comes from `alloc` and
 * is never freed by this function (give it an arena); `bytes` fields point
 * into `data`, which must outlive the message. On GENRPC__DECODE_OK *out is
 * the message; otherwise *out is NULL. */
int genrpc__decode_inplace(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                           ProtobufCAllocator *alloc, ProtobufCMessage **out);

/* The one decode of a received message: in place into arena `a` (`bytes`
 * fields keep pointing into data, which must outlive the message), and
 * whatever the in-place decoder does not take (unsupported, or malformed
 * as it sees it) goes to protobuf-c, into the same arena. True with *out
 * the message; false (undecodable) with *out NULL. Either way what was
 * allocated is freed with the arena. Inline: on every call's path, twice. */
static inline bool
genrpc__decode_borrowed(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                        genrpc__arena *a, ProtobufCMessage **out)
{
    ProtobufCAllocator alloc = genrpc__arena_allocator(a);
    if (genrpc__decode_inplace(desc, data, len, &alloc, out) == GENRPC__DECODE_OK)
        return true;
    *out = protobuf_c_message_unpack(desc, &alloc, len, data);
    return *out != NULL;
}

#endif /* GENRPC_DECODE_H */
