// metadata_test - protocol version 2, part 2 (docs/calls.md, "Metadata",
// "Interceptors", "Compression"): headers that reach the handler, trailers
// that come back on REPLY and ERROR to every kind of caller, interceptors
// (a bearer-token check, a trace id through a nested call, the outcome hooks),
// and zstd payloads. Multi-process: the callee is a genrpc_test_node process,
// over TCP and TLS, speaking version 2 or pinned to version 1 (which drops
// metadata and never compresses).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "calls.genrpc.h"
#include "fixture.h"
#include "rows.h"

namespace {

using namespace genrpc_test;

constexpr const char *kCallee = "slave@127.0.0.1";

struct Peer {
  bool tls;
  int callee_protocol;
};

std::string PeerName(const ::testing::TestParamInfo<Peer> &p) {
  return std::string(p.param.tls ? "Tls" : "Tcp") + "V" + std::to_string(p.param.callee_protocol);
}

// A metadata set freed at scope end.
struct Md {
  genrpc_metadata *m = nullptr;
  Md() { EXPECT_EQ(genrpc_metadata_new(&m), GENRPC_OK); }
  ~Md() { genrpc_metadata_free(m); }
  std::string Get(const char *key) const {
    const void *v;
    size_t len;
    if (!genrpc_metadata_get(m, key, &v, &len)) return "<none>";
    return std::string(static_cast<const char *>(v), len);
  }
};

bool Has(char **lines, size_t n, const std::string &want) {
  for (size_t i = 0; i < n; i++)
    if (want == lines[i]) return true;
  return false;
}

std::vector<std::string> HelperArgs(const Peer &p, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--name", kCallee, "--port", "0", "--max-protocol",
                                   std::to_string(p.callee_protocol)};
  if (p.tls)
    args.insert(args.end(), {"--ssl-port", "0", "--tls-ca", CertFile("ca.pem"), "--tls-cert",
                             CertFile("slave.pem"), "--tls-key", CertFile("slave.key")});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

class MetadataTest : public ::testing::TestWithParam<Peer> {
 protected:
  void Start(std::vector<std::string> extra = {}, uint32_t compression = GENRPC_COMPRESSION_OFF,
             bool proxy = false) {
    std::string error;
    callee_ = HelperProcess::Spawn(HelperArgs(GetParam(), extra), &error);
    ASSERT_NE(callee_, nullptr) << error;
    NodeOptions o;
    o.compression = compression;
    if (proxy && !GetParam().tls) proxy_ = std::make_unique<RecordingProxy>(callee_->port());
    Reach(&o, kCallee,
          GetParam().tls ? callee_->ssl_port() : proxy_ ? proxy_->port() : callee_->port(),
          GetParam().tls);
    caller_ = Node::Start(o, &error);
    ASSERT_NE(caller_, nullptr) << error;
  }
  void TearDown() override {
    caller_.reset();
    proxy_.reset();
    if (callee_) callee_->ExpectCleanStop();
  }
  bool V2() const { return GetParam().callee_protocol >= 2; }
  genrpc_node *node() { return caller_->get(); }

  std::unique_ptr<HelperProcess> callee_;
  std::unique_ptr<RecordingProxy> proxy_;
  std::unique_ptr<Node> caller_;
};

TEST_P(MetadataTest, HeadersReachTheHandlerAndTrailersComeBack) {
  Start();
  Md headers, trailers;
  ASSERT_EQ(genrpc_metadata_add_str(headers.m, "user", "ada"), GENRPC_OK);
  const uint8_t bin[] = {0, 1, 2, 0xff};
  ASSERT_EQ(genrpc_metadata_add(headers.m, "bin", bin, sizeof bin), GENRPC_OK);
  genrpc_call_opts o = Opts(5000);
  o.headers = headers.m;
  o.trailers = trailers.m;
  Calls__Probe req = CALLS__PROBE__INIT;
  Calls__Seen *seen = nullptr;
  genrpc_status st;
  ASSERT_GENRPC_OK(
      calls__calls__meta_call(node(), genrpc_node_target(kCallee), &req, &seen, &o, &st), st);
  if (V2()) {
    EXPECT_TRUE(Has(seen->headers, seen->n_headers, "user=ada"));
    EXPECT_EQ(seen->n_headers, 2u);
    EXPECT_EQ(trailers.Get("echo-user"), "ada");
    EXPECT_EQ(trailers.Get("echo-bin"), std::string("\0\1\2\xff", 4));
    EXPECT_EQ(trailers.Get("handled-by"), kCallee);
  } else {
    EXPECT_EQ(seen->n_headers, 0u) << "version 1 carries no metadata";
    EXPECT_EQ(genrpc_metadata_count(trailers.m), 0u);
  }
  calls__seen__free_unpacked(seen, nullptr);
}

TEST_P(MetadataTest, TrailersComeBackWithAnError) {
  Start();
  Md headers, trailers;
  ASSERT_EQ(genrpc_metadata_add_str(headers.m, "why", "testing"), GENRPC_OK);
  genrpc_call_opts o = Opts(5000);
  o.headers = headers.m;
  o.trailers = trailers.m;
  Calls__Probe req = CALLS__PROBE__INIT;
  req.fail = true;
  Calls__Seen *seen = nullptr;
  genrpc_status st;
  int err = calls__calls__meta_call(node(), genrpc_node_target(kCallee), &req, &seen, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_HANDLER, GENRPC_CLASS_BADRPC, err, st);
  EXPECT_EQ(st.handler_code, 7);
  EXPECT_EQ(trailers.Get("echo-why"), V2() ? "testing" : "<none>");
}

// Promise and callback callers get their trailers too; a second call with
// the same set clears what the first left.
TEST_P(MetadataTest, PromisesAndCallbacksGetTrailers) {
  Start();
  Md headers, trailers;
  ASSERT_EQ(genrpc_metadata_add_str(headers.m, "k", "promise"), GENRPC_OK);
  genrpc_call_opts o = Opts(5000);
  o.headers = headers.m;
  o.trailers = trailers.m;
  Calls__Probe req = CALLS__PROBE__INIT;
  genrpc_promise *p = nullptr;
  genrpc_status st;
  ASSERT_GENRPC_OK(
      calls__calls__meta_async(node(), genrpc_node_target(kCallee), &req, &o, &p, &st), st);
  Calls__Seen *seen = nullptr;
  ASSERT_GENRPC_OK(calls__calls__meta_yield(p, &seen, &st), st);
  calls__seen__free_unpacked(seen, nullptr);
  genrpc_promise_free(p);
  EXPECT_EQ(trailers.Get("echo-k"), V2() ? "promise" : "<none>");

  Md headers2;
  ASSERT_EQ(genrpc_metadata_add_str(headers2.m, "c", "callback"), GENRPC_OK);
  o.headers = headers2.m;
  struct Done {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    int err = -1;
    std::string echo;
    genrpc_metadata *trailers;
  } d;
  d.trailers = trailers.m;
  auto cb = [](int err, const genrpc_status *, const Calls__Seen *, void *arg) {
    auto *d = static_cast<Done *>(arg);
    const void *v;
    size_t len;
    std::lock_guard<std::mutex> g(d->mu);
    d->err = err;
    if (genrpc_metadata_get(d->trailers, "echo-c", &v, &len))
      d->echo.assign(static_cast<const char *>(v), len);
    d->done = genrpc_metadata_get(d->trailers, "echo-k", nullptr, nullptr) ? false : true;
    d->cv.notify_all();
  };
  ASSERT_EQ(calls__calls__meta_async_cb(node(), genrpc_node_target(kCallee), &req, &o, cb, &d),
            GENRPC_OK);
  std::unique_lock<std::mutex> g(d.mu);
  ASSERT_TRUE(d.cv.wait_for(g, Millis(5000), [&] { return d.err != -1; }));
  EXPECT_EQ(d.err, GENRPC_OK);
  EXPECT_TRUE(d.done) << "the promise's trailers were cleared";
  EXPECT_EQ(d.echo, V2() ? "callback" : "");
}

// The bearer-token example (docs/calls.md): the callee's server interceptor
// refuses a request without the token before its handler runs. A version-1
// connection carries no headers, so there every call is refused.
TEST_P(MetadataTest, BearerTokenInterceptorRefusesCallsWithoutTheToken) {
  Start({"--require-token", "s3cret"});
  Calls__Probe req = CALLS__PROBE__INIT;
  Calls__Seen *seen = nullptr;
  genrpc_status st;
  genrpc_call_opts o = Opts(5000);
  int err = calls__calls__meta_call(node(), genrpc_node_target(kCallee), &req, &seen, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_UNAUTHORIZED, GENRPC_CLASS_BADRPC, err, st);
  EXPECT_NE(std::string(st.message).find("bearer token"), std::string::npos) << st.message;
  Md headers;
  ASSERT_EQ(genrpc_metadata_add_str(headers.m, "authorization", "Bearer wrong"), GENRPC_OK);
  o.headers = headers.m;
  err = calls__calls__meta_call(node(), genrpc_node_target(kCallee), &req, &seen, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_UNAUTHORIZED, GENRPC_CLASS_BADRPC, err, st);
  Md good;
  ASSERT_EQ(genrpc_metadata_add_str(good.m, "authorization", "Bearer s3cret"), GENRPC_OK);
  o.headers = good.m;
  err = calls__calls__meta_call(node(), genrpc_node_target(kCallee), &req, &seen, &o, &st);
  if (V2()) {
    ASSERT_GENRPC_OK(err, st);
    calls__seen__free_unpacked(seen, nullptr);
  } else {
    EXPECT_GENRPC_ERR(GENRPC_E_UNAUTHORIZED, GENRPC_CLASS_BADRPC, err, st);
  }
}

// Calls Meta twice with `blob` (the first request may be encoded before its
// connection is ready, so it goes uncompressed) and checks the echo.
void EchoBlobTwice(genrpc_node *n, const std::string &blob) {
  Calls__Probe req = CALLS__PROBE__INIT;
  req.blob.data = reinterpret_cast<uint8_t *>(const_cast<char *>(blob.data()));
  req.blob.len = blob.size();
  genrpc_status st;
  genrpc_call_opts o = Opts(5000);
  for (int i = 0; i < 2; i++) {
    Calls__Seen *seen = nullptr;
    ASSERT_GENRPC_OK(calls__calls__meta_call(n, genrpc_node_target(kCallee), &req, &seen, &o, &st),
                     st);
    EXPECT_EQ(std::string(reinterpret_cast<char *>(seen->blob.data), seen->blob.len), blob);
    calls__seen__free_unpacked(seen, nullptr);
  }
}

// zstd: a compressible 64 KB blob round-trips; over TCP (through a
// recording proxy) far fewer bytes cross the wire both ways when both sides
// compress, and all of them when the callee speaks version 1.
TEST_P(MetadataTest, CompressedPayloadsRoundTrip) {
  Start({"--compression"}, GENRPC_COMPRESSION_ZSTD, /*proxy=*/true);
  std::string blob;
  for (int i = 0; blob.size() < 65536; i++) blob += "line " + std::to_string(i % 100) + " of text\n";
  EchoBlobTwice(node(), blob);
  if (proxy_) {
    size_t up = proxy_->ClientToServer().size(), down = proxy_->ServerToClient().size();
    if (V2()) {
      EXPECT_LT(up, blob.size() + blob.size() / 2) << "one of two requests compressed";
      EXPECT_LT(down, blob.size() / 2) << "both replies compressed";
    } else {
      EXPECT_GT(up, 2 * blob.size());
      EXPECT_GT(down, 2 * blob.size());
    }
  }
}

TEST_P(MetadataTest, NoCompressionWhenTheCalleeDoesNotAgree) {
  Start({}, GENRPC_COMPRESSION_ZSTD, /*proxy=*/true);
  EchoBlobTwice(node(), std::string(65536, 'a'));
  if (proxy_) {
    EXPECT_GT(proxy_->ClientToServer().size(), 2 * 65536u);
    EXPECT_GT(proxy_->ServerToClient().size(), 2 * 65536u);
  }
}

INSTANTIATE_TEST_SUITE_P(Peers, MetadataTest,
                         ::testing::Values(Peer{false, 2}, Peer{true, 2}, Peer{false, 1},
                                           Peer{true, 1}),
                         PeerName);

// ---- the trace-id example: through a nested call between two processes ------

TEST(MetadataTrace, TraceIdFollowsTheCallThroughNestedCalls) {
  std::string error;
  auto back = HelperProcess::Spawn({"--name", "back@127.0.0.1", "--port", "0", "--trace"}, &error);
  ASSERT_NE(back, nullptr) << error;
  auto front = HelperProcess::Spawn({"--name", "front@127.0.0.1", "--port", "0", "--trace",
                                     "--node", "back@127.0.0.1=" + std::to_string(back->port())},
                                    &error);
  ASSERT_NE(front, nullptr) << error;
  NodeOptions o;
  o.addrs = {{"front@127.0.0.1", front->port()}};
  auto caller = Node::Start(o, &error);
  ASSERT_NE(caller, nullptr) << error;
  Md headers;
  ASSERT_EQ(genrpc_metadata_add_str(headers.m, "trace-id", "t-42"), GENRPC_OK);
  genrpc_call_opts opts = Opts(5000);
  opts.headers = headers.m;
  Calls__Probe req = CALLS__PROBE__INIT;
  req.via = const_cast<char *>("back@127.0.0.1");
  Calls__Seen *seen = nullptr;
  genrpc_status st;
  ASSERT_GENRPC_OK(calls__calls__meta_call(caller->get(), genrpc_node_target("front@127.0.0.1"),
                                           &req, &seen, &opts, &st),
                   st);
  EXPECT_EQ(seen->nested_err, GENRPC_OK);
  EXPECT_TRUE(Has(seen->headers, seen->n_headers, "trace-id=t-42"));
  EXPECT_TRUE(Has(seen->nested_headers, seen->n_nested_headers, "trace-id=t-42"))
      << "the nested call carried the trace id";
  calls__seen__free_unpacked(seen, nullptr);
  // Without a trace id the nested call carries none.
  opts.headers = nullptr;
  ASSERT_GENRPC_OK(calls__calls__meta_call(caller->get(), genrpc_node_target("front@127.0.0.1"),
                                           &req, &seen, &opts, &st),
                   st);
  EXPECT_EQ(seen->n_nested_headers, 0u);
  calls__seen__free_unpacked(seen, nullptr);
  caller.reset();
  front->ExpectCleanStop();
  back->ExpectCleanStop();
}

// ---- in-process: the API's limits and the interceptors' order ----------------

TEST(MetadataApi, BadKeysAndLimitsAreTheCallersError) {
  Md md;
  EXPECT_EQ(genrpc_metadata_add_str(md.m, "", "x"), GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_metadata_add_str(md.m, "Upper", "x"), GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_metadata_add_str(md.m, "genrpc-reserved", "x"), GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_metadata_add_str(md.m, std::string(65, 'k').c_str(), "x"), GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_metadata_add_str(md.m, std::string(64, 'k').c_str(), "x"), GENRPC_OK);
  std::string big(GENRPC_METADATA_MAX_BYTES, 'v');
  EXPECT_EQ(genrpc_metadata_add(md.m, "big", big.data(), big.size()), GENRPC_E_TOO_BIG);
  EXPECT_EQ(genrpc_metadata_count(md.m), 1u) << "unchanged by a refused add";
  genrpc_metadata_clear(md.m);
  for (int i = 0; i < GENRPC_METADATA_MAX_ENTRIES; i++)
    ASSERT_EQ(genrpc_metadata_add_str(md.m, "k", "v"), GENRPC_OK);
  EXPECT_EQ(genrpc_metadata_add_str(md.m, "k", "v"), GENRPC_E_TOO_BIG);
  char key[GENRPC_METADATA_KEY_MAX + 1];
  const void *v;
  size_t len;
  ASSERT_TRUE(genrpc_metadata_at(md.m, 63, key, &v, &len));
  EXPECT_STREQ(key, "k");
  EXPECT_FALSE(genrpc_metadata_at(md.m, 64, key, &v, &len));
}

struct Recorder {
  std::mutex mu;
  std::vector<std::string> events;
  int refuse_at = -1;  // this interceptor's `before` refuses
  void Add(const std::string &e) {
    std::lock_guard<std::mutex> g(mu);
    events.push_back(e);
  }
};

struct Hook {
  Recorder *r;
  int id;
};

int HookBefore(void *arg, const genrpc_call_info *info, genrpc_metadata *md, genrpc_status *st) {
  auto *h = static_cast<Hook *>(arg);
  h->r->Add(std::string(info->is_server ? "s" : "c") + "before" + std::to_string(h->id) + " " +
            info->module + ":" + info->function);
  if (!info->is_server) genrpc_metadata_add_str(md, ("added-" + std::to_string(h->id)).c_str(), "1");
  if (h->r->refuse_at == h->id) {
    snprintf(st->message, sizeof st->message, "no");
    return GENRPC_E_UNAUTHORIZED;
  }
  return GENRPC_OK;
}

void HookAfter(void *arg, const genrpc_call_info *info, const genrpc_status *st, int64_t ns) {
  auto *h = static_cast<Hook *>(arg);
  EXPECT_GE(ns, 0);
  h->r->Add(std::string(info->is_server ? "s" : "c") + "after" + std::to_string(h->id) + " " +
            genrpc_err_name(st->err));
}

TEST(MetadataInterceptors, OrderAddedHeadersRefusalAndOutcome) {
  std::string error;
  NodeOptions o;
  auto n = Node::StartSelf(o, &error);
  ASSERT_NE(n, nullptr) << error;
  Recorder r;
  Hook h1{&r, 1}, h2{&r, 2};
  genrpc_interceptor i1{HookBefore, HookAfter, &h1}, i2{HookBefore, HookAfter, &h2};
  ASSERT_EQ(genrpc_node_add_client_interceptor(n->get(), &i1), GENRPC_OK);
  ASSERT_EQ(genrpc_node_add_client_interceptor(n->get(), &i2), GENRPC_OK);
  ASSERT_EQ(genrpc_node_add_server_interceptor(n->get(), &i1), GENRPC_OK);
  genrpc_interceptor none{nullptr, nullptr, nullptr};
  EXPECT_EQ(genrpc_node_add_server_interceptor(n->get(), &none), GENRPC_E_INVAL);
  Calls__Probe req = CALLS__PROBE__INIT;
  Calls__Seen *seen = nullptr;
  genrpc_status st;
  genrpc_call_opts opts = Opts(5000);
  const char *self = genrpc_node_name(n->get());
  ASSERT_GENRPC_OK(
      calls__calls__meta_call(n->get(), genrpc_node_target(self), &req, &seen, &opts, &st), st);
  EXPECT_TRUE(Has(seen->headers, seen->n_headers, "added-1=1"));
  EXPECT_TRUE(Has(seen->headers, seen->n_headers, "added-2=1"));
  calls__seen__free_unpacked(seen, nullptr);
  {
    std::lock_guard<std::mutex> g(r.mu);
    std::vector<std::string> want = {"cbefore1 calls.Calls:Meta", "cbefore2 calls.Calls:Meta",
                                     "sbefore1 calls.Calls:Meta", "safter1 OK", "cafter2 OK",
                                     "cafter1 OK"};
    EXPECT_EQ(r.events, want);
    r.events.clear();
  }
  // The second client interceptor refuses: nothing is sent; both are told.
  r.refuse_at = 2;
  int err = calls__calls__meta_call(n->get(), genrpc_node_target(self), &req, &seen, &opts, &st);
  EXPECT_EQ(err, GENRPC_E_UNAUTHORIZED);
  EXPECT_NE(std::string(st.message).find("no"), std::string::npos);
  {
    std::lock_guard<std::mutex> g(r.mu);
    std::vector<std::string> want = {"cbefore1 calls.Calls:Meta", "cbefore2 calls.Calls:Meta",
                                     "cafter2 UNAUTHORIZED", "cafter1 UNAUTHORIZED"};
    EXPECT_EQ(r.events, want);
  }
}

}  // namespace
