// The loop layer (runtime/src/loop, issue 9): posted commands are embedded
// nodes (posting cannot fail, a queued command is not queued twice),
// commands run before deferred work and each queue keeps its order; and two
// rules the layers above keep because of it: a callback is never run before
// the call that started it has returned (genrpc_call_async_cb on the loop
// to a connection known to be gone), and node events reach subscribers
// with no runtime lock held. Every wait is bounded.
#include <gtest/gtest.h>

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "rows.h"

#include "loop/loop.h"
#include "loop_test_hooks.h"

namespace genrpc_test {
namespace {

// ---- the loop on its own ------------------------------------------------------

struct Rec {
  genrpc__cmd cmd;
  int id;
  std::vector<int> *order;
  genrpc__loop *loop;
  bool on_loop = false;
};

void RecRun(genrpc__cmd *cmd) {
  Rec *r = GENRPC__CONTAINER_OF(cmd, Rec, cmd);
  r->order->push_back(r->id);
  r->on_loop = genrpc__on_loop(r->loop);
}

class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    genrpc_status st{};
    ASSERT_EQ(genrpc__loop_init(&loop_, 0, &st), GENRPC_OK) << st.message;
    inited_ = true;
  }
  void TearDown() override {
    if (inited_) genrpc__loop_destroy(&loop_);
  }
  Rec Make(int id) {
    Rec r{};
    genrpc__cmd_init(&r.cmd, RecRun);
    r.id = id;
    r.order = &order_;
    r.loop = &loop_;
    return r;
  }
  // One iteration on this thread (which runs the loop meanwhile), not
  // sleeping: the prepare watcher drains the queues before the poll.
  void RunOnce() {
    genrpc__set_on_loop(&loop_);
    ev_run(loop_.ev, EVRUN_NOWAIT);
    genrpc__set_on_loop(nullptr);
  }

  genrpc__loop loop_{};
  bool inited_ = false;
  std::vector<int> order_;
};

TEST_F(LoopTest, PostQueuesACommandOnceAndRunsCommandsInOrder) {
  Rec a = Make(1), b = Make(2), c = Make(3);
  EXPECT_TRUE(genrpc__loop_post(&loop_, &a.cmd));
  EXPECT_TRUE(genrpc__loop_post(&loop_, &b.cmd));
  EXPECT_FALSE(genrpc__loop_post(&loop_, &a.cmd)) << "a queued command is not queued twice";
  EXPECT_TRUE(genrpc__loop_post(&loop_, &c.cmd));
  EXPECT_TRUE(order_.empty()) << "posting never runs the command itself";
  RunOnce();
  EXPECT_EQ(order_, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(a.on_loop && b.on_loop && c.on_loop) << "commands run on the loop";
  // Once run, it may be posted again.
  EXPECT_TRUE(genrpc__loop_post(&loop_, &a.cmd));
  RunOnce();
  EXPECT_EQ(order_, (std::vector<int>{1, 2, 3, 1}));
}

TEST_F(LoopTest, DeferredWorkRunsAfterCommandsInItsOwnOrder) {
  Rec x = Make(10), y = Make(11), z = Make(12);
  EXPECT_TRUE(genrpc__loop_defer(&loop_, &x.cmd));
  EXPECT_TRUE(genrpc__loop_defer(&loop_, &y.cmd));
  EXPECT_FALSE(genrpc__loop_defer(&loop_, &x.cmd));
  EXPECT_TRUE(genrpc__loop_post(&loop_, &z.cmd));
  RunOnce();
  EXPECT_EQ(order_, (std::vector<int>{12, 10, 11}));
}

// A command that posts another: both run in the same drain.
struct Chain {
  genrpc__cmd cmd;
  genrpc__cmd *then;
  genrpc__loop *loop;
  int runs = 0;
};

void ChainRun(genrpc__cmd *cmd) {
  Chain *c = GENRPC__CONTAINER_OF(cmd, Chain, cmd);
  c->runs++;
  if (c->then) genrpc__loop_post(c->loop, c->then);
}

TEST_F(LoopTest, ACommandPostedByACommandRunsInTheSameIteration) {
  Chain second{};
  genrpc__cmd_init(&second.cmd, ChainRun);
  Chain first{};
  genrpc__cmd_init(&first.cmd, ChainRun);
  first.then = &second.cmd;
  first.loop = second.loop = &loop_;
  genrpc__loop_post(&loop_, &first.cmd);
  RunOnce();
  EXPECT_EQ(first.runs, 1);
  EXPECT_EQ(second.runs, 1);
}

TEST_F(LoopTest, DestroyRunsWhatIsStillQueued) {
  Rec a = Make(1), d = Make(2);
  genrpc__loop_post(&loop_, &a.cmd);
  genrpc__loop_defer(&loop_, &d.cmd);
  genrpc__loop_destroy(&loop_);
  inited_ = false;
  EXPECT_EQ(order_, (std::vector<int>{1, 2}));
  EXPECT_TRUE(a.on_loop) << "the destroying thread is the loop's last runner";
}

void GuardCb(struct ev_loop *, ev_timer *, int) {}

// A post from another thread wakes a loop that sleeps in its poll.
TEST_F(LoopTest, PostFromAnotherThreadWakesTheLoop) {
  Rec a = Make(7);
  // Bound the sleep: a 10 s timer ends the poll even if the wake-up is lost.
  ev_timer guard;
  ev_timer_init(&guard, GuardCb, 10., 0.);
  ev_timer_start(loop_.ev, &guard);
  std::thread poster([&] {
    std::this_thread::sleep_for(Millis(20));
    genrpc__loop_post(&loop_, &a.cmd);
  });
  genrpc__set_on_loop(&loop_);
  for (int i = 0; i < 100 && order_.empty() && ev_is_active(&guard); i++)
    ev_run(loop_.ev, EVRUN_ONCE);
  genrpc__set_on_loop(nullptr);
  poster.join();
  ev_timer_stop(loop_.ev, &guard);
  EXPECT_EQ(order_, (std::vector<int>{7}));
}

// Debug builds (NDEBUG undefined, or GENRPC_CHECKS) check "loop only" and
// "... held" at run time; release builds compile the checks out.
TEST_F(LoopTest, ChecksFireInCheckedBuilds) {
#if GENRPC__CHECKED
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(GENRPC__ASSERT_ON_LOOP(&loop_), "check failed: on the loop");
  genrpc__set_on_loop(&loop_);
  GENRPC__ASSERT_ON_LOOP(&loop_);  // passes
  genrpc__set_on_loop(nullptr);

  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  EXPECT_DEATH(GENRPC__ASSERT_HELD(&mu), "check failed: &mu held");
  pthread_mutex_lock(&mu);
  GENRPC__ASSERT_HELD(&mu);  // passes
  pthread_mutex_unlock(&mu);
  // Held, but by another thread.
  std::mutex m;
  std::condition_variable cv;
  bool locked = false, done = false;
  std::thread holder([&] {
    pthread_mutex_lock(&mu);
    std::unique_lock<std::mutex> g(m);
    locked = true;
    cv.notify_all();
    cv.wait_for(g, Millis(10000), [&] { return done; });
    pthread_mutex_unlock(&mu);
  });
  {
    std::unique_lock<std::mutex> g(m);
    ASSERT_TRUE(cv.wait_for(g, Millis(5000), [&] { return locked; }));
  }
  EXPECT_DEATH(GENRPC__ASSERT_HELD(&mu), "check failed: &mu held");
  {
    std::lock_guard<std::mutex> g(m);
    done = true;
    cv.notify_all();
  }
  holder.join();
#else
  GTEST_SKIP() << "release build: the checks are compiled out";
#endif
}

// ---- callbacks are deferred ---------------------------------------------------

class TwoNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    NodeOptions so;
    so.name = "server@127.0.0.1";
    server_ = Node::Start(so, &error);
    ASSERT_NE(server_, nullptr) << error;
    NodeOptions co;
    co.name = "client@127.0.0.1";
    co.addrs = {{"server@127.0.0.1", server_->port()}};
    client_ = Node::Start(co, &error);
    ASSERT_NE(client_, nullptr) << error;
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
  }
  genrpc_target Server() { return genrpc_node_target("server@127.0.0.1"); }

  std::unique_ptr<Node> server_, client_;
};

struct Nested {
  genrpc_node *node;
  genrpc_target target;
  std::atomic<bool> inner_ran{false};
  std::atomic<int> inner_err{-1};
  std::atomic<int> start_err{-1};
  std::atomic<bool> ran_before_return{true};
  std::atomic<bool> outer_done{false};
};

void OnInner(int err, const genrpc_status *, const Test__PingReply *, void *arg) {
  auto *n = static_cast<Nested *>(arg);
  n->inner_err = err;
  n->inner_ran = true;
}

// On the client's loop: the connection to the server is known to be gone
// (its pending table is closed, as the loop leaves it when it closes an idle
// client, and as a racing caller finds it), then a callback call to it.
void OnOuter(int err, const genrpc_status *, const Test__PingReply *, void *arg) {
  auto *n = static_cast<Nested *>(arg);
  EXPECT_EQ(err, GENRPC_OK);
  int rc = genrpc_test_set_pending_closed(n->node, n->target, true);
  if (rc != GENRPC_OK) {
    ADD_FAILURE() << "no client: " << genrpc_err_name(rc);
    n->outer_done = true;
    return;
  }
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("inner");
  genrpc_call_opts o = Opts(2000);
  n->start_err = test__test__ping_async_cb(n->node, n->target, &req, &o, OnInner, n);
  n->ran_before_return = n->inner_ran.load();

  EXPECT_EQ(genrpc_test_set_pending_closed(n->node, n->target, false), GENRPC_OK);
  n->outer_done = true;
}

TEST_F(TwoNodes, ACallbackNeverRunsBeforeTheCallThatStartedItReturns) {
  Nested n;
  n.node = client_->get();
  n.target = Server();
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("outer");
  genrpc_call_opts o = Opts(5000);
  ASSERT_EQ(test__test__ping_async_cb(n.node, n.target, &req, &o, OnOuter, &n), GENRPC_OK);
  ASSERT_TRUE(Eventually([&] { return n.outer_done.load() && n.inner_ran.load(); }, Millis(5000)));
  EXPECT_EQ(n.start_err.load(), GENRPC_OK) << "libuv's rule: OK, then the callback";
  EXPECT_FALSE(n.ran_before_return.load())
      << "the callback ran inside genrpc_call_async_cb, before it returned";
  EXPECT_EQ(n.inner_err.load(), GENRPC_E_CLOSED);
}

// ---- node events run with no runtime lock held --------------------------------

struct Blocking {
  std::mutex mu;
  std::condition_variable cv;
  bool in_callback = false;
  bool subscribed_meanwhile = false;
  bool saw_subscription = false;
  bool released = false;
};

void OnEventBlocking(genrpc_node *, const char *, genrpc_node_event ev, void *user) {
  auto *b = static_cast<Blocking *>(user);
  if (ev != GENRPC_NODE_UP) return;
  std::unique_lock<std::mutex> g(b->mu);
  if (b->released) return;  // later UPs
  b->in_callback = true;
  b->cv.notify_all();
  // Bounded: a subscription from another thread must get through while
  // this callback runs (it would wait for the callback if one ran under
  // the subscribers' lock).
  b->saw_subscription =
      b->cv.wait_for(g, Millis(5000), [&] { return b->subscribed_meanwhile; });
  b->released = true;
}

void OnEventNothing(genrpc_node *, const char *, genrpc_node_event, void *) {}

TEST_F(TwoNodes, NodeEventsRunWithNoRuntimeLockHeld) {
  Blocking b;
  genrpc_status st{};
  ASSERT_EQ(genrpc_node_monitor(client_->get(), OnEventBlocking, &b, &st), GENRPC_OK)
      << st.message;
  // Connect: the client's loop delivers UP for the server.
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("up");
  Test__PingReply *reply = nullptr;
  genrpc_call_opts o = Opts(10000);
  std::thread caller([&] {
    int err = test__test__ping_call(client_->get(), Server(), &req, &reply, &o, &st);
    EXPECT_EQ(err, GENRPC_OK);
    if (reply) test__ping_reply__free_unpacked(reply, nullptr);
  });
  {
    std::unique_lock<std::mutex> g(b.mu);
    ASSERT_TRUE(b.cv.wait_for(g, Millis(5000), [&] { return b.in_callback; }));
  }
  genrpc_status st2{};
  int err = genrpc_node_monitor(client_->get(), OnEventNothing, nullptr, &st2);
  {
    std::lock_guard<std::mutex> g(b.mu);
    b.subscribed_meanwhile = true;
    b.cv.notify_all();
  }
  caller.join();
  EXPECT_EQ(err, GENRPC_OK) << st2.message;
  {
    std::lock_guard<std::mutex> g(b.mu);
    EXPECT_TRUE(b.saw_subscription) << "genrpc_node_monitor waited for a running callback";
  }
  EXPECT_EQ(genrpc_node_unmonitor(client_->get(), OnEventNothing, nullptr), GENRPC_OK);
  EXPECT_EQ(genrpc_node_unmonitor(client_->get(), OnEventBlocking, &b), GENRPC_OK);
}

}  // namespace
}  // namespace genrpc_test
