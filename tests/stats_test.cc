// Statistics (genrpc/stats.h, docs/stats.md): the snapshot tree after
// known calls between two in-process nodes (exact counts where the calls
// make them so, bytes matched across the two ends, percentiles sane), the
// histogram's quantiles, the tree's API on bad input, the built-in module
// genrpc.Stats answering the same tree (through `genrpc stats --json`),
// switched off and refused by the policy, and `genrpc top --once`, the
// command run as a process (bounded) against an in-process node.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <jansson.h>

#include <atomic>  // before base/stats.h, which uses std::atomic in C++
#include <chrono>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "base/stats.h"
}
#include "cli.pb-c.h"
#include "cli_shop.h"
#include "fixture.h"
#include "genrpc/genrpc.h"

namespace {

using genrpc_test::Eventually;
using genrpc_test::kCookie;
using genrpc_test::Millis;

constexpr const char *kShop = "shop@127.0.0.1";
constexpr const char *kCaller = "caller@127.0.0.1";

// ---- the histogram ----------------------------------------------------------

TEST(StatsHist, QuantilesFallInTheRightBucket) {
  genrpc__hist h{};
  genrpc__hist_copy c;
  genrpc__hist_read(&h, &c);
  EXPECT_EQ(c.n, 0u);
  EXPECT_EQ(genrpc__hist_quantile(&c, 0.5), 0u);  // empty
  for (int i = 0; i < 98; i++) genrpc__hist_add(&h, 1000);  // bucket [512, 1024)
  genrpc__hist_add(&h, 5000);                               // [4096, 8192)
  genrpc__hist_add(&h, 1000000);                            // [524288, 1048576)
  genrpc__hist_read(&h, &c);
  EXPECT_EQ(c.n, 100u);
  uint64_t p50 = genrpc__hist_quantile(&c, 0.50), p99 = genrpc__hist_quantile(&c, 0.99),
           p100 = genrpc__hist_quantile(&c, 1.0);
  EXPECT_GE(p50, 512u);
  EXPECT_LT(p50, 1024u);
  EXPECT_GE(p99, 4096u);
  EXPECT_LT(p99, 8192u);
  EXPECT_GE(p100, 524288u);
  EXPECT_LT(p100, 1048576u);
  genrpc__hist_add(&h, 0);
  genrpc__hist_add(&h, UINT64_MAX);  // the last bucket holds everything above
  genrpc__hist_read(&h, &c);
  EXPECT_EQ(c.n, 102u);
  EXPECT_EQ(c.b[0], 1u);
  EXPECT_EQ(c.b[GENRPC__HIST_BUCKETS - 1], 1u);
}

// ---- two in-process nodes -----------------------------------------------------

// The shop serving clitest.Shop, and a caller node that knows its port.
class Pair {
 public:
  explicit Pair(uint32_t builtins_off = 0,
                genrpc_module_control control = GENRPC_CONTROL_DISABLED,
                std::vector<const char *> list = {}, int64_t shop_idle_ms = GENRPC_INFINITY)
      : list_(std::move(list)) {
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = kShop;
    cfg.cookie = kCookie;
    cfg.tcp_server_port = 0;
    cfg.builtins_off = builtins_off;
    cfg.module_control = control;
    cfg.module_list = list_.data();
    cfg.n_module_list = list_.size();
    cfg.server_inactivity_timeout_ms = shop_idle_ms;
    genrpc_status st;
    EXPECT_EQ(genrpc_node_start(&cfg, &shop_, &st), GENRPC_OK) << st.message;
    if (!shop_) return;
    EXPECT_EQ(cli_shop_register(shop_), GENRPC_OK);
    cli_shop_forget();
    addr_ = {kShop, GENRPC_DRIVER_TCP, genrpc_node_tcp_port(shop_)};
    genrpc_node_config_init(&cfg);
    cfg.name = kCaller;
    cfg.cookie = kCookie;
    cfg.tcp_server_port = GENRPC_PORT_DISABLED;
    cfg.node_addrs = &addr_;
    cfg.n_node_addrs = 1;
    EXPECT_EQ(genrpc_node_start(&cfg, &caller_, &st), GENRPC_OK) << st.message;
  }
  ~Pair() {
    if (caller_) genrpc_node_stop(caller_);
    if (shop_) genrpc_node_stop(shop_);
  }
  genrpc_node *shop() const { return shop_; }
  genrpc_node *caller() const { return caller_; }
  std::string port() const { return std::to_string(addr_.port); }

  // A call from the caller to the shop; returns its genrpc error.
  int Call(const char *module, const char *function, const std::string &request,
           std::string *reply = nullptr, genrpc_status *st_out = nullptr) {
    void *r = nullptr;
    size_t len = 0;
    genrpc_status st;
    genrpc_call_opts opts = GENRPC_CALL_OPTS_INIT;
    opts.timeout_ms = 5000;
    int rc = genrpc_call_raw(caller_, genrpc_node_target(kShop), module, function,
                             request.data(), request.size(), &r, &len, &opts, &st);
    if (reply) reply->assign(static_cast<char *>(r), r ? len : 0);
    if (st_out) *st_out = st;
    free(r);
    return rc;
  }

 private:
  genrpc_node *shop_ = nullptr, *caller_ = nullptr;
  genrpc_node_addr addr_{};
  std::vector<const char *> list_;
};

// A snapshot, freed by the destructor.
struct Snapshot {
  genrpc_stat *root = nullptr;
  explicit Snapshot(genrpc_node *node) { EXPECT_EQ(genrpc_stats_get(node, &root), GENRPC_OK); }
  ~Snapshot() { genrpc_stats_free(root); }
  // The value at `path`; fails the test (and returns UINT64_MAX) when absent.
  uint64_t operator[](const std::string &path) const {
    const genrpc_stat *st = genrpc_stat_find(root, path.c_str());
    EXPECT_NE(st, nullptr) << path;
    return st ? genrpc_stat_value(st) : UINT64_MAX;
  }
  bool Has(const std::string &path) const {
    return genrpc_stat_find(root, path.c_str()) != nullptr;
  }
};

std::string Note(const char *text) {
  Clitest__Note n = CLITEST__NOTE__INIT;
  n.text = const_cast<char *>(text);
  std::string bytes(clitest__note__get_packed_size(&n), '\0');
  clitest__note__pack(&n, reinterpret_cast<uint8_t *>(&bytes[0]));
  return bytes;
}

const std::string kFn = "functions/clitest.Shop/";

TEST(Stats, CountsKnownCallsExactly) {
  Pair p;
  ASSERT_TRUE(p.shop() && p.caller());
  for (int i = 0; i < 5; i++) ASSERT_EQ(p.Call("clitest.Shop", "Order", ""), GENRPC_OK);
  genrpc_status st;
  for (int i = 0; i < 2; i++) {
    ASSERT_EQ(p.Call("clitest.Shop", "Fail", Note("no pears"), nullptr, &st), GENRPC_E_HANDLER);
    EXPECT_EQ(st.handler_code, 42);
  }
  // undecodable: an Order whose field 1 (a string) is cut short
  ASSERT_EQ(p.Call("clitest.Shop", "Order", std::string("\x0a\x05" "ab", 4)), GENRPC_E_BADARGS);
  genrpc_status cst;
  ASSERT_EQ(genrpc_cast_raw(p.caller(), genrpc_node_target(kShop), "clitest.Shop", "Remember",
                            "", 0, nullptr, &cst),
            GENRPC_OK);
  ASSERT_TRUE(Eventually(
      [&] { return Snapshot(p.shop())[kFn + "Remember/calls"] == 1; }, Millis(5000)));

  Snapshot s(p.shop());
  ASSERT_NE(s.root, nullptr);
  EXPECT_STREQ(genrpc_stat_name(s.root), kShop);
  EXPECT_EQ(genrpc_stat_type(s.root), GENRPC_STAT_SCOPE);
  EXPECT_EQ(s[kFn + "Order/calls"], 6u);
  EXPECT_EQ(s[kFn + "Order/ran"], 6u);
  EXPECT_EQ(s[kFn + "Order/errors"], 1u);
  EXPECT_EQ(s[kFn + "Order/errors_by_code/BADARGS"], 1u);
  EXPECT_FALSE(s.Has(kFn + "Order/errors_by_code/HANDLER"));
  EXPECT_EQ(s[kFn + "Fail/calls"], 2u);
  EXPECT_EQ(s[kFn + "Fail/errors"], 2u);
  EXPECT_EQ(s[kFn + "Fail/errors_by_code/HANDLER"], 2u);
  EXPECT_EQ(s[kFn + "Recall/calls"], 0u);
  EXPECT_EQ(s[kFn + "Recall/p50_ns"], 0u);  // no sample, no latency
  EXPECT_EQ(s["functions/clitest.Shop/version"], 2u);
  EXPECT_EQ(s["node/calls_served"], 8u);  // 6 orders (one undecodable: not), 2 fails, the cast
  // percentiles: ordered, and under the 5 s the calls were given
  uint64_t p50 = s[kFn + "Order/p50_ns"], p99 = s[kFn + "Order/p99_ns"];
  EXPECT_GT(p50, 0u);
  EXPECT_LE(p50, p99);
  EXPECT_LT(p99, 5000000000ull);
  const genrpc_stat *lat = genrpc_stat_find(s.root, (kFn + "Order/p99_ns").c_str());
  EXPECT_EQ(genrpc_stat_unit(lat), GENRPC_STAT_UNIT_NANOS);
  EXPECT_EQ(genrpc_stat_type(lat), GENRPC_STAT_LEVEL);

  // the shop's side of the connection
  std::string a = std::string("peers/") + kCaller + "/acceptor-0/";
  EXPECT_EQ(s[std::string("peers/") + kCaller + "/accepts"], 1u);
  EXPECT_EQ(s[std::string("peers/") + kCaller + "/accepts_closed"], 0u);
  EXPECT_EQ(s[a + "errors"], 3u);  // 2 handler failures, 1 undecodable
  EXPECT_EQ(s[a + "queued_requests"], 0u);
  EXPECT_EQ(s[a + "protocol"], 2u);
  EXPECT_GE(s[a + "frames_in"], 8u);  // 8 calls (the cast's frame may not be counted yet)
  EXPECT_GE(s[a + "frames_out"], 8u);
  EXPECT_GT(s[a + "bytes_in"], 0u);

  // the caller's side: the same bytes, the other way round
  Snapshot c(p.caller());
  std::string k = std::string("peers/") + kShop + "/client-0/";
  EXPECT_EQ(c[std::string("peers/") + kShop + "/connects"], 1u);
  EXPECT_EQ(c[std::string("peers/") + kShop + "/reconnects"], 0u);
  EXPECT_EQ(c[k + "errors"], 3u);
  EXPECT_EQ(c[k + "calls_in_flight"], 0u);
  EXPECT_EQ(c[k + "calls"], 8u);  // answered: 5 + 1 orders, 2 fails (the cast is not a call)
  EXPECT_GT(c[k + "p50_ns"], 0u);
  EXPECT_LE(c[k + "p50_ns"], c[k + "p99_ns"]);
  EXPECT_LT(c[k + "p99_ns"], 5000000000ull);
  // the same frames and bytes, the other way round; in a moment: a writer
  // counts its bytes once its writev returned, a reader its frames once it
  // handled all it read (the cast may run before)
  EXPECT_TRUE(Eventually(
      [&] {
        Snapshot s2(p.shop()), c2(p.caller());
        return c2[k + "frames_out"] == s2[a + "frames_in"] &&
               c2[k + "frames_in"] == s2[a + "frames_out"] &&
               c2[k + "bytes_out"] == s2[a + "bytes_in"] &&
               c2[k + "bytes_in"] == s2[a + "bytes_out"];
      },
      Millis(5000)));
  EXPECT_GT(c[k + "bytes_out"], 8u * 10);  // 8 requests of >= 10 bytes each
  EXPECT_FALSE(c.Has("functions/clitest.Shop"));  // the caller serves only the built-ins
  EXPECT_TRUE(c.Has("functions/genrpc.Stats/Get/calls"));
}

TEST(Stats, ReconnectsAreCountedPerPeer) {
  // the shop closes a connection idle for 200 ms; the next call dials again
  Pair p(0, GENRPC_CONTROL_DISABLED, {}, 200);
  ASSERT_TRUE(p.shop() && p.caller());
  ASSERT_EQ(p.Call("clitest.Shop", "Order", ""), GENRPC_OK);
  ASSERT_TRUE(Eventually(
      [&] {
        Snapshot c(p.caller());
        return !c.Has(std::string("peers/") + kShop + "/client-0");
      },
      Millis(5000)));
  ASSERT_EQ(p.Call("clitest.Shop", "Order", ""), GENRPC_OK);
  Snapshot c(p.caller());
  EXPECT_EQ(c[std::string("peers/") + kShop + "/connects"], 2u);
  EXPECT_EQ(c[std::string("peers/") + kShop + "/reconnects"], 1u);
  EXPECT_EQ(c[std::string("peers/") + kShop + "/disconnects"], 1u);
  EXPECT_TRUE(c.Has(std::string("peers/") + kShop + "/client-0"));  // the new one
  Snapshot s(p.shop());
  EXPECT_EQ(s[std::string("peers/") + kCaller + "/accepts"], 2u);
  EXPECT_EQ(s[std::string("peers/") + kCaller + "/accepts_closed"], 1u);
  EXPECT_EQ(s[kFn + "Order/calls"], 2u);
}

TEST(Stats, TheApiTakesBadArgumentsCalmly) {
  genrpc_stat *root = reinterpret_cast<genrpc_stat *>(1);
  EXPECT_EQ(genrpc_stats_get(nullptr, &root), GENRPC_E_INVAL);
  EXPECT_EQ(root, nullptr);
  Pair p;
  ASSERT_TRUE(p.shop());
  EXPECT_EQ(genrpc_stats_get(p.shop(), nullptr), GENRPC_E_INVAL);
  genrpc_stats_free(nullptr);
  EXPECT_EQ(genrpc_stat_child(nullptr), nullptr);
  EXPECT_EQ(genrpc_stat_next(nullptr), nullptr);
  EXPECT_EQ(genrpc_stat_find(nullptr, "node"), nullptr);
  EXPECT_STREQ(genrpc_stat_name(nullptr), "");
  EXPECT_STREQ(genrpc_stat_string(nullptr), "");
  EXPECT_EQ(genrpc_stat_value(nullptr), 0u);
  Snapshot s(p.shop());
  EXPECT_EQ(genrpc_stat_find(s.root, nullptr), nullptr);
  EXPECT_EQ(genrpc_stat_find(s.root, "no/such/path"), nullptr);
  EXPECT_EQ(genrpc_stat_find(s.root, ""), s.root);
  // every child of the root is a scope with a description, walked in order
  std::vector<std::string> names;
  for (const genrpc_stat *c = genrpc_stat_child(s.root); c; c = genrpc_stat_next(c)) {
    names.push_back(genrpc_stat_name(c));
    EXPECT_EQ(genrpc_stat_type(c), GENRPC_STAT_SCOPE);
    EXPECT_STRNE(genrpc_stat_desc(c), "");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"node", "peers", "functions"}));
}

// ---- the built-in module ---------------------------------------------------------

TEST(Stats, TheBuiltInModuleIsSwitchedOffAndGovernedByPolicy) {
  {
    Pair on;
    ASSERT_TRUE(on.caller());
    std::string reply;
    ASSERT_EQ(on.Call("genrpc.Stats", "Get", "", &reply), GENRPC_OK);
    EXPECT_NE(reply.find(kShop), std::string::npos);  // the root's name
    EXPECT_NE(reply.find("clitest.Shop"), std::string::npos);
  }
  {
    Pair off(GENRPC_BUILTIN_STATS);
    ASSERT_TRUE(off.caller());
    EXPECT_EQ(off.Call("genrpc.Stats", "Get", ""), GENRPC_E_UNDEF);
    EXPECT_EQ(off.Call("genrpc.Health", "Check", ""), GENRPC_OK);  // the others stay
    Snapshot s(off.shop());  // the in-process tree does not need the module
    EXPECT_FALSE(s.Has("functions/genrpc.Stats"));
    EXPECT_TRUE(s.Has("functions/clitest.Shop/Order/calls"));
  }
  {
    Pair black(0, GENRPC_CONTROL_BLACKLIST, {"genrpc.Stats"});
    ASSERT_TRUE(black.caller());
    EXPECT_EQ(black.Call("genrpc.Stats", "Get", ""), GENRPC_E_UNAUTHORIZED);
  }
  {
    Pair white(0, GENRPC_CONTROL_WHITELIST, {"clitest.Shop"});
    ASSERT_TRUE(white.caller());
    EXPECT_EQ(white.Call("genrpc.Stats", "Get", ""), GENRPC_E_UNAUTHORIZED);
    EXPECT_EQ(white.Call("clitest.Shop", "Order", ""), GENRPC_OK);
  }
  genrpc_node_config cfg;
  genrpc_node_config_init(&cfg);
  cfg.name = "bad@127.0.0.1";
  cfg.cookie = kCookie;
  cfg.tcp_server_port = GENRPC_PORT_DISABLED;
  cfg.builtins_off = 0x80;
  genrpc_node *node = nullptr;
  genrpc_status st;
  EXPECT_EQ(genrpc_node_start(&cfg, &node, &st), GENRPC_E_INVAL);
  EXPECT_EQ(node, nullptr);
}

// ---- the command ------------------------------------------------------------------

struct Result {
  int status = -1;  // -1: killed after 30 s
  std::string out, err;
};

// Runs the genrpc command (bounded: 30 s, then SIGKILL).
Result RunCli(std::vector<std::string> args) {
  args.insert(args.begin(), GENRPC_CLI_PATH);
  std::vector<char *> argv;
  for (auto &s : args) argv.push_back(const_cast<char *>(s.c_str()));
  argv.push_back(nullptr);
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return {};
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  Result r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  pollfd pfd[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string *dst[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(pfd, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; i++) {
      if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(pfd[i].fd, buf, sizeof buf);
      if (n > 0) {
        dst[i]->append(buf, n);
      } else {
        close(pfd[i].fd);
        pfd[i].fd = -1;
        open_fds--;
      }
    }
  }
  for (auto &q : pfd)
    if (q.fd >= 0) close(q.fd);
  if (open_fds > 0) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = open_fds == 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<std::string> Args(const Pair &p, const std::string &cmd,
                              std::vector<std::string> rest = {}) {
  std::vector<std::string> a{cmd, kShop};
  a.insert(a.end(), rest.begin(), rest.end());
  a.insert(a.end(), {"--cookie", kCookie, "--port", p.port(), "--timeout", "5000"});
  return a;
}

json_int_t At(json_t *v, const std::vector<std::string> &path) {
  for (const auto &k : path) v = json_object_get(v, k.c_str());
  return json_is_integer(v) ? json_integer_value(v) : -1;
}

TEST(StatsCli, StatsPrintsTheSameTreeAsTheCApi) {
  Pair p;
  ASSERT_TRUE(p.caller());
  for (int i = 0; i < 3; i++) ASSERT_EQ(p.Call("clitest.Shop", "Order", ""), GENRPC_OK);
  ASSERT_EQ(p.Call("clitest.Shop", "Fail", Note("x")), GENRPC_E_HANDLER);

  Result r = RunCli(Args(p, "stats", {"--json"}));
  ASSERT_EQ(r.status, 0) << r.err;
  json_error_t e;
  json_t *j = json_loads(r.out.c_str(), 0, &e);
  ASSERT_NE(j, nullptr) << e.text << "\n" << r.out;
  Snapshot s(p.shop());  // after the command's call: the same function counts
  for (const char *f : {"Order", "Fail"})
    for (const char *v : {"calls", "errors", "ran"})
      EXPECT_EQ(At(j, {kShop, "functions", "clitest.Shop", f, v}),
                (json_int_t)s[kFn + f + "/" + v])
          << f << "/" << v;
  EXPECT_EQ(At(j, {kShop, "functions", "clitest.Shop", "Order", "calls"}), 3);
  EXPECT_EQ(At(j, {kShop, "functions", "clitest.Shop", "Fail", "errors_by_code", "HANDLER"}), 1);
  EXPECT_GT(At(j, {kShop, "functions", "clitest.Shop", "Order", "p99_ns"}), 0);
  EXPECT_EQ(At(j, {kShop, "peers", kCaller, "accepts"}), 1);
  EXPECT_EQ(At(j, {kShop, "peers", kCaller, "acceptor-0", "errors"}), 1);
  // the command's own call is in flight on the node while it answers
  EXPECT_EQ(At(j, {kShop, "functions", "genrpc.Stats", "Get", "calls"}), 0);
  EXPECT_EQ(s["functions/genrpc.Stats/Get/calls"], 1u);
  json_decref(j);

  r = RunCli(Args(p, "stats"));  // text: one line per value, indented
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind(std::string(kShop) + "\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\n      Order\n        calls 3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" ns\n"), std::string::npos) << r.out;

  r = RunCli(Args(p, "stats", {"extra"}));
  EXPECT_EQ(r.status, 2);
  r = RunCli({"stats", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("genrpc stats NODE"), std::string::npos);
}

TEST(StatsCli, StatsOffOrRefusedSaysSo) {
  Pair off(GENRPC_BUILTIN_STATS);
  ASSERT_TRUE(off.shop());
  Result r = RunCli(Args(off, "stats"));
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("does not serve genrpc.Stats"), std::string::npos) << r.err;
  r = RunCli(Args(off, "top", {"--once"}));
  EXPECT_EQ(r.status, 4) << r.err;
  Pair black(0, GENRPC_CONTROL_BLACKLIST, {"genrpc.Stats"});
  ASSERT_TRUE(black.shop());
  r = RunCli(Args(black, "stats", {"--json"}));
  EXPECT_EQ(r.status, 5);
  EXPECT_NE(r.err.find("policy refuses genrpc.Stats"), std::string::npos) << r.err;
}

TEST(StatsCli, TopOnceShowsRatesPerFunctionAndPeer) {
  Pair p;
  ASSERT_TRUE(p.caller());
  ASSERT_EQ(p.Call("clitest.Shop", "Order", ""), GENRPC_OK);
  // calls keep coming while top samples twice, 300 ms apart
  std::atomic<bool> stop{false};
  std::thread load([&] {
    while (!stop) {
      p.Call("clitest.Shop", "Order", "");
      p.Call("clitest.Shop", "Fail", Note("x"));
      std::this_thread::sleep_for(Millis(5));
    }
  });
  Result r = RunCli(Args(p, "top", {"--once", "--interval", "300"}));
  stop = true;
  load.join();
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos);  // --once: no screen control
  EXPECT_NE(r.out.find("FUNCTION"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("P99"), std::string::npos) << r.out;
  // the Order line: a rate above 0 (calls kept coming), then its totals
  size_t at = r.out.find("clitest.Shop/Order ");
  ASSERT_NE(at, std::string::npos) << r.out;
  double rate = -1, err_rate = -1;
  ASSERT_EQ(sscanf(r.out.c_str() + at, "clitest.Shop/Order %lf %lf", &rate, &err_rate), 2)
      << r.out;
  EXPECT_GT(rate, 0) << r.out;
  EXPECT_EQ(err_rate, 0) << r.out;
  at = r.out.find("clitest.Shop/Fail ");
  ASSERT_NE(at, std::string::npos) << r.out;
  ASSERT_EQ(sscanf(r.out.c_str() + at, "clitest.Shop/Fail %lf %lf", &rate, &err_rate), 2);
  EXPECT_GT(err_rate, 0) << r.out;
  EXPECT_NE(r.out.find(std::string(kCaller) + " "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("acceptor-0"), std::string::npos) << r.out;

  r = RunCli(Args(p, "top", {"--interval", "5"}));
  EXPECT_EQ(r.status, 2) << r.err;  // under 10 ms
  r = RunCli(Args(p, "top", {"--count", "2", "--interval", "50"}));
  ASSERT_EQ(r.status, 0) << r.err;
  size_t first = r.out.find("FUNCTION");
  EXPECT_NE(r.out.find("FUNCTION", first + 1), std::string::npos) << r.out;  // two frames
}

}  // namespace
