/*
 * health.c - serving statuses (genrpc_node_set_health, genrpc_node_health)
 * and the built-in module genrpc.Health that reports them (IDL:
 * idl/genrpc/health.proto; docs/reflection.md, "Health"), with the
 * semantics of gRPC's grpc.health.v1: per module, "" for the whole node.
 *
 * What is not set has a default: the node and every registered module are
 * SERVING, any other name SERVICE_UNKNOWN. While the node drains
 * (node->net.draining, set by genrpc_node_drain), whatever is known reads NOT_SERVING.
 */
#include <stdlib.h>
#include <string.h>

#include "genrpc/health.genrpc.h"
#include "rpc/health.h"
#include "rpc/node.h"

void
genrpc__health_init(genrpc__health *h)
{
    pthread_mutex_init(&h->mu, NULL);
    h->v = NULL;
    h->n = h->cap = 0;
}

void
genrpc__health_destroy(genrpc__health *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->v[i].module);
    free(h->v);
    pthread_mutex_destroy(&h->mu);
}

/* Index of `module` in h->v, or h->n. Under h->mu. */
static size_t
find(const genrpc__health *h, const char *module)
{
    size_t i = 0;
    while (i < h->n && strcmp(h->v[i].module, module) != 0)
        i++;
    return i;
}

/* Adds or replaces the entry of `module` (not yet in the table when i ==
 * h->n). Under h->mu. */
static int
set_entry(genrpc__health *h, size_t i, const char *module, genrpc_health status)
{
    if (i < h->n) {
        h->v[i].status = status;
        return GENRPC_OK;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 8;
        genrpc__health_entry *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return GENRPC_E_NOMEM;
        h->v = v;
        h->cap = cap;
    }
    if (!(h->v[h->n].module = strdup(module)))
        return GENRPC_E_NOMEM;
    h->v[h->n++].status = status;
    return GENRPC_OK;
}

int
genrpc_node_set_health(genrpc_node *node, const char *module, genrpc_health status)
{
    if (!module)
        module = "";
    if (!node || strlen(module) > GENRPC__NAME_MAX ||
        (status != GENRPC_HEALTH_SERVING && status != GENRPC_HEALTH_NOT_SERVING &&
         status != GENRPC_HEALTH_UNKNOWN))
        return GENRPC_E_INVAL;
    genrpc__health *h = &node->health;
    int rc = GENRPC_OK;
    pthread_mutex_lock(&h->mu);
    size_t i = find(h, module);
    if (status != GENRPC_HEALTH_UNKNOWN) {
        rc = set_entry(h, i, module, status);
    } else if (i < h->n) { /* forget it: the last entry takes its place */
        free(h->v[i].module);
        h->v[i] = h->v[--h->n];
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

genrpc_health
genrpc_node_health(genrpc_node *node, const char *module)
{
    if (!node)
        return GENRPC_HEALTH_UNKNOWN;
    if (!module)
        module = "";
    genrpc__health *h = &node->health;
    genrpc_health status = GENRPC_HEALTH_SERVICE_UNKNOWN;
    pthread_mutex_lock(&h->mu);
    size_t i = find(h, module);
    bool set = i < h->n;
    if (set)
        status = h->v[i].status;
    pthread_mutex_unlock(&h->mu);
    if (!set) {
        genrpc__regentry *e =
            module[0] ? genrpc__registry_lookup(&node->modules,
                                                (genrpc__str){module, strlen(module)}, 0)
                      : NULL;
        status = !module[0] || e ? GENRPC_HEALTH_SERVING : GENRPC_HEALTH_SERVICE_UNKNOWN;
        if (e)
            genrpc__registry_unref(&node->modules, e);
    }
    if (atomic_load(&node->net.draining) && status != GENRPC_HEALTH_SERVICE_UNKNOWN)
        status = GENRPC_HEALTH_NOT_SERVING;
    return status;
}

static int
health_check(const Genrpc__HealthCheckRequest *req, Genrpc__HealthCheckResponse *reply,
             genrpc_ctx *ctx)
{
    reply->status = (Genrpc__HealthCheckResponse__ServingStatus)genrpc_node_health(
        genrpc_ctx_node(ctx), req->module);
    return 0;
}

static const Genrpc__Health__Impl health_impl = {
    .check = health_check,
};

int
genrpc__health_serve(genrpc_node *node)
{
    return genrpc__health__register(node, &health_impl, NULL);
}
