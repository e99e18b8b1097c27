// main.cc - `genrpc`: look into and call running genrpc nodes (docs/cli.md).
//   genrpc ping|list|describe|call|cast|health|stats|top ... [options]
// Parses the command line (options may come anywhere after the
// subcommand), finds the cookie, runs the subcommand and turns an Error
// into a message on stderr and its exit status.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli.h"

namespace genrpc_cli {
namespace {

const char kCommonHelp[] =
    "Options (any subcommand):\n"
    "  --cookie-file FILE   the cluster's cookie, from FILE (trailing newline dropped)\n"
    "  --cookie COOKIE      the cookie itself (visible in ps; prefer the file or\n"
    "                       GENRPC_COOKIE); order: --cookie, --cookie-file, GENRPC_COOKIE\n"
    "  --port PORT          the port NODE listens on (default 5369, 5370 with --tls)\n"
    "  --addr NAME@HOST=[HOST:][tls:]PORT  where to reach a node (repeatable; NODE's\n"
    "                       replaces --port/--tls); genrpc dials the name's host\n"
    "  --etcd URL[,URL...]  resolve node names from an etcd cluster's member list\n"
    "                       (docs/naming.md); --etcd-prefix P: the cluster's prefix\n"
    "  --tls                dial NODE's TLS listener; needs the three files below\n"
    "  --tls-ca FILE        CA certificate(s) NODE's certificate must chain to (PEM)\n"
    "  --tls-cert FILE      this command's certificate, issued to its --name (PEM)\n"
    "  --tls-key FILE       its private key (PEM)\n"
    "  --name NAME@HOST     this command's own node name (default genrpc-cli-PID@localhost)\n"
    "  --timeout MS         connect, authentication and reply timeout (default 5000)\n"
    "  -h, --help           this help\n"
    "Exit status: 0 ok, 1 other failure, 2 usage, 3 bad input (JSON, descriptors),\n"
    "4 no such module/function/version, 5 refused by the node's policy, 6 handler failed,\n"
    "7 unreachable, 8 timeout, 9 NOT_SERVING, 10 no reflection (docs/cli.md).\n";

const std::map<std::string, std::string> kHelp = {
    {"ping",
     "genrpc ping NODE\n"
     "  Connects to NODE (\"name@host\"), authenticates and makes one round trip;\n"
     "  prints \"pong from NODE in T ms\".\n"},
    {"list",
     "genrpc list NODE\n"
     "  The modules NODE serves (genrpc.Reflection/List), as JSON: each module's name,\n"
     "  version, IDL service, functions with their message types, and whether the\n"
     "  node's policy lets peers call it.\n"},
    {"describe",
     "genrpc describe NODE MODULE [--version V] [--proto] [--descriptor-set-out FILE]\n"
     "  One module's functions and every message and enum type they use, as JSON\n"
     "  (genrpc.Reflection/Describe; the highest version unless --version).\n"
     "  --proto                 print the module's .proto (as protobuf reconstructs it)\n"
     "  --descriptor-set-out F  also write its descriptors to F (a FileDescriptorSet,\n"
     "                          for --descriptor-set when reflection is off)\n"
     "  --descriptor-set FILE   read the types from FILE instead of asking NODE\n"},
    {"call",
     "genrpc call NODE MODULE/FUNCTION ['{json}' | -]\n"
     "  Calls FUNCTION of MODULE on NODE with the request given as JSON (protobuf's JSON\n"
     "  mapping; '-' reads it from stdin; none: {}) and prints the reply as JSON.\n"
     "  The types come from NODE's reflection, or from --descriptor-set files.\n"
     "  --version V             the module version NODE must serve (default: the one\n"
     "                          described; 0: any)\n"
     "  --key KEY               call through the {NODE, KEY} shard's connection\n"
     "  --descriptor-set FILE   types from FILE (protoc --descriptor_set_out=FILE\n"
     "                          --include_imports x.proto); repeatable\n"
     "  --proto-names           reply keys as in the .proto (default: lowerCamelCase)\n"
     "  --emit-defaults         print fields at their default value too\n"},
    {"cast",
     "genrpc cast NODE MODULE/FUNCTION ['{json}' | -]\n"
     "  As call, but fire-and-forget: no reply is printed. Returns once the cast has\n"
     "  been written and NODE has answered a later round trip on the same connection\n"
     "  (casts run in order, so it has reached NODE). Options as for call.\n"},
    {"health",
     "genrpc health NODE [MODULE]\n"
     "  NODE's serving status (genrpc.Health/Check), for MODULE or for the whole node:\n"
     "  prints SERVING (exit 0), NOT_SERVING (exit 9) or SERVICE_UNKNOWN (exit 4).\n"},
    {"stats",
     "genrpc stats NODE [--json]\n"
     "  NODE's statistics (genrpc.Stats/Get, docs/stats.md): the whole tree of counters\n"
     "  per node, peer, connection and served function, with latency percentiles;\n"
     "  one line per value, indented by depth.\n"
     "  --json                  the same tree as one JSON object (scopes as objects,\n"
     "                          values as numbers)\n"},
    {"top",
     "genrpc top NODE [--interval MS] [--once] [--count N]\n"
     "  A live view of NODE's statistics, refreshed every interval: per served function\n"
     "  called so far its calls and errors per second, totals and p50/p99 latency (from\n"
     "  handler start to reply sent, since NODE started); per peer connection\n"
     "  bytes in and out per second, frames per second, calls in flight, queued requests,\n"
     "  errors, reconnects and, for NODE's calls to the peer, p50/p99 round trip.\n"
     "  Stop it with Ctrl-C.\n"
     "  --interval MS           time between frames, and the span of the rates (default 1000)\n"
     "  --once                  print one frame (rates over one interval) and exit\n"
     "  --count N               exit after N frames (default 0: never)\n"},
};

void Usage(std::ostream &out) {
  out << "usage: genrpc COMMAND [ARGS] [OPTIONS]   (genrpc COMMAND --help)\n"
         "Commands:\n"
         "  ping NODE                          is NODE up (and does it take our cookie)?\n"
         "  list NODE                          the modules NODE serves\n"
         "  describe NODE MODULE               a module's functions and message types\n"
         "  call NODE MODULE/FUNCTION '{json}' call a function, JSON in and out\n"
         "  cast NODE MODULE/FUNCTION '{json}' the same without a reply\n"
         "  health NODE [MODULE]               serving status (grpc.health.v1 semantics)\n"
         "  stats NODE [--json]                the node's statistics tree\n"
         "  top NODE                           live calls/s, errors, latencies, traffic\n"
      << kCommonHelp;
}

std::string ReadCookieFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(kUsage, "cannot read cookie file " + path + ": " + strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  std::string s = buf.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) throw Error(kUsage, "cookie file " + path + " is empty");
  return s;
}

long long Number(const std::string &opt, const std::string &v, long long lo, long long hi) {
  char *end = nullptr;
  errno = 0;
  long long n = strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end || errno || n < lo || n > hi)
    throw Error(kUsage, opt + " takes a number in [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + "], not '" + v + "'");
  return n;
}

// Parses argv into *o; returns false when help was asked for (printed).
bool Parse(int argc, char **argv, Options *o) {
  std::string cookie_file;
  bool cookie_given = false, help = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      help = true;
      continue;
    }
    if (a.size() < 2 || a.compare(0, 2, "--") != 0 || a == "--") {
      if (o->command.empty())
        o->command = a;
      else
        o->args.push_back(a);
      continue;
    }
    std::string value;
    bool has_value = false;
    size_t eq = a.find('=');
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    auto flag = [&](bool *b) {
      if (has_value) throw Error(kUsage, a + " takes no value");
      *b = true;
    };
    auto arg = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) throw Error(kUsage, a + " needs a value");
      return argv[++i];
    };
    if (a == "--cookie") {
      o->cookie = arg();
      cookie_given = true;
    } else if (a == "--cookie-file") {
      cookie_file = arg();
    } else if (a == "--name") {
      o->name = arg();
    } else if (a == "--port") {
      o->port = (int)Number(a, arg(), 1, 65535);
    } else if (a == "--addr") {
      o->addrs.push_back(arg());
    } else if (a == "--etcd") {
      std::string urls = arg();
      for (size_t b = 0, e; b <= urls.size(); b = e + 1) {
        e = urls.find(',', b);
        if (e == std::string::npos) e = urls.size();
        if (e > b) o->etcd.push_back(urls.substr(b, e - b));
      }
      if (o->etcd.empty()) throw Error(kUsage, "--etcd needs at least one URL");
    } else if (a == "--etcd-prefix") {
      o->etcd_prefix = arg();
    } else if (a == "--tls") {
      flag(&o->tls);
    } else if (a == "--tls-ca") {
      o->tls_ca = arg();
    } else if (a == "--tls-cert") {
      o->tls_cert = arg();
    } else if (a == "--tls-key") {
      o->tls_key = arg();
    } else if (a == "--timeout") {
      o->timeout_ms = Number(a, arg(), 1, 24LL * 3600 * 1000);
    } else if (a == "--version") {
      o->version = (uint32_t)Number(a, arg(), 0, UINT32_MAX - 1);
    } else if (a == "--key") {
      o->key = arg();
      o->has_key = true;
    } else if (a == "--descriptor-set") {
      o->descriptor_sets.push_back(arg());
    } else if (a == "--descriptor-set-out") {
      o->descriptor_set_out = arg();
    } else if (a == "--proto-names") {
      flag(&o->proto_names);
    } else if (a == "--emit-defaults") {
      flag(&o->emit_defaults);
    } else if (a == "--proto") {
      flag(&o->proto_text);
    } else if (a == "--json") {
      flag(&o->json);
    } else if (a == "--once") {
      flag(&o->once);
    } else if (a == "--interval") {
      o->interval_ms = Number(a, arg(), 10, 3600 * 1000);
    } else if (a == "--count") {
      o->top_frames = Number(a, arg(), 0, INT32_MAX);
    } else {
      throw Error(kUsage, "unknown option " + a + " (genrpc --help)");
    }
  }
  if (help || o->command.empty() || o->command == "help") {
    std::string topic = o->command == "help" && !o->args.empty() ? o->args[0] : o->command;
    auto it = kHelp.find(topic);
    if (it != kHelp.end())
      std::cout << it->second << kCommonHelp;
    else
      Usage(o->command.empty() && !help ? std::cerr : std::cout);
    if (o->command.empty() && !help) throw Error(kUsage, "no command given");
    return false;
  }
  if (!kHelp.count(o->command))
    throw Error(kUsage, "unknown command '" + o->command + "' (genrpc --help)");
  if (!o->tls_ca.empty() || !o->tls_cert.empty() || !o->tls_key.empty()) o->tls = true;
  if (o->tls && (o->tls_ca.empty() || o->tls_cert.empty() || o->tls_key.empty()))
    throw Error(kUsage, "--tls needs --tls-ca, --tls-cert and --tls-key");
  if (!cookie_given && !cookie_file.empty()) {
    o->cookie = ReadCookieFile(cookie_file);
  } else if (!cookie_given) {
    const char *env = getenv("GENRPC_COOKIE");
    if (env && *env) o->cookie = env;
  }
  if (o->cookie.empty())
    throw Error(kUsage, "no cookie: give --cookie-file FILE, set GENRPC_COOKIE or --cookie");
  return true;
}

int Run(const Options &o) {
  if (o.command == "ping") return Ping(o);
  if (o.command == "list") return List(o);
  if (o.command == "describe") return Describe(o);
  if (o.command == "call") return CallCommand(o, false);
  if (o.command == "cast") return CallCommand(o, true);
  if (o.command == "stats") return Stats(o);
  if (o.command == "top") return Top(o);
  return Health(o);
}

}  // namespace
}  // namespace genrpc_cli

int main(int argc, char **argv) {
  using namespace genrpc_cli;
  try {
    Options o;
    if (!Parse(argc, argv, &o)) return kOk;
    return Run(o);
  } catch (const Error &e) {
    std::cerr << "genrpc: " << e.what() << "\n";
    return e.code();
  } catch (const std::exception &e) {
    std::cerr << "genrpc: " << e.what() << "\n";
    return kFailure;
  }
}
