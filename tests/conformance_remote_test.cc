// gen_rpc's remote_SUITE (CONFORMANCE.md §2) translated: this process's node
// ("master") calls a helper node process ("slave", tests/helpers/test_node.c).
// Every row runs over plain TCP and over TLS (the slave then listens on TLS
// only; certificates from tests/tls/make_certs.sh). Rows are named
// R<n>_<Case>; bodies shared with the local suite are in support/rows.h.
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "fixture.h"
#include "rows.h"

namespace genrpc_test {
namespace {

enum class Transport { kTcp, kTls };

std::string TransportName(const ::testing::TestParamInfo<Transport> &info) {
  switch (info.param) {
    case Transport::kTcp:
      return "TCP";
    case Transport::kTls:
      return "TLS";
  }
  return "unknown";
}

// "master@127.0.0.1" -> "master": the certificate files of that node.
std::string CertBase(const std::string &node) { return node.substr(0, node.find('@')); }

constexpr const char *kMaster = "master@127.0.0.1";
constexpr const char *kSlave = "slave@127.0.0.1";
constexpr const char *kDead = "fake_node@127.0.0.1";
constexpr int64_t kConnectTimeoutMs = 500;

class RemoteTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override { StartPair({}, kCookie, kCookie); }

  void TearDown() override {
    master_.reset();
    if (slave_) slave_->ExpectCleanStop();
  }

  // Spawns the slave with extra flags and starts the master pointing at it.
  void StartPair(const std::vector<std::string> &slave_flags, const std::string &slave_cookie,
                 const std::string &master_cookie) {
    master_.reset();
    if (slave_) slave_->ExpectCleanStop();
    slave_.reset();
    std::vector<std::string> args = {"--name", kSlave, "--cookie", slave_cookie, "--port", "0"};
    if (tls()) {
      std::vector<std::string> t = {"--port", "-1", "--ssl-port", "0",
                                    "--tls-ca", CertFile("ca.pem"),
                                    "--tls-cert", CertFile("slave.pem"),
                                    "--tls-key", CertFile("slave.key")};
      args.insert(args.end(), t.begin(), t.end());
    }
    args.insert(args.end(), slave_flags.begin(), slave_flags.end());
    std::string error;
    slave_ = HelperProcess::Spawn(args, &error);
    ASSERT_NE(slave_, nullptr) << error;
    master_ = StartMaster(master_cookie, &error);
    ASSERT_NE(master_, nullptr) << error;
  }

  std::unique_ptr<Node> StartMaster(const std::string &cookie, std::string *error,
                                    const char *name = kMaster) {
    NodeOptions o;
    o.name = name;
    o.cookie = cookie;
    o.connect_timeout_ms = kConnectTimeoutMs;
    o.addrs = {{kSlave, tls() ? slave_->ssl_port() : slave_->port()}, {kDead, FreeTcpPort()}};
    if (tls()) {
      o.addr_driver = GENRPC_DRIVER_TLS;
      o.tls_ca = CertFile("ca.pem");
      o.tls_cert = CertFile(CertBase(name) + ".pem");
      o.tls_key = CertFile(CertBase(name) + ".key");
    }
    return Node::Start(o, error);
  }

  bool tls() const { return GetParam() == Transport::kTls; }

  genrpc_node *n() { return master_->get(); }
  std::string slave() { return kSlave; }

  std::unique_ptr<HelperProcess> slave_;
  std::unique_ptr<Node> master_;
};

TEST_P(RemoteTest, R1_Call) {
  RowCall(n(), slave());
  genrpc_node_info i = master_->Info();
  EXPECT_EQ(i.clients, 1);
  EXPECT_EQ(i.acceptors, 0);
  EXPECT_EQ(RemoteCounters(n(), slave()).acceptors, 1);
}

TEST_P(RemoteTest, R2_CallMfaUndef) { RowCallUndef(n(), slave()); }

TEST_P(RemoteTest, R3_CallMfaExit) { RowCallExit(n(), slave()); }

TEST_P(RemoteTest, R4_CallMfaThrow) { RowCallThrow(n(), slave()); }

TEST_P(RemoteTest, R5_CallWithReceiveTimeout) { RowReceiveTimeout(n(), slave(), 100, 500); }

TEST_P(RemoteTest, R6_CallModuleVersionCheckSuccess) { RowVersionSuccess(n(), slave()); }

TEST_P(RemoteTest, R6b_StubRequiresItsVersion) { RowVersionStubDefaults(n(), slave()); }

TEST_P(RemoteTest, R7_CallModuleVersionCheckIncompatible) {
  RowVersionIncompatible(n(), slave());
}

TEST_P(RemoteTest, R8_CallModuleVersionCheckInvalid) { RowVersionInvalid(n(), slave()); }

TEST_P(RemoteTest, R9_InterleavedCall) {
  RowInterleaved(n(), slave(), 100);
  EXPECT_EQ(master_->Info().clients, 1);
  EXPECT_EQ(RemoteCounters(n(), slave()).acceptors, 1);
}

TEST_P(RemoteTest, R10_Cast) { RowCast(n(), slave()); }

TEST_P(RemoteTest, R12_CastMfaUndef) { RowCastUndef(n(), slave()); }

TEST_P(RemoteTest, R14_CastMfaThrow) { RowCastThrow(n(), slave()); }

TEST_P(RemoteTest, R15_CastInexistentNode) {
  RowCastInexistent(n(), kDead, kConnectTimeoutMs);
  // The live node is unaffected.
  EXPECT_TRUE(PingOk(n(), slave()));
}

// erlang:node() runs on the target: NodeInfo.Name answers the slave's name.
TEST_P(RemoteTest, R16_CallNode) {
  Test__Empty req = TEST__EMPTY__INIT;
  Test__NameReply *reply = nullptr;
  genrpc_status st{};
  int err = test__node_info__name_call(n(), genrpc_node_target(kSlave), &req, &reply, nullptr, &st);
  ASSERT_GENRPC_OK(err, st);
  ASSERT_NE(reply, nullptr);
  EXPECT_STREQ(reply->name, kSlave);
  test__name_reply__free_unpacked(reply, nullptr);
}

TEST_P(RemoteTest, R18_AsyncCall) { RowAsync(n(), slave()); }

TEST_P(RemoteTest, R19_AsyncCallYieldReentrant) { RowAsyncReentrant(n(), slave()); }

TEST_P(RemoteTest, R20_AsyncCallMfaUndef) { RowAsyncUndef(n(), slave()); }

TEST_P(RemoteTest, R21_AsyncCallMfaExit) { RowAsyncExit(n(), slave()); }

TEST_P(RemoteTest, R22_AsyncCallMfaThrow) { RowAsyncThrow(n(), slave()); }

TEST_P(RemoteTest, R23_AsyncCallYieldTimeout) { RowYieldTimeout(n(), slave(), 500); }

TEST_P(RemoteTest, R24_AsyncCallNbYieldInfinity) { RowNbYieldInfinity(n(), slave(), 500); }

TEST_P(RemoteTest, R29_RpcModuleWhitelist) {
  StartPair({"--whitelist", "test.Clock,test.NodeInfo"}, kCookie, kCookie);
  RowWhitelist(n(), slave());
}

TEST_P(RemoteTest, R30_RpcModuleBlacklist) {
  StartPair({"--blacklist", "test.Clock,test.NodeInfo"}, kCookie, kCookie);
  RowBlacklist(n(), slave());
}

// A master with the wrong cookie gets E_AUTH [badtcp]; nothing runs on the
// slave; the slave counts the failure; a master with the right cookie works.
TEST_P(RemoteTest, R32_WrongCookie) {
  StartPair({}, kCookie, "not-the-cookie");
  Test__CountRequest req = TEST__COUNT_REQUEST__INIT;
  req.seq = 1;
  Test__Empty *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(5000);
  Stopwatch sw;
  int err = test__test__count_call(n(), genrpc_node_target(kSlave), &req, &reply, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_AUTH, GENRPC_CLASS_BADTCP, err, st);
  EXPECT_LT(sw.ElapsedMs(), 4000) << "a rejected cookie must fail fast, not at the timeout";
  if (reply) test__empty__free_unpacked(reply, nullptr);
  // A cast with the wrong cookie is not run either.
  st = genrpc_status{};
  err = test__test__count_cast(n(), genrpc_node_target(kSlave), &req, nullptr, &st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);

  // Cookie restored: a second node in this process with the right cookie.
  std::string error;
  std::unique_ptr<Node> good = StartMaster(kCookie, &error, "master2@127.0.0.1");
  ASSERT_NE(good, nullptr) << error;
  usleep(200 * 1000);  // give a (wrongly) accepted cast time to run
  EXPECT_EQ(RemoteCount(good->get(), kSlave), 0) << "a handler ran for a wrong cookie";
  EXPECT_GE(RemoteCounters(good->get(), kSlave).auth_failures, 1u);
  EXPECT_TRUE(PingOk(good->get(), kSlave));
}

INSTANTIATE_TEST_SUITE_P(Transports, RemoteTest,
                         ::testing::Values(Transport::kTcp, Transport::kTls), TransportName);

}  // namespace
}  // namespace genrpc_test
