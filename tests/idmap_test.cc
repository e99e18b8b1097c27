// idmap_test - base/idmap: ids assigned in sequence, take, remove-if-equal,
// drain, growth past the first table, and probe runs surviving removals.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

extern "C" {
#include "base/idmap.h"
}

namespace {

struct Map {
    genrpc__idmap m;
    explicit Map(uint64_t first = 1) { genrpc__idmap_init(&m, first); }
    ~Map() { genrpc__idmap_free(&m); }
};

TEST(IdmapTest, InsertAssignsIdsInSequence) {
    Map map(7);
    int a, b, c;
    uint64_t ia = 0, ib = 0, ic = 0;
    ASSERT_TRUE(genrpc__idmap_insert(&map.m, &a, &ia));
    ASSERT_TRUE(genrpc__idmap_insert(&map.m, &b, &ib));
    ASSERT_TRUE(genrpc__idmap_insert(&map.m, &c, &ic));
    EXPECT_EQ(ia, 7u);
    EXPECT_EQ(ib, 8u);
    EXPECT_EQ(ic, 9u);
    EXPECT_EQ(genrpc__idmap_count(&map.m), 3u);
}

TEST(IdmapTest, TakeReturnsOnceThenMisses) {
    Map map;
    int a, b;
    uint64_t ia, ib;
    ASSERT_TRUE(genrpc__idmap_insert(&map.m, &a, &ia));
    ASSERT_TRUE(genrpc__idmap_insert(&map.m, &b, &ib));
    EXPECT_EQ(genrpc__idmap_take(&map.m, ib), &b);
    EXPECT_EQ(genrpc__idmap_take(&map.m, ib), nullptr);
    EXPECT_EQ(genrpc__idmap_take(&map.m, 12345), nullptr);      // never assigned
    EXPECT_EQ(genrpc__idmap_take(&map.m, UINT64_MAX), nullptr); // a hostile reply's id
    EXPECT_EQ(genrpc__idmap_count(&map.m), 1u);
    EXPECT_EQ(genrpc__idmap_take(&map.m, ia), &a);
    EXPECT_EQ(genrpc__idmap_count(&map.m), 0u);
}

TEST(IdmapTest, EmptyMapMissesEverything) {
    Map map;
    int a;
    EXPECT_EQ(genrpc__idmap_take(&map.m, 1), nullptr);
    EXPECT_FALSE(genrpc__idmap_remove(&map.m, 1, &a));
    size_t pos = 0;
    EXPECT_EQ(genrpc__idmap_next(&map.m, &pos), nullptr);
}

TEST(IdmapTest, RemoveOnlyIfEqual) {
    Map map;
    int a, other;
    uint64_t ia;
    ASSERT_TRUE(genrpc__idmap_insert(&map.m, &a, &ia));
    EXPECT_FALSE(genrpc__idmap_remove(&map.m, ia, &other));
    EXPECT_FALSE(genrpc__idmap_remove(&map.m, ia + 1, &a));
    EXPECT_EQ(genrpc__idmap_count(&map.m), 1u);
    EXPECT_TRUE(genrpc__idmap_remove(&map.m, ia, &a));
    EXPECT_FALSE(genrpc__idmap_remove(&map.m, ia, &a));
    EXPECT_EQ(genrpc__idmap_count(&map.m), 0u);
}

TEST(IdmapTest, DrainMovesEverythingOutAndIdsContinue) {
    Map map;
    std::vector<int> vals(200);
    uint64_t last = 0;
    for (auto &v : vals) ASSERT_TRUE(genrpc__idmap_insert(&map.m, &v, &last));
    genrpc__idmap all;
    genrpc__idmap_drain(&map.m, &all);
    EXPECT_EQ(genrpc__idmap_count(&map.m), 0u);
    EXPECT_EQ(genrpc__idmap_count(&all), vals.size());
    std::vector<bool> seen(vals.size());
    size_t pos = 0, n = 0;
    for (void *p; (p = genrpc__idmap_next(&all, &pos));) {
        size_t i = static_cast<int *>(p) - vals.data();
        ASSERT_LT(i, vals.size());
        EXPECT_FALSE(seen[i]);
        seen[i] = true;
        n++;
    }
    EXPECT_EQ(n, vals.size());
    genrpc__idmap_free(&all);
    int x;
    uint64_t ix;
    ASSERT_TRUE(genrpc__idmap_insert(&map.m, &x, &ix));
    EXPECT_EQ(ix, last + 1);
    EXPECT_EQ(genrpc__idmap_take(&map.m, ix), &x);
}

// Against std::map: random inserts, takes (of live, dead and foreign ids)
// and removes, with long-lived entries so probe runs wrap and shift.
TEST(IdmapTest, MatchesAReferenceMapUnderRandomUse) {
    Map map;
    std::map<uint64_t, int *> ref;
    std::vector<int> vals(4096);
    std::mt19937_64 rng(42);
    size_t next_val = 0;
    for (int step = 0; step < 200000; step++) {
        unsigned op = rng() % 10;
        if (op < 5 && ref.size() < 3000) {
            int *v = &vals[next_val++ % vals.size()];
            uint64_t id;
            ASSERT_TRUE(genrpc__idmap_insert(&map.m, v, &id));
            ASSERT_EQ(ref.count(id), 0u);
            ref[id] = v;
        } else if (op < 8 && !ref.empty()) {
            auto it = ref.begin();
            std::advance(it, rng() % ref.size());
            ASSERT_EQ(genrpc__idmap_take(&map.m, it->first), it->second);
            ref.erase(it);
        } else if (op < 9 && !ref.empty()) {
            auto it = ref.lower_bound(rng() % (ref.rbegin()->first + 1));
            if (it == ref.end()) continue;
            ASSERT_FALSE(genrpc__idmap_remove(&map.m, it->first, &step)); // not what it holds
            ASSERT_TRUE(genrpc__idmap_remove(&map.m, it->first, it->second));
            ref.erase(it);
        } else {
            uint64_t id = rng();
            if (ref.count(id)) continue;
            ASSERT_EQ(genrpc__idmap_take(&map.m, id), nullptr);
        }
        ASSERT_EQ(genrpc__idmap_count(&map.m), ref.size());
    }
    for (auto &kv : ref) EXPECT_EQ(genrpc__idmap_take(&map.m, kv.first), kv.second);
    EXPECT_EQ(genrpc__idmap_count(&map.m), 0u);
}

}  // namespace
