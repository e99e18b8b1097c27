/*
 * registry.h - what a node serves (rpc layer): modules by name and version
 * (modules.c) and named broadcast handlers (handlers.c), each entry a
 * reference-counted base/registry entry that unregistering waits for.
 */
#ifndef GENRPC_RPC_REGISTRY_H
#define GENRPC_RPC_REGISTRY_H

#include <protobuf-c/protobuf-c.h>

#include "genrpc/genrpc.h"
#include "base/registry.h"
#include "base/str.h"
#include "rpc/stats.h"
#include "wire/frame.h"

typedef struct genrpc__reg {
    genrpc__regentry e; /* name + version in node->modules; refs: 1 + 1 per job */
    const genrpc_module_desc *desc;
    const void *impl;
    void *user;
    genrpc__fn_stats *fn_stats; /* one per desc->functions[i] (handler.c counts) */
} genrpc__reg;

void genrpc__reg_unref(genrpc_node *node, genrpc__reg *r);

/* Policy, then module/version, then function. On success *reg holds a
 * reference. On failure fills st with the error for the caller. */
int genrpc__resolve(genrpc_node *node, const genrpc__request_hdr *h, genrpc__reg **reg,
                    const genrpc_function_desc **fn, genrpc_status *st);

typedef struct genrpc__handler {
    genrpc__regentry e; /* name in node->handlers; refs: 1 + 1 per job */
    char name[GENRPC__NAME_MAX + 1];
    const ProtobufCMessageDescriptor *type;
    genrpc_handler_thunk thunk; /* NULL: cb is a genrpc_handler_fn */
    genrpc_generic_fn cb;
    void *user;
} genrpc__handler;

/* The handler registered under `name`, with a reference; NULL if none. */
genrpc__handler *genrpc__handler_find(genrpc_node *node, genrpc__str name);
void genrpc__handler_unref(genrpc_node *node, genrpc__handler *h);
void genrpc__handler_invoke(genrpc__handler *h, genrpc_node *node, const char *from,
                            const ProtobufCMessage *msg);


#endif /* GENRPC_RPC_REGISTRY_H */
