// handshake_test - a genrpc client facing a fake server that cannot prove
// the cookie (docs/protocol.md, "Proofs"; issue 11).
//
// The fake server, written here on raw sockets with the runtime's private
// frame.h and auth.h, plays the server side of the handshake honestly up to
// AUTH (it checks the client's proof with the real cookie, so the client did
// its part) and then answers AUTH_OK with a proof that is not the server's:
// one made with another cookie, 32 zero bytes, or the client's own AUTH proof
// echoed back. The client must refuse the connection at once: the call fails
// with GENRPC_E_AUTH (not a timeout), the fake server receives no CALL and no
// CAST (not even the cast queued before the call), the client closes the
// connection, and the node's log says why. Every wait is bounded.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "rows.h"

extern "C" {
#include "wire/auth.h"
#include "wire/frame.h"
}

namespace genrpc_test {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char *kClient = "client@127.0.0.1";
constexpr const char *kFake = "fake@127.0.0.1";
constexpr Millis kWait{5000};  // bound of every wait in the fake server

// kNone: the fake proves the cookie, reads the first CALL and answers it
// with a GOAWAY saying it never read it (version 2).
enum class BadProof { kOtherCookie, kZeros, kEchoClientProof, kNone };

const char *ProofName(BadProof p) {
  switch (p) {
  case BadProof::kOtherCookie: return "OtherCookie";
  case BadProof::kZeros: return "Zeros";
  case BadProof::kEchoClientProof: return "EchoClientProof";
  case BadProof::kNone: return "None";
  }
  return "?";
}

int64_t NowMs() {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The server side of the handshake with a wrong AUTH_OK proof, on one
// connection, in its own thread; then it records every frame the client
// sends until the client closes (or kWait passes).
class FakeServer {
 public:
  // version: the protocol version the fake chooses in its CHALLENGE.
  FakeServer(BadProof proof, uint8_t version) : proof_(proof), version_(version) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        listen(listen_fd_, 4) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
      Fail("listen: " + std::string(strerror(errno)));
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (conn_fd_ >= 0) close(conn_fd_);
    if (listen_fd_ >= 0) close(listen_fd_);
  }
  FakeServer(const FakeServer &) = delete;
  FakeServer &operator=(const FakeServer &) = delete;

  int port() const { return port_; }
  // True once the server has run to its end (client closed, or kWait passed).
  bool Finished() const { return finished_; }
  bool SentAuthOk() const { return sent_auth_ok_; }
  bool ClientProofValid() const { return client_proof_valid_; }
  bool ClientClosed() const { return client_closed_; }
  std::vector<uint8_t> KindsAfterAuthOk() {
    std::lock_guard<std::mutex> g(mu_);
    return kinds_after_;
  }
  std::string Error() {
    std::lock_guard<std::mutex> g(mu_);
    return error_;
  }

 private:
  void Fail(const std::string &why) {
    std::lock_guard<std::mutex> g(mu_);
    if (error_.empty()) error_ = why;
  }

  bool Send(const Bytes &b) {
    for (size_t off = 0; off < b.size();) {
      ssize_t w = send(conn_fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      off += static_cast<size_t>(w);
    }
    return true;
  }

  enum Got { kFrame, kEof, kTimeout };
  Got Read(Bytes *body, int64_t deadline_ms) {
    for (;;) {
      size_t len;
      if (genrpc__frame_peek(buf_.data(), buf_.size(), &len) && buf_.size() >= 4 + len) {
        body->assign(buf_.begin() + 4, buf_.begin() + 4 + static_cast<ptrdiff_t>(len));
        buf_.erase(buf_.begin(), buf_.begin() + 4 + static_cast<ptrdiff_t>(len));
        return kFrame;
      }
      int64_t left = deadline_ms - NowMs();
      if (left <= 0 || stop_) return kTimeout;
      pollfd p{conn_fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 50))) <= 0) continue;
      uint8_t tmp[65536];
      ssize_t n = recv(conn_fd_, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return kEof;
      buf_.insert(buf_.end(), tmp, tmp + n);
    }
  }

  void Run() {
    Handshake();
    if (proof_ == BadProof::kNone && goaway_sent_ && !stop_) {
      // The client sends the call it was told was never read again, on a
      // fresh connection: this one answers it.
      close(conn_fd_);
      conn_fd_ = -1;
      buf_.clear();
      second_ = true;
      Handshake();
    }
    finished_ = true;
  }

  // A REPLY (version 2) to a Ping, with its text.
  Bytes PingReply(const genrpc__request_hdr &rq) {
    Test__PingRequest *req = test__ping_request__unpack(nullptr, rq.payload_len, rq.payload);
    Test__PingReply rep = TEST__PING_REPLY__INIT;
    rep.text = req ? req->text : const_cast<char *>("");
    Bytes payload(test__ping_reply__get_packed_size(&rep));
    test__ping_reply__pack(&rep, payload.data());
    if (req) test__ping_request__free_unpacked(req, nullptr);
    genrpc__reply_body rb{};
    rb.proto = version_;
    rb.req_id = rq.req_id;
    rb.payload_len = payload.size();
    Bytes r(4 + genrpc__reply_hdr_size(version_, 0));
    genrpc__encode_reply_hdr(r.data(), r.size(), &rb);
    r.insert(r.end(), payload.begin(), payload.end());
    return r;
  }

  void Handshake() {
    int64_t deadline = NowMs() + kWait.count();
    while (conn_fd_ < 0) {
      if (stop_ || NowMs() > deadline) return Fail("no connection from the client");
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) > 0) conn_fd_ = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    }
    Bytes body;
    if (Read(&body, deadline) != kFrame) return Fail("no HELLO");
    genrpc__hello h;
    if (!genrpc__decode_hello(body.data(), body.size(), &h)) return Fail("malformed HELLO");
    const std::string from(h.from.p, h.from.len), to(h.to.p, h.to.len);
    if (to != kFake) return Fail("HELLO addressed to " + to);
    uint8_t cnonce[GENRPC__NONCE_LEN], snonce[GENRPC__NONCE_LEN];
    std::memcpy(cnonce, h.nonce, sizeof cnonce);
    if (!genrpc__auth_nonce(snonce)) return Fail("no nonce");

    genrpc__challenge ch = {version_, snonce, {kFake, strlen(kFake)}};
    Bytes f(GENRPC__PREAUTH_MAX);
    f.resize(genrpc__encode_challenge(f.data(), f.size(), &ch));
    if (f.empty() || !Send(f)) return Fail("could not send CHALLENGE");

    if (Read(&body, deadline) != kFrame) return Fail("no AUTH");
    const uint8_t *cmac;
    genrpc__auth_body auth;
    if (version_ >= 2 ? !genrpc__decode_auth(body.data(), body.size(), GENRPC__K_AUTH, &auth)
                      : !genrpc__decode_mac(body.data(), body.size(), GENRPC__K_AUTH, &cmac))
      return Fail("malformed AUTH");
    if (version_ >= 2) cmac = auth.mac;
    client_proof_valid_ = genrpc__auth_check(kCookie, strlen(kCookie), GENRPC__AUTH_CLIENT,
                                             cnonce, snonce, from.data(), from.size(), kFake,
                                             strlen(kFake), cmac);

    uint8_t proof[GENRPC__MAC_LEN] = {0};
    const std::string other = std::string(kCookie) + "-not";
    switch (proof_) {
    case BadProof::kOtherCookie:
      genrpc__auth_mac(other.data(), other.size(), GENRPC__AUTH_SERVER, cnonce, snonce,
                       from.data(), from.size(), kFake, strlen(kFake), proof);
      break;
    case BadProof::kZeros:
      break;
    case BadProof::kEchoClientProof:
      std::memcpy(proof, cmac, sizeof proof);
      break;
    case BadProof::kNone:
      genrpc__auth_mac(kCookie, strlen(kCookie), GENRPC__AUTH_SERVER, cnonce, snonce, from.data(),
                       from.size(), kFake, strlen(kFake), proof);
      break;
    }
    f.assign(GENRPC__PREAUTH_MAX, 0);
    genrpc__auth_body ok{};
    ok.mac = proof;
    f.resize(version_ >= 2 ? genrpc__encode_auth(f.data(), f.size(), GENRPC__K_AUTH_OK, &ok)
                           : genrpc__encode_mac(f.data(), f.size(), GENRPC__K_AUTH_OK, proof));
    if (f.empty() || !Send(f)) return Fail("could not send AUTH_OK");
    sent_auth_ok_ = true;

    // Whatever the client sends now is recorded; it should send nothing
    // and close.
    deadline = NowMs() + kWait.count();
    for (;;) {
      Got g = Read(&body, deadline);
      if (g == kEof) {
        client_closed_ = true;
        return;
      }
      if (g == kTimeout) return;
      {
        std::lock_guard<std::mutex> gd(mu_);
        kinds_after_.push_back(body.empty() ? 0 : body[0]);
      }
      genrpc__request_hdr rq;
      bool call = genrpc__decode_request(version_, body.data(), body.size(), &rq) &&
                  body[0] == GENRPC__K_CALL;
      if (proof_ == BadProof::kNone && second_ && call) {
        if (!Send(PingReply(rq))) return Fail("could not send REPLY");
        continue;
      }
      if (proof_ == BadProof::kNone && !goaway_sent_ && call) {
        // "I never read it": everything above req_id - 1 did not run.
        genrpc__goaway g = {rq.req_id - 1, GENRPC__GOAWAY_STOPPING, {"bye", 3}};
        f.assign(GENRPC__GOAWAY_FRAME_MAX, 0);
        f.resize(genrpc__encode_goaway(f.data(), f.size(), &g));
        if (!Send(f)) return Fail("could not send GOAWAY");
        goaway_sent_ = true;
        return;  // and closes, as a server saying GOAWAY(n) does
      }
    }
  }

  BadProof proof_;
  uint8_t version_;
  bool goaway_sent_ = false;
  bool second_ = false;  // kNone: the second connection
  int listen_fd_ = -1, conn_fd_ = -1, port_ = -1;
  Bytes buf_;
  std::atomic<bool> stop_{false}, finished_{false}, sent_auth_ok_{false},
      client_proof_valid_{false}, client_closed_{false};
  std::mutex mu_;
  std::vector<uint8_t> kinds_after_;
  std::string error_;
  std::thread thread_;
};

struct Case {
  BadProof proof;
  uint8_t version;
};

class WrongServerProofTest : public ::testing::TestWithParam<Case> {
 protected:
  static void Log(genrpc_log_level level, const char *msg, void *arg) {
    auto *self = static_cast<WrongServerProofTest *>(arg);
    std::lock_guard<std::mutex> g(self->log_mu_);
    self->log_.push_back(std::to_string(static_cast<int>(level)) + " " + msg);
  }

  std::vector<std::string> LogLines() {
    std::lock_guard<std::mutex> g(log_mu_);
    return log_;
  }

  void TearDown() override {
    if (node_) genrpc_node_stop(node_);
  }

  // A node that knows the fake server's port (filled: *addr must outlive
  // the call to genrpc_node_start).
  genrpc_node_config ClientConfig(const FakeServer &fake, genrpc_node_addr *addr) {
    *addr = {kFake, GENRPC_DRIVER_TCP, fake.port()};
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = kClient;
    cfg.cookie = kCookie;
    cfg.tcp_server_port = GENRPC_PORT_DISABLED;
    cfg.node_addrs = addr;
    cfg.n_node_addrs = 1;
    return cfg;
  }

  genrpc_node *node_ = nullptr;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_P(WrongServerProofTest, CallFailsWithAuthAndNothingIsSent) {
  FakeServer fake(GetParam().proof, GetParam().version);
  ASSERT_GT(fake.port(), 0) << fake.Error();
  genrpc_node_addr addr;
  genrpc_node_config cfg = ClientConfig(fake, &addr);
  // Long enough that only the proof check can end the handshake: without it
  // the call would be sent and time out (GENRPC_E_TIMEOUT), not fail with
  // GENRPC_E_AUTH.
  cfg.authentication_timeout_ms = 30000;
  cfg.log_cb = &WrongServerProofTest::Log;
  cfg.log_arg = this;
  cfg.log_level = GENRPC_LOG_INFO;
  genrpc_status st{};
  ASSERT_EQ(genrpc_node_start(&cfg, &node_, &st), GENRPC_OK) << st.message;

  // A cast queued first (it waits for the handshake), then a call.
  Test__CountRequest creq = TEST__COUNT_REQUEST__INIT;
  creq.seq = 1;
  ASSERT_EQ(test__test__count_cast(node_, genrpc_node_target(kFake), &creq, nullptr, &st),
            GENRPC_OK)
      << st.message;

  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("are you the real fake@?");
  Test__PingReply *reply = nullptr;
  genrpc_call_opts o = Opts(3000);
  st = genrpc_status{};
  int err = test__test__ping_call(node_, genrpc_node_target(kFake), &req, &reply, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_AUTH, GENRPC_CLASS_BADTCP, err, st);
  EXPECT_EQ(reply, nullptr);
  if (reply) test__ping_reply__free_unpacked(reply, nullptr);
  EXPECT_NE(strstr(st.message, "could not prove the cookie"), nullptr) << "message: " << st.message;

  // The fake server did its part, got no request and saw the client close.
  ASSERT_TRUE(Eventually([&] { return fake.Finished(); }, kWait + kWait)) << fake.Error();
  EXPECT_EQ(fake.Error(), "");
  EXPECT_TRUE(fake.ClientProofValid()) << "the client's AUTH did not prove the cookie";
  EXPECT_TRUE(fake.SentAuthOk());
  for (uint8_t k : fake.KindsAfterAuthOk())
    ADD_FAILURE() << "the client sent frame kind 0x" << std::hex << int(k)
                  << " to a server that did not prove the cookie";
  EXPECT_TRUE(fake.ClientClosed()) << "the client kept the connection open";

  // The log says why.
  bool said = false;
  for (const std::string &l : LogLines())
    said = said || (l.find(kFake) != std::string::npos &&
                    l.find("could not prove the cookie") != std::string::npos &&
                    l.find("(AUTH)") != std::string::npos);
  std::string all;
  for (const std::string &l : LogLines()) all += l + "\n";
  EXPECT_TRUE(said) << "log:\n" << all;
  genrpc_node_info info{};
  genrpc_node_get_info(node_, &info);
  EXPECT_EQ(info.clients, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Handshake, WrongServerProofTest,
    ::testing::Values(Case{BadProof::kOtherCookie, 1}, Case{BadProof::kZeros, 1},
                      Case{BadProof::kEchoClientProof, 1}, Case{BadProof::kOtherCookie, 2},
                      Case{BadProof::kZeros, 2}, Case{BadProof::kEchoClientProof, 2}),
    [](const ::testing::TestParamInfo<Case> &i) {
      return std::string(ProofName(i.param.proof)) + "V" + std::to_string(i.param.version);
    });

// Version 2: a server that says GOAWAY naming a last request id below the
// call's has not read it: the call did not run. A blocking call is sent
// again, once, on a fresh connection (counted in retried_calls), and gets
// its reply there; not CLOSED, not a timeout.
TEST_F(WrongServerProofTest, ACallTheServerNeverReadIsSentAgainOnAFreshConnection) {
  FakeServer fake(BadProof::kNone, 2);
  ASSERT_GT(fake.port(), 0) << fake.Error();
  genrpc_node_addr addr;
  genrpc_node_config cfg = ClientConfig(fake, &addr);
  genrpc_status st{};
  ASSERT_EQ(genrpc_node_start(&cfg, &node_, &st), GENRPC_OK) << st.message;
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("read me?");
  Test__PingReply *reply = nullptr;
  genrpc_call_opts o = Opts(10000);
  auto start = NowMs();
  int err = test__test__ping_call(node_, genrpc_node_target(kFake), &req, &reply, &o, &st);
  ASSERT_GENRPC_OK(err, st);
  EXPECT_STREQ(reply->text, "read me?");
  test__ping_reply__free_unpacked(reply, nullptr);
  EXPECT_LT(NowMs() - start, 3000) << "sent again at the GOAWAY, not at the timeout";
  EXPECT_EQ(fake.Error(), "");
  EXPECT_TRUE(fake.ClientProofValid());
  genrpc_node_info info{};
  genrpc_node_get_info(node_, &info);
  EXPECT_EQ(info.retried_calls, 1u);
}

}  // namespace
}  // namespace genrpc_test
