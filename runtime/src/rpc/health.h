/*
 * health.h - the built-in module genrpc.Health (rpc layer): serving
 * statuses set by the application, per module and for the node, read with
 * gRPC's grpc.health.v1 semantics (docs/reflection.md, "Health").
 */
#ifndef GENRPC_RPC_HEALTH_H
#define GENRPC_RPC_HEALTH_H

#include <pthread.h>
#include <stddef.h>

#include "genrpc/genrpc.h"

/* One status the application set (genrpc_node_set_health). */
typedef struct genrpc__health_entry {
    char *module; /* "" for the node */
    genrpc_health status;
} genrpc__health_entry;

/* The statuses set, under mu (a leaf lock). */
typedef struct genrpc__health {
    pthread_mutex_t mu;
    genrpc__health_entry *v;
    size_t n, cap;
} genrpc__health;

void genrpc__health_init(genrpc__health *h);
void genrpc__health_destroy(genrpc__health *h);

/* Registers genrpc.Health on `node` (node.c, at start, unless the
 * configuration switches it off). A genrpc error. */
int genrpc__health_serve(genrpc_node *node);

#endif /* GENRPC_RPC_HEALTH_H */
