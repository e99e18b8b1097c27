/*
 * broadcast.c - named handlers and the sending side of broadcasts.
 *
 * The registry is a small array next to the module registry (under the
 * same reg_lock); each entry is reference-counted so that unregistering
 * waits for the callbacks running on it, as genrpc_node_unregister does.
 *
 * abcast is an ABCAST frame per target, queued like a cast (never waits
 * for a connect). sbcast is an SBCAST frame per target sent as an async
 * call whose answer is an empty REPLY ("has the name") or an ERROR (why
 * not), all with one deadline (sbcast_receive_timeout), collected in the
 * caller's order like a multicall. The receiving side is in server.c.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- registry ------------------------------------------------------------ */

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
    if (genrpc__on_worker(node)) {
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

/* ---- sending ------------------------------------------------------------- */

static int
check_bcast(genrpc_node *node, const genrpc_target *targets, size_t n, const char *name,
            const ProtobufCMessage *msg, genrpc_status *st)
{
    if (!node || !name || !msg || !msg->descriptor || !msg->descriptor->name)
        return genrpc__fail(st, GENRPC_E_INVAL, "node, name and message are required");
    size_t nlen = strlen(name), tlen = strlen(msg->descriptor->name);
    if (nlen == 0 || nlen > GENRPC__NAME_MAX || tlen == 0 || tlen > GENRPC__NAME_MAX)
        return genrpc__fail(st, GENRPC_E_INVAL,
                            "handler name and message type name must be 1-%d bytes",
                            GENRPC__NAME_MAX);
    if (n > 0 && !targets)
        return genrpc__fail(st, GENRPC_E_INVAL, "targets is NULL but n is %zu", n);
    for (size_t i = 0; i < n; i++) {
        const genrpc_target *t = &targets[i];
        if (!t->node || !t->node[0] || (t->key_len && !t->key))
            return genrpc__fail(st, GENRPC_E_INVAL, "target %zu has no node name or a NULL key",
                                i);
    }
    return GENRPC_OK;
}

/* The whole frame, once: copied per target (each connection owns its frame
 * and stamps its own request id into it). */
static int
encode_bcast(genrpc_node *node, genrpc__kind kind, const char *name, const ProtobufCMessage *msg,
             genrpc__out **out, genrpc_status *st)
{
    const char *type = msg->descriptor->name;
    size_t nlen = strlen(name), tlen = strlen(type);
    size_t size = protobuf_c_message_get_packed_size(msg);
    size_t hdr = GENRPC__LEN_PREFIX + genrpc__bcast_hdr_size(nlen, tlen);
    if (hdr - GENRPC__LEN_PREFIX + size > node->cfg.max_frame_size)
        return genrpc__fail(st, GENRPC_E_TOO_BIG, "message of %zu bytes exceeds max_frame_size %zu",
                            size, node->cfg.max_frame_size);
    genrpc__out *o = genrpc__out_new(hdr + size);
    if (!o)
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a %zu-byte message", size);
    genrpc__bcast_hdr h = {0, {name, nlen}, {type, tlen}, NULL, size};
    genrpc__encode_bcast_hdr(o->data, hdr + size, kind, &h);
    protobuf_c_message_pack(msg, o->data + hdr);
    *out = o;
    return GENRPC_OK;
}

static genrpc__out *
out_copy(const genrpc__out *o)
{
    genrpc__out *c = genrpc__out_new(o->len);
    if (c)
        memcpy(c->data, o->data, o->len);
    return c;
}

int
genrpc_abcast(genrpc_node *node, const genrpc_target *targets, size_t n, const char *name,
              const ProtobufCMessage *msg, genrpc_status *st)
{
    int rc = check_bcast(node, targets, n, name, msg, st);
    genrpc__out *tmpl;
    if (rc != GENRPC_OK || n == 0 ||
        (rc = encode_bcast(node, GENRPC__K_ABCAST, name, msg, &tmpl, st)) != GENRPC_OK)
        return rc == GENRPC_OK ? genrpc__ok(st) : rc;
    for (size_t i = 0; i < n; i++) {
        genrpc_status s;
        genrpc__conn *conn;
        genrpc__out *o = i + 1 < n ? out_copy(tmpl) : tmpl;
        if (!o) {
            genrpc__log(node, GENRPC_LOG_DEBUG, "abcast to %s not sent: out of memory",
                        targets[i].node);
            continue;
        }
        if (o == tmpl)
            tmpl = NULL;
        if (genrpc__client_get(node, targets[i], &conn, &s) != GENRPC_OK) {
            genrpc__log(node, GENRPC_LOG_DEBUG, "abcast to %s not sent: %s", targets[i].node,
                        s.message);
            genrpc__out_free(o);
            continue;
        }
        /* like a cast: batched by the loop, in order on the connection */
        genrpc__conn_send(conn, o, GENRPC__FLUSH_DEFER);
        genrpc__conn_unref(conn);
    }
    if (tmpl) /* only when the last copy failed */
        genrpc__out_free(tmpl);
    return genrpc__ok(st);
}

/* The time left until `deadline` as a call timeout: at least 1 ms. */
static int64_t
ms_until(int64_t deadline)
{
    if (deadline == GENRPC__NEVER)
        return GENRPC_INFINITY;
    int64_t left = (deadline - genrpc__now_ns() + 999999) / 1000000;
    return left > 0 ? left : 1;
}

int
genrpc_sbcast(genrpc_node *node, const genrpc_target *targets, size_t n, const char *name,
              const ProtobufCMessage *msg, genrpc_sbcast_result *results, genrpc_status *st)
{
    int rc = check_bcast(node, targets, n, name, msg, st);
    if (rc != GENRPC_OK)
        return rc;
    if (n > 0 && !results)
        return genrpc__fail(st, GENRPC_E_INVAL, "results is required");
    if (genrpc__on_loop(node))
        return genrpc__fail(st, GENRPC_E_INVAL,
                            "sbcast from the node's event loop (it blocks; use abcast)");
    if (n == 0)
        return genrpc__ok(st);
    genrpc__out *tmpl;
    if ((rc = encode_bcast(node, GENRPC__K_SBCAST, name, msg, &tmpl, st)) != GENRPC_OK)
        return rc;
    genrpc_promise **promises = calloc(n, sizeof *promises);
    if (!promises) {
        genrpc__out_free(tmpl);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for %zu promises", n);
    }
    int64_t timeout_ms = node->cfg.sbcast_receive_timeout_ms;
    if (timeout_ms == 0)
        timeout_ms = 15000;
    int64_t deadline = genrpc__deadline_after_ms(timeout_ms);
    for (size_t i = 0; i < n; i++) {
        genrpc_status *s = &results[i].status;
        genrpc__out *o = out_copy(tmpl);
        if (!o) {
            genrpc__fail(s, GENRPC_E_NOMEM, "no memory for the message to %s", targets[i].node);
            continue;
        }
        /* not sent: its outcome is known now */
        genrpc__call_async_frame(node, targets[i], NULL, o, ms_until(deadline), true,
                                 &promises[i], s);
    }
    genrpc__out_free(tmpl);
    for (size_t i = 0; i < n; i++) {
        if (!promises[i])
            continue;
        genrpc_status *s = &results[i].status;
        if (genrpc_promise_yield(promises[i], NULL, s) == GENRPC_E_TIMEOUT)
            genrpc__fail(s, GENRPC_E_TIMEOUT, "no answer from %s within sbcast_receive_timeout "
                         "(%lld ms)", targets[i].node, (long long)timeout_ms);
        genrpc_promise_free(promises[i]);
    }
    free(promises);
    return genrpc__ok(st);
}
