// registry_test - base/registry: name[+version] -> refcounted entry;
// duplicates, "highest version" lookups, and removal that waits for users
// (or leaves the free to the last one).
#include <gtest/gtest.h>

#include <atomic> // before registry.h, which uses std::atomic<int> in C++
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>

extern "C" {
#include "base/list.h"
#include "base/registry.h"
#include "genrpc/error.h"
}

namespace {

std::atomic<int> g_freed{0};

struct Item {
    genrpc__regentry e;
    std::string name;
    int tag;
};

void FreeItem(genrpc__regentry *e) {
    g_freed++;
    delete GENRPC__CONTAINER_OF(e, Item, e);
}

Item *NewItem(const char *name, uint32_t version, int tag = 0) {
    Item *it = new Item;
    it->name = name;
    it->tag = tag;
    it->e.name = it->name.c_str();
    it->e.version = version;
    it->e.free = FreeItem;
    return it;
}

genrpc__str S(const char *z) { return genrpc__str{z, std::strlen(z)}; }

class RegistryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        g_freed = 0;
        genrpc__registry_init(&r);
    }
    void TearDown() override { genrpc__registry_destroy(&r); }
    genrpc__registry r;
};

TEST_F(RegistryTest, AddRefusesTheSameNameAndVersion) {
    ASSERT_EQ(genrpc__registry_add(&r, &NewItem("calc", 1)->e), GENRPC_OK);
    ASSERT_EQ(genrpc__registry_add(&r, &NewItem("calc", 2)->e), GENRPC_OK);
    Item *dup = NewItem("calc", 1);
    EXPECT_EQ(genrpc__registry_add(&r, &dup->e), GENRPC_E_EXISTS);
    delete dup;
    Item *other = NewItem("calcx", 1);
    EXPECT_EQ(genrpc__registry_add(&r, &other->e), GENRPC_OK);
}

TEST_F(RegistryTest, LookupByVersionOrHighest) {
    ASSERT_EQ(genrpc__registry_add(&r, &NewItem("calc", 1, 10)->e), GENRPC_OK);
    ASSERT_EQ(genrpc__registry_add(&r, &NewItem("calc", 3, 30)->e), GENRPC_OK);
    ASSERT_EQ(genrpc__registry_add(&r, &NewItem("calc", 2, 20)->e), GENRPC_OK);
    ASSERT_EQ(genrpc__registry_add(&r, &NewItem("echo", 0, 99)->e), GENRPC_OK);
    struct Case { const char *name; uint32_t version; int tag; } cases[] = {
        {"calc", 0, 30}, {"calc", 1, 10}, {"calc", 2, 20}, {"calc", 3, 30}, {"echo", 0, 99},
    };
    for (const auto &c : cases) {
        genrpc__regentry *e = genrpc__registry_lookup(&r, S(c.name), c.version);
        ASSERT_NE(e, nullptr) << c.name << " v" << c.version;
        EXPECT_EQ(GENRPC__CONTAINER_OF(e, Item, e)->tag, c.tag);
        EXPECT_EQ(e->refs.load(), 2);
        genrpc__registry_unref(&r, e);
        EXPECT_EQ(e->refs.load(), 1);
    }
    EXPECT_EQ(genrpc__registry_lookup(&r, S("calc"), 4), nullptr);
    EXPECT_EQ(genrpc__registry_lookup(&r, S("cal"), 0), nullptr);
    EXPECT_EQ(genrpc__registry_lookup(&r, S("calcs"), 0), nullptr);
    // a counted name is not NUL-terminated: only its len bytes count
    genrpc__str prefix = {"calculator", 4};
    EXPECT_NE(genrpc__registry_lookup(&r, prefix, 1), nullptr);
    genrpc__registry_unref(&r, genrpc__registry_lookup(&r, prefix, 1));
    genrpc__registry_unref(&r, genrpc__registry_lookup(&r, prefix, 1));
    EXPECT_EQ(g_freed.load(), 0);
}

TEST_F(RegistryTest, RemoveIsExactAndFrees) {
    ASSERT_EQ(genrpc__registry_add(&r, &NewItem("calc", 1)->e), GENRPC_OK);
    ASSERT_EQ(genrpc__registry_add(&r, &NewItem("calc", 2)->e), GENRPC_OK);
    EXPECT_EQ(genrpc__registry_remove(&r, "calc", 3, true), GENRPC_E_NOT_FOUND);
    EXPECT_EQ(genrpc__registry_remove(&r, "calc", 0, true), GENRPC_E_NOT_FOUND);
    EXPECT_EQ(genrpc__registry_remove(&r, "calc", 2, true), GENRPC_OK);
    EXPECT_EQ(g_freed.load(), 1);
    EXPECT_EQ(genrpc__registry_remove(&r, "calc", 2, true), GENRPC_E_NOT_FOUND);
    genrpc__regentry *e = genrpc__registry_lookup(&r, S("calc"), 0);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->version, 1u); // the highest left
    genrpc__registry_unref(&r, e);
}

// The remover waits for a user holding the entry, and frees it only after
// that user gives its reference back.
TEST_F(RegistryTest, RemoveWaitsForTheLastUser) {
    ASSERT_EQ(genrpc__registry_add(&r, &NewItem("calc", 1)->e), GENRPC_OK);
    genrpc__regentry *held = genrpc__registry_lookup(&r, S("calc"), 1);
    ASSERT_NE(held, nullptr);
    std::atomic<bool> removed{false};
    auto remover = std::async(std::launch::async, [&] {
        int rc = genrpc__registry_remove(&r, "calc", 1, true);
        removed = true;
        return rc;
    });
    // It leaves the table first: lookups miss from then on (bounded wait
    // for the remover thread to get there).
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        genrpc__regentry *e = genrpc__registry_lookup(&r, S("calc"), 1);
        if (!e) break;
        genrpc__registry_unref(&r, e);
        if (std::chrono::steady_clock::now() > until) {
            genrpc__registry_unref(&r, held); // lets the remover finish
            FAIL() << "the entry never left the table";
        }
        std::this_thread::yield();
    }
    // Still waiting: the user holds it (the entry is not freed under it).
    EXPECT_EQ(remover.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
    EXPECT_FALSE(removed.load());
    EXPECT_EQ(g_freed.load(), 0);
    EXPECT_STREQ(held->name, "calc");
    genrpc__registry_unref(&r, held);
    ASSERT_EQ(remover.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(remover.get(), GENRPC_OK);
    EXPECT_EQ(g_freed.load(), 1);
}

// Removing without waiting (a worker running a job on the entry): the
// remover returns at once and the last user frees the entry.
TEST_F(RegistryTest, RemoveWithoutWaitingLeavesTheFreeToTheLastUser) {
    ASSERT_EQ(genrpc__registry_add(&r, &NewItem("h", 0)->e), GENRPC_OK);
    genrpc__regentry *a = genrpc__registry_lookup(&r, S("h"), 0);
    genrpc__regentry *b = genrpc__registry_lookup(&r, S("h"), 0);
    ASSERT_NE(a, nullptr);
    ASSERT_EQ(a, b);
    EXPECT_EQ(genrpc__registry_remove(&r, "h", 0, false), GENRPC_OK);
    EXPECT_EQ(genrpc__registry_lookup(&r, S("h"), 0), nullptr);
    EXPECT_EQ(g_freed.load(), 0);
    genrpc__registry_unref(&r, a);
    EXPECT_EQ(g_freed.load(), 0);
    genrpc__registry_unref(&r, b);
    EXPECT_EQ(g_freed.load(), 1);
    // The name is free again.
    EXPECT_EQ(genrpc__registry_add(&r, &NewItem("h", 0)->e), GENRPC_OK);
}

TEST_F(RegistryTest, DestroyFreesWhatIsStillRegistered) {
    for (int i = 0; i < 20; i++) // past the first array
        ASSERT_EQ(genrpc__registry_add(&r, &NewItem("m", uint32_t(i + 1))->e), GENRPC_OK);
    genrpc__registry_destroy(&r);
    EXPECT_EQ(g_freed.load(), 20);
    genrpc__registry_init(&r); // for TearDown
}

}  // namespace
