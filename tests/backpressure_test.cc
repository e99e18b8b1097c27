// backpressure_test - one peer cannot make a node queue unbounded work
// (CONFORMANCE S13), and casts to a peer that stopped reading cannot grow
// the caller's memory without end (issue 5: backpressure).
#include <gtest/gtest.h>

#include <signal.h>

#include <string>
#include <vector>

#include "fixture.h"
#include "rows.h"
#include "test.genrpc.h"

namespace {

using namespace genrpc_test;

// A node with one worker: a 600 ms cast occupies the peer's cast queue,
// then 3000 quick casts pile up behind it. Past 1024 waiting requests the
// node stops reading that connection; once the backlog drains it reads
// again and every cast runs, in order.
TEST(BackpressureTest, NodeStopsReadingAPeerWithTooManyWaitingRequests) {
    std::string error;
    NodeOptions opts;
    opts.workers = 1;
    auto node = Node::StartSelf(opts, &error);
    ASSERT_TRUE(node) << error;
    genrpc_target self = genrpc_node_target(node->name().c_str());

    Test__SleepRequest sleep = TEST__SLEEP_REQUEST__INIT;
    sleep.ms = 600;
    genrpc_status st;
    ASSERT_EQ(test__test__sleep_cast(node->get(), self, &sleep, nullptr, &st), GENRPC_OK);
    const int n = 3000;
    for (int i = 1; i <= n; i++) {
        Test__CountRequest req = TEST__COUNT_REQUEST__INIT;
        req.seq = uint64_t(i);
        ASSERT_EQ(test__test__count_cast(node->get(), self, &req, nullptr, &st), GENRPC_OK)
            << st.message;
    }
    EXPECT_TRUE(Eventually([&] { return node->Info().reads_paused >= 1; }, Millis(3000)))
        << "the node never stopped reading the flooding connection";
    EXPECT_TRUE(Eventually([&] { return node->CountRuns() == uint64_t(n); }, Millis(20000)))
        << "only " << node->CountRuns() << " of " << n << " casts ran after reading resumed";
    EXPECT_TRUE(PingOk(node->get(), node->name()));  // the connection still serves calls
}

// A peer that stops reading (SIGSTOP): casts of 1 MB queue up until 64 MiB
// are unsent, then fail at once with GENRPC_E_OVERLOAD instead of growing
// the caller's memory; once the peer reads again, casts go through.
TEST(BackpressureTest, CastsToAPeerThatStopsReadingFailWithOverload) {
    std::string error;
    auto peer = HelperProcess::Spawn({"--name", "peer@127.0.0.1", "--cookie", kCookie, "--port", "0"},
                                     &error);
    ASSERT_TRUE(peer) << error;
    NodeOptions opts;
    opts.send_timeout_ms = 30000;  // keep the connection while the peer is stopped
    opts.addrs = {{"peer@127.0.0.1", peer->port()}};
    auto node = Node::Start(opts, &error);
    ASSERT_TRUE(node) << error;
    ASSERT_TRUE(PingOk(node->get(), "peer@127.0.0.1"));
    ASSERT_EQ(kill(peer->pid(), SIGSTOP), 0);

    std::vector<uint8_t> big(1 << 20, 0x5a);
    Test__EchoRequest req = TEST__ECHO_REQUEST__INIT;
    req.payload.data = big.data();
    req.payload.len = big.size();
    genrpc_target t = genrpc_node_target("peer@127.0.0.1");
    int err = GENRPC_OK, sent = 0;
    genrpc_status st;
    Stopwatch sw;
    for (; sent < 200 && err == GENRPC_OK; sent++)
        err = test__test__echo_cast(node->get(), t, &req, nullptr, &st);
    EXPECT_GENRPC_ERR(GENRPC_E_OVERLOAD, GENRPC_CLASS_BADRPC, err, st);
    EXPECT_GE(sent, 60) << "failed before 64 MiB were queued";
    EXPECT_LE(sent, 80) << "queued far more than 64 MiB";
    EXPECT_LT(sw.ElapsedMs(), 5000) << "casts blocked instead of failing";

    ASSERT_EQ(kill(peer->pid(), SIGCONT), 0);
    EXPECT_TRUE(Eventually(
        [&] { return test__test__echo_cast(node->get(), t, &req, nullptr, &st) == GENRPC_OK; },
        Millis(10000)))
        << "casts still refused after the peer read again: " << st.message;
    EXPECT_TRUE(PingOk(node->get(), "peer@127.0.0.1", 10000));
    node.reset();
    peer->ExpectCleanStop();
}

}  // namespace
