/*
 * handlers.c - the registry of named handlers (broadcast receivers).
 *
 * A small array next to the module registry (under the same reg_lock);
 * each entry is reference-counted so that unregistering waits for the
 * callbacks running on it, as genrpc_node_unregister does.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
    atomic_init(&h->refs, 1);
    int rc = GENRPC_OK;
    pthread_rwlock_wrlock(&node->reg_lock);
    for (size_t i = 0; i < node->n_handlers; i++)
        if (strcmp(node->handlers[i]->name, name) == 0)
            rc = GENRPC_E_EXISTS;
    if (rc == GENRPC_OK && node->n_handlers == node->cap_handlers) {
        size_t ncap = node->cap_handlers ? node->cap_handlers * 2 : 8;
        genrpc__handler **nh = realloc(node->handlers, ncap * sizeof *nh);
        if (nh) {
            node->handlers = nh;
            node->cap_handlers = ncap;
        } else {
            rc = GENRPC_E_NOMEM;
        }
    }
    if (rc == GENRPC_OK)
        node->handlers[node->n_handlers++] = h;
    pthread_rwlock_unlock(&node->reg_lock);
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
    int before = atomic_fetch_sub(&h->refs, 1);
    if (before == 1) {
        free(h); /* unregistered from a worker: the last job frees it */
    } else if (before == 2) {
        /* maybe only the unregistering thread is left: wake it */
        pthread_mutex_lock(&node->reg_wait_mu);
        pthread_cond_broadcast(&node->reg_wait_cond);
        pthread_mutex_unlock(&node->reg_wait_mu);
    }
}

int
genrpc_handler_unregister(genrpc_node *node, const char *name)
{
    if (!node || !name)
        return GENRPC_E_INVAL;
    genrpc__handler *h = NULL;
    pthread_rwlock_wrlock(&node->reg_lock);
    for (size_t i = 0; i < node->n_handlers; i++) {
        if (strcmp(node->handlers[i]->name, name) == 0) {
            h = node->handlers[i];
            node->handlers[i] = node->handlers[--node->n_handlers];
            break;
        }
    }
    pthread_rwlock_unlock(&node->reg_lock);
    if (!h)
        return GENRPC_E_NOT_FOUND;
    if (genrpc__on_worker(&node->runner)) {
        genrpc__handler_unref(node, h); /* running jobs keep it alive */
        return GENRPC_OK;
    }
    pthread_mutex_lock(&node->reg_wait_mu);
    while (atomic_load(&h->refs) > 1)
        pthread_cond_wait(&node->reg_wait_cond, &node->reg_wait_mu);
    pthread_mutex_unlock(&node->reg_wait_mu);
    free(h);
    return GENRPC_OK;
}

genrpc__handler *
genrpc__handler_find(genrpc_node *node, genrpc__str name)
{
    genrpc__handler *found = NULL;
    pthread_rwlock_rdlock(&node->reg_lock);
    for (size_t i = 0; i < node->n_handlers && !found; i++) {
        genrpc__handler *h = node->handlers[i];
        if (strlen(h->name) == name.len && memcmp(h->name, name.p, name.len) == 0)
            found = h;
    }
    if (found)
        atomic_fetch_add(&found->refs, 1);
    pthread_rwlock_unlock(&node->reg_lock);
    return found;
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

void
genrpc__handlers_free(genrpc_node *node)
{
    for (size_t i = 0; i < node->n_handlers; i++)
        free(node->handlers[i]);
    free(node->handlers);
    node->handlers = NULL;
    node->n_handlers = node->cap_handlers = 0;
}

