/*
 * handlers.c - the registry of named handlers (broadcast receivers).
 *
 * A base/registry (names only, version 0) next to the module registry:
 * unregistering waits for the callbacks running on a handler, as
 * genrpc_node_unregister does, except from a worker (the last job frees it).
 */
#include <stdlib.h>
#include <string.h>

#include "rpc/node.h"
#include "rpc/registry.h"

#define HANDLER_OF(e) GENRPC__CONTAINER_OF(e, genrpc__handler, e)

static void
handler_free(genrpc__regentry *e)
{
    free(HANDLER_OF(e));
}

static int
handler_add(genrpc_node *node, const char *name, const ProtobufCMessageDescriptor *type,
            genrpc_handler_thunk thunk, genrpc_generic_fn cb, void *user)
{
    if (!node || !name || !type || !cb || !name[0] || strlen(name) > GENRPC__NAME_MAX ||
        type->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC || !type->name ||
        strlen(type->name) > GENRPC__NAME_MAX)
        return GENRPC_E_INVAL;
    genrpc__handler *h = calloc(1, sizeof *h);
    if (!h)
        return GENRPC_E_NOMEM;
    strcpy(h->name, name);
    h->type = type;
    h->thunk = thunk;
    h->cb = cb;
    h->user = user;
    h->e.name = h->name;
    h->e.version = 0;
    h->e.free = handler_free;
    int rc = genrpc__registry_add(&node->handlers, &h->e);
    if (rc != GENRPC_OK)
        free(h);
    return rc;
}

int
genrpc_handler_register(genrpc_node *node, const char *name,
                        const ProtobufCMessageDescriptor *msg_type, genrpc_handler_fn cb,
                        void *user)
{
    return handler_add(node, name, msg_type, NULL, (genrpc_generic_fn)cb, user);
}

int
genrpc_handler_register_typed(genrpc_node *node, const char *name,
                              const ProtobufCMessageDescriptor *msg_type,
                              genrpc_handler_thunk thunk, genrpc_generic_fn cb, void *user)
{
    if (!thunk)
        return GENRPC_E_INVAL;
    return handler_add(node, name, msg_type, thunk, cb, user);
}

void
genrpc__handler_unref(genrpc_node *node, genrpc__handler *h)
{
    genrpc__registry_unref(&node->handlers, &h->e);
}

int
genrpc_handler_unregister(genrpc_node *node, const char *name)
{
    if (!node || !name)
        return GENRPC_E_INVAL;
    /* From a worker, running jobs keep it alive (the caller's own job may
     * be one of them): the last one frees it. */
    return genrpc__registry_remove(&node->handlers, name, 0, !genrpc__on_worker(&node->runner));
}

genrpc__handler *
genrpc__handler_find(genrpc_node *node, genrpc__str name)
{
    genrpc__regentry *e = genrpc__registry_lookup(&node->handlers, name, 0);
    return e ? HANDLER_OF(e) : NULL;
}

void
genrpc__handler_invoke(genrpc__handler *h, genrpc_node *node, const char *from,
                       const ProtobufCMessage *msg)
{
    if (h->thunk)
        h->thunk(h->cb, node, from, msg, h->user);
    else
        ((genrpc_handler_fn)h->cb)(node, from, msg, h->user);
}

