// The `genrpc` command (tools/genrpc, docs/cli.md) against real nodes: an
// in-process node on an ephemeral port serving clitest.Shop
// (tests/proto/cli.proto) and the built-in modules, and the command run as
// a separate process (bounded: killed after 30 s). Every subcommand, the
// JSON mapping field kind by field kind, health transitions, reflection
// switched off (and descriptor sets instead), the policy refusing the
// built-in modules, and the errors with their exit status.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <jansson.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli.genrpc.h"
#include "cli_shop.h"
#include "fixture.h"
#include "genrpc/genrpc.h"

namespace {

using genrpc_test::kCookie;

// Exit statuses of docs/cli.md.
constexpr int kUsage = 2, kBadInput = 3, kNotFound = 4, kRefused = 5, kHandler = 6,
              kUnreachable = 7, kNotServing = 9, kNoReflection = 10;

struct Result {
  int status = -1;  // exit status; -1: killed (timeout) or did not exit
  std::string out, err;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Runs the genrpc command with `args`, `input` on its stdin; at most 30 s.
Result RunCli(const std::vector<std::string> &args, const std::string &input = "") {
  std::vector<std::string> argv_s{GENRPC_CLI_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (auto &s : argv_s) argv.push_back(const_cast<char *>(s.c_str()));
  argv.push_back(nullptr);
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    unsetenv("GENRPC_COOKIE");
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!input.empty() && write(in[1], input.data(), input.size()) < 0) perror("write");
  close(in[1]);
  Result r;
  int64_t deadline = NowMs() + 30000;
  pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string *dst[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0 && NowMs() < deadline) {
    if (poll(p, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(p[i].fd, buf, sizeof buf);
      if (n > 0) {
        dst[i]->append(buf, n);
      } else {
        close(p[i].fd);
        p[i].fd = -1;
        open_fds--;
      }
    }
  }
  for (auto &q : p)
    if (q.fd >= 0) close(q.fd);
  int status = 0;
  if (open_fds > 0) kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  r.status = open_fds == 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Parsed JSON, owned.
struct Json {
  json_t *v = nullptr;
  explicit Json(const std::string &text) {
    json_error_t e;
    v = json_loads(text.c_str(), 0, &e);
  }
  ~Json() { json_decref(v); }
};

std::string Str(json_t *v) { return json_is_string(v) ? json_string_value(v) : "<not a string>"; }

// An in-process node serving clitest.Shop, stopped by the destructor.
class ShopNode {
 public:
  explicit ShopNode(uint32_t builtins_off = 0,
                    genrpc_module_control control = GENRPC_CONTROL_DISABLED,
                    std::vector<std::string> modules = {}, const char *cookie = kCookie)
      : modules_(std::move(modules)) {
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "shop@127.0.0.1";
    cfg.cookie = cookie;
    cfg.tcp_server_port = 0;
    cfg.builtins_off = builtins_off;
    cfg.module_control = control;
    for (auto &m : modules_) list_.push_back(m.c_str());
    cfg.module_list = list_.data();
    cfg.n_module_list = list_.size();
    genrpc_status st;
    EXPECT_EQ(genrpc_node_start(&cfg, &node_, &st), GENRPC_OK) << st.message;
    if (node_) {
      EXPECT_EQ(cli_shop_register(node_), GENRPC_OK);
    }
    cli_shop_forget();
  }
  ~ShopNode() {
    if (node_) genrpc_node_stop(node_);
  }
  genrpc_node *get() const { return node_; }
  std::string port() const { return std::to_string(genrpc_node_tcp_port(node_)); }
  // The command's arguments for this node: `cmd`, the node, `rest`, and the
  // connection options.
  std::vector<std::string> Args(const std::string &cmd, std::vector<std::string> rest = {}) const {
    std::vector<std::string> a{cmd, "shop@127.0.0.1"};
    a.insert(a.end(), rest.begin(), rest.end());
    a.insert(a.end(), {"--cookie", kCookie, "--port", port(), "--timeout", "5000"});
    return a;
  }

 private:
  genrpc_node *node_ = nullptr;
  std::vector<std::string> modules_;
  std::vector<const char *> list_;
};

// ---- ping, list, describe ----------------------------------------------------

TEST(Cli, PingAnswersAndFailsForAWrongCookieOrNoNode) {
  ShopNode node;
  Result r = RunCli(node.Args("ping"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("pong from shop@127.0.0.1 in "), std::string::npos) << r.out;

  r = RunCli({"ping", "shop@127.0.0.1", "--cookie", "wrong", "--port", node.port()});
  EXPECT_EQ(r.status, kUnreachable) << r.err;
  EXPECT_NE(r.err.find("AUTH"), std::string::npos) << r.err;

  int free_port = genrpc_test::FreeTcpPort();
  r = RunCli({"ping", "nobody@127.0.0.1", "--cookie", kCookie, "--port",
           std::to_string(free_port), "--timeout", "2000"});
  EXPECT_EQ(r.status, kUnreachable) << r.err;
  EXPECT_NE(r.err.find("CONNECT"), std::string::npos) << r.err;
}

TEST(Cli, ListNamesEveryRemoteModuleWithItsFunctionsAndTypes) {
  ShopNode node;
  Result r = RunCli(node.Args("list"));
  ASSERT_EQ(r.status, 0) << r.err;
  Json j(r.out);
  ASSERT_TRUE(j.v) << r.out;
  EXPECT_EQ(Str(json_object_get(j.v, "node")), "shop@127.0.0.1");
  json_t *modules = json_object_get(j.v, "modules");
  ASSERT_EQ(json_array_size(modules), 4u) << r.out;  // by name: clitest.Shop, genrpc.*
  json_t *shop = json_array_get(modules, 0);
  EXPECT_EQ(Str(json_object_get(shop, "name")), "clitest.Shop");
  EXPECT_EQ(json_integer_value(json_object_get(shop, "version")), 2);
  EXPECT_TRUE(json_is_true(json_object_get(shop, "allowed")));
  json_t *fs = json_object_get(shop, "functions");
  ASSERT_EQ(json_array_size(fs), 5u) << r.out;  // Secret is internal: not listed
  EXPECT_EQ(Str(json_object_get(json_array_get(fs, 0), "name")), "Order");
  EXPECT_EQ(Str(json_object_get(json_array_get(fs, 0), "input")), "clitest.Order");
  EXPECT_EQ(Str(json_object_get(json_array_get(fs, 0), "output")), "clitest.Receipt");
  EXPECT_EQ(Str(json_object_get(json_array_get(modules, 1), "name")), "genrpc.Health");
  EXPECT_EQ(Str(json_object_get(json_array_get(modules, 2), "name")), "genrpc.Reflection");
  EXPECT_EQ(Str(json_object_get(json_array_get(modules, 3), "name")), "genrpc.Stats");
  EXPECT_EQ(r.out.find("Secret"), std::string::npos);
}

TEST(Cli, DescribeGivesTheMessagesMapsAndEnums) {
  ShopNode node;
  Result r = RunCli(node.Args("describe", {"clitest.Shop"}));
  ASSERT_EQ(r.status, 0) << r.err;
  Json j(r.out);
  ASSERT_TRUE(j.v) << r.out;
  EXPECT_EQ(Str(json_object_get(j.v, "module")), "clitest.Shop");
  EXPECT_EQ(json_integer_value(json_object_get(j.v, "version")), 2);
  json_t *order = json_object_get(json_object_get(j.v, "messages"), "clitest.Order");
  ASSERT_TRUE(order) << r.out;
  json_t *labels = json_array_get(json_object_get(order, "fields"), 2);
  EXPECT_EQ(Str(json_object_get(labels, "name")), "labels");
  EXPECT_EQ(Str(json_object_get(json_object_get(labels, "map"), "key")), "string");
  json_t *item = json_object_get(json_object_get(j.v, "messages"), "clitest.Item");
  ASSERT_TRUE(item) << r.out;  // reached through Order.items
  json_t *color = json_object_get(json_object_get(j.v, "enums"), "clitest.Color");
  EXPECT_EQ(json_integer_value(json_object_get(color, "BLUE")), 3);
  json_t *files = json_object_get(j.v, "files");
  ASSERT_GE(json_array_size(files), 3u);  // descriptor.proto, genrpc/options.proto, cli.proto
  EXPECT_EQ(Str(json_array_get(files, json_array_size(files) - 1)), "cli.proto");

  r = RunCli(node.Args("describe", {"clitest.Shop", "--proto"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("service Shop {"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("map<string, string> labels = 3"), std::string::npos) << r.out;

  r = RunCli(node.Args("describe", {"no.Such"}));
  EXPECT_EQ(r.status, kNotFound) << r.err;
  EXPECT_NE(r.err.find("module no.Such is not registered"), std::string::npos) << r.err;
}

TEST(Cli, GeneratedDescriptorsListTheFileAfterItsImports) {
  const genrpc_module_desc &m = clitest__shop__module;
  EXPECT_STREQ(m.service, "clitest.Shop");
  ASSERT_EQ(m.n_proto_files, 3u);
  EXPECT_STREQ(m.proto_files[0].name, "google/protobuf/descriptor.proto");
  EXPECT_STREQ(m.proto_files[1].name, "genrpc/options.proto");
  EXPECT_STREQ(m.proto_files[2].name, "cli.proto");
  EXPECT_GT(m.proto_files[2].len, 100u);
}

// ---- genrpc_call_raw / genrpc_cast_raw, which the command calls through ----

TEST(Cli, RawCallsTakeNamesAndEncodedBytes) {
  ShopNode shop;
  genrpc_node_config cfg;
  genrpc_node_config_init(&cfg);
  cfg.name = "raw@127.0.0.1";
  cfg.cookie = kCookie;
  cfg.tcp_server_port = GENRPC_PORT_DISABLED;
  genrpc_node_addr addr = {"shop@127.0.0.1", GENRPC_DRIVER_TCP,
                           genrpc_node_tcp_port(shop.get())};
  cfg.node_addrs = &addr;
  cfg.n_node_addrs = 1;
  genrpc_node *node = nullptr;
  genrpc_status st;
  ASSERT_EQ(genrpc_node_start(&cfg, &node, &st), GENRPC_OK) << st.message;
  genrpc_target to = genrpc_node_target("shop@127.0.0.1");

  Clitest__Note note = CLITEST__NOTE__INIT;
  note.text = const_cast<char *>("raw");
  std::string bytes(clitest__note__get_packed_size(&note), '\0');
  clitest__note__pack(&note, reinterpret_cast<uint8_t *>(&bytes[0]));
  ASSERT_EQ(genrpc_cast_raw(node, to, "clitest.Shop", "Remember", bytes.data(), bytes.size(),
                            nullptr, &st),
            GENRPC_OK)
      << st.message;
  void *reply = nullptr;
  size_t len = 0;
  // an empty request is an empty message; the reply is the encoded Notes
  ASSERT_EQ(genrpc_call_raw(node, to, "clitest.Shop", "Recall", nullptr, 0, &reply, &len, nullptr,
                            &st),
            GENRPC_OK)
      << st.message;
  ASSERT_NE(reply, nullptr);
  Clitest__Notes *notes =
      clitest__notes__unpack(nullptr, len, static_cast<const uint8_t *>(reply));
  ASSERT_NE(notes, nullptr);
  ASSERT_EQ(notes->n_texts, 1u);  // the cast ran before the call (same connection)
  EXPECT_STREQ(notes->texts[0], "raw");
  clitest__notes__free_unpacked(notes, nullptr);
  free(reply);

  // an empty reply is a buffer too, of 0 bytes
  ASSERT_EQ(genrpc_call_raw(node, to, "clitest.Shop", "Remember", bytes.data(), bytes.size(),
                            &reply, &len, nullptr, &st),
            GENRPC_OK);
  EXPECT_NE(reply, nullptr);
  EXPECT_EQ(len, 0u);
  free(reply);

  // the callee's answers, and the caller's mistakes
  genrpc_call_opts v1 = GENRPC_CALL_OPTS_INIT;
  v1.version = 1;
  EXPECT_EQ(genrpc_call_raw(node, to, "clitest.Shop", "Recall", "", 0, &reply, &len, &v1, &st),
            GENRPC_E_INCOMPATIBLE);
  EXPECT_EQ(reply, nullptr);
  EXPECT_EQ(genrpc_call_raw(node, to, "clitest.Shop", "Nope", "", 0, &reply, &len, nullptr, &st),
            GENRPC_E_UNDEF);
  EXPECT_EQ(genrpc_call_raw(node, to, "clitest.Shop", "Order", "\xff\xff", 2, &reply, &len,
                            nullptr, &st),
            GENRPC_E_BADARGS);
  EXPECT_EQ(genrpc_call_raw(node, to, "", "Recall", "", 0, &reply, &len, nullptr, &st),
            GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_call_raw(node, to, "clitest.Shop", "Recall", "", 0, nullptr, &len, nullptr, &st),
            GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_call_raw(node, to, "clitest.Shop", "Recall", nullptr, 3, &reply, &len, nullptr,
                            &st),
            GENRPC_E_INVAL);
  std::string long_name(300, 'm');
  EXPECT_EQ(genrpc_cast_raw(node, to, long_name.c_str(), "F", "", 0, nullptr, &st),
            GENRPC_E_INVAL);
  genrpc_node_stop(node);
}

// ---- call and cast: protobuf's JSON mapping ---------------------------------

const char kOrder[] = R"({
  "id": "o-1",
  "items": [
    {"sku": "apple", "count": 3, "priceCents": "250", "color": "RED", "blob": "AAEC"},
    {"sku": "pear", "count": 2, "price_cents": 9000000000, "color": "GREEN", "blob": "/w=="}
  ],
  "labels": {"gift": "yes", "rush": "no"},
  "bySlot": {"7": {"sku": "plum", "color": "BLUE"}},
  "account": "123456789012345",
  "big": ["-9007199254740993", 5],
  "colors": ["BLUE", "RED"]
})";

TEST(Cli, CallEncodesEveryFieldKindAndDecodesTheReply) {
  ShopNode node;
  Result r = RunCli(node.Args("call", {"clitest.Shop/Order", kOrder}));
  ASSERT_EQ(r.status, 0) << r.err;
  Json j(r.out);
  ASSERT_TRUE(j.v) << r.out;
  EXPECT_EQ(Str(json_object_get(j.v, "id")), "o-1");
  // 64-bit integers print as strings: 3*250 + 2*9000000000
  EXPECT_EQ(Str(json_object_get(j.v, "totalCents")), "18000000750");
  EXPECT_EQ(json_integer_value(json_object_get(j.v, "nItems")), 2);
  EXPECT_EQ(json_integer_value(json_object_get(j.v, "nSlots")), 1);
  EXPECT_EQ(Str(json_object_get(j.v, "bigSum")), "-9007199254740988");
  EXPECT_EQ(Str(json_object_get(j.v, "blobConcat")), "AAEC/w==");  // bytes: base64
  EXPECT_EQ(Str(json_object_get(j.v, "topColor")), "BLUE");        // enums by name
  EXPECT_EQ(Str(json_object_get(j.v, "payment")), "account:123456789012345");
  json_t *keys = json_object_get(j.v, "labelKeys");
  ASSERT_EQ(json_array_size(keys), 2u);
  // The order, echoed: nested, repeated, maps.
  json_t *order = json_object_get(j.v, "order");
  json_t *items = json_object_get(order, "items");
  ASSERT_EQ(json_array_size(items), 2u) << r.out;
  EXPECT_EQ(Str(json_object_get(json_array_get(items, 1), "priceCents")), "9000000000");
  EXPECT_EQ(Str(json_object_get(json_array_get(items, 1), "color")), "GREEN");
  EXPECT_EQ(Str(json_object_get(json_object_get(order, "labels"), "rush")), "no");
  EXPECT_EQ(Str(json_object_get(json_object_get(json_object_get(order, "bySlot"), "7"), "sku")),
            "plum");
  EXPECT_EQ(Str(json_array_get(json_object_get(order, "colors"), 0)), "BLUE");
  EXPECT_EQ(Str(json_object_get(order, "account")), "123456789012345");

  // the other oneof member; the request from stdin; keys as in the .proto
  r = RunCli(node.Args("call", {"clitest.Shop/Order", "-", "--proto-names"}),
          R"({"id": "o-2", "card": "4111"})");
  ASSERT_EQ(r.status, 0) << r.err;
  Json k(r.out);
  EXPECT_EQ(Str(json_object_get(k.v, "payment")), "card:4111");
  EXPECT_EQ(Str(json_object_get(json_object_get(k.v, "order"), "card")), "4111");
  EXPECT_FALSE(json_object_get(k.v, "nItems"));  // proto names, defaults left out
  EXPECT_EQ(json_integer_value(json_object_get(k.v, "n_items")), 0);

  r = RunCli(node.Args("call", {"clitest.Shop/Order", "{}", "--emit-defaults", "--proto-names"}));
  ASSERT_EQ(r.status, 0) << r.err;
  Json d(r.out);
  EXPECT_EQ(json_integer_value(json_object_get(d.v, "n_items")), 0) << r.out;
  EXPECT_EQ(Str(json_object_get(d.v, "payment")), "none");
}

// The JSON mapping field kind by field kind against protobuf's Python
// json_format, the reference implementation (tests/cli/json_reference.py).
TEST(Cli, JsonMatchesPythonJsonFormat) {
  ShopNode node;
  const char *cases[] = {
      kOrder,
      R"({"id": "strings \"quoted\" \u00e9\u4e2d", "card": ""})",
      R"({"items": [{"count": 4294967295, "priceCents": "-9223372036854775808"}]})",
      R"({"items": [{"blob": ""}, {"blob": "AP8A/w=="}, {"color": 2}]})",
      R"({"labels": {"": "empty key", "k": ""}, "bySlot": {"-1": {}, "2147483647": {"sku": "x"}}})",
      R"({"account": 18446744073709551615, "big": ["9223372036854775807", -1, 0]})",
      R"({"colors": ["COLOR_UNSPECIFIED", 3, "GREEN"], "id": ""})",
  };
  for (const char *json : cases) {
    Result r = RunCli(node.Args("call", {"clitest.Shop/Order", json}));
    ASSERT_EQ(r.status, 0) << json << ": " << r.err;
    {
      std::vector<std::string> argv{GENRPC_PYTHON3, GENRPC_CLI_JSON_REFERENCE, GENRPC_CLI_DESC,
                                    json, r.out};
      pid_t pid = fork();
      if (pid == 0) {
        std::vector<char *> a;
        for (auto &s : argv) a.push_back(const_cast<char *>(s.c_str()));
        a.push_back(nullptr);
        execvp(a[0], a.data());
        _exit(127);
      }
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "json_format disagrees (output above) for " << json;
    }
  }
}

TEST(Cli, CastArrivesBeforeTheCommandReturns) {
  ShopNode node;
  Result r = RunCli(node.Args("cast", {"clitest.Shop/Remember", R"({"text": "first"})"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  r = RunCli(node.Args("cast", {"clitest.Shop/Remember", R"({"text": "second"})"}));
  ASSERT_EQ(r.status, 0) << r.err;
  r = RunCli(node.Args("call", {"clitest.Shop/Recall"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "{\"texts\":[\"first\",\"second\"]}\n");
}

TEST(Cli, ErrorsAreClearWithTheirExitStatus) {
  ShopNode node;
  Result r = RunCli(node.Args("call", {"clitest.Shop/Order", "{\"id\": "}));
  EXPECT_EQ(r.status, kBadInput);
  EXPECT_NE(r.err.find("not a clitest.Order in JSON"), std::string::npos) << r.err;

  r = RunCli(node.Args("call", {"clitest.Shop/Order", R"({"idd": "x"})"}));
  EXPECT_EQ(r.status, kBadInput);
  EXPECT_NE(r.err.find("idd"), std::string::npos) << r.err;

  // wrong types and unknown enum names, with the field's path
  r = RunCli(node.Args("call", {"clitest.Shop/Order", R"({"items": [{"count": "many"}]})"}));
  EXPECT_EQ(r.status, kBadInput);
  EXPECT_NE(r.err.find("(items[0].count): invalid value \"many\""), std::string::npos) << r.err;
  r = RunCli(node.Args("call", {"clitest.Shop/Order", R"({"items": [{}, {"colr": 1}]})"}));
  EXPECT_EQ(r.status, kBadInput);
  EXPECT_NE(r.err.find("(items[1]) colr: Cannot find field"), std::string::npos) << r.err;
  r = RunCli(node.Args("call", {"clitest.Shop/Order", R"({"colors": ["PURPLE"]})"}));
  EXPECT_EQ(r.status, kBadInput);
  EXPECT_NE(r.err.find("(colors[0]): invalid value \"PURPLE\""), std::string::npos) << r.err;
  r = RunCli(node.Args("call", {"clitest.Shop/Order", R"({"items": [{"blob": "!!"}]})"}));
  EXPECT_EQ(r.status, kBadInput);
  EXPECT_NE(r.err.find("(items[0].blob)"), std::string::npos) << r.err;

  r = RunCli(node.Args("call", {"clitest.Shop/Nope", "{}"}));
  EXPECT_EQ(r.status, kNotFound);
  EXPECT_NE(r.err.find("module clitest.Shop has no function Nope (it has: Order, Remember"),
            std::string::npos)
      << r.err;

  r = RunCli(node.Args("call", {"clitest.Shop/Secret", "{}"}));  // internal: not offered
  EXPECT_EQ(r.status, kNotFound) << r.err;

  r = RunCli(node.Args("call", {"no.Such/Thing", "{}"}));
  EXPECT_EQ(r.status, kNotFound) << r.err;

  r = RunCli(node.Args("call", {"clitest.Shop/Order", "{}", "--version", "1"}));
  EXPECT_EQ(r.status, kNotFound) << r.err;

  r = RunCli(node.Args("call", {"clitest.Shop/Fail", R"({"text": "out of pears"})"}));
  EXPECT_EQ(r.status, kHandler);
  EXPECT_NE(r.err.find("out of pears (handler code 42)"), std::string::npos) << r.err;

  r = RunCli(node.Args("call", {"clitest.Shop", "{}"}));
  EXPECT_EQ(r.status, kUsage);
  EXPECT_NE(r.err.find("expected MODULE/FUNCTION"), std::string::npos) << r.err;

  r = RunCli({"list", "shop@127.0.0.1", "--port", node.port()});
  EXPECT_EQ(r.status, kUsage);
  EXPECT_NE(r.err.find("no cookie"), std::string::npos) << r.err;

  r = RunCli(node.Args("list", {"--bogus"}));
  EXPECT_EQ(r.status, kUsage);
  EXPECT_NE(r.err.find("unknown option --bogus"), std::string::npos) << r.err;
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const char *cmd : {"ping", "list", "describe", "call", "cast", "health"}) {
    Result r = RunCli({cmd, "--help"});
    EXPECT_EQ(r.status, 0) << cmd;
    EXPECT_EQ(r.out.rfind(std::string("genrpc ") + cmd, 0), 0u) << r.out;
    EXPECT_NE(r.out.find("Exit status"), std::string::npos) << r.out;
  }
  Result r = RunCli({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("usage: genrpc COMMAND"), std::string::npos);
}

TEST(Cli, CookieFromAFile) {
  ShopNode node;
  char path[] = "/tmp/genrpc-cli-cookie-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = std::string(kCookie) + "\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), (ssize_t)text.size());
  close(fd);
  Result r = RunCli({"ping", "shop@127.0.0.1", "--cookie-file", path, "--port", node.port()});
  unlink(path);
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(Cli, OverTlsWithTheCommandsOwnCertificate) {
  using genrpc_test::CertFile;
  genrpc_node_config cfg;
  genrpc_node_config_init(&cfg);
  cfg.name = "slave@127.0.0.1";
  cfg.cookie = kCookie;
  cfg.tcp_server_port = GENRPC_PORT_DISABLED;
  cfg.ssl_server_port = 0;
  std::string ca = CertFile("ca.pem"), cert = CertFile("slave.pem"), key = CertFile("slave.key");
  cfg.tls_ca_file = ca.c_str();
  cfg.tls_cert_file = cert.c_str();
  cfg.tls_key_file = key.c_str();
  genrpc_node *node = nullptr;
  genrpc_status st;
  ASSERT_EQ(genrpc_node_start(&cfg, &node, &st), GENRPC_OK) << st.message;
  ASSERT_EQ(cli_shop_register(node), GENRPC_OK);
  std::string port = std::to_string(genrpc_node_ssl_port(node));
  std::vector<std::string> tls{"--cookie", kCookie, "--port", port, "--tls-ca", ca,
                               "--tls-cert", CertFile("master.pem"), "--tls-key",
                               CertFile("master.key")};
  std::vector<std::string> args{"call", "slave@127.0.0.1", "clitest.Shop/Order", R"({"id": "t"})",
                                "--name", "master@127.0.0.1", "--key", "shard-1"};
  args.insert(args.end(), tls.begin(), tls.end());
  Result r = RunCli(args);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "{\"id\":\"t\",\"order\":{\"id\":\"t\"},\"payment\":\"none\"}\n");
  // the certificate is not the command's node name: the node refuses it
  std::vector<std::string> wrong{"ping", "slave@127.0.0.1", "--name", "other@127.0.0.1"};
  wrong.insert(wrong.end(), tls.begin(), tls.end());
  r = RunCli(wrong);
  EXPECT_EQ(r.status, kUnreachable) << r.err;
  // half the TLS files: a usage error
  r = RunCli({"ping", "slave@127.0.0.1", "--cookie", kCookie, "--tls-ca", ca});
  EXPECT_EQ(r.status, kUsage);
  EXPECT_NE(r.err.find("--tls needs --tls-ca, --tls-cert and --tls-key"), std::string::npos);
  genrpc_node_stop(node);
}

// ---- health ---------------------------------------------------------------

TEST(Cli, HealthFollowsWhatTheApplicationSetsAndTheDrain) {
  ShopNode node;
  Result r = RunCli(node.Args("health"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
  r = RunCli(node.Args("health", {"clitest.Shop"}));  // registered: SERVING by default
  EXPECT_EQ(r.out, "SERVING\n");
  r = RunCli(node.Args("health", {"no.Such"}));
  EXPECT_EQ(r.status, kNotFound);
  EXPECT_EQ(r.out, "SERVICE_UNKNOWN\n");

  // set by the application (here through one of its own functions)
  r = RunCli(node.Args("call", {"clitest.Shop/SetHealth",
                             R"({"module": "clitest.Shop", "status": 2})"}));
  ASSERT_EQ(r.status, 0) << r.err;
  r = RunCli(node.Args("health", {"clitest.Shop"}));
  EXPECT_EQ(r.status, kNotServing);
  EXPECT_EQ(r.out, "NOT_SERVING\n");
  r = RunCli(node.Args("health"));
  EXPECT_EQ(r.out, "SERVING\n");  // the node itself is another entry

  ASSERT_EQ(genrpc_node_set_health(node.get(), "", GENRPC_HEALTH_NOT_SERVING), GENRPC_OK);
  r = RunCli(node.Args("health"));
  EXPECT_EQ(r.status, kNotServing);
  ASSERT_EQ(genrpc_node_set_health(node.get(), NULL, GENRPC_HEALTH_UNKNOWN), GENRPC_OK);
  ASSERT_EQ(genrpc_node_set_health(node.get(), "clitest.Shop", GENRPC_HEALTH_UNKNOWN), GENRPC_OK);
  r = RunCli(node.Args("health", {"clitest.Shop"}));
  EXPECT_EQ(r.out, "SERVING\n");  // back to the default

  // a module set before it is registered is known
  ASSERT_EQ(genrpc_node_set_health(node.get(), "later.Module", GENRPC_HEALTH_SERVING), GENRPC_OK);
  r = RunCli(node.Args("health", {"later.Module"}));
  EXPECT_EQ(r.out, "SERVING\n");

  // while the node drains, what is known reads NOT_SERVING (checked in
  // process: a draining node refuses new connections, the command's too,
  // which then exits with the UNAVAILABLE error)
  cli_shop_set_draining(node.get(), true);
  EXPECT_EQ(genrpc_node_health(node.get(), ""), GENRPC_HEALTH_NOT_SERVING);
  EXPECT_EQ(genrpc_node_health(node.get(), "clitest.Shop"), GENRPC_HEALTH_NOT_SERVING);
  EXPECT_EQ(genrpc_node_health(node.get(), "no.Such"), GENRPC_HEALTH_SERVICE_UNKNOWN);
  r = RunCli(node.Args("health"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("UNAVAILABLE"), std::string::npos) << r.err;
  cli_shop_set_draining(node.get(), false);
  EXPECT_EQ(genrpc_node_health(node.get(), ""), GENRPC_HEALTH_SERVING);

  EXPECT_EQ(genrpc_node_set_health(node.get(), "x", GENRPC_HEALTH_SERVICE_UNKNOWN),
            GENRPC_E_INVAL);
  EXPECT_EQ(genrpc_node_set_health(node.get(), "x", (genrpc_health)7), GENRPC_E_INVAL);
}

// --addr names a node's port (and TLS); the host is the name's own.
TEST(Cli, AddrGivesTheNodesAddress) {
  ShopNode node;
  std::string addr = "shop@127.0.0.1=" + node.port();
  Result r = RunCli({"ping", "shop@127.0.0.1", "--cookie", kCookie, "--addr", addr});
  EXPECT_EQ(r.status, 0) << r.err;
  r = RunCli({"ping", "shop@127.0.0.1", "--cookie", kCookie, "--addr",
              "shop@127.0.0.1=127.0.0.1:" + node.port()});
  EXPECT_EQ(r.status, 0) << r.err;
  // An --addr for NODE wins over --port.
  r = RunCli({"ping", "shop@127.0.0.1", "--cookie", kCookie, "--port", "1", "--addr", addr});
  EXPECT_EQ(r.status, 0) << r.err;
  r = RunCli({"ping", "shop@127.0.0.1", "--cookie", kCookie, "--addr",
              "shop@127.0.0.1=10.9.9.9:" + node.port()});
  EXPECT_EQ(r.status, kUsage);
  EXPECT_NE(r.err.find("at its host 127.0.0.1"), std::string::npos) << r.err;
  r = RunCli({"ping", "shop@127.0.0.1", "--cookie", kCookie, "--addr", "shop@127.0.0.1=x"});
  EXPECT_EQ(r.status, kUsage);
  EXPECT_NE(r.err.find("bad port"), std::string::npos) << r.err;
}

// ---- reflection off, policies ---------------------------------------------

TEST(Cli, WithoutReflectionDescriptorSetsDoTheJob) {
  ShopNode with;
  // describe --descriptor-set-out saves what reflection gave...
  std::string saved = ::testing::TempDir() + "genrpc-cli-saved.desc";
  Result r = RunCli(with.Args("describe", {"clitest.Shop", "--descriptor-set-out", saved}));
  ASSERT_EQ(r.status, 0) << r.err;

  ShopNode node(GENRPC_BUILTIN_REFLECTION);
  r = RunCli(node.Args("list"));
  EXPECT_EQ(r.status, kNoReflection);
  EXPECT_NE(r.err.find("does not serve genrpc.Reflection"), std::string::npos) << r.err;
  r = RunCli(node.Args("call", {"clitest.Shop/Order", R"({"id": "x"})"}));
  EXPECT_EQ(r.status, kNoReflection);
  EXPECT_NE(r.err.find("--descriptor-set"), std::string::npos) << r.err;

  // ... and protoc's descriptor set works as well
  for (const std::string &set : {std::string(GENRPC_CLI_DESC), saved}) {
    r = RunCli(node.Args("call", {"clitest.Shop/Order", kOrder, "--descriptor-set", set}));
    ASSERT_EQ(r.status, 0) << set << ": " << r.err;
    Json j(r.out);
    EXPECT_EQ(Str(json_object_get(j.v, "totalCents")), "18000000750") << r.out;
    r = RunCli(node.Args("describe", {"clitest.Shop", "--descriptor-set", set}));
    ASSERT_EQ(r.status, 0) << r.err;
    Json d(r.out);
    EXPECT_EQ(json_integer_value(json_object_get(d.v, "version")), 2) << r.out;
  }
  unlink(saved.c_str());
  r = RunCli(node.Args("call", {"other.Mod/F", "{}", "--descriptor-set", GENRPC_CLI_DESC}));
  EXPECT_EQ(r.status, kNotFound) << r.err;
  r = RunCli(node.Args("call", {"clitest.Shop/Order", "{}", "--descriptor-set", "/nonexistent"}));
  EXPECT_EQ(r.status, kUsage) << r.err;
  r = RunCli(node.Args("call", {"clitest.Shop/Order", "{}", "--descriptor-set", GENRPC_CLI_PATH}));
  EXPECT_EQ(r.status, kBadInput) << r.err;

  // health is the other built-in: still served; then off as well
  r = RunCli(node.Args("health"));
  EXPECT_EQ(r.status, 0) << r.err;
  ShopNode bare(GENRPC_BUILTIN_REFLECTION | GENRPC_BUILTIN_HEALTH);
  r = RunCli(bare.Args("health"));
  EXPECT_EQ(r.status, kNotFound);
  EXPECT_NE(r.err.find("does not serve genrpc.Health"), std::string::npos) << r.err;
  r = RunCli(bare.Args("ping"));  // ping needs neither
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(Cli, ThePolicyGovernsTheBuiltInModules) {
  ShopNode white(0, GENRPC_CONTROL_WHITELIST, {"clitest.Shop"});
  Result r = RunCli(white.Args("list"));
  EXPECT_EQ(r.status, kRefused);
  EXPECT_NE(r.err.find("module policy refuses genrpc.Reflection"), std::string::npos) << r.err;
  r = RunCli(white.Args("health"));
  EXPECT_EQ(r.status, kRefused) << r.err;
  r = RunCli(white.Args("call", {"clitest.Shop/Order", "{}", "--descriptor-set", GENRPC_CLI_DESC}));
  EXPECT_EQ(r.status, 0) << r.err;

  ShopNode black(0, GENRPC_CONTROL_BLACKLIST, {"genrpc.Health", "clitest.Shop"});
  r = RunCli(black.Args("health"));
  EXPECT_EQ(r.status, kRefused) << r.err;
  r = RunCli(black.Args("list"));
  ASSERT_EQ(r.status, 0) << r.err;
  Json j(r.out);
  json_t *modules = json_object_get(j.v, "modules");
  EXPECT_TRUE(json_is_false(json_object_get(json_array_get(modules, 0), "allowed"))) << r.out;
  EXPECT_TRUE(json_is_false(json_object_get(json_array_get(modules, 1), "allowed"))) << r.out;
  EXPECT_TRUE(json_is_true(json_object_get(json_array_get(modules, 2), "allowed"))) << r.out;
  r = RunCli(black.Args("call", {"clitest.Shop/Order", "{}"}));
  EXPECT_EQ(r.status, kRefused) << r.err;
  // a cast would be dropped silently: reflection says it would be refused
  r = RunCli(black.Args("cast", {"clitest.Shop/Remember", R"({"text": "x"})"}));
  EXPECT_EQ(r.status, kRefused);
  EXPECT_NE(r.err.find("the cast would be dropped"), std::string::npos) << r.err;
}

}  // namespace
