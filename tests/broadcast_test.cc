// Named handlers and broadcasts: gen_rpc's abcast/sbcast rows of
// multi_rpc_SUITE and multi_rpc_with_key_SUITE (CONFORMANCE.md M15-M18,
// MK5-MK8), the unregistered-name behaviour S14, the broadcast part of L35
// and a type mismatch. This process's node ("master", which reaches itself
// through its own listener) broadcasts to a helper node process ("slave",
// tests/helpers/test_node.c) that registers a test.Note handler named
// test_process_123 (--handler). Rows are named M<n>_ / MK<n>_ / S<n>_ / L<n>_.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fixture.h"
#include "rows.h"

namespace genrpc_test {
namespace {

constexpr const char *kMaster = "master@127.0.0.1";
constexpr const char *kSlave = "slave@127.0.0.1";
constexpr const char *kDead = "fake_node@127.0.0.1";     // refuses connections
constexpr const char *kSilent = "silent_node@127.0.0.1"; // accepts, never answers
constexpr const char *kKey = "random_key";
constexpr const char *kName = "test_process_123";

genrpc_target Keyed(const char *node, const char *key = kKey) {
  return genrpc_key_target(node, key, strlen(key));
}

// "<name> <from> <text>" as recorded by genrpc_test_register_handler.
std::string Note(const char *from, const char *text, const char *name = kName) {
  return std::string(name) + " " + from + " " + text;
}

// What the target's named handlers received, via test.NodeInfo.Notes.
std::vector<std::string> RemoteNotes(genrpc_node *n, const char *target) {
  Test__Empty req = TEST__EMPTY__INIT;
  Test__NotesReply *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(5000);
  std::vector<std::string> out;
  int err = test__node_info__notes_call(n, genrpc_node_target(target), &req, &reply, &o, &st);
  if (err != GENRPC_OK) {
    ADD_FAILURE() << "NodeInfo.Notes on " << target << ": " << Describe(err, st);
    return out;
  }
  for (size_t i = 0; i < reply->n_notes; i++) out.push_back(reply->notes[i]);
  test__notes_reply__free_unpacked(reply, nullptr);
  return out;
}

// Waits (bounded) until the target's handlers got exactly `want`, then
// checks that nothing more arrives.
void ExpectNotes(genrpc_node *n, const char *target, const std::vector<std::string> &want) {
  std::vector<std::string> got;
  Eventually([&] { return (got = RemoteNotes(n, target)).size() >= want.size(); }, Millis(5000));
  std::this_thread::sleep_for(Millis(50));
  got = RemoteNotes(n, target);
  EXPECT_EQ(got, want);
}

uint64_t RemoteDropped(genrpc_node *n, const char *target) {
  return RemoteCounters(n, target).broadcasts_dropped;
}

int Abcast(genrpc_node *n, const std::vector<genrpc_target> &targets, const char *text,
           const char *name = kName) {
  Test__Note msg = TEST__NOTE__INIT;
  msg.text = const_cast<char *>(text);
  genrpc_status st{};
  int err = test__note__abcast(n, targets.data(), targets.size(), name, &msg, &st);
  EXPECT_EQ(st.err, err);
  return err;
}

// sbcast; returns each target's err, in the targets' order.
std::vector<int> Sbcast(genrpc_node *n, const std::vector<genrpc_target> &targets,
                        const char *text, const char *name = kName) {
  Test__Note msg = TEST__NOTE__INIT;
  msg.text = const_cast<char *>(text);
  std::vector<genrpc_sbcast_result> r(targets.size());
  genrpc_status st{};
  int err = test__note__sbcast(n, targets.data(), targets.size(), name, &msg, r.data(), &st);
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE, err, st);
  std::vector<int> out;
  for (auto &x : r) out.push_back(x.status.err);
  return out;
}

std::vector<std::string> Nodes(genrpc_node *n) {
  char **names = nullptr;
  size_t count = 0;
  genrpc_status st{};
  std::vector<std::string> out;
  EXPECT_EQ(genrpc_nodes(n, &names, &count, &st), GENRPC_OK) << st.message;
  for (size_t i = 0; i < count; i++) out.push_back(names[i]);
  genrpc_nodes_free(names);
  return out;
}

// This node plus every connected node (gen_rpc's abcast/2, sbcast/2).
std::vector<genrpc_target> Cluster(genrpc_node *n, genrpc_target **owned) {
  size_t count = 0;
  genrpc_status st{};
  EXPECT_EQ(genrpc_cluster_targets(n, owned, &count, &st), GENRPC_OK) << st.message;
  return std::vector<genrpc_target>(*owned, *owned + count);
}

// A node started from a raw config: for the sbcast_receive_timeout rows.
struct RawNode {
  genrpc_node *node = nullptr;
  ~RawNode() {
    if (node) {
      EXPECT_EQ(genrpc_node_stop(node), GENRPC_OK);
    }
  }
};

class BroadcastTest : public ::testing::Test {
 protected:
  void SetUp() override { StartSlave({}); }

  void StartSlave(const std::vector<std::string> &extra) {
    master_.reset();
    if (slave_) slave_->ExpectCleanStop();
    std::string error;
    std::vector<std::string> args = {"--name", kSlave, "--cookie", kCookie, "--port", "0",
                                     "--handler", kName};
    args.insert(args.end(), extra.begin(), extra.end());
    slave_ = HelperProcess::Spawn(args, &error);
    ASSERT_NE(slave_, nullptr) << error;
    NodeOptions o;
    o.name = kMaster;
    o.addrs = {{kSlave, slave_->port()}, {kDead, FreeTcpPort()}, {kSilent, silent_.port()}};
    master_ = Node::StartSelf(o, &error);
    ASSERT_NE(master_, nullptr) << error;
  }

  // A node like master_ (another name) whose sbcast_receive_timeout is `ms`.
  void StartShortTimeoutNode(RawNode *out, int64_t ms) {
    genrpc_node_addr addrs[3] = {{kSlave, GENRPC_DRIVER_TCP, slave_->port()},
                                 {kDead, GENRPC_DRIVER_TCP, FreeTcpPort()},
                                 {kSilent, GENRPC_DRIVER_TCP, silent_.port()}};
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "short@127.0.0.1";
    cfg.cookie = kCookie;
    cfg.tcp_server_port = 0;
    cfg.node_addrs = addrs;
    cfg.n_node_addrs = 3;
    cfg.connect_timeout_ms = 500;
    cfg.sbcast_receive_timeout_ms = ms;
    genrpc_status st{};
    ASSERT_GENRPC_OK(genrpc_node_start(&cfg, &out->node, &st), st);
  }

  void TearDown() override {
    master_.reset();
    if (slave_) slave_->ExpectCleanStop();
  }

  genrpc_node *n() { return master_->get(); }

  SilentServer silent_;
  std::unique_ptr<HelperProcess> slave_;
  std::unique_ptr<Node> master_;
};

// ---- abcast -------------------------------------------------------------------

// M15: abcast to the node with the named handler delivers it; the sender now
// lists that node; abcast to this node + every connected node delivers
// where the name is registered (this node has none: dropped there, S14).
TEST_F(BroadcastTest, M15_Abcast) {
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE, Abcast(n(), {genrpc_node_target(kSlave)}, "m15"),
                    genrpc_status{});
  ExpectNotes(n(), kSlave, {Note(kMaster, "m15")});
  EXPECT_EQ(Nodes(n()), std::vector<std::string>{kSlave});

  genrpc_target *owned = nullptr;
  auto all = Cluster(n(), &owned);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_STREQ(all[0].node, kMaster);
  EXPECT_STREQ(all[1].node, kSlave);
  EXPECT_EQ(Abcast(n(), all, "m15/2"), GENRPC_OK);
  genrpc_targets_free(owned);
  ExpectNotes(n(), kSlave, {Note(kMaster, "m15"), Note(kMaster, "m15/2")});
  EXPECT_TRUE(Eventually([&] { return master_->Info().broadcasts_dropped == 1; }, Millis(3000)))
      << "master has no handler named " << kName << ": its copy is dropped and counted";
}

// M16: an unreachable target (refused, or accepting and never answering)
// neither fails the abcast nor delays the others.
TEST_F(BroadcastTest, M16_AbcastWithBadServer) {
  Stopwatch sw;
  EXPECT_EQ(Abcast(n(), {genrpc_node_target(kSlave), genrpc_node_target(kDead),
                         genrpc_node_target(kSilent)},
                   "m16"),
            GENRPC_OK);
  EXPECT_LT(sw.ElapsedMs(), 400) << "abcast returns at once (connect timeout is 500 ms)";
  ExpectNotes(n(), kSlave, {Note(kMaster, "m16")});
  EXPECT_EQ(Nodes(n()), std::vector<std::string>{kSlave}) << "no node listed for FAKE";
}

// MK5: = M15 over a {node, key} connection.
TEST_F(BroadcastTest, MK5_Abcast) {
  EXPECT_EQ(Abcast(n(), {Keyed(kSlave)}, "mk5"), GENRPC_OK);
  ExpectNotes(n(), kSlave, {Note(kMaster, "mk5")});
  EXPECT_EQ(Nodes(n()), std::vector<std::string>{kSlave}) << "keys stripped";
  genrpc_target *owned = nullptr;
  auto all = Cluster(n(), &owned);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].key, nullptr) << "abcast/2 uses keyless connections";
  EXPECT_EQ(Abcast(n(), all, "mk5/2"), GENRPC_OK);
  genrpc_targets_free(owned);
  ExpectNotes(n(), kSlave, {Note(kMaster, "mk5"), Note(kMaster, "mk5/2")});
}

// MK6: = M16 keyed.
TEST_F(BroadcastTest, MK6_AbcastWithBadServer) {
  Stopwatch sw;
  EXPECT_EQ(Abcast(n(), {Keyed(kSlave), genrpc_node_target(kDead)}, "mk6"), GENRPC_OK);
  EXPECT_LT(sw.ElapsedMs(), 400);
  ExpectNotes(n(), kSlave, {Note(kMaster, "mk6")});
}

// Messages to one name over one connection run in the order sent.
TEST_F(BroadcastTest, AbcastKeepsOrderOnAConnection) {
  std::vector<std::string> want;
  for (int i = 0; i < 50; i++) {
    std::string text = "seq" + std::to_string(i);
    ASSERT_EQ(Abcast(n(), {genrpc_node_target(kSlave)}, text.c_str()), GENRPC_OK);
    want.push_back(Note(kMaster, text.c_str()));
  }
  ExpectNotes(n(), kSlave, want);
}

// ---- sbcast -------------------------------------------------------------------

// M17: the node with the name is good; sbcast/2 (this node + connected
// nodes): this node lacks the name (GENRPC_E_UNDEF), the slave has it.
TEST_F(BroadcastTest, M17_Sbcast) {
  EXPECT_EQ(Sbcast(n(), {genrpc_node_target(kSlave)}, "m17"), std::vector<int>{GENRPC_OK});
  genrpc_target *owned = nullptr;
  auto all = Cluster(n(), &owned);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(Sbcast(n(), all, "m17/2"), (std::vector<int>{GENRPC_E_UNDEF, GENRPC_OK}))
      << "targets: " << all[0].node << ", " << all[1].node;
  genrpc_targets_free(owned);
  ExpectNotes(n(), kSlave, {Note(kMaster, "m17"), Note(kMaster, "m17/2")});
  EXPECT_EQ(master_->Info().broadcasts_dropped, 1u);
}

// M18: with sbcast_receive_timeout = 500 ms, a refused target is bad at once
// (GENRPC_E_CONNECT), a silent one after the timeout (GENRPC_E_TIMEOUT); one
// deadline for all, the good target unaffected.
TEST_F(BroadcastTest, M18_SbcastWithBadServer) {
  RawNode shortn;
  StartShortTimeoutNode(&shortn, 500);
  ASSERT_NE(shortn.node, nullptr);
  Stopwatch sw;
  auto r = Sbcast(shortn.node, {genrpc_node_target(kSlave), genrpc_node_target(kDead),
                                genrpc_node_target(kSilent), genrpc_node_target(kSilent)},
                  "m18");
  int64_t ms = sw.ElapsedMs();
  EXPECT_EQ(r, (std::vector<int>{GENRPC_OK, GENRPC_E_CONNECT, GENRPC_E_TIMEOUT, GENRPC_E_TIMEOUT}));
  EXPECT_GE(ms, 450) << "the silent target is waited for until the deadline";
  EXPECT_LT(ms, 1000) << "one deadline for the whole fan-out, not one per target";
  ExpectNotes(n(), kSlave, {Note("short@127.0.0.1", "m18")});
}

// MK7: results belong to the targets exactly as given (node + key); a keyed
// and a keyless target to one node are two connections, both good.
TEST_F(BroadcastTest, MK7_Sbcast) {
  std::vector<genrpc_target> targets = {Keyed(kSlave)};
  EXPECT_EQ(Sbcast(n(), targets, "mk7"), std::vector<int>{GENRPC_OK});
  EXPECT_EQ(targets[0].key, static_cast<const void *>(kKey)) << "the caller's target, untouched";
  targets = {Keyed(kSlave), genrpc_node_target(kSlave), Keyed(kSlave, "other_key")};
  EXPECT_EQ(Sbcast(n(), targets, "mk7b"), (std::vector<int>{GENRPC_OK, GENRPC_OK, GENRPC_OK}));
  EXPECT_EQ(master_->Info().clients, 3) << "one connection per {node, key}";
  genrpc_target *owned = nullptr;
  auto all = Cluster(n(), &owned);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(Sbcast(n(), all, "mk7/2"), (std::vector<int>{GENRPC_E_UNDEF, GENRPC_OK}));
  genrpc_targets_free(owned);
  // Three connections: each keeps its own order, not the order between them
  // (an sbcast is answered once taken, before its handler has run).
  std::vector<std::string> got;
  Eventually([&] { return (got = RemoteNotes(n(), kSlave)).size() >= 5; }, Millis(5000));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{Note(kMaster, "mk7"), Note(kMaster, "mk7/2"),
                                           Note(kMaster, "mk7b"), Note(kMaster, "mk7b"),
                                           Note(kMaster, "mk7b")}));
}

// MK8: = M18 keyed.
TEST_F(BroadcastTest, MK8_SbcastWithBadServer) {
  RawNode shortn;
  StartShortTimeoutNode(&shortn, 500);
  ASSERT_NE(shortn.node, nullptr);
  Stopwatch sw;
  EXPECT_EQ(Sbcast(shortn.node, {Keyed(kSlave), genrpc_node_target(kDead), Keyed(kSilent)}, "mk8"),
            (std::vector<int>{GENRPC_OK, GENRPC_E_CONNECT, GENRPC_E_TIMEOUT}));
  EXPECT_LT(sw.ElapsedMs(), 1000);
}

// ---- refusals -------------------------------------------------------------------

// S14: a message for a name not registered on the target is dropped and
// counted there, and the connection stays up (gen_rpc's acceptor crashes):
// the next call on it works without a reconnect.
TEST_F(BroadcastTest, S14_AbcastToUnregisteredNameKeepsTheConnection) {
  ASSERT_TRUE(PingOk(n(), kSlave));
  uint64_t dropped = RemoteDropped(n(), kSlave);
  uint64_t proto_errors = RemoteCounters(n(), kSlave).protocol_errors;
  EXPECT_EQ(Abcast(n(), {genrpc_node_target(kSlave)}, "lost", "no_such_name"), GENRPC_OK);
  EXPECT_TRUE(Eventually([&] { return RemoteDropped(n(), kSlave) == dropped + 1; }, Millis(3000)));
  EXPECT_EQ(Sbcast(n(), {genrpc_node_target(kSlave)}, "lost", "no_such_name"),
            std::vector<int>{GENRPC_E_UNDEF});
  EXPECT_EQ(RemoteDropped(n(), kSlave), dropped + 2);
  EXPECT_TRUE(PingOk(n(), kSlave));
  genrpc_node_info info = master_->Info();
  EXPECT_EQ(info.clients, 1) << "still the first connection";
  EXPECT_EQ(info.clients_ready, 1);
  EXPECT_EQ(RemoteCounters(n(), kSlave).protocol_errors, proto_errors);
  EXPECT_EQ(RemoteNotes(n(), kSlave), std::vector<std::string>{});
}

// A handler refuses a message of another type: dropped and counted
// (abcast), GENRPC_E_BADARGS (sbcast); the connection stays.
TEST_F(BroadcastTest, TypeMismatchIsRefused) {
  uint64_t dropped = RemoteDropped(n(), kSlave);
  Test__OtherNote other = TEST__OTHER_NOTE__INIT;
  other.value = 7;
  genrpc_target t = genrpc_node_target(kSlave);
  genrpc_status st{};
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE,
                    test__other_note__abcast(n(), &t, 1, kName, &other, &st), st);
  EXPECT_TRUE(Eventually([&] { return RemoteDropped(n(), kSlave) == dropped + 1; }, Millis(3000)));
  genrpc_sbcast_result r{};
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE,
                    test__other_note__sbcast(n(), &t, 1, kName, &other, &r, &st), st);
  EXPECT_EQ(r.status.err, GENRPC_E_BADARGS) << r.status.message;
  EXPECT_EQ(RemoteDropped(n(), kSlave), dropped + 2);
  EXPECT_EQ(RemoteNotes(n(), kSlave), std::vector<std::string>{});
  EXPECT_TRUE(PingOk(n(), kSlave));
}

// L35, broadcast part: a node whose blacklist has genrpc.broadcast drops
// abcasts silently and answers sbcast with GENRPC_E_UNAUTHORIZED (bad);
// blacklisted modules are unauthorized, unlisted ones work.
TEST_F(BroadcastTest, L35_RpcModuleBlacklistBroadcasts) {
  StartSlave({"--blacklist", "genrpc.broadcast,test.Clock"});
  ASSERT_NE(master_, nullptr);
  EXPECT_EQ(Abcast(n(), {genrpc_node_target(kSlave)}, "l35"), GENRPC_OK);
  EXPECT_TRUE(Eventually([&] { return RemoteDropped(n(), kSlave) == 1; }, Millis(3000)));
  EXPECT_EQ(Sbcast(n(), {genrpc_node_target(kSlave)}, "l35"),
            std::vector<int>{GENRPC_E_UNAUTHORIZED});
  EXPECT_EQ(RemoteNotes(n(), kSlave), std::vector<std::string>{}) << "nothing delivered";

  Test__Empty req = TEST__EMPTY__INIT;
  Test__TimestampReply *ts = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(5000);
  EXPECT_GENRPC_ERR(GENRPC_E_UNAUTHORIZED, GENRPC_CLASS_BADRPC,
                    test__clock__now_call(n(), genrpc_node_target(kSlave), &req, &ts, &o, &st), st);
  EXPECT_TRUE(PingOk(n(), kSlave)) << "unlisted module OK";
}

// A whitelist governs broadcasts the same way: allowed only when it lists
// genrpc.broadcast.
TEST_F(BroadcastTest, WhitelistMustListBroadcasts) {
  StartSlave({"--whitelist", "test.Test,test.NodeInfo"});
  ASSERT_NE(master_, nullptr);
  EXPECT_EQ(Sbcast(n(), {genrpc_node_target(kSlave)}, "w"),
            std::vector<int>{GENRPC_E_UNAUTHORIZED});
  StartSlave({"--whitelist", "test.Test,test.NodeInfo,genrpc.broadcast"});
  ASSERT_NE(master_, nullptr);
  EXPECT_EQ(Sbcast(n(), {genrpc_node_target(kSlave)}, "w"), std::vector<int>{GENRPC_OK});
  ExpectNotes(n(), kSlave, {Note(kMaster, "w")});
}

// ---- the local API --------------------------------------------------------------

struct Seen {
  std::mutex mu;
  std::vector<std::string> texts;
  std::vector<std::string> froms;
};

void RecordNote(genrpc_node *, const char *from, const Test__Note *msg, void *user) {
  auto *s = static_cast<Seen *>(user);
  std::lock_guard<std::mutex> g(s->mu);
  s->texts.push_back(msg->text);
  s->froms.push_back(from);
}

void RecordGeneric(genrpc_node *, const char *from, const ProtobufCMessage *msg, void *user) {
  RecordNote(nullptr, from, reinterpret_cast<const Test__Note *>(msg), user);
}

// Register, duplicate, unregister; a message to this node through its own
// listener reaches a handler registered with the generic API; after
// unregistering, messages are dropped and counted.
TEST_F(BroadcastTest, RegisterUnregisterLocally) {
  Seen seen;
  EXPECT_EQ(test__note__register_handler(n(), "local", RecordNote, &seen), GENRPC_OK);
  EXPECT_EQ(test__note__register_handler(n(), "local", RecordNote, &seen), GENRPC_E_EXISTS);
  EXPECT_EQ(genrpc_handler_register(n(), "generic", &test__note__descriptor, RecordGeneric, &seen),
            GENRPC_OK);
  EXPECT_EQ(genrpc_handler_register(n(), "", &test__note__descriptor, RecordGeneric, &seen),
            GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_handler_register(n(), std::string(256, 'x').c_str(), &test__note__descriptor,
                                    RecordGeneric, &seen),
            GENRPC_E_INVAL);
  genrpc_target self = genrpc_node_target(kMaster);
  EXPECT_EQ(Sbcast(n(), {self}, "one", "local"), std::vector<int>{GENRPC_OK});
  EXPECT_EQ(Sbcast(n(), {self}, "two", "generic"), std::vector<int>{GENRPC_OK});
  EXPECT_TRUE(Eventually(
      [&] {
        std::lock_guard<std::mutex> g(seen.mu);
        return seen.texts.size() == 2;
      },
      Millis(3000)));
  {
    std::lock_guard<std::mutex> g(seen.mu);
    EXPECT_EQ(seen.texts, (std::vector<std::string>{"one", "two"}));
    EXPECT_EQ(seen.froms, (std::vector<std::string>{kMaster, kMaster}));
  }
  EXPECT_EQ(genrpc_handler_unregister(n(), "local"), GENRPC_OK);
  EXPECT_EQ(genrpc_handler_unregister(n(), "local"), GENRPC_E_NOT_FOUND);
  EXPECT_EQ(genrpc_handler_unregister(n(), "generic"), GENRPC_OK);
  EXPECT_EQ(Sbcast(n(), {self}, "three", "local"), std::vector<int>{GENRPC_E_UNDEF});
  EXPECT_EQ(master_->Info().broadcasts_dropped, 1u);
  std::lock_guard<std::mutex> g(seen.mu);
  EXPECT_EQ(seen.texts.size(), 2u);
}

// Bad arguments send nothing; an empty target list is OK.
TEST_F(BroadcastTest, BadArgumentsAndEmptyTargetLists) {
  Test__Note msg = TEST__NOTE__INIT;
  msg.text = const_cast<char *>("x");
  genrpc_target t = genrpc_node_target(kSlave);
  genrpc_sbcast_result r{};
  genrpc_status st{};
  EXPECT_GENRPC_ERR(GENRPC_E_INVAL, GENRPC_CLASS_LOCAL,
                    test__note__abcast(n(), &t, 1, "", &msg, &st), st);
  EXPECT_GENRPC_ERR(GENRPC_E_INVAL, GENRPC_CLASS_LOCAL,
                    test__note__sbcast(n(), &t, 1, nullptr, &msg, &r, &st), st);
  EXPECT_GENRPC_ERR(GENRPC_E_INVAL, GENRPC_CLASS_LOCAL,
                    test__note__sbcast(n(), &t, 1, kName, &msg, nullptr, &st), st);
  genrpc_target nameless = {nullptr, nullptr, 0};
  EXPECT_GENRPC_ERR(GENRPC_E_INVAL, GENRPC_CLASS_LOCAL,
                    test__note__abcast(n(), &nameless, 1, kName, &msg, &st), st);
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE,
                    test__note__abcast(n(), nullptr, 0, kName, &msg, &st), st);
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE,
                    test__note__sbcast(n(), nullptr, 0, kName, &msg, nullptr, &st), st);
  EXPECT_EQ(master_->Info().clients, 0) << "nothing was sent";
}

}  // namespace
}  // namespace genrpc_test
