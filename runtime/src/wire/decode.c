/*
 * decode.c - protobuf decoding in place: `bytes` fields point into the
 * buffer they were read from instead of being copied (protobuf-c always
 * copies them), everything else is allocated from the caller's allocator
 * (the call's arena). Driven by protobuf-c's own descriptors, so the result
 * is an ordinary protobuf-c message struct.
 *
 * Used where the decoded message is borrowed for a bounded time while the
 * buffer is held: a request while its handler runs, a reply while its
 * callback runs. Anything this decoder does not handle (proto2 required
 * fields, a singular sub-message sent twice, groups) makes it answer
 * GENRPC__DECODE_UNSUPPORTED and the caller falls back to protobuf-c.
 * Unknown fields are skipped, not kept.
 */
#include "wire/decode.h"

#include <string.h>

typedef struct cursor {
    const uint8_t *p, *end;
} cursor;

static bool
get_varint(cursor *c, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end)
            return false;
        uint8_t b = *c->p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false; /* more than 10 bytes */
}

static bool
get_fixed(cursor *c, size_t n, uint64_t *v)
{
    if ((size_t)(c->end - c->p) < n)
        return false;
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++)
        r |= (uint64_t)c->p[i] << (8 * i);
    c->p += n;
    *v = r;
    return true;
}

static bool
get_len(cursor *c, cursor *sub)
{
    uint64_t n;
    if (!get_varint(c, &n) || n > (uint64_t)(c->end - c->p))
        return false;
    sub->p = c->p;
    sub->end = c->p + n;
    c->p += n;
    return true;
}

/* A field key (field number << 3 | wire type), read exactly as protobuf-c
 * reads it, so that both accept the same inputs: at most 5 bytes, and the
 * first byte must carry field-number bits. */
static bool
get_key(cursor *c, uint32_t *field, unsigned *wire)
{
    if (c->p >= c->end || (*c->p & 0xf8) == 0)
        return false;
    uint64_t key = 0;
    for (int i = 0; i < 5; i++) {
        if (c->p >= c->end)
            return false;
        uint8_t b = *c->p++;
        key |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *field = (uint32_t)(key >> 3);
            *wire = (unsigned)(key & 7);
            return true;
        }
    }
    return false;
}

/* Skips a field of an unknown tag. */
static bool
skip(cursor *c, unsigned wire)
{
    uint64_t v;
    cursor sub;
    switch (wire) {
    case 0:
        return get_varint(c, &v);
    case 1:
        return get_fixed(c, 8, &v);
    case 2:
        return get_len(c, &sub);
    case 5:
        return get_fixed(c, 4, &v);
    default:
        return false; /* groups (3, 4) and invalid wire types */
    }
}

static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *d, uint32_t id)
{
    size_t lo = 0, hi = d->n_fields; /* fields are sorted by id */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->fields[mid].id == id)
            return &d->fields[mid];
        if (d->fields[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static size_t
elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4;
    }
}

static bool
is_packable(ProtobufCType t)
{
    return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES &&
           t != PROTOBUF_C_TYPE_MESSAGE;
}

/* The wire type a non-packed value of type t must have. */
static unsigned
wire_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return 5;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 1;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return 2;
    default:
        return 0;
    }
}

typedef struct ctx {
    ProtobufCAllocator *alloc;
    int depth;
} ctx;

static int decode_into(ctx *x, const ProtobufCMessageDescriptor *d, ProtobufCMessage *m,
                       cursor in);

/* Reads one scalar (wire type already checked) and stores it at dst. */
static bool
read_scalar(cursor *c, ProtobufCType t, void *dst)
{
    uint64_t v;
    unsigned wire = wire_of(t);
    if (!(wire == 0 ? get_varint(c, &v) : get_fixed(c, wire == 1 ? 8 : 4, &v)))
        return false;
    switch (t) {
    case PROTOBUF_C_TYPE_SINT32: {
        uint32_t u = (uint32_t)v; /* 32-bit fields truncate first, then unzigzag */
        int32_t s = (int32_t)((u >> 1) ^ (uint32_t)-(int32_t)(u & 1));
        memcpy(dst, &s, 4);
        return true;
    }
    case PROTOBUF_C_TYPE_SINT64: {
        int64_t s = (int64_t)((v >> 1) ^ (uint64_t)-(int64_t)(v & 1));
        memcpy(dst, &s, 8);
        return true;
    }
    case PROTOBUF_C_TYPE_BOOL: {
        protobuf_c_boolean b = v != 0;
        memcpy(dst, &b, sizeof b);
        return true;
    }
    default:
        break;
    }
    if (elem_size(t) == 8) {
        memcpy(dst, &v, 8);
    } else {
        uint32_t w = (uint32_t)v; /* int32/enum: sign-extended varints truncate */
        memcpy(dst, &w, 4);
    }
    return true;
}

/* Reads one length-delimited value of type t into dst. */
static int
read_delimited(ctx *x, cursor *c, const ProtobufCFieldDescriptor *f, void *dst)
{
    cursor sub;
    if (!get_len(c, &sub))
        return GENRPC__DECODE_MALFORMED;
    size_t n = (size_t)(sub.end - sub.p);
    if (f->type == PROTOBUF_C_TYPE_BYTES) {
        ProtobufCBinaryData bd = {n, (uint8_t *)sub.p}; /* in place: the point */
        memcpy(dst, &bd, sizeof bd);
        return GENRPC__DECODE_OK;
    }
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        char *s = x->alloc->alloc(x->alloc->allocator_data, n + 1);
        if (!s)
            return GENRPC__DECODE_NOMEM;
        memcpy(s, sub.p, n);
        s[n] = '\0';
        memcpy(dst, &s, sizeof s);
        return GENRPC__DECODE_OK;
    }
    const ProtobufCMessageDescriptor *md = f->descriptor;
    ProtobufCMessage *sm = x->alloc->alloc(x->alloc->allocator_data, md->sizeof_message);
    if (!sm)
        return GENRPC__DECODE_NOMEM;
    protobuf_c_message_init(md, sm);
    int rc = decode_into(x, md, sm, sub);
    if (rc == GENRPC__DECODE_OK)
        memcpy(dst, &sm, sizeof sm);
    return rc;
}

/* First pass: how many elements each repeated field has. */
static int
count_repeated(const ProtobufCMessageDescriptor *d, cursor in, size_t *counts)
{
    while (in.p < in.end) {
        uint32_t id;
        unsigned wire;
        if (!get_key(&in, &id, &wire))
            return GENRPC__DECODE_MALFORMED;
        const ProtobufCFieldDescriptor *f = find_field(d, id);
        if (f && f->label == PROTOBUF_C_LABEL_REPEATED && wire == 2 && is_packable(f->type)) {
            cursor sub;
            if (!get_len(&in, &sub))
                return GENRPC__DECODE_MALFORMED;
            size_t i = (size_t)(f - d->fields);
            unsigned ew = wire_of(f->type);
            if (ew != 0) {
                size_t sz = ew == 1 ? 8 : 4;
                if ((size_t)(sub.end - sub.p) % sz)
                    return GENRPC__DECODE_MALFORMED;
                counts[i] += (size_t)(sub.end - sub.p) / sz;
            } else {
                for (uint64_t v; sub.p < sub.end; counts[i]++)
                    if (!get_varint(&sub, &v))
                        return GENRPC__DECODE_MALFORMED;
            }
            continue;
        }
        if (f && f->label == PROTOBUF_C_LABEL_REPEATED)
            counts[f - d->fields]++;
        if (!skip(&in, wire))
            return GENRPC__DECODE_MALFORMED;
    }
    return GENRPC__DECODE_OK;
}

static int
decode_repeated(ctx *x, cursor *in, const ProtobufCFieldDescriptor *f, unsigned wire,
                ProtobufCMessage *m)
{
    size_t *n = (size_t *)((char *)m + f->quantifier_offset);
    char *arr;
    memcpy(&arr, (char *)m + f->offset, sizeof arr);
    size_t es = elem_size(f->type);
    if (wire == 2 && is_packable(f->type)) {
        cursor sub;
        if (!get_len(in, &sub))
            return GENRPC__DECODE_MALFORMED;
        while (sub.p < sub.end)
            if (!read_scalar(&sub, f->type, arr + es * (*n)++))
                return GENRPC__DECODE_MALFORMED;
        return GENRPC__DECODE_OK;
    }
    if (wire != wire_of(f->type))
        return GENRPC__DECODE_MALFORMED;
    if (wire == 2)
        return read_delimited(x, in, f, arr + es * (*n)++);
    return read_scalar(in, f->type, arr + es * (*n)++) ? GENRPC__DECODE_OK
                                                        : GENRPC__DECODE_MALFORMED;
}

static int
decode_singular(ctx *x, cursor *in, const ProtobufCFieldDescriptor *f, unsigned wire,
                ProtobufCMessage *m, uint8_t *seen)
{
    if (wire != wire_of(f->type))
        return GENRPC__DECODE_MALFORMED;
    char *dst = (char *)m + f->offset;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && *seen)
        return GENRPC__DECODE_UNSUPPORTED; /* would need merging: protobuf-c does it */
    *seen = 1;
    int rc = wire == 2 ? read_delimited(x, in, f, dst)
                       : read_scalar(in, f->type, dst) ? GENRPC__DECODE_OK
                                                       : GENRPC__DECODE_MALFORMED;
    if (rc != GENRPC__DECODE_OK)
        return rc;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t id = f->id;
        memcpy((char *)m + f->quantifier_offset, &id, sizeof id);
    } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
               f->type != PROTOBUF_C_TYPE_MESSAGE) {
        protobuf_c_boolean has = 1;
        memcpy((char *)m + f->quantifier_offset, &has, sizeof has);
    }
    return GENRPC__DECODE_OK;
}

static int
alloc_repeated(ctx *x, const ProtobufCMessageDescriptor *d, ProtobufCMessage *m,
               const size_t *counts)
{
    for (size_t i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label != PROTOBUF_C_LABEL_REPEATED || counts[i] == 0)
            continue;
        if (counts[i] > SIZE_MAX / elem_size(f->type))
            return GENRPC__DECODE_MALFORMED;
        void *arr = x->alloc->alloc(x->alloc->allocator_data, counts[i] * elem_size(f->type));
        if (!arr)
            return GENRPC__DECODE_NOMEM;
        memcpy((char *)m + f->offset, &arr, sizeof arr);
        *(size_t *)((char *)m + f->quantifier_offset) = 0; /* filled as we go */
    }
    return GENRPC__DECODE_OK;
}

#define MAX_DEPTH 32
#define MAX_FIELDS 256 /* larger messages: protobuf-c */

static int
decode_into(ctx *x, const ProtobufCMessageDescriptor *d, ProtobufCMessage *m, cursor in)
{
    if (++x->depth > MAX_DEPTH || d->n_fields > MAX_FIELDS)
        return GENRPC__DECODE_UNSUPPORTED;
    /* Only the message's own fields are cleared: most have a handful, and
     * clearing all MAX_FIELDS would cost more than decoding them. */
    size_t counts[MAX_FIELDS];
    uint8_t seen[MAX_FIELDS];
    memset(counts, 0, d->n_fields * sizeof counts[0]);
    memset(seen, 0, d->n_fields);
    for (size_t i = 0; i < d->n_fields; i++)
        if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED)
            return GENRPC__DECODE_UNSUPPORTED;
    int rc = count_repeated(d, in, counts);
    if (rc == GENRPC__DECODE_OK)
        rc = alloc_repeated(x, d, m, counts);
    while (rc == GENRPC__DECODE_OK && in.p < in.end) {
        uint32_t id = 0;
        unsigned wire = 0;
        if (!get_key(&in, &id, &wire)) /* validated by count_repeated already */
            return GENRPC__DECODE_MALFORMED;
        const ProtobufCFieldDescriptor *f = find_field(d, id);
        if (!f)
            rc = skip(&in, wire) ? GENRPC__DECODE_OK : GENRPC__DECODE_MALFORMED;
        else if (f->label == PROTOBUF_C_LABEL_REPEATED)
            rc = decode_repeated(x, &in, f, wire, m);
        else
            rc = decode_singular(x, &in, f, wire, m, &seen[f - d->fields]);
    }
    x->depth--;
    return rc;
}

int
genrpc__decode_inplace(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                       ProtobufCAllocator *alloc, ProtobufCMessage **out)
{
    *out = NULL;
    ProtobufCMessage *m = alloc->alloc(alloc->allocator_data, desc->sizeof_message);
    if (!m)
        return GENRPC__DECODE_NOMEM;
    protobuf_c_message_init(desc, m);
    ctx x = {alloc, 0};
    cursor in = {data, data + len};
    int rc = decode_into(&x, desc, m, in);
    if (rc == GENRPC__DECODE_OK)
        *out = m;
    return rc;
}
