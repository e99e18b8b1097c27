// calls_test - the call semantics of wire protocol version 2 (docs/calls.md):
// deadlines that travel to the handler and to its nested calls, requests
// whose deadline passed before a worker was free, cancellation of every kind
// of call (the callee told by a CANCEL frame), and what a version-1 peer
// sees of all this. Multi-process: the callee is a genrpc_test_node process
// (over TCP and over TLS, speaking version 2 or pinned to version 1); the
// in-process tests read the callee's counters directly.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "calls.genrpc.h"
#include "fixture.h"
#include "rows.h"

namespace {

using namespace genrpc_test;

// named as the test PKI's certificate slave.pem, so that it also serves TLS
constexpr const char *kCallee = "slave@127.0.0.1";

struct Peer {
  bool tls;
  int callee_protocol;  // the helper's --max-protocol
};

std::string PeerName(const ::testing::TestParamInfo<Peer> &p) {
  return std::string(p.param.tls ? "Tls" : "Tcp") + "V" + std::to_string(p.param.callee_protocol);
}

// What a callee logged (calls.Calls.ReadLog).
std::vector<std::string> ReadLog(genrpc_node *n, const char *node) {
  Calls__Nothing req = CALLS__NOTHING__INIT;
  Calls__Log *log = nullptr;
  genrpc_status st;
  genrpc_call_opts o = Opts(5000);
  std::vector<std::string> lines;
  if (calls__calls__read_log_call(n, genrpc_node_target(node), &req, &log, &o, &st) != GENRPC_OK)
    return lines;
  for (size_t i = 0; i < log->n_lines; i++) lines.emplace_back(log->lines[i]);
  calls__log__free_unpacked(log, nullptr);
  return lines;
}

bool Logged(const std::vector<std::string> &log, const std::string &line) {
  return std::find(log.begin(), log.end(), line) != log.end();
}

// A cancellation token, freed at scope end.
struct Token {
  genrpc_cancel_token *t = nullptr;
  Token() { EXPECT_EQ(genrpc_cancel_token_new(&t), GENRPC_OK); }
  ~Token() { genrpc_cancel_token_free(t); }
};

Calls__Probe Probe(const char *tag, uint32_t work_ms = 0) {
  Calls__Probe p = CALLS__PROBE__INIT;
  p.tag = const_cast<char *>(tag);
  p.work_ms = work_ms;
  return p;
}

// ---- a helper callee, over TCP or TLS, version 2 or 1 -----------------------

class CallsTest : public ::testing::TestWithParam<Peer> {
 protected:
  void SetUp() override {
    std::vector<std::string> args = {"--name", kCallee, "--port", "0", "--max-protocol",
                                     std::to_string(GetParam().callee_protocol)};
    if (GetParam().tls)
      args.insert(args.end(), {"--ssl-port", "0", "--tls-ca", CertFile("ca.pem"), "--tls-cert",
                               CertFile("slave.pem"), "--tls-key", CertFile("slave.key")});
    std::string error;
    callee_ = HelperProcess::Spawn(args, &error);
    ASSERT_NE(callee_, nullptr) << error;
    NodeOptions o;
    Reach(&o, kCallee, GetParam().tls ? callee_->ssl_port() : callee_->port(), GetParam().tls);
    caller_ = Node::Start(o, &error);
    ASSERT_NE(caller_, nullptr) << error;
  }
  void TearDown() override {
    caller_.reset();
    if (callee_) callee_->ExpectCleanStop();
  }
  bool V2() const { return GetParam().callee_protocol >= 2; }

  std::unique_ptr<HelperProcess> callee_;
  std::unique_ptr<Node> caller_;
};

TEST_P(CallsTest, TheCallersDeadlineReachesTheHandler) {
  Calls__Probe req = Probe("d");
  Calls__Seen *seen = nullptr;
  genrpc_status st;
  genrpc_call_opts o = Opts(3000);
  ASSERT_GENRPC_OK(calls__calls__deadline_call(caller_->get(), genrpc_node_target(kCallee), &req,
                                               &seen, &o, &st),
                   st);
  if (V2()) {
    EXPECT_TRUE(seen->has_deadline);
    EXPECT_GT(seen->remaining_ms, 1500);  // the time to get there, generously
    EXPECT_LE(seen->remaining_ms, 3000);
  } else {
    EXPECT_FALSE(seen->has_deadline) << "version 1 carries no deadline";
  }
  calls__seen__free_unpacked(seen, nullptr);
}

TEST_P(CallsTest, CancellingAPromiseStopsTheRunningHandler) {
  Token tok;
  genrpc_call_opts o = Opts(30000);
  o.cancel = tok.t;
  uint32_t work = V2() ? 20000 : 1500;
  Calls__Probe req = Probe("w", work);
  genrpc_promise *p = nullptr;
  genrpc_status st;
  ASSERT_GENRPC_OK(
      calls__calls__watch_async(caller_->get(), genrpc_node_target(kCallee), &req, &o, &p, &st),
      st);
  std::this_thread::sleep_for(Millis(500));  // it runs on the callee by now
  Stopwatch sw;
  genrpc_cancel(tok.t);
  Calls__Seen *seen = nullptr;
  int err = calls__calls__watch_yield(p, &seen, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_CANCELLED, GENRPC_CLASS_LOCAL, err, st);
  EXPECT_EQ(seen, nullptr);
  EXPECT_LT(sw.ElapsedMs(), 1000) << "the caller does not wait for the callee";
  EXPECT_EQ(genrpc_promise_cancel(p), GENRPC_E_NOT_FOUND) << "completed once, already";
  genrpc_promise_free(p);
  // Version 2: the callee was told and the handler stopped early. Version 1:
  // it ran to the end; its reply was dropped.
  const char *want = V2() ? "watch-cancelled w" : "watch-done w";
  EXPECT_TRUE(Eventually([&] { return Logged(ReadLog(caller_->get(), kCallee), want); },
                         Millis(5000)))
      << want;
  if (V2()) {
    EXPECT_LT(sw.ElapsedMs(), 5000);
  }
}

// A drain serves what was sent and refuses what is new: the call in flight
// gets its reply; a version-2 caller is told GOAWAY, so its next call opens
// a fresh connection, which the draining node refuses (UNAVAILABLE, at
// once). A version-1 connection hears no GOAWAY: its next call still goes
// on it and is served, until the node closes it when quiet.
TEST_P(CallsTest, DrainFinishesWhatWasSentAndRefusesWhatIsNew) {
  Calls__Probe w = Probe("inflight", 800);
  genrpc_call_opts o = Opts(10000);
  genrpc_promise *p = nullptr;
  genrpc_status st;
  ASSERT_GENRPC_OK(
      calls__calls__watch_async(caller_->get(), genrpc_node_target(kCallee), &w, &o, &p, &st), st);
  std::this_thread::sleep_for(Millis(200));
  ASSERT_TRUE(callee_->Send("drain 10000"));
  std::this_thread::sleep_for(Millis(150));
  Calls__Probe d = Probe("after");
  Calls__Seen *seen = nullptr;
  genrpc_call_opts short_opts = Opts(2000);
  // Version 2: once the GOAWAY has arrived (150 ms, or a few more rounds on
  // a loaded machine: until then a call is still served), a new call is
  // refused at once.
  int err = GENRPC_OK;
  int64_t took = 0;
  for (int round = 0; round < (V2() ? 30 : 1); round++) {
    if (seen) calls__seen__free_unpacked(seen, nullptr);
    seen = nullptr;
    Stopwatch sw;
    err = calls__calls__deadline_call(caller_->get(), genrpc_node_target(kCallee), &d, &seen,
                                      &short_opts, &st);
    took = sw.ElapsedMs();
    if (err != GENRPC_OK) break;
    std::this_thread::sleep_for(Millis(100));
  }
  if (V2()) {
    EXPECT_GENRPC_ERR(GENRPC_E_UNAVAILABLE, GENRPC_CLASS_BADRPC, err, st);
    EXPECT_LT(took, 1000) << "refused at once";
  } else {
    EXPECT_EQ(err, GENRPC_OK) << st.message;
  }
  if (seen) calls__seen__free_unpacked(seen, nullptr);
  ASSERT_GENRPC_OK(calls__calls__watch_yield(p, &seen, &st), st);
  EXPECT_FALSE(seen->cancelled) << "the handler in flight ran to its end";
  calls__seen__free_unpacked(seen, nullptr);
  genrpc_promise_free(p);
  EXPECT_EQ(callee_->ReadLine(Millis(5000)), "DRAINED OK");
}

INSTANTIATE_TEST_SUITE_P(Peers, CallsTest,
                         ::testing::Values(Peer{false, 2}, Peer{true, 2}, Peer{false, 1},
                                           Peer{true, 1}),
                         PeerName);

// ---- in-process nodes: counters, nesting, every kind of call ----------------

class CallsLocal : public ::testing::Test {
 protected:
  // callee (workers as given), caller, and a third node for nested calls;
  // all know each other.
  void Start(int callee_workers = 0, int caller_protocol = 0) {
    std::string error;
    NodeOptions c;
    c.name = kCallee;
    c.workers = callee_workers;
    callee_ = Node::Start(c, &error);
    ASSERT_NE(callee_, nullptr) << error;
    NodeOptions t;
    t.name = "third@127.0.0.1";
    third_ = Node::Start(t, &error);
    ASSERT_NE(third_, nullptr) << error;
    // the callee learns the third's port only now: a second callee that knows it
    NodeOptions c2;
    c2.name = "relay@127.0.0.1";
    c2.addrs = {{"third@127.0.0.1", third_->port()}};
    relay_ = Node::Start(c2, &error);
    ASSERT_NE(relay_, nullptr) << error;
    NodeOptions m;
    m.max_protocol_version = caller_protocol;
    m.addrs = {{kCallee, callee_->port()}, {"relay@127.0.0.1", relay_->port()}};
    caller_ = Node::Start(m, &error);
    ASSERT_NE(caller_, nullptr) << error;
  }
  void TearDown() override {
    caller_.reset();
    relay_.reset();
    third_.reset();
    callee_.reset();
  }
  genrpc_node *caller() { return caller_->get(); }

  // Keeps the callee's two workers busy for ms (Watch "b1", "b2"): what is
  // sent next waits in its queue. Returns the two calls' promises.
  std::vector<genrpc_promise *> OccupyTheCallee(uint32_t ms) {
    std::vector<genrpc_promise *> busy;
    for (const char *tag : {"b1", "b2"}) {
      Calls__Probe req = Probe(tag, ms);
      genrpc_call_opts o = Opts(10000);
      genrpc_promise *p = nullptr;
      genrpc_status st;
      EXPECT_EQ(calls__calls__watch_async(caller(), genrpc_node_target(kCallee), &req, &o, &p, &st),
                GENRPC_OK)
          << st.message;
      busy.push_back(p);
    }
    std::this_thread::sleep_for(Millis(200));
    return busy;
  }

  std::unique_ptr<Node> callee_, third_, relay_, caller_;
};

// The relay's handler calls the third node: what is left of the caller's
// deadline goes with it; a shorter timeout wins; a longer one does not.
TEST_F(CallsLocal, ANestedCallInheritsWhatIsLeftOfTheDeadline) {
  Start();
  struct Case {
    int64_t via_timeout, max_expected;
  } cases[] = {{0, 2000}, {60000, 2000}, {800, 800}};  // 800: shorter, with room for a loaded machine
  for (const Case &c : cases) {
    Calls__Probe req = Probe("outer");
    req.via = const_cast<char *>("third@127.0.0.1");
    req.via_timeout_ms = c.via_timeout;
    Calls__Seen *seen = nullptr;
    genrpc_status st;
    genrpc_call_opts o = Opts(2000);
    ASSERT_GENRPC_OK(calls__calls__deadline_call(caller(), genrpc_node_target("relay@127.0.0.1"),
                                                 &req, &seen, &o, &st),
                     st);
    EXPECT_EQ(seen->nested_err, GENRPC_OK);
    EXPECT_TRUE(seen->nested_has_deadline) << "via_timeout " << c.via_timeout;
    EXPECT_LE(seen->nested_remaining_ms, c.max_expected) << "via_timeout " << c.via_timeout;
    EXPECT_GT(seen->nested_remaining_ms, c.max_expected / 2) << "via_timeout " << c.via_timeout;
    calls__seen__free_unpacked(seen, nullptr);
  }
}

// Both workers busy: a request whose deadline passes while it waits is not
// run; a call is answered TIMEOUT (its caller gave up already), a cast
// dropped; both counted.
TEST_F(CallsLocal, ARequestWhoseDeadlinePassedInTheQueueIsNotRun) {
  Start(/*callee_workers=*/2);
  genrpc_status st;
  std::vector<genrpc_promise *> busy = OccupyTheCallee(1200);
  Calls__Probe late = Probe("late");
  Calls__Seen *seen = nullptr;
  genrpc_call_opts o = Opts(200);
  int err = calls__calls__deadline_call(caller(), genrpc_node_target(kCallee), &late, &seen, &o,
                                        &st);
  EXPECT_GENRPC_ERR(GENRPC_E_TIMEOUT, GENRPC_CLASS_BADRPC, err, st);
  Calls__Probe late_cast = Probe("late-cast", 1);
  genrpc_call_opts co = Opts(200);
  ASSERT_GENRPC_OK(calls__calls__watch_cast(caller(), genrpc_node_target(kCallee), &late_cast,
                                            &co, &st),
                   st);
  for (genrpc_promise *p : busy) {
    EXPECT_EQ(calls__calls__watch_yield(p, &seen, &st), GENRPC_OK) << st.message;
    if (seen) calls__seen__free_unpacked(seen, nullptr);
    genrpc_promise_free(p);
  }
  ASSERT_TRUE(Eventually([&] { return callee_->Info().expired_requests >= 2; }, Millis(3000)))
      << callee_->Info().expired_requests;
  auto log = ReadLog(caller(), kCallee);
  EXPECT_FALSE(Logged(log, "deadline late"));
  EXPECT_FALSE(Logged(log, "watch-done late-cast"));
  EXPECT_TRUE(Logged(log, "watch-done b1"));
}

// A request cancelled while it waits for a worker never runs.
TEST_F(CallsLocal, ACancelledRequestStillQueuedIsDropped) {
  Start(/*callee_workers=*/2);
  genrpc_status st;
  std::vector<genrpc_promise *> busy = OccupyTheCallee(800);
  Calls__Probe req = Probe("queued", 1);
  genrpc_call_opts o = Opts(10000);
  genrpc_promise *q = nullptr;
  ASSERT_GENRPC_OK(
      calls__calls__watch_async(caller(), genrpc_node_target(kCallee), &req, &o, &q, &st), st);
  std::this_thread::sleep_for(Millis(100));
  EXPECT_EQ(genrpc_promise_cancel(q), GENRPC_OK);
  Calls__Seen *seen = nullptr;
  EXPECT_EQ(calls__calls__watch_yield(q, &seen, &st), GENRPC_E_CANCELLED);
  genrpc_promise_free(q);
  for (genrpc_promise *p : busy) {
    EXPECT_EQ(calls__calls__watch_yield(p, &seen, &st), GENRPC_OK) << st.message;
    if (seen) calls__seen__free_unpacked(seen, nullptr);
    genrpc_promise_free(p);
  }
  ASSERT_TRUE(Eventually([&] { return callee_->Info().cancelled_requests == 1; }, Millis(3000)))
      << callee_->Info().cancelled_requests;
  EXPECT_FALSE(Logged(ReadLog(caller(), kCallee), "watch-done queued"));
  EXPECT_EQ(caller_->Info().late_replies, 0u) << "the callee sent nothing for it";
}

// One token cancels a blocking call (from another thread), a callback
// call and a multicall; each completes once, with CANCELLED.
TEST_F(CallsLocal, OneTokenCancelsABlockingCallACallbackCallAndAMulticall) {
  Start();
  Token tok;
  genrpc_call_opts o = Opts(30000);
  o.cancel = tok.t;
  Calls__Probe req = Probe("long", 20000);

  std::atomic<int> blocking_err{-1};
  std::thread blocker([&] {
    Calls__Seen *seen = nullptr;
    genrpc_status st;
    blocking_err = calls__calls__watch_call(caller(), genrpc_node_target(kCallee), &req, &seen,
                                            &o, &st);
  });

  struct CbState {
    std::mutex mu;
    std::condition_variable cv;
    int calls = 0;
    int err = -1;
  } cb;
  auto on_reply = [](int err, const genrpc_status *, const Calls__Seen *, void *arg) {
    auto *s = static_cast<CbState *>(arg);
    std::lock_guard<std::mutex> l(s->mu);
    s->calls++;
    s->err = err;
    s->cv.notify_all();
  };
  ASSERT_EQ(calls__calls__watch_async_cb(caller(), genrpc_node_target(kCallee), &req, &o, on_reply,
                                         &cb),
            GENRPC_OK);

  std::vector<genrpc_target> targets = {genrpc_node_target(kCallee),
                                        genrpc_node_target("relay@127.0.0.1")};
  std::atomic<int> multi_rc{-1};
  std::vector<Calls__Calls__WatchResult> results(targets.size());
  std::thread multi([&] {
    genrpc_status st;
    multi_rc = calls__calls__watch_multicall(caller(), targets.data(), targets.size(), &req, &o,
                                             results.data(), &st);
  });
  std::this_thread::sleep_for(Millis(400));
  Stopwatch sw;
  genrpc_cancel(tok.t);
  blocker.join();
  multi.join();
  EXPECT_LT(sw.ElapsedMs(), 2000);
  EXPECT_EQ(blocking_err.load(), GENRPC_E_CANCELLED);
  EXPECT_EQ(multi_rc.load(), GENRPC_OK);
  for (auto &r : results) EXPECT_EQ(r.status.err, GENRPC_E_CANCELLED) << r.status.message;
  calls__calls__watch_multicall_free(results.data(), results.size());
  {
    std::unique_lock<std::mutex> l(cb.mu);
    ASSERT_TRUE(cb.cv.wait_for(l, Millis(3000), [&] { return cb.calls > 0; }));
    EXPECT_EQ(cb.err, GENRPC_E_CANCELLED);
  }
  std::this_thread::sleep_for(Millis(100));
  EXPECT_EQ(cb.calls, 1) << "a callback runs exactly once";
  // Every handler was told: 4 Watch runs stopped early on two nodes.
  EXPECT_TRUE(Eventually(
      [&] {
        auto a = ReadLog(caller(), kCallee), b = ReadLog(caller(), "relay@127.0.0.1");
        return std::count(a.begin(), a.end(), "watch-cancelled long") == 3 &&
               std::count(b.begin(), b.end(), "watch-cancelled long") == 1;
      },
      Millis(5000)));
  // A call started with a fired token fails at once, before anything is sent.
  Calls__Seen *seen = nullptr;
  genrpc_status st;
  EXPECT_EQ(calls__calls__watch_call(caller(), genrpc_node_target(kCallee), &req, &seen, &o, &st),
            GENRPC_E_CANCELLED);
  genrpc_promise *p = nullptr;
  EXPECT_EQ(calls__calls__watch_async(caller(), genrpc_node_target(kCallee), &req, &o, &p, &st),
            GENRPC_E_CANCELLED);
  EXPECT_EQ(p, nullptr);
}

// Cancellation racing with replies: every call completes exactly once, with
// its reply or with CANCELLED, never both and never neither.
TEST_F(CallsLocal, CancelRacingRepliesCompletesEachCallOnce) {
  Start();
  std::atomic<int> callbacks{0}, ok{0}, cancelled{0};
  struct Ctx {
    std::atomic<int> *callbacks, *ok, *cancelled;
  } ctx{&callbacks, &ok, &cancelled};
  auto on_reply = [](int err, const genrpc_status *, const Calls__Seen *, void *arg) {
    auto *c = static_cast<Ctx *>(arg);
    (*c->callbacks)++;
    if (err == GENRPC_OK) (*c->ok)++;
    if (err == GENRPC_E_CANCELLED) (*c->cancelled)++;
  };
  const int kRounds = 200;
  for (int i = 0; i < kRounds; i++) {
    Token tok;
    genrpc_call_opts o = Opts(10000);
    o.cancel = tok.t;
    Calls__Probe req = Probe("race");
    genrpc_status st;
    genrpc_promise *p = nullptr;
    ASSERT_GENRPC_OK(
        calls__calls__deadline_async(caller(), genrpc_node_target(kCallee), &req, &o, &p, &st),
        st);
    ASSERT_EQ(calls__calls__deadline_async_cb(caller(), genrpc_node_target(kCallee), &req, &o,
                                              on_reply, &ctx),
              GENRPC_OK);
    if (i % 3) std::this_thread::sleep_for(std::chrono::microseconds(50 * (i % 7)));
    genrpc_cancel(tok.t);
    Calls__Seen *seen = nullptr;
    int err = calls__calls__deadline_yield(p, &seen, &st);
    EXPECT_TRUE(err == GENRPC_OK || err == GENRPC_E_CANCELLED) << genrpc_err_name(err);
    EXPECT_EQ(err == GENRPC_OK, seen != nullptr);
    if (seen) calls__seen__free_unpacked(seen, nullptr);
    genrpc_promise_free(p);
  }
  ASSERT_TRUE(Eventually([&] { return callbacks.load() == kRounds; }, Millis(5000)))
      << callbacks.load();
  std::this_thread::sleep_for(Millis(100));
  EXPECT_EQ(callbacks.load(), kRounds);
  EXPECT_EQ(ok.load() + cancelled.load(), kRounds);
}

// A caller pinned to version 1 talks to a version-2 callee: no deadline
// travels, cancelling still completes the call at once (CANCELLED) but the
// callee is not told.
TEST_F(CallsLocal, ACallerPinnedToVersion1StillWorksWithoutTheV2Features) {
  Start(/*callee_workers=*/0, /*caller_protocol=*/1);
  Calls__Probe req = Probe("pinned");
  Calls__Seen *seen = nullptr;
  genrpc_status st;
  genrpc_call_opts o = Opts(3000);
  ASSERT_GENRPC_OK(
      calls__calls__deadline_call(caller(), genrpc_node_target(kCallee), &req, &seen, &o, &st),
      st);
  EXPECT_FALSE(seen->has_deadline);
  calls__seen__free_unpacked(seen, nullptr);
  Token tok;
  o.cancel = tok.t;
  Calls__Probe w = Probe("v1w", 600);
  genrpc_promise *p = nullptr;
  ASSERT_GENRPC_OK(
      calls__calls__watch_async(caller(), genrpc_node_target(kCallee), &w, &o, &p, &st), st);
  std::this_thread::sleep_for(Millis(100));
  genrpc_cancel(tok.t);
  EXPECT_EQ(calls__calls__watch_yield(p, &seen, &st), GENRPC_E_CANCELLED);
  genrpc_promise_free(p);
  EXPECT_TRUE(Eventually([&] { return Logged(ReadLog(caller(), kCallee), "watch-done v1w"); },
                         Millis(3000)));
  EXPECT_EQ(callee_->Info().cancelled_requests, 0u);
}

// Drain in-process: queued casts run, the drain reports when it had to cut
// work off, and the node's log shows what ran.
TEST_F(CallsLocal, DrainRunsQueuedCastsAndSaysWhenItRanOutOfTime) {
  Start();
  genrpc_status st;
  for (const char *tag : {"c1", "c2", "c3"}) {
    Calls__Probe w = Probe(tag, 100);
    genrpc_call_opts o = Opts(10000);
    ASSERT_GENRPC_OK(calls__calls__watch_cast(caller(), genrpc_node_target(kCallee), &w, &o, &st),
                     st);
  }
  std::this_thread::sleep_for(Millis(50));
  genrpc_test_state *state = callee_->state();
  Stopwatch sw;
  EXPECT_EQ(callee_->Drain(5000), GENRPC_OK);
  EXPECT_GE(sw.ElapsedMs(), 250) << "the three casts ran first, one after another";
  std::vector<std::string> log(state->log, state->log + state->n_log);  // the node is stopped
  EXPECT_TRUE(Logged(log, "watch-done c1") && Logged(log, "watch-done c2") &&
              Logged(log, "watch-done c3"));

  // Out of time: a 10 s handler is cut off; the drain says so.
  Calls__Probe w = Probe("long", 10000);
  genrpc_call_opts o = Opts(20000);
  genrpc_promise *p = nullptr;
  ASSERT_GENRPC_OK(
      calls__calls__watch_async(caller(), genrpc_node_target("relay@127.0.0.1"), &w, &o, &p, &st),
      st);
  std::this_thread::sleep_for(Millis(200));
  sw = Stopwatch();
  EXPECT_EQ(relay_->Drain(300), GENRPC_E_TIMEOUT);
  EXPECT_LT(sw.ElapsedMs(), 3000) << "the running handler saw genrpc_ctx_cancelled";
  // The handler saw genrpc_ctx_cancelled (the node stopping) and returned
  // early: either its reply still left before the connection closed (it
  // says it was cancelled), or the connection closed first.
  Calls__Seen *seen = nullptr;
  int err = calls__calls__watch_yield(p, &seen, &st);
  if (err == GENRPC_OK) {
    EXPECT_TRUE(seen->cancelled);
    EXPECT_LT(seen->ran_ms, 5000u);
    calls__seen__free_unpacked(seen, nullptr);
  } else {
    EXPECT_EQ(genrpc_err_class_of(err), GENRPC_CLASS_BADTCP) << genrpc_err_name(err);
  }
  genrpc_promise_free(p);
}

}  // namespace
