/*
 * compress.h - zstd payloads (wire layer; docs/protocol.md, version 2,
 * setting 1 and the COMPRESSED flag): compressing an outgoing version-2
 * frame's payload, and decompressing a received one within a bound.
 */
#ifndef GENRPC_WIRE_COMPRESS_H
#define GENRPC_WIRE_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/chunk.h"
#include "wire/out.h"

/* Setting 1's value: the algorithms a peer accepts (bit 0: zstd). */
#define GENRPC__SETTING_COMPRESSION 1
#define GENRPC__COMPRESS_ZSTD 0x1u

/* A version-2 CALL, CAST, ABCAST, SBCAST or REPLY frame `o` (nothing
 * written yet) with its payload zstd-compressed and the COMPRESSED flag
 * set: a new plain frame (o is left alone: free it). NULL when o is not
 * such a frame, its payload is under min_bytes, compressing does not make
 * it smaller, or there is no memory: send o as it is. */
genrpc__out *genrpc__out_compress(const genrpc__out *o, size_t min_bytes);

/* A COMPRESSED payload [src, src + len): a new chunk holding `prefix`
 * bytes copied first (prefix_len; the frame's metadata, which must outlive
 * the read chunk too) and then the payload decompressed, whose length goes
 * to *out_len. False (nothing kept) when src is not exactly one zstd frame
 * that declares its content size, that size exceeds `max`, or it does not
 * decompress to exactly that: at most prefix_len + max bytes are ever
 * allocated. */
bool genrpc__decompress(const uint8_t *src, size_t len, size_t max, const uint8_t *prefix,
                        size_t prefix_len, genrpc__chunk **out, size_t *out_len);

#endif /* GENRPC_WIRE_COMPRESS_H */
