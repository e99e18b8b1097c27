// CONFORMANCE.md R31 (remote_SUITE's external_client_config_source): where
// to reach a node comes from an external discovery callback, which is
// consulted before the node's own {driver, port} map and defaults.
//
// gen_rpc's master uses SSL by default while the slave serves TCP only; its
// external config source answers {tcp, 5370} for the slave and the call
// works over TCP. Here: the calling node's default driver is TLS (with a
// certificate, so TLS is really usable), the helper serves TCP only, and
// the callback answers {TCP, helper's port}. A callback that fails makes
// the call fail with GENRPC_E_DISCOVERY (class badrpc; gen_rpc's
// {badrpc, {external_source_error, Reason}}).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "fixture.h"
#include "rows.h"

namespace genrpc_test {
namespace {

constexpr const char *kMaster = "master@127.0.0.1";
constexpr const char *kSlave = "slave@127.0.0.1";

struct Discovery {
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
  int port = -1;
  std::string last_node;  // written by the callback, read after the call
};

int Discover(const char *node, genrpc_driver *driver, int *port, void *arg) {
  auto *d = static_cast<Discovery *>(arg);
  d->calls++;
  d->last_node = node;
  if (d->fail.load()) return -1;
  *driver = GENRPC_DRIVER_TCP;
  *port = d->port;
  return 0;
}

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    slave_ = HelperProcess::Spawn({"--name", kSlave, "--cookie", kCookie, "--port", "0"}, &error);
    ASSERT_NE(slave_, nullptr) << error;
    ASSERT_EQ(slave_->ssl_port(), -1) << "the slave serves TCP only";
    disc_.port = slave_->port();
  }
  void TearDown() override {
    if (node_) genrpc_node_stop(node_);
    if (slave_) slave_->ExpectCleanStop();
  }

  // A node whose default client driver is TLS (TLS files given, so it could
  // dial TLS), with no address map: only the callback knows the slave.
  void StartMaster() {
    ca_ = CertFile("ca.pem");
    cert_ = CertFile("master.pem");
    key_ = CertFile("master.key");
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = kMaster;
    cfg.cookie = kCookie;
    cfg.tcp_server_port = GENRPC_PORT_DISABLED;
    cfg.default_client_driver = GENRPC_DRIVER_TLS;
    cfg.tls_ca_file = ca_.c_str();
    cfg.tls_cert_file = cert_.c_str();
    cfg.tls_key_file = key_.c_str();
    cfg.connect_timeout_ms = 500;
    cfg.discovery = Discover;
    cfg.discovery_arg = &disc_;
    genrpc_status st{};
    ASSERT_GENRPC_OK(genrpc_node_start(&cfg, &node_, &st), st);
  }

  int Ping(genrpc_status *st) {
    Test__PingRequest req = TEST__PING_REQUEST__INIT;
    req.text = const_cast<char *>("ping");
    Test__PingReply *reply = nullptr;
    genrpc_call_opts o = Opts(5000);
    int err = test__test__ping_call(node_, genrpc_node_target(kSlave), &req, &reply, &o, st);
    if (err == GENRPC_OK) {
      EXPECT_STREQ(reply->text, "ping");
    }
    if (reply) test__ping_reply__free_unpacked(reply, nullptr);
    return err;
  }

  std::unique_ptr<HelperProcess> slave_;
  genrpc_node *node_ = nullptr;
  Discovery disc_;
  std::string ca_, cert_, key_;
};

// The callback's {TCP, port} overrides the default TLS driver: the call works.
TEST_F(DiscoveryTest, R31_ExternalSourceOverridesDefaultTls) {
  StartMaster();
  ASSERT_NE(node_, nullptr);
  genrpc_status st{};
  int err = Ping(&st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  EXPECT_GE(disc_.calls.load(), 1);
  EXPECT_EQ(disc_.last_node, kSlave);
  // Once connected, the client is reused: no further look-up per call.
  int calls = disc_.calls.load();
  EXPECT_EQ(Ping(&st), GENRPC_OK) << Describe(st.err, st);
  EXPECT_EQ(disc_.calls.load(), calls);
}

// A failing callback: GENRPC_E_DISCOVERY, class badrpc. Nothing is kept, so
// once the source answers again the next call is looked up anew and works.
TEST_F(DiscoveryTest, R31_ExternalSourceErrorIsDiscoveryError) {
  StartMaster();
  ASSERT_NE(node_, nullptr);
  disc_.fail = true;
  genrpc_status st{};
  int err = Ping(&st);
  EXPECT_GENRPC_ERR(GENRPC_E_DISCOVERY, GENRPC_CLASS_BADRPC, err, st);
  EXPECT_EQ(disc_.calls.load(), 1);
  EXPECT_EQ(disc_.last_node, kSlave);
  disc_.fail = false;
  err = Ping(&st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  EXPECT_EQ(disc_.calls.load(), 2);
}

}  // namespace
}  // namespace genrpc_test
