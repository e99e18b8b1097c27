// decode_test - the in-place decoder (runtime/src/decode.c) against
// protobuf-c on the same bytes: every field kind, random values, and
// mutated/truncated inputs (which must never crash, and never be accepted
// when protobuf-c refuses them).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "wire/decode.h"
}
#include "decode_test.pb-c.h"

namespace {

// An arena for the decoder: everything freed at once.
struct Arena {
    std::vector<void *> blocks;
    ~Arena() {
        for (void *b : blocks) free(b);
    }
    static void *Alloc(void *self, size_t n) {
        void *p = malloc(n ? n : 1);
        static_cast<Arena *>(self)->blocks.push_back(p);
        return p;
    }
    static void Free(void *, void *) {}
    ProtobufCAllocator allocator{Alloc, Free, this};
};

std::vector<uint8_t> Pack(const ProtobufCMessage *m) {
    std::vector<uint8_t> out(protobuf_c_message_get_packed_size(m));
    protobuf_c_message_pack(m, out.data());
    return out;
}

// Builds a random Everything; strings/bytes live in `keep`.
struct Builder {
    std::mt19937_64 rng;
    std::deque<std::string> keep;  // stable addresses: messages point into it
    explicit Builder(uint64_t seed) : rng(seed) {}
    uint64_t U() { return rng(); }
    bool Coin() { return rng() & 1; }
    char *Str(size_t max) {
        std::string s(U() % (max + 1), 'x');
        for (auto &c : s) c = char('a' + U() % 26);
        keep.push_back(s);
        return const_cast<char *>(keep.back().c_str());
    }
    ProtobufCBinaryData Bytes(size_t max) {
        std::string s(U() % (max + 1), '\0');
        for (auto &c : s) c = char(U());
        keep.push_back(s);
        return {keep.back().size(), reinterpret_cast<uint8_t *>(const_cast<char *>(keep.back().data()))};
    }
};

struct Owned {  // a random message and the arrays it points to
    Dtest__Everything m = DTEST__EVERYTHING__INIT;
    Dtest__Inner inner = DTEST__INNER__INIT, o_inner = DTEST__INNER__INIT;
    std::vector<Dtest__Inner> inners;
    std::vector<Dtest__Inner *> inner_ptrs;
    std::vector<int32_t> r_i32;
    std::vector<uint64_t> r_f64;
    std::vector<char *> r_str;
    std::vector<ProtobufCBinaryData> r_byt;
    std::vector<protobuf_c_boolean> r_bo;
    std::vector<double> r_db;
    std::vector<Dtest__Color> r_color;
    std::vector<int64_t> sint_r;
    std::vector<Dtest__Everything__CountsEntry> entries;
    std::vector<Dtest__Everything__CountsEntry *> entry_ptrs;
};

void FillInner(Builder &b, Dtest__Inner *in, std::vector<int64_t> &r) {
    in->a = int32_t(b.U());
    in->s = b.Str(8);
    in->b = b.Bytes(40);
    size_t n = b.U() % 4;
    for (size_t i = 0; i < n; i++) r.push_back(int64_t(b.U()));
    in->n_r = n;
    in->r = n ? r.data() + (r.size() - n) : nullptr;
}

void Fill(Builder &b, Owned &o) {
    auto &m = o.m;
    o.sint_r.reserve(64);
    m.i32 = int32_t(b.U());
    m.i64 = int64_t(b.U());
    m.u32 = uint32_t(b.U());
    m.u64 = b.U();
    m.s32 = int32_t(b.U());
    m.s64 = int64_t(b.U());
    m.f32 = uint32_t(b.U());
    m.f64 = b.U();
    m.sf32 = int32_t(b.U());
    m.sf64 = int64_t(b.U());
    m.fl = float(b.U() % 1000) / 7.0f;
    m.db = double(b.U() % 100000) / 3.0;
    m.bo = b.Coin();
    m.color = Dtest__Color(b.U() % 3);
    m.str = b.Str(30);
    m.byt = b.Bytes(3000);
    if (b.Coin()) {
        FillInner(b, &o.inner, o.sint_r);
        m.inner = &o.inner;
    }
    for (size_t i = 0, n = b.U() % 6; i < n; i++) o.r_i32.push_back(int32_t(b.U()));
    for (size_t i = 0, n = b.U() % 4; i < n; i++) o.r_f64.push_back(b.U());
    for (size_t i = 0, n = b.U() % 4; i < n; i++) o.r_str.push_back(b.Str(10));
    for (size_t i = 0, n = b.U() % 4; i < n; i++) o.r_byt.push_back(b.Bytes(20));
    for (size_t i = 0, n = b.U() % 4; i < n; i++) o.r_bo.push_back(b.Coin());
    for (size_t i = 0, n = b.U() % 4; i < n; i++) o.r_db.push_back(double(b.U() % 999));
    for (size_t i = 0, n = b.U() % 4; i < n; i++) o.r_color.push_back(Dtest__Color(b.U() % 3));
    size_t ni = b.U() % 3;
    o.inners.resize(ni);
    for (size_t i = 0; i < ni; i++) {
        dtest__inner__init(&o.inners[i]);
        FillInner(b, &o.inners[i], o.sint_r);
        o.inner_ptrs.push_back(&o.inners[i]);
    }
    m.n_r_i32 = o.r_i32.size(); m.r_i32 = o.r_i32.data();
    m.n_r_f64 = o.r_f64.size(); m.r_f64 = o.r_f64.data();
    m.n_r_str = o.r_str.size(); m.r_str = o.r_str.data();
    m.n_r_byt = o.r_byt.size(); m.r_byt = o.r_byt.data();
    m.n_r_bo = o.r_bo.size(); m.r_bo = o.r_bo.data();
    m.n_r_db = o.r_db.size(); m.r_db = o.r_db.data();
    m.n_r_color = o.r_color.size(); m.r_color = o.r_color.data();
    m.n_r_inner = o.inner_ptrs.size(); m.r_inner = o.inner_ptrs.data();
    switch (b.U() % 4) {
    case 0: m.choice_case = DTEST__EVERYTHING__CHOICE_O_STR; m.o_str = b.Str(5); break;
    case 1: m.choice_case = DTEST__EVERYTHING__CHOICE_O_I64; m.o_i64 = int64_t(b.U()); break;
    case 2:
        FillInner(b, &o.o_inner, o.sint_r);
        m.choice_case = DTEST__EVERYTHING__CHOICE_O_INNER;
        m.o_inner = &o.o_inner;
        break;
    default: break;
    }
    size_t ne = b.U() % 3;
    o.entries.resize(ne);
    for (size_t i = 0; i < ne; i++) {
        dtest__everything__counts_entry__init(&o.entries[i]);
        o.entries[i].key = b.Str(4);
        o.entries[i].value = int32_t(b.U());
        o.entry_ptrs.push_back(&o.entries[i]);
    }
    m.n_counts = ne;
    m.counts = o.entry_ptrs.data();
    m.big_field_number = uint32_t(b.U());
}

TEST(DecodeInplaceTest, RandomMessagesDecodeLikeProtobufC) {
    for (uint64_t seed = 1; seed <= 500; seed++) {
        Builder b(seed);
        Owned o;
        Fill(b, o);
        auto bytes = Pack(&o.m.base);
        Arena arena;
        ProtobufCMessage *mine = nullptr;
        ASSERT_EQ(genrpc__decode_inplace(&dtest__everything__descriptor, bytes.data(), bytes.size(),
                                         &arena.allocator, &mine),
                  GENRPC__DECODE_OK)
            << "seed " << seed;
        EXPECT_EQ(Pack(mine), bytes) << "seed " << seed;
        auto *theirs = protobuf_c_message_unpack(&dtest__everything__descriptor, nullptr,
                                                 bytes.size(), bytes.data());
        ASSERT_NE(theirs, nullptr);
        EXPECT_EQ(Pack(theirs), Pack(mine)) << "seed " << seed;
        protobuf_c_message_free_unpacked(theirs, nullptr);
    }
}

TEST(DecodeInplaceTest, BytesPointIntoTheInput) {
    Dtest__Everything m = DTEST__EVERYTHING__INIT;
    std::vector<uint8_t> big(100000, 0x5a);
    m.byt = {big.size(), big.data()};
    auto bytes = Pack(&m.base);
    Arena arena;
    ProtobufCMessage *out = nullptr;
    ASSERT_EQ(genrpc__decode_inplace(&dtest__everything__descriptor, bytes.data(), bytes.size(),
                                     &arena.allocator, &out),
              GENRPC__DECODE_OK);
    auto *e = reinterpret_cast<Dtest__Everything *>(out);
    ASSERT_EQ(e->byt.len, big.size());
    EXPECT_GE(e->byt.data, bytes.data());
    EXPECT_LE(e->byt.data + e->byt.len, bytes.data() + bytes.size());
}

// Mutated and truncated inputs: no crash (ASan checks reads), and never
// accepted where protobuf-c refuses.
TEST(DecodeInplaceTest, MutatedInputsNeverCrashNorAcceptWhatProtobufCRefuses) {
    std::mt19937_64 rng(42);
    int accepted = 0, refused = 0;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        Builder b(seed);
        Owned o;
        Fill(b, o);
        auto good = Pack(&o.m.base);
        for (int k = 0; k < 20; k++) {
            auto bad = good;
            if (k % 3 == 0 && !bad.empty()) {
                bad.resize(rng() % bad.size());
            } else {
                for (int flips = 1 + int(rng() % 3); flips > 0 && !bad.empty(); flips--)
                    bad[rng() % bad.size()] = uint8_t(rng());
            }
            // A heap copy of exactly the input size, so ASan sees overreads.
            std::unique_ptr<uint8_t[]> copy(new uint8_t[bad.size() + 1]);
            std::memcpy(copy.get(), bad.data(), bad.size());
            Arena arena;
            ProtobufCMessage *mine = nullptr;
            int rc = genrpc__decode_inplace(&dtest__everything__descriptor, copy.get(), bad.size(),
                                            &arena.allocator, &mine);
            auto *theirs = protobuf_c_message_unpack(&dtest__everything__descriptor, nullptr,
                                                     bad.size(), copy.get());
            if (rc == GENRPC__DECODE_OK) {
                accepted++;
                EXPECT_NE(theirs, nullptr) << "accepted what protobuf-c refuses, seed " << seed;
            } else {
                refused++;
            }
            if (theirs) {
                EXPECT_NE(rc, GENRPC__DECODE_MALFORMED)
                    << "refused what protobuf-c accepts, seed " << seed << " k " << k;
                protobuf_c_message_free_unpacked(theirs, nullptr);
            }
        }
    }
    EXPECT_GT(accepted, 0);
    EXPECT_GT(refused, 0);
}

// Regressions found by tests/fuzz/fuzz_decode (reproducers in tests/fuzz/repro).
struct Case {
    const char *name;
    std::vector<uint8_t> bytes;
};

TEST(DecodeInplaceTest, FuzzRegressionsAgreeWithProtobufC) {
    const Case cases[] = {
        // sint32 in an over-long varint: truncate to 32 bits, then unzigzag
        {"packs-differently", {0x28, 0xff, 0xff, 0xff, 0xff, 0x1e}},
        // field number above 2^29 - 1: invalid
        {"tag-over-32-bits", {0x88, 0xff, 0xc0, 0xff, 0xf9, 0x00, 0x20}},
        // field number 0: an unknown field, as protobuf-c sees it
        {"field-number-0", {0x80, 0x00, 0x00}},
    };
    for (const auto &c : cases) {
        Arena arena;
        ProtobufCMessage *mine = nullptr;
        int rc = genrpc__decode_inplace(&dtest__everything__descriptor, c.bytes.data(),
                                        c.bytes.size(), &arena.allocator, &mine);
        auto *theirs = protobuf_c_message_unpack(&dtest__everything__descriptor, nullptr,
                                                 c.bytes.size(), c.bytes.data());
        EXPECT_EQ(rc == GENRPC__DECODE_OK, theirs != nullptr) << c.name;
        if (rc == GENRPC__DECODE_OK && theirs) {
            auto *m = reinterpret_cast<Dtest__Everything *>(mine);
            auto *t = reinterpret_cast<Dtest__Everything *>(theirs);
            EXPECT_EQ(m->s32, t->s32) << c.name;
        }
        if (theirs) protobuf_c_message_free_unpacked(theirs, nullptr);
    }
}

TEST(DecodeInplaceTest, EmptyInputIsTheDefaultMessage) {
    Arena arena;
    ProtobufCMessage *out = nullptr;
    uint8_t none = 0;
    ASSERT_EQ(genrpc__decode_inplace(&dtest__everything__descriptor, &none, 0, &arena.allocator, &out),
              GENRPC__DECODE_OK);
    auto *e = reinterpret_cast<Dtest__Everything *>(out);
    EXPECT_STREQ(e->str, "");
    EXPECT_EQ(e->inner, nullptr);
    EXPECT_EQ(e->n_r_i32, 0u);
}

}  // namespace
