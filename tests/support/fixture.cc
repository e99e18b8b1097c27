// tests/support/fixture.cc - see fixture.h.
#include "fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>

#ifndef GENRPC_TEST_NODE_PATH
#error "GENRPC_TEST_NODE_PATH must be defined by the build"
#endif
#if !defined(GENRPC_TEST_CERT_DIR) || !defined(GENRPC_TEST_CERT_SCRIPT)
#error "GENRPC_TEST_CERT_DIR and GENRPC_TEST_CERT_SCRIPT must be defined by the build"
#endif

namespace genrpc_test {

void Reach(NodeOptions *o, const std::string &name, int port, bool tls) {
  o->addrs = {{name, port}};
  if (!tls) return;
  o->addr_driver = GENRPC_DRIVER_TLS;
  o->tls_ca = CertFile("ca.pem");
  o->tls_cert = CertFile("master.pem");
  o->tls_key = CertFile("master.key");
}
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A listening socket on 127.0.0.1, ephemeral port; sets *port.
int ListenLoopback(int backlog, int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a = Loopback(0);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || listen(fd, backlog) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

// Waits for pid ≤ timeout_ms; true (and *status set) once reaped.
bool WaitPid(pid_t pid, int64_t timeout_ms, int *status) {
  int64_t deadline = NowMs() + timeout_ms;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return true;  // not ours any more
    if (NowMs() >= deadline) return false;
    usleep(5000);
  }
}

}  // namespace

const char *HelperPath() { return GENRPC_TEST_NODE_PATH; }

std::string CertDir() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::string ca = std::string(GENRPC_TEST_CERT_DIR) + "/ca.pem";
    if (access(ca.c_str(), R_OK) == 0) return;
    std::string cmd = std::string("sh '") + GENRPC_TEST_CERT_SCRIPT + "' '" +
                      GENRPC_TEST_CERT_DIR + "' >&2";
    if (system(cmd.c_str()) != 0) fprintf(stderr, "%s failed\n", cmd.c_str());
  });
  return GENRPC_TEST_CERT_DIR;
}

std::string CertFile(const std::string &name) { return CertDir() + "/" + name; }

int FreeTcpPort() {
  int port = -1;
  int fd = ListenLoopback(1, &port);
  if (fd < 0) return -1;
  close(fd);
  return port;
}

bool Eventually(const std::function<bool()> &pred, Millis timeout) {
  int64_t deadline = NowMs() + timeout.count();
  for (;;) {
    if (pred()) return true;
    if (NowMs() >= deadline) return pred();
    usleep(5000);
  }
}

// ---- HelperProcess -------------------------------------------------------

std::unique_ptr<HelperProcess> HelperProcess::Spawn(const std::vector<std::string> &args,
                                                    std::string *error) {
  std::vector<std::string> argv_s;
  argv_s.push_back(HelperPath());
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (auto &s : argv_s) argv.push_back(const_cast<char *>(s.c_str()));
  argv.push_back(nullptr);

  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + strerror(errno);
    return nullptr;
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + strerror(errno);
    close(in[0]);
    close(in[1]);
    return nullptr;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    close(in[0]); close(in[1]); close(out[0]); close(out[1]);
    return nullptr;
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    syscall(SYS_close_range, 3U, ~0U, 0U);  // no inherited sockets or pipes
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  std::unique_ptr<HelperProcess> h(new HelperProcess());
  h->pid_ = pid;
  h->stdin_fd_ = in[1];
  h->stdout_fd_ = out[0];

  // Read "PORT <n>\n" within 10 s.
  std::string line;
  int64_t deadline = NowMs() + 10000;
  while (line.find('\n') == std::string::npos) {
    int64_t left = deadline - NowMs();
    if (left <= 0) {
      *error = "helper printed no PORT line within 10 s (got '" + line + "')";
      return nullptr;  // destructor kills and reaps
    }
    pollfd p{h->stdout_fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[128];
    ssize_t n = read(h->stdout_fd_, buf, sizeof buf);
    if (n <= 0) {
      *error = "helper exited before printing PORT (got '" + line + "')";
      return nullptr;
    }
    line.append(buf, static_cast<size_t>(n));
  }
  int port = -1, ssl_port = -1;
  int got = sscanf(line.c_str(), "PORT %d SSL %d", &port, &ssl_port);
  if (got < 1 || port == 0 || port > 65535 || ssl_port == 0 || ssl_port > 65535 ||
      (port < 0 && ssl_port < 0)) {
    *error = "bad PORT line from helper: '" + line + "'";
    return nullptr;
  }
  h->port_ = port;
  h->ssl_port_ = ssl_port;
  return h;
}

std::string HelperProcess::ReadLine(Millis timeout) {
  std::string line;
  int64_t deadline = NowMs() + timeout.count();
  char ch = 0;
  while (stdout_fd_ >= 0 && ch != '\n') {
    int64_t left = deadline - NowMs();
    if (left <= 0) return "";
    pollfd p{stdout_fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    if (read(stdout_fd_, &ch, 1) != 1) return "";
    if (ch != '\n') line += ch;
  }
  return line;
}

int HelperProcess::Stop() {
  if (pid_ <= 0) return -1;
  if (stdin_fd_ >= 0) {
    close(stdin_fd_);
    stdin_fd_ = -1;
  }
  int status = -1;
  if (!WaitPid(pid_, 5000, &status)) {
    fprintf(stderr, "helper %d did not stop within 5 s: SIGKILL\n", static_cast<int>(pid_));
    kill(pid_, SIGKILL);
    WaitPid(pid_, 5000, &status);
    status = -1;
  }
  pid_ = -1;
  return status;
}

void HelperProcess::ExpectCleanStop() {
  if (pid_ <= 0) return;
  pid_t pid = pid_;
  int status = Stop();
  EXPECT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "helper " << pid << " did not exit cleanly: "
      << (status == -1              ? std::string("killed after 5 s")
          : WIFEXITED(status)       ? "exit " + std::to_string(WEXITSTATUS(status))
          : WIFSIGNALED(status)     ? "signal " + std::to_string(WTERMSIG(status))
                                    : "status " + std::to_string(status));
}

bool HelperProcess::Send(const std::string &line) {
  if (stdin_fd_ < 0) return false;
  std::string l = line + "\n";
  size_t off = 0;
  while (off < l.size()) {
    ssize_t n = write(stdin_fd_, l.data() + off, l.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void HelperProcess::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  WaitPid(pid_, 5000, &status);
  pid_ = -1;
}

HelperProcess::~HelperProcess() {
  Stop();
  if (stdin_fd_ >= 0) close(stdin_fd_);
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

// ---- Node -------------------------------------------------------------------

namespace {
void LogToStderr(genrpc_log_level level, const char *msg, void *arg) {
  fprintf(stderr, "[%s %d] %s\n", static_cast<const char *>(arg), static_cast<int>(level), msg);
}
}  // namespace

std::unique_ptr<Node> Node::Start(const NodeOptions &o, std::string *error) {
  std::unique_ptr<Node> n(new Node());
  n->name_ = o.name;
  if (genrpc_test_state_init(&n->state_) != 0) {
    *error = "out of memory";
    return nullptr;
  }
  n->state_ok_ = true;

  std::vector<genrpc_node_addr> addrs;
  for (auto &a : o.addrs) addrs.push_back({a.first.c_str(), o.addr_driver, a.second});
  std::vector<const char *> mods;
  for (auto &m : o.modules) mods.push_back(m.c_str());

  genrpc_node_config cfg;
  genrpc_node_config_init(&cfg);
  cfg.name = n->name_.c_str();
  cfg.cookie = o.cookie.c_str();
  cfg.tcp_server_port = o.server_port;
  cfg.tcp_client_port = o.client_port;
  cfg.node_addrs = addrs.empty() ? nullptr : addrs.data();
  cfg.n_node_addrs = addrs.size();
  cfg.connect_timeout_ms = o.connect_timeout_ms;
  cfg.send_timeout_ms = o.send_timeout_ms;
  cfg.authentication_timeout_ms = o.auth_timeout_ms;
  cfg.client_inactivity_timeout_ms = o.client_inactivity_ms;
  cfg.server_inactivity_timeout_ms = o.server_inactivity_ms;
  cfg.socket_keepalive_idle_s = o.keepalive_idle_s;
  cfg.socket_keepalive_interval_s = o.keepalive_interval_s;
  cfg.socket_keepalive_count = o.keepalive_count;
  cfg.module_control = o.control;
  cfg.module_list = mods.empty() ? nullptr : mods.data();
  cfg.n_module_list = mods.size();
  cfg.worker_threads = o.workers;
  cfg.max_protocol_version = o.max_protocol_version;
  cfg.compression = o.compression;
  cfg.max_frame_size = o.max_frame_size ? o.max_frame_size : cfg.max_frame_size;
  cfg.default_client_driver = o.default_driver;
  cfg.log_cb = o.log_cb;
  cfg.log_arg = o.log_arg;
  cfg.log_level = GENRPC_LOG_DEBUG;
  cfg.ssl_server_port = o.ssl_server_port;
  cfg.ssl_client_port = o.ssl_client_port;
  if (!o.tls_ca.empty()) cfg.tls_ca_file = o.tls_ca.c_str();
  if (!o.tls_cert.empty()) cfg.tls_cert_file = o.tls_cert.c_str();
  if (!o.tls_key.empty()) cfg.tls_key_file = o.tls_key.c_str();
  if (getenv("GENRPC_TEST_LOG") != nullptr) {
    cfg.log_cb = LogToStderr;
    cfg.log_arg = const_cast<char *>(n->name_.c_str());
    cfg.log_level = GENRPC_LOG_DEBUG;
  }
  genrpc_status st{};
  int err = genrpc_node_start(&cfg, &n->node_, &st);
  if (err != GENRPC_OK) {
    *error = std::string("genrpc_node_start: ") + genrpc_err_name(err) + " (" + st.message + ")";
    n->node_ = nullptr;
    return nullptr;
  }
  if (o.register_modules) {
    err = genrpc_test_register_all(n->node_, &n->state_);
    if (err != GENRPC_OK) {
      *error = std::string("genrpc_test_register_all: ") + genrpc_err_name(err);
      return nullptr;
    }
  }
  return n;
}

std::unique_ptr<Node> Node::StartSelf(NodeOptions o, std::string *error) {
  for (int attempt = 0; attempt < 5; attempt++) {
    int port = FreeTcpPort();
    if (port < 0) continue;
    o.server_port = port;
    o.client_port = port;
    auto n = Start(o, error);
    if (n) return n;
  }
  return nullptr;
}

int Node::Drain(int64_t timeout_ms) {
  int err = genrpc_node_drain(node_, timeout_ms);
  if (err == GENRPC_OK || err == GENRPC_E_TIMEOUT) node_ = nullptr;
  return err;
}

Node::~Node() {
  if (node_ != nullptr) genrpc_node_stop(node_);
  if (state_ok_) genrpc_test_state_destroy(&state_);
}

genrpc_node_info Node::Info() const {
  genrpc_node_info info{};
  genrpc_node_get_info(node_, &info);
  return info;
}

uint64_t Node::CountRuns() {
  pthread_mutex_lock(&state_.lock);
  uint64_t c = state_.count;
  pthread_mutex_unlock(&state_.lock);
  return c;
}

// ---- raw sockets ---------------------------------------------------------------

int ConnectRaw(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a = Loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool WaitForEof(int fd, Millis timeout) {
  int64_t deadline = NowMs() + timeout.count();
  char buf[4096];
  for (;;) {
    int64_t left = deadline - NowMs();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0 && errno != EINTR && errno != EAGAIN) return true;  // reset counts as closed
  }
}

// ---- RecordingProxy ---------------------------------------------------------------

RecordingProxy::RecordingProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = ListenLoopback(8, &port_);
  if (listen_fd_ >= 0) thread_ = std::thread([this] { Run(); });
}

RecordingProxy::~RecordingProxy() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

std::string RecordingProxy::ClientToServer() {
  std::lock_guard<std::mutex> g(mu_);
  return c2s_;
}

std::string RecordingProxy::ServerToClient() {
  std::lock_guard<std::mutex> g(mu_);
  return s2c_;
}

void RecordingProxy::Run() {
  // Pairs of (client fd, server fd); polled with a short timeout so stop_
  // is noticed within ~50 ms.
  std::vector<std::pair<int, int>> pairs;
  while (!stop_) {
    std::vector<pollfd> pfds;
    pfds.push_back({listen_fd_, POLLIN, 0});
    bool forwarding = !paused_;
    for (auto &pr : pairs) {
      if (!forwarding) break;
      pfds.push_back({pr.first, POLLIN, 0});
      pfds.push_back({pr.second, POLLIN, 0});
    }
    int r = poll(pfds.data(), pfds.size(), 50);
    if (r <= 0) continue;
    if (pfds[0].revents & POLLIN) {
      int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        int s = ConnectRaw(target_port_);
        if (s < 0) {
          close(c);
        } else {
          pairs.emplace_back(c, s);
        }
      }
      continue;  // pfds no longer matches pairs
    }
    for (size_t i = 0; forwarding && i < pairs.size(); i++) {
      for (int dir = 0; dir < 2; dir++) {
        pollfd &p = pfds[1 + 2 * i + dir];
        if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        int from = dir == 0 ? pairs[i].first : pairs[i].second;
        int to = dir == 0 ? pairs[i].second : pairs[i].first;
        char buf[65536];
        ssize_t n = recv(from, buf, sizeof buf, 0);
        if (n <= 0) {
          shutdown(to, SHUT_WR);
          continue;
        }
        {
          std::lock_guard<std::mutex> g(mu_);
          (dir == 0 ? c2s_ : s2c_).append(buf, static_cast<size_t>(n));
        }
        for (ssize_t off = 0; off < n;) {
          ssize_t w = send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
          if (w <= 0) break;
          off += w;
        }
      }
    }
  }
  for (auto &pr : pairs) {
    close(pr.first);
    close(pr.second);
  }
}

// ---- BlackholeListener -----------------------------------------------------------

BlackholeListener::BlackholeListener() {
  listen_fd_ = ListenLoopback(0, &port_);
  if (listen_fd_ < 0) return;
  // Fill the accept queue (backlog 0 still admits one or two); later SYNs
  // are dropped and the dialler's connect hangs.
  for (int i = 0; i < 8; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    sockaddr_in a = Loopback(port_);
    connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    fillers_.push_back(fd);
  }
  usleep(20000);
}

BlackholeListener::~BlackholeListener() {
  for (int fd : fillers_) close(fd);
  if (listen_fd_ >= 0) close(listen_fd_);
}

// ---- SilentServer -------------------------------------------------------------

SilentServer::SilentServer() {
  listen_fd_ = ListenLoopback(16, &port_);
  if (listen_fd_ >= 0) thread_ = std::thread([this] { Run(); });
}

SilentServer::~SilentServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (int fd : conns_) close(fd);
  if (listen_fd_ >= 0) close(listen_fd_);
}

void SilentServer::Run() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0) conns_.push_back(c);
  }
}

}  // namespace genrpc_test
