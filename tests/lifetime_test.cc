// Connection lifetime and node events (issue 4): gen_rpc's inactivity and
// "random tcp close" rows (CONFORMANCE.md L31-L33, R25-R28), the keyed
// suite (K1-K11), behaviours S12 (keepalive on both sides), S17 (keys) and
// S21 (any frame resets the inactivity timer), and node-up/node-down events
// (docs/multinode.md). This process's node is "master"; the helper process
// (tests/helpers/test_node.c) is "slave", driven through its stdin for the
// rows where it must act ("ping", "drop"). Timeouts are short (300 ms) and
// every wait is bounded.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "fixture.h"
#include "rows.h"

namespace genrpc_test {
namespace {

constexpr const char *kMaster = "master@127.0.0.1";
constexpr const char *kSlave = "slave@127.0.0.1";
constexpr int64_t kIdleMs = 300;

genrpc_target Keyed(const char *node, const char *key) {
  return genrpc_key_target(node, key, strlen(key));
}

std::vector<std::string> Nodes(genrpc_node *n) {
  char **names = nullptr;
  size_t count = 0;
  genrpc_status st{};
  std::vector<std::string> out;
  int err = genrpc_nodes(n, &names, &count, &st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  for (size_t i = 0; i < count; i++) out.push_back(names[i]);
  genrpc_nodes_free(names);
  return out;
}

int Ping(genrpc_node *n, genrpc_target t, int64_t timeout_ms = 2000) {
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("ping");
  Test__PingReply *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(timeout_ms);
  int err = test__test__ping_call(n, t, &req, &reply, &o, &st);
  if (err == GENRPC_OK && (reply == nullptr || strcmp(reply->text, "ping") != 0))
    err = GENRPC_E_PROTOCOL;
  if (reply) test__ping_reply__free_unpacked(reply, nullptr);
  return err;
}

// The serving node's counters, read over target (keyed or not).
Test__NodeCounters CountersOn(genrpc_node *n, genrpc_target t) {
  Test__NodeCounters out = TEST__NODE_COUNTERS__INIT;
  Test__Empty req = TEST__EMPTY__INIT;
  Test__NodeCounters *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(2000);
  int err = test__node_info__counters_call(n, t, &req, &reply, &o, &st);
  if (err != GENRPC_OK) {
    ADD_FAILURE() << "NodeInfo.Counters: " << Describe(err, st);
    out.clients = out.acceptors = -1;
    return out;
  }
  out.clients = reply->clients;
  out.acceptors = reply->acceptors;
  test__node_counters__free_unpacked(reply, nullptr);
  return out;
}

// Records node events.
struct EventLog {
  std::mutex mu;
  std::vector<std::pair<std::string, genrpc_node_event>> events;

  static void Cb(genrpc_node *, const char *peer, genrpc_node_event ev, void *user) {
    auto *log = static_cast<EventLog *>(user);
    std::lock_guard<std::mutex> g(log->mu);
    log->events.emplace_back(peer, ev);
  }
  int Count(const std::string &peer, genrpc_node_event ev) {
    std::lock_guard<std::mutex> g(mu);
    return static_cast<int>(std::count(events.begin(), events.end(), std::make_pair(peer, ev)));
  }
  size_t Size() {
    std::lock_guard<std::mutex> g(mu);
    return events.size();
  }
};

class LifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // writing to a killed helper's stdin
    master_port_ = FreeTcpPort();
    slave_port_ = FreeTcpPort();
    ASSERT_GT(master_port_, 0);
    ASSERT_GT(slave_port_, 0);
  }

  void TearDown() override {
    if (monitoring_) genrpc_node_unmonitor(m(), EventLog::Cb, &log_);
    master_.reset();
    if (slave_) slave_->ExpectCleanStop();
  }

  void SpawnSlave(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--name", kSlave, "--port", std::to_string(slave_port_),
                                     "--node", std::string(kMaster) + "=" +
                                                   std::to_string(master_port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string error;
    slave_ = HelperProcess::Spawn(args, &error);
    ASSERT_NE(slave_, nullptr) << error;
  }

  // Master (this process) and slave (helper), each knowing the other's port.
  // The master's port is picked before it binds (the slave must know it), so
  // another test's socket can take it in between: then both get new ports.
  void Start(NodeOptions o = NodeOptions(), std::vector<std::string> slave_args = {}) {
    o.name = kMaster;
    std::string error;
    for (int attempt = 0; attempt < 5 && !master_; attempt++) {
      if (attempt > 0) {
        slave_.reset();
        master_port_ = FreeTcpPort();
        slave_port_ = FreeTcpPort();
      }
      ASSERT_NO_FATAL_FAILURE(SpawnSlave(slave_args));
      o.server_port = master_port_;
      o.addrs = {{kSlave, slave_port_}};
      master_ = Node::Start(o, &error);
      if (!master_ && error.find("in use") == std::string::npos) break;
    }
    ASSERT_NE(master_, nullptr) << error;
  }

  void Monitor() {
    genrpc_status st{};
    ASSERT_GENRPC_OK(genrpc_node_monitor(m(), EventLog::Cb, &log_, &st), st);
    monitoring_ = true;
  }

  genrpc_node *m() { return master_->get(); }
  genrpc_target slave() { return genrpc_node_target(kSlave); }

  int master_port_ = -1, slave_port_ = -1;
  std::unique_ptr<HelperProcess> slave_;
  std::unique_ptr<Node> master_;
  EventLog log_;
  bool monitoring_ = false;
};

// A node that calls itself through its listener (gen_rpc's local rows).
std::unique_ptr<Node> SelfNode(int64_t client_idle, int64_t server_idle) {
  NodeOptions o;
  o.name = kMaster;
  o.client_inactivity_ms = client_idle;
  o.server_inactivity_ms = server_idle;
  std::string error;
  auto n = Node::StartSelf(o, &error);
  EXPECT_NE(n, nullptr) << error;
  return n;
}

// ---- local rows: a node calling itself ----------------------------------------

// L31: an idle client closes its socket and is freed (gen_rpc's test looks
// up the wrong name and passes vacuously); the acceptor sees the close.
TEST(LocalLifetime, L31_ClientInactivityTimeout) {
  auto n = SelfNode(kIdleMs, GENRPC_INFINITY);
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(Ping(n->get(), genrpc_node_target(kMaster)), GENRPC_OK);
  Stopwatch sw;
  EXPECT_EQ(n->Info().clients, 1);
  std::this_thread::sleep_for(Millis(kIdleMs / 2));
  EXPECT_EQ(n->Info().clients, 1) << "closed before the timeout";
  EXPECT_TRUE(Eventually([&] { return n->Info().clients == 0 && n->Info().acceptors == 0; },
                         Millis(3000)));
  EXPECT_GE(sw.ElapsedMs(), kIdleMs - 20);
  EXPECT_EQ(Ping(n->get(), genrpc_node_target(kMaster)), GENRPC_OK) << "reconnects";
}

// L32: an idle acceptor closes; the client sees EOF and frees itself.
TEST(LocalLifetime, L32_ServerInactivityTimeout) {
  auto n = SelfNode(GENRPC_INFINITY, kIdleMs);
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(Ping(n->get(), genrpc_node_target(kMaster)), GENRPC_OK);
  EXPECT_EQ(n->Info().acceptors, 1);
  EXPECT_TRUE(Eventually([&] { return n->Info().clients == 0 && n->Info().acceptors == 0; },
                         Millis(3000)));
  EXPECT_EQ(Ping(n->get(), genrpc_node_target(kMaster)), GENRPC_OK) << "reconnects";
}

// L33: the acceptor's connection drops after a call: the client sees EOF,
// removes itself; the next call reconnects transparently.
TEST(LocalLifetime, L33_RandomTcpClose) {
  auto n = SelfNode(GENRPC_INFINITY, GENRPC_INFINITY);
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(Ping(n->get(), genrpc_node_target(kMaster)), GENRPC_OK);
  EXPECT_EQ(genrpc_node_debug_close_acceptors(n->get(), kMaster, 0), 1);
  EXPECT_TRUE(Eventually([&] { return n->Info().clients == 0 && n->Info().acceptors == 0; },
                         Millis(500)));
  EXPECT_TRUE(Nodes(n->get()).empty());
  EXPECT_EQ(Ping(n->get(), genrpc_node_target(kMaster)), GENRPC_OK) << "reconnects";
  EXPECT_EQ(n->Info().clients, 1);
}

// S17: the same key (as bytes, wherever they are) is the same connection;
// another key, or no key, another one. (gen_rpc hashes to 27 bits, so
// distinct keys may share; ours is a 64-bit FNV-1a of the key bytes, fixed
// across processes and releases - client.c.)
TEST(LocalLifetime, S17_SameKeySameConnection) {
  auto n = SelfNode(GENRPC_INFINITY, GENRPC_INFINITY);
  ASSERT_NE(n, nullptr);
  std::string k1 = "shard-7", k1_again = std::string("shard-") + "7";
  ASSERT_NE(static_cast<const void *>(k1.data()), static_cast<const void *>(k1_again.data()));
  ASSERT_EQ(Ping(n->get(), Keyed(kMaster, k1.c_str())), GENRPC_OK);
  ASSERT_EQ(Ping(n->get(), Keyed(kMaster, k1_again.c_str())), GENRPC_OK);
  EXPECT_EQ(n->Info().clients, 1) << "same key, same connection";
  EXPECT_EQ(n->Info().acceptors, 1);
  ASSERT_EQ(Ping(n->get(), Keyed(kMaster, "shard-8")), GENRPC_OK);
  EXPECT_EQ(n->Info().clients, 2);
  ASSERT_EQ(Ping(n->get(), genrpc_node_target(kMaster)), GENRPC_OK);
  EXPECT_EQ(n->Info().clients, 3) << "keyless is its own connection";
  ASSERT_EQ(Ping(n->get(), genrpc_key_target(kMaster, "", 0)), GENRPC_OK);
  EXPECT_EQ(n->Info().clients, 4) << "an empty key is a key, not 'no key'";
  EXPECT_EQ(n->Info().acceptors, 4);
}

// The socket of this process connected to (peer) or accepted on (!peer)
// 127.0.0.1:port, or -1.
int FindSocket(int port, bool peer) {
  int found = -1;
  DIR *d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (dirent *e = readdir(d)) {
    int fd = atoi(e->d_name);
    if (fd <= 2) continue;
    sockaddr_in a{}, b{};
    socklen_t la = sizeof a, lb = sizeof b;
    if (getsockname(fd, reinterpret_cast<sockaddr *>(&a), &la) != 0 || a.sin_family != AF_INET)
      continue;
    if (getpeername(fd, reinterpret_cast<sockaddr *>(&b), &lb) != 0) continue;  // listener
    int p = ntohs(peer ? b.sin_port : a.sin_port);
    if (p == port) found = fd;
  }
  closedir(d);
  return found;
}

// S12: keepalive idle/interval/count are set at IPPROTO_TCP on both the
// client's and the acceptor's socket (gen_rpc: acceptor only, at the wrong
// level). Read back with getsockopt on this process's own sockets.
TEST(LocalLifetime, S12_KeepaliveOnBothSides) {
  auto n = SelfNode(GENRPC_INFINITY, GENRPC_INFINITY);
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(Ping(n->get(), genrpc_node_target(kMaster)), GENRPC_OK);
  for (bool client : {true, false}) {
    SCOPED_TRACE(client ? "client socket" : "acceptor socket");
    int fd = FindSocket(n->port(), client);
    ASSERT_GE(fd, 0);
    int v = 0;
    socklen_t len = sizeof v;
    ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &len), 0);
    EXPECT_EQ(v, 1);
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len), 0);
    EXPECT_EQ(v, 5);
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, &len), 0);
    EXPECT_EQ(v, 5);
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, &len), 0);
    EXPECT_EQ(v, 2);
  }
}

// ---- remote rows ----------------------------------------------------------------

// R25: master's client idles out; the slave's acceptor goes with it.
TEST_F(LifetimeTest, R25_ClientInactivityTimeout) {
  NodeOptions o;
  o.client_inactivity_ms = kIdleMs;
  ASSERT_NO_FATAL_FAILURE(Start(o));
  ASSERT_EQ(Ping(m(), slave()), GENRPC_OK);
  EXPECT_EQ(Nodes(m()), std::vector<std::string>{kSlave});
  EXPECT_TRUE(Eventually([&] { return master_->Info().clients == 0; }, Millis(3000)));
  EXPECT_TRUE(Nodes(m()).empty());
  // Probing opens a fresh connection: only that one is left on the slave.
  EXPECT_EQ(CountersOn(m(), slave()).acceptors, 1);
}

// R26: the slave's acceptor idles out; the master's client is freed.
TEST_F(LifetimeTest, R26_ServerInactivityTimeout) {
  ASSERT_NO_FATAL_FAILURE(Start(NodeOptions(), {"--server-inactivity-ms", "300"}));
  ASSERT_EQ(Ping(m(), slave()), GENRPC_OK);
  EXPECT_TRUE(Eventually([&] { return master_->Info().clients == 0; }, Millis(3000)));
  EXPECT_TRUE(Nodes(m()).empty());
  EXPECT_EQ(Ping(m(), slave()), GENRPC_OK) << "reconnects";
}

// R27: the slave calls the master; the master drops its acceptor; the
// slave's client is cleaned up.
TEST_F(LifetimeTest, R27_RandomLocalTcpClose) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(slave_->Send(std::string("ping ") + kMaster));
  // Served: the acceptor has authenticated (and knows its peer's name).
  ASSERT_TRUE(Eventually([&] { return master_->Info().calls_served == 1; }, Millis(3000)));
  EXPECT_EQ(master_->Info().acceptors, 1);
  EXPECT_EQ(genrpc_node_debug_close_acceptors(m(), kSlave, 0), 1);
  EXPECT_EQ(master_->Info().acceptors, 0);
  EXPECT_TRUE(Eventually([&] { return CountersOn(m(), slave()).clients == 0; }, Millis(600)))
      << "the slave still has a client";
  EXPECT_EQ(master_->Info().acceptors, 0);
}

// R28: the master calls the slave; the slave's acceptor is dropped; the
// master's client is gone and the node list is empty.
TEST_F(LifetimeTest, R28_RandomRemoteTcpClose) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_EQ(Ping(m(), slave()), GENRPC_OK);
  ASSERT_TRUE(slave_->Send(std::string("drop ") + kMaster));
  EXPECT_TRUE(Eventually([&] { return master_->Info().clients == 0; }, Millis(600)));
  EXPECT_TRUE(Nodes(m()).empty());
  EXPECT_EQ(CountersOn(m(), slave()).acceptors, 1) << "only the probe's connection";
}

// ---- keyed rows (multi_rpc_with_key_SUITE / gen_rpc_with_key_SUITE) -----------

// K1: two keys -> two clients here, two acceptors there; listed once.
TEST_F(LifetimeTest, K1_TwoKeysTwoConnections) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_EQ(Ping(m(), Keyed(kSlave, "random_key")), GENRPC_OK);
  ASSERT_EQ(Ping(m(), Keyed(kSlave, "random_key_2")), GENRPC_OK);
  EXPECT_EQ(master_->Info().clients, 2);
  EXPECT_EQ(CountersOn(m(), Keyed(kSlave, "random_key")).acceptors, 2);
  EXPECT_EQ(Nodes(m()), std::vector<std::string>{kSlave});
}

// K2: a keyed call requiring a version the slave does not serve.
TEST_F(LifetimeTest, K2_KeyedVersionIncompatible) {
  ASSERT_NO_FATAL_FAILURE(Start());
  Test__CountRequest req = TEST__COUNT_REQUEST__INIT;
  Test__Empty *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(2000, 2);
  int err = test__test__count_call(m(), Keyed(kSlave, "random_key"), &req, &reply, &o, &st);
  EXPECT_EQ(err, GENRPC_E_INCOMPATIBLE) << Describe(err, st);
  EXPECT_EQ(reply, nullptr);
  if (reply) test__empty__free_unpacked(reply, nullptr);
}

// K3: a keyed call reaches the node itself (erlang:node()).
TEST_F(LifetimeTest, K3_KeyedCallNode) {
  ASSERT_NO_FATAL_FAILURE(Start());
  Test__Empty req = TEST__EMPTY__INIT;
  Test__NameReply *reply = nullptr;
  genrpc_status st{};
  int err = test__node_info__name_call(m(), Keyed(kSlave, "random_key"), &req, &reply, nullptr, &st);
  ASSERT_GENRPC_OK(err, st);
  ASSERT_NE(reply, nullptr);
  EXPECT_STREQ(reply->name, kSlave);
  test__name_reply__free_unpacked(reply, nullptr);
}

// K4: a keyed cast is accepted and runs.
TEST_F(LifetimeTest, K4_KeyedCast) {
  ASSERT_NO_FATAL_FAILURE(Start());
  Test__CountRequest req = TEST__COUNT_REQUEST__INIT;
  req.seq = 42;
  genrpc_status st{};
  ASSERT_GENRPC_OK(test__test__count_cast(m(), Keyed(kSlave, "random_key"), &req, nullptr, &st), st);
  EXPECT_TRUE(Eventually([&] { return RemoteCount(m(), kSlave) == 1; }, Millis(2000)));
}

// K5: promises on two shards, each bound to the shard it was sent on.
TEST_F(LifetimeTest, K5_KeyedAsync) {
  ASSERT_NO_FATAL_FAILURE(Start());
  Test__SleepRequest sreq = TEST__SLEEP_REQUEST__INIT;
  sreq.ms = 300;
  sreq.value = 7;
  genrpc_promise *slow = nullptr, *fast = nullptr;
  genrpc_status st{};
  ASSERT_GENRPC_OK(
      test__test__sleep_async(m(), Keyed(kSlave, "random_key"), &sreq, nullptr, &slow, &st), st);
  Test__PingRequest preq = TEST__PING_REQUEST__INIT;
  preq.text = const_cast<char *>("k2");
  ASSERT_GENRPC_OK(
      test__test__ping_async(m(), Keyed(kSlave, "random_key2"), &preq, nullptr, &fast, &st), st);
  Test__SleepReply *sr = nullptr;
  EXPECT_EQ(test__test__sleep_nb_yield(slow, 50, &sr, &st), GENRPC_E_NOT_READY);
  Test__PingReply *pr = nullptr;
  ASSERT_GENRPC_OK(test__test__ping_yield(fast, &pr, &st), st);
  EXPECT_STREQ(pr->text, "k2");
  test__ping_reply__free_unpacked(pr, nullptr);
  ASSERT_GENRPC_OK(test__test__sleep_yield(slow, &sr, &st), st);
  EXPECT_EQ(sr->value, 7);
  test__sleep_reply__free_unpacked(sr, nullptr);
  genrpc_promise_free(slow);
  genrpc_promise_free(fast);
  EXPECT_EQ(master_->Info().clients, 2);
}

// K6: = L22/R19 over a keyed target: a promise yields once; a second yield
// or nb_yield answers GENRPC_E_CONSUMED at once (gen_rpc hangs).
TEST_F(LifetimeTest, K6_KeyedAsyncCallYieldReentrant) {
  ASSERT_NO_FATAL_FAILURE(Start());
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("once");
  genrpc_promise *p = nullptr;
  genrpc_status st{};
  ASSERT_GENRPC_OK(test__test__ping_async(m(), Keyed(kSlave, "random_key"), &req, nullptr, &p, &st),
                   st);
  Test__PingReply *r = nullptr;
  ASSERT_GENRPC_OK(test__test__ping_yield(p, &r, &st), st);
  EXPECT_STREQ(r->text, "once");
  test__ping_reply__free_unpacked(r, nullptr);
  Stopwatch sw;
  r = nullptr;
  EXPECT_GENRPC_ERR(GENRPC_E_CONSUMED, GENRPC_CLASS_LOCAL, test__test__ping_yield(p, &r, &st), st);
  EXPECT_GENRPC_ERR(GENRPC_E_CONSUMED, GENRPC_CLASS_LOCAL,
                    test__test__ping_nb_yield(p, 10, &r, &st), st);
  EXPECT_EQ(r, nullptr);
  EXPECT_LT(sw.ElapsedMs(), 100) << "a consumed promise must answer at once";
  genrpc_promise_free(p);
}

// K7: = L29 (the row uses the keyless target): nb_yield(GENRPC_INFINITY)
// waits like yield.
TEST_F(LifetimeTest, K7_AsyncCallNbYieldInfinity) {
  ASSERT_NO_FATAL_FAILURE(Start());
  Test__SleepRequest req = TEST__SLEEP_REQUEST__INIT;
  req.ms = 200;
  req.value = 9;
  genrpc_promise *p = nullptr;
  genrpc_status st{};
  ASSERT_GENRPC_OK(test__test__sleep_async(m(), genrpc_node_target(kSlave), &req, nullptr, &p, &st),
                   st);
  Test__SleepReply *r = nullptr;
  Stopwatch sw;
  ASSERT_GENRPC_OK(test__test__sleep_nb_yield(p, GENRPC_INFINITY, &r, &st), st);
  EXPECT_GE(sw.ElapsedMs(), 150);
  EXPECT_EQ(r->value, 9);
  test__sleep_reply__free_unpacked(r, nullptr);
  genrpc_promise_free(p);
}

// K8: a keyed client idles out on its own.
TEST_F(LifetimeTest, K8_KeyedClientInactivityTimeout) {
  NodeOptions o;
  o.client_inactivity_ms = kIdleMs;
  ASSERT_NO_FATAL_FAILURE(Start(o));
  ASSERT_EQ(Ping(m(), Keyed(kSlave, "random_key")), GENRPC_OK);
  EXPECT_EQ(master_->Info().clients, 1);
  EXPECT_TRUE(Eventually([&] { return master_->Info().clients == 0; }, Millis(3000)));
  EXPECT_TRUE(Nodes(m()).empty());
}

// K9: the slave's acceptor of a keyed connection idles out; the keyed
// client is freed.
TEST_F(LifetimeTest, K9_KeyedServerInactivityTimeout) {
  ASSERT_NO_FATAL_FAILURE(Start(NodeOptions(), {"--server-inactivity-ms", "300"}));
  ASSERT_EQ(Ping(m(), Keyed(kSlave, "random_key")), GENRPC_OK);
  EXPECT_TRUE(Eventually([&] { return master_->Info().clients == 0; }, Millis(3000)));
}

// K10: the slave calls the master over two keys; the master drops one
// acceptor: the sibling shard stays up, the node stays listed there.
TEST_F(LifetimeTest, K10_KeyedRandomLocalTcpClose) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(Monitor());
  ASSERT_TRUE(slave_->Send(std::string("ping ") + kMaster + " random_key"));
  ASSERT_TRUE(slave_->Send(std::string("ping ") + kMaster + " random_key_2"));
  // Both served: both acceptors have authenticated.
  ASSERT_TRUE(Eventually([&] { return master_->Info().calls_served == 2; }, Millis(3000)));
  ASSERT_EQ(master_->Info().acceptors, 2);
  EXPECT_EQ(genrpc_node_debug_close_acceptors(m(), kSlave, 1), 1);
  EXPECT_EQ(master_->Info().acceptors, 1);
  EXPECT_TRUE(Eventually([&] { return CountersOn(m(), slave()).clients == 1; }, Millis(600)));
  EXPECT_EQ(master_->Info().acceptors, 1) << "the sibling shard stays";
  EXPECT_EQ(log_.Count(kSlave, GENRPC_NODE_DOWN), 0) << "still connected by the other shard";
}

// K11: the master calls the slave over two keys; the slave drops the newer
// acceptor: one client and one acceptor remain, the node is still listed,
// and the other shard's connection is untouched.
TEST_F(LifetimeTest, K11_KeyedRandomRemoteTcpClose) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_EQ(Ping(m(), Keyed(kSlave, "random_key")), GENRPC_OK);
  ASSERT_EQ(Ping(m(), Keyed(kSlave, "random_key_2")), GENRPC_OK);
  ASSERT_EQ(master_->Info().clients, 2);
  ASSERT_TRUE(slave_->Send(std::string("drop ") + kMaster + " 1"));
  EXPECT_TRUE(Eventually([&] { return master_->Info().clients == 1; }, Millis(600)));
  EXPECT_EQ(Nodes(m()), std::vector<std::string>{kSlave});
  // Over random_key's own (surviving) connection: no new one is opened.
  EXPECT_EQ(CountersOn(m(), Keyed(kSlave, "random_key")).acceptors, 1);
  EXPECT_EQ(master_->Info().clients, 1);
}

// S21: any frame resets the inactivity timer; a call in flight longer than
// the timeout keeps both ends open.
TEST_F(LifetimeTest, S21_ActivityResetsInactivityTimer) {
  NodeOptions o;
  o.client_inactivity_ms = kIdleMs;
  ASSERT_NO_FATAL_FAILURE(Start(o, {"--server-inactivity-ms", "300"}));
  ASSERT_NO_FATAL_FAILURE(Monitor());
  Stopwatch sw;
  while (sw.ElapsedMs() < 4 * kIdleMs) {
    ASSERT_EQ(Ping(m(), slave()), GENRPC_OK);
    std::this_thread::sleep_for(Millis(kIdleMs / 3));
  }
  // A call longer than both timeouts: neither side is idle meanwhile.
  Test__SleepRequest req = TEST__SLEEP_REQUEST__INIT;
  req.ms = 2 * kIdleMs;
  req.value = 1;
  Test__SleepReply *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts co = Opts(5000);
  ASSERT_GENRPC_OK(test__test__sleep_call(m(), slave(), &req, &reply, &co, &st), st);
  test__sleep_reply__free_unpacked(reply, nullptr);
  EXPECT_EQ(log_.Count(kSlave, GENRPC_NODE_UP), 1);
  EXPECT_EQ(log_.Count(kSlave, GENRPC_NODE_DOWN), 0) << "the connection was closed while in use";
  // Now idle: it goes.
  Stopwatch idle;
  EXPECT_TRUE(Eventually([&] { return log_.Count(kSlave, GENRPC_NODE_DOWN) == 1; }, Millis(3000)));
  EXPECT_GE(idle.ElapsedMs(), kIdleMs - 50);
}

// ---- node events ----------------------------------------------------------------

// UP on the first authenticated connection, nothing for more shards or for
// one shard closing, DOWN within 1 s of the slave being killed, UP again
// when it is back, and calls work without restarting this node.
TEST_F(LifetimeTest, NodeEvents_UpFirstDownLastAcrossKillAndRestart) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(Monitor());
  ASSERT_EQ(Ping(m(), slave()), GENRPC_OK);
  EXPECT_TRUE(Eventually([&] { return log_.Count(kSlave, GENRPC_NODE_UP) == 1; }, Millis(1000)));
  ASSERT_EQ(Ping(m(), Keyed(kSlave, "a")), GENRPC_OK);
  ASSERT_EQ(Ping(m(), Keyed(kSlave, "b")), GENRPC_OK);
  ASSERT_TRUE(slave_->Send(std::string("drop ") + kMaster + " 1"));  // shard "b"
  EXPECT_TRUE(Eventually([&] { return master_->Info().clients == 2; }, Millis(600)));
  std::this_thread::sleep_for(Millis(100));
  EXPECT_EQ(log_.Size(), 1u) << "shards opening or closing fire nothing while one is up";

  Stopwatch sw;
  slave_->Kill9();
  EXPECT_TRUE(Eventually([&] { return log_.Count(kSlave, GENRPC_NODE_DOWN) == 1; }, Millis(1000)));
  EXPECT_LE(sw.ElapsedMs(), 1000);
  EXPECT_EQ(master_->Info().clients, 0);
  EXPECT_NE(Ping(m(), slave(), 500), GENRPC_OK);

  ASSERT_NO_FATAL_FAILURE(SpawnSlave());
  EXPECT_EQ(Ping(m(), slave()), GENRPC_OK) << "calls work again, this node untouched";
  EXPECT_TRUE(Eventually([&] { return log_.Count(kSlave, GENRPC_NODE_UP) == 2; }, Millis(1000)));
  EXPECT_EQ(log_.Count(kSlave, GENRPC_NODE_DOWN), 1);
  EXPECT_EQ(log_.Size(), 3u);
}

// A connection the slave opened (an acceptor here) makes it up too; this
// node's own connections to itself never count.
TEST_F(LifetimeTest, NodeEvents_AcceptorSideAndSelf) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(Monitor());
  ASSERT_TRUE(slave_->Send(std::string("ping ") + kMaster));
  EXPECT_TRUE(Eventually([&] { return log_.Count(kSlave, GENRPC_NODE_UP) == 1; }, Millis(3000)));
  ASSERT_TRUE(Eventually([&] { return master_->Info().calls_served == 1; }, Millis(3000)));
  EXPECT_EQ(master_->Info().clients, 0);
  EXPECT_TRUE(Nodes(m()).empty()) << "genrpc_nodes lists client connections only (S23)";
  EXPECT_EQ(genrpc_node_debug_close_acceptors(m(), nullptr, 0), 1);
  EXPECT_TRUE(Eventually([&] { return log_.Count(kSlave, GENRPC_NODE_DOWN) == 1; }, Millis(1000)));
}

// A late subscriber learns the nodes already up; after unmonitor nothing
// more is delivered; bad arguments are refused.
TEST_F(LifetimeTest, NodeEvents_MonitorLateAndUnmonitor) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_EQ(Ping(m(), slave()), GENRPC_OK);
  ASSERT_NO_FATAL_FAILURE(Monitor());
  EXPECT_TRUE(Eventually([&] { return log_.Count(kSlave, GENRPC_NODE_UP) == 1; }, Millis(1000)));
  EXPECT_EQ(genrpc_node_unmonitor(m(), EventLog::Cb, &log_), GENRPC_OK);
  monitoring_ = false;
  EXPECT_EQ(genrpc_node_unmonitor(m(), EventLog::Cb, &log_), GENRPC_E_INVAL);
  genrpc_status st{};
  EXPECT_EQ(genrpc_node_monitor(m(), nullptr, nullptr, &st), GENRPC_E_INVAL);
  ASSERT_TRUE(slave_->Send(std::string("drop ") + kMaster));
  EXPECT_TRUE(Eventually([&] { return master_->Info().clients == 0; }, Millis(600)));
  std::this_thread::sleep_for(Millis(50));
  EXPECT_EQ(log_.Size(), 1u);
}

}  // namespace
}  // namespace genrpc_test
