// The TLS transport (docs/tls.md) beyond the conformance rows, which
// conformance_remote_test runs over TLS too: every refusal the issue lists
// (untrusted CA, a certificate for another node name, an expired
// certificate, a client without a certificate, a peer offering only
// TLS 1.1) on both sides, a SAN-only certificate, plain TCP and TLS side by
// side on one node, large payloads and bursts of casts through TLS, and
// configuration errors. Certificates: tests/tls/make_certs.sh (ctest
// fixture tls_certs).
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "rows.h"
extern "C" {
#include "wire/frame.h"
}

namespace genrpc_test {
namespace {

constexpr const char *kSlave = "slave@127.0.0.1";

// A slave serving TCP (ephemeral) and TLS (ephemeral) with certificate
// files <cert>.pem/.key.
std::vector<std::string> SlaveArgs(const std::string &cert) {
  return {"--name",     kSlave,          "--port",     "0",
          "--ssl-port", "0",             "--tls-ca",   CertFile("ca.pem"),
          "--tls-cert", CertFile(cert + ".pem"), "--tls-key", CertFile(cert + ".key")};
}

NodeOptions TlsOptions(const std::string &name, const std::string &cert, int slave_ssl_port) {
  NodeOptions o;
  o.name = name;
  o.addrs = {{kSlave, slave_ssl_port}};
  o.addr_driver = GENRPC_DRIVER_TLS;
  o.tls_ca = CertFile("ca.pem");
  o.tls_cert = CertFile(cert + ".pem");
  o.tls_key = CertFile(cert + ".key");
  return o;
}

int Ping(genrpc_node *n, const char *target, genrpc_status *st) {
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("ping");
  Test__PingReply *reply = nullptr;
  genrpc_call_opts o = Opts(5000);
  int err = test__test__ping_call(n, genrpc_node_target(target), &req, &reply, &o, st);
  if (reply) test__ping_reply__free_unpacked(reply, nullptr);
  return err;
}

// What a raw OpenSSL client saw: the handshake, then one read.
struct RawResult {
  bool handshake_ok = false;
  bool read_data = false;
  std::string error;  // OpenSSL's reason for the failure
};

// A blocking OpenSSL client (bounded by a 5 s socket timeout), set up by
// `setup` (certificates, versions), against 127.0.0.1:port.
RawResult RawTls(int port, const std::function<void(SSL_CTX *)> &setup) {
  RawResult r;
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  setup(ctx);
  int fd = ConnectRaw(port);
  if (fd < 0) {
    SSL_CTX_free(ctx);
    r.error = "connect failed";
    return r;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  ERR_clear_error();
  r.handshake_ok = SSL_connect(ssl) == 1;
  if (r.handshake_ok) {
    // TLS 1.3: the server judges our certificate after our handshake ends.
    char b;
    r.read_data = SSL_read(ssl, &b, 1) > 0;
  }
  unsigned long e = ERR_get_error();
  if (e) r.error = ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "?";
  ERR_clear_error();
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
  return r;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { StartSlave("slave"); }
  void TearDown() override {
    if (slave_) slave_->ExpectCleanStop();
  }

  void StartSlave(const std::string &cert) {
    if (slave_) slave_->ExpectCleanStop();
    std::string error;
    slave_ = HelperProcess::Spawn(SlaveArgs(cert), &error);
    ASSERT_NE(slave_, nullptr) << error;
    ASSERT_GT(slave_->ssl_port(), 0);
  }

  // A node that trusts ca.pem and presents <cert>, reaching the slave by TLS.
  std::unique_ptr<Node> Master(const std::string &name, const std::string &cert) {
    std::string error;
    auto n = Node::Start(TlsOptions(name, cert, slave_->ssl_port()), &error);
    EXPECT_NE(n, nullptr) << error;
    return n;
  }

  // A well-configured node's view of the slave's counters.
  Test__NodeCounters SlaveCounters() {
    auto good = Master("master2@127.0.0.1", "master2");
    if (!good) return Test__NodeCounters TEST__NODE_COUNTERS__INIT;
    return RemoteCounters(good->get(), kSlave);
  }

  // Node `name` presenting `cert` is refused by the slave with E_TLS and a
  // message containing `what`; nothing runs; the slave counts it.
  void ExpectClientRefused(const std::string &name, const std::string &cert,
                           const std::string &what) {
    uint64_t failures_before = SlaveCounters().auth_failures;
    auto n = Master(name, cert);
    ASSERT_NE(n, nullptr);
    genrpc_status st{};
    Stopwatch sw;
    int err = Ping(n->get(), kSlave, &st);
    EXPECT_GENRPC_ERR(GENRPC_E_TLS, GENRPC_CLASS_BADTCP, err, st);
    EXPECT_NE(std::string(st.message).find(what), std::string::npos) << st.message;
    EXPECT_LT(sw.ElapsedMs(), 3000) << "a refusal must be fast";
    n.reset();
    Test__NodeCounters after = SlaveCounters();
    EXPECT_GT(after.auth_failures, failures_before);
  }

  // The master (good certificate) refuses the slave's certificate.
  void ExpectServerRefused(const std::string &slave_cert, const std::string &what) {
    StartSlave(slave_cert);
    auto n = Master("master@127.0.0.1", "master");
    ASSERT_NE(n, nullptr);
    genrpc_status st{};
    int err = Ping(n->get(), kSlave, &st);
    EXPECT_GENRPC_ERR(GENRPC_E_TLS, GENRPC_CLASS_BADTCP, err, st);
    EXPECT_NE(std::string(st.message).find(what), std::string::npos) << st.message;
    EXPECT_EQ(n->Info().clients_ready, 0);
  }

  std::unique_ptr<HelperProcess> slave_;
};

// ---- the client refused by the server ---------------------------------------

TEST_F(TlsTest, RefusesClientFromUntrustedCa) {
  ExpectClientRefused("master@127.0.0.1", "master-otherca", "untrusted CA");
}

TEST_F(TlsTest, RefusesClientWithExpiredCertificate) {
  ExpectClientRefused("master@127.0.0.1", "master-expired", "expired");
}

// A valid certificate, but for another node name than the one in HELLO.
TEST_F(TlsTest, RefusesClientCertificateForAnotherNodeName) {
  ExpectClientRefused("master@127.0.0.1", "intruder", "certificate name mismatch");
}

TEST_F(TlsTest, RefusesClientWithoutCertificate) {
  uint64_t failures_before = SlaveCounters().auth_failures;
  RawResult r = RawTls(slave_->ssl_port(), [](SSL_CTX *ctx) {
    SSL_CTX_load_verify_locations(ctx, CertFile("ca.pem").c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  });
  EXPECT_FALSE(r.read_data);
  EXPECT_NE(r.error.find("certificate required"), std::string::npos) << r.error;
  EXPECT_GT(SlaveCounters().auth_failures, failures_before);
}

// OpenSSL 3 refuses TLS 1.1 below security level 0, so the raw client
// lowers its own level to offer it; the slave (TLS 1.2 minimum) must answer
// with a protocol_version alert.
TEST_F(TlsTest, RefusesPeerOfferingOnlyTls11) {
  RawResult r = RawTls(slave_->ssl_port(), [](SSL_CTX *ctx) {
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
    SSL_CTX_load_verify_locations(ctx, CertFile("ca.pem").c_str(), nullptr);
    SSL_CTX_use_certificate_file(ctx, CertFile("master.pem").c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, CertFile("master.key").c_str(), SSL_FILETYPE_PEM);
  });
  EXPECT_FALSE(r.handshake_ok);
  EXPECT_NE(r.error.find("protocol version"), std::string::npos)
      << "the server should refuse with a protocol_version alert; client saw: " << r.error;
}

// ---- the server refused by the client (before HELLO) ------------------------

TEST_F(TlsTest, RefusesServerFromUntrustedCa) {
  ExpectServerRefused("master-otherca", "untrusted CA");
}

TEST_F(TlsTest, RefusesServerWithExpiredCertificate) {
  ExpectServerRefused("master-expired", "expired");
}

TEST_F(TlsTest, RefusesServerCertificateForAnotherNodeName) {
  ExpectServerRefused("intruder", "certificate name mismatch");
}

// A TLS client dialling a plain TCP listener fails with E_TLS, fast.
TEST_F(TlsTest, TlsClientAgainstTcpListenerFails) {
  NodeOptions o = TlsOptions("master@127.0.0.1", "master", slave_->port());
  std::string error;
  auto n = Node::Start(o, &error);
  ASSERT_NE(n, nullptr) << error;
  genrpc_status st{};
  Stopwatch sw;
  int err = Ping(n->get(), kSlave, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_TLS, GENRPC_CLASS_BADTCP, err, st);
  EXPECT_LT(sw.ElapsedMs(), 3000);
}

// ---- accepted -----------------------------------------------------------------

// A certificate naming the node only in a SAN (email:sanonly@127.0.0.1).
TEST_F(TlsTest, AcceptsSanOnlyCertificate) {
  auto n = Master("sanonly@127.0.0.1", "sanonly");
  ASSERT_NE(n, nullptr);
  EXPECT_TRUE(PingOk(n->get(), kSlave));
}

// One node serving TCP and TLS; one client per driver (TCP by node_addrs,
// TLS by default_client_driver + ssl_client_port), calling concurrently.
TEST_F(TlsTest, TcpAndTlsSideBySide) {
  NodeOptions tcp;
  tcp.name = "master@127.0.0.1";
  tcp.addrs = {{kSlave, slave_->port()}};
  NodeOptions tls;
  tls.name = "master2@127.0.0.1";
  tls.default_driver = GENRPC_DRIVER_TLS;
  tls.ssl_client_port = slave_->ssl_port();
  tls.tls_ca = CertFile("ca.pem");
  tls.tls_cert = CertFile("master2.pem");
  tls.tls_key = CertFile("master2.key");
  std::string error;
  auto a = Node::Start(tcp, &error);
  ASSERT_NE(a, nullptr) << error;
  auto b = Node::Start(tls, &error);
  ASSERT_NE(b, nullptr) << error;

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (genrpc_node *n : {a->get(), b->get()}) {
    for (int t = 0; t < 4; t++) {
      threads.emplace_back([n, t, &failures] {
        std::string payload(1000 + 997 * t, static_cast<char>('a' + t));
        for (int i = 0; i < 100; i++) {
          Test__EchoRequest req = TEST__ECHO_REQUEST__INIT;
          req.payload.data = reinterpret_cast<uint8_t *>(payload.data());
          req.payload.len = payload.size();
          Test__EchoReply *reply = nullptr;
          genrpc_status st{};
          genrpc_call_opts o = Opts(10000);
          int err = test__test__echo_call(n, genrpc_node_target(kSlave), &req, &reply, &o, &st);
          if (err != GENRPC_OK || reply->payload.len != payload.size() ||
              memcmp(reply->payload.data, payload.data(), payload.size()) != 0)
            failures++;
          if (reply) test__echo_reply__free_unpacked(reply, nullptr);
        }
      });
    }
  }
  for (auto &th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(RemoteCounters(a->get(), kSlave).acceptors, 2);
}

// The discovery callback picks the driver: TLS, on the slave's TLS port.
TEST_F(TlsTest, DiscoveryPicksTls) {
  int port = slave_->ssl_port();
  std::string ca = CertFile("ca.pem"), cert = CertFile("master.pem"), key = CertFile("master.key");
  genrpc_node_config cfg;
  genrpc_node_config_init(&cfg);
  cfg.name = "master@127.0.0.1";
  cfg.cookie = kCookie;
  cfg.tcp_server_port = GENRPC_PORT_DISABLED;
  cfg.tls_ca_file = ca.c_str();
  cfg.tls_cert_file = cert.c_str();
  cfg.tls_key_file = key.c_str();
  cfg.discovery = [](const char *, genrpc_driver *driver, int *p, void *arg) {
    *driver = GENRPC_DRIVER_TLS;
    *p = *static_cast<int *>(arg);
    return 0;
  };
  cfg.discovery_arg = &port;
  genrpc_node *node = nullptr;
  genrpc_status st{};
  ASSERT_GENRPC_OK(genrpc_node_start(&cfg, &node, &st), st);
  EXPECT_TRUE(PingOk(node, kSlave));
  EXPECT_EQ(genrpc_node_tcp_port(node), GENRPC_PORT_DISABLED);
  EXPECT_EQ(genrpc_node_ssl_port(node), GENRPC_PORT_DISABLED);
  genrpc_node_stop(node);
}

// Large frames (many TLS records, socket buffers full: WANT_WRITE and
// partial writes) and a burst of small ones (gathered into records) arrive
// intact and in order.
TEST_F(TlsTest, LargePayloadsAndCastBursts) {
  auto n = Master("master@127.0.0.1", "master");
  ASSERT_NE(n, nullptr);
  for (size_t size : {size_t(16 * 1024 - 1), size_t(16 * 1024 + 1), size_t(1) << 20,
                      size_t(5) << 20}) {
    std::string payload(size, '\0');
    for (size_t i = 0; i < size; i++) payload[i] = static_cast<char>(i * 131 + size);
    Test__EchoRequest req = TEST__ECHO_REQUEST__INIT;
    req.payload.data = reinterpret_cast<uint8_t *>(payload.data());
    req.payload.len = payload.size();
    Test__EchoReply *reply = nullptr;
    genrpc_status st{};
    genrpc_call_opts o = Opts(20000);
    int err = test__test__echo_call(n->get(), genrpc_node_target(kSlave), &req, &reply, &o, &st);
    ASSERT_GENRPC_OK(err, st);
    ASSERT_EQ(reply->payload.len, size);
    EXPECT_EQ(memcmp(reply->payload.data, payload.data(), size), 0) << size;
    test__echo_reply__free_unpacked(reply, nullptr);
  }
  const int kCasts = 2000;
  for (int i = 1; i <= kCasts; i++) {
    Test__CountRequest req = TEST__COUNT_REQUEST__INIT;
    req.seq = static_cast<uint64_t>(i);
    genrpc_status st{};
    ASSERT_EQ(test__test__count_cast(n->get(), genrpc_node_target(kSlave), &req, nullptr, &st),
              GENRPC_OK);
  }
  std::vector<uint64_t> seqs;
  EXPECT_TRUE(Eventually([&] { return RemoteCount(n->get(), kSlave, &seqs) == kCasts; },
                         Millis(10000)));
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kCasts));
  for (int i = 0; i < kCasts; i++) ASSERT_EQ(seqs[i], static_cast<uint64_t>(i + 1));
}

// S11 (gen_rpc's TLS had no framing): TLS carries exactly the TCP frames,
// whatever the TLS records: a HELLO split over two records, its length
// prefix cut in the middle, is answered with a CHALLENGE frame.
TEST_F(TlsTest, S11_SameFramesAsTcpWhateverTheRecords) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_EQ(SSL_CTX_load_verify_locations(ctx, CertFile("ca.pem").c_str(), nullptr), 1);
  ASSERT_EQ(SSL_CTX_use_certificate_file(ctx, CertFile("master.pem").c_str(), SSL_FILETYPE_PEM), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey_file(ctx, CertFile("master.key").c_str(), SSL_FILETYPE_PEM), 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int fd = ConnectRaw(slave_->ssl_port());
  ASSERT_GE(fd, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  EXPECT_EQ(SSL_connect(ssl), 1);

  const char *me = "master@127.0.0.1";
  uint8_t nonce[GENRPC__NONCE_LEN] = {7};
  genrpc__hello h = {GENRPC__PROTO_MAX, GENRPC__PROTO_MAX, nonce,
                     {me, strlen(me)}, {kSlave, strlen(kSlave)}};
  uint8_t hello[GENRPC__PREAUTH_MAX];
  size_t n = genrpc__encode_hello(hello, sizeof hello, &h);
  ASSERT_GT(n, 3u);
  EXPECT_EQ(SSL_write(ssl, hello, 2), 2);  // one record: half a length prefix
  EXPECT_EQ(SSL_write(ssl, hello + 2, static_cast<int>(n - 2)), static_cast<int>(n - 2));

  uint8_t buf[GENRPC__PREAUTH_MAX + GENRPC__LEN_PREFIX];
  size_t have = 0, body = 0;
  while (!(genrpc__frame_peek(buf, have, &body) && have >= GENRPC__LEN_PREFIX + body)) {
    int r = SSL_read(ssl, buf + have, static_cast<int>(sizeof buf - have));
    ASSERT_GT(r, 0) << "no CHALLENGE frame";
    have += static_cast<size_t>(r);
  }
  genrpc__challenge ch;
  ASSERT_TRUE(genrpc__decode_challenge(buf + GENRPC__LEN_PREFIX, body, &ch));
  EXPECT_EQ(std::string(ch.name.p, ch.name.len), kSlave);
  EXPECT_EQ(ch.version, GENRPC__PROTO_MAX);
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
}

// ---- configuration --------------------------------------------------------------

int StartWith(const std::function<void(genrpc_node_config *)> &edit, genrpc_status *st) {
  genrpc_node_config cfg;
  genrpc_node_config_init(&cfg);
  cfg.name = "cfg@127.0.0.1";
  cfg.cookie = kCookie;
  cfg.tcp_server_port = 0;
  edit(&cfg);
  genrpc_node *node = nullptr;
  int err = genrpc_node_start(&cfg, &node, st);
  if (node) genrpc_node_stop(node);
  return err;
}

TEST(TlsConfig, DefaultsAndErrors) {
  genrpc_node_config def = GENRPC_NODE_CONFIG_INIT, init;
  genrpc_node_config_init(&init);
  EXPECT_EQ(def.tls_verify_depth, 99);
  EXPECT_EQ(init.tls_verify_depth, 99);
  EXPECT_EQ(init.tls_ca_file, nullptr);
  EXPECT_EQ(init.tls_ciphers, nullptr);
  EXPECT_EQ(init.ssl_server_port, GENRPC_PORT_DISABLED);

  genrpc_status st{};
  EXPECT_EQ(StartWith([](genrpc_node_config *c) { c->ssl_server_port = 0; }, &st),
            GENRPC_E_INVAL)
      << st.message;
  std::string missing = CertDir() + "/no-such.pem";
  std::string ca = CertFile("ca.pem"), cert = CertFile("master.pem"), key = CertFile("slave.key");
  EXPECT_EQ(StartWith(
                [&](genrpc_node_config *c) {
                  c->tls_ca_file = ca.c_str();
                  c->tls_cert_file = missing.c_str();
                  c->tls_key_file = missing.c_str();
                },
                &st),
            GENRPC_E_TLS);
  EXPECT_NE(std::string(st.message).find("no-such.pem"), std::string::npos) << st.message;
  EXPECT_EQ(StartWith(
                [&](genrpc_node_config *c) {
                  c->tls_ca_file = ca.c_str();
                  c->tls_cert_file = cert.c_str();
                  c->tls_key_file = key.c_str();
                },
                &st),
            GENRPC_E_TLS);
  EXPECT_NE(std::string(st.message).find("does not match"), std::string::npos) << st.message;

  // A node without TLS cannot dial a TLS node: E_TLS, at once.
  NodeOptions o;
  o.addrs = {{kSlave, 1}};
  o.addr_driver = GENRPC_DRIVER_TLS;
  std::string error;
  auto n = Node::Start(o, &error);
  ASSERT_NE(n, nullptr) << error;
  st = genrpc_status{};
  int err = Ping(n->get(), kSlave, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_TLS, GENRPC_CLASS_BADTCP, err, st);
  EXPECT_NE(std::string(st.message).find("no TLS configuration"), std::string::npos)
      << st.message;
}

}  // namespace
}  // namespace genrpc_test
