/*
 * out.c - outgoing frames: plain (one buffer) or scattered (segments, the
 * large byte fields of a message sent from where they already are instead
 * of being copied into the frame).
 *
 * Who may point a frame at memory it does not own decides with a borrow
 * test: the server borrows only the call's own memory and keeps it alive
 * with the frame (server.c); a caller borrows its request's bytes only for
 * the duration of genrpc__conn_send, which copies whatever is still unsent
 * before it returns (genrpc__out_own).
 */
#include <stdlib.h>
#include <string.h>

#include "wire/frame.h"
#include "wire/out.h"

genrpc__out *
genrpc__out_new(size_t len)
{
    genrpc__out *o = malloc(sizeof *o + len);
    if (!o)
        return NULL;
    o->len = o->total = len;
    o->off = 0;
    o->nsegs = 0;
    o->segs = NULL;
    o->borrowed = false;
    o->proto = 0;
    o->release = NULL;
    o->owner = NULL;
    return o;
}

void
genrpc__out_free(genrpc__out *o)
{
    if (o->release)
        o->release(o->owner);
    free(o->segs);
    free(o);
}

int
genrpc__out_iov(const genrpc__out *o, struct iovec *iov, int max)
{
    if (max <= 0)
        return 0;
    if (!o->segs) {
        iov[0].iov_base = (uint8_t *)o->data + o->off;
        iov[0].iov_len = o->len - o->off;
        return 1;
    }
    size_t skip = o->off;
    int n = 0;
    for (int i = 0; i < o->nsegs && n < max; i++) {
        size_t l = o->segs[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        iov[n].iov_base = (uint8_t *)o->segs[i].iov_base + skip;
        iov[n].iov_len = l - skip;
        skip = 0;
        n++;
    }
    return n;
}

/* ---- scattered encoding -------------------------------------------------- */

/* protobuf-c hands a bytes field's data to the buffer's append() as it is
 * in the message, so a buffer that records pointers instead of copying
 * gets the field without a copy. Two passes: count, then fill. */
typedef struct scatter {
    ProtobufCBuffer base;
    genrpc__borrow_fn may_borrow;
    void *ctx;
    genrpc__out *out; /* NULL: the counting pass */
    size_t inline_bytes;
    int borrows;
} scatter;

static void
scatter_append(ProtobufCBuffer *buf, size_t len, const uint8_t *data)
{
    scatter *s = (scatter *)buf;
    bool borrow = len >= GENRPC__BORROW_MIN && s->borrows < GENRPC__BORROW_MAX &&
                  s->may_borrow(s->ctx, data, len);
    genrpc__out *o = s->out;
    if (borrow)
        s->borrows++;
    else
        s->inline_bytes += len;
    if (!o)
        return;
    struct iovec *last = &o->segs[o->nsegs - 1];
    if (borrow) {
        o->segs[o->nsegs++] = (struct iovec){(void *)data, len};
        return;
    }
    uint8_t *dst = o->data + o->len;
    memcpy(dst, data, len);
    o->len += len;
    if ((uint8_t *)last->iov_base + last->iov_len == dst)
        last->iov_len += len; /* extends the previous inline segment */
    else
        o->segs[o->nsegs++] = (struct iovec){dst, len};
}

genrpc__out *
genrpc__out_scatter(const ProtobufCMessage *msg, size_t hdr_len, size_t size,
                    genrpc__borrow_fn may_borrow, void *ctx)
{
    scatter count = {{scatter_append}, may_borrow, ctx, NULL, 0, 0};
    protobuf_c_message_pack_to_buffer(msg, &count.base);
    if (count.borrows == 0)
        return NULL;
    genrpc__out *o = genrpc__out_new(hdr_len + count.inline_bytes);
    /* inline and borrowed segments alternate at worst */
    struct iovec *segs = calloc((size_t)(2 * count.borrows + 2), sizeof *segs);
    if (!o || !segs) {
        free(o);
        free(segs);
        return NULL;
    }
    o->len = hdr_len;
    o->segs = segs;
    o->segs[0] = (struct iovec){o->data, hdr_len};
    o->nsegs = 1;
    scatter fill = {{scatter_append}, may_borrow, ctx, o, 0, 0};
    protobuf_c_message_pack_to_buffer(msg, &fill.base);
    o->total = hdr_len + size;
    return o;
}

bool
genrpc__out_own(genrpc__out *o)
{
    return !o->borrowed || genrpc__out_copy_rest(o);
}

bool
genrpc__out_copy_rest(genrpc__out *o)
{
    size_t left = o->total - o->off;
    /* one allocation: the segment's descriptor, then the bytes */
    struct iovec *seg = malloc(sizeof *seg + left);
    if (!seg)
        return false;
    uint8_t *dst = (uint8_t *)(seg + 1);
    struct iovec iov[GENRPC__BORROW_MAX * 2 + 2];
    int n = genrpc__out_iov(o, iov, (int)(sizeof iov / sizeof iov[0]));
    for (int i = 0; i < n; i++) {
        memcpy(dst, iov[i].iov_base, iov[i].iov_len);
        dst += iov[i].iov_len;
    }
    *seg = (struct iovec){seg + 1, left};
    free(o->segs);
    o->segs = seg;
    o->nsegs = 1;
    o->total = left; /* what is left to write is unchanged: total - off */
    o->off = 0;
    o->borrowed = false;
    return true;
}

/* ---- a request in another protocol version's layout -------------------------- */

/* Copies o's bytes from offset `from` to its end into dst. */
static void
copy_from(const genrpc__out *o, size_t from, uint8_t *dst)
{
    struct iovec iov[GENRPC__BORROW_MAX * 2 + 2];
    int n = genrpc__out_iov(o, iov, (int)(sizeof iov / sizeof iov[0]));
    for (int i = 0; i < n; i++) {
        size_t skip = from < iov[i].iov_len ? from : iov[i].iov_len;
        from -= skip;
        memcpy(dst, (uint8_t *)iov[i].iov_base + skip, iov[i].iov_len - skip);
        dst += iov[i].iov_len - skip;
    }
}

genrpc__out *
genrpc__out_relayout(const genrpc__out *o, uint8_t proto)
{
    if (!o->proto || o->off != 0 || o->len <= GENRPC__LEN_PREFIX)
        return NULL;
    /* The header is always in data[] (a scattered frame's first segment);
     * the decoders read it and take the rest for payload. */
    const uint8_t *body = o->data + GENRPC__LEN_PREFIX;
    size_t in_data = o->len - GENRPC__LEN_PREFIX;
    genrpc__request_hdr rq;
    genrpc__bcast_hdr bc;
    const uint8_t *payload;
    bool is_bcast = body[0] == GENRPC__K_ABCAST || body[0] == GENRPC__K_SBCAST;
    if (is_bcast ? !genrpc__decode_bcast(o->proto, body, in_data, &bc)
                 : !genrpc__decode_request(o->proto, body, in_data, &rq))
        return NULL;
    payload = is_bcast ? bc.payload : rq.payload;
    size_t old_hdr = (size_t)(payload - o->data);
    size_t plen = o->total - old_hdr;
    size_t hdr;
    genrpc__out *n;
    if (is_bcast) {
        bc.proto = proto;
        bc.payload_len = plen;
        hdr = GENRPC__LEN_PREFIX + genrpc__bcast_hdr_size(proto, bc.name.len, bc.type.len,
                                                          proto >= 2 ? bc.metadata.len : 0);
        if (!(n = genrpc__out_new(hdr + plen)))
            return NULL;
        genrpc__encode_bcast_hdr(n->data, hdr, (genrpc__kind)body[0], &bc);
    } else {
        rq.proto = proto;
        rq.payload_len = plen;
        hdr = GENRPC__LEN_PREFIX + genrpc__request_hdr_size(proto, rq.module.len, rq.function.len,
                                                            proto >= 2 ? rq.metadata.len : 0);
        if (!(n = genrpc__out_new(hdr + plen)))
            return NULL;
        genrpc__encode_request_hdr(n->data, hdr, (genrpc__kind)body[0], &rq);
    }
    copy_from(o, old_hdr, n->data + hdr);
    n->proto = proto;
    return n;
}
