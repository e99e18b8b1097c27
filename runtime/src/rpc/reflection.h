/*
 * reflection.h - the built-in module genrpc.Reflection (rpc layer): what a
 * node serves and the descriptors of its messages (docs/reflection.md).
 */
#ifndef GENRPC_RPC_REFLECTION_H
#define GENRPC_RPC_REFLECTION_H

#include "genrpc/genrpc.h"

/* Registers genrpc.Reflection on `node` (node.c, at start, unless the
 * configuration switches it off). A genrpc error. */
int genrpc__reflection_serve(genrpc_node *node);

#endif /* GENRPC_RPC_REFLECTION_H */
