// gen_rpc's multi_rpc_SUITE and multi_rpc_with_key_SUITE (CONFORMANCE.md §4,
// §5) translated, plus the behaviours S6, S7 and S23: multicall, eval
// everywhere and the connected-node list. This process's node ("master",
// which also calls itself through its own listener) fans out to a helper
// node process ("slave", tests/helpers/test_node.c). Rows are named
// M<n>_ / MK<n>_ / S<n>_.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "fixture.h"
#include "rows.h"

namespace genrpc_test {
namespace {

constexpr const char *kMaster = "master@127.0.0.1";
constexpr const char *kSlave = "slave@127.0.0.1";
constexpr const char *kDead = "fake_node@127.0.0.1";     // refuses connections
constexpr const char *kSilent = "silent_node@127.0.0.1"; // accepts, never answers
constexpr const char *kKey = "random_key";

std::vector<std::string> Nodes(genrpc_node *n) {
  char **names = nullptr;
  size_t count = 0;
  genrpc_status st{};
  std::vector<std::string> out;
  int err = genrpc_nodes(n, &names, &count, &st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  for (size_t i = 0; i < count; i++) out.push_back(names[i]);
  if (names) {
    EXPECT_EQ(names[count], nullptr) << "the array is NULL-terminated";
  }
  genrpc_nodes_free(names);
  return out;
}

genrpc_target Keyed(const char *node, const char *key = kKey) {
  return genrpc_key_target(node, key, strlen(key));
}

// Typed results that free their replies.
template <typename Result, void (*Free)(Result *, size_t)>
struct Results {
  explicit Results(size_t n) : v(n) {}
  ~Results() { Free(v.data(), v.size()); }
  Result &operator[](size_t i) { return v[i]; }
  Result *data() { return v.data(); }
  size_t size() const { return v.size(); }
  std::vector<Result> v;
};
using StubResults = Results<Test__Test__StubResult, test__test__stub_multicall_free>;
using SleepResults = Results<Test__Test__SleepResult, test__test__sleep_multicall_free>;
using NameResults = Results<Test__NodeInfo__NameResult, test__node_info__name_multicall_free>;

class MultiRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    slave_ = HelperProcess::Spawn({"--name", kSlave, "--cookie", kCookie, "--port", "0"}, &error);
    ASSERT_NE(slave_, nullptr) << error;
    NodeOptions o;
    o.name = kMaster;
    o.addrs = {{kSlave, slave_->port()}, {kDead, FreeTcpPort()}, {kSilent, silent_.port()}};
    master_ = Node::StartSelf(o, &error);
    ASSERT_NE(master_, nullptr) << error;
  }

  void TearDown() override {
    if (slave_ && slave_->Running()) kill(slave_->pid(), SIGCONT);  // after M7
    master_.reset();
    if (slave_) slave_->ExpectCleanStop();
  }

  genrpc_node *n() { return master_->get(); }

  // Test.Stub on every target; every reply is "stub_function" where OK.
  int Stub(const std::vector<genrpc_target> &targets, StubResults *r, uint32_t version = 0,
           int64_t timeout_ms = 5000) {
    Test__Empty req = TEST__EMPTY__INIT;
    genrpc_call_opts o = Opts(timeout_ms, version);
    genrpc_status st{};
    int err = test__test__stub_multicall(n(), targets.data(), targets.size(), &req, &o, r->data(),
                                         &st);
    EXPECT_EQ(st.err, err);
    return err;
  }

  // Test.Count cast to every target.
  void EvalCount(const std::vector<genrpc_target> &targets, uint64_t seq = 1) {
    Test__CountRequest req = TEST__COUNT_REQUEST__INIT;
    req.seq = seq;
    genrpc_status st{};
    int err = test__test__count_eval_everywhere(n(), targets.data(), targets.size(), &req,
                                                nullptr, &st);
    EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE, err, st);
  }

  bool SlaveCountReaches(int64_t want) {
    int64_t got = -1;
    bool ok = Eventually([&] { return (got = RemoteCount(n(), kSlave)) >= want; }, Millis(5000));
    EXPECT_EQ(got, want);
    // and no more arrive
    std::this_thread::sleep_for(Millis(50));
    EXPECT_EQ(RemoteCount(n(), kSlave), want);
    return ok;
  }

  SilentServer silent_;
  std::unique_ptr<HelperProcess> slave_;
  std::unique_ptr<Node> master_;
};

// ---- eval everywhere --------------------------------------------------------

// M1: an empty target list is OK and does nothing (no client is created).
TEST_F(MultiRpcTest, M1_EvalEverywhereMfaNoNode) {
  EvalCount({});
  Test__Empty req = TEST__EMPTY__INIT;
  genrpc_status st{};
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE,
                    test__test__stub_multicall(n(), nullptr, 0, &req, nullptr, nullptr, &st), st);
  EXPECT_EQ(master_->Info().clients, 0);
  EXPECT_EQ(master_->CountRuns(), 0u);
}

// M2: one target runs the cast once (gen_rpc observes a pong; we read the count).
TEST_F(MultiRpcTest, M2_EvalEverywhereMfaOneNode) {
  EvalCount({genrpc_node_target(kSlave)});
  SlaveCountReaches(1);
}

// M3: duplicate targets are not collapsed: the cast runs twice.
TEST_F(MultiRpcTest, M3_EvalEverywhereMfaMultipleNodes) {
  EvalCount({genrpc_node_target(kSlave), genrpc_node_target(kSlave)});
  SlaveCountReaches(2);
}

// M4: gen_rpc's eval_everywhere takes a send timeout (10 ms in the row);
// genrpc's opts are accepted the same way and delivery is unaffected.
TEST_F(MultiRpcTest, M4_EvalEverywhereMfaMultipleNodesTimeout) {
  std::vector<genrpc_target> t = {genrpc_node_target(kSlave), genrpc_node_target(kSlave)};
  Test__CountRequest req = TEST__COUNT_REQUEST__INIT;
  req.seq = 1;
  genrpc_call_opts o = Opts(10);
  genrpc_status st{};
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE,
                    test__test__count_eval_everywhere(n(), t.data(), t.size(), &req, &o, &st), st);
  SlaveCountReaches(2);
}

// MK1: a keyed and a keyless target of one node: two connections, two runs.
TEST_F(MultiRpcTest, MK1_EvalEverywhereMfaMultipleNodes) {
  EvalCount({Keyed(kSlave), genrpc_node_target(kSlave)});
  SlaveCountReaches(2);
  EXPECT_EQ(RemoteCounters(n(), kSlave).acceptors, 2);
}

// M5/M6: handlers failing on the targets do not affect the sender.
TEST_F(MultiRpcTest, M5_EvalEverywhereMfaExitMultipleNodes) {
  Test__FailRequest req = TEST__FAIL_REQUEST__INIT;
  req.code = 7;
  req.message = const_cast<char *>("fatal");
  std::vector<genrpc_target> t = {genrpc_node_target(kSlave), genrpc_node_target(kSlave),
                                  genrpc_node_target(kMaster)};
  genrpc_status st{};
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE,
                    test__test__fail_eval_everywhere(n(), t.data(), t.size(), &req, nullptr, &st),
                    st);
  EXPECT_TRUE(PingOk(n(), kSlave));
  EXPECT_TRUE(PingOk(n(), kMaster));
  EXPECT_EQ(RemoteCounters(n(), kSlave).protocol_errors, 0u);
}

// M6: gen_rpc's `throw` on the targets. A C handler cannot throw; the
// analogue (L7) is an application error carried in the typed reply
// (Test.AppError). Evaluated everywhere it is just a successful cast: the
// sender gets OK and both targets keep serving.
TEST_F(MultiRpcTest, M6_EvalEverywhereMfaThrowMultipleNodes) {
  Test__AppErrorRequest req = TEST__APP_ERROR_REQUEST__INIT;
  req.error = const_cast<char *>("throwXdown");
  std::vector<genrpc_target> t = {genrpc_node_target(kSlave), genrpc_node_target(kMaster)};
  genrpc_status st{};
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE,
                    test__test__app_error_eval_everywhere(n(), t.data(), t.size(), &req, nullptr,
                                                          &st),
                    st);
  EXPECT_TRUE(PingOk(n(), kSlave));
  EXPECT_TRUE(PingOk(n(), kMaster));
  EXPECT_EQ(RemoteCounters(n(), kSlave).casts_dropped, 0u);
}

// S24 (and M16's promise for eval everywhere): an unreachable target
// (refusing, or silent after accepting) neither fails the fan-out nor
// delays the others.
TEST_F(MultiRpcTest, S24_EvalEverywhereWithBadNodes) {
  Stopwatch sw;
  EvalCount({genrpc_node_target(kDead), genrpc_node_target(kSilent), genrpc_node_target(kSlave)});
  EXPECT_LT(sw.ElapsedMs(), 100) << "eval_everywhere waited for a connect";
  SlaveCountReaches(1);
}

// M7 (gen_rpc's copy of M6 tests no timeout): a real send timeout. The
// slave is stopped (SIGSTOP) after connecting, so it reads nothing; casts
// of 1 MB fill the socket until send_timeout (500 ms) closes that
// connection. The caller is never blocked and the other target still gets
// every cast.
TEST_F(MultiRpcTest, M7_EvalEverywhereMfaTimeoutMultipleNodes) {
  ASSERT_TRUE(PingOk(n(), kSlave));
  ASSERT_TRUE(PingOk(n(), kMaster));
  ASSERT_EQ(master_->Info().clients, 2);
  ASSERT_EQ(kill(slave_->pid(), SIGSTOP), 0);
  std::vector<uint8_t> big(1 << 20, 0x5a);
  Test__EchoRequest req = TEST__ECHO_REQUEST__INIT;
  req.payload.data = big.data();
  req.payload.len = big.size();
  std::vector<genrpc_target> t = {genrpc_node_target(kSlave), genrpc_node_target(kMaster)};
  Stopwatch sw;
  for (int i = 0; i < 40; i++) {
    genrpc_status st{};
    EXPECT_GENRPC_ERR(
        GENRPC_OK, GENRPC_CLASS_NONE,
        test__test__echo_eval_everywhere(n(), t.data(), t.size(), &req, nullptr, &st), st);
  }
  EXPECT_LT(sw.ElapsedMs(), 1000) << "eval_everywhere blocked on a full socket";
  // The stalled connection is closed by the send timeout; the self one stays.
  EXPECT_TRUE(Eventually([&] { return master_->Info().clients == 1; }, Millis(5000)))
      << "clients: " << master_->Info().clients;
  ASSERT_EQ(kill(slave_->pid(), SIGCONT), 0);
  EXPECT_TRUE(PingOk(n(), kMaster));
  EXPECT_TRUE(PingOk(n(), kSlave)) << "the next call reconnects";
}

// ---- multicall ----------------------------------------------------------------

// M8: the node-less form targets this node (over its own listener) and the
// connected nodes, here none; this node is never in genrpc_nodes().
TEST_F(MultiRpcTest, M8_MulticallLocalNode) {
  genrpc_target *all = nullptr;
  size_t count = 0;
  genrpc_status st{};
  ASSERT_GENRPC_OK(genrpc_cluster_targets(n(), &all, &count, &st), st);
  ASSERT_EQ(count, 1u);
  EXPECT_STREQ(all[0].node, kMaster);
  EXPECT_EQ(all[0].key, nullptr);
  std::vector<genrpc_target> t(all, all + count);  // borrows the names in `all`
  StubResults r(t.size());
  int err = Stub(t, &r);
  genrpc_targets_free(all);
  ASSERT_EQ(err, GENRPC_OK);
  ASSERT_EQ(r[0].status.err, GENRPC_OK) << Describe(r[0].status.err, r[0].status);
  EXPECT_STREQ(r[0].reply->name, "stub_function");
  EXPECT_EQ(master_->Info().clients, 1) << "went over the socket";
  EXPECT_TRUE(Nodes(n()).empty()) << "self is not a connected node";
}

// M9: the same node twice -> two results; the node is then connected.
TEST_F(MultiRpcTest, M9_MulticallMultipleNodes) {
  StubResults r(2);
  ASSERT_EQ(Stub({genrpc_node_target(kSlave), genrpc_node_target(kSlave)}, &r), GENRPC_OK);
  for (size_t i = 0; i < 2; i++) {
    ASSERT_EQ(r[i].status.err, GENRPC_OK) << i << ": " << Describe(r[i].status.err, r[i].status);
    EXPECT_STREQ(r[i].reply->name, "stub_function");
  }
  EXPECT_EQ(Nodes(n()), std::vector<std::string>{kSlave});
}

// M10: a version the targets do not serve -> E_INCOMPATIBLE per target,
// duplicates kept, no reply.
TEST_F(MultiRpcTest, M10_MulticallWithBadModuleVersion) {
  StubResults r(2);
  ASSERT_EQ(Stub({genrpc_node_target(kSlave), genrpc_node_target(kSlave)}, &r, 2), GENRPC_OK);
  for (size_t i = 0; i < 2; i++) {
    EXPECT_GENRPC_ERR(GENRPC_E_INCOMPATIBLE, GENRPC_CLASS_BADRPC, r[i].status.err, r[i].status);
    EXPECT_EQ(r[i].reply, nullptr);
  }
}

// M11: the version the targets serve -> OK on each.
TEST_F(MultiRpcTest, M11_MulticallWithGoodModuleVersion) {
  StubResults r(2);
  ASSERT_EQ(Stub({genrpc_node_target(kSlave), genrpc_node_target(kSlave)}, &r, 1), GENRPC_OK);
  for (size_t i = 0; i < 2; i++) {
    ASSERT_EQ(r[i].status.err, GENRPC_OK) << Describe(r[i].status.err, r[i].status);
    EXPECT_STREQ(r[i].reply->name, "stub_function");
  }
}

// M12: after M9, the node-less form reaches this node and the slave, each
// answering with its own name.
TEST_F(MultiRpcTest, M12_MulticallMultipleNodesAndLocal) {
  ASSERT_TRUE(PingOk(n(), kSlave));
  genrpc_target *all = nullptr;
  size_t count = 0;
  genrpc_status st{};
  ASSERT_GENRPC_OK(genrpc_cluster_targets(n(), &all, &count, &st), st);
  ASSERT_EQ(count, 2u);
  NameResults r(count);
  Test__Empty req = TEST__EMPTY__INIT;
  ASSERT_GENRPC_OK(test__node_info__name_multicall(n(), all, count, &req, nullptr, r.data(), &st),
                   st);
  for (size_t i = 0; i < count; i++) {
    ASSERT_EQ(r[i].status.err, GENRPC_OK) << Describe(r[i].status.err, r[i].status);
    EXPECT_STREQ(r[i].reply->name, all[i].node) << "result " << i << " answers for its target";
  }
  EXPECT_STREQ(all[0].node, kMaster);
  EXPECT_STREQ(all[1].node, kSlave);
  genrpc_targets_free(all);
}

// M13: a generous timeout -> every result; a handler slower than the
// timeout -> every target bad with E_TIMEOUT; and with a fast and a silent
// target, only the silent one is bad.
TEST_F(MultiRpcTest, M13_MulticallMultipleNodesWithTimeout) {
  std::vector<genrpc_target> t = {genrpc_node_target(kSlave), genrpc_node_target(kSlave)};
  Test__SleepRequest req = TEST__SLEEP_REQUEST__INIT;
  req.value = 7;
  genrpc_call_opts o = Opts(5000);
  genrpc_status st{};
  {
    SleepResults r(2);
    ASSERT_GENRPC_OK(test__test__sleep_multicall(n(), t.data(), 2, &req, &o, r.data(), &st), st);
    for (size_t i = 0; i < 2; i++) {
      ASSERT_EQ(r[i].status.err, GENRPC_OK) << Describe(r[i].status.err, r[i].status);
      EXPECT_EQ(r[i].reply->value, 7);
    }
  }
  {
    req.ms = 500;
    o = Opts(100);
    SleepResults r(2);
    ASSERT_GENRPC_OK(test__test__sleep_multicall(n(), t.data(), 2, &req, &o, r.data(), &st), st);
    for (size_t i = 0; i < 2; i++) {
      EXPECT_GENRPC_ERR(GENRPC_E_TIMEOUT, GENRPC_CLASS_BADRPC, r[i].status.err, r[i].status);
      EXPECT_EQ(r[i].reply, nullptr);
    }
  }
  {
    StubResults r(3);
    ASSERT_EQ(Stub({genrpc_node_target(kSlave), genrpc_node_target(kSilent),
                    genrpc_node_target(kMaster)},
                   // the whole fan-out's deadline: wide enough for a loaded
                   // 2-core CI machine, still short for the silent target
                   &r, 0, 2000),
              GENRPC_OK);
    EXPECT_EQ(r[0].status.err, GENRPC_OK) << Describe(r[0].status.err, r[0].status);
    EXPECT_GENRPC_ERR(GENRPC_E_TIMEOUT, GENRPC_CLASS_BADRPC, r[1].status.err, r[1].status);
    EXPECT_EQ(r[2].status.err, GENRPC_OK) << Describe(r[2].status.err, r[2].status);
  }
}

// MK4: = M13 over a keyed and a keyless target.
TEST_F(MultiRpcTest, MK4_MulticallMultipleNodesWithTimeout) {
  std::vector<genrpc_target> t = {Keyed(kSlave), genrpc_node_target(kSlave)};
  Test__SleepRequest req = TEST__SLEEP_REQUEST__INIT;
  req.ms = 500;
  genrpc_call_opts o = Opts(100);
  genrpc_status st{};
  SleepResults r(2);
  ASSERT_GENRPC_OK(test__test__sleep_multicall(n(), t.data(), 2, &req, &o, r.data(), &st), st);
  for (size_t i = 0; i < 2; i++)
    EXPECT_GENRPC_ERR(GENRPC_E_TIMEOUT, GENRPC_CLASS_BADRPC, r[i].status.err, r[i].status);
}

// M14: an unreachable target gets E_CONNECT in its slot, the others answer,
// and no client is kept for it.
TEST_F(MultiRpcTest, M14_MulticallMultipleNodesWithBadNode) {
  StubResults r(3);
  ASSERT_EQ(Stub({genrpc_node_target(kSlave), genrpc_node_target(kSlave),
                  genrpc_node_target(kDead)},
                 &r, 0, 10000),
            GENRPC_OK);
  for (size_t i = 0; i < 2; i++)
    ASSERT_EQ(r[i].status.err, GENRPC_OK) << Describe(r[i].status.err, r[i].status);
  EXPECT_GENRPC_ERR(GENRPC_E_CONNECT, GENRPC_CLASS_BADTCP, r[2].status.err, r[2].status);
  EXPECT_EQ(r[2].reply, nullptr);
  EXPECT_EQ(Nodes(n()), std::vector<std::string>{kSlave});
  EXPECT_TRUE(Eventually([&] { return master_->Info().clients == 1; }, Millis(2000)))
      << "clients: " << master_->Info().clients;
}

// MK2: a keyed and a keyless target of one node -> two results over two
// connections; the node is listed once.
TEST_F(MultiRpcTest, MK2_MulticallMultipleNodes) {
  StubResults r(2);
  ASSERT_EQ(Stub({Keyed(kSlave), genrpc_node_target(kSlave)}, &r), GENRPC_OK);
  for (size_t i = 0; i < 2; i++)
    ASSERT_EQ(r[i].status.err, GENRPC_OK) << Describe(r[i].status.err, r[i].status);
  EXPECT_EQ(Nodes(n()), std::vector<std::string>{kSlave});
  EXPECT_EQ(master_->Info().clients, 2);
}

// MK3: then the node-less form uses keyless connections only: 2 results,
// 3 clients (keyed, keyless, self).
TEST_F(MultiRpcTest, MK3_MulticallMultipleNodesAndLocal) {
  StubResults first(2);
  ASSERT_EQ(Stub({Keyed(kSlave), genrpc_node_target(kSlave)}, &first), GENRPC_OK);
  genrpc_target *all = nullptr;
  size_t count = 0;
  genrpc_status st{};
  ASSERT_GENRPC_OK(genrpc_cluster_targets(n(), &all, &count, &st), st);
  std::vector<genrpc_target> t(all, all + count);
  for (const auto &target : t) EXPECT_EQ(target.key, nullptr) << target.node;
  StubResults r(t.size());
  ASSERT_EQ(Stub(t, &r), GENRPC_OK);
  genrpc_targets_free(all);
  ASSERT_EQ(r.size(), 2u);
  for (size_t i = 0; i < 2; i++)
    ASSERT_EQ(r[i].status.err, GENRPC_OK) << Describe(r[i].status.err, r[i].status);
  EXPECT_EQ(master_->Info().clients, 3);
  EXPECT_EQ(RemoteCounters(n(), kSlave).acceptors, 2);
}

// ---- behaviours no gen_rpc test pins down ----------------------------------------

// S6: one absolute deadline for the whole fan-out (gen_rpc waits N x timeout):
// three targets each sleeping 500 ms with a 200 ms timeout take about 200 ms.
TEST_F(MultiRpcTest, S6_MulticallHasOneDeadlineForTheFanOut) {
  ASSERT_TRUE(PingOk(n(), kSlave));
  ASSERT_TRUE(PingOk(n(), kMaster));
  std::vector<genrpc_target> t = {genrpc_node_target(kSlave), Keyed(kSlave),
                                  genrpc_node_target(kMaster)};
  Test__SleepRequest req = TEST__SLEEP_REQUEST__INIT;
  req.ms = 500;
  genrpc_call_opts o = Opts(200);
  genrpc_status st{};
  SleepResults r(3);
  Stopwatch sw;
  ASSERT_GENRPC_OK(test__test__sleep_multicall(n(), t.data(), 3, &req, &o, r.data(), &st), st);
  int64_t ms = sw.ElapsedMs();
  EXPECT_GE(ms, 190);
  EXPECT_LT(ms, 400) << "the fan-out waited per target";
  for (size_t i = 0; i < 3; i++)
    EXPECT_GENRPC_ERR(GENRPC_E_TIMEOUT, GENRPC_CLASS_BADRPC, r[i].status.err, r[i].status);
}

// S7: results come in the caller's order, attributed to the targets as
// given; a function returning an application error is OK + reply, not bad.
TEST_F(MultiRpcTest, S7_MulticallResultsAttributedInOrder) {
  std::vector<genrpc_target> t = {genrpc_node_target(kSlave), genrpc_node_target(kMaster),
                                  genrpc_node_target(kDead), Keyed(kSlave)};
  Test__Empty req = TEST__EMPTY__INIT;
  genrpc_status st{};
  NameResults r(t.size());
  ASSERT_GENRPC_OK(test__node_info__name_multicall(n(), t.data(), t.size(), &req, nullptr,
                                                   r.data(), &st),
                   st);
  const char *want[] = {kSlave, kMaster, nullptr, kSlave};
  for (size_t i = 0; i < t.size(); i++) {
    if (want[i] == nullptr) {
      EXPECT_GENRPC_ERR(GENRPC_E_CONNECT, GENRPC_CLASS_BADTCP, r[i].status.err, r[i].status);
      continue;
    }
    ASSERT_EQ(r[i].status.err, GENRPC_OK) << i << ": " << Describe(r[i].status.err, r[i].status);
    EXPECT_STREQ(r[i].reply->name, want[i]) << "result " << i;
  }

  // gen_rpc counts a function that returns {badrpc, _} as a bad node.
  Test__AppErrorRequest app = TEST__APP_ERROR_REQUEST__INIT;
  app.error = const_cast<char *>("badrpc");
  std::vector<Test__Test__AppErrorResult> ar(2);
  std::vector<genrpc_target> t2 = {genrpc_node_target(kSlave), genrpc_node_target(kMaster)};
  ASSERT_GENRPC_OK(
      test__test__app_error_multicall(n(), t2.data(), 2, &app, nullptr, ar.data(), &st), st);
  for (auto &res : ar) {
    ASSERT_EQ(res.status.err, GENRPC_OK) << Describe(res.status.err, res.status);
    EXPECT_STREQ(res.reply->error, "badrpc");
  }
  test__test__app_error_multicall_free(ar.data(), ar.size());
  for (auto &res : ar) EXPECT_EQ(res.reply, nullptr);
}

// Bad arguments fail the whole fan-out before anything is sent and leave
// the results untouched.
TEST_F(MultiRpcTest, S7_MulticallBadArgumentsSendNothing) {
  Test__PingRequest wrong = TEST__PING_REQUEST__INIT;
  genrpc_multicall_result res[2];
  memset(res, 0x7f, sizeof res);
  genrpc_target t[2] = {genrpc_node_target(kSlave), genrpc_node_target(kSlave)};
  const genrpc_function_desc *stub = FindFunction(test__test__module, "Stub");
  genrpc_status st{};
  EXPECT_GENRPC_ERR(GENRPC_E_INVAL, GENRPC_CLASS_LOCAL,
                    genrpc_multicall(n(), t, 2, &test__test__module, stub, &wrong.base, nullptr,
                                     res, &st),
                    st);
  t[1].node = nullptr;
  Test__Empty req = TEST__EMPTY__INIT;
  EXPECT_GENRPC_ERR(GENRPC_E_INVAL, GENRPC_CLASS_LOCAL,
                    genrpc_multicall(n(), t, 2, &test__test__module, stub, &req.base, nullptr, res,
                                     &st),
                    st);
  EXPECT_GENRPC_ERR(GENRPC_E_INVAL, GENRPC_CLASS_LOCAL,
                    genrpc_eval_everywhere(n(), t, 2, &test__test__module, stub, &req.base,
                                           nullptr, &st),
                    st);
  EXPECT_EQ(res[0].status.err, 0x7f7f7f7f) << "results untouched";
  EXPECT_EQ(master_->Info().clients, 0) << "nothing was sent";

  // The generic API: replies are owned by the caller until freed.
  t[1] = genrpc_node_target(kMaster);
  ASSERT_GENRPC_OK(
      genrpc_multicall(n(), t, 2, &test__test__module, stub, &req.base, nullptr, res, &st), st);
  for (auto &one : res) {
    ASSERT_EQ(one.status.err, GENRPC_OK) << Describe(one.status.err, one.status);
    ASSERT_NE(one.reply, nullptr);
    EXPECT_EQ(one.reply->descriptor, &test__stub_reply__descriptor);
  }
  genrpc_multicall_free_replies(res, 2);
  EXPECT_EQ(res[0].reply, nullptr);
}

// S23: genrpc_nodes lists connected remote nodes once each, keys stripped,
// self excluded, unreachable nodes never; a node that merely connected *to*
// us is not listed.
TEST_F(MultiRpcTest, S23_NodesListsConnectedRemoteNodesOnce) {
  EXPECT_TRUE(Nodes(n()).empty());
  ASSERT_TRUE(PingOk(n(), kMaster));
  EXPECT_TRUE(Nodes(n()).empty()) << "self is excluded";

  StubResults r(4);
  ASSERT_EQ(Stub({genrpc_node_target(kSlave), Keyed(kSlave), Keyed(kSlave, "other_key"),
                  genrpc_node_target(kDead)},
                 &r),
            GENRPC_OK);
  EXPECT_EQ(Nodes(n()), std::vector<std::string>{kSlave});

  // A second node in this process calls master: master does not list it.
  NodeOptions o;
  o.name = "other@127.0.0.1";
  o.addrs = {{kMaster, master_->port()}};
  std::string error;
  auto other = Node::Start(o, &error);
  ASSERT_NE(other, nullptr) << error;
  ASSERT_TRUE(PingOk(other->get(), kMaster));
  EXPECT_EQ(Nodes(other->get()), std::vector<std::string>{kMaster});
  EXPECT_EQ(Nodes(n()), std::vector<std::string>{kSlave});

  genrpc_status st{};
  EXPECT_GENRPC_ERR(GENRPC_E_INVAL, GENRPC_CLASS_LOCAL, genrpc_nodes(n(), nullptr, nullptr, &st),
                    st);
}

}  // namespace
}  // namespace genrpc_test
