// faults_test - issue 5, "Faults and load": kill -9 of a server node while
// many calls are in flight (every blocking call, promise and callback fails
// with a badtcp error within 1 s; a node restarted under the same name on
// another port is reached again by the next call), and 1,000 concurrent
// client connections to one node, all served. Every wait is bounded.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "rows.h"
#include "test.genrpc.h"

namespace genrpc_test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char *kVictim = "victim@127.0.0.1";

int64_t MsSince(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration_cast<Millis>(t1 - t0).count();
}

// Where the victim is: read by the discovery callback on every new client.
struct Directory {
  std::atomic<int> port{-1};
  std::atomic<int> lookups{0};
  static int Discover(const char *node, genrpc_driver *driver, int *port, void *arg) {
    auto *d = static_cast<Directory *>(arg);
    if (strcmp(node, kVictim) != 0) return -1;
    d->lookups++;
    *driver = GENRPC_DRIVER_TCP;
    *port = d->port.load();
    return *port > 0 ? 0 : -1;
  }
};

// A bare in-process client node whose peers come from `dir`.
struct ClientNode {
  genrpc_node *node = nullptr;
  ~ClientNode() {
    if (node != nullptr) genrpc_node_stop(node);
  }
};

// One async call's outcome (callback or promise).
struct Outcome {
  std::atomic<bool> done{false};
  int err = -1;
  genrpc_status st{};
  Clock::time_point at{};
};

void OnSleepReply(int err, const genrpc_status *st, const Test__SleepReply *, void *arg) {
  auto *o = static_cast<Outcome *>(arg);
  o->err = err;
  if (st != nullptr) o->st = *st;
  o->at = Clock::now();
  o->done.store(true);
}

std::unique_ptr<HelperProcess> SpawnVictim(std::string *error) {
  return HelperProcess::Spawn(
      {"--name", kVictim, "--cookie", kCookie, "--port", "0", "--workers", "8"}, error);
}

// kill -9 of a server node with blocking calls (several threads, keyless and
// keyed connections), promises and callbacks in flight: every one fails with
// a badtcp error within 1 s of the kill. A helper restarted under the same
// name on a new port (discovery now answers that port) is reached by the
// very next call, keyless and keyed.
TEST(FaultsTest, Kill9WithCallsInFlightFailsThemAllBadtcpThenReconnects) {
  signal(SIGPIPE, SIG_IGN);
  std::string error;
  auto victim = SpawnVictim(&error);
  ASSERT_NE(victim, nullptr) << error;

  Directory dir;
  dir.port = victim->port();
  const int kThreads = 8, kPromises = 32, kCallbacks = 64;
  // Declared before the node: callbacks may still run while it stops.
  std::vector<Outcome> cb_out(kCallbacks), promise_out(kPromises), thread_out(kThreads);
  ClientNode client;
  {
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "caller@127.0.0.1";
    cfg.cookie = kCookie;
    cfg.tcp_server_port = 0;
    cfg.connect_timeout_ms = 2000;
    cfg.send_timeout_ms = 2000;
    cfg.discovery = Directory::Discover;
    cfg.discovery_arg = &dir;
    genrpc_status st{};
    int err = genrpc_node_start(&cfg, &client.node, &st);
    ASSERT_GENRPC_OK(err, st);
  }
  genrpc_node *n = client.node;
  const std::string keys[4] = {"k0", "k1", "k2", "k3"};
  auto target = [&](int i) {
    if (i % 5 == 4) return genrpc_node_target(kVictim);
    const std::string &k = keys[i % 4];
    return genrpc_key_target(kVictim, k.data(), k.size());
  };
  ASSERT_TRUE(PingOk(n, kVictim));
  for (auto &k : keys) {
    Test__PingRequest req = TEST__PING_REQUEST__INIT;
    req.text = const_cast<char *>("ping");
    Test__PingReply *reply = nullptr;
    genrpc_status st{};
    genrpc_call_opts o = Opts(5000);
    int err = test__test__ping_call(n, genrpc_key_target(kVictim, k.data(), k.size()), &req,
                                    &reply, &o, &st);
    ASSERT_GENRPC_OK(err, st);
    test__ping_reply__free_unpacked(reply, nullptr);
  }

  Test__SleepRequest sleep = TEST__SLEEP_REQUEST__INIT;
  sleep.ms = 5000;  // far longer than the test waits after the kill
  genrpc_call_opts long_opts = Opts(10000);

  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&, i] {
      Test__SleepReply *reply = nullptr;
      Outcome &o = thread_out[i];
      o.err = test__test__sleep_call(n, target(i), &sleep, &reply, &long_opts, &o.st);
      o.at = Clock::now();
      o.done = true;
      if (reply) test__sleep_reply__free_unpacked(reply, nullptr);
    });
  }
  // No ASSERT until the threads are joined and the promises freed.
  std::vector<genrpc_promise *> promises(kPromises, nullptr);
  for (int i = 0; i < kPromises; i++) {
    genrpc_status st{};
    int err = test__test__sleep_async(n, target(i), &sleep, &long_opts, &promises[i], &st);
    EXPECT_EQ(err, GENRPC_OK) << "promise " << i << ": " << Describe(err, st);
  }
  for (int i = 0; i < kCallbacks; i++) {
    int err = test__test__sleep_async_cb(n, target(i), &sleep, &long_opts, OnSleepReply,
                                         &cb_out[i]);
    EXPECT_EQ(err, GENRPC_OK) << "callback " << i << ": " << genrpc_err_name(err);
    if (err != GENRPC_OK) OnSleepReply(err, nullptr, nullptr, &cb_out[i]);  // never called
  }
  usleep(300 * 1000);  // every request is on the wire; 8 handlers are sleeping
  for (auto &o : thread_out) EXPECT_FALSE(o.done) << "a blocking call ended before the kill";
  for (auto &o : cb_out) EXPECT_FALSE(o.done) << "a callback ran before the kill";

  Clock::time_point killed = Clock::now();
  victim->Kill9();

  // Promises: yield each (a yield of a failed promise returns at once).
  for (int i = 0; i < kPromises; i++) {
    if (promises[i] == nullptr) continue;
    Test__SleepReply *reply = nullptr;
    Outcome &o = promise_out[i];
    o.err = test__test__sleep_yield(promises[i], &reply, &o.st);
    o.at = Clock::now();
    o.done = true;
    EXPECT_EQ(reply, nullptr);
    if (reply) test__sleep_reply__free_unpacked(reply, nullptr);
    genrpc_promise_free(promises[i]);
  }
  for (auto &t : threads) t.join();
  EXPECT_TRUE(Eventually(
      [&] {
        return std::all_of(cb_out.begin(), cb_out.end(), [](const Outcome &o) { return o.done.load(); });
      },
      Millis(3000)))
      << "some callbacks were not called within 3 s of the kill";

  int64_t worst = 0;
  auto check = [&](const char *kind, std::vector<Outcome> &outs) {
    for (size_t i = 0; i < outs.size(); i++) {
      Outcome &o = outs[i];
      if (!o.done) continue;  // reported above
      int64_t ms = MsSince(killed, o.at);
      worst = std::max(worst, ms);
      EXPECT_EQ(genrpc_err_class_of(o.err), GENRPC_CLASS_BADTCP)
          << kind << " " << i << ": expected a badtcp error, got " << Describe(o.err, o.st);
      EXPECT_LT(ms, 1000) << kind << " " << i << " failed only " << ms << " ms after the kill";
    }
  };
  check("blocking call", thread_out);
  check("promise", promise_out);
  check("callback", cb_out);
  printf("kill -9 with %d blocking calls, %d promises, %d callbacks in flight: "
         "all failed within %lld ms\n",
         kThreads, kPromises, kCallbacks, static_cast<long long>(worst));

  // The node comes back under the same name, on another port.
  int old_port = dir.port.load();
  std::unique_ptr<HelperProcess> again;
  for (int attempt = 0; attempt < 3 && (!again || again->port() == old_port); attempt++) {
    again.reset();  // the rare ephemeral port equal to the old one: spawn again
    again = SpawnVictim(&error);
    ASSERT_NE(again, nullptr) << error;
  }
  ASSERT_NE(again->port(), old_port);
  dir.port = again->port();
  int lookups = dir.lookups.load();
  Stopwatch sw;
  EXPECT_TRUE(PingOk(n, kVictim)) << "the first call after the restart did not reconnect";
  for (auto &k : keys) {
    Test__PingRequest req = TEST__PING_REQUEST__INIT;
    req.text = const_cast<char *>("ping");
    Test__PingReply *reply = nullptr;
    genrpc_status st{};
    genrpc_call_opts o = Opts(5000);
    int err = test__test__ping_call(n, genrpc_key_target(kVictim, k.data(), k.size()), &req,
                                    &reply, &o, &st);
    EXPECT_EQ(err, GENRPC_OK) << "key " << k << ": " << Describe(err, st);
    if (reply) test__ping_reply__free_unpacked(reply, nullptr);
  }
  EXPECT_GE(dir.lookups.load(), lookups + 5) << "discovery was not asked again for each connection";
  printf("after the restart: 5 connections re-established in %lld ms\n",
         static_cast<long long>(sw.ElapsedMs()));
  genrpc_node_stop(client.node);
  client.node = nullptr;
  again->ExpectCleanStop();
}

// ---- 1,000 concurrent connections ------------------------------------------------

struct PingOutcome {
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::mutex mu;
  std::string first_error;
};

void OnPing(int err, const genrpc_status *st, const Test__PingReply *reply, void *arg) {
  auto *o = static_cast<PingOutcome *>(arg);
  if (err != GENRPC_OK || reply == nullptr || strcmp(reply->text, "ping") != 0) {
    if (o->failed++ == 0) {
      std::lock_guard<std::mutex> g(o->mu);
      o->first_error = Describe(err, st ? *st : genrpc_status{});
    }
  }
  o->done++;
}

// 1,000 keyed targets {server, key_i} from one client node: 1,000 distinct
// connections opened at once, each makes a call, all succeed; the server
// holds 1,000 acceptors; a second round reuses them all.
TEST(LoadTest, ThousandConcurrentConnectionsAreAllServed) {
  const int kConns = 1000;
  // Both nodes live in this process: 2 sockets per connection, plus slack.
  const rlim_t kNeed = 2 * kConns + 256;
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur < kNeed) {
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < kNeed)
      GTEST_SKIP() << "RLIMIT_NOFILE hard limit is " << rl.rlim_max << ", need " << kNeed
                   << " descriptors for " << kConns << " connections (raise it: ulimit -Hn)";
    rlim_t want = kNeed + 1024;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min<rlim_t>(rl.rlim_max, want);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0) << strerror(errno);
  }

  PingOutcome outs[2];  // outlive the client node: its callbacks point here
  std::string error;
  NodeOptions so;
  so.name = "server@127.0.0.1";
  auto server = Node::Start(so, &error);
  ASSERT_NE(server, nullptr) << error;
  NodeOptions co;
  co.name = "client@127.0.0.1";
  co.connect_timeout_ms = 10000;  // 1,000 SYNs at once may overflow the backlog
  co.send_timeout_ms = 10000;
  co.addrs = {{"server@127.0.0.1", server->port()}};
  auto client = Node::Start(co, &error);
  ASSERT_NE(client, nullptr) << error;

  std::vector<std::string> keys;
  for (int i = 0; i < kConns; i++) keys.push_back("conn-" + std::to_string(i));
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("ping");
  genrpc_call_opts opts = Opts(20000);

  for (int round = 0; round < 2; round++) {
    PingOutcome &out = outs[round];
    Stopwatch sw;
    int issued = 0;
    for (int i = 0; i < kConns; i++) {
      genrpc_target t = genrpc_key_target("server@127.0.0.1", keys[i].data(), keys[i].size());
      int err = test__test__ping_async_cb(client->get(), t, &req, &opts, OnPing, &out);
      EXPECT_EQ(err, GENRPC_OK) << "call " << i << ": " << genrpc_err_name(err);
      if (err == GENRPC_OK) issued++;
    }
    bool all = Eventually([&] { return out.done.load() == issued; }, Millis(30000));
    int64_t ms = sw.ElapsedMs();
    ASSERT_TRUE(all) << "round " << round << ": only " << out.done.load() << " of " << issued
                     << " calls finished within 30 s";
    EXPECT_EQ(issued, kConns);
    EXPECT_EQ(out.failed.load(), 0) << out.failed.load() << " calls failed; first: "
                                     << out.first_error;
    genrpc_node_info si = server->Info(), ci = client->Info();
    printf("round %d: %d calls on %d connections in %lld ms; server acceptors %d, "
           "client clients %d (ready %d)\n",
           round, out.done.load() - out.failed.load(), kConns, static_cast<long long>(ms),
           si.acceptors, ci.clients, ci.clients_ready);
    EXPECT_EQ(ci.clients_ready, kConns);
    EXPECT_TRUE(Eventually([&] { return server->Info().acceptors >= kConns; }, Millis(5000)))
        << "server holds " << server->Info().acceptors << " acceptors";
  }
  client.reset();
  EXPECT_TRUE(Eventually([&] { return server->Info().acceptors == 0; }, Millis(10000)))
      << server->Info().acceptors << " acceptors left after the client stopped";
}

}  // namespace
}  // namespace genrpc_test
