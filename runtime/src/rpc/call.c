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

/* The helpers every call's path shares with genrpc_call_raw are inlined
 * into it: as functions of their own they cost each call ~20 instructions
 * (bench/instructions). */
#define CALL_PATH_INLINE static inline __attribute__((always_inline))

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

/* Checks what every request frame needs and fills its header `h` and
 * `*hdr` (the header's size with the length prefix) for a payload of
 * `size` bytes, in this node's protocol version, with timeout_ms
 * (GENRPC_INFINITY: none) as its deadline. */
CALL_PATH_INLINE int
request_header(genrpc_node *node, const char *module, const char *function, size_t size,
               const genrpc_call_opts *opts, int64_t timeout_ms, genrpc__request_hdr *h,
               size_t *hdr, genrpc_status *st)
{
    if (opts && (opts->flags & ~GENRPC_CALL_LEND_REQUEST))
        return genrpc__fail(st, GENRPC_E_INVAL, "unknown call flags 0x%x",
                            (unsigned)(opts->flags & ~GENRPC_CALL_LEND_REQUEST));
    size_t mlen = strlen(module), flen = strlen(function);
    if (mlen > GENRPC__NAME_MAX || flen > GENRPC__NAME_MAX)
        return genrpc__fail(st, GENRPC_E_INVAL, "module or function name too long");
    uint8_t proto = genrpc__node_proto(node);
    /* headers: version 2 only (a version-1 connection drops them: out.c) */
    genrpc__str md = proto >= 2 && opts ? genrpc__md_block(opts->headers) : (genrpc__str){0};
    *hdr = GENRPC__LEN_PREFIX + genrpc__request_hdr_size(proto, mlen, flen, md.len);
    if (*hdr - GENRPC__LEN_PREFIX + size > node->cfg.max_frame_size)
        return genrpc__fail(st, GENRPC_E_TOO_BIG, "request of %zu bytes exceeds max_frame_size %zu",
                            size, node->cfg.max_frame_size);
    uint32_t version = opts && opts->version != GENRPC_ANY_VERSION ? opts->version : 0;
    *h = (genrpc__request_hdr){.proto = proto,
                               .version = version,
                               .timeout_ms = genrpc__wire_timeout(timeout_ms),
                               .flags = md.len ? GENRPC__F_METADATA : 0,
                               .module = {module, mlen},
                               .function = {function, flen},
                               .metadata = md,
                               .payload_len = size};
    return GENRPC_OK;
}

int
genrpc__encode_request(genrpc_node *node, genrpc__kind kind, const genrpc_module_desc *module,
                       const genrpc_function_desc *fn, const ProtobufCMessage *req,
                       const genrpc_call_opts *opts, int64_t timeout_ms,
                       genrpc__borrow_mode borrow, genrpc__out **out, genrpc_status *st)
{
    if (!node || !module || !fn || !req || !module->name || !fn->name)
        return genrpc__fail(st, GENRPC_E_INVAL, "node, module, function and request are required");
    if (req->descriptor != fn->input)
        return genrpc__fail(st, GENRPC_E_INVAL, "request is a %s, %s:%s takes a %s",
                            req->descriptor->name, module->name, fn->name, fn->input->name);
    size_t size = protobuf_c_message_get_packed_size(req), hdr = 0;
    genrpc__request_hdr h;
    int rc = request_header(node, module->name, fn->name, size, opts, timeout_ms, &h, &hdr, st);
    if (rc != GENRPC_OK)
        return rc;
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
    o->proto = h.proto;
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

/* Sends the encoded request `o` (given up) as the call `p` and waits for
 * its outcome until `deadline` (timeout_ms from its start); p->status says
 * how it ended (p->reply holds the reply's payload on GENRPC_OK). Returns
 * what registering the call returned: on an error p->status is filled and
 * nothing was sent. */
CALL_PATH_INLINE int
call_and_wait(genrpc_node *node, genrpc_target target, genrpc__out *o, genrpc__pending *p,
              int64_t timeout_ms, int64_t deadline, const genrpc_call_opts *opts)
{
    genrpc__conn *conn;
    int rc = genrpc__register_call(node, target, p, o, &conn, &p->status);
    if (rc == GENRPC_OK && (rc = genrpc__register_cancel(p, opts, &p->status)) != GENRPC_OK)
        genrpc__conn_unref(conn);
    if (rc != GENRPC_OK) {
        genrpc__out_free(o);
        return rc;
    }
    genrpc__conn_send(conn, genrpc__maybe_compress(conn, o), GENRPC__FLUSH_NOW);
    wait_waiter(p, deadline);
    if (!p->done) {
        if (genrpc__pending_remove(conn, p))
            genrpc__fail(&p->status, GENRPC_E_TIMEOUT, "no reply from %s within %lld ms",
                         target.node, (long long)timeout_ms);
        else
            wait_waiter(p, GENRPC__NEVER); /* the reply is being handed over right now */
    }
    genrpc__conn_unref(conn);
    return GENRPC_OK;
}

CALL_PATH_INLINE int
check_blocking_call(genrpc_node *node, const void *reply, genrpc_status *st)
{
    if (!reply || !node)
        return genrpc__fail(st, GENRPC_E_INVAL, "reply and node are required");
    if (genrpc__on_loop(&node->loop))
        return genrpc__fail(st, GENRPC_E_INVAL,
                            "blocking call from the node's event loop (use an async call)");
    return GENRPC_OK;
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
    genrpc__pending p = {.mode = GENRPC__WAITER, .fn = fn, .waiter = genrpc__thread_waiter(),
                         .trailers = opts ? opts->trailers : NULL};
    if ((rc = call_and_wait(node, target, o, &p, timeout_ms, deadline, opts)) != GENRPC_OK) {
        if (st)
            *st = p.status;
        return rc;
    }
    return genrpc__call_finish(&p, reply, st);
}

/* UNAVAILABLE: the call did not run (the peer went away before reading it,
 * it was never written, or a draining node refused the connection). A
 * blocking call, which still has its request, goes once more on a fresh
 * connection, within its deadline. */
static bool
send_again(genrpc_node *node, int rc, int64_t deadline, const char *what, const char *target)
{
    if (rc != GENRPC_E_UNAVAILABLE || genrpc__now_ns() >= deadline)
        return false;
    atomic_fetch_add_explicit(&node->retried_calls, 1, memory_order_relaxed);
    genrpc__log(&node->cfg, GENRPC_LOG_DEBUG, "%s to %s did not run: sent again", what, target);
    return true;
}

/* The outcome of an intercepted call for its `after` hooks (st may be
 * NULL: the caller did not ask for it). */
static int
icpt_done(genrpc__icpt_call *ic, int rc, const genrpc_status *st)
{
    genrpc_status mine;
    if (!st) {
        genrpc__fail(&mine, rc, "%s", genrpc_strerror(rc));
        st = &mine;
    }
    genrpc__icpt_end(ic, st);
    return rc;
}

int
genrpc_call(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
            const genrpc_function_desc *fn, const ProtobufCMessage *request,
            ProtobufCMessage **reply, const genrpc_call_opts *opts, genrpc_status *st)
{
    if (reply)
        *reply = NULL;
    int rc = check_blocking_call(node, reply, st);
    if (rc != GENRPC_OK)
        return rc;
    int64_t timeout_ms = genrpc__call_timeout_ms(node, opts);
    int64_t deadline = genrpc__deadline_after_ms(timeout_ms);
    genrpc__icpt_call *ic;
    genrpc_call_opts icopts;
    rc = genrpc__call_start(node, target, module, fn, false, timeout_ms, &opts, &icopts, &ic, st);
    if (rc != GENRPC_OK)
        return rc;
    rc = call_once(node, target, module, fn, request, reply, opts, timeout_ms, deadline, st);
    if (send_again(node, rc, deadline, fn ? fn->name : "a call", target.node))
        rc = call_once(node, target, module, fn, request, reply, opts,
                       genrpc__ms_until(deadline), deadline, st);
    return ic ? icpt_done(ic, rc, st) : rc;
}

/* ---- calls by name with encoded payloads (genrpc_call_raw) ----------------- */

/* A request frame around `len` encoded bytes (copied). */
static int
encode_raw(genrpc_node *node, genrpc__kind kind, const char *module, const char *function,
           const void *request, size_t len, const genrpc_call_opts *opts, int64_t timeout_ms,
           genrpc__out **out, genrpc_status *st)
{
    if (!node || !module || !function || (len && !request))
        return genrpc__fail(st, GENRPC_E_INVAL, "node, module, function and request are required");
    if (!module[0] || !function[0])
        return genrpc__fail(st, GENRPC_E_INVAL, "empty module or function name");
    size_t hdr = 0;
    genrpc__request_hdr h;
    int rc = request_header(node, module, function, len, opts, timeout_ms, &h, &hdr, st);
    if (rc != GENRPC_OK)
        return rc;
    genrpc__out *o = genrpc__out_new(hdr + len);
    if (!o)
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a %zu-byte request", len);
    genrpc__encode_request_hdr(o->data, hdr + len, kind, &h);
    if (len)
        memcpy(o->data + hdr, request, len);
    o->proto = h.proto;
    *out = o;
    return GENRPC_OK;
}

/* One attempt of genrpc_call_raw. */
static int
call_raw_once(genrpc_node *node, genrpc_target target, const char *module, const char *function,
              const void *request, size_t len, void **reply, size_t *reply_len,
              const genrpc_call_opts *opts, int64_t timeout_ms, int64_t deadline,
              genrpc_status *st)
{
    genrpc__out *o;
    int rc = encode_raw(node, GENRPC__K_CALL, module, function, request, len, opts, timeout_ms,
                        &o, st);
    if (rc != GENRPC_OK)
        return rc;
    genrpc__pending p = {.mode = GENRPC__WAITER, .fn = NULL, .waiter = genrpc__thread_waiter(),
                         .trailers = opts ? opts->trailers : NULL};
    if ((rc = call_and_wait(node, target, o, &p, timeout_ms, deadline, opts)) != GENRPC_OK) {
        if (st)
            *st = p.status;
        return rc;
    }
    if (p.status.err == GENRPC_OK) {
        /* one byte more, so that an empty reply is not a NULL buffer */
        uint8_t *copy = malloc(p.reply.len + 1);
        if (copy) {
            if (p.reply.len)
                memcpy(copy, p.reply.data, p.reply.len);
            *reply = copy;
            *reply_len = p.reply.len;
        } else {
            genrpc__fail(&p.status, GENRPC_E_NOMEM, "no memory for a %zu-byte reply",
                         p.reply.len);
        }
    }
    return genrpc__call_finish(&p, NULL, st);
}

int
genrpc_call_raw(genrpc_node *node, genrpc_target target, const char *module,
                const char *function, const void *request, size_t len, void **reply,
                size_t *reply_len, const genrpc_call_opts *opts, genrpc_status *st)
{
    if (reply)
        *reply = NULL;
    if (reply_len)
        *reply_len = 0;
    int rc = check_blocking_call(node, reply_len ? reply : NULL, st);
    if (rc != GENRPC_OK)
        return rc;
    if (opts && opts->trailers)
        genrpc_metadata_clear(opts->trailers);
    int64_t timeout_ms = genrpc__call_timeout_ms(node, opts);
    int64_t deadline = genrpc__deadline_after_ms(timeout_ms);
    genrpc__icpt_call *ic = NULL;
    genrpc_call_opts icopts;
    if (GENRPC__ICPT_ON(node, client_icpt) &&
        (rc = genrpc__icpt_client_start(node, target.node, module, function, false, timeout_ms,
                                        &opts, &icopts, &ic, st)) != GENRPC_OK)
        return rc;
    rc = call_raw_once(node, target, module, function, request, len, reply, reply_len, opts,
                       timeout_ms, deadline, st);
    if (send_again(node, rc, deadline, function ? function : "a call", target.node))
        rc = call_raw_once(node, target, module, function, request, len, reply, reply_len, opts,
                           genrpc__ms_until(deadline), deadline, st);
    return ic ? icpt_done(ic, rc, st) : rc;
}

/* ---- cast ---------------------------------------------------------------- */

/* Queues the encoded cast `o` (given up) for `target`. */
static int
send_cast(genrpc_node *node, genrpc_target target, genrpc__out *o, genrpc_status *st)
{
    genrpc__conn *conn;
    int rc;
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
    genrpc__conn_send(conn, genrpc__maybe_compress(conn, o), GENRPC__FLUSH_DEFER);
    genrpc__conn_unref(conn);
    return genrpc__ok(st);
}

int
genrpc_cast(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
            const genrpc_function_desc *fn, const ProtobufCMessage *request,
            const genrpc_call_opts *opts, genrpc_status *st)
{
    genrpc__out *o;
    genrpc__icpt_call *ic;
    genrpc_call_opts icopts;
    int rc = genrpc__call_start(node, target, module, fn, true, genrpc__cast_timeout_ms(opts),
                                &opts, &icopts, &ic, st);
    if (rc != GENRPC_OK)
        return rc;
    rc = genrpc__encode_request(node, GENRPC__K_CAST, module, fn, request, opts,
                                genrpc__cast_timeout_ms(opts), GENRPC__BORROW_WHILE_SENDING, &o,
                                st);
    rc = rc == GENRPC_OK ? send_cast(node, target, o, st) : rc;
    return ic ? icpt_done(ic, rc, st) : rc;
}

int
genrpc_cast_raw(genrpc_node *node, genrpc_target target, const char *module,
                const char *function, const void *request, size_t len,
                const genrpc_call_opts *opts, genrpc_status *st)
{
    genrpc__out *o;
    genrpc__icpt_call *ic = NULL;
    genrpc_call_opts icopts;
    int rc;
    if (node && GENRPC__ICPT_ON(node, client_icpt) &&
        (rc = genrpc__icpt_client_start(node, target.node, module, function, true,
                                        genrpc__cast_timeout_ms(opts), &opts, &icopts, &ic,
                                        st)) != GENRPC_OK)
        return rc;
    rc = encode_raw(node, GENRPC__K_CAST, module, function, request, len, opts,
                    genrpc__cast_timeout_ms(opts), &o, st);
    rc = rc == GENRPC_OK ? send_cast(node, target, o, st) : rc;
    return ic ? icpt_done(ic, rc, st) : rc;
}
