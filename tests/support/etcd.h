// tests/support/etcd.h - real etcd servers for the cluster tests: started
// with a temporary data dir and ports of their own, ended by PID (and
// reaped) by the destructor, also when the test failed; and a small HTTP
// client for looking at what the nodes wrote there.
#ifndef GENRPC_TEST_ETCD_H
#define GENRPC_TEST_ETCD_H

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace genrpc_test {

// The etcd binary (Debian etcd-server), or "" when it is not installed.
std::string EtcdBinary();

struct EtcdOptions {
  std::string name = "default";
  std::string host = "127.0.0.1";
  int client_port = 0;             // 0: a free one
  int peer_port = 0;               // 0: a free one
  std::string initial_cluster;     // "" : just this member
  std::vector<std::string> wrap;   // run under this (e.g. ip netns exec ns1)
  std::string cert, key;           // TLS for clients (https) when set
  std::string data_dir;            // "": a fresh temporary one, removed at the end
  bool wait_ready = true;          // Start waits (<= 20 s) until it answers
};

class EtcdProcess {
 public:
  static std::unique_ptr<EtcdProcess> Start(const EtcdOptions &opts, std::string *error);
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess &) = delete;
  EtcdProcess &operator=(const EtcdProcess &) = delete;

  const std::string &url() const { return url_; }
  pid_t pid() const { return pid_; }
  bool Running() const { return pid_ > 0; }
  void Kill9();                         // SIGKILL now, reaped
  // Starts it again on the same ports and data dir (wipe: a fresh data dir,
  // etcd has forgotten everything). Waits until it answers when asked to.
  bool Restart(bool wipe, std::string *error, bool wait_ready = true);
  // Waits (<= timeout_ms) until a range request answers.
  bool WaitReady(int timeout_ms, std::string *error);
  std::string ca() const { return opts_.cert; }

 private:
  EtcdProcess() = default;
  bool Spawn(std::string *error);
  EtcdOptions opts_;
  std::string url_, log_;
  bool own_dir_ = false;
  pid_t pid_ = -1;
};

// A genrpc_cluster_node process (tests/helpers/cluster_node.c): Spawn
// returns once it printed READY (<= 25 s); Ask writes one control line and
// returns the reply line (<= timeout); the destructor stops it (stdin
// closed, <= 5 s, then SIGKILL) and reaps it.
class ClusterNodeProcess {
 public:
  static std::unique_ptr<ClusterNodeProcess> Spawn(const std::vector<std::string> &wrap,
                                                   const std::vector<std::string> &args,
                                                   std::string *error);
  ~ClusterNodeProcess();
  ClusterNodeProcess(const ClusterNodeProcess &) = delete;
  ClusterNodeProcess &operator=(const ClusterNodeProcess &) = delete;
  std::string Ask(const std::string &line, int timeout_ms = 10000);
  int Stop();   // graceful: stdin closed; the exit status, -1 if it had to be killed
  void Kill9();
  pid_t pid() const { return pid_; }
  int port() const { return port_; }

 private:
  ClusterNodeProcess() = default;
  std::string ReadLine(int timeout_ms);
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, port_ = -1;
  std::string buf_;
};

// Path of genrpc_cluster_node (compile definition from CMake).
const char *ClusterNodePath();

// POSTs body to url + path (etcd's JSON gateway); returns the reply body and
// sets *status to the HTTP status (0: not reached). ca: for https.
std::string EtcdPost(const std::string &url, const std::string &path, const std::string &body,
                     long *status, const std::string &ca = "", const std::string &token = "");
std::string Base64(const std::string &s);

}  // namespace genrpc_test

#endif
