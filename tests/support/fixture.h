// tests/support/fixture.h - what the multi-process and in-process tests share:
// helper node processes (spawned, always reaped), in-process nodes (RAII),
// free ports, bounded polling, a recording TCP proxy and a black-hole
// listener. Every wait here is bounded.
#ifndef GENRPC_TEST_FIXTURE_H
#define GENRPC_TEST_FIXTURE_H

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "genrpc/genrpc.h"
#include "test_impl.h"

namespace genrpc_test {

using Millis = std::chrono::milliseconds;

// The cookie every test node and helper uses unless a test says otherwise.
inline constexpr const char *kCookie = "genrpc-test-cookie";

// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it,
// close). Returns -1 on failure.
int FreeTcpPort();

// Polls pred every few ms until it holds or timeout passes; returns its
// last value.
bool Eventually(const std::function<bool()> &pred, Millis timeout);

// Elapsed wall time since construction.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  int64_t ElapsedMs() const {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// A genrpc_test_node process. Spawn() returns it once it printed its PORT
// line (≤ 10 s); the destructor stops it (stdin closed, ≤ 5 s, then
// SIGKILL) and reaps it, also when the test failed.
class HelperProcess {
 public:
  // args are the helper's flags (--name ..., --cookie ...). On failure
  // returns nullptr and sets *error.
  static std::unique_ptr<HelperProcess> Spawn(const std::vector<std::string> &args,
                                              std::string *error);
  ~HelperProcess();
  HelperProcess(const HelperProcess &) = delete;
  HelperProcess &operator=(const HelperProcess &) = delete;

  int port() const { return port_; }          // TCP, or -1 if off
  int ssl_port() const { return ssl_port_; }  // TLS, or -1 if off
  pid_t pid() const { return pid_; }

  // Graceful stop: closes stdin, waits ≤ 5 s, then SIGKILL. Returns the
  // exit status as from waitpid (or -1 if it had to be killed).
  int Stop();
  // Stop() and expect a clean exit (status 0): the helper's own contract,
  // and how sanitizer reports inside the helper fail the test.
  void ExpectCleanStop();
  // SIGKILL now and reap (connection-loss tests).
  void Kill9();
  // Writes one control line to the helper's stdin (see test_node.c:
  // "drop ...", "ping ..."); true if written.
  bool Send(const std::string &line);
  // The next line the helper prints on stdout (without its newline), or ""
  // if none comes within timeout (e.g. "DRAINED OK" after "drain MS").
  std::string ReadLine(Millis timeout);
  bool Running() const { return pid_ > 0; }

 private:
  HelperProcess() = default;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int port_ = -1;
  int ssl_port_ = -1;
};

// Path of the genrpc_test_node binary (compile definition from CMake).
const char *HelperPath();

// Directory of the test PKI made by tests/tls/make_certs.sh (a ctest
// fixture; made here on first use when the binary runs outside ctest).
// CertFile("master.pem") is a path inside it.
std::string CertDir();
std::string CertFile(const std::string &name);

struct NodeOptions;

// A caller's options to reach node `name` at `port` over TLS (driver TLS,
// the test PKI's CA and master certificate: tls_certs fixture) or TCP.
void Reach(NodeOptions *o, const std::string &name, int port, bool tls);

// How to start an in-process node.
struct NodeOptions {
  std::string name = "master@127.0.0.1";
  std::string cookie = kCookie;
  int server_port = 0;                // 0 = ephemeral
  int client_port = 5369;             // for nodes not in addrs
  std::vector<std::pair<std::string, int>> addrs;  // node name -> port
  genrpc_driver addr_driver = GENRPC_DRIVER_TCP;   // driver for every addrs entry
  genrpc_driver default_driver = GENRPC_DRIVER_TCP;
  int ssl_server_port = GENRPC_PORT_DISABLED;
  int ssl_client_port = 5370;                      // for nodes not in addrs
  std::string tls_ca, tls_cert, tls_key;           // PEM files; empty: no TLS
  int64_t connect_timeout_ms = 500;   // as in gen_rpc's suites
  int64_t send_timeout_ms = 500;
  int64_t auth_timeout_ms = 5000;
  int64_t client_inactivity_ms = GENRPC_INFINITY;
  int64_t server_inactivity_ms = GENRPC_INFINITY;
  int keepalive_idle_s = 5;           // also bounds unacknowledged data (TCP_USER_TIMEOUT)
  int keepalive_interval_s = 5;
  int keepalive_count = 2;
  genrpc_module_control control = GENRPC_CONTROL_DISABLED;
  std::vector<std::string> modules;
  int workers = 0;
  int max_protocol_version = 0;       // 0: the newest (genrpc_node_config)
  uint32_t compression = GENRPC_COMPRESSION_OFF;
  size_t max_frame_size = 0;          // 0: the default
  bool register_modules = true;       // genrpc_test_register_all
  genrpc_log_cb log_cb = nullptr;     // the node's log sink (level: debug)
  void *log_arg = nullptr;
};

// An in-process node with the test modules registered; stopped by the
// destructor (after which its state is freed).
class Node {
 public:
  static std::unique_ptr<Node> Start(const NodeOptions &opts, std::string *error);
  // A node that calls itself through its own listener (gen_rpc's "local"
  // rows): picks a free port, uses it as server and client port, retries
  // if the port was taken meanwhile.
  static std::unique_ptr<Node> StartSelf(NodeOptions opts, std::string *error);
  ~Node();
  Node(const Node &) = delete;
  Node &operator=(const Node &) = delete;

  genrpc_node *get() const { return node_; }
  // genrpc_node_drain: the node is stopped afterwards (get() is NULL then).
  int Drain(int64_t timeout_ms);
  const std::string &name() const { return name_; }
  int port() const { return genrpc_node_tcp_port(node_); }
  int ssl_port() const { return genrpc_node_ssl_port(node_); }
  genrpc_node_info Info() const;
  genrpc_test_state *state() { return &state_; }
  uint64_t CountRuns();  // Count handler runs on this node

 private:
  Node() = default;
  genrpc_node *node_ = nullptr;
  std::string name_;
  genrpc_test_state state_{};
  bool state_ok_ = false;
};

// A socket connected to 127.0.0.1:port (blocking), or -1.
int ConnectRaw(int port);

// Waits ≤ timeout until the peer closes fd (recv returns 0 or an error),
// discarding anything received. True if it closed in time.
bool WaitForEof(int fd, Millis timeout);

// A transparent TCP proxy 127.0.0.1:port() -> 127.0.0.1:target_port that
// records every byte in each direction.
class RecordingProxy {
 public:
  explicit RecordingProxy(int target_port);
  ~RecordingProxy();
  int port() const { return port_; }
  std::string ClientToServer();
  std::string ServerToClient();
  // While paused, connections are accepted but nothing is forwarded (nor
  // recorded) either way.
  void Pause(bool paused) { paused_ = paused; }

 private:
  void Run();
  int target_port_;
  int listen_fd_ = -1;
  int port_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::mutex mu_;
  std::string c2s_, s2c_;
  std::thread thread_;
};

// A listener whose accept queue is full, so further connects hang (SYNs are
// dropped) until the dialler gives up: an "unroutable" peer on loopback.
class BlackholeListener {
 public:
  BlackholeListener();
  ~BlackholeListener();
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int port_ = -1;
  std::vector<int> fillers_;
};

// A listener that accepts connections and never says anything.
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  int port() const { return port_; }

 private:
  void Run();
  int listen_fd_ = -1;
  int port_ = -1;
  std::atomic<bool> stop_{false};
  std::vector<int> conns_;
  std::thread thread_;
};

}  // namespace genrpc_test

#endif  // GENRPC_TEST_FIXTURE_H
