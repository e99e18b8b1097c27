// node_test - node-level behaviours of the foundation issue that no
// CONFORMANCE row pins down: two nodes in one process, handlers calling other
// nodes, exactly one client under concurrent first use, the callback API,
// stop failing what is pending, unclaimed results expiring, unregistering
// while a call runs.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "relay.genrpc.h"

namespace {

using Clock = std::chrono::steady_clock;

int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

// The Forward handler: optionally calls `via` first, then sleeps.
int Forward(const Relay__Hop *req, Relay__Hop *reply, genrpc_ctx *ctx) {
    std::string path = genrpc_node_name(genrpc_ctx_node(ctx));
    if (req->via[0]) {
        Relay__Hop next = RELAY__HOP__INIT;
        Relay__Hop *out = nullptr;
        genrpc_status st;
        int rc = relay__relay__forward_call(genrpc_ctx_node(ctx), genrpc_node_target(req->via),
                                            &next, &out, nullptr, &st);
        if (rc != GENRPC_OK) return genrpc_fail(ctx, rc, "nested call: %s", st.message);
        path += " > ";
        path += out->path;
        relay__hop__free_unpacked(out, nullptr);
    }
    if (req->sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(req->sleep_ms));
    char *p = static_cast<char *>(genrpc_ctx_alloc(ctx, path.size() + 1));
    std::memcpy(p, path.c_str(), path.size() + 1);
    reply->path = p;
    return 0;
}

const Relay__Relay__Impl kRelay = {Forward};

// Two (or more) nodes in this process that know each other's ports.
class TwoNodes : public ::testing::Test {
  protected:
    void Start(int64_t async_inactivity_ms = GENRPC_INFINITY, int workers = 0,
               int busy_poll_us = 0) {
        ports_[0] = FreePort();
        ports_[1] = FreePort();
        for (int i = 0; i < 2; i++) {
            genrpc_node_config cfg;
            genrpc_node_config_init(&cfg);
            cfg.name = names_[i];
            cfg.cookie = "node-test";
            cfg.tcp_server_port = ports_[i];
            genrpc_node_addr addrs[2] = {{names_[0], GENRPC_DRIVER_TCP, ports_[0]},
                                         {names_[1], GENRPC_DRIVER_TCP, ports_[1]}};
            cfg.node_addrs = addrs;
            cfg.n_node_addrs = 2;
            cfg.connect_timeout_ms = 1000;
            cfg.async_call_inactivity_timeout_ms = async_inactivity_ms;
            cfg.worker_threads = workers;
            cfg.busy_poll_us = busy_poll_us;
            genrpc_status st;
            ASSERT_EQ(genrpc_node_start(&cfg, &nodes_[i], &st), GENRPC_OK) << st.message;
            ASSERT_EQ(relay__relay__register(nodes_[i], &kRelay, nullptr), GENRPC_OK);
        }
    }
    void TearDown() override {
        for (auto *&n : nodes_) {
            if (n) {
                EXPECT_EQ(genrpc_node_stop(n), GENRPC_OK);
            }
        }
    }
    genrpc_node *a() { return nodes_[0]; }
    genrpc_node *b() { return nodes_[1]; }
    genrpc_target ta() { return genrpc_node_target(names_[0]); }
    genrpc_target tb() { return genrpc_node_target(names_[1]); }

    int Call(genrpc_node *from, genrpc_target to, const char *via, uint32_t sleep_ms,
             std::string *path, genrpc_status *st) {
        Relay__Hop req = RELAY__HOP__INIT;
        req.via = const_cast<char *>(via);
        req.sleep_ms = sleep_ms;
        Relay__Hop *out = nullptr;
        int rc = relay__relay__forward_call(from, to, &req, &out, nullptr, st);
        if (out) {
            *path = out->path;
            relay__hop__free_unpacked(out, nullptr);
        }
        return rc;
    }

    const char *names_[2] = {"a@127.0.0.1", "b@127.0.0.1"};
    int ports_[2] = {0, 0};
    genrpc_node *nodes_[2] = {nullptr, nullptr};
};

TEST_F(TwoNodes, TwoNodesInOneProcessCallEachOther) {
    Start();
    std::string path;
    genrpc_status st;
    ASSERT_EQ(Call(a(), tb(), "", 0, &path, &st), GENRPC_OK) << st.message;
    EXPECT_EQ(path, "b@127.0.0.1");
    ASSERT_EQ(Call(b(), ta(), "", 0, &path, &st), GENRPC_OK) << st.message;
    EXPECT_EQ(path, "a@127.0.0.1");
}

TEST_F(TwoNodes, HandlerCallsAnotherNode) {
    Start();
    std::string path;
    genrpc_status st;
    // a -> b, whose handler calls back a: b's worker blocks, nobody else does.
    ASSERT_EQ(Call(a(), tb(), "a@127.0.0.1", 0, &path, &st), GENRPC_OK) << st.message;
    EXPECT_EQ(path, "b@127.0.0.1 > a@127.0.0.1");
}

// Busy polling changes how the loop waits, never what it does: calls both
// ways and nested calls behave as without it.
TEST_F(TwoNodes, BusyPollingServesCallsAndNestedCalls) {
    Start(GENRPC_INFINITY, 0, 200);
    std::string path;
    genrpc_status st;
    for (int i = 0; i < 100; i++) {
        ASSERT_EQ(Call(a(), tb(), "", 0, &path, &st), GENRPC_OK) << st.message;
        ASSERT_EQ(Call(b(), ta(), "", 0, &path, &st), GENRPC_OK) << st.message;
    }
    ASSERT_EQ(Call(a(), tb(), "a@127.0.0.1", 0, &path, &st), GENRPC_OK) << st.message;
    EXPECT_EQ(path, "b@127.0.0.1 > a@127.0.0.1");
}

TEST(NodeConfig, BusyPollOutOfRangeIsRefused) {
    for (int bad : {-1, 10001}) {
        genrpc_node_config cfg;
        genrpc_node_config_init(&cfg);
        cfg.name = "bp@127.0.0.1";
        cfg.cookie = "c";
        cfg.tcp_server_port = 0;
        cfg.busy_poll_us = bad;
        genrpc_node *node = nullptr;
        genrpc_status st;
        EXPECT_EQ(genrpc_node_start(&cfg, &node, &st), GENRPC_E_INVAL);
        EXPECT_EQ(node, nullptr);
        EXPECT_NE(std::string(st.message).find("busy_poll_us"), std::string::npos) << st.message;
    }
}

TEST_F(TwoNodes, ConcurrentFirstUseCreatesExactlyOneClient) {
    Start();
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 8; i++)
        threads.emplace_back([&] {
            std::string path;
            genrpc_status st;
            if (Call(a(), tb(), "", 0, &path, &st) == GENRPC_OK) ok++;
        });
    for (auto &t : threads) t.join();
    EXPECT_EQ(ok.load(), 8);
    genrpc_node_info info;
    genrpc_node_get_info(a(), &info);
    EXPECT_EQ(info.clients, 1);
    EXPECT_EQ(info.clients_ready, 1);
}

struct CallbackResult {
    std::mutex mu;
    std::condition_variable cv;
    int calls = 0;
    int err = -1;
    std::string path;
};

void OnForward(int err, const genrpc_status *st, const Relay__Hop *reply, void *arg) {
    (void)st;
    auto *r = static_cast<CallbackResult *>(arg);
    std::lock_guard<std::mutex> lock(r->mu);
    r->calls++;
    r->err = err;
    if (reply) r->path = reply->path;
    r->cv.notify_all();
}

bool WaitCallback(CallbackResult &r, int calls, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(r.mu);
    return r.cv.wait_for(lock, timeout, [&] { return r.calls >= calls; });
}

TEST_F(TwoNodes, AsyncCallbackIsCalledOnceWithTheReply) {
    Start();
    CallbackResult r;
    Relay__Hop req = RELAY__HOP__INIT;
    ASSERT_EQ(relay__relay__forward_async_cb(a(), tb(), &req, nullptr, OnForward, &r), GENRPC_OK);
    ASSERT_TRUE(WaitCallback(r, 1, std::chrono::seconds(5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard<std::mutex> lock(r.mu);
    EXPECT_EQ(r.calls, 1);
    EXPECT_EQ(r.err, GENRPC_OK);
    EXPECT_EQ(r.path, "b@127.0.0.1");
}

TEST_F(TwoNodes, AsyncCallbackTimesOut) {
    Start();
    CallbackResult r;
    Relay__Hop req = RELAY__HOP__INIT;
    req.sleep_ms = 500;
    genrpc_call_opts opts = {50, 0, 0, nullptr, nullptr, nullptr, {}};
    auto t0 = Clock::now();
    ASSERT_EQ(relay__relay__forward_async_cb(a(), tb(), &req, &opts, OnForward, &r), GENRPC_OK);
    ASSERT_TRUE(WaitCallback(r, 1, std::chrono::seconds(5)));
    EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(400));
    std::lock_guard<std::mutex> lock(r.mu);
    EXPECT_EQ(r.err, GENRPC_E_TIMEOUT);
}

TEST_F(TwoNodes, StopFailsPendingCallbacksAndPromisesWithStopped) {
    Start();
    CallbackResult r;
    Relay__Hop req = RELAY__HOP__INIT;
    req.sleep_ms = 1000;
    genrpc_promise *p = nullptr;
    ASSERT_EQ(relay__relay__forward_async_cb(a(), tb(), &req, nullptr, OnForward, &r), GENRPC_OK);
    ASSERT_EQ(relay__relay__forward_async(a(), tb(), &req, nullptr, &p, nullptr), GENRPC_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // both in flight
    auto t0 = Clock::now();
    ASSERT_EQ(genrpc_node_stop(nodes_[0]), GENRPC_OK);
    nodes_[0] = nullptr;
    EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(900)) << "stop waited for replies";
    {
        std::lock_guard<std::mutex> lock(r.mu);
        EXPECT_EQ(r.calls, 1);
        EXPECT_EQ(r.err, GENRPC_E_STOPPED);
    }
    Relay__Hop *out = nullptr;
    genrpc_status st;
    EXPECT_EQ(relay__relay__forward_yield(p, &out, &st), GENRPC_E_STOPPED);
    EXPECT_EQ(out, nullptr);
    genrpc_promise_free(p);
}

TEST_F(TwoNodes, UnclaimedResultExpiresAfterAsyncCallInactivityTimeout) {
    Start(/*async_inactivity_ms=*/200);
    Relay__Hop req = RELAY__HOP__INIT;
    genrpc_promise *claimed = nullptr, *unclaimed = nullptr;
    ASSERT_EQ(relay__relay__forward_async(a(), tb(), &req, nullptr, &claimed, nullptr), GENRPC_OK);
    ASSERT_EQ(relay__relay__forward_async(a(), tb(), &req, nullptr, &unclaimed, nullptr),
              GENRPC_OK);
    Relay__Hop *out = nullptr;
    genrpc_status st;
    ASSERT_EQ(relay__relay__forward_yield(claimed, &out, &st), GENRPC_OK) << st.message;
    relay__hop__free_unpacked(out, nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    out = nullptr;
    EXPECT_EQ(relay__relay__forward_yield(unclaimed, &out, &st), GENRPC_E_TIMEOUT);
    EXPECT_NE(std::string(st.message).find("expired"), std::string::npos) << st.message;
    EXPECT_EQ(out, nullptr);
    genrpc_promise_free(claimed);
    genrpc_promise_free(unclaimed);
}

TEST_F(TwoNodes, UnregisterWaitsForTheRunningCall) {
    Start();
    std::atomic<int> rc{-1};
    std::thread caller([&] {
        std::string path;
        genrpc_status st;
        rc = Call(a(), tb(), "", 400, &path, &st);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(150));  // handler is sleeping
    auto t0 = Clock::now();
    EXPECT_EQ(relay__relay__unregister(b()), GENRPC_OK);
    EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(150)) << "did not wait for the call";
    caller.join();
    EXPECT_EQ(rc.load(), GENRPC_OK);
    std::string path;
    genrpc_status st;
    // The stub requires its own version (1), which b no longer serves.
    EXPECT_EQ(Call(a(), tb(), "", 0, &path, &st), GENRPC_E_INCOMPATIBLE);
    // Asked for any version: b serves none, so the module is undefined.
    Relay__Hop req = RELAY__HOP__INIT;
    req.via = const_cast<char *>("");
    Relay__Hop *out = nullptr;
    genrpc_call_opts any = GENRPC_CALL_OPTS_INIT;
    any.version = GENRPC_ANY_VERSION;
    EXPECT_EQ(relay__relay__forward_call(a(), tb(), &req, &out, &any, &st), GENRPC_E_UNDEF);
    if (out) relay__hop__free_unpacked(out, nullptr);
    EXPECT_EQ(relay__relay__unregister(b()), GENRPC_E_NOT_FOUND);
}

// GENRPC_ANY_VERSION is not a version a module can have (nor is 0).
TEST_F(TwoNodes, ModuleAtAnyVersionOrZeroIsRefused) {
    Start();
    for (uint32_t v : {0u, GENRPC_ANY_VERSION}) {
        genrpc_module_desc m = relay__relay__module;
        m.version = v;
        EXPECT_EQ(genrpc_node_register(a(), &m, &kRelay, nullptr), GENRPC_E_INVAL) << v;
    }
}

TEST_F(TwoNodes, BlockingCallFromTheLoopIsRefused) {
    Start();
    struct Ctx {
        genrpc_node *node;
        genrpc_target target;
        std::atomic<int> nested{-1};
        CallbackResult done;
    } ctx{a(), tb(), {}, {}};
    auto cb = [](int, const genrpc_status *, const Relay__Hop *, void *arg) {
        auto *c = static_cast<Ctx *>(arg);
        Relay__Hop req = RELAY__HOP__INIT;
        Relay__Hop *out = nullptr;
        c->nested = relay__relay__forward_call(c->node, c->target, &req, &out, nullptr, nullptr);
        std::lock_guard<std::mutex> lock(c->done.mu);
        c->done.calls++;
        c->done.cv.notify_all();
    };
    Relay__Hop req = RELAY__HOP__INIT;
    ASSERT_EQ(relay__relay__forward_async_cb(a(), tb(), &req, nullptr, cb, &ctx), GENRPC_OK);
    ASSERT_TRUE(WaitCallback(ctx.done, 1, std::chrono::seconds(5)));
    EXPECT_EQ(ctx.nested.load(), GENRPC_E_INVAL);
}

// Regression: with several connections deferring their flushes to the
// loop at once, the loop's flush list was walked after its entries could be
// re-queued (a use-after-free under fan-in). Three client nodes keep 32 calls
// each outstanding against one server for a while; every reply must come
// back intact.
struct Flood {
    genrpc_node *node;
    genrpc_target target;
    std::atomic<bool> *stop;
    std::atomic<int> outstanding{0};
    std::atomic<long> done{0};
    std::atomic<long> failed{0};
};

void FloodOne(Flood *f);

void OnFlood(int err, const genrpc_status *, const Relay__Hop *reply, void *arg) {
    auto *f = static_cast<Flood *>(arg);
    if (err != GENRPC_OK || !reply || std::strcmp(reply->path, "b@127.0.0.1") != 0)
        f->failed++;
    f->done++;
    f->outstanding--;
    if (!f->stop->load()) FloodOne(f);  // from the loop: batched with the others
}

void FloodOne(Flood *f) {
    Relay__Hop req = RELAY__HOP__INIT;
    f->outstanding++;
    if (relay__relay__forward_async_cb(f->node, f->target, &req, nullptr, OnFlood, f) != GENRPC_OK) {
        f->failed++;
        f->outstanding--;
    }
}

TEST_F(TwoNodes, SeveralClientNodesFloodingOneServer) {
    Start();
    std::atomic<bool> stop{false};
    std::vector<genrpc_node *> clients;
    std::vector<std::unique_ptr<Flood>> floods;
    for (int i = 0; i < 3; i++) {
        std::string name = "flood" + std::to_string(i) + "@127.0.0.1";
        genrpc_node_config cfg;
        genrpc_node_config_init(&cfg);
        cfg.name = name.c_str();
        cfg.cookie = "node-test";
        cfg.tcp_server_port = GENRPC_PORT_DISABLED;
        genrpc_node_addr addr = {names_[1], GENRPC_DRIVER_TCP, ports_[1]};
        cfg.node_addrs = &addr;
        cfg.n_node_addrs = 1;
        genrpc_node *n = nullptr;
        genrpc_status st;
        ASSERT_EQ(genrpc_node_start(&cfg, &n, &st), GENRPC_OK) << st.message;
        clients.push_back(n);
        floods.push_back(std::make_unique<Flood>());
        floods.back()->node = n;
        floods.back()->target = tb();
        floods.back()->stop = &stop;
    }
    for (auto &f : floods)
        for (int k = 0; k < 32; k++) FloodOne(f.get());
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    stop = true;
    for (auto &f : floods) {
        auto deadline = Clock::now() + std::chrono::seconds(10);
        while (f->outstanding.load() > 0 && Clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        EXPECT_EQ(f->outstanding.load(), 0);
        EXPECT_EQ(f->failed.load(), 0);
        EXPECT_GT(f->done.load(), 100);
    }
    for (auto *n : clients) EXPECT_EQ(genrpc_node_stop(n), GENRPC_OK);
}

// Mailbox per peer: a peer with a deep backlog of slow requests does not
// delay another peer's request by that backlog. With one worker on b, a
// queues 100 requests of 20 ms each (2 s of work); a third node's request
// must be served after at most a few of them, not after all.
TEST_F(TwoNodes, BackloggedPeerDoesNotDelayAnotherPeer) {
    Start(GENRPC_INFINITY, /*workers=*/1);
    std::atomic<int> done{0};
    auto count = [](int, const genrpc_status *, const Relay__Hop *, void *arg) {
        static_cast<std::atomic<int> *>(arg)->fetch_add(1);
    };
    Relay__Hop slow = RELAY__HOP__INIT;
    slow.sleep_ms = 20;
    genrpc_call_opts long_timeout = {30000, 0, 0, nullptr, nullptr, nullptr, {}};
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(relay__relay__forward_async_cb(a(), tb(), &slow, &long_timeout, count, &done),
                  GENRPC_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // backlog queued on b

    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "quiet@127.0.0.1";
    cfg.cookie = "node-test";
    cfg.tcp_server_port = GENRPC_PORT_DISABLED;
    genrpc_node_addr addr = {names_[1], GENRPC_DRIVER_TCP, ports_[1]};
    cfg.node_addrs = &addr;
    cfg.n_node_addrs = 1;
    genrpc_node *quiet = nullptr;
    genrpc_status st;
    ASSERT_EQ(genrpc_node_start(&cfg, &quiet, &st), GENRPC_OK) << st.message;
    std::string path;
    auto t0 = Clock::now();
    EXPECT_EQ(Call(quiet, tb(), "", 0, &path, &st), GENRPC_OK) << st.message;
    auto waited = Clock::now() - t0;
    EXPECT_LT(waited, std::chrono::milliseconds(1000))
        << "the quiet peer waited behind the other peer's backlog";
    EXPECT_LT(done.load(), 90) << "the backlog finished first: the test proved nothing";
    EXPECT_EQ(genrpc_node_stop(quiet), GENRPC_OK);
}

TEST(NodeConfigTest, BadConfigsAreRefusedWithAReason) {
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    genrpc_node *n = nullptr;
    genrpc_status st;
    cfg.cookie = "c";
    cfg.name = "no-at-sign";
    EXPECT_EQ(genrpc_node_start(&cfg, &n, &st), GENRPC_E_INVAL);
    EXPECT_NE(std::string(st.message).find("name@host"), std::string::npos) << st.message;
    cfg.name = "x@127.0.0.1";
    cfg.cookie = "";
    EXPECT_EQ(genrpc_node_start(&cfg, &n, &st), GENRPC_E_INVAL);
    EXPECT_EQ(n, nullptr);
}

TEST(NodeConfigTest, DefaultsAreGenRpcs) {
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    EXPECT_EQ(cfg.tcp_server_port, 5369);
    EXPECT_EQ(cfg.tcp_client_port, 5369);
    EXPECT_EQ(cfg.ssl_client_port, 5370);
    EXPECT_EQ(cfg.authentication_timeout_ms, 5000);
    EXPECT_EQ(cfg.connect_timeout_ms, 5000);
    EXPECT_EQ(cfg.send_timeout_ms, 5000);
    EXPECT_EQ(cfg.call_receive_timeout_ms, 15000);
    EXPECT_EQ(cfg.sbcast_receive_timeout_ms, 15000);
    EXPECT_EQ(cfg.client_inactivity_timeout_ms, GENRPC_INFINITY);
    EXPECT_EQ(cfg.server_inactivity_timeout_ms, GENRPC_INFINITY);
    EXPECT_EQ(cfg.async_call_inactivity_timeout_ms, GENRPC_INFINITY);
    EXPECT_EQ(cfg.socket_keepalive_idle_s, 5);
    EXPECT_EQ(cfg.socket_keepalive_interval_s, 5);
    EXPECT_EQ(cfg.socket_keepalive_count, 2);
    EXPECT_EQ(cfg.module_control, GENRPC_CONTROL_DISABLED);
}

}  // namespace
