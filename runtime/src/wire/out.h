/*
 * out.h - outgoing frames (wire layer): one encoded frame waiting to be
 * written, plain or scattered.
 *
 * Two ideas, many names: a frame may point into memory it does not own
 *  - "borrowed" (out->borrowed): only while genrpc__conn_send runs; it
 *    copies what is unsent before returning (genrpc__out_own);
 *  - "lent" (out->release set, GENRPC_CALL_LEND_REQUEST): until the frame
 *    is written or dropped, when release(owner) is called;
 *    genrpc__out_copy_rest ends the lending early by copying.
 */
#ifndef GENRPC_WIRE_OUT_H
#define GENRPC_WIRE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <protobuf-c/protobuf-c.h>

#include "base/list.h"

/* One encoded frame waiting to be written; the queue owns it.
 * Usually the frame is data[0, len). A scattered frame (large byte fields
 * sent from where they already are, without a copy) is segs[0, nsegs)
 * instead, each pointing into data or into memory that `release(owner)`
 * frees once the frame has been written or dropped. */
typedef struct genrpc__out {
    genrpc__list link; /* in its conn's queue (set when queued) */
    size_t len;   /* bytes in data */
    size_t total; /* bytes of the whole frame */
    size_t off;   /* bytes already written */
    int nsegs;
    struct iovec *segs;
    /* Some segment points into the sender's memory, valid only until
     * genrpc__conn_send returns: it copies what is unsent by then. */
    bool borrowed;
    /* A request (CALL, CAST, ABCAST, SBCAST) encoded in this protocol
     * version's layout, before its connection's version was known; 0: any
     * other frame (genrpc__out_relayout) */
    uint8_t proto;
    void (*release)(void *owner);
    void *owner;
    uint8_t data[];
} genrpc__out;

genrpc__out *genrpc__out_new(size_t len);
void genrpc__out_free(genrpc__out *o);
/* Fills iov with what is left to write of o; returns the count (<= max). */
int genrpc__out_iov(const genrpc__out *o, struct iovec *iov, int max);

/* Byte fields at least this big are worth sending from where they are. */
#define GENRPC__BORROW_MIN (16 * 1024)
#define GENRPC__BORROW_MAX 8 /* borrowed fields per frame; more are copied */

/* May the frame point at [data, data + len) instead of copying it? */
typedef bool (*genrpc__borrow_fn)(void *ctx, const uint8_t *data, size_t len);

/* Encodes msg (packed size `size`) as a scattered frame with hdr_len bytes
 * of header first, which the caller then writes into data[0, hdr_len).
 * NULL when no field was worth borrowing (or no memory): pack a copy. */
genrpc__out *genrpc__out_scatter(const ProtobufCMessage *msg, size_t hdr_len, size_t size,
                                 genrpc__borrow_fn may_borrow, void *ctx);
/* A borrowed frame copies what it has left to write into memory of its
 * own. False: no memory (o unchanged). */
bool genrpc__out_own(genrpc__out *o);
/* The same for any frame, borrowed or lent: afterwards o points at no
 * memory but its own. */
bool genrpc__out_copy_rest(genrpc__out *o);

/* A request frame o (o->proto set, nothing written yet) in the layout of
 * protocol version `proto`: a new plain frame with the same request id,
 * names and payload (going down to version 1 drops the timeout, flags and
 * metadata, which version 1 does not have). o itself is left alone (free
 * it: its release hook runs then). NULL: no memory, or o is not a request. */
genrpc__out *genrpc__out_relayout(const genrpc__out *o, uint8_t proto);

#endif /* GENRPC_WIRE_OUT_H */
