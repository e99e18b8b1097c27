// tests/support/rows.h - the bodies of CONFORMANCE.md rows that exist both as
// local rows (a node calling itself through its own listener) and as remote
// rows (a node calling a helper process). Each takes the calling node and the
// target node's name; tests/conformance_{local,remote}_test.cc name them.
#ifndef GENRPC_TEST_ROWS_H
#define GENRPC_TEST_ROWS_H

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"
#include "genrpc/genrpc.h"
#include "test.genrpc.h"
#include "test.pb-c.h"

namespace genrpc_test {

// "TIMEOUT (badrpc): call timed out [handler_code=0 message='...']"
inline std::string Describe(int err, const genrpc_status &st) {
  return std::string(genrpc_err_name(err)) + " (" +
         genrpc_err_class_name(genrpc_err_class_of(err)) + "): " + genrpc_strerror(err) +
         " [st.err=" + genrpc_err_name(st.err) + " handler_code=" +
         std::to_string(st.handler_code) + " message='" + st.message + "']";
}

// Expects the returned code `got` == want, its class == cls, and status.err == got.
#define EXPECT_GENRPC_ERR(want, cls, got, status)                                      \
  do {                                                                                 \
    int got_ = (got);                                                                  \
    EXPECT_EQ(got_, (want)) << "expected " << genrpc_err_name(want) << ", got "      \
                            << ::genrpc_test::Describe(got_, (status));               \
    EXPECT_EQ(genrpc_err_class_of(got_), (cls))                                        \
        << "class of " << genrpc_err_name(got_);                                      \
    EXPECT_EQ((status).err, got_) << "st.err must equal the return value";           \
  } while (0)

#define ASSERT_GENRPC_OK(got, status)                                                    \
  do {                                                                                   \
    int got_ = (got);                                                                    \
    ASSERT_EQ(got_, GENRPC_OK) << "expected OK, got "                                   \
                               << ::genrpc_test::Describe(got_, (status));              \
  } while (0)

inline genrpc_call_opts Opts(int64_t timeout_ms, uint32_t version = 0) {
  genrpc_call_opts o = GENRPC_CALL_OPTS_INIT;
  o.timeout_ms = timeout_ms;
  o.version = version;
  return o;
}

// test.Test as seen by a peer whose IDL is newer: every function of the
// real module plus `extra` (which the serving node does not know). Also
// usable under another module name or version.
class FakeModule {
 public:
  FakeModule(const genrpc_module_desc &base, const char *name, const char *extra_fn)
      : name_(name) {
    fns_.assign(base.functions, base.functions + base.n_functions);
    if (extra_fn != nullptr) {
      extra_ = extra_fn;
      genrpc_function_desc f{};
      f.name = extra_.c_str();
      f.input = &test__empty__descriptor;
      f.output = &test__empty__descriptor;
      f.remote = true;
      // Never invoked here (the serving node lacks it); borrowed so the
      // descriptor looks like any generated one.
      f.impl_offset = base.functions[0].impl_offset;
      f.invoke = base.functions[0].invoke;
      fns_.push_back(f);
    }
    mod_ = base;
    mod_.name = name_.c_str();
    mod_.n_functions = fns_.size();
    mod_.functions = fns_.data();
  }
  const genrpc_module_desc *module() const { return &mod_; }
  const genrpc_function_desc *fn(const char *name) const {
    for (auto &f : fns_)
      if (strcmp(f.name, name) == 0) return &f;
    return nullptr;
  }

 private:
  std::string name_, extra_;
  std::vector<genrpc_function_desc> fns_;
  genrpc_module_desc mod_{};
};

inline const genrpc_function_desc *FindFunction(const genrpc_module_desc &m, const char *name) {
  for (size_t i = 0; i < m.n_functions; i++)
    if (strcmp(m.functions[i].name, name) == 0) return &m.functions[i];
  return nullptr;
}

// Calls Test.Ping; true when it answers OK with the same text.
inline bool PingOk(genrpc_node *n, const std::string &target, int64_t timeout_ms = 5000) {
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("ping");
  Test__PingReply *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(timeout_ms);
  int err = test__test__ping_call(n, genrpc_node_target(target.c_str()), &req, &reply, &o, &st);
  bool ok = err == GENRPC_OK && reply != nullptr && strcmp(reply->text, "ping") == 0;
  if (!ok) ADD_FAILURE() << "Ping to " << target << ": " << Describe(err, st);
  if (reply) test__ping_reply__free_unpacked(reply, nullptr);
  return ok;
}

// The serving node's counters, read through test.NodeInfo.Counters.
inline Test__NodeCounters RemoteCounters(genrpc_node *n, const std::string &target) {
  Test__NodeCounters out = TEST__NODE_COUNTERS__INIT;
  Test__Empty req = TEST__EMPTY__INIT;
  Test__NodeCounters *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(5000);
  int err = test__node_info__counters_call(n, genrpc_node_target(target.c_str()), &req, &reply, &o, &st);
  if (err != GENRPC_OK) {
    ADD_FAILURE() << "NodeInfo.Counters on " << target << ": " << Describe(err, st);
    return out;
  }
  out = *reply;
  out.base.unknown_fields = nullptr;
  out.base.n_unknown_fields = 0;
  test__node_counters__free_unpacked(reply, nullptr);
  return out;
}

// How often Test.Count ran on the target (-1 on error).
inline int64_t RemoteCount(genrpc_node *n, const std::string &target,
                           std::vector<uint64_t> *seqs = nullptr) {
  Test__Empty req = TEST__EMPTY__INIT;
  Test__CountReply *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(5000);
  int err = test__test__read_count_call(n, genrpc_node_target(target.c_str()), &req, &reply, &o, &st);
  if (err != GENRPC_OK) {
    ADD_FAILURE() << "Test.ReadCount on " << target << ": " << Describe(err, st);
    return -1;
  }
  int64_t c = static_cast<int64_t>(reply->count);
  if (seqs) seqs->assign(reply->seqs, reply->seqs + reply->n_seqs);
  test__count_reply__free_unpacked(reply, nullptr);
  return c;
}

// ---- rows shared by local and remote ---------------------------------------

// L2 / R1: typed call -> OK + decoded reply (os:timestamp).
inline void RowCall(genrpc_node *n, const std::string &target) {
  Test__Empty req = TEST__EMPTY__INIT;
  Test__TimestampReply *reply = nullptr;
  genrpc_status st{};
  int64_t before = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  int err = test__test__timestamp_call(n, genrpc_node_target(target.c_str()), &req, &reply, nullptr, &st);
  ASSERT_GENRPC_OK(err, st);
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(st.err, GENRPC_OK);
  // Same host clock: the server's timestamp lies within the call (±1 s slack).
  EXPECT_GE(reply->unix_us, before - 1000000);
  EXPECT_LE(reply->unix_us, before + 60 * 1000000LL);
  test__timestamp_reply__free_unpacked(reply, nullptr);
}

// L5 / R2: a function the serving node does not know (stub from a newer
// IDL) -> E_UNDEF [badrpc] naming module and function; connection stays.
inline void RowCallUndef(genrpc_node *n, const std::string &target) {
  FakeModule newer(test__test__module, "test.Test", "TimestampUndef");
  Test__Empty req = TEST__EMPTY__INIT;
  ProtobufCMessage *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(5000);
  int err = genrpc_call(n, genrpc_node_target(target.c_str()), newer.module(),
                        newer.fn("TimestampUndef"), &req.base, &reply, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_UNDEF, GENRPC_CLASS_BADRPC, err, st);
  EXPECT_EQ(reply, nullptr);
  EXPECT_NE(strstr(st.message, "test.Test"), nullptr) << "message: " << st.message;
  EXPECT_NE(strstr(st.message, "TimestampUndef"), nullptr) << "message: " << st.message;
  if (reply) protobuf_c_message_free_unpacked(reply, nullptr);

  // A function registered with a NULL handler is undefined too.
  Test__Empty *r2 = nullptr;
  st = genrpc_status{};
  err = test__test__unimplemented_call(n, genrpc_node_target(target.c_str()), &req, &r2, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_UNDEF, GENRPC_CLASS_BADRPC, err, st);
  EXPECT_NE(strstr(st.message, "Unimplemented"), nullptr) << "message: " << st.message;
  if (r2) test__empty__free_unpacked(r2, nullptr);

  // A module the node does not serve, without a version requirement: undef.
  FakeModule absent(test__test__module, "test.Test1", nullptr);
  reply = nullptr;
  st = genrpc_status{};
  err = genrpc_call(n, genrpc_node_target(target.c_str()), absent.module(), absent.fn("Stub"),
                    &req.base, &reply, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_UNDEF, GENRPC_CLASS_BADRPC, err, st);
  EXPECT_NE(strstr(st.message, "test.Test1"), nullptr) << "message: " << st.message;
  if (reply) protobuf_c_message_free_unpacked(reply, nullptr);

  // The connection survived: the next call works.
  EXPECT_TRUE(PingOk(n, target));
}

// L6 / R3: handler fails via genrpc_fail -> E_HANDLER with code and message verbatim.
inline void RowCallExit(genrpc_node *n, const std::string &target) {
  Test__FailRequest req = TEST__FAIL_REQUEST__INIT;
  req.code = 42;
  req.message = const_cast<char *>("die");
  Test__Empty *reply = nullptr;
  genrpc_status st{};
  int err = test__test__fail_call(n, genrpc_node_target(target.c_str()), &req, &reply, nullptr, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_HANDLER, GENRPC_CLASS_BADRPC, err, st);
  EXPECT_EQ(st.handler_code, 42);
  EXPECT_STREQ(st.message, "die");
  EXPECT_EQ(reply, nullptr);
  if (reply) test__empty__free_unpacked(reply, nullptr);
  EXPECT_TRUE(PingOk(n, target));
}

// L7 / R4: an application-level error in the typed reply is a normal OK reply.
inline void RowCallThrow(genrpc_node *n, const std::string &target) {
  Test__AppErrorRequest req = TEST__APP_ERROR_REQUEST__INIT;
  req.error = const_cast<char *>("throwXdown");
  Test__AppErrorReply *reply = nullptr;
  genrpc_status st{};
  int err = test__test__app_error_call(n, genrpc_node_target(target.c_str()), &req, &reply, nullptr, &st);
  ASSERT_GENRPC_OK(err, st);
  ASSERT_NE(reply, nullptr);
  EXPECT_STREQ(reply->error, "throwXdown");
  EXPECT_EQ(st.handler_code, 0);
  test__app_error_reply__free_unpacked(reply, nullptr);
}

// L8 / R5: a call whose timeout (timeout_ms) is shorter than the handler
// (sleep_ms) -> E_TIMEOUT quickly; the late reply is dropped and counted on
// the calling node; the connection is reused.
inline void RowReceiveTimeout(genrpc_node *n, const std::string &target, int64_t timeout_ms,
                              uint32_t sleep_ms) {
  ASSERT_TRUE(PingOk(n, target));  // connection up, so the request surely goes out
  genrpc_node_info before{};
  genrpc_node_get_info(n, &before);

  Test__SleepRequest req = TEST__SLEEP_REQUEST__INIT;
  req.ms = sleep_ms;
  req.value = 7;
  Test__SleepReply *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(timeout_ms);
  Stopwatch sw;
  int err = test__test__sleep_call(n, genrpc_node_target(target.c_str()), &req, &reply, &o, &st);
  int64_t elapsed = sw.ElapsedMs();
  EXPECT_GENRPC_ERR(GENRPC_E_TIMEOUT, GENRPC_CLASS_BADRPC, err, st);
  EXPECT_EQ(reply, nullptr);
  EXPECT_GE(elapsed, timeout_ms - 1) << "returned before its timeout";
  EXPECT_LT(elapsed, timeout_ms + 250) << "timeout of " << timeout_ms << " ms took " << elapsed;
  if (reply) test__sleep_reply__free_unpacked(reply, nullptr);

  // The late reply arrives after sleep_ms, is dropped and counted. (Over
  // protocol version 2 a node calling itself may instead find the 1 ms
  // deadline passed before a worker took the request: it then answers
  // TIMEOUT without running it, and counts it in expired_requests.)
  EXPECT_TRUE(Eventually(
      [&] {
        genrpc_node_info i{};
        genrpc_node_get_info(n, &i);
        return i.late_replies == before.late_replies + 1 ||
               (i.expired_requests > before.expired_requests &&
                i.late_replies <= before.late_replies + 1);
      },
      Millis(sleep_ms + 3000)))
      << "late_replies did not go from " << before.late_replies << " to +1";

  // Connection reused: the next call works and no client was added.
  EXPECT_TRUE(PingOk(n, target));
  genrpc_node_info after{};
  genrpc_node_get_info(n, &after);
  EXPECT_EQ(after.clients, before.clients) << "the timeout must not open a new connection";
}

// L10 / R6: required version 1 of test.Test (registered) -> OK.
inline void RowVersionSuccess(genrpc_node *n, const std::string &target) {
  Test__Empty req = TEST__EMPTY__INIT;
  Test__StubReply *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(5000, 1);
  int err = test__test__stub_call(n, genrpc_node_target(target.c_str()), &req, &reply, &o, &st);
  ASSERT_GENRPC_OK(err, st);
  ASSERT_NE(reply, nullptr);
  EXPECT_STREQ(reply->name, "stub_function");
  test__stub_reply__free_unpacked(reply, nullptr);

  // test.Versioned is served at 1 and 2: each required version runs its own
  // implementation; the stub's default (0) is its own IDL version and
  // GENRPC_ANY_VERSION runs the highest.
  for (uint32_t v : {0u, 1u, 2u, GENRPC_ANY_VERSION}) {
    Test__VersionReply *vr = nullptr;
    st = genrpc_status{};
    o = Opts(5000, v);
    err = test__versioned_v1__which_call(n, genrpc_node_target(target.c_str()), &req, &vr, &o, &st);
    ASSERT_GENRPC_OK(err, st);
    ASSERT_NE(vr, nullptr);
    EXPECT_EQ(vr->version, v == 0 ? 1u : v == GENRPC_ANY_VERSION ? 2u : v)
        << "required version " << v;
    test__version_reply__free_unpacked(vr, nullptr);
  }
}

// Which version of test.Versioned (served at 1 and 2) a stub reaches: the
// stub of `version = 1` reaches 1 with default options (NULL or version 0)
// in every stub kind, the stub of `version = 2` reaches 2, and any version
// (GENRPC_ANY_VERSION, through a stub or genrpc_call; 0 through
// genrpc_call, which has no IDL version) reaches the highest, 2.
inline void RowVersionStubDefaults(genrpc_node *n, const std::string &target) {
  const genrpc_target t = genrpc_node_target(target.c_str());
  Test__Empty req = TEST__EMPTY__INIT;
  const genrpc_call_opts zero = Opts(5000, 0), any = Opts(5000, GENRPC_ANY_VERSION);
  struct Case {
    const char *what;
    bool v2_stub;
    const genrpc_call_opts *opts;
    uint32_t want;
  };
  for (const Case &c : {Case{"v1 stub, NULL opts", false, nullptr, 1},
                        Case{"v1 stub, version 0", false, &zero, 1},
                        Case{"v1 stub, GENRPC_ANY_VERSION", false, &any, 2},
                        Case{"v2 stub, NULL opts", true, nullptr, 2},
                        Case{"v2 stub, version 0", true, &zero, 2},
                        Case{"v2 stub, GENRPC_ANY_VERSION", true, &any, 2}}) {
    SCOPED_TRACE(c.what);
    Test__VersionReply *vr = nullptr;
    genrpc_status st{};
    int err = c.v2_stub ? test__versioned_v2__which_call(n, t, &req, &vr, c.opts, &st)
                        : test__versioned_v1__which_call(n, t, &req, &vr, c.opts, &st);
    ASSERT_GENRPC_OK(err, st);
    ASSERT_NE(vr, nullptr);
    EXPECT_EQ(vr->version, c.want) << "call stub";
    test__version_reply__free_unpacked(vr, nullptr);

    // The promise stub.
    genrpc_promise *p = nullptr;
    st = genrpc_status{};
    err = c.v2_stub ? test__versioned_v2__which_async(n, t, &req, c.opts, &p, &st)
                    : test__versioned_v1__which_async(n, t, &req, c.opts, &p, &st);
    ASSERT_GENRPC_OK(err, st);
    vr = nullptr;
    err = c.v2_stub ? test__versioned_v2__which_yield(p, &vr, &st)
                    : test__versioned_v1__which_yield(p, &vr, &st);
    genrpc_promise_free(p);
    ASSERT_GENRPC_OK(err, st);
    ASSERT_NE(vr, nullptr);
    EXPECT_EQ(vr->version, c.want) << "async stub";
    test__version_reply__free_unpacked(vr, nullptr);

    // The multicall stub (one target).
    st = genrpc_status{};
    uint32_t got = 0;
    if (c.v2_stub) {
      Test__VersionedV2__WhichResult r[1] = {};
      err = test__versioned_v2__which_multicall(n, &t, 1, &req, c.opts, r, &st);
      ASSERT_GENRPC_OK(err, st);
      ASSERT_GENRPC_OK(r[0].status.err, r[0].status);
      got = r[0].reply ? r[0].reply->version : 0;
      test__versioned_v2__which_multicall_free(r, 1);
    } else {
      Test__VersionedV1__WhichResult r[1] = {};
      err = test__versioned_v1__which_multicall(n, &t, 1, &req, c.opts, r, &st);
      ASSERT_GENRPC_OK(err, st);
      ASSERT_GENRPC_OK(r[0].status.err, r[0].status);
      got = r[0].reply ? r[0].reply->version : 0;
      test__versioned_v1__which_multicall_free(r, 1);
    }
    EXPECT_EQ(got, c.want) << "multicall stub";
  }

  // genrpc_call itself: 0 and GENRPC_ANY_VERSION both mean any.
  for (uint32_t v : {0u, GENRPC_ANY_VERSION}) {
    ProtobufCMessage *reply = nullptr;
    genrpc_status st{};
    genrpc_call_opts o = Opts(5000, v);
    int err = genrpc_call(n, t, &test__versioned_v1__module,
                          &test__versioned_v1__module.functions[0], &req.base, &reply, &o, &st);
    ASSERT_GENRPC_OK(err, st);
    ASSERT_NE(reply, nullptr);
    EXPECT_EQ(((Test__VersionReply *)reply)->version, 2u) << "genrpc_call, version " << v;
    protobuf_c_message_free_unpacked(reply, nullptr);
  }
}

// L11 / R7: required version 2 of test.Test (only 1 is served) ->
// E_INCOMPATIBLE and the handler does not run.
inline void RowVersionIncompatible(genrpc_node *n, const std::string &target) {
  int64_t runs_before = RemoteCount(n, target);
  Test__CountRequest req = TEST__COUNT_REQUEST__INIT;
  req.seq = 1;
  Test__Empty *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(5000, 2);
  int err = test__test__count_call(n, genrpc_node_target(target.c_str()), &req, &reply, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_INCOMPATIBLE, GENRPC_CLASS_BADRPC, err, st);
  EXPECT_EQ(reply, nullptr);
  if (reply) test__empty__free_unpacked(reply, nullptr);
  EXPECT_EQ(RemoteCount(n, target), runs_before) << "the handler ran despite E_INCOMPATIBLE";

  // Also for a module served at other versions (test.Versioned at 1 and 2).
  Test__Empty ereq = TEST__EMPTY__INIT;
  Test__VersionReply *vr = nullptr;
  st = genrpc_status{};
  o = Opts(5000, 3);
  err = test__versioned_v2__which_call(n, genrpc_node_target(target.c_str()), &ereq, &vr, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_INCOMPATIBLE, GENRPC_CLASS_BADRPC, err, st);
  if (vr) test__version_reply__free_unpacked(vr, nullptr);
}

// L12 / R8: a version required of a module the node does not serve ->
// E_INCOMPATIBLE (without a requirement it is E_UNDEF, see RowCallUndef).
inline void RowVersionInvalid(genrpc_node *n, const std::string &target) {
  FakeModule absent(test__test__module, "test.Test1", nullptr);
  Test__Empty req = TEST__EMPTY__INIT;
  ProtobufCMessage *reply = nullptr;
  genrpc_status st{};
  genrpc_call_opts o = Opts(5000, 1);
  int err = genrpc_call(n, genrpc_node_target(target.c_str()), absent.module(), absent.fn("Stub"),
                        &req.base, &reply, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_INCOMPATIBLE, GENRPC_CLASS_BADRPC, err, st);
  EXPECT_EQ(reply, nullptr);
  if (reply) protobuf_c_message_free_unpacked(reply, nullptr);
  EXPECT_TRUE(PingOk(n, target));
}

// Test.Sleep on `target`: the handler sleeps `ms` and answers `value_in`.
// Returns the call's error; on success *value is the answer.
inline int SleepCall(genrpc_node *n, const std::string &target, uint32_t ms, int32_t value_in,
                     int64_t timeout_ms, int32_t *value, genrpc_status *st) {
  Test__SleepRequest req = TEST__SLEEP_REQUEST__INIT;
  req.ms = ms;
  req.value = value_in;
  Test__SleepReply *reply = nullptr;
  genrpc_call_opts o = Opts(timeout_ms);
  int err = test__test__sleep_call(n, genrpc_node_target(target.c_str()), &req, &reply, &o, st);
  if (reply) {
    *value = reply->value;
    test__sleep_reply__free_unpacked(reply, nullptr);
  }
  return err;
}

// L13 / R9: three threads share one connection; executor N sleeps (3-N)
// units and returns N; caller 2 has a short timeout. Replies are matched by
// request id; caller 2's timeout disturbs neither the connection nor the
// others.
inline void RowInterleaved(genrpc_node *n, const std::string &target, int64_t short_timeout_ms) {
  const uint32_t unit_ms = 300;
  ASSERT_TRUE(PingOk(n, target));
  genrpc_node_info before{};
  genrpc_node_get_info(n, &before);

  int errs[3] = {-1, -1, -1};
  int values[3] = {-1, -1, -1};
  genrpc_status sts[3] = {};
  auto caller = [&](int i) {
    int N = i + 1;
    Test__SleepRequest req = TEST__SLEEP_REQUEST__INIT;
    req.ms = static_cast<uint32_t>(3 - N) * unit_ms;
    req.value = N;
    Test__SleepReply *reply = nullptr;
    genrpc_call_opts o = Opts(N == 2 ? short_timeout_ms : GENRPC_INFINITY);
    errs[i] = test__test__sleep_call(n, genrpc_node_target(target.c_str()), &req, &reply, &o, &sts[i]);
    if (reply) {
      values[i] = reply->value;
      test__sleep_reply__free_unpacked(reply, nullptr);
    }
  };
  Stopwatch sw;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; i++) threads.emplace_back(caller, i);
  for (auto &t : threads) t.join();
  int64_t elapsed = sw.ElapsedMs();

  EXPECT_EQ(errs[0], GENRPC_OK) << "caller 1: " << Describe(errs[0], sts[0]);
  EXPECT_EQ(values[0], 1);
  EXPECT_GENRPC_ERR(GENRPC_E_TIMEOUT, GENRPC_CLASS_BADRPC, errs[1], sts[1]);
  EXPECT_EQ(values[1], -1);
  EXPECT_EQ(errs[2], GENRPC_OK) << "caller 3: " << Describe(errs[2], sts[2]);
  EXPECT_EQ(values[2], 3);
  // Handlers ran concurrently: the whole thing took about the longest sleep.
  EXPECT_LT(elapsed, 2 * unit_ms + 1000);

  genrpc_node_info after{};
  genrpc_node_get_info(n, &after);
  EXPECT_EQ(after.clients, before.clients) << "all three callers share one connection";
  EXPECT_TRUE(Eventually(
      [&] {
        genrpc_node_info i{};
        genrpc_node_get_info(n, &i);
        return i.late_replies == before.late_replies + 1;
      },
      Millis(3000)))
      << "caller 2's late reply was not counted";
  EXPECT_TRUE(PingOk(n, target));
}

// L15 / R10: cast returns OK at once; the handler runs on the node.
inline void RowCast(genrpc_node *n, const std::string &target) {
  int64_t before = RemoteCount(n, target);
  Test__CountRequest req = TEST__COUNT_REQUEST__INIT;
  req.seq = 1;
  genrpc_status st{};
  Stopwatch sw;
  int err = test__test__count_cast(n, genrpc_node_target(target.c_str()), &req, nullptr, &st);
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE, err, st);
  EXPECT_LT(sw.ElapsedMs(), 100);
  EXPECT_TRUE(Eventually([&] { return RemoteCount(n, target) == before + 1; }, Millis(3000)))
      << "the cast's handler did not run";
}

// L17 / R12: cast to an unknown function -> caller OK; the node drops it
// (casts_dropped + 1) and the connection stays usable.
inline void RowCastUndef(genrpc_node *n, const std::string &target) {
  uint64_t dropped = RemoteCounters(n, target).casts_dropped;
  FakeModule newer(test__test__module, "test.Test", "TimestampUndef");
  Test__Empty req = TEST__EMPTY__INIT;
  genrpc_status st{};
  int err = genrpc_cast(n, genrpc_node_target(target.c_str()), newer.module(),
                        newer.fn("TimestampUndef"), &req.base, nullptr, &st);
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE, err, st);
  EXPECT_TRUE(Eventually([&] { return RemoteCounters(n, target).casts_dropped == dropped + 1; },
                         Millis(3000)))
      << "casts_dropped did not go from " << dropped << " to +1";
  EXPECT_TRUE(PingOk(n, target));
}

// L19 / R14: a cast whose handler fails -> caller OK, the node survives.
inline void RowCastThrow(genrpc_node *n, const std::string &target) {
  Test__FailRequest req = TEST__FAIL_REQUEST__INIT;
  req.code = 7;
  req.message = const_cast<char *>("throwme");
  genrpc_status st{};
  int err = test__test__fail_cast(n, genrpc_node_target(target.c_str()), &req, nullptr, &st);
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE, err, st);
  // Cast FIFO: a cast sent after it runs after it; then the node still serves.
  int64_t before = RemoteCount(n, target);
  Test__CountRequest creq = TEST__COUNT_REQUEST__INIT;
  st = genrpc_status{};
  err = test__test__count_cast(n, genrpc_node_target(target.c_str()), &creq, nullptr, &st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  EXPECT_TRUE(Eventually([&] { return RemoteCount(n, target) == before + 1; }, Millis(3000)));
  EXPECT_TRUE(PingOk(n, target));
}

// L20 / R15: cast to an unreachable node returns OK at once (< 100 ms); a
// call to it fails with E_CONNECT within the connect timeout.
// `dead` must be a node name `n` maps to a port where nothing listens.
inline void RowCastInexistent(genrpc_node *n, const std::string &dead, int64_t connect_timeout_ms) {
  Test__CountRequest req = TEST__COUNT_REQUEST__INIT;
  genrpc_status st{};
  Stopwatch sw;
  int err = test__test__count_cast(n, genrpc_node_target(dead.c_str()), &req, nullptr, &st);
  int64_t elapsed = sw.ElapsedMs();
  EXPECT_GENRPC_ERR(GENRPC_OK, GENRPC_CLASS_NONE, err, st);
  EXPECT_LT(elapsed, 100) << "cast to an unreachable node blocked the caller";

  // A second cast (client may now exist, connecting or failed) is just as quick.
  sw = Stopwatch();
  err = test__test__count_cast(n, genrpc_node_target(dead.c_str()), &req, nullptr, &st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  EXPECT_LT(sw.ElapsedMs(), 100);

  Test__Empty ereq = TEST__EMPTY__INIT;
  Test__StubReply *sreply = nullptr;
  st = genrpc_status{};
  genrpc_call_opts o = Opts(10000);
  sw = Stopwatch();
  err = test__test__stub_call(n, genrpc_node_target(dead.c_str()), &ereq, &sreply, &o, &st);
  elapsed = sw.ElapsedMs();
  EXPECT_GENRPC_ERR(GENRPC_E_CONNECT, GENRPC_CLASS_BADTCP, err, st);
  EXPECT_LT(elapsed, connect_timeout_ms + 500);
  if (sreply) test__stub_reply__free_unpacked(sreply, nullptr);
}

// L21 / R18: async call + yield -> OK + reply; async call + nb_yield(500) -> OK + reply.
inline void RowAsync(genrpc_node *n, const std::string &target) {
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("yield_key");
  genrpc_promise *p = nullptr;
  genrpc_status st{};
  int err = test__test__ping_async(n, genrpc_node_target(target.c_str()), &req, nullptr, &p, &st);
  ASSERT_GENRPC_OK(err, st);
  ASSERT_NE(p, nullptr);
  Test__PingReply *reply = nullptr;
  err = test__test__ping_yield(p, &reply, &st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  ASSERT_NE(reply, nullptr);
  EXPECT_STREQ(reply->text, "yield_key");
  test__ping_reply__free_unpacked(reply, nullptr);
  genrpc_promise_free(p);

  p = nullptr;
  req.text = const_cast<char *>("nbyield_key");
  err = test__test__ping_async(n, genrpc_node_target(target.c_str()), &req, nullptr, &p, &st);
  ASSERT_GENRPC_OK(err, st);
  reply = nullptr;
  err = test__test__ping_nb_yield(p, 500, &reply, &st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  ASSERT_NE(reply, nullptr);
  EXPECT_STREQ(reply->text, "nbyield_key");
  test__ping_reply__free_unpacked(reply, nullptr);
  genrpc_promise_free(p);
}

// L22 / R19: a promise yields once; any further yield / nb_yield answers
// E_CONSUMED at once (gen_rpc hangs forever: a documented divergence).
inline void RowAsyncReentrant(genrpc_node *n, const std::string &target) {
  Test__PingRequest req = TEST__PING_REQUEST__INIT;
  req.text = const_cast<char *>("k");
  for (int use_nb = 0; use_nb < 2; use_nb++) {
    SCOPED_TRACE(use_nb ? "first consumed by nb_yield(500)" : "first consumed by yield");
    genrpc_promise *p = nullptr;
    genrpc_status st{};
    int err = test__test__ping_async(n, genrpc_node_target(target.c_str()), &req, nullptr, &p, &st);
    ASSERT_GENRPC_OK(err, st);
    Test__PingReply *reply = nullptr;
    err = use_nb ? test__test__ping_nb_yield(p, 500, &reply, &st)
                 : test__test__ping_yield(p, &reply, &st);
    ASSERT_GENRPC_OK(err, st);
    ASSERT_NE(reply, nullptr);
    test__ping_reply__free_unpacked(reply, nullptr);

    for (int again = 0; again < 3; again++) {
      Test__PingReply *r2 = nullptr;
      genrpc_status st2{};
      Stopwatch sw;
      int e2 = again == 0   ? test__test__ping_yield(p, &r2, &st2)
               : again == 1 ? test__test__ping_nb_yield(p, 5, &r2, &st2)
                            : test__test__ping_nb_yield(p, GENRPC_INFINITY, &r2, &st2);
      EXPECT_GENRPC_ERR(GENRPC_E_CONSUMED, GENRPC_CLASS_LOCAL, e2, st2);
      EXPECT_EQ(r2, nullptr);
      EXPECT_LT(sw.ElapsedMs(), 50) << "a consumed promise must answer at once";
      if (r2) test__ping_reply__free_unpacked(r2, nullptr);
    }
    genrpc_promise_free(p);
  }
}

// L25 / R20: a promise for an unknown function resolves with E_UNDEF; nb_yield
// reports it as ready (not E_NOT_READY).
inline void RowAsyncUndef(genrpc_node *n, const std::string &target) {
  FakeModule newer(test__test__module, "test.Test", "TimestampUndef");
  Test__Empty req = TEST__EMPTY__INIT;
  for (int use_nb = 0; use_nb < 2; use_nb++) {
    SCOPED_TRACE(use_nb ? "nb_yield(5000)" : "yield");
    genrpc_promise *p = nullptr;
    genrpc_status st{};
    int err = genrpc_call_async(n, genrpc_node_target(target.c_str()), newer.module(),
                                newer.fn("TimestampUndef"), &req.base, nullptr, &p, &st);
    ASSERT_GENRPC_OK(err, st);
    ProtobufCMessage *reply = nullptr;
    st = genrpc_status{};
    err = use_nb ? genrpc_promise_nb_yield(p, 5000, &reply, &st)
                 : genrpc_promise_yield(p, &reply, &st);
    EXPECT_GENRPC_ERR(GENRPC_E_UNDEF, GENRPC_CLASS_BADRPC, err, st);
    EXPECT_EQ(reply, nullptr);
    EXPECT_NE(strstr(st.message, "TimestampUndef"), nullptr) << "message: " << st.message;
    if (reply) protobuf_c_message_free_unpacked(reply, nullptr);
    genrpc_promise_free(p);
  }
}

// L26 / R21: a promise whose handler fails resolves with E_HANDLER + code + message.
inline void RowAsyncExit(genrpc_node *n, const std::string &target) {
  Test__FailRequest req = TEST__FAIL_REQUEST__INIT;
  req.code = 3;
  req.message = const_cast<char *>("die");
  for (int use_nb = 0; use_nb < 2; use_nb++) {
    SCOPED_TRACE(use_nb ? "nb_yield(5000)" : "yield");
    genrpc_promise *p = nullptr;
    genrpc_status st{};
    int err = test__test__fail_async(n, genrpc_node_target(target.c_str()), &req, nullptr, &p, &st);
    ASSERT_GENRPC_OK(err, st);
    Test__Empty *reply = nullptr;
    st = genrpc_status{};
    err = use_nb ? test__test__fail_nb_yield(p, 5000, &reply, &st)
                 : test__test__fail_yield(p, &reply, &st);
    EXPECT_GENRPC_ERR(GENRPC_E_HANDLER, GENRPC_CLASS_BADRPC, err, st);
    EXPECT_EQ(st.handler_code, 3);
    EXPECT_STREQ(st.message, "die");
    EXPECT_EQ(reply, nullptr);
    if (reply) test__empty__free_unpacked(reply, nullptr);
    genrpc_promise_free(p);
  }
}

// L27 / R22: an application-level error in the typed reply arrives via the
// promise as OK + reply.
inline void RowAsyncThrow(genrpc_node *n, const std::string &target) {
  Test__AppErrorRequest req = TEST__APP_ERROR_REQUEST__INIT;
  req.error = const_cast<char *>("throwXdown");
  for (int use_nb = 0; use_nb < 2; use_nb++) {
    SCOPED_TRACE(use_nb ? "nb_yield(5000)" : "yield");
    genrpc_promise *p = nullptr;
    genrpc_status st{};
    int err =
        test__test__app_error_async(n, genrpc_node_target(target.c_str()), &req, nullptr, &p, &st);
    ASSERT_GENRPC_OK(err, st);
    Test__AppErrorReply *reply = nullptr;
    err = use_nb ? test__test__app_error_nb_yield(p, 5000, &reply, &st)
                 : test__test__app_error_yield(p, &reply, &st);
    EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
    ASSERT_NE(reply, nullptr);
    EXPECT_STREQ(reply->error, "throwXdown");
    test__app_error_reply__free_unpacked(reply, nullptr);
    genrpc_promise_free(p);
  }
}

// L28 / R23: nb_yield(5) on a sleep_ms handler -> E_NOT_READY (not E_TIMEOUT),
// promise still valid; a later yield returns the value.
inline void RowYieldTimeout(genrpc_node *n, const std::string &target, uint32_t sleep_ms) {
  Test__SleepRequest req = TEST__SLEEP_REQUEST__INIT;
  req.ms = sleep_ms;
  req.value = 11;
  genrpc_promise *p = nullptr;
  genrpc_status st{};
  int err = test__test__sleep_async(n, genrpc_node_target(target.c_str()), &req, nullptr, &p, &st);
  ASSERT_GENRPC_OK(err, st);
  Test__SleepReply *reply = nullptr;
  Stopwatch sw;
  err = test__test__sleep_nb_yield(p, 5, &reply, &st);
  int64_t elapsed = sw.ElapsedMs();
  EXPECT_GENRPC_ERR(GENRPC_E_NOT_READY, GENRPC_CLASS_LOCAL, err, st);
  EXPECT_EQ(reply, nullptr);
  EXPECT_LT(elapsed, 100) << "nb_yield(5) took " << elapsed << " ms";
  err = test__test__sleep_nb_yield(p, 0, &reply, &st);
  EXPECT_EQ(err, GENRPC_E_NOT_READY) << Describe(err, st);

  err = test__test__sleep_yield(p, &reply, &st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->value, 11);
  test__sleep_reply__free_unpacked(reply, nullptr);
  genrpc_promise_free(p);
}

// L29 / R24: yield on a sleep_ms handler -> value; nb_yield(p, INFINITY) ≡ yield.
inline void RowNbYieldInfinity(genrpc_node *n, const std::string &target, uint32_t sleep_ms) {
  Test__SleepRequest req = TEST__SLEEP_REQUEST__INIT;
  req.ms = sleep_ms;
  for (int use_nb = 0; use_nb < 2; use_nb++) {
    SCOPED_TRACE(use_nb ? "nb_yield(INFINITY)" : "yield");
    req.value = 20 + use_nb;
    genrpc_promise *p = nullptr;
    genrpc_status st{};
    int err =
        test__test__sleep_async(n, genrpc_node_target(target.c_str()), &req, nullptr, &p, &st);
    ASSERT_GENRPC_OK(err, st);
    Test__SleepReply *reply = nullptr;
    Stopwatch sw;
    err = use_nb ? test__test__sleep_nb_yield(p, GENRPC_INFINITY, &reply, &st)
                 : test__test__sleep_yield(p, &reply, &st);
    EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
    EXPECT_GE(sw.ElapsedMs(), static_cast<int64_t>(sleep_ms) / 2);
    ASSERT_NE(reply, nullptr);
    EXPECT_EQ(reply->value, 20 + use_nb);
    test__sleep_reply__free_unpacked(reply, nullptr);
    genrpc_promise_free(p);
  }
}

// L30: async call to an unreachable node returns OK at once; the promise
// resolves with E_CONNECT [badtcp] within the connect timeout.
inline void RowAsyncInexistent(genrpc_node *n, const std::string &dead, int64_t connect_timeout_ms) {
  Test__Empty req = TEST__EMPTY__INIT;
  for (int use_nb = 0; use_nb < 2; use_nb++) {
    SCOPED_TRACE(use_nb ? "nb_yield(10000)" : "yield");
    genrpc_promise *p = nullptr;
    genrpc_status st{};
    Stopwatch sw;
    int err = test__test__stub_async(n, genrpc_node_target(dead.c_str()), &req, nullptr, &p, &st);
    EXPECT_LT(sw.ElapsedMs(), 100) << "async_call blocked on an unreachable node";
    ASSERT_GENRPC_OK(err, st);
    Test__StubReply *reply = nullptr;
    st = genrpc_status{};
    err = use_nb ? test__test__stub_nb_yield(p, 10000, &reply, &st)
                 : test__test__stub_yield(p, &reply, &st);
    EXPECT_GENRPC_ERR(GENRPC_E_CONNECT, GENRPC_CLASS_BADTCP, err, st);
    EXPECT_LT(sw.ElapsedMs(), connect_timeout_ms + 500);
    EXPECT_EQ(reply, nullptr);
    if (reply) test__stub_reply__free_unpacked(reply, nullptr);
    genrpc_promise_free(p);
  }
}

// L34 / R29: whitelist {test.Clock, test.NodeInfo} on the target.
inline void RowWhitelist(genrpc_node *n, const std::string &target) {
  Test__Empty req = TEST__EMPTY__INIT;
  genrpc_status st{};
  Test__TimestampReply *ts = nullptr;
  int err = test__clock__now_call(n, genrpc_node_target(target.c_str()), &req, &ts, nullptr, &st);
  EXPECT_EQ(err, GENRPC_OK) << "test.Clock is whitelisted: " << Describe(err, st);
  if (ts) test__timestamp_reply__free_unpacked(ts, nullptr);

  Test__NameReply *name = nullptr;
  st = genrpc_status{};
  err = test__node_info__name_call(n, genrpc_node_target(target.c_str()), &req, &name, nullptr, &st);
  EXPECT_EQ(err, GENRPC_OK) << "test.NodeInfo is whitelisted: " << Describe(err, st);
  if (name) {
    EXPECT_EQ(std::string(name->name), target);
    test__name_reply__free_unpacked(name, nullptr);
  }

  Test__StubReply *stub = nullptr;
  st = genrpc_status{};
  err = test__test__stub_call(n, genrpc_node_target(target.c_str()), &req, &stub, nullptr, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_UNAUTHORIZED, GENRPC_CLASS_BADRPC, err, st);
  if (stub) test__stub_reply__free_unpacked(stub, nullptr);

  // Unauthorized wins over incompatible: a version the node does not have.
  stub = nullptr;
  st = genrpc_status{};
  genrpc_call_opts o = Opts(5000, 99);
  err = test__test__stub_call(n, genrpc_node_target(target.c_str()), &req, &stub, &o, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_UNAUTHORIZED, GENRPC_CLASS_BADRPC, err, st);
  if (stub) test__stub_reply__free_unpacked(stub, nullptr);

  // ... and over undef: a module the node does not serve at all.
  FakeModule absent(test__test__module, "test.Test1", nullptr);
  ProtobufCMessage *r = nullptr;
  st = genrpc_status{};
  err = genrpc_call(n, genrpc_node_target(target.c_str()), absent.module(), absent.fn("Stub"),
                    &req.base, &r, nullptr, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_UNAUTHORIZED, GENRPC_CLASS_BADRPC, err, st);
  if (r) protobuf_c_message_free_unpacked(r, nullptr);

  // A refused cast is dropped and counted on the serving node.
  uint64_t dropped = RemoteCounters(n, target).casts_dropped;
  Test__CountRequest creq = TEST__COUNT_REQUEST__INIT;
  st = genrpc_status{};
  err = test__test__count_cast(n, genrpc_node_target(target.c_str()), &creq, nullptr, &st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  EXPECT_TRUE(Eventually([&] { return RemoteCounters(n, target).casts_dropped == dropped + 1; },
                         Millis(3000)));
}

// R30 (and L35 without broadcasts): blacklist {test.Clock, test.NodeInfo}.
inline void RowBlacklist(genrpc_node *n, const std::string &target) {
  Test__Empty req = TEST__EMPTY__INIT;
  genrpc_status st{};
  Test__TimestampReply *ts = nullptr;
  int err = test__clock__now_call(n, genrpc_node_target(target.c_str()), &req, &ts, nullptr, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_UNAUTHORIZED, GENRPC_CLASS_BADRPC, err, st);
  if (ts) test__timestamp_reply__free_unpacked(ts, nullptr);

  Test__NameReply *name = nullptr;
  st = genrpc_status{};
  err = test__node_info__name_call(n, genrpc_node_target(target.c_str()), &req, &name, nullptr, &st);
  EXPECT_GENRPC_ERR(GENRPC_E_UNAUTHORIZED, GENRPC_CLASS_BADRPC, err, st);
  if (name) test__name_reply__free_unpacked(name, nullptr);

  // Unlisted module: allowed (timer:seconds(60) -> 60000).
  EXPECT_TRUE(PingOk(n, target));
  Test__StubReply *stub = nullptr;
  st = genrpc_status{};
  err = test__test__stub_call(n, genrpc_node_target(target.c_str()), &req, &stub, nullptr, &st);
  EXPECT_EQ(err, GENRPC_OK) << Describe(err, st);
  if (stub) test__stub_reply__free_unpacked(stub, nullptr);
}

}  // namespace genrpc_test

#endif  // GENRPC_TEST_ROWS_H
