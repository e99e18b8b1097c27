// client.cc - the `genrpc` command's own node: no listener, one address
// (the target's driver and port), the cookie and TLS files of the command
// line; and the calls it makes, by name with encoded payloads
// (genrpc_call_raw, genrpc_cast_raw).
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "cli.h"

namespace genrpc_cli {

// The handler code of genrpc.Reflection for "no such module"
// (runtime/src/rpc/reflection.c).
constexpr int32_t kBuiltinNotFound = 404;

int ExitFor(int err) {
  switch (err) {
    case GENRPC_OK:
      return kOk;
    case GENRPC_E_UNDEF:
    case GENRPC_E_INCOMPATIBLE:
      return kNotFound;
    case GENRPC_E_UNAUTHORIZED:
      return kRefused;
    case GENRPC_E_HANDLER:
    case GENRPC_E_BADARGS:
      return kHandler;
    case GENRPC_E_TIMEOUT:
    case GENRPC_E_SEND_TIMEOUT:
      return kTimeout;
    case GENRPC_E_DISCOVERY:
    case GENRPC_E_CONNECT:
    case GENRPC_E_CLOSED:
    case GENRPC_E_AUTH:
    case GENRPC_E_TLS:
    case GENRPC_E_IO:
      return kUnreachable;
    case GENRPC_E_INVAL:
    case GENRPC_E_TOO_BIG:
      return kBadInput;
    default:
      return kFailure;
  }
}

namespace {

// The host part of "name@host".
std::string HostOf(const std::string &node) { return node.substr(node.find('@') + 1); }

// --addr NAME=[HOST:][tls:]PORT: where to reach NAME. genrpc dials the host
// part of a node's name (docs/naming.md), so HOST, when given, must be it.
genrpc_node_addr ParseAddr(const std::string &spec, std::string *name) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || spec.find('@') > eq)
    throw Error(kUsage, "--addr takes NAME@HOST=[HOST:][tls:]PORT, not '" + spec + "'");
  *name = spec.substr(0, eq);
  std::string rest = spec.substr(eq + 1);
  size_t colon = rest.rfind(':');
  bool tls = false;
  if (colon != std::string::npos) {
    std::string head = rest.substr(0, colon);
    if (head == "tls" || (head.size() > 4 && head.compare(head.size() - 4, 4, ":tls") == 0)) {
      tls = true;
      head = head == "tls" ? "" : head.substr(0, head.size() - 4);
    }
    if (!head.empty() && head != HostOf(*name))
      throw Error(kUsage, "--addr " + spec + ": genrpc reaches " + *name + " at its host " +
                              HostOf(*name) + " (the part after @), not " + head);
    rest = rest.substr(colon + 1);
  }
  char *end = nullptr;
  long port = strtol(rest.c_str(), &end, 10);
  if (rest.empty() || *end || port < 1 || port > 65535)
    throw Error(kUsage, "--addr " + spec + ": bad port '" + rest + "'");
  return genrpc_node_addr{nullptr, tls ? GENRPC_DRIVER_TLS : GENRPC_DRIVER_TCP, (int)port};
}

}  // namespace

Client::Client(const Options &opts) : opts_(opts) {
  if (opts.args.empty()) throw Error(kUsage, "no NODE given");
  target_ = opts.args[0];
  const char *at = strchr(target_.c_str(), '@');
  if (!at || at == target_.c_str() || !at[1])
    throw Error(kUsage, "NODE must be name@host, not '" + target_ + "'");
  std::string name = opts.name;
  if (name.empty()) name = "genrpc-cli-" + std::to_string(getpid()) + "@localhost";

  genrpc_node_config cfg;
  genrpc_node_config_init(&cfg);
  cfg.name = name.c_str();
  cfg.cookie = opts.cookie.c_str();
  cfg.tcp_server_port = GENRPC_PORT_DISABLED;
  cfg.ssl_server_port = GENRPC_PORT_DISABLED;
  // Addresses: every --addr, and NODE's from --port / --tls unless an
  // --addr names it (or etcd resolves it).
  std::vector<std::string> names(opts.addrs.size());
  std::vector<genrpc_node_addr> addrs;
  bool target_given = false;
  for (size_t i = 0; i < opts.addrs.size(); i++) {
    addrs.push_back(ParseAddr(opts.addrs[i], &names[i]));
    target_given = target_given || names[i] == target_;
  }
  for (size_t i = 0; i < addrs.size(); i++) addrs[i].node = names[i].c_str();
  if (!target_given)
    addrs.push_back({target_.c_str(), opts.tls ? GENRPC_DRIVER_TLS : GENRPC_DRIVER_TCP,
                     opts.port ? opts.port : (opts.tls ? 5370 : 5369)});
  cfg.node_addrs = addrs.data();
  cfg.n_node_addrs = addrs.size();
  cfg.connect_timeout_ms = opts.timeout_ms;
  cfg.send_timeout_ms = opts.timeout_ms;
  cfg.authentication_timeout_ms = opts.timeout_ms;
  cfg.call_receive_timeout_ms = opts.timeout_ms;
  cfg.worker_threads = 1;
  // it serves nothing
  cfg.builtins_off = GENRPC_BUILTIN_REFLECTION | GENRPC_BUILTIN_HEALTH | GENRPC_BUILTIN_STATS;
  if (opts.tls) {
    cfg.tls_ca_file = opts.tls_ca.c_str();
    cfg.tls_cert_file = opts.tls_cert.c_str();
    cfg.tls_key_file = opts.tls_key.c_str();
  }
  genrpc_status st;
  if (genrpc_node_start(&cfg, &node_, &st) != GENRPC_OK)
    throw Error(st.err == GENRPC_E_TLS || st.err == GENRPC_E_INVAL ? kUsage : kFailure,
                std::string("cannot start the command's node: ") + st.message);
  if (!opts.etcd.empty()) JoinEtcd();
}

void Client::JoinEtcd() {
#ifdef GENRPC_HAVE_CLUSTER
  // Names resolve through the cluster's member list; the command registers
  // nothing (observe_only).
  std::vector<const char *> urls;
  for (const std::string &u : opts_.etcd) urls.push_back(u.c_str());
  genrpc_cluster_config cc = GENRPC_CLUSTER_CONFIG_INIT;
  cc.endpoints = urls.data();
  cc.n_endpoints = urls.size();
  cc.prefix = opts_.etcd_prefix.empty() ? nullptr : opts_.etcd_prefix.c_str();
  cc.observe_only = true;
  cc.join_timeout_ms = opts_.timeout_ms;
  genrpc_status st;
  if (genrpc_cluster_join(node_, &cc, &cluster_, &st) != GENRPC_OK)
    throw Error(st.err == GENRPC_E_INVAL ? kUsage : kUnreachable,
                std::string("cannot read the cluster from etcd: ") + st.message);
#else
  throw Error(kUsage, "--etcd: this genrpc was built without etcd support (GENRPC_CLUSTER)");
#endif
}

Client::~Client() {
#ifdef GENRPC_HAVE_CLUSTER
  if (cluster_) genrpc_cluster_leave(cluster_);
#endif
  if (node_) genrpc_node_stop(node_);
}

genrpc_target Client::Target() const {
  return opts_.has_key ? genrpc_key_target(target_.c_str(), opts_.key.data(), opts_.key.size())
                       : genrpc_node_target(target_.c_str());
}

genrpc_call_opts Client::CallOpts(uint32_t version) const {
  genrpc_call_opts o = GENRPC_CALL_OPTS_INIT;
  o.timeout_ms = opts_.timeout_ms;
  o.version = version;
  return o;
}

int Client::CallRaw(const std::string &module, const std::string &function,
                    const std::string &request, std::string *reply, uint32_t version,
                    genrpc_status *st) {
  genrpc_call_opts o = CallOpts(version);
  void *data = nullptr;
  size_t len = 0;
  int rc = genrpc_call_raw(node_, Target(), module.c_str(), function.c_str(), request.data(),
                           request.size(), &data, &len, &o, st);
  if (rc == GENRPC_OK) {
    reply->assign(static_cast<const char *>(data), len);
    free(data);
  }
  return rc;
}

static Error CallError(const std::string &what, const genrpc_status &st) {
  std::string msg = what + ": " + genrpc_err_name(st.err) + ": " + st.message;
  if (st.err == GENRPC_E_HANDLER) msg += " (handler code " + std::to_string(st.handler_code) + ")";
  return Error(ExitFor(st.err), msg);
}

std::string Client::Call(const std::string &module, const std::string &function,
                         const std::string &request, uint32_t version) {
  std::string reply;
  genrpc_status st;
  if (CallRaw(module, function, request, &reply, version, &st) != GENRPC_OK)
    throw CallError(module + "/" + function + " on " + target_, st);
  return reply;
}

std::string Client::CallBuiltin(const std::string &module, const std::string &function,
                                const std::string &request, int off_code,
                                const std::string &hint) {
  std::string reply;
  genrpc_status st;
  int rc = CallRaw(module, function, request, &reply, 0, &st);
  if (rc == GENRPC_OK) return reply;
  if (rc == GENRPC_E_UNDEF || rc == GENRPC_E_INCOMPATIBLE)
    throw Error(off_code, "node " + target_ + " does not serve " + module + hint);
  if (rc == GENRPC_E_UNAUTHORIZED)
    throw Error(kRefused, "node " + target_ + "'s module policy refuses " + module + hint);
  if (rc == GENRPC_E_HANDLER && st.handler_code == kBuiltinNotFound)
    throw Error(kNotFound, st.message);
  throw CallError(module + "/" + function + " on " + target_, st);
}

void Client::Cast(const std::string &module, const std::string &function,
                  const std::string &request, uint32_t version) {
  genrpc_call_opts o = CallOpts(version);
  genrpc_status st;
  if (genrpc_cast_raw(node_, Target(), module.c_str(), function.c_str(), request.data(),
                      request.size(), &o, &st) != GENRPC_OK)
    throw CallError("cast " + module + "/" + function + " to " + target_, st);
}

}  // namespace genrpc_cli
