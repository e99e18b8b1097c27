/*
 * model.h - what the generator knows about one .proto file: its services
 * and rpcs with every C name already mangled, their genrpc options and
 * their source lines. Built once by cg_file_build, then checked
 * (check.c) and printed (emit_header.c, emit_source.c).
 */
#ifndef CG_MODEL_H
#define CG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "google/protobuf/compiler/plugin.pb-c.h"
#include "options.h"
#include "strbuf.h"

typedef Google__Protobuf__Compiler__CodeGeneratorRequest cg_request;
typedef Google__Protobuf__FileDescriptorProto cg_file_proto;

/* A message type used as a request or reply. */
typedef struct cg_type {
    const char *full; /* as in the IDL, without the leading dot: "kv.GetRequest" */
    char *c_name;  /* "Kv__GetRequest" */
    char *lower;   /* "kv__get_request": + "__descriptor", "__free_unpacked" */
    const char *file; /* the .proto defining it: "dir/kv.proto" */
} cg_type;

typedef struct cg_method {
    const char *name;   /* as in the IDL: "GetValue" */
    char *member;       /* Impl member: "get_value" */
    char *lower;        /* "kv__store__get_value" */
    char *camel;        /* "GetValue", for "Kv__Store__GetValueCb" */
    cg_type input;
    cg_type output;
    bool internal;      /* (genrpc.internal) */
    bool client_streaming;
    bool server_streaming;
    int line;           /* 1-based; 0 if unknown */
} cg_method;

typedef struct cg_service {
    const char *name;   /* "Store" */
    char *full_name;    /* "kv.Store" */
    char *c_name;       /* "Kv__Store" */
    char *lower;        /* "kv__store" */
    char *upper;        /* "KV__STORE" */
    cg_service_options opts;
    bool opts_ok;       /* false: opts_err says why */
    char opts_err[CG_OPT_ERR_MAX];
    const char *module; /* wire name: opts.module or full_name */
    int line;           /* of the service */
    int module_line;    /* of option (genrpc.module), else the service's */
    size_t n_methods;
    cg_method *methods;
} cg_service;

/* A message declared with option (genrpc.broadcast) = true. */
typedef struct cg_bcast {
    cg_type type;       /* full name, C names; file is this file */
    int line;           /* of the message; 0 if unknown */
} cg_bcast;

typedef struct cg_file {
    const cg_request *req; /* every file protoc sent (this one's imports too) */
    const cg_file_proto *proto;
    const char *name;   /* "dir/kv.proto" */
    char *base;         /* "dir/kv" */
    size_t n_services;
    cg_service *services;
    size_t n_bcasts;    /* broadcastable messages, in file order (nested after parent) */
    cg_bcast *bcasts;
} cg_file;

/* Builds the model of `proto`, resolving request/reply types through every
 * file of `req`. On error (a type not found) returns -1 with a message in
 * `err`. Free with cg_file_free, also after a failure. */
int cg_file_build(const cg_request *req, const cg_file_proto *proto, cg_file *out,
                  cg_strbuf *err);

void cg_file_free(cg_file *file);

/* "file.proto:LINE: service Store: " prefix of every diagnostic. */
void cg_diag_prefix(cg_strbuf *sb, const cg_file *file, int line, const cg_service *svc);

#endif /* CG_MODEL_H */
