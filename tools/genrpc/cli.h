// cli.h - the `genrpc` command's shared pieces: its options, its exit
// codes (docs/cli.md, "Exit status"), its error, and the three parts of
// the program: the node that makes the calls (client.cc), the message
// types and their JSON (schema.cc), the subcommands (commands.cc).
#ifndef GENRPC_CLI_H
#define GENRPC_CLI_H

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>

#include "genrpc/genrpc.h"
#ifdef GENRPC_HAVE_CLUSTER
#include "genrpc/cluster.h"
#else
typedef struct genrpc_cluster genrpc_cluster;
#endif

namespace genrpc_cli {

// Exit status by error class; docs/cli.md lists them.
enum Exit : int {
  kOk = 0,
  kFailure = 1,       // anything else (out of memory, a protocol error, ...)
  kUsage = 2,         // bad command line, no cookie, unreadable option file
  kBadInput = 3,      // bad JSON or a descriptor set that does not parse
  kNotFound = 4,      // no such module, version or function; health: SERVICE_UNKNOWN
  kRefused = 5,       // the node's module policy refuses the module
  kHandler = 6,       // the remote handler failed, or could not decode the request
  kUnreachable = 7,   // cannot connect, authenticate or stay connected
  kTimeout = 8,       // no reply in time
  kNotServing = 9,    // health: NOT_SERVING
  kNoReflection = 10, // the node does not serve reflection: give --descriptor-set
};

// Every failure: what to print on stderr and the exit status.
class Error : public std::runtime_error {
 public:
  Error(int code, const std::string &what) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// The exit status for a genrpc_err.
int ExitFor(int genrpc_err);

struct Options {
  std::string command;              // ping, list, ...
  std::vector<std::string> args;    // its positional arguments
  std::string cookie;               // --cookie, --cookie-file, GENRPC_COOKIE
  std::string name;                 // --name: the command's own node name
  int port = 0;                     // --port; 0: 5369 (tcp) / 5370 (tls)
  std::vector<std::string> addrs;   // --addr NAME=[HOST:][tls:]PORT, repeatable
  std::vector<std::string> etcd;    // --etcd URL,...: names resolved through etcd
  std::string etcd_prefix;          // --etcd-prefix (default: the runtime's)
  bool tls = false;                 // --tls (implied by --tls-ca/-cert/-key)
  std::string tls_ca, tls_cert, tls_key;
  int64_t timeout_ms = 5000;        // --timeout
  uint32_t version = 0;             // --version (0: any)
  std::string key;                  // --key: the {node, key} shard
  bool has_key = false;
  std::vector<std::string> descriptor_sets;  // --descriptor-set FILE...
  bool proto_names = false;         // --proto-names: JSON keys as in the .proto
  bool emit_defaults = false;       // --emit-defaults: print fields at their default
  bool proto_text = false;          // describe --proto: .proto text instead of JSON
  std::string descriptor_set_out;   // describe --descriptor-set-out FILE
  bool json = false;                // stats --json
  bool once = false;                // top --once: one frame, no screen clearing
  int64_t interval_ms = 1000;       // top --interval MS
  int64_t top_frames = 0;           // top --count N (0: until interrupted)
};

// The command's own node (no listener) and the calls it makes.
class Client {
 public:
  explicit Client(const Options &opts);  // throws Error
  ~Client();
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  // genrpc_call_raw; on failure fills *st and returns its err.
  int CallRaw(const std::string &module, const std::string &function,
              const std::string &request, std::string *reply, uint32_t version,
              genrpc_status *st);
  // The same, throwing an Error for anything but GENRPC_OK.
  std::string Call(const std::string &module, const std::string &function,
                   const std::string &request, uint32_t version);
  // A call of a built-in module (genrpc.Reflection, genrpc.Health) with
  // version "any". Throws `off_code` when the node does not serve it,
  // kRefused when its policy refuses it (each message ending with `hint`),
  // kNotFound for a handler failure with code 404, else by error class.
  std::string CallBuiltin(const std::string &module, const std::string &function,
                          const std::string &request, int off_code, const std::string &hint);
  // genrpc_cast_raw; throws on failure.
  void Cast(const std::string &module, const std::string &function, const std::string &request,
            uint32_t version);
  const std::string &target() const { return target_; }

 private:
  genrpc_target Target() const;
  genrpc_call_opts CallOpts(uint32_t version) const;

  const Options &opts_;
  void JoinEtcd();  // --etcd: resolve names through the cluster (throws Error)

  std::string target_;
  genrpc_node *node_ = nullptr;
  genrpc_cluster *cluster_ = nullptr;  // --etcd: observing the cluster's members
};

// One module's functions and message types: from the node's reflection or
// from descriptor-set files.
class Schema {
 public:
  struct Function {
    std::string name;
    const google::protobuf::Descriptor *input = nullptr;
    const google::protobuf::Descriptor *output = nullptr;
  };

  // Reflection's Describe(module, version); throws kNoReflection when the
  // node does not serve it, kNotFound when it has no such module.
  static std::unique_ptr<Schema> FromReflection(Client &client, const std::string &module,
                                                uint32_t version);
  // The service serving `module` (its full name, or (genrpc.module)) in
  // the descriptor sets of opts.descriptor_sets.
  static std::unique_ptr<Schema> FromDescriptorSets(const std::vector<std::string> &files,
                                                    const std::string &module);

  const Function &Find(const std::string &function) const;  // throws kNotFound
  const std::string &module() const { return module_; }
  uint32_t version() const { return version_; }  // 0: unknown (descriptor sets)
  const std::string &service() const { return service_; }
  // false: the node's policy refuses the module (reflection says so;
  // descriptor sets cannot tell, and say true).
  bool allowed() const { return allowed_; }
  const std::vector<Function> &functions() const { return functions_; }
  const std::vector<google::protobuf::FileDescriptorProto> &files() const { return files_; }
  const google::protobuf::DescriptorPool &pool() const { return pool_; }

  // JSON text -> encoded `type`, by protobuf's JSON mapping (throws kBadInput).
  std::string Encode(const google::protobuf::Descriptor *type, const std::string &json) const;
  // Encoded `type` -> JSON text (throws kFailure if it does not decode).
  std::string Decode(const google::protobuf::Descriptor *type, const std::string &bytes,
                     const Options &opts) const;

 private:
  Schema() = default;
  void Build(const std::vector<google::protobuf::FileDescriptorProto> &files);

  std::string module_, service_;
  uint32_t version_ = 0;
  bool allowed_ = true;
  std::vector<Function> functions_;
  std::vector<google::protobuf::FileDescriptorProto> files_;
  google::protobuf::DescriptorPool pool_;
  mutable google::protobuf::DynamicMessageFactory factory_{&pool_};
};

// The subcommands (commands.cc); each returns the exit status.
int Ping(const Options &opts);
int List(const Options &opts);
int Describe(const Options &opts);
int CallCommand(const Options &opts, bool cast);
int Health(const Options &opts);
int Stats(const Options &opts);  // stats.cc
int Top(const Options &opts);    // stats.cc

}  // namespace genrpc_cli

#endif  // GENRPC_CLI_H
