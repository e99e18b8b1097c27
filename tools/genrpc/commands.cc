// commands.cc - the `genrpc` subcommands: ping, list, describe, call, cast,
// health (docs/cli.md). Each prints its result on stdout and returns the
// exit status; failures are thrown as Error (main.cc prints them).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>

#include <jansson.h>

#include <google/protobuf/descriptor.pb.h>

#include "cli.h"
#include "genrpc/health.pb.h"
#include "genrpc/reflection.pb.h"

namespace genrpc_cli {

namespace pb = google::protobuf;

// ---- JSON output (jansson) ------------------------------------------------

// Owns a jansson value.
struct Json {
  json_t *v;
  explicit Json(json_t *value) : v(value) {
    if (!v) throw Error(kFailure, "out of memory");
  }
  ~Json() { json_decref(v); }
  Json(const Json &) = delete;
  Json &operator=(const Json &) = delete;
};

static void Set(json_t *obj, const char *key, json_t *value) {
  if (!value || json_object_set_new(obj, key, value) != 0) throw Error(kFailure, "out of memory");
}

static void Append(json_t *arr, json_t *value) {
  if (!value || json_array_append_new(arr, value) != 0) throw Error(kFailure, "out of memory");
}

static void Print(json_t *v) {
  char *text = json_dumps(v, JSON_INDENT(2));
  if (!text) throw Error(kFailure, "out of memory");
  std::cout << text << "\n";
  free(text);
}

static json_t *FunctionJson(const std::string &name, const std::string &in,
                            const std::string &out) {
  json_t *f = json_object();
  if (!f) throw Error(kFailure, "out of memory");
  Set(f, "name", json_string(name.c_str()));
  Set(f, "input", json_string(in.c_str()));
  Set(f, "output", json_string(out.c_str()));
  return f;
}

// ---- ping -----------------------------------------------------------------

// One round trip to the node, cheap whatever it serves: a call of
// genrpc.Health/Check with an empty request. Any answer from the node
// (also "undefined" or "refused", when health is off or not allowed)
// proves it is up and authenticated us. Returns the round trip in ms.
static double RoundTrip(Client &client) {
  auto t0 = std::chrono::steady_clock::now();
  std::string reply;
  genrpc_status st;
  int rc = client.CallRaw("genrpc.Health", "Check", "", &reply, 0, &st);
  auto t1 = std::chrono::steady_clock::now();
  if (rc != GENRPC_OK && rc != GENRPC_E_UNDEF && rc != GENRPC_E_UNAUTHORIZED &&
      rc != GENRPC_E_INCOMPATIBLE)
    throw Error(ExitFor(rc), "no answer from " + client.target() + ": " + genrpc_err_name(rc) +
                                 ": " + st.message);
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

int Ping(const Options &opts) {
  if (opts.args.size() != 1) throw Error(kUsage, "ping takes one NODE");
  Client client(opts);
  double ms = RoundTrip(client);
  char line[64];
  snprintf(line, sizeof line, "%.3f ms", ms);
  std::cout << "pong from " << client.target() << " in " << line << "\n";
  return kOk;
}

// ---- list -----------------------------------------------------------------

int List(const Options &opts) {
  if (opts.args.size() != 1) throw Error(kUsage, "list takes one NODE");
  Client client(opts);
  std::string bytes =
      client.CallBuiltin("genrpc.Reflection", "List", "", kNoReflection, " (reflection)");
  genrpc::ListReply reply;
  if (!reply.ParseFromString(bytes))
    throw Error(kFailure, "node " + client.target() + " sent an undecodable module list");
  Json out(json_object());
  Set(out.v, "node", json_string(reply.node().c_str()));
  json_t *modules = json_array();
  Set(out.v, "modules", modules);
  for (const auto &m : reply.modules()) {
    json_t *mj = json_object();
    Append(modules, mj);
    Set(mj, "name", json_string(m.name().c_str()));
    Set(mj, "version", json_integer(m.version()));
    Set(mj, "service", json_string(m.service().c_str()));
    Set(mj, "allowed", json_boolean(m.allowed()));
    json_t *fs = json_array();
    Set(mj, "functions", fs);
    for (const auto &f : m.functions())
      Append(fs, FunctionJson(f.name(), f.input_type(), f.output_type()));
  }
  Print(out.v);
  return kOk;
}

// ---- describe -------------------------------------------------------------

static std::unique_ptr<Schema> LoadSchema(const Options &opts, Client &client,
                                          const std::string &module) {
  if (!opts.descriptor_sets.empty()) return Schema::FromDescriptorSets(opts.descriptor_sets, module);
  return Schema::FromReflection(client, module, opts.version);
}

static std::string TypeName(const pb::FieldDescriptor *f) {
  if (f->message_type()) return f->message_type()->full_name();
  if (f->enum_type()) return f->enum_type()->full_name();
  return f->type_name();
}

static json_t *FieldJson(const pb::FieldDescriptor *f) {
  json_t *fj = json_object();
  if (!fj) throw Error(kFailure, "out of memory");
  Set(fj, "name", json_string(f->name().c_str()));
  Set(fj, "json_name", json_string(f->json_name().c_str()));
  Set(fj, "number", json_integer(f->number()));
  if (f->is_map()) {
    json_t *m = json_object();
    Set(fj, "map", m);
    Set(m, "key", json_string(TypeName(f->message_type()->map_key()).c_str()));
    Set(m, "value", json_string(TypeName(f->message_type()->map_value()).c_str()));
    return fj;
  }
  Set(fj, "type", json_string(TypeName(f).c_str()));
  if (f->is_repeated()) Set(fj, "repeated", json_true());
  if (f->real_containing_oneof())
    Set(fj, "oneof", json_string(f->real_containing_oneof()->name().c_str()));
  return fj;
}

// Adds `d` and every message and enum type its fields reach to `messages`
// and `enums` (map entries are described through their map field).
static void AddTypes(const pb::Descriptor *d, json_t *messages, json_t *enums,
                     std::set<std::string> *seen) {
  if (!seen->insert(d->full_name()).second) return;
  if (!d->options().map_entry()) {
    json_t *fields = json_array();
    json_t *mj = json_object();
    Set(messages, d->full_name().c_str(), mj);
    Set(mj, "fields", fields);
    for (int i = 0; i < d->field_count(); i++) Append(fields, FieldJson(d->field(i)));
  }
  for (int i = 0; i < d->field_count(); i++) {
    const pb::FieldDescriptor *f = d->field(i);
    if (f->message_type()) AddTypes(f->message_type(), messages, enums, seen);
    const pb::EnumDescriptor *e = f->enum_type();
    if (e && seen->insert(e->full_name()).second) {
      json_t *values = json_object();
      Set(enums, e->full_name().c_str(), values);
      for (int j = 0; j < e->value_count(); j++)
        Set(values, e->value(j)->name().c_str(), json_integer(e->value(j)->number()));
    }
  }
}

static void WriteDescriptorSet(const Schema &schema, const std::string &path) {
  pb::FileDescriptorSet set;
  for (const auto &f : schema.files()) *set.add_file() = f;
  std::ofstream out(path, std::ios::binary);
  if (!out || !set.SerializeToOstream(&out) || !out.flush())
    throw Error(kUsage, "cannot write " + path);
}

int Describe(const Options &opts) {
  if (opts.args.size() != 2) throw Error(kUsage, "describe takes NODE MODULE");
  Client client(opts);
  std::unique_ptr<Schema> schema = LoadSchema(opts, client, opts.args[1]);
  if (!opts.descriptor_set_out.empty()) WriteDescriptorSet(*schema, opts.descriptor_set_out);
  if (opts.proto_text) {
    const pb::ServiceDescriptor *sd = schema->pool().FindServiceByName(schema->service());
    if (!sd) throw Error(kFailure, "the descriptors do not declare service " + schema->service());
    std::cout << sd->file()->DebugString();
    return kOk;
  }
  Json out(json_object());
  Set(out.v, "module", json_string(schema->module().c_str()));
  Set(out.v, "version", json_integer(schema->version()));
  Set(out.v, "service", json_string(schema->service().c_str()));
  json_t *fs = json_array(), *messages = json_object(), *enums = json_object(),
         *files = json_array();
  Set(out.v, "functions", fs);
  Set(out.v, "messages", messages);
  Set(out.v, "enums", enums);
  Set(out.v, "files", files);
  std::set<std::string> seen;
  for (const auto &f : schema->functions()) {
    Append(fs, FunctionJson(f.name, f.input->full_name(), f.output->full_name()));
    AddTypes(f.input, messages, enums, &seen);
    AddTypes(f.output, messages, enums, &seen);
  }
  for (const auto &f : schema->files()) Append(files, json_string(f.name().c_str()));
  Print(out.v);
  return kOk;
}

// ---- call and cast --------------------------------------------------------

static std::string RequestText(const Options &opts) {
  if (opts.args.size() < 3) return "{}";
  if (opts.args[2] != "-") return opts.args[2];
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

int CallCommand(const Options &opts, bool cast) {
  const char *what = cast ? "cast" : "call";
  if (opts.args.size() < 2 || opts.args.size() > 3)
    throw Error(kUsage, std::string(what) + " takes NODE MODULE/FUNCTION ['{json}']");
  const std::string &target = opts.args[1];
  size_t slash = target.rfind('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == target.size())
    throw Error(kUsage, "expected MODULE/FUNCTION (\"kv.Store/Get\"), not '" + target + "'");
  std::string module = target.substr(0, slash), function = target.substr(slash + 1);
  std::string json = RequestText(opts);

  Client client(opts);
  std::unique_ptr<Schema> schema = LoadSchema(opts, client, module);
  const Schema::Function &fn = schema->Find(function);
  std::string request = schema->Encode(fn.input, json);
  // The version whose types were described, unless --version says otherwise.
  uint32_t version = opts.version ? opts.version : schema->version();
  if (cast) {
    // A refused cast is dropped without a word: say it here instead.
    if (!schema->allowed())
      throw Error(kRefused, "node " + client.target() + "'s module policy refuses " + module +
                                ": the cast would be dropped");
    client.Cast(module, function, request, version);
    RoundTrip(client); // the cast is written (and ordered before this) once it answers
    return kOk;
  }
  std::string reply = client.Call(module, function, request, version);
  std::cout << schema->Decode(fn.output, reply, opts) << "\n";
  return kOk;
}

// ---- health ---------------------------------------------------------------

int Health(const Options &opts) {
  if (opts.args.empty() || opts.args.size() > 2) throw Error(kUsage, "health takes NODE [MODULE]");
  Client client(opts);
  genrpc::HealthCheckRequest req;
  if (opts.args.size() == 2) req.set_module(opts.args[1]);
  std::string bytes = client.CallBuiltin("genrpc.Health", "Check", req.SerializeAsString(),
                                         kNotFound, " (health)");
  genrpc::HealthCheckResponse reply;
  if (!reply.ParseFromString(bytes))
    throw Error(kFailure, "node " + client.target() + " sent an undecodable health status");
  std::cout << genrpc::HealthCheckResponse::ServingStatus_Name(reply.status()) << "\n";
  switch (reply.status()) {
    case genrpc::HealthCheckResponse::SERVING:
      return kOk;
    case genrpc::HealthCheckResponse::NOT_SERVING:
      return kNotServing;
    case genrpc::HealthCheckResponse::SERVICE_UNKNOWN:
      return kNotFound;
    default:
      return kFailure;
  }
}

}  // namespace genrpc_cli
