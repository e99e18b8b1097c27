// gen_rpc's local_SUITE (CONFORMANCE.md §1) translated: one node calling
// itself by its own name through its own TCP listener. Rows are named
// L<n>_<Case>; the bodies shared with remote_SUITE are in support/rows.h.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "rows.h"

namespace genrpc_test {
namespace {

constexpr int64_t kConnectTimeoutMs = 500;

class LocalTest : public ::testing::Test {
 protected:
  void SetUp() override { StartLocal(NodeOptions{}); }

  // (Re)starts the node with opts (name and ports filled in here).
  void StartLocal(NodeOptions opts) {
    node_.reset();
    opts.name = "master@127.0.0.1";
    opts.connect_timeout_ms = kConnectTimeoutMs;
    dead_port_ = FreeTcpPort();
    opts.addrs.push_back({kDead, dead_port_});  // nothing listens there
    std::string error;
    node_ = Node::StartSelf(opts, &error);
    ASSERT_NE(node_, nullptr) << error;
  }

  genrpc_node *n() { return node_->get(); }
  const std::string &self() { return node_->name(); }

  static constexpr const char *kDead = "fake_node@127.0.0.1";
  std::unique_ptr<Node> node_;
  int dead_port_ = -1;
};

// L1 (not required now, cheap): a fresh node has no clients and no acceptors.
TEST_F(LocalTest, L1_NodeStarts) {
  genrpc_node_info i = node_->Info();
  EXPECT_EQ(i.clients, 0);
  EXPECT_EQ(i.acceptors, 0);
  EXPECT_GT(i.workers, 0);
  EXPECT_GT(node_->port(), 0);
}

TEST_F(LocalTest, L2_Call) {
  RowCall(n(), self());
  // The call went over the socket: one client and one acceptor exist.
  genrpc_node_info i = node_->Info();
  EXPECT_EQ(i.clients, 1);
  EXPECT_EQ(i.acceptors, 1);
}

TEST_F(LocalTest, L5_CallMfaUndef) { RowCallUndef(n(), self()); }

TEST_F(LocalTest, L6_CallMfaExit) { RowCallExit(n(), self()); }

TEST_F(LocalTest, L7_CallMfaThrow) { RowCallThrow(n(), self()); }

TEST_F(LocalTest, L8_CallWithReceiveTimeout) { RowReceiveTimeout(n(), self(), 1, 500); }

TEST_F(LocalTest, L10_CallModuleVersionCheckSuccess) { RowVersionSuccess(n(), self()); }

TEST_F(LocalTest, L10b_StubRequiresItsVersion) { RowVersionStubDefaults(n(), self()); }

TEST_F(LocalTest, L11_CallModuleVersionCheckIncompatible) {
  RowVersionIncompatible(n(), self());
}

TEST_F(LocalTest, L12_CallModuleVersionCheckInvalid) { RowVersionInvalid(n(), self()); }

TEST_F(LocalTest, L13_InterleavedCall) {
  RowInterleaved(n(), self(), 10);
  genrpc_node_info i = node_->Info();
  EXPECT_EQ(i.clients, 1);
  EXPECT_EQ(i.acceptors, 1);
}

// A raw socket that connects and says nothing is closed after the
// authentication timeout; acceptors 1 -> 0.
TEST_F(LocalTest, L14_AuthenticationTimeout) {
  NodeOptions opts;
  opts.auth_timeout_ms = 500;
  StartLocal(opts);
  int fd = ConnectRaw(node_->port());
  ASSERT_GE(fd, 0);
  Stopwatch sw;
  EXPECT_TRUE(Eventually([&] { return node_->Info().acceptors == 1; }, Millis(1000)))
      << "no acceptor for the raw connection";
  EXPECT_TRUE(WaitForEof(fd, Millis(3000))) << "server did not close the silent connection";
  int64_t elapsed = sw.ElapsedMs();
  EXPECT_GE(elapsed, 400) << "closed before the authentication timeout";
  EXPECT_LT(elapsed, 2000);
  EXPECT_TRUE(Eventually([&] { return node_->Info().acceptors == 0; }, Millis(1000)));
  close(fd);
  // The node still serves.
  EXPECT_TRUE(PingOk(n(), self()));
}

TEST_F(LocalTest, L15_Cast) {
  RowCast(n(), self());
  EXPECT_EQ(node_->CountRuns(), 1u);
}

TEST_F(LocalTest, L17_CastMfaUndef) {
  RowCastUndef(n(), self());
  EXPECT_EQ(node_->Info().casts_dropped, 1u);
}

TEST_F(LocalTest, L19_CastMfaThrow) { RowCastThrow(n(), self()); }

TEST_F(LocalTest, L20_CastInexistentNode) {
  RowCastInexistent(n(), kDead, kConnectTimeoutMs);
  // Also to an address (gen_rpc's FAKE 1.2.3.4): the cast never blocks.
  Test__CountRequest req = TEST__COUNT_REQUEST__INIT;
  genrpc_status st{};
  Stopwatch sw;
  int err = test__test__count_cast(n(), genrpc_node_target("fake_node@1.2.3.4"), &req, nullptr, &st);
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE, err, st);
  EXPECT_LT(sw.ElapsedMs(), 100);
}

TEST_F(LocalTest, L21_AsyncCall) { RowAsync(n(), self()); }

TEST_F(LocalTest, L22_AsyncCallYieldReentrant) { RowAsyncReentrant(n(), self()); }

TEST_F(LocalTest, L25_AsyncCallMfaUndef) { RowAsyncUndef(n(), self()); }

TEST_F(LocalTest, L26_AsyncCallMfaExit) { RowAsyncExit(n(), self()); }

TEST_F(LocalTest, L27_AsyncCallMfaThrow) { RowAsyncThrow(n(), self()); }

TEST_F(LocalTest, L28_AsyncCallYieldTimeout) { RowYieldTimeout(n(), self(), 300); }

TEST_F(LocalTest, L29_AsyncCallNbYieldInfinity) { RowNbYieldInfinity(n(), self(), 100); }

TEST_F(LocalTest, L30_AsyncCallInexistentNode) {
  RowAsyncInexistent(n(), kDead, kConnectTimeoutMs);
}

// L20 + L30 in a loop: every first use of an unreachable node, and every use
// right after the previous client failed, answers the same way — cast OK,
// async OK then E_CONNECT, call E_CONNECT — never a stale E_CLOSED from the
// client that just failed.
TEST_F(LocalTest, L30_InexistentNodeRepeatedly) {
  int bad = 0;
  std::string first_bad;
  for (int i = 0; i < 2000 && bad < 5; i++) {
    Test__Empty req = TEST__EMPTY__INIT;
    Test__CountRequest creq = TEST__COUNT_REQUEST__INIT;
    genrpc_status st{};
    int err = test__test__count_cast(n(), genrpc_node_target(kDead), &creq, nullptr, &st);
    if (err != GENRPC_OK) {
      bad++;
      if (first_bad.empty()) first_bad = "cast #" + std::to_string(i) + ": " + Describe(err, st);
    }
    genrpc_promise *p = nullptr;
    st = genrpc_status{};
    err = test__test__stub_async(n(), genrpc_node_target(kDead), &req, nullptr, &p, &st);
    if (err == GENRPC_OK) {
      Test__StubReply *reply = nullptr;
      st = genrpc_status{};
      err = test__test__stub_nb_yield(p, 10000, &reply, &st);
      if (reply) test__stub_reply__free_unpacked(reply, nullptr);
      genrpc_promise_free(p);
      if (err != GENRPC_E_CONNECT) {
        bad++;
        if (first_bad.empty())
          first_bad = "promise #" + std::to_string(i) + ": expected CONNECT, " + Describe(err, st);
      }
    } else {
      bad++;
      if (first_bad.empty())
        first_bad = "async #" + std::to_string(i) + ": expected OK, " + Describe(err, st);
    }
    Test__StubReply *reply = nullptr;
    st = genrpc_status{};
    err = test__test__stub_call(n(), genrpc_node_target(kDead), &req, &reply, nullptr, &st);
    if (reply) test__stub_reply__free_unpacked(reply, nullptr);
    if (err != GENRPC_E_CONNECT) {
      bad++;
      if (first_bad.empty())
        first_bad = "call #" + std::to_string(i) + ": expected CONNECT, " + Describe(err, st);
    }
  }
  EXPECT_EQ(bad, 0) << "first: " << first_bad;
}

// Not a gen_rpc row: async calls from two threads race the loop failing their
// connection (refused at once on loopback), so some are registered just
// before it closes and sent just after. Each must answer E_CONNECT (under
// ASan: without touching the connection the failure released).
TEST_F(LocalTest, AsyncCallsRacingTheirConnectionsFailureAnswerConnect) {
  constexpr int kCallsPerThread = 3000;
  constexpr size_t kWindow = 32;  // promises outstanding per thread
  auto hammer = [this](int *wrong, std::string *first) {
    std::vector<genrpc_promise *> window;
    auto settle = [&](genrpc_promise *p) {
      Test__StubReply *reply = nullptr;
      genrpc_status st{};
      int err = test__test__stub_nb_yield(p, 10000, &reply, &st);
      if (reply) test__stub_reply__free_unpacked(reply, nullptr);
      genrpc_promise_free(p);
      if (err != GENRPC_E_CONNECT && (*wrong)++ == 0) first->assign(Describe(err, st));
    };
    for (int i = 0; i < kCallsPerThread; i++) {
      Test__Empty req = TEST__EMPTY__INIT;
      genrpc_promise *p = nullptr;
      genrpc_status st{};
      int err = test__test__stub_async(n(), genrpc_node_target(kDead), &req, nullptr, &p, &st);
      if (err != GENRPC_OK) {
        if ((*wrong)++ == 0) first->assign("async: " + Describe(err, st));
        continue;
      }
      window.push_back(p);
      if (window.size() == kWindow) {
        for (genrpc_promise *q : window) settle(q);
        window.clear();
      }
    }
    for (genrpc_promise *q : window) settle(q);
  };
  int wrong[2] = {0, 0};
  std::string first[2];
  std::thread other(hammer, &wrong[1], &first[1]);
  hammer(&wrong[0], &first[0]);
  other.join();
  EXPECT_EQ(wrong[0] + wrong[1], 0) << "first: " << first[0] << first[1];
}

TEST_F(LocalTest, L34_RpcModuleWhitelist) {
  NodeOptions opts;
  opts.control = GENRPC_CONTROL_WHITELIST;
  opts.modules = {"test.Clock", "test.NodeInfo"};
  StartLocal(opts);
  RowWhitelist(n(), self());
  EXPECT_EQ(node_->CountRuns(), 0u) << "a refused cast ran";
}

// L35 without broadcasts (not required now).
TEST_F(LocalTest, L35_RpcModuleBlacklist) {
  NodeOptions opts;
  opts.control = GENRPC_CONTROL_BLACKLIST;
  opts.modules = {"test.Clock", "test.NodeInfo"};
  StartLocal(opts);
  RowBlacklist(n(), self());
}

// Internal functions are never reachable from a peer, not even from the
// node itself through its listener.
TEST_F(LocalTest, InternalFunctionUnauthorized) {
  const genrpc_function_desc *secret = FindFunction(test__test__module, "Secret");
  ASSERT_NE(secret, nullptr);
  EXPECT_FALSE(secret->remote);
  Test__Empty req = TEST__EMPTY__INIT;
  ProtobufCMessage *reply = nullptr;
  genrpc_status st{};
  int err = genrpc_call(n(), genrpc_node_target(self().c_str()), &test__test__module, secret,
                        &req.base, &reply, nullptr, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_UNAUTHORIZED, GENRPC_CLASS_BADRPC, err, st);
  if (reply) protobuf_c_message_free_unpacked(reply, nullptr);
  pthread_mutex_lock(&node_->state()->lock);
  EXPECT_EQ(node_->state()->secret_runs, 0u);
  pthread_mutex_unlock(&node_->state()->lock);
  EXPECT_TRUE(PingOk(n(), self()));
}

}  // namespace
}  // namespace genrpc_test
