/*
 * compress.c - zstd payloads (compress.h). One compression and one
 * decompression context per thread, made on first use and freed when the
 * thread ends.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "wire/compress.h"
#include "wire/frame.h"

/* Level 1: zstd's fastest standard level; the point is fewer bytes on a
 * network, not the best ratio. */
#define LEVEL 1

static pthread_key_t cctx_key, dctx_key;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void free_cctx(void *p) { ZSTD_freeCCtx(p); }
static void free_dctx(void *p) { ZSTD_freeDCtx(p); }

static void
make_keys(void)
{
    pthread_key_create(&cctx_key, free_cctx);
    pthread_key_create(&dctx_key, free_dctx);
}

/* This thread's context under key, made by make() on first use. */
static void *
thread_ctx(pthread_key_t *key, void *(*make)(void))
{
    pthread_once(&keys_once, make_keys);
    void *c = pthread_getspecific(*key);
    if (!c && (c = make()))
        pthread_setspecific(*key, c);
    return c;
}

static void *make_cctx(void) { return ZSTD_createCCtx(); }
static void *make_dctx(void) { return ZSTD_createDCtx(); }
#define thread_cctx() ((ZSTD_CCtx *)thread_ctx(&cctx_key, make_cctx))
#define thread_dctx() ((ZSTD_DCtx *)thread_ctx(&dctx_key, make_dctx))

/* Skips a str8 at *off of hdr[0, len). */
static bool
skip_str(const uint8_t *hdr, size_t len, size_t *off)
{
    if (*off >= len)
        return false;
    *off += 1 + (size_t)hdr[*off];
    return *off <= len;
}

/* Where the flags byte and the payload of a version-2 frame start (from
 * the length prefix on); false if it is not a frame with a payload. */
static bool
payload_at(const uint8_t *f, size_t len, size_t *flags_off, size_t *payload_off)
{
    if (len < GENRPC__LEN_PREFIX + 1)
        return false;
    size_t off;
    int strs;
    switch (f[GENRPC__LEN_PREFIX]) {
    case GENRPC__K_CALL:
    case GENRPC__K_CAST:
        off = GENRPC__LEN_PREFIX + 1 + 8 + 4 + 4, strs = 2;
        break;
    case GENRPC__K_ABCAST:
    case GENRPC__K_SBCAST:
        off = GENRPC__LEN_PREFIX + 1 + 8 + 4, strs = 2;
        break;
    case GENRPC__K_REPLY:
        off = GENRPC__LEN_PREFIX + 1 + 8, strs = 0;
        break;
    default:
        return false;
    }
    if (off >= len)
        return false;
    *flags_off = off++;
    uint8_t flags = f[*flags_off];
    for (int i = 0; i < strs; i++)
        if (!skip_str(f, len, &off))
            return false;
    if (flags & GENRPC__F_METADATA) {
        if (off + 2 > len)
            return false;
        off += 2 + genrpc__get_u16(f + off);
    }
    if (off > len || (flags & GENRPC__F_COMPRESSED))
        return false;
    *payload_off = off;
    return true;
}

genrpc__out *
genrpc__out_compress(const genrpc__out *o, size_t min_bytes)
{
    if (o->off != 0)
        return NULL;
    size_t flags_off, pay_off;
    if (!payload_at(o->data, o->len, &flags_off, &pay_off) || o->total - pay_off < min_bytes)
        return NULL;
    /* a scattered frame is gathered first */
    uint8_t *whole = NULL;
    const uint8_t *f = o->data;
    if (o->segs) {
        if (!(whole = malloc(o->total)))
            return NULL;
        struct iovec iov[2 * GENRPC__BORROW_MAX + 2];
        int n = genrpc__out_iov(o, iov, (int)(sizeof iov / sizeof iov[0]));
        size_t at = 0;
        for (int i = 0; i < n && at + iov[i].iov_len <= o->total; i++) {
            memcpy(whole + at, iov[i].iov_base, iov[i].iov_len);
            at += iov[i].iov_len;
        }
        if (at != o->total) {
            free(whole);
            return NULL;
        }
        f = whole;
    }
    size_t plen = o->total - pay_off, bound = ZSTD_compressBound(plen);
    ZSTD_CCtx *cctx = thread_cctx();
    genrpc__out *n = cctx ? genrpc__out_new(pay_off + bound) : NULL;
    size_t z = n ? ZSTD_compressCCtx(cctx, n->data + pay_off, bound, f + pay_off, plen, LEVEL) : 0;
    if (!n || ZSTD_isError(z) || z >= plen || pay_off - GENRPC__LEN_PREFIX + z > UINT32_MAX) {
        free(whole);
        if (n)
            genrpc__out_free(n);
        return NULL;
    }
    memcpy(n->data, f, pay_off);
    n->data[flags_off] |= GENRPC__F_COMPRESSED;
    n->len = n->total = pay_off + z;
    genrpc__put_u32(n->data, (uint32_t)(n->total - GENRPC__LEN_PREFIX));
    n->proto = o->proto;
    free(whole);
    return n;
}

bool
genrpc__decompress(const uint8_t *src, size_t len, size_t max, const uint8_t *prefix,
                   size_t prefix_len, genrpc__chunk **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    unsigned long long size = ZSTD_getFrameContentSize(src, len);
    if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR || size > max ||
        ZSTD_findFrameCompressedSize(src, len) != len)
        return false;
    ZSTD_DCtx *d = thread_dctx();
    genrpc__chunk *ch = d ? genrpc__chunk_new(prefix_len + (size_t)size + 1) : NULL;
    if (!ch)
        return false;
    if (prefix_len)
        memcpy(ch->data, prefix, prefix_len);
    size_t got = ZSTD_decompressDCtx(d, ch->data + prefix_len, (size_t)size, src, len);
    if (ZSTD_isError(got) || got != size) {
        genrpc__chunk_unref(ch);
        return false;
    }
    *out = ch;
    *out_len = got;
    return true;
}
