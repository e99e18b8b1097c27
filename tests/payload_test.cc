// payload_test - payloads of every size survive the round trip byte for
// byte: below and above the zero-copy threshold of replies (16 KiB), larger
// than a read chunk, and many at once so that writes go partial and frames
// are split across reads.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "test.genrpc.h"

namespace {

using namespace genrpc_test;

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    uint32_t x = seed * 2654435761u + 1;
    for (auto &b : v) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = uint8_t(x);
    }
    return v;
}

class PayloadTest : public ::testing::TestWithParam<size_t> {
  protected:
    void SetUp() override {
        std::string error;
        node_ = Node::StartSelf(NodeOptions{}, &error);
        ASSERT_TRUE(node_) << error;
    }
    std::unique_ptr<Node> node_;
};

TEST_P(PayloadTest, EchoReturnsTheSameBytes) {
    auto data = Pattern(GetParam(), 7);
    Test__EchoRequest req = TEST__ECHO_REQUEST__INIT;
    req.payload.data = data.data();
    req.payload.len = data.size();
    Test__EchoReply *reply = nullptr;
    genrpc_status st;
    genrpc_call_opts opts = {10000, 0};
    ASSERT_EQ(test__test__echo_call(node_->get(), genrpc_node_target(node_->name().c_str()), &req,
                                    &reply, &opts, &st),
              GENRPC_OK)
        << st.message;
    ASSERT_EQ(reply->payload.len, data.size());
    EXPECT_EQ(0, data.empty() ? 0 : memcmp(reply->payload.data, data.data(), data.size()));
    test__echo_reply__free_unpacked(reply, nullptr);
}

INSTANTIATE_TEST_SUITE_P(Sizes, PayloadTest,
                         ::testing::Values(0, 1, 16383, 16384, 65536, 65537, 512000,
                                           4u << 20));

struct Many {
    std::mutex mu;
    std::condition_variable cv;
    int done = 0, bad = 0;
    std::vector<std::vector<uint8_t>> sent;
};

struct Slot {
    Many *m;
    size_t i;
};

void OnEcho(int err, const genrpc_status *, const Test__EchoReply *reply, void *arg) {
    auto *s = static_cast<Slot *>(arg);
    std::lock_guard<std::mutex> lock(s->m->mu);
    const auto &want = s->m->sent[s->i];
    if (err != GENRPC_OK || !reply || reply->payload.len != want.size() ||
        memcmp(reply->payload.data, want.data(), want.size()) != 0)
        s->m->bad++;
    s->m->done++;
    s->m->cv.notify_all();
}

TEST_F(PayloadTest, ManyLargeEchoesInFlightAtOnce) {
    const size_t n = 48;
    Many m;
    std::vector<Slot> slots(n);
    for (size_t i = 0; i < n; i++) {
        m.sent.push_back(Pattern(20000 + i * 7919, uint32_t(i)));  // 20 KB .. 390 KB
        slots[i] = {&m, i};
    }
    genrpc_call_opts opts = {20000, 0};
    for (size_t i = 0; i < n; i++) {
        Test__EchoRequest req = TEST__ECHO_REQUEST__INIT;
        req.payload.data = m.sent[i].data();
        req.payload.len = m.sent[i].size();
        ASSERT_EQ(test__test__echo_async_cb(node_->get(),
                                            genrpc_node_target(node_->name().c_str()), &req,
                                            &opts, OnEcho, &slots[i]),
                  GENRPC_OK);
    }
    std::unique_lock<std::mutex> lock(m.mu);
    ASSERT_TRUE(m.cv.wait_for(lock, std::chrono::seconds(30), [&] { return m.done == int(n); }))
        << m.done << " of " << n << " replies";
    EXPECT_EQ(m.bad, 0);
}

}  // namespace
