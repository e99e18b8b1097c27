// tests/support/netns.h - hosts made of Linux network namespaces for the
// multi-host tests (tests/netns_test.cc, tests/cluster_netns_test.cc): one
// namespace per host on a bridge in a hub namespace, each with its own
// address in a private /24 that exists only inside them; a host's link can
// be cut and healed. Needs root and iproute2; everything is deleted by the
// destructor, and namespaces left by a crashed run by the next one.
#ifndef GENRPC_TEST_NETNS_H
#define GENRPC_TEST_NETNS_H

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace genrpc_test {

// Runs a shell command (fixed strings only, no user input); returns its exit
// status and, in *out, what it printed (stdout and stderr).
inline int Sh(const std::string &cmd, std::string *out = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE *f = popen(full.c_str(), "r");
  if (f == nullptr) {
    if (out) *out = std::string("popen: ") + strerror(errno);
    return -1;
  }
  std::string text;
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  int status = pclose(f);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Deletes namespaces of earlier runs of this test whose process is gone.
inline void DeleteStaleNamespaces(const std::string &prefix_stem) {
  std::string list;
  if (Sh("ip netns list", &list) != 0) return;
  size_t pos = 0;
  std::string stem = prefix_stem + "-";
  while (pos < list.size()) {
    size_t eol = list.find('\n', pos);
    if (eol == std::string::npos) eol = list.size();
    std::string line = list.substr(pos, eol - pos);
    pos = eol + 1;
    std::string name = line.substr(0, line.find(' '));
    if (name.compare(0, stem.size(), stem) != 0) continue;
    long pid = strtol(name.c_str() + stem.size(), nullptr, 10);
    if (pid <= 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH))
      Sh("ip netns delete " + name);
  }
}

// The namespaces, their links and addresses; deleted by the destructor.
class TestNetwork {
 public:
  // stem: the namespaces' names start with it (then this process's PID);
  // subnet: "10.77.0." (a /24 that exists only inside them); special_host:
  // the host whose namespace is "<prefix>-m" (the test's own), -1: none.
  TestNetwork(const std::string &stem, const std::string &subnet, int special_host = -1)
      : prefix_(stem + "-" + std::to_string(getpid())), subnet_(subnet),
        special_(special_host) {}
  ~TestNetwork() {
    Leave();
    if (orig_fd_ >= 0) close(orig_fd_);
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
      std::string out;
      if (Sh("ip netns delete " + *it, &out) != 0)
        fprintf(stderr, "netns: could not delete namespace %s: %s\n", it->c_str(),
                out.c_str());
    }
  }
  TestNetwork(const TestNetwork &) = delete;
  TestNetwork &operator=(const TestNetwork &) = delete;

  std::string Ns(int host) const {
    return prefix_ + (host == special_ ? std::string("-m") : "-h" + std::to_string(host));
  }
  std::string Hub() const { return prefix_ + "-hub"; }
  // The hub-side end of a host's link: down = that host is cut off.
  std::string HubPort(int host) const { return "v" + std::to_string(host); }

  // Makes the hub and one namespace per host. On failure returns false and
  // says why in *why (the caller skips or fails).
  bool Build(const std::vector<int> &hosts, std::string *why) {
    orig_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (orig_fd_ < 0) {
      *why = std::string("cannot open /proc/thread-self/ns/net: ") + strerror(errno);
      return false;
    }
    if (!Add(Hub(), why)) return false;
    if (!Run("ip -n " + Hub() + " link add br0 type bridge forward_delay 0 stp_state 0", why) ||
        !Run("ip -n " + Hub() + " link set br0 up", why))
      return false;
    for (int h : hosts) {
      std::string ns = Ns(h);
      if (!Add(ns, why)) return false;
      std::string addr = subnet_ + std::to_string(h) + "/24";
      if (!Run("ip -n " + Hub() + " link add " + HubPort(h) + " type veth peer name eth0 netns " +
                   ns,
               why) ||
          !Run("ip -n " + Hub() + " link set " + HubPort(h) + " master br0", why) ||
          !Run("ip -n " + Hub() + " link set " + HubPort(h) + " up", why) ||
          !Run("ip -n " + ns + " link set lo up", why) ||
          !Run("ip -n " + ns + " addr add " + addr + " dev eth0", why) ||
          !Run("ip -n " + ns + " link set eth0 up", why))
        return false;
    }
    return true;
  }

  // Moves the calling thread into host's namespace (threads it starts from
  // now on, and processes it forks, are there too).
  bool Enter(int host, std::string *why) {
    std::string path = "/run/netns/" + Ns(host);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      *why = "open " + path + ": " + strerror(errno);
      return false;
    }
    int r = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    if (r != 0) {
      *why = "setns " + path + ": " + strerror(e);
      return false;
    }
    return true;
  }

  // Back to the namespace the thread started in.
  void Leave() {
    if (orig_fd_ >= 0 && setns(orig_fd_, CLONE_NEWNET) != 0)
      fprintf(stderr, "netns: setns back failed: %s\n", strerror(errno));
  }

  bool SetLink(int host, bool up, std::string *why) {
    return Run("ip -n " + Hub() + " link set " + HubPort(host) + (up ? " up" : " down"), why);
  }

 private:
  bool Add(const std::string &ns, std::string *why) {
    if (!Run("ip netns add " + ns, why)) return false;
    made_.push_back(ns);
    return true;
  }
  static bool Run(const std::string &cmd, std::string *why) {
    std::string out;
    int rc = Sh(cmd, &out);
    if (rc == 0) return true;
    *why = "`" + cmd + "` failed (exit " + std::to_string(rc) + "): " + out;
    return false;
  }

  std::string prefix_, subnet_;
  int special_;
  std::vector<std::string> made_;
  int orig_fd_ = -1;
};

}  // namespace genrpc_test

#endif
