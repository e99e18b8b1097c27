// CONFORMANCE.md §6 (integration_SUITE, rows I1-I3) across separate hosts,
// plus a network partition (issue 4, "Separate hosts").
//
// gen_rpc ran these in Docker: one master and N peers, each with its own
// address. Here the test makes its own hosts with Linux network namespaces:
//
//     ns <prefix>-hub:  bridge br0, ports v1 v2 v3 v100 (veth ends)
//     ns <prefix>-h1:   eth0 10.77.0.1/24    genrpc_test_node node1@10.77.0.1
//     ns <prefix>-h2:   eth0 10.77.0.2/24    genrpc_test_node node2@10.77.0.2
//     ns <prefix>-h3:   eth0 10.77.0.3/24    genrpc_test_node node3@10.77.0.3
//     ns <prefix>-m:    eth0 10.77.0.100/24  this process's node master@10.77.0.100
//
// The subnet exists only inside these namespaces (nothing is added to the
// machine's own network namespace), and every node uses the default port
// 5369: separate hosts need no per-node port map. The helper processes are
// forked while this thread is inside their host's namespace; this process's
// node is started while its main thread is inside the master's namespace
// (setns on the calling thread; the node's threads inherit it). Everything is
// undone by destructors, also when a test fails: the node is stopped, the
// helpers are stopped or killed by PID, the thread goes back to its original
// namespace, the namespaces are deleted. Namespaces left behind by a test
// process that crashed are deleted by the next run (their prefix carries the
// dead process's PID).
//
// Without root, without `ip` or when a namespace cannot be made, each test
// says why and is skipped (GTEST_SKIP), never passed.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "netns.h"
#include "rows.h"

namespace genrpc_test {
namespace {

constexpr int kPeers = 3;
constexpr int kMasterHost = 100;
constexpr const char *kSubnet = "10.77.0.";  // private, only inside our namespaces
constexpr const char *kPrefixStem = "genrpc-nt";

std::string PeerName(int i) { return "node" + std::to_string(i) + "@" + kSubnet + std::to_string(i); }
std::string MasterName() { return std::string("master@") + kSubnet + std::to_string(kMasterHost); }

std::vector<std::string> Nodes(genrpc_node *n) {
  char **names = nullptr;
  size_t count = 0;
  genrpc_status st{};
  std::vector<std::string> out;
  int err = genrpc_nodes(n, &names, &count, &st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  for (size_t i = 0; i < count; i++) out.push_back(names[i]);
  genrpc_nodes_free(names);
  std::sort(out.begin(), out.end());
  return out;
}

// test.NodeInfo.Name on target; "" on error (*err says which).
std::string RemoteName(genrpc_node *n, const std::string &target, int64_t timeout_ms,
                       int *err_out = nullptr, genrpc_status *st_out = nullptr) {
  Test__Empty req = TEST__EMPTY__INIT;
  Test__NameReply *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(timeout_ms);
  int err = test__node_info__name_call(n, genrpc_node_target(target.c_str()), &req, &reply, &o,
                                       &st);
  std::string name = err == GENRPC_OK && reply && reply->name ? reply->name : "";
  if (reply) test__name_reply__free_unpacked(reply, nullptr);
  if (err_out) *err_out = err;
  if (st_out) *st_out = st;
  return name;
}

// Records node events (genrpc_node_monitor), with when they came.
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
};

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0)
      GTEST_SKIP() << "network namespaces need root (euid " << geteuid() << "): skipped";
    std::string out;
    if (Sh("ip -V", &out) != 0)
      GTEST_SKIP() << "no usable `ip` (iproute2): " << out << " - skipped";
    DeleteStaleNamespaces(kPrefixStem);
    net_ = std::make_unique<TestNetwork>(kPrefixStem, kSubnet, kMasterHost);
    std::vector<int> hosts;
    for (int i = 1; i <= kPeers; i++) hosts.push_back(i);
    hosts.push_back(kMasterHost);
    std::string why;
    if (!net_->Build(hosts, &why)) {
      net_.reset();
      GTEST_SKIP() << "network namespaces unavailable: " << why << " - skipped";
    }
    // One helper per host, each forked from inside its namespace.
    for (int i = 1; i <= kPeers; i++) {
      ASSERT_TRUE(net_->Enter(i, &why)) << why;
      std::string error;
      auto h = HelperProcess::Spawn(
          {"--name", PeerName(i), "--cookie", kCookie, "--port", "5369"}, &error);
      net_->Leave();
      ASSERT_NE(h, nullptr) << PeerName(i) << ": " << error;
      EXPECT_EQ(h->port(), 5369);
      peers_.push_back(std::move(h));
    }
    // This process's node lives in the master's namespace: default ports,
    // no address map (every host has its own address).
    ASSERT_TRUE(net_->Enter(kMasterHost, &why)) << why;
    entered_ = true;
    NodeOptions o;
    o.name = MasterName();
    o.server_port = 5369;
    o.client_port = 5369;
    // A dead link is declared after idle + interval x count = 2 s
    // (keepalive when idle, TCP_USER_TIMEOUT with calls in flight).
    o.keepalive_idle_s = 1;
    o.keepalive_interval_s = 1;
    o.keepalive_count = 1;
    // The fixture's 500 ms (gen_rpc's) is short for a first connect across
    // a fresh bridge (ARP first) on a CI machine busy with the ASan build:
    // seen to fail once; nothing here measures connect times.
    o.connect_timeout_ms = 3000;
    std::string error;
    master_ = Node::Start(o, &error);
    ASSERT_NE(master_, nullptr) << error;
    genrpc_status st{};
    ASSERT_GENRPC_OK(genrpc_node_monitor(n(), EventLog::Cb, &events_, &st), st);
    monitoring_ = true;
  }

  void TearDown() override {
    if (monitoring_) genrpc_node_unmonitor(n(), EventLog::Cb, &events_);
    master_.reset();  // stops the node's threads while still in its namespace
    if (net_ && entered_) net_->Leave();
    for (auto &p : peers_)
      if (p->Running()) p->ExpectCleanStop();
    peers_.clear();
    net_.reset();  // deletes the namespaces
  }

  genrpc_node *n() { return master_->get(); }

  std::vector<std::string> AllPeers() const {
    std::vector<std::string> v;
    for (int i = 1; i <= kPeers; i++) v.push_back(PeerName(i));
    std::sort(v.begin(), v.end());
    return v;
  }

  // I1's check, also the "everything is up" precondition of the others.
  void CallEveryPeer() {
    for (int i = 1; i <= kPeers; i++) {
      int err = 0;
      genrpc_status st{};
      EXPECT_EQ(RemoteName(n(), PeerName(i), 2000, &err, &st), PeerName(i))
          << Describe(err, st);
    }
  }

  std::unique_ptr<TestNetwork> net_;
  bool entered_ = false;
  std::vector<std::unique_ptr<HelperProcess>> peers_;
  std::unique_ptr<Node> master_;
  EventLog events_;
  bool monitoring_ = false;
};

// I1: every peer answers a call (Test.Timestamp, gen_rpc's os:timestamp),
// NodeInfo.Name (erlang:node) returns the peer's own name, and every peer is
// in genrpc_nodes.
TEST_F(NetnsTest, I1_CallEveryPeerOnItsOwnHost) {
  Stopwatch sw;
  for (int i = 1; i <= kPeers; i++) {
    Test__Empty req = TEST__EMPTY__INIT;
    Test__TimestampReply *reply = nullptr;
    genrpc_status st{};
    genrpc_call_opts o = Opts(2000);
    std::string peer = PeerName(i);
    int err = test__test__timestamp_call(n(), genrpc_node_target(peer.c_str()), &req, &reply, &o,
                                         &st);
    EXPECT_EQ(err, GENRPC_OK) << peer << ": " << Describe(err, st);
    if (reply) {
      EXPECT_GT(reply->unix_us, 0);
      test__timestamp_reply__free_unpacked(reply, nullptr);
    }
  }
  CallEveryPeer();
  EXPECT_EQ(Nodes(n()), AllPeers());
  printf("I1: %d peers on 3 hosts called in %lld ms\n", kPeers,
         static_cast<long long>(sw.ElapsedMs()));
}

// I2: multicall over genrpc_cluster_targets (this node, then every
// connected node): one result per node, len = len(nodes) + 1, no bad node,
// each reply naming its target.
TEST_F(NetnsTest, I2_MulticallOverClusterTargets) {
  CallEveryPeer();  // connect, as gen_rpc's suite does before multicall
  ASSERT_EQ(Nodes(n()), AllPeers());
  genrpc_target *targets = nullptr;
  size_t count = 0;
  genrpc_status st{};
  ASSERT_GENRPC_OK(genrpc_cluster_targets(n(), &targets, &count, &st), st);
  std::unique_ptr<genrpc_target, void (*)(genrpc_target *)> guard(targets, genrpc_targets_free);
  ASSERT_EQ(count, Nodes(n()).size() + 1);
  EXPECT_EQ(std::string(targets[0].node), MasterName());

  std::vector<Test__NodeInfo__NameResult> results(count);
  Test__Empty req = TEST__EMPTY__INIT;
  genrpc_call_opts o = Opts(2000);
  Stopwatch sw;
  int err = test__node_info__name_multicall(n(), targets, count, &req, &o, results.data(), &st);
  int64_t ms = sw.ElapsedMs();
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  size_t bad = 0;
  for (size_t i = 0; i < count; i++) {
    if (results[i].status.err != GENRPC_OK) {
      bad++;
      ADD_FAILURE() << targets[i].node << ": " << Describe(results[i].status.err, results[i].status);
      continue;
    }
    ASSERT_NE(results[i].reply, nullptr);
    EXPECT_STREQ(results[i].reply->name, targets[i].node);
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(results.size(), Nodes(n()).size() + 1);
  test__node_info__name_multicall_free(results.data(), count);
  printf("I2: multicall over %zu targets in %lld ms, %zu bad\n", count,
         static_cast<long long>(ms), bad);
}

// I3 (remote_socket_close): each peer closes its acceptors (gen_rpc: each
// peer kills its acceptor) -> within 1 s no peer is in genrpc_nodes, and
// node-down fired for each. The peers close them with the runtime's test
// hook genrpc_node_debug_close_acceptors (the helper's "drop" command).
TEST_F(NetnsTest, I3_PeersCloseTheirAcceptors) {
  CallEveryPeer();
  ASSERT_EQ(Nodes(n()), AllPeers());
  for (int i = 1; i <= kPeers; i++)
    EXPECT_TRUE(Eventually([&] { return events_.Count(PeerName(i), GENRPC_NODE_UP) == 1; },
                           Millis(1000)))
        << "node-up for " << PeerName(i);
  Stopwatch sw;
  for (auto &p : peers_) ASSERT_TRUE(p->Send("drop"));
  bool gone = Eventually([&] { return Nodes(n()).empty(); }, Millis(1000));
  int64_t ms = sw.ElapsedMs();
  EXPECT_TRUE(gone) << "still listed after 1 s: " << ::testing::PrintToString(Nodes(n()));
  for (int i = 1; i <= kPeers; i++)
    EXPECT_TRUE(Eventually([&] { return events_.Count(PeerName(i), GENRPC_NODE_DOWN) == 1; },
                           Millis(1000)))
        << "node-down for " << PeerName(i);
  int64_t events_ms = sw.ElapsedMs();
  // Nothing was restarted: the next call reconnects.
  CallEveryPeer();
  for (auto &p : peers_) EXPECT_TRUE(p->Running());
  printf("I3: %d peers dropped their acceptors; genrpc_nodes empty after %lld ms, "
         "node-down for all after %lld ms\n",
         kPeers, static_cast<long long>(ms), static_cast<long long>(events_ms));
}

// I3 with the peer processes killed (SIGKILL: the kernel closes their
// sockets, which the client sees as the same close).
TEST_F(NetnsTest, I3_PeersKilledGoneWithinOneSecond) {
  CallEveryPeer();
  ASSERT_EQ(Nodes(n()), AllPeers());
  Stopwatch sw;
  for (auto &p : peers_) p->Kill9();
  bool gone = Eventually([&] { return Nodes(n()).empty(); }, Millis(1000));
  int64_t ms = sw.ElapsedMs();
  EXPECT_TRUE(gone) << "still listed after 1 s: " << ::testing::PrintToString(Nodes(n()));
  for (int i = 1; i <= kPeers; i++)
    EXPECT_TRUE(Eventually([&] { return events_.Count(PeerName(i), GENRPC_NODE_DOWN) == 1; },
                           Millis(1000)))
        << "node-down for " << PeerName(i);
  printf("I3: %d peers killed, genrpc_nodes empty after %lld ms\n", kPeers,
         static_cast<long long>(ms));
}

// Partition: one host's link is cut while calls run to every peer. Calls to
// it fail within their deadline with a transport/timeout error; calls to
// the others keep succeeding. The link comes back and calls to it succeed
// again, nothing restarted.
TEST_F(NetnsTest, PartitionOneHostThenHeal) {
  CallEveryPeer();
  ASSERT_EQ(Nodes(n()), AllPeers());
  constexpr int kCut = 2;
  constexpr int64_t kTimeoutMs = 300;
  // The call returns at its deadline; the slack covers scheduling on a busy
  // 2-core machine and the sanitizer build.
  constexpr int64_t kSlackMs = 400;

  // Per peer: calls started while the link was cut, and all failures.
  struct PeerStats {
    std::atomic<int> ok_in_cut{0}, failed_in_cut{0}, failed{0}, late{0}, bad_error{0};
    std::atomic<int> last_err{0};
  };
  std::vector<PeerStats> stats(kPeers + 1);
  std::atomic<bool> cut{false}, stop{false};

  // One caller thread per peer, calling in a loop (bounded by `stop` and a
  // count). Threads started here are in the master's namespace too.
  std::vector<std::thread> callers;
  for (int i = 1; i <= kPeers; i++) {
    callers.emplace_back([&, i] {
      std::string peer = PeerName(i);
      for (int k = 0; k < 3000 && !stop.load(); k++) {
        bool in_cut = cut.load();
        Stopwatch sw;
        int err = 0;
        genrpc_status st{};
        std::string got = RemoteName(n(), peer, kTimeoutMs, &err, &st);
        if (sw.ElapsedMs() > kTimeoutMs + kSlackMs) stats[i].late++;
        if (err == GENRPC_OK) {
          if (got != peer) stats[i].bad_error++;
          if (in_cut) stats[i].ok_in_cut++;
        } else {
          stats[i].failed++;
          if (in_cut) stats[i].failed_in_cut++;
          stats[i].last_err = err;
          int cls = genrpc_err_class_of(err);
          bool expected = (err == GENRPC_E_TIMEOUT || err == GENRPC_E_CONNECT ||
                           err == GENRPC_E_CLOSED) &&
                          (cls == GENRPC_CLASS_BADRPC || cls == GENRPC_CLASS_BADTCP);
          if (!expected) stats[i].bad_error++;
        }
        std::this_thread::sleep_for(Millis(10));
      }
    });
  }

  std::string why;
  std::this_thread::sleep_for(Millis(300));  // calls flowing everywhere
  Stopwatch cut_sw;
  bool cut_ok = net_->SetLink(kCut, false, &why);
  EXPECT_TRUE(cut_ok) << why;
  cut = true;  // calls started from now on run across the partition
  // A silent partition: the connection to the cut host holds unacknowledged
  // calls, so it is declared dead by TCP_USER_TIMEOUT (2 s here, from the
  // keepalive settings) and node-down fires for that host, and only it.
  bool down_in_cut = Eventually(
      [&] { return events_.Count(PeerName(kCut), GENRPC_NODE_DOWN) >= 1; }, Millis(4000));
  cut = false;
  // Let the calls started during the cut end (at their deadline) before the
  // link comes back, so none of them can be answered after the heal.
  std::this_thread::sleep_for(Millis(kTimeoutMs + kSlackMs));
  bool heal_ok = net_->SetLink(kCut, true, &why);
  int64_t partition_ms = cut_sw.ElapsedMs();

  // Healed: calls to the cut host succeed again with the same processes
  // and node (TCP retransmits on the old connection, or a new connection).
  Stopwatch heal_sw;
  bool healed = heal_ok && Eventually(
      [&] { return RemoteName(n(), PeerName(kCut), kTimeoutMs) == PeerName(kCut); },
      Millis(8000));
  int64_t heal_ms = heal_sw.ElapsedMs();
  stop = true;
  for (auto &t : callers) t.join();
  ASSERT_TRUE(cut_ok && heal_ok) << why;

  EXPECT_EQ(stats[kCut].ok_in_cut.load(), 0) << "calls to the cut host succeeded during the cut";
  EXPECT_GT(stats[kCut].failed_in_cut.load(), 0) << "no call to the cut host failed";
  for (int i = 1; i <= kPeers; i++) {
    EXPECT_EQ(stats[i].bad_error.load(), 0)
        << PeerName(i) << ": unexpected outcome, last error " << genrpc_err_name(stats[i].last_err);
    EXPECT_EQ(stats[i].late.load(), 0)
        << PeerName(i) << ": calls returned later than their deadline + " << kSlackMs << " ms";
    if (i == kCut) continue;
    EXPECT_GT(stats[i].ok_in_cut.load(), 5) << PeerName(i) << " barely answered during the cut";
    EXPECT_EQ(stats[i].failed.load(), 0) << PeerName(i) << " had failed calls";
  }
  EXPECT_TRUE(healed) << PeerName(kCut) << " not callable 8 s after the link came back";
  for (int i = 1; i <= kPeers; i++) {
    if (i == kCut) continue;
    EXPECT_EQ(events_.Count(PeerName(i), GENRPC_NODE_DOWN), 0) << PeerName(i);
    EXPECT_EQ(events_.Count(PeerName(i), GENRPC_NODE_UP), 1) << PeerName(i);
  }
  EXPECT_TRUE(down_in_cut) << "no node-down for " << PeerName(kCut) << " during the cut";
  EXPECT_TRUE(Eventually(
      [&] { return events_.Count(PeerName(kCut), GENRPC_NODE_UP) >= 2; }, Millis(3000)))
      << "no node-up for " << PeerName(kCut) << " after the heal";
  printf("partition: node%d events: %d down, %d up\n", kCut,
         events_.Count(PeerName(kCut), GENRPC_NODE_DOWN),
         events_.Count(PeerName(kCut), GENRPC_NODE_UP));
  CallEveryPeer();
  EXPECT_EQ(Nodes(n()), AllPeers());
  for (auto &p : peers_) EXPECT_TRUE(p->Running());
  printf("partition: link of node%d down %lld ms; calls started during the cut: node%d "
         "%d failed (last %s) / %d ok, node1 %d ok, node3 %d ok; node%d callable again "
         "%lld ms after the heal\n",
         kCut, static_cast<long long>(partition_ms), kCut, stats[kCut].failed_in_cut.load(),
         genrpc_err_name(stats[kCut].last_err), stats[kCut].ok_in_cut.load(),
         stats[1].ok_in_cut.load(), stats[3].ok_in_cut.load(), kCut,
         static_cast<long long>(heal_ms));
}

}  // namespace
}  // namespace genrpc_test
