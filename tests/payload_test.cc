// payload_test - payloads of every size survive the round trip byte for
// byte: below and above the zero-copy threshold of replies (16 KiB), larger
// than a read chunk, and many at once so that writes go partial and frames
// are split across reads.
#include <gtest/gtest.h>

#include <algorithm>
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
    genrpc_call_opts opts = {10000, 0, 0, nullptr, nullptr, nullptr, {}};
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

// n echoes of 20 KB .. 390 KB in flight at once through callback calls with
// these call flags; every reply must carry its request's bytes.
void EchoManyAtOnce(genrpc_node *node, const std::string &target, uint32_t flags) {
    const size_t n = 48;
    Many m;
    std::vector<Slot> slots(n);
    for (size_t i = 0; i < n; i++) {
        m.sent.push_back(Pattern(20000 + i * 7919, uint32_t(i)));  // 20 KB .. 390 KB
        slots[i] = {&m, i};
    }
    genrpc_call_opts opts = {20000, 0, flags, nullptr, nullptr, nullptr, {}};
    int started = 0;
    for (size_t i = 0; i < n; i++) {
        Test__EchoRequest req = TEST__ECHO_REQUEST__INIT;
        req.payload.data = m.sent[i].data();
        req.payload.len = m.sent[i].size();
        int err = test__test__echo_async_cb(node, genrpc_node_target(target.c_str()), &req, &opts,
                                            OnEcho, &slots[i]);
        EXPECT_EQ(err, GENRPC_OK);
        started += err == GENRPC_OK;
    }
    std::unique_lock<std::mutex> lock(m.mu);
    ASSERT_TRUE(m.cv.wait_for(lock, std::chrono::seconds(30), [&] { return m.done == started; }))
        << m.done << " of " << started << " replies";
    EXPECT_EQ(m.bad, 0);
}

TEST_F(PayloadTest, ManyLargeEchoesInFlightAtOnce) {
    EchoManyAtOnce(node_->get(), node_->name(), 0);
}

// The same with the requests lent (written from the caller's memory).
TEST_F(PayloadTest, ManyLargeLentEchoesInFlightAtOnce) {
    EchoManyAtOnce(node_->get(), node_->name(), GENRPC_CALL_LEND_REQUEST);
}

struct Outcome {
    std::mutex mu;
    std::condition_variable cv;
    int err = -1;
    std::chrono::steady_clock::time_point at;
};

void OnOutcome(int err, const genrpc_status *, const Test__EchoReply *, void *arg) {
    auto *o = static_cast<Outcome *>(arg);
    std::lock_guard<std::mutex> lock(o->mu);
    o->err = err;
    o->at = std::chrono::steady_clock::now();
    o->cv.notify_all();
}

constexpr const char *kSlave = "slave@127.0.0.1";

// The server node of the lent-request tests, named kSlave.
std::unique_ptr<Node> StartSlave() {
    NodeOptions o;
    o.name = kSlave;
    std::string error;
    auto node = Node::Start(o, &error);
    EXPECT_TRUE(node) << error;
    return node;
}

// A client node that finds kSlave at `port` (the slave's, or a proxy's).
std::unique_ptr<Node> StartClientOf(int port) {
    NodeOptions o;
    o.addrs = {{kSlave, port}};
    std::string error;
    auto node = Node::Start(o, &error);
    EXPECT_TRUE(node) << error;
    return node;
}

// Lent 1 MB echoes in flight when the server node stops: every callback
// still runs (OK with the right bytes, or a transport error), none is lost
// waiting for the release of a frame that the close dropped. (The wait for
// that release itself is checked by the next test.)
TEST(LentRequestTest, EveryCallbackRunsWhenTheServerStopsMidTransfer) {
    auto server = StartSlave();
    ASSERT_TRUE(server);
    auto client = StartClientOf(server->port());
    ASSERT_TRUE(client);

    struct Lent {
        std::vector<uint8_t> buf;
        std::mutex *mu;
        std::condition_variable *cv;
        int *done, *odd;
    };
    std::mutex mu;
    std::condition_variable cv;
    int done = 0, odd = 0;
    const int n = 32;
    std::vector<Lent *> lent;
    auto on_reply = [](int err, const genrpc_status *, const Test__EchoReply *reply, void *arg) {
        auto *l = static_cast<Lent *>(arg);
        bool ok = err == GENRPC_OK && reply && reply->payload.len == l->buf.size() &&
                  memcmp(reply->payload.data, l->buf.data(), l->buf.size()) == 0;
        // a transport error, or UNAVAILABLE: the server stopped before
        // reading it (GOAWAY), or it was never written
        bool failed = err != GENRPC_OK && (genrpc_err_class_of(err) == GENRPC_CLASS_BADTCP ||
                                           err == GENRPC_E_UNAVAILABLE);
        std::lock_guard<std::mutex> lock(*l->mu);
        *l->odd += !ok && !failed;
        ++*l->done;
        l->cv->notify_all();
        delete l;  // the lent request's memory goes with it
    };
    genrpc_call_opts opts = {10000, 0, GENRPC_CALL_LEND_REQUEST, nullptr, nullptr, nullptr, {}};
    int started = 0;
    for (int i = 0; i < n; i++) {
        auto *l = new Lent{Pattern(1 << 20, uint32_t(i)), &mu, &cv, &done, &odd};
        Test__EchoRequest req = TEST__ECHO_REQUEST__INIT;
        req.payload.data = l->buf.data();
        req.payload.len = l->buf.size();
        int err = test__test__echo_async_cb(client->get(), genrpc_node_target(kSlave),
                                            &req, &opts, on_reply, l);
        if (err != GENRPC_OK) {
            delete l;
            ADD_FAILURE() << "call " << i << " not started: " << genrpc_strerror(err);
            continue;
        }
        started++;
        if (i == n / 2) server.reset();  // stops the server with calls in flight
    }
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return done == started; }))
        << done << " of " << started << " callbacks ran";
    EXPECT_EQ(odd, 0) << "callbacks neither OK with the right bytes nor a transport error";
}

// A lent call that times out before its request could be written (the
// proxy holds everything back, so the request waits for the handshake)
// calls back at its timeout: the request's unsent bytes were copied, so the
// caller may reuse its buffer at once, and the request still goes out whole
// once the path opens.
TEST(LentRequestTest, TimedOutCallCallsBackAtOnceAndItsRequestGoesOutWhole) {
    auto server = StartSlave();
    ASSERT_TRUE(server);
    RecordingProxy proxy(server->port());
    proxy.Pause(true);
    auto client = StartClientOf(proxy.port());
    ASSERT_TRUE(client);

    const auto sent = Pattern(256 * 1024, 5);
    auto buf = sent;
    Test__EchoRequest req = TEST__ECHO_REQUEST__INIT;
    req.payload.data = buf.data();
    req.payload.len = buf.size();
    Outcome lent;
    auto t0 = std::chrono::steady_clock::now();
    genrpc_call_opts lending = {100, 0, GENRPC_CALL_LEND_REQUEST, nullptr, nullptr, nullptr, {}};
    ASSERT_EQ(test__test__echo_async_cb(client->get(), genrpc_node_target(kSlave), &req,
                                        &lending, OnOutcome, &lent),
              GENRPC_OK);
    {
        std::unique_lock<std::mutex> lock(lent.mu);
        ASSERT_TRUE(lent.cv.wait_for(lock, std::chrono::seconds(10), [&] { return lent.err != -1; }));
    }
    EXPECT_EQ(lent.err, GENRPC_E_TIMEOUT);
    EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(lent.at - t0).count(), 1000)
        << "the callback waited for the frame instead of copying it";
    std::fill(buf.begin(), buf.end(), 0xEE);  // the caller reuses its buffer

    proxy.Pause(false);
    const std::string want(sent.begin(), sent.end());
    bool whole = false;
    for (int i = 0; i < 100 && !whole; i++) {  // <= 5 s
        whole = proxy.ClientToServer().find(want) != std::string::npos;
        if (!whole) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(whole) << "the request did not go out with the bytes it was called with";
}

TEST_F(PayloadTest, UnknownCallFlagsAreRefused) {
    Test__EchoRequest req = TEST__ECHO_REQUEST__INIT;
    genrpc_target t = genrpc_node_target(node_->name().c_str());
    genrpc_call_opts bad = {1000, 0, 0x80, nullptr, nullptr, nullptr, {}};
    genrpc_status st{};
    Test__EchoReply *reply = nullptr;
    EXPECT_EQ(test__test__echo_call(node_->get(), t, &req, &reply, &bad, &st), GENRPC_E_INVAL);
    EXPECT_NE(std::string(st.message).find("unknown call flags 0x80"), std::string::npos)
        << st.message;
    EXPECT_EQ(reply, nullptr);
    EXPECT_EQ(test__test__echo_cast(node_->get(), t, &req, &bad, &st), GENRPC_E_INVAL);
    genrpc_promise *p = nullptr;
    EXPECT_EQ(test__test__echo_async(node_->get(), t, &req, &bad, &p, &st), GENRPC_E_INVAL);
    EXPECT_EQ(p, nullptr);
    bad.flags = GENRPC_CALL_LEND_REQUEST | 0x2;
    EXPECT_EQ(test__test__echo_async_cb(node_->get(), t, &req, &bad, OnOutcome, nullptr),
              GENRPC_E_INVAL);
    // The one known flag is accepted by every kind of call (and ignored
    // by all but callback calls).
    genrpc_call_opts lend = {5000, 0, GENRPC_CALL_LEND_REQUEST, nullptr, nullptr, nullptr, {}};
    ASSERT_EQ(test__test__echo_call(node_->get(), t, &req, &reply, &lend, &st), GENRPC_OK)
        << st.message;
    test__echo_reply__free_unpacked(reply, nullptr);
}

}  // namespace
