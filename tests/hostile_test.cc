// hostile_test - a running node fed hostile input over real sockets
// (issue 5, "Hostile input"): random bytes, absurd lengths, truncated
// frames, unknown kinds, calls to what does not exist, undecodable
// payloads, replies nobody asked for and a flood of connections that never
// authenticate. For each, the offending connection gets a clear answer
// (ERROR / REJECT) or is closed with a logged reason, the node's counters
// say so, and a well-behaved client on another connection keeps getting
// correct replies the whole time (a background thread calls throughout).
//
// The raw client speaks the wire protocol itself (docs/protocol.md),
// handshake included, using the runtime's private frame.h and auth.h.
// Every wait is bounded.
#include <gtest/gtest.h>
#include <zstd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
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

// docs/protocol.md, version 2 settings: id 1 (compression), bit 0 = zstd
constexpr uint8_t kSettingCompression = 1;
constexpr uint32_t kZstd = 1;
constexpr const char *kVictim = "victim@127.0.0.1";
constexpr const char *kGood = "good@127.0.0.1";
constexpr const char *kRaw = "raw@127.0.0.1";
constexpr int64_t kAuthMs = 800;              // the victim's authentication_timeout
constexpr size_t kMaxFrame = 1 << 20;         // the victim's max_frame_size
constexpr Millis kClosedFast{kAuthMs / 2};    // "closed at once": well before the timer
constexpr Millis kClosedByTimer{kAuthMs + 2000};
constexpr Millis kReplyWait{5000};

int64_t NowMs() {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Bytes Frame(const Bytes &body) {
  Bytes f(4);
  genrpc__put_u32(f.data(), static_cast<uint32_t>(body.size()));
  f.insert(f.end(), body.begin(), body.end());
  return f;
}

Bytes RandomBytes(uint32_t seed, size_t n) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto &x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// A CALL/CAST frame, length prefix included.
Bytes Request(genrpc__kind kind, uint64_t id, uint32_t version, const std::string &module,
              const std::string &function, const Bytes &payload) {
  genrpc__request_hdr h{};
  h.proto = 1;  // the raw peers here speak version 1
  h.req_id = id;
  h.version = version;
  h.module = {module.data(), module.size()};
  h.function = {function.data(), function.size()};
  h.payload_len = payload.size();
  Bytes f(4 + genrpc__request_hdr_size(1, module.size(), function.size(), 0));
  size_t n = genrpc__encode_request_hdr(f.data(), f.size(), kind, &h);
  EXPECT_EQ(n, f.size());
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

Bytes PingPayload(const std::string &text) {
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>(text.c_str());
  Bytes b(test__ping_request__get_packed_size(&req));
  test__ping_request__pack(&req, b.data());
  return b;
}

// ---- a raw peer speaking the wire protocol -----------------------------------

class RawPeer {
 public:
  explicit RawPeer(int fd) : fd_(fd) {}
  static std::unique_ptr<RawPeer> Connect(int port) {
    int fd = ConnectRaw(port);
    return fd < 0 ? nullptr : std::make_unique<RawPeer>(fd);
  }
  ~RawPeer() {
    if (fd_ >= 0) close(fd_);
  }
  RawPeer(const RawPeer &) = delete;
  RawPeer &operator=(const RawPeer &) = delete;
  int fd() const { return fd_; }

  bool Send(const Bytes &b) {
    for (size_t off = 0; off < b.size();) {
      ssize_t w = send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      off += static_cast<size_t>(w);
    }
    return true;
  }

  enum Got { kFrame, kEof, kTimeout };
  // The next frame's body, within `timeout`.
  Got Read(Bytes *body, Millis timeout) {
    int64_t deadline = NowMs() + timeout.count();
    for (;;) {
      size_t len;
      if (genrpc__frame_peek(buf_.data(), buf_.size(), &len) && buf_.size() >= 4 + len) {
        body->assign(buf_.begin() + 4, buf_.begin() + 4 + static_cast<ptrdiff_t>(len));
        buf_.erase(buf_.begin(), buf_.begin() + 4 + static_cast<ptrdiff_t>(len));
        return kFrame;
      }
      int64_t left = deadline - NowMs();
      if (left <= 0) return kTimeout;
      pollfd p{fd_, POLLIN, 0};
      int r = poll(&p, 1, static_cast<int>(left));
      if (r <= 0) continue;
      uint8_t tmp[65536];
      ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return kEof;
      buf_.insert(buf_.end(), tmp, tmp + n);
    }
  }

  // True if the peer closed within `timeout` (anything sent before is skipped).
  bool Closed(Millis timeout) {
    Bytes body;
    int64_t deadline = NowMs() + timeout.count();
    for (;;) {
      int64_t left = deadline - NowMs();
      if (left <= 0) return false;
      Got g = Read(&body, Millis(left));
      if (g == kEof) return true;
      if (g == kTimeout) return false;
    }
  }

  // True if nothing at all arrives (no frame, no EOF) for `d`.
  bool Quiet(Millis d) {
    Bytes body;
    return Read(&body, d) == kTimeout;
  }

  // Client side of the handshake. Returns true on AUTH_OK (its proof
  // checked); on REJECT stores the reason in *rejected.
  // version 2: AUTH carries setting 1 = `zstd` (0: no setting).
  bool Handshake(const std::string &to, const std::string &cookie = kCookie,
                 uint8_t *rejected = nullptr, const std::string &from = kRaw,
                 uint8_t version = 1, uint32_t zstd = 0) {
    uint8_t nonce[GENRPC__NONCE_LEN];
    if (!genrpc__auth_nonce(nonce)) return false;
    genrpc__hello h{version, version, nonce, {from.data(), from.size()}, {to.data(), to.size()}};
    Bytes f(GENRPC__PREAUTH_MAX);
    f.resize(genrpc__encode_hello(f.data(), f.size(), &h));
    if (f.empty() || !Send(f)) return false;
    Bytes body;
    if (Read(&body, kReplyWait) != kFrame) return false;
    if (RejectReason(body, rejected)) return false;
    genrpc__challenge ch;
    if (!genrpc__decode_challenge(body.data(), body.size(), &ch) || ch.version != version)
      return false;
    if (std::string(ch.name.p, ch.name.len) != to) return false;
    uint8_t snonce[GENRPC__NONCE_LEN], mac[GENRPC__MAC_LEN];
    std::memcpy(snonce, ch.nonce, sizeof snonce);
    genrpc__auth_mac(cookie.data(), cookie.size(), GENRPC__AUTH_CLIENT, nonce, snonce,
                     from.data(), from.size(), to.data(), to.size(), mac);
    genrpc__auth_body a{};
    a.mac = mac;
    if (zstd) a.settings[a.n_settings++] = {kSettingCompression, zstd};
    f.assign(GENRPC__PREAUTH_MAX, 0);
    f.resize(version >= 2 ? genrpc__encode_auth(f.data(), f.size(), GENRPC__K_AUTH, &a)
                          : genrpc__encode_mac(f.data(), f.size(), GENRPC__K_AUTH, mac));
    if (!Send(f) || Read(&body, kReplyWait) != kFrame) return false;
    if (RejectReason(body, rejected)) return false;
    const uint8_t *proof = nullptr;
    genrpc__auth_body ok{};
    bool decoded = version >= 2
                       ? genrpc__decode_auth(body.data(), body.size(), GENRPC__K_AUTH_OK, &ok) &&
                             (proof = ok.mac) != nullptr
                       : genrpc__decode_mac(body.data(), body.size(), GENRPC__K_AUTH_OK, &proof);
    return decoded &&
           genrpc__auth_check(cookie.data(), cookie.size(), GENRPC__AUTH_SERVER, nonce, snonce,
                              from.data(), from.size(), to.data(), to.size(), proof);
  }

  static bool RejectReason(const Bytes &body, uint8_t *reason) {
    uint8_t r;
    genrpc__str text;
    if (!genrpc__decode_reject(body.data(), body.size(), &r, &text)) return false;
    if (reason) *reason = r;
    return true;
  }

  // Sends a CALL and expects an ERROR frame for it: returns err (0 if the
  // answer was something else; *msg gets the error message).
  uint16_t CallExpectError(uint64_t id, uint32_t version, const std::string &module,
                           const std::string &function, const Bytes &payload,
                           std::string *msg = nullptr) {
    if (!Send(Request(GENRPC__K_CALL, id, version, module, function, payload))) return 0;
    Bytes body;
    if (Read(&body, kReplyWait) != kFrame) return 0;
    genrpc__error_body e;
    if (!genrpc__decode_error(1, body.data(), body.size(), &e)) return 0;
    EXPECT_EQ(e.req_id, id);
    if (msg) msg->assign(e.message.p, e.message.len);
    return e.err;
  }

  // A Ping on this connection answered with the same text.
  bool PingWorks(uint64_t id, const std::string &text = "raw ping") {
    if (!Send(Request(GENRPC__K_CALL, id, 0, "test.Test", "Ping", PingPayload(text))))
      return false;
    Bytes body;
    if (Read(&body, kReplyWait) != kFrame) return false;
    genrpc__reply_body rb;
    if (!genrpc__decode_reply(1, body.data(), body.size(), &rb) || rb.req_id != id) return false;
    Test__PingReply *r = test__ping_reply__unpack(nullptr, rb.payload_len, rb.payload);
    bool ok = r && r->text && text == r->text;
    if (r) test__ping_reply__free_unpacked(r, nullptr);
    return ok;
  }

 private:
  int fd_;
  Bytes buf_;
};

// ---- well-behaved traffic on another connection -------------------------------

// Calls the victim from another node, over and over, on a thread of its
// own, checking every reply, until stopped.
class GoodTraffic {
 public:
  explicit GoodTraffic(genrpc_node *n) : node_(n), thread_([this] { Run(); }) {}
  ~GoodTraffic() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t ok() const { return ok_; }
  uint64_t failed() const { return failed_; }
  std::string first_failure() {
    std::lock_guard<std::mutex> g(mu_);
    return first_failure_;
  }

 private:
  void Run() {
    for (uint64_t i = 0; !stop_; i++) {
      std::string text = "good " + std::to_string(i);
      Test__PingRequest req = TEST__PING_REQUEST__INIT;
      req.text = const_cast<char *>(text.c_str());
      Test__PingReply *reply = nullptr;
      genrpc_status st{};
      genrpc_call_opts o = Opts(5000);
      int err = test__test__ping_call(node_, genrpc_node_target(kVictim), &req, &reply, &o, &st);
      if (err == GENRPC_OK && reply && text == reply->text) {
        ok_++;
      } else {
        failed_++;
        std::lock_guard<std::mutex> g(mu_);
        if (first_failure_.empty()) first_failure_ = Describe(err, st);
      }
      if (reply) test__ping_reply__free_unpacked(reply, nullptr);
      std::this_thread::sleep_for(Millis(2));
    }
  }
  genrpc_node *node_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ok_{0}, failed_{0};
  std::mutex mu_;
  std::string first_failure_;
  std::thread thread_;
};

// ---- the fixture ---------------------------------------------------------------

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(genrpc_test_state_init(&state_), 0);
    state_ok_ = true;
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = kVictim;
    cfg.cookie = kCookie;
    cfg.tcp_server_port = 0;
    cfg.authentication_timeout_ms = kAuthMs;
    cfg.max_frame_size = kMaxFrame;
    cfg.compression = GENRPC_COMPRESSION_ZSTD;  // for the compressed-frame tests
    cfg.worker_threads = 4;
    cfg.log_cb = &HostileTest::Log;
    cfg.log_arg = this;
    cfg.log_level = GENRPC_LOG_INFO;
    genrpc_status st{};
    ASSERT_EQ(genrpc_node_start(&cfg, &victim_, &st), GENRPC_OK) << st.message;
    ASSERT_EQ(genrpc_test_register_all(victim_, &state_), GENRPC_OK);

    NodeOptions o;
    o.name = kGood;
    o.addrs = {{kVictim, port()}};
    std::string error;
    good_ = Node::Start(o, &error);
    ASSERT_NE(good_, nullptr) << error;
    ASSERT_TRUE(PingOk(good_->get(), kVictim));
    ASSERT_EQ(Info().acceptors, 1);  // the good client's connection
    before_ = Info();
    traffic_ = std::make_unique<GoodTraffic>(good_->get());
    // Let it make some calls before the abuse starts.
    ASSERT_TRUE(Eventually([&] { return traffic_->ok() >= 3; }, Millis(5000)));
  }

  void TearDown() override {
    if (traffic_) {
      uint64_t seen = traffic_->ok();
      // The good client keeps being served after the abuse too.
      EXPECT_TRUE(Eventually([&] { return traffic_->ok() >= seen + 3; }, Millis(5000)));
      traffic_->Stop();
      EXPECT_EQ(traffic_->failed(), 0u) << "first failure: " << traffic_->first_failure();
      EXPECT_GT(traffic_->ok(), 0u);
    }
    if (victim_) {
      // Every hostile connection is gone; the good one is still there, and
      // it is the same connection all along.
      EXPECT_TRUE(Eventually([&] { return Info().acceptors == 1; }, kClosedByTimer))
          << "acceptors " << Info().acceptors;
      if (good_) {
        EXPECT_EQ(good_->Info().clients, 1);
        EXPECT_EQ(good_->Info().protocol_errors, 0u);
      }
    }
    traffic_.reset();
    good_.reset();
    if (victim_) genrpc_node_stop(victim_);
    if (state_ok_) genrpc_test_state_destroy(&state_);
  }

  static void Log(genrpc_log_level, const char *msg, void *arg) {
    auto *self = static_cast<HostileTest *>(arg);
    std::lock_guard<std::mutex> g(self->log_mu_);
    self->logs_.emplace_back(msg);
  }
  // Whether some log line contains `what`.
  bool Logged(const std::string &what) {
    std::lock_guard<std::mutex> g(log_mu_);
    for (auto &l : logs_)
      if (l.find(what) != std::string::npos) return true;
    return false;
  }
  bool EventuallyLogged(const std::string &what) {
    return Eventually([&] { return Logged(what); }, Millis(2000));
  }
  std::string AllLogs() {
    std::lock_guard<std::mutex> g(log_mu_);
    std::string s;
    for (auto &l : logs_) s += l + "\n";
    return s;
  }

  int port() { return genrpc_node_tcp_port(victim_); }
  genrpc_node_info Info() {
    genrpc_node_info i{};
    genrpc_node_get_info(victim_, &i);
    return i;
  }
  uint64_t ProtocolErrors() { return Info().protocol_errors - before_.protocol_errors; }
  uint64_t AuthFailures() { return Info().auth_failures - before_.auth_failures; }
  // An authenticated raw connection to the victim.
  std::unique_ptr<RawPeer> Authenticated() {
    auto p = RawPeer::Connect(port());
    EXPECT_NE(p, nullptr);
    if (p && !p->Handshake(kVictim)) {
      ADD_FAILURE() << "handshake failed";
      return nullptr;
    }
    return p;
  }
  // A real call from the good node, between two abuses.
  void GoodCall() { EXPECT_TRUE(PingOk(good_->get(), kVictim)); }

  genrpc_test_state state_{};
  bool state_ok_ = false;
  genrpc_node *victim_ = nullptr;
  std::unique_ptr<Node> good_;
  std::unique_ptr<GoodTraffic> traffic_;
  genrpc_node_info before_{};
  std::mutex log_mu_;
  std::vector<std::string> logs_;
};

// ---- random bytes ---------------------------------------------------------------

// Random bytes from the first byte on: whatever the first four bytes say,
// the connection is closed, at the latest by the authentication timer,
// and never with anything but a REJECT before that.
TEST_F(HostileTest, RandomBytesBeforeAuthentication) {
  for (uint32_t seed = 1; seed <= 8; seed++) {
    auto p = RawPeer::Connect(port());
    ASSERT_NE(p, nullptr);
    p->Send(RandomBytes(seed, 4096));
    Bytes body;
    RawPeer::Got g;
    while ((g = p->Read(&body, kClosedByTimer)) == RawPeer::kFrame) {
      uint8_t reason;
      EXPECT_TRUE(RawPeer::RejectReason(body, &reason)) << "seed " << seed;
    }
    EXPECT_EQ(g, RawPeer::kEof) << "seed " << seed << " not closed";
    GoodCall();
  }
  EXPECT_GE(ProtocolErrors(), 1u);
  EXPECT_EQ(AuthFailures(), 0u);
}

// Random bytes after AUTH_OK: closed as a protocol error (too long a frame
// or a malformed one), never answered.
TEST_F(HostileTest, RandomBytesAfterAuthentication) {
  int closed = 0;
  for (uint32_t seed = 1; seed <= 8; seed++) {
    auto p = Authenticated();
    ASSERT_NE(p, nullptr);
    Bytes junk = RandomBytes(seed, 4096);
    junk[0] |= 0x80;  // a length of more than 2 GiB: the connection cannot wait for it
    p->Send(junk);
    EXPECT_TRUE(p->Closed(kClosedFast)) << "seed " << seed;
    closed++;
    GoodCall();
  }
  EXPECT_TRUE(Eventually([&] { return ProtocolErrors() == 8u; }, Millis(2000)))
      << ProtocolErrors();
  EXPECT_TRUE(EventuallyLogged("(limit 1048576)")) << AllLogs();
  // Random *frames* (well-formed lengths, random bodies whose kind is not a
  // request): each closes its connection too.
  for (uint32_t seed = 100; seed < 108; seed++) {
    auto p = Authenticated();
    ASSERT_NE(p, nullptr);
    Bytes body = RandomBytes(seed, 64 + seed);
    if (body[0] == GENRPC__K_CALL || body[0] == GENRPC__K_CAST) body[0] = 0x7f;
    p->Send(Frame(body));
    EXPECT_TRUE(p->Closed(kClosedFast)) << "seed " << seed;
  }
  EXPECT_TRUE(Eventually([&] { return ProtocolErrors() == 16u; }, Millis(2000)))
      << ProtocolErrors();
}

// ---- a frame length of 4 GiB ----------------------------------------------------

TEST_F(HostileTest, FourGiBLengthBeforeAuthentication) {
  auto p = RawPeer::Connect(port());
  ASSERT_NE(p, nullptr);
  Stopwatch sw;
  p->Send(Bytes{0xff, 0xff, 0xff, 0xff, 0x01});
  EXPECT_TRUE(p->Closed(kClosedFast)) << "closed only by the timer, or not at all";
  EXPECT_LT(sw.ElapsedMs(), kAuthMs);
  EXPECT_TRUE(Eventually([&] { return ProtocolErrors() == 1u; }, Millis(2000)));
  EXPECT_TRUE(EventuallyLogged("frame of 4294967295 bytes (limit 600)")) << AllLogs();
}

TEST_F(HostileTest, FourGiBLengthAfterAuthentication) {
  auto p = Authenticated();
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->PingWorks(1));
  p->Send(Bytes{0xff, 0xff, 0xff, 0xff, GENRPC__K_CALL});
  EXPECT_TRUE(p->Closed(kClosedFast));
  EXPECT_TRUE(Eventually([&] { return ProtocolErrors() == 1u; }, Millis(2000)));
  EXPECT_TRUE(EventuallyLogged("frame of 4294967295 bytes (limit 1048576)")) << AllLogs();
}

// The limits are exact: 600 bytes pass before authentication (the body is
// then judged: a malformed HELLO, REJECT 4), 601 do not; max_frame_size
// passes after, max_frame_size + 1 does not; a length of 0 never does.
TEST_F(HostileTest, FrameLimitsAreExact) {
  {
    auto p = RawPeer::Connect(port());
    p->Send(Frame(Bytes(GENRPC__PREAUTH_MAX, GENRPC__K_HELLO)));
    Bytes body;
    ASSERT_EQ(p->Read(&body, kClosedFast), RawPeer::kFrame);
    uint8_t reason = 0;
    EXPECT_TRUE(RawPeer::RejectReason(body, &reason));
    EXPECT_EQ(reason, GENRPC__REJ_PROTOCOL);
    EXPECT_TRUE(p->Closed(kClosedFast));
  }
  {
    auto p = RawPeer::Connect(port());
    Bytes hdr(4);
    genrpc__put_u32(hdr.data(), GENRPC__PREAUTH_MAX + 1);
    p->Send(hdr);
    EXPECT_TRUE(p->Closed(kClosedFast));
    EXPECT_TRUE(EventuallyLogged("frame of 601 bytes (limit 600)")) << AllLogs();
  }
  {
    auto p = RawPeer::Connect(port());
    p->Send(Bytes{0, 0, 0, 0});
    EXPECT_TRUE(p->Closed(kClosedFast));
  }
  {
    // max_frame_size exactly: a request for an unknown module, answered.
    auto p = Authenticated();
    ASSERT_NE(p, nullptr);
    std::string module = "test.Nope";
    size_t hdr = genrpc__request_hdr_size(1, module.size(), 4, 0);
    Bytes payload(kMaxFrame - hdr, 0);
    EXPECT_EQ(p->CallExpectError(7, 0, module, "Ping", payload), GENRPC_E_UNDEF);
    // One more byte: closed.
    payload.push_back(0);
    p->Send(Request(GENRPC__K_CALL, 8, 0, module, "Ping", payload));
    EXPECT_TRUE(p->Closed(kClosedFast));
    EXPECT_TRUE(EventuallyLogged("frame of 1048577 bytes (limit 1048576)")) << AllLogs();
  }
  {
    auto p = Authenticated();
    ASSERT_NE(p, nullptr);
    p->Send(Bytes{0, 0, 0, 0});
    EXPECT_TRUE(p->Closed(kClosedFast));
  }
  EXPECT_TRUE(Eventually([&] { return ProtocolErrors() == 5u; }, Millis(2000)))
      << ProtocolErrors();
}

// ---- a truncated frame, then silence ----------------------------------------------

// Before authentication the timer closes it: not before, and not much after.
TEST_F(HostileTest, TruncatedFrameThenSilenceBeforeAuthentication) {
  auto p = RawPeer::Connect(port());
  ASSERT_NE(p, nullptr);
  Stopwatch sw;
  Bytes f = Frame(Bytes(100, GENRPC__K_HELLO));
  f.resize(20);
  p->Send(f);
  EXPECT_TRUE(p->Closed(kClosedByTimer));
  EXPECT_GE(sw.ElapsedMs(), kAuthMs - 50);
  EXPECT_TRUE(EventuallyLogged("not authenticated within 800 ms")) << AllLogs();
  EXPECT_EQ(ProtocolErrors(), 0u);
}

// After authentication there is no timer: the connection waits, nothing
// breaks meanwhile, and the rest of the frame is then served normally.
TEST_F(HostileTest, TruncatedFrameThenSilenceAfterAuthentication) {
  auto p = Authenticated();
  ASSERT_NE(p, nullptr);
  Bytes call = Request(GENRPC__K_CALL, 42, 0, "test.Test", "Ping", PingPayload("late half"));
  size_t half = call.size() / 2;
  p->Send(Bytes(call.begin(), call.begin() + static_cast<ptrdiff_t>(half)));
  EXPECT_TRUE(p->Quiet(Millis(2 * kAuthMs)));  // neither answered nor closed
  GoodCall();
  EXPECT_EQ(Info().acceptors, 2);
  p->Send(Bytes(call.begin() + static_cast<ptrdiff_t>(half), call.end()));
  Bytes body;
  ASSERT_EQ(p->Read(&body, kReplyWait), RawPeer::kFrame);
  genrpc__reply_body rb;
  ASSERT_TRUE(genrpc__decode_reply(1, body.data(), body.size(), &rb));
  EXPECT_EQ(rb.req_id, 42u);
  EXPECT_TRUE(p->PingWorks(43));
  EXPECT_EQ(ProtocolErrors(), 0u);
}

// ---- frames of an unknown kind -------------------------------------------------------

TEST_F(HostileTest, UnknownKindBeforeAuthentication) {
  auto p = RawPeer::Connect(port());
  ASSERT_NE(p, nullptr);
  p->Send(Frame(Bytes{0x7f, 1, 2, 3}));
  Bytes body;
  ASSERT_EQ(p->Read(&body, kClosedFast), RawPeer::kFrame);
  uint8_t reason = 0;
  EXPECT_TRUE(RawPeer::RejectReason(body, &reason));
  EXPECT_EQ(reason, GENRPC__REJ_PROTOCOL);
  EXPECT_TRUE(p->Closed(kClosedFast));
  EXPECT_TRUE(Eventually([&] { return ProtocolErrors() == 1u; }, Millis(2000)));
  EXPECT_TRUE(EventuallyLogged("malformed HELLO")) << AllLogs();
}

// After authentication: an unknown kind, a handshake frame again, and the
// server-to-client kinds sent to a server all close the connection.
TEST_F(HostileTest, UnknownOrMisplacedKindAfterAuthentication) {
  const Bytes bodies[] = {
      {0x7f, 1, 2, 3},
      {GENRPC__K_HELLO, 0x47, 0x4e, 0x52, 0x50},
      {GENRPC__K_AUTH_OK, 0},
      {GENRPC__K_REPLY, 0, 0, 0, 0, 0, 0, 0, 1},
      {GENRPC__K_ERROR, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0},
  };
  uint64_t n = 0;
  for (const Bytes &b : bodies) {
    auto p = Authenticated();
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(p->PingWorks(1));
    p->Send(Frame(b));
    EXPECT_TRUE(p->Closed(kClosedFast)) << "kind " << int(b[0]);
    n++;
    EXPECT_TRUE(Eventually([&] { return ProtocolErrors() == n; }, Millis(2000)));
    GoodCall();
  }
  EXPECT_TRUE(EventuallyLogged("unexpected frame kind 0x7f")) << AllLogs();
}

// ---- calls to what does not exist -------------------------------------------------------

TEST_F(HostileTest, UnknownModuleFunctionOrVersionGetErrorsAndTheConnectionStays) {
  auto p = Authenticated();
  ASSERT_NE(p, nullptr);
  Bytes ping = PingPayload("x");
  std::string msg;
  EXPECT_EQ(p->CallExpectError(1, 0, "test.Nope", "Ping", ping, &msg), GENRPC_E_UNDEF);
  EXPECT_NE(msg.find("test.Nope"), std::string::npos) << msg;
  EXPECT_EQ(p->CallExpectError(2, 0, "test.Test", "Nope", ping), GENRPC_E_UNDEF);
  EXPECT_EQ(p->CallExpectError(3, 9, "test.Test", "Ping", ping), GENRPC_E_INCOMPATIBLE);
  EXPECT_EQ(p->CallExpectError(4, 9, "test.Nope", "Ping", ping), GENRPC_E_INCOMPATIBLE);
  EXPECT_EQ(p->CallExpectError(5, 0, "test.Test", "Unimplemented", {}), GENRPC_E_UNDEF);
  EXPECT_EQ(p->CallExpectError(6, 0, "test.Test", "Secret", {}), GENRPC_E_UNAUTHORIZED);
  // Longest names (255 bytes), binary names, NULs in names.
  std::string longest(GENRPC__NAME_MAX, 'm');
  EXPECT_EQ(p->CallExpectError(7, 0, longest, longest, ping, &msg), GENRPC_E_UNDEF);
  EXPECT_LE(msg.size(), 1024u);
  EXPECT_EQ(p->CallExpectError(8, 0, std::string("test.Test\0x", 11), "Ping", ping),
            GENRPC_E_UNDEF);
  EXPECT_EQ(p->CallExpectError(9, 0, "test.Test", std::string("Ping\0", 5), ping),
            GENRPC_E_UNDEF);
  EXPECT_EQ(p->CallExpectError(10, 0, "\xff\xfe", "\x01", ping), GENRPC_E_UNDEF);
  GoodCall();
  // A CAST that fails the same checks is dropped and counted, never answered.
  uint64_t dropped = Info().casts_dropped;
  ASSERT_TRUE(p->Send(Request(GENRPC__K_CAST, 11, 0, "test.Nope", "Ping", ping)));
  ASSERT_TRUE(p->Send(Request(GENRPC__K_CAST, 12, 7, "test.Test", "Ping", ping)));
  EXPECT_TRUE(Eventually([&] { return Info().casts_dropped == dropped + 2; }, Millis(2000)));
  // Same connection, still usable, and nothing was answered to the casts.
  EXPECT_TRUE(p->PingWorks(13));
  EXPECT_EQ(ProtocolErrors(), 0u);
  EXPECT_EQ(Info().acceptors, 2);
}

// ---- undecodable payloads -----------------------------------------------------------------

TEST_F(HostileTest, UndecodablePayloadGetsBadargsAndTheConnectionStays) {
  auto p = Authenticated();
  ASSERT_NE(p, nullptr);
  const Bytes payloads[] = {
      {0xff, 0xff, 0xff},                                      // truncated varint key
      {0x0a, 0x7f, 'a'},                                       // string longer than the message
      {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f},                    // 4 GiB string length
      {0x0b},                                                  // start group: unsupported
      {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},  // 11-byte varint
  };
  uint64_t id = 100, badargs = 0;
  for (const Bytes &pl : payloads) {
    uint16_t err = p->CallExpectError(id++, 0, "test.Test", "Ping", pl);
    EXPECT_EQ(err, GENRPC_E_BADARGS) << "payload " << id - 100;
    badargs += err == GENRPC_E_BADARGS;
    GoodCall();
  }
  EXPECT_EQ(badargs, std::size(payloads));
  // Invalid UTF-8 in a proto3 string is *not* refused: protobuf-c does not
  // check it, so the handler gets the bytes as they are (docs/limits.md).
  ASSERT_TRUE(p->Send(Request(GENRPC__K_CALL, id, 0, "test.Test", "Ping", {0x0a, 0x02, 0xc3, 0x28})));
  Bytes body;
  ASSERT_EQ(p->Read(&body, kReplyWait), RawPeer::kFrame);
  EXPECT_EQ(body[0], GENRPC__K_REPLY);
  id++;
  // A sleep request with a string where a varint belongs.
  EXPECT_EQ(p->CallExpectError(id++, 0, "test.Test", "Sleep", {0x0a, 0x01, 'x'}),
            GENRPC_E_BADARGS);
  EXPECT_TRUE(p->PingWorks(id++));
  EXPECT_EQ(ProtocolErrors(), 0u);
}

// A malformed request header (not its payload) is a protocol error: closed.
TEST_F(HostileTest, MalformedRequestHeaderClosesTheConnection) {
  const Bytes bodies[] = {
      {GENRPC__K_CALL, 0, 0, 0},                                          // truncated id
      {GENRPC__K_CALL, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0},            // empty module
      {GENRPC__K_CALL, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 9, 'a'},       // module runs past
      {GENRPC__K_CAST, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 'a', 0},    // empty function
  };
  uint64_t n = 0;
  for (const Bytes &b : bodies) {
    auto p = Authenticated();
    ASSERT_NE(p, nullptr);
    p->Send(Frame(b));
    EXPECT_TRUE(p->Closed(kClosedFast)) << "body " << n;
    n++;
    EXPECT_TRUE(Eventually([&] { return ProtocolErrors() == n; }, Millis(2000)));
  }
  EXPECT_TRUE(EventuallyLogged("malformed request")) << AllLogs();
}

// ---- authentication failures -----------------------------------------------------------------

TEST_F(HostileTest, WrongCookieWrongNodeAndBadVersionAreRejected) {
  {
    auto p = RawPeer::Connect(port());
    uint8_t reason = 0;
    EXPECT_FALSE(p->Handshake(kVictim, "not the cookie", &reason));
    EXPECT_EQ(reason, GENRPC__REJ_COOKIE);
    EXPECT_TRUE(p->Closed(kClosedFast));
    EXPECT_TRUE(Eventually([&] { return AuthFailures() == 1u; }, Millis(2000)));
  }
  {
    auto p = RawPeer::Connect(port());
    uint8_t reason = 0;
    EXPECT_FALSE(p->Handshake("other@127.0.0.1", kCookie, &reason));
    EXPECT_EQ(reason, GENRPC__REJ_WRONG_NODE);
    EXPECT_TRUE(p->Closed(kClosedFast));
  }
  {
    auto p = RawPeer::Connect(port());
    uint8_t nonce[GENRPC__NONCE_LEN] = {0};
    genrpc__hello h{3, 9, nonce, {kRaw, strlen(kRaw)}, {kVictim, strlen(kVictim)}};
    Bytes f(GENRPC__PREAUTH_MAX);
    f.resize(genrpc__encode_hello(f.data(), f.size(), &h));
    p->Send(f);
    Bytes body;
    ASSERT_EQ(p->Read(&body, kClosedFast), RawPeer::kFrame);
    uint8_t reason = 0;
    EXPECT_TRUE(RawPeer::RejectReason(body, &reason));
    EXPECT_EQ(reason, GENRPC__REJ_VERSION);
    EXPECT_TRUE(p->Closed(kClosedFast));
  }
  {
    // A request before authenticating: refused as a malformed handshake.
    auto p = RawPeer::Connect(port());
    p->Send(Request(GENRPC__K_CALL, 1, 0, "test.Test", "Ping", PingPayload("x")));
    Bytes body;
    ASSERT_EQ(p->Read(&body, kClosedFast), RawPeer::kFrame);
    uint8_t reason = 0;
    EXPECT_TRUE(RawPeer::RejectReason(body, &reason));
    EXPECT_EQ(reason, GENRPC__REJ_PROTOCOL);
    EXPECT_TRUE(p->Closed(kClosedFast));
  }
  EXPECT_EQ(AuthFailures(), 1u);
  EXPECT_TRUE(Eventually([&] { return ProtocolErrors() == 3u; }, Millis(2000)))
      << ProtocolErrors();
  EXPECT_EQ(state_.count, 0u);
}

// ---- a flood of connections that never authenticate --------------------------------------------

TEST_F(HostileTest, FloodOfConnectionsThatNeverAuthenticate) {
  constexpr int kFlood = 200;
  std::vector<std::unique_ptr<RawPeer>> flood;
  for (int i = 0; i < kFlood; i++) {
    auto p = RawPeer::Connect(port());
    ASSERT_NE(p, nullptr) << "connection " << i;
    if (i % 2) {  // half say HELLO and stop there, half say nothing
      uint8_t nonce[GENRPC__NONCE_LEN] = {0};
      genrpc__hello h{1, 1, nonce, {kRaw, strlen(kRaw)}, {kVictim, strlen(kVictim)}};
      Bytes f(GENRPC__PREAUTH_MAX);
      f.resize(genrpc__encode_hello(f.data(), f.size(), &h));
      p->Send(f);
    }
    flood.push_back(std::move(p));
  }
  EXPECT_TRUE(Eventually([&] { return Info().acceptors == kFlood + 1; }, Millis(5000)))
      << Info().acceptors;
  GoodCall();
  Stopwatch sw;
  for (auto &p : flood) EXPECT_TRUE(p->Closed(kClosedByTimer));
  EXPECT_LT(sw.ElapsedMs(), kClosedByTimer.count());
  EXPECT_TRUE(Eventually([&] { return Info().acceptors == 1; }, Millis(2000)))
      << Info().acceptors;
  GoodCall();
  EXPECT_EQ(ProtocolErrors(), 0u);
}

// ---- a reply for a request id never sent ------------------------------------------------------------

// A fake server: authenticates the good node's client connection, then
// answers its first call with a REPLY and an ERROR for ids it never sent,
// then the real reply; answers the second call normally. Both calls
// succeed on one connection; the stray frames are counted as late replies.
TEST_F(HostileTest, ReplyForARequestIdNeverSent) {
  constexpr const char *kFake = "fake@127.0.0.1";
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
  ASSERT_EQ(listen(lfd, 4), 0);
  socklen_t alen = sizeof a;
  getsockname(lfd, reinterpret_cast<sockaddr *>(&a), &alen);
  int fake_port = ntohs(a.sin_port);

  NodeOptions o;
  o.name = "caller@127.0.0.1";
  o.addrs = {{kFake, fake_port}};
  std::string error;
  auto caller = Node::Start(o, &error);
  ASSERT_NE(caller, nullptr) << error;

  std::atomic<int> accepted{0};
  std::string fake_error;
  std::thread server([&] {
    auto fail = [&](const char *why) {
      if (fake_error.empty()) fake_error = why;
    };
    pollfd pl{lfd, POLLIN, 0};
    if (poll(&pl, 1, 5000) != 1) return fail("no connection");
    int fd = accept(lfd, nullptr, nullptr);
    accepted++;
    RawPeer s(fd);
    Bytes body;
    genrpc__hello h;
    if (s.Read(&body, kReplyWait) != RawPeer::kFrame ||
        !genrpc__decode_hello(body.data(), body.size(), &h))
      return fail("no HELLO");
    std::string from(h.from.p, h.from.len);
    uint8_t cnonce[GENRPC__NONCE_LEN], snonce[GENRPC__NONCE_LEN], mac[GENRPC__MAC_LEN];
    std::memcpy(cnonce, h.nonce, sizeof cnonce);
    genrpc__auth_nonce(snonce);
    genrpc__challenge ch{1, snonce, {kFake, strlen(kFake)}};
    Bytes f(GENRPC__PREAUTH_MAX);
    f.resize(genrpc__encode_challenge(f.data(), f.size(), &ch));
    s.Send(f);
    const uint8_t *proof;
    if (s.Read(&body, kReplyWait) != RawPeer::kFrame ||
        !genrpc__decode_mac(body.data(), body.size(), GENRPC__K_AUTH, &proof) ||
        !genrpc__auth_check(kCookie, strlen(kCookie), GENRPC__AUTH_CLIENT, cnonce, snonce,
                            from.data(), from.size(), kFake, strlen(kFake), proof))
      return fail("bad AUTH");
    genrpc__auth_mac(kCookie, strlen(kCookie), GENRPC__AUTH_SERVER, cnonce, snonce, from.data(),
                     from.size(), kFake, strlen(kFake), mac);
    f.assign(4 + 1 + GENRPC__MAC_LEN, 0);
    genrpc__encode_mac(f.data(), f.size(), GENRPC__K_AUTH_OK, mac);
    s.Send(f);
    for (int call = 0; call < 2; call++) {
      genrpc__request_hdr rq;
      if (s.Read(&body, kReplyWait) != RawPeer::kFrame ||
          !genrpc__decode_request(1, body.data(), body.size(), &rq))
        return fail("no CALL");
      Test__PingRequest *req = test__ping_request__unpack(nullptr, rq.payload_len, rq.payload);
      if (!req) return fail("bad Ping payload");
      Test__PingReply rep = TEST__PING_REPLY__INIT;
      rep.text = req->text;
      Bytes payload(test__ping_reply__get_packed_size(&rep));
      test__ping_reply__pack(&rep, payload.data());
      test__ping_request__free_unpacked(req, nullptr);
      auto reply = [&](uint64_t id) {
        Bytes r(4 + genrpc__reply_hdr_size(1, 0));
        genrpc__reply_body rb{};
        rb.proto = 1;
        rb.req_id = id;
        rb.payload_len = payload.size();
        genrpc__encode_reply_hdr(r.data(), r.size(), &rb);
        r.insert(r.end(), payload.begin(), payload.end());
        return r;
      };
      if (call == 0) {
        s.Send(reply(rq.req_id + 1000));  // never sent
        s.Send(reply(UINT64_MAX));
        genrpc__error_body e{1, rq.req_id + 2000, GENRPC_E_UNDEF, 0, {"stray", 5}, 0, {}};
        Bytes ef(64);
        ef.resize(genrpc__encode_error(ef.data(), ef.size(), &e));
        s.Send(ef);
      }
      s.Send(reply(rq.req_id));
    }
    // Keep the connection open until the caller is done with it.
    s.Closed(Millis(10000));
  });

  genrpc_node_info before = caller->Info();
  EXPECT_TRUE(PingOk(caller->get(), kFake));
  EXPECT_TRUE(Eventually(
      [&] { return caller->Info().late_replies == before.late_replies + 3; }, Millis(2000)))
      << caller->Info().late_replies;
  EXPECT_TRUE(PingOk(caller->get(), kFake));  // same connection
  EXPECT_EQ(accepted.load(), 1);
  EXPECT_EQ(caller->Info().clients, 1);
  EXPECT_EQ(caller->Info().clients_ready, 1);
  EXPECT_EQ(caller->Info().protocol_errors, before.protocol_errors);
  GoodCall();
  caller.reset();  // closes the connection: the fake server's thread ends
  server.join();
  close(lfd);
  EXPECT_TRUE(fake_error.empty()) << fake_error;
}

}  // namespace
}  // namespace genrpc_test

namespace genrpc_test {
// ---- compressed payloads (protocol version 2, zstd) -----------------------------

namespace {

// A version-2 CALL of test.Test:Ping whose payload is `zpayload`, flagged
// COMPRESSED.
Bytes CompressedPing(uint64_t id, const Bytes &zpayload) {
  genrpc__request_hdr h{};
  h.proto = 2;
  h.req_id = id;
  h.flags = GENRPC__F_COMPRESSED;
  h.module = {"test.Test", 9};
  h.function = {"Ping", 4};
  h.payload_len = zpayload.size();
  Bytes f(4 + genrpc__request_hdr_size(2, 9, 4, 0));
  EXPECT_EQ(genrpc__encode_request_hdr(f.data(), f.size(), GENRPC__K_CALL, &h), f.size());
  f.insert(f.end(), zpayload.begin(), zpayload.end());
  return f;
}

Bytes Zstd(const Bytes &plain) {
  Bytes z(ZSTD_compressBound(plain.size()));
  size_t n = ZSTD_compress(z.data(), z.size(), plain.data(), plain.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  z.resize(n);
  return z;
}

}  // namespace

// A compressed request that agreed on zstd is served like any other.
TEST_F(HostileTest, CompressedRequestIsServedWhereAgreed) {
  auto p = RawPeer::Connect(port());
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->Handshake(kVictim, kCookie, nullptr, kRaw, 2, kZstd));
  ASSERT_TRUE(p->Send(CompressedPing(1, Zstd(PingPayload(std::string(4000, 'z'))))));
  Bytes body;
  ASSERT_EQ(p->Read(&body, kReplyWait), RawPeer::kFrame);
  genrpc__reply_body rb;
  ASSERT_TRUE(genrpc__decode_reply(2, body.data(), body.size(), &rb));
  EXPECT_EQ(rb.req_id, 1u);
  EXPECT_EQ(ProtocolErrors(), 0u);
}

// The bomb: 150 bytes that expand to 16 MiB, past the victim's 1 MiB
// max_frame_size. Refused from the size the zstd frame declares, before
// anything is allocated for it: the connection closes.
TEST_F(HostileTest, DecompressionBombClosesTheConnection) {
  auto p = RawPeer::Connect(port());
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->Handshake(kVictim, kCookie, nullptr, kRaw, 2, kZstd));
  Bytes bomb = Zstd(Bytes(16u << 20, 0));
  ASSERT_LT(bomb.size(), 1024u);
  ASSERT_TRUE(p->Send(CompressedPing(1, bomb)));
  EXPECT_TRUE(p->Closed(kClosedFast));
  EXPECT_EQ(ProtocolErrors(), 1u);
  EXPECT_TRUE(EventuallyLogged("decompress")) << AllLogs();
  GoodCall();
}

// Just past the limit is refused too; a frame of exactly max_frame_size
// bytes decompressed is not (the bound is the node's frame limit).
TEST_F(HostileTest, DecompressedSizeLimitIsMaxFrameSize) {
  auto p = RawPeer::Connect(port());
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->Handshake(kVictim, kCookie, nullptr, kRaw, 2, kZstd));
  ASSERT_TRUE(p->Send(CompressedPing(1, Zstd(Bytes(kMaxFrame + 1, 0)))));
  EXPECT_TRUE(p->Closed(kClosedFast));
  EXPECT_EQ(ProtocolErrors(), 1u);
  auto q = RawPeer::Connect(port());
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Handshake(kVictim, kCookie, nullptr, kRaw, 2, kZstd));
  ASSERT_TRUE(q->Send(CompressedPing(2, Zstd(Bytes(kMaxFrame, 0)))));
  Bytes body;
  // not a Ping request (zeros): BADARGS, and the connection stays
  ASSERT_EQ(q->Read(&body, kReplyWait), RawPeer::kFrame);
  genrpc__error_body e;
  ASSERT_TRUE(genrpc__decode_error(2, body.data(), body.size(), &e));
  EXPECT_EQ(e.err, GENRPC_E_BADARGS);
  EXPECT_EQ(ProtocolErrors(), 1u);
}

// COMPRESSED where zstd was not agreed (no setting in AUTH), or a payload
// that is not zstd: closed.
TEST_F(HostileTest, CompressedFrameNotAgreedOrNotZstdClosesTheConnection) {
  auto p = RawPeer::Connect(port());
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->Handshake(kVictim, kCookie, nullptr, kRaw, 2, 0));
  ASSERT_TRUE(p->Send(CompressedPing(1, Zstd(PingPayload("x")))));
  EXPECT_TRUE(p->Closed(kClosedFast));
  auto q = RawPeer::Connect(port());
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Handshake(kVictim, kCookie, nullptr, kRaw, 2, kZstd));
  ASSERT_TRUE(q->Send(CompressedPing(2, PingPayload("not zstd at all"))));
  EXPECT_TRUE(q->Closed(kClosedFast));
  EXPECT_EQ(ProtocolErrors(), 2u);
}

}  // namespace genrpc_test
