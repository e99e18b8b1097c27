// etcd as the discovery and membership source (genrpc/cluster.h,
// docs/naming.md "etcd", docs/multinode.md "Membership"), against a real
// etcd (Debian etcd-server) each test starts on ports of its own:
// registration, resolution from the member list, the watch, member
// events, a node killed with -9 leaving when its lease expires, etcd
// restarting (with and without its data), TLS and username/password, and
// bad configurations and bad data in etcd.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "etcd.h"
#include "fixture.h"
#include "genrpc/cluster.h"
#include "rows.h"

namespace genrpc_test {
namespace {

// Records member events (the cluster's thread writes, the test reads).
struct Events {
  std::mutex mu;
  std::vector<std::pair<std::string, genrpc_cluster_event>> seen;
  bool Has(const std::string &name, genrpc_cluster_event ev) {
    std::lock_guard<std::mutex> g(mu);
    return std::find(seen.begin(), seen.end(), std::make_pair(name, ev)) != seen.end();
  }
  size_t Count() {
    std::lock_guard<std::mutex> g(mu);
    return seen.size();
  }
};

void OnMember(genrpc_cluster *, const genrpc_cluster_member *m, genrpc_cluster_event ev,
              void *user) {
  auto *e = static_cast<Events *>(user);
  std::lock_guard<std::mutex> g(e->mu);
  e->seen.emplace_back(m->name, ev);
}

// Records a node's log lines (any of its threads).
struct Log {
  std::mutex mu;
  std::vector<std::pair<genrpc_log_level, std::string>> lines;
  static void Cb(genrpc_log_level level, const char *msg, void *arg) {
    auto *log = static_cast<Log *>(arg);
    std::lock_guard<std::mutex> g(log->mu);
    log->lines.emplace_back(level, msg);
  }
  bool Has(genrpc_log_level level, const std::string &text) {
    std::lock_guard<std::mutex> g(mu);
    for (auto &l : lines)
      if (l.first == level && l.second.find(text) != std::string::npos) return true;
    return false;
  }
};

// A callback that tries what callbacks must not do.
std::atomic<int> g_reentry_sub{-1}, g_reentry_unsub{-1}, g_reentry_leave{-1};
void Reenter(genrpc_cluster *c, const genrpc_cluster_member *, genrpc_cluster_event, void *) {
  g_reentry_sub = genrpc_cluster_subscribe(c, OnMember, nullptr, nullptr);
  g_reentry_unsub = genrpc_cluster_unsubscribe(c, Reenter, nullptr);
  g_reentry_leave = genrpc_cluster_leave(c);
}

std::set<std::string> Members(genrpc_cluster *c) {
  genrpc_cluster_member *m = nullptr;
  size_t n = 0;
  std::set<std::string> out;
  genrpc_status st{};
  if (genrpc_cluster_members(c, &m, &n, &st) != GENRPC_OK) return out;
  for (size_t i = 0; i < n; i++) out.insert(m[i].name);
  free(m);
  return out;
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (EtcdBinary().empty()) GTEST_SKIP() << "no etcd binary on PATH (Debian etcd-server)";
    std::string error;
    etcd_ = EtcdProcess::Start(EtcdOptions{}, &error);
    ASSERT_NE(etcd_, nullptr) << error;
    endpoint_ = etcd_->url();
    prefix_ = "/genrpc-test/" + std::to_string(getpid()) + "/";
  }
  void TearDown() override {
    for (auto *c : clusters_) genrpc_cluster_leave(c);
    clusters_.clear();
    nodes_.clear();
  }

  genrpc_cluster_config Config(int ttl_s = 0) {
    genrpc_cluster_config cfg = GENRPC_CLUSTER_CONFIG_INIT;
    endpoints_[0] = endpoint_.c_str();
    cfg.endpoints = endpoints_;
    cfg.n_endpoints = 1;
    cfg.prefix = prefix_.c_str();
    cfg.lease_ttl_s = ttl_s;
    cfg.retry_min_ms = 50;
    cfg.retry_max_ms = 500;
    cfg.request_timeout_ms = 1000;
    return cfg;
  }

  // An in-process node that knows no address but etcd's: a name the
  // cluster does not resolve would be dialled on a dead port.
  Node *StartNode(const std::string &name, Log *log = nullptr) {
    NodeOptions o;
    o.name = name;
    if (log) {
      o.log_cb = Log::Cb;
      o.log_arg = log;
    }
    o.client_port = FreeTcpPort();
    std::string error;
    auto n = Node::Start(o, &error);
    EXPECT_NE(n, nullptr) << error;
    if (!n) return nullptr;
    nodes_.push_back(std::move(n));
    return nodes_.back().get();
  }

  genrpc_cluster *Join(Node *n, const genrpc_cluster_config &cfg) {
    genrpc_cluster *c = nullptr;
    genrpc_status st{};
    int err = genrpc_cluster_join(n->get(), &cfg, &c, &st);
    EXPECT_EQ(err, GENRPC_OK) << st.message;
    if (c) clusters_.push_back(c);
    return c;
  }

  void Leave(genrpc_cluster *c) {
    clusters_.erase(std::remove(clusters_.begin(), clusters_.end(), c), clusters_.end());
    EXPECT_EQ(genrpc_cluster_leave(c), GENRPC_OK);
  }

  // The keys under our prefix, as etcd has them.
  std::set<std::string> EtcdKeys() {
    std::string end = prefix_;
    end.back() = static_cast<char>(end.back() + 1);
    long status = 0;
    std::string reply = EtcdPost(endpoint_, "/v3/kv/range",
                                 "{\"key\":\"" + Base64(prefix_) + "\",\"range_end\":\"" +
                                     Base64(end) + "\",\"keys_only\":true}",
                                 &status, etcd_->ca());
    std::set<std::string> keys;
    for (size_t at = 0; (at = reply.find("\"key\":\"", at)) != std::string::npos;) {
      at += 7;
      keys.insert(reply.substr(at, reply.find('"', at) - at));
    }
    return keys;
  }

  Log log_;  // outlives the nodes (TearDown stops them)
  std::unique_ptr<EtcdProcess> etcd_;
  std::string endpoint_, prefix_;
  const char *endpoints_[4] = {};
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<genrpc_cluster *> clusters_;
};

TEST_F(ClusterTest, RegistersAndCallsByMembership) {
  Node *a = StartNode("a@127.0.0.1");
  Node *b = StartNode("b@127.0.0.1");
  ASSERT_TRUE(a && b);
  genrpc_cluster *ca = Join(a, Config());
  genrpc_cluster *cb = Join(b, Config());
  ASSERT_TRUE(ca && cb);
  EXPECT_TRUE(genrpc_cluster_connected(ca));
  EXPECT_EQ(EtcdKeys(), (std::set<std::string>{Base64(prefix_ + "a@127.0.0.1"),
                                               Base64(prefix_ + "b@127.0.0.1")}));
  // a learns of b from the watch, and reaches it on b's ephemeral port
  ASSERT_TRUE(Eventually([&] { return Members(ca).size() == 2; }, Millis(5000)));
  EXPECT_EQ(Members(ca), (std::set<std::string>{"a@127.0.0.1", "b@127.0.0.1"}));
  EXPECT_TRUE(PingOk(a->get(), "b@127.0.0.1"));
  EXPECT_TRUE(PingOk(b->get(), "a@127.0.0.1"));

  genrpc_cluster_member *m = nullptr;
  size_t n = 0;
  genrpc_status st{};
  ASSERT_EQ(genrpc_cluster_members(ca, &m, &n, &st), GENRPC_OK);
  ASSERT_EQ(n, 2u);
  EXPECT_STREQ(m[1].name, "b@127.0.0.1");
  EXPECT_STREQ(m[1].host, "127.0.0.1");
  EXPECT_EQ(m[1].port, b->port());
  EXPECT_EQ(m[1].driver, GENRPC_DRIVER_TCP);
  free(m);

  // "all nodes" by membership: a multicall over the member targets
  genrpc_target *t = nullptr;
  ASSERT_EQ(genrpc_cluster_member_targets(ca, &t, &n, &st), GENRPC_OK);
  ASSERT_EQ(n, 2u);
  EXPECT_STREQ(t[0].node, "a@127.0.0.1");  // this node first
  EXPECT_STREQ(t[1].node, "b@127.0.0.1");
  genrpc_targets_free(t);

  // b's key deleted behind its back: b puts it back (its lease lives on)
  long status = 0;
  EtcdPost(endpoint_, "/v3/kv/deleterange",
           "{\"key\":\"" + Base64(prefix_ + "b@127.0.0.1") + "\"}", &status);
  ASSERT_EQ(status, 200);
  EXPECT_TRUE(Eventually([&] { return EtcdKeys().size() == 2 && Members(ca).size() == 2; },
                         Millis(5000)))
      << "b did not register again";
  EXPECT_TRUE(PingOk(a->get(), "b@127.0.0.1"));
}

// A client program: reads and watches the members, resolves from them,
// registers nothing (in no list, no key in etcd, needs no listener).
TEST_F(ClusterTest, ObserverResolvesWithoutRegistering) {
  Node *a = StartNode("a@127.0.0.1");
  ASSERT_TRUE(a);
  ASSERT_TRUE(Join(a, Config()));
  NodeOptions o;
  o.name = "client@127.0.0.1";
  o.server_port = GENRPC_PORT_DISABLED;
  o.client_port = FreeTcpPort();
  std::string error;
  auto client = Node::Start(o, &error);
  ASSERT_NE(client, nullptr) << error;
  genrpc_cluster_config cfg = Config();
  cfg.observe_only = true;
  genrpc_cluster *cc = nullptr;
  genrpc_status st{};
  ASSERT_EQ(genrpc_cluster_join(client->get(), &cfg, &cc, &st), GENRPC_OK) << st.message;
  EXPECT_EQ(Members(cc), (std::set<std::string>{"a@127.0.0.1"}));
  EXPECT_TRUE(PingOk(client->get(), "a@127.0.0.1"));
  genrpc_target *t = nullptr;
  size_t n = 0;
  ASSERT_EQ(genrpc_cluster_member_targets(cc, &t, &n, &st), GENRPC_OK);
  ASSERT_EQ(n, 1u);  // the observer is not a target of its own fan-outs
  EXPECT_STREQ(t[0].node, "a@127.0.0.1");
  genrpc_targets_free(t);
  EXPECT_EQ(EtcdKeys(), (std::set<std::string>{Base64(prefix_ + "a@127.0.0.1")}));
  // and it follows changes: b joins
  Node *b = StartNode("b@127.0.0.1");
  ASSERT_TRUE(b && Join(b, Config()));
  EXPECT_TRUE(Eventually([&] { return Members(cc).size() == 2; }, Millis(5000)));
  EXPECT_EQ(genrpc_cluster_leave(cc), GENRPC_OK);
}

TEST_F(ClusterTest, UnknownNameIsADiscoveryError) {
  Node *a = StartNode("a@127.0.0.1");
  ASSERT_TRUE(a);
  ASSERT_TRUE(Join(a, Config()));
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = (char *)"x";
  Test__PingReply *reply = nullptr;
  genrpc_call_opts opts = Opts(2000);
  genrpc_status st{};
  int err = test__test__ping_call(a->get(), genrpc_node_target("ghost@127.0.0.1"), &req, &reply,
                                  &opts, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_DISCOVERY, GENRPC_CLASS_BADRPC, err, st);
  EXPECT_NE(std::string(st.message).find("not a member of the cluster"), std::string::npos)
      << st.message;
  EXPECT_NE(std::string(st.message).find(prefix_ + "ghost@127.0.0.1"), std::string::npos)
      << st.message;
}

TEST_F(ClusterTest, MemberEventsJoinAndLeave) {
  Node *a = StartNode("a@127.0.0.1");
  Node *b = StartNode("b@127.0.0.1");
  ASSERT_TRUE(a && b);
  genrpc_cluster *ca = Join(a, Config(30));
  ASSERT_TRUE(ca);
  Events ev;
  genrpc_status st{};
  ASSERT_EQ(genrpc_cluster_subscribe(ca, OnMember, &ev, &st), GENRPC_OK);
  // primed with the members of the moment: a itself
  ASSERT_TRUE(Eventually([&] { return ev.Has("a@127.0.0.1", GENRPC_MEMBER_JOINED); },
                         Millis(5000)));
  genrpc_cluster *cb = Join(b, Config(30));
  ASSERT_TRUE(cb);
  ASSERT_TRUE(Eventually([&] { return ev.Has("b@127.0.0.1", GENRPC_MEMBER_JOINED); },
                         Millis(5000)));
  // b leaves cleanly: its lease is revoked, so a hears at once, not in 30 s
  Stopwatch sw;
  Leave(cb);
  ASSERT_TRUE(Eventually([&] { return ev.Has("b@127.0.0.1", GENRPC_MEMBER_LEFT); },
                         Millis(5000)));
  EXPECT_LT(sw.ElapsedMs(), 10000) << "the lease was not revoked: b left by expiry";
  EXPECT_EQ(Members(ca), (std::set<std::string>{"a@127.0.0.1"}));
  EXPECT_EQ(EtcdKeys(), (std::set<std::string>{Base64(prefix_ + "a@127.0.0.1")}));
  EXPECT_EQ(genrpc_cluster_unsubscribe(ca, OnMember, &ev), GENRPC_OK);
  EXPECT_EQ(genrpc_cluster_unsubscribe(ca, OnMember, &ev), GENRPC_E_INVAL);
  // from a callback: subscribe, unsubscribe and leave are refused
  ASSERT_EQ(genrpc_cluster_subscribe(ca, Reenter, nullptr, nullptr), GENRPC_OK);
  ASSERT_TRUE(Eventually([&] { return g_reentry_leave.load() != -1; }, Millis(5000)));
  EXPECT_EQ(g_reentry_sub.load(), GENRPC_E_INVAL);
  EXPECT_EQ(g_reentry_unsub.load(), GENRPC_E_INVAL);
  EXPECT_EQ(g_reentry_leave.load(), GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_cluster_unsubscribe(ca, Reenter, nullptr), GENRPC_OK);
  size_t before = ev.Count();
  Join(b, Config(30));
  ASSERT_TRUE(Eventually([&] { return Members(ca).size() == 2; }, Millis(5000)));
  EXPECT_EQ(ev.Count(), before) << "an unsubscribed callback was called";
}

TEST_F(ClusterTest, NodeKilledWithMinus9LeavesWhenItsLeaseExpires) {
  Node *a = StartNode("a@127.0.0.1");
  ASSERT_TRUE(a);
  genrpc_cluster *ca = Join(a, Config());
  ASSERT_TRUE(ca);
  Events ev;
  ASSERT_EQ(genrpc_cluster_subscribe(ca, OnMember, &ev, nullptr), GENRPC_OK);
  std::string error;
  auto k = ClusterNodeProcess::Spawn(
      {}, {"--name", "k@127.0.0.1", "--etcd", endpoint_, "--prefix", prefix_, "--ttl", "2"},
      &error);
  ASSERT_NE(k, nullptr) << error;
  ASSERT_TRUE(Eventually([&] { return ev.Has("k@127.0.0.1", GENRPC_MEMBER_JOINED); },
                         Millis(5000)));
  EXPECT_TRUE(PingOk(a->get(), "k@127.0.0.1"));
  EXPECT_EQ(k->Ask("members"), "MEMBERS 2 a@127.0.0.1 k@127.0.0.1");
  Stopwatch sw;
  k->Kill9();
  // TTL 2 s; etcd checks expiry every 500 ms; the watch brings it at once
  ASSERT_TRUE(Eventually([&] { return ev.Has("k@127.0.0.1", GENRPC_MEMBER_LEFT); },
                         Millis(8000)));
  EXPECT_GE(sw.ElapsedMs(), 1000) << "left before its lease could expire";
  genrpc_status st{};
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = (char *)"x";
  Test__PingReply *reply = nullptr;
  genrpc_call_opts opts = Opts(2000);
  int err = test__test__ping_call(a->get(), genrpc_key_target("k@127.0.0.1", "new", 3), &req,
                                  &reply, &opts, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_DISCOVERY, GENRPC_CLASS_BADRPC, err, st);
}

TEST_F(ClusterTest, EtcdDownServesTheCacheAndReRegistersWhenBack) {
  Node *a = StartNode("a@127.0.0.1", &log_);
  Node *b = StartNode("b@127.0.0.1");
  ASSERT_TRUE(a && b);
  genrpc_cluster *ca = Join(a, Config(5));
  genrpc_cluster *cb = Join(b, Config(5));
  ASSERT_TRUE(ca && cb);
  ASSERT_TRUE(Eventually([&] { return Members(ca).size() == 2; }, Millis(5000)));

  etcd_->Kill9();
  ASSERT_TRUE(Eventually([&] { return !genrpc_cluster_connected(ca); }, Millis(10000)));
  EXPECT_TRUE(Eventually(
      [&] { return log_.Has(GENRPC_LOG_WARN, "serving the cached member list, retrying in"); },
      Millis(2000)))
      << "no warning that etcd is unreachable";
  // the cached list keeps serving: members, and a name resolved afresh
  // (a {node, key} target opens a new connection)
  EXPECT_EQ(Members(ca).size(), 2u);
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = (char *)"x";
  Test__PingReply *reply = nullptr;
  genrpc_call_opts opts = Opts(2000);
  genrpc_status st{};
  ASSERT_GENRPC_OK(test__test__ping_call(a->get(), genrpc_key_target("b@127.0.0.1", "k1", 2),
                                         &req, &reply, &opts, &st),
                   st);
  test__ping_reply__free_unpacked(reply, nullptr);

  // etcd comes back having lost everything: both nodes register again
  std::string error;
  ASSERT_TRUE(etcd_->Restart(/*wipe=*/true, &error)) << error;
  ASSERT_TRUE(Eventually([&] { return EtcdKeys().size() == 2; }, Millis(15000)))
      << "nodes did not re-register";
  ASSERT_TRUE(Eventually([&] { return genrpc_cluster_connected(ca) && genrpc_cluster_connected(cb); },
                         Millis(10000)));
  EXPECT_TRUE(log_.Has(GENRPC_LOG_INFO, "lease")) << "no word of the lost lease";
  EXPECT_TRUE(log_.Has(GENRPC_LOG_INFO, "registered " + prefix_ + "a@127.0.0.1 in etcd"));
  // b's watch hears a's new key a moment after both are connected again
  EXPECT_TRUE(Eventually([&] { return Members(cb).size() == 2; }, Millis(5000)))
      << Members(cb).size();

  // etcd restarted with its data: the leases are still there and kept alive
  ASSERT_TRUE(etcd_->Restart(/*wipe=*/false, &error)) << error;
  ASSERT_TRUE(Eventually([&] { return genrpc_cluster_connected(ca); }, Millis(10000)));
  sleep(6);  // longer than the TTL: a lease not kept alive would be gone
  EXPECT_EQ(EtcdKeys().size(), 2u);
  EXPECT_EQ(Members(ca).size(), 2u);
}

TEST_F(ClusterTest, BadDataInEtcdIsIgnored) {
  Node *a = StartNode("a@127.0.0.1");
  ASSERT_TRUE(a);
  genrpc_cluster *ca = Join(a, Config());
  ASSERT_TRUE(ca);
  long status = 0;
  for (const char *bad : {"not json", "{\"driver\":\"udp\",\"host\":\"h\",\"port\":1}",
                          "{\"driver\":\"tcp\",\"host\":\"h\",\"port\":70000}"}) {
    EtcdPost(endpoint_, "/v3/kv/put",
             "{\"key\":\"" + Base64(prefix_ + "bad@127.0.0.1") + "\",\"value\":\"" +
                 Base64(bad) + "\"}",
             &status);
    ASSERT_EQ(status, 200);
  }
  EtcdPost(endpoint_, "/v3/kv/put",
           "{\"key\":\"" + Base64(prefix_ + "noat") + "\",\"value\":\"" + Base64("{}") + "\"}",
           &status);
  // a good one after them arrives: the bad ones were read and skipped
  EtcdPost(endpoint_, "/v3/kv/put",
           "{\"key\":\"" + Base64(prefix_ + "good@127.0.0.1") + "\",\"value\":\"" +
               Base64("{\"driver\":\"tcp\",\"host\":\"127.0.0.1\",\"port\":9}") + "\"}",
           &status);
  ASSERT_TRUE(Eventually([&] { return Members(ca).count("good@127.0.0.1") == 1; }, Millis(5000)));
  EXPECT_EQ(Members(ca), (std::set<std::string>{"a@127.0.0.1", "good@127.0.0.1"}));
  EXPECT_TRUE(genrpc_cluster_connected(ca));
}

TEST_F(ClusterTest, BadConfigurations) {
  Node *a = StartNode("a@127.0.0.1");
  ASSERT_TRUE(a);
  genrpc_cluster *c = nullptr;
  genrpc_status st{};
  genrpc_cluster_config cfg = Config();
  cfg.n_endpoints = 0;
  EXPECT_EQ(genrpc_cluster_join(a->get(), &cfg, &c, &st), GENRPC_E_INVAL);
  EXPECT_EQ(c, nullptr);
  const char *bad[] = {"127.0.0.1:2379"};
  cfg = Config();
  cfg.endpoints = bad;
  EXPECT_EQ(genrpc_cluster_join(a->get(), &cfg, &c, &st), GENRPC_E_INVAL);
  EXPECT_NE(std::string(st.message).find("127.0.0.1:2379"), std::string::npos) << st.message;
  cfg = Config(1);
  EXPECT_EQ(genrpc_cluster_join(a->get(), &cfg, &c, &st), GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_cluster_join(nullptr, &cfg, &c, &st), GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_cluster_join(a->get(), nullptr, &c, &st), GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_cluster_join(a->get(), &cfg, nullptr, &st), GENRPC_E_INVAL);
  // NULL clusters: errors, never crashes
  genrpc_cluster_member *m = nullptr;
  size_t n = 0;
  EXPECT_EQ(genrpc_cluster_members(nullptr, &m, &n, &st), GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_cluster_subscribe(nullptr, OnMember, nullptr, &st), GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_cluster_unsubscribe(nullptr, OnMember, nullptr), GENRPC_E_INVAL);
  EXPECT_FALSE(genrpc_cluster_connected(nullptr));
  EXPECT_EQ(genrpc_cluster_leave(nullptr), GENRPC_OK);

  // nobody there: a clear error within join_timeout_ms
  std::string dead = "http://127.0.0.1:" + std::to_string(FreeTcpPort());
  const char *dead_ep[] = {dead.c_str()};
  cfg = Config();
  cfg.endpoints = dead_ep;
  cfg.join_timeout_ms = 500;
  Stopwatch sw;
  EXPECT_EQ(genrpc_cluster_join(a->get(), &cfg, &c, &st), GENRPC_E_CONNECT);
  EXPECT_LT(sw.ElapsedMs(), 5000);
  EXPECT_NE(std::string(st.message).find("not registered in etcd"), std::string::npos)
      << st.message;

  // one cluster per node
  ASSERT_TRUE(Join(a, Config()));
  cfg = Config();
  EXPECT_EQ(genrpc_cluster_join(a->get(), &cfg, &c, &st), GENRPC_E_INVAL);
  EXPECT_NE(std::string(st.message).find("already joined"), std::string::npos) << st.message;
}

// etcd serving https with a password: the node joins with ca_file and
// username/password; a wrong password is refused with etcd's reason.
TEST_F(ClusterTest, TlsAndPassword) {
  char tmpl[] = "/tmp/genrpc-etcd-tls-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl, cert = dir + "/etcd.pem", key = dir + "/etcd.key";
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                    "-addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert +
                    " >/dev/null 2>&1";
  ASSERT_EQ(system(cmd.c_str()), 0) << cmd;
  EtcdOptions o;
  o.cert = cert;
  o.key = key;
  std::string error;
  auto tls = EtcdProcess::Start(o, &error);
  ASSERT_NE(tls, nullptr) << error;
  long status = 0;
  const std::pair<const char *, const char *> setup[] = {
      {"/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"s3cret\"}"},
      {"/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}"},
      {"/v3/auth/enable", "{}"}};
  for (auto &s : setup) {
    std::string reply = EtcdPost(tls->url(), s.first, s.second, &status, cert);
    ASSERT_EQ(status, 200) << s.first << ": " << reply;
  }
  Node *a = StartNode("a@127.0.0.1");
  ASSERT_TRUE(a);
  std::string url = tls->url();
  const char *ep[] = {url.c_str()};
  genrpc_cluster_config cfg = Config();
  cfg.endpoints = ep;
  cfg.ca_file = cert.c_str();
  cfg.username = "root";
  cfg.password = "wrong";
  cfg.join_timeout_ms = 1500;
  genrpc_cluster *c = nullptr;
  genrpc_status st{};
  EXPECT_EQ(genrpc_cluster_join(a->get(), &cfg, &c, &st), GENRPC_E_CONNECT);
  EXPECT_NE(std::string(st.message).find("authentication failed"), std::string::npos)
      << st.message;
  cfg.password = "s3cret";
  cfg.ca_file = nullptr;  // the system's CAs do not know our self-signed one
  EXPECT_EQ(genrpc_cluster_join(a->get(), &cfg, &c, &st), GENRPC_E_CONNECT);
  cfg.ca_file = cert.c_str();
  c = Join(a, cfg);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(Members(c), (std::set<std::string>{"a@127.0.0.1"}));
  // what the node wrote is there, for someone with the password
  std::string reply = EtcdPost(tls->url(), "/v3/auth/authenticate",
                               "{\"name\":\"root\",\"password\":\"s3cret\"}", &status, cert);
  ASSERT_EQ(status, 200);
  size_t at = reply.find("\"token\":\"") + 9;
  std::string token = reply.substr(at, reply.find('"', at) - at);
  reply = EtcdPost(tls->url(), "/v3/kv/range",
                   "{\"key\":\"" + Base64(prefix_ + "a@127.0.0.1") + "\"}", &status, cert, token);
  EXPECT_NE(reply.find("\"count\":\"1\""), std::string::npos) << reply;
  Leave(c);
  tls.reset();
  std::string rm = "rm -rf " + dir;
  EXPECT_EQ(system(rm.c_str()), 0);
}

}  // namespace
}  // namespace genrpc_test
