// stats.cc - `genrpc stats` and `genrpc top` (docs/cli.md): a node's
// statistics tree from its built-in module genrpc.Stats (docs/stats.md),
// printed whole (text or JSON), or as a refreshing view of rates and
// latency percentiles per function and per peer connection.
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <jansson.h>

#include "cli.h"
#include "genrpc/stats.pb.h"

namespace genrpc_cli {

namespace {

genrpc::Stat Fetch(Client &client) {
  std::string bytes =
      client.CallBuiltin("genrpc.Stats", "Get", genrpc::StatsRequest().SerializeAsString(),
                         kNotFound, " (stats)");
  genrpc::StatsReply reply;
  if (!reply.ParseFromString(bytes) || !reply.has_root())
    throw Error(kFailure, "node " + client.target() + " sent undecodable statistics");
  return reply.root();
}

const genrpc::Stat *Child(const genrpc::Stat &st, const std::string &name) {
  for (const auto &c : st.children())
    if (c.name() == name) return &c;
  return nullptr;
}

uint64_t Value(const genrpc::Stat *st, const std::string &name) {
  const genrpc::Stat *c = st ? Child(*st, name) : nullptr;
  return c ? c->value() : 0;
}

// ---- stats --------------------------------------------------------------

void Text(const genrpc::Stat &st, int depth, std::ostream &out) {
  out << std::string(2 * depth, ' ') << st.name();
  switch (st.type()) {
    case genrpc::Stat::SCOPE:
      break;
    case genrpc::Stat::STRING:
      out << " " << st.text();
      break;
    default:
      out << " " << st.value();
      if (st.unit() == genrpc::Stat::BYTES) out << " B";
      if (st.unit() == genrpc::Stat::NANOS) out << " ns";
      break;
  }
  out << "\n";
  for (const auto &c : st.children()) Text(c, depth + 1, out);
}

json_t *ToJson(const genrpc::Stat &st) {
  switch (st.type()) {
    case genrpc::Stat::SCOPE: {
      json_t *o = json_object();
      if (!o) throw Error(kFailure, "out of memory");
      for (const auto &c : st.children()) {
        std::string key = c.name();
        for (int i = 2; json_object_get(o, key.c_str()); i++)  // a name seen twice
          key = c.name() + "#" + std::to_string(i);
        if (json_object_set_new(o, key.c_str(), ToJson(c)) != 0) {
          json_decref(o);
          throw Error(kFailure, "out of memory");
        }
      }
      return o;
    }
    case genrpc::Stat::STRING:
      return json_string(st.text().c_str());
    default:
      return json_integer((json_int_t)st.value());
  }
}

// ---- top ----------------------------------------------------------------

std::string Duration(uint64_t ns) {
  char buf[32];
  if (ns < 10000)
    snprintf(buf, sizeof buf, "%" PRIu64 "ns", ns);
  else if (ns < 10000000)
    snprintf(buf, sizeof buf, "%.1fus", ns / 1e3);
  else if (ns < 10000000000ull)
    snprintf(buf, sizeof buf, "%.1fms", ns / 1e6);
  else
    snprintf(buf, sizeof buf, "%.1fs", ns / 1e9);
  return buf;
}

// Counters of the previous frame, by path, for the rates.
using Counters = std::map<std::string, uint64_t>;

double Rate(const Counters &before, Counters *now, const std::string &path, uint64_t v,
            double secs) {
  (*now)[path] = v;
  auto it = before.find(path);
  if (it == before.end() || secs <= 0 || v < it->second) return 0;
  return (double)(v - it->second) / secs;
}

std::string Frame(const std::string &target, const genrpc::Stat &root, const Counters &before,
                  Counters *now, double secs) {
  std::ostringstream out;
  char line[256];
  out << "genrpc top " << target << "   (rates over " << secs << " s)\n\n";
  snprintf(line, sizeof line, "%-40s %9s %8s %10s %8s %9s %9s\n", "FUNCTION", "CALLS/S", "ERR/S",
           "CALLS", "ERRORS", "P50", "P99");
  out << line;
  if (const genrpc::Stat *fns = Child(root, "functions")) {
    for (const auto &m : fns->children()) {
      for (const auto &f : m.children()) {
        if (f.type() != genrpc::Stat::SCOPE) continue;  // "version"
        std::string path = m.name() + "/" + f.name();
        uint64_t calls = Value(&f, "calls"), errors = Value(&f, "errors");
        if (calls == 0) continue;  // never called: not worth a line
        double cr = Rate(before, now, path + "/calls", calls, secs);
        double er = Rate(before, now, path + "/errors", errors, secs);
        snprintf(line, sizeof line, "%-40s %9.1f %8.1f %10" PRIu64 " %8" PRIu64 " %9s %9s\n",
                 path.c_str(), cr, er, calls, errors, Duration(Value(&f, "p50_ns")).c_str(),
                 Duration(Value(&f, "p99_ns")).c_str());
        out << line;
      }
    }
  }
  out << "\n";
  snprintf(line, sizeof line, "%-32s %-11s %9s %9s %9s %9s %7s %7s %6s %5s %9s %9s\n", "PEER",
           "CONNECTION", "IN B/S", "OUT B/S", "FRAMES/S", "IN-FLIGHT", "QUEUED", "ERR/S",
           "ERRORS", "RECON", "P50", "P99");
  out << line;
  if (const genrpc::Stat *peers = Child(root, "peers")) {
    for (const auto &p : peers->children()) {
      bool any = false;
      for (const auto &c : p.children()) {
        if (c.type() != genrpc::Stat::SCOPE) continue;
        any = true;
        std::string path = p.name() + "/" + c.name();
        double in = Rate(before, now, path + "/bytes_in", Value(&c, "bytes_in"), secs);
        double outb = Rate(before, now, path + "/bytes_out", Value(&c, "bytes_out"), secs);
        double frames = Rate(before, now, path + "/frames_in", Value(&c, "frames_in"), secs);
        uint64_t errors = Value(&c, "errors");
        double er = Rate(before, now, path + "/errors", errors, secs);
        bool client = Child(c, "p50_ns") != nullptr;  // round trips: the calls we make
        snprintf(line, sizeof line,
                 "%-32s %-11s %9.0f %9.0f %9.1f %9" PRIu64 " %7" PRIu64 " %7.1f %6" PRIu64
                 " %5" PRIu64 " %9s %9s\n",
                 p.name().c_str(), c.name().c_str(), in, outb, frames,
                 Value(&c, "calls_in_flight"), Value(&c, "queued_requests"), er, errors,
                 Value(&p, "reconnects"),
                 client ? Duration(Value(&c, "p50_ns")).c_str() : "-",
                 client ? Duration(Value(&c, "p99_ns")).c_str() : "-");
        out << line;
      }
      if (!any) {  // remembered, no connection now
        snprintf(line, sizeof line,
                 "%-32s %-11s %9s %9s %9s %9s %7s %7s %6s %5" PRIu64 " %9s %9s\n",
                 p.name().c_str(), "-", "-", "-", "-", "-", "-", "-", "-",
                 Value(&p, "reconnects"), "-", "-");
        out << line;
      }
    }
  }
  return out.str();
}

}  // namespace

int Stats(const Options &opts) {
  if (opts.args.size() != 1) throw Error(kUsage, "stats takes NODE");
  Client client(opts);
  genrpc::Stat root = Fetch(client);
  if (opts.json) {
    json_t *j = json_object();
    if (!j) throw Error(kFailure, "out of memory");
    if (json_object_set_new(j, root.name().c_str(), ToJson(root)) != 0) {
      json_decref(j);
      throw Error(kFailure, "out of memory");
    }
    char *text = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    if (!text) throw Error(kFailure, "out of memory");
    std::cout << text << "\n";
    free(text);
  } else {
    Text(root, 0, std::cout);
  }
  return kOk;
}

int Top(const Options &opts) {
  if (opts.args.size() != 1) throw Error(kUsage, "top takes NODE");
  Client client(opts);
  bool tty = isatty(STDOUT_FILENO) && !opts.once;
  Counters before;  // the first sample only sets the counters
  Frame(client.target(), Fetch(client), Counters(), &before, 0);
  auto then = std::chrono::steady_clock::now();
  for (int64_t frame = 0; opts.top_frames == 0 || frame < opts.top_frames; frame++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(opts.interval_ms));
    genrpc::Stat root = Fetch(client);
    auto now_t = std::chrono::steady_clock::now();
    double secs = std::chrono::duration<double>(now_t - then).count();
    then = now_t;
    Counters now;
    std::string text = Frame(client.target(), root, before, &now, secs);
    before = now;
    if (tty) std::cout << "\x1b[H\x1b[2J";  // home, clear
    std::cout << text << std::flush;
    if (opts.once) break;
  }
  return kOk;
}

}  // namespace genrpc_cli
