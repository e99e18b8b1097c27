/*
 * fuzz_decode - the runtime's in-place protobuf decoder (runtime/src/
 * decode.c), differentially against protobuf-c, on arbitrary bytes as a
 * dtest.Everything (tests/proto/decode_test.proto: every kind of field).
 *   - in-place OK, protobuf-c OK => both messages pack to the same bytes;
 * and, only with FUZZ_DECODE_STRICT=1 in the environment (two known
 * divergences, reproducers in tests/fuzz/repro/, reported to the runtime):
 *   - in-place OK        => protobuf-c decodes it too (in-place accepts
 *                           field numbers above 2^29 - 1 as unknown fields:
 *                           fuzz_decode-tag-over-32-bits);
 *   - in-place MALFORMED => protobuf-c refuses it too (protobuf-c accepts
 *                           field number 0: fuzz_decode-field-number-0);
 *   - protobuf-c refuses => in-place does not say OK.
 * UNSUPPORTED (fall back to protobuf-c) may happen on anything.
 * Unknown fields are skipped by the in-place decoder (protobuf-c keeps
 * them), so they are left out of the comparison.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/decode.h"
#include "decode_test.pb-c.h"

#define CHECK(x, why)                                                                          \
    do {                                                                                       \
        if (!(x)) {                                                                            \
            fprintf(stderr, "fuzz_decode: %s\n", why);                                         \
            __builtin_trap();                                                                  \
        }                                                                                      \
    } while (0)

/* Allocations of one decode, all freed after (what an arena does). */
typedef struct pool {
    void **p;
    size_t n, cap;
} pool;

static void *
pool_alloc(void *data, size_t size)
{
    pool *pl = data;
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? 2 * pl->cap : 64;
        void **np = realloc(pl->p, cap * sizeof *np);
        if (!np)
            return NULL;
        pl->p = np;
        pl->cap = cap;
    }
    void *m = malloc(size ? size : 1);
    if (m)
        pl->p[pl->n++] = m;
    return m;
}

static void
pool_free_nothing(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

static void
pool_release(pool *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->p[i]);
    free(pl->p);
}

/* Hides the unknown fields of m and of every message inside it (saved in
 * `saved`, restored by unhide before protobuf-c frees m). */
typedef struct hidden {
    ProtobufCMessage *m;
    size_t n;
} hidden;

static size_t n_saved;
static hidden saved[4096];

static void
hide_unknown(ProtobufCMessage *m)
{
    if (!m)
        return;
    CHECK(n_saved < sizeof saved / sizeof saved[0], "too many nested messages");
    saved[n_saved++] = (hidden){m, m->n_unknown_fields};
    m->n_unknown_fields = 0;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        char *base = (char *)m;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)(base + f->quantifier_offset);
            ProtobufCMessage **arr = *(ProtobufCMessage ***)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                hide_unknown(arr[j]);
        } else {
            if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                *(uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
            hide_unknown(*(ProtobufCMessage **)(base + f->offset));
        }
    }
}

static void
unhide_unknown(void)
{
    while (n_saved > 0) {
        n_saved--;
        saved[n_saved].m->n_unknown_fields = saved[n_saved].n;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ProtobufCMessageDescriptor *desc = &dtest__everything__descriptor;
    uint8_t *buf = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    pool pl = {0};
    ProtobufCAllocator alloc = {pool_alloc, pool_free_nothing, &pl};
    ProtobufCMessage *mine = NULL;
    int rc = genrpc__decode_inplace(desc, buf, size, &alloc, &mine);
    ProtobufCMessage *theirs = protobuf_c_message_unpack(desc, NULL, size, buf);

    CHECK(rc == GENRPC__DECODE_OK || rc == GENRPC__DECODE_MALFORMED ||
              rc == GENRPC__DECODE_UNSUPPORTED || rc == GENRPC__DECODE_NOMEM,
          "unknown return code");
    CHECK((rc == GENRPC__DECODE_OK) == (mine != NULL), "*out does not match the return code");
    bool strict = getenv("FUZZ_DECODE_STRICT") != NULL;
    if (rc == GENRPC__DECODE_OK && !theirs) {
        CHECK(!strict, "in-place accepted what protobuf-c refuses");
    } else if (rc == GENRPC__DECODE_OK) {
        hide_unknown(theirs);
        size_t n1 = protobuf_c_message_get_packed_size(mine);
        size_t n2 = protobuf_c_message_get_packed_size(theirs);
        CHECK(n1 == n2, "packed sizes differ");
        uint8_t *p1 = malloc(n1 ? n1 : 1), *p2 = malloc(n2 ? n2 : 1);
        CHECK(p1 && p2, "no memory");
        CHECK(protobuf_c_message_pack(mine, p1) == n1, "pack size");
        protobuf_c_message_pack(theirs, p2);
        CHECK(memcmp(p1, p2, n1) == 0, "the two decodings pack differently");
        free(p1);
        free(p2);
        unhide_unknown();
    } else if (rc == GENRPC__DECODE_MALFORMED && strict) {
        CHECK(theirs == NULL, "in-place refused (MALFORMED) what protobuf-c accepts");
    }
    if (theirs)
        protobuf_c_message_free_unpacked(theirs, NULL);
    pool_release(&pl);
    free(buf);
    return 0;
}
