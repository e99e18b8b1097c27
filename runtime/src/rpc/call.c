/*
 * call.c - the caller's side of a call and a cast: encode the request once
 * into its outgoing frame, register the call in its connection's pending
 * table, write it (straight from the caller's thread when nothing is queued
 * ahead), then wait on the thread's own waiter. promise.c and callback.c
 * are the two asynchronous ways to wait.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/node.h"
#include "rpc/call.h"
#include "rpc/client.h"
#include "rpc/pending.h"

/* Unsent bytes on one connection past which casts fail with OVERLOAD. */
#define CAST_QUEUE_MAX ((size_t)64 << 20)

/* Requests at least this big are written straight from the caller's
 * memory (out.c), at once. Smaller ones are copied into their frame, which
 * lets the loop batch many into one write: measured on loopback (bench/),
 * batching wins over saving the copy for 64 KB requests (1.99 vs 1.31 GB/s
 * echoed at 16 in flight) and loses for 500 KB ones (1.85 vs 2.01 GB/s). */
#define REQUEST_BORROW_MIN ((size_t)256 << 10)

static bool
borrow_any(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
    return true;
}

int
genrpc__encode_request(genrpc_node *node, genrpc__kind kind, const genrpc_module_desc *module,
                       const genrpc_function_desc *fn, const ProtobufCMessage *req,
                       const genrpc_call_opts *opts, int64_t timeout_ms,
                       genrpc__borrow_mode borrow, genrpc__out **out, genrpc_status *st)
{
    if (!node || !module || !fn || !req || !module->name || !fn->name)
        return genrpc__fail(st, GENRPC_E_INVAL, "node, module, function and request are required");
    if (opts && (opts->flags & ~GENRPC_CALL_LEND_REQUEST))
        return genrpc__fail(st, GENRPC_E_INVAL, "unknown call flags 0x%x",
                            (unsigned)(opts->flags & ~GENRPC_CALL_LEND_REQUEST));
    if (req->descriptor != fn->input)
        return genrpc__fail(st, GENRPC_E_INVAL, "request is a %s, %s:%s takes a %s",
                            req->descriptor->name, module->name, fn->name, fn->input->name);
    size_t mlen = strlen(module->name), flen = strlen(fn->name);
    if (mlen > GENRPC__NAME_MAX || flen > GENRPC__NAME_MAX)
        return genrpc__fail(st, GENRPC_E_INVAL, "module or function name too long");
    size_t size = protobuf_c_message_get_packed_size(req);
    uint8_t proto = genrpc__node_proto(node);
    size_t hdr = GENRPC__LEN_PREFIX + genrpc__request_hdr_size(proto, mlen, flen, 0);
    if (hdr - GENRPC__LEN_PREFIX + size > node->cfg.max_frame_size)
        return genrpc__fail(st, GENRPC_E_TOO_BIG, "request of %zu bytes exceeds max_frame_size %zu",
                            size, node->cfg.max_frame_size);
    uint32_t version = opts && opts->version != GENRPC_ANY_VERSION ? opts->version : 0;
    genrpc__request_hdr h = {.proto = proto,
                             .version = version,
                             .timeout_ms = genrpc__wire_timeout(timeout_ms),
                             .module = {module->name, mlen},
                             .function = {fn->name, flen},
                             .payload_len = size};
    size_t borrow_min = borrow == GENRPC__BORROW_UNTIL_RELEASED ? GENRPC__BORROW_MIN : REQUEST_BORROW_MIN;
    genrpc__out *o = borrow != GENRPC__BORROW_NOTHING && size >= borrow_min
                         ? genrpc__out_scatter(req, hdr, size, borrow_any, NULL)
                         : NULL;
    if (o) {
        o->borrowed = borrow == GENRPC__BORROW_WHILE_SENDING;
        genrpc__encode_request_hdr(o->data, hdr, kind, &h);
    } else {
        if (!(o = genrpc__out_new(hdr + size)))
            return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a %zu-byte request", size);
        genrpc__encode_request_hdr(o->data, hdr + size, kind, &h);
        protobuf_c_message_pack(req, o->data + hdr);
    }
    o->proto = proto;
    *out = o;
    return GENRPC_OK;
}

int
genrpc__register_call(genrpc_node *node, genrpc_target target, genrpc__pending *p,
                      genrpc__out *o, genrpc__conn **conn, genrpc_status *st)
{
    for (int attempt = 0;; attempt++) {
        int rc = genrpc__client_get(node, target, conn, st);
        if (rc != GENRPC_OK)
            return rc;
        genrpc__conn *c = *conn;
        rc = genrpc__pending_insert(c, p);
        if (rc == GENRPC_OK) {
            p->conn = c; /* the caller's reference: for a token to find p */
            genrpc__put_u64(o->data + GENRPC__REQ_ID_OFFSET, p->req_id);
            return GENRPC_OK;
        }
        *conn = NULL;
        if (rc == GENRPC_E_CLOSED && c->was_ready && attempt == 0) {
            genrpc__conn_unref(c);
            continue;
        }
        if (rc == GENRPC_E_CLOSED)
            genrpc__fail(st, c->close_err ? c->close_err : rc, "%s: %s", c->peer, c->close_msg);
        else
            genrpc__fail(st, rc, "cannot register the call");
        genrpc__conn_unref(c);
        return st->err;
    }
}

int
genrpc__register_cancel(genrpc__pending *p, const genrpc_call_opts *opts, genrpc_status *st)
{
    if (!opts || !opts->cancel || genrpc__cancel_attach(p, opts->cancel))
        return GENRPC_OK;
    genrpc__pending_withdraw(p->conn, p); /* nobody else has seen it */
    return genrpc__fail(st, GENRPC_E_CANCELLED, "cancelled before it was sent");
}

int
genrpc__call_finish(genrpc__pending *p, ProtobufCMessage **reply, genrpc_status *st)
{
    int err = p->status.err;
    if (err == GENRPC_OK && p->fn) { /* no fn: nothing to decode (sbcast) */
        ProtobufCMessage *m = protobuf_c_message_unpack(p->fn->output, NULL, p->reply.len,
                                                        p->reply.data);
        if (m && reply)
            *reply = m;
        else if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        else
            genrpc__fail(&p->status, GENRPC_E_PROTOCOL, "cannot decode the %s reply",
                         p->fn->output->name);
        err = p->status.err;
    }
    genrpc__slice_release(&p->reply);
    if (st)
        *st = p->status;
    return err;
}

/* ---- call ---------------------------------------------------------------- */

/* One waiter per thread, made on first use. The mutex and condition
 * variable live as long as the thread; a condition variable on
 * CLOCK_MONOTONIC makes timeouts immune to wall-clock jumps. */
static __thread genrpc__waiter tl_waiter;
static __thread bool tl_waiter_ready;

genrpc__waiter *
genrpc__thread_waiter(void)
{
    if (!tl_waiter_ready) {
        genrpc__cond_init_monotonic(&tl_waiter.cond);
        pthread_mutex_init(&tl_waiter.mu, NULL);
        tl_waiter_ready = true;
    }
    return &tl_waiter;
}


static void
wait_waiter(genrpc__pending *p, int64_t deadline)
{
    genrpc__waiter *w = p->waiter;
    struct timespec ts;
    genrpc__abstime(deadline, &ts);
    genrpc__worker_blocking(); /* the reply comes through the loop */
    pthread_mutex_lock(&w->mu);
    while (!p->done) {
        if (deadline == GENRPC__NEVER)
            pthread_cond_wait(&w->cond, &w->mu);
        else if (pthread_cond_timedwait(&w->cond, &w->mu, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&w->mu);
}

/* One attempt of genrpc_call: timeout_ms is what is left until deadline. */
static int
call_once(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
          const genrpc_function_desc *fn, const ProtobufCMessage *request,
          ProtobufCMessage **reply, const genrpc_call_opts *opts, int64_t timeout_ms,
          int64_t deadline, genrpc_status *st)
{
    genrpc__out *o;
    int rc = genrpc__encode_request(node, GENRPC__K_CALL, module, fn, request, opts, timeout_ms,
                                    GENRPC__BORROW_WHILE_SENDING, &o, st);
    if (rc != GENRPC_OK)
        return rc;

    genrpc__pending p = {.mode = GENRPC__WAITER, .fn = fn, .waiter = genrpc__thread_waiter()};
    genrpc__conn *conn;
    if ((rc = genrpc__register_call(node, target, &p, o, &conn, &p.status)) != GENRPC_OK ||
        (rc = genrpc__register_cancel(&p, opts, &p.status)) != GENRPC_OK) {
        genrpc__out_free(o);
        if (rc == GENRPC_E_CANCELLED)
            genrpc__conn_unref(conn);
        if (st)
            *st = p.status;
        return rc;
    }
    genrpc__conn_send(conn, o, GENRPC__FLUSH_NOW);
    wait_waiter(&p, deadline);
    if (!p.done) {
        if (genrpc__pending_remove(conn, &p))
            genrpc__fail(&p.status, GENRPC_E_TIMEOUT, "no reply from %s within %lld ms",
                         target.node, (long long)timeout_ms);
        else
            wait_waiter(&p, GENRPC__NEVER); /* the reply is being handed over right now */
    }
    genrpc__conn_unref(conn);
    return genrpc__call_finish(&p, reply, st);
}

int
genrpc_call(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
            const genrpc_function_desc *fn, const ProtobufCMessage *request,
            ProtobufCMessage **reply, const genrpc_call_opts *opts, genrpc_status *st)
{
    if (reply)
        *reply = NULL;
    if (!reply || !node)
        return genrpc__fail(st, GENRPC_E_INVAL, "reply and node are required");
    if (genrpc__on_loop(&node->loop))
        return genrpc__fail(st, GENRPC_E_INVAL,
                            "blocking call from the node's event loop (use an async call)");
    int64_t timeout_ms = genrpc__call_timeout_ms(node, opts);
    int64_t deadline = genrpc__deadline_after_ms(timeout_ms);
    int rc = call_once(node, target, module, fn, request, reply, opts, timeout_ms, deadline, st);
    /* UNAVAILABLE: it did not run (the peer went away before reading it, or
     * it was never written, or a draining node refused the connection).
     * Once more on a fresh connection, within the same deadline. */
    if (rc == GENRPC_E_UNAVAILABLE && genrpc__now_ns() < deadline) {
        atomic_fetch_add_explicit(&node->retried_calls, 1, memory_order_relaxed);
        genrpc__log(&node->cfg, GENRPC_LOG_DEBUG, "%s:%s to %s did not run: sent again",
                    module->name, fn->name, target.node);
        rc = call_once(node, target, module, fn, request, reply, opts,
                       genrpc__ms_until(deadline), deadline, st);
    }
    return rc;
}

/* ---- cast ---------------------------------------------------------------- */

int
genrpc_cast(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
            const genrpc_function_desc *fn, const ProtobufCMessage *request,
            const genrpc_call_opts *opts, genrpc_status *st)
{
    genrpc__out *o;
    int rc = genrpc__encode_request(node, GENRPC__K_CAST, module, fn, request, opts,
                                    genrpc__cast_timeout_ms(opts), GENRPC__BORROW_WHILE_SENDING,
                                    &o, st);
    if (rc != GENRPC_OK)
        return rc;
    genrpc__conn *conn;
    if ((rc = genrpc__client_get(node, target, &conn, st)) != GENRPC_OK) {
        genrpc__out_free(o);
        return rc;
    }
    /* Casts have no reply to wait for, so nothing else bounds them: past
     * CAST_QUEUE_MAX unsent bytes (a peer that stopped reading) they fail
     * instead of growing the caller's memory without end. */
    size_t queued = genrpc__conn_queued_bytes(conn);
    if (queued > CAST_QUEUE_MAX) {
        genrpc__out_free(o);
        rc = genrpc__fail(st, GENRPC_E_OVERLOAD,
                          "%zu bytes already queued for %s: it is not reading", queued,
                          target.node);
        genrpc__conn_unref(conn);
        return rc;
    }
    /* Nobody waits for a cast: let the loop write them in batches (one
     * writev for many) instead of one system call each. Order is kept:
     * there is one queue per connection. */
    genrpc__conn_send(conn, o, GENRPC__FLUSH_DEFER);
    genrpc__conn_unref(conn);
    return genrpc__ok(st);
}

