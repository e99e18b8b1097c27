// tests/support/etcd.cc - see etcd.h.
#include "etcd.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "fixture.h"

namespace genrpc_test {

std::string EtcdBinary() {
  const char *path = getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string cand = dirs.substr(start, end - start) + "/etcd";
    if (access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return "";
}

std::string Base64(const std::string &s) {
  static const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    unsigned v = (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8 | (unsigned char)s[i + 2];
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == s.size()) {
    unsigned v = (unsigned char)s[i] << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == s.size()) {
    unsigned v = (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8;
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

static size_t Collect(char *data, size_t size, size_t n, void *arg) {
  static_cast<std::string *>(arg)->append(data, size * n);
  return size * n;
}

std::string EtcdPost(const std::string &url, const std::string &path, const std::string &body,
                     long *status, const std::string &ca, const std::string &token) {
  std::string out;
  *status = 0;
  CURL *e = curl_easy_init();
  if (!e) return out;
  struct curl_slist *h = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!token.empty()) h = curl_slist_append(h, ("Authorization: " + token).c_str());
  std::string full = url + path;
  curl_easy_setopt(e, CURLOPT_URL, full.c_str());
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  if (!ca.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, ca.c_str());
  if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  return out;
}

std::unique_ptr<EtcdProcess> EtcdProcess::Start(const EtcdOptions &opts, std::string *error) {
  std::unique_ptr<EtcdProcess> p(new EtcdProcess());
  p->opts_ = opts;
  if (p->opts_.client_port == 0) p->opts_.client_port = FreeTcpPort();
  if (p->opts_.peer_port == 0) p->opts_.peer_port = FreeTcpPort();
  if (p->opts_.data_dir.empty()) {
    char tmpl[] = "/tmp/genrpc-etcd-XXXXXX";
    if (!mkdtemp(tmpl)) {
      *error = "mkdtemp failed";
      return nullptr;
    }
    p->opts_.data_dir = tmpl;
    p->own_dir_ = true;
  }
  p->log_ = p->opts_.data_dir + ".log";
  p->url_ = std::string(opts.cert.empty() ? "http://" : "https://") + opts.host + ":" +
            std::to_string(p->opts_.client_port);
  if (!p->Spawn(error)) return nullptr;
  if (opts.wait_ready && !p->WaitReady(20000, error)) return nullptr;
  return p;
}

bool EtcdProcess::Spawn(std::string *error) {
  std::string peer = "http://" + opts_.host + ":" + std::to_string(opts_.peer_port);
  std::vector<std::string> args = opts_.wrap;
  args.insert(args.end(),
              {EtcdBinary(), "--name", opts_.name, "--data-dir", opts_.data_dir + "/data",
               "--listen-client-urls", url_, "--advertise-client-urls", url_,
               "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
               "--initial-cluster",
               opts_.initial_cluster.empty() ? opts_.name + "=" + peer : opts_.initial_cluster,
               "--initial-cluster-token", "genrpc-test", "--heartbeat-interval", "100",
               "--election-timeout", "1000"});
  if (!opts_.cert.empty())
    args.insert(args.end(), {"--cert-file", opts_.cert, "--key-file", opts_.key});
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  int log = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_t pid = fork();
  if (pid < 0) {
    *error = "fork failed";
    if (log >= 0) close(log);
    return false;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test leaves no etcd behind
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    execvp(argv[0], argv.data());
    _exit(127);
  }
  if (log >= 0) close(log);
  pid_ = pid;
  return true;
}

bool EtcdProcess::WaitReady(int timeout_ms, std::string *error) {
  bool ok = Eventually(
      [&] {
        long status = 0;
        EtcdPost(url_, "/v3/kv/range", "{\"key\":\"" + Base64("genrpc-probe") + "\"}", &status,
                 opts_.cert);
        int ws;
        if (pid_ > 0 && waitpid(pid_, &ws, WNOHANG) == pid_) pid_ = -1;
        return status == 200 || pid_ < 0;
      },
      Millis(timeout_ms));
  if (!ok || pid_ < 0) {
    *error = "etcd at " + url_ + " did not answer (log: " + log_ + ")";
    return false;
  }
  return true;
}

void EtcdProcess::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool EtcdProcess::Restart(bool wipe, std::string *error, bool wait_ready) {
  Kill9();
  if (wipe) std::filesystem::remove_all(opts_.data_dir + "/data");
  if (!Spawn(error)) return false;
  return !wait_ready || WaitReady(20000, error);
}

EtcdProcess::~EtcdProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    bool gone = Eventually([&] { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, Millis(5000));
    if (!gone) Kill9();
  }
  if (own_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(opts_.data_dir, ec);
    std::filesystem::remove(log_, ec);
  }
}

const char *ClusterNodePath() { return GENRPC_CLUSTER_NODE_PATH; }

static int64_t Now() {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<ClusterNodeProcess> ClusterNodeProcess::Spawn(
    const std::vector<std::string> &wrap, const std::vector<std::string> &args,
    std::string *error) {
  std::vector<std::string> all = wrap;
  all.push_back(ClusterNodePath());
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (auto &a : all) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    *error = "pipe failed";
    return nullptr;
  }
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  std::unique_ptr<ClusterNodeProcess> p(new ClusterNodeProcess());
  p->in_ = in[1];
  p->out_ = out[0];
  p->pid_ = pid;
  if (pid < 0) {
    *error = "fork failed";
    return nullptr;
  }
  std::string line = p->ReadLine(25000);
  if (line.rfind("READY ", 0) != 0) {
    *error = "cluster node printed no READY line (got '" + line + "')";
    return nullptr;
  }
  p->port_ = atoi(line.c_str() + 6);
  return p;
}

std::string ClusterNodeProcess::ReadLine(int timeout_ms) {
  int64_t deadline = Now() + timeout_ms;
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    int64_t left = deadline - Now();
    if (left <= 0 || out_ < 0) return "";
    pollfd p{out_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char b[512];
    ssize_t n = read(out_, b, sizeof b);
    if (n <= 0) return "";
    buf_.append(b, static_cast<size_t>(n));
  }
}

std::string ClusterNodeProcess::Ask(const std::string &line, int timeout_ms) {
  std::string l = line + "\n";
  if (in_ < 0 || write(in_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) return "";
  return ReadLine(timeout_ms);
}

int ClusterNodeProcess::Stop() {
  if (pid_ <= 0) return -1;
  if (in_ >= 0) close(in_);
  in_ = -1;
  int status = 0;
  bool gone = Eventually([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, Millis(5000));
  if (!gone) {
    Kill9();
    return -1;
  }
  pid_ = -1;
  return status;
}

void ClusterNodeProcess::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

ClusterNodeProcess::~ClusterNodeProcess() {
  Stop();
  if (in_ >= 0) close(in_);
  if (out_ >= 0) close(out_);
}

}  // namespace genrpc_test
