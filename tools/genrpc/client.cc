// client.cc - the `genrpc` command's own node: no listener, one address
// (the target's driver and port), the cookie and TLS files of the command
// line; and the calls it makes, by name with encoded payloads
// (genrpc_call_raw, genrpc_cast_raw).
#include <unistd.h>

#include <cstdlib>
#include <cstring>

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
  genrpc_node_addr addr = {target_.c_str(), opts.tls ? GENRPC_DRIVER_TLS : GENRPC_DRIVER_TCP,
                           opts.port ? opts.port : (opts.tls ? 5370 : 5369)};
  cfg.node_addrs = &addr;
  cfg.n_node_addrs = 1;
  cfg.connect_timeout_ms = opts.timeout_ms;
  cfg.send_timeout_ms = opts.timeout_ms;
  cfg.authentication_timeout_ms = opts.timeout_ms;
  cfg.call_receive_timeout_ms = opts.timeout_ms;
  cfg.worker_threads = 1;
  cfg.builtins_off = GENRPC_BUILTIN_REFLECTION | GENRPC_BUILTIN_HEALTH;  // it serves nothing
  if (opts.tls) {
    cfg.tls_ca_file = opts.tls_ca.c_str();
    cfg.tls_cert_file = opts.tls_cert.c_str();
    cfg.tls_key_file = opts.tls_key.c_str();
  }
  genrpc_status st;
  if (genrpc_node_start(&cfg, &node_, &st) != GENRPC_OK)
    throw Error(st.err == GENRPC_E_TLS || st.err == GENRPC_E_INVAL ? kUsage : kFailure,
                std::string("cannot start the command's node: ") + st.message);
}

Client::~Client() {
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
