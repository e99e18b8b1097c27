// tests/embedded_test.cc - the embedded client (runtime/embedded, issue 10)
// against full genrpc nodes in other processes (genrpc_test_node), through
// its generated nanopb stubs (test.genrpc_emb.h) and its byte-level API.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "test.genrpc_emb.h"

using namespace genrpc_test;

namespace {

constexpr const char *kServer = "server@127.0.0.1";
constexpr uint32_t kTimeout = 5000;

std::unique_ptr<HelperProcess> StartServer(std::vector<std::string> extra = {},
                                           int port = 0) {
  std::vector<std::string> args = {"--name", kServer, "--cookie", kCookie, "--port",
                                   std::to_string(port), "--workers", "4"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::string error;
  auto h = HelperProcess::Spawn(args, &error);
  EXPECT_NE(h, nullptr) << error;
  return h;
}

// A client with its own buffers, over the POSIX transport.
struct Client {
  explicit Client(int port, size_t rx_cap = 8192, size_t tx_cap = 8192,
                  const char *cookie = kCookie, const char *server = kServer)
      : rx(rx_cap), tx(tx_cap), cookie_(cookie), server_(server) {
    posix.host = "127.0.0.1";
    posix.port = static_cast<uint16_t>(port);
    genrpc_emb_config cfg = GENRPC_EMB_CONFIG_INIT;
    genrpc_emb_posix_transport(&posix, &cfg.transport);
    cfg.node_name = "device@127.0.0.1";
    cfg.server_name = server_.c_str();
    cfg.cookie = cookie_.c_str();
    cfg.hmac = genrpc_emb_hmac_sha256_mbedtls;
    cfg.random = genrpc_emb_posix_random;
    cfg.rx_buf = rx.data();
    cfg.rx_cap = rx.size();
    cfg.tx_buf = tx.data();
    cfg.tx_cap = tx.size();
    init_rc = genrpc_emb_init(&c, &cfg);
  }
  ~Client() {
    if (init_rc == GENRPC_OK) genrpc_emb_close(&c);
  }
  int Ping(const char *text, std::string *out = nullptr, uint32_t timeout = kTimeout) {
    test_PingRequest req = test_PingRequest_init_zero;
    test_PingReply rep = test_PingReply_init_zero;
    snprintf(req.text, sizeof req.text, "%s", text);
    int rc = test__test__ping_emb_call(&c, &req, &rep, timeout);
    if (out != nullptr) *out = rep.text;
    return rc;
  }
  std::string Message() {
    size_t len;
    const char *m = genrpc_emb_error_message(&c, &len);
    return std::string(m, len);
  }

  genrpc_emb_client c;
  genrpc_emb_posix posix;
  std::vector<uint8_t> rx, tx;
  std::string cookie_, server_;
  int init_rc;
};

TEST(Embedded, CallsAFullNodeThroughTheGeneratedStub) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client cl(server->port());
  ASSERT_EQ(cl.init_rc, GENRPC_OK);
  std::string out;
  EXPECT_EQ(cl.Ping("hello from a device", &out), GENRPC_OK);
  EXPECT_EQ(out, "hello from a device");
  EXPECT_TRUE(genrpc_emb_connected(&cl.c));
  // A second call reuses the connection.
  EXPECT_EQ(cl.Ping("again", &out), GENRPC_OK);
  EXPECT_EQ(out, "again");
  // A versioned module at the version the caller requires.
  test_Empty empty = test_Empty_init_zero;
  test_VersionReply v = test_VersionReply_init_zero;
  EXPECT_EQ(test__versioned_v2__which_emb_call(&cl.c, &empty, &v, kTimeout), GENRPC_OK);
  EXPECT_EQ(v.version, 2u);
  EXPECT_EQ(test__versioned_v1__which_emb_call(&cl.c, &empty, &v, kTimeout), GENRPC_OK);
  EXPECT_EQ(v.version, 1u);
  server->ExpectCleanStop();
}

TEST(Embedded, CastsRunInTheOrderSent) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client cl(server->port());
  constexpr int kCasts = 100;
  for (int i = 1; i <= kCasts; i++) {
    test_CountRequest req = test_CountRequest_init_zero;
    req.seq = static_cast<uint64_t>(i);
    ASSERT_EQ(test__test__count_emb_cast(&cl.c, &req, kTimeout), GENRPC_OK) << i;
  }
  test_Empty empty = test_Empty_init_zero;
  test_CountReply rep = test_CountReply_init_zero;
  ASSERT_TRUE(Eventually(
      [&] {
        return test__test__read_count_emb_call(&cl.c, &empty, &rep, kTimeout) == GENRPC_OK &&
               rep.count == kCasts;
      },
      Millis(10000)));
  ASSERT_EQ(rep.seqs_count, static_cast<pb_size_t>(kCasts));
  for (int i = 0; i < kCasts; i++) EXPECT_EQ(rep.seqs[i], static_cast<uint64_t>(i + 1));
  server->ExpectCleanStop();
}

TEST(Embedded, HandlerErrorCarriesCodeAndMessage) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client cl(server->port());
  test_FailRequest req = test_FailRequest_init_zero;
  test_Empty empty = test_Empty_init_zero;
  req.code = 42;
  strcpy(req.message, "sensor on fire");
  EXPECT_EQ(test__test__fail_emb_call(&cl.c, &req, &empty, kTimeout), GENRPC_E_HANDLER);
  EXPECT_EQ(genrpc_emb_handler_code(&cl.c), 42);
  EXPECT_EQ(cl.Message(), "sensor on fire");
  EXPECT_STREQ(genrpc_emb_err_name(GENRPC_E_HANDLER), "HANDLER");
  EXPECT_STREQ(genrpc_emb_strerror(GENRPC_E_HANDLER), "remote handler failed");
  EXPECT_TRUE(genrpc_emb_connected(&cl.c));  // an ERROR keeps the connection
  EXPECT_EQ(cl.Ping("still here"), GENRPC_OK);
  server->ExpectCleanStop();
}

TEST(Embedded, ErrorMessageLongerThanTheReceiveBufferIsTruncatedNotOverflowed) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client cl(server->port(), /*rx_cap=*/256);
  test_FailRequest req = test_FailRequest_init_zero;
  test_Empty empty = test_Empty_init_zero;
  req.code = 3;
  memset(req.message, 'x', 1000);
  EXPECT_EQ(test__test__fail_emb_call(&cl.c, &req, &empty, kTimeout), GENRPC_E_HANDLER);
  EXPECT_EQ(genrpc_emb_handler_code(&cl.c), 3);
  EXPECT_EQ(cl.Message(), std::string(256 - 17, 'x'));
  EXPECT_TRUE(genrpc_emb_connected(&cl.c));  // the rest was drained
  EXPECT_EQ(cl.Ping("after a long error"), GENRPC_OK);
  server->ExpectCleanStop();
}

TEST(Embedded, RemoteRefusalsHaveTheFullRuntimesCodes) {
  auto server = StartServer({"--blacklist", "test.Clock"});
  ASSERT_NE(server, nullptr);
  Client cl(server->port());
  const uint8_t *reply;
  size_t len;
  // Incompatible version: test.Test is served at version 1 only.
  EXPECT_EQ(genrpc_emb_call_bytes(&cl.c, "test.Test", 7, "Ping", nullptr, 0, kTimeout, &reply,
                                  &len),
            GENRPC_E_INCOMPATIBLE);
  // Unauthorized module (blacklisted) and internal function.
  test_Empty empty = test_Empty_init_zero;
  test_TimestampReply ts = test_TimestampReply_init_zero;
  EXPECT_EQ(test__clock__now_emb_call(&cl.c, &empty, &ts, kTimeout), GENRPC_E_UNAUTHORIZED);
  EXPECT_EQ(genrpc_emb_call_bytes(&cl.c, "test.Test", 1, "Secret", nullptr, 0, kTimeout, &reply,
                                  &len),
            GENRPC_E_UNAUTHORIZED);
  // Unknown function and module.
  EXPECT_EQ(genrpc_emb_call_bytes(&cl.c, "test.Test", 0, "Nope", nullptr, 0, kTimeout, &reply,
                                  &len),
            GENRPC_E_UNDEF);
  EXPECT_EQ(genrpc_emb_call_bytes(&cl.c, "no.Such", 0, "Ping", nullptr, 0, kTimeout, &reply,
                                  &len),
            GENRPC_E_UNDEF);
  // A payload that does not decode as the request type.
  const uint8_t junk[] = {0xff, 0xff, 0xff};
  EXPECT_EQ(genrpc_emb_call_bytes(&cl.c, "test.Test", 1, "Ping", junk, sizeof junk, kTimeout,
                                  &reply, &len),
            GENRPC_E_BADARGS);
  EXPECT_TRUE(genrpc_emb_connected(&cl.c));
  server->ExpectCleanStop();
}

TEST(Embedded, WrongCookieIsAnAuthErrorAndNoCallRuns) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client cl(server->port(), 8192, 8192, "not-the-cookie");
  EXPECT_EQ(cl.Ping("x"), GENRPC_E_AUTH);
  EXPECT_EQ(genrpc_emb_reject_reason(&cl.c), 1);
  EXPECT_EQ(cl.Message(), "invalid_cookie");
  EXPECT_FALSE(genrpc_emb_connected(&cl.c));
  server->ExpectCleanStop();
}

TEST(Embedded, WrongServerNameIsAnAuthError) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client cl(server->port(), 8192, 8192, kCookie, "other@127.0.0.1");
  EXPECT_EQ(cl.Ping("x"), GENRPC_E_AUTH);
  EXPECT_EQ(genrpc_emb_reject_reason(&cl.c), 3);
  server->ExpectCleanStop();
}

TEST(Embedded, TimeoutKeepsTheConnectionAndTheLateReplyIsDropped) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client cl(server->port());
  test_SleepRequest req = test_SleepRequest_init_zero;
  test_SleepReply rep = test_SleepReply_init_zero;
  req.ms = 600;
  req.value = 11;
  Stopwatch sw;
  EXPECT_EQ(test__test__sleep_emb_call(&cl.c, &req, &rep, 100), GENRPC_E_TIMEOUT);
  EXPECT_LT(sw.ElapsedMs(), 5000);  // bounded, not a timing assertion on the value
  EXPECT_TRUE(genrpc_emb_connected(&cl.c));
  // The next call gets its own reply, not the late one.
  req.ms = 700;
  req.value = 22;
  EXPECT_EQ(test__test__sleep_emb_call(&cl.c, &req, &rep, kTimeout), GENRPC_OK);
  EXPECT_EQ(rep.value, 22);
  server->ExpectCleanStop();
}

TEST(Embedded, ConnectToAHangingPeerTimesOut) {
  BlackholeListener hole;
  Client cl(hole.port());
  Stopwatch sw;
  int rc = cl.Ping("x", nullptr, 300);
  EXPECT_TRUE(rc == GENRPC_E_TIMEOUT || rc == GENRPC_E_CONNECT) << genrpc_emb_err_name(rc);
  EXPECT_LT(sw.ElapsedMs(), 5000);
  EXPECT_FALSE(genrpc_emb_connected(&cl.c));
}

TEST(Embedded, NoServerIsAConnectError) {
  int port = FreeTcpPort();
  ASSERT_GT(port, 0);
  Client cl(port);
  EXPECT_EQ(cl.Ping("x"), GENRPC_E_CONNECT);
}

TEST(Embedded, OversizeReplyFailsClearlyClosesAndTheNextCallReconnects) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client cl(server->port(), /*rx_cap=*/512);
  test_EchoRequest req = test_EchoRequest_init_zero;
  test_EchoReply rep = test_EchoReply_init_zero;
  req.payload.size = 1000;
  memset(req.payload.bytes, 0xab, 1000);
  EXPECT_EQ(test__test__echo_emb_call(&cl.c, &req, &rep, kTimeout), GENRPC_E_TOO_BIG);
  EXPECT_FALSE(genrpc_emb_connected(&cl.c));
  req.payload.size = 100;
  EXPECT_EQ(test__test__echo_emb_call(&cl.c, &req, &rep, kTimeout), GENRPC_OK);
  EXPECT_EQ(rep.payload.size, 100u);
  EXPECT_EQ(rep.payload.bytes[99], 0xab);
  server->ExpectCleanStop();
}

TEST(Embedded, RequestLargerThanTheTransmitBufferIsRefusedBeforeSending) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client cl(server->port(), 8192, /*tx_cap=*/512);
  EXPECT_EQ(cl.Ping("connect first"), GENRPC_OK);
  test_EchoRequest req = test_EchoRequest_init_zero;
  test_EchoReply rep = test_EchoReply_init_zero;
  req.payload.size = 1000;
  EXPECT_EQ(test__test__echo_emb_call(&cl.c, &req, &rep, kTimeout), GENRPC_E_TOO_BIG);
  EXPECT_TRUE(genrpc_emb_connected(&cl.c));  // nothing was sent
  EXPECT_EQ(cl.Ping("still fine"), GENRPC_OK);
  server->ExpectCleanStop();
}

TEST(Embedded, ServerKilledMidCallIsClosedAndTheNextCallReconnects) {
  int port = FreeTcpPort();
  ASSERT_GT(port, 0);
  auto server = StartServer({}, port);
  ASSERT_NE(server, nullptr);
  Client cl(port);
  ASSERT_EQ(cl.Ping("up"), GENRPC_OK);
  test_SleepRequest req = test_SleepRequest_init_zero;
  test_SleepReply rep = test_SleepReply_init_zero;
  req.ms = 3000;
  std::thread killer([&] {
    std::this_thread::sleep_for(Millis(200));
    server->Kill9();
  });
  int rc = test__test__sleep_emb_call(&cl.c, &req, &rep, 10000);
  killer.join();
  EXPECT_EQ(rc, GENRPC_E_CLOSED) << genrpc_emb_err_name(rc);
  EXPECT_FALSE(genrpc_emb_connected(&cl.c));
  // While the node is down: a clear connect error.
  EXPECT_EQ(cl.Ping("down"), GENRPC_E_CONNECT);
  // A new node on the same port: the next call reconnects.
  auto again = StartServer({}, port);
  ASSERT_NE(again, nullptr);
  std::string out;
  EXPECT_EQ(cl.Ping("back", &out), GENRPC_OK);
  EXPECT_EQ(out, "back");
  again->ExpectCleanStop();
}

TEST(Embedded, ServerRestartedBetweenCallsIsNoticedBeforeSending) {
  int port = FreeTcpPort();
  ASSERT_GT(port, 0);
  auto server = StartServer({}, port);
  ASSERT_NE(server, nullptr);
  Client cl(port);
  ASSERT_EQ(cl.Ping("first"), GENRPC_OK);
  server->Kill9();
  auto again = StartServer({}, port);
  ASSERT_NE(again, nullptr);
  // The old connection's end of file is read before the request goes out,
  // so this call (and a cast) reconnect instead of failing.
  EXPECT_EQ(cl.Ping("second"), GENRPC_OK);
  again->ExpectCleanStop();
}

TEST(Embedded, InitRefusesBadConfiguration) {
  genrpc_emb_client c;
  genrpc_emb_posix posix = {"127.0.0.1", 1, -1};
  uint8_t rx[64], tx[96];
  genrpc_emb_config cfg = GENRPC_EMB_CONFIG_INIT;
  EXPECT_EQ(genrpc_emb_init(&c, &cfg), GENRPC_E_INVAL);  // no transport
  genrpc_emb_posix_transport(&posix, &cfg.transport);
  cfg.node_name = "d@h";
  cfg.server_name = "s@h";
  cfg.cookie = "c";
  cfg.hmac = genrpc_emb_hmac_sha256_mbedtls;
  cfg.random = genrpc_emb_posix_random;
  cfg.rx_buf = rx;
  cfg.rx_cap = sizeof rx;
  cfg.tx_buf = tx;
  cfg.tx_cap = sizeof tx;
  EXPECT_EQ(genrpc_emb_init(&c, &cfg), GENRPC_OK);
  cfg.rx_cap = 63;
  EXPECT_EQ(genrpc_emb_init(&c, &cfg), GENRPC_E_INVAL);
  cfg.rx_cap = sizeof rx;
  cfg.cookie = "";
  EXPECT_EQ(genrpc_emb_init(&c, &cfg), GENRPC_E_INVAL);
  cfg.cookie = "c";
  std::string long_name(256, 'n');
  cfg.node_name = long_name.c_str();
  EXPECT_EQ(genrpc_emb_init(&c, &cfg), GENRPC_E_INVAL);
  cfg.node_name = "d@h";
  cfg.hmac = nullptr;
  EXPECT_EQ(genrpc_emb_init(&c, &cfg), GENRPC_E_INVAL);
  // Bad call arguments: no I/O happens.
  cfg.hmac = genrpc_emb_hmac_sha256_mbedtls;
  ASSERT_EQ(genrpc_emb_init(&c, &cfg), GENRPC_OK);
  const uint8_t *reply;
  size_t len;
  EXPECT_EQ(genrpc_emb_call_bytes(&c, "", 0, "f", nullptr, 0, 100, &reply, &len),
            GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_emb_call_bytes(&c, "m", 0, "f", nullptr, 0, 0, &reply, &len),
            GENRPC_E_INVAL);
}

TEST(Embedded, ErrorNamesComeFromTheSharedList) {
#define CHECK_NAME_(name, value, cls, msg)                  \
  EXPECT_STREQ(genrpc_emb_err_name(value), #name);        \
  EXPECT_STREQ(genrpc_emb_strerror(value), msg);
  GENRPC_ERR_MAP(CHECK_NAME_)
#undef CHECK_NAME_
  EXPECT_STREQ(genrpc_emb_err_name(9999), "UNKNOWN");
  EXPECT_STREQ(genrpc_emb_strerror(9999), "unknown error");
}

TEST(Embedded, TheClientAllocatesNothing) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  std::string cmd = std::string(GENRPC_EMB_NOALLOC_PATH) + " " +
                    std::to_string(server->port()) + " " + kServer + " " + kCookie;
  int st = system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(st)) << "embedded_noalloc died (an allocator was called?)";
  EXPECT_EQ(WEXITSTATUS(st), 0);
  server->ExpectCleanStop();
}

}  // namespace
