// list_test - base/list.h: the runtime's one intrusive list (FIFO order,
// removal from anywhere, splicing, "linked" after init and remove).
#include <gtest/gtest.h>

#include <vector>

extern "C" {
#include "base/list.h"
}

namespace {

struct Item {
    int v;
    genrpc__list link;
};

std::vector<int> Values(const genrpc__list *head) {
    std::vector<int> out;
    GENRPC__LIST_FOREACH(l, head) out.push_back(GENRPC__CONTAINER_OF(l, Item, link)->v);
    return out;
}

TEST(ListTest, PushBackIsFifoPushFrontIsLifo) {
    genrpc__list head;
    genrpc__list_init(&head);
    EXPECT_TRUE(genrpc__list_empty(&head));
    EXPECT_EQ(genrpc__list_first(&head), nullptr);
    EXPECT_EQ(genrpc__list_pop_front(&head), nullptr);
    Item a{1, {}}, b{2, {}}, c{3, {}};
    genrpc__list_push_back(&head, &a.link);
    genrpc__list_push_back(&head, &b.link);
    genrpc__list_push_front(&head, &c.link);
    EXPECT_EQ(Values(&head), (std::vector<int>{3, 1, 2}));
    EXPECT_EQ(genrpc__list_next(&head, &c.link), &a.link);
    EXPECT_EQ(genrpc__list_next(&head, &b.link), nullptr);
    EXPECT_EQ(genrpc__list_pop_front(&head), &c.link);
    EXPECT_EQ(genrpc__list_pop_front(&head), &a.link);
    EXPECT_EQ(genrpc__list_pop_front(&head), &b.link);
    EXPECT_TRUE(genrpc__list_empty(&head));
}

TEST(ListTest, RemoveFromAnywhereLeavesTheNodeUnlinked) {
    genrpc__list head;
    genrpc__list_init(&head);
    Item it[5];
    for (int i = 0; i < 5; i++) {
        it[i].v = i;
        genrpc__list_init(&it[i].link);
        EXPECT_FALSE(genrpc__list_linked(&it[i].link));
        genrpc__list_push_back(&head, &it[i].link);
        EXPECT_TRUE(genrpc__list_linked(&it[i].link));
    }
    genrpc__list_remove(&it[0].link); // first
    genrpc__list_remove(&it[2].link); // middle
    genrpc__list_remove(&it[4].link); // last
    EXPECT_FALSE(genrpc__list_linked(&it[2].link));
    EXPECT_EQ(Values(&head), (std::vector<int>{1, 3}));
}

TEST(ListTest, ForeachSafeMayRemoveTheCurrentNode) {
    genrpc__list head;
    genrpc__list_init(&head);
    Item it[6];
    for (int i = 0; i < 6; i++) {
        it[i].v = i;
        genrpc__list_push_back(&head, &it[i].link);
    }
    GENRPC__LIST_FOREACH_SAFE(l, &head) {
        if (GENRPC__CONTAINER_OF(l, Item, link)->v % 2 == 0) genrpc__list_remove(l);
    }
    EXPECT_EQ(Values(&head), (std::vector<int>{1, 3, 5}));
}

TEST(ListTest, SpliceAndMoveKeepOrderAndEmptyTheSource) {
    genrpc__list a, b;
    genrpc__list_init(&a);
    genrpc__list_init(&b);
    Item it[4];
    for (int i = 0; i < 4; i++) {
        it[i].v = i;
        genrpc__list_push_back(i < 2 ? &a : &b, &it[i].link);
    }
    genrpc__list_splice_back(&a, &b);
    EXPECT_TRUE(genrpc__list_empty(&b));
    EXPECT_EQ(Values(&a), (std::vector<int>{0, 1, 2, 3}));
    genrpc__list_splice_back(&a, &b); // empty source: no change
    EXPECT_EQ(Values(&a), (std::vector<int>{0, 1, 2, 3}));
    genrpc__list_splice_back(&b, &a); // into an empty list
    EXPECT_EQ(Values(&b), (std::vector<int>{0, 1, 2, 3}));
    genrpc__list moved;
    genrpc__list_move(&moved, &b);
    EXPECT_TRUE(genrpc__list_empty(&b));
    EXPECT_EQ(Values(&moved), (std::vector<int>{0, 1, 2, 3}));
    // the nodes point at the new head: removal still works
    genrpc__list_remove(&it[3].link);
    EXPECT_EQ(Values(&moved), (std::vector<int>{0, 1, 2}));
}

}  // namespace
